"""Axolotl's conventions, restated without importing Axolotl.

Sources (axolotl 0.19.0; first restated from main of 2026-07): ``src/axolotl/core/builders/base.py``
(``_configure_warmup_and_logging``, ``_configure_scheduler``), ``src/axolotl/utils/trainer.py``
(``calculate_total_num_steps``), ``src/axolotl/utils/data/sft.py`` (the run's ``total_num_steps``),
``src/axolotl/utils/config/__init__.py`` (``batch_size``), ``src/axolotl/core/trainers/mixins/scheduler.py``
and ``src/axolotl/utils/schedulers.py``. Its conventions:

- The run: ``max_steps``, else ``ceil(dataset * num_epochs / batch_size)`` with
  ``batch_size = micro_batch_size * gradient_accumulation_steps * world_size`` (without sample packing).
- The warmup: ``warmup_steps``, else ``int(warmup_ratio * total)`` (floored, where Hugging Face
  ceils), else ``min(int(0.03 * total), 100)``; a warmup of 1 becomes 2. ``total`` is Axolotl's own
  estimate of the run (from the dataset), or ``max_steps`` when that is smaller (``sft.py``:
  ``min(calculate_total_num_steps(...), cfg.max_steps)``): a ``max_steps`` above the estimate does not
  lengthen the warmup.
- ``lr_scheduler`` defaults to ``cosine``; with it, ``lr_quadratic_warmup`` squares the warmup,
  ``cosine_min_lr_ratio`` floors the cosine, and with ``cosine_constant_lr_ratio`` too the cosine
  ends at ``int(total * ratio)`` and holds. A DeepSpeed ``scheduler`` block replaces all of it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import Counting, Finding, RunSize, check_keys, number, run_length_finding, whole
from rampup.conventions import hf as hf_conventions
from rampup.curves import Segment
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["KEYS", "axolotl_counting", "multipliers", "plan", "total_steps", "warmup_steps"]

#: the schedule keys read from an Axolotl config (the rest is left alone)
KEYS = {
    "learning_rate",
    "lr_scheduler",
    "lr_scheduler_kwargs",
    "warmup_steps",
    "warmup_ratio",
    "num_epochs",
    "max_steps",
    "micro_batch_size",
    "gradient_accumulation_steps",
    "cosine_min_lr_ratio",
    "cosine_constant_lr_ratio",
    "lr_quadratic_warmup",
    "deepspeed",
    "sample_packing",
    "streaming",
    "pretraining_dataset",
    "lr_div_factor",
    "loraplus_lr_ratio",
    "loraplus_lr_embedding",
    "embedding_lr",
    "embedding_lr_scale",
    "lr_groups",
}
_WORDS = ("lr", "warmup", "sched", "cosine")


def total_steps(dataset_size: int, micro_batch_size: int, grad_accum: int, world_size: int, epochs: float) -> int:
    """``calculate_total_num_steps`` without sample packing: ``ceil(dataset * epochs / batch_size)``."""
    return math.ceil(dataset_size * epochs / (micro_batch_size * grad_accum * world_size))


def axolotl_counting(
    dataset_size: int, micro_batch_size: int, grad_accum: int, world_size: int, epochs: float
) -> Counting:
    """Axolotl's estimate of the run next to the micro-batch counts a ``max_steps`` is often mistaken for
    (the same ``ceil(dataset * epochs / ...)``, without the accumulation or the processes)."""
    examples = dataset_size * epochs
    return Counting(
        updates=total_steps(dataset_size, micro_batch_size, grad_accum, world_size, epochs),
        accum=grad_accum,
        processes=world_size,
        epochs=epochs,
        micro_batches=math.ceil(examples / (micro_batch_size * world_size)),
        all_micro_batches=math.ceil(examples / micro_batch_size),
        one_process_updates=math.ceil(examples / (micro_batch_size * grad_accum)),
    )


def warmup_steps(steps: int | None, ratio: float | None, total: int) -> int:
    """``_configure_warmup_and_logging``: floors a ratio, 3% capped at 100 by default, 1 becomes 2."""
    if steps is not None:
        warmup = steps
    elif ratio is not None:
        warmup = max(int(ratio * total), 0)
    else:
        warmup = min(int(0.03 * total), 100)
    return 2 if warmup == 1 else warmup


def multipliers(kind: str, warmup: int, total: int, settings: Mapping[str, Any], steps: Any) -> npt.NDArray[np.float64]:
    """Axolotl's own lambdas (``utils/schedulers.py``): ``quadratic``, ``min_lr``, ``constant_lr``."""
    s = np.asarray(steps, dtype=np.float64)
    w, t = float(warmup), float(total)
    linear = s / max(1.0, w)
    if kind == "quadratic":
        progress = (s - w) / max(1.0, t - w)
        decay = np.maximum(0.0, 0.5 * (1.0 + np.cos(math.pi * 0.5 * 2.0 * progress)))
        return np.where(s < w, linear**2, decay)
    floor = float(settings["cosine_min_lr_ratio"])
    if kind == "min_lr":
        progress = (s - w) / max(1.0, t - w)
        return np.where(s < w, linear, (1 - floor) * (0.5 * (1.0 + np.cos(math.pi * progress))) + floor)
    constant_steps = float(int(t * float(settings["cosine_constant_lr_ratio"])))
    clipped = np.minimum(s, constant_steps)
    progress = (clipped - w) / max(1.0, constant_steps - w)
    decay = np.maximum(0.0, (1 - floor) * 0.5 * (1.0 + np.cos(math.pi * 0.5 * 2.0 * progress))) + floor
    return np.where(s < w, linear, decay)


