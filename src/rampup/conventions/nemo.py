"""NeMo's learning-rate schedulers (``optim.sched`` blocks), restated without importing NeMo.

Sources (nemo_toolkit 2.6.2, the version the parity tests run; first restated from 2.6.0rc0, commit
8cfedd7): ``nemo/core/optim/lr_scheduler.py`` (the scheduler classes and ``prepare_lr_scheduler``,
``compute_max_steps``), ``nemo/core/config/schedulers.py`` (defaults), ``nemo/utils/model_utils.py``
(``maybe_update_config_version``) and ``nemo/core/classes/modelPT.py`` (``setup_optimization``:
``trainer.max_steps``, when set, becomes the scheduler's ``max_steps``; else it is computed from
``trainer.max_epochs``). Its conventions:

- Schedulers are PyTorch ``_LRScheduler`` subclasses stepped after every update (``interval: step``):
  update k runs at ``get_lr()`` for step k.
- ``warmup_ratio`` is floored: ``int(ratio * max_steps)`` (Hugging Face ceils); so are ``hold_ratio``
  and ``constant_ratio``. ``warmup_steps`` and ``warmup_ratio`` together are an assertion error.
- The warmup is ``(step + 1) / (W + 1)`` for ``step <= W``: it starts at ``1/(W+1)`` of the peak,
  not 0 (``CosineAnnealing`` with ``constant_steps`` uses Megatron's ``step / W`` instead).
- Several decays clip at ``min_lr`` (``max(lr * mult, min_lr)``: SquareAnnealing, SquareRootAnnealing,
  WarmupHoldAnnealOneMinusSquareRoot, NoamAnnealing) rather than decaying towards it; SquareRootAnnealing
  times its decay from step 0, and the WarmupHold* anneals do too without ``hold_steps``.
- Past ``max_steps`` the rate is ``min_lr``.
- An ``args`` mapping in the block is passed alone (the block's other keys, but ``max_steps``, are
  dropped), its ``params`` moved up into it by ``maybe_update_config_version``; with ``args.name``
  (``auto``) ``get_scheduler_config`` then gets no overrides, so the ``{name}Params`` defaults run and
  the parameters given are dropped.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.conventions import (
    Counting,
    Finding,
    Imported,
    RunSize,
    general_findings,
    number,
    run_length_finding,
    settle,
    whole,
)
from rampup.curves import Segment
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["SCHEDULERS", "find_sched", "import_config", "multipliers", "settings_for"]

_WARM = ("warmup_steps", "warmup_ratio", "max_steps", "min_lr")
_HOLD = ("hold_steps", "hold_ratio")
#: the schedulers read, with the keys each takes (``nemo/core/config/schedulers.py`` and the constructors)
SCHEDULERS: dict[str, tuple[str, ...]] = {
    "WarmupPolicy": _WARM,
    "WarmupHoldPolicy": _WARM + _HOLD,
    "WarmupAnnealing": _WARM,
    "CosineAnnealing": (*_WARM, "constant_steps", "constant_ratio"),
    "SquareAnnealing": _WARM,
    "SquareRootAnnealing": _WARM,
    "InverseSquareRootAnnealing": _WARM,
    "PolynomialDecayAnnealing": (*_WARM, "power", "cycle"),
    "PolynomialHoldDecayAnnealing": (*_WARM, *_HOLD, "power", "cycle"),
    "WarmupHoldAnnealOneMinusSquareRoot": _WARM + _HOLD,
    "WarmupHoldAnnealLinear": _WARM + _HOLD,
    "NoamAnnealing": (*_WARM, "d_model"),
}
#: keys of a ``sched`` block that are not the scheduler's (``prepare_lr_scheduler`` pops them)
_IGNORED = {
    "name",
    "last_epoch",
    "monitor",
    "reduce_on_plateau",
    "t_max_epochs",
    "t_accumulate_grad_batches",
    "t_limit_train_batches",
    "t_num_workers",
    "args",
}
#: the schedulers whose ``{name}Params`` NeMo registers (``AVAILABLE_SCHEDULER_PARAMS``), for ``args.name``
_PARAMS = (
    "WarmupPolicy",
    "WarmupHoldPolicy",
    "WarmupAnnealing",
    "CosineAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "InverseSquareRootAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "NoamAnnealing",
)
#: schedulers with a hold at the peak after warmup (``WarmupHoldPolicy`` and its subclasses)
_HOLDERS = (
    "WarmupHoldPolicy",
    "PolynomialHoldDecayAnnealing",
    "WarmupHoldAnnealOneMinusSquareRoot",
    "WarmupHoldAnnealLinear",
)


def find_sched(data: Mapping[str, Any], where: str) -> tuple[Mapping[str, Any], str, float | None]:
    """The ``sched`` block of a NeMo config (``model.optim.sched``, ``optim.sched``, ``sched`` or the block itself),
    where it is, and the optimizer's ``lr``."""
    for path in (("model", "optim"), ("optim",), ()):
        node: Any = data
        for key in path:
            node = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(node, Mapping):
            continue
        sched = node.get("sched") if path or "sched" in node else node
        if isinstance(sched, Mapping) and "name" in sched:
            lr = number(node, "lr", f"{where}: {'.'.join(path) or 'optim'}", None) if path else None
            return sched, ".".join([*path, "sched"]) if path or "sched" in node else "", lr
    raise RampupError(f"{where}: model.optim.sched", None, "a NeMo sched block with a name (e.g. CosineAnnealing)")


