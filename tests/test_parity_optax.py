"""Parity with optax: rampup's multipliers equal optax's warmup schedules divided by their peak, at every step.

optax is evaluated in float64 (``jax.enable_x64(True)`` as a context inside each
test, so that the rest of the suite keeps JAX's float32 default) and compared
within 1e-9 relative (``|rampup - optax / peak| <= 1e-9 * |optax / peak| + 1e-15``;
the 1e-15 floor covers values that underflow to subnormals). One test also runs
both in float32, as a training script would, within 1e-5.

Conventions (optax 0.2.x, ``optax/schedules/_schedule.py``): ``f(0) = init_value``,
``f(warmup_steps) = peak_value``; ``warmup_cosine_decay_schedule``'s
``decay_steps`` includes the warmup; ``transition_begin`` holds the peak (a
``constant`` phase); ``end_value`` clips only when it is given.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import rampup
from rampup import RampupError
from rampup.durations import format_number

RTOL = 1e-9
ATOL = 1e-15
STEPS = 5500  # steps compared: every schedule drawn below ends at least 200 steps before


def _arg(key: str, value: float, default: float) -> str:
    return "" if value == default else f", {key}={format_number(value)}"


def optax_equivalent_spec(name: str, **kwargs: Any) -> str:
    """The rampup spec equal to ``optax.<name>(**kwargs) / peak_value`` (optax 0.2.x).

    Every length is in steps: the spec needs no resolving. ``from`` is
    ``init_value / peak_value`` and ``to`` is ``end_value / peak_value``.
    """
    if name in ("warmup_cosine_decay_schedule", "warmup_exponential_decay_schedule", "warmup_constant_schedule"):
        peak = float(kwargs["peak_value"])
        if not peak > 0:
            raise RampupError("peak_value", peak, "a number > 0")
        warmup = int(kwargs["warmup_steps"])
        start = f"linear({warmup}{_arg('from', float(kwargs['init_value']) / peak, 0.0)})"
        if name == "warmup_constant_schedule":
            if warmup < 1:
                raise RampupError("warmup_steps", warmup, "at least 1: optax holds init_value forever without a warmup")
            return f"{start} -> constant"
        if name == "warmup_cosine_decay_schedule":
            decay = int(kwargs["decay_steps"]) - warmup  # optax's decay_steps includes the warmup
            exponent = _arg("exponent", float(kwargs.get("exponent", 1.0)), 1.0)
            end = _arg("to", float(kwargs.get("end_value", 0.0)) / peak, 0.0)
            return f"{start} -> cosine({decay}{exponent}{end})"
        rate = float(kwargs["decay_rate"])
        end_value = kwargs.get("end_value")
        if not 0 < rate <= 1:
            raise RampupError("decay_rate", rate, "a number in (0, 1]: rampup's exponential decays")
        if rate == 1 and end_value is not None:
            # optax clips with minimum unless decay_rate < 1: the value is min(peak, end_value) from the warmup on
            raise RampupError("end_value", end_value, "None when decay_rate is 1 (optax then caps at end_value)")
        begin = int(kwargs.get("transition_begin", 0))
        hold = f" -> constant({begin})" if begin > 0 else ""
        every = int(kwargs["transition_steps"])
        staircase = ", staircase=true" if kwargs.get("staircase", False) else ""
        end = "" if end_value is None else _arg("to", float(end_value) / peak, 0.0)
        return f"{start}{hold} -> exponential(gamma={format_number(rate)}, every={every}{staircase}{end})"
    if name in ("linear_onecycle_schedule", "cosine_onecycle_schedule"):
        total = int(kwargs["transition_steps"])
        div = float(kwargs.get("div_factor", 25.0))
        final = float(kwargs.get("final_div_factor", 1e4))
        first = int(kwargs.get("pct_start", 0.3) * total)  # optax truncates: int(pct_start * transition_steps)
        if name == "cosine_onecycle_schedule":
            if not 0 < first < total:
                raise RampupError("pct_start", kwargs.get("pct_start", 0.3), "a share that leaves both phases a step")
            low, floor = format_number(1 / div), format_number(1 / (div * final))
            return f"cosine({first}, from={low}) -> cosine({total - first}, to={floor})"
        second = int(kwargs.get("pct_final", 0.85) * total)
        if not 0 < first < second < total:
            raise RampupError(
                "pct_start", kwargs.get("pct_start", 0.3), "shares that leave each of the 3 phases a step"
            )
        return (
            f"linear({first}, from={format_number(1 / div)}) -> linear({second - first}, to={format_number(1 / div)})"
            f" -> linear({total - second}, to={format_number(1 / (div * final))})"
        )
    raise RampupError("name", name, "an optax warmup schedule with a rampup equivalent")


def _compare(
    schedule: rampup.Schedule,
    optax_schedule: Any,
    peak: float,
    *,
    vmap: bool = False,
    stairs: tuple[int, int, float, float] | None = None,
) -> None:
    """Every step 0..STEPS-1: the whole schedule and well past its end (the same shape every time, so that
    JAX compiles its operations once for all examples).

    ``stairs`` is ``(first, every, gamma, floor)`` for a staircase that starts at step ``first``: XLA
    divides by ``every`` through its reciprocal, so at an exact multiple optax's ``floor`` can come
    out one stair low (float64: every = 49, 103, ...; float32: 41, 47, ...). At those steps rampup
    must give the exact stair, and optax that stair or the one before; everywhere else they agree.
    """
    steps = np.arange(STEPS)
    counts = jnp.asarray(steps)
    values = jax.vmap(optax_schedule)(counts) if vmap else optax_schedule(counts)
    assert np.asarray(values).dtype == np.float64  # really float64
    expected = np.asarray(values) / peak
    got = schedule.values(steps)
    keep = np.ones(STEPS, dtype=bool)
    if stairs is not None:
        first, every, gamma, floor = stairs
        on = (steps > first) & ((steps - first) % every == 0)
        drops = (steps[on] - first) // every
        exact = np.maximum(floor, gamma ** drops.astype(np.float64))
        before = np.maximum(floor, gamma ** (drops - 1).astype(np.float64))
        assert np.allclose(got[on], exact, rtol=RTOL, atol=ATOL)
        close = np.isclose(expected[on], exact, rtol=RTOL, atol=ATOL)
        assert (close | np.isclose(expected[on], before, rtol=RTOL, atol=ATOL)).all()
        keep = ~on
    worst = int(np.argmax(np.where(keep, np.abs(got - expected) - RTOL * np.abs(expected), -np.inf)))
    assert np.allclose(got[keep], expected[keep], rtol=RTOL, atol=ATOL), (
        str(schedule),
        worst,
        got[worst],
        expected[worst],
    )


peaks = st.floats(1e-5, 10.0)
fractions = st.one_of(st.just(0.0), st.floats(0.0, 1.0))


@settings(max_examples=50, deadline=None)
@given(
    peak=peaks,
    init_share=fractions,
    end_share=fractions,
    warmup=st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 2000)),
    decay=st.integers(1, 3000),
    exponent=st.one_of(st.just(1.0), st.floats(0.2, 4.0)),
)
def test_warmup_cosine_decay_schedule(
    peak: float, init_share: float, end_share: float, warmup: int, decay: int, exponent: float
) -> None:
    kwargs = {
        "init_value": init_share * peak,
        "peak_value": peak,
        "warmup_steps": warmup,
        "decay_steps": warmup + decay,
        "end_value": end_share * peak,
        "exponent": exponent,
    }
    schedule = rampup.parse(optax_equivalent_spec("warmup_cosine_decay_schedule", **kwargs))
    with jax.enable_x64(True):
        _compare(schedule, optax.warmup_cosine_decay_schedule(**kwargs), peak)


@settings(max_examples=50, deadline=None)
@given(
    peak=peaks,
    init_share=fractions,
    end_share=st.one_of(st.none(), fractions),
    warmup=st.one_of(st.just(0), st.integers(0, 50), st.integers(0, 1000)),
    every=st.one_of(st.just(1), st.sampled_from([41, 47, 49, 103]), st.integers(1, 500)),
    rate=st.one_of(st.just(1.0), st.floats(0.01, 1.0)),
    begin=st.one_of(st.just(0), st.integers(0, 500)),
    staircase=st.booleans(),
)
def test_warmup_exponential_decay_schedule(
    peak: float,
    init_share: float,
    end_share: float | None,
    warmup: int,
    every: int,
    rate: float,
    begin: int,
    staircase: bool,
) -> None:
    kwargs = {
        "init_value": init_share * peak,
        "peak_value": peak,
        "warmup_steps": warmup,
        "transition_steps": every,
        "decay_rate": rate,
        "transition_begin": begin,
        "staircase": staircase,
        "end_value": None if end_share is None else end_share * peak,
    }
    if rate == 1:
        assume(end_share is None)  # a known difference: optax's end_value is then an upper bound (docs/parity.md)
    schedule = rampup.parse(optax_equivalent_spec("warmup_exponential_decay_schedule", **kwargs))
    with jax.enable_x64(True):
        floor = 0.0 if end_share is None else end_share * peak / peak
        stairs = (warmup + begin, every, rate, floor) if staircase else None
        _compare(schedule, optax.warmup_exponential_decay_schedule(**kwargs), peak, stairs=stairs)


@settings(max_examples=20, deadline=None)
@given(peak=peaks, init_share=fractions, warmup=st.integers(1, 2000))
def test_warmup_constant_schedule(peak: float, init_share: float, warmup: int) -> None:
    kwargs = {"init_value": init_share * peak, "peak_value": peak, "warmup_steps": warmup}
    schedule = rampup.parse(optax_equivalent_spec("warmup_constant_schedule", **kwargs))
    with jax.enable_x64(True):
        _compare(schedule, optax.warmup_constant_schedule(**kwargs), peak)


def test_warmup_constant_without_warmup_is_a_known_difference() -> None:
    """optax's ``linear_schedule`` with 0 transition steps holds ``init_value`` forever; rampup refuses to map it."""
    assert float(optax.warmup_constant_schedule(0.1, 1.0, 0)(100)) == pytest.approx(0.1)
    with pytest.raises(RampupError, match="warmup_steps"):
        optax_equivalent_spec("warmup_constant_schedule", init_value=0.1, peak_value=1.0, warmup_steps=0)


