"""rampup inspect (issue 12): parity with each tool's own scheduler code, example configs, findings, exports, errors.

Parity is checked against the real libraries: DeepSpeed's ``deepspeed.runtime.lr_schedules``, megatron-core's
``OptimizerParamScheduler`` and transformers' ``get_scheduler`` (the ``dev`` extra); Axolotl 0.19.0's own
``axolotl/utils/schedulers.py`` and ``_configure_warmup_and_logging`` (installed without its dependencies,
loaded from its files by tests/tool_sources.py). Within 1e-9 relative, float64, at every update.
"""

from __future__ import annotations

import json
import math
import random
import warnings
from pathlib import Path
from types import SimpleNamespace

import cli_helpers
import numpy as np
import pytest
import tool_sources
from hypothesis import given, settings
from hypothesis import strategies as st

from rampup import parse
from rampup.conventions import RunSize
from rampup.conventions import axolotl as axolotl_conventions
from rampup.conventions import deepspeed as ds_conventions
from rampup.conventions import hf as hf_conventions
from rampup.conventions import megatron as megatron_conventions
from rampup.errors import RampupError
from rampup.export import export
from rampup.inspect import inspect_file, inspect_text

DATA = Path(__file__).parent / "data"


def close(ours: np.ndarray, theirs: np.ndarray) -> bool:
    return bool(np.all(np.abs(np.asarray(ours) - np.asarray(theirs)) <= 1e-9 * np.abs(theirs) + 1e-15))


def kinds(imported) -> set[str]:
    return {item.kind for item in imported.findings}


# --------------------------------------------------------------------------- the spec language's additions


def test_log_warmup_and_delay_round_trip() -> None:
    for text in (
        "log(100) -> cosine(900, to=0.1)",
        "log(9, delay=1, from=0.1) -> constant",
        "linear(11, delay=1) -> linear(5)",
    ):
        schedule = parse(text)
        assert str(schedule) == text and parse(str(schedule)) == schedule
    s = parse("log(9) -> constant")
    assert s(0) == 0.0 and s(8) == pytest.approx(math.log(9) / math.log(10)) and s(9) == 1.0
    delayed = parse("linear(11, delay=1) -> constant")
    assert [delayed(k) for k in (0, 1, 2, 11)] == [0.0, 0.0, 0.1, 1.0]
    with pytest.raises(RampupError, match="delay"):
        parse("linear(10, delay=0.5)")


# --------------------------------------------------------------------------- DeepSpeed, against DeepSpeed itself


def run_deepspeed(kind: str, params: dict, updates: int, lr: float) -> np.ndarray:
    """The rate of each update: read the optimizer's lr, update, then scheduler.step() (as DeepSpeed's engine does)."""
    torch = pytest.importorskip("torch")
    ds = pytest.importorskip("deepspeed.runtime.lr_schedules")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = getattr(ds, kind)(optimizer, **params)
        rates = []
        for _ in range(updates):
            rates.append(optimizer.param_groups[0]["lr"])
            scheduler.step()
    return np.array(rates, dtype=np.float64)


@pytest.mark.parametrize("seed", range(24))
def test_deepspeed_parity_at_every_update(seed: int) -> None:
    rng = random.Random(seed)
    kind = ds_conventions.TYPES[seed % 3]
    warmup = rng.choice([1, 2, 3, 10, 57, 200])
    total = warmup + rng.choice([1, 5, 100, 333])
    peak = rng.choice([1e-4, 3e-4, 0.02])
    warmup_type = rng.choice(["log", "linear"])
    if kind == "WarmupCosineLR":
        params = {"total_num_steps": total, "warmup_num_steps": warmup, "warmup_type": warmup_type}
        params["cos_min_ratio"] = rng.choice([0.0, 0.0001, 0.1])
        params["warmup_min_ratio"] = rng.choice([0.0, 0.0, 0.05])
    else:
        params = {"warmup_num_steps": warmup, "warmup_type": warmup_type, "warmup_max_lr": peak}
        params["warmup_min_lr"] = rng.choice([0.0, peak / 10])
        if kind == "WarmupDecayLR":
            params["total_num_steps"] = total
    updates = total + 20
    theirs = run_deepspeed(kind, params, updates, peak) / peak
    block = {"scheduler": {"type": kind, "params": params}, "optimizer": {"params": {"lr": peak}}}
    imported = inspect_text(json.dumps(block), "ds.json", "deepspeed", RunSize(total_steps=updates))
    assert imported.peak_lr == peak
    assert close(imported.multipliers, theirs)
    if imported.spec is not None:  # the spec, when given, is exact at every update
        assert close(parse(imported.spec).values(np.arange(updates)), theirs)
    else:
        assert "not-exact" in kinds(imported)
    exact_expected = not (kind == "WarmupCosineLR" and (warmup_type == "linear" or params["warmup_min_ratio"]))
    if exact_expected and total > max(2, warmup):
        assert imported.spec is not None, imported.findings


def test_deepspeed_log_default_and_one_update_late() -> None:
    imported = inspect_file(str(DATA / "deepspeed" / "warmup_lr_default_log.json"), size=RunSize(total_steps=1500))
    assert imported.spec == "log(1000, delay=1) -> constant"
    assert {"log-warmup", "one-update-late", "zero-first-update"} <= kinds(imported)
    assert imported.lrs[0] == imported.lrs[1] == 0.0
    assert imported.lrs[32] == pytest.approx(1.5e-4 * math.log(32) / math.log(1000))


