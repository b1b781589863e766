"""``rampup values`` streams its rows (issue 16): the same text as before, block by block.

The oracle is the command as it was before streaming: every row built in memory from the
scalar call, then ``json.dumps``, ``csv.writer`` or the table's format.
"""

from __future__ import annotations

import csv
import io
import json

import pytest

from rampup import cli
from rampup.cli import main
from rampup.schedule import as_schedule

CASES = [
    ("linear(5%) -> cosine", ["-n", "1000"]),
    ("linear(5%) -> cosine(to=0.1)", ["-n", "2001", "--every", "1"]),
    ("linear(5%) -> cosine(to=0.1)", ["-n", "2000", "--every", "3"]),
    ("exponential(100) -> constant -> 1-sqrt(20%)", ["-n", "1311", "--every", "2", "--peak-lr", "3e-4"]),
    ("linear(5ep, from=0.1) -> step(at=[30ep,60ep,80ep], gamma=0.1)", ["--steps-per-epoch", "10", "-n", "900"]),
    ("bert", ["-n", "1000", "--every", "7"]),
    ("noam", ["--at", "0,5,99999,3,1000000000"]),
    ("linear(4000) -> inverse-sqrt", ["--at", "0,10"]),
    ("linear(5%) -> cosine", ["-n", "100", "--peak-lr", "1e30"]),
]


def _before(spec: str, options: list[str], output_format: str) -> str:
    """What ``rampup values`` printed before it streamed (the rows all in memory)."""
    given = dict(zip(options[::2], options[1::2], strict=True))
    total = int(given.get("-n", 0)) or None
    per_epoch = float(given["--steps-per-epoch"]) if "--steps-per-epoch" in given else None
    peak = float(given.get("--peak-lr", "1.0"))
    if spec in ("bert", "noam") and "--peak-lr" not in given:
        from rampup.presets import preset_peak_lr

        peak = preset_peak_lr(spec) or 1.0
    schedule = as_schedule(spec).resolve(total, steps_per_epoch=per_epoch)
    if "--at" in given:
        steps = [int(item) for item in given["--at"].split(",")]
    else:
        every = int(given.get("--every", max(1, schedule.total_steps // 20)))
        steps = [*range(0, schedule.total_steps, every), schedule.total_steps]
    rows = [{"step": step, "lr": peak * schedule(step)} for step in steps]
    if output_format == "json":
        return json.dumps(rows) + "\n"
    if output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["step", "lr"])
        for row in rows:
            writer.writerow([row["step"], repr(row["lr"])])
        return buffer.getvalue()
    width = max(4, *(len(str(row["step"])) for row in rows))
    lines = [f"{'step':>{width}}  lr"] + [f"{row['step']:>{width}}  {row['lr']:.6g}" for row in rows]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
@pytest.mark.parametrize(("spec", "options"), CASES)
def test_the_same_text_as_before(
    spec: str, options: list[str], output_format: str, capsys: pytest.CaptureFixture[str]
) -> None:
    main(["values", spec, *options, "--format", output_format])
    assert capsys.readouterr().out == _before(spec, options, output_format)


@pytest.mark.parametrize("output_format", ["table", "csv", "json"])
def test_many_small_blocks_join_seamlessly(
    output_format: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    options = ["-n", "1000", "--every", "3"]
    main(["values", "linear(5%) -> cosine(to=0.1)", *options, "--format", output_format])
    whole = capsys.readouterr().out
    monkeypatch.setattr(cli, "ROWS_PER_BLOCK", 7)
    main(["values", "linear(5%) -> cosine(to=0.1)", *options, "--format", output_format])
    assert capsys.readouterr().out == whole == _before("linear(5%) -> cosine(to=0.1)", options, output_format)
    if output_format == "json":
        rows = json.loads(whole)
        assert [row["step"] for row in rows] == [*range(0, 1000, 3), 1000]


def test_rows_come_in_blocks_of_bounded_size(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "ROWS_PER_BLOCK", 1000)
    schedule = as_schedule("linear(5%) -> cosine").resolve(10_000_000)
    steps = cli._steps_to_show(schedule, None, 1)
    blocks = cli._step_blocks(schedule, steps, 1.0)
    sizes = [len(rates) for _, (_, rates) in zip(range(3), blocks, strict=False)]
    assert sizes == [1000, 1000, 1000]  # computed lazily: 10M steps are never all in memory


def test_a_non_finite_rate_is_written_as_json_writes_it(capsys: pytest.CaptureFixture[str]) -> None:
    cli._write_rows(iter([([0, 1, 2], [1.5, float("inf"), float("nan")])]), "json", 4)
    text = capsys.readouterr().out
    assert text == '[{"step": 0, "lr": 1.5}, {"step": 1, "lr": Infinity}, {"step": 2, "lr": NaN}]\n'
    assert (
        text
        == json.dumps([{"step": 0, "lr": 1.5}, {"step": 1, "lr": float("inf")}, {"step": 2, "lr": float("nan")}]) + "\n"
    )


def test_a_reader_that_stops_early_ends_it_quietly() -> None:
    """``rampup values ... | head``: no traceback, no error, exit code 0."""
    import subprocess
    import sys

    code = "import sys; from rampup.cli import main; sys.exit(main())"
    args = ["values", "linear(5%) -> cosine", "-n", "5000000", "--every", "1", "--format", "csv"]
    child = subprocess.Popen(
        [sys.executable, "-c", code, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert child.stdout is not None and child.stderr is not None
    assert child.stdout.readline() == "step,lr\n"
    child.stdout.close()
    error = child.stderr.read()
    assert child.wait(timeout=300) == 0
    assert error == ""
