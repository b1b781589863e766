"""Schedule.branch: a decay from any step, and a run extended (or shortened) without touching its past.

The property tests draw random schedules (the engine's own strategy, tests/test_properties.py)
and random branch points, and check what a branch promises: every step before ``at`` is the
old value bit for bit, a ``then`` reaches its targets exactly, an extension keeps step ``at``
itself, reaches the plan's end value exactly, and is monotone wherever the plan was.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import Case, cases

import rampup
from rampup import RampupError

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

THEN = st.sampled_from(
    [
        "1-sqrt(200)",
        "linear(50)",
        "cosine(300, to=0.1)",
        "constant(40) -> linear(60, to=0.05)",
        "exponential(100, gamma=0.9)",
        "step(every=30, gamma=0.5)",
        "inverse-sqrt(120, timescale=40)",
    ]
)


def _finite_end(schedule: rampup.Schedule) -> int:
    total = schedule.total_steps
    assert total is not None
    return total


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    """Bit for bit (NaN never occurs: the engine's values are finite)."""
    return a.dtype == b.dtype and a.tobytes() == b.tobytes()


@given(case=cases(), where=st.floats(0.0, 1.0), then=THEN)
@SETTINGS
def test_a_branch_never_changes_a_step_before_at(case: Case, where: float, then: str) -> None:
    schedule = case.resolved()
    end = _finite_end(schedule)
    at = int(where * end)
    branched = schedule.branch(at=at, then=then)
    before = np.arange(at, dtype=np.float64)
    assert _same(branched.values(before), schedule.values(before))
    assert all(branched(step) == schedule(step) for step in range(0, at, max(1, at // 50)))
    # it goes on from the value at `at`, and the text round-trips
    follow = rampup.parse(then).resolve().total_steps
    assert branched.total_steps == (end if follow is None else at + follow)  # an open phase takes what remains
    assert rampup.parse(str(branched)) == branched
    again = rampup.parse(str(branched))
    assert _same(
        again.values(np.arange(branched.total_steps + 2.0)), branched.values(np.arange(branched.total_steps + 2.0))
    )


@given(case=cases(), where=st.floats(0.0, 1.0), to=st.sampled_from([0.0, 0.1, 0.37]))
@SETTINGS
def test_a_branch_reaches_its_target_exactly(case: Case, where: float, to: float) -> None:
    schedule = case.resolved()
    at = int(where * _finite_end(schedule))
    for decay in ("linear", "cosine", "1-sqrt", "polynomial"):
        branched = schedule.branch(at=at, then=f"{decay}(77, to={to})")
        start = schedule(at)
        if start >= to:  # a decay from the value at `at` to `to`
            assert branched(at + 77) == to
            assert branched(10**9) == to
            values = branched.values(np.arange(at, at + 78, dtype=np.float64))
            assert np.all(np.diff(values) <= 1e-15)


@given(case=cases(), where=st.floats(0.0, 0.999), factor=st.floats(1.0, 4.0))
@SETTINGS
def test_an_extension_keeps_the_past_and_reaches_the_end_exactly(case: Case, where: float, factor: float) -> None:
    schedule = case.resolved()
    end = _finite_end(schedule)
    at = min(int(where * end), end - 1)
    longer = max(end + 1, int(end * factor))
    extended = schedule.branch(at=at, total_steps=longer)
    assert extended.total_steps == longer
    kept = np.arange(at + 1, dtype=np.float64)  # steps <= at: `at` itself included
    assert _same(extended.values(kept), schedule.values(kept))
    assert extended(at) == schedule(at)
    assert extended(longer) == schedule(end)  # the plan's end value, exactly
    assert extended.final_value() == schedule.final_value()
    assert rampup.parse(str(extended)) == extended


@given(case=cases(), where=st.floats(0.0, 0.999), factor=st.floats(1.0, 4.0))
@SETTINGS
def test_an_extension_is_monotone_where_the_plan_was_and_stays_in_its_range(
    case: Case, where: float, factor: float
) -> None:
    schedule = case.resolved()
    end = _finite_end(schedule)
    at = min(int(where * end), end - 1)
    longer = max(end + 1, int(end * factor))
    extended = schedule.branch(at=at, total_steps=longer)
    old = schedule.values(np.arange(at, end + 1, dtype=np.float64))
    new = extended.values(np.arange(at, longer + 1, dtype=np.float64))
    tolerance = 1e-12
    if np.all(np.diff(old) <= tolerance):  # the plan never rose after `at`: neither does the extension
        assert np.all(np.diff(new) <= tolerance)
        assert new.min() >= old.min() - tolerance and new.max() <= old.max() + tolerance
    if np.all(np.diff(old) >= -tolerance):
        assert np.all(np.diff(new) >= -tolerance)
        assert new.min() >= old.min() - tolerance and new.max() <= old.max() + tolerance
    # continuous at `at`: stretching only slows the plan down, so the first step moves no more than before
    jumpy = ("step", "exponential", "constant", "cosine-restarts", "untuned-exp")
    if all(not phase.curve.startswith(jumpy) for phase in schedule.phases):
        assert abs(new[1] - new[0]) <= abs(old[1] - old[0]) + 1e-9


@given(case=cases(), where=st.floats(0.0, 0.999), shrink=st.floats(0.05, 1.0))
@SETTINGS
def test_a_shorter_run_keeps_the_past_too(case: Case, where: float, shrink: float) -> None:
    schedule = case.resolved()
    end = _finite_end(schedule)
    at = min(int(where * end), end - 1)
    shorter = max(at + 1, int(at + (end - at) * shrink))
    short = schedule.branch(at=at, total_steps=shorter)
    kept = np.arange(at + 1, dtype=np.float64)
    assert _same(short.values(kept), schedule.values(kept))
    assert short.total_steps == shorter
    assert rampup.parse(str(short)) == short


def test_a_shrunk_run_keeps_the_phase_of_the_branch_step() -> None:
    """Shrinking ``[at, T]`` may round the end of the phase running at ``at`` down onto ``at``: it stays after it
    (found by hypothesis: the 1-step decay vanished and step 0 took the step decay's value)."""
    schedule = rampup.parse("1-sqrt(0) -> 1-sqrt(1) -> step(1, at=[1])").resolve(total_steps=3)
    short = schedule.branch(at=0, total_steps=1)
    assert short(0) == schedule(0) == 1.0
    assert short.total_steps == 1


def test_wsd_cooldown_from_any_step() -> None:
    run = rampup.parse("linear(1000) -> constant").resolve(total_steps=10_000)
    cooled = run.branch(at=6000, then="1-sqrt(2000)")
    assert str(cooled) == "linear(1000) -> constant(5000) -> 1-sqrt(2000)"
    assert cooled(5999) == 1.0 and cooled(6000) == 1.0 and cooled(8000) == 0.0
    assert cooled.total_steps == 8000
    # an open stable phase: the decay decided later, taking what remains of the run's total
    late = run.branch(at=7000, then="1-sqrt")
    assert str(late) == "linear(1000) -> constant(6000) -> 1-sqrt(3000)"
    # a stable phase with no end at all
    forever = rampup.parse("linear(1000) -> constant")
    assert str(forever.branch(at=4321, then="1-sqrt(500)")) == "linear(1000) -> constant(3321) -> 1-sqrt(500)"


def test_a_cut_phase_reads_as_part_of_its_curve() -> None:
    run = rampup.parse("linear(100) -> cosine(900, to=0.1)")
    cut = run.branch(at=500, then="linear(100)")
    assert str(cut) == "linear(100) -> cosine(400, to=0.1, of=900) -> linear(100)"
    assert cut(500) == run(500)  # the linear decay starts from the cosine's value there
    assert cut(600) == 0.0
    inside = run.branch(at=40, then="constant(10)")
    assert str(inside) == "linear(40, of=100) -> constant(10)"
    assert inside(45) == run(40)
    at_zero = run.branch(at=0, then="constant(10)")
    assert str(at_zero) == "linear(0, of=100) -> constant(10)"
    assert at_zero(5) == 0.0


def test_an_extension_stretches_the_rest_of_the_plan() -> None:
    run = rampup.parse("linear(100) -> cosine(to=0.1)").resolve(total_steps=1000)
    longer = run.branch(at=500, total_steps=2000)
    assert str(longer) == "linear(100) -> cosine(1900, to=0.1, stretch=[400, 900, 1900])"
    # the rest of the cosine (steps 500..1000) now runs over 500..2000: three times slower
    assert longer(500 + 3 * 200) == pytest.approx(run(700), abs=1e-12)
    assert longer(2000) == 0.1
    # extending twice keeps the first extension's past
    twice = longer.branch(at=1500, total_steps=3000)
    steps = np.arange(1501, dtype=np.float64)
    assert _same(twice.values(steps), longer.values(steps))
    assert twice(3000) == 0.1
    # a stable phase is just held longer; the decay after it keeps its shape
    wsd = rampup.parse("linear(1000) -> constant(8000) -> 1-sqrt(1000)")
    assert str(wsd.branch(at=5000, total_steps=20_000)) == "linear(1000) -> constant(16000) -> 1-sqrt(3000)"


def test_a_phase_whose_length_comes_from_beta2_can_be_cut_and_stretched() -> None:
    run = rampup.parse("radam(beta2=0.99) -> cosine").resolve(total_steps=1000)
    cut = run.branch(at=100, then="linear(100)")
    assert str(cut) == "radam(100, beta2=0.99, of=200) -> linear(100)"
    assert _same(cut.values(np.arange(100.0)), run.values(np.arange(100.0)))
    longer = run.branch(at=100, total_steps=3000)
    assert _same(longer.values(np.arange(101.0)), run.values(np.arange(101.0)))
    assert longer.warmup_steps == 100 + round(100 * 2900 / 900)


def test_jax_style_evaluation_of_a_branch_matches() -> None:
    run = rampup.parse("linear(10) -> cosine(90) -> step(every=7, gamma=0.5)").resolve(total_steps=150)
    for branched in (run.branch(at=37, total_steps=400), run.branch(at=37, then="1-sqrt(30)")):
        steps = np.arange(0, 450, dtype=np.float64)
        assert np.allclose(branched.evaluate(steps, np), branched.values(steps), rtol=0, atol=1e-12)


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"at": 1001, "then": "constant(5)"}, "at", "a step from 0 to 1000"),
        ({"at": -1, "then": "constant(5)"}, "at", "a step >= 0"),
        ({"at": 2.5, "then": "constant(5)"}, "at", "a whole number"),
        ({"at": True, "then": "constant(5)"}, "at", "a whole number"),
        ({"at": 10, "then": "linear(50) -> cosine"}, "then", "decay phases only"),
        ({"at": 10, "then": "linear(50, from=0.1)"}, "then", "decay phases only"),
        ({"at": 10}, "then", "the phases to continue with"),
        ({"at": 10, "total_steps": 10}, "total_steps", "more than 10"),
        ({"at": 10, "total_steps": 0}, "total_steps", "a whole number of optimizer steps > 0"),
        ({"at": 1000, "total_steps": 2000}, "at", "nothing of its plan remains"),
        ({"at": 10, "then": "nonsense(5)"}, "phase 1", "a curve name"),
    ],
)
def test_bad_branches_name_field_value_and_fix(kwargs: dict, field: str, words: str) -> None:
    run = rampup.parse("linear(100) -> cosine").resolve(total_steps=1000)
    before = str(run)
    with pytest.raises(RampupError) as caught:
        run.branch(**kwargs)
    assert caught.value.field == field
    assert words in str(caught.value)
    assert str(run) == before  # a schedule is immutable: nothing to undo


def test_a_branch_of_unresolved_lengths_says_to_resolve_first() -> None:
    with pytest.raises(RampupError) as caught:
        rampup.parse("linear(5%) -> cosine").branch(at=10, then="constant(5)")
    assert caught.value.field == "schedule"
    assert "resolve(total_steps=...)" in str(caught.value)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("cosine(500, of=400)", "at most 400"),
        ("cosine(500, stretch=[10, 20])", "whole triples"),
        ("cosine(500, stretch=[30, 20, 500])", "0 <= keep < was"),
        ("cosine(of=400)", "a length"),
        ("radam(300, of=500)", "the length this curve takes from beta2"),
        ("untuned-linear(300)", "takes its length from beta2"),
    ],
)
def test_bad_windows_are_refused_by_name(text: str, words: str) -> None:
    with pytest.raises(RampupError, match=None) as caught:
        rampup.parse(text)(0)
    assert words in str(caught.value)


def test_the_dict_form_round_trips_a_branch() -> None:
    run = rampup.parse("linear(100) -> cosine(to=0.1)").resolve(total_steps=1000).branch(at=333, total_steps=1500)
    assert rampup.Schedule.from_dict(run.to_dict()) == run
    assert math.isclose(run(1500), 0.1)