def settings_for(
    sched: Mapping[str, Any], where: str, max_steps: int
) -> tuple[str, dict[str, Any]]:  # the scheduler's name and its lengths in steps
    """The scheduler's name, ``W`` (warmup), ``H`` (hold end), ``C`` (constant), ``m`` (min_lr) and the rest."""
    name = sched.get("name")
    if name not in SCHEDULERS:
        raise RampupError(f"{where}.name", name, f"one of the schedulers read here: {', '.join(SCHEDULERS)}")
    params: dict[str, Any] = {key: value for key, value in sched.items() if key not in _IGNORED}
    ignored: list[str] = []
    args = sched.get("args")
    if args is not None:  # the ``args: {params: {...}}`` form
        if not isinstance(args, Mapping):
            raise RampupError(f"{where}.args", args, "a mapping of the scheduler's parameters")
        overrides = args.get("params") or {}
        if not isinstance(overrides, Mapping):
            raise RampupError(f"{where}.args.params", overrides, "a mapping of the scheduler's parameters")
        # prepare_lr_scheduler passes args alone (the block's other keys but max_steps are dropped), after
        # maybe_update_config_version has moved args.params up into args; with args.name (auto, or the
        # Params class) get_scheduler_config is then given no overrides: the Params defaults run
        ignored = [key for key in params if key != "max_steps"]
        flat = {**{key: value for key, value in args.items() if key != "params"}, **overrides}
        params = {"max_steps": params["max_steps"]} if "max_steps" in params else {}
        if "name" in flat:
            wanted = f"{name}Params"
            if flat["name"] not in ("auto", wanted) or name not in _PARAMS:
                valid = f"auto or {wanted}" if name in _PARAMS else "none: NeMo registers no Params class for it"
                raise RampupError(f"{where}.args.name", flat["name"], f"a Params class of {name}: {valid}")
            ignored += [key for key in flat if key not in ("name", "last_epoch")]
        else:
            params.update(flat)
    for key in params:
        if key not in SCHEDULERS[name]:
            raise RampupError(f"{where}", key, f"a parameter of {name}: {', '.join(SCHEDULERS[name])}")
    if number(sched, "last_epoch", where, -1.0) != -1.0:
        raise RampupError(f"{where}.last_epoch", sched["last_epoch"], "-1 (a fresh run)")
    for first, second in (("warmup_steps", "warmup_ratio"), ("hold_steps", "hold_ratio")):
        if params.get(first) is not None and params.get(second) is not None:
            raise RampupError(f"{where}.{second}", params[second], f"no {second} with {first} (NeMo asserts)")
    if params.get("constant_steps") is not None and params.get("constant_ratio") is not None:
        raise RampupError(f"{where}.constant_ratio", params["constant_ratio"], "no constant_ratio with constant_steps")
    t = max_steps

    def steps(key: str, ratio: str) -> int:
        given = whole(params, key, where, None)
        if given is not None:
            return int(given)
        share = number(params, ratio, where, None, low=0.0)
        return int(share * t) if share is not None else 0

    w = steps("warmup_steps", "warmup_ratio")
    hold = steps("hold_steps", "hold_ratio")
    given_hold = params.get("hold_steps") is not None or params.get("hold_ratio") is not None
    default_min = 1e-5 if name == "SquareAnnealing" else 0.0
    settings = {
        "W": w,
        "H": hold + w if given_hold else 0,
        "C": steps("constant_steps", "constant_ratio"),
        "T": t,
        "min_lr": number(params, "min_lr", where, default_min, low=0.0),
        "min_lr_default": "min_lr" not in params,
        "power": number(params, "power", where, 1.0, low=0.0),
        "cycle": bool(params.get("cycle", False)),
        "d_model": number(params, "d_model", where, None, low=1.0),
        "ratio": number(params, "warmup_ratio", where, None, low=0.0),
        "ignored": ignored,
    }
    if name == "NoamAnnealing" and settings["d_model"] is None:
        raise RampupError(f"{where}.d_model", None, "the model width: NoamAnnealing scales by d_model ** -0.5")
    if name == "CosineAnnealing" and settings["C"] and settings["W"] + settings["C"] > t:
        raise RampupError(f"{where}.constant_steps", settings["C"], f"at most max_steps - warmup ({t - w})")
    return str(name), settings


