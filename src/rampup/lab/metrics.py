"""Summaries of a sweep: per cell (warmup, rate) and per warmup over the rate grid.

**Learning-rate sensitivity** (Wortsman et al. 2023, "Small-scale proxies for large-scale
Transformer training instabilities", arXiv:2309.14322, section 3.2): over the grid of peak rates,

    sensitivity = mean_lr min(L(lr), L0) - min_lr L(lr)

where L(lr) is the final loss at that rate (here the mean over seeds, a diverged or non-finite trial
counting as L0) and L0 is the loss at initialization. A warmup that keeps many rates good has a low
sensitivity; a grid that contains a rate where training fails adds (L0 - best) / n_rates.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rampup.lab.store import TrialRow

__all__ = ["Cell", "WarmupSummary", "cells", "clamped_final", "lr_sensitivity", "summarize"]


def clamped_final(row: TrialRow) -> float:
    """``min(final, initial)``; a diverged, failed or non-finite trial counts as its initial loss."""
    initial = row.initial_loss if row.initial_loss is not None else math.nan
    final = row.final_loss
    if row.status == "failed" or row.diverged or final is None or not math.isfinite(final):
        return initial
    return min(final, initial)


def lr_sensitivity(losses: Sequence[float], initial: float) -> float:
    """Wortsman et al.'s sensitivity of per-rate final losses ``losses`` given the initial loss."""
    if not losses:
        raise ValueError("lr_sensitivity needs at least one rate")
    clamped = [min(loss, initial) if math.isfinite(loss) else initial for loss in losses]
    return statistics.fmean(clamped) - min(clamped)


@dataclass(frozen=True)
class Cell:
    """All seeds of one (task, warmup, peak rate)."""

    task: str
    warmup: str
    schedule: str
    peak_lr: float
    seeds: tuple[int, ...]
    finals: tuple[float | None, ...]
    mean_final: float
    diverged: int
    failed: int
    initial_loss: float
    max_grad_norm: float | None
    spikes: float
    warmup_steps: int | None
    wall_s: float


@dataclass(frozen=True)
class WarmupSummary:
    """One warmup of one task over the rate grid."""

    task: str
    warmup: str
    schedule: str
    lrs: tuple[float, ...]
    losses: tuple[float, ...]
    sensitivity: float
    best_lr: float
    best_loss: float
    divergence_rate: float
    trials: int


def _order(warmups: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for warmup in warmups:
        if warmup not in seen:
            seen.append(warmup)
    return sorted(seen, key=lambda w: (w != "none", w == "advisor", w))


def cells(rows: Iterable[TrialRow]) -> list[Cell]:
    """Group the trials by (task, warmup, rate); ordered task, warmup (none first, advisor last), rate."""
    groups: dict[tuple[str, str, float], list[TrialRow]] = {}
    for row in rows:
        groups.setdefault((row.task, row.warmup, row.peak_lr), []).append(row)
    order = {w: i for i, w in enumerate(_order(key[1] for key in groups))}
    out = []
    for (task, warmup, lr), members in sorted(groups.items(), key=lambda kv: (kv[0][0], order[kv[0][1]], kv[0][2])):
        members.sort(key=lambda r: r.seed)
        initials = [r.initial_loss for r in members if r.initial_loss is not None]
        norms = [r.max_grad_norm for r in members if r.max_grad_norm is not None]
        out.append(
            Cell(
                task=task,
                warmup=warmup,
                schedule=members[0].schedule,
                peak_lr=lr,
                seeds=tuple(r.seed for r in members),
                finals=tuple(None if r.status == "failed" else r.final_loss for r in members),
                mean_final=statistics.fmean(clamped_final(r) for r in members),
                diverged=sum(r.diverged for r in members),
                failed=sum(r.status == "failed" for r in members),
                initial_loss=statistics.fmean(initials) if initials else math.nan,
                max_grad_norm=max(norms) if norms else None,
                spikes=statistics.fmean(r.spikes or 0 for r in members),
                warmup_steps=members[0].warmup_steps,
                wall_s=sum(r.wall_s or 0.0 for r in members),
            )
        )
    return out


def summarize(rows: Iterable[TrialRow]) -> list[WarmupSummary]:
    """Per (task, warmup): sensitivity, best rate and loss, divergence rate (module docstring)."""
    rows = list(rows)
    by_cell = cells(rows)
    initial: dict[str, float] = {}
    for task in {row.task for row in rows}:
        values = [r.initial_loss for r in rows if r.task == task and r.initial_loss is not None]
        initial[task] = statistics.fmean(values) if values else math.nan
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in by_cell:
        groups.setdefault((cell.task, cell.warmup), []).append(cell)
    out = []
    for (task, warmup), members in groups.items():
        losses = [cell.mean_final for cell in members]
        best = min(range(len(members)), key=lambda i: losses[i] if math.isfinite(losses[i]) else math.inf)
        trials = sum(len(cell.seeds) for cell in members)
        out.append(
            WarmupSummary(
                task=task,
                warmup=warmup,
                schedule=members[0].schedule,
                lrs=tuple(cell.peak_lr for cell in members),
                losses=tuple(losses),
                sensitivity=lr_sensitivity(losses, initial[task]),
                best_lr=members[best].peak_lr,
                best_loss=losses[best],
                divergence_rate=sum(cell.diverged for cell in members) / trials if trials else math.nan,
                trials=trials,
            )
        )
    return out
