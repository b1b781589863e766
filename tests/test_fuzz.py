"""Fuzzing (issue 15): generated and mutated specs, odd numbers and command lines.

Every case ends in one of two ways: a schedule whose values are finite and >= 0 (and equal,
to the last bit, between the scalar call and ``values()``), or one clean :class:`RampupError`;
on the command line, exit 0 or one ``error:`` line and exit 2. Anything else (another
exception, a NaN, a traceback, a warning of NumPy overflow) fails the test.

The number of cases per test is ``FUZZ_EXAMPLES`` (multiplied by ``RAMPUP_FUZZ_SCALE`` in the
environment, default 1); ``docs/reliability.md`` lists them and how to run more.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rampup import RampupError, Schedule, as_schedule, parse
from rampup.curves import DECAY_CURVES, WARMUP_CURVES
from rampup.durations import MAX_STEPS

SCALE = float(os.environ.get("RAMPUP_FUZZ_SCALE", "1"))


def examples(count: int) -> settings:
    return settings(
        max_examples=max(1, int(count * SCALE)),
        deadline=None,
        # capsys is read out (and so emptied) in every case of the command-line test
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
        database=None,
    )


# ---------------------------------------------------------------------------- odd numbers

#: numbers as text that once broke something, or could: huge, tiny, subnormal, signed zero,
#: non-finite, long integers, other scripts' digits, Python-only spellings
ODD_TEXT = [
    "0",
    "-0",
    "-0.0",
    "1",
    "1.5",
    "-1",
    "1e308",
    "1.7976931348623157e308",
    "1e400",
    "-1e400",
    "1e-320",
    "5e-324",
    "4.9e-324",
    "2.2250738585072014e-308",
    "1e15",
    "1000000000000001",
    "9007199254740993",
    "1" + "0" * 400,
    "1" + "0" * 5000,
    "inf",
    "-inf",
    "nan",
    "NaN",
    "infinity",
    "１",
    "١٠",
    "٣",
    "1_000",
    "0x10",
    "1e",
    ".",
    "+5",
    "0.999999999999999999",
    "0.9999999999999999",
    "1e-16",
]

odd_text = st.one_of(
    st.sampled_from(ODD_TEXT),
    st.integers(min_value=-(10**20), max_value=10**20).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.floats(min_value=0, max_value=1, exclude_min=True).map(repr),
)

odd_numbers = st.one_of(
    st.sampled_from([0, -0.0, 5e-324, 1e-320, 2.2250738585072014e-308, 1e308, math.inf, -math.inf, math.nan]),
    st.sampled_from([10**15, 10**15 + 1, 2**53 + 1, 10**400, -(10**400), True, False]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([np.float32(3.5), np.int64(7), np.uint64(2**63), np.float16(65504), np.float64(math.nan)]),
    st.sampled_from(["5", "５", None, [1], 1 + 2j]),
)


# ---------------------------------------------------------------------------- specs from the grammar

FLOAT_PARAMS = {
    "rate": (0.1, 20.0),
    "power": (0.1, 5.0),
    "beta2": (0.75, 0.9995),
    "cycles": (0.1, 8.0),
    "exponent": (0.2, 4.0),
    "gamma": (0.01, 1.0),
    "mult": (1.0, 4.0),
    "decay": (0.05, 1.0),
    "from": (0.0, 1.0),
    "to": (0.0, 1.0),
}
DURATION_PARAMS = ("every", "period", "timescale", "min", "max")


@st.composite
def number_text(draw: Any, low: float, high: float, tame: bool) -> str:
    """A number for a parameter: in range, or (in a wild case, one time in four) odd."""
    if not tame and draw(st.integers(0, 3)) == 0:
        return draw(odd_text)
    return repr(draw(st.floats(min_value=low, max_value=high)))


@st.composite
def duration_text(draw: Any, tame: bool) -> str:
    kind = draw(st.integers(0 if not tame else 1, 9))
    if kind == 0:
        return draw(odd_text) + draw(st.sampled_from(["", "%", "ep", "tok", "Ktok", "Mtok"]))
    if kind <= 5:
        return str(draw(st.integers(0, 200 if tame else 3000)))
    if kind <= 7:
        return f"{draw(st.integers(0, 15 if tame else 100))}%"
    if kind == 8:
        return f"{draw(st.floats(min_value=0, max_value=2 if tame else 50)):g}ep"
    return f"{draw(st.integers(0, 50))}{draw(st.sampled_from(['K', '']))}tok"


#: what each curve needs to be valid at all, so that tame cases are mostly schedules
REQUIRED = {"step": ("every", "at"), "exponential": ("gamma",)}


@st.composite
def phase_text(draw: Any, name: str, first: bool, tame: bool, last: bool) -> str:
    curve = (WARMUP_CURVES.get(name) if first else None) or DECAY_CURVES.get(name) or WARMUP_CURVES[name]
    args = []
    if not curve.derives_length and (draw(st.booleans()) if not tame else not last or draw(st.booleans())):
        args.append(draw(duration_text(tame)))
    names = [param.name for param in curve.params] + ["from" if first else "to", "min", "max"]
    keys = draw(st.lists(st.sampled_from(names), max_size=3, unique=True))
    if tame:
        keys = [key for key in keys if key not in ("min", "max", "at", "every", "period", "mult")]
        needed = REQUIRED.get(name, ()) if curve.role == "decay" else ()
        if needed and not any(key in keys for key in needed):
            keys.append(draw(st.sampled_from(needed)))
        if name == "cosine-restarts" and draw(st.booleans()) and "cycles" not in keys:
            keys += ["period", "mult"]
    for key in keys:
        if key in FLOAT_PARAMS:
            low, high = FLOAT_PARAMS[key]
            if tame and key == "beta2":
                high = 0.995
            args.append(f"{key}={draw(number_text(low, high, tame))}")
        elif key == "at":
            start = draw(st.integers(0, 300))
            gaps = draw(st.lists(st.integers(1, 300), min_size=1, max_size=4))
            items = [str(start + sum(gaps[: i + 1])) for i in range(len(gaps))]
            if not tame:
                items = draw(st.lists(duration_text(tame), min_size=1, max_size=4)) if draw(st.booleans()) else items
            args.append(f"at=[{', '.join(items)}]")
        elif key == "staircase":
            args.append(f"staircase={draw(st.sampled_from(['true', 'false']))}")
        elif key in DURATION_PARAMS:
            args.append(f"{key}={draw(duration_text(tame)) if not tame else draw(st.integers(1, 100))}")
    return f"{name}({', '.join(args)})" if args or draw(st.booleans()) else name


@st.composite
def spec_text(draw: Any, tame: bool | None = None) -> str:
    """A spec from the grammar: tame (valid curves and ranges, lengths that fit) three times in four, else wild."""
    if tame is None:
        tame = draw(st.integers(0, 3)) > 0
    count = draw(st.integers(1, 4))
    names = [draw(st.sampled_from(sorted(WARMUP_CURVES)))]
    names += [draw(st.sampled_from(sorted(DECAY_CURVES))) for _ in range(count - 1)]
    phases = [draw(phase_text(name, i == 0, tame, i == count - 1)) for i, name in enumerate(names)]
    return " -> ".join(phases)


@st.composite
def context(draw: Any) -> dict[str, Any]:
    """What a schedule is resolved against: mostly ordinary, sometimes odd."""
    wild = draw(st.integers(0, 4)) == 0
    out: dict[str, Any] = {"total_steps": draw(st.integers(2000, 20000))}
    out["steps_per_epoch"] = draw(st.floats(0.5, 500))
    out["tokens_per_step"] = draw(st.floats(1, 1e6))
    if wild:
        out["total_steps"] = draw(st.one_of(st.none(), st.integers(1, 10**6), st.sampled_from([10**15, 10**400, 0])))
        out["steps_per_epoch"] = draw(st.one_of(st.none(), odd_numbers))
        out["tokens_per_step"] = draw(st.one_of(st.none(), odd_numbers))
    return out


def steps_for(schedule: Schedule, extra: list[float]) -> np.ndarray:
    """The steps the invariants are checked at: edges of every phase, a sweep, far steps and drawn ones."""
    points: list[float] = [0.0, 1.0, float(MAX_STEPS), 1e12]
    for _, start, length in schedule.spans():
        for edge in (start, start + length):
            if math.isfinite(edge):
                points.extend(edge + delta for delta in (-1.0, -0.5, 0.0, 0.5, 1.0))
    end = max((start for _, start, _ in schedule.spans()), default=0) + 10
    points.extend(np.linspace(0, 2 * end, 97).tolist())
    points.extend(extra)
    return np.array([p for p in points if 0 <= p <= MAX_STEPS], dtype=np.float64)


def check_schedule(schedule: Schedule, extra: list[float] = ()) -> None:  # type: ignore[assignment]
    """The invariants of a schedule that was built without an error."""
    steps = steps_for(schedule, list(extra))
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        values = schedule.values(steps)
    assert np.isfinite(values).all() and (values >= 0).all(), (str(schedule), steps[~np.isfinite(values)][:3])
    for index in range(0, len(steps), max(1, len(steps) // 12)):  # the scalar call, bit for bit
        assert schedule(float(steps[index])) == values[index], (str(schedule), steps[index])
    assert parse(str(schedule)) == schedule  # the canonical text reads back
    assert Schedule.from_dict(schedule.to_dict()) == schedule


def outcome(call: Callable[[], Any]) -> Any:
    """``call()``, or None if it raised a RampupError; any other exception or a warning fails the test."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning of NumPy overflow is a silent NaN in waiting
        try:
            return call()
        except RampupError as error:
            line = error.line()
            assert "\n" not in line and len(line) < 2000, line
            str(error)  # the long form renders too
            return None


