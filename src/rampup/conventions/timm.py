"""timm's learning-rate schedulers and ``train.py`` arguments, restated without importing timm.

Sources (pytorch-image-models 1.0.29.dev0, commit aa4b585 of 2026-08-08): ``timm/scheduler/scheduler.py``
(``Scheduler``: the constructor sets the warmup start, or the base rate, for tick 0; ``step(epoch)``
and ``step_update(num_updates)`` set tick t's rate ``_get_lr(t)``), ``cosine_lr.py``, ``tanh_lr.py``,
``poly_lr.py``, ``step_lr.py``, ``multistep_lr.py``, ``plateau_lr.py``, ``scheduler_factory.py``
(``create_scheduler_v2``) and ``train.py`` (its flags and defaults, the training loop). The parity tests run
the scheduler files of timm 1.0.31, unchanged for these schedulers; 1.0.31's ``wsd_lr.py`` (``WSDLRScheduler``)
and its ``create_scheduler_v2`` add ``--sched wsd``, ``rsqrt``, ``constant`` and ``none``, read here from that
version (its wheel has no ``train.py``: ``--lr-decay-fn`` and ``--lr-stable-timescale`` are the ``lr_decay_fn`` and
``lr_stable_timescale`` that its ``scheduler_kwargs`` reads). Its conventions:

- A tick is an epoch: ``train.py`` calls ``step(epoch + 1)`` after each epoch, so every update of
  epoch e runs at ``_get_lr(e)`` (a staircase). With ``--sched-on-updates`` a tick is an update:
  ``step_update(n)`` after update n sets update n's rate, and every length is epochs times the
  updates per epoch ``ceil(len(loader) / grad_accum)`` (the loader drops its last partial batch).
- Warmup: ``warmup_lr + t * (lr - warmup_lr) / W`` for ``t < W``, from ``--warmup-lr`` (1e-5) over
  ``--warmup-epochs`` (5 by default in ``train.py``). Without ``--warmup-prefix`` (the default) the
  decay is timed from tick 0, so it is already ``W`` ticks in when warmup ends and the rate drops;
  with it, the decay starts at ``W`` and the run is ``W`` longer.
- cosine: ``min + (lr_max - min) * (1 + cos(pi * t_curr**k / t_i**k)) / 2`` per cycle (``--lr-cycle-*``,
  ``--lr-k-decay``), then ``--min-lr`` for ``--cooldown-epochs``; tanh: ``min + (lr_max - min) *
  (1 - tanh(lb * (1 - r) + ub * r)) / 2`` with lb -7, ub 3, whose warmup climbs to tanh's value at W
  (no drop); poly: ``min + (lr_max - min) * (1 - t_curr**k / t_i**k) ** power`` with ``--decay-rate``
  as the power; step: ``lr * decay_rate ** (t // decay_epochs)``, no floor; multistep:
  ``lr * decay_rate ** bisect_right(milestones, t + 1)`` (a drop one tick before each milestone);
  plateau: the warmup (``epoch <= W``), then ``ReduceLROnPlateau`` on the eval metric.
- wsd and rsqrt (``WSDLRScheduler``, always warmup-prefixed; without ``--warmup-prefix`` the stable + decay
  length is ``T = epochs - W``): after the warmup, ``stable = max(lr * s(t_s), min_lr)`` with ``s`` 1 (wsd) or
  ``(1 + t_s / timescale) ** -0.5`` (rsqrt; the timescale is ``--lr-stable-timescale`` or W), then over the last
  ``D`` ticks ``min_lr + (stable - min_lr) * f(p)``, ``f`` one of linear, 1-sqrt (wsd's default), cosine, power
  (``1 - p ** 0.5``: no decay power is passed) or exp; ``D = round(--decay-epochs)``, a fraction of T below 1,
  the last 20% of T when None. The run is ``W + T + cooldown``. constant: ``StepLRScheduler`` with decay rate 1
  (the warmup, then lr; no cooldown). none: no scheduler, lr throughout (no group ``lr_scale``); the run is
  ``epochs`` (+ W with ``--warmup-prefix``).
- Without ``--lr``, ``lr = lr_base * (batch * world * accum / lr_base_size)`` (square root of the
  ratio for ``ada*`` and ``lamb`` optimizers).
"""

from __future__ import annotations

import math
import re
import shlex
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import Finding, Imported, RunSize, general_findings, number, settle, whole
from rampup.durations import Duration, format_number
from rampup.errors import RampupError
from rampup.schedule import Phase, Schedule, as_schedule

__all__ = [
    "DEFAULTS",
    "SCHEDS",
    "export_flags",
    "import_settings",
    "parse_flags",
    "tick_values",
    "update_multipliers",
    "world_size",
]

SCHEDS = ("cosine", "tanh", "poly", "step", "multistep", "plateau", "wsd", "rsqrt", "constant", "none")
#: ``WSDLRScheduler``'s decay functions (``wsd_lr.py``), and the one ``create_scheduler_v2`` picks by default
DECAY_FNS = ("linear", "1-sqrt", "cosine", "power", "exp")
_DEFAULT_DECAY_FN = {"wsd": "1-sqrt", "rsqrt": "linear"}
#: what ``create_scheduler_v2`` leaves at ``WSDLRScheduler``'s defaults: ``decay_power``, ``decay_ratio``
_DECAY_POWER, _DECAY_RATIO = 0.5, 0.1
#: ``create_scheduler_v2``'s decay length of wsd and rsqrt when ``decay_epochs`` is None: this share of the schedule
_DECAY_SHARE = 0.2

