"""``rampup find --task``: the warmup finder on a lab task, and its check against a grid sweep.

The check trains the finder's schedule and a grid of plain warmups (:data:`GRID`) at the same rate on
the same seeds (a lab sweep: parallel, resumable, in the database), then compares final held-out
losses: the finder's mean against the best grid warmup's mean (:data:`WITHIN`, relative), and seed by
seed whether the finder's run diverged where the best grid warmup's converged.
"""

from __future__ import annotations

import math
import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from rampup.lab.evidence import GRID as EVIDENCE_GRID
from rampup.lab.evidence import labelled_trials
from rampup.lab.metrics import clamped_final
from rampup.lab.runner import SweepSummary, plan_trials, run_sweep
from rampup.lab.store import Store, TrialRow

__all__ = ["GRID", "WITHIN", "GridCheck", "check_against_grid", "find_for_task"]

if TYPE_CHECKING:
    from rampup.finder import WarmupFinding

#: the plain warmups the finder is checked against (each followed by the task's decay)
GRID = EVIDENCE_GRID
#: the finder passes when its mean final loss is within this share of the best grid warmup's
WITHIN = 0.02
#: the label of the finder's schedule in the sweep
FINDER = "finder"


@dataclass(frozen=True)
class GridCheck:
    """The sweep's rows per warmup, the best grid warmup, and the finder's standing against it."""

    task: str
    peak_lr: float
    finder_spec: str
    seeds: tuple[int, ...]
    finals: dict[str, tuple[float, ...]]
    diverged: dict[str, tuple[bool, ...]]
    schedules: dict[str, str]
    best: str
    relative_gap: float
    diverged_where_best_converged: int
    summary: SweepSummary

    @property
    def passed(self) -> bool:
        return self.relative_gap <= WITHIN and self.diverged_where_best_converged == 0

    def table(self) -> str:
        """A Markdown table: one row per warmup, its schedule, every seed's final loss and the mean."""
        head = "| warmup | schedule | " + " | ".join(f"seed {s}" for s in self.seeds) + " | mean |"
        lines = [head, "|" + "---|" * (len(self.seeds) + 3)]
        for label, finals in self.finals.items():
            cells = [
                f"{value:.3f}{'*' if dead else ''}" for value, dead in zip(finals, self.diverged[label], strict=True)
            ]
            mean = statistics.fmean(finals)
            mark = " (best grid)" if label == self.best else ""
            lines.append(f"| {label}{mark} | {self.schedules[label]} | " + " | ".join(cells) + f" | {mean:.3f} |")
        return "\n".join(lines)

    def verdict(self) -> str:
        word = "within" if self.relative_gap <= WITHIN else "NOT within"
        return (
            f"{self.task} at lr {self.peak_lr:g}: the finder's warmup ended {self.relative_gap:+.1%} from the best "
            f"grid warmup ({self.best}), {word} {WITHIN:.0%}; it diverged on "
            f"{self.diverged_where_best_converged} seed(s) "
            f"where the best one converged"
        )


def _by_label(
    rows: Sequence[TrialRow], seeds: Sequence[int]
) -> tuple[dict[str, tuple[float, ...]], dict[str, tuple[bool, ...]], dict[str, str]]:
    finals: dict[str, tuple[float, ...]] = {}
    diverged: dict[str, tuple[bool, ...]] = {}
    schedules: dict[str, str] = {}
    labels = dict.fromkeys(row.warmup for row in rows)
    order = {label: index for index, label in enumerate(GRID)}
    for label in sorted(labels, key=lambda name: (name == FINDER, order.get(name, len(order)), name)):
        mine = {row.seed: row for row in rows if row.warmup == label}
        if set(mine) != set(seeds):
            continue  # unfinished (a failed trial): left out of the comparison
        ordered = [mine[seed] for seed in seeds]
        finals[label] = tuple(clamped_final(row) for row in ordered)
        diverged[label] = tuple(row.diverged or row.status == "failed" for row in ordered)
        schedules[label] = ordered[0].schedule
    return finals, diverged, schedules


def check_against_grid(
    task: str,
    finder_spec: str,
    lr: float,
    *,
    seeds: int = 3,
    db: str | os.PathLike[str] = "rampup-lab.db",
    workers: int | None = None,
    progress: bool = True,
    grid: Sequence[str] = GRID,
) -> GridCheck:
    """Train the finder's schedule and the grid at ``lr`` on ``seeds`` seeds (resumable in ``db``) and compare."""
    trials = plan_trials(task, list(grid), [lr], seeds)
    # the task's "none" trials (same seeds, data, model), relabelled and given the finder's whole schedule
    finder_trials = labelled_trials(task, FINDER, finder_spec, lr, range(seeds))
    summary = run_sweep([*trials, *finder_trials], db, workers=workers, progress=progress)
    with Store(db) as store:
        rows = store.rows(keys=summary.keys)
    seed_list = tuple(range(seeds))
    finals, diverged, schedules = _by_label(rows, seed_list)
    grid_labels = [label for label in finals if label != FINDER]
    best = min(grid_labels, key=lambda label: statistics.fmean(finals[label]))
    if FINDER in finals:
        finder_mean = statistics.fmean(finals[FINDER])
        best_mean = statistics.fmean(finals[best])
        gap = (finder_mean - best_mean) / best_mean
        lost = sum(dead and not best_dead for dead, best_dead in zip(diverged[FINDER], diverged[best], strict=True))
    else:
        gap, lost = math.inf, len(seed_list)
    return GridCheck(task, lr, finder_spec, seed_list, finals, diverged, schedules, best, gap, lost, summary)


def find_for_task(task_name: str, lr: float, *, seed: int = 1000, steps: int | None = None) -> WarmupFinding:
    """:func:`rampup.find_warmup` on a built-in task at peak rate ``lr``: the task's model at ``seed``'s
    initial weights, its optimizer (the trial's builder, over the trainable parameters) and ``seed``'s
    data order (a seed no sweep uses by default, so that the finder does not see the weights it is then
    checked on)."""
    import numpy as np
    import torch

    from rampup.finder import find_warmup
    from rampup.lab.tasks import get_task
    from rampup.lab.train import optimizer_for, task_data

    task = get_task(task_name)
    config = plan_trials(task.name, ["none"], [lr], [seed], steps=steps)[0]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a trial: the same numbers as the sweep's workers
    try:
        data = task_data(config)
        torch.manual_seed(seed)
        model = data.model(config)
        rng = np.random.default_rng(seed)
        batches = (data.batch(rng, config.batch) for _ in range(config.steps))  # the finder takes what it needs
        held_out = [(data.eval_x, data.eval_y)]

        def make_optimizer(module: torch.nn.Module, rate: float) -> torch.optim.Optimizer:
            return optimizer_for(data, replace(config, peak_lr=rate), module)

        def loss_fn(module: torch.nn.Module, batch: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
            return data.loss(module, *batch)

        betas = config.optimizer.betas if config.optimizer.name.startswith("adam") else None
        # how a user would describe the run to the advisor (the task's own description when it has one)
        advice = dict(getattr(task, "advice", None) or {"regime": "pretrain", "architecture": task.architecture})
        return find_warmup(
            model,
            loss_fn,
            batches,
            make_optimizer,
            lr,
            total_steps=config.steps,
            decay=task.decay,
            eval_batches=held_out,
            seed=seed,
            fallback={**advice, "optimizer": config.optimizer.name, "betas": betas},
        )
    finally:
        torch.set_num_threads(threads)
