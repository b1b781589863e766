"""The warmup advisor: every rule, every row of the LoRA table, the conflicts, the exports, the CLI, bad input."""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import itertools
import json
import math
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import rampup
from rampup import RampupError, recommend
from rampup.advisor import (
    MAX_WARMUP_SHARE,
    RULES,
    Recommendation,
    Settings,
    Setup,
    adam_untuned_bound,
    bert_finetune,
    choose,
    general_share,
    large_batch,
    large_model,
    layer_norm_share,
    lora_default,
    lora_table,
    max_share_cap,
    one_epoch,
    quick_rule,
    scratch_cap,
    small_dataset,
    vit_epochs,
)
from rampup.cli import main

ROOT = Path(__file__).resolve().parents[1]


def rules(advice: Recommendation) -> list[str]:
    return [reason.rule for reason in advice.reasons]


def alternative(advice: Recommendation, label_start: str) -> Any:
    found = [alt for alt in advice.alternatives if alt.label.startswith(label_start)]
    assert found, [alt.label for alt in advice.alternatives]
    return found[0]


# ---------------------------------------------------------------------------------------------- LoRA table


@pytest.mark.parametrize(
    ("total", "expected"),
    [
        # fewer than 100 steps: 5-10 steps, ratio 0.1 -> ceil(0.1 x total) clamped to 5-10
        (1, 5),
        (20, 5),
        (50, 5),
        (51, 6),
        (60, 6),
        (99, 10),
        # 100-1000 steps: 10-50 steps, ratio 0.05
        (100, 10),
        (200, 10),
        (201, 11),
        (400, 20),
        (999, 50),
        (1000, 50),
        # more than 1000 steps: 50-100 steps, ratio 0.03
        (1001, 50),
        (1666, 50),
        (1667, 51),
        (3333, 100),
        (3334, 100),
        (1_000_000, 100),
    ],
)
def test_lora_table_rows_and_boundaries(total: int, expected: int) -> None:
    assert lora_table(total).steps == expected


@pytest.mark.parametrize(
    ("total", "expected", "row"),
    [(99, 10, "fewer than 100"), (100, 10, "100-1000"), (1000, 50, "100-1000"), (1001, 50, "more than 1000")],
)
def test_recommend_lora_at_the_row_boundaries(total: int, expected: int, row: str) -> None:
    for regime in ("lora", "qlora"):
        advice = recommend(total_steps=total, regime=regime, optimizer="adamw")
        assert advice.warmup_steps == expected
        assert rules(advice) == ["lora-table"]
        assert row in advice.reasons[0].detail
        assert advice.schedule.warmup_steps == expected
        assert advice.exports["hf"] == {"warmup_steps": expected, "lr_scheduler_type": "linear"}


def test_lora_table_detail_shows_the_numbers() -> None:
    detail = lora_table(400).reason.detail
    assert "ceil(0.05 x 400) = 20" in detail and "inside 10-50" in detail
    assert "below 50-100 -> 50" in lora_table(1001).reason.detail
    assert "ceil(0.1 x 99) = 10, inside 5-10 -> 10" in lora_table(99).reason.detail


def test_lora_default_without_the_run_length() -> None:
    assert lora_default().steps == 10
    advice = recommend(regime="lora")
    assert advice.warmup_steps == 10
    assert advice.total_steps is None and advice.warmup_ratio is None
    assert rules(advice) == ["lora-default"]
    assert advice.spec == "linear(10) -> linear"
    assert advice.exports["hf"] == {"warmup_steps": 10, "lr_scheduler_type": "linear"}
    assert advice.to_dict()["warmup_ratio"] is None


@pytest.mark.parametrize(("total", "expected"), [(10, 5), (100, 5), (101, 6), (1000, 50), (10_000, 500)])
def test_quick_rule_five_percent_at_least_five(total: int, expected: int) -> None:
    assert quick_rule(total).steps == expected


def test_lora_table_beats_the_quick_rule_and_the_default() -> None:
    advice = recommend(total_steps=10_000, regime="lora")
    assert advice.warmup_steps == 100  # the table; the quick rule says 500
    assert alternative(advice, "quick rule").warmup_steps == 500
    assert alternative(advice, "Unsloth default").warmup_steps == 10


def test_lora_ignores_architecture_and_adam_bound() -> None:
    advice = recommend(total_steps=400, regime="lora", architecture="post-ln", optimizer="adam")
    assert advice.warmup_steps == 20
    assert "adam-untuned-bound" not in rules(advice)
    assert alternative(advice, "Ma & Yarats").warmup_steps == 2000


def test_cap_beats_the_lora_table_on_tiny_runs() -> None:
    advice = recommend(total_steps=12, regime="lora")
    assert lora_table(12).steps == 5
    assert advice.warmup_steps == 3  # floor(0.25 x 12)
    assert rules(advice) == ["lora-table", "max-share"]


# ---------------------------------------------------------------------------------------------- general rules


def test_general_share_five_to_ten_percent() -> None:
    assert general_share(1000, 10).steps == 100
    assert general_share(1000, 5).steps == 50
    assert general_share(1001, 5).steps == 51  # rounds up, like Hugging Face's ceil
    assert recommend(total_steps=1000).warmup_steps == 100  # Adam without a hint: 10%
    assert recommend(total_steps=1000, optimizer="sgd").warmup_steps == 50  # SGD needs less: 5%


