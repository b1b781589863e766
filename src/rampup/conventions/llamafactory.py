"""LLaMA-Factory's conventions, restated without importing it.

LLaMA-Factory hands its YAML's training keys to Hugging Face's Trainer (``HfArgumentParser``),
so its schedules are transformers' (:mod:`rampup.conventions.hf`) with two differences.
Sources (LLaMA-Factory 0.9.6.dev0, commit ff6d4d1 of 2026-08-18; it pins
``transformers>=4.55,<=5.8``):

- ``src/llamafactory/train/trainer_utils.py`` (``create_custom_scheduler``): for
  ``lr_scheduler_type: warmup_stable_decay`` it fills ``lr_scheduler_kwargs`` that are not given
  with ``num_stable_steps = (T - W) // 3`` and ``num_decay_steps = (T - W) - num_stable_steps``:
  a third of the run after warmup at the peak and two thirds decaying, with
  ``get_wsd_schedule``'s default cosine decay.
- ``src/llamafactory/hparams/parser.py``: ``max_steps`` is required with ``streaming: true``.

``warmup_ratio`` is transformers 4's key (``ceil(T * ratio)``), deprecated in 5.0 and gone in 5.2,
where ``warmup_steps`` below 1 is the ratio; LLaMA-Factory's own examples still write it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import numpy as np

from rampup.conventions import Finding
from rampup.conventions import hf as hf_conventions
from rampup.conventions.hf_builtins import match_builtin
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["KEYS", "MARKERS", "export_yaml", "wsd_defaults"]

#: schedule keys read from a LLaMA-Factory YAML besides Hugging Face's (the rest is left alone)
KEYS = {"streaming", "loraplus_lr_ratio", "loraplus_lr_embedding", "profiler_warmup_steps"}
#: keys that only LLaMA-Factory's YAML has (auto-detection)
MARKERS = {"stage", "finetuning_type", "template", "lora_target", "cutoff_len"}


def wsd_defaults(warmup: int, total: int, kwargs: Mapping[str, Any]) -> tuple[dict[str, Any], list[Finding]]:
    """``create_custom_scheduler``: WSD's missing lengths, ``(T - W) // 3`` stable and the rest decay."""
    remaining = total - warmup
    stable = remaining // 3
    filled = dict(kwargs)
    missing = [key for key in ("num_stable_steps", "num_decay_steps") if key not in filled]
    filled.setdefault("num_stable_steps", stable)
    filled.setdefault("num_decay_steps", remaining - stable)
    findings = []
    if missing:
        decay_type = filled.get("decay_type", "cosine")
        findings.append(
            Finding(
                "wsd-default-split",
                f"warmup_stable_decay without {' and '.join(missing)} in lr_scheduler_kwargs: LLaMA-Factory holds the "
                f"peak for {filled['num_stable_steps']} and decays ({decay_type}) for {filled['num_decay_steps']} "
                f"of the {remaining} updates after warmup (1/3 stable, 2/3 decay); WSD recipes decay the last 10-20%",
            )
        )
    stable_steps, decay_steps = int(filled["num_stable_steps"]), int(filled["num_decay_steps"])
    if stable_steps < 0 or decay_steps < 0:
        key = "num_stable_steps" if stable_steps < 0 else "num_decay_steps"
        raise RampupError(f"lr_scheduler_kwargs.{key}", filled[key], "a whole number of updates >= 0")
    if stable_steps + decay_steps != remaining:
        end = warmup + stable_steps + decay_steps
        what = (
            f"it ends at update {end} and the rate holds min_lr_ratio for the last {total - end}"
            if end < total
            else f"the run ends at update {total}, before the decay does (at {end})"
        )
        findings.append(
            Finding(
                "wsd-lengths",
                f"num_stable_steps {stable_steps} + num_decay_steps {decay_steps} is not the {remaining} updates "
                f"after warmup: {what}",
            )
        )
    return filled, findings


# --------------------------------------------------------------------------- export


def _yaml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return format_number(float(value)) if isinstance(value, float) else str(value)
    return json.dumps(value)


def export_yaml(spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float) -> str:
    """LLaMA-Factory YAML keys with exactly the rates of ``spec``, or a RampupError naming the nearest.

    The scheduler is transformers' built-in that equals the schedule
    (:func:`rampup.conventions.hf_builtins.match_builtin`); ``warmup_stable_decay`` always gets both
    lengths, since LLaMA-Factory would fill a missing one with its 1/3 : 2/3 split. The text is read
    back with ``rampup inspect --format llamafactory`` before it is returned.
    """
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates (LLaMA-Factory's max_steps)")
    found = match_builtin(schedule, total, peak_lr)
    if isinstance(found, str):
        reason = found
    else:
        kwargs = dict(found.kwargs)
        if found.name == hf_conventions.WSD:
            used = found.warmup_steps + int(kwargs["num_decay_steps"])
            kwargs.setdefault("num_stable_steps", total - used)
        lines = [
            "### train (written by rampup export --to llamafactory)",
            f"learning_rate: {_yaml_value(float(peak_lr))}",
            f"lr_scheduler_type: {found.name}",
            f"warmup_steps: {found.warmup_steps}",
            f"max_steps: {total}",
        ]
        if kwargs:
            lines.append("lr_scheduler_kwargs:")
            lines.extend(f"  {key}: {_yaml_value(value)}" for key, value in kwargs.items())
        text = "\n".join(lines) + "\n"
        from rampup.conventions import RunSize
        from rampup.inspect import inspect_text

        back = inspect_text(text, "export.yaml", "llamafactory", RunSize())
        ours = schedule.values(np.arange(total, dtype=np.float64))
        if np.all(np.abs(ours - back.multipliers) <= 1e-9 * np.abs(back.multipliers) + 1e-15):
            return text
        reason = f"transformers' {found.name} differs from it in LLaMA-Factory"
    raise RampupError(
        "--to llamafactory",
        str(schedule),
        "a schedule one of transformers' built-in schedulers computes exactly (LLaMA-Factory runs Trainer's)",
        hint=f"{reason}; the nearest exact spec is {_nearest(schedule, total)}",
    )


def _nearest(schedule: Schedule, total: int) -> str:
    """A linear warmup of the same length, then transformers' cosine to the same floor."""
    segs = [seg for seg in schedule.segments if seg.length > 0]
    w = int(segs[0].length) if segs and segs[0].curve.role == "warmup" else 0
    w = min(w, total)
    floor = schedule.final_value()
    if floor >= 1.0 or w >= total:
        return f"linear({w}) -> constant" if w else "constant"
    to = f", to={format_number(floor)}" if floor else ""
    return f"linear({w}) -> cosine({max(total - w, 1)}{to})" if w else f"cosine({total}{to})"
