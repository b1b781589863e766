"""Issue 15: every input that gave a traceback, a wrong value or a silently wrong state, one test each.

The command-line cases are in ``test_cli.py`` (one ``error:`` line, exit 2); the generated
cases are in ``test_fuzz.py``; ``docs/reliability.md`` sums both up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from cli_helpers import cli_error

from rampup import RampupError, Schedule, parse
from rampup.durations import MAX_STEPS, Duration

# ---------------------------------------------------------------------------- huge and tiny numbers

ZEROS = 10**400  # "1" and 400 zeros: an int no float can hold


@pytest.mark.parametrize(
    ("call", "field"),
    [
        (lambda: parse("linear(5%) -> cosine").resolve(ZEROS), "total_steps"),
        (lambda: parse("linear(5%) -> cosine").resolve(1000)(ZEROS), "step"),
        (lambda: parse("linear(5%) -> cosine").resolve(1000).values([1, ZEROS]), "steps"),
        (lambda: parse("linear(2ep) -> cosine").resolve(1000, steps_per_epoch=1e308), "phase 1 (linear) length"),
        (lambda: parse("linear(2tok) -> cosine").resolve(1000, tokens_per_step=1e-320), "phase 1 (linear) length"),
        (lambda: parse("linear(1e308) -> constant(1e308) -> cosine(1e308)"), "phase 1 (linear): length"),
        (lambda: parse("linear(5) -> cosine(100, cycles=1e308)"), "phase 2 (cosine): cycles"),
        (lambda: parse("linear(5) -> cosine-restarts(period=1, mult=1e308)"), "phase 2 (cosine-restarts): mult"),
        (lambda: parse("linear(5%) -> cosine").resolve(1000, steps_per_epoch=ZEROS), "steps_per_epoch"),
        (lambda: Duration(ZEROS), "duration"),
        (lambda: Schedule.from_dict({"phases": [{"curve": "linear", "length": ZEROS}]}), "phase 1 (linear): length"),
        (lambda: parse("untuned-linear(beta2=0.9999999999999999) -> cosine"), "phase 1 (untuned-linear) length"),
        (lambda: parse(" -> ".join(["constant(1000000000000000)"] * 3)), "phases"),
    ],
    ids=[
        "total 1e400",
        "step 1e400",
        "values 1e400",
        "epochs overflow",
        "tokens overflow",
        "lengths 1e308",
        "cycles 1e308",
        "mult 1e308",
        "steps per epoch 1e400",
        "duration 1e400",
        "dict length 1e400",
        "derived length 1.8e16",
        "sum of lengths",
    ],
)
def test_huge_numbers_are_one_rampup_error(call: object, field: str) -> None:
    with pytest.raises(RampupError) as caught:
        call()  # type: ignore[operator]
    assert caught.value.field.startswith(field), caught.value.line()
    assert len(caught.value.line()) < 400  # an integer of 400 digits is not echoed


def test_restarts_with_a_huge_mult_gave_nan_now_refused_and_large_mults_stay_finite() -> None:
    with pytest.raises(RampupError, match="mult"):
        parse("linear(5) -> cosine-restarts(period=1, mult=1e308)")
    for mult in (1e15, 1e6, 1.0000001):
        schedule = parse(f"linear(5) -> cosine-restarts(period=1, mult={mult})").resolve(1000)
        values = schedule.values(np.arange(1001))
        assert np.isfinite(values).all() and (values >= 0).all()
        assert values[-1] == schedule(1000)


def test_steps_up_to_the_bound_are_evaluated_and_beyond_it_refused() -> None:
    schedule = parse("linear(10) -> inverse-sqrt")
    assert 0 < schedule(MAX_STEPS) < 1e-3
    assert schedule.values([MAX_STEPS])[0] == schedule(MAX_STEPS)
    with pytest.raises(RampupError, match="at most 10"):
        schedule(MAX_STEPS + 1)


# ---------------------------------------------------------------------------- values() and the scalar call


@pytest.mark.parametrize(
    "steps",
    [["1", "2"], np.array(["2020-01-01"], dtype="datetime64[D]"), np.array([1 + 0j]), np.array([True]), "3", [None]],
    ids=["strings", "datetime64", "complex", "bool", "a string", "None in a list"],
)
def test_values_refuses_what_the_scalar_call_refuses(steps: object) -> None:
    schedule = parse("linear(5%) -> cosine").resolve(1000)
    with pytest.raises(RampupError, match="steps"):
        schedule.values(steps)  # type: ignore[arg-type]


def test_values_of_none_names_none_not_nan() -> None:
    with pytest.raises(RampupError) as caught:
        parse("linear(5%) -> cosine").resolve(1000).values(None)  # type: ignore[arg-type]
    assert "got None" in caught.value.line()


def test_values_accepts_python_ints_and_numpy_scalars_like_the_scalar_call() -> None:
    schedule = parse("linear(5%) -> cosine").resolve(1000)
    steps = [0, 7, np.int64(50), np.float32(100.5), 2**40]
    assert schedule.values(steps).tolist() == [schedule(step) for step in steps]


SCALAR_VERSUS_VALUES = [
    "step(every=3)",
    "linear(7) -> step(every=3, gamma=0.3)",
    "exponential(13, rate=3.3) -> exponential(gamma=0.97)",
    "polynomial(11, power=2) -> polynomial(power=0.5)",
    "polynomial(11, power=2.7) -> polynomial(power=0.37)",
    "linear(3) -> cosine(cycles=1.7, exponent=1.3)",
    "cosine(9) -> cosine-restarts(period=7, mult=1.7, decay=0.77)",
    "untuned-exponential(beta2=0.99) -> inverse-sqrt",
    "radam(beta2=0.99) -> 1-sqrt",
    "1-sqrt(13) -> exponential(to=0.013)",
    "linear(7) -> exponential(gamma=0.9, every=3, staircase=true)",
    "linear(5) -> cosine-restarts(cycles=3.3, decay=0.5)",
]


@pytest.mark.parametrize("text", SCALAR_VERSUS_VALUES)
def test_values_equal_the_scalar_call_to_the_last_bit(text: str) -> None:
    schedule = parse(text).resolve(997)
    steps = np.concatenate([np.arange(1100.0), np.linspace(0, 1100, 3331)])
    vector = schedule.values(steps)
    scalar = np.array([schedule(step) for step in steps])
    different = steps[vector != scalar]
    assert different.size == 0, f"{text}: at steps {different[:5]} values() {vector[vector != scalar][:5]}"


def test_step_every_3_at_step_6_is_the_same_number_both_ways() -> None:
    schedule = parse("step(every=3)")
    assert schedule(6) == schedule.values([6])[0]
    assert isinstance(schedule(6), float)


# ---------------------------------------------------------------------------- validation when resolved


def test_a_min_longer_than_the_run_fails_at_resolve_not_when_evaluated() -> None:
    with pytest.raises(RampupError) as caught:
        parse("linear(5%) -> cosine(min=2000)").resolve(total_steps=1000)
    assert caught.value.field == "total_steps" and "min" in caught.value.expected


def test_a_min_above_the_max_once_resolved_is_refused() -> None:
    with pytest.raises(RampupError) as caught:
        parse("linear(5%, min=100, max=1%) -> cosine").resolve(total_steps=1000)
    assert caught.value.field == "phase 1 (linear): min"
    assert "1% = 10 steps" in caught.value.line()


def test_resolve_compiles_what_it_returns() -> None:
    resolved = parse("linear(5%, min=20) -> cosine(min=100)").resolve(total_steps=1000)
    assert str(resolved) == "linear(50) -> cosine(950)"
    assert resolved(1000) == 0.0


# ---------------------------------------------------------------------------- text


@pytest.mark.parametrize("text", ["linear(５)", "linear(١٠)", "linear(10) -> cosine(cycles=０.５)", "linear(1_0)"])
def test_non_ascii_digits_are_not_numbers(text: str) -> None:
    with pytest.raises(RampupError):
        parse(text)


@pytest.mark.parametrize("value", ["５", "nan", "inf", "1_0", " 1e999"])
def test_dict_form_numbers_are_ascii_and_finite(value: str) -> None:
    with pytest.raises(RampupError):
        Schedule.from_dict({"phases": [{"curve": "linear", "length": 10}, {"curve": "cosine", "cycles": value}]})


def test_a_1_mb_spec_gives_a_short_error_around_the_position() -> None:
    text = "linear(5) -> " + "cosine" * 200_000 + " ?"
    with pytest.raises(RampupError) as caught:
        parse(text)
    error = caught.value
    assert error.position == len(text) - 1
    assert len(error.line()) < 300 and len(str(error)) < 500
    shown, caret = str(error).split("\n")[-2:]
    assert shown.endswith("cosine ?") and caret.index("^") == shown.index("?")


def test_short_specs_are_still_shown_whole() -> None:
    with pytest.raises(RampupError) as caught:
        parse("linear(10) -> foo(5)")
    assert str(caught.value).split("\n")[1] == "    linear(10) -> foo(5)"


def test_a_huge_value_shows_short() -> None:
    error = RampupError("steps", 10**5000, "a number")
    assert "an integer of about 5001 digits" in error.line()
    assert len(RampupError("spec", " " * 1_000_000, "text").line()) < 200


def test_negative_zero_and_subnormals_are_ordinary_numbers() -> None:
    schedule = parse("linear(10, from=-0.0) -> exponential(to=5e-324)").resolve(100)
    assert str(schedule) == "linear(10) -> exponential(90, to=5e-324)"
    values = schedule.values(np.arange(101))
    assert np.isfinite(values).all() and (values >= 0).all() and values[-1] == 5e-324


# ---------------------------------------------------------------------------- giant steps in the frameworks


def test_optax_phases_of_2_to_the_31_steps_and_more() -> None:
    """optax's own test_with_giant_int_steps: cosine over 1e10 steps at step 1e9."""
    pytest.importorskip("optax")
    import rampup.optax

    schedule = rampup.optax.schedule("cosine(10000000000)", peak_lr=1.0)
    assert float(schedule(1_000_000_000)) == pytest.approx(0.97553, abs=1e-5)
    assert math.isfinite(float(rampup.optax.schedule("linear(3000000000) -> constant")(2_999_999_999)))