def test_post_ln_needs_more_warmup_than_pre_ln() -> None:
    assert layer_norm_share("post", "adam")[0] == 10
    assert layer_norm_share("pre", "adam")[0] == 5
    assert layer_norm_share("post", "sgd")[0] == 10  # the architecture wins over the optimizer
    assert layer_norm_share(None, "sgd")[0] == 5
    assert layer_norm_share(None, "adam") == (10, None)
    post = recommend(total_steps=2000, regime="full", architecture="post-ln")
    pre = recommend(total_steps=2000, regime="full", architecture="pre-ln")
    assert (post.warmup_steps, pre.warmup_steps) == (200, 100)
    assert "post-ln" in rules(post) and "pre-ln" in rules(pre)
    assert recommend(total_steps=2000, regime="full", architecture="decoder").warmup_steps == 100  # decoders: Pre-LN


def test_bert_finetuning_ten_percent_with_roberta_six_as_alternative() -> None:
    assert bert_finetune(1560).steps == 156
    assert bert_finetune(1560, 6).steps == 94
    advice = recommend(total_steps=1560, regime="full", architecture="bert")
    assert advice.warmup_steps == 156
    assert rules(advice) == ["bert-finetune"]
    assert alternative(advice, "RoBERTa").warmup_steps == 94


def test_bert_rule_beats_small_dataset() -> None:
    advice = recommend(dataset_size=3668, batch_size=32, epochs=3, regime="full", architecture="bert")
    assert advice.total_steps == 345
    assert advice.warmup_steps == 35
    assert rules(advice) == ["run-length", "bert-finetune"]
    assert alternative(advice, "small dataset").warmup_steps == 100  # the rule itself, before any cap


def test_small_dataset_one_hundred_to_five_hundred_steps() -> None:
    assert small_dataset(471, 10, 5000).steps == 100
    assert small_dataset(62_500, 10, 50_000).steps == 500
    assert small_dataset(2_000, 10, 50_000).steps == 200
    advice = recommend(dataset_size=5000, batch_size=32, epochs=3, regime="full")
    assert advice.total_steps == 471  # ceil(5000 / 32) = 157 per epoch
    assert advice.warmup_steps == 100
    assert rules(advice) == ["run-length", "small-dataset"]
    big = recommend(dataset_size=100_000, batch_size=32, epochs=3, regime="full")
    assert "small-dataset" not in rules(big)  # 100,000 examples is not small
    assert recommend(dataset_size=50_000, batch_size=8, epochs=10, regime="full").warmup_steps == 500


def test_small_dataset_vs_cap() -> None:
    advice = recommend(dataset_size=1000, batch_size=32, epochs=3, regime="full")
    assert advice.total_steps == 96
    assert advice.warmup_steps == 24  # the rule's 100 is cut to floor(0.25 x 96)
    assert rules(advice) == ["run-length", "small-dataset", "max-share"]


def test_large_model_one_thousand_to_five_thousand_steps() -> None:
    assert large_model(250_000, 5).steps == 5000
    assert large_model(30_000, 5).steps == 1500
    assert large_model(30_000, 10).steps == 3000
    assert large_model(10_000, 5).steps == 1000
    llama = recommend(total_steps=250_000, regime="pretrain", architecture="decoder", beta2=0.95)
    assert llama.warmup_steps == 5000
    assert rules(llama) == ["large-model", "pre-ln", "adam-untuned-bound"]
    sgd = recommend(total_steps=10_000, regime="pretrain", architecture="decoder", optimizer="sgd")
    assert sgd.warmup_steps == 1000  # the range's low end, no Adam bound
    assert "adam-untuned-bound" not in rules(sgd)


def test_one_epoch_is_an_alternative() -> None:
    assert one_epoch(157).steps == 157
    assert one_epoch(156.4).steps == 157
    advice = recommend(dataset_size=200_000, batch_size=100, epochs=10, regime="full", architecture="decoder")
    assert advice.warmup_steps == 1000
    assert alternative(advice, "one epoch").warmup_steps == 2000
    assert alternative(advice, "one epoch").spec == "linear(2000) -> linear"
    small = recommend(dataset_size=10_000, batch_size=100, epochs=20, regime="full", architecture="decoder")
    assert small.warmup_steps == 100  # the small-dataset rule
    assert "the same number" in alternative(small, "one epoch").why_not


def test_vit_five_warmup_epochs() -> None:
    assert vit_epochs(1252).steps == 6260
    advice = recommend(dataset_size=50_000, batch_size=100, epochs=100, regime="pretrain", architecture="vit")
    assert advice.steps_per_epoch == 500
    assert advice.warmup_steps == 2500
    assert rules(advice)[:2] == ["run-length", "vit-epochs"]
    # fine-tuning for 10 epochs: 5 epochs is half the run, the cap wins
    short = recommend(dataset_size=50_000, batch_size=100, epochs=10, regime="full", architecture="vit")
    assert short.warmup_steps == 1250
    assert rules(short)[-1] == "max-share"
    # epochs with total_steps give steps per epoch too
    assert recommend(total_steps=10_000, epochs=100, architecture="vit").warmup_steps == 500


def test_vit_without_steps_per_epoch_falls_back() -> None:
    advice = recommend(total_steps=10_000, regime="full", architecture="vit")
    assert advice.warmup_steps == 500  # general rule, Pre-LN: 5%
    vit = alternative(advice, "ViT")
    assert vit.warmup_steps is None and "steps per epoch" in vit.why_not


# ---------------------------------------------------------------------------------------------- the rule table


def _grid() -> list[Setup]:
    """Checked setups over every regime, architecture and way of giving the run's length (or none)."""
    lengths: list[dict[str, Any]] = [
        {},
        {"total_steps": 60},
        {"total_steps": 5000},
        {"total_steps": 10_000, "epochs": 20},
        {"dataset_size": 3668, "batch_size": 32, "epochs": 3},
        {"dataset_size": 1_281_167, "batch_size": 1024, "epochs": 300},
    ]
    found = []
    for length, regime, arch, optimizer in itertools.product(
        lengths,
        [None, "lora", "qlora", "full", "pretrain", "continue"],
        [None, "post-ln", "pre-ln", "bert", "vit", "decoder"],
        ["adamw", "sgd"],
    ):
        settings = Settings(**length, regime=regime, architecture=arch, optimizer=optimizer)
        found.append(settings.check())
    return found


