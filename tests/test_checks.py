"""One set of argument checks and one rounding for every door (issue 17): ``rampup.checks`` and ``rampup.durations``."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rampup
import rampup.hf
import rampup.keras
import rampup.optax
from rampup import RampupError
from rampup.checks import fraction, learning_rate, optional_learning_rate, positive, ratio, whole
from rampup.durations import ceil_steps, early_window, floor_steps
from rampup.export import export
from rampup.finder import _candidate_lengths
from rampup.monitor import MIN_WATCH_STEPS, WarmupMonitor
from rampup.plotting import plot

BAD_RATES = [math.inf, -math.inf, math.nan, 0, 0.0, -1e-3, True, "3e-4", None, [1e-3]]


@pytest.mark.parametrize("value", BAD_RATES)
def test_a_learning_rate_is_a_finite_number_above_zero(value: object) -> None:
    with pytest.raises(RampupError) as caught:
        learning_rate(value, "peak_lr")
    assert caught.value.field == "peak_lr"
    assert "finite learning rate > 0" in str(caught.value)


def test_good_values_come_back_as_plain_numbers() -> None:
    assert learning_rate(3e-4) == 3e-4 and type(learning_rate(np.float32(0.5))) is float
    assert learning_rate(2) == 2.0 and optional_learning_rate(None) is None
    assert positive(np.int64(3), "batch_size") == 3.0
    assert ratio(1.5, "loss_spike", 1.0) == 1.5 and fraction(0, "hold_floor", "of the plan", zero=True) == 0.0
    assert whole(5, "window", 3) == 5
    for call in (
        lambda: positive(math.inf, "batch_size"),
        lambda: ratio(1.0, "loss_spike", 1.0),
        lambda: fraction(0, "backoff", "of the clock"),
        lambda: fraction(1.01, "backoff", "of the clock"),
        lambda: whole(True, "window", 0),
        lambda: whole(2.0, "window", 0),
    ):
        with pytest.raises(RampupError):
            call()


DOORS: dict[str, Callable[[float], Any]] = {
    "optax": lambda lr: rampup.optax.schedule("linear(10) -> cosine", peak_lr=lr, total_steps=100),
    "keras": lambda lr: rampup.keras.RampupSchedule("linear(10) -> cosine", peak_lr=lr, total_steps=100),
    "export": lambda lr: export("linear(10) -> cosine", "torch", total_steps=100, peak_lr=lr),
    "hf": lambda lr: rampup.hf.builtin_scheduler("linear(10) -> cosine", total_steps=100, peak_lr=lr),
    "plot": lambda lr: plot("linear(10) -> cosine", total_steps=100, peak_lr=lr),
    "advisor": lambda lr: rampup.recommend(total_steps=1000, peak_lr=lr),
    "monitor": lambda lr: WarmupMonitor("cosine", total_steps=100, loss_spike=lr),
}


@pytest.mark.parametrize("door", sorted(DOORS))
@pytest.mark.parametrize("value", [math.inf, math.nan, -1.0])
def test_inf_nan_and_negative_rates_are_refused_by_every_door(door: str, value: float) -> None:
    with pytest.raises(RampupError):
        DOORS[door](value)


def test_floor_steps_is_the_counterpart_of_ceil_steps() -> None:
    assert floor_steps(0.07 * 100) == 7 and ceil_steps(0.07 * 100) == 7  # 7.000000000000001
    assert floor_steps(0.29 * 100) == 29 and ceil_steps(0.29 * 100) == 29  # 28.999999999999996
    assert floor_steps(6.5) == 6 and ceil_steps(6.5) == 7
    for bad in (-1.0, math.inf, math.nan, "3"):
        with pytest.raises(RampupError):
            floor_steps(bad)  # type: ignore[arg-type]


@given(st.integers(0, 10**6), st.floats(0.0, 1.0))
def test_floor_and_ceil_bracket_the_value(total: int, share: float) -> None:
    x = share * total
    assert floor_steps(x) <= ceil_steps(x) <= floor_steps(x) + 1
    assert abs(floor_steps(x) - x) <= 1 and abs(ceil_steps(x) - x) <= 1


@given(st.lists(st.floats(0.001, 0.6), min_size=1, max_size=8), st.integers(2, 100_000))
def test_the_finders_pilot_lengths_round_like_the_engine(shares: list[float], total: int) -> None:
    lengths = _candidate_lengths(shares, total)
    engine = {rampup.parse(f"linear({share * 100!r}%) -> constant").resolve(total).warmup_steps for share in shares}
    assert lengths == sorted(engine)


def test_the_finders_seven_percent_of_100_is_seven() -> None:
    assert _candidate_lengths([0.07], 100) == [7]  # math.ceil(0.07 * 100) is 8


def test_the_early_window_is_defined_once() -> None:
    assert early_window(0, 1000) == 200 and early_window(300, 1000) == 300 and early_window(0, 100) == 20
    assert early_window(0, 100, minimum=50) == 50 and early_window(0, None, minimum=50) == 50
    monitor = WarmupMonitor("linear(30) -> cosine", total_steps=100, warn=False)
    assert monitor.watch_steps == early_window(30, 100, minimum=MIN_WATCH_STEPS) == 50


def test_nearest_steps_rounds_a_formulas_length_like_python_and_refuses_what_is_not_a_count() -> None:
    """The untuned warmups' 2 / (1 - beta2) is rounded in durations.py too (issue 17)."""
    assert rampup.durations.nearest_steps(2 / (1 - 0.999)) == 2000
    assert [rampup.durations.nearest_steps(x) for x in (0.5, 1.5, 2.5, 2.4999)] == [0, 2, 2, 2]
    for bad in (math.inf, math.nan, -1.0):
        with pytest.raises(RampupError, match=r"^beta2: "):
            rampup.durations.nearest_steps(bad, "beta2")
