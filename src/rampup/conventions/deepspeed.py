"""DeepSpeed's learning-rate schedulers, restated without importing DeepSpeed.

Source: ``deepspeed/runtime/lr_schedules.py`` (DeepSpeed 0.19.8): ``WarmupLR``,
``WarmupDecayLR``, ``WarmupCosineLR``. Their conventions:

- The warmup is ``warmup_type: "log"`` unless the config says ``"linear"``:
  ``log(i + 1) / log(W)`` for iteration ``i < W``, which is half way up after ``sqrt(W)``
  iterations. ``W = max(2, warmup_num_steps)``.
- The constructor sets the rate for iteration -1 (``warmup_min_lr``; ``WarmupCosineLR``: 0),
  and the engine calls ``scheduler.step()`` after each optimizer update, so update ``k``
  runs at the scheduler's value for iteration ``k - 1``: one update late.
- ``WarmupDecayLR`` decays linearly to ``warmup_min_lr`` (not 0) at ``total_num_steps``;
  ``WarmupCosineLR``'s rates are ratios of the optimizer's ``lr`` and its cosine starts one
  iteration into the decay (``i - W + 1``), clamped at its end.

Hugging Face's Trainer fills ``"auto"`` values (``transformers/integrations/deepspeed.py``):
``warmup_min_lr`` 0, ``warmup_max_lr`` the ``learning_rate``, ``warmup_num_steps``
``max(1, get_warmup_steps(total))``, ``total_num_steps`` the run's updates; and a
``scheduler`` block replaces the Trainer's ``lr_scheduler_type``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import Counting, Finding, Imported, RunSize, general_findings, number, settle, whole
from rampup.curves import Segment
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["PARAMS", "TYPES", "export_config", "import_block", "iteration_multiplier", "run_counting"]

TYPES = ("WarmupLR", "WarmupDecayLR", "WarmupCosineLR")
#: the params each scheduler reads (DeepSpeed 0.19.8 constructors)
PARAMS: dict[str, tuple[str, ...]] = {
    "WarmupLR": ("warmup_min_lr", "warmup_max_lr", "warmup_num_steps", "warmup_type", "last_batch_iteration"),
    "WarmupDecayLR": (
        "total_num_steps",
        "warmup_min_lr",
        "warmup_max_lr",
        "warmup_num_steps",
        "warmup_type",
        "last_batch_iteration",
    ),
    "WarmupCosineLR": (
        "total_num_steps",
        "warmup_min_ratio",
        "warmup_num_steps",
        "cos_min_ratio",
        "warmup_type",
        "last_batch_iteration",
    ),
}


def iteration_multiplier(kind: str, params: Mapping[str, Any], i: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The scheduler's rate for iteration ``i >= 0``, as a multiple of the peak (``warmup_max_lr`` or the lr)."""
    w = float(max(2, int(params["warmup_num_steps"])))
    log_type = params["warmup_type"] == "log"
    with np.errstate(divide="ignore"):
        gamma = np.log(i + 1.0) * (1.0 / math.log(w)) if log_type else i / w
    if kind == "WarmupCosineLR":
        low = float(params["warmup_min_ratio"])
        warm = low + gamma * (1.0 - low)
        total = float(params["total_num_steps"])
        progress = np.minimum(1.0, (i - w + 1.0) / max(1.0, total - w))
        floor = float(params["cos_min_ratio"])
        cosine = np.maximum(0.0, floor + (1.0 - floor) * ((1.0 + np.cos(math.pi * progress)) / 2.0))
        return np.where(i < w, warm, cosine)
    low = float(params["min"])
    if kind == "WarmupLR":
        after = np.ones_like(i)
    else:
        total = float(params["total_num_steps"])
        after = np.maximum(0.0, (total - i) / max(1.0, total - w))
    return low + (1.0 - low) * np.where(i < w, gamma, after)


