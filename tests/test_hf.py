"""rampup in Hugging Face transformers: built-in TrainingArguments when exact, RampupLR inside Trainer otherwise.

The Trainer tests run a real ``transformers.Trainer`` on a tiny regression model
built here (no downloads), on CPU, with gradient accumulation and a number of
epochs, so that Trainer computes the number of updates itself. A callback reads
``optimizer.param_groups[0]["lr"]`` in ``on_optimizer_step``: after
``optimizer.step()`` and before ``lr_scheduler.step()``, when ``state.global_step``
is the number of updates done before this one. That is the rate the update used,
and rampup's ``schedule(step)`` for the same step.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from accelerate.data_loader import BatchSamplerShard
from conftest import assert_trainer_ran_the_engine, trainer_rate_recorder
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from tiny_trainer import PEAK, Points, TinyRegression, make_args
from torch.optim.lr_scheduler import LambdaLR
from torch.utils.data import BatchSampler, SequentialSampler
from transformers import Trainer, TrainingArguments, get_scheduler

import rampup
import rampup.hf
from rampup import RampupError
from rampup.torch import RampupLR


def assert_rates_are_the_engines(trainer: Trainer, recorder: Any, schedule: rampup.Schedule) -> None:
    assert_trainer_ran_the_engine(trainer, recorder, schedule, PEAK)


# --------------------------------------------------------------------------- real Trainer runs


def test_builtin_scheduler_in_a_real_trainer_run(tmp_path: Path) -> None:
    """A schedule with a built-in equivalent: training_args' keywords, epochs and accumulation counted by Trainer."""
    spec = "linear(20%) -> cosine(to=0.1)"
    data = Points(11)  # 6 batches of 2 per epoch, 3 updates with accumulation 2, 3 epochs: 9 updates
    plain = make_args(tmp_path, gradient_accumulation_steps=2, num_train_epochs=3)
    total = rampup.hf.trainer_total_steps(plain, len(data))
    assert total == 9
    kwargs = rampup.hf.training_args(spec, total, peak_lr=PEAK)
    assert kwargs == {
        "lr_scheduler_type": "cosine_with_min_lr",
        "warmup_steps": 2,
        "lr_scheduler_kwargs": {"num_cycles": 0.5, "min_lr_rate": 0.1},
        "learning_rate": PEAK,
    }
    recorder = trainer_rate_recorder()
    args = make_args(tmp_path, gradient_accumulation_steps=2, num_train_epochs=3, **kwargs)
    trainer = Trainer(model=TinyRegression(), args=args, train_dataset=data, callbacks=[recorder])
    trainer.train()
    assert trainer.state.max_steps == total
    assert type(trainer.lr_scheduler) is LambdaLR  # transformers' own scheduler ran
    assert_rates_are_the_engines(trainer, recorder, rampup.parse(spec).resolve(total_steps=total))


def test_rampup_trainer_runs_a_schedule_without_builtin(tmp_path: Path) -> None:
    """RampupTrainer resolves with Trainer's own total and updates per epoch (fractional epochs, accumulation)."""
    spec = "exponential(1ep) -> 1-sqrt(to=0.05)"
    with pytest.raises(RampupError, match="RampupTrainer"):
        rampup.hf.training_args(spec, 10, steps_per_epoch=4)
    data = Points(13)  # 7 batches per epoch, 4 updates with accumulation 2, 2.5 epochs: 10 updates
    args = make_args(tmp_path, gradient_accumulation_steps=2, num_train_epochs=2.5)
    assert rampup.hf.trainer_steps_per_epoch(args, len(data)) == 4
    assert rampup.hf.trainer_total_steps(args, len(data)) == 10
    recorder = trainer_rate_recorder()
    trainer = rampup.hf.RampupTrainer(
        model=TinyRegression(), args=args, train_dataset=data, callbacks=[recorder], schedule=spec
    )
    trainer.train()
    assert isinstance(trainer.lr_scheduler, RampupLR)
    expected = rampup.parse(spec).resolve(total_steps=10, steps_per_epoch=4)
    assert str(trainer.lr_scheduler.schedule) == str(expected) == "exponential(4) -> 1-sqrt(6, to=0.05)"
    assert_rates_are_the_engines(trainer, recorder, expected)


def test_optimizers_recipe_with_trainer_total_steps(tmp_path: Path) -> None:
    """``optimizers=(optimizer, RampupLR(...))`` with the total computed up front, here with drop_last."""
    spec = "linear(2) -> step(every=2, gamma=0.5)"
    data = Points(11)  # drop_last: 5 batches, 3 updates per epoch, 2 epochs
    args = make_args(tmp_path, gradient_accumulation_steps=2, num_train_epochs=2, dataloader_drop_last=True)
    total = rampup.hf.trainer_total_steps(args, len(data))
    assert total == 6
    model = TinyRegression()
    optimizer = torch.optim.AdamW(model.parameters(), lr=PEAK)
    scheduler = RampupLR(optimizer, spec, total_steps=total)
    recorder = trainer_rate_recorder()
    trainer = Trainer(
        model=model, args=args, train_dataset=data, optimizers=(optimizer, scheduler), callbacks=[recorder]
    )
    trainer.train()
    assert trainer.state.max_steps == total
    assert_rates_are_the_engines(trainer, recorder, rampup.parse(spec).resolve(total_steps=total))


