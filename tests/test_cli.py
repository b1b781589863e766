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


def test_values_peak_defaults_to_the_presets_else_one(capsys: pytest.CaptureFixture[str]) -> None:
    """One rule with `rampup export`: a preset's own peak where --peak-lr is not given (issue 15)."""
    rows = json.loads(run(capsys, "values", "bert", "-n", "100", "--at", "0,5,10,55,100", "--format", "json"))
    assert [row["lr"] for row in rows] == [0.0, 0.5 * 5e-5, 5e-5, 0.5 * 5e-5, 0.0]
    assert "lr=5e-05" in run(capsys, "export", "bert", "-n", "100", "--to", "torch")
    rows = json.loads(run(capsys, "values", "linear(10) -> linear", "-n", "100", "--at", "10,55", "--format", "json"))
    assert [row["lr"] for row in rows] == [1.0, 0.5]  # spec text: multipliers
    rows = json.loads(run(capsys, "values", "bert", "-n", "100", "--at", "10", "--peak-lr", "1", "--format", "json"))
    assert rows[0]["lr"] == 1.0
    assert "(lr 5e-05 at step 10)" in run(capsys, "show", "bert", "-n", "100")


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
        run(
            capsys,
            "values",
            "gpt3",
            "--tokens-per-step",
            "500000",
            "--at",
            "0,375,750",
            "--peak-lr",
            "1",
            "--format",
            "json",
        )
    )
    assert [row["lr"] for row in rows] == [0.0, 0.5, 1.0]  # GPT-3's warmup: 375M tokens = 750 steps


def test_values_open_ended_with_at(capsys: pytest.CaptureFixture[str]) -> None:
    rows = json.loads(run(capsys, "values", "noam", "--at", "4000,16000", "--peak-lr", "1", "--format", "json"))
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


# --------------------------------------------------------------------------- issue 15: what users expect

ZEROS = "1" + "0" * 400


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["values", "linear(5%) -> cosine", "-n", ZEROS], "total_steps"),
        (["show", "linear(5%) -> cosine", "-n", ZEROS], "total_steps"),
        (["values", "linear(5%) -> cosine", "-n", "1000", "--at", ZEROS], "--at"),
        (["recommend", "--total-steps", ZEROS], "--total-steps"),
        (["recommend", "--epochs", "1e308", "--dataset-size", "1000", "--batch-size", "10"], "10**15"),
        (["recommend", "--dataset-size", ZEROS, "--batch-size", "10", "--epochs", "1"], "--dataset-size"),
        (["values", "linear(2ep) -> cosine", "-n", "1000", "--steps-per-epoch", "1e308"], "length"),
        (["values", "linear(2tok) -> cosine", "-n", "1000", "--tokens-per-step", "1e-320"], "length"),
        (["values", "linear(1e308) -> constant(1e308) -> cosine(1e308)", "-n", "10"], "length"),
        (["values", "linear(5) -> cosine(cycles=1e308)", "-n", "1000"], "cycles"),
        (["plot", "linear(5) -> cosine-restarts(period=1, mult=1e308)", "-n", "1000"], "mult"),
        (["plot", "linear(5%) -> cosine", "-n", "100", "--dpi", "100000"], "--dpi"),
        (["plot", "linear(5%) -> cosine", "-n", "100", "--title", "$\\frac{1}{0$"], "--title"),
        (["show", "linear(5%) -> cosine(min=2000)", "-n", "1000"], "at least 2050"),
        (["values", "linear(５)", "-n", "10"], "position 7"),
        (["values", "bert", "-n", "100", "--at", "１"], "--at"),
        (["values", "bert", "-n", "100", "--at", "1_0"], "--at"),
        (["plot", "bert", "-n", "1", "--peak-lr", "5e-324", "--terminal"], "--peak-lr"),  # found by the fuzz suite
        (["plot", "bert", "-n", "1", "--peak-lr", "1.7976931348623157e308", "--terminal"], "--peak-lr"),
        (["plot", "bert", "-n", "100", "--title", "$$"], "--title"),
    ],
)
def test_issue_15_commands_are_one_error_line(capsys: pytest.CaptureFixture[str], args: list[str], words: str) -> None:
    err = fail(capsys, *args)
    assert words in err
    assert len(err) < 400  # a number of 400 digits is not echoed back


def test_show_prints_nothing_before_a_late_error(capsys: pytest.CaptureFixture[str]) -> None:
    fail(capsys, "show", "linear(5%) -> cosine(min=2000)", "-n", "1000")  # fail() checks stdout is empty


def test_a_1_mb_spec_gives_a_short_error_line(capsys: pytest.CaptureFixture[str]) -> None:
    err = fail(capsys, "values", "linear(5) -> " + "x" * 1_000_000 + "(", "-n", "10")
    assert len(err) < 400


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--version") == f"rampup {rampup.__version__}\n"


def test_shell_completion_script_and_answers() -> None:
    # what `rampup --show-completion` prints in bash (named here: the shell it runs under is detected)
    env = {**os.environ, "_RAMPUP_COMPLETE": "source_bash"}
    script = subprocess.run(_console_script(), capture_output=True, text=True, check=False, timeout=60, env=env)
    assert script.returncode == 0 and "_RAMPUP_COMPLETE" in script.stdout
    env = {**os.environ, "_RAMPUP_COMPLETE": "complete_bash", "COMP_WORDS": "rampup va", "COMP_CWORD": "1"}
    answer = subprocess.run(_console_script(), capture_output=True, text=True, check=False, timeout=60, env=env)
    assert answer.stdout.split() == ["values"]


@pytest.mark.parametrize("command", [[], ["lab"], ["values"], ["plot"], ["lab", "run"], ["recommend"], ["export"]])
def test_help_is_whole_and_plain(capsys: pytest.CaptureFixture[str], command: list[str]) -> None:
    try:
        main([*command, "--help"])
    except SystemExit as stop:
        assert stop.code in (0, None)
    out, _ = capsys.readouterr()
    assert "Usage: rampup" in out
    assert "…" not in out  # descriptions are wrapped, never cut
    assert "<" not in out.replace("<warmup>", ""), out  # no <int>, <list[str]> placeholders
    if not command:
        assert "--version" in out and "--install-completion" in out
        assert "peak-lr times the schedule's multiplier" in " ".join(out.split())


def test_demo_out_that_is_a_file_names_out(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    afile = tmp_path / "results.txt"
    afile.write_text("mine")
    err = fail(capsys, "demo", "--out", str(afile))
    assert err.startswith("error: --out:") and "--db" not in err
    assert afile.read_text() == "mine"


def test_export_to_hf_without_transformers(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rampup.hf", None)  # import rampup.hf raises ImportError, as without transformers
    for target in ("hf", "trl"):  # the built-in is matched without transformers: the snippet needs no check
        code = run(capsys, "export", "linear(5%) -> cosine", "-n", "100", "--to", target)
        assert "lr_scheduler_type='cosine'" in code.replace('"', "'") and "--strict" in code
        compile(code, "<export>", "exec")
    err = fail(capsys, "export", "linear(5%) -> cosine", "-n", "100", "--to", "hf", "--strict")
    assert "--strict" in err


@pytest.mark.parametrize("spec", ["constant", "constant(0)"])
def test_a_flat_schedule_on_a_log_axis_in_the_terminal(capsys: pytest.CaptureFixture[str], spec: str) -> None:
    """Found by the fuzz suite: plotext's log axis failed on one flat line ("math domain error")."""
    out = run(capsys, "plot", spec, "-n", "2000", "--log-y", "--terminal", "--no-color")
    assert spec in out