def update_multipliers(kind: str, params: Mapping[str, Any], updates: int) -> npt.NDArray[np.float64]:
    """The multiplier of each update 0 .. updates-1: iteration ``k - 1``'s, update 0 at the initial rate."""
    k = np.arange(updates, dtype=np.float64)
    out = iteration_multiplier(kind, params, np.maximum(k - 1.0, 0.0))
    if updates:
        out[0] = 0.0 if kind == "WarmupCosineLR" else float(params["min"])
    return out


def _candidate(kind: str, params: Mapping[str, Any]) -> str:
    w = max(2, int(params["warmup_num_steps"]))
    log_type = params["warmup_type"] == "log"
    low = float(params["warmup_min_ratio"] if kind == "WarmupCosineLR" else params["min"])
    start = f", from={format_number(low)}" if low else ""
    warm = f"log({w}{start}, delay=1)" if log_type else f"linear({w + 1}{start}, delay=1)"
    if kind == "WarmupLR":
        return f"{warm} -> constant"
    total = int(params["total_num_steps"])
    if kind == "WarmupDecayLR":
        to = f", to={format_number(low)}" if low else ""
        middle = " -> constant(1)" if log_type else ""
        return f"{warm}{middle} -> linear({max(total - w, 1)}{to})"
    floor = float(params["cos_min_ratio"])
    to = f", to={format_number(floor)}" if floor else ""
    return f"{warm} -> cosine({max(total - w, 1)}{to})"


