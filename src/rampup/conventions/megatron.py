"""Megatron-LM's learning-rate schedule, restated without importing Megatron.

Sources (Megatron-LM main of 2026-08, megatron-core 0.16): ``megatron/core/optimizer_param_scheduler.py``
(``OptimizerParamScheduler.get_lr``), ``megatron/training/training.py``
(``get_optimizer_param_scheduler``), ``megatron/training/config/training_config.py`` (defaults:
``--lr-decay-style linear``, ``--lr-wsd-decay-style exponential``, ``--lr-warmup-iters 0``,
``--lr-warmup-init 0``, ``--min-lr 0``). Its conventions:

- Counts are samples: every iteration adds ``--global-batch-size``, and warmup, decay and WSD
  lengths are iterations times that (so the schedule in iterations is the same, except
  ``--lr-warmup-fraction``, which is ``fraction * decay`` in floating point, not rounded).
- The warmup is linear from ``--lr-warmup-init`` and includes its last step (``n <= W``).
- ``--lr-decay-iters`` (default ``--train-iters``) counts from step 0, warmup included;
  past it the rate is ``--min-lr``.
- The constructor sets step 0's rate and the training loop steps after each update, so update
  ``k`` runs at step ``k``: no delay.
"""

from __future__ import annotations

import math
import shlex
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import Finding, Imported, general_findings, number, settle, whole
from rampup.curves import Segment
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["FLAGS", "STYLES", "WSD_STYLES", "export_flags", "import_args", "multipliers", "parse_flags"]

STYLES = ("constant", "linear", "cosine", "inverse-square-root", "WSD")
WSD_STYLES = ("exponential", "linear", "cosine", "minus_sqrt")
#: the flags read (the rest of a Megatron command line is left alone)
FLAGS = (
    "--lr",
    "--min-lr",
    "--lr-warmup-iters",
    "--lr-warmup-fraction",
    "--lr-warmup-init",
    "--lr-decay-style",
    "--lr-decay-iters",
    "--lr-wsd-decay-style",
    "--lr-wsd-decay-iters",
    "--train-iters",
    "--global-batch-size",
)
#: flags that would change the schedule but are not read: refused by name
_REFUSED = ("--train-samples", "--lr-decay-samples", "--lr-warmup-samples", "--lr-wsd-decay-samples", "--warmup")
_WSD_CURVES = {"linear": "linear", "cosine": "cosine", "minus_sqrt": "1-sqrt"}


def parse_flags(text: str, where: str) -> dict[str, str]:
    """The schedule flags of a Megatron command line or args file (``--flag value`` or ``--flag=value``).

    Shell line continuations and ``#`` comments are allowed; flags other than
    :data:`FLAGS` are skipped, except those that change the schedule in ways rampup does not read.
    """
    try:
        tokens = shlex.split(text.replace("\\\n", " "), comments=True)
    except ValueError as error:
        raise RampupError(where, text[:40], "a command line shell can split", hint=str(error)) from None
    found: dict[str, str] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("--"):
            continue
        name, _, inline = token.partition("=")
        if name in _REFUSED:
            raise RampupError(
                f"{where}: {name}",
                inline or None,
                "iteration-based flags (--train-iters, --lr-warmup-iters, --lr-decay-iters...)",
                hint="sample-based runs (--train-samples) are not read yet; Megatron itself refuses "
                "--lr-*-samples next to --train-iters ('expected iteration-based learning rate warmup')",
            )
        if name not in FLAGS:
            if name.startswith("--lr") and name not in ("--lr-warmup-init",):
                raise RampupError(f"{where}: flag", name, f"one of the schedule flags read here: {', '.join(FLAGS)}")
            continue
        if inline:
            value = inline
        elif index < len(tokens) and not tokens[index].startswith("--"):
            value = tokens[index]
            index += 1
        else:
            raise RampupError(f"{where}: {name}", None, "a value after the flag")
        if name in found and found[name] != value:
            raise RampupError(f"{where}: {name}", value, f"one value (it is also given as {found[name]})")
        found[name] = value
    if not found:
        raise RampupError(where, "no schedule flags", f"a Megatron command line with {', '.join(FLAGS[:3])}...")
    return found


