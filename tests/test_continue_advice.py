"""The advisor's ``continue`` regime (continued pretraining from a checkpoint) and the ``rewarm`` preset.

Re-warming: Gupta et al. 2023 (arXiv:2308.04014) re-warm and re-decay, with warmups of
0.5-2% doing about equally well; Ibrahim et al. 2024 (arXiv:2403.08763) re-warm linearly
over 1% of the iterations to the pretraining peak and re-decay with a cosine.
"""

from __future__ import annotations

import json

import pytest
from cli_helpers import cli_error, run_cli

import rampup
from rampup import RampupError
from rampup.advisor import REGIMES, REWARM_DECAY, recommend, rewarm


@pytest.mark.parametrize(("total", "steps"), [(4, 1), (99, 1), (100, 1), (101, 2), (20_000, 200), (123_457, 1235)])
def test_rewarm_is_one_percent_rounded_up(total: int, steps: int) -> None:
    assert rewarm(total).steps == steps
    advice = recommend(total_steps=total, regime="continue")
    assert advice.warmup_steps == steps
    assert advice.spec == f"linear({steps}) -> {REWARM_DECAY}"
    assert advice.schedule == rampup.parse(advice.spec).resolve(total)


def test_the_reasons_and_alternatives_name_their_sources() -> None:
    advice = recommend(total_steps=20_000, regime="continue", optimizer="adamw")
    rules = [reason.rule for reason in advice.reasons]
    assert rules[:2] == ["rewarm", "redecay"]
    assert all(
        "arXiv:2308.04014" in reason.source and "arXiv:2403.08763" in reason.source for reason in advice.reasons[:2]
    )
    weighed = {item.label: item for item in advice.alternatives}
    assert weighed["re-warm over 0.5%"].warmup_steps == 100 and weighed["re-warm over 2%"].warmup_steps == 400
    assert weighed["no re-warming: go on at the checkpoint's final rate"].warmup_steps is None
    # Adam's bound for a run from scratch is weighed, not applied: the weights are trained
    adam = weighed["Ma & Yarats' untuned warmup, 2 / (1 - beta2)"]
    assert adam.warmup_steps == 2000 and "re-warming papers" in adam.why_not
    assert advice.warmup_steps == 200


def test_a_given_decay_is_kept_and_aliases_work() -> None:
    advice = recommend(total_steps=10_000, regime="cpt", decay="1-sqrt(20%)")
    assert advice.spec == "linear(100) -> 1-sqrt(20%)"
    assert "1-sqrt(20%), as given" in advice.reasons[1].detail
    assert recommend(total_steps=10_000, regime="continued-pretraining").warmup_steps == 100
    assert "continue" in REGIMES


def test_other_regimes_are_unchanged_by_the_decay_default() -> None:
    assert recommend(total_steps=2000, regime="full").spec == "linear(200) -> linear"
    assert recommend(total_steps=2000).spec == "linear(200) -> linear"


def test_continue_needs_the_runs_length() -> None:
    with pytest.raises(RampupError) as caught:
        recommend(regime="continue")
    assert caught.value.field == "total_steps"


def test_the_rewarm_preset_is_the_advice() -> None:
    preset = rampup.preset("rewarm")
    assert rampup.preset("continue") is preset
    assert "arXiv:2403.08763" in preset.source and "arXiv:2308.04014" in preset.source
    resolved = preset.schedule.resolve(total_steps=20_000)
    assert resolved == recommend(total_steps=20_000, regime="continue").schedule
    assert resolved(200) == 1.0 and resolved(20_000) == pytest.approx(0.1)


def test_the_command_line_recommends_a_rewarm(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run_cli(capsys, "recommend", "--total-steps", "5000", "--regime", "continue", "--json")
    assert code == 0
    assert json.loads(out)["spec"] == "linear(50) -> cosine(to=0.1)"
    assert "total_steps" in cli_error(capsys, "recommend", "--regime", "continue")