# --------------------------------------------------------------------------- Megatron, against megatron-core


def run_megatron(settings: dict, updates: int) -> np.ndarray:
    torch = pytest.importorskip("torch")
    core = pytest.importorskip("megatron.core.optimizer_param_scheduler")
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    g = settings["batch"]
    decay = settings["decay"] * g
    warmup = settings["fraction"] * decay if settings["fraction"] is not None else settings["warmup_iters"] * g
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scheduler = core.OptimizerParamScheduler(
            optimizer,
            init_lr=settings["init_lr"],
            max_lr=settings["lr"],
            min_lr=settings["min_lr"],
            lr_warmup_steps=warmup,
            lr_decay_steps=decay,
            lr_decay_style=settings["style"],
            start_wd=0.0,
            end_wd=0.0,
            wd_incr_steps=updates * g,
            wd_incr_style="constant",
            wsd_decay_steps=None if settings["wsd"] is None else settings["wsd"] * g,
            lr_wsd_decay_style=settings["wsd_style"],
        )
        rates = []
        for _ in range(updates):
            rates.append(optimizer.param_groups[0]["lr"])
            scheduler.step(increment=g)
    return np.array(rates, dtype=np.float64)


@pytest.mark.parametrize("seed", range(30))
def test_megatron_parity_at_every_update(seed: int) -> None:
    rng = random.Random(seed)
    style = megatron_conventions.STYLES[seed % 5]
    train = rng.choice([50, 300, 1000])
    decay = rng.choice([train, train - 20, train + 50])
    flags = [f"--lr {rng.choice(['3e-4', '6.0e-4', '0.01'])}", f"--train-iters {train}", f"--lr-decay-iters {decay}"]
    flags.append(f"--global-batch-size {rng.choice([1, 8, 512])}")
    flags.append(f"--lr-decay-style {style}")
    if rng.random() < 0.5:
        flags.append(f"--lr-warmup-iters {rng.choice([0, 1, 10, 37])}")
    else:
        flags.append(f"--lr-warmup-fraction {rng.choice(['0.01', '0.013', '0.1'])}")
    if style != "inverse-square-root" or rng.random() < 0.5:
        flags.append(f"--min-lr {rng.choice(['0', '3e-6', '6e-5'])}")
    if rng.random() < 0.3:
        flags.append("--lr-warmup-init 1e-6")
    if style == "WSD":
        flags.append(f"--lr-wsd-decay-iters {rng.choice([1, 10, 20])}")
        flags.append(f"--lr-wsd-decay-style {megatron_conventions.WSD_STYLES[seed % 4]}")
    text = " \\\n  ".join(["pretrain_gpt.py", *flags])
    settings = megatron_conventions._settings(megatron_conventions.parse_flags(text, "args"), "args")
    theirs = run_megatron(settings, train)
    imported = megatron_conventions.import_args(text, "args")
    assert close(imported.lrs, theirs)
    if imported.spec is not None:
        assert close(settings["lr"] * parse(imported.spec).values(np.arange(train)), theirs)
    else:
        assert "not-exact" in kinds(imported)
    fraction = settings["fraction"]
    whole_warmup = fraction is None or abs(fraction * decay - round(fraction * decay)) < 1e-9
    if style == "inverse-square-root" and decay >= train and whole_warmup:
        # max(min_lr, lr * sqrt(W / n)): --min-lr is the clip floor= (megatron-core's own scheduler, stepped)
        assert imported.spec is not None, imported.findings
        assert ("floor=" in imported.spec) == (settings["min_lr"] > 0)


def test_megatron_inverse_sqrt_with_min_lr_is_a_clip() -> None:
    text = "--lr 1e-3 --min-lr 2e-4 --lr-decay-style inverse-square-root --lr-warmup-iters 100 --train-iters 5000"
    imported = megatron_conventions.import_args(text, "args")
    assert imported.spec == "linear(100) -> inverse-sqrt(floor=0.2)"
    settings = megatron_conventions._settings(megatron_conventions.parse_flags(text, "args"), "args")
    assert close(imported.lrs, run_megatron(settings, 5000)) and imported.lrs[-1] == pytest.approx(2e-4)


def test_megatron_examples() -> None:
    gpt = inspect_file(str(DATA / "megatron" / "gpt3_cosine.sh"))
    assert gpt.spec == "linear(43) -> cosine(4257, to=0.1)" and "decay-includes-warmup" in kinds(gpt)
    wsd = inspect_file(str(DATA / "megatron" / "wsd.args"))
    assert wsd.spec == "linear(100) -> constant(2300) -> 1-sqrt(600, to=0.1)"
    exponential = inspect_file(str(DATA / "megatron" / "wsd_default_exponential.args"))
    assert exponential.spec is None and "not-exact" in kinds(exponential)
    odd = megatron_conventions.import_args("--lr 1e-3 --train-iters 1000 --lr-warmup-fraction 0.0125", "args")
    assert "ratio-rounding" in kinds(odd) and odd.spec is None  # 12.5 iterations of warmup


# --------------------------------------------------------------------------- Hugging Face, against transformers