def multipliers(name: str, settings: Mapping[str, Any], lr: float, updates: int) -> npt.NDArray[np.float64]:
    """``get_lr()`` at steps 0 .. updates-1 (NeMo 2.6's classes), as multiples of the peak (``lr``; Noam: its top)."""
    s = np.arange(updates, dtype=np.float64)
    w, h, c, t = float(settings["W"]), float(settings["H"]), float(settings["C"]), float(settings["T"])
    m = settings["min_lr"] / lr
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "NoamAnnealing":
            step = np.maximum(1.0, s)
            scale = settings["d_model"] ** -0.5
            if w > 0:
                mult = scale * np.minimum(step**-0.5, step * w**-1.5)
                top = scale * w**-0.5
            else:
                mult = scale * step**-0.5
                top = scale
            out = np.where(step > w, np.maximum(mult, m), mult)
            return np.asarray(out / top, dtype=np.float64)
        warm = (s + 1) / (w + 1)
        if name == "CosineAnnealing":
            if c:  # _linear_warmup_with_cosine_annealing, Megatron's
                decay = t - (c + w)
                coeff = 0.5 * (np.cos(math.pi * (s - w) / decay) + 1.0)
                out = np.where(s > w + decay, m, m + coeff * (1 - m))
                out = np.where((w > 0) & (s <= w), s / w if w else 0.0, out)
                return np.asarray(np.where(s > t, m, out), dtype=np.float64)
            body = (1 - m) * 0.5 * (1 + np.cos(math.pi * (s - w) / (t - w))) + m
        elif name in ("WarmupPolicy", "WarmupHoldPolicy"):
            body = np.ones_like(s)
        elif name == "WarmupAnnealing":
            body = m + (1 - (s - w) / (t - w)) * (1 - m)
        elif name == "SquareAnnealing":
            body = np.maximum(((t - w - (s - w)) / (t - w)) ** 2, m)
        elif name == "SquareRootAnnealing":
            body = np.maximum(((t - s) / t) ** 0.5, m)
        elif name == "InverseSquareRootAnnealing":
            body = 1 / ((s + 1) / (w + 1)) ** 0.5
        elif name in ("PolynomialDecayAnnealing", "PolynomialHoldDecayAnnealing"):
            start = h if name == "PolynomialHoldDecayAnnealing" else w
            span = t - max(w, h) if name == "PolynomialHoldDecayAnnealing" else t - w
            step = s - start
            length = span + 0.0 * s
            if settings["cycle"]:
                length = span * np.where(step == 0, 1.0, np.ceil(step / span))
            else:
                step = np.minimum(step, length)
            body = (1 - m) * np.power(1.0 - step / length, settings["power"]) + m
        elif name == "WarmupHoldAnnealOneMinusSquareRoot":
            body = np.maximum(m, 1 - ((s - h) / (t - h)) ** 0.5)
        else:  # WarmupHoldAnnealLinear
            body = 1 - (1 - m) * (s - h) / (t - h)
        out = np.where(s > t, m, body)
        if name in _HOLDERS:
            out = np.where((s >= w) & (s < h), 1.0, out)
        out = np.where((w > 0) & (s <= w), warm, out)
    return np.asarray(out, dtype=np.float64)