def import_block(
    block: Any,
    where: str,
    *,
    total_steps: int | None,
    optimizer_lr: float | None,
    hf: Mapping[str, Any] | None = None,
    counting: Counting | None = None,
) -> Imported:
    """A DeepSpeed ``scheduler`` block (``{"type": ..., "params": {...}}``) as rampup sees it.

    ``hf``: what Hugging Face's Trainer fills ``"auto"`` with (``learning_rate``,
    ``warmup_steps`` as computed for the run, ``total_steps``); ``optimizer_lr`` the
    optimizer block's ``lr`` (the peak of ``WarmupCosineLR``, and of ``WarmupLR`` without
    ``warmup_max_lr``). ``counting``: the run's updates and micro-batches, for ``counted-in-micro-batches``
    and ``counted-per-process`` (an explicit ``total_num_steps`` that equals one of the other counts).
    """
    if not isinstance(block, Mapping):
        raise RampupError(f"{where}: scheduler", block, 'a mapping like {"type": "WarmupLR", "params": {...}}')
    unknown = sorted(set(block) - {"type", "params"})
    if unknown:
        raise RampupError(f"{where}: scheduler", unknown[0], "only the keys type and params")
    kind = block.get("type")
    if kind not in TYPES:
        raise RampupError(
            f"{where}: scheduler.type",
            kind,
            f"one of {', '.join(TYPES)}",
            hint="OneCycle and LRRangeTest are not read by rampup inspect",
        )
    raw = block.get("params", {}) or {}
    if not isinstance(raw, Mapping):
        raise RampupError(f"{where}: scheduler.params", raw, "a mapping of the scheduler's parameters")
    for key in raw:
        if key not in PARAMS[kind]:
            raise RampupError(f"{where}: scheduler.params", key, f"a parameter of {kind}: {', '.join(PARAMS[kind])}")
    params = dict(raw)
    findings: list[Finding] = []
    autos = [key for key, value in params.items() if value == "auto"]
    if autos and hf is None:
        raise RampupError(
            f"{where}: scheduler.params.{autos[0]}",
            "auto",
            "a value: 'auto' is filled in by Hugging Face's Trainer",
            hint="inspect the Trainer / Axolotl config that names this file (deepspeed: ...)",
        )
    if hf is not None:
        fill = {
            "warmup_min_lr": 0.0,
            "warmup_max_lr": hf["learning_rate"],
            "warmup_num_steps": max(1, int(hf["warmup_steps"])),
            "total_num_steps": hf["total_steps"],
        }
        for key in autos:
            if key not in fill:
                raise RampupError(f"{where}: scheduler.params.{key}", "auto", "a value: Trainer does not fill this one")
            params[key] = fill[key]
    section = f"{where}: scheduler.params"
    if number(params, "last_batch_iteration", section, -1.0) != -1.0:
        raise RampupError(f"{section}.last_batch_iteration", params["last_batch_iteration"], "-1 (a fresh run)")
    warmup = whole(params, "warmup_num_steps", section, 1000, low=1)
    params["warmup_num_steps"] = warmup
    warmup_type = params.get("warmup_type", "log")
    if warmup_type not in ("log", "linear"):
        raise RampupError(f"{section}.warmup_type", warmup_type, "log or linear")
    params["warmup_type"] = warmup_type
    if kind == "WarmupCosineLR":
        if optimizer_lr is None:
            raise RampupError(
                f"{where}: optimizer.params.lr", None, "the optimizer's lr: WarmupCosineLR's rates are ratios of it"
            )
        peak = optimizer_lr
        params["warmup_min_ratio"] = number(params, "warmup_min_ratio", section, 0.0, low=0.0)
        params["cos_min_ratio"] = number(params, "cos_min_ratio", section, 0.0001, low=0.0)
    else:
        default_max = optimizer_lr if kind == "WarmupLR" else 0.001
        peak = number(params, "warmup_max_lr", section, default_max)
        if peak is None:
            raise RampupError(f"{section}.warmup_max_lr", None, "a peak rate (or an optimizer block with lr)")
        low = number(params, "warmup_min_lr", section, 0.0, low=0.0)
        if not peak > 0 or low > peak:
            raise RampupError(f"{section}.warmup_max_lr", peak, f"a rate > 0 and >= warmup_min_lr ({low:g})")
        params["min"] = low / peak
    run = total_steps
    if kind != "WarmupLR":
        scheduled = whole(params, "total_num_steps", section, None, low=1)
        if scheduled is None:
            raise RampupError(f"{section}.total_num_steps", None, f"the run's updates: {kind} needs it")
        params["total_num_steps"] = scheduled
        if run is None:
            run = scheduled
        elif run != scheduled:
            findings.append(
                Finding(
                    "total-mismatch",
                    f"total_num_steps is {scheduled} but the run has {run} updates: the decay ends "
                    f"{'early' if scheduled < run else 'late'}",
                )
            )
    if run is None:
        raise RampupError("--total-steps", None, "the run's number of updates (WarmupLR has no total of its own)")
    explicit_total = kind != "WarmupLR" and raw.get("total_num_steps") not in (None, "auto")
    if counting is not None and explicit_total:
        found = _miscount(int(params["total_num_steps"]), warmup, counting, raw.get("warmup_num_steps") != "auto")
        if found is not None:
            findings.append(found)
    if warmup < 2:
        findings.append(Finding("warmup-clamped", f"warmup_num_steps {warmup} is raised to 2 by DeepSpeed"))
    effective = max(2, warmup)
    if warmup_type == "log":
        half = math.sqrt(effective) - 1
        findings.append(
            Finding(
                "log-warmup",
                f"warmup_type is log ({'the default' if 'warmup_type' not in raw else 'as written'}): the rate is half "
                f"way up after {half:.0f} of {effective} warmup updates and at "
                f"{math.log(1 + effective / 10) / math.log(effective):.0%} a tenth of the way in; "
                'most recipes mean "warmup_type": "linear"',
            )
        )
    findings.append(
        Finding(
            "one-update-late",
            "DeepSpeed sets update k's rate from iteration k-1 (the constructor sets iteration -1's): "
            "updates 0 and 1 run at the same starting rate and the peak comes one update later",
        )
    )
    multipliers = update_multipliers(kind, params, run)
    why = None
    if kind == "WarmupCosineLR" and warmup_type == "linear":
        why = "its linear warmup stops at (W-1)/W of the peak and its cosine starts one iteration in"
    elif kind == "WarmupCosineLR" and params["warmup_min_ratio"]:
        why = "its first update runs at 0, not at warmup_min_ratio"
    imported = settle(f"deepspeed ({kind})", peak, multipliers, _candidate(kind, params), findings, why)
    general_findings(imported, effective + 1)
    return imported


