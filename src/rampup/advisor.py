"""The warmup advisor: from a training setup to a warmup length and a schedule, with reasons.

``rampup.recommend(total_steps=1000, regime="lora")`` answers "how many warmup
steps?" with one number, the full schedule (built and resolved by the engine),
the rules that fired with the numbers they used, the alternatives it weighed and
ready-to-use Hugging Face / TRL keyword arguments.

The rules disagree; they are applied in a fixed order, and each later step may
overrule an earlier one (docs/advisor.md explains every choice):

1. **Base rule**: the table :data:`RULES`, most specific first; the first rule
   that applies sets the number (:func:`choose`): the LoRA table (regime
   ``lora``/``qlora``), LoRA's default 10 without the run's length, re-warming
   over 1% (regime ``continue``), ViT's 5 warmup epochs, BERT fine-tuning's 10%,
   large-model pretraining's 1000-5000 steps, small datasets' 100-500 steps,
   else the general 5-10% of the run. The other rules that apply become the
   alternatives, with why they lost; each rule also carries the alternatives
   hand-picked for it and what it lacks where it nearly applies. Inside a range,
   Post-LN takes the high end and Pre-LN the low end (Xiong et al. 2020); SGD
   takes the low end.
2. **Large batch** (Goyal et al. 2017): the rate scales by ``batch / base_batch``;
   a warmup given for the base batch (``base_warmup_steps``) scales the same way
   and replaces the base rule; without one, a rate scaled up k-fold multiplies the
   base rule's warmup by k (at most 5 epochs, Goyal et al.'s warmup).
3. **Adam from scratch** (Ma & Yarats 2021): at least ``2 / (1 - beta2)`` steps.
4. **Cap**: never more than ``max_warmup_share`` of the run (default 25%, 50% when the
   rate was scaled up for a large batch); from scratch, where the rules ask for more than that,
   the warmup keeps half of what they ask, up to half the run (:func:`scratch_cap`); the cap beats
   every rule above.
5. **Never zero** for Adam-family optimizers from scratch and for Post-LN
   transformers: at least 1 step, even where the cap rounds down to 0.

The number is always a whole number of steps; shares of the run round up (the
engine's ``ceil``, as Hugging Face does) and the cap rounds down.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from numbers import Integral, Real
from typing import Any, Literal

from rampup.checks import positive
from rampup.durations import MAX_STEPS, Duration, ResolveContext, ceil_steps, floor_steps, format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, parse

__all__ = [
    "ARCHITECTURES",
    "LARGE_BATCH_MAX_SHARE",
    "MAX_WARMUP_SHARE",
    "OPTIMIZERS",
    "REGIMES",
    "RULES",
    "SCRATCH_MAX_SHARE",
    "SMALL_DATASET",
    "Alternative",
    "Choice",
    "Extra",
    "NearMiss",
    "Outranked",
    "Reason",
    "Recommendation",
    "Rule",
    "RuleResult",
    "Settings",
    "Setup",
    "adam_untuned_bound",
    "bert_finetune",
    "choose",
    "exports_for",
    "general_share",
    "large_batch",
    "large_batch_warmup",
    "large_model",
    "layer_norm_share",
    "lora_default",
    "lora_table",
    "max_share_cap",
    "one_epoch",
    "quick_rule",
    "recommend",
    "rewarm",
    "scratch_cap",
    "small_dataset",
    "vit_epochs",
]

#: default cap: never more than this share of the run is warmup (docs/advisor.md: why 25%)
MAX_WARMUP_SHARE = 0.25
#: the default cap when the rate is scaled up for a large batch (docs/advisor.md: the lab's large-batch tasks)
LARGE_BATCH_MAX_SHARE = 0.5
#: from scratch, the most of a run too short for the rules that the warmup may take (:func:`scratch_cap`)
SCRATCH_MAX_SHARE = 0.5
#: below this many training examples a fine-tuning dataset counts as small (GLUE's small tasks)
SMALL_DATASET = 100_000

Family = Literal["adam", "radam", "lion", "sgd"]
Placement = Literal["post", "pre"]

REGIMES: tuple[str, ...] = ("lora", "qlora", "full", "pretrain", "continue")
_REGIME_ALIASES = {
    "continued": "continue",
    "continual": "continue",
    "continued-pretraining": "continue",
    "continual-pretraining": "continue",
    "cpt": "continue",
    "rewarm": "continue",
    "re-warm": "continue",
    "finetune": "full",
    "fine-tune": "full",
    "full-finetune": "full",
    "scratch": "pretrain",
    "from-scratch": "pretrain",
    "pretraining": "pretrain",
}
#: architecture hint -> where its layer norm sits (BERT and the 2017 Transformer: Post-LN; ViT, GPT-2+, LLaMA: Pre-LN)
ARCHITECTURES: dict[str, Placement] = {
    "post-ln": "post",
    "pre-ln": "pre",
    "bert": "post",
    "vit": "pre",
    "decoder": "pre",
}


@dataclass(frozen=True)
class _Optimizer:
    name: str
    family: Family
    betas: tuple[float, float] | None


OPTIMIZERS: dict[str, _Optimizer] = {
    o.name: o
    for o in (
        _Optimizer("adam", "adam", (0.9, 0.999)),
        _Optimizer("adamw", "adam", (0.9, 0.999)),
        _Optimizer("nadam", "adam", (0.9, 0.999)),
        _Optimizer("lamb", "adam", (0.9, 0.999)),
        _Optimizer("radam", "radam", (0.9, 0.999)),
        _Optimizer("lion", "lion", (0.9, 0.99)),
        _Optimizer("sgd", "sgd", None),
    )
}
_OPTIMIZER_ALIASES = {
    "adamw-torch": "adamw",
    "adamw-torch-fused": "adamw",
    "adamw-hf": "adamw",
    "adamw-8bit": "adamw",
    "adamw-bnb-8bit": "adamw",
    "paged-adamw-8bit": "adamw",
    "paged-adamw-32bit": "adamw",
    "adam-w": "adamw",
    "sgd-momentum": "sgd",
    "momentum": "sgd",
    "nesterov": "sgd",
    "lion-8bit": "lion",
    "lion-32bit": "lion",
    "paged-lion-8bit": "lion",
}

# ---------------------------------------------------------------------------------------------- sources

SRC_LORA = (
    "Unsloth's fine-tuning notebooks and TRL's SFTConfig (warmup_steps 5-10, or warmup_ratio 0.03-0.1); "
    "the rampup seed 'warmup steps heuristic'"
)
SRC_GENERAL = "common practice: '5-10% of total training steps' (the rampup seed 'Learning Rate Warmup')"
SRC_BERT = (
    "Devlin et al. 2019, BERT (arXiv:1810.04805): warmup_proportion=0.1 in google-research/bert run_classifier.py; "
    "Liu et al. 2019, RoBERTa (arXiv:1907.11692), table 10: warmup ratio 0.06"
)
SRC_SMALL = "the rampup seed 'Learning Rate Warmup': small dataset, 100-500 warmup steps"
SRC_LARGE = "the rampup seed 'Learning Rate Warmup': large model training, 1000-5000 warmup steps"
SRC_EPOCH = "the rampup seed 'Learning Rate Warmup': warmup_steps = 1 * steps_per_epoch"
SRC_VIT = "Touvron et al. 2021, DeiT (arXiv:2012.12877), table 9: 5 warmup epochs; the rampup seed: ViT, 5 epochs"
SRC_GOYAL = (
    "Goyal et al. 2017, Accurate, Large Minibatch SGD (arXiv:1706.02677), section 2: linear scaling rule and "
    "gradual warmup; the rampup seed: warmup_steps = base_warmup * batch / base_batch"
)
SRC_ADAM = (
    "Ma & Yarats 2021, On the Adequacy of Untuned Warmup for Adaptive Optimization (arXiv:1910.04209): "
    "linear warmup over 2 / (1 - beta2) steps"
)
SRC_RADAM = "Liu et al. 2020, On the Variance of the Adaptive Learning Rate and Beyond (RAdam, arXiv:1908.03265)"
SRC_LN = "Xiong et al. 2020, On Layer Normalization in the Transformer Architecture (arXiv:2002.04745)"
SRC_SGD = "Ma & Yarats 2021 (arXiv:1910.04209): the 2 / (1 - beta2) bound comes from Adam's second-moment estimate"
SRC_RUN = "Hugging Face Trainer: ceil(len(dataloader) / gradient_accumulation_steps) updates per epoch"
SRC_POLICY = "rampup's advisor policy (docs/advisor.md)"
SRC_REWARM = (
    "Gupta et al. 2023, Continual Pre-Training of Large Language Models: How to (re)warm your model? "
    "(arXiv:2308.04014): re-warm and re-decay, the warmup's length (0.5-2%) matters little; Ibrahim et al. 2024, "
    "Simple and Scalable Strategies to Continually Pre-train Large Language Models (arXiv:2403.08763): linear "
    "re-warming over 1% of the iterations to the pretraining peak, cosine re-decay"
)
#: the re-warming share of a continued run, in percent (Ibrahim et al. 2024; Gupta et al. 2023 found 0.5-2% alike)
REWARM_PERCENT = 1
#: what follows the re-warming in a continued run unless ``decay`` is given: both papers' cosine to 10% of the peak
REWARM_DECAY = "cosine(to=0.1)"


# ---------------------------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Reason:
    """A rule that fired: its name, its source and the numbers it used."""

    rule: str
    source: str
    detail: str

    def to_dict(self) -> dict[str, str]:
        return {"rule": self.rule, "source": self.source, "detail": self.detail}


@dataclass(frozen=True)
class Alternative:
    """A warmup the advisor weighed and did not choose, with the reason why not."""

    label: str
    warmup_steps: int | None
    spec: str | None
    why_not: str

    def to_dict(self) -> dict[str, Any]:
        return {"label": self.label, "warmup_steps": self.warmup_steps, "spec": self.spec, "why_not": self.why_not}


@dataclass(frozen=True)
class RuleResult:
    """What one rule proposes: a number of warmup steps and the reason, with its numbers."""

    steps: int
    reason: Reason


@dataclass(frozen=True)
class Recommendation:
    """The advisor's answer. ``schedule`` is resolved against the run when its length is known."""

    warmup_steps: int
    warmup_ratio: float | None
    total_steps: int | None
    steps_per_epoch: float | None
    schedule: Schedule
    spec: str
    peak_lr: float | None
    reasons: tuple[Reason, ...]
    alternatives: tuple[Alternative, ...]
    exports: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain data: ``warmup_steps``, ``warmup_ratio``, ``schedule`` (spec text), ``peak_lr``, ``reasons``..."""
        return {
            "warmup_steps": self.warmup_steps,
            "warmup_ratio": self.warmup_ratio,
            "total_steps": self.total_steps,
            "steps_per_epoch": self.steps_per_epoch,
            "schedule": str(self.schedule),
            "spec": self.spec,
            "description": self.schedule.describe() if self.total_steps is not None else None,
            "peak_lr": self.peak_lr,
            "reasons": [reason.to_dict() for reason in self.reasons],
            "alternatives": [alternative.to_dict() for alternative in self.alternatives],
            "exports": {
                key: (dict(value) if isinstance(value, Mapping) else value) for key, value in self.exports.items()
            },
        }

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def explain(self) -> str:
        """The recommendation for a person: the number, the schedule, why, what else was weighed, the exports."""
        lines = []
        if self.total_steps is not None and self.warmup_ratio is not None:
            lines.append(
                f"warmup:    {_count(self.warmup_steps)} ({_percent(self.warmup_ratio)} of {self.total_steps} steps)"
            )
        else:
            lines.append(f"warmup:    {_count(self.warmup_steps)} (run length unknown)")
        lines.append(f"schedule:  {self.schedule}")
        if self.total_steps is not None:
            lines.append(f"in words:  {self.schedule.describe()}")
        lines.append(f"peak lr:   {format_number(self.peak_lr) if self.peak_lr is not None else 'not given'}")
        lines.append("why:")
        lines.extend(f"  - {reason.rule}: {reason.detail}\n      source: {reason.source}" for reason in self.reasons)
        if self.alternatives:
            lines.append("alternatives weighed:")
            for alt in self.alternatives:
                steps = "n/a" if alt.warmup_steps is None else _count(alt.warmup_steps)
                lines.append(f"  - {alt.label}: {steps} -- {alt.why_not}")
        for key, title in (("hf", "transformers TrainingArguments"), ("trl", "TRL SFTConfig")):
            kwargs = self.exports.get(key)
            if kwargs is None:
                lines.append(f"{title}: no exact built-in ({self.exports.get('note', '')})")
            else:
                text = ", ".join(f"{name}={value!r}" for name, value in kwargs.items())
                lines.append(f"{title}({text})")
        if self.exports.get("note") and all(self.exports.get(key) is not None for key in ("hf", "trl")):
            lines.append(f"note: {self.exports['note']}")
        return "\n".join(lines)


# ---------------------------------------------------------------------------------------------- arithmetic


def _share_steps(percent: float, total_steps: int) -> int:
    """``percent``% of the run in whole steps, rounded up by the engine (as Hugging Face's ``ceil``)."""
    return Duration(percent, "percent").to_steps(ResolveContext(total_steps=total_steps))


def _epoch_steps(epochs: float, steps_per_epoch: float) -> int:
    """``epochs`` epochs in whole steps, rounded up by the engine."""
    return Duration(epochs, "epochs").to_steps(ResolveContext(steps_per_epoch=steps_per_epoch))


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _count(steps: int) -> str:
    return "1 step" if steps == 1 else f"{steps} steps"


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.3g}%"


