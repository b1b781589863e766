"""Golden values: the numbers the papers and the seed documents give, computed here independently."""

from __future__ import annotations

import math

import numpy as np
import pytest

import rampup
from rampup.curves import SCALAR, radam_rectification
from rampup.presets import goyal, vaswani

# --------------------------------------------------------------------------- Vaswani et al. 2017


def paper_lrate(step_num: float, d_model: int = 512, warmup: int = 4000) -> float:
    """Eq. 3 of "Attention Is All You Need": d^-0.5 * min(step^-0.5, step * warmup^-1.5)."""
    return d_model**-0.5 * min(step_num**-0.5, step_num * warmup**-1.5)


def test_vaswani_peak_at_step_4000_is_6_99e_4() -> None:
    preset = rampup.preset("vaswani")
    schedule = preset.schedule.resolve()
    assert preset.peak_lr is not None
    assert preset.peak_lr * schedule(4000) == pytest.approx(6.99e-4, rel=1e-3)
    assert preset.peak_lr * schedule(4000) == pytest.approx(512**-0.5 * 4000**-0.5, rel=1e-15)
    assert schedule(4000) == 1.0  # the peak of the multiplier is where the warmup ends
    assert rampup.preset("noam") is preset  # the alias
    assert preset.needs == []  # 1/sqrt(step) runs forever: no total needed


