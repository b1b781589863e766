"""rampup inspect for LLaMA-Factory, timm and NeMo (issue 12): parity, examples, findings, exports, errors.

LLaMA-Factory hands its keys to transformers' Trainer: parity is against the installed transformers'
``get_scheduler``, after LLaMA-Factory's own ``warmup_stable_decay`` defaults restated below from
``src/llamafactory/train/trainer_utils.py`` (LLaMA-Factory 0.9.6.dev0, commit ff6d4d1). timm and NeMo
do not install on this CPU machine (timm needs torchvision; NeMo needs its whole stack), so their
schedulers are restated below, scalar and line by line, from their sources: timm 1.0.29.dev0
(``timm/scheduler/{scheduler,cosine_lr,tanh_lr,poly_lr,step_lr,multistep_lr,plateau_lr,scheduler_factory}.py``
and ``train.py``, commit aa4b585) and NeMo 2.6.0rc0 (``nemo/core/optim/lr_scheduler.py``, commit 8cfedd7).
Within 1e-9 relative, float64, at every update.
"""

from __future__ import annotations

import bisect
import json
import math
import random
import warnings
from pathlib import Path

import cli_helpers
import numpy as np
import pytest
import yaml

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


# --------------------------------------------------------------------------- timm, its schedulers restated