def _miscount(total: int, warmup: int, counting: Counting, warmup_explicit: bool) -> Finding | None:
    """``total_num_steps`` counted in micro-batches or per process, where DeepSpeed steps once per update."""
    found = counting.miscounted(total)
    if found is None:
        return None
    kind, what = found
    run = counting.updates
    done = min(1.0, max(0.0, (run - warmup) / max(1, total - warmup)))
    message = (
        f"total_num_steps {total} equals {what}, but DeepSpeed steps its scheduler once per optimizer update "
        f"({counting.factors()}): the run has {run} updates, so the decay is {done:.0%} done when the run ends"
    )
    if warmup_explicit:
        message += (
            f", and the warmup of {warmup} steps lasts {warmup} updates ({warmup / run:.1%} of the run, not "
            f"{warmup / total:.1%})"
        )
    fix = f"total_num_steps {run}"
    if warmup_explicit:
        fix += f", warmup_num_steps {max(1, round(warmup * run / total))}"
    return Finding(kind, f'{message}. Counted in optimizer updates: {fix} ("auto" under Hugging Face\'s Trainer)')


def _batch_key(config: Mapping[str, Any], key: str, where: str) -> int | None:
    if config.get(key) in (None, "auto"):
        return None
    return int(whole(config, key, where, None, low=1))


