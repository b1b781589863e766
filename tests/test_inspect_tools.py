"""rampup inspect for LLaMA-Factory, timm and NeMo (issue 12): parity, examples, findings, exports, errors.

LLaMA-Factory hands its keys to transformers' Trainer: parity is against the installed transformers'
``get_scheduler``, after LLaMA-Factory's own ``warmup_stable_decay`` defaults restated below from
``src/llamafactory/train/trainer_utils.py`` (LLaMA-Factory 0.9.6.dev0, commit ff6d4d1). timm 1.0.31 and
nemo_toolkit 2.6.2 are installed without their dependencies (tests/tools-no-deps.txt) and their own
scheduler code runs here, loaded from their files by tests/tool_sources.py: timm's
``timm/scheduler/*.py`` (``create_scheduler_v2``, stepped as ``train.py`` steps it: timm's wheel has no
train.py, so its loop is restated from commit aa4b585), NeMo's ``nemo/core/optim/lr_scheduler.py``
(``prepare_lr_scheduler``, stepped once per update as Lightning steps ``interval: step``). For random
configurations (hypothesis) and every example config; within 1e-9 relative, float64, at every update.
"""

from __future__ import annotations

import copy
import json
import math
import random
import re
import warnings
from pathlib import Path
from types import SimpleNamespace

import cli_helpers
import numpy as np
import pytest
import tool_sources
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rampup import parse
from rampup.conventions import RunSize
from rampup.conventions import timm as timm_conventions
from rampup.errors import RampupError
from rampup.export import export
from rampup.inspect import inspect_file, inspect_text

DATA = Path(__file__).parent / "data"


def close(ours: np.ndarray, theirs: np.ndarray) -> bool:
    ours, theirs = np.asarray(ours, dtype=np.float64), np.asarray(theirs, dtype=np.float64)
    return ours.shape == theirs.shape and bool(np.all(np.abs(ours - theirs) <= 1e-9 * np.abs(theirs) + 1e-15))


def kinds(imported) -> set[str]:
    return {item.kind for item in imported.findings}


def spec_is_exact(imported) -> None:
    """The spec, when there is one, gives the imported rates at every update; otherwise a not-exact finding says why."""
    if imported.spec is not None:
        assert close(parse(imported.spec).values(np.arange(imported.total_steps)), imported.multipliers)
    else:
        assert "not-exact" in kinds(imported)


# --------------------------------------------------------------------------- LLaMA-Factory, against transformers


def llamafactory_kwargs(warmup: int, total: int, kwargs: dict) -> dict:
    """``create_custom_scheduler`` (trainer_utils.py): WSD's lengths that are not given, 1/3 stable, 2/3 decay."""
    remaining_steps = total - warmup
    num_stable_steps = remaining_steps // 3
    num_decay_steps = remaining_steps - num_stable_steps
    filled = dict(kwargs)
    for key, value in {"num_stable_steps": num_stable_steps, "num_decay_steps": num_decay_steps}.items():
        if key not in filled:
            filled[key] = value
    return filled


@pytest.mark.parametrize("seed", range(12))
def test_llamafactory_wsd_parity_with_transformers(seed: int) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    rng = random.Random(seed)
    total = rng.choice([30, 301, 1200])
    warmup = rng.choice([0, 1, 7, 0.05])
    kwargs: dict = {}
    if rng.random() < 0.5:
        kwargs["decay_type"] = rng.choice(["linear", "cosine", "1-sqrt"])
    if rng.random() < 0.5:
        kwargs["warmup_type"] = rng.choice(["linear", "cosine", "1-sqrt"])
    if rng.random() < 0.5:
        kwargs["min_lr_ratio"] = rng.choice([0.0, 0.1])
    if rng.random() < 0.3:
        kwargs["num_decay_steps"] = total // 5
    config = {"stage": "sft", "learning_rate": 2e-5, "lr_scheduler_type": "warmup_stable_decay"}
    config.update(warmup_steps=warmup, max_steps=total, lr_scheduler_kwargs=kwargs)
    imported = inspect_text(json.dumps(config), "lf.json", "llamafactory", RunSize())
    w = math.ceil(total * warmup) if warmup < 1 else int(warmup)
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=2e-5)
    with warnings.catch_warnings():  # get_wsd_schedule warns when given both num_stable_steps and the total
        warnings.simplefilter("ignore")
        scheduler = transformers.get_scheduler(
            "warmup_stable_decay",
            optimizer,
            num_warmup_steps=w,
            num_training_steps=total,
            scheduler_specific_kwargs=llamafactory_kwargs(w, total, kwargs),
        )
    theirs = np.array([scheduler.lr_lambdas[0](step) for step in range(total)], dtype=np.float64)
    assert close(imported.multipliers, theirs)
    assert imported.spec is not None, imported.findings
    spec_is_exact(imported)
    assert "wsd-default-split" in kinds(imported)  # num_stable_steps is never given here


def test_llamafactory_examples() -> None:
    sft = inspect_file(str(DATA / "llamafactory" / "qwen3_lora_sft.yaml"), size=RunSize(dataset_size=1000))
    assert sft.source == "llamafactory" and sft.total_steps == 375 and sft.spec == "linear(38) -> cosine(337)"
    assert {"renamed-key", "ratio-rounding", "zero-first-update"} <= kinds(sft)
    wsd = inspect_file(str(DATA / "llamafactory" / "qwen3_full_wsd.yaml"))
    assert wsd.spec == "linear(60) -> constant(380) -> cosine(760)"  # 1/3 of the 1140 after warmup, then 2/3
    assert {"wsd-default-split", "deepspeed-unread"} <= kinds(wsd)
    pretrain = inspect_file(str(DATA / "llamafactory" / "qwen3_pretrain_wsd_kwargs.yaml"))
    assert pretrain.spec == "linear(250, from=0.1) -> constant(3750) -> 1-sqrt(1000, to=0.1)"
    assert "wsd-default-split" not in kinds(pretrain)
    dpo = inspect_file(str(DATA / "llamafactory" / "llama3_lora_dpo_constant.yaml"), size=RunSize(dataset_size=500))
    assert dpo.spec == "linear(6) -> constant" and "ratio-rounding" in kinds(dpo)


def test_llamafactory_wsd_lengths_that_do_not_add_up() -> None:
    config = "stage: sft\nlearning_rate: 1e-5\nlr_scheduler_type: warmup_stable_decay\nmax_steps: 100\n"
    config += "warmup_steps: 10\nlr_scheduler_kwargs:\n  num_decay_steps: 20\n"
    imported = inspect_text(config, "lf.yaml", "auto", RunSize())
    # num_stable_steps is filled with 90 // 3 = 30: the decay ends at 60 and min_lr_ratio 0 holds
    assert imported.spec == "linear(10) -> constant(30) -> cosine(20)" and "wsd-lengths" in kinds(imported)


