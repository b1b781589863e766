"""The stepper the PyTorch schedulers read their rates from (rampup.stepper, issue 16).

A block of steps from the vectorized engine must give the scalar call's values bit
for bit, for every schedule, at every step, in any order of asking: that is what
lets RampupLR step through a list and still resume exactly.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import Case, cases

import rampup
from rampup import RampupError
from rampup.stepper import BLOCK, Multipliers

SETTINGS = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _bits(value: float) -> bytes:
    return struct.pack("<d", value)


@given(case=cases(), data=st.data())
@SETTINGS
def test_a_block_gives_the_scalar_value_bit_for_bit(case: Case, data: st.DataObject) -> None:
    schedule = case.resolved()
    multipliers = Multipliers(schedule)
    end = case.total + 3 * BLOCK
    # in order through the run and past its end, then in any order (a resume, a step back)
    steps = list(range(0, min(end, 2 * BLOCK + 5)))
    steps += data.draw(st.lists(st.integers(0, end), max_size=40))
    steps += data.draw(st.lists(st.integers(10**6, 10**12), max_size=5))
    for step in steps:
        assert _bits(multipliers(step)) == _bits(schedule(step)), (case.text, step)


def test_a_block_is_evaluated_once_per_block_of_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int]] = []
    values = rampup.Schedule.values

    def counting(self: rampup.Schedule, steps: Any) -> Any:
        calls.append((int(steps[0]), len(steps)))
        return values(self, steps)

    monkeypatch.setattr(rampup.Schedule, "values", counting)
    multipliers = Multipliers(rampup.parse("linear(10) -> cosine").resolve(5000))
    for step in range(3 * BLOCK):
        multipliers(step)
    assert calls == [(0, BLOCK), (BLOCK, BLOCK), (2 * BLOCK, BLOCK)]
    multipliers(5)  # back to the start: one block from there
    assert calls[-1] == (5, BLOCK)


# ---------------------------------------------------------------------------- the engine's public cursor


@given(case=cases(), data=st.data())
@SETTINGS
def test_the_cursor_finds_the_segment_of_every_step_and_the_hold_after_the_last(
    case: Case, data: st.DataObject
) -> None:
    """``segments``, ``segment_at``, ``phases_end`` and ``final_value()`` together give ``schedule(step)``."""
    from rampup.curves import SCALAR

    schedule = case.resolved()
    segments = schedule.segments
    assert all(seg.length > 0 for seg in segments)
    assert [seg.start for seg in segments] == sorted(seg.start for seg in segments)
    for before, after in itertools.pairwise(segments):
        assert before.end == after.start  # no gaps: phases of length 0 are left out
    assert schedule.phases_end == (segments[-1].end if segments else 0.0)
    for step in data.draw(st.lists(st.integers(0, case.total + 50), min_size=1, max_size=30)):
        seg = schedule.segment_at(step)
        if step >= schedule.phases_end:
            assert seg is None
            assert schedule(step) == schedule.final_value()
        else:
            assert seg is not None and seg.start <= step < seg.end
            assert float(seg.value(SCALAR, step - seg.start)) == schedule(step)


def test_no_module_outside_the_engine_reads_its_private_plan() -> None:
    """Front doors, conventions and tools read the engine through its public cursor (issue 17)."""
    import re
    from pathlib import Path

    source = Path(rampup.__file__).parent
    readers = sorted(
        str(path.relative_to(source))
        for path in source.rglob("*.py")
        if path.name != "schedule.py" and re.search(r"\._plan\b", path.read_text(encoding="utf-8"))
    )
    assert readers == []


def _bisected_jumps(schedule: rampup.Schedule, stop: int) -> list[tuple[float, float]]:
    """The oracle: in every whole-step interval, bisection (40 halvings) follows the larger half of the change;
    a change still above 1e-6 of the peak at the end is a jump, bracketed by the interval returned."""
    lo = np.arange(stop, dtype=np.float64)
    hi = lo + 1.0
    v_lo, v_hi = schedule.values(lo), schedule.values(hi)
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        v_mid = schedule.values(mid)
        left = np.abs(v_mid - v_lo) >= np.abs(v_hi - v_mid)
        hi, v_hi = np.where(left, mid, hi), np.where(left, v_mid, v_hi)
        lo, v_lo = np.where(left, lo, mid), np.where(left, v_lo, v_mid)
    jumped = np.abs(v_hi - v_lo) > 1e-6 * max(schedule.peak, 1e-300)
    return list(zip(lo[jumped].tolist(), hi[jumped].tolist(), strict=True))


@given(case=cases())
@SETTINGS
def test_the_engine_lists_every_jump_that_bisection_finds(case: Case) -> None:
    """``Schedule.jumps`` knows the jumps from the phases (plotting draws them); a search finds no other."""
    schedule = case.resolved()
    stop = min(case.total + 20, 600)
    listed = schedule.jumps(stop)
    assert listed == sorted(listed) and all(0 < step <= stop for step in listed)
    for lo, hi in _bisected_jumps(schedule, stop):
        assert any(lo - 1e-6 <= step <= hi + 1e-6 for step in listed), (case.text, lo, hi, listed)
    scale = schedule.peak
    for step in listed:  # each one is a jump: the value changes within a billionth of a step
        assert abs(schedule(step) - schedule(step - 1e-9 * max(1.0, step))) > 0.5e-9 * scale


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("linear(50) -> step(every=250, gamma=0.5)", [300, 550, 800]),
        ("constant(10, from=0.1) -> cosine", [10]),
        ("linear(20) -> cosine-restarts(period=100, mult=2, decay=0.7)", [120, 320, 720, 1000]),
        ("linear(300, per=100) -> cosine(skip=300, per=100)", [100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]),
        ("linear(10) -> exponential(gamma=0.5, every=100, staircase=true, to=0.05)", [110, 210, 310, 410, 510]),
        ("linear(100) -> cosine(skip=100)", [100]),
        ("linear(100) -> cosine(to=0.1)", []),
        ("linear(50) -> tanh(to=0.01)", [50, 1000]),  # tanh starts 8e-7 below the peak (timm)
        ("linear(100) -> cosine", []),
    ],
)
def test_jumps_of_known_schedules(spec: str, expected: list[float]) -> None:
    assert rampup.parse(spec).resolve(1000).jumps(1000) == expected


def test_too_many_jumps_is_one_clear_error() -> None:
    schedule = rampup.parse("linear(10) -> step(every=1, gamma=0.999)").resolve(1_000_000)
    with pytest.raises(RampupError, match=r"^most: got 1000"):
        schedule.jumps(1_000_000, most=1000)


@pytest.mark.parametrize(
    "spec",
    [
        "linear(30, per=7) -> cosine(skip=30, per=7, floor=0.2)",
        "linear(20) -> step(every=37, gamma=0.5, per=10)",
        "linear(20) -> cosine-restarts(cycles=3, k=2)",
        "radam(beta2=0.95) -> cosine(k=0.5, to=0.1)",
        "exponential(25) -> tanh(skip=40, per=9)",
    ],
)
def test_jumps_through_the_phase_modifiers_and_a_branch(spec: str) -> None:
    """Staircases, part-way starts, k-decay, floors and a branch's stretched clock: the engine's list holds
    every jump a search finds."""
    for schedule in (
        rampup.parse(spec).resolve(400),
        rampup.parse(spec).resolve(400).branch(at=123, total_steps=577),
        rampup.parse(spec).resolve(400).branch(at=211, then="step(every=13, gamma=0.7)"),
    ):
        stop = int(schedule.total_steps or 400)
        listed = schedule.jumps(stop)
        for lo, hi in _bisected_jumps(schedule, stop):
            assert any(lo - 1e-6 <= step <= hi + 1e-6 for step in listed), (str(schedule), lo, hi)
