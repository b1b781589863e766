"""Score the instability monitor on stored lab sweeps (issue 11): catch and false-alarm rates over all
tasks and per task, a small grid of thresholds, and a leave-one-task-out choice among them.

    python docs/calibrate_monitor.py --db advice-old.db [--db advice-new.db]

Every number comes from replaying :class:`rampup.monitor.WarmupMonitor` over the stored losses and
gradient norms (:func:`rampup.lab.monitoring.replay`): nothing is trained.
"""

from __future__ import annotations

import argparse
import itertools
from typing import Any

from rampup.lab.monitoring import leave_one_task_out, replay_flags, score_by_task
from rampup.lab.store import Store, TrialRow

GRID: list[dict[str, Any]] = [
    {"stall_factor": factor, "grad_collapse": collapse, "noise_z": z}
    for factor, collapse, z in itertools.product([1.5, 1.0, 2.0], [4.0, 2.5], [6.0, 4.0])
]


def cell(caught: int, failed: int) -> str:
    return f"{caught}/{failed} ({caught / failed:.0%})" if failed else "-"


def table(rows: list[TrialRow], settings: dict[str, Any]) -> list[str]:
    flags = {row.key: replay_flags(row, **settings) for row in rows}
    out = ["| tasks | caught | false alarms | first flags of caught runs |", "|---|---|---|---|"]
    for task, result in score_by_task(rows, flags_of=lambda row: flags[row.key]).items():
        kinds = ", ".join(f"{k} {n}" for k, n in (result.caught_by_kind or {}).items() if n) or "-"
        out.append(
            f"| {task} | {cell(result.caught, result.failed)} | {cell(result.false_alarms, result.good)} | {kinds} |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", required=True, help="a lab database (repeat for more)")
    args = parser.parse_args()
    rows = [row for path in args.db for row in Store(path, readonly=True).rows() if row.grad_norms is not None]
    print("## Defaults\n")
    print("\n".join(table(rows, {})))
    print("\n## Grid (all tasks | per task)\n")
    for settings in GRID:
        flags = {row.key: replay_flags(row, **settings) for row in rows}
        scores = score_by_task(rows, flags_of=lambda row, flags=flags: flags[row.key])
        text = " | ".join(f"{t} {s.caught}/{s.failed}, fa {s.false_alarms}/{s.good}" for t, s in scores.items())
        print(f"- {settings}: {text}")
    print("\n## Leave one task out (chosen on the other tasks, scored on this one)\n")
    print("| left out | chosen | caught | false alarms |\n|---|---|---|---|")
    for task, (settings, result) in leave_one_task_out(rows, GRID).items():
        print(
            f"| {task} | {settings} | {cell(result.caught, result.failed)} | {cell(result.false_alarms, result.good)} |"
        )


if __name__ == "__main__":
    main()