def _percent(setup: Setup) -> int:
    return layer_norm_share(setup.placement, setup.opt.family)[0]


def test_settings_are_recommends_keywords() -> None:
    keywords = inspect.signature(recommend).parameters
    fields = {item.name: item.default for item in dataclasses.fields(Settings)}
    assert fields == {name: parameter.default for name, parameter in keywords.items()}
    assert Settings(total_steps=1000, regime="lora").check().total_steps == 1000


def test_the_rule_table_is_ordered_most_specific_first() -> None:
    names = [rule.name for rule in RULES]
    assert names == [
        "lora-table",
        "lora-default",
        "rewarm",
        "vit-epochs",
        "bert-finetune",
        "large-model",
        "small-dataset",
        "general-share",
    ]
    grid = _grid()
    ground = {rule.name: {i for i, setup in enumerate(grid) if rule.applies(setup)} for rule in RULES}
    wins = {choose(setup, _percent(setup)).rule.name for setup in grid if any(r.applies(setup) for r in RULES)}
    assert wins == set(names)  # no rule is hidden behind a broader one
    for earlier, later in itertools.combinations(names, 2):
        assert not ground[later] < ground[earlier], (later, "is narrower than", earlier)
    # each ground's last rule is its fallback: it applies wherever a more specific rule of that ground does
    assert ground["lora-table"] < ground["lora-default"]
    for name in ("vit-epochs", "bert-finetune", "large-model", "small-dataset"):
        assert ground[name] < ground["general-share"], name
    for rule in RULES:
        assert rule.source and rule.when and rule.formula, rule.name
        setup = grid[min(ground[rule.name])]
        result = rule.proposes(setup, _percent(setup))
        assert (result.reason.rule, result.reason.source) == (rule.name, rule.source)
        if rule.nearly is not None:  # a near miss is where the rule does not apply
            near = {i for i, setup in enumerate(grid) if rule.nearly.when(setup)}
            assert near and not near & ground[rule.name], rule.name


@pytest.mark.parametrize(
    ("kwargs", "winner", "labels"),
    [
        ({"total_steps": 10_000, "regime": "lora"}, "lora-table", ["quick rule", "Unsloth default"]),
        ({"regime": "qlora"}, "lora-default", []),
        (
            {"total_steps": 10_000, "regime": "continue"},
            "rewarm",
            ["re-warm over 0.5%", "re-warm over 2%", "no re-warming"],
        ),
        (
            {"dataset_size": 3668, "batch_size": 32, "epochs": 3, "regime": "full", "architecture": "bert"},
            "bert-finetune",
            ["RoBERTa: 6%", "general rule: 10% of the run", "small dataset"],
        ),
        (
            {"total_steps": 10_000, "regime": "pretrain", "architecture": "bert"},
            "large-model",
            ["general rule", "BERT"],
        ),
        ({"total_steps": 10_000, "regime": "full", "architecture": "vit"}, "general-share", ["ViT: 5 warmup epochs"]),
        # large-model applies too, but is not listed against ViT's epochs (no outranked entry)
        ({"total_steps": 10_000, "epochs": 20, "regime": "pretrain", "architecture": "vit"}, "vit-epochs", ["general"]),
        ({"dataset_size": 5000, "batch_size": 32, "epochs": 3}, "small-dataset", ["general rule: 10% of the run"]),
        ({"total_steps": 1000, "optimizer": "sgd"}, "general-share", []),
    ],
)
def test_the_winner_and_the_alternatives_are_what_the_table_says(
    kwargs: dict[str, Any], winner: str, labels: list[str]
) -> None:
    setup = Settings(**kwargs).check()
    percent = _percent(setup)
    choice = choose(setup, percent)
    applying = [rule for rule in RULES if rule.applies(setup)]
    assert choice.rule is applying[0] and choice.rule.name == winner
    assert len(choice.alternatives) == len(labels)
    for alt, label in zip(choice.alternatives, labels, strict=True):
        assert alt.label.startswith(label), (alt.label, label)
    # the table's own entries, in the table's order: extras, beaten rules (broadest first), near misses
    expected = [extra.label for extra in choice.rule.extras]
    expected += [rule.outranked.label.format(percent=percent) for rule in applying[:0:-1] if rule.outranked]
    expected += [rule.nearly.label for rule in RULES if rule.nearly and rule.nearly.when(setup)]
    assert [alt.label for alt in choice.alternatives] == expected
    for rule in applying[1:]:
        if rule.outranked is not None:
            alt = next(alt for alt in choice.alternatives if alt.label == rule.outranked.label.format(percent=percent))
            assert alt.warmup_steps == rule.proposes(setup, percent).steps
            assert alt.spec == f"linear({alt.warmup_steps}) -> {setup.decay}"
    advice = recommend(**kwargs)
    assert advice.alternatives[: len(choice.alternatives)] == choice.alternatives
    assert choice.result.reason in advice.reasons  # the winner's reason, as the rule gave it


def test_no_rule_applies_without_the_run_length() -> None:
    setup = Settings(regime="full").check()
    assert not any(rule.applies(setup) for rule in RULES)
    with pytest.raises(RampupError, match="only LoRA has a default"):
        choose(setup, 10)


# ---------------------------------------------------------------------------------------------- large batch


