"""rampup in Lightning: a real ``lightning.Trainer`` run on CPU whose LearningRateMonitor logs the engine's rates.

``LearningRateMonitor(logging_interval="step")`` logs each optimizer's rate at the
start of every training batch, under ``step`` = the number of optimizer updates
done so far: the rate the next update uses, rampup's ``schedule(step)``. With
gradient accumulation it logs the same step once per batch of the group.
"""

from __future__ import annotations

import math
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from conftest import memory_logger
from lightning.pytorch.callbacks import LearningRateMonitor
from torch.utils.data import DataLoader, TensorDataset

import rampup
from rampup import RampupError
from rampup.lightning import scheduler_config
from rampup.torch import RampupLR

PEAK = 0.05


class Tiny(L.LightningModule):
    def __init__(self, spec: str, **config: Any) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(3, 1)
        self.spec = spec
        self.config = config

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=PEAK)
        return scheduler_config(optimizer, self.spec, **self.config, trainer=self.trainer, name="lr")


def loader(size: int, batch: int = 2) -> DataLoader[tuple[torch.Tensor, ...]]:
    generator = torch.Generator().manual_seed(size)
    data = TensorDataset(torch.randn(size, 3, generator=generator), torch.randn(size, generator=generator))
    return DataLoader(data, batch_size=batch, shuffle=False, num_workers=0)


def fit(module: L.LightningModule, size: int, **trainer_kwargs: Any) -> tuple[L.Trainer, dict[int, float]]:
    """Fit on CPU; the rates LearningRateMonitor logged, by step (equal whenever a step is logged twice)."""
    logger = memory_logger()
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        logger=logger,
        callbacks=[LearningRateMonitor(logging_interval="step")],
        log_every_n_steps=1,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        num_sanity_val_steps=0,
        **trainer_kwargs,
    )
    trainer.fit(module, train_dataloaders=loader(size))
    logged: dict[int, float] = {}
    for step, metrics in logger.rows:
        if "lr" in metrics:
            assert logged.setdefault(step, metrics["lr"]) == metrics["lr"]
    return trainer, logged


def test_learning_rate_monitor_logs_the_engines_rates() -> None:
    """Epochs and gradient accumulation: Lightning's total, the updates per epoch, and every logged rate."""
    spec = "linear(1ep) -> cosine(to=0.1)"
    # 9 examples in batches of 2: 5 batches, 3 updates per epoch with accumulate_grad_batches=2; 3 epochs: 9 updates
    trainer, logged = fit(Tiny(spec), 9, max_epochs=3, accumulate_grad_batches=2)
    assert trainer.global_step == 9
    scheduler = trainer.lr_scheduler_configs[0].scheduler
    assert isinstance(scheduler, RampupLR)
    expected = rampup.parse(spec).resolve(total_steps=9, steps_per_epoch=3)
    assert str(scheduler.schedule) == str(expected) == "linear(3) -> cosine(6, to=0.1)"
    steps = sorted(logged)
    assert steps == list(range(9))
    got = np.array([logged[step] for step in steps])
    np.testing.assert_allclose(got, PEAK * expected.values(steps), rtol=1e-12, atol=1e-15)


def test_max_steps_and_an_explicit_total() -> None:
    """``max_steps`` stops the run inside an epoch; with total_steps given the trainer is not asked."""
    spec = "exponential(4) -> 1-sqrt"
    trainer, logged = fit(Tiny(spec, total_steps=7), 20, max_steps=7)
    assert trainer.global_step == 7
    steps = sorted(logged)
    assert steps == list(range(7))
    schedule = rampup.parse(spec).resolve(total_steps=7)
    np.testing.assert_allclose([logged[s] for s in steps], PEAK * schedule.values(steps), rtol=1e-12, atol=1e-15)


def test_scheduler_config_is_what_configure_optimizers_returns() -> None:
    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    config = scheduler_config(optimizer, "linear(10) -> constant")
    assert config["optimizer"] is optimizer
    assert set(config["lr_scheduler"]) == {"scheduler", "interval", "frequency"}
    assert config["lr_scheduler"]["interval"] == "step" and config["lr_scheduler"]["frequency"] == 1
    assert config["lr_scheduler"]["scheduler"].schedule.total_steps is None  # open-ended: needs no total
    with pytest.raises(RampupError, match="estimated_stepping_batches"):
        scheduler_config(optimizer, "linear(5%) -> cosine")


def test_trainer_gives_total_and_epoch_length() -> None:
    """What scheduler_config reads from a trainer: estimated_stepping_batches, and batches per epoch / accumulation."""

    class FakeTrainer:
        estimated_stepping_batches = 40
        num_training_batches = 7
        accumulate_grad_batches = 2

    optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    scheduler = scheduler_config(optimizer, "linear(1ep) -> linear", trainer=FakeTrainer())["lr_scheduler"]["scheduler"]
    assert str(scheduler.schedule) == f"linear({math.ceil(7 / 2)}) -> linear(36)"
    FakeTrainer.estimated_stepping_batches = float("inf")  # type: ignore[assignment]
    scheduler = scheduler_config(optimizer, "linear(1ep) -> constant", trainer=FakeTrainer())["lr_scheduler"][
        "scheduler"
    ]
    assert scheduler.schedule.total_steps is None