def test_keras_phases_of_2_to_the_31_steps_and_more() -> None:
    keras_door = pytest.importorskip("rampup.keras")
    schedule = keras_door.RampupSchedule("cosine(10000000000)", peak_lr=1.0)
    assert float(schedule(1_000_000_000)) == pytest.approx(0.97553, abs=1e-5)


# ---------------------------------------------------------------------------- RampupLR checkpoints


def _scheduler(groups: int = 1) -> object:
    torch = pytest.importorskip("torch")
    from rampup.torch import RampupLR

    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    optimizer = torch.optim.SGD([{"params": [param]} for param in params], lr=0.1)
    return RampupLR(optimizer, "linear(5%) -> cosine", total_steps=1000)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"format": 99}, "format"),
        ({"step_count": "x"}, "step_count"),
        ({"step_count": -3}, "step_count"),
        ({"total_steps": "1000"}, "total_steps"),
        ({"schedule": 5}, "schedule"),
    ],
    ids=["format 99", "step_count text", "step_count negative", "total_steps text", "schedule not text"],
)
def test_a_tampered_checkpoint_is_refused_by_name(change: dict[str, object], field: str) -> None:
    scheduler = _scheduler()
    state = {**scheduler.state_dict(), **change}  # type: ignore[attr-defined]
    with pytest.raises(RampupError) as caught:
        scheduler.load_state_dict(state)  # type: ignore[attr-defined]
    line = caught.value.line()
    assert field in caught.value.field, line
    got, _, expected = line.partition(", expected ")
    assert got.split("got ", 1)[1] not in expected  # never "got 1000, expected 1000"