def test_linear_scaling_of_the_rate() -> None:
    assert large_batch(8192, 256, 0.1) == pytest.approx(3.2)
    advice = recommend(
        total_steps=14_130, batch_size=32, num_processes=256, base_batch_size=256, base_lr=0.1, optimizer="sgd"
    )
    assert advice.peak_lr == pytest.approx(3.2)
    assert "large-batch-lr" in rules(advice)
    assert "x32" in advice.reasons[rules(advice).index("large-batch-lr")].detail
    smaller = recommend(total_steps=1000, batch_size=64, base_batch_size=256, base_lr=0.1, optimizer="sgd")
    assert smaller.peak_lr == pytest.approx(0.025)  # the rule scales both ways


def test_linear_scaling_of_a_base_warmup_the_seed_example() -> None:
    # the seed: base warmup 1000 at batch 256 -> 1000 x 8192 / 256 = 32000 at batch 8192
    advice = recommend(total_steps=200_000, batch_size=8192, base_batch_size=256, base_warmup_steps=1000, base_lr=1e-4)
    assert advice.warmup_steps == 32_000
    assert advice.peak_lr == pytest.approx(3.2e-3)
    assert "large-batch-warmup" in rules(advice)
    assert alternative(advice, "general-share rule").warmup_steps == 20_000
    # non-integer ratios round up to whole steps
    assert (
        recommend(total_steps=100_000, batch_size=100, base_batch_size=256, base_warmup_steps=1000).warmup_steps == 391
    )


def test_large_batch_warmup_vs_cap() -> None:
    # a warmup scaled up for a large batch may take up to half the run by default
    advice = recommend(total_steps=100_000, batch_size=8192, base_batch_size=256, base_warmup_steps=1000)
    assert advice.warmup_steps == 32_000
    longer = recommend(total_steps=50_000, batch_size=8192, base_batch_size=256, base_warmup_steps=1000)
    assert longer.warmup_steps == 25_000 and rules(longer)[-1] == "max-share"  # 32000 cut to 50%
    capped = recommend(
        total_steps=100_000, batch_size=8192, base_batch_size=256, base_warmup_steps=1000, max_warmup_share=0.25
    )
    assert capped.warmup_steps == 25_000  # an explicit cap still wins
    assert rules(capped)[-1] == "max-share"


def test_rule_based_warmup_is_not_scaled_twice() -> None:
    advice = recommend(
        dataset_size=1_281_167,
        batch_size=1024,
        epochs=300,
        regime="pretrain",
        architecture="vit",
        base_batch_size=512,
        base_lr=5e-4,
    )
    assert advice.warmup_steps == 6260  # DeiT: 5 epochs, not 10
    assert advice.peak_lr == pytest.approx(1e-3)
    scaled = advice.reasons[rules(advice).index("large-batch-warmup")].detail
    assert "6260 x 2 = 12520" in scaled and "5 epochs = 6260" in scaled


def test_a_scaled_up_rate_scales_the_rules_warmup() -> None:
    # the lab's conv task as a user describes it: batch 1024, a rate tuned at batch 128, 160 updates
    advice = recommend(total_steps=160, batch_size=1024, base_batch_size=128, base_lr=0.1, optimizer="sgd")
    assert advice.peak_lr == pytest.approx(0.8)
    assert advice.warmup_steps == 64  # 5% of 160 = 8 steps, x8
    assert "large-batch-warmup" in rules(advice)
    # scaled x32 it would be 256: the large-batch cap is half the run
    steep = recommend(total_steps=160, batch_size=4096, base_batch_size=128, base_lr=0.1, optimizer="sgd")
    assert steep.warmup_steps == 80 and rules(steep)[-1] == "max-share"
    # a rate given as is (tuned at this batch) is not scaled, nor is its warmup
    given = recommend(total_steps=160, batch_size=1024, base_batch_size=128, peak_lr=0.8, optimizer="sgd")
    assert given.warmup_steps == 8
    assert alternative(given, "the seed's scaling").warmup_steps == 64


# ---------------------------------------------------------------------------------------------- optimizers


@pytest.mark.parametrize(("beta2", "steps"), [(0.999, 2000), (0.98, 100), (0.95, 40), (0.99, 200)])
def test_adam_untuned_bound(beta2: float, steps: int) -> None:
    assert adam_untuned_bound(beta2).steps == steps


def test_adam_bound_raises_the_warmup_from_scratch() -> None:
    advice = recommend(total_steps=10_000, regime="pretrain", optimizer="adamw")
    assert general_share(10_000, 10).steps == 1000
    assert advice.warmup_steps == 2000
    assert rules(advice) == ["general-share", "adam-untuned-bound"]
    assert "raises 1000 to 2000" in advice.reasons[-1].detail
    assert recommend(total_steps=10_000, regime="pretrain", betas=(0.9, 0.95)).warmup_steps == 1000
    # beta2 raises even the large-model range's top
    high = recommend(total_steps=1_000_000, regime="pretrain", architecture="decoder", beta2=0.9999)
    assert high.warmup_steps == 20_000


def test_adam_bound_only_from_scratch() -> None:
    advice = recommend(total_steps=10_000, regime="full", optimizer="adam")
    assert advice.warmup_steps == 1000
    assert "adam-untuned-bound" not in rules(advice)
    assert alternative(advice, "Ma & Yarats").warmup_steps == 2000


def test_cap_beats_the_adam_bound_and_says_which_beta2_fits() -> None:
    advice = recommend(total_steps=3000, regime="pretrain", architecture="decoder")
    assert advice.warmup_steps == 1000  # from scratch: half of the bound's 2000 (more than 25% of 3000)
    assert rules(advice) == ["large-model", "pre-ln", "adam-untuned-bound", "max-share"]
    detail = advice.reasons[-1].detail
    # the bound passes whole only within a quarter: above it, the cap from scratch keeps half of it
    assert "beta2 <= 0.9973" in detail
    assert adam_untuned_bound(0.9973).steps <= 750
    fitted = recommend(total_steps=3000, regime="pretrain", architecture="decoder", beta2=0.9973)
    assert "adam-untuned-bound" in rules(fitted) and "does not fit" not in fitted.reasons[-1].detail
    capped = recommend(total_steps=3000, regime="pretrain", architecture="decoder", max_warmup_share=0.25)
    assert capped.warmup_steps == 750 and "beta2 <= 0.9973" in capped.reasons[-1].detail


