"""One trial's training loop, in PyTorch (imported only inside a worker, never by ``import rampup``).

The rate of every step comes from the engine through :class:`rampup.torch.RampupLR`:
``lr(step) = peak_lr * schedule(step)``, step = updates already done. The data order and the
initial weights depend on the seed alone, so trials that differ only in their warmup see the same
batches from the same start (a paired comparison).

Rules (docs/lab.md):

- **Final loss**: the held-out loss after the last step (the corpus's held-out tail, or held-out
  generated examples), on a fixed set of sequences.
- **Diverged**: a non-finite loss or gradient, a training loss above twice the initial held-out loss
  for :data:`EXPLODE_PATIENCE` steps in a row (the trial stops early), or a final loss above the
  initial loss.
- **Spikes**: in the early window (the warmup, and at least the first 20% of the steps, so that runs
  without warmup are judged on a window too), the number of times the smoothed training loss (an
  exponential moving average) rises more than 5% (:data:`SPIKE_RATIO`) above its lowest value so far.
- **Max grad norm**: the largest global L2 norm of the gradients (no clipping is applied).
- **Flags**: every trial is watched by :class:`rampup.monitor.WarmupMonitor` with its defaults; it
  only observes (the rates are the schedule's) unless the trial's ``monitor`` is ``"hold"``, in
  which case the monitor's adapted ramp sets the rates (:class:`rampup.monitor.torch.MonitoredLR`).
"""

from __future__ import annotations

import math
import time
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import torch

from rampup.durations import early_window
from rampup.lab.data import TaskData, task_data
from rampup.lab.result import TrialConfig, TrialResult
from rampup.monitor import WarmupMonitor
from rampup.monitor.torch import MonitoredLR, grad_norm
from rampup.schedule import Schedule, as_schedule
from rampup.torch import RampupLR

__all__ = [
    "EXPLODE_PATIENCE",
    "SPIKE_RATIO",
    "SPIKE_SMOOTHING",
    "count_spikes",
    "lr_trace",
    "make_optimizer",
    "optimizer_for",
    "task_data",
    "train",
]

#: a smoothed training loss this many times above its lowest value so far counts as a spike
SPIKE_RATIO = 1.05
#: weight of the newest loss in the exponential moving average that spikes are judged on
SPIKE_SMOOTHING = 0.1
#: steps in a row above twice the initial loss after which a trial stops as diverged
EXPLODE_PATIENCE = 10
#: held-out evaluations along the run (besides step 0 and the end)
EVALS = 4


def count_spikes(losses: list[float], window: int, ratio: float = SPIKE_RATIO, alpha: float = SPIKE_SMOOTHING) -> int:
    """Rising edges of ``smooth > ratio * min(smooth so far)`` within the first ``window`` losses.

    ``smooth`` is the exponential moving average of the training loss (weight ``alpha``), so that
    the noise of single small batches does not count; a non-finite loss counts as one spike.
    """
    best = math.inf
    level: float | None = None
    spikes = 0
    above = False
    for loss in losses[:window]:
        if not math.isfinite(loss):
            return spikes + (0 if above else 1)
        level = loss if level is None else level + alpha * (loss - level)
        high = level > ratio * best
        if high and not above:
            spikes += 1
        above = high
        best = min(best, level)
    return spikes


