"""The audit in the Hugging Face Trainer: a callback that checks the rate of every update against the plan.

>>> from rampup.audit.hf import AuditCallback          # doctest: +SKIP
>>> trainer = Trainer(..., callbacks=[AuditCallback()])  # doctest: +SKIP

``on_optimizer_step`` runs after ``optimizer.step()`` and before ``lr_scheduler.step()``, with
``state.global_step`` the updates done before this one: the group rates then are the ones
this update used, and the plan's are ``peak * schedule(global_step)``. The plan is the
Trainer's :class:`rampup.torch.RampupLR` (``RampupTrainer`` or ``optimizers=``), or the schedule
given here, resolved with Trainer's ``max_steps``. At the first miss the callback raises
:class:`rampup.audit.AuditError` with the diagnosis (gradient accumulation and the number of
processes come from the TrainingArguments, the resumed step from the Trainer's state).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as error:  # pragma: no cover - exercised without transformers
    raise ImportError("rampup.audit.hf needs transformers: pip install 'rampup[hf]'") from error

from rampup.audit import AuditError, RateAudit
from rampup.audit.torch import other_schedulers, scheduler_state
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule
from rampup.torch import RampupLR

__all__ = ["AuditCallback", "AuditError"]


class AuditCallback(TrainerCallback):
    """Checks each update's rate against the plan; raises :class:`AuditError` at the first miss.

    Args:
        schedule: the plan as spec text, a preset, a dict or a Schedule (resolved with Trainer's
            ``max_steps``); by default the Trainer's RampupLR's own schedule.
    """

    def __init__(self, schedule: Schedule | str | Mapping[str, Any] | None = None) -> None:
        self.spec = None if schedule is None else as_schedule(schedule)
        #: the checker, made when training begins
        self.checker: RateAudit | None = None

    def on_train_begin(
        self, args: Any, state: Any, control: Any, optimizer: Any = None, lr_scheduler: Any = None, **kwargs: Any
    ) -> None:
        if optimizer is None:
            raise RampupError("optimizer", None, "the Trainer's optimizer (Trainer passes it to callbacks)")
        groups = optimizer.param_groups
        if self.spec is not None:
            plan = self.spec.resolve(int(state.max_steps))
            peaks = [float(group.get("initial_lr", args.learning_rate)) for group in groups]
        elif isinstance(lr_scheduler, RampupLR):
            plan, peaks = lr_scheduler.schedule, [float(peak) for peak in lr_scheduler.base_lrs]
        else:
            raise RampupError(
                "schedule",
                None if lr_scheduler is None else type(lr_scheduler).__name__,
                "the plan: AuditCallback(schedule='linear(5%) -> cosine'), or a RampupLR as the Trainer's scheduler",
                hint="the Trainer's scheduler is not a RampupLR, so the callback cannot read the plan from it",
            )
        has_count = lr_scheduler is not None and hasattr(lr_scheduler, "last_epoch")
        self.checker = RateAudit(
            plan,
            peaks,
            start=int(state.global_step),
            accumulation=int(args.gradient_accumulation_steps),
            world_size=int(args.world_size),
            spec=self.spec,
            suspects=lambda: other_schedulers(optimizer, lr_scheduler if self.spec is None else None),
            scheduler=(lambda: scheduler_state(lr_scheduler)) if has_count else None,
        )

    def on_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
        if self.checker is None or optimizer is None:
            return
        self.checker.check([float(group["lr"]) for group in optimizer.param_groups], update=int(state.global_step))