def _inside(value: int, low: int, high: int) -> str:
    if value < low:
        return f"below {low}-{high} -> {low}"
    if value > high:
        return f"above {low}-{high} -> {high}"
    return f"inside {low}-{high} -> {value}"


# ---------------------------------------------------------------------------------------------- rules

#: the LoRA table: (row, first and last run length of the row, warmup range, ratio in percent)
LORA_ROWS: tuple[tuple[str, int, float, int, int, int], ...] = (
    ("fewer than 100 steps", 1, 99, 5, 10, 10),
    ("100-1000 steps", 100, 1000, 10, 50, 5),
    ("more than 1000 steps", 1001, math.inf, 50, 100, 3),
)


def lora_table(total_steps: int) -> RuleResult:
    """LoRA / QLoRA fine-tuning (TRL / Unsloth): the warmup by run length.

    ========================  ==============  =============
    run                       warmup steps    ratio
    ========================  ==============  =============
    fewer than 100 steps      5-10            0.1
    100-1000 steps            10-50           0.05
    more than 1000 steps      50-100          0.03
    ========================  ==============  =============

    A number comes out of a row as ``ceil(ratio * total)`` clamped to the row's
    range: 99 steps -> 10, 100 -> 10, 1000 -> 50, 1001 -> 50, 5000 -> 100.
    Source: Unsloth's notebooks and TRL's ``SFTConfig`` (the seed document).
    """
    for row, first, last, low, high, percent in LORA_ROWS:
        if first <= total_steps <= last:
            share = _share_steps(percent, total_steps)
            steps = _clamp(share, low, high)
            detail = (
                f"{total_steps} steps is in the row '{row}' ({low}-{high} steps, ratio {percent / 100:g}): "
                f"ceil({percent / 100:g} x {total_steps}) = {share}, {_inside(share, low, high)} steps"
            )
            return RuleResult(steps, Reason("lora-table", SRC_LORA, detail))
    raise RampupError("total_steps", total_steps, "a whole number of optimizer steps > 0")