#: ``train.py``'s defaults of the arguments read (its argparse ``dest`` names, as in the ``args.yaml`` it writes)
DEFAULTS: dict[str, Any] = {
    "sched": "cosine",
    "sched_on_updates": False,
    "lr": None,
    "lr_base": 0.1,
    "lr_base_size": 256,
    "lr_base_scale": "",
    "opt": "sgd",
    "batch_size": 128,
    "grad_accum_steps": 1,
    "epochs": 300,
    "warmup_epochs": 5,
    "warmup_lr": 1e-5,
    "min_lr": 0.0,
    "warmup_prefix": False,
    "cooldown_epochs": 0,
    "decay_epochs": 90.0,
    "decay_milestones": [90, 180, 270],
    "decay_rate": 0.1,
    "lr_cycle_mul": 1.0,
    "lr_cycle_decay": 0.5,
    "lr_cycle_limit": 1,
    "lr_k_decay": 1.0,
    "patience_epochs": 10,
    "train_batches_per_epoch": None,
    "lr_noise": None,
    "start_epoch": None,
    "epoch_repeats": 0.0,
    "lr_decay_fn": None,
    "lr_stable_timescale": None,
}
#: flags (and their aliases) of the arguments read, by ``dest``
_FLAGS = {"--" + key.replace("_", "-"): key for key in DEFAULTS}
_FLAGS.update({"-b": "batch_size", "--dr": "decay_rate", "--train-steps-per-epoch": "train_batches_per_epoch"})
_SWITCHES = {"sched_on_updates", "warmup_prefix"}
_LISTS = {"decay_milestones", "lr_noise"}
#: schedule-looking arguments of ``train.py`` that do not change the rates read here (skipped)
_OTHER = {"lr_noise_pct", "lr_noise_std", "model_ema_warmup", "train_size_schedule", "train_size_schedule_spread"}
_WORDS = ("lr", "warmup", "sched", "cooldown", "decay_epochs", "decay_rate", "decay_milestones")
#: tanh's bounds (``TanhLRScheduler`` defaults; ``create_scheduler_v2`` passes none)
_LB, _UB = -7.0, 3.0


def parse_flags(text: str, where: str) -> dict[str, Any]:
    """The schedule arguments of a ``train.py`` command line: ``--flag value``, ``--flag=value``, switches, lists."""
    try:
        tokens = shlex.split(text.replace("\\\n", " "), comments=True)
    except ValueError as error:
        raise RampupError(where, text[:40], "a command line shell can split", hint=str(error)) from None
    found: dict[str, Any] = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        index += 1
        if not token.startswith("-"):
            continue
        flag, _, inline = token.partition("=")
        key = _FLAGS.get(flag)
        if key is None:
            dest = flag.lstrip("-").replace("-", "_")
            if dest not in _OTHER and any(dest.startswith(word) for word in _WORDS):
                known = ", ".join(sorted(flag for flag in _FLAGS if flag.startswith("--")))
                raise RampupError(f"{where}: flag", flag, f"one of timm's schedule flags read here: {known}")
            continue
        if key in _SWITCHES:
            found[key] = True
            continue
        values: list[str] = [inline] if inline else []
        while index < len(tokens) and (not tokens[index].startswith("-") or _is_number(tokens[index])):
            values.append(tokens[index])
            index += 1
            if key not in _LISTS:
                break
        if not values:
            raise RampupError(f"{where}: {flag}", None, "a value after the flag")
        found[key] = values if key in _LISTS else values[0]
    if "sched" not in found and "warmup_epochs" not in found and "epochs" not in found:
        raise RampupError(where, "no timm schedule flags", "a timm train.py command line with --sched, --epochs...")
    return found


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _settings(data: Mapping[str, Any], where: str, size: RunSize) -> dict[str, Any]:
    """The arguments with ``train.py``'s defaults, checked; the errors name the file and the argument."""
    known = set(DEFAULTS) | _OTHER
    for key in data:
        dest = str(key)
        if dest not in known and any(dest.startswith(word) for word in _WORDS):
            raise RampupError(f"{where}: key", key, f"one of timm's schedule arguments: {', '.join(sorted(DEFAULTS))}")
    raw = {**DEFAULTS, **{key: value for key, value in data.items() if key in DEFAULTS}}
    for key in ("lr_noise", "start_epoch"):
        if raw[key] not in (None, [], ""):
            raise RampupError(
                f"{where}: {key}", raw[key], "unset: rampup inspect reads a fresh run without learning-rate noise"
            )
    if number(raw, "epoch_repeats", where, 0.0):
        raise RampupError(f"{where}: epoch_repeats", raw["epoch_repeats"], "0 (give the run with --total-steps)")
    sched = str(raw["sched"])
    if sched not in SCHEDS:
        raise RampupError(f"{where}: sched", sched, f"one of {', '.join(SCHEDS)}")
    out: dict[str, Any] = {"sched": sched}
    for key in ("sched_on_updates", "warmup_prefix"):
        value = raw[key]
        if isinstance(value, str):
            value = {"true": True, "false": False}.get(value.strip().lower(), value)
        if not isinstance(value, bool):
            raise RampupError(f"{where}: {key}", raw[key], "true or false")
        out[key] = value
    for key in ("epochs", "warmup_epochs", "cooldown_epochs", "patience_epochs", "lr_cycle_limit"):
        out[key] = whole(raw, key, where, DEFAULTS[key])
    for key in ("lr_base_size", "batch_size", "grad_accum_steps"):
        out[key] = whole(raw, key, where, DEFAULTS[key], low=1)
    out["train_batches_per_epoch"] = whole(raw, "train_batches_per_epoch", where, None, low=1)
    for key in ("warmup_lr", "min_lr", "lr_base", "decay_rate", "lr_cycle_mul", "lr_cycle_decay", "lr_k_decay"):
        out[key] = number(raw, key, where, DEFAULTS[key], low=0.0)
    out["decay_epochs"] = number(raw, "decay_epochs", where, DEFAULTS["decay_epochs"])
    out["decay_epochs_given"] = data.get("decay_epochs") is not None
    if sched in ("wsd", "rsqrt") and not out["decay_epochs_given"]:
        out["decay_epochs"] = _DECAY_SHARE  # create_scheduler_v2's None: the last 20% (see the default-decay finding)
    if not out["decay_epochs"] > 0:
        raise RampupError(f"{where}: decay_epochs", raw["decay_epochs"], "a number of epochs > 0")
    decay_fn = raw["lr_decay_fn"]
    if decay_fn not in (None, "", *DECAY_FNS):
        raise RampupError(f"{where}: lr_decay_fn", decay_fn, f"one of {', '.join(DECAY_FNS)} (wsd_lr.py's decay_fn)")
    out["lr_decay_fn"] = decay_fn or None
    out["lr_stable_timescale"] = number(raw, "lr_stable_timescale", where, None)
    milestones = raw["decay_milestones"]
    if isinstance(milestones, (int, str)):
        milestones = [milestones]
    if not isinstance(milestones, list):
        raise RampupError(f"{where}: decay_milestones", milestones, "a list of whole epochs")
    out["decay_milestones"] = [whole({"m": item}, "m", f"{where}: decay_milestones") for item in milestones]
    if out["decay_milestones"] != sorted(out["decay_milestones"]):
        raise RampupError(f"{where}: decay_milestones", milestones, "increasing epochs (timm assumes them sorted)")
    if sched in ("cosine", "tanh", "poly", "wsd", "rsqrt") and out["epochs"] < 1:
        raise RampupError(f"{where}: epochs", raw["epochs"], "a whole number of epochs >= 1")
    if out["lr_cycle_mul"] <= 0:
        raise RampupError(f"{where}: lr_cycle_mul", raw["lr_cycle_mul"], "a number > 0")
    if sched == "plateau" and out["sched_on_updates"]:
        raise RampupError(f"{where}: sched_on_updates", True, "false with plateau (timm asserts: per epoch only)")
    opt = str(raw["opt"]).lower()
    scale = str(raw["lr_base_scale"] or ("sqrt" if any(word in opt for word in ("ada", "lamb")) else "linear"))
    if scale not in ("linear", "sqrt"):
        raise RampupError(f"{where}: lr_base_scale", scale, "linear, sqrt or empty")
    batch = size.batch_size if size.batch_size is not None else out["batch_size"]
    accum = size.grad_accum if size.grad_accum is not None else out["grad_accum_steps"]
    out.update(batch_size=batch, grad_accum_steps=accum, lr_base_scale=scale)
    lr = number(raw, "lr", where, None)
    out["lr_given"] = bool(lr)
    if not lr:  # ``if not args.lr``: None and 0 both mean "from lr_base"
        ratio = batch * (size.num_processes or 1) * accum / out["lr_base_size"]
        lr = out["lr_base"] * (math.sqrt(ratio) if scale == "sqrt" else ratio)
    if not lr > 0:
        raise RampupError(f"{where}: lr", raw["lr"], "a learning rate > 0")
    out["lr"] = lr
    if size.epochs is not None:
        if not float(size.epochs).is_integer():
            raise RampupError("--epochs", size.epochs, "a whole number of epochs (timm's --epochs is an int)")
        out["epochs"] = int(size.epochs)
    return out