@settings(max_examples=12, deadline=None)
@given(
    peak=peaks,
    total=st.integers(20, 3000),
    pct_start=st.floats(0.05, 0.5),
    pct_gap=st.floats(0.05, 0.45),
    div=st.floats(1.0, 100.0),
    final_div=st.floats(1.0, 1e5),
)
def test_linear_onecycle_schedule(
    peak: float, total: int, pct_start: float, pct_gap: float, div: float, final_div: float
) -> None:
    kwargs = {
        "transition_steps": total,
        "peak_value": peak,
        "pct_start": pct_start,
        "pct_final": pct_start + pct_gap,
        "div_factor": div,
        "final_div_factor": final_div,
    }
    assume(0 < int(pct_start * total) < int((pct_start + pct_gap) * total) < total)
    schedule = rampup.parse(optax_equivalent_spec("linear_onecycle_schedule", **kwargs))
    with jax.enable_x64(True):
        _compare(schedule, optax.linear_onecycle_schedule(**kwargs), peak, vmap=True)


@settings(max_examples=12, deadline=None)
@given(
    peak=peaks,
    total=st.integers(10, 3000),
    pct_start=st.floats(0.05, 0.9),
    div=st.floats(1.0, 100.0),
    final_div=st.floats(1.0, 1e5),
)
def test_cosine_onecycle_schedule(peak: float, total: int, pct_start: float, div: float, final_div: float) -> None:
    kwargs = {
        "transition_steps": total,
        "peak_value": peak,
        "pct_start": pct_start,
        "div_factor": div,
        "final_div_factor": final_div,
    }
    assume(0 < int(pct_start * total) < total)
    schedule = rampup.parse(optax_equivalent_spec("cosine_onecycle_schedule", **kwargs))
    with jax.enable_x64(True):
        _compare(schedule, optax.cosine_onecycle_schedule(**kwargs), peak, vmap=True)


