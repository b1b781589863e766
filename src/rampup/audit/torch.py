"""The audit in plain PyTorch: an optimizer step pre-hook that checks every update's rate against the plan.

>>> import torch
>>> from rampup.torch import RampupLR
>>> from rampup.audit.torch import audit
>>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
>>> scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
>>> checking = audit(optimizer, scheduler)
>>> for _ in range(100):
...     optimizer.step()
...     scheduler.step()
>>> checking.checked
100

The hook reads each group's ``lr`` just before ``optimizer.step()`` runs (the rate the update
uses) and hands it to :class:`rampup.audit.RateAudit`, which raises
:class:`rampup.audit.AuditError` at the first update off the plan, with its diagnosis.
"""

from __future__ import annotations

import gc
from collections.abc import Mapping
from typing import Any

try:
    import torch
    from torch import Tensor
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
except ImportError as error:  # pragma: no cover - exercised without torch
    raise ImportError(
        "rampup.audit.torch needs PyTorch, which is not installed: pip install 'rampup[torch]'"
    ) from error

from rampup.audit import AuditError, RateAudit
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule
from rampup.torch import RampupLR

__all__ = ["Audit", "AuditError", "audit", "other_schedulers", "scheduler_state", "updates_done"]


def updates_done(optimizer: Optimizer) -> int:
    """The updates the optimizer's state has counted (Adam's ``state["step"]``), 0 without one (SGD).

    A resumed optimizer brings its count back with ``load_state_dict``: the audit starts there.
    """
    done = 0
    for state in optimizer.state.values():
        step = state.get("step") if isinstance(state, Mapping) else None
        if isinstance(step, Tensor):
            done = max(done, int(step.item()))
        elif isinstance(step, (int, float)):
            done = max(done, int(step))
    return done


def _describe(owner: object) -> str:
    kind = type(owner)
    name = f"{kind.__module__}.{kind.__qualname__}"
    if kind.__module__.startswith("deepspeed"):
        return f"DeepSpeed's {kind.__qualname__} ({name}, built from the 'scheduler' section of the DeepSpeed config)"
    return name


def other_schedulers(optimizer: Optimizer, besides: object = None) -> list[str]:
    """The schedulers that hold ``optimizer`` in an attribute, other than ``besides``.

    Any object whose class or module names a rate scheduler (``...lr_scheduler...``,
    ``...lr_schedules...``, ``...Warmup...``), with a ``step`` method and the optimizer among
    its attributes: PyTorch's, Hugging Face's ``LambdaLR``, DeepSpeed's ``WarmupLR``... Only
    looked for on a miss: it walks the objects the garbage collector tracks.
    """
    found: list[str] = []
    for owner in gc.get_objects():
        kind = type(owner)
        label = f"{kind.__module__}.{kind.__qualname__}".lower()
        named = ("lr" in label and "sched" in label) or "warmup" in label
        if not (named or isinstance(owner, LRScheduler)) or owner is besides:
            continue
        attributes = getattr(owner, "__dict__", None)
        stepping = isinstance(attributes, dict) and callable(getattr(kind, "step", None))
        if stepping and any(value is optimizer for value in attributes.values()):  # type: ignore[union-attr]
            found.append(_describe(owner))
    return sorted(set(found))


def scheduler_state(scheduler: Any) -> tuple[int, list[float]]:
    """A PyTorch-style scheduler's steps done (``last_epoch``) and the rates it set (``get_last_lr()``)."""
    return int(scheduler.last_epoch), [float(rate) for rate in scheduler.get_last_lr()]


def _rates(optimizer: Optimizer) -> list[float]:
    return [float(group["lr"]) for group in optimizer.param_groups]


class Audit:
    """A running audit of one optimizer: :meth:`remove` stops it; usable as a context manager."""

    def __init__(self, optimizer: Optimizer, checker: RateAudit) -> None:
        self.optimizer = optimizer
        #: the checker (plan, peaks, the next update)
        self.checker = checker
        self._handle = optimizer.register_step_pre_hook(self._before_step)

    def _before_step(self, optimizer: Optimizer, args: Any, kwargs: Any) -> None:
        groups = optimizer.param_groups
        if len(groups) == 1:
            lr = groups[0]["lr"]
            self.checker.check([lr if lr.__class__ is float else float(lr)])
        else:
            self.checker.check(_rates(optimizer))

    @property
    def checked(self) -> int:
        """Updates checked so far."""
        return self.checker.checked

    def remove(self) -> None:
        """Stop checking."""
        self._handle.remove()

    def __enter__(self) -> Audit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def audit(
    optimizer: Optimizer,
    schedule: RampupLR | Schedule | str | Mapping[str, Any],
    *,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    start: int | None = None,
    accumulation: int = 1,
    world_size: int | None = None,
) -> Audit:
    """Check the rate of every update of ``optimizer`` against the plan, from now on.

    ``schedule`` is the plan: a :class:`RampupLR` (its schedule and peaks), or a schedule
    (spec text, preset, dict) resolved with ``total_steps`` (the run's real number of
    updates) whose peaks are the groups' ``initial_lr`` (else ``lr``). ``start`` is the
    update the run is at (default: the optimizer state's count, 0 for a new run);
    ``accumulation`` the micro-batches per update and ``world_size`` the processes
    (default: torch.distributed's) name the mistakes they explain. The first update off
    the plan raises :class:`AuditError` from ``optimizer.step()``, before the update runs.
    """
    if not isinstance(optimizer, Optimizer):
        raise RampupError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer")
    spec: Schedule | None = None
    if isinstance(schedule, RampupLR):
        plan, peaks, besides = schedule.schedule, [float(peak) for peak in schedule.base_lrs], schedule
    else:
        spec = as_schedule(schedule)
        plan = spec.resolve(total_steps, steps_per_epoch=steps_per_epoch)
        peaks = [float(group.get("initial_lr", group["lr"])) for group in optimizer.param_groups]
        besides = None
    if world_size is None:
        distributed = torch.distributed.is_available() and torch.distributed.is_initialized()
        world_size = torch.distributed.get_world_size() if distributed else 1
    checker = RateAudit(
        plan,
        peaks,
        start=updates_done(optimizer) if start is None else start,
        accumulation=accumulation,
        world_size=world_size,
        spec=spec,
        suspects=lambda: other_schedulers(optimizer, besides),
        scheduler=None if besides is None else (lambda: scheduler_state(besides)),
    )
    return Audit(optimizer, checker)