def lora_default() -> RuleResult:
    """LoRA / QLoRA with the run's length unknown: 10 warmup steps, Unsloth's default."""
    detail = "run length unknown: Unsloth's default of 10 warmup steps (Hugging Face computes the total itself)"
    return RuleResult(10, Reason("lora-default", SRC_LORA, detail))


def quick_rule(total_steps: int) -> RuleResult:
    """The quick rule for LoRA: about 5% of the steps, at least 5 (the seed document)."""
    share = _share_steps(5, total_steps)
    steps = max(5, share)
    detail = f"max(5, ceil(0.05 x {total_steps})) = max(5, {share}) = {steps}"
    return RuleResult(steps, Reason("quick-rule", SRC_LORA, detail))


def layer_norm_share(placement: Placement | None, family: Family) -> tuple[int, Reason | None]:
    """Which end of a warmup range to take: Post-LN needs warmup (high end), Pre-LN tolerates less (low end).

    Xiong et al. 2020: at initialization the Post-LN Transformer has large gradients
    near the output layer and needs the warmup; the Pre-LN one trains without it. So
    inside the general 5-10% range Post-LN takes 10%, Pre-LN 5%. Without an
    architecture hint, Adam-family optimizers take 10% (the seed's
    ``int(0.1 * total_steps)``) and SGD 5% (SGD needs less: Adam's second moment is
    the other reason to warm up, Ma & Yarats 2021). Returns the percent and the reason
    (None when no hint decided it).
    """
    if placement == "post":
        return 10, Reason("post-ln", SRC_LN, "Post-LN transformers need warmup: the high end of the range (10%)")
    if placement == "pre":
        return 5, Reason("pre-ln", SRC_LN, "Pre-LN transformers tolerate less warmup: the low end of the range (5%)")
    if family == "sgd":
        return 5, Reason("sgd-needs-less", SRC_SGD, "SGD needs less warmup than Adam: the low end of the range (5%)")
    return 10, None


def general_share(total_steps: int, percent: int) -> RuleResult:
    """General rule: warm up over 5-10% of the steps (``percent`` chosen by :func:`layer_norm_share`)."""
    steps = _share_steps(percent, total_steps)
    detail = f"{percent}% of the run (range 5-10%): ceil({percent / 100:g} x {total_steps}) = {steps}"
    return RuleResult(steps, Reason("general-share", SRC_GENERAL, detail))


def bert_finetune(total_steps: int, percent: int = 10) -> RuleResult:
    """BERT fine-tuning: 6-10% of the steps; BERT's own code uses 10% (Post-LN: the high end), RoBERTa 6%."""
    steps = _share_steps(percent, total_steps)
    detail = f"{percent}% of the run (range 6-10%): ceil({percent / 100:g} x {total_steps}) = {steps}"
    return RuleResult(steps, Reason("bert-finetune", SRC_BERT, detail))


def small_dataset(total_steps: int, percent: int, dataset_size: int) -> RuleResult:
    """Small datasets (fewer than 100,000 examples): 100-500 warmup steps: ``ceil(percent * total)`` clamped."""
    share = _share_steps(percent, total_steps)
    steps = _clamp(share, 100, 500)
    detail = (
        f"{dataset_size} examples (< {SMALL_DATASET}): ceil({percent / 100:g} x {total_steps}) = {share}, "
        f"{_inside(share, 100, 500)} steps"
    )
    return RuleResult(steps, Reason("small-dataset", SRC_SMALL, detail))


def large_model(total_steps: int, percent: int) -> RuleResult:
    """Large-model (transformer) pretraining: 1000-5000 warmup steps: ``ceil(percent * total)`` clamped."""
    share = _share_steps(percent, total_steps)
    steps = _clamp(share, 1000, 5000)
    detail = f"pretraining: ceil({percent / 100:g} x {total_steps}) = {share}, {_inside(share, 1000, 5000)} steps"
    return RuleResult(steps, Reason("large-model", SRC_LARGE, detail))


def rewarm(total_steps: int) -> RuleResult:
    """Continued pretraining from a checkpoint: re-warm over ``ceil(1% x total)`` steps of the continued run.

    The checkpoint's rate has decayed; training on new data at that rate adapts little,
    and jumping straight back to the peak spikes the loss. Gupta et al. 2023 re-warm and
    re-decay (warmups of 0.5-2% of the run did about equally well); Ibrahim et al. 2024
    re-warm linearly over 1% of the iterations to the pretraining peak and re-decay with a
    cosine, which with replay matches retraining from scratch on the union of the data.
    """
    steps = _share_steps(REWARM_PERCENT, total_steps)
    detail = (
        f"continued pretraining: re-warm over {REWARM_PERCENT}% of the continued run, "
        f"ceil({REWARM_PERCENT / 100:g} x {total_steps}) = {steps} (0.5-2% did about equally well)"
    )
    return RuleResult(steps, Reason("rewarm", SRC_REWARM, detail))


def one_epoch(steps_per_epoch: float) -> RuleResult:
    """One epoch of warmup (the seed: ``warmup_steps = 1 * steps_per_epoch``), rounded up."""
    steps = _epoch_steps(1, steps_per_epoch)
    return RuleResult(steps, Reason("one-epoch", SRC_EPOCH, f"1 epoch = {steps} steps"))


def vit_epochs(steps_per_epoch: float) -> RuleResult:
    """Vision Transformers: 5 warmup epochs (DeiT, table 9), rounded up to whole steps."""
    steps = _epoch_steps(5, steps_per_epoch)
    detail = f"5 epochs x {format_number(steps_per_epoch)} steps per epoch = {steps} steps"
    return RuleResult(steps, Reason("vit-epochs", SRC_VIT, detail))


def large_batch(batch_size: int, base_batch_size: int, base: float) -> float:
    """Goyal et al.'s linear scaling rule: ``base * batch / base_batch`` (for the rate and for a base warmup)."""
    return base * batch_size / base_batch_size


def large_batch_warmup(rule_steps: int, k: float, steps_per_epoch: float | None) -> RuleResult:
    """A rate scaled up ``k``-fold by the linear scaling rule gets ``k`` times the rule's warmup.

    ``ceil(rule_steps * k)`` (the seed: "warmup_steps = base_warmup * batch / base_batch"; large-batch
    training "requires proportionally longer warmup"), at most Goyal et al.'s 5 epochs when the
    epoch is known (they warmed up for 5 epochs at every batch up to 32x the base and found it enough)
    and never less than the rule's own warmup. The cap for such a run is :data:`LARGE_BATCH_MAX_SHARE`.
    """
    scaled = ceil_steps(rule_steps * k)
    detail = (
        f"the rate is scaled x{format_number(k)} by the linear rule: the warmup grows with it, "
        f"{rule_steps} x {format_number(k)} = {scaled} steps"
    )
    steps = scaled
    if steps_per_epoch is not None:
        goyal = _epoch_steps(5, steps_per_epoch)
        if goyal < scaled:
            steps = max(goyal, rule_steps)
            detail += f", at most Goyal et al.'s 5 epochs = {goyal} steps: {steps}"
    return RuleResult(steps, Reason("large-batch-warmup", SRC_GOYAL, detail))