def _settings(flags: Mapping[str, str], where: str) -> dict[str, Any]:
    data = {key.lstrip("-"): value for key, value in flags.items()}
    lr = number(data, "lr", where)
    if lr is None or not lr > 0:
        raise RampupError(f"{where}: --lr", data.get("lr"), "the peak learning rate > 0")
    train = whole(data, "train-iters", where, None, low=1)
    if train is None:
        raise RampupError(f"{where}: --train-iters", None, "the number of iterations (updates) of the run")
    style = data.get("lr-decay-style", "linear")
    if style not in STYLES:
        raise RampupError(f"{where}: --lr-decay-style", style, f"one of {', '.join(STYLES)}")
    wsd_style = data.get("lr-wsd-decay-style", "exponential")
    if wsd_style not in WSD_STYLES:
        raise RampupError(f"{where}: --lr-wsd-decay-style", wsd_style, f"one of {', '.join(WSD_STYLES)}")
    decay = whole(data, "lr-decay-iters", where, train, low=1)
    warmup_iters = whole(data, "lr-warmup-iters", where, 0)
    fraction = number(data, "lr-warmup-fraction", where, None, low=0.0)
    if fraction is not None and warmup_iters:
        raise RampupError(
            f"{where}: --lr-warmup-fraction",
            data["lr-warmup-fraction"],
            "no --lr-warmup-iters with it (Megatron asserts)",
        )
    wsd = whole(data, "lr-wsd-decay-iters", where, None, low=1)
    if style == "WSD" and wsd is None:
        raise RampupError(
            f"{where}: --lr-wsd-decay-iters", None, "the length of WSD's decay (with --lr-decay-style WSD)"
        )
    if wsd is not None and wsd > decay:
        raise RampupError(f"{where}: --lr-wsd-decay-iters", wsd, f"at most --lr-decay-iters ({decay})")
    min_lr = number(data, "min-lr", where, 0.0, low=0.0)
    init = number(data, "lr-warmup-init", where, 0.0, low=0.0)
    if min_lr > lr or init > lr:
        raise RampupError(f"{where}: --min-lr", min_lr, f"at most --lr ({lr:g})")
    batch = whole(data, "global-batch-size", where, 1, low=1)
    return {
        "lr": lr,
        "min_lr": min_lr,
        "init_lr": init,
        "train": train,
        "decay": decay,
        "warmup_iters": warmup_iters,
        "fraction": fraction,
        "style": style,
        "wsd_style": wsd_style,
        "wsd": wsd,
        "batch": batch,
    }


def multipliers(settings: Mapping[str, Any], updates: int) -> npt.NDArray[np.float64]:
    """``OptimizerParamScheduler.get_lr`` at step ``k * global_batch_size`` for updates k = 0 .. updates-1, / peak."""
    g = float(settings["batch"])
    max_lr, min_lr, init = settings["lr"], settings["min_lr"], settings["init_lr"]
    decay_steps = settings["decay"] * g
    warmup = settings["fraction"] * decay_steps if settings["fraction"] is not None else settings["warmup_iters"] * g
    n = np.arange(updates, dtype=np.float64) * g
    out = np.empty_like(n)
    for index, step in enumerate(n):  # the scheduler's branches, one step at a time
        step = float(step)
        if warmup > 0 and step <= warmup:
            lr = init + (max_lr - init) * step / warmup
        elif settings["style"] == "constant":
            lr = max_lr
        elif step > decay_steps:
            lr = min_lr
        elif settings["style"] == "inverse-square-root":
            lr = max(min_lr, max_lr * max(warmup, 1) ** 0.5 / (max(step, 1) ** 0.5))
        else:
            ratio = (step - warmup) / (decay_steps - warmup)
            if settings["style"] == "linear":
                coeff = 1.0 - ratio
            elif settings["style"] == "cosine":
                coeff = 0.5 * (math.cos(math.pi * ratio) + 1.0)
            else:
                wsd_steps = settings["wsd"] * g
                anneal = decay_steps - wsd_steps
                if step <= anneal:
                    coeff = 1.0
                else:
                    r = (step - anneal) / wsd_steps
                    style = settings["wsd_style"]
                    if style == "linear":
                        coeff = 1.0 - r
                    elif style == "cosine":
                        coeff = 0.5 * (math.cos(math.pi * r) + 1.0)
                    elif style == "exponential":
                        coeff = 2.0 * math.pow(0.5, r) - 1.0
                    else:
                        coeff = 1.0 - math.sqrt(r)
            lr = min_lr + coeff * (max_lr - min_lr)
        out[index] = lr / max_lr
    return out