# ---------------------------------------------------------------------------- the Python API


@examples(1500)
@given(text=spec_text(), ctx=context(), extra=st.lists(st.floats(0, 1e7), max_size=5))
def test_generated_specs(text: str, ctx: dict[str, Any], extra: list[float]) -> None:
    schedule = outcome(lambda: parse(text))
    if schedule is None:
        event("RampupError when parsed")
        return
    resolved = outcome(lambda: schedule.resolve(**ctx))
    if resolved is None:
        event("RampupError when resolved")
        return
    event("a schedule, checked")
    check_schedule(resolved, extra)


MUTATION_ALPHABET = [*"()[],=->%.eE+-_ 0123456789", "ep", "tok", "Mtok", "１", "١", "\t", "\n", "é", "\x00"]


@st.composite
def mutated(draw: Any) -> str:
    """A valid-looking spec, then 1-4 edits: insert, delete, duplicate, or swap a number for an odd one."""
    text = draw(spec_text(tame=True))
    for _ in range(draw(st.integers(1, 4))):
        where = draw(st.integers(0, len(text)))
        kind = draw(st.integers(0, 4))
        if kind == 0:
            text = text[:where] + draw(st.sampled_from(MUTATION_ALPHABET)) + text[where:]
        elif kind == 1:
            text = text[:where] + text[where + draw(st.integers(1, 6)) :]
        elif kind == 2:
            size = draw(st.integers(1, 12))
            text = text[:where] + text[where : where + size] * draw(st.integers(2, 5)) + text[where:]
        elif kind == 3:
            digits = [i for i, char in enumerate(text) if char.isdigit()]
            if digits:
                at = draw(st.sampled_from(digits))
                text = text[:at] + draw(odd_text) + text[at + 1 :]
        else:
            text = text + draw(st.sampled_from([" -> ", " -> cosine", "(", ")", " ->", " " * 100]))
    return text


