"""What the monitor saw in a sweep: when it flagged the failing runs, and how often it flagged good ones.

Every lab trial is watched by :class:`rampup.monitor.WarmupMonitor` with its defaults (observing
only, unless the trial's warmup ends in ``+hold``) and stores its losses and gradient norms, so that
:func:`replay` can run any other monitor over it afterwards. Judged against the outcome (issue 11):

- the **reference** of a run is the best final loss of the same (task, peak rate, seed) among the
  plain warmups of the issue's grid (:data:`GRID_WARMUPS`: none, linear 1% to 50%) where the sweep
  has any, else among all its plain warmups. ``+hold`` runs had their rates changed by the monitor,
  and ``advisor`` runs follow another rule: they are judged against the grid, never the other way
  round;
- a run **failed** when it diverged or ended more than :data:`FAILED_SHARE` (5%) above its reference;
  it is **good** within :data:`GOOD_SHARE` (2%) of it; runs in between count in neither rate;
- a failed run is **caught** when flagged before ``min(50, ceil(15% of its steps))``
  (:func:`catch_before`); a **false alarm** is a good run flagged at all.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rampup.durations import ceil_steps
from rampup.lab.evidence import GRID
from rampup.lab.store import TrialRow
from rampup.monitor import KINDS, WarmupMonitor
from rampup.schedule import parse

__all__ = [
    "CATCH_BEFORE",
    "CATCH_SHARE",
    "FAILED_SHARE",
    "GOOD_SHARE",
    "GRID_WARMUPS",
    "Miss",
    "MonitorCell",
    "MonitorScore",
    "catch_before",
    "leave_one_task_out",
    "misses",
    "monitor_cells",
    "outcomes",
    "replay",
    "replay_flags",
    "score",
    "score_by_task",
]

#: a run more than this share above its reference failed
FAILED_SHARE = 0.05
#: a run within this share of its reference is good
GOOD_SHARE = 0.02
#: a failed run counts as caught when flagged before this step...
CATCH_BEFORE = 50
#: ...or before this share of its run, whichever comes first (rounded up)
CATCH_SHARE = 0.15
#: the issue's grid of warmups, among which the reference (the best final loss) is taken
GRID_WARMUPS = frozenset(GRID)

Flags = list[dict[str, Any]]
Key = tuple[str, float, int]


def catch_before(steps: int) -> int:
    """The step before which a failed run of ``steps`` updates must be flagged to count as caught."""
    return min(CATCH_BEFORE, ceil_steps(CATCH_SHARE * steps))


def _plain(row: TrialRow) -> bool:
    return row.config.monitor is None


def _references(rows: Sequence[TrialRow]) -> dict[Key, float]:
    """The best final loss per (task, rate, seed) among the plain runs of the grid (module docstring)."""
    plain = [row for row in rows if _plain(row)]
    gridded = {(row.task, row.peak_lr, row.seed) for row in plain if row.warmup in GRID_WARMUPS}
    best: dict[Key, float] = {}
    for row in plain:
        key = (row.task, row.peak_lr, row.seed)
        if key in gridded and row.warmup not in GRID_WARMUPS:
            continue
        if row.final_loss is None or row.diverged or not math.isfinite(row.final_loss):
            continue
        best[key] = min(best.get(key, math.inf), row.final_loss)
    return best


def _outcome(row: TrialRow, best: Mapping[Key, float]) -> str:
    """``failed``, ``good`` or ``between`` (module docstring)."""
    reference = best.get((row.task, row.peak_lr, row.seed))
    if row.diverged or row.final_loss is None or not math.isfinite(row.final_loss):
        return "failed"
    if reference is None:
        return "between"
    if row.final_loss > (1 + FAILED_SHARE) * reference:
        return "failed"
    return "good" if row.final_loss <= (1 + GOOD_SHARE) * reference else "between"


def outcomes(rows: Sequence[TrialRow]) -> dict[str, str]:
    """Each finished trial's outcome by key (``failed``, ``good`` or ``between``)."""
    finished = [row for row in rows if row.status != "failed"]
    best = _references(finished)
    return {row.key: _outcome(row, best) for row in finished}


def _values(values: Sequence[float | None] | None) -> list[float]:
    return [math.nan if value is None else float(value) for value in values or []]