def _short(value: float) -> str:
    """``value`` in 12 significant digits when that is within 1e-12 of it."""
    short = float(f"{value:.12g}")
    return format_number(short if abs(short - value) <= 1e-12 * abs(value) else value)


def _candidate(name: str, settings: Mapping[str, Any], lr: float) -> tuple[str, str | None]:
    """The spec, and what it cannot express when it differs.

    NeMo's clip ``max(lr * mult, min_lr)`` is ``floor=m``; a decay timed from step 0 (SquareRootAnnealing
    with a warmup, the WarmupHold anneals without ``hold_steps``) starts part-way into its curve: ``skip=W``.
    """
    w, h, c, t = settings["W"], settings["H"], settings["C"], settings["T"]
    m = settings["min_lr"] / lr
    to = f", to={_short(m)}" if m else ""
    floor = f", floor={_short(m)}" if m else ""
    # NeMo's warmup includes step W ((W + 1) / (W + 1) = 1): a decay timed from step 0 takes over at W + 1
    skip = f", skip={w + 1}" if w else ""
    step_w = "constant(1) -> " if w else ""
    warm = f"linear({w}, from={_short(1 / (w + 1))}) -> " if w else ""
    held = f"constant({h - w}) -> " if h > w else ""
    if name in ("WarmupPolicy", "WarmupHoldPolicy"):
        return f"{warm}constant", None
    if name == "WarmupAnnealing":
        return f"{warm}linear({t - w}{to})", None
    if name == "CosineAnnealing":
        if c:
            return f"{f'linear({w}) -> ' if w else ''}cosine({t - c - w}{to}) -> constant", None
        return f"{warm}cosine({t - w}{to})", None
    if name == "SquareAnnealing":
        return f"{warm}polynomial({t - w}, power=2{floor})", None
    if name == "SquareRootAnnealing":  # ((T - s) / T) ** 0.5: timed from step 0
        return f"{warm}{step_w}polynomial({t - w - (1 if w else 0)}, power=0.5{skip}{floor})", None
    if name == "InverseSquareRootAnnealing":
        return f"{warm}inverse-sqrt(timescale={w + 1})", None
    if name == "NoamAnnealing":
        if m > 1:
            above = f"min_lr is above NoamAnnealing's top ({lr:.6g}): after the warmup the rate is min_lr, not a decay"
            return f"linear({w}, from={_short(1 / w)}, delay=1) -> constant" if w else "constant", above
        if not w:
            return f"constant(1) -> inverse-sqrt(timescale=1{floor})", None
        return f"linear({w}, from={_short(1 / w)}, delay=1) -> inverse-sqrt(timescale={w}{floor})", None
    late = w > h  # no hold_steps: the anneal is timed from step 0
    h = max(h, w)
    if name in ("PolynomialDecayAnnealing", "PolynomialHoldDecayAnnealing"):
        power = f", power={format_number(settings['power'])}" if settings["power"] != 1 else ""
        cycle = "cycle: true restarts the polynomial; rampup's restarts are cosines" if settings["cycle"] else None
        if late and name == "PolynomialHoldDecayAnnealing":
            # step s over T - W steps, min(s, T - W): from 0, so W in when the warmup ends, done at T - W
            if t - 2 * w - 1 < 1:
                return (
                    f"{warm}constant",
                    cycle or f"its decay (over {t - w} steps from step 0) is over by the warmup's end",
                )
            return f"{warm}{step_w}polynomial({t - 2 * w - 1}{power}{skip}{to}) -> constant", cycle
        return f"{warm}{held}polynomial({t - h}{power}{to})", cycle
    if late:
        shape = "1-sqrt" if name == "WarmupHoldAnnealOneMinusSquareRoot" else "linear"
        return f"{warm}{step_w}{shape}({t - w - 1}{skip}{floor if shape == '1-sqrt' else to})", None
    if name == "WarmupHoldAnnealOneMinusSquareRoot":
        return f"{warm}{held}1-sqrt({t - h}{floor})", None
    return f"{warm}{held}linear({t - h}{to})", None


#: the schedulers that clip at min_lr, ``max(lr * mult, min_lr)``, instead of decaying towards it
_CLIPPERS = ("SquareAnnealing", "SquareRootAnnealing", "WarmupHoldAnnealOneMinusSquareRoot", "NoamAnnealing")


