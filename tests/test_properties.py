"""Property tests of the schedule engine (hypothesis).

A strategy draws random *valid* schedules: any warmup curve first (or none), then one
to three decay phases with random parameters, lengths written in steps, percent, epochs
or tokens, sometimes one open phase, together with the context they resolve against.
Each drawn case also knows the length in steps every phase must resolve to, so that the
resolution itself is checked on the way.
"""

from __future__ import annotations

import json
import math
import random
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rampup
from rampup.curves import DECAY_CURVES, WARMUP_CURVES, curve_for

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WARMUPS = sorted(WARMUP_CURVES)
DECAYS = sorted(DECAY_CURVES)
FAR = (10**6, 10**9, 1e12)


def _num(x: float) -> str:
    """A float as text that reads back to exactly the same float."""
    return rampup.durations.format_number(x)


@dataclass
class Case:
    """A drawn schedule: its spec text, the resolve context and the expected resolved lengths."""

    text: str
    total: int
    steps_per_epoch: float
    tokens_per_step: int
    lengths: list[int]
    notes: list[str] = field(default_factory=list)

    def schedule(self) -> rampup.Schedule:
        return rampup.parse(self.text)

    def resolved(self) -> rampup.Schedule:
        return self.schedule().resolve(
            self.total, steps_per_epoch=self.steps_per_epoch, tokens_per_step=self.tokens_per_step
        )


def _duration(draw: st.DrawFn, steps: int, total: int, spe: float, tps: int) -> str:
    """Text for a duration that resolves to exactly ``steps`` in this context, in a random unit."""
    unit = draw(st.sampled_from(["steps", "steps", "percent", "epochs", "tokens"]))
    if unit == "percent" and steps <= total:
        return f"{_num(100.0 * steps / total)}%"
    if unit == "epochs":
        return f"{_num(steps / spe)}ep"
    if unit == "tokens":
        return str(rampup.Duration(float(steps * tps), "tokens"))
    return str(steps)


_FRACTION = st.floats(0.0, 1.0)


