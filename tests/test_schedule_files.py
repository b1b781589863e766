"""A schedule file works wherever spec text works (issue 12): values, show, plot, export and inspect.

The file holds the dict form as JSON, YAML (safe loader) or TOML, or spec text; the command line reads
it in one place (``rampup.cli.spec_or_file``, through :func:`rampup.inspect.read_schedule_file`).
"""

from __future__ import annotations

import json
from pathlib import Path

import cli_helpers
import pytest

from rampup import parse

SPEC = "linear(10%) -> cosine(to=0.1)"


def write_forms(folder: Path) -> list[Path]:
    """The same schedule as JSON, YAML, TOML and spec text."""
    data = parse(SPEC).to_dict()
    forms = {
        "s.json": json.dumps(data),
        "s.yaml": "phases:\n  - curve: linear\n    length: 10%\n  - curve: cosine\n    to: 0.1\n",
        "s.toml": '[[phases]]\ncurve = "linear"\nlength = "10%"\n\n[[phases]]\ncurve = "cosine"\nto = 0.1\n',
        "s.txt": f"{SPEC}\n",
    }
    paths = []
    for name, text in forms.items():
        (folder / name).write_text(text, encoding="utf-8")
        paths.append(folder / name)
    return paths


@pytest.mark.parametrize("command", [["values", "-n", "200", "--format", "csv"], ["show", "-n", "200"]])
def test_values_and_show_read_every_form(command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    code, expected, _ = cli_helpers.run_cli(capsys, command[0], SPEC, *command[1:])
    assert code == 0 and expected
    for path in write_forms(tmp_path):
        code, out, err = cli_helpers.run_cli(capsys, command[0], str(path), *command[1:])
        assert (code, out, err) == (0, expected, ""), path.name


def test_export_reads_a_file(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    _, expected, _ = cli_helpers.run_cli(capsys, "export", SPEC, "--to", "megatron", "-n", "1000", "--peak-lr", "3e-4")
    for path in write_forms(tmp_path):
        code, out, _ = cli_helpers.run_cli(
            capsys, "export", str(path), "--to", "megatron", "-n", "1000", "--peak-lr", "3e-4"
        )
        assert code == 0 and out == expected and "--lr-warmup-iters 100" in out


def test_plot_reads_files_next_to_spec_text(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    pytest.importorskip("matplotlib")
    json_file, yaml_file, *_ = write_forms(tmp_path)
    target = tmp_path / "both.png"
    code, out, err = cli_helpers.run_cli(
        capsys, "plot", str(json_file), str(yaml_file), "linear(5%) -> constant", "-n", "100", "-o", str(target)
    )
    assert code == 0 and err == "" and target.stat().st_size > 1000 and str(target) in out


def test_inspect_reads_every_form(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    for path in write_forms(tmp_path):
        code, out, _ = cli_helpers.run_cli(capsys, "inspect", str(path), "-n", "100", "--json")
        assert code == 0 and json.loads(out)["spec"] == "linear(10) -> cosine(90, to=0.1)", path.name


def test_a_preset_name_is_never_a_file(tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bert").write_text("linear(1) -> constant\n", encoding="utf-8")
    _, from_preset, _ = cli_helpers.run_cli(capsys, "show", "bert", "-n", "1000")
    assert "linear(1) -> constant" not in from_preset and "spec:" in from_preset


@pytest.mark.parametrize(
    ("name", "text", "words"),
    [
        ("missing.yaml", None, ["missing.yaml", "an existing schedule file"]),
        ("bad.json", '{"phases": [', ["bad.json", "malformed", "valid JSON"]),
        ("bad.yaml", "!!python/object/apply:os.system ['echo hacked']\n", ["bad.yaml", "malformed"]),
        ("typo.yaml", "phases:\n  - curve: linar\n    length: 10\n", ["typo.yaml", "phase 1", "linar", "curve name"]),
        ("list.json", "[1, 2]", ["list.json", "list", "dict form"]),
        ("spec.txt", "linear(10) -> cosine(to=2)\n", ["spec.txt", "to"]),
    ],
)
@pytest.mark.parametrize("command", [["values", "-n", "100"], ["show"], ["export", "--to", "torch"], ["plot"]])
def test_a_bad_file_is_one_error_naming_it(
    name: str, text: str | None, words: list[str], command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    extra = ["-o", str(tmp_path / "out.png")] if command[0] == "plot" else []
    err = cli_helpers.cli_error(capsys, command[0], str(path), *command[1:], *extra)
    for word in words:
        assert word in err, (word, err)
    assert not (tmp_path / "out.png").exists()  # nothing written