def import_config(data: Mapping[str, Any], where: str, size: RunSize) -> Imported:
    """A NeMo config (or its ``sched`` block) as rampup sees it."""
    sched, path, lr = find_sched(data, where)
    section = f"{where}: {path}" if path else where
    findings: list[Finding] = []
    trainer = _mapping(data, "trainer")
    trainer_steps = whole(trainer, "max_steps", f"{where}: trainer", None, low=-1)
    sched_steps = whole(sched, "max_steps", section, None, low=-1)
    run = size.total_steps
    if run is None and trainer_steps is not None and trainer_steps >= 0:
        run = trainer_steps
        if sched_steps is not None and sched_steps >= 0 and sched_steps != trainer_steps:
            findings.append(
                Finding(
                    "max-steps-override",
                    f"trainer.max_steps {trainer_steps} replaces the sched block's max_steps {sched_steps}",
                )
            )
    if run is None and sched_steps is not None and sched_steps > 0:
        run = sched_steps
    counting = _counting(data, trainer, where, size) if run is not None and size.total_steps is None else None
    if counting is not None and run is not None:
        key = "trainer.max_steps" if trainer_steps is not None and trainer_steps >= 0 else "sched.max_steps"
        given = whole(sched, "warmup_steps", section, None)
        warmup_key = ("sched.warmup_steps", given) if given else None
        found = run_length_finding(key, run, counting, "NeMo (Lightning's global_step)", warmup_key)
        if found is not None:
            findings.append(found)
    if run is None:
        run = _steps_from_epochs(data, trainer, where, size)
    if run < 1:
        raise RampupError(f"{where}: trainer.max_steps", run, "a number of updates >= 1")
    name, settings = settings_for(sched, section, run)
    if settings["ignored"]:
        findings.append(
            Finding(
                "params-ignored",
                f"NeMo does not pass {', '.join(sorted(set(settings['ignored'])))} to {name}: prepare_lr_scheduler "
                "uses the args mapping alone, and with args.name it moves args.params up "
                "(maybe_update_config_version) and then builds the Params defaults without them",
            )
        )
    if lr is None:
        lr = 1.0
        findings.append(Finding("no-peak", "no optim.lr next to the sched block: rates are multiples of the peak"))
    if not lr > 0 or settings["min_lr"] > lr:
        raise RampupError(f"{where}: optim.lr", lr, f"a learning rate > 0 and >= min_lr ({settings['min_lr']:g})")
    peak = lr
    if name == "NoamAnnealing":
        scale = settings["d_model"] ** -0.5
        peak = lr * scale * (settings["W"] ** -0.5 if settings["W"] else 1.0)
        findings.append(
            Finding(
                "noam-scaled-peak",
                f"NoamAnnealing's rate is lr * d_model ** -0.5 * min(step ** -0.5, step * W ** -1.5): its top is "
                f"{peak:.6g}, not optim.lr {lr:g}",
            )
        )
    w = settings["W"]
    if settings["ratio"] is not None:
        ceil = math.ceil(settings["ratio"] * run)
        if ceil != w:
            findings.append(
                Finding(
                    "ratio-rounding",
                    f"warmup_ratio {format_number(settings['ratio'])} of {run} updates: NeMo floors it to {w}, "
                    f"Hugging Face would ceil it to {ceil}",
                )
            )
    if w and not (name == "CosineAnnealing" and settings["C"]) and name != "NoamAnnealing":
        findings.append(
            Finding(
                "warmup-starts-above-zero",
                f"NeMo's warmup is (step + 1) / (W + 1): the first update runs at 1/{w + 1} of the peak and the "
                f"peak comes at update {w} (a linear({w}, from={_short(1 / (w + 1))}))",
            )
        )
    if name == "SquareAnnealing" and settings["min_lr_default"]:
        findings.append(
            Finding("default-min-lr", "SquareAnnealing's min_lr defaults to 1e-5, an absolute rate (not a ratio)")
        )
    if name in _HOLDERS and name != "WarmupHoldPolicy" and w > settings["H"]:
        findings.append(
            Finding(
                "anneal-from-step-0",
                f"{name} without hold_steps times its decay from step 0: when the warmup ends at update {w} it is "
                "already part-way down",
            )
        )
    values = multipliers(name, settings, lr, run)
    floor = settings["min_lr"] / peak
    if name in _CLIPPERS and floor > 0:
        clipped = np.nonzero(values[w + 1 :] <= floor * (1 + 1e-12))[0]
        if clipped.size:
            findings.append(
                Finding(
                    "floor-clip",
                    f"{name} clips its decay at min_lr (max(lr * mult, min_lr)) rather than decaying towards it: "
                    f"the rate hits the floor {settings['min_lr']:g} at update {w + 1 + int(clipped[0])} and stays "
                    f"(floor={_short(floor)})",
                )
            )
    candidate, why = _candidate(name, settings, peak)
    imported = settle(f"nemo ({name})", peak, values, candidate, findings, why)
    general_findings(imported, w or None)
    return imported


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