def _ticks(settings: Mapping[str, Any], per_tick: int) -> dict[str, Any]:
    """``create_scheduler_v2``: the scheduler's lengths in ticks, and the run's epochs."""
    unit = 1 if not settings["sched_on_updates"] else per_tick
    t_initial = settings["epochs"] * unit
    warmup = settings["warmup_epochs"] * unit
    cooldown = settings["cooldown_epochs"] * unit
    sched = settings["sched"]
    cycles = max(1, settings["lr_cycle_limit"])
    mul = settings["lr_cycle_mul"]
    if sched in ("cosine", "tanh", "poly"):  # get_cycle_length() + cooldown
        length = t_initial * cycles if mul == 1.0 else math.floor(-t_initial * (mul**cycles - 1) / (1 - mul))
        length = length + warmup if settings["warmup_prefix"] else length
        run = length + cooldown
        epochs = run if unit == 1 else run // unit
    elif sched in ("wsd", "rsqrt"):  # always warmup-prefixed; without --warmup-prefix fitted into --epochs
        t_sched = t_initial if settings["warmup_prefix"] else t_initial - warmup
        run = warmup + t_sched + cooldown  # get_cycle_length() + cooldown
        epochs = run if unit == 1 else run // unit
    else:  # step, multistep, plateau, constant, none: --cooldown-epochs not counted
        epochs = settings["epochs"] + (settings["warmup_epochs"] if settings["warmup_prefix"] else 0)
    out = {
        "t_initial": t_initial,
        "warmup": warmup if sched != "none" else 0,
        "decay_t": settings["decay_epochs"] * unit,
        "milestones": [m * unit for m in settings["decay_milestones"]],
        "epochs": epochs,
    }
    if sched in ("wsd", "rsqrt"):
        out.update(_wsd_ticks(settings, t_sched, warmup, unit))
    return out


def _wsd_ticks(settings: Mapping[str, Any], t_sched: int, warmup: int, unit: int) -> dict[str, Any]:
    """``create_scheduler_v2``'s ``WSDLRScheduler`` lengths in ticks, in its own arithmetic (checked later)."""
    share = settings["decay_epochs"]
    decay_t = share * unit
    if 0 < share < 1:
        decay_t = share * t_sched  # a fraction of the stable + decay length
    timescale = settings["lr_stable_timescale"]
    if timescale is not None:
        timescale = timescale * unit
    return {
        "t_sched": t_sched,
        "wsd_decay": round(decay_t),
        "timescale": timescale if timescale is not None else warmup,
        "decay_fn": settings["lr_decay_fn"] or _DEFAULT_DECAY_FN[settings["sched"]],
    }


def _cycle(t: npt.NDArray[np.float64], t_initial: float, mul: float) -> tuple[Any, Any, Any]:
    """The cycle ``i`` of tick t, its length and the position in it (``cosine_lr.py``'s ``_get_lr``)."""
    if mul != 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):
            i = np.floor(np.log(1 - t / t_initial * (1 - mul)) / math.log(mul))
        return i, mul**i * t_initial, t - (1 - mul**i) / (1 - mul) * t_initial
    i = np.floor_divide(t, t_initial)
    return i, t_initial + 0.0 * t, t - t_initial * i