@pytest.mark.parametrize(("d_model", "warmup"), [(512, 4000), (1024, 4000), (256, 1000)])
def test_vaswani_equals_the_closed_form(d_model: int, warmup: int) -> None:
    # The mapping: rampup's step s counts the updates already done, and schedule(s) is the rate of
    # the next update. The paper's step_num plays exactly that role: eq. 3 at step_num = s equals
    # peak * schedule(s) for every s (linear part: peak * s / W = d^-0.5 * s * W^-1.5; decay part:
    # peak * sqrt(W / s) = d^-0.5 * s^-0.5), and both give 0 at s = 0, so step_num = s with no shift.
    # A shifted mapping (step_num = s + 1) would be off by one step and is checked to differ below.
    preset = vaswani(d_model, warmup)
    schedule = preset.schedule.resolve()
    assert preset.peak_lr is not None
    steps = [1, 2, 10, 100, warmup // 2, warmup - 1, warmup, warmup + 1, 2 * warmup, 10**5, 10**6]
    for step in steps:
        assert preset.peak_lr * schedule(step) == pytest.approx(paper_lrate(step, d_model, warmup), rel=1e-12)
    values = preset.peak_lr * schedule.values(np.arange(1, 3 * warmup))
    expected = [paper_lrate(s, d_model, warmup) for s in range(1, 3 * warmup)]
    np.testing.assert_allclose(values, expected, rtol=1e-12)
    assert schedule(0) == 0.0
    assert preset.peak_lr * schedule(100) != pytest.approx(paper_lrate(101, d_model, warmup), rel=1e-6)


# --------------------------------------------------------------------------- Ma & Yarats 2021


@pytest.mark.parametrize(
    ("beta2", "steps"), [(0.999, 2000), (0.98, 100), (0.99, 200), (0.95, 40), (0.9, 20), (0.9999, 20000)]
)
def test_untuned_linear_lasts_2_over_1_minus_beta2(beta2: float, steps: int) -> None:
    schedule = rampup.parse(f"untuned-linear(beta2={beta2}) -> constant").resolve(steps + 10)
    assert schedule.warmup_steps == steps
    assert schedule(steps // 2) == pytest.approx(0.5, abs=1e-12)
    assert schedule(steps) == 1.0
    assert schedule(steps - 1) == pytest.approx(1 - 1 / steps, abs=1e-12)


def test_untuned_linear_rounds_instead_of_truncating() -> None:
    # 2 / (1 - 0.999) is 1999.9999999999982 in floating point: truncation would give 1999
    assert int(2 / (1 - 0.999)) == 1999
    assert rampup.parse("untuned-linear -> constant").resolve(5000).warmup_steps == 2000  # default beta2 0.999
    assert rampup.parse("untuned-linear(beta2=0.999) -> cosine").resolve(5000).warmup_steps == 2000


@pytest.mark.parametrize("beta2", [0.999, 0.99, 0.98])
def test_untuned_exponential_is_1_minus_exp(beta2: float) -> None:
    schedule = rampup.parse(f"untuned-exponential(beta2={beta2}) -> constant").resolve()
    length = schedule.warmup_steps
    assert length == round(5 / (1 - beta2))  # five time constants of 1 / (1 - beta2) steps
    steps = np.arange(length)
    expected = 1 - np.exp(-(1 - beta2) * steps)
    np.testing.assert_allclose(schedule.values(steps), expected, rtol=0, atol=1e-12)
    assert schedule(1 / (1 - beta2)) == pytest.approx(1 - math.exp(-1), abs=1e-12)  # one time constant
    assert schedule(length) == 1.0  # the step to the peak at the end


# --------------------------------------------------------------------------- RAdam (Liu et al. 2020)


def paper_rectification(t: int, beta2: float) -> float:
    """Liu et al. 2020, algorithm 2, written out here: r_t while rho_t > 5, else 0.

    The paper's test is rho_t > 4; torch.optim.RAdam (``_single_tensor_radam``) rectifies only
    while rho_t > 5, and so does rampup, so that its factor is the one PyTorch applies.
    """
    rho_inf = 2 / (1 - beta2) - 1
    rho_t = rho_inf - 2 * t * beta2**t / (1 - beta2**t)
    if rho_t <= 5:
        return 0.0
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


@pytest.mark.parametrize("beta2", [0.999, 0.99, 0.98, 0.9])
def test_radam_factor_matches_the_paper(beta2: float) -> None:
    for t in [1, 2, 3, 4, 5, 6, 7, 10, 50, 100, 1000, 5000]:
        assert float(radam_rectification(SCALAR, t, beta2)) == pytest.approx(paper_rectification(t, beta2), abs=1e-12)
    # the warmup curve is r_{s+1} rescaled by r_{L+1} so that it ends at the peak
    schedule = rampup.parse(f"radam(beta2={beta2}) -> constant").resolve()
    length = schedule.warmup_steps
    assert length == round(2 / (1 - beta2))
    final = paper_rectification(length + 1, beta2)
    for s in range(length):
        assert schedule(s) == pytest.approx(paper_rectification(s + 1, beta2) / final, abs=1e-12)
    assert schedule(0) == 0.0  # RAdam makes no adaptive step for the first updates
    assert schedule(length) == 1.0


# --------------------------------------------------------------------------- the seed documents


def seed_linear_warmup(step: int, warmup_steps: int, target_lr: float) -> float:
    if step < warmup_steps:
        return target_lr * (step / warmup_steps)
    return target_lr


def seed_exponential_warmup(step: int, warmup_steps: int, target_lr: float) -> float:
    if step < warmup_steps:
        return target_lr * (1 - math.exp(-5 * step / warmup_steps))
    return target_lr


def seed_get_lr(step: int, warmup_steps: int, max_lr: float, total_steps: int) -> float:
    """Linear warmup then cosine decay (the seed's PyTorch manual loop)."""
    if step < warmup_steps:
        return max_lr * step / warmup_steps
    progress = (step - warmup_steps) / (total_steps - warmup_steps)
    return max_lr * 0.5 * (1 + math.cos(math.pi * progress))


@pytest.mark.parametrize("warmup", [1, 7, 100, 1000])
def test_seed_warmups(warmup: int) -> None:
    linear = rampup.parse(f"linear({warmup}) -> constant").resolve(3 * warmup)
    exponential = rampup.parse(f"exponential({warmup}) -> constant").resolve(3 * warmup)
    for step in range(3 * warmup + 1):
        assert 2e-4 * linear(step) == pytest.approx(seed_linear_warmup(step, warmup, 2e-4), rel=1e-12, abs=1e-20)
        assert exponential(step) == pytest.approx(seed_exponential_warmup(step, warmup, 1.0), abs=1e-12)


@pytest.mark.parametrize(("warmup", "total"), [(1000, 10_000), (10, 100), (1, 2), (50, 51)])
def test_seed_get_lr(warmup: int, total: int) -> None:
    schedule = rampup.parse(f"linear({warmup}) -> cosine").resolve(total)
    steps = np.arange(total + 1)
    expected = [seed_get_lr(int(s), warmup, 1e-4, total) for s in steps]
    np.testing.assert_allclose(1e-4 * schedule.values(steps), expected, rtol=0, atol=1e-4 * 1e-12)
    # past the total the seed's cosine rises again; rampup holds at the floor
    back_up = 2 * total - warmup  # progress 2: a whole cosine period
    assert seed_get_lr(back_up, warmup, 1e-4, total) == pytest.approx(1e-4)
    assert schedule(back_up) == 0.0


# --------------------------------------------------------------------------- Goyal et al. 2017, GPT-3


@pytest.mark.parametrize(
    ("epoch", "multiplier"),
    [(0, 0.1), (2.5, 0.55), (5, 1.0), (29.99, 1.0), (30, 0.1), (60, 0.01), (80, 0.001), (89, 0.001)],
)
def test_goyal_values(epoch: float, multiplier: float) -> None:
    preset = rampup.preset("goyal")
    assert preset.needs == ["steps_per_epoch"]
    schedule = preset.schedule.resolve(steps_per_epoch=100)
    assert schedule.warmup_steps == 500
    assert schedule(epoch * 100) == pytest.approx(multiplier, rel=1e-12)
    assert preset.peak_lr == pytest.approx(1.0)  # 0.1 * 2560 / 256: the default batch of the preset


def test_goyal_batch_8192() -> None:
    preset = goyal(8192)  # the paper's headline run: 0.1 -> 3.2 over 5 epochs
    assert preset.peak_lr == pytest.approx(3.2)
    schedule = preset.schedule.resolve(steps_per_epoch=156)  # 1.28M images / 8192 per step
    assert preset.peak_lr * schedule(0) == pytest.approx(0.1)
    assert preset.peak_lr * schedule(5 * 156) == pytest.approx(3.2)
    assert preset.peak_lr * schedule(30 * 156) == pytest.approx(0.32)


def test_gpt3_warmup_is_750_steps_at_half_a_million_tokens() -> None:
    preset = rampup.preset("gpt3")
    assert preset.needs == ["tokens_per_step"]
    schedule = preset.schedule.resolve(tokens_per_step=0.5e6)
    assert schedule.warmup_steps == 750
    assert schedule.total_steps == 750 + 520_000  # 260B tokens of cosine
    assert schedule(750) == 1.0
    assert schedule(750 + 260_000) == pytest.approx(0.55, abs=1e-12)  # halfway down to 0.1
    assert schedule(10**7) == pytest.approx(0.1, abs=1e-12)


# --------------------------------------------------------------------------- every preset

CONTEXT = {"total_steps": 100_000, "steps_per_epoch": 500.0, "tokens_per_step": 0.5e6}


@pytest.mark.parametrize("name", sorted(rampup.PRESETS))
def test_presets_parse_and_resolve_with_what_they_need(name: str) -> None:
    preset = rampup.preset(name)
    assert preset.source and preset.title
    assert rampup.parse(preset.spec) == preset.schedule
    assert rampup.as_schedule(name) == preset.schedule
    needs = {key: CONTEXT[key] for key in preset.needs}
    schedule = preset.schedule.resolve(**needs)  # type: ignore[arg-type]
    values = schedule.values(np.arange(0, 100_001, 97))
    assert np.isfinite(values).all() and (values >= 0).all() and values.max() <= 1.0
    assert schedule.peak == 1.0
    for missing in preset.needs:  # each need is really needed: without it, an error that names it
        partial = {key: value for key, value in needs.items() if key != missing}
        with pytest.raises(rampup.RampupError) as caught:
            preset.schedule.resolve(**partial)  # type: ignore[arg-type]
        assert caught.value.field == missing


def test_preset_peaks() -> None:
    assert rampup.preset("bert").peak_lr == 5e-5
    assert rampup.preset("llama").peak_lr == 3e-4
    assert rampup.preset("lora").schedule.resolve(100).warmup_steps == 10
    five = rampup.preset("five-percent").schedule
    assert five.resolve(1000).warmup_steps == 50
    assert five.resolve(40).warmup_steps == 5  # at least 5
    wsd = rampup.preset("wsd").schedule.resolve(1000)
    assert [length for _, _, length in wsd.spans()] == [10, 790, 200]
