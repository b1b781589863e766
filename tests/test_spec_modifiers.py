"""The phase modifiers of issue 12: a staircase (per=), a floor clip (floor=), a decay started part-way
into its curve (skip=), k-decay (k=), and timm's tanh decay.

Each is checked as a property against the plain curve it modifies, in text and dict form, in the
scalar call against Schedule.values (bit for bit), and in jax.numpy against NumPy (1e-12 relative).
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rampup import Schedule, parse
from rampup.errors import RampupError

jnp = jax.numpy

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

#: decays and their shape parameters (every decay with a progress: the ones a clip, a skip or k can apply to)
DECAYS = [
    "linear",
    "cosine",
    "cosine(cycles=1.5)",
    "polynomial(power=2)",
    "polynomial(power=0.5)",
    "1-sqrt",
    "tanh",
    "exponential(gamma=0.99)",
    "inverse-sqrt",
    "step(every=7, gamma=0.5)",
    "cosine-restarts(cycles=3)",
]
WARMUPS = ["linear", "cosine", "polynomial(power=2)", "exponential", "1-sqrt", "log"]


def phase(shape: str, length: int, **extra: object) -> str:
    """``cosine(cycles=1.5)`` with a length and more keywords: ``cosine(40, cycles=1.5, to=0.1)``."""
    name, _, rest = shape.partition("(")
    args = [str(length)] + ([rest.rstrip(")")] if rest else [])
    args += [f"{key}={value}" for key, value in extra.items()]
    return f"{name}({', '.join(args)})"


def steps(schedule: Schedule) -> np.ndarray:
    total = schedule.total_steps
    assert total is not None
    return np.arange(total + 5, dtype=np.float64)


def same_everywhere(schedule: Schedule, *, in_jax: bool = False) -> None:
    """Scalar call equals values() bit for bit; text and dict forms round-trip; jax equals NumPy (when asked)."""
    assert parse(str(schedule)) == schedule
    assert Schedule.from_dict(schedule.to_dict()) == schedule
    assert str(Schedule.from_dict(schedule.to_dict())) == str(schedule)
    grid = steps(schedule)
    values = schedule.values(grid)
    assert [schedule(float(step)) for step in grid] == values.tolist()
    if not in_jax:
        return
    with jax.enable_x64(True):  # float64 for this check only: other tests see JAX's default float32
        traced = np.asarray(schedule.evaluate(jnp.asarray(grid), jnp), dtype=np.float64)
    assert np.all(np.abs(traced - values) <= 1e-12 * np.abs(values) + 1e-300), (str(schedule), traced - values)


lengths = st.integers(min_value=1, max_value=120)


@SETTINGS
@given(
    warmup=st.sampled_from(WARMUPS),
    decay=st.sampled_from(DECAYS),
    w=lengths,
    length=lengths,
    per=st.integers(min_value=1, max_value=40),
    to=st.sampled_from([0.0, 0.1]),
)
def test_per_is_a_staircase_of_the_curve(warmup: str, decay: str, w: int, length: int, per: int, to: float) -> None:
    """With per=N the value is constant in each period of N updates and equals the plain curve at its start."""
    target = {"to": to} if to else {}
    plain = parse(f"{phase(warmup, w)} -> {phase(decay, length, **target)}")
    stairs = parse(f"{phase(warmup, w, per=per)} -> {phase(decay, length, per=per, **target)}")
    same_everywhere(stairs)
    for start, span in ((0, w), (w, length)):
        t = np.arange(span, dtype=np.float64)
        held = start + np.floor(t / per) * per
        assert stairs.values(start + t).tolist() == plain.values(held).tolist()
        # constant within each period
        for begin in range(0, span, per):
            block = stairs.values(start + np.arange(begin, min(begin + per, span), dtype=np.float64))
            assert np.all(block == block[0])
    # the phases still hand on their curves' end values: the warmup ends at the peak, the run at its floor
    end = w + length
    assert stairs(end) == plain(end) and stairs(w) == plain(w) == pytest.approx(1.0, abs=2e-3)


@SETTINGS
@given(
    decay=st.sampled_from(DECAYS),
    w=lengths,
    length=lengths,
    floor=st.sampled_from([0.05, 0.2, 0.5, 0.9]),
)
def test_floor_clips_the_curve(decay: str, w: int, length: int, floor: float) -> None:
    """floor=m: never below m; the plain curve wherever it is above m; m wherever it is below (a clip)."""
    plain = parse(f"linear({w}) -> {phase(decay, length)}")
    clipped = parse(f"linear({w}) -> {phase(decay, length, floor=floor)}")
    same_everywhere(clipped)
    grid = np.arange(w, w + length + 5, dtype=np.float64)
    ours, theirs = clipped.values(grid), plain.values(grid)
    assert np.all(ours >= floor)
    above = theirs >= floor
    assert ours[above].tolist() == theirs[above].tolist()
    assert np.all(ours[~above] == floor)
    assert clipped.final_value() == max(plain.final_value(), floor)


@SETTINGS
@given(
    decay=st.sampled_from([d for d in DECAYS if d not in ("inverse-sqrt",)]),
    w=lengths,
    skip=lengths,
    length=lengths,
    to=st.sampled_from([0.0, 0.1]),
)
def test_skip_is_the_full_curve_shifted(decay: str, w: int, skip: int, length: int, to: float) -> None:
    """cosine(L, skip=S) after a warmup of W is the cosine of L+S after W, shifted S on: the rate drops at W."""
    target = {"to": to} if to else {}
    full = parse(f"linear({w}) -> {phase(decay, length + skip, **target)}")
    part = parse(f"linear({w}) -> {phase(decay, length, skip=skip, **target)}")
    same_everywhere(part)
    t = np.arange(length, dtype=np.float64)
    assert part.values(w + t).tolist() == full.values(w + skip + t).tolist()
    assert part.final_value() == full.final_value()
    # the same as of= written out: the curve's own length is the phase's plus what it skips
    assert (
        parse(f"linear({w}) -> {phase(decay, length, of=length + skip, skip=skip, **target)}")
        .values(np.arange(w + length + 3))
        .tolist()
        == part.values(np.arange(w + length + 3)).tolist()
    )


@SETTINGS
@given(
    shape=st.sampled_from(["cosine", "polynomial(power=2)", "linear"]),
    length=st.integers(min_value=2, max_value=400),
    k=st.sampled_from([0.5, 1.5, 2.0, 3.0]),
)
def test_k_decay_bends_the_progress(shape: str, length: int, k: float) -> None:
    """k=K: the curve at progress p ** K, as timm computes t ** k / T ** k (cosine_lr.py, poly_lr.py)."""
    bent = parse(phase(shape, length, k=k))
    same_everywhere(bent)
    t = np.arange(length, dtype=np.float64)
    q = t**k / float(length) ** k
    expected = {
        "cosine": 0.5 * (1 + np.cos(math.pi * q)),
        "polynomial(power=2)": (1 - q) ** 2,
        "linear": 1 - q,
    }[shape]
    ours = bent.values(t)
    assert np.all(np.abs(ours - expected) <= 1e-9 * np.abs(expected) + 1e-15)


def test_tanh_is_timms_formula() -> None:
    """timm/scheduler/tanh_lr.py: lr_min + (lr_max - lr_min) * (1 - tanh(lb * (1 - tr) + ub * tr)) / 2, then lr_min."""
    schedule = parse("linear(5) -> tanh(95, to=0.01)")
    same_everywhere(schedule, in_jax=True)
    t = np.arange(95, dtype=np.float64)
    r = t / 95
    expected = 0.01 + 0.5 * (1 - 0.01) * (1 - np.tanh(-7.0 * (1 - r) + 3.0 * r))
    assert np.all(np.abs(schedule.values(5 + t) - expected) <= 1e-12 * expected)
    assert schedule(100) == schedule(10_000) == 0.01  # the cycle over: the floor
    assert str(parse("tanh(10, lb=-6, ub=4)")) == "tanh(10, lb=-6, ub=4)"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    decay=st.sampled_from(DECAYS),
    w=lengths,
    length=lengths,
    per=st.integers(min_value=1, max_value=40),
    skip=st.integers(min_value=0, max_value=50),
    floor=st.sampled_from([0.0, 0.3]),
    k=st.sampled_from([1.0, 2.0]),
)
def test_jax_equals_numpy(decay: str, w: int, length: int, per: int, skip: int, floor: float, k: float) -> None:
    """schedule.evaluate(steps, jnp) (branch-free, for jax.jit) equals Schedule.values within 1e-12 relative."""
    extra: dict[str, object] = {"per": per}
    if skip:
        extra["skip"] = skip
    if floor:
        extra["floor"] = floor
    if k != 1.0 and decay != "inverse-sqrt":
        extra["k"] = k
    same_everywhere(parse(f"linear({w}, per={per}) -> {phase(decay, length, **extra)}"), in_jax=True)


@pytest.mark.parametrize(
    "text",
    [
        "linear(10, per=3) -> cosine(90, k=1.5, floor=0.05, per=10)",
        "linear(4) -> inverse-sqrt(floor=0.3)",
        "linear(4) -> inverse-sqrt(floor=0.3, per=2)",
        "linear(5ep, per=1ep) -> cosine(per=1ep, to=0.01)",
        "linear(10) -> cosine(90, of=120, skip=30, to=0.1, per=5)",
        "linear(10) -> polynomial(90, power=0.5, skip=10, floor=0.2)",
        "linear(10) -> cosine-restarts(190, period=100, skip=10, to=0.1)",
        "linear(10) -> tanh(90, skip=10, to=0.05) -> constant(20)",
    ],
)
def test_combinations_round_trip_and_agree(text: str) -> None:
    schedule = parse(text).resolve(200, steps_per_epoch=10)
    same_everywhere(schedule, in_jax=True)
    again = parse(text)
    assert parse(str(again)) == again and Schedule.from_dict(again.to_dict()) == again


def test_branching_keeps_the_modifiers() -> None:
    """A branch cuts a staircased, skipped, clipped phase into canonical text that gives the same past."""
    base = parse("linear(20, per=5) -> cosine(180, skip=20, floor=0.1, per=10)")
    for at in (7, 20, 93, 150):
        branched = base.branch(at=at, then="linear(50)")
        assert parse(str(branched)) == branched
        assert branched.values(np.arange(at)).tolist() == base.values(np.arange(at)).tolist()
        if at % 5 and at < 20:  # cut inside a period: it goes on from the rate running there
            assert branched(at) == base(at)
    longer = base.branch(at=60, total_steps=400)
    assert longer.values(np.arange(61)).tolist() == base.values(np.arange(61)).tolist()
    assert parse(str(longer)) == longer


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("linear(10) -> cosine(90, floor=1.5)", "phase 2 (cosine): floor", "between 0 and 1"),
        ("linear(10) -> cosine(90, to=0.2, floor=0.1)", "phase 2 (cosine): floor", "above to=0.2"),
        ("linear(10, floor=0.1) -> cosine(90)", "phase 1 (linear): parameter", "a warmup rises to the peak"),
        ("linear(10) -> constant(5, floor=0.1)", "phase 2 (constant): parameter", "nothing to clip"),
        ("linear(10, k=2) -> cosine(90)", "phase 1 (linear): parameter", "k-decay bends a decay"),
        ("linear(10) -> cosine(90, k=0)", "phase 2 (cosine): k", "a number > 0"),
        ("linear(10) -> cosine(90, per=0)", "phase 2 (cosine): per", "a duration > 0"),
        ("linear(10) -> cosine(90, skip=-3)", "phase 2 (cosine): skip", "a duration such as"),
        ("linear(10) -> cosine(90, of=50, skip=60)", "phase 2 (cosine): skip", "less than the curve's own length"),
        ("linear(10) -> cosine(90, of=120, skip=40)", "phase 2 (cosine) length", "at most 80"),
        ("linear(10) -> inverse-sqrt(k=2)", "phase 2 (inverse-sqrt): k", "a phase with a length"),
        ("linear(10) -> tanh(90, lb=4)", "phase 2 (tanh): lb", "below ub"),
    ],
)
def test_bad_modifiers_name_the_field(text: str, field: str, words: str) -> None:
    with pytest.raises(RampupError) as caught:
        schedule = parse(text)
        schedule(0)
    error = caught.value
    assert error.field == field, error.line()
    assert words in error.line()


def test_unknown_keyword_lists_the_modifiers() -> None:
    with pytest.raises(RampupError, match=r"or the modifiers k=, floor=, per="):
        parse("linear(10) -> cosine(90, foo=1)")