def _counting(data: Mapping[str, Any], trainer: Mapping[str, Any], where: str, size: RunSize) -> Counting | None:
    """``compute_max_steps``'s updates for ``trainer.max_epochs`` next to the micro-batch counts a ``max_steps`` is
    often mistaken for (Lightning counts ``max_steps`` in optimizer steps: ``accumulate_grad_batches`` batches
    each). None unless the dataset size and the epochs are known."""
    epochs = size.epochs if size.epochs is not None else number(trainer, "max_epochs", f"{where}: trainer", None)
    if size.dataset_size is None or epochs is None or epochs <= 0:
        return None
    train_ds = _mapping(_mapping(data, "model"), "train_ds")
    batch = size.batch_size or whole(train_ds, "batch_size", f"{where}: model.train_ds", None, low=1)
    if batch is None:
        return None
    accum = size.grad_accum or whole(trainer, "accumulate_grad_batches", f"{where}: trainer", 1, low=1)
    workers = size.num_processes or 1
    per_epoch = math.ceil(math.ceil(size.dataset_size / workers) / batch)
    everyone = math.ceil(size.dataset_size / batch)
    return Counting(
        updates=int(math.ceil(per_epoch / accum) * epochs),
        accum=accum,
        processes=workers,
        epochs=epochs,
        micro_batches=int(per_epoch * epochs),
        all_micro_batches=int(everyone * epochs),
        one_process_updates=int(math.ceil(everyone / accum) * epochs),
    )


