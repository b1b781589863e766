"""What the monitor saw in a sweep: when it flagged the failing runs, and how often it flagged good ones.

Every lab trial is watched by :class:`rampup.monitor.WarmupMonitor` with its defaults (observing
only, unless the trial's warmup ends in ``+hold``). Judged against the outcome:

- a run **failed** when it diverged or ended more than :data:`FAILED_GAP` nats above the best run of
  the same task and rate (every warmup and seed of the sweep): the no-warmup runs at the Post-LN
  task's high rate end there, stuck on the character frequencies, without ever diverging;
- a run is **stable** when it did not diverge and ended within :data:`STABLE_GAP` nats of that best;
- the **catch rate** is the share of failed runs flagged before step :data:`CATCH_BEFORE`; the
  **false-alarm rate** is the share of stable runs flagged at all (by kind, too).

Runs in between (neither failed nor stable) are counted in neither rate.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from rampup.lab.store import TrialRow

__all__ = ["CATCH_BEFORE", "FAILED_GAP", "STABLE_GAP", "MonitorCell", "MonitorScore", "monitor_cells", "score"]

#: nats above the best run of the same task and rate from which a run counts as failed
FAILED_GAP = 0.3
#: nats above the best within which a run counts as stable
STABLE_GAP = 0.1
#: a failed run counts as caught when the monitor flagged it before this step
CATCH_BEFORE = 50
KINDS = ("non-finite", "loss-spike", "grad-blowup", "grad-collapse")


def _best(rows: Sequence[TrialRow]) -> dict[tuple[str, float], float]:
    """The best final loss per (task, rate) among the unmonitored runs (``+hold`` runs had their rates
    changed by the monitor: they are judged against the plain warmups, not the other way round)."""
    best: dict[tuple[str, float], float] = {}
    plain = [row for row in rows if row.config.monitor is None] or list(rows)
    for row in plain:
        if row.final_loss is None or row.diverged or not math.isfinite(row.final_loss):
            continue
        key = (row.task, row.peak_lr)
        best[key] = min(best.get(key, math.inf), row.final_loss)
    return best


def _outcome(row: TrialRow, best: dict[tuple[str, float], float]) -> str:
    """``failed``, ``stable`` or ``between`` (module docstring)."""
    reference = best.get((row.task, row.peak_lr))
    if row.diverged or row.final_loss is None or reference is None:
        return "failed"
    gap = row.final_loss - reference
    if gap > FAILED_GAP:
        return "failed"
    return "stable" if gap <= STABLE_GAP else "between"


def _first(row: TrialRow) -> int | None:
    return int(row.flags[0]["step"]) if row.flags else None


@dataclass(frozen=True)
class MonitorCell:
    """One (task, warmup, rate): runs, how many were flagged, the first flag's step per seed, the kinds."""

    task: str
    warmup: str
    peak_lr: float
    runs: int
    flagged: int
    first_steps: tuple[int | None, ...]
    kinds: tuple[str, ...]
    outcomes: tuple[str, ...]
    ramp_done_at: tuple[int | None, ...]


def monitor_cells(rows: Iterable[TrialRow]) -> list[MonitorCell]:
    """The monitor's flags per (task, warmup, rate), for the trials that recorded them."""
    watched = [row for row in rows if row.flags is not None and row.status != "failed"]
    best = _best(watched)
    groups: dict[tuple[str, str, float], list[TrialRow]] = {}
    for row in watched:
        groups.setdefault((row.task, row.warmup, row.peak_lr), []).append(row)
    out = []
    for (task, warmup, lr), members in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])):
        members.sort(key=lambda r: r.seed)
        kinds = sorted({str(flag["kind"]) for row in members for flag in row.flags or []})
        out.append(
            MonitorCell(
                task=task,
                warmup=warmup,
                peak_lr=lr,
                runs=len(members),
                flagged=sum(bool(row.flags) for row in members),
                first_steps=tuple(_first(row) for row in members),
                kinds=tuple(kinds),
                outcomes=tuple(_outcome(row, best) for row in members),
                ramp_done_at=tuple(row.ramp_done_at for row in members),
            )
        )
    return out


@dataclass(frozen=True)
class MonitorScore:
    """Catch rate on failed runs and false-alarm rate on stable ones (module docstring)."""

    failed: int
    caught: int
    stable: int
    false_alarms: int
    false_alarms_by_kind: dict[str, int]
    median_first_flag: float | None

    @property
    def catch_rate(self) -> float:
        return self.caught / self.failed if self.failed else math.nan

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.stable if self.stable else math.nan

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.false_alarms_by_kind.items() if count)
        first = "-" if self.median_first_flag is None else f"{self.median_first_flag:g}"
        return (
            f"caught {self.caught} of {self.failed} failed runs before step {CATCH_BEFORE} "
            f"(median first flag at step {first}); flagged {self.false_alarms} of {self.stable} stable runs"
            + (f" ({kinds})" if kinds else "")
        )


def score(rows: Iterable[TrialRow], *, include_hold: bool = False) -> MonitorScore:
    """The monitor's catch and false-alarm rates over the watched trials (``+hold`` ones left out by default:
    their rates were changed by the monitor, so their outcome is not the unwatched run's)."""
    watched = [
        row
        for row in rows
        if row.flags is not None and row.status != "failed" and (include_hold or row.config.monitor is None)
    ]
    best = _best(watched)
    failed = [row for row in watched if _outcome(row, best) == "failed"]
    stable = [row for row in watched if _outcome(row, best) == "stable"]
    caught = [row for row in failed if (step := _first(row)) is not None and step < CATCH_BEFORE]
    alarms = [row for row in stable if row.flags]
    by_kind = {kind: sum(any(flag["kind"] == kind for flag in row.flags or []) for row in stable) for kind in KINDS}
    firsts = [step for row in failed if (step := _first(row)) is not None]
    return MonitorScore(
        failed=len(failed),
        caught=len(caught),
        stable=len(stable),
        false_alarms=len(alarms),
        false_alarms_by_kind=by_kind,
        median_first_flag=statistics.median(firsts) if firsts else None,
    )