def test_from_scratch_a_run_too_short_for_the_rules_keeps_half_of_their_warmup_up_to_half_the_run() -> None:
    # the lab's Post-LN task: the rules ask for 1000 steps of a 400-step run
    short = recommend(total_steps=400, optimizer="adam", betas=(0.9, 0.98), regime="pretrain", architecture="post-ln")
    assert short.warmup_steps == 200 and short.reasons[-1].rule == "max-share"
    assert "keeps half of what they ask, up to half the run" in short.reasons[-1].detail
    assert scratch_cap(400, 1000) == 200  # half the run
    assert scratch_cap(3000, 2000) == 1000  # half of what the rules ask
    assert scratch_cap(10_000, 2000) == 2500  # never less than the usual quarter
    # continuous and never shorter for a longer run, at any length the rules ask for
    for wanted in (40, 100, 1000, 2000, 5000):
        caps = [scratch_cap(total, wanted) for total in range(1, 6 * wanted)]
        assert all(later >= earlier for earlier, later in itertools.pairwise(caps))
        assert all(later - earlier <= 1 for earlier, later in itertools.pairwise(caps))
    # only from scratch: fine-tuning and continued training keep the 25% cap, a large batch its 50%
    full = recommend(total_steps=150, optimizer="adamw", regime="full", dataset_size=1000)  # asks for 100
    assert full.warmup_steps == 37 == max_share_cap(150, MAX_WARMUP_SHARE)  # from scratch it would be 50
    # a cap the user gives is the cap
    given = recommend(total_steps=400, regime="pretrain", architecture="post-ln", max_warmup_share=0.1)
    assert given.warmup_steps == 40


def test_sgd_needs_less() -> None:
    advice = recommend(total_steps=10_000, regime="pretrain", optimizer="sgd")
    assert advice.warmup_steps == 500
    assert "adam-untuned-bound" not in rules(advice)
    assert "sgd-needs-less" in rules(advice)
    lion = recommend(total_steps=10_000, regime="pretrain", optimizer="lion")
    assert lion.warmup_steps == 1000 and "no-adam-bound" in rules(lion)


def test_radam_has_its_own_warmup() -> None:
    advice = recommend(total_steps=10_000, regime="pretrain", optimizer="radam")
    assert advice.warmup_steps == 1000
    assert "radam-rectified" in rules(advice)


def test_hugging_face_optimizer_names() -> None:
    for name in ("adamw_torch", "adamw_8bit", "paged_adamw_8bit", "AdamW"):
        assert recommend(total_steps=10_000, regime="pretrain", optimizer=name).warmup_steps == 2000


# ---------------------------------------------------------------------------------------------- cap, whole numbers


def test_max_share_cap() -> None:
    assert MAX_WARMUP_SHARE == 0.25
    assert max_share_cap(1000, 0.25) == 250
    assert max_share_cap(10, 0.3) == 3  # 0.3 x 10 is 3.0000000000000004 in floating point
    advice = recommend(total_steps=1000, regime="pretrain", max_warmup_share=0.1)
    assert advice.warmup_steps == 100


def test_never_zero_for_adam_from_scratch_beats_the_cap() -> None:
    advice = recommend(total_steps=2, regime="pretrain", max_warmup_share=0.25)
    assert advice.warmup_steps == 1
    assert rules(advice)[-2:] == ["max-share", "never-zero"]
    assert recommend(total_steps=1, regime="pretrain").warmup_steps == 1  # the scratch cap rounds to 0 too


def test_never_zero_for_post_ln_but_zero_allowed_otherwise() -> None:
    assert recommend(total_steps=2, regime="full", optimizer="sgd", architecture="post-ln").warmup_steps == 1
    advice = recommend(total_steps=2, regime="full", optimizer="sgd", architecture="pre-ln")
    assert advice.warmup_steps == 0
    assert str(advice.schedule) == "linear(0) -> linear(2)"
    assert advice.schedule(0) == 1.0


@settings(max_examples=60, deadline=None)
@given(
    total=st.integers(1, 2_000_000),
    regime=st.sampled_from([None, "lora", "qlora", "full", "pretrain"]),
    architecture=st.sampled_from([None, "post-ln", "pre-ln", "bert", "vit", "decoder"]),
    optimizer=st.sampled_from(["adamw", "adam", "sgd", "lion", "radam", "lamb"]),
    share=st.sampled_from([0.05, 0.1, 0.25, 0.5, 1.0]),
)
def test_invariants(total: int, regime: str | None, architecture: str | None, optimizer: str, share: float) -> None:
    advice = recommend(
        total_steps=total, regime=regime, architecture=architecture, optimizer=optimizer, max_warmup_share=share
    )
    warmup = advice.warmup_steps
    assert isinstance(warmup, int) and warmup >= 0
    cap = math.floor(share * total + 1e-9)
    assert warmup <= cap or (warmup == 1 and rules(advice)[-1] == "never-zero")
    adam = optimizer in ("adamw", "adam", "lamb", "radam")
    if (adam and regime == "pretrain") or architecture in ("post-ln", "bert"):
        assert warmup >= 1
    if optimizer in ("adamw", "adam", "lamb") and regime == "pretrain":
        assert warmup >= min(2000, cap)
    # the schedule comes from the engine, resolved against the run
    assert advice.schedule.warmup_steps == warmup
    assert advice.schedule.total_steps == total
    assert advice.schedule == rampup.parse(advice.spec).resolve(total)
    assert advice.warmup_ratio == warmup / total
    data = json.loads(advice.to_json())
    assert data["warmup_steps"] == warmup and data["reasons"]


