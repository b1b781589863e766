"""The stepper the PyTorch schedulers read their rates from (rampup.stepper, issue 16).

A block of steps from the vectorized engine must give the scalar call's values bit
for bit, for every schedule, at every step, in any order of asking: that is what
lets RampupLR step through a list and still resume exactly.
"""

from __future__ import annotations

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