def test_rampup_trainer_resumes_from_a_checkpoint(tmp_path: Path) -> None:
    """Trainer saves RampupLR's state_dict and loads it on resume: the rates go on from the saved step."""
    spec = "linear(2) -> cosine(to=0.1)"
    data = Points(12)
    args = make_args(tmp_path, max_steps=6, save_strategy="steps", save_steps=3)
    first = rampup.hf.RampupTrainer(model=TinyRegression(), args=args, train_dataset=data, schedule=spec)
    first.train()
    recorder = trainer_rate_recorder()
    again = rampup.hf.RampupTrainer(
        model=TinyRegression(), args=args, train_dataset=data, callbacks=[recorder], schedule=spec
    )
    again.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-3"))
    assert [step for step, _ in recorder.rates] == [3, 4, 5]
    schedule = rampup.parse(spec).resolve(total_steps=6)
    got = [rate for _, rate in recorder.rates]
    np.testing.assert_allclose(got, PEAK * schedule.values([3, 4, 5]), rtol=1e-12, atol=1e-15)


# --------------------------------------------------------------------------- Trainer's number of updates


@pytest.mark.parametrize(
    ("size", "batch", "accumulation", "epochs", "max_steps", "drop_last"),
    [
        (11, 2, 1, 3, -1, False),
        (11, 2, 2, 3, -1, False),
        (11, 2, 2, 1.5, -1, False),
        (11, 3, 4, 2, -1, True),
        (5, 8, 3, 0.3, -1, False),
        (40, 4, 3, 1, 7, False),
    ],
)
def test_trainer_total_steps_is_trainers_own(
    tmp_path: Path, size: int, batch: int, accumulation: int, epochs: float, max_steps: int, drop_last: bool
) -> None:
    args = make_args(
        tmp_path,
        per_device_train_batch_size=batch,
        gradient_accumulation_steps=accumulation,
        num_train_epochs=epochs,
        max_steps=max_steps,
        dataloader_drop_last=drop_last,
    )
    trainer = Trainer(model=TinyRegression(), args=args, train_dataset=Points(size))
    values = trainer.set_initial_training_values(args, trainer.get_train_dataloader())
    per_epoch, total = values[1], values[-1]
    assert rampup.hf.trainer_total_steps(args, size) == total
    if max_steps < 0:
        assert rampup.hf.trainer_steps_per_epoch(args, size) == per_epoch