def _steps_from_epochs(data: Mapping[str, Any], trainer: Mapping[str, Any], where: str, size: RunSize) -> int:
    """``compute_max_steps``: ``ceil(ceil(ceil(n / workers) / batch) / accum) * max_epochs`` (no drop_last)."""
    epochs = size.epochs if size.epochs is not None else number(trainer, "max_epochs", f"{where}: trainer", None)
    if size.dataset_size is None or epochs is None or epochs <= 0:
        raise RampupError(
            f"{where}: trainer.max_steps",
            trainer.get("max_steps"),
            "a number of updates >= 0, or the run's size (--total-steps, or --dataset-size with trainer.max_epochs)",
        )
    train_ds = _mapping(_mapping(data, "model"), "train_ds")
    batch = size.batch_size or whole(train_ds, "batch_size", f"{where}: model.train_ds", None, low=1)
    if batch is None:
        raise RampupError("--batch-size", None, "the batch size (model.train_ds.batch_size is not set)")
    accum = size.grad_accum or whole(trainer, "accumulate_grad_batches", f"{where}: trainer", 1, low=1)
    workers = size.num_processes or 1
    per_process = -(-size.dataset_size // workers)
    per_epoch = -(-per_process // batch)
    return int(-(-per_epoch // accum) * epochs)


# --------------------------------------------------------------------------- export


def export_yaml(spec: Schedule | str | Mapping[str, Any], total_steps: int | None, peak_lr: float) -> str:
    """A NeMo config (``trainer.max_steps`` and ``model.optim``) with exactly the rates of ``spec``, or a RampupError.

    NeMo's warmup starts at ``1/(W+1)``: exact specs warm up as ``linear(W, from=1/(W+1))`` (then
    ``constant``, ``linear``, ``cosine``, ``polynomial``, ``inverse-sqrt(timescale=W+1)``, or a hold then
    ``linear`` / ``1-sqrt``), or ``linear(W) -> cosine(D, to=m) -> constant`` (CosineAnnealing with
    ``constant_steps``).
    """
    schedule = as_schedule(spec).resolve(total_steps)
    total = schedule.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates (NeMo's trainer.max_steps)")
    ours = schedule.values(np.arange(total, dtype=np.float64))
    for sched in _options(schedule, total, peak_lr):
        text = _yaml(sched, total, peak_lr)
        try:
            back = import_config(
                {"trainer": {"max_steps": total}, "model": {"optim": {"lr": peak_lr, "sched": sched}}},
                "export",
                RunSize(),
            )
        except RampupError:
            continue
        if np.all(np.abs(ours - back.multipliers) <= 1e-9 * np.abs(back.multipliers) + 1e-15):
            return text
    segs = [seg for seg in schedule.segments if seg.length > 0]
    w = int(segs[0].length) if segs and segs[0].curve.role == "warmup" else 0
    floor = schedule.final_value()
    to = f", to={_short(floor)}" if 0 < floor < 1 else ""
    warm = f"linear({w}, from={_short(1 / (w + 1))}) -> " if w else ""
    raise RampupError(
        "--to nemo",
        str(schedule),
        "a schedule one of NeMo's schedulers computes exactly (its warmup starts at 1/(W+1) of the peak)",
        hint=f"the nearest exact spec is {warm}cosine({max(total - w, 1)}{to})",
    )


def _yaml(sched: Mapping[str, Any], total: int, peak: float) -> str:
    lines = [
        "# written by rampup export --to nemo",
        "trainer:",
        f"  max_steps: {total}",
        "model:",
        "  optim:",
        "    name: adamw",
        f"    lr: {_short(peak)}",
        "    sched:",
    ]
    lines.extend(f"      {key}: {value if isinstance(value, str) else _short(value)}" for key, value in sched.items())
    return "\n".join(lines) + "\n"


def _options(schedule: Schedule, total: int, peak: float) -> list[dict[str, Any]]:
    """The sched blocks that might equal ``schedule`` (each is checked by reading it back)."""
    segs: list[Segment] = [seg for seg in schedule.segments if seg.length > 0 and seg.start < total]
    w = 0
    if segs and segs[0].curve.role == "warmup":
        w = int(segs.pop(0).length)
    if len(segs) > 1 and segs[-1].curve.name == "constant":
        segs.pop()  # the final value, held (NeMo holds min_lr after max_steps, or constant_steps)
    base: dict[str, Any] = {"warmup_steps": w}
    names = [seg.curve.name for seg in segs]
    hold = int(segs[0].length) if len(segs) == 2 and names[0] == "constant" else 0
    last = segs[-1] if segs else None
    low = (last.b if last is not None else 0.0) * peak
    out: list[dict[str, Any]] = []
    if not segs or names == ["constant"]:
        out.append({"name": "WarmupPolicy", **base})
    if last is not None:
        floor = {"min_lr": low} if low else {}
        clip = last.params.get("floor", 0.0) * peak  # floor=: NeMo's clip max(lr * mult, min_lr)
        kind = getattr(last.curve, "inner", last).curve.name  # a modified phase is a window onto its curve
        if clip and kind == "polynomial" and last.params["power"] == 2.0 and not low:
            out.append({"name": "SquareAnnealing", **base, "min_lr": clip})
        if clip and kind == "1-sqrt" and not low:
            out.append({"name": "WarmupHoldAnnealOneMinusSquareRoot", **base, "hold_steps": hold, "min_lr": clip})
        if kind == "linear":
            out.append({"name": "WarmupAnnealing", **base, **floor})
            out.append({"name": "WarmupHoldAnnealLinear", **base, "hold_steps": hold, **floor})
        if kind == "cosine":
            out.append({"name": "CosineAnnealing", **base, **floor})
            end = int(last.start + last.length)
            if end < total:
                out.append({"name": "CosineAnnealing", **base, "constant_steps": total - end, **floor})
        if kind == "polynomial":
            power = {"power": last.params["power"]}
            out.append({"name": "PolynomialDecayAnnealing", **base, **power, **floor})
            out.append({"name": "PolynomialHoldDecayAnnealing", **base, "hold_steps": hold, **power, **floor})
        if kind == "1-sqrt":
            out.append({"name": "WarmupHoldAnnealOneMinusSquareRoot", **base, "hold_steps": hold})
        if kind == "inverse-sqrt":
            out.append({"name": "InverseSquareRootAnnealing", **base})
    return out