def test_a_good_checkpoint_still_loads() -> None:
    scheduler = _scheduler()
    for _ in range(7):
        scheduler.optimizer.step()  # type: ignore[attr-defined]
        scheduler.step()  # type: ignore[attr-defined]
    state = scheduler.state_dict()  # type: ignore[attr-defined]
    fresh = _scheduler()
    fresh.load_state_dict(state)  # type: ignore[attr-defined]
    assert fresh.get_last_lr() == scheduler.get_last_lr()  # type: ignore[attr-defined]
    assert fresh._step_count == state["step_count"]  # type: ignore[attr-defined]


def test_get_last_lr_after_add_param_group_says_the_group_has_no_peak() -> None:
    torch = pytest.importorskip("torch")
    scheduler = _scheduler()
    scheduler.optimizer.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.5})  # type: ignore[attr-defined]
    for call in (scheduler.get_last_lr, scheduler.get_lr, scheduler.step):  # type: ignore[attr-defined]
        with pytest.raises(RampupError, match="2 groups"):
            call()


# ---------------------------------------------------------------------------- lab databases


def _cli_error(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    return cli_error(capsys, *args)


def _someone_elses_database(path: object) -> None:
    """An SQLite file of another program with its own ``trials`` table (as an Optuna study has)."""
    import sqlite3

    db = sqlite3.connect(str(path))
    db.execute("CREATE TABLE studies (study_id INTEGER PRIMARY KEY, study_name TEXT)")
    db.execute("CREATE TABLE trials (trial_id INTEGER PRIMARY KEY, number INTEGER, study_id INTEGER, state TEXT)")
    db.executemany("INSERT INTO trials VALUES (?, ?, 1, 'COMPLETE')", [(i, i) for i in range(50)])
    db.commit()
    db.close()


LAB_RUN = ["lab", "run", "--task", "mlp", "--warmup", "none", "--lr", "0.1", "--steps", "10", "--workers", "1"]


@pytest.mark.parametrize("marked", [False, True], ids=["tables of its own", "its own application id"])
def test_someone_elses_database_is_refused_without_a_byte_written(
    tmp_path: object, capsys: pytest.CaptureFixture[str], marked: bool
) -> None:
    import sqlite3
    from pathlib import Path

    pytest.importorskip("torch")
    path = Path(str(tmp_path)) / "study.db"
    _someone_elses_database(path)
    if marked:
        db = sqlite3.connect(path)
        db.execute("PRAGMA application_id = 1234")
        db.execute("DROP TABLE studies")
        db.commit()
        db.close()
    before = path.read_bytes()
    err = _cli_error(capsys, *LAB_RUN, "--db", str(path), "--quiet")
    assert "--db" in err and "another program" in err
    assert path.read_bytes() == before
    err = _cli_error(capsys, "lab", "report", "--db", str(path), "--out", str(tmp_path) + "/report")
    assert "another program" in err
    assert path.read_bytes() == before
    assert sorted(p.name for p in Path(str(tmp_path)).iterdir()) == ["study.db"]  # no journal left either


def test_a_text_file_is_not_a_database(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    pytest.importorskip("torch")
    path = Path(str(tmp_path)) / "notes.db"
    path.write_text("my notes\n" * 50)
    err = _cli_error(capsys, *LAB_RUN, "--db", str(path), "--quiet")
    assert "not a SQLite database" in err and path.read_text() == "my notes\n" * 50


def test_a_rampup_database_from_before_the_marker_is_adopted(tmp_path: object) -> None:
    import sqlite3
    from pathlib import Path

    from rampup.lab.store import _ADDED, _SCHEMA, APPLICATION_ID, Store

    path = Path(str(tmp_path)) / "old.db"
    schema = _SCHEMA
    for name, kind in _ADDED:  # the first release's table: without the columns added since
        schema = schema.replace(f",\n    {name} {kind}", "")
    db = sqlite3.connect(path)
    db.execute(schema)
    db.commit()
    db.close()
    with Store(path, readonly=True) as store:
        assert store.rows() == []
    with Store(path) as store:
        assert store.rows() == []
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert {row[1] for row in db.execute("PRAGMA table_info(trials)")} >= {name for name, _ in _ADDED}
    db.close()


def test_a_damaged_database_is_one_error_line(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3
    from pathlib import Path

    from rampup.lab.store import Store

    pytest.importorskip("torch")
    path = Path(str(tmp_path)) / "lab.db"
    Store(path).close()
    db = sqlite3.connect(path)  # fill a few dozen pages, then scribble over the middle of the file
    db.executemany(
        "INSERT INTO trials (key, task, warmup, schedule, peak_lr, seed, steps, status, diverged, config, "
        "finished_at) VALUES (?, 't', 'w', 's', 0.1, 0, 5, 'ok', 0, '{}', 'now')",
        [(f"k{i}" * 40,) for i in range(400)],
    )
    db.commit()
    db.close()
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle : middle + 3000] = bytes((i * 37 + 11) % 256 for i in range(3000))
    path.write_bytes(bytes(data))
    report = ["lab", "report", "--db", str(path), "--out", str(Path(str(tmp_path)) / "report")]
    for args in ([*LAB_RUN, "--db", str(path), "--quiet"], report):
        err = _cli_error(capsys, *args)
        assert "--db" in err and "intact" in err
