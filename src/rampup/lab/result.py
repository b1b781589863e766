"""A trial's configuration and its measured result (plain data, no PyTorch).

A trial is (task, schedule, peak rate, seed, optimizer settings, sizes). Its key is the SHA-256 of
its full configuration as canonical JSON, so the same trial always has the same key and a sweep that
is run again finds what it already finished.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Literal

from rampup.lab.tasks import OptimizerSettings

__all__ = ["LAB_VERSION", "Status", "TrialConfig", "TrialResult"]

#: bumped when the training loop changes what a configuration measures (it is part of every key)
LAB_VERSION = 1

Status = Literal["ok", "diverged", "failed"]


@dataclass(frozen=True)
class TrialConfig:
    """Everything that determines a trial's outcome.

    ``warmup`` is the label asked for (``none``, ``advisor``, ``linear(5%)``...); ``schedule`` is
    the full schedule it stands for, resolved against ``steps`` (canonical spec text). ``monitor``
    is ``"hold"`` when :class:`rampup.monitor.WarmupMonitor` adapts the warmup while training (every
    trial is watched by a passive monitor either way; its flags are in the result).
    """

    task: str
    warmup: str
    schedule: str
    peak_lr: float
    seed: int
    steps: int
    batch: int
    optimizer: OptimizerSettings
    model: dict[str, Any] = field(default_factory=dict, hash=False)
    data: dict[str, Any] = field(default_factory=dict, hash=False)
    monitor: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain data (JSON-ready) with everything that determines the trial (``monitor`` only when set,
        so that the keys of unmonitored trials are what they always were)."""
        data = {
            "lab_version": LAB_VERSION,
            "task": self.task,
            "warmup": self.warmup,
            "schedule": self.schedule,
            "peak_lr": self.peak_lr,
            "seed": self.seed,
            "steps": self.steps,
            "batch": self.batch,
            "optimizer": self.optimizer.to_dict(),
            "model": dict(self.model),
            "data": dict(self.data),
        }
        if self.monitor is not None:
            data["monitor"] = self.monitor
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrialConfig:
        """The inverse of :meth:`to_dict`."""
        opt = dict(data["optimizer"])
        opt["betas"] = tuple(opt["betas"])
        return cls(
            task=data["task"],
            warmup=data["warmup"],
            schedule=data["schedule"],
            peak_lr=float(data["peak_lr"]),
            seed=int(data["seed"]),
            steps=int(data["steps"]),
            batch=int(data["batch"]),
            optimizer=OptimizerSettings(**opt),
            model=dict(data["model"]),
            data=dict(data["data"]),
            monitor=data.get("monitor"),
        )

    @property
    def key(self) -> str:
        """SHA-256 (first 20 hex digits) of the canonical JSON of :meth:`to_dict`."""
        text = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class TrialResult:
    """What one trial measured. Non-finite losses are stored as ``None``."""

    config: TrialConfig
    status: Status
    initial_loss: float | None = None
    final_loss: float | None = None
    diverged: bool = False
    spikes: int = 0
    max_grad_norm: float | None = None
    warmup_steps: int = 0
    wall_s: float = 0.0
    train_losses: list[float | None] = field(default_factory=list, hash=False)
    eval_steps: list[int] = field(default_factory=list, hash=False)
    eval_losses: list[float | None] = field(default_factory=list, hash=False)
    error: str | None = None
    #: what the monitor flagged (:meth:`rampup.monitor.Flag.to_dict` each) and where the ramp met the decay
    flags: list[dict[str, Any]] = field(default_factory=list, hash=False)
    ramp_done_at: int | None = None
    #: the global L2 norm of the gradients at every update (so the monitor can be replayed offline)
    grad_norms: list[float | None] = field(default_factory=list, hash=False)

    @property
    def key(self) -> str:
        return self.config.key