@examples(1500)
@given(text=mutated(), total=st.integers(2000, 20000))
def test_mutated_specs(text: str, total: int) -> None:
    schedule = outcome(lambda: parse(text))
    if schedule is None:
        event("RampupError when parsed")
        return
    resolved = outcome(lambda: schedule.resolve(total))
    event("RampupError when resolved" if resolved is None else "a schedule, checked")
    if resolved is not None:
        check_schedule(resolved)


@examples(400)
@given(value=odd_numbers, where=st.sampled_from(["length", "cycles", "to", "from", "every", "total", "spe", "tps"]))
def test_odd_numbers_through_the_dict_form_and_resolve(value: Any, where: str) -> None:
    phases: list[dict[str, Any]] = [{"curve": "linear", "length": "2ep"}, {"curve": "cosine"}]
    ctx: dict[str, Any] = {"total_steps": 1000, "steps_per_epoch": 10, "tokens_per_step": None}
    if where == "length":
        phases[0]["length"] = value
    elif where in ("cycles", "to"):
        phases[1][where] = value
    elif where == "from":
        phases[0]["from"] = value
    elif where == "every":
        phases[1] = {"curve": "step", "every": value}
    else:
        ctx[{"total": "total_steps", "spe": "steps_per_epoch", "tps": "tokens_per_step"}[where]] = value
    schedule = outcome(lambda: Schedule.from_dict({"phases": phases}))
    if schedule is None:
        event("RampupError when built")
        return
    resolved = outcome(lambda: schedule.resolve(**ctx))
    event("RampupError when resolved" if resolved is None else "a schedule, checked")
    if resolved is not None:
        check_schedule(resolved)


