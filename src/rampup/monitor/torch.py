"""The monitor in a plain PyTorch loop: :class:`MonitoredLR` and :func:`grad_norm`.

::

    monitor = WarmupMonitor("linear(20) -> cosine", total_steps=400, action="hold")
    scheduler = MonitoredLR(optimizer, monitor)  # the rates follow monitor.multiplier()
    for batch in batches:
        loss = loss_fn(model, batch)
        optimizer.zero_grad()
        loss.backward()
        norm = grad_norm(model.parameters())
        optimizer.step()
        monitor.observe(loss.item(), norm)  # once per optimizer update, after optimizer.step()
        scheduler.step()
        if monitor.should_stop:
            break

With ``action="warn"`` or ``"stop"`` any scheduler can drive the rates (``RampupLR`` included);
``MonitoredLR`` is what lets ``"hold"`` change them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

try:
    import torch
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler
except ImportError as error:  # pragma: no cover - exercised in a subprocess without torch
    raise ImportError(
        "rampup.monitor.torch needs PyTorch, which is not installed: pip install 'rampup[torch]'"
    ) from error

from rampup.errors import RampupError
from rampup.monitor import WarmupMonitor, require_monitor
from rampup.torch import write_rates

__all__ = ["MonitoredLR", "grad_norm"]


def grad_norm(parameters: Iterable[torch.Tensor]) -> float:
    """The global L2 norm of the parameters' gradients (``inf`` or ``nan`` when one is not finite)."""
    grads = [p.grad for p in parameters if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.nn.utils.get_total_norm(grads))


class MonitoredLR(LRScheduler):
    """Every group's rate is its peak (``initial_lr``) times ``monitor.multiplier(step)``.

    Step it once per optimizer update, after :meth:`WarmupMonitor.observe`. Its
    ``state_dict`` holds the monitor's, so a resumed run continues the adapted ramp exactly.
    """

    def __init__(self, optimizer: Optimizer, monitor: WarmupMonitor, last_epoch: int = -1) -> None:
        if require_monitor(monitor).schedule is None:
            raise RampupError("monitor", "no schedule", "a WarmupMonitor built with the planned schedule")
        if not isinstance(optimizer, Optimizer) or not optimizer.param_groups:
            raise RampupError("optimizer", type(optimizer).__name__, "a torch.optim.Optimizer with parameter groups")
        self.monitor = monitor
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[float | torch.Tensor]:
        multiplier = self.monitor.multiplier(self.last_epoch)
        if not math.isfinite(multiplier):  # pragma: no cover - the engine's values are finite
            raise RampupError("multiplier", multiplier, "a finite rate")
        return [group["initial_lr"] * multiplier for group in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        """Plain data: PyTorch's scheduler fields and the monitor's state."""
        state = {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "monitor")}
        state["monitor"] = self.monitor.state_dict()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Resume from :meth:`state_dict`: the monitor's state, the step, and the rates of that step written
        into the optimizer's groups (so the next update runs at the resumed rate whatever order the
        optimizer's own state is loaded in). A state of another plan or a malformed one is a
        :class:`RampupError` and changes nothing."""
        if not isinstance(state_dict, dict) or not isinstance(state_dict.get("monitor"), dict):
            raise RampupError("state_dict", type(state_dict).__name__, "a dict made by MonitoredLR.state_dict()")
        state = dict(state_dict)
        step = state.get("last_epoch")
        if isinstance(step, bool) or not isinstance(step, int) or step < 0:
            raise RampupError("state_dict['last_epoch']", step, "the whole number of updates done (>= 0)")
        self.monitor.load_state_dict(state.pop("monitor"))
        self.__dict__.update(state)
        rates = self.get_lr()
        write_rates(self.optimizer, rates)
        self._last_lr = [float(rate) for rate in rates]
