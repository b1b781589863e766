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
from torch.nn import functional

from rampup.lab.corpus import load_corpus
from rampup.lab.models import MLP, CharTransformer
from rampup.lab.result import TrialConfig, TrialResult
from rampup.lab.tasks import get_task
from rampup.monitor import WarmupMonitor
from rampup.monitor.torch import MonitoredLR, grad_norm
from rampup.schedule import as_schedule
from rampup.torch import RampupLR

__all__ = [
    "EXPLODE_PATIENCE",
    "SPIKE_RATIO",
    "SPIKE_SMOOTHING",
    "count_spikes",
    "lr_trace",
    "make_optimizer",
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


class _CharData:
    def __init__(self, config: TrialConfig) -> None:
        corpus = load_corpus(int(config.data["chars"]), float(config.data["heldout"]))
        if corpus.sha256 != config.data.get("sha256", corpus.sha256):
            raise RuntimeError("the stdlib corpus on this machine differs from the one the trial was planned with")
        self.context = int(config.model["context"])
        self.train = torch.from_numpy(corpus.train)
        self.vocab = corpus.vocab_size
        self.offsets = torch.arange(self.context + 1)
        rng = np.random.default_rng(12345)
        starts = rng.integers(0, len(corpus.heldout) - self.context - 1, int(config.data["eval_sequences"]))
        held = torch.from_numpy(corpus.heldout)[torch.from_numpy(starts)[:, None] + self.offsets]
        self.eval_x, self.eval_y = held[:, :-1], held[:, 1:]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        starts = torch.from_numpy(rng.integers(0, len(self.train) - self.context - 1, size))
        window = self.train[starts[:, None] + self.offsets]
        return window[:, :-1], window[:, 1:]

    def model(self, config: TrialConfig) -> torch.nn.Module:
        m = config.model
        return CharTransformer(
            self.vocab,
            self.context,
            int(m["d_model"]),
            int(m["layers"]),
            int(m["heads"]),
            str(m["norm"]),
            float(m["init_std"]),
        )

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        logits = model(x)
        return functional.cross_entropy(logits.reshape(-1, self.vocab), y.reshape(-1))


class _TeacherData:
    """Inputs ~ N(0, I); labels = argmax of a fixed random two-layer tanh teacher."""

    def __init__(self, config: TrialConfig) -> None:
        d = config.data
        gen = torch.Generator().manual_seed(int(d["teacher_seed"]))
        inputs, classes, examples, heldout = int(d["inputs"]), int(d["classes"]), int(d["examples"]), int(d["heldout"])
        x = torch.randn(examples, inputs, generator=gen)
        w1 = torch.randn(inputs, 64, generator=gen) / math.sqrt(inputs)
        w2 = torch.randn(64, classes, generator=gen) / 8
        y = (torch.tanh(2 * x @ w1) @ w2).argmax(1)
        self.inputs, self.classes = inputs, classes
        self.train_x, self.train_y = x[:-heldout], y[:-heldout]
        self.eval_x, self.eval_y = x[-heldout:], y[-heldout:]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.from_numpy(rng.integers(0, len(self.train_x), size))
        return self.train_x[index], self.train_y[index]

    def model(self, config: TrialConfig) -> torch.nn.Module:
        return MLP(self.inputs, int(config.model["width"]), int(config.model["depth"]), self.classes)

    def loss(self, model: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return functional.cross_entropy(model(x), y)


def task_data(config: TrialConfig) -> _CharData | _TeacherData:
    """The data (and model builder and loss) of the trial's task."""
    kind = get_task(config.task).kind
    return _CharData(config) if kind == "charlm" else _TeacherData(config)


def make_optimizer(config: TrialConfig, model: torch.nn.Module) -> torch.optim.Optimizer:
    """The trial's optimizer over the model's trainable parameters, at the trial's peak rate."""
    opt = config.optimizer
    parameters = [p for p in model.parameters() if p.requires_grad]
    if opt.name == "adam":
        return torch.optim.Adam(
            parameters,
            lr=config.peak_lr,
            betas=opt.betas,
            eps=opt.eps,
            weight_decay=opt.weight_decay,
            fused=True,
        )
    return torch.optim.SGD(parameters, lr=config.peak_lr, momentum=opt.momentum, weight_decay=opt.weight_decay)


def _evaluate(data: _CharData | _TeacherData, model: torch.nn.Module) -> float:
    model.eval()
    with torch.no_grad():
        value = float(data.loss(model, data.eval_x, data.eval_y))
    model.train()
    return value


def _finite(values: list[float]) -> list[float | None]:
    return [value if math.isfinite(value) else None for value in values]


def train(config: TrialConfig) -> TrialResult:
    """Run one trial to the end (or to divergence) and measure it."""
    start = time.perf_counter()
    data = task_data(config)
    torch.manual_seed(config.seed)
    model = data.model(config)
    optimizer = make_optimizer(config, model)
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
    window = max(schedule.warmup_steps, math.ceil(0.2 * config.steps))
    return TrialResult(
        config=config,
        status="diverged" if diverged else "ok",
        initial_loss=initial,
        final_loss=final if math.isfinite(final) else None,
        diverged=diverged,
        spikes=count_spikes(losses, window),
        max_grad_norm=max_norm,
        warmup_steps=schedule.warmup_steps,
        wall_s=time.perf_counter() - start,
        train_losses=_finite(losses),
        grad_norms=_finite(norms),
        eval_steps=eval_steps,
        eval_losses=_finite(eval_losses),
        flags=[flag.to_dict() for flag in monitor.flags],
        ramp_done_at=monitor.ramp_done_at,
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