FIXED = [parse(text).resolve(1000) for text in ("linear(5%) -> cosine(to=0.1)", "radam(beta2=0.99) -> step(every=7)")]
OPEN = parse("linear(10) -> inverse-sqrt")


@examples(600)
@given(step=odd_numbers, many=st.lists(odd_numbers, max_size=4))
def test_odd_steps_scalar_and_values(step: Any, many: list[Any]) -> None:
    for schedule in (*FIXED, OPEN):
        one = outcome(lambda schedule=schedule: schedule(step))
        event("RampupError" if one is None else "a value")
        assert one is None or (isinstance(one, float) and math.isfinite(one) and one >= 0)
        boxed = np.empty(1, dtype=object)
        boxed[0] = step  # one element, whatever it is (a list stays one element)
        both = outcome(lambda schedule=schedule, boxed=boxed: schedule.values(boxed))
        assert (one is None) == (both is None), (step, one, both)  # the same rules both ways
        if one is not None:
            assert both[0] == one
        array = outcome(lambda schedule=schedule: schedule.values(many))
        if array is not None:
            assert np.isfinite(array).all() and (array >= 0).all()


@examples(150)
@given(text=spec_text(tame=True), total=st.integers(2000, 3000))
def test_torch_scheduler_follows_the_engine(text: str, total: int) -> None:
    torch = pytest.importorskip("torch")
    from rampup.torch import RampupLR

    schedule = outcome(lambda: as_schedule(text).resolve(total))
    event("RampupError" if schedule is None else "a scheduler, checked")
    if schedule is None:
        return
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.5)
    scheduler = RampupLR(optimizer, schedule)
    for step in range(0, total + 2):
        assert optimizer.param_groups[0]["lr"] == 0.5 * schedule(step)
        optimizer.step()
        scheduler.step()


# ---------------------------------------------------------------------------- the command line