def adam_untuned_bound(beta2: float) -> RuleResult:
    """Adam-family optimizers from scratch: at least ``2 / (1 - beta2)`` warmup steps (Ma & Yarats 2021).

    The length is the engine's ``untuned-linear(beta2=...)`` warmup (rounded):
    2000 steps for beta2 = 0.999, 100 for 0.98, 40 for 0.95.
    """
    steps = parse(f"untuned-linear(beta2={format_number(beta2)})").resolve().warmup_steps
    detail = f"2 / (1 - {format_number(beta2)}) = {steps} steps"
    return RuleResult(steps, Reason("adam-untuned-bound", SRC_ADAM, detail))


def max_share_cap(total_steps: int, share: float) -> int:
    """Never more than ``share`` of the run: ``floor(share * total)`` steps."""
    return floor_steps(share * total_steps)


def scratch_cap(total_steps: int, wanted: int) -> int:
    """The cap from scratch: ``max(floor(0.25 T), min(floor(0.5 T), floor(0.5 W)))`` for a run of ``T``
    steps whose rules ask for ``W``: where they ask for more than a quarter of the run, the warmup keeps
    half of what they ask, up to half the run, and never less than the usual 25%.

    Training from scratch, the rules (Adam's ``2 / (1 - beta2)`` = 2000 steps at 0.999, the
    large-model range's 1000, ViT's 5 epochs) can ask for more than a short run has; such a run sits
    where warmup matters most. Half the run is the most a warmup takes with room for the decay after
    it. The form keeps the warmup continuous and never shorter for a longer run (``0.5 T`` up to
    ``T = W``, then ``0.5 W`` up to ``2 W``, then the 25% cap). Chosen with the lab's from-scratch
    tasks where the cap binds (``postln``, ``preln``, ``encoder``: half the run beat a quarter by
    1.3-2.6%; ``noisy``: a quarter beat half by 0.4%) and a Pre-LN ViT of ``examples/outside_tasks.py``
    (a quarter 39% above half at its high rate); docs/advisor.md.
    """
    return max(
        max_share_cap(total_steps, MAX_WARMUP_SHARE),
        min(max_share_cap(total_steps, SCRATCH_MAX_SHARE), floor_steps(0.5 * wanted)),
    )


# ---------------------------------------------------------------------------------------------- inputs


@dataclass(frozen=True)
class Settings:
    """What :func:`recommend` was given, by keyword and not yet checked (:meth:`check` checks it).

    The fields and their defaults are :func:`recommend`'s keywords.
    """

    total_steps: int | None = None
    dataset_size: int | None = None
    batch_size: int | None = None
    grad_accum: int = 1
    num_processes: int = 1
    epochs: float | None = None
    optimizer: str = "adamw"
    betas: tuple[float, float] | None = None
    beta2: float | None = None
    regime: str | None = None
    architecture: str | None = None
    base_batch_size: int | None = None
    base_warmup_steps: int | None = None
    base_lr: float | None = None
    peak_lr: float | None = None
    max_warmup_share: float | None = None
    decay: str | None = None

    def check(self) -> Setup:
        """The checked setup the rules read; bad input is a :class:`~rampup.errors.RampupError` naming the field."""
        return _setup(self)


@dataclass(frozen=True)
class _Run:
    total_steps: int | None
    steps_per_epoch: float | None
    batch: int | None
    dataset_size: int | None
    reason: Reason | None


def _whole(name: str, value: object, low: int, expected: str) -> int | None:
    """A whole number from ``low`` to MAX_STEPS (10**15: every count of the advisor is bounded like steps)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or not low <= int(value) <= MAX_STEPS:
        shown = value
        if isinstance(value, Integral) and abs(int(value)) > MAX_STEPS:
            shown = f"an integer of {len(str(abs(int(value))))} digits"
        raise RampupError(name, shown, f"{expected}, at most 10**15")
    return int(value)


def _positive(name: str, value: object, expected: str) -> float | None:
    return None if value is None else positive(value, name, expected)


def _run(given: Settings) -> _Run:
    """The run's length and steps per epoch, counted as the Hugging Face Trainer counts them."""
    total = _whole("total_steps", given.total_steps, 1, "a whole number of optimizer steps > 0")
    data = _whole("dataset_size", given.dataset_size, 1, "a whole number of training examples > 0")
    batch = _whole("batch_size", given.batch_size, 1, "a whole number of examples per device and step > 0")
    accum = _whole("grad_accum", given.grad_accum, 1, "a whole number of micro-batches per update >= 1")
    procs = _whole("num_processes", given.num_processes, 1, "a whole number of processes (devices) >= 1")
    n_epochs = _positive("epochs", given.epochs, "a number of epochs > 0")
    accum, procs = accum or 1, procs or 1
    effective = None if batch is None else batch * accum * procs
    spe: float | None = None
    reason = None
    if data is not None and batch is not None and effective is not None:
        from rampup.conventions.hf import updates_for_epochs, updates_per_epoch

        spe = float(updates_per_epoch(data, batch, accum, procs))
        per_update = f"{batch} per device x {accum} accumulation x {procs} processes = {effective} per update"
        detail = f"{data} examples at {per_update} -> {spe:g} updates per epoch (Trainer's count)"
        if n_epochs is not None:
            product = spe * n_epochs
            if not math.isfinite(product) or product > MAX_STEPS:
                raise RampupError("epochs", n_epochs, "a number of epochs that gives at most 10**15 steps")
            computed = max(1, updates_for_epochs(n_epochs, int(spe)))  # Trainer's count, in floating point
            if total is not None and total != computed:
                raise RampupError(
                    "total_steps",
                    total,
                    f"{computed}, what dataset_size, batch_size and epochs give "
                    f"(ceil({format_number(n_epochs)} x {spe:g}))",
                    hint="total_steps and dataset_size/batch_size/epochs disagree: pass one or the other",
                )
            detail += f"; x {format_number(n_epochs)} epochs = {computed} steps"
            total = computed
        elif total is None:
            raise RampupError(
                "epochs", None, "the number of epochs", hint="dataset_size and batch_size give steps per epoch only"
            )
        reason = Reason("run-length", SRC_RUN, detail)
    elif n_epochs is not None:
        if total is None:
            missing = "dataset_size" if data is None else "batch_size"
            raise RampupError(
                missing, None, "a value: epochs needs dataset_size and batch_size", hint="or pass total_steps"
            )
        spe = total / n_epochs
        detail = f"{total} steps / {format_number(n_epochs)} epochs = {format_number(spe)} steps per epoch"
        reason = Reason("run-length", SRC_RUN, detail)
    return _Run(total, spe, effective, data, reason)


