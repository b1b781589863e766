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

    python benchmarks/sweep_scaling.py                  # 24 trials of 200 steps, 2 rounds
    python benchmarks/sweep_scaling.py --rounds 3 --seeds 4
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


def child(workers: int, seeds: int, db: str) -> None:
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


def run_one(workers: int, seeds: int) -> dict[str, float]:
    """A sweep in a fresh interpreter, timed from outside; its trials/minute and overhead."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, __file__, "--child", str(workers), "--seeds", str(seeds)]
        command += ["--db", os.path.join(folder, "lab.db")]
        started = time.perf_counter()
        done = subprocess.run(command, check=True, capture_output=True, text=True)
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
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per (warmup, rate): 8 trials per seed")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child, args.seeds, args.db)
        return
    import torch

    print(
        f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs; load average before: {_load()}"
    )
    print(f"mlp sweep: {len(WARMUPS)} warmups x {len(RATES)} rates x {args.seeds} seeds, 200 steps each")
    print("| round | workers | trials/min | mean training s | overhead (all) | one-time start s | per-trial overhead |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    ratios = []
    for round_ in range(1, args.rounds + 1):
        found = {}
        for workers in (1, 2) if round_ % 2 else (2, 1):
            found[workers] = result = run_one(workers, args.seeds)
            print(
                f"| {round_} | {workers} | {result['per_min']:.1f} | {result['mean_train_s']:.2f} | "
                f"{result['overhead']:.0%} | {result['one_time_s']:.1f} | {result['per_trial_overhead']:.1%} |",
                flush=True,
            )
        ratios.append(found[2]["per_min"] / found[1]["per_min"])
    print(
        f"2 workers / 1 worker, trials per minute: {', '.join(f'{r:.2f}x' for r in ratios)} by round; "
        f"median {statistics.median(ratios):.2f}x (goal: at least 1.7x)"
    )
    print(f"load average after: {_load()}")


if __name__ == "__main__":
    main()