def plan(config: Mapping[str, Any], where: str, size: RunSize) -> dict[str, Any]:
    """What an Axolotl config runs: the scheduler, its warmup, the run's updates, the peak, and findings."""
    check_keys(config, KEYS, where, _WORDS)
    findings: list[Finding] = []
    lr = number(config, "learning_rate", where)
    if lr is None or not lr > 0:
        raise RampupError(f"{where}: learning_rate", config.get("learning_rate"), "the peak learning rate > 0")
    scheduler = config.get("lr_scheduler") or "cosine"
    if scheduler in ("one_cycle", "rex"):
        raise RampupError(
            f"{where}: lr_scheduler", scheduler, "a Hugging Face scheduler (one_cycle and rex are not read)"
        )
    if scheduler not in hf_conventions.SCHEDULERS:
        raise RampupError(f"{where}: lr_scheduler", scheduler, f"one of {', '.join(hf_conventions.SCHEDULERS)}")
    kwargs = config.get("lr_scheduler_kwargs") or {}
    if not isinstance(kwargs, Mapping):
        raise RampupError(f"{where}: lr_scheduler_kwargs", kwargs, "a mapping")
    for key in kwargs:
        if key not in hf_conventions.SCHEDULERS[scheduler]:
            valid = ", ".join(hf_conventions.SCHEDULERS[scheduler]) or "none"
            raise RampupError(f"{where}: lr_scheduler_kwargs", key, f"a keyword of {scheduler}: {valid}")
    hf_conventions.check_min_lr(scheduler, kwargs, where)
    micro = whole(config, "micro_batch_size", where, 1, low=1)
    accum = whole(config, "gradient_accumulation_steps", where, 1, low=1)
    if size.batch_size is not None and size.batch_size != micro:
        raise RampupError("--batch-size", size.batch_size, f"the config's micro_batch_size ({micro}) or nothing")
    if size.grad_accum is not None and size.grad_accum != accum:
        raise RampupError("--grad-accum", size.grad_accum, f"the config's gradient_accumulation_steps ({accum})")
    epochs = number(config, "num_epochs", where, 1.0, low=0.0)
    if size.epochs is not None:
        epochs = size.epochs
    max_steps = whole(config, "max_steps", where, None, low=1)
    world = size.num_processes or 1
    estimate = None
    if size.dataset_size is not None:
        estimate = total_steps(size.dataset_size, micro, accum, world, epochs)
        if config.get("sample_packing"):
            findings.append(
                Finding("packing-estimate", "sample_packing: Axolotl estimates the run from packed lengths")
            )
    if estimate is not None and max_steps is not None and (size.epochs is not None or "num_epochs" in config):
        counting = axolotl_counting(size.dataset_size or 0, micro, accum, world, epochs)
        given = whole(config, "warmup_steps", where, None)
        found = run_length_finding(
            "max_steps", max_steps, counting, "Axolotl (Trainer)", ("warmup_steps", given) if given else None
        )
        if found is not None:
            findings.append(found)
    streaming = bool(config.get("streaming") or config.get("pretraining_dataset"))
    run = size.total_steps or max_steps or estimate
    if run is None:
        if streaming:
            raise RampupError(
                f"{where}: max_steps",
                None,
                "a number of updates: an iterable (streaming) dataset has no length",
            )
        raise RampupError(
            "--dataset-size", None, "the run's size: --total-steps N, or --dataset-size (max_steps unset)"
        )
    if streaming and max_steps is None:
        findings.append(
            Finding("iterable-no-max-steps", "a streaming dataset without max_steps: Trainer cannot count the run")
        )
    warmup_given = whole(config, "warmup_steps", where, None)
    ratio = number(config, "warmup_ratio", where, None, low=0.0)
    if warmup_given is not None and ratio is not None:
        raise RampupError(f"{where}: warmup_ratio", config["warmup_ratio"], "no warmup_ratio with warmup_steps")
    basis = estimate if estimate is not None else run
    if max_steps is not None and estimate is not None:
        basis = min(estimate, max_steps)  # utils/data/sft.py: min(calculate_total_num_steps(...), cfg.max_steps)
    if max_steps is not None and estimate is not None and estimate < max_steps and warmup_given is None:
        findings.append(
            Finding(
                "warmup-from-estimate",
                f"the warmup is computed from Axolotl's estimate of {estimate} updates, not from max_steps {max_steps}",
            )
        )
    warmup = warmup_steps(warmup_given, ratio, basis)
    if warmup_given == 1:
        findings.append(Finding("warmup-one-becomes-two", "warmup_steps: 1 becomes 2 in Axolotl"))
    if ratio is not None:
        ceil = math.ceil(basis * ratio)
        if ceil != warmup:
            findings.append(
                Finding(
                    "ratio-rounding",
                    f"warmup_ratio {format_number(ratio)} of {basis} updates: Axolotl floors it to {warmup}, "
                    f"Hugging Face would ceil it to {ceil}",
                )
            )
    elif warmup_given is None:
        findings.append(
            Finding("default-warmup", f"no warmup set: Axolotl warms up for min(int(0.03 * {basis}), 100) = {warmup}")
        )
    kind = "hf"
    min_ratio = number(config, "cosine_min_lr_ratio", where, None, low=0.0)
    constant_ratio = number(config, "cosine_constant_lr_ratio", where, None, low=0.0)
    for key, value in (("cosine_min_lr_ratio", min_ratio), ("cosine_constant_lr_ratio", constant_ratio)):
        if value is not None and value > 1:
            raise RampupError(f"{where}: {key}", value, "a ratio between 0 and 1")
    if scheduler == "cosine":
        if config.get("lr_quadratic_warmup") is True:
            kind = "quadratic"
        elif min_ratio and constant_ratio:
            kind = "constant_lr"
        elif min_ratio:
            kind = "min_lr"
    elif min_ratio or config.get("lr_quadratic_warmup") or constant_ratio:
        findings.append(
            Finding(
                "ignored-key",
                f"cosine_min_lr_ratio / lr_quadratic_warmup act only with lr_scheduler: cosine, not {scheduler}",
            )
        )
    return {
        "lr": lr,
        "scheduler": scheduler,
        "kwargs": dict(kwargs),
        "kind": kind,
        "warmup": warmup,
        "total": run,
        "settings": {"cosine_min_lr_ratio": min_ratio or 0.0, "cosine_constant_lr_ratio": constant_ratio or 0.0},
        "findings": findings,
        "accum": accum,
        "processes": world,
    }