def test_hf_warmup_stable_decay_needs_its_decay_length() -> None:
    text = "output_dir: out\nlearning_rate: 1e-5\nlr_scheduler_type: warmup_stable_decay\nmax_steps: 100\n"
    with pytest.raises(RampupError, match="num_decay_steps"):
        inspect_text(text, "a.yaml", "hf", RunSize())
    exact = inspect_text(text + "lr_scheduler_kwargs: {num_decay_steps: 20}\n", "a.yaml", "hf", RunSize())
    assert exact.spec == "constant(80) -> cosine(20)"


# --------------------------------------------------------------------------- timm, against its own scheduler code

#: ``train.py``'s defaults of the arguments ``scheduler_kwargs`` reads (timm commit aa4b585, 1.0.29.dev0:
#: timm's wheel has no train.py; its scheduler files are unchanged in 1.0.31 for these schedulers)
TRAIN_PY_DEFAULTS = {
    "sched": "cosine",
    "epochs": 300,
    "decay_epochs": 90.0,
    "decay_milestones": [90, 180, 270],
    "warmup_epochs": 5,
    "cooldown_epochs": 0,
    "patience_epochs": 10,
    "decay_rate": 0.1,
    "min_lr": 0.0,
    "warmup_lr": 1e-5,
    "warmup_prefix": False,
    "lr_noise": None,
    "lr_noise_pct": 0.67,
    "lr_noise_std": 1.0,
    "seed": 42,
    "lr_cycle_mul": 1.0,
    "lr_cycle_decay": 0.5,
    "lr_cycle_limit": 1,
    "lr_k_decay": 1.0,
    "sched_on_updates": False,
    "eval_metric": "top1",
}


def timm_train_rates(args: dict, updates_per_epoch: int) -> np.ndarray:
    """The rate of every update of timm's ``train.py`` with timm's own scheduler (tests/tool_sources.py).

    As train.py does: ``create_scheduler_v2(optimizer, **scheduler_kwargs(args), updates_per_epoch=...)``,
    which also gives the run's epochs; then per update ``step_update(num_updates)`` after the update, per
    epoch ``step(epoch + 1, metric)`` (an eval metric that improves every epoch: plateau never drops). Two
    parameter groups, the second with timm's ``lr_scale`` 0.5 (layer-wise decay): rows are the updates,
    columns the groups.
    """
    import torch

    factory = tool_sources.timm_scheduler().scheduler_factory
    cfg = SimpleNamespace(**{**TRAIN_PY_DEFAULTS, **args})
    first, second = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [first]}, {"params": [second], "lr_scale": 0.5}], lr=args["lr"])
    with warnings.catch_warnings():  # PlateauLRScheduler is deprecated in timm 1.0.31 (a FutureWarning)
        warnings.simplefilter("ignore", FutureWarning)
        scheduler, num_epochs = factory.create_scheduler_v2(
            optimizer, **factory.scheduler_kwargs(cfg, decreasing_metric=False), updates_per_epoch=updates_per_epoch
        )
    groups = optimizer.param_groups
    rates = []
    num_updates = 0
    for epoch in range(num_epochs):
        for _ in range(updates_per_epoch):
            rates.append((groups[0]["lr"], groups[1]["lr"]))  # the rate this update runs at
            num_updates += 1
            if scheduler is not None:  # --sched none: no scheduler (train.py checks, as here)
                scheduler.step_update(num_updates=num_updates, metric=1.0 / num_updates)
        if scheduler is not None:
            scheduler.step(epoch + 1, 50.0 + epoch)
    return np.array(rates, dtype=np.float64).reshape(-1, 2)


def assert_timm_parity(imported, theirs: np.ndarray, scale: float = 0.5) -> None:
    """The reader's rates are timm's at every update (and the scaled group's are half); so is the spec's.

    ``scale`` 1: ``--sched none``, whose missing scheduler never applies a group's ``lr_scale``."""
    assert imported.total_steps == theirs.shape[0]
    assert close(imported.lrs, theirs[:, 0])
    assert close(scale * imported.lrs, theirs[:, 1])
    if imported.spec is not None:
        assert close(parse(imported.spec).values(np.arange(theirs.shape[0])) * imported.peak_lr, theirs[:, 0])
    else:
        assert "not-exact" in kinds(imported)


def test_timm_train_py_defaults_are_the_readers() -> None:
    for key, value in TRAIN_PY_DEFAULTS.items():
        if key in timm_conventions.DEFAULTS:
            assert timm_conventions.DEFAULTS[key] == value, key


@st.composite
def timm_args(draw: st.DrawFn) -> tuple[dict, int]:
    sched = draw(st.sampled_from(("cosine", "tanh", "poly", "step", "multistep", "plateau")))
    args = {
        "sched": sched,
        "lr": draw(st.sampled_from([0.1, 5e-4, 0.016])),
        "epochs": draw(st.sampled_from([3, 10, 40])),
    }
    args.update(warmup_epochs=draw(st.sampled_from([0, 1, 3])), warmup_lr=draw(st.sampled_from([0.0, 1e-6])))
    args.update(warmup_prefix=draw(st.booleans()), min_lr=draw(st.sampled_from([0.0, 1e-5])))
    args.update(
        cooldown_epochs=draw(st.sampled_from([0, 2])), sched_on_updates=sched != "plateau" and draw(st.booleans())
    )
    args.update(decay_epochs=draw(st.sampled_from([1, 2.4, 7])), decay_rate=draw(st.sampled_from([0.1, 0.5, 0.97])))
    args["decay_milestones"] = sorted(draw(st.lists(st.integers(1, 29), min_size=1, max_size=3, unique=True)))
    if sched in ("cosine", "poly", "tanh") and draw(st.booleans()):
        args.update(lr_cycle_limit=draw(st.sampled_from([1, 2, 3])), lr_cycle_mul=draw(st.sampled_from([1.0, 2.0])))
        args["lr_cycle_decay"] = draw(st.sampled_from([0.5, 1.0]))
    if sched in ("cosine", "poly") and draw(st.booleans()):
        args["lr_k_decay"] = draw(st.sampled_from([1.0, 1.5, 0.5]))
    return args, draw(st.sampled_from([1, 4, 25]))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(timm_args())
