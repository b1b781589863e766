"""Score the instability monitor on stored lab sweeps (issue 11): catch and false-alarm rates over all
tasks and per task, a small grid of thresholds, and a leave-one-task-out choice among them.

    python docs/calibrate_monitor.py --db advice.db [--db more.db] [--every-row]

Scored by default: the issue's grid (:data:`rampup.lab.monitoring.GRID_WARMUPS`) at each task's high
rate; ``--every-row`` scores every stored run (other rates, the advisor's and the finder's warmups),
still judged against the grid's best.

Every number comes from replaying :class:`rampup.monitor.WarmupMonitor` over the stored losses and
gradient norms (:func:`rampup.lab.monitoring.replay`): nothing is trained.
"""

from __future__ import annotations

import argparse
import itertools
from collections.abc import Mapping
from typing import Any

from rampup.lab.monitoring import GRID_WARMUPS, Flags, leave_one_task_out, misses, replay_flags, score_by_task
from rampup.lab.store import Store, TrialRow
from rampup.lab.tasks import TASKS

#: the candidates scored and chosen among (the defaults first); noise_z is left at 6 (4 scored the same)
GRID: list[dict[str, Any]] = [
    {
        "stall_grad": grad,
        "grad_collapse": collapse,
        "stall_factor": factor,
        "stuck_share": stuck,
        "early_jump": jump,
        "grad_blowup": blowup,
    }
    for grad, collapse, factor, stuck, jump, blowup in itertools.product(
        [1.25, 1.5, None], [2.5, 4.0], [1.5, 1.0, 2.0], [0.6, None], [2.0, None], [10.0, 5.0]
    )
]


def cell(caught: int, failed: int) -> str:
    return f"{caught}/{failed} ({caught / failed:.0%})" if failed else "-"


def table(rows: list[TrialRow], flags: Mapping[str, Flags]) -> list[str]:
    out = ["| tasks | caught | false alarms | first flags of caught runs |", "|---|---|---|---|"]
    for task, result in score_by_task(rows, flags_of=lambda row: flags[row.key]).items():
        kinds = ", ".join(f"{k} {n}" for k, n in (result.caught_by_kind or {}).items() if n) or "-"
        out.append(
            f"| {task} | {cell(result.caught, result.failed)} | {cell(result.false_alarms, result.good)} | {kinds} |"
        )
    return out


def miss_table(rows: list[TrialRow], flags: Mapping[str, Flags]) -> list[str]:
    """Every failed run not flagged before its deadline: how far it failed, when it was flagged, when its ramp ended."""
    found = misses(rows, flags_of=lambda row: flags[row.key])
    out = [
        "| task | warmup | seed | final vs best | catch deadline | warmup reaches the peak | first flag |",
        "|---|---|---|---|---|---|---|",
    ]
    for miss in found:
        above = "diverged" if miss.above_best is None else f"+{miss.above_best:.1%}"
        first = "none" if miss.first_flag is None else f"{miss.first_flag} ({miss.first_kind})"
        ramp = f"**{miss.ramp_ends}**" if miss.ramp_after_deadline else str(miss.ramp_ends)
        out.append(f"| {miss.task} | {miss.warmup} | {miss.seed} | {above} | {miss.deadline} | {ramp} | {first} |")
    late = sum(miss.ramp_after_deadline for miss in found)
    out.append(
        f"\n{len(found)} missed; {late} of them (bold) reach the peak rate only at or after the deadline, "
        "so whatever fails at the peak has not happened when they must be flagged."
    )
    return out


def from_warmup_end(rows: list[TrialRow], flags: Mapping[str, Flags]) -> str:
    """The catch rate with the deadline counted from the end of each run's warmup (warmup end + the
    usual min(50, 15%)) instead of from step 0: the misses flagged before that later deadline count too."""
    overall = score_by_task(rows, flags_of=lambda row: flags[row.key])["all"]
    late = [
        miss
        for miss in misses(rows, flags_of=lambda row: flags[row.key])
        if miss.first_flag is not None and miss.first_flag < miss.ramp_ends + miss.deadline
    ]
    caught = overall.caught + len(late)
    named = ", ".join(f"{m.task} {m.warmup} seed {m.seed} at {m.first_flag}" for m in late) or "none"
    return (
        f"Counted from the end of each run's warmup (deadline = warmup end + min(50, 15% of the run)): "
        f"{caught}/{overall.failed} ({caught / overall.failed:.1%}) caught ({named} besides), false alarms unchanged "
        f"{cell(overall.false_alarms, overall.good)}."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", action="append", required=True, help="a lab database (repeat for more)")
    parser.add_argument("--every-row", action="store_true", help="score every stored run, not only the grid")
    args = parser.parse_args()
    rows = [row for path in args.db for row in Store(path, readonly=True).rows() if row.grad_norms is not None]
    if not args.every_row:
        rows = [
            row
            for row in rows
            if row.warmup in GRID_WARMUPS and row.task in TASKS and row.peak_lr == TASKS[row.task].high_lr
        ]
    print("## Defaults\n")
    defaults = {row.key: replay_flags(row) for row in rows}  # the monitor's defaults, replayed once
    print("\n".join(table(rows, defaults)))
    print("\n## The failed runs not caught in time\n")
    print("\n".join(miss_table(rows, defaults)))
    print("\n" + from_warmup_end(rows, defaults))
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
