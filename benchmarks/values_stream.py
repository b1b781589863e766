"""``rampup values ... --every 1`` over a long run: time and peak memory, against another tree's rampup.

Runs the command line in a child process, its output to /dev/null, and reads the child's
own peak resident memory (``os.wait4``'s ``ru_maxrss``) and wall time. With ``--old``
(a ``src`` folder holding another rampup, e.g. a ``git worktree`` of the commit before
streaming) the old and the new take turns in each round; the ratio of each round's times
is reported, with the medians (issue 16's goals: peak <= 300 MB, >= 5x faster).

    python benchmarks/values_stream.py --old OTHER/src                 # 20M steps, csv, 1 round
    python benchmarks/values_stream.py --steps 2000000 --rounds 3 --format json
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

CLI = "import sys; from rampup.cli import main; sys.exit(main())"


def _run(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds and peak resident MB of one child."""
    with open(os.devnull, "w") as sink:
        start = time.perf_counter()
        child = subprocess.Popen([sys.executable, "-c", CLI, *args], stdout=sink, env=env)
        _, status, usage = os.wait4(child.pid, 0)
        seconds = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode != 0:
        raise SystemExit(f"exit code {child.returncode}: {args}")
    return seconds, usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20_000_000)
    parser.add_argument("--format", default="csv", choices=["csv", "json", "table"])
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--old", help="a src folder holding another rampup")
    args = parser.parse_args()
    query = ["values", "linear(5%) -> cosine", "--total-steps", str(args.steps), "--every", "1"]
    query += ["--format", args.format]
    with tempfile.TemporaryDirectory() as cache:
        env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = cache  # bytecode, as installed (see benchmarks/startup.py)
        contenders = {"now": env}
        if args.old is not None:
            contenders["old"] = {**env, "PYTHONPATH": os.path.abspath(args.old)}
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in contenders}
        for _ in range(args.rounds):
            for name, child_env in contenders.items():
                results[name].append(_run(query, child_env))
    print(f"rampup {' '.join(query)} > /dev/null  ({args.rounds} round(s), medians)")
    for name, runs in results.items():
        seconds = statistics.median(run[0] for run in runs)
        peak = statistics.median(run[1] for run in runs)
        print(f"  {name:<4} {seconds:8.2f} s   peak {peak:8.1f} MB")
    if args.old is not None:
        ratios = [old[0] / now[0] for old, now in zip(results["old"], results["now"], strict=True)]
        print(f"old / now time: {statistics.median(ratios):.1f}x  (goal >= 5)")


if __name__ == "__main__":
    main()