class TimmReference:
    """timm's schedulers as ``create_scheduler_v2`` builds them and ``train.py`` steps them, scalar.

    ``_get_lr`` is restated from cosine_lr.py, tanh_lr.py, poly_lr.py, step_lr.py and
    multistep_lr.py (plateau_lr.py: its warmup, the metric never stalling); the constructor's
    initial rate from each ``__init__`` and scheduler.py.
    """

    def __init__(self, args: dict, updates_per_epoch: int) -> None:
        self.args = args
        on_updates = args["sched_on_updates"]
        unit = updates_per_epoch if on_updates else 1
        self.t_initial = args["epochs"] * unit
        self.warmup_t = args["warmup_epochs"] * unit
        self.decay_t = args["decay_epochs"] * unit
        self.decay_milestones = [d * unit for d in args["decay_milestones"]]
        cooldown_t = args["cooldown_epochs"] * unit
        self.base = args["lr"]
        self.lr_min = args["min_lr"]
        self.warmup_lr_init = args["warmup_lr"]
        self.prefix = args["warmup_prefix"]
        self.sched = args["sched"]
        self.cycle_mul, self.cycle_decay = args["lr_cycle_mul"], args["lr_cycle_decay"]
        self.cycle_limit, self.k = args["lr_cycle_limit"], args["lr_k_decay"]
        if self.warmup_t:
            target = self.base
            if self.sched == "tanh" and not self.prefix:
                target = self._get_lr(self.warmup_t)
            self.warmup_step = (target - self.warmup_lr_init) / self.warmup_t
        if self.sched in ("cosine", "tanh", "poly"):
            cycles = max(1, self.cycle_limit)
            if self.cycle_mul == 1.0:
                t = self.t_initial * cycles
            else:
                t = math.floor(-self.t_initial * (self.cycle_mul**cycles - 1) / (1 - self.cycle_mul))
            length = (t + self.warmup_t if self.prefix else t) + cooldown_t
            self.num_epochs = length if not on_updates else length // updates_per_epoch
        else:
            self.num_epochs = args["epochs"] + (args["warmup_epochs"] if self.prefix else 0)

    def _get_lr(self, t: int) -> float:
        if self.sched == "plateau":
            if t <= self.warmup_t:
                return self.warmup_lr_init + t * self.warmup_step
            return self.base
        if t < self.warmup_t:
            return self.warmup_lr_init + t * self.warmup_step
        if self.prefix:
            t = t - self.warmup_t
        if self.sched == "step":
            return self.base * (self.args["decay_rate"] ** (t // self.decay_t))
        if self.sched == "multistep":
            return self.base * (self.args["decay_rate"] ** bisect.bisect_right(self.decay_milestones, t + 1))
        if self.cycle_mul != 1:
            i = math.floor(math.log(1 - t / self.t_initial * (1 - self.cycle_mul), self.cycle_mul))
            t_i = self.cycle_mul**i * self.t_initial
            t_curr = t - (1 - self.cycle_mul**i) / (1 - self.cycle_mul) * self.t_initial
        else:
            i = t // self.t_initial
            t_i = self.t_initial
            t_curr = t - (self.t_initial * i)
        if i >= self.cycle_limit:
            return self.lr_min
        lr_max = self.base * self.cycle_decay**i
        if self.sched == "cosine":
            return self.lr_min + 0.5 * (lr_max - self.lr_min) * (1 + math.cos(math.pi * t_curr**self.k / t_i**self.k))
        if self.sched == "poly":
            return self.lr_min + (lr_max - self.lr_min) * (1 - t_curr**self.k / t_i**self.k) ** self.args["decay_rate"]
        tr = t_curr / t_i
        return self.lr_min + 0.5 * (lr_max - self.lr_min) * (1 - math.tanh(-7.0 * (1.0 - tr) + 3.0 * tr))

    def rates(self, updates_per_epoch: int) -> list[float]:
        """train.py: the rate each update reads; step(epoch + 1) after each epoch, step_update(n) after update n."""
        lr = self.warmup_lr_init if self.warmup_t else self.base
        rates, num_updates = [], 0
        for epoch in range(self.num_epochs):
            for _ in range(updates_per_epoch):
                rates.append(lr)
                num_updates += 1
                if self.args["sched_on_updates"]:
                    lr = self._get_lr(num_updates)
            if not self.args["sched_on_updates"]:
                lr = self._get_lr(epoch + 1)
        return rates


def random_timm_args(rng: random.Random, sched: str) -> dict:
    args = dict(timm_conventions.DEFAULTS)
    args.update(sched=sched, lr=rng.choice([0.1, 5e-4, 0.016]), epochs=rng.choice([3, 10, 40]))
    args.update(warmup_epochs=rng.choice([0, 1, 3]), warmup_lr=rng.choice([0.0, 1e-6]))
    args.update(warmup_prefix=rng.random() < 0.5, min_lr=rng.choice([0.0, 1e-5]), cooldown_epochs=rng.choice([0, 2]))
    args.update(sched_on_updates=sched != "plateau" and rng.random() < 0.5)
    args.update(decay_epochs=rng.choice([1, 2.4, 7]), decay_rate=rng.choice([0.1, 0.5, 0.97]))
    args.update(decay_milestones=sorted(rng.sample(range(1, 30), 3)))
    if sched in ("cosine", "poly", "tanh") and rng.random() < 0.3:
        args.update(lr_cycle_limit=rng.choice([2, 3]), lr_cycle_mul=rng.choice([1.0, 2.0]), lr_cycle_decay=0.5)
    if sched in ("cosine", "poly") and rng.random() < 0.2:
        args["lr_k_decay"] = 1.5
    return args


@pytest.mark.parametrize("seed", range(60))
def test_timm_parity_at_every_update(seed: int) -> None:
    rng = random.Random(seed)
    sched = timm_conventions.SCHEDS[seed % len(timm_conventions.SCHEDS)]
    args = random_timm_args(rng, sched)
    per_epoch = rng.choice([1, 4, 25])
    reference = TimmReference(args, per_epoch)
    theirs = np.array(reference.rates(per_epoch), dtype=np.float64)
    data = {key: value for key, value in args.items() if value is not None}
    imported = timm_conventions.import_settings(data, "args.yaml", RunSize(total_steps=theirs.size))
    assert imported.total_steps == theirs.size
    assert close(imported.lrs, theirs)
    spec_is_exact(imported)
    prefix = args["warmup_prefix"] or not args["warmup_epochs"]
    cycles = args["lr_cycle_limit"] > 1
    whole_epochs_in = prefix or args["warmup_epochs"] < args["epochs"]
    # per-epoch stepping is a staircase (per=), no --warmup-prefix a decay started part-way in (skip=),
    # --lr-k-decay is k=, tanh is a curve: all exact now, but for cycles of poly/tanh or with k-decay,
    # tanh's warmup without --warmup-prefix, and timm's step and multistep drops that fall inside the warmup
    exact = {
        "cosine": whole_epochs_in and not (cycles and args["lr_k_decay"] != 1.0),
        "poly": whole_epochs_in and not cycles,
        "tanh": prefix and not cycles,
        "step": prefix and float(args["decay_epochs"] * (per_epoch if args["sched_on_updates"] else 1)).is_integer(),
    }.get(sched, False)
    if exact:
        assert imported.spec is not None, imported.findings
        assert close(parse(imported.spec).values(np.arange(theirs.size)) * imported.peak_lr, theirs)
        if not args["sched_on_updates"] and per_epoch > 1:
            assert f"per={per_epoch}" in imported.spec


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
    for imported, path in [
        (cosine, "seresnet34_cosine.sh"),
        (tanh, "mobilenetv3_tanh.sh"),
        (bent, "convnext_k_decay.sh"),
    ]:
        spec_is_exact(imported)
        flags = timm_conventions.parse_flags((DATA / "timm" / path).read_text(), path)
        args = {**timm_conventions.DEFAULTS, **flags}
        for key in ("lr", "warmup_lr", "min_lr", "lr_k_decay"):
            args[key] = float(args[key])
        for key in ("epochs", "warmup_epochs", "batch_size"):
            args[key] = int(args[key])
        per_epoch = imported.total_steps // (args["epochs"] + (args["warmup_epochs"] if args["warmup_prefix"] else 0))
        theirs = np.array(TimmReference(args, per_epoch).rates(per_epoch))
        assert close(parse(imported.spec).values(np.arange(theirs.size)) * imported.peak_lr, theirs)


def test_timm_lr_from_base_and_plateau() -> None:
    scaled = inspect_text(
        "train.py --sched cosine --epochs 10 -b 64 --opt lamb", "a.sh", "auto", RunSize(total_steps=10)
    )
    assert scaled.peak_lr == pytest.approx(0.1 * math.sqrt(64 / 256)) and "lr-from-base" in kinds(scaled)
    plateau = inspect_text("train.py --sched plateau --epochs 10 --lr 0.1", "p.sh", "timm", RunSize(total_steps=100))
    assert plateau.spec is None and "metric-dependent" in kinds(plateau)


# --------------------------------------------------------------------------- NeMo, its schedulers restated


def nemo_lr(name: str, step: int, lr: float, p: dict) -> float:
    """``get_lr()`` at ``last_epoch = step`` (nemo/core/optim/lr_scheduler.py), scalar, as the classes compute it."""
    max_steps, min_lr = p["max_steps"], p["min_lr"]
    warmup = p.get("warmup_steps") or (int(p["warmup_ratio"] * max_steps) if p.get("warmup_ratio") else 0)
    if name == "NoamAnnealing":
        step = max(1, step)
        normalize = p["d_model"] ** (-0.5)
        mult = normalize * (min(step ** (-0.5), step * (warmup ** (-1.5))) if warmup > 0 else step ** (-0.5))
        out = lr * mult
        return max(out, min_lr) if step > warmup else out
    hold = p.get("hold_steps")
    hold_steps = hold + warmup if hold is not None else 0
    constant_steps = p.get("constant_steps") or 0
    if name == "CosineAnnealing" and constant_steps:
        decay_steps = max_steps - (constant_steps + warmup)
        if warmup > 0 and step <= warmup:
            return lr * float(step) / float(warmup)
        if step > warmup + decay_steps:
            return min_lr
        coeff = 0.5 * (math.cos(math.pi * float(step - warmup) / float(decay_steps)) + 1.0)
        return min_lr + coeff * (lr - min_lr)
    if step <= warmup and warmup > 0:
        return lr * (step + 1) / (warmup + 1)
    if hold is not None and warmup <= step < hold_steps:
        return lr
    if step > max_steps:
        return min_lr
    if name in ("WarmupPolicy", "WarmupHoldPolicy"):
        return lr
    if name == "WarmupAnnealing":
        return min_lr + (1 - (step - warmup) / (max_steps - warmup)) * (lr - min_lr)
    if name == "CosineAnnealing":
        mult = 0.5 * (1 + math.cos(math.pi * (step - warmup) / (max_steps - warmup)))
        return (lr - min_lr) * mult + min_lr
    if name == "SquareAnnealing":
        return max(lr * ((max_steps - warmup - (step - warmup)) / (max_steps - warmup)) ** 2, min_lr)
    if name == "SquareRootAnnealing":
        return max(lr * ((max_steps - step) / max_steps) ** 0.5, min_lr)
    if name == "InverseSquareRootAnnealing":
        return lr / ((step + 1) / (warmup + 1)) ** 0.5
    if name in ("PolynomialDecayAnnealing", "PolynomialHoldDecayAnnealing"):
        hold_name = name == "PolynomialHoldDecayAnnealing"
        s = step - (hold_steps if hold_name else warmup)
        decay_steps = max_steps - (max(warmup, hold_steps) if hold_name else warmup)
        if p.get("cycle"):
            decay_steps *= 1.0 if s == 0 else math.ceil(s / decay_steps)
        else:
            s = min(s, decay_steps)
        return (lr - min_lr) * math.pow(1.0 - s / decay_steps, p.get("power", 1.0)) + min_lr
    if name == "WarmupHoldAnnealOneMinusSquareRoot":
        return max(min_lr, lr * (1 - ((step - hold_steps) / (max_steps - hold_steps)) ** 0.5))
    return lr - (lr - min_lr) * (step - hold_steps) / (max_steps - hold_steps)  # WarmupHoldAnnealLinear


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


@pytest.mark.parametrize("name", NEMO_NAMES)
def test_nemo_parity_at_every_update(name: str) -> None:
    rng = random.Random(name)
    for _ in range(6):
        total = rng.choice([50, 333, 2000])
        lr = rng.choice([1e-3, 0.05])
        sched: dict = {"name": name, "min_lr": rng.choice([0.0, lr / 20])}
        if rng.random() < 0.5:
            sched["warmup_steps"] = rng.choice([1, 10, total // 7])
        else:
            sched["warmup_ratio"] = rng.choice([0.01, 0.013, 0.1])
        if "Hold" in name and rng.random() < 0.7:
            sched["hold_steps"] = rng.choice([0, total // 4])
        if name == "CosineAnnealing" and rng.random() < 0.5:
            sched["constant_steps"] = rng.choice([5, total // 5])
        if name.startswith("Polynomial"):
            sched.update(power=rng.choice([1.0, 2.0, 0.5]), cycle=rng.random() < 0.3)
        if name == "NoamAnnealing":
            sched["d_model"] = 512
        params = {**sched, "max_steps": total}
        theirs = np.array([nemo_lr(name, step, lr, params) for step in range(total)], dtype=np.float64)
        config = {"trainer": {"max_steps": total}, "model": {"optim": {"name": "adamw", "lr": lr, "sched": sched}}}
        imported = inspect_text(json.dumps(config), "nemo.json", "auto", RunSize())
        assert imported.source == f"nemo ({name})"
        assert close(imported.lrs, theirs)
        spec_is_exact(imported)
        # the clip at min_lr is floor=, a decay timed from step 0 is skip=: every scheduler is exact now,
        # but a polynomial that restarts (cycle: true) and PolynomialHoldDecayAnnealing whose decay (from
        # step 0, without hold_steps) is over before its warmup ends
        warmup = params.get("warmup_steps") or int(params.get("warmup_ratio", 0) * total)
        over = name == "PolynomialHoldDecayAnnealing" and "hold_steps" not in sched and total - 2 * warmup < 2
        above = name == "NoamAnnealing" and sched["min_lr"] > imported.peak_lr  # min_lr above Noam's top
        if not sched.get("cycle") and not over and not above:
            assert imported.spec is not None, imported.findings
            assert close(parse(imported.spec).values(np.arange(total)) * imported.peak_lr, theirs)


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
    for imported, path in [(root, "squareroot_annealing"), (square, "square_annealing_min_lr"), (noam, "noam_min_lr")]:
        config = yaml.safe_load((DATA / "nemo" / f"{path}.yaml").read_text())
        optim = config["model"]["optim"]
        params = {"max_steps": config["trainer"]["max_steps"], "min_lr": 0.0, **optim["sched"]}
        params["min_lr"] = float(params["min_lr"])
        theirs = [nemo_lr(optim["sched"]["name"], step, optim["lr"], params) for step in range(imported.total_steps)]
        assert close(parse(imported.spec).values(np.arange(imported.total_steps)) * imported.peak_lr, np.array(theirs))
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