def make_optimizer(config: TrialConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The trial's optimizer over the model's trainable parameters, at the trial's peak rate."""
    opt = config.optimizer
    parameters: Any = [p for p in model.parameters() if p.requires_grad]
    if opt.name == "adamw" and opt.weight_decay:
        # the usual groups: no weight decay on biases and normalization weights (vectors)
        parameters = [
            {"params": [p for p in parameters if p.dim() >= 2]},
            {"params": [p for p in parameters if p.dim() < 2], "weight_decay": 0.0},
        ]
    if opt.name in ("adam", "adamw"):
        kind = torch.optim.AdamW if opt.name == "adamw" else torch.optim.Adam
        return kind(
            parameters,
            lr=config.peak_lr,
            betas=opt.betas,
            eps=opt.eps,
            weight_decay=opt.weight_decay,
            fused=True,
        )
    return torch.optim.SGD(parameters, lr=config.peak_lr, momentum=opt.momentum, weight_decay=opt.weight_decay)


def optimizer_for(data: TaskData, config: TrialConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The task's own ``optimizer(model, config)`` if its data has one, else :func:`make_optimizer`."""
    build = getattr(data, "optimizer", None)
    if not callable(build):
        return make_optimizer(config, model)
    optimizer = build(model, config)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"the task's optimizer(model, trial) returned {type(optimizer).__name__}, not an Optimizer")
    return optimizer


def _evaluate(data: TaskData, model: torch.nn.Module) -> float:
    model.eval()
    with torch.no_grad():
        value = float(data.loss(model, data.eval_x, data.eval_y))
    model.train()
    return value


def _finite(values: list[float]) -> list[float | None]:
    return [value if math.isfinite(value) else None for value in values]


def measured(
    config: TrialConfig,
    schedule: Schedule,
    monitor: WarmupMonitor,
    *,
    initial: float,
    final: float,
    diverged: bool,
    losses: list[float],
    norms: list[float],
    max_grad_norm: float | None,
    wall_s: float,
    eval_steps: list[int],
    eval_losses: list[float],
) -> TrialResult:
    """A trial's result from what its run recorded (the lab's loop and a custom ``train(trial)`` alike):
    spikes counted in the early window, losses and norms stored with ``None`` where not finite, the flags
    the monitor raised."""
    return TrialResult(
        config=config,
        status="diverged" if diverged else "ok",
        initial_loss=initial if math.isfinite(initial) else None,
        final_loss=final if math.isfinite(final) else None,
        diverged=diverged,
        spikes=count_spikes(losses, early_window(schedule.warmup_steps, config.steps)),
        max_grad_norm=max_grad_norm,
        warmup_steps=schedule.warmup_steps,
        wall_s=wall_s,
        train_losses=_finite(losses),
        grad_norms=_finite(norms),
        eval_steps=eval_steps,
        eval_losses=_finite(eval_losses),
        flags=[flag.to_dict() for flag in monitor.flags],
        ramp_done_at=monitor.ramp_done_at,
    )


def train(config: TrialConfig) -> TrialResult:
    """Run one trial to the end (or to divergence) and measure it."""
    start = time.perf_counter()
    data = task_data(config)
    torch.manual_seed(config.seed)
    model = data.model(config)
    optimizer = optimizer_for(data, config, model)
    schedule = as_schedule(config.schedule).resolve(total_steps=config.steps)
    monitor = WarmupMonitor(schedule, total_steps=config.steps, action=_monitor_action(config), warn=False)
    scheduler: RampupLR | MonitoredLR
    if monitor.action == "hold":
        scheduler = MonitoredLR(optimizer, monitor)
    else:
        scheduler = RampupLR(optimizer, schedule, total_steps=config.steps)
    rng = np.random.default_rng(config.seed)
    initial = _evaluate(data, model)
    eval_every = max(1, config.steps // EVALS)
    eval_steps, eval_losses = [0], [initial]
    losses: list[float] = []
    norms: list[float] = []
    max_norm = 0.0
    exploded = 0
    blew_up = False
    parameters = [p for p in model.parameters() if p.requires_grad]
    for step in range(config.steps):
        x, y = data.batch(rng, config.batch)
        loss = data.loss(model, x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        norm = grad_norm(parameters)
        value = loss.item()
        losses.append(value)
        norms.append(norm)
        monitor.observe(value, norm)
        if not (math.isfinite(value) and math.isfinite(norm)):
            blew_up = True
            break
        max_norm = max(max_norm, norm)
        optimizer.step()
        scheduler.step()
        exploded = exploded + 1 if value > 2 * initial else 0
        if exploded >= EXPLODE_PATIENCE:
            blew_up = True
            break
        if (step + 1) % eval_every == 0 and step + 1 < config.steps:
            eval_steps.append(step + 1)
            eval_losses.append(_evaluate(data, model))
    final = _evaluate(data, model)
    eval_steps.append(len(losses))
    eval_losses.append(final)
    diverged = blew_up or not math.isfinite(final) or final > initial
    return measured(
        config,
        schedule,
        monitor,
        initial=initial,
        final=final,
        diverged=diverged,
        losses=losses,
        norms=norms,
        max_grad_norm=max_norm,
        wall_s=time.perf_counter() - start,
        eval_steps=eval_steps,
        eval_losses=eval_losses,
    )


def _monitor_action(config: TrialConfig) -> Literal["warn", "hold"]:
    if config.monitor is None:
        return "warn"  # observe only: warn=False, the flags are recorded
    if config.monitor == "hold":
        return "hold"
    raise ValueError(f"monitor: got {config.monitor!r}, expected None or 'hold'")


def lr_trace(config: TrialConfig, steps: int) -> npt.NDArray[np.float64]:
    """The rates RampupLR sets on a dummy optimizer for the first ``steps`` steps (used by the tests)."""
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([parameter], lr=config.peak_lr)
    scheduler = RampupLR(optimizer, config.schedule, total_steps=config.steps)
    trace: list[Any] = []
    for _ in range(steps):
        trace.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return np.asarray(trace, dtype=np.float64)
