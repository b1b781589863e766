"""Hugging Face transformers' conventions (5.x), restated without importing it.

Sources: ``transformers/optimization.py`` (the ``_get_*_lr_lambda`` functions) and
``transformers/training_args.py`` (``get_warmup_steps``: ``warmup_steps`` below 1 is a
ratio, ``ceil(total * ratio)`` in floating point), ``transformers/trainer.py``
(``set_initial_training_values``: updates per epoch ``max(ceil(batches / accumulation), 1)``,
total ``ceil(epochs * per_epoch)`` unless ``max_steps > 0``), transformers 5.24. ``warmup_stable_decay``
is ``get_wsd_schedule`` / ``_get_wsd_scheduler_lambda`` there: it needs ``num_decay_steps`` in
``lr_scheduler_kwargs`` (Trainer alone passes none; LLaMA-Factory fills it in).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import Counting
from rampup.durations import format_number
from rampup.errors import RampupError

__all__ = [
    "SCHEDULERS",
    "WSD",
    "WSD_KWARGS",
    "batches_per_process",
    "check_min_lr",
    "counting",
    "min_lr_rate",
    "multipliers",
    "spec_for",
    "total_steps",
    "updates_for_epochs",
    "updates_per_epoch",
    "warmup_steps",
]

#: the scheduler names whose formula is restated here, with their ``lr_scheduler_kwargs``
SCHEDULERS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "constant_with_warmup": (),
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_min_lr": ("num_cycles", "min_lr_rate", "min_lr"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr_rate", "min_lr", "warmup_lr_rate"),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power"),
    "inverse_sqrt": ("timescale",),
}

#: ``warmup_stable_decay``: its name and keywords (``get_wsd_schedule``), read where a tool fills them in
WSD = "warmup_stable_decay"
WSD_KWARGS = ("num_stable_steps", "num_decay_steps", "warmup_type", "decay_type", "min_lr_ratio", "num_cycles")
#: the curves of ``warmup_type`` and ``decay_type``
WSD_CURVES = ("linear", "cosine", "1-sqrt")


def warmup_steps(warmup: float, total: int) -> int:
    """``TrainingArguments.get_warmup_steps``: ``int(w)`` from 1 up, else ``ceil(total * w)`` in floating point."""
    return int(warmup) if warmup >= 1 else math.ceil(total * warmup)


def batches_per_process(dataset_size: int, batch_size: int, num_processes: int = 1) -> int:
    """The micro-batches each process reads per epoch: ``ceil(ceil(dataset / batch) / processes)``
    (no ``dataloader_drop_last``; accelerate's ``even_batches``)."""
    batches = -(-dataset_size // batch_size)
    return -(-batches // num_processes)


def updates_per_epoch(dataset_size: int, batch_size: int, grad_accum: int = 1, num_processes: int = 1) -> int:
    """Trainer's optimizer updates per epoch (no ``dataloader_drop_last``): ``max(ceil(batches / grad_accum), 1)``
    of the :func:`batches_per_process`."""
    return max(-(-batches_per_process(dataset_size, batch_size, num_processes) // grad_accum), 1)


def total_steps(
    dataset_size: int, batch_size: int, grad_accum: int = 1, num_processes: int = 1, epochs: float = 3.0
) -> int:
    """Trainer's number of updates from the run's size (``max_steps`` unset, no ``dataloader_drop_last``):
    ``ceil(epochs * updates_per_epoch)`` in floating point, as ``set_initial_training_values`` computes it."""
    return updates_for_epochs(epochs, updates_per_epoch(dataset_size, batch_size, grad_accum, num_processes))


def counting(
    dataset_size: int, batch_size: int, grad_accum: int = 1, num_processes: int = 1, epochs: float = 3.0
) -> Counting:
    """Trainer's updates for the epochs, next to the micro-batch counts a ``max_steps`` is often mistaken for:
    each process's micro-batches ``ceil(epochs * ceil(ceil(n / batch) / processes))``, all processes'
    ``ceil(epochs * ceil(n / batch))``, and the updates as if one process read everything."""
    return Counting(
        updates=total_steps(dataset_size, batch_size, grad_accum, num_processes, epochs),
        accum=grad_accum,
        processes=num_processes,
        epochs=epochs,
        micro_batches=math.ceil(epochs * batches_per_process(dataset_size, batch_size, num_processes)),
        all_micro_batches=math.ceil(epochs * batches_per_process(dataset_size, batch_size)),
        one_process_updates=total_steps(dataset_size, batch_size, grad_accum, 1, epochs),
    )


def updates_for_epochs(epochs: float, per_epoch: int) -> int:
    """Trainer's ``ceil(num_train_epochs * updates_per_epoch)``, in floating point as Trainer computes it
    (0.28 epochs of 25 updates is 8, not 7: the tool's rounding, kept on purpose)."""
    return math.ceil(epochs * per_epoch)


def multipliers(
    name: str, warmup: int, total: int, kwargs: Mapping[str, Any], peak_lr: float, steps: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """transformers' ``lr_lambda(step)`` at each step: the multiplier of the optimizer's rate (``optimization.py``)."""
    s = np.asarray(steps, dtype=np.float64)
    w, t = float(warmup), float(total)
    warm = s / max(1.0, w)
    in_warmup = s < w
    if name == "constant":
        return np.ones_like(s)
    if name == "constant_with_warmup":
        return np.where(in_warmup, warm, 1.0)
    if name == "linear":
        return np.where(in_warmup, warm, np.maximum(0.0, (t - s) / max(1.0, t - w)))
    progress = (s - w) / max(1.0, t - w)
    if name in ("cosine", "cosine_with_min_lr"):
        cycles = float(kwargs.get("num_cycles", 0.5))
        rate = float(kwargs.get("min_lr_rate", 0.0))
        if kwargs.get("min_lr") is not None:
            rate = float(kwargs["min_lr"]) / peak_lr
        factor = 0.5 * (1.0 + np.cos(math.pi * cycles * 2.0 * progress))
        return np.where(in_warmup, warm, np.maximum(0.0, factor * (1.0 - rate) + rate))
    if name == "cosine_warmup_with_min_lr":
        # _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda: one step ahead of cosine_with_min_lr
        cycles, rate = float(kwargs.get("num_cycles", 0.5)), min_lr_rate(kwargs, peak_lr)
        start = kwargs.get("warmup_lr_rate")
        low = None if start is None else float(start)
        up = (s + 1.0) / max(1.0, w) if low is None else low + (1.0 - low) * s / max(1.0, w - 1.0)
        ahead = (s - w + 1.0) / max(1.0, t - w)
        factor = 0.5 * (1.0 + np.cos(math.pi * cycles * 2.0 * ahead))
        return np.where(in_warmup, up, np.maximum(0.0, factor * (1.0 - rate) + rate))
    if name == "cosine_with_restarts":
        cycles = float(kwargs.get("num_cycles", 1.0))
        decay = np.where(progress >= 1.0, 0.0, 0.5 * (1.0 + np.cos(math.pi * ((cycles * progress) % 1.0))))
        return np.where(in_warmup, warm, np.maximum(0.0, decay))
    if name == "polynomial":
        lr_end, power = float(kwargs.get("lr_end", 1e-7)), float(kwargs.get("power", 1.0))
        remaining = 1.0 - (s - w) / (t - w) if t > w else np.zeros_like(s)
        decay = (peak_lr - lr_end) * np.power(np.maximum(remaining, 0.0), power) + lr_end
        return np.where(in_warmup, warm, np.where(s > t, lr_end / peak_lr, decay / peak_lr))
    if name == "inverse_sqrt":
        timescale = kwargs.get("timescale")
        scale = float(timescale) if timescale is not None else (w or 10_000.0)
        shift = scale - w
        return np.where(in_warmup, warm, 1.0 / np.sqrt((s + shift) / scale))
    if name == WSD:
        return wsd_multipliers(warmup, total, kwargs, s)
    raise RampupError("lr_scheduler_type", name, f"one of {', '.join(SCHEDULERS)}")


def wsd_settings(warmup: int, total: int, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``get_wsd_schedule``'s arguments with its defaults: stable ``T - W - D`` unless given, cosine decay, 0 floor."""
    decay = int(kwargs["num_decay_steps"])
    stable = kwargs.get("num_stable_steps")
    return {
        "stable": int(stable) if stable is not None else total - warmup - decay,
        "decay": decay,
        "warmup_type": str(kwargs.get("warmup_type", "linear")),
        "decay_type": str(kwargs.get("decay_type", "cosine")),
        "min_lr_ratio": float(kwargs.get("min_lr_ratio", 0.0)),
        "num_cycles": float(kwargs.get("num_cycles", 0.5)),
    }


def wsd_multipliers(
    warmup: int, total: int, kwargs: Mapping[str, Any], steps: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """``_get_wsd_scheduler_lambda``: a warmup from ``m``, the peak held, a decay to ``m``, then ``m``.

    ``m`` is ``min_lr_ratio``; each phase's factor is ``f * (1 - m) + m``.
    """
    settings = wsd_settings(warmup, total, kwargs)
    s = np.asarray(steps, dtype=np.float64)
    w, stable, decay = float(warmup), float(settings["stable"]), float(settings["decay"])
    m = settings["min_lr_ratio"]
    up = s / max(1.0, w)
    kind = settings["warmup_type"]
    if kind == "cosine":
        rise = 0.5 * (1.0 - np.cos(math.pi * up))
    elif kind == "1-sqrt":
        rise = 1.0 - np.sqrt(np.maximum(1.0 - up, 0.0))
    else:
        rise = up
    down = (s - w - stable) / max(1.0, decay)
    kind = settings["decay_type"]
    if kind == "cosine":
        fall = 0.5 * (1.0 + np.cos(math.pi * settings["num_cycles"] * 2.0 * down))
    elif kind == "1-sqrt":
        fall = 1.0 - np.sqrt(np.maximum(down, 0.0))
    else:
        fall = 1.0 - down
    out = np.where(s < w, np.maximum(0.0, rise * (1.0 - m) + m), 1.0)
    out = np.where((s >= w + stable) & (s < w + stable + decay), np.maximum(0.0, fall * (1.0 - m) + m), out)
    return np.where(s >= w + stable + decay, m, out)


def wsd_spec(warmup: int, total: int, kwargs: Mapping[str, Any]) -> str:
    """The rampup spec of ``warmup_stable_decay``: ``W(from=m) -> constant(S) -> D(to=m)``, then ``m`` held."""
    settings = wsd_settings(warmup, total, kwargs)
    m = settings["min_lr_ratio"]
    parts = []
    if warmup:
        start = f", from={format_number(m)}" if m else ""
        parts.append(f"{settings['warmup_type']}({warmup}{start})")
    if settings["stable"] > 0:
        parts.append(f"constant({settings['stable']})")
    if settings["decay"] > 0:
        cycles = _extra("cycles", settings["num_cycles"], 0.5) if settings["decay_type"] == "cosine" else ""
        parts.append(f"{settings['decay_type']}({settings['decay']}{cycles}{_extra('to', m, 0.0)})")
    return " -> ".join(parts) or "constant"


def min_lr_rate(kwargs: Mapping[str, Any], peak_lr: float) -> float:
    """``min_lr_rate``, or the absolute ``min_lr`` over the peak (``get_cosine_with_min_lr_schedule_with_warmup``)."""
    if kwargs.get("min_lr") is not None:
        return float(kwargs["min_lr"]) / peak_lr
    return float(kwargs.get("min_lr_rate", 0.0))


def check_min_lr(name: str, kwargs: Mapping[str, Any], where: str) -> None:
    """transformers' ``cosine_with_min_lr`` and ``cosine_warmup_with_min_lr`` need exactly one of ``min_lr``,
    ``min_lr_rate`` (they raise ValueError otherwise)."""
    if name not in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        return
    given = [key for key in ("min_lr", "min_lr_rate") if kwargs.get(key) is not None]
    if len(given) != 1:
        raise RampupError(
            f"{where}: lr_scheduler_kwargs",
            ", ".join(given) or None,
            f"exactly one of min_lr, min_lr_rate: transformers' {name} requires one and refuses both",
        )


def _cosine_ahead(warmup: int, total: int, kwargs: Mapping[str, Any], peak_lr: float) -> str:
    """``cosine_warmup_with_min_lr``: its warmup is ``(s + 1) / W`` (or from ``warmup_lr_rate`` to 1 over W - 1
    steps) and its cosine's progress ``(s - W + 1) / (T - W)``: the peak at step W - 1, the floor at T - 1."""
    w, t = warmup, total
    rate = min_lr_rate(kwargs, peak_lr)
    cycles = _extra("cycles", float(kwargs.get("num_cycles", 0.5)), 0.5)
    to = _extra("to", rate, 0.0)
    start = kwargs.get("warmup_lr_rate")
    low = float(start) if start is not None else 1.0 / max(w, 1)
    if w == 0:
        return f"cosine({t - 1}, skip=1{cycles}{to})"  # progress (s + 1) / T from the first update
    if start is not None and w == 1:
        return f"constant(1, from={format_number(low)}) -> cosine({t - 2}, skip=1{cycles}{to})"
    warm = f"linear({w - 1}, from={format_number(low)})"
    if w >= t:  # the run ends inside the warmup
        return f"{warm} -> constant" if w - 1 <= t else f"linear({t}, from={format_number(low)}, of={w - 1})"
    return f"{warm} -> cosine({t - w}{cycles}{to})"


def _extra(key: str, value: float, default: float) -> str:
    return "" if value == default else f", {key}={format_number(value)}"


def spec_for(name: str, warmup: int, total: int, kwargs: Mapping[str, Any], peak_lr: float) -> str:
    """The rampup spec of a transformers scheduler (docs/parity.md), in steps."""
    w, t = warmup, total
    if name == "constant":
        return "constant"
    if name == "constant_with_warmup":
        return f"linear({w}) -> constant"
    if name == "linear":
        return f"linear({w}) -> linear({t - w})"
    if name in ("cosine", "cosine_with_min_lr"):
        rate = float(kwargs.get("min_lr_rate", 0.0))
        if kwargs.get("min_lr") is not None:
            rate = float(kwargs["min_lr"]) / peak_lr
        cycles = float(kwargs.get("num_cycles", 0.5))
        return f"linear({w}) -> cosine({t - w}{_extra('cycles', cycles, 0.5)}{_extra('to', rate, 0.0)})"
    if name == "cosine_warmup_with_min_lr":
        return _cosine_ahead(warmup, total, kwargs, peak_lr)
    if name == "cosine_with_restarts":
        cycles = float(kwargs.get("num_cycles", 1.0))
        return f"linear({w}) -> cosine-restarts({t - w}{_extra('cycles', cycles, 1.0)})"
    if name == "polynomial":
        lr_end, power = float(kwargs.get("lr_end", 1e-7)), float(kwargs.get("power", 1.0))
        return f"linear({w}) -> polynomial({t - w}{_extra('power', power, 1.0)}{_extra('to', lr_end / peak_lr, 0.0)})"
    if name == WSD:
        return wsd_spec(warmup, total, kwargs)
    timescale = kwargs.get("timescale")
    return f"linear({w}) -> inverse-sqrt" + ("" if timescale is None else f"(timescale={int(timescale)})")