@st.composite
def cases(draw: st.DrawFn) -> Case:
    spe = draw(st.integers(2, 400)) / 4  # 0.5 .. 100 steps per epoch
    tps = draw(st.integers(1, 64)) * 1000  # tokens per step
    warmup = draw(st.none() | st.sampled_from(WARMUPS))
    decays = draw(st.lists(st.sampled_from(DECAYS), min_size=1, max_size=3))
    names = ([warmup] if warmup else []) + decays
    # resolved lengths: derived from beta2 for the untuned and RAdam warmups, drawn for the others
    params: list[list[str]] = [[] for _ in names]
    lengths: list[int] = []
    derived = [False] * len(names)
    for index in range(len(names)):
        if index == 0 and warmup in ("untuned-linear", "untuned-exponential", "radam"):
            low = 0.73 if warmup == "radam" else 0.05
            beta2 = draw(st.none() | st.floats(low, 0.995))
            if beta2 is not None:
                params[0].append(f"beta2={_num(beta2)}")
            beta2 = 0.999 if beta2 is None else beta2
            lengths.append(round((5.0 if warmup == "untuned-exponential" else 2.0) / (1.0 - beta2)))
            derived[0] = True
        else:
            lengths.append(draw(st.integers(0, 300)))
    free = [i for i in range(len(names)) if not derived[i]]
    open_index = draw(st.none() | st.sampled_from(free))
    total = sum(lengths) if open_index is not None else sum(lengths) + draw(st.integers(0, 50))
    if total == 0:
        lengths[free[-1]] += 1
        total = 1
    # the start step of every phase (for milestones, which count from the start of training)
    starts = [sum(lengths[:i]) for i in range(len(names))]
    value_positive = True  # whether the value entering the phase is surely > 0
    texts = []
    for index, name in enumerate(names):
        length = lengths[index]
        args: list[str] = []
        if index != open_index and not derived[index]:
            clamp = draw(st.sampled_from(["none", "none", "min", "max"]))
            if clamp == "min":
                args.append(_duration(draw, draw(st.integers(0, length)), total, spe, tps))
                params[index].append(f"min={length}")
            elif clamp == "max":
                args.append(str(length + draw(st.integers(0, 100))))
                params[index].append(f"max={_duration(draw, length, total, spe, tps)}")
            else:
                args.append(_duration(draw, length, total, spe, tps))
        is_warmup = index == 0 and warmup is not None
        if is_warmup:
            if name == "constant" or draw(st.booleans()):
                params[index].append(f"from={_num(draw(_FRACTION))}")
            if name == "exponential" and draw(st.booleans()):
                params[index].append(f"rate={_num(draw(st.floats(0.1, 20)))}")
            if name == "polynomial" and draw(st.booleans()):
                params[index].append(f"power={_num(draw(st.floats(0.5, 4)))}")
            value_positive = True  # a warmup ends at the peak
        else:
            to = None
            must_be_decay = index == 0 and len(names) > 1 and name in WARMUP_CURVES and name != "constant"
            if name != "constant" and (must_be_decay or draw(st.booleans())):
                to = draw(_FRACTION)
            if name == "cosine":
                if draw(st.booleans()):
                    params[index].append(f"cycles={_num(draw(st.floats(0.1, 5)))}")
                if draw(st.booleans()):
                    params[index].append(f"exponent={_num(draw(st.floats(0.5, 3)))}")
            elif name == "polynomial" and draw(st.booleans()):
                params[index].append(f"power={_num(draw(st.floats(0.5, 4)))}")
            elif name == "exponential":
                if value_positive and draw(st.booleans()):
                    to = draw(st.floats(0.001, 1.0))  # no gamma: geometric from the start value to `to`
                else:
                    params[index].append(f"gamma={_num(draw(st.floats(0.01, 1.0)))}")
                    if draw(st.booleans()):
                        every = draw(st.integers(1, 60))
                        params[index].append(f"every={_duration(draw, every, total, spe, tps)}")
                    if draw(st.booleans()):
                        params[index].append(f"staircase={draw(st.sampled_from(['true', 'false']))}")
            elif name == "inverse-sqrt" and draw(st.booleans()):
                params[index].append(f"timescale={_duration(draw, draw(st.integers(1, 1000)), total, spe, tps)}")
            elif name == "step":
                if draw(st.booleans()):
                    every = draw(st.integers(1, 100))
                    params[index].append(f"every={_duration(draw, every, total, spe, tps)}")
                else:
                    start = starts[index]
                    milestones = draw(
                        st.lists(st.integers(start, start + length + 20), min_size=1, max_size=4, unique=True)
                    )
                    items = ", ".join(_duration(draw, m, total, spe, tps) for m in sorted(milestones))
                    params[index].append(f"at=[{items}]")
                if draw(st.booleans()):
                    params[index].append(f"gamma={_num(draw(st.floats(0.01, 1.0)))}")
            elif name == "cosine-restarts":
                mode = draw(st.sampled_from(["default", "cycles", "period"]))
                if mode == "cycles":
                    params[index].append(f"cycles={_num(draw(st.floats(0.3, 5)))}")
                elif mode == "period":
                    period = draw(st.integers(1, 200))
                    params[index].append(f"period={_duration(draw, period, total, spe, tps)}")
                    if draw(st.booleans()):
                        params[index].append(f"mult={_num(draw(st.floats(1.0, 3.0)))}")
                if draw(st.booleans()):
                    params[index].append(f"decay={_num(draw(st.floats(0.1, 1.0)))}")
            if to is not None:
                params[index].append(f"to={_num(to)}")
            # a * gamma ** n can underflow to 0 (0.0625 ** 269): only these surely keep a positive value
            keeps_value = name in ("constant", "inverse-sqrt")
            value_positive = (to is not None and to > 0) or (value_positive and (keeps_value or length == 0))
        random.Random(draw(st.integers(0, 2**16))).shuffle(params[index])  # keyword order is free
        args += params[index]
        texts.append(f"{name}({', '.join(args)})" if args else name)
    spaces = draw(st.sampled_from(["->", " -> ", "  ->\t"]))
    return Case(spaces.join(texts), total, spe, tps, lengths)


@dataclass
class Tail:
    """An open-ended schedule: every length in steps, the last phase runs forever."""

    text: str


@st.composite
def open_ended(draw: st.DrawFn) -> str:
    warm = draw(st.integers(0, 200))
    head = f"linear({warm}) -> " if draw(st.booleans()) else ""
    tail = draw(
        st.sampled_from(
            [
                "constant",
                f"exponential(gamma={_num(draw(st.floats(0.01, 1.0)))})",
                "exponential(gamma=0.5, every=7, staircase=true, to=0.01)",
                "inverse-sqrt",
                f"inverse-sqrt(timescale={draw(st.integers(1, 5000))})",
                f"step(every={draw(st.integers(1, 500))}, gamma=0.5)",
                f"cosine-restarts(period={draw(st.integers(1, 500))}, mult={_num(draw(st.floats(1.0, 3.0)))})",
            ]
        )
    )
    if not head and tail == "constant":
        return "constant"
    return head + tail


# --------------------------------------------------------------------------- helpers


