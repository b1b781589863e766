"""The stepper the PyTorch schedulers read their rates from (rampup.stepper, issue 16).

A block of steps from the vectorized engine must give the scalar call's values bit
for bit, for every schedule, at every step, in any order of asking: that is what
lets RampupLR step through a list and still resume exactly.
"""

from __future__ import annotations

import itertools
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_properties import Case, cases

import rampup
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