@pytest.mark.parametrize("name", list(hf_conventions.SCHEDULERS))
def test_hf_parity_at_every_update(name: str) -> None:
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    rng = random.Random(name)
    for _ in range(6):
        total = rng.choice([10, 97, 500])
        warmup = rng.choice([0, 1, 7, total // 3, 0.03, 0.1])
        kwargs: dict = {}
        if name in ("cosine", "cosine_with_min_lr", "cosine_with_restarts"):
            kwargs["num_cycles"] = rng.choice([0.5, 1.0, 2.0] if name == "cosine_with_restarts" else [0.5, 0.75])
        if name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
            kwargs["min_lr_rate"] = rng.choice([0.0, 0.1])
        if name == "cosine_warmup_with_min_lr":
            kwargs["num_cycles"] = rng.choice([0.5, 0.75])
            if rng.random() < 0.4:
                kwargs["min_lr"] = kwargs.pop("min_lr_rate") * 3e-4
            if rng.random() < 0.5:
                kwargs["warmup_lr_rate"] = rng.choice([0.0, 0.05, 0.2])
        if name == "polynomial":
            kwargs.update(lr_end=1e-6, power=rng.choice([1.0, 2.0]))
        peak = 3e-4
        w = hf_conventions.warmup_steps(warmup, total)
        if name == "polynomial" and w >= total:
            continue
        optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=peak)
        scheduler = transformers.get_scheduler(
            name, optimizer, num_warmup_steps=w, num_training_steps=total, scheduler_specific_kwargs=kwargs
        )
        theirs = np.array([scheduler.lr_lambdas[0](step) for step in range(total)], dtype=np.float64)
        config = {"learning_rate": peak, "lr_scheduler_type": name, "warmup_steps": warmup, "max_steps": total}
        config["lr_scheduler_kwargs"] = kwargs
        imported = inspect_text(json.dumps(config), "args.json", "hf", RunSize())
        assert close(imported.multipliers, theirs)
        assert imported.spec is not None, imported.findings
        assert close(parse(imported.spec).values(np.arange(total)), theirs)


def test_hf_total_from_the_run_size_matches_trainer() -> None:
    transformers = pytest.importorskip("transformers")
    import rampup.hf

    for size, batch, accum, procs, epochs in [(1000, 8, 4, 1, 3.0), (999, 16, 3, 4, 1.5), (10, 32, 8, 2, 2.0)]:
        args = transformers.TrainingArguments(
            output_dir="out",
            per_device_train_batch_size=batch,
            gradient_accumulation_steps=accum,
            num_train_epochs=epochs,
            report_to=[],
        )
        expected = rampup.hf.trainer_total_steps(args, size, world_size=procs)
        assert hf_conventions.total_steps(size, batch, accum, procs, epochs) == expected


def test_hf_examples_and_deepspeed_override() -> None:
    sft = inspect_file(str(DATA / "hf" / "sft_cosine_ratio.yaml"), size=RunSize(dataset_size=2000))
    assert sft.total_steps == 189 and sft.spec == "linear(6) -> cosine(183)"
    assert "ratio-rounding" in kinds(sft)
    assert inspect_file(str(DATA / "hf" / "trainer_linear.json")).spec == "linear(500) -> linear(9500)"
    assert inspect_file(str(DATA / "hf" / "cosine_min_lr.yaml")).spec == "linear(100) -> cosine(1900, to=0.1)"
    assert "rises-again" in kinds(inspect_file(str(DATA / "hf" / "cosine_two_cycles.yaml")))
    over = inspect_file(str(DATA / "hf" / "with_deepspeed.yaml"))
    assert {"deepspeed-overrides", "log-warmup"} <= kinds(over)
    assert over.spec == "log(100, delay=1) -> constant(1) -> linear(900)"  # "auto" filled from the HF arguments
    theirs = run_deepspeed(
        "WarmupDecayLR", {"total_num_steps": 1000, "warmup_num_steps": 100, "warmup_max_lr": 3e-5}, 1000, 3e-5
    )
    assert close(over.lrs, theirs)


# --------------------------------------------------------------------------- Axolotl, against its own scheduler code


class AxolotlCfg(dict):
    """Axolotl's ``DictDefault`` as its builders read it: an attribute per key, None when missing."""

    def __getattr__(self, key: str):
        return self.get(key)


def axolotl_train_rates(config: dict, dataset_size: int | None) -> np.ndarray:
    """The rate of every update of an Axolotl SFT run, from Axolotl's own code (tests/tool_sources.py).

    Restated from axolotl 0.19.0 (the glue between its own functions): ``utils/data/sft.py`` makes the run
    ``total_num_steps = min(estimate, max_steps)`` (or the estimate), the estimate being
    ``calculate_total_num_steps``'s ``ceil(len(dataset) * num_epochs / batch_size)`` without sample packing
    (``batch_size = micro_batch_size * gradient_accumulation_steps``, one process); ``core/builders/base.py``
    gives Trainer ``max_steps = cfg.max_steps or total_num_steps``. Run as they are: Axolotl's
    ``_configure_warmup_and_logging(total_num_steps)`` for the warmup, transformers'
    ``TrainingArguments.get_warmup_steps``, and ``SchedulerMixin.create_scheduler``'s choice
    (``core/trainers/mixins/scheduler.py``) between Axolotl's ``get_cosine_schedule_with_quadratic_warmup``,
    ``..._warmup_decay_constant``, ``..._min_lr`` (``utils/schedulers.py``) and transformers' ``get_scheduler``.
    The ``LambdaLR`` is stepped once per update as Trainer does. Two parameter groups, the second at a tenth
    of the rate; rows are the updates, columns the groups.
    """
    import torch
    import transformers

    schedulers = tool_sources.axolotl_schedulers()
    cfg = AxolotlCfg(config)
    cfg.setdefault("num_epochs", 1)
    batch_size = cfg.get("micro_batch_size", 1) * cfg.get("gradient_accumulation_steps", 1)
    estimate = math.ceil(dataset_size * cfg.num_epochs / batch_size) if dataset_size is not None else cfg.max_steps
    total_num_steps = min(estimate, cfg.max_steps) if cfg.max_steps else estimate
    kwargs: dict = {}
    builder = SimpleNamespace(cfg=cfg)
    tool_sources.axolotl_configure_warmup()(builder, total_num_steps, kwargs)
    steps = cfg.max_steps or total_num_steps or -1
    warmup = transformers.TrainingArguments.get_warmup_steps(
        SimpleNamespace(warmup_steps=kwargs["warmup_steps"]), steps
    )
    lr = float(cfg.learning_rate)
    first, second = torch.nn.Parameter(torch.zeros(1)), torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([{"params": [first]}, {"params": [second], "lr": lr / 10}], lr=lr)
    kind = cfg.lr_scheduler or "cosine"
    min_ratio, constant_ratio = cfg.cosine_min_lr_ratio, cfg.cosine_constant_lr_ratio
    if kind == "cosine" and cfg.lr_quadratic_warmup is True:
        scheduler = schedulers.get_cosine_schedule_with_quadratic_warmup(optimizer, warmup, steps)
    elif kind == "cosine" and min_ratio is not None and min_ratio and constant_ratio:
        scheduler = schedulers.get_cosine_schedule_with_warmup_decay_constant(
            optimizer, warmup, steps, min_lr_ratio=min_ratio, constant_lr_ratio=constant_ratio
        )
    elif kind == "cosine" and min_ratio is not None and min_ratio:
        scheduler = schedulers.get_cosine_schedule_with_min_lr(optimizer, warmup, steps, min_lr_ratio=min_ratio)
    else:
        scheduler = transformers.get_scheduler(
            kind,
            optimizer,
            num_warmup_steps=warmup,
            num_training_steps=steps,
            scheduler_specific_kwargs=cfg.lr_scheduler_kwargs or {},
        )
    rates = []
    with warnings.catch_warnings():  # torch: lr_scheduler.step() before optimizer.step() (no update is made here)
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(steps):
            rates.append([group["lr"] for group in optimizer.param_groups])
            scheduler.step()
    return np.array(rates, dtype=np.float64).reshape(-1, 2)


def assert_axolotl_parity(imported, theirs: np.ndarray) -> None:
    assert imported.total_steps == theirs.shape[0]
    assert close(imported.lrs, theirs[:, 0])
    assert close(imported.lrs / 10, theirs[:, 1])
    if imported.spec is not None:
        assert close(parse(imported.spec).values(np.arange(theirs.shape[0])) * imported.peak_lr, theirs[:, 0])
    else:
        assert "not-exact" in kinds(imported)


@st.composite
def axolotl_configs(draw: st.DrawFn) -> tuple[dict, int]:
    config: dict = {"learning_rate": draw(st.sampled_from([2e-4, 1e-5]))}
    config["lr_scheduler"] = draw(st.sampled_from(["cosine", "cosine", "cosine", "linear", "constant_with_warmup"]))
    config["micro_batch_size"] = draw(st.sampled_from([1, 2, 4]))
    config["gradient_accumulation_steps"] = draw(st.sampled_from([1, 4]))
    config["num_epochs"] = draw(st.sampled_from([1, 2, 3]))
    warmup = draw(st.sampled_from(["steps", "ratio", "none"]))
    if warmup == "steps":
        config["warmup_steps"] = draw(st.sampled_from([0, 1, 2, 10, 75]))
    elif warmup == "ratio":
        config["warmup_ratio"] = draw(st.sampled_from([0.03, 0.05, 0.1]))
    if draw(st.booleans()):
        config["max_steps"] = draw(st.sampled_from([40, 189, 500, 1500]))
    if draw(st.booleans()):
        config["cosine_min_lr_ratio"] = draw(st.sampled_from([0.0, 0.05, 0.1]))
        if draw(st.booleans()):
            config["cosine_constant_lr_ratio"] = draw(st.sampled_from([0.5, 0.8]))
    if draw(st.booleans()):
        config["lr_quadratic_warmup"] = True
    return config, draw(st.sampled_from([300, 2000, 20_000]))


@settings(max_examples=120, deadline=None, derandomize=True)
@given(axolotl_configs())
def test_axolotl_parity_with_its_own_schedulers(case: tuple[dict, int]) -> None:
    config, dataset_size = case
    theirs = axolotl_train_rates(config, dataset_size)
    text = "".join(f"{key}: {json.dumps(value)}\n" for key, value in config.items())
    imported = inspect_text(text, "a.yml", "axolotl", RunSize(dataset_size=dataset_size))
    assert imported.source == "axolotl"
    assert_axolotl_parity(imported, theirs)
    if "warmup-longer-than-run" not in kinds(imported):
        assert imported.spec is not None, imported.findings


@pytest.mark.parametrize(
    ("path", "dataset_size"),
    [
        ("lora_cosine.yml", 2000),
        ("min_lr_ratio.yml", 2000),
        ("quadratic_warmup.yml", None),
        ("constant_ratio.yml", 2000),
        ("max_steps_in_micro_batches.yml", 2000),
    ],
)
def test_axolotl_examples_parity_with_its_own_schedulers(path: str, dataset_size: int | None) -> None:
    import yaml

    config = yaml.safe_load((DATA / "axolotl" / path).read_text())
    size = RunSize(dataset_size=dataset_size) if dataset_size else RunSize()
    imported = inspect_file(str(DATA / "axolotl" / path), size=size)
    assert_axolotl_parity(imported, axolotl_train_rates(config, dataset_size))
    assert imported.spec is not None


def test_axolotl_rounding_and_defaults() -> None:
    # base.py _configure_warmup_and_logging: floor a ratio, 3% capped at 100, 1 -> 2; the reader's and Axolotl's
    configure = tool_sources.axolotl_configure_warmup()
    for steps, ratio, total, expected in [
        (None, 0.03, 189, 5),
        (None, None, 500, 15),
        (None, None, 10_000, 100),
        (1, None, 500, 2),
    ]:
        assert axolotl_conventions.warmup_steps(steps, ratio, total) == expected
        kwargs: dict = {}
        configure(SimpleNamespace(cfg=AxolotlCfg(warmup_steps=steps, warmup_ratio=ratio)), total, kwargs)
        assert kwargs["warmup_steps"] == expected
    assert axolotl_conventions.total_steps(2000, 2, 2, 1, 1.0) == 500


def test_axolotl_examples() -> None:
    lora = inspect_file(str(DATA / "axolotl" / "lora_cosine.yml"), size=RunSize(dataset_size=2000))
    assert lora.spec == "linear(50) -> cosine(450)"
    one = inspect_file(str(DATA / "axolotl" / "min_lr_ratio.yml"), size=RunSize(dataset_size=2000))
    assert one.spec == "linear(2) -> cosine(248, to=0.1)" and "warmup-one-becomes-two" in kinds(one)
    quad = inspect_file(str(DATA / "axolotl" / "quadratic_warmup.yml"))
    assert quad.spec == "polynomial(75, power=2) -> cosine(1425)"
    const = inspect_file(str(DATA / "axolotl" / "constant_ratio.yml"), size=RunSize(dataset_size=2000))
    assert const.spec == "linear(22) -> cosine(578, to=0.05) -> constant" and "default-warmup" in kinds(const)
    over = inspect_file(str(DATA / "axolotl" / "with_deepspeed.yml"))
    assert "deepspeed-overrides" in kinds(over) and over.source.startswith("axolotl + deepspeed")
    ratio = inspect_text("learning_rate: 1e-4\nwarmup_ratio: 0.03\nmax_steps: 189\n", "a.yml", "axolotl", RunSize())
    assert ratio.spec == "linear(5) -> cosine(184)" and "ratio-rounding" in kinds(ratio)
    stream = "learning_rate: 1e-4\nstreaming: true\npretraining_dataset: c4\n"
    assert "iterable-no-max-steps" in kinds(inspect_text(stream, "s.yml", "axolotl", RunSize(total_steps=100)))
    with pytest.raises(RampupError, match="max_steps"):
        inspect_text(stream, "s.yml", "axolotl", RunSize())


# --------------------------------------------------------------------------- findings on any source


def test_warmup_longer_than_the_run() -> None:
    config = {"learning_rate": 1e-4, "lr_scheduler_type": "linear", "warmup_steps": 500, "max_steps": 300}
    imported = inspect_text(json.dumps(config), "a.json", "hf", RunSize())
    assert "warmup-longer-than-run" in kinds(imported)


# --------------------------------------------------------------------------- exports, read back


@pytest.mark.parametrize(
    ("spec", "target", "total", "name"),
    [
        ("log(100, delay=1) -> constant(1) -> linear(900)", "deepspeed", None, "x.json"),
        ("linear(101, from=0.1, delay=1) -> constant", "deepspeed", 1000, "x.json"),
        ("log(100, delay=1) -> cosine(2900, to=0.1)", "deepspeed", None, "x.json"),
        ("linear(100) -> cosine(900, to=0.1)", "megatron", None, "x.args"),
        ("linear(30, from=0.01) -> linear(470)", "megatron", None, "x.args"),
        ("linear(100) -> constant(2300) -> 1-sqrt(600, to=0.1)", "megatron", None, "x.args"),
        ("linear(50) -> cosine(450)", "axolotl", None, "x.yml"),
        ("linear(22) -> cosine(578, to=0.05) -> constant", "axolotl", 750, "x.yml"),
        ("polynomial(75, power=2) -> cosine(1425)", "axolotl", None, "x.yml"),
        ("linear(10) -> linear(90)", "axolotl", None, "x.yml"),
    ],
)
def test_export_then_inspect_gives_the_same_rates(spec: str, target: str, total: int | None, name: str) -> None:
    text = export(spec, target, total_steps=total, peak_lr=3e-4)
    schedule = parse(spec).resolve(total)
    n = total or schedule.total_steps
    if target == "deepspeed" and total is not None:
        back = inspect_text(text, name, target, RunSize(total_steps=n))
    else:
        back = inspect_text(text, name, target, RunSize())
    n = min(n, back.total_steps)
    assert close(back.lrs[:n], 3e-4 * schedule.values(np.arange(n)))


def test_export_refuses_with_the_nearest_exact_spec() -> None:
    with pytest.raises(RampupError, match=r"nearest exact spec is log\(50, delay=1\) -> cosine\(950\)"):
        export("linear(5%) -> cosine", "deepspeed", total_steps=1000)
    with pytest.raises(RampupError, match="nearest exact spec"):
        export("exponential(100) -> constant", "megatron", total_steps=1000)
    with pytest.raises(RampupError, match="nearest exact spec"):
        export("linear(10) -> inverse-sqrt(90)", "axolotl")


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("text", "name", "fmt", "match"),
    [
        ("{}", "a.json", "nemo", "sched"),
        ("{}", "a.json", "lightgbm", "--format"),
        ('{"scheduler": {"type": "WarmupLR", "params": {', "a.json", "auto", "malformed"),
        ("a: [1,\n", "a.yaml", "auto", "malformed"),
        ('{"scheduler": {"type": "WarmupLR", "params": {"warmup_steps": 10}}}', "a.json", "auto", "warmup_steps"),
        ('{"scheduler": {"type": "Noam"}}', "a.json", "auto", "scheduler.type"),
        ("learning_rate: 1e-4\nwarmup_step: 10\nmax_steps: 10\n", "a.yaml", "hf", "warmup_step"),
        ("learning_rate: 1e-4\nwarmup_steps: 10\nwarmup_ratio: 0.1\n", "a.yml", "axolotl", "warmup_ratio"),
        ("--lr 1e-3 --train-iters 100 --lr-warmup-iters 10 --lr-warmup-fraction 0.1", "a.args", "auto", "fraction"),
        ("--lr 1e-3 --train-iters 100 --lr-decay-style noam", "a.args", "auto", "noam"),
        ("--lr 1e-3 --train-samples 100000", "a.args", "megatron", "train-samples"),
        ("!!python/object/apply:os.system ['true']\n", "a.yaml", "auto", "malformed"),
    ],
)
def test_bad_input_is_one_error_naming_the_key(text: str, name: str, fmt: str, match: str) -> None:
    with pytest.raises(RampupError, match=match) as caught:
        inspect_text(text, name, fmt, RunSize(total_steps=100))
    assert "\n" not in caught.value.line()