def run_cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    from rampup.cli import main

    code = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        try:
            main(args)
        except SystemExit as stop:
            code = int(stop.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


ODD_FLAG = st.one_of(odd_text, st.sampled_from(["", " ", "x", "1,2", "0,5,10", "-5"]))
#: ordinary values of each flag (a case uses them three times in four, else an odd value)
ORDINARY = {
    "-n": st.integers(2000, 20000).map(str),
    "--peak-lr": st.sampled_from(["3e-4", "1", "0.1", "5e-5"]),
    "--steps-per-epoch": st.sampled_from(["100", "37.5", "1000"]),
    "--tokens-per-step": st.sampled_from(["500000", "4096", "1e6"]),
    "--at": st.lists(st.integers(0, 30000), min_size=1, max_size=5).map(lambda xs: ",".join(map(str, xs))),
    "--every": st.integers(1, 5000).map(str),
    "--dataset-size": st.integers(1, 10**6).map(str),
    "--batch-size": st.integers(1, 512).map(str),
    "--epochs": st.sampled_from(["1", "3", "0.5"]),
    "--beta2": st.sampled_from(["0.999", "0.95", "0.98"]),
    "--betas": st.sampled_from(["0.9,0.999", "0.9,0.95"]),
    "--dpi": st.sampled_from(["72", "100"]),
}
SPEC_ARGS = st.one_of(
    spec_text(tame=True),
    spec_text(tame=True),
    spec_text(tame=True),
    st.sampled_from(["bert", "gpt3", "noam", "wsd", "goyal", "lora", "vit", "llama"]),
    spec_text(tame=False),
    mutated(),
)


@st.composite
def command_line(draw: Any) -> list[str]:
    command = draw(st.sampled_from(["values", "show", "export", "recommend", "plot"]))
    args = [command]
    if command != "recommend":
        args.append(draw(SPEC_ARGS))
    flags = {
        "values": ["-n", "--peak-lr", "--steps-per-epoch", "--tokens-per-step", "--at", "--every", "--format"],
        "show": ["-n", "--peak-lr", "--steps-per-epoch", "--tokens-per-step"],
        "export": ["-n", "--peak-lr", "--steps-per-epoch", "--tokens-per-step", "--to", "--strict"],
        "recommend": ["-n", "--dataset-size", "--batch-size", "--epochs", "--beta2", "--betas", "--regime", "--json"],
        "plot": ["-n", "--peak-lr", "--steps-per-epoch", "--dpi", "--title", "--terminal", "--log-y"],
    }[command]
    chosen = draw(st.lists(st.sampled_from(flags), max_size=5, unique=True))
    if command != "recommend" and draw(st.integers(0, 7)) > 0:  # most runs say how long they are, and
        needs = ["-n"] + (["--steps-per-epoch"] if "ep" in args[1] else [])  # what their lengths need
        needs += ["--tokens-per-step"] if "tok" in args[1] and command != "plot" else []
        needs += ["--to"] if command == "export" else []
        chosen += [flag for flag in needs if flag not in chosen]
    for flag in chosen:
        if flag in ("--strict", "--json", "--terminal", "--log-y"):
            args.append(flag)
        elif flag == "--format":
            args += [flag, draw(st.sampled_from(["table", "json", "csv", "xml"]))]
        elif flag == "--to":
            args += [flag, draw(st.sampled_from(["torch", "hf", "trl", "lightning", "optax", "keras", "tf"]))]
        elif flag == "--regime":
            args += [flag, draw(st.sampled_from(["lora", "full", "pretrain", "x"]))]
        elif flag == "--title":
            args += [flag, draw(st.sampled_from(["ok", "$x$", "$\\frac{1}{0$", "$$", "a$b", "\\$5"]))]
        elif flag in ORDINARY and draw(st.integers(0, 3)) > 0:
            args += [flag, draw(ORDINARY[flag])]
        else:
            args += [flag, draw(ODD_FLAG)]
    if command == "plot" and "--terminal" not in args:
        args.append("--terminal")  # an image per case would take the budget: the PNG path has its own tests
    return args


@examples(700)
@given(args=command_line())
def test_command_lines(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run_cli(args, capsys)
    event(f"{args[0]}: exit {code}")
    assert "Traceback" not in out + err
    if code == 0:
        assert err == "" or args[0] == "plot", err
        assert "nan" not in out.lower().replace("nano", ""), out[-300:]
    else:
        assert code == 2, (code, err)
        assert out == "" and err.count("\n") == 1 and err.startswith("error: "), err[-500:]
        assert len(err) < 2500, len(err)