def test_timm_parity_with_its_own_schedulers(case: tuple[dict, int]) -> None:
    args, per_epoch = case
    theirs = timm_train_rates(args, per_epoch)
    data = {**{key: value for key, value in timm_conventions.DEFAULTS.items() if value is not None}, **args}
    imported = timm_conventions.import_settings(data, "args.yaml", RunSize(total_steps=theirs.shape[0]))
    assert_timm_parity(imported, theirs)
    prefix = args["warmup_prefix"] or not args["warmup_epochs"]
    cycles = args.get("lr_cycle_limit", 1) > 1
    k_decay = args.get("lr_k_decay", 1.0) != 1.0
    whole_epochs_in = prefix or args["warmup_epochs"] < args["epochs"]
    # exact, but for cycles of poly/tanh or with k-decay, tanh's warmup without --warmup-prefix, and timm's
    # step and multistep drops at fractional updates or inside the warmup
    exact = {
        "cosine": whole_epochs_in and not (cycles and k_decay),
        "poly": whole_epochs_in and not cycles,
        "tanh": prefix and not cycles,
        "step": prefix and float(args["decay_epochs"] * (per_epoch if args["sched_on_updates"] else 1)).is_integer(),
    }.get(args["sched"], False)
    if exact:
        assert imported.spec is not None, imported.findings
        if not args["sched_on_updates"] and per_epoch > 1:
            assert f"per={per_epoch}" in imported.spec


@st.composite
def timm_wsd_args(draw: st.DrawFn) -> tuple[dict, int]:
    """timm 1.0.31's wsd, rsqrt, constant and none, with the train.py arguments create_scheduler_v2 reads for them."""
    sched = draw(st.sampled_from(("wsd", "rsqrt", "constant", "none")))
    args = {"sched": sched, "lr": draw(st.sampled_from([0.1, 5e-4])), "epochs": draw(st.sampled_from([2, 5, 12]))}
    args.update(warmup_epochs=draw(st.sampled_from([0, 1, 3])), warmup_lr=draw(st.sampled_from([0.0, 1e-6])))
    args.update(warmup_prefix=draw(st.booleans()), min_lr=draw(st.sampled_from([0.0, 1e-5, 0.004])))
    args.update(cooldown_epochs=draw(st.sampled_from([0, 2])), sched_on_updates=draw(st.booleans()))
    # None: create_scheduler_v2's default (the last 20%); below 1 a fraction; 2.5 epochs rounded (per epoch: to 2)
    args["decay_epochs"] = draw(st.sampled_from([None, 0.2, 0.5, 0.999, 1, 2, 2.5, 4]))
    args["lr_decay_fn"] = draw(st.sampled_from([None, "linear", "1-sqrt", "cosine", "power", "exp"]))
    args["lr_stable_timescale"] = draw(st.sampled_from([None, None, 0.5, 3]))
    return args, draw(st.sampled_from([1, 4, 25]))


@settings(max_examples=150, deadline=None, derandomize=True)
@given(timm_wsd_args())
def test_timm_wsd_rsqrt_constant_parity_with_its_own_schedulers(case: tuple[dict, int]) -> None:
    """Parity with timm 1.0.31's WSDLRScheduler (wsd, rsqrt), StepLRScheduler (constant) and no scheduler (none);
    what timm refuses (a decay longer than the schedule, rsqrt without a timescale) the reader refuses too."""
    args, per_epoch = case
    data = {**{key: value for key, value in timm_conventions.DEFAULTS.items() if value is not None}, **args}
    data["train_batches_per_epoch"] = per_epoch
    try:
        theirs = timm_train_rates(args, per_epoch)
    except ValueError:
        with pytest.raises(RampupError, match=r"decay_epochs|lr_stable_timescale"):
            timm_conventions.import_settings(data, "args.yaml", RunSize())
        return
    imported = timm_conventions.import_settings(data, "args.yaml", RunSize())
    assert_timm_parity(imported, theirs, 1.0 if args["sched"] == "none" else 0.5)
    # exact but for wsd's exp decay, rsqrt's decay (the rsqrt times the cooldown) and a --min-lr above --lr
    exp = args["sched"] == "wsd" and args["lr_decay_fn"] == "exp"
    if args["sched"] != "rsqrt" and not exp and (args["min_lr"] < args["lr"] or args["sched"] == "constant"):
        assert imported.spec is not None, imported.findings
    if args["sched"] in ("wsd", "rsqrt") and args["decay_epochs"] is None:
        assert "default-decay-epochs" in kinds(imported)
    if args["sched"] == "none":
        assert imported.spec == "constant" and "no-scheduler" in kinds(imported)


def timm_example(path: str, dataset_size: int) -> tuple[object, np.ndarray]:
    """An example command line, read by ``rampup inspect`` and run through timm's own scheduler.

    Its flags are parsed by the reader's ``parse_flags`` (argument parsing, no scheduler math); the updates
    per epoch are train.py's ``ceil(len(loader_train) / grad_accum)`` with the training loader dropping its
    last partial batch of each process's ``ceil(n / world)`` samples (``DistributedSampler``)."""
    text = (DATA / "timm" / path).read_text()
    flags = timm_conventions.parse_flags(text, path)
    args = {**TRAIN_PY_DEFAULTS, **flags}
    for key in ("lr", "warmup_lr", "min_lr", "lr_k_decay", "decay_rate", "decay_epochs"):
        args[key] = float(args[key])
    for key in ("epochs", "warmup_epochs", "batch_size", "cooldown_epochs"):
        args[key] = int(args.get(key, 128))
    if args["sched"] in ("wsd", "rsqrt") and "decay_epochs" not in flags:
        args["decay_epochs"] = None  # the reader's assumption: train.py passes None (its default-decay-epochs finding)
    world = timm_conventions.world_size(text) or 1
    loader = math.ceil(dataset_size / world) // args["batch_size"]
    imported = inspect_file(str(DATA / "timm" / path), size=RunSize(dataset_size=dataset_size))
    return imported, timm_train_rates(args, loader)


@pytest.mark.parametrize(
    "path", ["seresnet34_cosine.sh", "mobilenetv3_tanh.sh", "convnext_k_decay.sh", "vit_small_updates.sh"]
)
def test_timm_examples_parity_with_its_own_schedulers(path: str) -> None:
    imported, theirs = timm_example(path, 1281167)
    assert_timm_parity(imported, theirs)
    assert imported.spec is not None