JIT_CASES: list[tuple[str, dict[str, Any]]] = [
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 1e-5, "peak_value": 3e-4, "warmup_steps": 100, "decay_steps": 1000, "end_value": 3e-5},
    ),
    (
        "warmup_cosine_decay_schedule",
        {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 0, "decay_steps": 500, "exponent": 2.0},
    ),
    (
        "warmup_exponential_decay_schedule",
        {
            "init_value": 0.0,
            "peak_value": 1e-3,
            "warmup_steps": 50,
            "transition_steps": 40,
            "decay_rate": 0.7,
            "transition_begin": 100,
            "staircase": True,
            "end_value": 1e-5,
        },
    ),
    (
        "warmup_exponential_decay_schedule",
        {"init_value": 1e-4, "peak_value": 1e-3, "warmup_steps": 10, "transition_steps": 100, "decay_rate": 0.5},
    ),
]


@pytest.mark.parametrize(("name", "kwargs"), JIT_CASES)
def test_jitted_evaluate_equals_jitted_optax(name: str, kwargs: dict[str, Any]) -> None:
    """``jax.jit`` of ``schedule.evaluate(count, jnp)`` (branch-free) equals optax's jitted schedule."""
    peak = kwargs["peak_value"]
    schedule = rampup.parse(optax_equivalent_spec(name, **kwargs))
    optax_schedule = getattr(optax, name)(**kwargs)
    steps = np.arange(1500)

    def ours(count: Any) -> Any:
        return peak * schedule.evaluate(count, jnp)

    with jax.enable_x64(True):
        counts = jnp.asarray(steps)
        got = np.asarray(jax.jit(ours)(counts))
        expected = np.asarray(jax.jit(optax_schedule)(counts))
        assert got.dtype == expected.dtype == np.float64
        np.testing.assert_allclose(got, expected, rtol=RTOL, atol=ATOL * peak)
        np.testing.assert_allclose(got / peak, schedule.values(steps), rtol=RTOL, atol=ATOL)
        # one count at a time, as an optimizer's step counter feeds it
        jitted = jax.jit(ours)
        for step in (0, 1, 49, 50, 99, 100, 101, 999, 1000, 1400):
            assert float(jitted(jnp.asarray(step))) == pytest.approx(float(optax_schedule(step)), rel=RTOL, abs=1e-18)

    # float32, JAX's default: what a training script gets without x64
    got32 = np.asarray(jax.jit(ours)(jnp.asarray(steps, dtype=jnp.int32)))
    expected32 = np.asarray(jax.jit(optax_schedule)(jnp.asarray(steps, dtype=jnp.int32)))
    assert got32.dtype == expected32.dtype == np.float32
    np.testing.assert_allclose(got32, expected32, rtol=1e-5, atol=1e-7 * peak)