def tick_values(settings: Mapping[str, Any], ticks: Mapping[str, Any], t: npt.NDArray[np.float64]) -> Any:
    """``_get_lr(t)`` of the scheduler, in absolute rates, at ticks ``t`` (numpy, elementwise)."""
    lr, init, low = settings["lr"], settings["warmup_lr"], settings["min_lr"]
    sched, w = settings["sched"], float(ticks["warmup"])
    u = t - w if settings["warmup_prefix"] and sched != "plateau" else t
    if sched in ("cosine", "tanh", "poly"):
        i, t_i, t_curr = _cycle(u, float(ticks["t_initial"]), settings["lr_cycle_mul"])
        top = lr * settings["lr_cycle_decay"] ** i
        k = settings["lr_k_decay"]
        with np.errstate(divide="ignore", invalid="ignore"):
            if sched == "cosine":
                decay = low + 0.5 * (top - low) * (1 + np.cos(math.pi * t_curr**k / t_i**k))
            elif sched == "poly":
                decay = low + (top - low) * (1 - t_curr**k / t_i**k) ** settings["decay_rate"]
            else:
                r = t_curr / t_i
                decay = low + 0.5 * (top - low) * (1 - np.tanh(_LB * (1.0 - r) + _UB * r))
        decay = np.where(i < settings["lr_cycle_limit"], decay, low)
    elif sched == "step":
        decay = lr * settings["decay_rate"] ** np.floor_divide(u, ticks["decay_t"])
    elif sched == "multistep":
        drops = np.searchsorted(np.asarray(ticks["milestones"], dtype=np.float64), u + 1, side="right")
        decay = lr * settings["decay_rate"] ** drops.astype(np.float64)
    elif sched in ("wsd", "rsqrt"):
        decay = _wsd_values(settings, ticks, t - w)
    elif sched == "none":  # no scheduler: the optimizer's lr, untouched
        return lr + 0.0 * t
    else:  # plateau, the metric never stalling; constant (a step schedule with decay_rate 1)
        decay = lr + 0.0 * t
    if w <= 0:
        return decay
    target = lr
    if sched == "tanh" and not settings["warmup_prefix"]:  # TanhLRScheduler warms up to _get_lr(warmup_t)
        target = float(tick_values({**settings, "warmup_epochs": 0}, {**ticks, "warmup": 0}, np.array([w]))[0])
    warm = init + t * ((target - init) / w)
    return np.where(t <= w, warm, decay) if sched == "plateau" else np.where(t < w, warm, decay)


def _wsd_values(settings: Mapping[str, Any], ticks: Mapping[str, Any], t_s: npt.NDArray[np.float64]) -> Any:
    """``WSDLRScheduler._get_lr`` after the warmup, at ``t_s`` ticks since its end (``wsd_lr.py``)."""
    lr, low = settings["lr"], settings["min_lr"]
    if settings["sched"] == "rsqrt":
        with np.errstate(divide="ignore", invalid="ignore"):  # in the warmup (t_s < 0): replaced below
            stable = np.maximum(lr * (1.0 + t_s / ticks["timescale"]) ** -0.5, low)
    else:
        stable = np.maximum(lr * 1.0 + 0.0 * t_s, low)
    length = ticks["wsd_decay"]
    t_decay = t_s - (ticks["t_sched"] - length)
    frac = np.minimum(np.maximum(t_decay, 0.0) / length, 1.0)
    fn = ticks["decay_fn"]
    if fn == "linear":
        shape = 1.0 - frac
    elif fn == "1-sqrt":
        shape = 1.0 - np.sqrt(frac)
    elif fn == "cosine":
        shape = 0.5 * (1.0 + np.cos(math.pi * frac))
    elif fn == "power":
        shape = 1.0 - frac**_DECAY_POWER
    else:  # exp: r ** frac normalized to reach 0
        shape = (_DECAY_RATIO**frac - _DECAY_RATIO) / (1.0 - _DECAY_RATIO)
    return np.where(t_decay <= 0, stable, low + (stable - low) * shape)


def update_multipliers(settings: Mapping[str, Any], ticks: Mapping[str, Any], per_epoch: int) -> Any:
    """Each update's rate / ``lr``: tick ``k`` (per update) or ``k // per_epoch`` (per epoch); tick 0 as constructed."""
    total = ticks["epochs"] * per_epoch
    k = np.arange(total, dtype=np.float64)
    t = k if settings["sched_on_updates"] else np.floor_divide(k, per_epoch)
    values = np.asarray(tick_values(settings, ticks, t), dtype=np.float64)
    start = settings["warmup_lr"] if ticks["warmup"] else settings["lr"]  # the constructor's rate
    values = np.where(t == 0, start, values)
    return values / settings["lr"]