def test_timm_examples_not_exact_parity_with_its_own_schedulers() -> None:
    # a smaller data set (156 updates per epoch: a drop every 374.4): 450 epochs of ImageNet are 2.25M updates
    for path in ("efficientnet_b2_step.sh", "resnet18_tanh_no_prefix.sh"):
        imported, theirs = timm_example(path, 40_000)
        assert_timm_parity(imported, theirs)
        assert imported.spec is None
    multistep = inspect_file(str(DATA / "timm" / "resnet50_multistep_args.yaml"), size=RunSize(total_steps=90 * 100))
    args = yaml.safe_load((DATA / "timm" / "resnet50_multistep_args.yaml").read_text())
    assert_timm_parity(multistep, timm_train_rates(args, 100))


def test_timm_examples() -> None:
    imagenet = RunSize(dataset_size=1281167)
    cosine = inspect_file(str(DATA / "timm" / "seresnet34_cosine.sh"), size=imagenet)
    # 4 processes (distributed_train.sh 4) of floor(320292 / 256) = 1251 batches, 150 epochs; the default
    # per-epoch stepping is a staircase (per=1251), no --warmup-prefix a cosine started 5 epochs in (skip=)
    assert cosine.total_steps == 150 * 1251 and cosine.peak_lr == 0.4
    assert cosine.spec == "linear(6255, from=2.5e-05, per=1251) -> cosine(181395, skip=6255, per=1251)"
    assert {"warmup-not-prefix", "per-epoch-steps"} <= kinds(cosine) and "not-exact" not in kinds(cosine)
    assert cosine.lrs.max() < 0.4  # the drop: the peak is never reached
    step = inspect_file(str(DATA / "timm" / "efficientnet_b2_step.sh"), size=imagenet)
    # a drop every 2.4 epochs of 5004 updates: 12009.6, no whole number of updates (and 187 drops)
    assert {"default-warmup", "per-epoch-steps", "not-exact"} <= kinds(step) and step.spec is None
    vit = inspect_file(str(DATA / "timm" / "vit_small_updates.sh"), size=imagenet)
    assert vit.spec == "linear(6255, from=0.002) -> cosine(375300, to=0.02)"  # 1251 updates per epoch on 8 GPUs
    multistep = inspect_file(str(DATA / "timm" / "resnet50_multistep_args.yaml"), size=RunSize(total_steps=90 * 100))
    assert "multistep-one-early" in kinds(multistep)
    assert multistep.lrs[29 * 100] == pytest.approx(0.01) and multistep.lrs[29 * 100 - 1] == pytest.approx(0.1)
    assert multistep.spec == "linear(500, from=0.1, per=100) -> step(at=[2900, 5900, 7900], per=100)"
    tanh = inspect_file(str(DATA / "timm" / "mobilenetv3_tanh.sh"), size=imagenet)
    # 8 processes of floor(160146 / 256) = 625 updates per epoch; 3 + 200 epochs (--warmup-prefix)
    assert tanh.spec == "linear(1875, from=1.5625e-05, per=625) -> tanh(125000, to=0.00015625, per=625)"
    late = inspect_file(str(DATA / "timm" / "resnet18_tanh_no_prefix.sh"), size=imagenet)
    assert late.spec is None and "climbs to the tanh's value" in late.findings[-1].message
    bent = inspect_file(str(DATA / "timm" / "convnext_k_decay.sh"), size=imagenet)
    assert bent.spec == "linear(25020, from=0.00025) -> cosine(375300, to=0.00025, k=1.5)"


@pytest.mark.parametrize(
    ("path", "dataset_size"),
    [
        ("vit_base_wsd_updates.sh", 1281167),
        ("resnet50_wsd_epochs.sh", 1281167),
        ("vit_rsqrt_big_vision.sh", 1281167),
        ("deit_constant_finetune.sh", 8189),  # Flowers-102's train + val
    ],
)
def test_timm_wsd_examples_parity_with_its_own_schedulers(path: str, dataset_size: int) -> None:
    imported, theirs = timm_example(path, dataset_size)
    assert_timm_parity(imported, theirs)


def test_timm_wsd_examples() -> None:
    imagenet = RunSize(dataset_size=1281167)
    wsd = inspect_file(str(DATA / "timm" / "vit_base_wsd_updates.sh"), size=imagenet)
    # 1251 updates per epoch; 100 epochs, the 5 of warmup within them: a decay of 0.2 x 95 epochs, 23769 updates
    assert wsd.total_steps == 100 * 1251
    assert wsd.spec == "linear(6255, from=0.001) -> constant(95076) -> 1-sqrt(23769, to=0.001)"
    assert "decay-fraction" in kinds(wsd) and "not-exact" not in kinds(wsd)
    epochs = inspect_file(str(DATA / "timm" / "resnet50_wsd_epochs.sh"), size=imagenet)
    # per epoch, no cooldown: the last of 5 decay epochs runs at 1 - sqrt(4 / 5) of lr (timm's own docstring: ~10%)
    assert epochs.spec == "linear(6255, from=0.00025, per=1251) -> constant(112590) -> 1-sqrt(6255, per=1251)"
    assert {"ends-above-min-lr", "default-decay-fn", "per-epoch-steps"} <= kinds(epochs)
    assert epochs.lrs[-1] == pytest.approx(0.4 * (1 - math.sqrt(0.8)))
    rsqrt = inspect_file(str(DATA / "timm" / "vit_rsqrt_big_vision.sh"), size=imagenet)
    # the rsqrt keeps falling under the linear cooldown (a product): no spec, the nearest named
    assert rsqrt.spec is None and rsqrt.total_steps == 100 * 1251
    assert rsqrt.nearest == "linear(12510) -> inverse-sqrt(100080, timescale=12510) -> linear(12510)"
    assert {"rsqrt-timescale", "not-exact", "zero-first-update"} <= kinds(rsqrt)
    constant = inspect_file(str(DATA / "timm" / "deit_constant_finetune.sh"), size=RunSize(dataset_size=8189))
    # 2 processes of floor(4095 / 64) = 63 updates; --cooldown-epochs does not lengthen a step schedule
    assert constant.spec == "linear(126, from=0.02, per=63) -> constant" and constant.total_steps == 30 * 63
    assert "ignored-flags" in kinds(constant)


