"""Start-up: what ``import rampup``, ``import rampup.torch`` and a trivial query import (issue 16).

Each check runs in a fresh interpreter, since this test process has imported everything already.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

#: what a trivial query must not import: the advisor, the finder, the lab and what they pull in
HEAVY = (
    "rampup.advisor",
    "rampup.finder",
    "rampup.lab",
    "rampup.inspect",
    "rampup.plotting",
    "sqlite3",
    "multiprocessing",
    "concurrent.futures",
    "pydantic",
    "matplotlib",
    "torch",
    "transformers",
)


def _imported(code: str, watched: tuple[str, ...]) -> tuple[list[str], str]:
    """The modules among ``watched`` that running ``code`` imported, and what it printed."""
    program = (
        "import json, sys\n"
        f"{code}\n"
        f"print(json.dumps([name for name in {list(watched)!r} if name in sys.modules]), file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(done.stderr.strip().splitlines()[-1]), done.stdout


def test_a_trivial_query_imports_nothing_heavy() -> None:
    code = "from rampup.cli import main\nmain(['values', 'linear(5%) -> cosine', '--total-steps', '1000', '--at', '0'])"
    heavy, printed = _imported(code, HEAVY)
    assert heavy == []
    assert printed.split() == ["step", "lr", "0", "0"]


@pytest.mark.parametrize("command", ["show", "presets", "export", "export-hf", "export-trl-none"])
def test_the_simple_commands_import_no_lab(command: str) -> None:
    args = {
        "show": ["show", "bert", "-n", "1000"],
        "presets": ["presets"],
        "export": ["export", "bert", "-n", "1000", "--to", "torch"],
        # the built-in is matched by rampup's restatement of transformers' schedulers: no transformers, no torch
        "export-hf": ["export", "linear(5%) -> cosine", "-n", "1000", "--to", "hf"],
        "export-trl-none": ["export", "linear(5%) -> 1-sqrt(30%) -> constant", "-n", "1000", "--to", "trl"],
    }
    heavy, printed = _imported(f"from rampup.cli import main\nmain({args[command]!r})", HEAVY)
    assert heavy == []
    assert printed


def test_import_rampup_is_light_and_the_public_names_still_work() -> None:
    code = "import rampup"
    heavy, _ = _imported(code, HEAVY)
    assert heavy == []
    code = (
        "import rampup\n"
        "from rampup import find_warmup, recommend, WarmupFinding\n"
        "assert rampup.recommend is recommend and callable(find_warmup) and isinstance(WarmupFinding, type)\n"
        "assert {'recommend', 'find_warmup', 'plot'} <= set(dir(rampup))\n"
        "print(recommend(total_steps=1000).warmup_steps > 0)"
    )
    _, printed = _imported(code, ())
    assert printed.strip() == "True"


def test_import_rampup_torch_does_not_import_dynamo() -> None:
    pytest.importorskip("torch")
    heavy, _ = _imported("import rampup.torch", ("torch._dynamo", "sympy", "rampup.advisor", "rampup.finder"))
    assert heavy == []


def test_every_command_is_still_listed() -> None:
    _, printed = _imported("from rampup.cli import main\nmain(['--help'])", ())
    for command in ("values", "show", "presets", "plot", "recommend", "export", "inspect", "demo", "find", "lab"):
        assert f"  {command} " in printed