def candidate(kind: str, warmup: int, total: int, settings: Mapping[str, Any]) -> str:
    """The spec of Axolotl's own schedulers."""
    floor = format_number(float(settings["cosine_min_lr_ratio"]))
    if kind == "quadratic":
        return f"polynomial({warmup}, power=2) -> cosine({total - warmup})"
    if kind == "min_lr":
        return f"linear({warmup}) -> cosine({total - warmup}, to={floor})"
    end = int(total * float(settings["cosine_constant_lr_ratio"]))
    return f"linear({warmup}) -> cosine({max(end - warmup, 0)}, to={floor}) -> constant"


# --------------------------------------------------------------------------- export


def export_yaml(spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float) -> str:
    """Axolotl YAML keys with exactly the rates of ``spec`` over the run, or a RampupError naming the nearest."""
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates (Axolotl's max_steps)")
    segs: list[Segment] = [seg for seg in schedule.segments if seg.length > 0 and seg.start < total]
    lines = {"learning_rate": format_number(peak_lr), "max_steps": str(total)}
    w = 0
    quadratic = False
    if segs and segs[0].curve.role == "warmup":
        first = segs.pop(0)
        quadratic = first.curve.name == "polynomial" and first.params.get("power") == 2.0
        w = int(first.length)
    lines["warmup_steps"] = str(w)
    names = [seg.curve.name for seg in segs]
    options: list[dict[str, str]] = []
    if quadratic:
        options.append({"lr_scheduler": "cosine", "lr_quadratic_warmup": "true"})
    elif segs:
        floor = format_number(segs[0].b)
        options.append({"lr_scheduler": "cosine", "cosine_min_lr_ratio": floor} if segs[0].b else {})
        options.append({"lr_scheduler": "linear"})
        options.append({"lr_scheduler": "cosine"})
        if names[:1] == ["cosine"] and segs[0].b:
            end = int(segs[0].start + segs[0].length)
            ratio = format_number(end / total)
            options.append({"lr_scheduler": "cosine", "cosine_min_lr_ratio": floor, "cosine_constant_lr_ratio": ratio})
        options.append({"lr_scheduler": "constant_with_warmup"})
    else:
        options.append({"lr_scheduler": "constant_with_warmup"})
    ours = schedule.values(np.arange(total, dtype=np.float64))
    for option in options:
        if not option:
            continue
        keys = {**lines, **option}
        if w == 1:
            continue  # Axolotl turns a warmup of 1 into 2
        text = "".join(f"{key}: {value}\n" for key, value in keys.items())
        from rampup.inspect import inspect_text

        back = inspect_text(text, "export.yml", "axolotl", RunSize())
        if np.all(np.abs(ours - back.multipliers) <= 1e-9 * np.abs(back.multipliers) + 1e-15):
            return text
    raise RampupError(
        "--to axolotl",
        str(schedule),
        "a schedule Axolotl's schedulers compute exactly: a linear (or squared) warmup, then linear, cosine "
        "(with a floor, and a constant tail) or constant",
        hint=f"the nearest exact spec is linear({max(w, 2)}) -> cosine({max(total - max(w, 2), 1)})",
    )