def test_timm_wsd_refusals_and_defaults() -> None:
    size = RunSize(total_steps=150)
    with pytest.raises(RampupError, match="lr_stable_timescale"):  # timm: rsqrt's timescale is the warmup's length
        inspect_text("train.py --sched rsqrt --epochs 10 --warmup-epochs 0", "a.sh", "timm", size)
    with pytest.raises(RampupError, match="decay_epochs"):  # longer than the 10 - 5 epochs after the warmup
        inspect_text("train.py --sched wsd --epochs 10 --decay-epochs 6", "a.sh", "timm", size)
    with pytest.raises(RampupError, match="lr_decay_fn"):
        inspect_text("train.py --sched wsd --epochs 10 --lr-decay-fn sqrt", "a.sh", "timm", size)
    default = inspect_text("train.py --sched wsd --epochs 10 --lr 0.1", "a.sh", "timm", size)
    # the last 20% of 5 epochs is one epoch, stepped per epoch: it would reach min_lr only after the run
    assert default.spec == "linear(75, from=0.0001, per=15) -> constant(60) -> 1-sqrt(15, per=15)"
    assert {"default-decay-epochs", "ends-above-min-lr"} <= kinds(default) and default.lrs[-1] == 0.1
    none = inspect_text(
        "train.py --sched none --epochs 10 --warmup-prefix --lr 0.1", "a.sh", "timm", RunSize(total_steps=15 * 10)
    )
    assert none.spec == "constant" and "no-scheduler" in kinds(none) and "default-warmup" not in kinds(none)
    # rsqrt whose decay is one tick (per epoch): its one decay tick is the rsqrt's last value, then min_lr held
    args = dict(sched="rsqrt", epochs=10, warmup_epochs=2, decay_epochs=1.0, min_lr=0.01, lr=0.1, cooldown_epochs=2)
    line = "train.py " + " ".join(f"--{key.replace('_', '-')} {value}" for key, value in args.items())
    one = inspect_text(line, "a.sh", "timm", RunSize(total_steps=12 * 10))
    assert one.spec == (
        "linear(20, from=0.0001, per=10) -> inverse-sqrt(70, timescale=20, floor=0.1, per=10) -> "
        "linear(10, to=0.1, per=10)"
    )
    assert_timm_parity(one, timm_train_rates(args, 10))


def test_timm_lr_from_base_and_plateau() -> None:
    scaled = inspect_text(
        "train.py --sched cosine --epochs 10 -b 64 --opt lamb", "a.sh", "auto", RunSize(total_steps=10)
    )
    assert scaled.peak_lr == pytest.approx(0.1 * math.sqrt(64 / 256)) and "lr-from-base" in kinds(scaled)
    plateau = inspect_text("train.py --sched plateau --epochs 10 --lr 0.1", "p.sh", "timm", RunSize(total_steps=100))
    assert plateau.spec is None and "metric-dependent" in kinds(plateau)


# --------------------------------------------------------------------------- NeMo, against its own scheduler code


def nemo_train_rates(config: dict, dataset_size: int | None = None) -> np.ndarray:
    """The rate of every update of a NeMo run, from NeMo's own ``prepare_lr_scheduler`` (tests/tool_sources.py).

    ``ModelPT.setup_optimization`` (restated, NeMo 2.6.2 ``nemo/core/classes/modelPT.py``): with
    ``trainer.max_steps`` >= 0 it becomes the block's ``max_steps``; else the block gets ``t_max_epochs``,
    ``t_accumulate_grad_batches``, ``t_limit_train_batches`` and ``t_num_workers`` (one device here) and
    ``prepare_lr_scheduler`` counts the run from the train loader (a real ``DataLoader`` of ``dataset_size``
    items, ``model.train_ds.batch_size``). Lightning steps an ``interval: step`` scheduler once per optimizer
    update, so update k runs at the rate set after k steps. Two parameter groups at the same rate (NeMo's
    ``min_lr`` is absolute); rows are the updates, columns the groups.
    """
    import torch

    module = tool_sources.nemo_lr_scheduler()
    model = config.get("model", config)
    optim = copy.deepcopy(model["optim"])
    sched = optim["sched"]
    trainer = config.get("trainer")
    loader = None
    if trainer is not None:
        if trainer.get("max_steps", -1) < 0:
            sched.update(t_max_epochs=trainer["max_epochs"], t_num_workers=1)
            sched.update(t_accumulate_grad_batches=trainer.get("accumulate_grad_batches", 1))
            sched.update(t_limit_train_batches=trainer.get("limit_train_batches", 1.0))
            batch = model["train_ds"]["batch_size"]
            loader = torch.utils.data.DataLoader(range(dataset_size or 0), batch_size=batch)
        else:
            sched["max_steps"] = trainer["max_steps"]
    first, second = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [first]}, {"params": [second]}], lr=optim["lr"])
    found = module.prepare_lr_scheduler(optimizer, sched, loader)
    assert found is not None and found["interval"] == "step", tool_sources.NEMO_LOG[-3:]
    scheduler, groups = found["scheduler"], optimizer.param_groups
    rates = []
    with warnings.catch_warnings():  # torch: lr_scheduler.step() before optimizer.step() (no update is made here)
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(scheduler.max_steps):
            rates.append((groups[0]["lr"], groups[1]["lr"]))
            scheduler.step()
    return np.array(rates, dtype=np.float64).reshape(-1, 2)


def assert_nemo_parity(imported, theirs: np.ndarray) -> None:
    assert imported.total_steps == theirs.shape[0]
    assert close(theirs[:, 0], theirs[:, 1])
    assert close(imported.lrs, theirs[:, 0])
    if imported.spec is not None:
        assert close(parse(imported.spec).values(np.arange(theirs.shape[0])) * imported.peak_lr, theirs[:, 0])
    else:
        assert "not-exact" in kinds(imported)


NEMO_NAMES = [
    "WarmupPolicy",
    "WarmupHoldPolicy",
    "WarmupAnnealing",
    "CosineAnnealing",
    "SquareAnnealing",
    "SquareRootAnnealing",
    "InverseSquareRootAnnealing",
    "PolynomialDecayAnnealing",
    "PolynomialHoldDecayAnnealing",
    "WarmupHoldAnnealOneMinusSquareRoot",
    "WarmupHoldAnnealLinear",
    "NoamAnnealing",
]


