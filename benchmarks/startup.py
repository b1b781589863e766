"""Start-up time: ``import rampup.torch`` against ``import torch``, a trivial query against ``import numpy``.

Each contender is a fresh interpreter, timed from the outside (start to exit). The
contenders take turns in each round, so that the load of a shared machine falls on
all of them alike; each round's ratio is computed from that round's times, and the
report gives the medians over the rounds (issue 16's goals: <= 1.15x and <= 1.5x).

Every contender reads compiled bytecode, as an installed package does: the children
cache it in a temporary folder (``PYTHONPYCACHEPREFIX``), written in the warm-up run,
even where ``PYTHONDONTWRITEBYTECODE`` is set (else each run of an editable install
compiles rampup's sources again, and only rampup pays for it).

    python benchmarks/startup.py                       # 15 rounds
    python benchmarks/startup.py --old OTHER/src       # also another tree's rampup (e.g. a git worktree)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

QUERY = ["values", "linear(5%) -> cosine", "--total-steps", "1000", "--at", "0"]
#: the console script ``rampup`` runs this (without the wrapper's own few lines)
CLI = "import sys; from rampup.cli import main; sys.exit(main())"


def _contenders(old: str | None, cache: str) -> dict[str, tuple[list[str], dict[str, str]]]:
    python = sys.executable
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache
    found = {
        "import numpy": ([python, "-c", "import numpy"], env),
        "rampup values (query)": ([python, "-c", CLI, *QUERY], env),
        "import torch": ([python, "-c", "import torch"], env),
        "import rampup.torch": ([python, "-c", "import rampup.torch"], env),
    }
    if old is not None:
        old_env = {**env, "PYTHONPATH": os.path.abspath(old)}
        found["old: rampup values (query)"] = ([python, "-c", CLI, *QUERY], old_env)
        found["old: import rampup.torch"] = ([python, "-c", "import rampup.torch"], old_env)
    return found


def _seconds(command: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--old", help="a src folder holding another rampup (its times are shown too)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        contenders = _contenders(args.old, cache)
        for command, env in contenders.values():  # writes the bytecode, warms the file cache; not counted
            _seconds(command, env)
        times: dict[str, list[float]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, (command, env) in contenders.items():
                times[name].append(_seconds(command, env))

    def ratios(name: str, anchor: str) -> float:
        return statistics.median(a / b for a, b in zip(times[name], times[anchor], strict=True))

    print(f"python {sys.version.split()[0]}, {args.rounds} interleaved rounds, medians")
    for name, spent in times.items():
        print(f"  {name:<28} {statistics.median(spent) * 1e3:8.1f} ms")
    torch_ratio = ratios("import rampup.torch", "import torch")
    query_ratio = ratios("rampup values (query)", "import numpy")
    print(f"import rampup.torch / import torch:       {torch_ratio:.2f}x  (goal <= 1.15)")
    print(f"rampup values (query) / import numpy:     {query_ratio:.2f}x  (goal <= 1.5)")
    if args.old is not None:
        print(f"old: import rampup.torch / import torch:  {ratios('old: import rampup.torch', 'import torch'):.2f}x")
        print(f"old: rampup values (query) / numpy:       {ratios('old: rampup values (query)', 'import numpy'):.2f}x")


if __name__ == "__main__":
    main()
