"""Malformed specs and arguments: every one is answered with a RampupError that says what to fix.

Each case gives the call, the field the message must name, the bad value it must show, words
of what would be valid and, for text, the position of the offending character.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

import rampup
from rampup import Phase, Schedule, parse


@dataclass(frozen=True)
class Bad:
    id: str
    call: Callable[[], Any]
    field: str  # the field the message names
    value: str  # how the bad value shows in the message
    expected: str  # words of what would be valid
    position: int | None = None  # for spec text: where the caret points
    text: str | None = None


def spec(id: str, text: str, field: str, value: str, expected: str, position: int | None) -> Bad:
    return Bad(id, lambda: parse(text), field, value, expected, position, text)


def resolving(id: str, text: str, field: str, value: str, expected: str, **context: Any) -> Bad:
    return Bad(id, lambda: parse(text).resolve(**context), field, value, expected)


LINEAR_COSINE = "linear(10) -> cosine"

CASES = [
    # ------------------------------------------------------------------ spec syntax
    spec("empty spec", "", "spec", "''", "at least one phase", None),
    spec("blank spec", "   ", "spec", "'   '", "at least one phase", None),
    spec("unknown curve", "linear(10) -> foo(5)", "phase 2", "'foo'", "a curve name", 14),
    spec("unclosed paren", "linear(10", "spec", "the end", "',' or ')'", 9),
    spec("unclosed paren later", "linear(10) -> cosine(to=0.1", "spec", "the end", "',' or ')'", 27),
    spec("trailing comma", "linear(10,) -> cosine", "spec", "')", "a length (100, 5%, 2ep, 375Mtok) or name=value", 10),
    spec("bad duration 5x", "linear(5x) -> cosine", "spec", "5x", "a length (100, 5%, 2ep, 375Mtok)", 7),
    spec("negative length", "linear(-5) -> cosine", "phase 1 (linear): length", "'-5'", "a duration such as", 7),
    spec("150 percent", "linear(150%) -> cosine", "phase 1 (linear): length", "150%", "between 0% and 100%", 7),
    spec(
        "fractional steps", "linear(10.5) -> cosine", "phase 1 (linear): length", "10.5", "a whole number of steps", 7
    ),
    spec("infinite length", "linear(1e400)", "phase 1 (linear): length", "inf", "a finite number", 7),
    spec(
        "unknown parameter",
        "linear(10) -> cosine(foo=1)",
        "phase 2 (cosine): parameter",
        "'foo'",
        "one of its parameters (cycles, exponent, to, min, max)",
        21,
    ),
    spec("duplicated parameter", "cosine(10, to=0.1, to=0.2)", "spec", "'to'", "each parameter once", 19),
    spec("from on a decay", "linear(10) -> cosine(from=0.1)", "phase 2 (cosine): parameter", "'from'", "no 'from'", 21),
    spec(
        "to on a warmup",
        "untuned-linear(to=0.5) -> cosine",
        "phase 1 (untuned-linear): parameter",
        "'to'",
        "no 'to'",
        15,
    ),
    spec(
        "beta2=1", "untuned-linear(beta2=1)", "phase 1 (untuned-linear): beta2", "'1'", "strictly between 0 and 1", 15
    ),
    spec("beta2=0", "untuned-exponential(beta2=0)", "beta2", "'0'", "strictly between 0 and 1", 20),
    spec("radam beta2 too low", "radam(beta2=0.5) -> cosine", "phase 1 (radam): beta2", "'0.5'", "[0.73, 1)", 6),
    spec("gamma=0", "linear(10) -> step(every=10, gamma=0)", "phase 2 (step): gamma", "'0'", "a number in (0, 1]", 29),
    spec("gamma=2", "linear(10) -> exponential(gamma=2)", "phase 2 (exponential): gamma", "'2'", "(0, 1]", 26),
    spec("cycles=0", "linear(10) -> cosine(cycles=0)", "phase 2 (cosine): cycles", "'0'", "a number > 0", 21),
    spec("from above 1", "linear(10, from=1.5) -> cosine", "phase 1 (linear): from", "'1.5'", "between 0 and 1", 11),
    spec("negative to", "linear(10) -> cosine(to=-0.1)", "phase 2 (cosine): to", "'-0.1'", "between 0 and 1", 21),
    spec("not a number", "linear(10) -> cosine(cycles=abc)", "spec", "abc", "a number", 28),
    spec("bad boolean", "linear(10) -> exponential(gamma=0.5, staircase=maybe)", "spec", "maybe", "true/false", 47),
    spec(
        "warmup-only curve second",
        "linear(10) -> radam",
        "phase 2",
        "'radam'",
        "only the first phase can be a warmup",
        14,
    ),
    spec(
        "step without every or at", "linear(10) -> step(100)", "phase 2 (step)", "neither", "exactly one of every", 14
    ),
    spec(
        "step with every and at",
        "linear(10) -> step(100, every=10, at=[50])",
        "phase 2 (step)",
        "every and at",
        "exactly one of every=D or at=[...]",
        14,
    ),
    spec("empty milestones", "linear(10) -> step(at=[])", "spec", "]", "a number, a duration", 23),
    spec(
        "exponential decay without gamma or to",
        "linear(10) -> exponential(100)",
        "phase 2 (exponential)",
        "without gamma or to",
        "gamma=G",
        14,
    ),
    spec(
        "cosine-restarts with cycles and period",
        "linear(10) -> cosine-restarts(cycles=2, period=10)",
        "phase 2 (cosine-restarts)",
        "cycles and period",
        "one of cycles=N or period=D",
        14,
    ),
    spec("mult without period", "linear(10) -> cosine-restarts(mult=2)", "mult", "2.0", "mult only with period", 30),
    spec(
        "untuned-linear with a length",
        "untuned-linear(100) -> cosine",
        "phase 1 (untuned-linear): length",
        "'100'",
        "no length: this curve takes its length from beta2",
        15,
    ),
    spec("min above max", "linear(10, min=20, max=5) -> cosine", "phase 1 (linear): min", "'20'", "at most max", 11),
    spec("zero timescale", "linear(10) -> inverse-sqrt(timescale=0)", "timescale", "'0'", "a duration > 0", 27),
    spec("length after keyword", "cosine(to=0.1, 100)", "spec", "'100'", "the length comes first", 15),
    spec("two lengths", "cosine(100, 200)", "spec", "'200'", "the length comes first and only once", 12),
    spec("garbage after the spec", "linear(10) -> cosine(20) foo", "spec", "'foo'", "'->' and another phase", 25),
    spec("missing arrow", "linear(10) cosine", "spec", "'cosine'", "'->' and another phase", 11),
    spec("dangling arrow", "linear(10) -> ", "spec", "the end", "a curve name", 14),
    spec("leading arrow", "-> cosine", "spec", "'-> cosine'", "a curve name", 0),
    # ------------------------------------------------------------------ resolution
    resolving(
        "two open phases", "linear -> cosine", "phase 2 (cosine) length", "None", "only one phase", total_steps=100
    ),
    resolving("relative length without total", "linear(5%) -> cosine(100)", "total_steps", "None", "--total-steps"),
    resolving("open phase without total", LINEAR_COSINE, "total_steps", "None", "give it a length"),
    resolving(
        "epochs without steps_per_epoch", "linear(2ep) -> cosine", "steps_per_epoch", "None", "--steps-per-epoch"
    ),
    resolving(
        "tokens without tokens_per_step", "linear(375Mtok) -> cosine", "tokens_per_step", "None", "--tokens-per-step"
    ),
    resolving(
        "phases longer than total", "linear(60) -> cosine(50)", "total_steps", "100", "at least 110", total_steps=100
    ),
    resolving(
        "fixed phases longer than total",
        "linear(60) -> constant -> cosine(50)",
        "total_steps",
        "100",
        "at least 110",
        total_steps=100,
    ),
    resolving(
        "total_steps=0", LINEAR_COSINE, "total_steps", "0", "a whole number of optimizer steps > 0", total_steps=0
    ),
    resolving("total_steps=-5", LINEAR_COSINE, "total_steps", "-5", "> 0", total_steps=-5),
    resolving("total_steps=True", LINEAR_COSINE, "total_steps", "True", "a whole number", total_steps=True),
    resolving("total_steps=2.5", LINEAR_COSINE, "total_steps", "2.5", "a whole number", total_steps=2.5),
    resolving("total_steps as text", LINEAR_COSINE, "total_steps", "'100'", "a whole number", total_steps="100"),
    resolving(
        "steps_per_epoch=0", LINEAR_COSINE, "steps_per_epoch", "0", "a number > 0", total_steps=100, steps_per_epoch=0
    ),
    resolving(
        "tokens_per_step nan",
        LINEAR_COSINE,
        "tokens_per_step",
        "nan",
        "a number > 0",
        total_steps=100,
        tokens_per_step=math.nan,
    ),
    resolving(
        "milestones decreasing", "linear(10) -> step(100, at=[50, 20])", "phase 2 (step): at", "[50, 20]", "increasing"
    ),
    resolving(
        "milestones inside warmup",
        "linear(10) -> step(100, at=[5, 50])",
        "phase 2 (step): at",
        "[5, 50]",
        "milestones from step 10 on",
    ),
    # ------------------------------------------------------------------ evaluation
    Bad("negative step", lambda: parse("linear(10) -> cosine(10)")(-1), "step", "-1", "steps >= 0"),
    Bad("NaN step", lambda: parse("linear(10) -> cosine(10)")(math.nan), "step", "nan", "a finite number"),
    Bad("infinite step", lambda: parse("linear(10) -> cosine(10)")(math.inf), "step", "inf", "a finite number"),
    Bad("step as text", lambda: parse("linear(10) -> cosine(10)")("3"), "step", "'3'", "a number of optimizer steps"),
    Bad("values([-1])", lambda: parse("linear(10) -> cosine(10)").values([-1]), "steps", "-1.0", "steps >= 0"),
    Bad("values with nan", lambda: parse("linear(10) -> cosine(10)").values([0, math.nan]), "steps", "nan", "finite"),
    # ------------------------------------------------------------------ dict form and objects
    Bad(
        "dict without curve",
        lambda: Schedule.from_dict({"phases": [{"length": 10}]}),
        "phases[0].curve",
        "None",
        "a curve name",
    ),
    Bad(
        "dict unknown top-level key",
        lambda: Schedule.from_dict({"phases": [{"curve": "linear"}], "warmup": 5}),
        "schedule",
        "'warmup'",
        "only the key 'phases'",
    ),
    Bad(
        "dict phases not a list",
        lambda: Schedule.from_dict({"phases": "linear(10)"}),
        "phases",
        "'linear(10)'",
        "a non-empty list of phases",
    ),
    Bad("dict phase not a mapping", lambda: Schedule.from_dict({"phases": [5]}), "phases[0]", "5", "a mapping"),
    Bad("dict not a mapping", lambda: Schedule.from_dict([1, 2]), "schedule", "[1, 2]", "a mapping"),  # type: ignore[arg-type]
    Bad(
        "dict fractional length",
        lambda: Schedule.from_dict({"phases": [{"curve": "linear", "length": 10.5}]}),
        "phase 1 (linear): length",
        "10.5",
        "a whole number of steps",
    ),
    Bad(
        "dict boolean parameter",
        lambda: Schedule.from_dict({"phases": [{"curve": "cosine", "length": 10, "cycles": True}]}),
        "phase 1 (cosine): cycles",
        "True",
        "a finite number",
    ),
    Bad(
        "dict milestones not a list",
        lambda: Schedule.from_dict({"phases": [{"curve": "step", "length": 10, "at": "5"}]}),
        "phase 1 (step): at",
        "'5'",
        "a list of durations",
    ),
    Bad("Schedule(())", lambda: Schedule(()), "phases", "[]", "at least one phase"),
    Bad("Schedule of text", lambda: Schedule(("linear",)), "phases", "'linear'", "Phase objects"),  # type: ignore[arg-type]
    Bad("Phase.of bad length", lambda: Phase.of("linear", "5x"), "linear: length", "'5x'", "a duration such as"),
    Bad("parse a number", lambda: parse(5), "spec", "5", "spec text"),  # type: ignore[arg-type]
    Bad("as_schedule a number", lambda: rampup.as_schedule(5), "schedule", "5", "a Schedule, spec text"),  # type: ignore[arg-type]
    Bad("unknown preset", lambda: rampup.preset("nope"), "preset", "'nope'", "one of bert"),
    Bad("goyal batch too small", lambda: rampup.presets.goyal(128), "batch_size", "128", "a batch size >= 256"),
]


def test_at_least_thirty_cases() -> None:
    assert len(CASES) >= 30
    assert len({case.id for case in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_clear_error(case: Bad) -> None:
    with pytest.raises(rampup.RampupError) as caught:
        case.call()
    error = caught.value
    assert isinstance(error, ValueError)
    line = error.line()
    assert "\n" not in line  # the one line the command line prints
    assert case.field in error.field, line
    assert line.startswith(f"{error.field}: got ")  # the field comes first
    assert case.value in line, line  # the bad value
    assert ", expected " in line and case.expected in line, line  # what would be valid
    assert error.expected
    if case.text is not None and case.position is not None:
        assert error.position == case.position, line
        assert error.text == case.text
        assert f"at position {case.position}" in line
        *_, shown, caret = str(error).split("\n")
        assert shown == f"    {case.text}"
        assert caret == "    " + " " * case.position + "^"  # the caret sits under the bad character
    elif case.text is not None:
        assert str(error) == line  # no position: no caret lines


def test_error_attributes_and_hint() -> None:
    error = rampup.RampupError("total_steps", -5, "a whole number > 0", hint="pass --total-steps N")
    assert (error.field, error.value, error.expected, error.hint) == (
        "total_steps",
        -5,
        "a whole number > 0",
        "pass --total-steps N",
    )
    assert str(error) == "total_steps: got -5, expected a whole number > 0; pass --total-steps N"
    assert error.position is None and error.text is None
