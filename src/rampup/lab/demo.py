"""``rampup demo``: the lab's main job on the built-in Post-LN task.

A small sweep: no warmup, a short warmup (``linear(5%)``, the seeds' "quick rule") and the
advisor's warmup, each at the task's normal and high peak rate, on a few seeds. It prints the table
and a one-sentence verdict, and writes the report (database, Markdown/HTML table, PNG figures) to
one directory. Running it again reuses the finished trials in that directory's database.
"""

from __future__ import annotations

import os
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rampup.lab.metrics import Cell, cells, clamped_final
from rampup.lab.runner import SweepSummary, plan_trials, run_sweep
from rampup.lab.store import Store, TrialRow
from rampup.lab.tasks import get_task

__all__ = ["DEMO_TASK", "DEMO_WARMUPS", "DemoResult", "format_table", "run_demo", "verdict"]

DEMO_TASK = "postln"
DEMO_WARMUPS = ("none", "linear(5%)", "advisor")
#: "clearly worse": the gap the demo asks for at the high rate (nats)
CLEAR_GAP = 0.3
#: "close": the largest mean gap at the normal rate (nats)
CLOSE_GAP = 0.1


@dataclass(frozen=True)
class DemoResult:
    """The demo's sweep, its rows, the table, the verdict and the files written."""

    summary: SweepSummary
    rows: list[TrialRow]
    table: str
    verdict: str
    shows_effect: bool
    files: list[Path]


def format_table(by_cell: list[Cell]) -> str:
    """A fixed-width text table: one line per (warmup, rate): every seed's final loss, the mean, the
    number diverged and the largest gradient norm over the seeds."""
    seeds = sorted({seed for cell in by_cell for seed in cell.seeds})
    wide = max([11, *(len(cell.warmup) for cell in by_cell)])
    long = max([38, *(len(cell.schedule) for cell in by_cell)])
    head = f"{'peak lr':>8}  {'warmup':<{wide}} {'schedule':<{long}}" + "".join(f"{'seed ' + str(s):>9}" for s in seeds)
    lines = [head + f"{'mean':>9}  diverged  max grad norm", "-" * (len(head) + 34)]
    for cell in sorted(by_cell, key=lambda c: c.peak_lr):
        by_seed = dict(zip(cell.seeds, cell.finals, strict=True))
        norm = "-" if cell.max_grad_norm is None else f"{cell.max_grad_norm:.3g}"
        parts = []
        for seed in seeds:
            value = by_seed.get(seed)
            if seed not in by_seed:
                parts.append(f"{'':>9}")
            elif value is None or value > cell.initial_loss:
                parts.append(f"{'div' if value is None else f'{value:.3f}*':>9}")
            else:
                parts.append(f"{value:>9.3f}")
        lines.append(
            f"{cell.peak_lr:>8g}  {cell.warmup:<{wide}} {cell.schedule:<{long}}"
            + "".join(parts)
            + f"{cell.mean_final:>9.3f}  {f'{cell.diverged}/{len(cell.seeds)}':<8}  {norm}"
        )
    return "\n".join(lines)


def _gaps(rows: list[TrialRow], lr: float, worse: str, better: str) -> list[float]:
    """Per seed: clamped final loss of ``worse`` minus that of ``better`` at rate ``lr``."""
    pick = {(r.warmup, r.seed): clamped_final(r) for r in rows if r.peak_lr == lr}
    seeds = sorted({seed for (warmup, seed) in pick if warmup == worse} & {s for (w, s) in pick if w == better})
    return [pick[(worse, s)] - pick[(better, s)] for s in seeds]


def verdict(rows: list[TrialRow], normal_lr: float, high_lr: float) -> tuple[str, bool]:
    """One sentence comparing no warmup with the advisor's at both rates, and whether the effect shows."""
    high = _gaps(rows, high_lr, "none", "advisor")
    normal = _gaps(rows, normal_lr, "none", "advisor")
    if not high or not normal:
        return "Not enough finished trials for a verdict (see the table).", False
    advisor = [r for r in rows if r.warmup == "advisor"]
    steps = advisor[0].warmup_steps if advisor else None
    diverged = sum(r.diverged for r in rows if r.warmup == "none" and r.peak_lr == high_lr)
    n = len(high)
    close = abs(statistics.fmean(normal))
    shows = min(high) >= CLEAR_GAP and close <= CLOSE_GAP
    if shows:
        return (
            f"At peak lr {high_lr:g} no warmup ended {min(high):.2f}-{max(high):.2f} nats worse than the "
            f"advisor's {steps}-step warmup on all {n} seeds (diverged: {diverged} of {n}), while at "
            f"{normal_lr:g} the two ended within {close:.3f} nats: the warmup is what makes the high rate usable."
        ), True
    worse = sum(gap >= CLEAR_GAP for gap in high)
    return (
        f"The effect did not show clearly: at peak lr {high_lr:g} no warmup ended at least {CLEAR_GAP} nats worse "
        f"than the advisor's {steps}-step warmup on {worse} of {n} seeds (gaps "
        f"{', '.join(f'{g:+.2f}' for g in high)}), and at {normal_lr:g} the mean gap was {close:.2f} nats."
    ), False


def run_demo(
    out_dir: str | os.PathLike[str] = "rampup-demo",
    *,
    seeds: int = 3,
    workers: int | None = None,
    steps: int | None = None,
    figures: bool = True,
    progress: bool = True,
    echo: Callable[[str], object] = print,
) -> DemoResult:
    """Run (or resume) the demo sweep into ``out_dir``, print the table and verdict, write the report."""
    from rampup.lab.report import write_report

    task = get_task(DEMO_TASK)
    out = Path(out_dir)
    db = out / "rampup-lab.db"
    trials = plan_trials(task.name, DEMO_WARMUPS, [task.normal_lr, task.high_lr], seeds, steps=steps)
    echo(f"rampup demo: {task.title}")
    echo(
        f"  {len(trials)} trials ({len(DEMO_WARMUPS)} warmups x 2 peak rates x {seeds} seeds, "
        f"{trials[0].steps} steps each); results in {db}"
    )
    summary = run_sweep(trials, db, workers=workers, progress=progress)
    with Store(db) as store:
        rows = store.rows(keys=summary.keys)
    by_cell = cells(rows)
    table = format_table(by_cell)
    sentence, shows = verdict(rows, task.normal_lr, task.high_lr)
    files = write_report(rows, out, figures=figures)
    echo("")
    echo(table)
    echo("  final held-out loss in nats after the last step; * or div: diverged")
    echo("")
    echo(f"verdict: {sentence}")
    echo(f"{summary.line()}; report: {out / 'summary.md'}")
    return DemoResult(summary, rows, table, sentence, shows, files)