# ---------------------------------------------------------------------------------------------- run length


def test_run_length_from_dataset_batch_accumulation_processes_epochs() -> None:
    advice = recommend(dataset_size=10_000, batch_size=8, grad_accum=4, num_processes=2, epochs=3)
    assert advice.steps_per_epoch == 157  # ceil(10000 / 64)
    assert advice.total_steps == 471
    assert advice.reasons[0].rule == "run-length"
    assert "= 64 per update" in advice.reasons[0].detail
    assert recommend(dataset_size=1000, batch_size=10, epochs=2.5).total_steps == 250
    # consistent total_steps is accepted
    assert recommend(total_steps=471, dataset_size=10_000, batch_size=64, epochs=3).total_steps == 471


@settings(max_examples=200, deadline=None)
@given(
    st.integers(1, 100_000),
    st.integers(1, 512),
    st.integers(1, 16),
    st.integers(1, 16),
    st.floats(0.01, 20, allow_nan=False),
)
def test_the_advisors_count_of_updates_is_the_trainers(
    dataset: int, batch: int, accum: int, processes: int, epochs: float
) -> None:
    from types import SimpleNamespace

    from rampup.hf import trainer_total_steps

    args = SimpleNamespace(
        max_steps=-1,
        num_train_epochs=epochs,
        train_batch_size=batch,
        gradient_accumulation_steps=accum,
        world_size=processes,
        dataloader_drop_last=False,
    )
    expected = trainer_total_steps(args, dataset)
    advice = recommend(dataset_size=dataset, batch_size=batch, grad_accum=accum, num_processes=processes, epochs=epochs)
    assert advice.total_steps == expected


def test_the_issue_example_counts_like_trainer() -> None:
    # ceil(0.28 * 25) in floating point is 8, as Trainer computes it (the advisor used to say 7)
    assert recommend(dataset_size=200, batch_size=8, epochs=0.28).total_steps == 8


def test_contradictory_total_steps_names_both() -> None:
    with pytest.raises(RampupError) as info:
        recommend(total_steps=1000, dataset_size=10_000, batch_size=64, epochs=3)
    error = info.value
    assert error.field == "total_steps" and error.value == 1000
    assert "471" in error.expected and "ceil(3 x 157)" in error.expected
    assert error.hint and "disagree" in error.hint


# ---------------------------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"total_steps": 0}, "total_steps"),
        ({"total_steps": -5}, "total_steps"),
        ({"total_steps": 1.5}, "total_steps"),
        ({"total_steps": True}, "total_steps"),
        ({"total_steps": 100, "batch_size": 0}, "batch_size"),
        ({"dataset_size": 0, "batch_size": 8, "epochs": 1}, "dataset_size"),
        ({"dataset_size": 100, "batch_size": 8, "epochs": 0}, "epochs"),
        ({"total_steps": 100, "grad_accum": 0}, "grad_accum"),
        ({"total_steps": 100, "num_processes": 0}, "num_processes"),
        ({"total_steps": 100, "optimizer": "adagrad"}, "optimizer"),
        ({"total_steps": 100, "regime": "distill"}, "regime"),
        ({"total_steps": 100, "architecture": "cnn"}, "architecture"),
        ({"total_steps": 100, "max_warmup_share": 0}, "max_warmup_share"),
        ({"total_steps": 100, "max_warmup_share": 1.5}, "max_warmup_share"),
        ({"total_steps": 100, "decay": "wiggle"}, "decay"),
        ({"total_steps": 100, "betas": (0.9,)}, "betas"),
        ({"total_steps": 100, "betas": (0.9, 1.0)}, "betas: beta2"),
        ({"total_steps": 100, "beta2": 0.99, "betas": (0.9, 0.95)}, "beta2"),
        ({"total_steps": 100, "optimizer": "sgd", "beta2": 0.99}, "betas"),
        ({"total_steps": 100, "peak_lr": 0}, "peak_lr"),
        ({"total_steps": 100, "peak_lr": 1e-3, "base_lr": 1e-3, "batch_size": 8, "base_batch_size": 8}, "peak_lr"),
        ({"total_steps": 100, "base_lr": 1e-3}, "base_batch_size"),
        ({"total_steps": 100, "base_batch_size": 256}, "batch_size"),
        ({"total_steps": 100, "batch_size": 8, "base_batch_size": 0}, "base_batch_size"),
        ({"regime": "full"}, "total_steps"),
        ({"total_steps": 100, "epochs": 3}, None),  # fine: gives steps per epoch
        ({"epochs": 3}, "dataset_size"),
        ({"dataset_size": 1000, "batch_size": 8}, "epochs"),
        ({"total_steps": 1000, "decay": "step(at=[30ep, 60ep])"}, "decay"),
        ({"total_steps": 1000, "decay": "cosine(260Btok)"}, "decay"),
        ({"total_steps": 100, "decay": "cosine(200)"}, "total_steps"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs: dict[str, Any], field: str | None) -> None:
    if field is None:
        recommend(**kwargs)
        return
    with pytest.raises(RampupError) as info:
        recommend(**kwargs)
    error = info.value
    assert isinstance(error, ValueError)
    assert error.field == field
    assert error.expected  # what would be valid
    assert str(error).startswith(f"{field}: got ")


def test_unknown_names_list_the_valid_ones() -> None:
    with pytest.raises(RampupError, match="adamw, nadam, lamb, radam, lion, sgd"):
        recommend(total_steps=100, optimizer="adagrad")
    with pytest.raises(RampupError, match="lora, qlora, full, pretrain"):
        recommend(total_steps=100, regime="distill")
    with pytest.raises(RampupError, match="pass total_steps"):
        recommend(optimizer="adamw")