def _end(schedule: rampup.Schedule) -> int:
    spans = schedule.spans()
    _, start, length = spans[-1]
    return int(start + length)


def _grid(schedule: rampup.Schedule) -> np.ndarray:
    """Every whole step to just past the end, plus a few fractional ones."""
    end = _end(schedule)
    steps = np.arange(0, end + 3, dtype=np.float64)
    return np.concatenate([steps, steps[:-1] + 0.5])


def _jumps(phase: rampup.Phase, role: str) -> bool:
    curve = curve_for(phase.curve, role)  # type: ignore[arg-type]
    assert curve is not None
    # the staircase exponential decay drops in whole steps of `every`: a jump, though the class says jumps=False
    return curve.jumps or bool(phase.get("staircase", False))


def _jumps_at_start(phase: rampup.Phase, start_value: float) -> bool:
    """Whether a decay phase may jump at its very start (documented in rampup.curves).

    ``step`` drops at a milestone placed on its first step, and the floored exponential
    decay ``max(to, a * gamma ** (t / every))`` starts at ``to`` when ``to`` lies above the
    value ``a`` handed over. ``tanh`` (timm's) starts ``(1 - tanh(lb)) / 2`` of the way down, a hair below ``a``.
    """
    if phase.curve in ("step", "tanh"):
        return True
    return phase.curve == "exponential" and phase.get("gamma") is not None and phase.get("to", 0.0) > start_value


def _left_tolerance(phase: rampup.Phase, role: str, length: float, h: float) -> float:
    """How far f(L - h) may lie from f(L) for a continuous curve of this phase.

    Every curve drawn here is Lipschitz near its end with a constant below 50/L (cosine's
    2 pi cycles with cycles <= 5 is the steepest: 31.4/L; exponential decays ln(1000)/L),
    except two square-root ends: the 1-sqrt warmup, 1 - sqrt(1 - p), moves by sqrt(h / L),
    and a polynomial decay with power q < 1 by (h / L) ** q (q >= 0.5 here). So 50 h plus
    those terms bounds |f(L) - f(L - h)|; a factor 2 and 1e-12 absorb rounding.
    """
    bound = 50.0 * h
    if phase.curve == "1-sqrt" and role == "warmup":
        bound += math.sqrt(h / length)
    if phase.curve == "polynomial" and role == "decay" and phase.get("power", 1.0) < 1:
        bound += (h / length) ** phase.get("power")
    return 2.0 * bound + 1e-12


# --------------------------------------------------------------------------- properties


@SETTINGS
@given(cases())
def test_resolves_to_the_drawn_lengths(case: Case) -> None:
    resolved = case.resolved()
    assert [length for _, _, length in resolved.spans()] == case.lengths, case.text
    assert resolved.total_steps == case.total
    if resolved.roles[0] == "warmup":
        assert resolved.warmup_steps == case.lengths[0]
    else:
        assert resolved.warmup_steps == 0


@SETTINGS
@given(cases())
def test_finite_and_non_negative_everywhere(case: Case) -> None:
    schedule = case.resolved()
    steps = np.concatenate([_grid(schedule), np.asarray(FAR, dtype=np.float64)])
    values = schedule.values(steps)
    assert np.isfinite(values).all(), case.text
    assert (values >= 0).all(), case.text
    for step in (0, _end(schedule), _end(schedule) + 1, *FAR):
        value = schedule(step)
        assert math.isfinite(value) and value >= 0, (case.text, step)
    # past the end the value holds at the final value
    assert schedule(10**9) == schedule.final_value() == schedule(_end(schedule))


@SETTINGS
@given(open_ended())
def test_open_ended_schedules_need_no_total(text: str) -> None:
    schedule = rampup.parse(text).resolve()
    assert schedule.total_steps is None
    assert math.isinf(schedule.spans()[-1][2])
    values = schedule.values(np.asarray([0, 1, 10, 1e3, 1e5, 1e7, 1e9, 1e12]))
    assert np.isfinite(values).all() and (values >= 0).all(), text
    if "restarts" not in text:  # past the warmup (at most 200 steps) the other tails decay or hold
        assert (np.diff(values[3:]) <= 1e-12).all(), text
    assert rampup.parse(str(schedule)) == schedule