@pytest.mark.parametrize("processes", [2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_updates_per_epoch_across_processes_follow_accelerate(tmp_path: Path, processes: int, drop_last: bool) -> None:
    """With N processes each runs the batches that accelerate's BatchSamplerShard gives it (even_batches)."""
    args = make_args(tmp_path, per_device_train_batch_size=3, dataloader_drop_last=drop_last)
    for size in (1, 5, 17, 18, 40, 101):
        batches = BatchSampler(SequentialSampler(range(size)), batch_size=3, drop_last=drop_last)
        lengths = {
            len(BatchSamplerShard(batches, num_processes=processes, process_index=index, even_batches=True))
            for index in range(processes)
        }
        assert len(lengths) == 1
        assert rampup.hf.trainer_steps_per_epoch(args, size, world_size=processes) == max(lengths.pop(), 1)
    two = dataclasses.replace(args, gradient_accumulation_steps=2, num_train_epochs=3)
    assert rampup.hf.trainer_total_steps(two, 101, world_size=processes) == 3 * math.ceil(
        len(BatchSamplerShard(BatchSampler(SequentialSampler(range(101)), 3, drop_last), processes, 0)) / 2
    )


def test_total_steps_needs_a_length_without_max_steps(tmp_path: Path) -> None:
    args = make_args(tmp_path)
    with pytest.raises(RampupError, match="max_steps"):
        rampup.hf.trainer_total_steps(args, None)
    assert rampup.hf.trainer_total_steps(dataclasses.replace(args, max_steps=12), None) == 12


# --------------------------------------------------------------------------- training_args


BUILTINS: list[tuple[str, int | None, float | None, dict[str, Any]]] = [
    ("constant", 100, None, {"lr_scheduler_type": "constant", "warmup_steps": 0, "lr_scheduler_kwargs": {}}),
    ("linear(10) -> constant", None, None, {"lr_scheduler_type": "constant_with_warmup", "warmup_steps": 10}),
    ("linear(100)", 1000, None, {"lr_scheduler_type": "warmup_stable_decay", "warmup_steps": 0}),
    ("bert", 10_000, None, {"lr_scheduler_type": "linear", "warmup_steps": 1000, "lr_scheduler_kwargs": {}}),
    ("linear(5%) -> cosine", 1000, None, {"lr_scheduler_type": "cosine", "lr_scheduler_kwargs": {"num_cycles": 0.5}}),
    ("untuned-linear(beta2=0.98) -> cosine(cycles=1.5)", 1000, None, {"warmup_steps": 100}),
    (
        "linear(5%) -> cosine(to=0.1)",
        1000,
        None,
        {"lr_scheduler_type": "cosine_with_min_lr", "lr_scheduler_kwargs": {"num_cycles": 0.5, "min_lr_rate": 0.1}},
    ),
    (
        "linear(10) -> cosine-restarts(cycles=3)",
        200,
        None,
        {"lr_scheduler_type": "cosine_with_restarts", "lr_scheduler_kwargs": {"num_cycles": 3.0}},
    ),
    (
        "linear(10) -> polynomial(power=2)",
        200,
        None,
        {"lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": {"lr_end": 0.0, "power": 2.0}},
    ),
    (
        "linear(10) -> linear(to=0.1)",
        200,
        2e-3,
        {"lr_scheduler_type": "polynomial", "lr_scheduler_kwargs": {"lr_end": 0.1 * 2e-3, "power": 1.0}},
    ),
    (
        "noam",
        None,
        None,
        {"lr_scheduler_type": "inverse_sqrt", "warmup_steps": 4000, "lr_scheduler_kwargs": {"timescale": 4000}},
    ),
    (
        "linear(1%) -> constant -> 1-sqrt(20%)",
        1000,
        None,
        {
            "lr_scheduler_type": "warmup_stable_decay",
            "warmup_steps": 10,
            "lr_scheduler_kwargs": {
                "num_decay_steps": 200,
                "warmup_type": "linear",
                "decay_type": "1-sqrt",
                "min_lr_ratio": 0.0,
                "num_cycles": 0.5,
            },
        },
    ),
    (
        "cosine(10, from=0.1) -> constant -> cosine(50, cycles=1.5, to=0.1)",
        200,
        None,
        {
            "lr_scheduler_type": "warmup_stable_decay",
            "lr_scheduler_kwargs": {
                "num_decay_steps": 50,
                "warmup_type": "cosine",
                "decay_type": "cosine",
                "min_lr_ratio": 0.1,
                "num_cycles": 1.5,
            },
        },
    ),
    # the decay ends before the run does: warmup_stable_decay holds min_lr_ratio after it, as rampup holds
    ("linear(10) -> cosine(90)", 200, None, {"lr_scheduler_type": "warmup_stable_decay"}),
]


def transformers_multipliers(kwargs: dict[str, Any], total: int | None, steps: int, lr: float = 1.0) -> np.ndarray:
    """transformers' multipliers for these TrainingArguments keywords, built as Trainer.create_scheduler does."""
    warmup = TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=kwargs["warmup_steps"]), total)
    optimizer = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=kwargs.get("learning_rate", lr))
    with warnings.catch_warnings():  # warmup_stable_decay warns that num_stable_steps wins over the total
        warnings.simplefilter("ignore")
        scheduler = get_scheduler(
            kwargs["lr_scheduler_type"],
            optimizer,
            num_warmup_steps=warmup,
            num_training_steps=total,
            scheduler_specific_kwargs=kwargs["lr_scheduler_kwargs"],
        )
    lam = scheduler.lr_lambdas[0]
    return np.array([float(lam(step)) for step in range(steps)])


