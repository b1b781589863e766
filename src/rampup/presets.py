"""Named recipes: the warmups of well-known papers and libraries, each with its source.

``rampup.preset("bert").schedule`` is the schedule; ``.peak_lr`` the peak rate the
recipe used, where it names one. Anywhere rampup takes spec text it also takes
a preset's name (``rampup show bert --total-steps 1000``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from rampup.curves import curve_for
from rampup.durations import Duration
from rampup.errors import RampupError
from rampup.schedule import Schedule, parse

__all__ = ["ALIASES", "PRESETS", "Preset", "goyal", "is_preset", "preset", "preset_peak_lr", "vaswani"]


@dataclass(frozen=True)
class Preset:
    """A named schedule with the source it comes from."""

    name: str
    spec: str
    title: str
    source: str
    peak_lr: float | None = None
    notes: str = ""

    @cached_property
    def schedule(self) -> Schedule:
        return parse(self.spec)

    @property
    def needs(self) -> list[str]:
        """What the schedule must be resolved with (``total_steps``, ``steps_per_epoch``, ``tokens_per_step``).

        Read from the phases' durations (lengths, clamps, ``every``, milestones): a
        percentage or an open phase needs the total, unless the open phase is the last
        one and can run forever (Vaswani's inverse square root, Goyal's steps).
        """
        schedule = self.schedule
        units: set[str] = set()
        last = len(schedule.phases) - 1
        for index, (phase, role) in enumerate(zip(schedule.phases, schedule.roles, strict=True)):
            for value in (phase.length, *(value for _, value in phase.params)):
                items = value if isinstance(value, tuple) else (value,)
                units.update(item.unit for item in items if isinstance(item, Duration))
            curve = curve_for(phase.curve, role)
            assert curve is not None
            runs_forever = index == last and curve.can_be_open(dict(phase.params))
            if phase.length is None and not curve.derives_length and not runs_forever:
                units.add("percent")
        wanted = (("percent", "total_steps"), ("epochs", "steps_per_epoch"), ("tokens", "tokens_per_step"))
        return [name for unit, name in wanted if unit in units]


def vaswani(d_model: int = 512, warmup_steps: int = 4000) -> Preset:
    """ "Attention Is All You Need" (Vaswani et al. 2017, eq. 3).

    ``lr = d_model ** -0.5 * min(step ** -0.5, step * warmup ** -1.5)``: linear for
    ``warmup`` steps to ``d_model ** -0.5 * warmup ** -0.5`` (6.99e-4 for d_model 512,
    warmup 4000), then proportional to ``1 / sqrt(step)``.
    """
    peak = d_model**-0.5 * warmup_steps**-0.5
    return Preset(
        name="vaswani",
        spec=f"linear({warmup_steps}) -> inverse-sqrt",
        title=f"Transformer (d_model={d_model}): linear warmup over {warmup_steps} steps, then 1/sqrt(step)",
        source="Vaswani et al. 2017, Attention Is All You Need, section 5.3 (arXiv:1706.03762)",
        peak_lr=peak,
        notes="The peak is d_model^-0.5 * warmup^-0.5; Adam with beta2 = 0.98.",
    )


def goyal(batch_size: int | None = None) -> Preset:
    """Goyal et al. 2017, "Accurate, Large Minibatch SGD": gradual warmup over 5 epochs, then /10 at 30, 60, 80.

    The paper starts the warmup at the small-batch rate 0.1 and ramps linearly to
    ``0.1 * batch / 256`` (3.2 at batch 8192), so it starts at ``256 / batch`` of the
    peak. Without a batch size the preset starts at 0.1 of the peak (batch 2560).
    """
    start = 0.1 if batch_size is None else 256 / batch_size
    if not 0 < start <= 1:
        raise RampupError("batch_size", batch_size, "a batch size >= 256 (the paper's reference batch)")
    peak = 0.1 * (2560 if batch_size is None else batch_size) / 256
    start_text = f"{start:.6g}"
    return Preset(
        name="goyal",
        spec=f"linear(5ep, from={start_text}) -> step(at=[30ep, 60ep, 80ep], gamma=0.1)",
        title="ResNet-50 on ImageNet, large batch: 5 epochs of gradual warmup, then step decay",
        source="Goyal et al. 2017, Accurate, Large Minibatch SGD: Training ImageNet in 1 Hour (arXiv:1706.02677)",
        peak_lr=peak,
        notes="SGD with momentum 0.9; peak = 0.1 * batch / 256 (linear scaling rule), 90 epochs.",
    )


PRESETS: dict[str, Preset] = {
    p.name: p
    for p in (
        Preset(
            name="bert",
            spec="linear(10%) -> linear",
            title="BERT fine-tuning: linear warmup over 10% of steps, linear decay to 0",
            source=(
                "Devlin et al. 2019, BERT (arXiv:1810.04805); warmup_proportion=0.1 in google-research/bert's "
                "run_classifier.py"
            ),
            peak_lr=5e-5,
            notes="The paper's fine-tuning grid is 5e-5, 3e-5, 2e-5; RoBERTa used 6% warmup.",
        ),
        Preset(
            name="vit",
            spec="linear(5ep) -> cosine",
            title="Vision Transformer on ImageNet: 5 warmup epochs, cosine decay",
            source="Touvron et al. 2021, DeiT (arXiv:2012.12877), table 9: 5 warmup epochs, cosine, AdamW",
            peak_lr=5e-4,
            notes="DeiT scales the peak as 5e-4 * batch / 512.",
        ),
        Preset(
            name="lora",
            spec="linear(10) -> linear",
            title="LoRA / QLoRA fine-tuning: 10 warmup steps, linear decay (the TRL / Unsloth recipe)",
            source="Unsloth's fine-tuning notebooks with TRL's SFTConfig(warmup_steps=10, lr_scheduler_type='linear')",
            peak_lr=2e-4,
            notes="The same recipe's alternative is warmup_ratio=0.05; see the five-percent preset.",
        ),
        Preset(
            name="five-percent",
            spec="linear(5%, min=5) -> linear",
            title="The quick rule: warm up over 5% of the steps, at least 5",
            source="The rampup seed documents' rule of thumb (about 5% of total steps, minimum 5)",
        ),
        vaswani(),
        Preset(
            name="gpt3",
            spec="linear(375Mtok) -> cosine(260Btok, to=0.1)",
            title="GPT-3: warmup over 375M tokens, cosine decay to 10% over 260B tokens, then hold",
            source="Brown et al. 2020, Language Models are Few-Shot Learners (arXiv:2005.14165), appendix B",
            peak_lr=6e-4,
            notes="Peak 6e-4 and 0.5M tokens per step for GPT-3 Small (125M); Adam beta2 = 0.95.",
        ),
        Preset(
            name="llama",
            spec="linear(2000) -> cosine(to=0.1)",
            title="LLaMA: 2000 warmup steps, cosine decay to 10% of the peak",
            source="Touvron et al. 2023, LLaMA: Open and Efficient Foundation Language Models (arXiv:2302.13971)",
            peak_lr=3e-4,
            notes="Peak 3e-4 for the 7B and 13B models; AdamW beta2 = 0.95.",
        ),
        Preset(
            name="wsd",
            spec="linear(1%) -> constant -> 1-sqrt(20%)",
            title="Warmup-stable-decay: short warmup, constant rate, 1-sqrt cooldown over the last 20%",
            source=(
                "Hägele et al. 2024, Scaling Laws and Compute-Optimal Training Beyond Fixed Training Durations "
                "(arXiv:2405.18392)"
            ),
        ),
        goyal(),
        Preset(
            name="rewarm",
            spec="linear(1%) -> cosine(to=0.1)",
            title="Continued pretraining from a checkpoint: re-warm over 1% to the pretraining peak, cosine re-decay",
            source=(
                "Ibrahim et al. 2024, Simple and Scalable Strategies to Continually Pre-train Large Language Models "
                "(arXiv:2403.08763); Gupta et al. 2023, Continual Pre-Training of Large Language Models: How to "
                "(re)warm your model? (arXiv:2308.04014)"
            ),
            notes=(
                "Peak: the pretraining run's own. Gupta et al. found re-warming over 0.5-2% about equally good; "
                "a higher peak adapts more to the new data and forgets more of the old."
            ),
        ),
    )
}

#: other names people use for the same recipes
ALIASES: dict[str, str] = {
    "noam": "vaswani",
    "transformer": "vaswani",
    "unsloth": "lora",
    "deit": "vit",
    "continue": "rewarm",
    "continued-pretraining": "rewarm",
}


def preset(name: str) -> Preset:
    """The preset called ``name`` (case-insensitive; aliases such as ``noam`` work)."""
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in PRESETS:
        raise RampupError("preset", name, f"one of {', '.join(sorted(PRESETS))}")
    return PRESETS[key]


def is_preset(name: object) -> bool:
    """Whether ``name`` names a preset (case-insensitive, aliases included): the one lookup every door uses."""
    if not isinstance(name, str):
        return False
    key = name.strip().lower()
    return ALIASES.get(key, key) in PRESETS


def preset_peak_lr(spec: object) -> float | None:
    """The peak learning rate of the preset that ``spec`` names, or None (spec text, or a preset without one).

    The one rule of the command line: where ``--peak-lr`` is not given, a preset's own peak is used
    (``rampup values bert`` prints BERT's rates, as ``rampup export bert`` writes them).
    """
    if not isinstance(spec, str):
        return None
    key = spec.strip().lower()
    found = PRESETS.get(ALIASES.get(key, key))
    return None if found is None else found.peak_lr