def replay(row: TrialRow, **settings: Any) -> WarmupMonitor:
    """A fresh :class:`WarmupMonitor` (``settings`` are its keywords) run over a stored trial's losses
    and gradient norms, as if it had watched the trial: thresholds can be tried on stored sweeps
    without training again. ``action="hold"`` changes only the monitor's own ramp, not the stored run."""
    settings = {"warn": False, **settings}
    monitor = WarmupMonitor(row.schedule, total_steps=row.steps, **settings)
    losses = _values(row.train_losses)
    norms = _values(row.grad_norms) if row.grad_norms is not None else [math.nan] * len(losses)
    for loss, norm in zip(losses, norms, strict=False):
        monitor.observe(loss, None if row.grad_norms is None else norm)
    return monitor


def replay_flags(row: TrialRow, **settings: Any) -> Flags:
    """The flags :func:`replay` raises, as stored flags are (plain dicts)."""
    return [flag.to_dict() for flag in replay(row, **settings).flags]


def _stored(row: TrialRow) -> Flags | None:
    return row.flags


def _first(flags: Flags | None) -> int | None:
    return int(flags[0]["step"]) if flags else None


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
    best = _references(watched)
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
                first_steps=tuple(_first(row.flags) for row in members),
                kinds=tuple(kinds),
                outcomes=tuple(_outcome(row, best) for row in members),
                ramp_done_at=tuple(row.ramp_done_at for row in members),
            )
        )
    return out


@dataclass(frozen=True)
class MonitorScore:
    """Catch rate on failed runs and false-alarm rate on good ones (module docstring)."""

    failed: int
    caught: int
    good: int
    false_alarms: int
    false_alarms_by_kind: dict[str, int]
    median_first_flag: float | None
    caught_by_kind: dict[str, int] | None = None

    @property
    def stable(self) -> int:
        """The good runs (the name before issue 11)."""
        return self.good

    @property
    def catch_rate(self) -> float:
        return self.caught / self.failed if self.failed else math.nan

    @property
    def false_alarm_rate(self) -> float:
        return self.false_alarms / self.good if self.good else math.nan

    def line(self) -> str:
        kinds = ", ".join(f"{kind} {count}" for kind, count in self.false_alarms_by_kind.items() if count)
        first = "-" if self.median_first_flag is None else f"{self.median_first_flag:g}"
        return (
            f"caught {self.caught} of {self.failed} failed runs before step min(50, 15% of the run) "
            f"(median first flag at step {first}); flagged {self.false_alarms} of {self.good} good runs"
            + (f" ({kinds})" if kinds else "")
        )


def score(
    rows: Iterable[TrialRow],
    *,
    include_hold: bool = False,
    flags_of: Callable[[TrialRow], Flags | None] | None = None,
    judged: Callable[[TrialRow], bool] | None = None,
) -> MonitorScore:
    """The monitor's catch and false-alarm rates over the watched trials (module docstring).

    ``flags_of`` gives a run's flags (default: those stored with it; :func:`replay_flags` with a
    ``functools.partial`` to score other settings). The outcome of every run is judged against the
    plain runs of all ``rows``; ``judged`` picks the runs that are counted (default: all the plain
    ones, and the ``+hold`` ones with ``include_hold``: their rates were changed by the monitor, so
    their outcome is not the unwatched run's).
    """
    everything = [row for row in rows if row.status != "failed"]
    get: Callable[[TrialRow], Flags | None] = flags_of or _stored
    best = _references(everything)
    counted = [
        (row, flags)
        for row in everything
        if (include_hold or _plain(row)) and (judged is None or judged(row))
        if (flags := get(row)) is not None
    ]
    failed = [(row, flags) for row, flags in counted if _outcome(row, best) == "failed"]
    good = [(row, flags) for row, flags in counted if _outcome(row, best) == "good"]
    caught = [
        (row, flags) for row, flags in failed if (step := _first(flags)) is not None and step < catch_before(row.steps)
    ]
    by_kind = {kind: sum(any(flag["kind"] == kind for flag in flags) for _, flags in good) for kind in KINDS}
    caught_by = {kind: sum(flags[0]["kind"] == kind for _, flags in caught) for kind in KINDS}
    firsts = [step for _, flags in failed if (step := _first(flags)) is not None]
    return MonitorScore(
        failed=len(failed),
        caught=len(caught),
        good=len(good),
        false_alarms=sum(bool(flags) for _, flags in good),
        false_alarms_by_kind=by_kind,
        median_first_flag=statistics.median(firsts) if firsts else None,
        caught_by_kind=caught_by,
    )


