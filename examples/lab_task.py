"""A task of your own for the rampup lab: a deep MLP without normalization, trained with Adam.

    rampup lab run --task examples/lab_task.py:TASK --warmup none --warmup advisor --lr normal,high --seeds 3
    rampup lab report --db rampup-lab.db -o report/          # report/summary.html opens in any browser
    rampup find --task examples/lab_task.py:TASK
    rampup lab run --task examples/lab_task.py:OWN ...       # the same model, trained by the loop below

``TASK`` lets rampup run the training loop (rates from the schedule, metrics, the monitor); ``OWN``
runs this file's own loop, ``train(trial)``, and returns what it measured. Both give the same final
loss for the same trial: same initial weights (``torch.manual_seed(trial.seed)`` before the model is
built) and the same batches (``numpy.random.default_rng(trial.seed)``), which is what makes two trials
that differ only in their warmup comparable. A trial takes about a second on one CPU core.

This file is imported again in every worker process: anything a script would run belongs under
``if __name__ == "__main__":``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.nn import functional

from rampup.lab.custom import LabTask
from rampup.lab.result import TrialConfig
from rampup.lab.tasks import OptimizerSettings

SETTINGS = {"inputs": 16, "classes": 8, "examples": 20_000, "heldout": 2_000, "width": 64, "depth": 6, "data_seed": 7}


class Teacher:
    """Gaussian inputs labelled by a fixed random teacher network; a deep ReLU MLP learns them.

    The members are those of :class:`rampup.lab.data.TaskData`: ``batch``, ``model``, ``loss``,
    ``eval_x`` and ``eval_y``. The data come from a fixed generator (not the trial's seed), so every
    trial sees the same data set; the seed only picks the batches and the initial weights.
    """

    def __init__(self, trial: TrialConfig) -> None:
        m = trial.model
        gen = torch.Generator().manual_seed(int(m["data_seed"]))
        x = torch.randn(int(m["examples"]), int(m["inputs"]), generator=gen)
        w1 = torch.randn(int(m["inputs"]), 32, generator=gen)
        w2 = torch.randn(32, int(m["classes"]), generator=gen)
        y = (torch.tanh(x @ w1 / 4) @ w2).argmax(1)
        cut = int(m["examples"]) - int(m["heldout"])
        self.train_x, self.train_y = x[:cut], y[:cut]
        self.eval_x, self.eval_y = x[cut:], y[cut:]

    def batch(self, rng: np.random.Generator, size: int) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.from_numpy(rng.integers(0, len(self.train_x), size))
        return self.train_x[index], self.train_y[index]

    def model(self, trial: TrialConfig) -> nn.Module:
        m = trial.model
        width, layers = int(m["width"]), []
        size = int(m["inputs"])
        for _ in range(int(m["depth"])):
            layers += [nn.Linear(size, width), nn.ReLU()]
            size = width
        return nn.Sequential(*layers, nn.Linear(size, int(m["classes"])))

    def loss(self, model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return functional.cross_entropy(model(x), y)


def train(trial: TrialConfig) -> dict[str, Any]:
    """Your own training loop: the same model and data, with the rate of every step from the trial's schedule."""
    from rampup.torch import RampupLR

    data = Teacher(trial)
    torch.manual_seed(trial.seed)
    model = data.model(trial)
    opt = trial.optimizer
    optimizer = torch.optim.Adam(model.parameters(), lr=trial.peak_lr, betas=opt.betas, eps=opt.eps, fused=True)
    scheduler = RampupLR(optimizer, trial.schedule, total_steps=trial.steps)
    rng = np.random.default_rng(trial.seed)

    def held_out() -> float:
        with torch.no_grad():
            return float(data.loss(model, data.eval_x, data.eval_y))

    initial = held_out()
    losses, norms = [], []
    for _ in range(trial.steps):
        x, y = data.batch(rng, trial.batch)
        loss = data.loss(model, x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()  # type: ignore[no-untyped-call]
        norm = math.sqrt(sum(float(p.grad.pow(2).sum()) for p in model.parameters() if p.grad is not None))
        losses.append(loss.item())
        norms.append(norm)
        if not (math.isfinite(losses[-1]) and math.isfinite(norm)):
            break
        optimizer.step()
        scheduler.step()
    return {"initial_loss": initial, "final_loss": held_out(), "train_losses": losses, "grad_norms": norms}


_COMMON: dict[str, Any] = {
    "steps": 300,
    "batch": 128,
    "normal_lr": 0.01,  # warmup hardly matters here
    "high_lr": 0.05,  # no warmup ends 0.87-1.23 nats, linear(25%) 0.72-0.77 (seeds 0-2)
    "optimizer": OptimizerSettings("adam", betas=(0.9, 0.999), eps=1e-8),
    "model": SETTINGS,
    "advice": {"regime": "pretrain"},
}

#: rampup runs the loop: rates, metrics and the monitor as for the built-in tasks
TASK = LabTask(title="deep ReLU MLP without normalization on teacher-labelled data, Adam", data=Teacher, **_COMMON)

#: this file's own loop runs each trial
OWN = LabTask(title="the same MLP, trained by train(trial) in examples/lab_task.py", train=train, **_COMMON)