def test_rampup_schedule_files(tmp_path: Path) -> None:
    (tmp_path / "s.json").write_text(json.dumps(parse("linear(10%) -> cosine").to_dict()))
    (tmp_path / "s.txt").write_text("linear(10%) -> cosine\n")
    (tmp_path / "s.toml").write_text('[[phases]]\ncurve = "linear"\nlength = "10%"\n[[phases]]\ncurve = "cosine"\n')
    for name in ("s.json", "s.txt", "s.toml"):
        imported = inspect_file(str(tmp_path / name), size=RunSize(total_steps=100))
        assert imported.spec == "linear(10) -> cosine(90)"


# --------------------------------------------------------------------------- the command line


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    return cli_helpers.run_cli(capsys, *args)


def test_cli_json_keys_and_text(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(["inspect", str(DATA / "megatron" / "wsd.args"), "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and set(data) == {"source", "spec", "peak_lr", "total_steps", "lrs", "findings"}
    assert len(data["lrs"]) == data["total_steps"] == 3000 and data["spec"].startswith("linear(100)")
    code, out, _ = run_cli(["inspect", str(DATA / "deepspeed" / "warmup_cosine.json")], capsys)
    assert code == 0 and "spec:      log(100, delay=1) -> cosine(2900, to=0.1)" in out and "[log-warmup]" in out


@pytest.mark.parametrize(
    "args",
    [
        ["inspect", "no/such/file.yaml"],
        ["inspect", str(DATA / "megatron" / "wsd.args"), "--format", "nemo"],
        ["inspect", str(DATA / "megatron" / "wsd.args"), "--format", "mmengine"],
        ["inspect", str(DATA / "deepspeed" / "warmup_decay_auto.json")],
        ["inspect", str(DATA / "hf" / "trainer_linear.json"), "--total-steps", "0"],
        ["inspect", str(DATA / "hf" / "trainer_linear.json"), "--plot", "out.xyz"],
        ["export", "linear(5%) -> cosine", "--to", "deepspeed", "-n", "1000"],
    ],
)
def test_cli_bad_input_is_one_error_line(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(args, capsys)
    assert code == 2 and out == "" and err.startswith("error: ") and err.count("\n") == 1


def test_cli_plot(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    target = tmp_path / "ds.png"
    code, out, _ = run_cli(["inspect", str(DATA / "hf" / "with_deepspeed.yaml"), "--plot", str(target)], capsys)
    assert code == 0 and target.stat().st_size > 1000 and f"plot:      {target}" in out


# --------------------------------------------------------------------------- counted in micro-batches, per process


def counted(imported) -> list[str]:
    return [item.message for item in imported.findings if item.kind.startswith("counted-")]


def test_deepspeed_total_counted_in_micro_batches() -> None:
    # 200k examples, 8 processes (train_batch_size 256 = 8 per GPU x 4 accumulated x 8), 3 epochs:
    # 3125 micro-batches per process and epoch, 9375 in all, 2343 optimizer updates
    path = str(DATA / "deepspeed" / "decay_total_in_micro_batches.json")
    imported = inspect_file(path, size=RunSize(dataset_size=200_000, epochs=3))
    assert imported.total_steps == 2343 and "counted-in-micro-batches" in kinds(imported)
    (message,) = counted(imported)
    assert "equals the micro-batches each process reads in 3 epochs" in message
    assert "total_num_steps 2343, warmup_num_steps 125" in message
    # the same run stated in updates: 9375 is not 2343 x 4 (DeepSpeed floors 9375 / 4), so no guess is made
    assert not counted(inspect_file(path, size=RunSize(total_steps=2343)))
    # consistent: total_num_steps in updates, or a run without accumulation and one process
    data = json.loads(Path(path).read_text())
    data["scheduler"]["params"].update(total_num_steps=2343, warmup_num_steps=125)
    fixed = inspect_text(json.dumps(data), "ds.json", "auto", RunSize(dataset_size=200_000, epochs=3))
    assert not counted(fixed) and "total-mismatch" not in kinds(fixed)
    single = {**data, "train_batch_size": 8, "gradient_accumulation_steps": 1}
    single["scheduler"]["params"].update(total_num_steps=75_000)
    assert not counted(inspect_text(json.dumps(single), "ds.json", "auto", RunSize(dataset_size=200_000, epochs=3)))


def test_deepspeed_total_counted_per_process() -> None:
    block = {
        "train_micro_batch_size_per_gpu": 16,
        "gradient_accumulation_steps": 1,
        "optimizer": {"params": {"lr": 1e-4}},
        "scheduler": {"type": "WarmupCosineLR", "params": {"total_num_steps": 8000, "warmup_num_steps": 400}},
    }
    imported = inspect_text(json.dumps(block), "ds.json", "deepspeed", RunSize(total_steps=1000, num_processes=8))
    assert "counted-per-process" in kinds(imported)
    assert "1000 updates x 8 processes" in counted(imported)[0]
    assert not counted(inspect_text(json.dumps(block), "ds.json", "deepspeed", RunSize(total_steps=8000)))


def test_deepspeed_batch_keys_that_contradict_the_processes_are_an_error() -> None:
    path = str(DATA / "deepspeed" / "decay_total_in_micro_batches.json")
    with pytest.raises(RampupError, match="train_batch_size"):
        inspect_file(path, size=RunSize(dataset_size=200_000, num_processes=4))


def test_hf_max_steps_counted_in_micro_batches() -> None:
    path = DATA / "hf" / "max_steps_in_micro_batches.yaml"
    imported = inspect_file(str(path), size=RunSize(dataset_size=20_000))
    (message,) = counted(imported)
    assert "max_steps 7500 equals the micro-batches each process reads in 3 epochs" in message
    assert "12 epochs instead of 3" in message and "max_steps 1875" in message
    assert imported.total_steps == 7500  # the run is what Trainer runs; the finding says what was likely meant
    # consistent: max_steps in updates; or no run size (nothing to compare with); or no epochs given
    text = path.read_text()
    assert not counted(inspect_text(text.replace("7500", "1875"), "a.yaml", "hf", RunSize(dataset_size=20_000)))
    assert not counted(inspect_file(str(path)))
    no_epochs = text.replace("num_train_epochs: 3\n", "")
    assert not counted(inspect_text(no_epochs, "a.yaml", "hf", RunSize(dataset_size=20_000)))


def test_hf_deepspeed_block_counted_in_micro_batches() -> None:
    config = {
        "learning_rate": 3e-5,
        "max_steps": 1000,
        "gradient_accumulation_steps": 8,
        "deepspeed": {
            "scheduler": {
                "type": "WarmupDecayLR",
                "params": {"total_num_steps": 8000, "warmup_num_steps": 800, "warmup_max_lr": 3e-5},
            }
        },
    }
    imported = inspect_text(json.dumps(config), "a.json", "hf", RunSize())
    assert "counted-in-micro-batches" in kinds(imported) and "warmup_num_steps 100" in counted(imported)[0]
    config["deepspeed"]["scheduler"]["params"]["total_num_steps"] = 1000
    assert not counted(inspect_text(json.dumps(config), "a.json", "hf", RunSize()))


def test_axolotl_max_steps_counted_in_micro_batches() -> None:
    path = DATA / "axolotl" / "max_steps_in_micro_batches.yml"
    imported = inspect_file(str(path), size=RunSize(dataset_size=2000))
    (message,) = counted(imported)
    assert "max_steps 2000 equals the micro-batches each process reads in 2 epochs" in message
    assert "max_steps 500" in message
    fixed = path.read_text().replace("max_steps: 2000", "max_steps: 500")
    assert not counted(inspect_text(fixed, "a.yml", "axolotl", RunSize(dataset_size=2000)))


def test_nemo_max_steps_counted_in_micro_batches() -> None:
    path = DATA / "nemo" / "max_steps_in_micro_batches.yaml"
    imported = inspect_file(str(path), size=RunSize(dataset_size=10_000))
    (message,) = counted(imported)
    assert "trainer.max_steps 6250 equals the micro-batches each process reads in 10 epochs" in message
    assert "trainer.max_steps 1570" in message
    fixed = path.read_text().replace("max_steps: 6250", "max_steps: 1570")
    assert not counted(inspect_text(fixed, "a.yaml", "nemo", RunSize(dataset_size=10_000)))
    one = path.read_text().replace("accumulate_grad_batches: 4", "accumulate_grad_batches: 1")
    assert not counted(inspect_text(one, "a.yaml", "nemo", RunSize(dataset_size=10_000)))


def test_megatron_decay_iters_counted_in_samples() -> None:
    path = DATA / "megatron" / "decay_iters_in_samples.sh"
    imported = inspect_file(str(path))
    (message,) = counted(imported)
    assert "counted-in-samples" in kinds(imported) and "--lr-decay-iters 20000" in message
    fixed = path.read_text().replace("--lr-decay-iters 5120000", "--lr-decay-iters 20000")
    assert not counted(inspect_text(fixed, "a.sh", "megatron", RunSize()))
    assert not counted(inspect_file(str(DATA / "megatron" / "gpt3_cosine.sh")))


# --------------------------------------------------------------------------- Hugging Face's cosine_warmup_with_min_lr


@pytest.mark.parametrize("total", [3, 10, 97, 500])
def test_hf_cosine_warmup_with_min_lr_parity(total: int) -> None:
    """transformers' get_cosine_with_min_lr_schedule_with_warmup_lr_rate: warmup (s + 1) / W (or from warmup_lr_rate
    over W - 1 steps), cosine progress (s - W + 1) / (T - W): exact as linear(W - 1, from=...) -> cosine(T - W)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    for warmup in (0, 1, 2, 7, total // 3, total - 1, total, total + 5):
        for kwargs in (
            {"min_lr_rate": 0.0},
            {"min_lr_rate": 0.1, "num_cycles": 0.75},
            {"min_lr": 3e-5, "warmup_lr_rate": 0.0},
            {"min_lr_rate": 0.05, "warmup_lr_rate": 0.2, "num_cycles": 1.3},
        ):
            optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=3e-4)
            scheduler = transformers.get_scheduler(
                "cosine_warmup_with_min_lr",
                optimizer,
                num_warmup_steps=warmup,
                num_training_steps=total,
                scheduler_specific_kwargs=kwargs,
            )
            theirs = np.array([scheduler.lr_lambdas[0](step) for step in range(total)], dtype=np.float64)
            config = {"learning_rate": 3e-4, "lr_scheduler_type": "cosine_warmup_with_min_lr", "max_steps": total}
            config.update(warmup_steps=warmup, lr_scheduler_kwargs=kwargs)
            imported = inspect_text(json.dumps(config), "args.json", "hf", RunSize())
            assert close(imported.multipliers, theirs)
            assert imported.spec is not None, (warmup, kwargs, imported.findings)
            assert close(parse(imported.spec).values(np.arange(total)), theirs)


def test_hf_cosine_warmup_with_min_lr_example_and_export() -> None:
    imported = inspect_file(str(DATA / "hf" / "cosine_warmup_min_lr.yaml"))
    assert imported.spec == "linear(99, from=0.05) -> cosine(1900, to=0.1)"
    assert imported.lrs[0] == pytest.approx(5e-6) and imported.lrs[99] == imported.lrs.max() == pytest.approx(1e-4)
    assert imported.lrs[-1] == pytest.approx(1e-5)  # the floor at the last update, T - 1
    # export --to hf writes it back (checked against the installed transformers with --strict)
    pytest.importorskip("transformers")
    import rampup.hf

    for spec, kwargs in [
        ("linear(99, from=0.05) -> cosine(1900, to=0.1)", {"warmup_lr_rate": 0.05, "min_lr_rate": 0.1}),
        ("linear(9, from=0.1) -> cosine(90, cycles=0.75, to=0.05)", {"num_cycles": 0.75, "min_lr_rate": 0.05}),
    ]:
        total = parse(spec).resolve().phases_end + 1
        args = rampup.hf.training_args(spec, int(total), peak_lr=1e-4)
        assert args["lr_scheduler_type"] == "cosine_warmup_with_min_lr"
        assert kwargs.items() <= args["lr_scheduler_kwargs"].items()
        assert "cosine_warmup_with_min_lr" in export(spec, "hf", total_steps=int(total), peak_lr=1e-4)
    # a delayed warmup is no transformers warmup (it used to be taken for a plain linear one)
    with pytest.raises(RampupError, match="delay"):
        rampup.hf.training_args("linear(11, delay=1) -> cosine(89)", 100)


@pytest.mark.parametrize("kwargs", [{}, {"min_lr": 1e-5, "min_lr_rate": 0.1}])
def test_hf_min_lr_schedulers_need_one_floor(kwargs: dict) -> None:
    for name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        config = {"learning_rate": 1e-4, "lr_scheduler_type": name, "max_steps": 100, "lr_scheduler_kwargs": kwargs}
        with pytest.raises(RampupError, match="exactly one of min_lr, min_lr_rate"):
            inspect_text(json.dumps(config), "a.json", "hf", RunSize())
