"""The lab's task families: each builds, trains deterministically per seed, and is what its description says.

Runs are cut to a few steps; the LoRA task's pretraining is shortened and cached in a temporary
folder (RAMPUP_CACHE), so that the file runs in well under a minute.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from lab_rows import trial_row

from rampup.advisor import recommend
from rampup.lab import TASKS, plan_trials, run_trial
from rampup.lab.data import pretrained_path, task_data
from rampup.lab.evidence import GRID, standings
from rampup.lab.models import LoRALinear
from rampup.lab.result import TrialConfig
from rampup.lab.runner import advisor_schedule
from rampup.lab.train import make_optimizer

NEW = ("conv", "encoder", "lora", "noisy")


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAMPUP_CACHE", str(tmp_path / "cache"))


def short(task: str, steps: int = 12, lr: float | None = None, seed: int = 0) -> TrialConfig:
    """A few steps of the task; the LoRA base model pretrains for 20 steps instead of 800."""
    rate = TASKS[task].normal_lr if lr is None else lr
    config = plan_trials(task, ["linear(25%)"], [rate], [seed], steps=steps)[0]
    if task == "lora":
        data = dict(config.data)
        data["pretrain"] = {**data["pretrain"], "steps": 20}
        config = dataclasses.replace(config, data=data)
    return config


def test_every_task_is_calibrated_and_described() -> None:
    assert set(NEW) <= set(TASKS)
    for name in NEW:
        task = TASKS[name]
        assert task.high_lr > task.normal_lr > 0
        assert task.advice, f"{name} says how a user would describe it to the advisor"
        assert name in task.describe()


@pytest.mark.parametrize("task", NEW)
def test_a_trial_trains_and_is_deterministic_per_seed(task: str) -> None:
    config = short(task)
    first, again = run_trial(config), run_trial(config)
    assert first.status == "ok", first.error
    assert first.train_losses == again.train_losses and first.final_loss == again.final_loss
    assert len(first.grad_norms) == config.steps and all(n is not None and n > 0 for n in first.grad_norms)
    other = run_trial(dataclasses.replace(config, seed=1))
    assert other.train_losses != first.train_losses  # the seed sets the weights and the data order


def test_conv_is_a_batch_norm_conv_net_at_a_large_batch_with_a_linearly_scaled_rate() -> None:
    task = TASKS["conv"]
    config = short("conv")
    model = task_data(config).model(config)
    assert any(isinstance(m, torch.nn.Conv2d) for m in model.modules())
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in model.modules())
    assert task.batch >= 1024 and task.optimizer.name == "sgd" and task.optimizer.momentum == 0.9
    advice = task.advice
    k = advice["batch_size"] / advice["base_batch_size"]
    assert task.high_lr == pytest.approx(advice["base_lr"] * k)  # the linear scaling rule


def test_encoder_is_built_from_torch_transformer_encoder_layers_with_adamw() -> None:
    config = short("encoder")
    model = task_data(config).model(config)
    layers = [m for m in model.modules() if isinstance(m, torch.nn.TransformerEncoderLayer)]
    assert len(layers) == config.model["layers"] and all(not layer.norm_first for layer in layers)  # Post-LN
    optimizer = make_optimizer(config, model)
    assert isinstance(optimizer, torch.optim.AdamW)
    assert optimizer.defaults["betas"] == (0.9, 0.999)
    decays = sorted(group["weight_decay"] for group in optimizer.param_groups)
    assert decays == [0.0, 0.1]  # no decay on biases and norms
    no_decay = next(group for group in optimizer.param_groups if group["weight_decay"] == 0.0)
    assert all(p.dim() < 2 for p in no_decay["params"])


def test_lora_adapts_a_frozen_pretrained_model_cached_on_disk() -> None:
    config = short("lora")
    data = task_data(config)
    path = pretrained_path(config)
    assert not path.exists()
    model = data.model(config)
    assert path.is_file()  # pretrained once, cached
    adapters = [m for m in model.modules() if isinstance(m, LoRALinear)]
    assert adapters
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in name for name in trainable)
    # B starts at zero: the adapted model is exactly the pretrained one
    base = task_data(config).model(config)
    for adapter in adapters:
        assert torch.count_nonzero(adapter.lora_b) == 0
    x, _ = data.batch(np.random.default_rng(0), 2)
    with torch.no_grad():
        assert torch.equal(model(x), base(x))
    # the optimizer sees the adapters only
    optimizer = make_optimizer(config, model)
    count = sum(p.numel() for group in optimizer.param_groups for p in group["params"])
    assert count == sum(p.numel() for p in model.parameters() if p.requires_grad)
    # a second trial loads the cache instead of pretraining again
    stamp = path.stat().st_mtime_ns
    assert run_trial(config).status == "ok"
    assert path.stat().st_mtime_ns == stamp


def test_noisy_is_a_small_batch_task_with_a_noisy_per_step_loss() -> None:
    task = TASKS["noisy"]
    assert task.batch <= 8
    result = run_trial(short("noisy", steps=40))
    losses = [v for v in result.train_losses[20:] if v is not None]
    steps = [abs(b - a) for a, b in itertools.pairwise(losses)]
    assert sum(steps) / len(steps) > 0.05  # consecutive losses differ by more than 0.05 nats on average


def test_the_advisor_describes_each_task_as_a_user_would() -> None:
    for name, task in TASKS.items():
        schedule = advisor_schedule(task, task.steps, task.optimizer)
        betas = task.optimizer.betas if task.optimizer.name in ("adam", "adamw") else None
        again = recommend(
            total_steps=task.steps, optimizer=task.optimizer.name, betas=betas, decay=task.decay, **task.advice
        )
        assert str(schedule) == str(again.schedule), name
    # conv: the rate is scaled x8 from batch 128, so the warmup grows x8 (5% of 160 = 8 steps -> 64)
    assert advisor_schedule(TASKS["conv"], 160, TASKS["conv"].optimizer).warmup_steps == 64


def test_standings_pick_the_best_grid_warmup_and_count_lost_seeds() -> None:
    rows = []
    finals = {"none": (3.0, 3.1, 2.0), "linear(5%)": (2.1, 2.2, 2.1), "linear(50%)": (2.0, 2.0, 2.2)}
    for label, values in finals.items():
        for seed, value in enumerate(values):
            rows.append(trial_row(label, 0.02, seed, value))
    result = standings(rows, "postln", 0.02)
    assert result.best == "linear(50%)"
    assert result.by_label["none"].lost == 2  # seeds 0 and 1 end > 10% above the best's run
    assert result.by_label["linear(5%)"].gap == pytest.approx((6.4 / 3 - 6.2 / 3) / (6.2 / 3))
    assert math.isclose(result.by_label["linear(50%)"].gap, 0.0)
    assert set(GRID) >= {"none", "linear(5%)", "linear(50%)"}


def test_the_advice_page_is_written_from_the_standings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    import sys

    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location("make_advice", root / "docs" / "make_advice.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    schedules = {
        "none": "cosine(400, to=0.1)",
        "linear(50%)": "linear(200) -> cosine(200, to=0.1)",
        "advisor": "linear(100) -> cosine(300, to=0.1)",
        "finder@1000: linear(200)": "linear(200) -> cosine(200, to=0.1)",
    }
    finals = {
        "none": (3.1, 3.1, 3.1),
        "linear(50%)": (2.3, 2.2, 2.25),
        "advisor": (2.3, 2.3, 2.3),
        "finder@1000: linear(200)": (2.3, 2.2, 2.25),
    }
    rows = [
        dataclasses.replace(trial_row(label, 0.02, seed, value), schedule=schedules[label])
        for label, values in finals.items()
        for seed, value in enumerate(values)
    ]
    result = standings(rows, "postln", 0.02)
    answers = [
        (
            {
                "seed": 1000,
                "spec": "linear(200) -> cosine(to=0.1)",
                "nearest": None,
                "cost_runs": 3.1,
                "inconclusive": None,
            },
            "finder@1000: linear(200)",
            None,
        )
    ]
    scores = {"all": module.score_by_task([])["all"]}
    figure = tmp_path / "images" / "grid.png"
    figure.parent.mkdir()
    module.figure({"postln": result}, {"postln": ["finder@1000: linear(200)"]}, figure)
    text = module.page({"postln": result}, {"postln": answers}, scores, [(0.95, 0)], tmp_path / "advice.md", figure)
    assert figure.stat().st_size > 10_000
    assert "| postln | linear(50%) (2.250) |" in text
    assert "finder@1000: linear(200)" in text and "+0.0%" in text
    assert "Missed: " in text and "](images/grid.png)" in text
