"""rampup.audit in the real Hugging Face Trainer and Lightning: correct runs pass, real mistakes are named.

Tiny models on CPU. The mistakes are the ones users report: a callback that steps the
scheduler again (each update or each micro-batch), a checkpoint resumed without the
scheduler's state, a total counted in micro-batches, Lightning's default
``"interval": "epoch"``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import lightning as L
import pytest
import torch
from tiny_trainer import PEAK, Points, TinyRegression, make_args
from torch.utils.data import DataLoader, TensorDataset
from transformers import Trainer, TrainerCallback

from rampup.audit import AuditError
from rampup.audit.hf import AuditCallback as TrainerAudit
from rampup.audit.lightning import AuditCallback as LightningAudit
from rampup.torch import RampupLR

SPEC = "linear(3) -> cosine(to=0.1)"


def _trainer(
    tmp_path: Path, total: int, callbacks: list[Any], scheduler_total: int | None = None, **kwargs: Any
) -> Trainer:
    model = TinyRegression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK)
    scheduler = RampupLR(optimizer, SPEC, total_steps=scheduler_total or total)
    args = make_args(tmp_path, max_steps=total, **kwargs)
    return Trainer(
        model=model, args=args, train_dataset=Points(64), optimizers=(optimizer, scheduler), callbacks=callbacks
    )


class StepAgain(TrainerCallback):
    """The mistake: stepping Trainer's scheduler in a callback, which Trainer already steps."""

    def on_step_end(self, args: Any, state: Any, control: Any, lr_scheduler: Any = None, **kwargs: Any) -> None:
        lr_scheduler.step()


class StepEachMicroBatch(TrainerCallback):
    """The mistake: stepping the scheduler after every micro-batch of the accumulation."""

    def on_substep_end(self, args: Any, state: Any, control: Any, lr_scheduler: Any = None, **kwargs: Any) -> None:
        lr_scheduler.step()


def test_trainer_correct_run_with_accumulation_raises_nothing(tmp_path: Path) -> None:
    audit = TrainerAudit()
    _trainer(tmp_path, 10, [audit], gradient_accumulation_steps=2).train()
    assert audit.checker is not None and audit.checker.checked == 10


def test_trainer_stepped_twice(tmp_path: Path) -> None:
    with pytest.raises(AuditError) as caught:
        _trainer(tmp_path, 10, [TrainerAudit(), StepAgain()]).train()
    assert caught.value.code == "stepped-twice" and caught.value.update == 1


def test_trainer_stepped_per_micro_batch(tmp_path: Path) -> None:
    with pytest.raises(AuditError) as caught:
        _trainer(tmp_path, 10, [TrainerAudit(), StepEachMicroBatch()], gradient_accumulation_steps=4).train()
    assert caught.value.code == "per-micro-batch" and caught.value.update == 0  # 3 steps before the first update


def test_trainer_total_counted_in_micro_batches(tmp_path: Path) -> None:
    """The scheduler's total counted batches, not updates (4 micro-batches each): its cosine runs 4x too slowly."""
    audit = TrainerAudit(schedule="linear(10%) -> cosine")
    model = TinyRegression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK)
    scheduler = RampupLR(optimizer, "linear(10%) -> cosine", total_steps=4 * 20)
    args = make_args(tmp_path, max_steps=20, gradient_accumulation_steps=4)
    trainer = Trainer(
        model=model, args=args, train_dataset=Points(64), optimizers=(optimizer, scheduler), callbacks=[audit]
    )
    with pytest.raises(AuditError) as caught:
        trainer.train()
    assert caught.value.code == "total-per-process"
    assert "resolved for 80 steps, but the run has 20" in caught.value.diagnosis


def test_trainer_resumed_without_the_schedulers_state(tmp_path: Path) -> None:
    _trainer(tmp_path, 12, [], save_strategy="steps", save_steps=6).train()
    checkpoint = tmp_path / "out" / "checkpoint-6"
    (checkpoint / "scheduler.pt").unlink()  # the mistake: the scheduler's state is lost (or never saved)
    audit = TrainerAudit()
    with pytest.raises(AuditError) as caught:
        _trainer(tmp_path, 12, [audit]).train(resume_from_checkpoint=str(checkpoint))
    assert caught.value.code == "restarted-on-resume" and caught.value.update == 6
    # with its state the same resume is clean
    shutil.rmtree(tmp_path / "out")
    _trainer(tmp_path, 12, [], save_strategy="steps", save_steps=6).train()
    clean = TrainerAudit()
    _trainer(tmp_path, 12, [clean]).train(resume_from_checkpoint=str(checkpoint))
    assert clean.checker is not None and clean.checker.checked == 6


# --------------------------------------------------------------------------- Lightning


class Tiny(L.LightningModule):
    def __init__(self, interval: str = "step", step_in_training: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(3, 1)
        self.interval, self.step_in_training = interval, step_in_training

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        if self.step_in_training:
            self.lr_schedulers().step()  # the mistake: Lightning steps it too
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=PEAK)
        scheduler = RampupLR(optimizer, SPEC, total_steps=self.trainer.estimated_stepping_batches)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": self.interval}}


def _fit(module: L.LightningModule, audit: LightningAudit, **kwargs: Any) -> None:
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(40, 3, generator=generator), torch.randn(40, generator=generator))
    trainer = L.Trainer(
        accelerator="cpu",
        devices=1,
        max_epochs=2,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[audit],
        **kwargs,
    )
    trainer.fit(module, DataLoader(data, batch_size=4))


def test_lightning_correct_run_with_accumulation_raises_nothing() -> None:
    audit = LightningAudit()
    _fit(Tiny(), audit, accumulate_grad_batches=2)
    assert audit.checker is not None and audit.checker.checked == 10


def test_lightning_interval_epoch_is_never_stepped_within_the_epoch() -> None:
    with pytest.raises(AuditError) as caught:
        _fit(Tiny(interval="epoch"), LightningAudit())
    assert caught.value.code == "never-stepped" and caught.value.update == 1
    assert "'interval': 'step'" in caught.value.diagnosis


def test_lightning_stepped_twice() -> None:
    with pytest.raises(AuditError) as caught:
        _fit(Tiny(step_in_training=True), LightningAudit())
    assert caught.value.code == "stepped-twice" and caught.value.update == 0