def run_counting(config: Mapping[str, Any], size: RunSize, where: str) -> Counting | None:
    """The run's updates and micro-batches from a DeepSpeed config's batch keys and the run's size.

    DeepSpeed's engine steps the optimizer and the scheduler once every ``gradient_accumulation_steps``
    micro-batches (``is_gradient_accumulation_boundary``, counted across epochs), so a run of E epochs is
    ``floor(E * M / accum)`` updates, M the micro-batches a process reads per epoch: ``ceil(ceil(n / P) / b)``
    with a ``DistributedSampler``. ``train_batch_size = micro * accum * P`` gives P (``--num-processes``
    otherwise). Returns None when the run's updates are not known (no ``--total-steps``, no ``--dataset-size``).
    """
    micro = _batch_key(config, "train_micro_batch_size_per_gpu", where)
    accum = _batch_key(config, "gradient_accumulation_steps", where)
    train = _batch_key(config, "train_batch_size", where)
    if size.batch_size is not None:
        if micro is not None and micro != size.batch_size:
            raise RampupError("--batch-size", size.batch_size, f"train_micro_batch_size_per_gpu ({micro}) or nothing")
        micro = size.batch_size
    if size.grad_accum is not None:
        if accum is not None and accum != size.grad_accum:
            raise RampupError("--grad-accum", size.grad_accum, f"gradient_accumulation_steps ({accum}) or nothing")
        accum = size.grad_accum
    processes = size.num_processes
    if train is not None and micro is not None:
        if accum is None and processes is not None:
            accum, rest = divmod(train, micro * processes)
            accum = accum if rest == 0 and accum >= 1 else None
        if accum is not None:
            implied, rest = divmod(train, micro * accum)
            if processes is None and rest == 0:
                processes = implied
            if rest or processes != implied:
                raise RampupError(
                    f"{where}: train_batch_size",
                    train,
                    f"train_micro_batch_size_per_gpu x gradient_accumulation_steps x processes "
                    f"({micro} x {accum} x {processes or '?'}), as DeepSpeed asserts",
                )
    accum = accum or 1
    processes = processes or 1
    if size.total_steps is not None:
        return Counting.from_updates(size.total_steps, accum, processes)
    if size.dataset_size is None:
        return None
    if micro is None:
        raise RampupError("--batch-size", None, "the micro-batch size (train_micro_batch_size_per_gpu is not set)")
    epochs = size.epochs if size.epochs is not None else 1.0
    per_process = math.ceil(math.ceil(size.dataset_size / processes) / micro)
    micro_batches = math.floor(per_process * epochs)
    updates = micro_batches // accum
    if updates < 1:
        raise RampupError("--dataset-size", size.dataset_size, "a run of at least one optimizer update")
    everyone = math.floor(math.ceil(size.dataset_size / micro) * epochs)
    return Counting(updates, accum, processes, epochs, micro_batches, everyone, everyone // accum)


# --------------------------------------------------------------------------- export


def _segments(schedule: Schedule) -> list[Segment]:
    return [seg for seg in schedule.segments if seg.length > 0]


def export_config(spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float) -> str:
    """A DeepSpeed ``scheduler`` block (JSON) with exactly the rates of ``spec``, or a RampupError naming the nearest.

    Exact shapes (with DeepSpeed's one-update delay written into the spec): ``log(W, from=m, delay=1)
    -> constant``, ``linear(W+1, from=m, delay=1) -> constant`` (WarmupLR), the same followed by a
    linear decay to ``m`` over ``T - W`` (WarmupDecayLR; the log warmup with ``constant(1)`` between),
    and ``log(W, delay=1) -> cosine(T - W, to=c)`` (WarmupCosineLR).
    """
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    for kind, params, peak in _fits(schedule, total, peak_lr):
        block = {"type": kind, "params": params}
        try:
            imported = import_block(block, "export", total_steps=total, optimizer_lr=peak)
        except RampupError:
            continue
        if imported.spec is not None and total is not None:
            ours = schedule.values(np.arange(total, dtype=np.float64))
            theirs = imported.multipliers
            if np.all(np.abs(ours - theirs) <= 1e-9 * np.abs(theirs) + 1e-15):
                text = {"scheduler": block}
                if kind == "WarmupCosineLR":
                    text["optimizer"] = {"type": "AdamW", "params": {"lr": peak}}
                return json.dumps(text, indent=2) + "\n"
    nearest = _nearest(schedule)
    raise RampupError(
        "--to deepspeed",
        str(schedule),
        "a schedule one of DeepSpeed's WarmupLR, WarmupDecayLR or WarmupCosineLR computes exactly "
        "(they run one update late: write the delay into the spec)",
        hint=f"the nearest exact spec is {nearest}",
    )


def _fits(schedule: Schedule, total: int | None, peak: float) -> list[tuple[str, dict[str, Any], float]]:
    """The DeepSpeed blocks that might equal ``schedule`` (each is checked by importing it back)."""
    segs = _segments(schedule)
    if not segs or segs[0].curve.role != "warmup" or segs[0].curve.name not in ("log", "linear"):
        return []
    first = segs[0]
    log_type = first.curve.name == "log"
    w = int(first.length) if log_type else int(first.length) - 1
    low = first.a
    base: dict[str, Any] = {
        "warmup_min_lr": low * peak,
        "warmup_max_lr": peak,
        "warmup_num_steps": w,
        "warmup_type": first.curve.name,
    }
    options: list[tuple[str, dict[str, Any], float]] = [("WarmupLR", dict(base), peak)]
    if total is not None:
        options.append(("WarmupDecayLR", {**base, "total_num_steps": total - 1}, peak))
        last = segs[-1]
        cosine = {
            "total_num_steps": int(last.start + last.length),
            "warmup_min_ratio": low,
            "warmup_num_steps": w,
            "cos_min_ratio": last.b,
            "warmup_type": first.curve.name,
        }
        options.append(("WarmupCosineLR", cosine, peak))
        options.append(("WarmupDecayLR", {**base, "total_num_steps": int(last.start + last.length) - 1}, peak))
    return options


def _nearest(schedule: Schedule) -> str:
    """The DeepSpeed-exact spec closest in shape: its warmup with the delay, then a linear or cosine decay."""
    segs = _segments(schedule)
    w = max(2, int(segs[0].length)) if segs and segs[0].curve.role == "warmup" else 2
    end = schedule.phases_end
    if math.isinf(end) or len(segs) < 2:
        return f"linear({w + 1}, delay=1) -> constant"
    floor = schedule.final_value()
    if segs[-1].curve.name == "cosine":
        to = f", to={format_number(floor)}" if floor else ""
        return f"log({w}, delay=1) -> cosine({max(int(end) - w, 1)}{to})"
    to = f", to={format_number(floor)}" if floor else ""
    return f"linear({w + 1}, from={format_number(floor)}, delay=1) -> linear({max(int(end) - w, 1)}{to})".replace(
        ", from=0,", ","
    )