def _task_is(task: str) -> Callable[[TrialRow], bool]:
    return lambda row: row.task == task


def _task_is_not(task: str) -> Callable[[TrialRow], bool]:
    return lambda row: row.task != task


def _from(flags: Mapping[str, Flags]) -> Callable[[TrialRow], Flags | None]:
    return lambda row: flags[row.key]


def score_by_task(
    rows: Sequence[TrialRow], flags_of: Callable[[TrialRow], Flags | None] | None = None
) -> dict[str, MonitorScore]:
    """:func:`score` over all tasks together (key ``"all"``) and per task."""
    out = {"all": score(rows, flags_of=flags_of)}
    for task in sorted({row.task for row in rows}):
        out[task] = score(rows, flags_of=flags_of, judged=_task_is(task))
    return out


def leave_one_task_out(
    rows: Sequence[TrialRow],
    candidates: Sequence[Mapping[str, Any]],
    *,
    max_false_alarms: float = 0.05,
) -> dict[str, tuple[Mapping[str, Any], MonitorScore]]:
    """For each task: the monitor settings chosen on the other tasks, and their score on the left-out one.

    The choice among ``candidates`` (keyword settings of :class:`WarmupMonitor`) on the other tasks:
    the most failed runs caught among the settings with at most ``max_false_alarms`` false alarms
    (the fewest false alarms if none qualifies), ties to the earlier candidate.
    """
    replayed: list[dict[str, Flags]] = [{row.key: replay_flags(row, **c) for row in rows} for c in candidates]
    out: dict[str, tuple[Mapping[str, Any], MonitorScore]] = {}
    for task in sorted({row.task for row in rows}):

        def rank(index: int, task: str = task) -> tuple[int, float, int]:
            result = score(rows, flags_of=_from(replayed[index]), judged=_task_is_not(task))
            alarms = result.false_alarm_rate if result.good else 0.0
            ok = alarms <= max_false_alarms
            return (0 if ok else 1, -result.caught if ok else alarms, index)

        chosen = min(range(len(candidates)), key=rank)
        out[task] = (candidates[chosen], score(rows, flags_of=_from(replayed[chosen]), judged=_task_is(task)))
    return out


@dataclass(frozen=True)
class Miss:
    """A failed run the monitor did not catch in time: how far it failed, when (if ever) it was flagged,
    and when its warmup reached the peak against the catch deadline."""

    task: str
    warmup: str
    seed: int
    above_best: float | None  # the final loss's excess over the reference, as a share (None: diverged)
    deadline: int
    first_flag: int | None
    first_kind: str | None
    ramp_ends: int

    @property
    def ramp_after_deadline(self) -> bool:
        """The planned rate reaches the peak only at or after the deadline: what fails at the peak rate
        has not happened yet when the run must be flagged."""
        return self.ramp_ends >= self.deadline


def misses(rows: Sequence[TrialRow], flags_of: Callable[[TrialRow], Flags | None] | None = None) -> list[Miss]:
    """The failed plain runs that were not flagged before :func:`catch_before` (module docstring), in
    task, warmup, seed order."""
    everything = [row for row in rows if row.status != "failed"]
    get: Callable[[TrialRow], Flags | None] = flags_of or _stored
    best = _references(everything)
    out = []
    for row in everything:
        flags = get(row)
        if not _plain(row) or flags is None or _outcome(row, best) != "failed":
            continue
        deadline = catch_before(row.steps)
        first = _first(flags)
        if first is not None and first < deadline:
            continue
        reference = best.get((row.task, row.peak_lr, row.seed))
        finite = row.final_loss is not None and math.isfinite(row.final_loss) and not row.diverged
        above = row.final_loss / reference - 1 if finite and reference else None  # type: ignore[operator]
        out.append(
            Miss(
                task=row.task,
                warmup=row.warmup,
                seed=row.seed,
                above_best=above,
                deadline=deadline,
                first_flag=first,
                first_kind=str(flags[0]["kind"]) if flags else None,
                ramp_ends=parse(row.schedule).resolve(row.steps).warmup_steps,
            )
        )
    return sorted(out, key=lambda miss: (miss.task, miss.warmup, miss.seed))
