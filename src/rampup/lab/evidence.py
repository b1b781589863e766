"""The advice checked against a grid of full runs: how far the advisor's and the finder's warmups end from the best.

For every lab task at its high rate, :data:`GRID` (no warmup and linear warmups of 1-50% of the run,
each followed by the task's decay) is trained on :data:`SEEDS`; the *best* grid warmup is the one with
the lowest mean final held-out loss. A candidate (the advisor's schedule, the finder's) is trained on
the same seeds (same initial weights and batches: paired) and judged by

- its **gap**: ``(mean final - best mean final) / best mean final``;
- the seeds it **lost**: where it diverged or ended more than :data:`COLLAPSE` above the best grid
  warmup's run of the same seed, while that run converged.

A diverged or failed trial counts as its initial loss (:func:`rampup.lab.metrics.clamped_final`).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from rampup.lab.metrics import clamped_final
from rampup.lab.result import TrialConfig
from rampup.lab.runner import plan_trials
from rampup.lab.store import TrialRow
from rampup.lab.tasks import get_task
from rampup.schedule import as_schedule

__all__ = [
    "COLLAPSE",
    "GRID",
    "SEEDS",
    "Standing",
    "TaskStandings",
    "grid_trials",
    "labelled_trials",
    "standings",
]

#: the plain warmups every piece of advice is compared with (each followed by the task's decay)
GRID: tuple[str, ...] = (
    "none",
    "linear(1%)",
    "linear(2.5%)",
    "linear(5%)",
    "linear(10%)",
    "linear(25%)",
    "linear(50%)",
)
#: the training seeds of the comparison (initial weights and data order)
SEEDS: tuple[int, ...] = (0, 1, 2)
#: a seed is lost when its final loss is this share above the best grid warmup's run of that seed
COLLAPSE = 0.10


def grid_trials(task: str, lr: float | None = None, seeds: Sequence[int] = SEEDS) -> list[TrialConfig]:
    """The grid and the advisor's warmup at ``lr`` (default: the task's high rate) on ``seeds``."""
    rate = get_task(task).high_lr if lr is None else lr
    return plan_trials(task, [*GRID, "advisor"], [rate], list(seeds))


def labelled_trials(
    task: str, label: str, spec: str, lr: float | None = None, seeds: Sequence[int] = SEEDS
) -> list[TrialConfig]:
    """Trials of a whole schedule ``spec`` under the label ``label`` (the finder's answers), paired with the grid."""
    rate = get_task(task).high_lr if lr is None else lr
    plain = plan_trials(task, ["none"], [rate], list(seeds))
    schedule = str(as_schedule(spec).resolve(total_steps=plain[0].steps))
    return [replace(trial, warmup=label, schedule=schedule) for trial in plain]


@dataclass(frozen=True)
class Standing:
    """One warmup's runs on the seeds: final losses, mean, gap to the best grid warmup, seeds lost."""

    label: str
    schedule: str
    finals: tuple[float, ...]
    diverged: tuple[bool, ...]
    mean: float
    gap: float
    lost: int


@dataclass(frozen=True)
class TaskStandings:
    """Every label's standing at one task and rate, and which grid warmup was best."""

    task: str
    peak_lr: float
    seeds: tuple[int, ...]
    best: str
    by_label: dict[str, Standing]

    def grid(self) -> list[Standing]:
        return [self.by_label[label] for label in GRID if label in self.by_label]


def standings(rows: Iterable[TrialRow], task: str, lr: float, seeds: Sequence[int] = SEEDS) -> TaskStandings:
    """The standings of every label that has all ``seeds`` finished at (``task``, ``lr``)."""
    seeds = tuple(seeds)
    mine: dict[str, dict[int, TrialRow]] = {}
    for row in rows:
        if row.task == task and math.isclose(row.peak_lr, lr) and row.config.monitor is None and row.seed in seeds:
            mine.setdefault(row.warmup, {})[row.seed] = row
    complete = {label: [runs[s] for s in seeds] for label, runs in mine.items() if set(runs) == set(seeds)}
    grid = [label for label in GRID if label in complete]
    if not grid:
        raise ValueError(f"no complete grid warmup for {task} at lr {lr:g}")
    finals = {label: tuple(clamped_final(row) for row in runs) for label, runs in complete.items()}
    means = {label: statistics.fmean(values) for label, values in finals.items()}
    best = min(grid, key=lambda label: means[label])
    best_runs = complete[best]
    table: dict[str, Standing] = {}
    for label, runs in complete.items():
        dead = tuple(row.diverged or row.status == "failed" for row in runs)
        lost = 0
        for index, reference in enumerate(best_runs):
            if reference.diverged or reference.status == "failed":
                continue
            if dead[index] or finals[label][index] > (1 + COLLAPSE) * finals[best][index]:
                lost += 1
        gap = (means[label] - means[best]) / means[best]
        table[label] = Standing(label, runs[0].schedule, finals[label], dead, means[label], gap, lost)
    return TaskStandings(task, lr, seeds, best, table)
