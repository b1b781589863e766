"""Running the command line inside a test: its exit code and output, and the one-line error of bad input."""

from __future__ import annotations

import pytest

from rampup.cli import main


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``rampup ARGV`` in this process: (exit code, stdout, stderr)."""
    try:
        main(list(argv))
        code = 0
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def cli_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """``rampup ARGV`` with bad input: exit code 2, nothing on stdout, one ``error:`` line on stderr (returned)."""
    code, out, err = run_cli(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == ""
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("error: ") and "Traceback" not in err, err
    return err
