"""Spec text and dict form: parsing, canonical printing, roles, resolution and introspection."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import rampup
from rampup import Duration, Phase, Schedule, parse

# --------------------------------------------------------------------------- canonical text


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("linear(5%)->cosine(to=0.1)", "linear(5%) -> cosine(to=0.1)"),
        ("  linear( 5% )\t->\n cosine( to = 0.1 )  ", "linear(5%) -> cosine(to=0.1)"),
        ("LINEAR(5%) -> Cosine(to=0.1)", "linear(5%) -> cosine(to=0.1)"),
        ("linear() -> cosine()", "linear -> cosine"),
        ("linear(05) -> cosine(0010)", "linear(5) -> cosine(10)"),
        ("linear(1e2) -> cosine(2.0E3)", "linear(100) -> cosine(2000)"),
        ("linear(2.50ep) -> cosine", "linear(2.5ep) -> cosine"),
        # parameters in canonical order, whatever order they were written in
        ("cosine(100, to=0.1, exponent=2, cycles=1)", "cosine(100, cycles=1, exponent=2, to=0.1)"),
        ("polynomial(10, power=1.0) -> polynomial(power=2.0)", "polynomial(10) -> polynomial(power=2)"),
        # lists and booleans
        ("step(at = [ 30ep , 60ep,80ep ])", "step(at=[30ep, 60ep, 80ep])"),
        ("exponential(gamma=0.5, staircase=true)", "exponential(gamma=0.5, staircase=true)"),
        ("exponential(gamma=0.5, every=10, staircase=false)", "exponential(gamma=0.5, every=10)"),
        # token suffixes: the largest that keeps the number whole
        ("linear(375Mtok) -> cosine(2.5Btok)", "linear(375Mtok) -> cosine(2500Mtok)"),
        ("linear(1Ttok) -> cosine(1000Ktok)", "linear(1Ttok) -> cosine(1Mtok)"),
        ("linear(1.5Ktok) -> cosine(0.5Mtok)", "linear(1500tok) -> cosine(500Ktok)"),
        ("linear(1Gtok) -> cosine(7tok)", "linear(1Btok) -> cosine(7tok)"),
        # clamps
        ("linear(5%, max=100, min=5) -> linear", "linear(5%, min=5, max=100) -> linear"),
    ],
)
def test_canonical_text(text: str, canonical: str) -> None:
    schedule = parse(text)
    assert str(schedule) == canonical
    assert parse(canonical) == schedule
    assert str(parse(canonical)) == canonical


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("cosine(cycles=0.5)", "cosine"),
        ("cosine(exponent=1)", "cosine"),
        ("linear(10) -> cosine(to=0)", "linear(10) -> cosine"),
        ("linear(10, from=0) -> cosine", "linear(10) -> cosine"),
        ("exponential(100, rate=5) -> constant", "exponential(100) -> constant"),
        ("linear(10) -> step(every=10, gamma=0.1)", "linear(10) -> step(every=10)"),
        ("untuned-linear(beta2=0.999) -> cosine", "untuned-linear -> cosine"),
        ("radam(beta2=0.999) -> cosine", "radam -> cosine"),
        ("linear(10) -> polynomial(power=1)", "linear(10) -> polynomial"),
        ("linear(10) -> cosine-restarts(period=5, mult=1, decay=1)", "linear(10) -> cosine-restarts(period=5)"),
        ("linear(10) -> exponential(gamma=0.5, every=1, staircase=false)", "linear(10) -> exponential(gamma=0.5)"),
    ],
)
def test_defaults_are_dropped(text: str, same_as: str) -> None:
    assert parse(text) == parse(same_as)
    assert str(parse(text)) == same_as


def test_role_deciding_defaults_are_kept() -> None:
    # linear(10, to=0) -> cosine starts with a decay: dropping `to=0` would make it a warmup
    decay_first = parse("linear(10, to=0) -> cosine(10)")
    assert decay_first.roles == ("decay", "decay")
    assert str(decay_first) == "linear(10, to=0) -> cosine(10)"
    assert parse(str(decay_first)).roles == ("decay", "decay")
    assert decay_first.resolve()(0) == 1.0
    # linear(10, from=0) alone is a warmup: without from=0 it would be a decay
    lone_warmup = parse("linear(10, from=0)")
    assert lone_warmup.roles == ("warmup",)
    assert str(lone_warmup) == "linear(10, from=0)"
    assert lone_warmup(0) == 0.0 and lone_warmup(10) == 1.0
    assert str(parse("constant(5, from=0) -> cosine(5)")) == "constant(5, from=0) -> cosine(5)"
    # the same in the dict form, and from Phase objects
    assert Schedule.from_dict(decay_first.to_dict()).roles == ("decay", "decay")
    assert Schedule((Phase.of("linear", 10, from_=0.0),)).roles == ("warmup",)


def test_numbers_print_shortest_and_exactly() -> None:
    schedule = parse("linear(10, from=0.1) -> cosine(to=0.30000000000000004)")
    assert str(schedule) == "linear(10, from=0.1) -> cosine(to=0.30000000000000004)"
    assert parse(str(schedule)) == schedule
    assert parse("linear(10) -> cosine(to=1e-05)").phases[1].get("to") == 1e-05


# --------------------------------------------------------------------------- roles


@pytest.mark.parametrize(
    ("text", "roles"),
    [
        ("linear(100)", ("decay",)),  # alone, a linear phase decays from the peak
        ("cosine(100)", ("decay",)),
        ("linear(100) -> cosine", ("warmup", "decay")),  # first of several: a warmup
        ("cosine(100) -> linear", ("warmup", "decay")),
        ("constant -> 1-sqrt(20%)", ("decay", "decay")),  # the stable phase, then the cooldown
        ("constant(5, from=0.1) -> linear", ("warmup", "decay")),  # Goyal's constant warmup
        ("linear(100, from=0.1)", ("warmup",)),  # from= makes a warmup
        ("linear(100, to=0.1) -> cosine", ("decay", "decay")),  # to= makes a decay
        ("untuned-linear", ("warmup",)),  # warmup-only curves are warmups even alone
        ("radam -> cosine", ("warmup", "decay")),
        ("inverse-sqrt(100) -> linear(10)", ("decay", "decay")),  # decay-only curves
        ("linear(1%) -> constant -> 1-sqrt(20%)", ("warmup", "decay", "decay")),
    ],
)
def test_role_inference(text: str, roles: tuple[str, ...]) -> None:
    assert parse(text).roles == roles  # known before any resolution


def test_constant_warmup_values() -> None:
    schedule = parse("constant(5, from=0.1) -> linear").resolve(15)
    assert [schedule(s) for s in range(6)] == [0.1] * 5 + [1.0]  # flat, then the jump to the peak
    assert schedule(10) == pytest.approx(0.5)


def test_stable_then_decay() -> None:
    schedule = parse("constant -> 1-sqrt(20%)").resolve(100)
    assert [length for _, _, length in schedule.spans()] == [80, 20]
    assert schedule(0) == schedule(80) == 1.0
    assert schedule(85) == pytest.approx(1 - math.sqrt(5 / 20))
    assert schedule(100) == 0.0


# --------------------------------------------------------------------------- durations and resolution


@pytest.mark.parametrize(
    ("spec", "total", "steps_per_epoch", "warmup"),
    [
        ("linear(7%) -> cosine", 100, None, 7),  # 100 * 0.07 is 7.000000000000001: not 8
        ("linear(29%) -> cosine", 100, None, 29),
        ("linear(57%) -> cosine", 100, None, 57),
        ("linear(5%) -> cosine", 1001, None, 51),  # 50.05 rounds up
        ("linear(0.1%) -> cosine", 999, None, 1),  # 0.999 rounds up
        ("linear(0%) -> cosine", 999, None, 0),
        ("linear(100%) -> cosine", 10, None, 10),
        ("linear(2.5ep) -> cosine", 1000, 10, 25),
        ("linear(1ep) -> cosine", 1000, 12.5, 13),  # 12.5 rounds up
        ("linear(0.3ep) -> cosine", 1000, 10, 3),  # 0.3 * 10 is 3.0000000000000004: not 4
    ],
)
def test_relative_lengths_round_up(spec: str, total: int, steps_per_epoch: float | None, warmup: int) -> None:
    assert parse(spec).resolve(total, steps_per_epoch=steps_per_epoch).warmup_steps == warmup


def test_huggingface_ceil_would_round_7_percent_to_8() -> None:
    assert math.ceil(100 * 0.07) == 8  # why rampup does not use a bare ceil
    assert parse("linear(7%) -> cosine").resolve(100).warmup_steps == 7


@pytest.mark.parametrize(("tokens_per_step", "warmup"), [(0.5e6, 750), (1e6, 375), (2**20, 358), (375e6, 1), (1e9, 1)])
def test_token_lengths(tokens_per_step: float, warmup: int) -> None:
    schedule = parse("linear(375Mtok) -> cosine(2.5Btok)").resolve(tokens_per_step=tokens_per_step)
    assert schedule.warmup_steps == warmup
    assert schedule.total_steps == warmup + math.ceil(2.5e9 / tokens_per_step)


def test_duration_objects() -> None:
    assert Duration.parse("375Mtok") == Duration(375e6, "tokens")
    assert Duration.parse("2.5Btok") == Duration(2.5e9, "tokens")
    assert Duration.parse("5%") == Duration(5, "percent")
    assert Duration.parse("2ep") == Duration(2, "epochs")
    assert Duration.parse(100) == Duration(100)
    assert not Duration(100).is_relative and Duration(5, "percent").is_relative


@pytest.mark.parametrize(
    ("spec", "total", "warmup"),
    [
        ("linear(5%, min=5) -> linear", 40, 5),  # 2 steps, clamped up to 5
        ("linear(5%, min=5) -> linear", 1000, 50),
        ("linear(10%, max=100) -> cosine", 5000, 100),  # 500 steps, clamped down to 100
        ("linear(10%, max=100) -> cosine", 500, 50),
        ("linear(50, min=10%) -> cosine", 1000, 100),  # a clamp can be relative too
        ("linear(50, max=1%) -> cosine", 1000, 10),
    ],
)
def test_min_max_clamps(spec: str, total: int, warmup: int) -> None:
    resolved = parse(spec).resolve(total)
    assert resolved.warmup_steps == warmup
    assert "min" not in str(resolved) and "max" not in str(resolved)  # resolved lengths are plain steps


def test_open_phase_takes_what_remains() -> None:
    schedule = parse("linear(10) -> constant -> cosine(20)").resolve(100)
    assert str(schedule) == "linear(10) -> constant(70) -> cosine(20)"
    assert [(start, length) for _, start, length in schedule.spans()] == [(0, 10), (10, 70), (80, 20)]
    first = parse("constant -> linear(10)").resolve(50)
    assert [length for _, _, length in first.spans()] == [40, 10]
    exact = parse("linear(60) -> cosine").resolve(60)  # nothing remains: the open phase is empty
    assert [length for _, _, length in exact.spans()] == [60, 0]
    assert exact(60) == 1.0


def test_open_ended_last_phase_needs_no_total() -> None:
    for spec in ("linear(100) -> inverse-sqrt", "linear(10) -> constant", "linear(10) -> step(every=100)"):
        schedule = parse(spec).resolve()
        assert schedule.total_steps is None
        assert math.isinf(schedule.spans()[-1][2])
        assert math.isfinite(schedule(10**12))


def test_resolve_semantics() -> None:
    spec = parse("linear(5%) -> cosine(to=0.1)")
    resolved = spec.resolve(total_steps=1000)
    assert str(resolved) == "linear(50) -> cosine(950, to=0.1)"
    assert (resolved(0), resolved(50), resolved(1000)) == (0.0, 1.0, 0.1)
    assert resolved.resolve() == resolved  # resolving again changes nothing
    assert resolved.resolve().total_steps == 1000  # the total it was resolved with is kept
    assert parse(str(resolved)) == resolved
    # extra context that no length needs is fine
    assert spec.resolve(1000, steps_per_epoch=7, tokens_per_step=4096) == resolved
    # a total beyond the phases: the value holds after them, and total_steps is that total
    longer = parse("linear(10) -> cosine(90)").resolve(500)
    assert longer.total_steps == 500 and parse("linear(10) -> cosine(90)").total_steps == 100
    assert longer(300) == 0.0
    # a schedule carries its context: resolve() without arguments reuses it
    assert spec.resolve(2000).resolve() == spec.resolve(2000)
    # an unresolved schedule with lengths in steps can be evaluated directly
    assert parse("linear(10) -> cosine(10)")(5) == 0.5


def test_resolve_milestones_and_every() -> None:
    schedule = parse("linear(5ep, from=0.1) -> step(at=[30ep, 60ep, 80ep])").resolve(9000, steps_per_epoch=100)
    assert str(schedule) == "linear(500, from=0.1) -> step(8500, at=[3000, 6000, 8000])"
    every = parse("linear(1%) -> step(every=10%, gamma=0.5)").resolve(1000)
    assert str(every) == "linear(10) -> step(990, every=100, gamma=0.5)"
    assert every(109) == 1.0 and every(110) == 0.5  # every counts from the phase's start


# --------------------------------------------------------------------------- dict form


def test_dict_form_shape() -> None:
    schedule = parse("linear(5%, from=0.1) -> step(at=[30ep, 60ep], gamma=0.5) -> constant(100)")
    assert schedule.to_dict() == {
        "phases": [
            {"curve": "linear", "length": "5%", "from": 0.1},
            {"curve": "step", "at": ["30ep", "60ep"], "gamma": 0.5},
            {"curve": "constant", "length": 100},
        ]
    }


@pytest.mark.parametrize(
    "spec",
    [
        "linear(5%) -> cosine(to=0.1)",
        "linear(375Mtok) -> cosine(2.5Btok, to=0.1)",
        "linear(5ep, from=0.1) -> step(at=[30ep, 60ep, 80ep], gamma=0.1)",
        "untuned-linear(beta2=0.98) -> cosine",
        "exponential(100, rate=3) -> exponential(gamma=0.9, every=10, staircase=true)",
        "linear(1%) -> constant -> 1-sqrt(20%)",
        "linear(10, to=0) -> cosine(10)",
        "linear(5%, min=5, max=1%) -> cosine-restarts(period=100, mult=2, decay=0.5)",
    ],
)
def test_dict_round_trip_through_json(spec: str) -> None:
    schedule = parse(spec)
    data = json.loads(json.dumps(schedule.to_dict()))
    assert Schedule.from_dict(data) == schedule
    assert rampup.as_schedule(data) == schedule
    assert str(Schedule.from_dict(data)) == str(schedule)


def test_dict_form_is_lenient_like_the_text() -> None:
    data = {"phases": [{"curve": " Linear ", "length": "5%"}, {"curve": "cosine", "to": "0.1", "cycles": 0.5}]}
    assert Schedule.from_dict(data) == parse("linear(5%) -> cosine(to=0.1)")
    steps = {"phases": [{"curve": "linear", "length": 10}, {"curve": "exponential", "gamma": 0.5, "staircase": "true"}]}
    assert Schedule.from_dict(steps) == parse("linear(10) -> exponential(gamma=0.5, staircase=true)")
    assert Schedule.from_dict({"phases": ({"curve": "linear", "length": 10.0},)}) == parse("linear(10)")


# --------------------------------------------------------------------------- building and as_schedule


def test_phase_objects_and_as_schedule() -> None:
    built = Schedule((Phase.of("linear", "5%"), Phase.of("cosine", to=0.1)))
    assert built == parse("linear(5%) -> cosine(to=0.1)")
    assert rampup.as_schedule(built) is built
    assert rampup.as_schedule("linear(5%) -> cosine(to=0.1)") == built
    assert rampup.as_schedule(" BERT ") == rampup.preset("bert").schedule
    assert rampup.as_schedule("noam") == rampup.preset("vaswani").schedule
    assert Schedule.parse("linear(5%) -> cosine(to=0.1)") == built
    assert hash(built) == hash(parse(str(built)))


# --------------------------------------------------------------------------- introspection and words


def test_introspection() -> None:
    schedule = parse("linear(5%) -> cosine(to=0.1)").resolve(1000)
    assert schedule.warmup_steps == 50
    assert schedule.total_steps == 1000
    assert schedule.peak == 1.0
    assert schedule.final_value() == pytest.approx(0.1)
    assert schedule.roles == ("warmup", "decay")
    assert [(str(p), start, length) for p, start, length in schedule.spans()] == [
        ("linear(50)", 0, 50),
        ("cosine(950, to=0.1)", 50, 950),
    ]
    no_warmup = parse("cosine(100, to=0.2)")
    assert no_warmup.warmup_steps == 0 and no_warmup.total_steps == 100
    assert no_warmup.final_value() == pytest.approx(0.2) and no_warmup.peak == 1.0
    assert parse("linear(100) -> inverse-sqrt").resolve().total_steps is None
    step = parse("linear(10) -> step(every=5, gamma=0.5)").resolve(20)
    assert step.final_value() == 0.5**2
    wsd = rampup.as_schedule("wsd").resolve(1000)
    assert wsd.warmup_steps == 10 and [length for _, _, length in wsd.spans()] == [10, 790, 200]


@pytest.mark.parametrize(
    ("spec", "total", "words"),
    [
        (
            "linear(5%) -> cosine(to=0.1)",
            1000,
            "Linear warmup from 0 to the peak over 50 steps (0-50), then cosine decay from the peak to "
            "10% of the peak over 950 steps (50-1000); after step 1000 it holds at 10% of the peak.",
        ),
        (
            "linear(1%) -> constant -> 1-sqrt(20%)",
            1000,
            "Linear warmup from 0 to the peak over 10 steps (0-10), then hold at the peak over 790 steps (10-800), "
            "then 1-sqrt cooldown from the peak to 0 over 200 steps (800-1000); after step 1000 it holds at 0.",
        ),
        (
            "linear(100) -> inverse-sqrt",
            None,
            "Linear warmup from 0 to the peak over 100 steps (0-100), then inverse square root decay from the "
            "peak to 0 from step 100 on.",
        ),
        (
            "constant(1, from=0.5) -> linear(1)",
            None,
            "Constant warmup from 50% of the peak to the peak over 1 step (0-1), then linear decay from the "
            "peak to 0 over 1 step (1-2); after step 2 it holds at 0.",
        ),
    ],
)
def test_describe(spec: str, total: int | None, words: str) -> None:
    assert parse(spec).resolve(total).describe() == words


# --------------------------------------------------------------------------- after the end


def test_values_hold_after_the_end() -> None:
    cosine = parse("linear(10) -> cosine(90)")
    after = cosine.values(np.arange(100, 10_000))
    assert (after == 0.0).all()  # Hugging Face's cosine would rise again past the total
    floor = parse("linear(10) -> cosine(90, to=0.1)")
    np.testing.assert_allclose(floor.values(np.arange(100, 10_000, 7)), 0.1, rtol=1e-15)
    partial = parse("linear(10) -> cosine(90, cycles=0.25)")  # ends halfway down
    assert partial(100) == pytest.approx(0.5) and partial(10**6) == partial(100)
    many = parse("linear(10) -> cosine(90, cycles=2)")
    assert many(10**9) == many(100) == pytest.approx(1.0)
    for spec in ("linear(10) -> linear(90, to=0.05)", "linear(10) -> polynomial(90, power=2)", "1-sqrt(50)"):
        schedule = parse(spec)
        end = schedule.total_steps
        assert end is not None
        assert schedule(end) == schedule(end + 1) == schedule(10**9) == schedule.final_value()


def test_describe_names_the_phase_modifiers_and_the_value_a_phase_really_starts_at() -> None:
    """A cut, a part-way start, a staircase, a floor, k-decay and a delay are said in words (issues 12, 13)."""
    cut = rampup.parse("linear(100) -> cosine(900, to=0.1)").branch(at=500, then="linear(100)")
    assert "the first 400 steps of a curve of 900 steps" in cut.describe()
    timm = rampup.parse("linear(5ep, per=1ep) -> cosine(skip=5ep)").resolve(1000, steps_per_epoch=100)
    words = timm.describe()
    assert "held for 100 steps at a time (a staircase)" in words
    assert (
        "cosine decay from 50% of the peak to 0 over 500 steps (500-1000), starting 500 steps into its curve" in words
    )
    clipped = rampup.parse("linear(10) -> polynomial(90, power=2, k=2, floor=0.2)").describe()
    assert "k-decay with k=2, never below 20% of the peak" in clipped
    late = rampup.parse("linear(11, delay=1) -> constant").describe()
    assert "its first 1 step held at its start" in late
    extended = rampup.parse("linear(100) -> cosine(900)").branch(at=300, total_steps=2000).describe()
    assert "the rest of its curve stretched or shrunk to fit" in extended
