"""The monitor in a Hugging Face ``Trainer`` (or TRL's trainers): :class:`MonitorCallback`.

::

    monitor = WarmupMonitor("linear(20) -> cosine", total_steps=400, action="stop")
    args = TrainingArguments(..., logging_steps=1)  # the monitor sees what the Trainer logs
    trainer = Trainer(model=model, args=args, train_dataset=data, callbacks=[MonitorCallback(monitor)])

The callback reads the loss and ``grad_norm`` the Trainer logs (``grad_norm`` is there while
``max_grad_norm > 0``, its default): with ``logging_steps=1`` every update is watched, otherwise
every ``logging_steps``-th, averaged as the Trainer logs it. ``action="stop"`` ends training through
``control.should_training_stop``. For ``action="hold"`` the rates must come from the monitor: pass
``optimizers=(optimizer, MonitoredLR(optimizer, monitor))`` (see :mod:`rampup.monitor.torch`); the
Trainer steps the scheduler before it logs, so the ramp reacts one update after the flag.
"""

from __future__ import annotations

from typing import Any

try:
    from transformers import TrainerCallback
except ImportError as error:  # pragma: no cover - exercised in a subprocess without transformers
    raise ImportError(
        "rampup.monitor.hf needs transformers, which is not installed: pip install 'rampup[hf]'"
    ) from error

from rampup.monitor import WarmupMonitor, require_monitor

__all__ = ["MonitorCallback"]


class MonitorCallback(TrainerCallback):
    """Feeds every logged training loss (and gradient norm) to a :class:`WarmupMonitor`."""

    def __init__(self, monitor: WarmupMonitor) -> None:
        self.monitor = require_monitor(monitor)

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # an evaluation or the end-of-training summary, not a training step
        self.monitor.observe(logs["loss"], logs.get("grad_norm"))
        if self.monitor.should_stop:
            control.should_training_stop = True
