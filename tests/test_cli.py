"""The command line: `rampup values`, `show` and `presets`, and how it answers bad input."""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import rampup
from rampup.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run the command line in-process; it must succeed and print nothing on stderr."""
    assert main(list(args)) is None
    out, err = capsys.readouterr()
    assert err == ""
    return out


def fail(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """Run it with bad input: exit code 2, nothing on stdout, one `error:` line on stderr."""
    with pytest.raises(SystemExit) as caught:
        main(list(args))
    assert caught.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ")
    assert "Traceback" not in err
    return err


# --------------------------------------------------------------------------- values


def test_values_json_is_peak_times_multiplier(capsys: pytest.CaptureFixture[str]) -> None:
    spec = "linear(5%) -> cosine(to=0.1)"
    out = run(
        capsys,
        "values",
        spec,
        "--total-steps",
        "1000",
        "--peak-lr",
        "3e-4",
        "--at",
        "0,25,50,500,1000,5000",
        "--format",
        "json",
    )
    rows = json.loads(out)
    schedule = rampup.parse(spec).resolve(1000)
    assert [row["step"] for row in rows] == [0, 25, 50, 500, 1000, 5000]
    for row in rows:
        assert set(row) == {"step", "lr"}
        assert row["lr"] == 3e-4 * schedule(row["step"])
    assert rows[2]["lr"] == 3e-4 and rows[-1]["lr"] == pytest.approx(3e-5)


def test_values_peak_defaults_to_one(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "values", "bert", "-n", "100", "--at", "0,5,10,55,100", "--format", "json"))
    assert [row["lr"] for row in rows] == [0.0, 0.5, 1.0, 0.5, 0.0]


def test_values_every_lists_the_steps_to_the_total(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "values", "linear(10) -> cosine", "-n", "100", "--every", "30", "--format", "json"))
    assert [row["step"] for row in rows] == [0, 30, 60, 90, 100]
    default = json.loads(run(capsys, "values", "linear(10) -> cosine", "-n", "100", "--format", "json"))
    assert [row["step"] for row in default] == list(range(0, 101, 5))  # twenty rows by default


def test_values_csv(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(
        capsys,
        "values",
        "linear(2ep) -> cosine",
        "-n",
        "20",
        "--steps-per-epoch",
        "5",
        "--at",
        "0,5,10,20",
        "--format",
        "csv",
    )
    rows = list(csv.reader(io.StringIO(out)))
    assert rows[0] == ["step", "lr"]
    assert [(int(step), float(lr)) for step, lr in rows[1:]] == [(0, 0.0), (5, 0.5), (10, 1.0), (20, 0.0)]


def test_values_table(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "values", "linear(5%) -> cosine(to=0.1)", "-n", "100", "--every", "25")
    lines = out.splitlines()
    assert lines[0].split() == ["step", "lr"]
    table = [line.split() for line in lines[1:]]
    assert [int(step) for step, _ in table] == [0, 25, 50, 75, 100]
    schedule = rampup.parse("linear(5%) -> cosine(to=0.1)").resolve(100)
    for step, lr in table:
        assert float(lr) == pytest.approx(schedule(int(step)), rel=1e-5)  # six significant digits


def test_values_tokens_per_step(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(
        run(capsys, "values", "gpt3", "--tokens-per-step", "500000", "--at", "0,375,750", "--format", "json")
    )
    assert [row["lr"] for row in rows] == [0.0, 0.5, 1.0]  # GPT-3's warmup: 375M tokens = 750 steps


def test_values_open_ended_with_at(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "values", "noam", "--at", "4000,16000", "--format", "json"))
    assert [row["lr"] for row in rows] == [1.0, 0.5]  # 1/sqrt(step): four times the steps, half the rate


# --------------------------------------------------------------------------- show and presets


def test_show(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "show", "wsd", "--total-steps", "1000")
    schedule = rampup.as_schedule("wsd").resolve(1000)
    assert "linear(1%) -> constant -> 1-sqrt(20%)" in out  # the canonical spec
    assert str(schedule) in out  # resolved to steps
    assert "1000 steps" in out
    assert "ends at step 10" in out
    phase_lines = [line.split() for line in out.splitlines() if line.startswith("  ")]
    assert [(words[0], words[2], words[4], words[5]) for words in phase_lines] == [
        ("warmup", "0", "10", "linear(10)"),
        ("decay", "10", "800", "constant(790)"),
        ("decay", "800", "1000", "1-sqrt(200)"),
    ]
    assert schedule.describe() in out


def test_show_canonicalizes_the_spec(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "show", "LINEAR( 100 )->cosine(cycles=0.5, to=0.1)", "-n", "1000")
    assert "spec:      linear(100) -> cosine(to=0.1)" in out
    assert "linear(100) -> cosine(900, to=0.1)" in out


def test_presets(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(capsys, "presets")
    for preset in rampup.PRESETS.values():
        assert f"{preset.name}: {preset.spec}" in out
        assert preset.source in out
    assert "arXiv:1706.03762" in out  # Vaswani et al.


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["values", "bert", "-n", "10", "--bogus"], "--bogus"),  # unknown option
        (["values", "bert", "-n", "abc"], "--total-steps"),  # not an integer
        (["values", "bert", "--steps-per-epoch", "x", "-n", "10"], "steps-per-epoch"),
        (["values", "linear(", "-n", "10"], "position 7"),  # bad spec
        (["values", "foo(10) -> cosine", "-n", "10"], "'foo'"),
        (["values", "bert"], "total_steps"),  # missing total
        (["values", "linear(2ep) -> cosine", "-n", "100"], "steps_per_epoch"),
        (["values", "gpt3"], "tokens_per_step"),
        (["values", "bert", "-n", "10", "--at", "1", "--every", "2"], "not both"),  # --at and --every together
        (["values", "bert", "-n", "10", "--format", "xml"], "one of table, json, csv"),  # bad --format
        (["values", "bert", "-n", "10", "--at", "1,x"], "'x'"),
        (["values", "bert", "-n", "10", "--at", "-1"], "--at"),
        (["values", "bert", "-n", "10", "--every", "0"], "--every"),
        (["values", "bert", "-n", "0"], "total_steps"),
        (["values", "bert", "-n", "10", "--peak-lr", "-1"], "--peak-lr"),
        (["values", "bert", "-n", "10", "--peak-lr", "inf"], "a finite learning rate"),
        (["show", "bert", "-n", "10", "--peak-lr", "-1"], "--peak-lr"),
        (["values", "linear(10) -> inverse-sqrt"], "--at"),  # open-ended: say which steps
        (["values"], "spec"),  # missing argument
        (["show", "linear(60) -> cosine(50)", "-n", "100"], "at least 110"),
        (["nope"], "nope"),  # unknown command
    ],
)
def test_bad_input_is_one_error_line(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    err = fail(capsys, *args)
    assert words in err


# --------------------------------------------------------------------------- the real console script


def _console_script() -> list[str]:
    """The installed `rampup` script next to this Python (where pip put it), else the one on PATH."""
    name = "rampup.exe" if os.name == "nt" else "rampup"
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which("rampup")
    assert found, "the rampup console script is not installed: pip install -e ."
    return [found]


def test_console_script_values() -> None:
    result = subprocess.run(
        [*_console_script(), "values", "linear(10) -> cosine", "-n", "20", "--at", "0,5,10,20", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert [row["lr"] for row in json.loads(result.stdout)] == [0.0, 0.5, 1.0, 0.0]


@pytest.mark.parametrize(
    "args",
    [["values", "linear(5x) -> cosine", "-n", "10"], ["values", "bert", "--total-steps", "ten"]],
)
def test_console_script_bad_input(args: list[str]) -> None:
    result = subprocess.run([*_console_script(), *args], capture_output=True, text=True, check=False, timeout=60)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