def _choice(name: str, value: str | None, allowed: tuple[str, ...], aliases: Mapping[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise RampupError(name, value, f"one of {', '.join(allowed)}")
    key = value.strip().lower().replace("_", "-")
    key = aliases.get(key, key)
    if key not in allowed:
        raise RampupError(name, value, f"one of {', '.join(allowed)}")
    return key


def _optimizer(name: object) -> _Optimizer:
    expected = (
        f"one of {', '.join(OPTIMIZERS)} (or a Hugging Face name such as adamw_torch, adamw_8bit, paged_adamw_8bit)"
    )
    if not isinstance(name, str):
        raise RampupError("optimizer", name, expected)
    key = name.strip().lower().replace("_", "-")
    key = _OPTIMIZER_ALIASES.get(key, key)
    if key not in OPTIMIZERS:
        raise RampupError("optimizer", name, expected)
    return OPTIMIZERS[key]


def _betas(opt: _Optimizer, betas: object, beta2: object) -> tuple[float, float] | None:
    if opt.betas is None:
        if betas is not None or beta2 is not None:
            given = betas if betas is not None else beta2
            raise RampupError(
                "betas",
                given,
                f"no betas: {opt.name} has none",
                hint="leave them out, or name an Adam-family optimizer",
            )
        return None
    chosen = opt.betas
    if betas is not None:
        if isinstance(betas, (str, bytes)) or not isinstance(betas, Sequence) or len(betas) != 2:
            raise RampupError("betas", betas, "two numbers (beta1, beta2), e.g. (0.9, 0.999)")
        values: list[float] = []
        for label, value in zip(("beta1", "beta2"), betas, strict=True):
            if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= float(value) < 1:
                raise RampupError(f"betas: {label}", value, "a number in [0, 1)")
            values.append(float(value))
        chosen = (values[0], values[1])
    if beta2 is not None:
        if isinstance(beta2, bool) or not isinstance(beta2, Real) or not 0 < float(beta2) < 1:
            raise RampupError("beta2", beta2, "a number in (0, 1), e.g. 0.999")
        if betas is not None and float(beta2) != chosen[1]:
            raise RampupError("beta2", beta2, f"the same beta2 as betas ({format_number(chosen[1])})")
        chosen = (chosen[0], float(beta2))
    if chosen[1] <= 0:
        raise RampupError("betas: beta2", chosen[1], "a number in (0, 1), e.g. 0.999")
    return chosen


def _decay_text(decay: object) -> str:
    expected = "decay phases in spec text, e.g. linear, cosine, cosine(to=0.1), constant, inverse-sqrt"
    if not isinstance(decay, str) or not decay.strip():
        raise RampupError("decay", decay, expected)
    text = decay.strip()
    try:
        parse(f"linear(1) -> {text}")
    except RampupError as error:
        raise RampupError("decay", decay, expected, hint=error.line()) from None
    return text


# ---------------------------------------------------------------------------------------------- exports


#: transformers' defaults, left out of the exported ``lr_scheduler_kwargs``
_HF_DEFAULTS: dict[str, Any] = {"num_cycles": 0.5}


def exports_for(schedule: Schedule, warmup: int, total: int | None, peak_lr: float | None) -> dict[str, Any]:
    """Hugging Face / TRL keyword arguments, when one of their built-in schedulers is exactly this schedule.

    The match is :func:`rampup.conventions.hf_builtins.match_builtin`, the one :mod:`rampup.hf` and
    ``rampup export --to hf`` use (there it is also checked against transformers' own rates).
    """
    from rampup.conventions.hf_builtins import match_builtin

    if total is not None:
        found = match_builtin(schedule.resolve(total), total, peak_lr)
    else:
        # the run's length is unknown: export only what is the same for any length (two far-apart runs)
        found, other = (match_builtin(schedule.resolve(n), n, peak_lr) for n in (1_000_003, 2_000_017))
        same = isinstance(found, str) or (
            not isinstance(other, str)
            and (found.name, found.warmup_steps, found.kwargs) == (other.name, other.warmup_steps, other.kwargs)
        )
        if not same:
            return _no_export("transformers' arguments for this schedule depend on the run's length: pass total_steps")
    if isinstance(found, str):
        return _no_export(found)
    args: dict[str, Any] = {"warmup_steps": found.warmup_steps, "lr_scheduler_type": found.name}
    kwargs = {key: value for key, value in found.kwargs.items() if _HF_DEFAULTS.get(key, object()) != value}
    if kwargs:
        args["lr_scheduler_kwargs"] = kwargs
    if peak_lr is not None:
        args["learning_rate"] = peak_lr
    note = "exact on steps 0 to the end of the run when the Trainer's total steps equal the schedule's"
    return {"hf": args, "trl": dict(args), "note": note}


def _no_export(why: str) -> dict[str, Any]:
    note = f"{why}; drive the optimizer with the engine's schedule instead (schedule(step) per step)"
    return {"hf": None, "trl": None, "note": note}


# ---------------------------------------------------------------------------------------------- the advisor


@dataclass(frozen=True)
class Setup:
    """The checked inputs (:meth:`Settings.check`): what the rules of :data:`RULES` read."""

    run: _Run
    opt: _Optimizer
    betas: tuple[float, float] | None
    regime: str | None
    arch: str | None
    dataset_size: int | None
    base_batch: int | None
    base_warmup: int | None
    base_lr: float | None
    peak_lr: float | None
    share: float | None
    decay: str

    @property
    def placement(self) -> Placement | None:
        return ARCHITECTURES[self.arch] if self.arch else None

    @property
    def scratch(self) -> bool:
        return self.regime == "pretrain"

    @property
    def lora(self) -> bool:
        return self.regime in ("lora", "qlora")

    @property
    def continued(self) -> bool:
        """Continued pretraining from a checkpoint: re-warm and re-decay (Gupta et al. 2023, Ibrahim et al. 2024)."""
        return self.regime == "continue"

    @property
    def small(self) -> bool:
        """A fine-tuning dataset of fewer than :data:`SMALL_DATASET` examples (the 100-500 step rule)."""
        return not self.scratch and self.dataset_size is not None and self.dataset_size < SMALL_DATASET

    @property
    def total_steps(self) -> int | None:
        return self.run.total_steps

    @property
    def steps_per_epoch(self) -> float | None:
        return self.run.steps_per_epoch

    def spec_for(self, steps: int) -> str:
        """The advised schedule for a warmup of ``steps``: ``linear(steps) -> decay``."""
        return f"linear({steps}) -> {self.decay}"

    def alternative(self, label: str, steps: int | None, why_not: str) -> Alternative:
        """A warmup weighed and not chosen, with its schedule when it has a number of steps."""
        return Alternative(label, steps, None if steps is None else self.spec_for(steps), why_not)


@dataclass
class _Advice:
    """The advice as it is built: the number so far, the reasons and the alternatives."""

    setup: Setup
    warmup: int = 0
    peak_lr: float | None = None
    #: whether the warmup was scaled up for a large batch (the cap is then LARGE_BATCH_MAX_SHARE by default)
    large_batch: bool = False
    reasons: list[Reason] = field(default_factory=list)
    alternatives: list[Alternative] = field(default_factory=list)

    def weigh(self, label: str, steps: int | None, why_not: str) -> None:
        self.alternatives.append(self.setup.alternative(label, steps, why_not))

    def has(self, rule: str) -> bool:
        return any(reason.rule == rule for reason in self.reasons)


def _setup(given: Settings) -> Setup:
    """Check every input; the rules read only what this returns."""
    opt = _optimizer(given.optimizer)
    chosen_betas = _betas(opt, given.betas, given.beta2)
    regime_key = _choice("regime", given.regime, REGIMES, _REGIME_ALIASES)
    arch = _choice("architecture", given.architecture, tuple(ARCHITECTURES), {})
    run = _run(given)
    share = _positive("max_warmup_share", given.max_warmup_share, "a share of the run in (0, 1], e.g. 0.25")
    if share is not None and share > 1:
        raise RampupError("max_warmup_share", given.max_warmup_share, "a share of the run in (0, 1], e.g. 0.25")
    decay = given.decay
    if decay is None:
        decay = REWARM_DECAY if regime_key == "continue" else "linear"
    decay_text = _decay_text(decay)
    lr = _positive("peak_lr", given.peak_lr, "a learning rate > 0")
    base_rate = _positive("base_lr", given.base_lr, "a learning rate > 0")
    base_batch = _whole("base_batch_size", given.base_batch_size, 1, "a whole number of examples per update > 0")
    base_warmup = _whole("base_warmup_steps", given.base_warmup_steps, 0, "a whole number of steps >= 0")
    if lr is not None and base_rate is not None:
        raise RampupError(
            "peak_lr", given.peak_lr, "only one of peak_lr (used as is) or base_lr (scaled from base_batch_size)"
        )
    if base_batch is not None and run.batch is None:
        raise RampupError("batch_size", None, "the batch size, to scale from base_batch_size")
    for name, value in (("base_lr", base_rate), ("base_warmup_steps", base_warmup)):
        if value is not None and base_batch is None:
            raise RampupError(
                "base_batch_size", None, f"the batch size {name} was tuned at", hint="or pass the rate as peak_lr"
            )
    return Setup(
        run=run,
        opt=opt,
        betas=chosen_betas,
        regime=regime_key,
        arch=arch,
        dataset_size=run.dataset_size,
        base_batch=base_batch,
        base_warmup=base_warmup,
        base_lr=base_rate,
        peak_lr=lr,
        share=share,
        decay=decay_text,
    )


# ---------------------------------------------------------------------------------------------- the rule table


@dataclass(frozen=True)
class Outranked:
    """How a rule is listed among the alternatives when a more specific rule of :data:`RULES` wins.

    ``label`` and ``why_not`` may name ``{percent}`` (the layer norm's end of 5-10%, as the rule used
    it) and ``{winner}`` (the winning rule's name).
    """

    label: str
    why_not: str


@dataclass(frozen=True)
class NearMiss:
    """A setup the rule was written for but for one thing: listed as an alternative that says what is missing.

    ``when`` never holds where the rule applies. ``with_steps``: whether the rule can still give its
    number (BERT fine-tuning's share on a pretraining run can; ViT's epochs without an epoch length cannot).
    """

    when: Callable[[Setup], bool]
    label: str
    why_not: str
    with_steps: bool


@dataclass(frozen=True)
class Extra:
    """A hand-picked alternative listed when its rule wins: another reading of the same sources.

    ``steps`` gives its number of steps, or is None for an alternative without one.
    """

    label: str
    steps: Callable[[Setup], int] | None
    why_not: str


@dataclass(frozen=True)
class Rule:
    """One base rule of the advisor: its name (``reason.rule``), its source, when it applies, what it proposes.

    ``proposes(setup, percent)`` returns the rule's number with its reason; ``percent`` is the end of a
    5-10% range that the layer norm and the optimizer pick (:func:`layer_norm_share`), and
    ``layer_norm_end`` says whether the rule uses it (then the ``post-ln``/``pre-ln``/``sgd-needs-less``
    reason follows the rule's). ``outranked`` says how the rule is listed when a more specific one wins
    (None: it is not listed); ``nearly`` and ``extras`` are further alternatives; ``then`` is a reason
    that follows the rule's own when it wins. ``when`` and ``formula`` say the same in words.
    """

    name: str
    source: str
    when: str
    formula: str
    applies: Callable[[Setup], bool]
    proposes: Callable[[Setup, int], RuleResult]
    layer_norm_end: bool = False
    outranked: Outranked | None = None
    nearly: NearMiss | None = None
    extras: tuple[Extra, ...] = ()
    then: Callable[[Setup], Reason] | None = None


def _length(setup: Setup) -> int:
    """The run's length, for a rule whose ``applies`` has made sure it is known."""
    total = setup.total_steps
    assert total is not None, "a rule that needs the run's length applies only when it is known"
    return total


def _epoch_length(setup: Setup) -> float:
    """Steps per epoch, for a rule whose ``applies`` has made sure they are known."""
    spe = setup.steps_per_epoch
    assert spe is not None, "a rule that needs the epoch's length applies only when it is known"
    return spe


def _dataset(setup: Setup) -> int:
    """The dataset's size, for a rule whose ``applies`` has made sure it is known."""
    size = setup.dataset_size
    assert size is not None, "a rule that needs the dataset's size applies only when it is known"
    return size


def _general(setup: Setup) -> bool:
    """The general rules' ground: full training (regime none, full or pretrain) of a run of known length.

    Adapters (LoRA) and continued pretraining have their own rules; the general ones do not apply to them.
    """
    return not setup.lora and not setup.continued and setup.total_steps is not None


def _redecay(setup: Setup) -> Reason:
    """What follows a re-warming: the re-decay, to the pretraining run's peak (Gupta et al. 2023, Ibrahim et al.)."""
    then = "a cosine to 10% of the peak (both papers)" if setup.decay == REWARM_DECAY else f"{setup.decay}, as given"
    detail = (
        f"then re-decay: {then}; re-warm to the pretraining run's peak (Ibrahim et al.), not a new one: "
        "a higher peak adapts more to the new data and forgets more of the old (Gupta et al.)"
    )
    return Reason("redecay", SRC_REWARM, detail)


_REWARM_SHARES = "Gupta et al. found 0.5-2% about equally good; 1% is Ibrahim et al.'s"

#: the base rules, most specific first: the first that applies sets the warmup; every other rule that applies
#: (and has an ``outranked`` entry) is listed as an alternative with the reason it lost (:func:`choose`)
RULES: tuple[Rule, ...] = (
    Rule(
        name="lora-table",
        source=SRC_LORA,
        when="regime lora or qlora, the run's length known",
        formula="ceil(r x T) clamped to T's row: T < 100: r = 0.1, 5-10; 100-1000: 0.05, 10-50; > 1000: 0.03, 50-100",
        applies=lambda setup: setup.lora and setup.total_steps is not None,
        proposes=lambda setup, _: lora_table(_length(setup)),
        extras=(
            Extra(
                "quick rule: about 5%, at least 5",
                lambda setup: quick_rule(_length(setup)).steps,
                "the table by run length is the more specific rule",
            ),
        ),
    ),
    Rule(
        name="lora-default",
        source=SRC_LORA,
        when="regime lora or qlora",
        formula="10 steps (Unsloth's default)",
        applies=lambda setup: setup.lora,
        proposes=lambda setup, _: lora_default(),
        outranked=Outranked("Unsloth default", "the run's length is known: the table uses it"),
    ),
    Rule(
        name="rewarm",
        source=SRC_REWARM,
        when="regime continue (continued pretraining from a checkpoint), the run's length known",
        formula="ceil(0.01 x T), then the re-decay",
        applies=lambda setup: setup.continued and setup.total_steps is not None,
        proposes=lambda setup, _: rewarm(_length(setup)),
        extras=(
            Extra("re-warm over 0.5%", lambda setup: _share_steps(0.5, _length(setup)), _REWARM_SHARES),
            Extra("re-warm over 2%", lambda setup: _share_steps(2, _length(setup)), _REWARM_SHARES),
            Extra(
                "no re-warming: go on at the checkpoint's final rate",
                None,
                "a decayed rate adapts little to new data (Gupta et al. 2023): re-warm, then re-decay",
            ),
        ),
        then=_redecay,
    ),
    Rule(
        name="vit-epochs",
        source=SRC_VIT,
        when="architecture vit, steps per epoch known",
        formula="ceil(5 x steps_per_epoch)",
        applies=lambda setup: _general(setup) and setup.arch == "vit" and setup.steps_per_epoch is not None,
        proposes=lambda setup, _: vit_epochs(_epoch_length(setup)),
        nearly=NearMiss(
            lambda setup: _general(setup) and setup.arch == "vit" and setup.steps_per_epoch is None,
            "ViT: 5 warmup epochs",
            "needs steps per epoch: pass dataset_size and batch_size, or epochs",
            with_steps=False,
        ),
    ),
    Rule(
        name="bert-finetune",
        source=SRC_BERT,
        when="architecture bert, fine-tuning (not regime pretrain)",
        formula="ceil(0.1 x T) (BERT is Post-LN: the high end of 6-10%)",
        applies=lambda setup: _general(setup) and setup.arch == "bert" and not setup.scratch,
        proposes=lambda setup, _: bert_finetune(_length(setup)),
        nearly=NearMiss(
            lambda setup: _general(setup) and setup.arch == "bert" and setup.scratch,
            "BERT fine-tuning: 10%",
            "a fine-tuning rule; this run pretrains",
            with_steps=True,
        ),
        extras=(
            Extra(
                "RoBERTa: 6%",
                lambda setup: bert_finetune(_length(setup), 6).steps,
                "the low end of 6-10%; BERT is Post-LN: the high end",
            ),
        ),
    ),
    Rule(
        name="large-model",
        source=SRC_LARGE,
        when="regime pretrain with an architecture hint (pretraining a transformer)",
        formula="ceil(r x T) clamped to 1000-5000, r = 5% or 10% (layer_norm_share)",
        applies=lambda setup: _general(setup) and setup.scratch and setup.arch is not None,
        proposes=lambda setup, percent: large_model(_length(setup), percent),
        layer_norm_end=True,
        # not listed when it loses: only ViT's epochs outrank it, and the advisor has never weighed it there
    ),
    Rule(
        name="small-dataset",
        source=SRC_SMALL,
        when=f"fewer than {SMALL_DATASET:,} examples, not pretraining",
        formula="ceil(r x T) clamped to 100-500, r = 5% or 10% (layer_norm_share)",
        applies=lambda setup: _general(setup) and setup.small,
        proposes=lambda setup, percent: small_dataset(_length(setup), percent, _dataset(setup)),
        layer_norm_end=True,
        outranked=Outranked("small dataset: 100-500 steps", "{winner} is the more specific rule"),
    ),
    Rule(
        name="general-share",
        source=SRC_GENERAL,
        when="any other run of known length (regime none, full or pretrain): the fallback",
        formula="ceil(r x T), r = 5% or 10% (layer_norm_share)",
        applies=_general,
        proposes=lambda setup, percent: general_share(_length(setup), percent),
        layer_norm_end=True,
        outranked=Outranked("general rule: {percent}% of the run", "{winner} is more specific"),
    ),
)


@dataclass(frozen=True)
class Choice:
    """The base rule that won, the number it proposed and the alternatives weighed against it, in order."""

    rule: Rule
    result: RuleResult
    alternatives: tuple[Alternative, ...]


def choose(setup: Setup, percent: int) -> Choice:
    """Step 1: the first rule of :data:`RULES` that applies sets the number; the others are weighed.

    The alternatives, in order: the winner's extras; every other rule that applies, the broadest
    first, with the reason it lost (rules without an ``outranked`` entry are left out); every rule
    that nearly applies, with what it lacks. ``percent`` is :func:`layer_norm_share`'s.
    """
    applying = [rule for rule in RULES if rule.applies(setup)]
    if not applying:
        raise RampupError(
            "total_steps",
            None,
            "the run's length",
            hint="pass total_steps, or dataset_size, batch_size and epochs (only LoRA has a default without it)",
        )
    winner, *beaten = applying
    words = {"percent": percent, "winner": winner.name}
    alternatives = [
        setup.alternative(extra.label, None if extra.steps is None else extra.steps(setup), extra.why_not)
        for extra in winner.extras
    ]
    for rule in reversed(beaten):
        if rule.outranked is not None:
            steps = rule.proposes(setup, percent).steps
            label, why_not = rule.outranked.label.format(**words), rule.outranked.why_not.format(**words)
            alternatives.append(setup.alternative(label, steps, why_not))
    for rule in RULES:
        near = rule.nearly
        if near is not None and not rule.applies(setup) and near.when(setup):
            near_steps = rule.proposes(setup, percent).steps if near.with_steps else None
            alternatives.append(setup.alternative(near.label, near_steps, near.why_not))
    return Choice(winner, winner.proposes(setup, percent), tuple(alternatives))


def _scale_batch(advice: _Advice, base: RuleResult) -> None:
    """Step 2: Goyal et al.'s linear scaling of the rate, and of a warmup given for the base batch."""
    setup = advice.setup
    if setup.base_batch is None:
        return
    batch = setup.run.batch
    assert batch is not None
    k = batch / setup.base_batch
    if setup.base_lr is not None:
        advice.peak_lr = large_batch(batch, setup.base_batch, setup.base_lr)
        detail = (
            f"peak lr = {format_number(setup.base_lr)} x {batch} / {setup.base_batch} = "
            f"{format_number(advice.peak_lr)} (x{format_number(k)})"
        )
        advice.reasons.append(Reason("large-batch-lr", SRC_GOYAL, detail))
    rule = base.reason.rule
    if setup.base_warmup is not None:
        scaled = ceil_steps(large_batch(batch, setup.base_batch, setup.base_warmup))
        detail = (
            f"warmup = {setup.base_warmup} x {batch} / {setup.base_batch} = {scaled} steps; it replaces the "
            f"{rule} rule's {advice.warmup} (a warmup tuned at the base batch is more specific)"
        )
        advice.weigh(f"{rule} rule", base.steps, "base_warmup_steps, scaled to the batch, is more specific")
        advice.reasons.append(Reason("large-batch-warmup", SRC_GOYAL, detail))
        advice.warmup = scaled
        advice.large_batch = k > 1
    elif k > 1 and setup.base_lr is not None:
        grown = large_batch_warmup(advice.warmup, k, setup.run.steps_per_epoch)
        advice.weigh(
            f"the {rule} rule as it is",
            advice.warmup,
            f"written for an ordinary rate; this one is scaled up x{format_number(k)} for the batch",
        )
        advice.reasons.append(grown.reason)
        advice.warmup = grown.steps
        advice.large_batch = True
    elif k != 1:
        advice.weigh(
            f"the seed's scaling applied to the {rule} rule: {advice.warmup} x {format_number(k)}",
            ceil_steps(advice.warmup * k),
            "the rate is not scaled up here (peak_lr is given, or the batch is smaller than the base): the rule's "
            "warmup stands; pass base_lr to scale the rate, or base_warmup_steps to scale a warmup tuned at the "
            "base batch",
        )


def _optimizer_bound(advice: _Advice) -> RuleResult | None:
    """Step 3: Ma & Yarats' lower bound for Adam-family optimizers from scratch; SGD and Lion have none."""
    setup = advice.setup
    family = setup.opt.family
    if family == "adam" and setup.betas is not None:
        bound = adam_untuned_bound(setup.betas[1])
        if not setup.scratch:
            why_not = "a bound for training from scratch (regime='pretrain'); fine-tuning starts from trained weights"
            if setup.continued:
                why_not = (
                    "a bound for training from scratch; a continued run starts from trained weights, and the "
                    "re-warming papers warm up over 0.5-2% of the run (Gupta et al. 2023, Ibrahim et al. 2024)"
                )
            advice.weigh("Ma & Yarats' untuned warmup, 2 / (1 - beta2)", bound.steps, why_not)
            return None
        if advice.warmup < bound.steps:
            detail = f"{bound.reason.detail}: a lower bound, raises {advice.warmup} to {bound.steps}"
            advice.warmup = bound.steps
        else:
            detail = f"{bound.reason.detail}: a lower bound, {advice.warmup} is already above it"
        advice.reasons.append(Reason(bound.reason.rule, bound.reason.source, detail))
        return bound
    if family == "radam":
        detail = "RAdam's rectification is a built-in warmup of about 2 / (1 - beta2) steps: no extra lower bound"
        advice.reasons.append(Reason("radam-rectified", SRC_RADAM, detail))
    elif setup.scratch and not advice.has("sgd-needs-less"):
        name = "SGD" if family == "sgd" else "Lion (a sign update)"
        detail = f"{name} keeps no second-moment estimate: Adam's 2 / (1 - beta2) lower bound does not apply"
        advice.reasons.append(Reason("sgd-needs-less" if family == "sgd" else "no-adam-bound", SRC_SGD, detail))
    return None


def _cap_and_floor(advice: _Advice, bound: RuleResult | None) -> None:
    """Steps 4 and 5: never more than the share of the run, never zero for Adam from scratch or Post-LN."""
    setup = advice.setup
    total = setup.run.total_steps
    if total is not None:
        chosen = setup.share
        if chosen is None:
            chosen = LARGE_BATCH_MAX_SHARE if advice.large_batch else MAX_WARMUP_SHARE
        cap = max_share_cap(total, chosen)  # a bound up to the share passes whole
        if advice.warmup > cap:
            share = format_number(chosen)
            kept = cap
            detail = f"at most {share} of the run: floor({share} x {total}) = {cap}; cuts {advice.warmup} to {cap}"
            if setup.share is None and not advice.large_batch and setup.scratch:
                kept = scratch_cap(total, advice.warmup)
                if kept > cap:
                    detail = (
                        f"from scratch, where the rules ask for more than {share} of the run, the warmup keeps half "
                        f"of what they ask, up to half the run: min(floor(0.5 x {total}), floor(0.5 x "
                        f"{advice.warmup})) = {kept} (more than floor({share} x {total}) = {cap}); cuts "
                        f"{advice.warmup} to {kept}"
                    )
            if bound is not None and bound.steps > kept and cap >= 3:
                # the cap from scratch keeps half of a longer bound: only one within the share passes whole
                beta2 = math.floor((1 - 2 / cap) * 1e4) / 1e4
                detail += (
                    f" (Adam's bound of {bound.steps} does not fit: the cap wins; with beta2 <= {beta2:g} the bound "
                    "fits inside it)"
                )
            advice.reasons.append(Reason("max-share", SRC_POLICY, detail))
            advice.warmup = kept
    adam_scratch = setup.opt.family in ("adam", "radam") and setup.scratch
    if advice.warmup == 0 and (adam_scratch or setup.placement == "post"):
        who = "Post-LN transformers" if setup.placement == "post" else "Adam-family optimizers from scratch"
        detail = f"{who} always get a warmup: 0 -> 1 step (this beats the cap)"
        advice.reasons.append(Reason("never-zero", SRC_POLICY, detail))
        advice.warmup = 1


def recommend(
    *,
    total_steps: int | None = None,
    dataset_size: int | None = None,
    batch_size: int | None = None,
    grad_accum: int = 1,
    num_processes: int = 1,
    epochs: float | None = None,
    optimizer: str = "adamw",
    betas: tuple[float, float] | None = None,
    beta2: float | None = None,
    regime: str | None = None,
    architecture: str | None = None,
    base_batch_size: int | None = None,
    base_warmup_steps: int | None = None,
    base_lr: float | None = None,
    peak_lr: float | None = None,
    max_warmup_share: float | None = None,
    decay: str | None = None,
) -> Recommendation:
    """The warmup for a training setup: a number of steps, the schedule, the reasons and the exports.

    The run's length is ``total_steps``, or what the Hugging Face Trainer runs for
    ``dataset_size``, ``batch_size``, ``grad_accum``, ``num_processes`` and ``epochs``
    (:func:`rampup.conventions.hf.total_steps`); both given and different is an error.
    ``regime`` is ``lora``, ``qlora``, ``full`` (full fine-tuning) or ``pretrain`` (from scratch);
    ``architecture`` is ``post-ln``, ``pre-ln``, ``bert``, ``vit`` or ``decoder``. ``base_lr`` (with
    ``base_batch_size``) is scaled to the batch; ``peak_lr`` is used as is;
    ``base_warmup_steps`` is a warmup tuned at ``base_batch_size``, scaled likewise.
    ``decay`` is spec text for what follows the linear warmup (``cosine(to=0.1)``); by default
    ``linear``, and for ``regime="continue"`` (continued pretraining from a checkpoint) the
    re-decay ``cosine(to=0.1)`` of Gupta et al. 2023 and Ibrahim et al. 2024.
    The base rules are the table :data:`RULES`; the steps after it and their order are in the
    module docstring and docs/advisor.md.
    """
    setup = Settings(
        total_steps=total_steps,
        dataset_size=dataset_size,
        batch_size=batch_size,
        grad_accum=grad_accum,
        num_processes=num_processes,
        epochs=epochs,
        optimizer=optimizer,
        betas=betas,
        beta2=beta2,
        regime=regime,
        architecture=architecture,
        base_batch_size=base_batch_size,
        base_warmup_steps=base_warmup_steps,
        base_lr=base_lr,
        peak_lr=peak_lr,
        max_warmup_share=max_warmup_share,
        decay=decay,
    ).check()
    advice = _Advice(setup, peak_lr=setup.peak_lr)
    total, spe = setup.run.total_steps, setup.run.steps_per_epoch
    if setup.run.reason is not None:
        advice.reasons.append(setup.run.reason)

    percent, ln_reason = layer_norm_share(setup.placement, setup.opt.family)
    choice = choose(setup, percent)
    base = choice.result
    advice.alternatives.extend(choice.alternatives)
    advice.reasons.append(base.reason)
    if choice.rule.then is not None:
        advice.reasons.append(choice.rule.then(setup))
    if ln_reason is not None and choice.rule.layer_norm_end:
        advice.reasons.append(ln_reason)
    advice.warmup = base.steps
    if spe is not None:
        epoch = one_epoch(spe)
        same = " (the same number here)" if epoch.steps == advice.warmup else ""
        advice.weigh("one epoch of warmup", epoch.steps, f"an alternative in the seed, not a rule of its own{same}")
    _scale_batch(advice, base)
    bound = _optimizer_bound(advice)
    _cap_and_floor(advice, bound)

    warmup = advice.warmup
    spec = setup.spec_for(warmup)
    schedule = parse(spec)
    if total is not None:
        try:
            schedule = schedule.resolve(total, steps_per_epoch=spe)
        except RampupError as error:
            if error.field not in ("steps_per_epoch", "tokens_per_step"):
                raise
            raise RampupError(
                "decay",
                setup.decay,
                "lengths this run can resolve",
                hint="epochs need dataset_size and batch_size (or total_steps and epochs); write tokens as steps",
            ) from None
    return Recommendation(
        warmup_steps=warmup,
        warmup_ratio=None if total is None else warmup / total,
        total_steps=total,
        steps_per_epoch=spe,
        schedule=schedule,
        spec=spec,
        peak_lr=advice.peak_lr,
        reasons=tuple(advice.reasons),
        alternatives=tuple(advice.alternatives),
        exports=exports_for(schedule, warmup, total, advice.peak_lr),
    )
