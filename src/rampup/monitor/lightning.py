"""The monitor in a Lightning ``Trainer``: :class:`MonitorCallback`.

::

    monitor = WarmupMonitor("linear(20) -> cosine", total_steps=400, action="stop")
    trainer = lightning.Trainer(max_steps=400, callbacks=[MonitorCallback(monitor)])

The callback measures the global gradient norm just before each optimizer step and reads the
training loss that ``training_step`` returned; with gradient accumulation it observes once per
optimizer update (the last micro-batch's loss). ``action="stop"`` sets ``trainer.should_stop``. For
``action="hold"``, return ``MonitoredLR(optimizer, monitor)`` with ``"interval": "step"`` from
``configure_optimizers``; Lightning steps it before the batch-end hook, so the ramp reacts one
update after the flag.
"""

from __future__ import annotations

from typing import Any

try:
    import lightning.pytorch as pl
    import torch
except ImportError as error:  # pragma: no cover - exercised in a subprocess without lightning
    raise ImportError(
        "rampup.monitor.lightning needs Lightning, which is not installed: pip install 'rampup[lightning]'"
    ) from error

from rampup.monitor import WarmupMonitor, require_monitor
from rampup.monitor.torch import grad_norm

__all__ = ["MonitorCallback"]


class MonitorCallback(pl.Callback):
    """Feeds each optimizer update's loss and gradient norm to a :class:`WarmupMonitor`."""

    def __init__(self, monitor: WarmupMonitor) -> None:
        self.monitor = require_monitor(monitor)
        self._norm: float | None = None
        self._stepped_at = -1

    def on_before_optimizer_step(self, trainer: Any, pl_module: Any, optimizer: Any) -> None:
        self._norm = grad_norm(pl_module.parameters())

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        if self._norm is None or trainer.global_step == self._stepped_at:
            return  # no optimizer update in this batch (gradient accumulation)
        self._stepped_at = trainer.global_step
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        if isinstance(loss, torch.Tensor):
            loss = float(loss.detach())
        self.monitor.observe(loss, self._norm)
        self._norm = None
        if self.monitor.should_stop:
            trainer.should_stop = True