# ---------------------------------------------------------------------------------------------- output


def test_to_dict_keys() -> None:
    advice = recommend(total_steps=1000, regime="lora", peak_lr=2e-4, decay="cosine")
    data = advice.to_dict()
    for key in ("warmup_steps", "warmup_ratio", "schedule", "peak_lr", "reasons", "exports", "alternatives"):
        assert key in data
    assert data["schedule"] == "linear(50) -> cosine(950)"
    assert data["reasons"][0].keys() == {"rule", "source", "detail"}
    assert data["exports"]["hf"] == {"warmup_steps": 50, "lr_scheduler_type": "cosine", "learning_rate": 2e-4}
    assert data["exports"]["trl"] == data["exports"]["hf"]
    assert json.loads(advice.to_json()) == data


@pytest.mark.parametrize(
    ("decay", "peak", "kind", "kwargs"),
    [
        ("linear", None, "linear", None),
        ("cosine", None, "cosine", None),
        ("cosine(cycles=0.25)", None, "cosine", {"num_cycles": 0.25}),
        ("cosine(to=0.1)", None, "cosine_with_min_lr", {"min_lr_rate": 0.1}),
        ("constant", None, "constant_with_warmup", None),
        ("inverse-sqrt", None, "inverse_sqrt", {"timescale": 20}),
        ("inverse-sqrt(timescale=50)", None, "inverse_sqrt", {"timescale": 50}),
        ("polynomial(power=2)", 1e-3, "polynomial", {"lr_end": 0.0, "power": 2.0}),
        ("linear(to=0.1)", 1e-3, "polynomial", {"lr_end": 1e-4, "power": 1.0}),
    ],
)
def test_exports_are_exact_in_transformers(
    decay: str, peak: float | None, kind: str, kwargs: dict[str, Any] | None, tmp_path: Path
) -> None:
    import torch
    from transformers import TrainingArguments, get_scheduler

    advice = recommend(total_steps=400, regime="lora", decay=decay, peak_lr=peak)
    hf = advice.exports["hf"]
    assert hf["lr_scheduler_type"] == kind and hf["warmup_steps"] == 20
    assert hf.get("lr_scheduler_kwargs") == (None if kwargs is None else pytest.approx(kwargs))
    args = TrainingArguments(output_dir=str(tmp_path), report_to="none", **hf)
    assert args.warmup_steps == 20
    lr = peak if peak is not None else 1.0
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = get_scheduler(
        args.lr_scheduler_type,
        optimizer,
        num_warmup_steps=int(args.warmup_steps),
        num_training_steps=400,
        scheduler_specific_kwargs=args.lr_scheduler_kwargs or {},
    )
    multiplier = scheduler.lr_lambdas[0]  # type: ignore[attr-defined]
    for step in range(401):
        assert multiplier(step) == pytest.approx(advice.schedule(step), abs=1e-12), step


@pytest.mark.filterwarnings("ignore:`gradient_checkpointing` is deprecated:FutureWarning")  # TRL's own default
def test_trl_config_accepts_the_export(tmp_path: Path) -> None:
    from trl import SFTConfig

    advice = recommend(total_steps=1000, regime="qlora", peak_lr=2e-4, decay="cosine(to=0.1)")
    config = SFTConfig(output_dir=str(tmp_path), report_to="none", bf16=False, **advice.exports["trl"])
    assert config.warmup_steps == 50
    assert config.lr_scheduler_type == "cosine_with_min_lr"
    assert config.lr_scheduler_kwargs == {"min_lr_rate": 0.1}
    assert config.learning_rate == 2e-4


@pytest.mark.parametrize(
    ("decay", "peak", "why"),
    [
        ("step(every=50, gamma=0.5)", None, "transformers has no step decay"),
        ("exponential(gamma=0.99)", None, "transformers has no exponential decay"),
        ("linear(to=0.1)", None, "pass peak_lr"),
        ("cosine(exponent=2)", None, "transformers' cosines have no exponent"),
    ],
)
def test_no_export_without_an_exact_built_in(decay: str, peak: float | None, why: str) -> None:
    advice = recommend(total_steps=1000, decay=decay, peak_lr=peak)
    assert advice.exports["hf"] is None and advice.exports["trl"] is None
    assert why in advice.exports["note"]
    assert "no exact built-in" in advice.explain()


def test_exports_without_the_run_length_are_those_that_hold_for_any_length() -> None:
    advice = recommend(regime="lora", decay="cosine(100)")
    assert advice.warmup_steps == 10 and advice.spec == "linear(10) -> cosine(100)"
    # a cosine over 100 steps, then 0 held: warmup_stable_decay with no stable phase, for any run length
    assert advice.exports["hf"]["lr_scheduler_type"] == "warmup_stable_decay"
    assert recommend(regime="lora", decay="cosine").exports["hf"] == {"warmup_steps": 10, "lr_scheduler_type": "cosine"}


DECAYS = [
    "linear",
    "cosine",
    "cosine(to=0.1)",
    "cosine-restarts(cycles=3)",
    "polynomial(power=2)",
    "linear(to=0.1)",
    "inverse-sqrt",
    "constant",
    "1-sqrt",
    "constant -> 1-sqrt(20%)",
    "constant -> cosine(25%, to=0.1)",
    "cosine(100)",
    "step(every=50, gamma=0.5)",
    "exponential(gamma=0.99)",
    "cosine(exponent=2)",
]


