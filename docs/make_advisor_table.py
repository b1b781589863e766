"""The advisor next to real recipes: the table in docs/advisor.md.

Run ``python docs/make_advisor_table.py`` and paste its output between the
``advisor-table`` markers of docs/advisor.md (tests/test_advisor.py checks that
the two agree). For each recipe it feeds the recipe's setup to
``rampup.recommend`` and resolves the schedule the recipe published with the
engine, so both columns count steps the same way.

Each recipe records the warmup the advisor gave when its "why they differ" text
was written; if the advisor's answer changes, the script stops with an error, so
that the explanation is read again before the table is regenerated.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

import rampup
from rampup.presets import goyal, vaswani

IMAGENET = 1_281_167  # ImageNet-1k training images


@dataclass(frozen=True)
class Recipe:
    name: str
    source: str
    setup: dict[str, Any]
    used_spec: str  # the recipe's schedule as spec text (or a preset name)
    used_lr: float | None
    why: str
    advisor_warmup: int  # what the advisor gave when ``why`` was written
    resolve: dict[str, Any] = field(default_factory=dict)  # what the recipe's spec needs beyond total_steps
    used_note: str = ""


RECIPES: tuple[Recipe, ...] = (
    Recipe(
        name="BERT-base pretraining",
        source="Devlin et al. 2019, appendix A.2",
        setup={
            "total_steps": 1_000_000,
            "optimizer": "adam",
            "betas": (0.9, 0.999),
            "regime": "pretrain",
            "architecture": "bert",
            "peak_lr": 1e-4,
        },
        used_spec="linear(10000) -> linear",
        used_lr=1e-4,
        advisor_warmup=5000,
        why=(
            "Same shape, half the warmup. The large-model range is 1000-5000 steps; 10% of a 1M-step run (the "
            "Post-LN end) is far above it, so its top binds. BERT warmed up for 1% of the run, twice that. Both are "
            "well above Adam's untuned bound, 2000 steps at beta2 = 0.999."
        ),
    ),
    Recipe(
        name="BERT-base fine-tuning, GLUE MRPC",
        source="google-research/bert run_classifier.py (README: batch 32, lr 2e-5, 3 epochs)",
        setup={
            "dataset_size": 3668,
            "batch_size": 32,
            "epochs": 3,
            "optimizer": "adam",
            "regime": "full",
            "architecture": "bert",
            "peak_lr": 2e-5,
        },
        used_spec="linear(10%) -> linear",
        used_lr=2e-5,
        used_note="34 in run_classifier.py",
        advisor_warmup=35,
        why=(
            "The same rule, 10%. BERT's script truncates twice: int(3668 / 32 x 3) = 343 updates and "
            "int(0.1 x 343) = 34. rampup counts whole batches as the Hugging Face Trainer does (115 x 3 = 345 "
            "updates) and rounds the share up. The small-dataset rule (3,668 examples: 100-500 steps) is "
            "outranked by the BERT rule."
        ),
    ),
    Recipe(
        name="RoBERTa-base pretraining",
        source="Liu et al. 2019, table 9",
        setup={
            "total_steps": 500_000,
            "optimizer": "adam",
            "betas": (0.9, 0.98),
            "regime": "pretrain",
            "architecture": "bert",
            "peak_lr": 6e-4,
        },
        used_spec="linear(24000) -> linear",
        used_lr=6e-4,
        advisor_warmup=5000,
        why=(
            "The advisor warms up for a fifth as long. RoBERTa trains at batch 8k, 32x BERT's, at 6e-4, a rate "
            "it tuned at that batch rather than scaled linearly (1e-4 x 32 = 3.2e-3), and warms up for 4.8% of "
            "the run. The large-model range tops out at 5000 steps. Scaling BERT's 10k-step warmup by 32 "
            "(batch_size=8192, base_batch_size=256, base_warmup_steps=10000) would ask for 320k steps: the 50% "
            "cap of a rate scaled up for a large batch would cut it to 250k."
        ),
    ),
    Recipe(
        name="RoBERTa-base fine-tuning, GLUE RTE",
        source="Liu et al. 2019, table 10 (batch 16, 10 epochs, warmup ratio 0.06)",
        setup={
            "dataset_size": 2490,
            "batch_size": 16,
            "epochs": 10,
            "optimizer": "adam",
            "betas": (0.9, 0.98),
            "regime": "full",
            "architecture": "bert",
            "peak_lr": 2e-5,
        },
        used_spec="linear(6%) -> linear",
        used_lr=2e-5,
        advisor_warmup=156,
        why=(
            "Both lie in the BERT rule's 6-10%. The advisor takes the high end for a Post-LN encoder; RoBERTa "
            "took the low end, which the advisor lists as its first alternative (94 steps)."
        ),
    ),
    Recipe(
        name="ViT on ImageNet (DeiT-B)",
        source="Touvron et al. 2021, table 9",
        setup={
            "dataset_size": IMAGENET,
            "batch_size": 1024,
            "epochs": 300,
            "optimizer": "adamw",
            "regime": "pretrain",
            "architecture": "vit",
            "base_batch_size": 512,
            "base_lr": 5e-4,
            "decay": "cosine",
        },
        used_spec="linear(5ep) -> cosine",
        used_lr=1e-3,
        advisor_warmup=6260,
        why=(
            "They agree: 5 warmup epochs (6,260 steps at 1,252 steps per epoch), and DeiT's own rule "
            "5e-4 x batch / 512 is the linear scaling rule, giving 1e-3. The rule-based warmup is not scaled "
            "again for the batch (that alternative, 12,520 steps, is listed and rejected). Adam's bound, "
            "2000 steps, is below it."
        ),
    ),
    Recipe(
        name="GPT-3 Small (125M)",
        source="Brown et al. 2020, table 2.1 and appendix B",
        setup={
            "total_steps": 600_000,
            "optimizer": "adam",
            "betas": (0.9, 0.95),
            "regime": "pretrain",
            "architecture": "decoder",
            "peak_lr": 6e-4,
            "decay": "cosine(to=0.1)",
        },
        used_spec="gpt3",
        resolve={"tokens_per_step": 0.5e6},
        used_lr=6e-4,
        advisor_warmup=5000,
        why=(
            "GPT-3 warms up for a fixed 375M tokens at every model size, 750 steps at 0.5M tokens per step, "
            "below the large-model range's 1000. It also ramps the batch size up over the first 4-12B tokens, "
            "a second warmup the advisor does not model. Its cosine ends at 260B tokens and then holds at 10%; "
            "the advisor's cosine runs to the end of the run. Adam's bound at beta2 = 0.95 is only 40 steps."
        ),
    ),
    Recipe(
        name="LLaMA 7B",
        source="Touvron et al. 2023, section 2.2",
        setup={
            "total_steps": 250_000,
            "optimizer": "adamw",
            "betas": (0.9, 0.95),
            "regime": "pretrain",
            "architecture": "decoder",
            "peak_lr": 3e-4,
            "decay": "cosine(to=0.1)",
        },
        used_spec="llama",
        used_lr=3e-4,
        advisor_warmup=5000,
        why=(
            "Both lie in the large-model range. LLaMA is Pre-LN (RMSNorm before each block), so the advisor "
            "takes 5% rather than 10%; but the run is 1T tokens / 4M tokens per step = 250k steps, 5% of it "
            "(12,500) is above the range, and the range's top (5000) binds. LLaMA chose 2000. The cosine to 10% "
            "matches and exports as Hugging Face's cosine_with_min_lr."
        ),
    ),
    Recipe(
        name="ResNet-50, batch 8k (Goyal et al.)",
        source="Goyal et al. 2017, sections 2-5",
        setup={
            "dataset_size": IMAGENET,
            "batch_size": 32,
            "num_processes": 256,
            "epochs": 90,
            "optimizer": "sgd",
            "regime": "pretrain",
            "base_batch_size": 256,
            "base_lr": 0.1,
            "decay": "step(at=[30ep, 60ep, 80ep], gamma=0.1)",
        },
        used_spec=goyal(8192).spec,
        used_lr=3.2,
        advisor_warmup=785,
        why=(
            "They agree: 785 steps, five epochs. The rate matches (0.1 x 8192 / 256 = 3.2). The rate is scaled "
            "x32, so the base rule's 707 steps (SGD takes the low end of 5-10%) grow with it, to 22,624, and "
            "are then held to Goyal et al.'s five epochs, which they found enough at every batch size up to 8k. "
            "The paper ramps from the small-batch rate 0.1 (1/32 of the peak); rampup ramps from 0, as Hugging "
            "Face does. A step decay has no Hugging Face built-in, so there is no export."
        ),
    ),
    Recipe(
        name="Transformer base (Attention Is All You Need)",
        source="Vaswani et al. 2017, section 5.3",
        setup={
            "total_steps": 100_000,
            "optimizer": "adam",
            "betas": (0.9, 0.98),
            "regime": "pretrain",
            "architecture": "post-ln",
            "peak_lr": 7e-4,
            "decay": "inverse-sqrt",
        },
        used_spec=vaswani().spec,
        used_lr=vaswani().peak_lr,
        advisor_warmup=5000,
        why=(
            "Close: Post-LN takes 10% (10,000 steps), which the large-model range cuts to 5000; the paper used "
            "4000. With inverse-sqrt, Hugging Face's inverse_sqrt is exact. The paper's peak, "
            "512^-0.5 x 4000^-0.5 = 7e-4, depends on the warmup; the advisor keeps the rate it was given."
        ),
    ),
    Recipe(
        name="Unsloth QLoRA notebook",
        source="Unsloth notebooks: SFTConfig(warmup_steps=5, max_steps=60, learning_rate=2e-4)",
        setup={"total_steps": 60, "optimizer": "adamw_8bit", "regime": "qlora", "peak_lr": 2e-4},
        used_spec="linear(5) -> linear",
        used_lr=2e-4,
        advisor_warmup=6,
        why=(
            "The same row of the LoRA table (fewer than 100 steps: 5-10, ratio 0.1). The advisor computes "
            "ceil(0.1 x 60) = 6; the notebook took the row's low end."
        ),
    ),
)


def _setup_text(setup: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in setup.items())


def _lr(value: float | None) -> str:
    return "-" if value is None else f"{value:.3g}"


def _share(steps: int, total: int) -> str:
    return f"{100 * steps / total:.3g}%"


def rows() -> list[dict[str, str]]:
    """One row per recipe: what goes in, what the advisor says, what the recipe used, why they differ."""
    out = []
    for recipe in RECIPES:
        advice = rampup.recommend(**recipe.setup)
        if advice.warmup_steps != recipe.advisor_warmup:
            raise SystemExit(
                f"{recipe.name}: the advisor now says {advice.warmup_steps} warmup steps, the explanation was "
                f"written for {recipe.advisor_warmup}: read it again, then update advisor_warmup"
            )
        total = advice.total_steps
        assert total is not None
        used = rampup.as_schedule(recipe.used_spec).resolve(
            total, steps_per_epoch=advice.steps_per_epoch, **recipe.resolve
        )
        rules = ", ".join(reason.rule for reason in advice.reasons if reason.rule != "run-length")
        hf = advice.exports.get("hf")
        export = "no HF built-in" if hf is None else f"HF {hf['lr_scheduler_type']}"
        advisor = (
            f"**{advice.warmup_steps}** steps ({_share(advice.warmup_steps, total)}); `{advice.schedule}`; "
            f"peak {_lr(advice.peak_lr)}; rules: {rules}; {export}"
        )
        note = f" ({recipe.used_note})" if recipe.used_note else ""
        used_text = (
            f"**{used.warmup_steps}** steps{note} ({_share(used.warmup_steps, total)}); `{used}`; "
            f"peak {_lr(recipe.used_lr)}"
        )
        out.append(
            {
                "recipe": f"{recipe.name} ({recipe.source})",
                "setup": f"`{_setup_text(recipe.setup)}` ({total} steps)",
                "advisor": advisor,
                "used": used_text,
                "why": recipe.why,
            }
        )
    return out


def table() -> str:
    """The markdown table."""
    lines = [
        "| Recipe | Setup fed to `rampup.recommend` | Advisor recommends | Recipe used | Why they differ |",
        "|---|---|---|---|---|",
    ]
    for row in rows():
        cells = [row[key].replace("|", "\\|") for key in ("recipe", "setup", "advisor", "used", "why")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    sys.stdout.write(table() + "\n")


if __name__ == "__main__":
    main()