def _candidate(settings: Mapping[str, Any]) -> tuple[str, str | None, float]:
    """The nearest spec, why it is not exact when that is known, and the warmup length in iterations."""
    lr = settings["lr"]
    decay = settings["decay"]
    why = None
    if settings["fraction"] is not None:
        exact = settings["fraction"] * decay
        w = round(exact)
        if abs(exact - w) > 1e-9 * max(1.0, exact):
            why = f"--lr-warmup-fraction gives a warmup of {exact:g} iterations, not a whole number"
            w = math.ceil(exact)
        warmup_length: float = exact
    else:
        w = settings["warmup_iters"]
        warmup_length = w
    start = f", from={format_number(settings['init_lr'] / lr)}" if settings["init_lr"] else ""
    to = f", to={format_number(settings['min_lr'] / lr)}" if settings["min_lr"] else ""
    warm = f"linear({w}{start}) -> " if w else ""
    style = settings["style"]
    if style == "constant":
        return (f"{warm}constant" if w else "constant"), why, warmup_length
    if style == "inverse-square-root":  # max(min_lr, lr * sqrt(W / n)): --min-lr is a clip, floor=
        floor = f"floor={format_number(settings['min_lr'] / lr)}" if settings["min_lr"] else ""
        if settings["decay"] < settings["train"]:
            why = why or "the rate drops to --min-lr after --lr-decay-iters"
        if not w:
            return f"constant(1) -> inverse-sqrt(timescale=1{', ' + floor if floor else ''})", why, 0.0
        return f"{warm}inverse-sqrt{f'({floor})' if floor else ''}", why, warmup_length
    if style in ("linear", "cosine"):
        return f"{warm}{style}({max(decay - w, 0)}{to})", why, warmup_length
    wsd = settings["wsd"]
    curve = _WSD_CURVES.get(settings["wsd_style"], "linear")
    if settings["wsd_style"] == "exponential":
        why = why or "WSD's exponential decay (2 * 0.5**r - 1) is no rampup curve"
    return f"{warm}constant({max(decay - wsd - w, 0)}) -> {curve}({wsd}{to})", why, warmup_length


def import_args(text: str, where: str, *, total_steps: int | None = None) -> Imported:
    """A Megatron-LM command line (or args file) as rampup sees it."""
    settings = _settings(parse_flags(text, where), where)
    run = settings["train"] if total_steps is None else total_steps
    findings: list[Finding] = []
    if total_steps is not None and total_steps != settings["train"]:
        findings.append(
            Finding("total-mismatch", f"--train-iters is {settings['train']} but the run has {total_steps} updates")
        )
    exact = settings["fraction"] * settings["decay"] if settings["fraction"] is not None else None
    if exact is not None and len({exact, float(math.ceil(exact)), float(math.floor(exact))}) > 1:
        findings.append(
            Finding(
                "ratio-rounding",
                f"--lr-warmup-fraction {format_number(settings['fraction'])} of --lr-decay-iters {settings['decay']} "
                f"is {exact:g} iterations, unrounded; Hugging Face would warm up for {math.ceil(exact)}, "
                f"Axolotl and NeMo for {math.floor(exact)}",
            )
        )
    if settings["decay"] != settings["train"]:
        findings.append(
            Finding(
                "decay-includes-warmup",
                f"--lr-decay-iters {settings['decay']} counts from step 0, warmup included; the rate reaches "
                f"--min-lr at iteration {settings['decay']} and stays there",
            )
        )
    counted = _samples_as_iterations(settings)
    if counted is not None:
        findings.append(counted)
    candidate, why, warmup_length = _candidate(settings)
    imported = settle("megatron", settings["lr"], multipliers(settings, run), candidate, findings, why)
    general_findings(imported, warmup_length)
    return imported


