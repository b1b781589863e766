"""Sweep throughput: the ``mlp`` sweep on 1 worker against 2 workers, and what a trial costs beyond its training.

Each sweep runs in a fresh interpreter (``rampup lab run``'s code path: ``run_sweep`` with the local
backend, a new database), timed from the outside, start to exit, so both contenders pay for starting
Python and importing PyTorch: 1 worker runs the trials in its own process, 2 workers spawn two
processes that each import once and run many trials. The contenders take turns in each round; a
round's ratio is computed from that round's times and the report gives the median over the rounds.

Overhead: every trial measures its own time (``wall_s``: building the data and model, the training
loop and the evaluations). Over a sweep of W workers that took T seconds end to end, the workers had
``W * T`` seconds, of which the trials used ``sum(wall_s)``; the rest, per trial, is what running a
trial inside the sweep cost beyond its training (start-up of the interpreter and the workers, imports,
dispatch, recording). It is reported as a share of the mean training time, whole and split into the
one-time start (until the first result, less that trial's own time) and the per-trial remainder.

The machine must be idle for the 2-worker figure to mean anything (on 2 cores, one busy process of
someone else's halves it). Before each sweep a probe times a fixed CPU loop in one process and in two
at once: the ``contention`` column is the two-process time over the one-process time (1.0: both cores
free; 2.0: only one free). Rounds whose contention is above 1.2 are shown but not counted.

    python benchmarks/sweep_scaling.py                  # 24 trials of 200 steps, 3 rounds
    python benchmarks/sweep_scaling.py --rounds 5 --seeds 4
    python benchmarks/sweep_scaling.py --old OTHER/src  # also another tree's rampup (e.g. a git worktree)
    python benchmarks/sweep_scaling.py --ray            # and a sweep on a local Ray instance (2 in flight)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

WARMUPS = ["none", "linear(5%)", "linear(10%)", "linear(20%)"]
RATES = [0.1, 0.4]


def child(workers: int, seeds: int, db: str, backend: str) -> None:
    """One sweep in this fresh process; prints its timings as JSON."""
    from rampup.lab import Store, plan_trials, run_sweep

    finished: list[tuple[float, float]] = []  # (when a result arrived, that trial's own time)
    start = time.perf_counter()
    trials = plan_trials("mlp", WARMUPS, RATES, seeds)
    summary = run_sweep(
        trials,
        db,
        workers=workers,
        progress=False,
        on_result=lambda result: finished.append((time.perf_counter(), result.wall_s)),
        **({} if backend == "local" else {"backend": backend}),  # (an --old tree may have no backends)
    )
    with Store(db, readonly=True) as store:
        rows = store.rows()
    print(
        json.dumps(
            {
                "trials": summary.ran,
                "ok": summary.ok,
                "train_s": [row.wall_s for row in rows],
                "sweep_s": time.perf_counter() - start,
                "first_result_s": finished[0][0] - start,
                "first_train_s": finished[0][1],
            }
        )
    )


def _load() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _spin(_: int = 0) -> float:
    start = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i
    return time.perf_counter() - start


def contention() -> float:
    """Two CPU loops at once over one alone (1.0: two free cores)."""
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_spin, [0, 1]))  # the processes are up
        alone = min(pool.submit(_spin).result() for _ in range(3))
        together = min(max(pool.map(_spin, [0, 1])) for _ in range(3))
    return together / alone


def run_one(workers: int, seeds: int, src: str | None = None, backend: str = "local") -> dict[str, float]:
    """A sweep in a fresh interpreter (with rampup from ``src`` if given), timed from outside."""
    env = dict(os.environ)
    if src is not None:
        env["PYTHONPATH"] = os.path.abspath(src)
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, "--child", str(workers), "--seeds", str(seeds), "--backend", backend]
        command += ["--db", os.path.join(folder, "lab.db")]
        started = time.perf_counter()
        done = subprocess.run(command, check=False, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"the sweep failed: {done.stderr}")
        total = time.perf_counter() - started
    data = json.loads(done.stdout.strip().splitlines()[-1])
    if data["ok"] != data["trials"]:
        raise SystemExit(f"not every trial finished ok: {data}")
    train = data["train_s"]
    trials = len(train)
    mean_train = statistics.fmean(train)
    overhead = (workers * total - sum(train)) / trials
    # the one-time start: from launch until the first result arrived, less that trial's own time
    one_time = (total - data["sweep_s"]) + data["first_result_s"] - data["first_train_s"]
    per_trial = (workers * total - sum(train) - workers * one_time) / trials
    return {
        "workers": workers,
        "trials": trials,
        "total_s": total,
        "per_min": 60 * trials / total,
        "mean_train_s": mean_train,
        "overhead": overhead / mean_train,
        "one_time_s": one_time,
        "per_trial_overhead": per_trial / mean_train,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per (warmup, rate): 8 trials per seed")
    parser.add_argument("--old", help="a src folder holding another rampup (its sweeps are timed too)")
    parser.add_argument("--ray", action="store_true", help="also a sweep on a local Ray instance, 2 in flight")
    parser.add_argument("--backend", default="local", help=argparse.SUPPRESS)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.seeds, args.db, args.backend)
        return
    import torch

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average before: {_load()}"
    )
    print(f"mlp sweep: {len(WARMUPS)} warmups x {len(RATES)} rates x {args.seeds} seeds, 200 steps each")
    print(
        "| round | rampup | workers | contention | trials/min | mean training s | overhead (all) "
        "| one-time start s | per-trial overhead |"
    )
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    trees: list[tuple[str, str | None]] = [("this", None)] + ([("old", args.old)] if args.old else [])
    ratios: dict[str, list[float]] = {name: [] for name, _ in trees}
    for round_ in range(1, args.rounds + 1):
        for name, src in trees:
            found = {}
            quiet = True
            for workers in (1, 2) if round_ % 2 else (2, 1):
                busy = contention()
                quiet = quiet and busy <= 1.2
                found[workers] = result = run_one(workers, args.seeds, src)
                print(
                    f"| {round_} | {name} | {workers} | {busy:.2f} | {result['per_min']:.1f} | "
                    f"{result['mean_train_s']:.2f} | {result['overhead']:.0%} | {result['one_time_s']:.1f} | "
                    f"{result['per_trial_overhead']:.1%} |",
                    flush=True,
                )
            if quiet:
                ratios[name].append(found[2]["per_min"] / found[1]["per_min"])
        if args.ray:  # (not in the ratio: it includes starting Ray, and Ray's own processes share the cores)
            busy = contention()
            result = run_one(2, args.seeds, backend="ray")
            print(
                f"| {round_} | this, ray | 2 | {busy:.2f} | {result['per_min']:.1f} | {result['mean_train_s']:.2f} | "
                f"{result['overhead']:.0%} | {result['one_time_s']:.1f} | {result['per_trial_overhead']:.1%} |",
                flush=True,
            )
    for name, found_ratios in ratios.items():
        shown = ", ".join(f"{r:.2f}x" for r in found_ratios) or "none (every round had contention above 1.2)"
        middle = f"; median {statistics.median(found_ratios):.2f}x" if found_ratios else ""
        print(f"{name}: 2 workers / 1 worker, trials per minute, quiet rounds: {shown}{middle} (goal: at least 1.7x)")
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