@pytest.mark.parametrize("decay", DECAYS)
def test_the_advisors_hf_export_is_rampup_export_to_hf(decay: str) -> None:
    from rampup import hf

    advice = recommend(total_steps=400, regime="lora", decay=decay, peak_lr=1e-3)
    try:
        expected: dict[str, Any] | None = hf.training_args(advice.schedule, 400, peak_lr=1e-3)
    except RampupError:
        expected = None
    got = advice.exports["hf"]
    if expected is None:
        assert got is None, decay
        return
    assert got is not None, (decay, advice.exports["note"])
    kwargs = {k: v for k, v in expected.pop("lr_scheduler_kwargs").items() if not (k == "num_cycles" and v == 0.5)}
    assert {k: v for k, v in got.items() if k != "lr_scheduler_kwargs"} == expected
    assert got.get("lr_scheduler_kwargs", {}) == kwargs


# ---------------------------------------------------------------------------------------------- command line


def test_cli_text(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["recommend", "--total-steps", "1000", "--regime", "lora", "--optimizer", "adamw"]) is None
    out = capsys.readouterr().out
    assert "warmup:    50 steps (5% of 1000 steps)" in out
    assert "schedule:  linear(50) -> linear(950)" in out
    assert "lora-table:" in out and "source: Unsloth" in out
    assert "lr_scheduler_type='linear'" in out


def test_cli_json(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "recommend",
        "--dataset-size",
        "3668",
        "--batch-size",
        "32",
        "--epochs",
        "3",
        "--regime",
        "full",
        "--architecture",
        "bert",
        "--optimizer",
        "adam",
        "--betas",
        "0.9,0.999",
        "--peak-lr",
        "2e-5",
        "--json",
    ]
    assert main(argv) is None
    data = json.loads(capsys.readouterr().out)
    assert {"warmup_steps", "warmup_ratio", "schedule", "peak_lr", "reasons", "exports"} <= data.keys()
    assert data["warmup_steps"] == 35 and data["peak_lr"] == 2e-5
    assert data["schedule"] == "linear(35) -> linear(310)"
    assert all(reason.keys() == {"rule", "source", "detail"} for reason in data["reasons"])
    assert data["exports"]["hf"]["warmup_steps"] == 35 and "trl" in data["exports"]


def test_cli_scaling_options(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "recommend",
        "--total-steps",
        "14130",
        "--batch-size",
        "32",
        "--num-processes",
        "256",
        "--base-batch-size",
        "256",
        "--base-lr",
        "0.1",
        "--optimizer",
        "sgd",
        "--regime",
        "pretrain",
        "--grad-accum",
        "1",
        "--decay",
        "cosine",
        "--beta2",
        "0.99",
        "--json",
    ]
    with pytest.raises(SystemExit):  # sgd has no beta2
        main(argv)
    capsys.readouterr()
    argv = [item for item in argv if item not in ("--beta2", "0.99")]
    main(argv)
    data = json.loads(capsys.readouterr().out)
    assert data["peak_lr"] == pytest.approx(3.2)
    # the rate is scaled x32: 707 x 32 steps, cut to half the run (no epoch length is known to bound it)
    assert data["warmup_steps"] == 7065
    argv[argv.index("--total-steps") : argv.index("--total-steps") + 2] = [
        "--dataset-size",
        "1281167",
        "--epochs",
        "90",
    ]
    main(argv)
    data = json.loads(capsys.readouterr().out)
    assert data["warmup_steps"] == 785  # at most Goyal et al.'s 5 epochs (157 updates each)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["recommend", "--total-steps", "0"], "total_steps: got 0"),
        (["recommend", "--total-steps", "-3"], "total_steps: got -3"),
        (["recommend", "--total-steps", "100", "--batch-size", "0"], "batch_size: got 0"),
        (["recommend", "--total-steps", "100", "--optimizer", "adagrad"], "optimizer: got 'adagrad'"),
        (["recommend", "--total-steps", "100", "--regime", "distill"], "regime: got 'distill'"),
        (["recommend", "--total-steps", "100", "--betas", "0.9"], "--betas: got '0.9'"),
        (
            ["recommend", "--total-steps", "99", "--dataset-size", "1000", "--batch-size", "10", "--epochs", "1"],
            "total_steps: got 99, expected 100",
        ),
        (["recommend", "--regime", "full"], "total_steps: got None"),
    ],
)
def test_cli_bad_input_is_one_error_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in captured.err


# ---------------------------------------------------------------------------------------------- the docs table


def test_docs_table_is_the_scripts_output(monkeypatch: pytest.MonkeyPatch) -> None:
    spec = importlib.util.spec_from_file_location("make_advisor_table", ROOT / "docs" / "make_advisor_table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, spec.name, module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    text = (ROOT / "docs" / "advisor.md").read_text(encoding="utf-8")
    start, end = "<!-- advisor-table:start -->\n", "<!-- advisor-table:end -->"
    assert start in text and end in text
    pasted = text.split(start, 1)[1].split(end, 1)[0].strip()
    assert pasted == module.table().strip()
    names = " ".join(recipe.name for recipe in module.RECIPES)
    for recipe in ("BERT", "RoBERTa", "DeiT", "GPT-3 Small", "LLaMA 7B", "Goyal", "Transformer base"):
        assert recipe in names


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"dataset_size": 10**400, "batch_size": 8, "epochs": 1}, "dataset_size"),
        ({"total_steps": 100, "dataset_size": 1000, "batch_size": 10**400}, "batch_size"),
        ({"total_steps": 10**16}, "total_steps"),
        ({"dataset_size": 1000, "batch_size": 8, "epochs": 1e308}, "epochs"),
    ],
)
def test_huge_counts_are_one_clear_error(kwargs: dict[str, Any], field: str) -> None:
    with pytest.raises(RampupError) as error:
        recommend(**kwargs)
    assert error.value.field == field and len(str(error.value)) < 300