@pytest.mark.parametrize("every", [41, 103])  # 41 fails a bare floor in float32, 103 in float64
@pytest.mark.parametrize(
    "spec",
    [
        "linear(10) -> exponential(gamma=0.5, every={every}, staircase=true)",
        "linear(10) -> step(every={every}, gamma=0.5)",
        "linear(10) -> cosine-restarts(period={every}, to=0.1)",
    ],
)
def test_jitted_stairs_land_on_the_exact_step(spec: str, every: int) -> None:
    """Under ``jax.jit`` a stair or restart comes at the exact multiple of ``every``, as in NumPy.

    XLA divides by a constant through its reciprocal (``103.0 / 103`` is 0.9999999999999999 in
    float64), so a bare ``floor(t / every)`` puts some stairs one step late; the engine corrects it.
    """
    schedule = rampup.parse(spec.format(every=every))
    steps = np.arange(6000)
    want = schedule.values(steps)

    def jitted(count: Any) -> Any:
        return schedule.evaluate(count, jnp)

    with jax.enable_x64(True):
        got64 = np.asarray(jax.jit(jitted)(jnp.asarray(steps, dtype=jnp.float64)))
    np.testing.assert_allclose(got64, want, rtol=1e-12, atol=1e-15)
    got32 = np.asarray(jax.jit(jitted)(jnp.asarray(steps, dtype=jnp.float32)))
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, want, rtol=1e-5, atol=1e-6)


def test_decay_steps_include_the_warmup() -> None:
    """optax's ``decay_steps`` counts from step 0: a 100-step warmup with decay_steps=1000 cosines over 900."""
    spec = optax_equivalent_spec(
        "warmup_cosine_decay_schedule", init_value=0.0, peak_value=1.0, warmup_steps=100, decay_steps=1000
    )
    assert spec == "linear(100) -> cosine(900)"
    assert rampup.parse(spec).total_steps == 1000


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("warmup_cosine_decay_schedule", {"init_value": 0.0, "peak_value": 0.0, "warmup_steps": 1, "decay_steps": 2}),
        (
            "warmup_exponential_decay_schedule",
            {"init_value": 0.0, "peak_value": 1.0, "warmup_steps": 1, "transition_steps": 1, "decay_rate": 1.5},
        ),
        ("sgdr_schedule", {}),
    ],
)
def test_helper_rejects_what_has_no_equivalent(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(RampupError):
        optax_equivalent_spec(name, **kwargs)
