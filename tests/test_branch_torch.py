"""RampupLR.branch mid-run, kept in state_dict, and resuming a checkpoint on another total without touching its past.

The Trainer and Lightning tests run the real frameworks on CPU with tiny models: a run is
checkpointed half way, then resumed with a larger ``max_steps`` and a scheduler built with
the new total and ``keep_past=True``; every rate before the checkpoint is the old plan's and
every rate after it the old plan branched at the checkpoint (its rest stretched).
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
from tiny_trainer import PEAK, LearningRates, Points, TinyRegression, make_args
from torch.utils.data import DataLoader, TensorDataset
from transformers import Trainer

import rampup
from rampup import RampupError
from rampup.torch import RampupLR


def _optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=lr)


def _run(optimizer: torch.optim.Optimizer, scheduler: RampupLR, steps: int) -> list[float]:
    """The rate each of ``steps`` updates used."""
    rates = []
    for _ in range(steps):
        rates.append(float(optimizer.param_groups[0]["lr"]))
        optimizer.step()
        scheduler.step()
    return rates


def _round_trip(state: dict[str, Any]) -> dict[str, Any]:
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    loaded: dict[str, Any] = torch.load(buffer, weights_only=True)
    return loaded


SPEC = "linear(10) -> constant"


def test_a_cooldown_branched_mid_run_is_kept_and_restored() -> None:
    optimizer = _optimizer()
    scheduler = RampupLR(optimizer, SPEC, total_steps=100)
    before = _run(optimizer, scheduler, 60)
    cooled = scheduler.branch(then="1-sqrt(20)")  # at the current step, 60
    assert str(cooled) == "linear(10) -> constant(50) -> 1-sqrt(20)"
    after = _run(optimizer, scheduler, 25)
    assert before + after == [cooled(step) for step in range(85)]
    assert after[-1] == 0.0
    state = _round_trip(scheduler.state_dict())
    assert state["branches"] == [[60, "1-sqrt(20)", None]]
    # resumed into a scheduler built with the original schedule, as a training script does
    fresh_optimizer = _optimizer()
    resumed = RampupLR(fresh_optimizer, SPEC, total_steps=100)
    resumed.load_state_dict(state)
    assert str(resumed.schedule) == str(cooled)
    assert resumed.get_last_lr() == [cooled(85)]
    assert resumed.state_dict() == scheduler.state_dict()


def test_a_branch_scheduled_ahead_and_an_extension_mid_run() -> None:
    optimizer = _optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine(to=0.1)", total_steps=100)
    plan = scheduler.schedule
    first = _run(optimizer, scheduler, 30)
    longer = scheduler.branch(at=50, total_steps=300)
    rest = _run(optimizer, scheduler, 270)
    assert first + rest == [longer(step) for step in range(300)]
    assert first + rest[:21] == [plan(step) for step in range(51)]  # steps <= 50 as planned
    assert scheduler.get_last_lr() == [0.1]  # the rate after the last update: the plan's end, exactly
    resumed = RampupLR(_optimizer(), "linear(10) -> cosine(to=0.1)", total_steps=100)
    resumed.load_state_dict(_round_trip(scheduler.state_dict()))
    assert str(resumed.schedule) == str(longer) and resumed.last_epoch == 300


def test_bad_branches_change_nothing() -> None:
    optimizer = _optimizer()
    scheduler = RampupLR(optimizer, SPEC, total_steps=100)
    _run(optimizer, scheduler, 40)
    state, rate = scheduler.state_dict(), optimizer.param_groups[0]["lr"]
    bad: list[tuple[dict[str, Any], str, str]] = [
        ({"at": 30, "then": "1-sqrt(20)"}, "at", "a step >= 40"),
        ({"at": 101, "then": "1-sqrt(20)"}, "at", "a step from 0 to 100"),
        ({"at": -1, "then": "1-sqrt(20)"}, "at", "a step >= 40"),
        ({"then": "linear(5) -> cosine"}, "then", "decay phases only"),
        ({"total_steps": 40}, "total_steps", "more than 40"),
        ({}, "then", "the phases to continue with"),
    ]
    for kwargs, field, words in bad:
        with pytest.raises(RampupError) as caught:
            scheduler.branch(**kwargs)
        assert caught.value.field == field and words in str(caught.value), str(caught.value)
        assert scheduler.state_dict() == state and optimizer.param_groups[0]["lr"] == rate


def test_keep_past_resumes_a_checkpoint_on_a_longer_run() -> None:
    spec = "linear(10) -> cosine(to=0.1)"
    optimizer = _optimizer()
    scheduler = RampupLR(optimizer, spec, total_steps=100)
    used = _run(optimizer, scheduler, 60)
    state = _round_trip(scheduler.state_dict())
    # without keep_past: refused, and the hint says how
    strict = RampupLR(_optimizer(), spec, total_steps=250)
    with pytest.raises(RampupError, match="keep_past=True"):
        strict.load_state_dict(state)
    longer = RampupLR(_optimizer(), spec, total_steps=250, keep_past=True)
    longer.load_state_dict(state)
    expected = scheduler.schedule.branch(at=60, total_steps=250)
    assert str(longer.schedule) == str(expected)
    assert longer.state_dict()["branches"] == [[60, None, 250]]
    rest = _run(longer.optimizer, longer, 190)
    assert used + rest == [expected(step) for step in range(250)]
    # a checkpoint from inside the warmup: the new plan's past is the same, so the new plan is used as it is
    early = RampupLR(_optimizer(), spec, total_steps=100)
    _run(early.optimizer, early, 5)
    again = RampupLR(_optimizer(), spec, total_steps=250, keep_past=True)
    again.load_state_dict(_round_trip(early.state_dict()))
    assert str(again.schedule) == "linear(10) -> cosine(240, to=0.1)"


def test_a_checkpoint_whose_past_differs_is_refused_and_nothing_changes() -> None:
    optimizer = _optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    _run(optimizer, scheduler, 50)
    state = _round_trip(scheduler.state_dict())
    other = RampupLR(_optimizer(), "linear(30) -> cosine", total_steps=100, keep_past=True)
    _run(other.optimizer, other, 3)
    before, rate = other.state_dict(), other.optimizer.param_groups[0]["lr"]
    with pytest.raises(RampupError) as caught:
        other.load_state_dict(state)
    assert caught.value.field == "schedule" and "steps before 50 are the checkpoint's" in str(caught.value)
    assert other.state_dict() == before and other.optimizer.param_groups[0]["lr"] == rate
    # an edited branch list is refused too
    scheduler.branch(then="1-sqrt(10)")
    edited = _round_trip(scheduler.state_dict())
    edited["branches"] = [[50, "linear(10)", None]]
    fresh = RampupLR(_optimizer(), "linear(10) -> cosine", total_steps=100)
    with pytest.raises(RampupError, match="branches that make"):
        fresh.load_state_dict(edited)
    assert fresh.last_epoch == 0


# --------------------------------------------------------------------------- Hugging Face Trainer


def test_trainer_resumes_on_a_larger_max_steps_keeping_the_past(tmp_path: Path) -> None:
    spec = "linear(4) -> cosine(to=0.1)"
    data = Points(16)
    args = make_args(tmp_path, max_steps=12, save_strategy="steps", save_steps=6)
    model = TinyRegression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK)
    first_rates = LearningRates()
    first = Trainer(
        model=model,
        args=args,
        train_dataset=data,
        optimizers=(optimizer, RampupLR(optimizer, spec, total_steps=12)),
        callbacks=[first_rates],
    )
    first.train()
    longer_args = make_args(tmp_path, max_steps=30, save_strategy="no")
    model = TinyRegression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK)
    scheduler = RampupLR(optimizer, spec, total_steps=30, keep_past=True)
    recorder = LearningRates()
    again = Trainer(
        model=model,
        args=longer_args,
        train_dataset=data,
        optimizers=(optimizer, scheduler),
        callbacks=[recorder],
    )
    again.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-6"))
    plan = rampup.parse(spec).resolve(total_steps=12)
    expected = plan.branch(at=6, total_steps=30)
    assert str(scheduler.schedule) == str(expected)
    assert [step for step, _ in recorder.rates] == list(range(6, 30))
    np.testing.assert_array_equal(
        [rate for _, rate in first_rates.rates[:6]], PEAK * plan.values(np.arange(6.0))
    )  # the past, as it ran
    np.testing.assert_allclose(
        [rate for _, rate in recorder.rates], PEAK * expected.values(np.arange(6.0, 30.0)), rtol=1e-12, atol=0
    )
    assert recorder.rates[-1][1] == pytest.approx(PEAK * expected(29))


# --------------------------------------------------------------------------- Lightning


class _Module(L.LightningModule):
    def __init__(self, spec: str, total: int, keep_past: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.layer = torch.nn.Linear(3, 1)
        self.spec, self.total, self.keep_past = spec, total, keep_past
        self.rates: list[tuple[int, float]] = []

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        self.rates.append((self.trainer.global_step, float(self.optimizers().param_groups[0]["lr"])))
        x, y = batch
        return torch.nn.functional.mse_loss(self.layer(x).squeeze(-1), y)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.SGD(self.parameters(), lr=PEAK)
        scheduler = RampupLR(optimizer, self.spec, total_steps=self.total, keep_past=self.keep_past)
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}


def _trainer(max_steps: int, root: Path) -> L.Trainer:
    return L.Trainer(
        accelerator="cpu",
        devices=1,
        max_steps=max_steps,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(root),
    )


def test_lightning_resumes_on_a_larger_max_steps_keeping_the_past(tmp_path: Path) -> None:
    spec = "linear(3) -> linear(to=0.05)"
    generator = torch.Generator().manual_seed(0)
    data = TensorDataset(torch.randn(64, 3, generator=generator), torch.randn(64, generator=generator))
    first = _Module(spec, total=10, keep_past=False)
    trainer = _trainer(5, tmp_path)
    trainer.fit(first, DataLoader(data, batch_size=4))
    checkpoint = tmp_path / "half.ckpt"
    trainer.save_checkpoint(checkpoint)
    longer = _Module(spec, total=25, keep_past=True)
    resumed = _trainer(25, tmp_path)
    resumed.fit(longer, DataLoader(data, batch_size=4), ckpt_path=str(checkpoint))
    plan = rampup.parse(spec).resolve(total_steps=10)
    expected = plan.branch(at=5, total_steps=25)
    scheduler = resumed.lr_scheduler_configs[0].scheduler
    assert isinstance(scheduler, RampupLR) and str(scheduler.schedule) == str(expected)
    assert [rate for _, rate in first.rates] == [PEAK * plan(step) for step in range(5)]
    assert [step for step, _ in longer.rates] == list(range(5, 25))
    np.testing.assert_allclose(
        [rate for _, rate in longer.rates], PEAK * expected.values(np.arange(5.0, 25.0)), rtol=1e-12, atol=0
    )
