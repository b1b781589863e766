"""The audit in Lightning: a callback that checks the rate of every optimizer update against the plan.

>>> trainer = L.Trainer(callbacks=[AuditCallback()])  # doctest: +SKIP

``on_before_optimizer_step`` runs just before each ``optimizer.step()``, with
``trainer.global_step`` the updates done: the group rates then are the ones the update uses,
and the plan's are ``peak * schedule(global_step)``. The plan is the first optimizer's
:class:`rampup.torch.RampupLR` (``configure_optimizers``), or the schedule given here, resolved with
``trainer.estimated_stepping_batches``. At the first miss it raises
:class:`rampup.audit.AuditError` with the diagnosis (``accumulate_grad_batches`` and the
number of processes come from the Trainer, the resumed step from ``global_step``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    from lightning.pytorch import Callback
except ImportError as error:  # pragma: no cover - exercised without Lightning
    raise ImportError("rampup.audit.lightning needs Lightning: pip install lightning") from error

from rampup.audit import AuditError, RateAudit
from rampup.audit.torch import other_schedulers, scheduler_state
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule
from rampup.torch import RampupLR

__all__ = ["AuditCallback", "AuditError"]


class AuditCallback(Callback):
    """Checks each update's rate against the plan; raises :class:`AuditError` at the first miss.

    Args:
        schedule: the plan as spec text, a preset, a dict or a Schedule (resolved with
            ``trainer.estimated_stepping_batches``); by default the RampupLR's own schedule.
    """

    def __init__(self, schedule: Schedule | str | Mapping[str, Any] | None = None) -> None:
        self.spec = None if schedule is None else as_schedule(schedule)
        #: the checker, made when training starts
        self.checker: RateAudit | None = None

    def on_train_start(self, trainer: Any, pl_module: Any) -> None:
        optimizer = trainer.optimizers[0]
        configs = trainer.lr_scheduler_configs
        scheduler = configs[0].scheduler if configs else None
        if self.spec is not None:
            plan = self.spec.resolve(int(trainer.estimated_stepping_batches))
            peaks = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
        elif isinstance(scheduler, RampupLR):
            plan, peaks = scheduler.schedule, [float(peak) for peak in scheduler.base_lrs]
        else:
            raise RampupError(
                "schedule",
                None if scheduler is None else type(scheduler).__name__,
                "the plan: AuditCallback(schedule='linear(5%) -> cosine'), or a RampupLR from configure_optimizers",
            )
        has_count = scheduler is not None and hasattr(scheduler, "last_epoch")
        self.checker = RateAudit(
            plan,
            peaks,
            start=int(trainer.global_step),
            accumulation=int(trainer.accumulate_grad_batches),
            world_size=int(trainer.world_size),
            spec=self.spec,
            suspects=lambda: other_schedulers(optimizer, scheduler if self.spec is None else None),
            scheduler=(lambda: scheduler_state(scheduler)) if has_count else None,
        )

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        if self.checker is None:
            return
        self.checker.check([float(group["lr"]) for group in optimizer.param_groups], update=int(trainer.global_step))