@st.composite
def nemo_configs(draw: st.DrawFn) -> dict:
    name = draw(st.sampled_from(NEMO_NAMES))
    total = draw(st.sampled_from([50, 333, 2000]))
    lr = draw(st.sampled_from([1e-3, 0.05]))
    sched: dict = {"name": name, "min_lr": draw(st.sampled_from([0.0, lr / 20]))}
    if draw(st.booleans()):
        sched["warmup_steps"] = draw(st.sampled_from([1, 10, total // 7]))
    else:
        sched["warmup_ratio"] = draw(st.sampled_from([0.01, 0.013, 0.1]))
    if "Hold" in name and draw(st.booleans()):
        sched["hold_steps"] = draw(st.sampled_from([0, total // 4]))
    if name == "CosineAnnealing" and draw(st.booleans()):
        sched["constant_steps"] = draw(st.sampled_from([5, total // 5]))
    if name.startswith("Polynomial"):
        sched.update(power=draw(st.sampled_from([1.0, 2.0, 0.5])), cycle=draw(st.booleans()))
    if name == "NoamAnnealing":
        sched["d_model"] = 512
    if draw(st.booleans()):  # the ``args: {params: ...}`` form (prepare_lr_scheduler's docstring)
        params = {key: value for key, value in sched.items() if key != "name"}
        sched = {"name": name, "args": {"params": params}}
    return {"trainer": {"max_steps": total}, "model": {"optim": {"name": "adamw", "lr": lr, "sched": sched}}}


@settings(max_examples=150, deadline=None, derandomize=True)
@given(nemo_configs())
def test_nemo_parity_with_its_own_schedulers(config: dict) -> None:
    theirs = nemo_train_rates(config)
    imported = inspect_text(json.dumps(config), "nemo.json", "auto", RunSize())
    name = config["model"]["optim"]["sched"]["name"]
    assert imported.source == f"nemo ({name})"
    assert_nemo_parity(imported, theirs)
    # the clip at min_lr is floor=, a decay timed from step 0 is skip=: every scheduler is exact, but a
    # polynomial that restarts (cycle: true), PolynomialHoldDecayAnnealing whose decay (from step 0, without
    # hold_steps) is over before its warmup ends, and a NoamAnnealing min_lr above its top
    sched = config["model"]["optim"]["sched"]
    params = sched.get("args", {}).get("params", sched)
    total = config["trainer"]["max_steps"]
    warmup = params.get("warmup_steps") or int(params.get("warmup_ratio", 0) * total)
    over = name == "PolynomialHoldDecayAnnealing" and "hold_steps" not in params and total - 2 * warmup < 2
    above = name == "NoamAnnealing" and params["min_lr"] > imported.peak_lr
    if not params.get("cycle") and not over and not above:
        assert imported.spec is not None, imported.findings


@pytest.mark.parametrize("name", ["CosineAnnealing", "SquareAnnealing", "WarmupHoldPolicy"])
def test_nemo_args_with_a_name_runs_the_defaults(name: str) -> None:
    # NeMo 2.6.2: prepare_lr_scheduler first runs maybe_update_config_version, which moves args.params up into
    # args; then args.name (auto) looks up {name}Params with no overrides: the params given are dropped
    params = {"warmup_steps": 20, "min_lr": 1e-4}
    sched = {"name": name, "args": {"name": "auto", "params": params}}
    config = {"trainer": {"max_steps": 200}, "model": {"optim": {"lr": 1e-3, "sched": sched}}}
    theirs = nemo_train_rates(config)
    imported = inspect_text(json.dumps(config), "nemo.json", "auto", RunSize())
    assert_nemo_parity(imported, theirs)
    assert "params-ignored" in kinds(imported)
    assert theirs[0, 0] == pytest.approx(1e-3)  # no warmup: the defaults
    # without args.name, args (its params moved up) are the scheduler's keywords: the block's own are dropped
    sched = {"name": name, "warmup_steps": 20, "args": {"params": {"min_lr": 1e-4, "warmup_ratio": 0.05}}}
    config["model"]["optim"]["sched"] = sched
    imported = inspect_text(json.dumps(config), "nemo.json", "auto", RunSize())
    assert_nemo_parity(imported, nemo_train_rates(config))
    assert "params-ignored" in kinds(imported) and "warmup_steps" in imported.findings[0].message


def nemo_example(path: str, dataset_size: int | None = None) -> tuple[object, np.ndarray]:
    """An example config, read by ``rampup inspect`` and, loaded by OmegaConf as NeMo loads it, run through
    NeMo's own ``prepare_lr_scheduler``."""
    from omegaconf import OmegaConf

    config = OmegaConf.to_container(OmegaConf.load(DATA / "nemo" / path), resolve=False)
    size = RunSize(dataset_size=dataset_size) if dataset_size else RunSize()
    return inspect_file(str(DATA / "nemo" / path), size=size), nemo_train_rates(config, dataset_size)


@pytest.mark.parametrize(
    ("path", "dataset_size"),
    [
        ("fastconformer_cosine.yaml", 28539),
        ("hold_anneal_no_hold_steps.yaml", None),
        ("max_steps_in_micro_batches.yaml", None),
        ("megatron_t5_warmup_annealing.yaml", None),
        ("noam_min_lr.yaml", None),
        ("square_annealing_min_lr.yaml", None),
        ("squareroot_annealing.yaml", None),
        ("wsd_one_minus_sqrt.yaml", None),
    ],
)
def test_nemo_examples_parity_with_its_own_schedulers(path: str, dataset_size: int | None) -> None:
    imported, theirs = nemo_example(path, dataset_size)
    assert_nemo_parity(imported, theirs)
    assert imported.spec is not None


def test_nemo_examples() -> None:
    cosine = inspect_file(str(DATA / "nemo" / "fastconformer_cosine.yaml"), size=RunSize(dataset_size=28539))
    # max_steps -1: ceil(28539 / 16) = 1784 updates per epoch (one worker), 50 epochs
    assert cosine.total_steps == 1784 * 50
    assert cosine.spec == "linear(5000, from=0.0001999600079984003) -> cosine(84200, to=0.05)"
    assert "warmup-starts-above-zero" in kinds(cosine)
    t5 = inspect_file(str(DATA / "nemo" / "megatron_t5_warmup_annealing.yaml"))
    assert t5.spec == "linear(1000, from=0.000999000999001) -> linear(99000, to=0.1)"
    root = inspect_file(str(DATA / "nemo" / "squareroot_annealing.yaml"))
    # timed from step 0: after the warmup's last step (W, at the peak) the decay runs 1001 steps in (skip=);
    # clipped at min_lr 1e-4 of lr 0.05 (floor=), which sqrt((T - s) / T) never reaches within the run
    assert root.spec == (
        "linear(1000, from=0.000999000999001) -> constant(1) -> polynomial(18999, power=0.5, skip=1001, floor=0.002)"
    )
    assert "floor-clip" not in kinds(root) and "not-exact" not in kinds(root)
    square = inspect_file(str(DATA / "nemo" / "square_annealing_min_lr.yaml"))
    assert square.spec == "linear(400, from=0.0024937655860349127) -> polynomial(7600, power=2, floor=0.01)"
    assert "floor-clip" in kinds(square) and square.lrs[-1] == pytest.approx(2e-5)
    noam = inspect_file(str(DATA / "nemo" / "noam_min_lr.yaml"))
    assert noam.spec is not None and "floor=" in noam.spec
    assert {"noam-scaled-peak", "floor-clip"} <= kinds(noam)
    hold = inspect_file(str(DATA / "nemo" / "hold_anneal_no_hold_steps.yaml"))
    assert hold.spec == "linear(2000, from=0.000499750124938) -> constant(1) -> 1-sqrt(97999, skip=2001, floor=0.1)"
    assert {"anneal-from-step-0", "floor-clip"} <= kinds(hold)
    wsd = inspect_file(str(DATA / "nemo" / "wsd_one_minus_sqrt.yaml"))
    assert wsd.spec == "linear(500, from=0.00199600798403) -> constant(8000) -> 1-sqrt(1500)"


def test_nemo_floors_ratios_and_clips() -> None:
    text = "optim:\n  lr: 1e-3\n  sched:\n    name: SquareAnnealing\n    warmup_ratio: 0.0125\n    max_steps: 1000\n"
    imported = inspect_text(text, "n.yaml", "auto", RunSize())
    assert {"ratio-rounding", "default-min-lr", "floor-clip"} <= kinds(imported)
    assert imported.spec == "linear(12, from=0.0769230769231) -> polynomial(988, power=2, floor=0.01)"
    assert imported.lrs[-1] == pytest.approx(1e-5)  # clipped at min_lr 1e-5, not decayed towards it
    over = "trainer:\n  max_steps: 500\nmodel:\n  optim:\n    lr: 1e-3\n    sched:\n      name: CosineAnnealing\n"
    over += "      max_steps: 800\n"
    assert "max-steps-override" in kinds(inspect_text(over, "n.yaml", "nemo", RunSize()))
    hold = "optim:\n  lr: 1e-3\n  sched:\n    name: WarmupHoldAnnealLinear\n    warmup_steps: 50\n    max_steps: 500\n"
    assert "anneal-from-step-0" in kinds(inspect_text(hold, "n.yaml", "nemo", RunSize()))


# --------------------------------------------------------------------------- exports, read back


@pytest.mark.parametrize(
    ("spec", "target", "total", "per_epoch", "name"),
    [
        ("linear(100) -> cosine(900)", "llamafactory", None, None, "x.yaml"),
        ("linear(100, from=0.1) -> constant(700) -> 1-sqrt(200, to=0.1)", "llamafactory", None, None, "x.yaml"),
        ("linear(50) -> constant", "llamafactory", 400, None, "x.yaml"),
        ("linear(500) -> cosine(2500, to=0.1)", "timm", None, 100, "x.sh"),
        ("linear(200, from=0.01) -> polynomial(1800, power=2)", "timm", 2400, 200, "x.sh"),
        ("linear(100, from=0.01) -> step(every=300, gamma=0.5)", "timm", 1000, 100, "x.sh"),
        # per-epoch stepping (per=), no --warmup-prefix (skip=), tanh, k-decay
        ("linear(500, from=0.01, per=100) -> cosine(2500, to=0.1, per=100)", "timm", None, 100, "x.sh"),
        ("linear(300) -> cosine(2700, skip=300, to=0.05)", "timm", None, 100, "x.sh"),
        ("linear(200, per=100) -> cosine(1800, skip=200, per=100) -> constant", "timm", 2400, 100, "x.sh"),
        ("linear(200, from=0.01) -> tanh(1800, to=0.05)", "timm", None, 200, "x.sh"),
        ("linear(100, per=50) -> tanh(900, per=50) -> constant", "timm", 1200, 50, "x.sh"),
        ("linear(100) -> cosine(900, k=2)", "timm", None, 100, "x.sh"),
        ("linear(100) -> polynomial(900, power=2, k=0.5, to=0.1)", "timm", None, 100, "x.sh"),
        ("linear(100, per=100) -> step(every=300, gamma=0.5, skip=100, per=100)", "timm", 1000, 100, "x.sh"),
        # timm 1.0.31: --sched wsd (a stable phase then linear, 1-sqrt or cosine) and --sched constant
        ("linear(500, from=0.01) -> constant(1500) -> 1-sqrt(1000, to=0.1)", "timm", None, 100, "x.sh"),
        ("linear(200, per=100) -> constant(600) -> linear(200, per=100) -> constant", "timm", 1200, 100, "x.sh"),
        ("linear(100) -> constant(200) -> cosine(300, to=0.2)", "timm", None, 100, "x.sh"),
        ("linear(100, from=0.1) -> constant", "timm", 1000, 100, "x.sh"),
        ("linear(100, from=0.009900990099009901) -> cosine(900, to=0.1)", "nemo", None, None, "x.yaml"),
        ("linear(100) -> cosine(800, to=0.1) -> constant", "nemo", 1000, None, "x.yaml"),
        ("linear(100, from=0.009900990099009901) -> constant(700) -> 1-sqrt(200)", "nemo", None, None, "x.yaml"),
        ("linear(20, from=0.047619047619047616) -> inverse-sqrt(timescale=21)", "nemo", 300, None, "x.yaml"),
        # floor=: NeMo's clip at min_lr
        ("linear(100, from=0.009900990099009901) -> polynomial(900, power=2, floor=0.1)", "nemo", None, None, "x.yaml"),
        (
            "linear(100, from=0.009900990099009901) -> constant(400) -> 1-sqrt(500, floor=0.2)",
            "nemo",
            None,
            None,
            "y.yaml",
        ),
    ],
)
def test_export_then_inspect_gives_the_same_rates(
    spec: str, target: str, total: int | None, per_epoch: int | None, name: str
) -> None:
    text = export(spec, target, total_steps=total, peak_lr=3e-4, steps_per_epoch=per_epoch)
    schedule = parse(spec).resolve(total)
    n = schedule.total_steps
    fmt = "llamafactory" if target == "llamafactory" else "auto"  # its keys are pasted into a config with stage: ...
    back = inspect_text(text, name, fmt, RunSize(total_steps=n))
    assert back.source.split(" ")[0] == target and back.total_steps == n
    assert close(back.lrs, 3e-4 * schedule.values(np.arange(n)))
    assert back.spec is not None


@pytest.mark.parametrize(
    ("spec", "target", "options", "nearest"),
    [
        ("linear(100) -> cosine(900)", "nemo", {}, r"linear\(100, from=0\.00990099009901\) -> cosine\(900\)"),
        ("linear(5%) -> cosine", "timm", {"total_steps": 1000, "steps_per_epoch": 100}, r"linear\(100\) -> cosine"),
        ("exponential(100) -> cosine(900)", "llamafactory", {}, r"linear\(100\) -> cosine\(900\)"),
    ],
)
def test_export_refuses_with_the_nearest_exact_spec(spec: str, target: str, options: dict, nearest: str) -> None:
    with pytest.raises(RampupError, match=f"nearest exact spec is {nearest}"):
        export(spec, target, peak_lr=3e-4, **options)


@pytest.mark.parametrize(
    ("spec", "total", "per_epoch"),
    [
        ("linear(500, from=0.01) -> constant(1500) -> 1-sqrt(1000, to=0.1)", None, 100),
        ("linear(200, per=100) -> constant(600) -> linear(200, per=100) -> constant", 1200, 100),
        ("linear(100) -> constant(200) -> cosine(300, to=0.2)", None, 100),
        ("linear(100, from=0.1) -> constant", 1000, 100),
    ],
)
def test_timm_wsd_and_constant_exports_run_in_timm(spec: str, total: int | None, per_epoch: int) -> None:
    """The exported flags, through timm's own create_scheduler_v2 (as train.py parses them), give the spec's rates."""
    text = export(spec, "timm", total_steps=total, peak_lr=3e-4, steps_per_epoch=per_epoch)
    assert re.search(r"--sched (wsd|constant)\b", text)
    flags = timm_conventions.parse_flags(text, "x.sh")
    args = dict(flags)  # the switches are True
    for key in ("lr", "warmup_lr", "min_lr", "decay_epochs"):
        if key in args:
            args[key] = float(args[key])
    for key in ("epochs", "warmup_epochs", "cooldown_epochs"):
        if key in args:
            args[key] = int(args[key])
    theirs = timm_train_rates(args, per_epoch)
    schedule = parse(spec).resolve(total)
    assert close(theirs[:, 0], 3e-4 * schedule.values(np.arange(schedule.total_steps)))


def test_timm_export_needs_the_epoch_length() -> None:
    with pytest.raises(RampupError, match="steps-per-epoch"):
        export("linear(100) -> cosine(900)", "timm", peak_lr=1e-3)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "name", "fmt", "match"),
    [
        ("stage: sft\nlearning_rate: 1e-5\nstreaming: true\n", "a.yaml", "llamafactory", "max_steps"),
        (
            "stage: sft\nlr_scheduler_type: warmup_stable_decay\nmax_steps: 9\nlr_scheduler_kwargs: {stable: 3}\n",
            "a.yaml",
            "llamafactory",
            "stable",
        ),
        (
            "stage: sft\nlr_scheduler_type: warmup_stable_decay\nmax_steps: 9\nlr_scheduler_kwargs: {decay_type: x}\n",
            "a.yaml",
            "llamafactory",
            "decay_type",
        ),
        ("train.py --sched cosine --warmup-epoch 5", "a.sh", "timm", "--warmup-epoch"),
        ("train.py --sched cosine --epochs 10 --lr-noise 0.4 0.9", "a.sh", "timm", "lr_noise"),
        ("train.py --sched plateau --sched-on-updates --epochs 10", "a.sh", "timm", "sched_on_updates"),
        ("train.py --sched cosine --epochs 7", "a.sh", "timm", "multiple"),
        ("train.py --sched onecycle --epochs 10", "a.sh", "timm", "sched"),
        (
            "optim:\n  lr: 1\n  sched:\n    name: CosineAnnealing\n    warmup_steps: 5\n    warmup_ratio: 0.1\n",
            "a.yaml",
            "nemo",
            "warmup_ratio",
        ),
        ("optim:\n  lr: 1\n  sched:\n    name: CosineAnnealing\n    hold_steps: 5\n", "a.yaml", "nemo", "hold_steps"),
        ("optim:\n  lr: 1\n  sched:\n    name: CyclicLR\n", "a.yaml", "nemo", "CyclicLR"),
        ("optim:\n  lr: 1e-5\n  sched:\n    name: WarmupAnnealing\n    min_lr: 1e-3\n", "a.yaml", "nemo", "min_lr"),
    ],
)
def test_bad_input_is_one_error_naming_the_key(text: str, name: str, fmt: str, match: str) -> None:
    with pytest.raises(RampupError, match=match) as caught:
        inspect_text(text, name, fmt, RunSize(total_steps=100))
    line = caught.value.line()
    assert "\n" not in line and (name in line or line.startswith("--"))


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", str(DATA / "timm" / "seresnet34_cosine.sh")],  # no run size: timm counts epochs
        ["inspect", str(DATA / "nemo" / "fastconformer_cosine.yaml")],
        ["export", "linear(100) -> cosine(900)", "--to", "nemo"],
    ],
)
def test_cli_bad_input_is_one_error_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    cli_helpers.cli_error(capsys, *args)


def test_cli_reads_each_new_format(capsys: pytest.CaptureFixture[str]) -> None:
    for path, extra, source in [
        (DATA / "llamafactory" / "qwen3_full_wsd.yaml", [], "llamafactory"),
        (DATA / "timm" / "vit_small_updates.sh", ["--dataset-size", "1281167"], "timm"),
        (DATA / "nemo" / "wsd_one_minus_sqrt.yaml", [], "nemo (WarmupHoldAnnealOneMinusSquareRoot)"),
    ]:
        code, out, err = cli_helpers.run_cli(capsys, "inspect", str(path), "--json", *extra)
        data = json.loads(out)
        assert code == 0 and err == "" and data["source"] == source and len(data["lrs"]) == data["total_steps"]


# --------------------------------------------------------------------------- the tools' own code


def test_the_tools_installed_are_the_versions_pinned() -> None:
    """docs/inspect.md names these versions; tests/tool_sources.py loads their files."""
    from importlib.metadata import PackageNotFoundError, version

    pins = Path(__file__).with_name("tools-no-deps.txt").read_text().split("\n")
    for line in (line.strip() for line in pins):
        if line and not line.startswith("#"):
            name, _, pinned = line.partition("==")
            try:
                found = version(name)
            except PackageNotFoundError:
                found = None
            assert found == pinned, f"{name} {found} is installed, {pinned} is pinned: run `{tool_sources.INSTALL}`"


def test_a_missing_tool_fails_with_the_install_command() -> None:
    with pytest.raises(tool_sources.MissingTool, match=re.escape(tool_sources.INSTALL)):
        tool_sources.package_dir("no_such_tool_here")
