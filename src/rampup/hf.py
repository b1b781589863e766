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
from typing import TYPE_CHECKING, Any

try:
    import torch
    import transformers
    from transformers import Trainer, get_scheduler
except ImportError as error:  # pragma: no cover - exercised only without transformers
    raise ImportError("rampup.hf needs PyTorch and Hugging Face transformers: pip install 'rampup[hf]'") from error

from rampup.checks import optional_learning_rate
from rampup.conventions.hf import updates_for_epochs
from rampup.conventions.hf_builtins import BuiltinScheduler, match_builtin
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


def _check_with_transformers(found: BuiltinScheduler, total: int | None, peak_lr: float | None) -> None:
    """Build the scheduler as Trainer does and compare its multipliers with the engine's over the run."""
    schedule = found.schedule
    segments, end = schedule.segments, schedule.phases_end
    if total is not None:
        horizon = total
    else:
        finite = [seg.start for seg in segments] + ([end] if not math.isinf(end) else [])
        horizon = int(2 * max(finite, default=0)) + 1000
    edges = {0, horizon - 1}
    for seg in segments:
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
    found = match_builtin(resolved, total, peak)
    if isinstance(found, str):
        hint = f"{found}; {OTHER_PATH}"
        raise RampupError(
            "schedule",
            str(resolved),
            "a schedule with an exact Hugging Face built-in (linear, cosine, cosine_with_restarts, polynomial, "
            "constant, constant_with_warmup, inverse_sqrt, cosine_with_min_lr, cosine_warmup_with_min_lr, "
            "warmup_stable_decay)",
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
    return optional_learning_rate(peak_lr)


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
    return updates_for_epochs(float(args.num_train_epochs), per_epoch)


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