@pytest.mark.parametrize(("spec", "total", "peak", "expected"), BUILTINS)
def test_training_args_finds_the_builtin(
    spec: str, total: int | None, peak: float | None, expected: dict[str, Any]
) -> None:
    kwargs = rampup.hf.training_args(spec, total, peak_lr=peak)
    for key, value in expected.items():
        assert kwargs[key] == pytest.approx(value) if key == "lr_scheduler_kwargs" else kwargs[key] == value
    assert isinstance(kwargs["warmup_steps"], int)
    assert ("learning_rate" in kwargs) == (peak is not None)
    schedule = rampup.as_schedule(spec).resolve(total)
    horizon = total if total is not None else 3 * schedule.warmup_steps + 500
    got = transformers_multipliers(kwargs, total, horizon)
    np.testing.assert_allclose(got, schedule.values(np.arange(horizon)), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize(
    ("spec", "total", "reason"),
    [
        ("exponential(10) -> cosine", 100, "warmup is exponential"),
        ("linear(10) -> step(every=20)", 100, "no step decay"),
        ("linear(10) -> exponential(gamma=0.9)", 100, "no exponential decay"),
        ("linear(10, from=0.1) -> cosine", 100, "from=0.1"),
        ("linear(10) -> cosine(exponent=2)", 100, "exponent"),
        ("linear(10) -> cosine-restarts(period=30, mult=2)", 100, "equal cycles"),
        ("linear(10) -> cosine-restarts(cycles=2, to=0.1)", 100, "to 0"),
        ("linear(10) -> inverse-sqrt(to=0.1)", 100, "towards 0"),
        ("linear(10) -> linear(50) -> linear(to=0.1)", 100, "more phases"),
        ("linear(10) -> polynomial(40, power=2)", 100, "before the run's end"),
        ("linear(10) -> cosine(40, cycles=0.75)", 100, "holds min_lr_ratio"),
        ("linear(10) -> polynomial(power=2, to=0.1)", 100, "pass peak_lr"),
        ("radam(beta2=0.9) -> cosine", 100, "warmup is radam"),
        ("cosine(10) -> polynomial(power=2)", 100, "linear, cosine or 1-sqrt"),
        ("cosine(10, from=0.1) -> constant", None, "pass total_steps"),
    ],
)
def test_no_builtin_says_why_and_names_the_other_path(spec: str, total: int | None, reason: str) -> None:
    with pytest.raises(RampupError) as caught:
        rampup.hf.training_args(spec, total)
    message = str(caught.value)
    assert reason in message
    assert "RampupTrainer" in message and "RampupLR" in message


_WARMUPS = ["", "linear({w}) -> ", "linear({w}, from={f}) -> ", "cosine({w}) -> ", "1-sqrt({w}, from={f}) -> "]
_DECAYS = [
    "linear{len}",
    "linear({len_}to={to})",
    "cosine({len_}cycles={cycles}, to={to})",
    "cosine({len_}cycles={cycles})",
    "polynomial({len_}power={power})",
    "polynomial({len_}power={power}, to={to})",
    "1-sqrt({len_}to={to})",
    "inverse-sqrt",
    "cosine-restarts({len_}cycles={restarts})",
    "step({len_}every=7)",
]


@st.composite
def hf_candidates(draw: st.DrawFn) -> tuple[str, int, float]:
    """Schedules near transformers' shapes: some have a built-in, some differ in one detail."""
    total = draw(st.integers(4, 300))
    warmup = draw(st.sampled_from(_WARMUPS)).format(
        w=draw(st.integers(0, total // 2)), f=draw(st.sampled_from([0.1, 0.5]))
    )
    stable = draw(st.sampled_from(["", "constant({s}) -> "])).format(s=draw(st.integers(0, total // 4)))
    length = draw(st.one_of(st.none(), st.integers(1, total // 4)))
    to = draw(st.sampled_from([0.1, 0.5]))
    decay = draw(st.sampled_from(_DECAYS)).format(
        len="" if length is None else f"({length})",
        len_="" if length is None else f"{length}, ",
        to=to,
        cycles=draw(st.sampled_from([0.5, 1.5, 0.8])),
        power=draw(st.sampled_from([1, 2, 0.5])),
        restarts=draw(st.integers(1, 4)),
    )
    return warmup + stable + decay, total, draw(st.sampled_from([1e-3, 0.5]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(candidate=hf_candidates())
def test_training_args_is_exact_or_refuses(candidate: tuple[str, int, float]) -> None:
    """Whatever training_args returns, transformers computes the engine's rates at every step of the run."""
    spec, total, peak = candidate
    try:
        schedule = rampup.parse(spec).resolve(total_steps=total)
    except RampupError:
        assume(False)
    try:
        kwargs = rampup.hf.training_args(schedule, total, peak_lr=peak)
    except RampupError as error:
        assert "RampupTrainer" in str(error)
        event("no built-in")
        return
    event(kwargs["lr_scheduler_type"])
    got = transformers_multipliers(kwargs, total, total)
    np.testing.assert_allclose(got, schedule.values(np.arange(total)), rtol=1e-9, atol=1e-12, err_msg=spec)


def test_training_args_checks_its_inputs() -> None:
    with pytest.raises(RampupError, match="peak_lr"):
        rampup.hf.training_args("linear(10) -> cosine", 100, peak_lr=0)
    with pytest.raises(RampupError, match="total_steps"):
        rampup.hf.training_args("linear(5%) -> cosine")


def test_rampup_trainer_refuses_scheduler_arguments(tmp_path: Path) -> None:
    args = make_args(tmp_path, max_steps=5, warmup_steps=2)
    with pytest.raises(RampupError, match="warmup_steps=2"):
        rampup.hf.RampupTrainer(
            model=TinyRegression(), args=args, train_dataset=Points(4), schedule="linear(2) -> cosine"
        )