@SETTINGS
@given(cases())
def test_warmup_never_decreases(case: Case) -> None:
    schedule = case.resolved()
    if schedule.roles[0] != "warmup":
        return
    width = schedule.warmup_steps
    if width == 0:  # an empty warmup: the schedule starts where the next phase starts
        return
    # the warmup's own steps [0, W), whole and fractional (at W the next phase has begun)
    steps = np.unique(np.concatenate([np.arange(float(width)), np.linspace(0.0, width, 1001)[:-1]]))
    values = schedule.values(steps)
    # 1e-12: the shapes are monotone; only the last bits of floating-point rounding may wobble
    assert (np.diff(values) >= -1e-12).all(), case.text
    assert values[0] == pytest.approx(schedule.phases[0].get("from", 0.0), abs=1e-12)
    assert values.max() <= 1.0 + 1e-12
    phase, _, _ = schedule.spans()[0]
    if _jumps(phase, "warmup"):
        return
    # a warmup ends at the peak, approached from below (1-sqrt's end is the steepest: see _left_tolerance)
    assert schedule(width - 1e-9) == pytest.approx(1.0, abs=_left_tolerance(phase, "warmup", width, 1e-9))


@SETTINGS
@given(cases())
def test_continuous_at_phase_boundaries_unless_the_curve_jumps(case: Case) -> None:
    schedule = case.resolved()
    spans = [
        (phase, start, length, role)
        for (phase, start, length), role in zip(schedule.spans(), schedule.roles, strict=True)
    ]
    spans = [item for item in spans if item[2] > 0]  # a phase of length 0 has no values of its own
    h = 1e-9  # totals stay below 2e4 steps here, where float64 resolves 1e-9 (ulp(2e4) = 3.6e-12)
    for index, (phase, start, length, role) in enumerate(spans):
        boundary = start + length  # where this phase hands over to the next one (or to the hold)
        if _jumps(phase, role):
            continue
        left, right = schedule(boundary - h), schedule(boundary)
        if index + 1 < len(spans) and _jumps_at_start(spans[index + 1][0], left):
            continue
        assert abs(right - left) <= _left_tolerance(phase, role, length, h), (case.text, boundary, left, right)


@SETTINGS
@given(cases())
def test_text_round_trip(case: Case) -> None:
    for schedule in (case.schedule(), case.resolved()):
        text = str(schedule)
        again = rampup.parse(text)
        assert again == schedule, (case.text, text)
        assert str(again) == text
        assert again.roles == schedule.roles
    # the canonical text resolves to the same values as the original
    resolved = rampup.parse(str(case.schedule())).resolve(
        case.total, steps_per_epoch=case.steps_per_epoch, tokens_per_step=case.tokens_per_step
    )
    grid = _grid(resolved)
    np.testing.assert_array_equal(resolved.values(grid), case.resolved().values(grid))


@SETTINGS
@given(cases())
def test_dict_round_trip(case: Case) -> None:
    for schedule in (case.schedule(), case.resolved()):
        data = schedule.to_dict()
        assert rampup.Schedule.from_dict(data) == schedule
        through_json: Any = json.loads(json.dumps(data))
        assert rampup.Schedule.from_dict(through_json) == schedule
        assert rampup.as_schedule(through_json) == schedule
        assert str(rampup.Schedule.from_dict(data)) == str(schedule)


@SETTINGS
@given(cases(), st.integers(0, 2**32 - 1))
def test_scalar_equals_vectorized(case: Case, seed: int) -> None:
    rng = random.Random(seed)  # plain random steps: cheaper than hypothesis draws, as reproducible
    schedule = case.resolved()
    end = _end(schedule)
    whole = [rng.randint(0, end + 5) for _ in range(150)]
    fractional = [rng.uniform(0, end + 5) for _ in range(150)]
    boundaries = [start + d for _, start, length in schedule.spans() for d in (0, length, -0.5, 0.5) if start + d >= 0]
    steps = sorted(set(whole + fractional + boundaries + [0, end, *FAR]))
    expected = np.asarray([schedule(step) for step in steps])
    sorted_values = schedule.values(np.asarray(steps))
    np.testing.assert_allclose(sorted_values, expected, rtol=0, atol=1e-12)
    shuffled = list(steps)
    rng.shuffle(shuffled)
    shuffled_values = schedule.values(shuffled)
    np.testing.assert_allclose(shuffled_values, [schedule(step) for step in shuffled], rtol=0, atol=1e-12)
    # integer steps of NumPy and a 2-d shape give the same numbers
    ints = np.asarray(whole, dtype=np.int64)
    np.testing.assert_allclose(schedule.values(ints), [schedule(int(s)) for s in whole], rtol=0, atol=1e-12)
    assert schedule.values(np.asarray(whole).reshape(10, 15)).shape == (10, 15)
    # the branch-free evaluation (what jax.jit and Keras trace) equals values()
    evaluated = schedule.evaluate(np.asarray(shuffled, dtype=np.float64), np)
    np.testing.assert_allclose(evaluated, shuffled_values, rtol=0, atol=1e-12)
