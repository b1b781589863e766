"""Hugging Face transformers front door: TrainingArguments for a rampup schedule, or RampupLR inside Trainer.

Two ways to run a rampup schedule in :class:`transformers.Trainer`:

1. :func:`training_args` gives the ``TrainingArguments`` keywords (``lr_scheduler_type``,
   ``warmup_steps``, ``lr_scheduler_kwargs``) of the built-in scheduler that computes the
   same rates, when there is one::

       >>> import rampup.hf
       >>> rampup.hf.training_args("linear(5%) -> cosine(to=0.1)", total_steps=1000)  # doctest: +SKIP
       {'lr_scheduler_type': 'cosine_with_min_lr', 'warmup_steps': 50,
        'lr_scheduler_kwargs': {'num_cycles': 0.5, 'min_lr_rate': 0.1}}

   Exact means: at every step ``0 .. total_steps - 1`` that a run of ``total_steps``
   updates uses, transformers' multiplier equals the engine's (checked against the
   installed transformers before the keywords are returned). Past the end they may
   differ (transformers' cosine rises again; rampup holds), and they are equal only
   if Trainer's own total (``max_steps``, or epochs: :func:`trainer_total_steps`) is
   ``total_steps``. Where no built-in is exact, a :class:`~rampup.RampupError` says why.

2. :class:`RampupTrainer` (or :class:`RampupSchedulerMixin` on any Trainer subclass)
   runs every schedule exactly, through :class:`rampup.torch.RampupLR`, resolved with
   the number of updates that Trainer itself computes (epochs, gradient accumulation,
   processes)::

       trainer = rampup.hf.RampupTrainer(model=model, args=args, train_dataset=data,
                                         schedule="exponential(100) -> 1-sqrt")

Conventions of transformers 5.x (``optimization.py``): warmups are linear from 0
(``s / max(1, W)``) except in ``warmup_stable_decay``; every decay runs from the end of
the warmup to ``num_training_steps``; ``warmup_steps`` below 1 is a ratio,
``ceil(total * ratio)`` in floating point. This module always passes an integer.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

try:
    import torch
    import transformers
    from transformers import Trainer, get_scheduler
except ImportError as error:  # pragma: no cover - exercised only without transformers
    raise ImportError("rampup.hf needs PyTorch and Hugging Face transformers: pip install 'rampup[hf]'") from error

from rampup.curves import Segment
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule
from rampup.torch import RampupLR

__all__ = [
    "OTHER_PATH",
    "BuiltinScheduler",
    "RampupSchedulerMixin",
    "RampupTrainer",
    "builtin_scheduler",
    "trainer_steps_per_epoch",
    "trainer_total_steps",
    "training_args",
]

#: relative tolerance of the check against transformers' own multipliers
_TOLERANCE = 1e-9
#: at most this many steps are checked one by one (longer runs: a sample plus every phase edge)
_CHECK_ALL_UP_TO = 20_000

#: the rampup-backed way, named by every error about a missing built-in
OTHER_PATH = (
    "run it exactly with rampup.hf.RampupTrainer(..., schedule=...) (TRL: rampup.trl.RampupSFTTrainer; any "
    "Trainer subclass: rampup.hf.RampupSchedulerMixin), which plugs rampup.torch.RampupLR into Trainer"
)


# ---------------------------------------------------------------------- the built-in equivalent


@dataclass(frozen=True)
class _Piece:
    """One stretch of the resolved schedule: a segment of the engine, or the hold after the last one."""

    kind: str  # the curve, with equal shapes merged: linear for polynomial(power=1) and untuned-linear
    role: str
    start: float
    length: float
    a: float
    b: float
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltinScheduler:
    """A transformers built-in scheduler and its arguments (what :func:`builtin_scheduler` finds)."""

    name: str
    warmup_steps: int
    kwargs: dict[str, Any]
    #: the kwargs hold absolute rates (polynomial's ``lr_end``): they are for this peak only
    needs_peak: bool
    #: the schedule, resolved
    schedule: Schedule


def _piece(seg: Segment) -> _Piece:
    name, role, params = seg.curve.name, seg.curve.role, seg.params
    kind = name
    if role == "warmup":
        if name == "untuned-linear" or (name == "polynomial" and params["power"] == 1.0):
            kind = "linear"
    elif name == "polynomial" and params["power"] == 1.0:
        kind = "linear"
    elif seg.a == seg.b and name in ("linear", "cosine", "polynomial", "1-sqrt", "inverse-sqrt"):
        kind = "constant"  # a decay from a value to itself is flat
    return _Piece(kind, role, seg.start, seg.length, seg.a, seg.b, params)


def _pieces(schedule: Schedule, total: int | None) -> list[_Piece]:
    """The resolved schedule as pieces that cover the run: ``[0, total)``, or ``[0, inf)`` without a total.

    Zero-length phases are left out (the engine skips them too); the value held after
    the last phase becomes a ``constant`` piece; neighbouring flat pieces at the same
    value are merged.
    """
    plan = schedule._plan
    pieces = [_piece(seg) for seg in plan.segments]
    end = plan.end
    if total is not None and end < total:
        pieces.append(_Piece("constant", "decay", end, total - end, plan.final, plan.final))
    elif total is None and not math.isinf(end):
        pieces.append(_Piece("constant", "decay", end, math.inf, plan.final, plan.final))
    merged: list[_Piece] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if last is not None and last.kind == piece.kind == "constant" and last.a == piece.a:
            merged[-1] = _Piece("constant", "decay", last.start, last.length + piece.length, last.a, last.a)
        else:
            merged.append(piece)
    return merged


def _steps(x: float) -> int:
    return int(x)


def _cycles(piece: _Piece) -> float:
    return float(piece.params.get("cycles") or 0.5)


def _simple(warm: _Piece | None, decay: _Piece, peak_lr: float | None) -> tuple[str, dict[str, Any], bool] | str:
    """A decay over the whole rest of the run after a linear warmup from 0 (or none): the named built-ins."""
    kind, b = decay.kind, decay.b
    if kind == "linear" and b == 0:
        return "linear", {}, False
    if kind == "cosine":
        if decay.params["exponent"] != 1.0:
            return "its cosine has exponent != 1: transformers' cosines have no exponent"
        if b == 0:
            return "cosine", {"num_cycles": _cycles(decay)}, False
        return "cosine_with_min_lr", {"num_cycles": _cycles(decay), "min_lr_rate": b}, False
    if kind == "cosine-restarts":
        params = decay.params
        if params["period"] is not None or params["decay"] != 1.0:
            return "cosine_with_restarts has equal cycles over the decay, each from the peak (no period, mult, decay)"
        if b != 0:
            return "cosine_with_restarts decays to 0 (no to=)"
        return "cosine_with_restarts", {"num_cycles": float(params["cycles"] or 1.0)}, False
    if kind in ("polynomial", "linear"):
        power = float(decay.params.get("power", 1.0))
        if b != 0 and peak_lr is None:
            return "needs peak_lr"
        lr_end = 0.0 if b == 0 else b * float(peak_lr)  # type: ignore[arg-type]
        return "polynomial", {"lr_end": lr_end, "power": power}, b != 0
    if kind == "inverse-sqrt":
        if b != 0:
            return "inverse_sqrt decays towards 0 (no to=)"
        return "inverse_sqrt", {"timescale": _steps(decay.params["timescale"])}, False
    if kind in ("exponential", "step"):
        return f"transformers has no {kind} decay"
    return f"transformers has no {kind} decay of this kind"


_WSD_DECAYS = ("linear", "cosine", "1-sqrt")


def _wsd(
    warm: _Piece | None, stable: _Piece | None, decay: _Piece | None, hold: _Piece | None
) -> tuple[dict[str, Any], bool] | str:
    """``warmup_stable_decay``: warmup from m, the peak held, a decay to m, m held (transformers' get_wsd_schedule)."""
    if warm is not None and warm.kind not in ("linear", "cosine", "1-sqrt"):
        return f"its warmup is {warm.kind}: transformers' warmups are linear, cosine or 1-sqrt"
    if decay is None:
        if warm is None:
            return "no warmup and no decay"
        m = warm.a
        kwargs: dict[str, Any] = {"num_decay_steps": 0, "warmup_type": warm.kind, "decay_type": "linear"}
        kwargs.update(min_lr_ratio=m, num_cycles=0.5)
        if stable is None or math.isinf(stable.length):
            return "warmup_stable_decay needs the run's length (pass total_steps)"
        return kwargs, False
    if decay.kind not in _WSD_DECAYS or (decay.kind == "cosine" and decay.params["exponent"] != 1.0):
        what = "cosine with exponent != 1" if decay.kind == "cosine" else decay.kind
        return f"its decay is {what}: warmup_stable_decay decays linear, cosine or 1-sqrt"
    m = decay.b
    if warm is not None and warm.a != m:
        return (
            f"its warmup starts at from={format_number(warm.a)} and its decay ends at to={format_number(m)}: "
            "transformers' warmup_stable_decay starts and ends at the same min_lr_ratio (and its other "
            "schedulers warm up from 0)"
        )
    kwargs = {
        "num_decay_steps": _steps(decay.length),
        "warmup_type": warm.kind if warm is not None else "linear",
        "decay_type": decay.kind,
        "min_lr_ratio": m,
        "num_cycles": _cycles(decay) if decay.kind == "cosine" else 0.5,
    }
    if hold is not None:
        if abs(hold.a - m) > _TOLERANCE:
            return (
                f"its decay ends at step {format_number(hold.start)} at {hold.a:.6g} and holds it: transformers' "
                f"warmup_stable_decay holds min_lr_ratio={format_number(m)} there"
            )
        # the run goes on after the decay: transformers then holds min_lr_ratio, as rampup does
        kwargs["num_stable_steps"] = _steps(stable.length) if stable is not None else 0
    return kwargs, False


def _match(schedule: Schedule, total: int | None, peak_lr: float | None) -> BuiltinScheduler | str:
    """The built-in whose rates equal the schedule's over the run, or the reason there is none."""
    pieces = _pieces(schedule, total)
    warm = pieces[0] if pieces and pieces[0].role == "warmup" else None
    rest = pieces[1:] if warm is not None else pieces
    warmup = _steps(warm.length) if warm is not None else 0
    linear_from_zero = warm is None or (warm.kind == "linear" and warm.a == 0)
    kinds = [piece.kind for piece in rest]
    # the peak held, forever or until the end
    if kinds == ["constant"] or not kinds:
        if linear_from_zero:
            return BuiltinScheduler("constant_with_warmup" if warm else "constant", warmup, {}, False, schedule)
        result = _wsd(warm, rest[0] if rest else None, None, None)
        if isinstance(result, str):
            return result
        return BuiltinScheduler("warmup_stable_decay", warmup, result[0], result[1], schedule)
    # [stable] decay [hold]
    stable = rest[0] if kinds[0] == "constant" else None
    body = rest[1:] if stable is not None else rest
    if not body or body[0].kind == "constant" or len(body) > 2 or (len(body) == 2 and body[1].kind != "constant"):
        phases = " -> ".join(str(phase) for phase in schedule.phases)
        return (
            f"{phases} has more phases than transformers' schedulers (a warmup, a stable phase and one decay, "
            "then the final value held)"
        )
    decay, hold = body[0], (body[1] if len(body) == 2 else None)
    reason_simple = None
    if stable is None and hold is None and linear_from_zero:
        simple = _simple(warm, decay, peak_lr)
        if not isinstance(simple, str):
            name, kwargs, needs_peak = simple
            return BuiltinScheduler(name, warmup, kwargs, needs_peak, schedule)
        reason_simple = simple
    wsd = _wsd(warm, stable, decay, hold)
    if not isinstance(wsd, str):
        return BuiltinScheduler("warmup_stable_decay", warmup, wsd[0], wsd[1], schedule)
    if reason_simple == "needs peak_lr":
        return (
            "its decay ends at to > 0 with a linear warmup from 0: transformers' polynomial takes an absolute "
            "lr_end = to * peak; pass peak_lr"
        )
    if reason_simple is not None and decay.kind not in ("linear", "1-sqrt"):  # those two: only WSD can help
        return reason_simple
    if hold is not None and decay.kind not in _WSD_DECAYS:
        return (
            f"its {decay.kind} decay ends at step {format_number(hold.start)}, before the run's end: transformers' "
            f"{decay.kind} decays until num_training_steps"
        )
    return wsd


def _check_with_transformers(found: BuiltinScheduler, total: int | None, peak_lr: float | None) -> None:
    """Build the scheduler as Trainer does and compare its multipliers with the engine's over the run."""
    schedule = found.schedule
    plan = schedule._plan
    if total is not None:
        horizon = total
    else:
        finite = [seg.start for seg in plan.segments] + ([plan.end] if not math.isinf(plan.end) else [])
        horizon = int(2 * max(finite, default=0)) + 1000
    edges = {0, horizon - 1}
    for seg in plan.segments:
        for edge in (seg.start, seg.end):
            if not math.isinf(edge):
                edges.update(int(edge) + delta for delta in (-2, -1, 0, 1, 2))
    if horizon <= _CHECK_ALL_UP_TO:
        steps = list(range(horizon))
    else:
        stride = horizon / _CHECK_ALL_UP_TO
        steps = sorted({int(i * stride) for i in range(_CHECK_ALL_UP_TO)} | {e for e in edges if 0 <= e < horizon})
    parameter = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([parameter], lr=peak_lr if peak_lr is not None else 1.0)
    kwargs = dict(found.kwargs)
    with warnings.catch_warnings():  # warmup_stable_decay warns when given num_stable_steps and the total
        warnings.simplefilter("ignore")
        scheduler = get_scheduler(
            found.name,
            optimizer,
            num_warmup_steps=found.warmup_steps,
            num_training_steps=total,
            scheduler_specific_kwargs=kwargs or None,
        )
    hf = scheduler.lr_lambdas[0]  # every built-in this module picks is a LambdaLR
    want = schedule.values(steps)
    for step, value in zip(steps, want, strict=True):
        got = float(hf(step))
        if abs(got - value) > _TOLERANCE * max(1.0, abs(value)):
            raise RampupError(
                "schedule",
                str(schedule),
                f"a schedule that transformers {transformers.__version__}'s {found.name} computes exactly",
                hint=(f"at step {step} it gives {got!r}, rampup {float(value)!r}; {OTHER_PATH}"),
            )


def builtin_scheduler(
    schedule: Schedule | str | Mapping[str, Any],
    total_steps: int | None = None,
    *,
    peak_lr: float | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> BuiltinScheduler:
    """The transformers built-in scheduler that equals the schedule over a run of ``total_steps`` updates.

    Raises :class:`~rampup.RampupError` saying why when there is none (and naming
    :class:`RampupTrainer`, which runs any schedule exactly). ``total_steps`` may be
    left out only for schedules that do not depend on it (``constant``,
    ``linear(W) -> constant``, ``linear(W) -> inverse-sqrt``).
    """
    peak = _check_peak(peak_lr)
    resolved = as_schedule(schedule).resolve(
        total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step
    )
    total = resolved.context.total_steps
    found = _match(resolved, total, peak)
    if isinstance(found, str):
        hint = f"{found}; {OTHER_PATH}"
        raise RampupError(
            "schedule",
            str(resolved),
            "a schedule with an exact Hugging Face built-in (linear, cosine, cosine_with_restarts, polynomial, "
            "constant, constant_with_warmup, inverse_sqrt, cosine_with_min_lr, warmup_stable_decay)",
            hint=hint,
        )
    open_ended = (
        found.name in ("constant", "constant_with_warmup", "inverse_sqrt") or "num_stable_steps" in found.kwargs
    )
    if total is None and not open_ended:  # a safety net: _match asks for the total first
        raise RampupError(
            "total_steps", None, f"the run's number of updates: transformers' {found.name} spans the whole run"
        )
    _check_with_transformers(found, total, peak)
    return found


def training_args(
    schedule: Schedule | str | Mapping[str, Any],
    total_steps: int | None = None,
    *,
    peak_lr: float | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> dict[str, Any]:
    """``TrainingArguments`` keywords whose built-in scheduler equals ``schedule`` for a run of ``total_steps`` updates.

    Returns ``lr_scheduler_type``, ``warmup_steps`` (an int: transformers reads a float
    below 1 as a ratio), ``lr_scheduler_kwargs`` and, when ``peak_lr`` is given,
    ``learning_rate``. Trainer must run ``total_steps`` updates (``max_steps``, or the
    epochs that give it: :func:`trainer_total_steps`). ``polynomial`` with ``to > 0``
    needs ``peak_lr`` (transformers' ``lr_end`` is absolute).

    >>> training_args("linear(100) -> linear", total_steps=1000)  # doctest: +SKIP
    {'lr_scheduler_type': 'linear', 'warmup_steps': 100, 'lr_scheduler_kwargs': {}}

    Raises :class:`~rampup.RampupError` naming why when no built-in is exact; then use
    :class:`RampupTrainer`.
    """
    found = builtin_scheduler(
        schedule, total_steps, peak_lr=peak_lr, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step
    )
    args: dict[str, Any] = {
        "lr_scheduler_type": found.name,
        "warmup_steps": found.warmup_steps,
        "lr_scheduler_kwargs": dict(found.kwargs),
    }
    if peak_lr is not None:
        args["learning_rate"] = float(peak_lr)
    return args


def _check_peak(peak_lr: float | None) -> float | None:
    if peak_lr is None:
        return None
    if (
        isinstance(peak_lr, bool)
        or not isinstance(peak_lr, (int, float))
        or not (peak_lr > 0 and math.isfinite(peak_lr))
    ):
        raise RampupError("peak_lr", peak_lr, "a learning rate > 0")
    return float(peak_lr)


# ---------------------------------------------------------------------- Trainer's number of updates


def _dataloader_length(args: Any, num_examples: int, world_size: int) -> int:
    """Batches per process per epoch, as ``accelerate``'s sharded DataLoader counts them (``BatchSamplerShard``)."""
    batch = int(args.train_batch_size)
    drop_last = bool(args.dataloader_drop_last)
    batches = num_examples // batch if drop_last else -(-num_examples // batch)
    config = getattr(args, "accelerator_config", None)
    if world_size == 1 or bool(getattr(config, "split_batches", False)):
        return batches
    length, remainder = divmod(batches, world_size)
    if remainder == 0 or drop_last:
        return length
    if bool(getattr(config, "even_batches", True)):
        return length + 1
    raise RampupError(
        "accelerator_config.even_batches",
        False,
        "True: with uneven batches each process runs its own number of updates",
        hint="pass even_batches=True, or use RampupTrainer, which takes the total from Trainer",
    )


def trainer_steps_per_epoch(args: Any, num_examples: int, *, world_size: int | None = None) -> int:
    """Optimizer updates per epoch in ``transformers.Trainer``: ``max(ceil(batches / gradient_accumulation_steps), 1)``.

    ``batches`` is the length of one process's training DataLoader: ``ceil(num_examples /
    train_batch_size)`` (``floor`` with ``dataloader_drop_last``), split over
    ``world_size`` processes as ``accelerate`` shards it (``even_batches``: rounded up).
    Trainer's ``set_initial_training_values`` (transformers 5.x).
    """
    if isinstance(num_examples, bool) or not isinstance(num_examples, int) or num_examples <= 0:
        raise RampupError("num_examples", num_examples, "the number of training examples (len(train_dataset)) > 0")
    processes = int(args.world_size) if world_size is None else world_size
    if isinstance(processes, bool) or processes < 1:
        raise RampupError("world_size", world_size, "a number of processes >= 1")
    batches = _dataloader_length(args, num_examples, processes)
    accumulation = int(args.gradient_accumulation_steps)
    return max(-(-batches // accumulation), 1)


def trainer_total_steps(args: Any, num_examples: int | None, *, world_size: int | None = None) -> int:
    """The number of optimizer updates ``transformers.Trainer`` runs: its ``max_steps``.

    ``args.max_steps`` when it is > 0; else ``ceil(num_train_epochs *``
    :func:`trainer_steps_per_epoch` ``)``, as Trainer's ``set_initial_training_values``
    computes it (transformers 5.x). ``args`` is a ``TrainingArguments`` (or TRL's
    ``SFTConfig``), ``num_examples`` the training set's length (after TRL's
    preprocessing: ``len(trainer.train_dataset)``; None for an iterable dataset, which
    needs ``max_steps``), ``world_size`` the number of data-parallel processes
    (default: ``args.world_size``).
    """
    if int(args.max_steps) > 0:
        return int(args.max_steps)
    if num_examples is None:
        raise RampupError(
            "num_examples", None, "the training set's length", hint="a dataset without a length needs max_steps > 0"
        )
    per_epoch = trainer_steps_per_epoch(args, num_examples, world_size=world_size)
    return math.ceil(float(args.num_train_epochs) * per_epoch)


# ---------------------------------------------------------------------- RampupLR inside Trainer

if TYPE_CHECKING:
    _MixinBase = Trainer
else:
    _MixinBase = object


class RampupSchedulerMixin(_MixinBase):
    """Makes a Trainer (or a subclass such as TRL's SFTTrainer) schedule with :class:`rampup.torch.RampupLR`.

    Put it first: ``class MyTrainer(RampupSchedulerMixin, SFTTrainer)``. It adds the
    keyword ``schedule=`` (and ``steps_per_epoch=``, ``tokens_per_step=`` for ``ep`` and
    ``tok`` lengths) and overrides ``create_scheduler(num_training_steps, optimizer)``,
    so the schedule is resolved with the total that Trainer computed (epochs, gradient
    accumulation, processes). Each group's peak is its learning rate
    (``args.learning_rate``). Steps per epoch default to Trainer's own updates per epoch.
    ``lr_scheduler_type`` and ``warmup_steps`` must be left at their defaults: the
    schedule replaces them.
    """

    def __init__(
        self,
        *args: Any,
        schedule: Schedule | str | Mapping[str, Any],
        steps_per_epoch: float | None = None,
        tokens_per_step: float | None = None,
        **kwargs: Any,
    ) -> None:
        #: the schedule as given (resolved when Trainer knows its total)
        self.rampup_schedule: Schedule = as_schedule(schedule)
        self._rampup_steps_per_epoch = steps_per_epoch
        self._rampup_tokens_per_step = tokens_per_step
        self._rampup_epoch_updates: int | None = None
        super().__init__(*args, **kwargs)
        _check_scheduler_args(self.args)

    def set_initial_training_values(self, args: Any, dataloader: Any) -> Any:
        """Trainer's own numbers; the updates per epoch are kept for ``ep`` lengths."""
        values = super().set_initial_training_values(args, dataloader)
        self._rampup_epoch_updates = int(values[1])
        return values

    def create_scheduler(self, num_training_steps: int, optimizer: Any = None) -> Any:
        """A :class:`RampupLR` resolved with ``num_training_steps``, Trainer's number of updates."""
        if self.lr_scheduler is None:
            if optimizer is None:
                optimizer = self.optimizer
            steps_per_epoch = self._rampup_steps_per_epoch
            if steps_per_epoch is None:
                steps_per_epoch = self._rampup_epoch_updates
            scheduler: Any = RampupLR(
                optimizer,
                self.rampup_schedule,
                total_steps=int(num_training_steps),
                steps_per_epoch=steps_per_epoch,
                tokens_per_step=self._rampup_tokens_per_step,
            )
            self.lr_scheduler = scheduler
            self._created_lr_scheduler = True  # Trainer builds it again on the next train()
        return self.lr_scheduler


def _check_scheduler_args(args: Any) -> None:
    scheduler_type = str(getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type))
    given = []
    if scheduler_type != "linear":
        given.append(f"lr_scheduler_type={scheduler_type!r}")
    if getattr(args, "warmup_steps", 0):
        given.append(f"warmup_steps={args.warmup_steps!r}")
    if getattr(args, "lr_scheduler_kwargs", None):
        given.append(f"lr_scheduler_kwargs={args.lr_scheduler_kwargs!r}")
    if given:
        raise RampupError(
            "TrainingArguments",
            ", ".join(given),
            "the scheduler arguments left at their defaults: the rampup schedule replaces them",
            hint="put the warmup in the schedule, e.g. schedule='linear(5%) -> cosine'",
        )


class RampupTrainer(RampupSchedulerMixin, Trainer):
    """:class:`transformers.Trainer` with a rampup schedule: ``RampupTrainer(..., schedule="linear(5%) -> cosine")``.

    See :class:`RampupSchedulerMixin`.
    """
