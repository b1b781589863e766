"""A tiny Hugging Face Trainer setup for the branch and audit tests: a linear model returning its loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback, TrainingArguments

PEAK = 0.1


class TinyRegression(torch.nn.Module):
    """A linear model that returns its loss, as Trainer expects."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = torch.nn.Linear(4, 1)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"loss": torch.nn.functional.mse_loss(self.linear(x).squeeze(-1), labels)}


class Points(torch.utils.data.Dataset[dict[str, torch.Tensor]]):
    """``size`` random points and targets (seeded by the size)."""

    def __init__(self, size: int) -> None:
        generator = torch.Generator().manual_seed(size)
        self.x = torch.randn(size, 4, generator=generator)
        self.y = torch.randn(size, generator=generator)

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return {"x": self.x[index], "labels": self.y[index]}


class LearningRates(TrainerCallback):
    """``(updates done before, rate used)`` for every update (after optimizer.step, before the scheduler)."""

    def __init__(self) -> None:
        self.rates: list[tuple[int, float]] = []

    def on_optimizer_step(self, args: Any, state: Any, control: Any, optimizer: Any = None, **kwargs: Any) -> None:
        self.rates.append((state.global_step, float(optimizer.param_groups[0]["lr"])))


def make_args(tmp_path: Path, **kwargs: Any) -> TrainingArguments:
    """CPU, no reports, no saving unless asked, one worker, the peak rate ``PEAK``."""
    base: dict[str, Any] = {
        "output_dir": str(tmp_path / "out"),
        "per_device_train_batch_size": 2,
        "learning_rate": PEAK,
        "report_to": [],
        "use_cpu": True,
        "logging_steps": 1,
        "save_strategy": "no",
        "dataloader_num_workers": 0,
        "disable_tqdm": True,
        "seed": 0,
    }
    base.update(kwargs)
    return TrainingArguments(**base)