def updates_per_epoch(settings: Mapping[str, Any], size: RunSize, epochs: int, where: str) -> int:
    """``ceil(len(loader) / grad_accum)``; ``len(loader)`` is ``floor(ceil(n / world) / batch)`` (drop_last)."""
    accum = settings["grad_accum_steps"]
    if size.total_steps is not None:
        if epochs <= 0 or size.total_steps % epochs:
            raise RampupError(
                "--total-steps",
                size.total_steps,
                f"a multiple of the {epochs} epochs timm schedules (updates per epoch)",
            )
        return size.total_steps // epochs
    if settings["train_batches_per_epoch"] is not None:
        return int(-(-settings["train_batches_per_epoch"] // accum))
    if size.dataset_size is None:
        raise RampupError(
            "--dataset-size",
            None,
            f"the run's size: timm counts epochs ({epochs}); --total-steps N (a multiple of them) or --dataset-size",
        )
    per_process = -(-size.dataset_size // (size.num_processes or 1))
    batches = per_process // settings["batch_size"]
    if batches < 1:
        raise RampupError("--dataset-size", size.dataset_size, "at least one full batch per process (drop_last)")
    return int(-(-batches // accum))


def _candidate(settings: Mapping[str, Any], ticks: Mapping[str, Any], unit: int, run: int) -> tuple[str | None, str]:
    """The spec of the scheduler (lengths in updates; ``unit`` updates per tick), and why it may not be exact.

    Stepped per epoch (``unit`` > 1), every phase is a staircase, ``per={unit}``: :func:`_per_tick`.
    """
    candidate, why = _shape(settings, ticks, unit, run)
    if candidate is not None and unit > 1:
        candidate = _per_tick(candidate, unit)
    return candidate, why


def _per_tick(candidate: str, unit: int) -> str:
    """``candidate`` with each phase held for ``unit`` updates (``per=unit``): timm's rate set once per epoch."""
    try:
        schedule = Schedule.parse(candidate)
    except RampupError:
        return candidate  # settle() names what is wrong with it
    phases = [
        phase if phase.curve == "constant" and not phase.get("from") else Phase(*_with_per(phase, unit))
        for phase in schedule.phases
    ]
    return str(Schedule(tuple(phases)))


def _with_per(phase: Phase, unit: int) -> tuple[str, Duration | None, tuple[tuple[str, Any], ...]]:
    return phase.curve, phase.length, (*phase.params, ("per", Duration(unit)))


def _shape(settings: Mapping[str, Any], ticks: Mapping[str, Any], unit: int, run: int) -> tuple[str | None, str]:
    """The spec of the scheduler's shape (lengths in updates), and why it may not be exact."""
    lr, sched = settings["lr"], settings["sched"]
    w = ticks["warmup"] * unit
    start = settings["warmup_lr"] / lr
    warm = f"linear({w}{_from(start)}) -> " if w else ""
    to = f", to={_short(settings['min_lr'] / lr)}" if settings["min_lr"] else ""
    prefix = settings["warmup_prefix"] or not w
    why = ""
    if sched in ("wsd", "rsqrt"):
        return _wsd_shape(settings, ticks, unit, warm)
    if sched == "none":
        return "constant", ""
    if sched == "constant":  # StepLRScheduler(decay_t=1, decay_rate=1): the warmup within --epochs either way
        return f"{warm}constant", ""
    if sched in ("cosine", "poly", "tanh"):
        length = ticks["t_initial"] * unit
        shape = {"cosine": "cosine", "poly": "polynomial", "tanh": "tanh"}[sched]
        options = [f"power={format_number(settings['decay_rate'])}"] if sched == "poly" else []
        k = settings["lr_k_decay"]
        if k != 1.0 and sched != "tanh":
            options.append(f"k={format_number(k)}")
        skip = 0 if prefix else w  # without --warmup-prefix the decay is timed from update 0
        if sched == "tanh" and not w:  # the constructor's rate for tick 0 is lr, not tanh's value there
            warm, skip = f"constant({unit}) -> ", unit
        if sched == "tanh" and not prefix:
            why = (
                "without --warmup-prefix timm's tanh warmup climbs to the tanh's value at its end "
                f"({_short(float(tick_values(settings, ticks, np.array([float(ticks['warmup'])]))[0]) / lr)} of lr), "
                "not to lr; a rampup warmup ends at the peak"
            )
        if skip:
            options.append(f"skip={skip}")
        if settings["lr_cycle_limit"] > 1:
            mul, limit = settings["lr_cycle_mul"], settings["lr_cycle_limit"]
            cycled = (
                ticks["t_initial"] * limit
                if mul == 1
                else math.floor(-ticks["t_initial"] * (mul**limit - 1) / (1 - mul))
            )
            cycle = [f"period={length}"] + ([f"mult={format_number(mul)}"] if mul != 1 else [])
            if settings["lr_cycle_decay"] != 1:
                cycle.append(f"decay={format_number(settings['lr_cycle_decay'])}")
            if sched != "cosine":
                why = why or f"rampup's restarts are cosines, not {sched}"
            if k != 1.0:
                why = why or "--lr-k-decay bends each cycle's clock; rampup's k= bends the whole phase's"
                options.remove(f"k={format_number(k)}")
            options = cycle + [item for item in options if not item.startswith("power=")]
            return f"{warm}cosine-restarts({max(cycled * unit - skip, 1)}, {', '.join(options)}{to})", why
        body = ", ".join([str(max(length - skip, 1)), *options])
        return f"{warm}{shape}({body}{to})", why
    gamma = format_number(settings["decay_rate"]) if settings["decay_rate"] > 0 else None
    if sched in ("step", "multistep"):
        if gamma is None or settings["decay_rate"] > 1:
            return None, "a decay rate outside (0, 1]"
        every = ticks["decay_t"] * unit
        if sched == "step" and float(every).is_integer():  # without --warmup-prefix: counted from update 0
            skip = "" if prefix else f", skip={w}"
            return f"{warm}step(every={format_number(every)}, gamma={gamma}{skip})", why
        shift = ticks["warmup"] if settings["warmup_prefix"] else 0
        if sched == "step":
            at = [ticks["decay_t"] * n for n in range(1, int(run / unit / ticks["decay_t"]) + 2)]
        else:
            at = [m - 1 for m in ticks["milestones"]]
        low = 0 if w else 1  # a drop at 0 counts once the warmup is over; without one, tick 0 keeps the base rate
        marks = sorted({math.ceil(shift + a) * unit for a in at if low <= math.ceil(shift + a) * unit < run})
        if len(marks) > 100:
            every = format_number(ticks["decay_t"] * unit)
            return f"{warm}step(every={every}, gamma={gamma})", "timm drops from update 0, not from the warmup's end"
        if not marks:
            return f"{warm}constant", why
        return f"{warm}step(at=[{', '.join(str(m) for m in marks)}], gamma={gamma})", why
    return f"{warm}constant", "ReduceLROnPlateau lowers the rate when the eval metric stalls (shown: it never does)"


def _wsd_shape(settings: Mapping[str, Any], ticks: Mapping[str, Any], unit: int, warm: str) -> tuple[str, str]:
    """``warmup -> stable -> decay(D, to=min_lr)``: wsd's stable phase is ``constant``, rsqrt's ``inverse-sqrt``."""
    lr, low = settings["lr"], settings["min_lr"]
    hold, length = (ticks["t_sched"] - ticks["wsd_decay"]) * unit, ticks["wsd_decay"] * unit
    name = {"linear": "linear", "1-sqrt": "1-sqrt", "cosine": "cosine", "power": "1-sqrt"}.get(ticks["decay_fn"])
    why = ""
    if name is None:  # exp: (r ** frac - r) / (1 - r), r 0.1; a square is the closest rampup decay
        curve, why = f"polynomial({length}, power=2", "timm's exp decay, (0.1 ** p - 0.1) / 0.9, has no rampup curve"
    else:
        curve = f"{name}({length}"
    to = f", to={_short(low / lr)}" if low else ""
    stable = ""
    if settings["sched"] == "rsqrt":
        floor = f", floor={_short(low / lr)}" if low else ""
        if hold:
            stable = f"inverse-sqrt({hold}, timescale={format_number(ticks['timescale'] * unit)}{floor}) -> "
        if ticks["wsd_decay"] > 1:
            why = why or (
                "timm's rsqrt keeps decaying through the cooldown (its rsqrt times the linear decay); "
                "a rampup phase follows one curve"
            )
    elif hold:
        stable = f"constant({hold}) -> "
    return f"{warm}{stable}{curve}{to})", why


def _from(value: float) -> str:
    return f", from={_short(value)}" if value else ""


def _short(value: float) -> str:
    """``value`` in 12 significant digits when that is within 1e-12 of it (0.1, not 0.09999999999999999)."""
    short = float(f"{value:.12g}")
    return format_number(short if abs(short - value) <= 1e-12 * abs(value) else value)


def world_size(text: str) -> int | None:
    """The processes of a launch line: ``distributed_train.sh N`` or ``torchrun --nproc_per_node N``."""
    found = re.search(r"distributed_train\.sh\s+(\d+)|--nproc[_-]per[_-]node[=\s]+(\d+)", text)
    if found is None:
        return None
    return int(found.group(1) or found.group(2))


def import_settings(data: Mapping[str, Any], where: str, size: RunSize) -> Imported:
    """A timm ``train.py`` command line (parsed) or ``args.yaml`` as rampup sees it."""
    settings = _settings(data, where, size)
    findings: list[Finding] = []
    epochs = _ticks(settings, 1)["epochs"]  # the same count per update, but for the floor of cycle_mul
    per_epoch = updates_per_epoch(settings, size, epochs, where)
    ticks = _ticks(settings, per_epoch)
    if settings["sched"] in ("wsd", "rsqrt"):
        _check_wsd(settings, ticks, where)
    values = update_multipliers(settings, ticks, per_epoch)
    run = values.size
    unit = per_epoch if not settings["sched_on_updates"] else 1
    lr = settings["lr"]
    if not settings["lr_given"]:
        global_batch = settings["batch_size"] * (size.num_processes or 1) * settings["grad_accum_steps"]
        findings.append(
            Finding(
                "lr-from-base",
                f"no --lr: timm scales --lr-base {format_number(settings['lr_base'])} by the global batch "
                f"{global_batch} / {settings['lr_base_size']} ({settings['lr_base_scale']}): lr = {lr:.6g}",
            )
        )
    if "warmup_epochs" not in data and settings["warmup_epochs"] and settings["sched"] != "none":
        findings.append(
            Finding(
                "default-warmup",
                f"no --warmup-epochs: timm's train.py warms up for {settings['warmup_epochs']} epochs from "
                f"--warmup-lr {format_number(settings['warmup_lr'])}",
            )
        )
    w = ticks["warmup"]
    if settings["sched"] in ("wsd", "rsqrt"):
        findings.extend(_wsd_findings(data, settings, ticks, values, unit))
    elif settings["sched"] in ("constant", "none"):
        findings.extend(_constant_findings(data, settings))
    if w and not settings["warmup_prefix"] and settings["sched"] in ("cosine", "poly"):
        end = int(w * unit)
        before, after = float(values[end - 1]), float(values[end]) if end < run else float("nan")
        drop = f", down from {before:.4g}" if after < before else ""
        findings.append(
            Finding(
                "warmup-not-prefix",
                f"no --warmup-prefix: timm times its {settings['sched']} from update 0, so when the warmup ends at "
                f"update {end} the decay takes over at {after:.4g} of lr{drop} (already {settings['warmup_epochs']} "
                f"of its {settings['epochs']} epochs in): the rate never reaches the peak",
            )
        )
    if not settings["sched_on_updates"] and per_epoch > 1 and settings["sched"] != "none":
        findings.append(
            Finding(
                "per-epoch-steps",
                f"no --sched-on-updates: timm sets the rate once per epoch, so each epoch's {per_epoch} updates "
                "share one rate (the warmup is a staircase)",
            )
        )
    if settings["sched"] == "multistep" and settings["decay_milestones"]:
        first_mark = settings["decay_milestones"][0]
        findings.append(
            Finding(
                "multistep-one-early",
                f"timm's multistep counts bisect_right(milestones, t + 1): milestone {first_mark} lowers the rate "
                f"from epoch {first_mark - 1} (PyTorch's MultiStepLR: from epoch {first_mark})",
            )
        )
    if settings["sched"] == "poly":
        findings.append(
            Finding(
                "poly-power", f"--sched poly uses --decay-rate as its power: {format_number(settings['decay_rate'])}"
            )
        )
    if settings["sched"] == "plateau":
        findings.append(
            Finding(
                "metric-dependent",
                f"after warmup the rate drops by --decay-rate {format_number(settings['decay_rate'])} whenever the "
                f"eval metric stalls for {settings['patience_epochs']} epochs: shown as if it never does",
            )
        )
    candidate, why = _candidate(settings, ticks, unit, run)
    imported = settle("timm", lr, values, candidate, findings, why or None)
    general_findings(imported, w * unit if w else None)
    return imported


def _check_wsd(settings: Mapping[str, Any], ticks: Mapping[str, Any], where: str) -> None:
    """What ``create_scheduler_v2`` and ``WSDLRScheduler`` refuse (a ``ValueError`` in timm)."""
    t_sched, length = ticks["t_sched"], ticks["wsd_decay"]
    if not 0 < length <= t_sched:
        within = "epochs" if settings["warmup_prefix"] else "epochs - warmup_epochs"
        raise RampupError(
            f"{where}: decay_epochs",
            format_number(settings["decay_epochs"]),
            f"0 < decay <= {within}: timm refuses a decay of {length} ticks in a stable + decay of {t_sched}",
        )
    if settings["sched"] == "rsqrt" and not ticks["timescale"] > 0:
        raise RampupError(
            f"{where}: lr_stable_timescale",
            settings["lr_stable_timescale"],
            "a timescale > 0: timm's rsqrt takes the warmup's length when it is not given, and there is no warmup",
        )


def _wsd_findings(
    data: Mapping[str, Any], settings: Mapping[str, Any], ticks: Mapping[str, Any], values: Any, unit: int
) -> list[Finding]:
    """What may surprise in timm's wsd and rsqrt: the decay's default length and shape, its last tick, the timescale."""
    found: list[Finding] = []
    sched, share = settings["sched"], settings["decay_epochs"]
    tick = "epoch" if unit > 1 or not settings["sched_on_updates"] else "update"
    length, span = ticks["wsd_decay"], ticks["t_sched"]
    if not settings["decay_epochs_given"]:
        found.append(
            Finding(
                "default-decay-epochs",
                f"no --decay-epochs: timm 1.0.31's create_scheduler_v2 decays {sched} over the last 20% of its "
                f"stable + decay ({length} of {span} {tick}s); rampup assumes train.py passes it None. A train.py "
                "whose --decay-epochs defaults to 90 (commit aa4b585, the one restated here) decays over 90 epochs: "
                "give --decay-epochs",
            )
        )
    elif share < 1:
        found.append(
            Finding(
                "decay-fraction",
                f"--decay-epochs {format_number(share)} is below 1, so timm reads it as a fraction of the stable + "
                f"decay length: {length} of {span} {tick}s (rounded half to even); 1 or more is a number of epochs",
            )
        )
    fn = ticks["decay_fn"]
    if settings["lr_decay_fn"] is None:
        found.append(
            Finding(
                "default-decay-fn",
                f"no --lr-decay-fn: timm's {sched} cools down with {fn} "
                f"({'1 - sqrt(p)' if fn == '1-sqrt' else '1 - p'} of the way from its stable rate to --min-lr)",
            )
        )
    elif fn == "power":
        found.append(
            Finding(
                "decay-power-fixed",
                "--lr-decay-fn power is 1 - p ** 0.5, the same as 1-sqrt: create_scheduler_v2 passes no decay_power",
            )
        )
    if sched == "rsqrt" and settings["lr_stable_timescale"] is None:
        found.append(
            Finding(
                "rsqrt-timescale",
                f"no --lr-stable-timescale: timm's rsqrt timescale is the warmup, {ticks['timescale']} {tick}s: "
                f"the rate is (1 + t / {ticks['timescale']}) ** -0.5 of lr, t {tick}s after the warmup",
            )
        )
    if not settings["cooldown_epochs"] and values.size:
        last = float(values[-1])
        low = settings["min_lr"] / settings["lr"]
        if last - low > 0.01 * (1.0 - low):
            found.append(
                Finding(
                    "ends-above-min-lr",
                    f"the last {tick} runs at {last:.4g} of lr, not --min-lr {format_number(settings['min_lr'])}: "
                    f"timm's decay reaches min_lr one {tick} after the schedule's last one, and there is no "
                    "--cooldown-epochs (timm's docstring: step per update or add a cooldown epoch)",
                )
            )
    return found


def _constant_findings(data: Mapping[str, Any], settings: Mapping[str, Any]) -> list[Finding]:
    """``--sched constant`` ignores the decay flags; ``--sched none`` has no scheduler at all."""
    given = [f"--{key.replace('_', '-')}" for key in ("min_lr", "cooldown_epochs") if data.get(key)]
    if settings["sched"] == "constant":
        if given:
            found = [f"{' and '.join(given)} {'is' if len(given) == 1 else 'are'} not used by --sched constant"]
            return [Finding("ignored-flags", found[0] + ": the rate stays at lr after the warmup, for --epochs")]
        return []
    extra = ""
    if settings["warmup_prefix"] and settings["warmup_epochs"]:
        extra = (
            f"; --warmup-prefix still adds its {settings['warmup_epochs']} warmup epochs to the run "
            "(create_scheduler_v2), at lr"
        )
    return [
        Finding(
            "no-scheduler",
            "--sched none: timm makes no scheduler, so every update runs at lr: no warmup, no --min-lr, and "
            f"a parameter group's lr_scale (layer-wise decay, --layer-decay) is not applied{extra}",
        )
    ]


# --------------------------------------------------------------------------- export


def export_flags(
    spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float, steps_per_epoch: float | None
) -> str:
    """``train.py`` flags with exactly the rates of ``spec`` (stepped per update), or a RampupError naming the nearest.

    Exact shapes, with every length a whole number of epochs of ``steps_per_epoch`` updates:
    ``[linear(W, from=i) ->] cosine(D, to=m)``, ``polynomial(D, power=p, to=m)`` or ``tanh(D, to=m)``
    (then ``m`` held: ``--cooldown-epochs``), and ``[linear(W, from=i) ->] step(every=E, gamma=g)``;
    ``k=`` is ``--lr-k-decay``; a decay with ``skip=W`` (the warmup's length) is timm without
    ``--warmup-prefix``; ``per=`` of one epoch in every phase is timm's default per-epoch stepping
    (no ``--sched-on-updates``).
    """
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates")
    if steps_per_epoch is None or not float(steps_per_epoch).is_integer() or steps_per_epoch < 1:
        raise RampupError(
            "--steps-per-epoch",
            steps_per_epoch,
            "the whole number of updates per epoch: timm counts its lengths in epochs",
        )
    unit = int(steps_per_epoch)
    flags = _flags_for(schedule, total, peak_lr, unit)
    if isinstance(flags, dict):
        text = (
            "python train.py \\\n" + " \\\n".join(f"    {key} {value}".rstrip() for key, value in flags.items()) + "\n"
        )
        back = import_settings(parse_flags(text, "export"), "export", RunSize(total_steps=total))
        ours = schedule.values(np.arange(total, dtype=np.float64))
        if back.total_steps == total and np.all(
            np.abs(ours - back.multipliers) <= 1e-9 * np.abs(back.multipliers) + 1e-15
        ):
            return text
        reason = "timm's scheduler differs from it"
    else:
        reason = flags
    raise RampupError(
        "--to timm",
        str(schedule),
        "a linear warmup then a cosine, polynomial, tanh or step decay, a constant, or a constant then a linear, "
        "1-sqrt or cosine decay (wsd), each a whole number of epochs long",
        hint=f"{reason}; the nearest exact spec is {_nearest(schedule, total, unit)}",
    )


def _flags_for(schedule: Schedule, total: int, peak: float, unit: int) -> dict[str, str] | str:
    """The flags, or why there are none: the phases' curves and modifiers (per=, skip=, k=) from the spans."""
    items = [
        (phase, seg)
        for (phase, _, length), seg in zip(
            [span for span in schedule.spans() if span[2] > 0],
            [seg for seg in schedule.segments if seg.length > 0],
            strict=True,
        )
        if length > 0
    ]
    pers = {phase.get("per") for phase, _ in items if phase.curve != "constant"}
    if pers - {None, Duration(unit)} or len(pers) > 1:
        return f"its staircase (per=) is not one epoch of {unit} updates in every phase"
    per_epoch = pers == {Duration(unit)}
    flags = {"--lr": _short(peak)} if per_epoch else {"--sched-on-updates": "", "--lr": _short(peak)}
    w, start = 0, 0.0
    if items and items[0][1].curve.role == "warmup":
        first, seg = items.pop(0)
        if first.curve != "linear" or first.get("delay"):
            return f"its warmup is {first.curve}: timm's warmups are linear"
        w, start = int(seg.length), seg.a
    if w % unit or total % unit:
        return f"the warmup ({w}) and the run ({total}) must be whole epochs of {unit} updates"
    flags.update({"--warmup-epochs": str(w // unit), "--warmup-lr": _short(start * peak)})
    skips = {phase.get("skip") for phase, _ in items if phase.curve != "constant"} or {None}
    if skips - {None, Duration(w)} or len(skips) > 1 or (w == 0 and skips != {None}):
        return "its decay skips other than its warmup (timm without --warmup-prefix times it from update 0)"
    prefix = skips == {None}
    if prefix and w:
        flags["--warmup-prefix"] = ""
    head = 0 if prefix else w  # the decay's clock at its first update
    if len(items) == 1 and items[0][0].curve == "step":
        phase, last = items[0]
        every = phase.get("every")
        if every is None or last.b or float(every.amount) % unit:
            return "its step decay is not a drop every whole number of epochs to 0 (timm's step has no floor)"
        flags.update({"--sched": "step", "--decay-epochs": format_number(float(every.amount) / unit)})
        flags.update({"--decay-rate": _short(last.params["gamma"]), "--epochs": str((total - (w - head)) // unit)})
        return flags
    if [phase.curve for phase, _ in items] == ["constant"] and not items[0][0].get("from"):
        flags.pop("--warmup-prefix", None)  # --sched constant: the warmup within --epochs either way
        flags.update({"--sched": "constant", "--epochs": str(total // unit)})
        return flags
    if len(items) > 1 and items[-1][0].curve == "constant":
        items.pop()  # the floor held: --cooldown-epochs
    wsd = _wsd_flags(items, total, w, unit, peak, prefix)
    if wsd is not None:
        return {**flags, **wsd} if isinstance(wsd, dict) else wsd
    if len(items) != 1 or items[0][0].curve not in ("cosine", "polynomial", "tanh"):
        return "after its warmup it is not one cosine, polynomial or tanh decay (then held)"
    phase, decay = items[0]
    length = int(decay.length)
    if length % unit or decay.start + length > total:
        return f"its decay ({length} updates) is not a whole number of epochs within the run"
    if phase.curve == "cosine":
        if phase.get("cycles", 0.5) != 0.5 or phase.get("exponent", 1.0) != 1.0:
            return "its cosine has cycles or an exponent: timm's is half a cosine"
        flags["--sched"] = "cosine"
    elif phase.curve == "polynomial":
        flags.update({"--sched": "poly", "--decay-rate": format_number(phase.get("power", 1.0))})
    else:
        if phase.get("lb", -7.0) != -7.0 or phase.get("ub", 3.0) != 3.0 or phase.get("k", 1.0) != 1.0:
            return "its tanh has other bounds or k-decay: timm's has lb -7, ub 3"
        flags["--sched"] = "tanh"
    if phase.get("k", 1.0) != 1.0:
        flags["--lr-k-decay"] = format_number(phase.get("k"))
    flags.update({"--epochs": str((length + head) // unit), "--min-lr": _short(decay.b * peak)})
    flags["--cooldown-epochs"] = str((total - w - length) // unit)
    return flags


def _wsd_flags(
    items: list[tuple[Phase, Any]], total: int, w: int, unit: int, peak: float, prefix: bool
) -> dict[str, str] | str | None:
    """``--sched wsd`` for ``[constant(S) ->] linear|1-sqrt|cosine(D, to=m)`` after the warmup; None: not that shape.

    A lone cosine stays ``--sched cosine``. wsd is always warmup-prefixed: ``--warmup-prefix`` and ``--epochs S + D``.
    """
    curves = [phase.curve for phase, _ in items]
    if not curves or curves[-1] not in ("linear", "1-sqrt", "cosine") or curves == ["cosine"]:
        return None
    if curves[:-1] not in ([], ["constant"]) or (len(items) == 2 and items[0][0].get("from")):
        return None
    phase, decay = items[-1]
    hold = int(items[0][1].length) if len(items) == 2 else 0
    length = int(decay.length)
    if not prefix:
        return "its decay skips (skip=): timm's wsd starts its stable phase when the warmup ends"
    if hold % unit or length % unit or w + hold + length > total:
        return f"its stable phase ({hold}) and decay ({length}) are not whole epochs of {unit} updates within the run"
    if phase.get("k", 1.0) != 1.0 or phase.get("cycles", 0.5) != 0.5 or phase.get("exponent", 1.0) != 1.0:
        return "its decay has k-decay, cycles or an exponent: timm's wsd decays are plain"
    return {
        "--sched": "wsd",
        "--lr-decay-fn": phase.curve,
        "--decay-epochs": str(length // unit),
        "--epochs": str((hold + length) // unit),
        "--min-lr": _short(decay.b * peak),
        "--cooldown-epochs": str((total - w - hold - length) // unit),
    }


def _nearest(schedule: Schedule, total: int, unit: int) -> str:
    segs = [seg for seg in schedule.segments if seg.length > 0]
    w = int(segs[0].length) if segs and segs[0].curve.role == "warmup" else 0
    w = math.ceil(w / unit) * unit
    epochs = max(total // unit, 1)
    decay = max(epochs * unit - w, unit)
    floor = schedule.final_value()
    to = f", to={format_number(floor)}" if 0 < floor < 1 else ""
    return f"linear({w}) -> cosine({decay}{to})" if w else f"cosine({decay}{to})"