def _samples_as_iterations(settings: Mapping[str, Any]) -> Finding | None:
    """``--lr-decay-iters`` that equals the run's samples (``--train-iters`` x ``--global-batch-size``).

    With ``--train-iters`` Megatron counts every length in iterations (``training.py`` multiplies them by the
    global batch size itself); a decay length written in samples ends ``global_batch_size`` times too late.
    """
    g, train, decay = settings["batch"], settings["train"], settings["decay"]
    if g <= 1 or decay != train * g:
        return None
    done = (train - (settings["warmup_iters"] or 0)) / max(1, decay - (settings["warmup_iters"] or 0))
    message = (
        f"--lr-decay-iters {decay} equals the run's samples (--train-iters {train} x --global-batch-size {g}), "
        f"but with --train-iters Megatron counts it in iterations (optimizer updates): the decay would end at "
        f"iteration {decay} and is {min(done, 1.0):.2%} done when the run ends"
    )
    w = settings["warmup_iters"]
    if w and w % g == 0:
        message += f"; --lr-warmup-iters {w}, if counted the same way, is {w // g} iterations"
    message += f". In iterations: --lr-decay-iters {train} (or --train-samples and --lr-decay-samples for samples)"
    return Finding("counted-in-samples", message)


# --------------------------------------------------------------------------- export


def export_flags(spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float) -> str:
    """Megatron-LM flags with exactly the rates of ``spec``, or a RampupError naming the nearest exact spec.

    Exact shapes: ``[linear(W, from=i) ->] linear|cosine(D - W, to=m) [-> constant]``,
    ``[linear(W) ->] constant``, and WSD ``linear(W) -> constant(S) -> linear|cosine|1-sqrt(D_w, to=m)``.
    """
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates (Megatron's --train-iters)")
    flags = _flags_for(schedule, total, peak_lr)
    if flags is not None:
        text = " \\\n".join(f"{key} {value}" for key, value in flags.items()) + "\n"
        back = import_args(text, "export")
        ours = schedule.values(np.arange(total, dtype=np.float64))
        if np.all(np.abs(ours - back.multipliers) <= 1e-9 * np.abs(back.multipliers) + 1e-15):
            return text
    raise RampupError(
        "--to megatron",
        str(schedule),
        "a linear warmup (from any start) then constant, linear, cosine, or WSD with a linear, cosine or "
        "1-sqrt decay, each to a floor",
        hint=f"the nearest exact spec is {_nearest(schedule)}",
    )


def _flags_for(schedule: Schedule, total: int, peak: float) -> dict[str, str] | None:
    segs: list[Segment] = [seg for seg in schedule.segments if seg.length > 0]
    flags = {"--lr": format_number(peak), "--train-iters": str(total)}
    if segs and segs[0].curve.role == "warmup":
        first = segs.pop(0)
        if first.curve.name != "linear" or first.params.get("delay"):
            return None
        flags["--lr-warmup-iters"] = str(int(first.length))
        if first.a:
            flags["--lr-warmup-init"] = _short(first.a * peak)
    if segs and math.isinf(segs[-1].length) and segs[-1].curve.name == "constant":
        segs.pop()
    names = [seg.curve.name for seg in segs]
    if not segs:
        flags["--lr-decay-style"] = "constant"
        return flags
    last = segs[-1]
    end = int(last.start + last.length)
    flags["--lr-decay-iters"] = str(end)
    flags["--min-lr"] = _short(last.b * peak)
    if names in (["linear"], ["cosine"]) and last.params.get("cycles", 0.5) == 0.5:
        flags["--lr-decay-style"] = names[0]
        return flags
    wsd = {"linear": "linear", "cosine": "cosine", "1-sqrt": "minus_sqrt"}
    if len(names) == 2 and names[0] == "constant" and names[1] in wsd:
        flags["--lr-decay-style"] = "WSD"
        flags["--lr-wsd-decay-style"] = wsd[names[1]]
        flags["--lr-wsd-decay-iters"] = str(int(last.length))
        return flags
    return None


def _short(value: float) -> str:
    """``value`` in 12 significant digits when that is within 1e-12 of it (3e-05, not 2.9999999999999997e-05)."""
    short = float(f"{value:.12g}")
    return format_number(short if abs(short - value) <= 1e-12 * abs(value) else value)


def _nearest(schedule: Schedule) -> str:
    segs = [seg for seg in schedule.segments if seg.length > 0]
    w = int(segs[0].length) if segs and segs[0].curve.role == "warmup" else 0
    end = int(schedule.phases_end) if not math.isinf(schedule.phases_end) else w
    floor = schedule.final_value()
    if floor == 1.0 or end <= w:
        return f"linear({w}) -> constant"
    to = f", to={format_number(floor)}" if floor else ""
    return f"linear({w}) -> cosine({max(end - w, 1)}{to})"


def shell_words(flags: Sequence[str]) -> str:
    """Flags as one shell line (for docs)."""
    return " ".join(shlex.quote(flag) for flag in flags)
