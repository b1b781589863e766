"""Lightning front door: what ``configure_optimizers`` returns, a :class:`rampup.torch.RampupLR` stepped per update.

>>> import torch, lightning as L
>>> from rampup.lightning import scheduler_config
>>> class Model(L.LightningModule):  # doctest: +SKIP
...     def configure_optimizers(self):
...         optimizer = torch.optim.AdamW(self.parameters(), lr=3e-4)  # the peak
...         return scheduler_config(optimizer, "linear(5%) -> cosine(to=0.1)", trainer=self.trainer)

The scheduler is stepped once per optimizer update (``interval="step"``,
``frequency=1``), so with ``accumulate_grad_batches=k`` it moves once every k
batches, and Lightning's step counts updates already done: rampup's step convention.
Percentages and open lengths need the run's number of updates: pass
``total_steps=self.trainer.estimated_stepping_batches`` (or ``trainer=self.trainer``,
which also gives the updates per epoch for ``ep`` lengths: ``ceil(num_training_batches
/ accumulate_grad_batches)``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

try:
    import lightning  # noqa: F401  (checks that Lightning is there; configure_optimizers returns plain data)
    from torch.optim import Optimizer
except ImportError as error:  # pragma: no cover - exercised only without lightning
    raise ImportError("rampup.lightning needs PyTorch and Lightning: pip install 'rampup[lightning]'") from error

from rampup.conventions.lightning import updates_per_epoch
from rampup.errors import RampupError
from rampup.schedule import Schedule
from rampup.torch import RampupLR

__all__ = ["scheduler_config"]


def _finite_steps(value: Any, field: str) -> int | None:
    """A Lightning count as an int, None when it is infinite (an endless run)."""
    if value is None:
        return None
    number = float(value)
    if math.isinf(number):
        return None
    if number < 1:
        raise RampupError(field, value, "at least one optimizer update")
    return int(number)


def scheduler_config(
    optimizer: Optimizer,
    schedule: Schedule | str | Mapping[str, Any],
    *,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
    trainer: Any = None,
    name: str | None = None,
) -> dict[str, Any]:
    """``{"optimizer": optimizer, "lr_scheduler": {"scheduler": RampupLR(...), "interval": "step", "frequency": 1}}``.

    Return it from ``LightningModule.configure_optimizers``. Each parameter group's
    learning rate is its peak. ``total_steps`` defaults to
    ``trainer.estimated_stepping_batches`` and ``steps_per_epoch`` to
    ``ceil(trainer.num_training_batches / trainer.accumulate_grad_batches)`` when
    ``trainer`` (``self.trainer``) is given. ``name`` is the key
    ``LearningRateMonitor`` logs under (default ``lr-<Optimizer>``).
    """
    if trainer is not None:
        if total_steps is None:
            total_steps = _finite_steps(trainer.estimated_stepping_batches, "trainer.estimated_stepping_batches")
        if steps_per_epoch is None:
            batches = _finite_steps(trainer.num_training_batches, "trainer.num_training_batches")
            if batches is not None:
                steps_per_epoch = updates_per_epoch(batches, int(trainer.accumulate_grad_batches))
    try:
        scheduler = RampupLR(
            optimizer,
            schedule,
            total_steps=total_steps,
            steps_per_epoch=steps_per_epoch,
            tokens_per_step=tokens_per_step,
        )
    except RampupError as error:
        if error.field in ("total_steps", "steps_per_epoch") and error.value is None and trainer is None:
            raise RampupError(
                error.field,
                None,
                error.expected,
                hint=f"{error.hint}; in configure_optimizers pass trainer=self.trainer "
                "(total_steps = self.trainer.estimated_stepping_batches)",
            ) from None
        raise
    config: dict[str, Any] = {"scheduler": scheduler, "interval": "step", "frequency": 1}
    if name is not None:
        config["name"] = name
    return {"optimizer": optimizer, "lr_scheduler": config}
