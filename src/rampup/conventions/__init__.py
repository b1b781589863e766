"""Other tools' conventions, as plain functions: how each counts steps, rounds ratios and shapes its curves.

One module per tool (:mod:`~rampup.conventions.hf`, :mod:`~rampup.conventions.deepspeed`,
:mod:`~rampup.conventions.megatron`, :mod:`~rampup.conventions.axolotl`), none importing
its framework. Each restates the tool's own formula (the source file and version are in
its docstrings) and maps a config onto a rampup spec. :func:`settle` is the one place
where a spec is declared exact: the engine's rates must equal the tool's at every update
of the run, within 1e-9 relative; otherwise the spec is withheld and a finding names
the nearest one. An importer never returns a silently different schedule.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from rampup.durations import MAX_STEPS, format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule

__all__ = [
    "RELATIVE",
    "Counting",
    "Finding",
    "Imported",
    "RunSize",
    "number",
    "run_length_finding",
    "settle",
    "whole",
]

#: the tolerance of exactness: relative, with a floor for rates that underflow
RELATIVE = 1e-9
_FLOOR = 1e-15


@dataclass(frozen=True)
class Finding:
    """Something worth knowing about a config: what it does that was likely not meant, or what rampup cannot say."""

    kind: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "message": self.message}


@dataclass(frozen=True)
class RunSize:
    """The run's size as given on the command line: each tool counts it into optimizer updates its own way."""

    total_steps: int | None = None
    dataset_size: int | None = None
    batch_size: int | None = None
    grad_accum: int | None = None
    num_processes: int | None = None
    epochs: float | None = None


@dataclass(frozen=True)
class Counting:
    """A run's optimizer updates next to the other counts a config's step numbers are often written in.

    The warmup-counted-wrong findings (``counted-in-micro-batches``, ``counted-per-process``) compare
    a config's own step count with these: a scheduler stepped once per optimizer update whose lengths
    were counted in micro-batches (gradient accumulation), or once per process, runs ``accum`` or
    ``processes`` times too long (transformers#18436, accelerate#963, Lightning#1476). Each tool
    counts these numbers its own way; its module builds the ``Counting``.
    """

    #: the optimizer updates the run makes, as the tool counts them
    updates: int
    accum: int = 1
    processes: int = 1
    #: the epochs the counts are for (None: only the run's updates are known)
    epochs: float | None = None
    #: the micro-batches each process reads in the run (``updates * accum`` when only the updates are known)
    micro_batches: int | None = None
    #: the micro-batches of all processes together
    all_micro_batches: int | None = None
    #: the updates counted as if one process read all the data (or each process stepped the scheduler)
    one_process_updates: int | None = None

    @classmethod
    def from_updates(cls, updates: int, accum: int = 1, processes: int = 1) -> Counting:
        """Only the run's updates are known: the other counts are its multiples."""
        return cls(updates, accum, processes, None, updates * accum, updates * accum * processes, updates * processes)

    def miscounted(self, value: int) -> tuple[str, str] | None:
        """``(kind, what value equals)`` when ``value`` is one of the other counts and not the updates."""
        if value == self.updates:
            return None
        where = f" in {format_number(self.epochs)} epochs" if self.epochs is not None else ""
        if self.epochs is None:
            options = [
                (
                    self.micro_batches,
                    "counted-in-micro-batches",
                    f"the run's {self.updates} updates x {self.accum} micro-batches each (gradient accumulation)",
                ),
                (
                    self.all_micro_batches,
                    "counted-in-micro-batches",
                    f"the run's {self.updates} updates x {self.accum} micro-batches x {self.processes} processes",
                ),
                (
                    self.one_process_updates,
                    "counted-per-process",
                    f"the run's {self.updates} updates x {self.processes} processes",
                ),
            ]
        else:
            options = [
                (self.micro_batches, "counted-in-micro-batches", f"the micro-batches each process reads{where}"),
                (
                    self.all_micro_batches,
                    "counted-in-micro-batches",
                    f"the micro-batches of all {self.processes} processes together{where}",
                ),
                (
                    self.one_process_updates,
                    "counted-per-process",
                    f"the optimizer updates{where} counted as if one "
                    f"process read all the data (the {self.processes} processes share it)",
                ),
            ]
        conditions = (self.accum > 1, self.accum > 1 and self.processes > 1, self.processes > 1)
        for (count, kind, what), applies in zip(options, conditions, strict=True):
            if applies and count is not None and count == value:
                return kind, what
        return None

    def factors(self) -> str:
        """What makes the counts differ: ``gradient accumulation 4, 8 processes``."""
        parts = []
        if self.accum > 1:
            parts.append(f"{self.accum} micro-batches per update")
        if self.processes > 1:
            parts.append(f"{self.processes} processes")
        return ", ".join(parts)


def run_length_finding(
    key: str, value: int, counting: Counting, tool: str, warmup: tuple[str, int] | None = None
) -> Finding | None:
    """A run length (``max_steps``) that equals the run's micro-batches (or its updates x processes) where the tool
    counts optimizer updates: the run is ``accum`` (or ``processes``) times longer than the epochs meant."""
    found = counting.miscounted(value)
    if found is None:
        return None
    kind, what = found
    meant = counting.updates
    epochs = counting.epochs
    length = f"{value * epochs / meant:.3g} epochs instead of {format_number(epochs)}, " if epochs else ""
    message = (
        f"{key} {value} equals {what}, but {tool} counts {key} in optimizer updates ({counting.factors()}): "
        f"the run is {value} updates, {length}{value / meant:.3g} times the {meant} updates"
        f"{' of those epochs' if epochs else ' given'}"
    )
    if warmup is not None and warmup[1] > 0:
        name, steps = warmup
        message += (
            f"; {name} {steps} is in updates too ({steps / value:.1%} of the run; counted the same way it "
            f"would be {max(1, round(steps * meant / value))})"
        )
    message += f". In optimizer updates: {key} {meant}"
    if epochs:
        message += " (or no max_steps, and the epochs)"
    return Finding(kind, message)


@dataclass
class Imported:
    """A config read by an importer: the tool's own rates, and the rampup spec that equals them (if any)."""

    source: str
    peak_lr: float
    total_steps: int
    #: the tool's multipliers of ``peak_lr`` for updates 0 .. total_steps - 1, by its own formula
    multipliers: npt.NDArray[np.float64]
    #: the spec that equals the config at every update (None: not exact, see findings)
    spec: str | None = None
    #: the closest spec rampup has, when it is not exact
    nearest: str | None = None
    findings: list[Finding] = field(default_factory=list)

    @property
    def lrs(self) -> npt.NDArray[np.float64]:
        return self.peak_lr * self.multipliers

    def to_json(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "spec": self.spec,
            "peak_lr": self.peak_lr,
            "total_steps": self.total_steps,
            "lrs": [float(x) for x in self.lrs],
            "findings": [item.to_dict() for item in self.findings],
        }


def mismatch(schedule: Schedule, multipliers: npt.NDArray[np.float64]) -> tuple[int, float] | None:
    """The first update where ``schedule`` differs from ``multipliers`` beyond 1e-9 relative, and the gap."""
    ours = schedule.values(np.arange(multipliers.size, dtype=np.float64))
    gap = np.abs(ours - multipliers)
    bad = gap > RELATIVE * np.abs(multipliers) + _FLOOR
    if not bad.any():
        return None
    index = int(np.argmax(bad))
    return index, float(gap[index])


def settle(
    source: str,
    peak_lr: float,
    multipliers: npt.NDArray[np.float64],
    candidate: str | None,
    findings: list[Finding],
    why: str | None = None,
) -> Imported:
    """The import's result: ``candidate`` is the spec only if it equals the tool's rates at every update.

    ``why`` says what the candidate cannot express when it is known not to be exact.
    """
    imported = Imported(source, float(peak_lr), int(multipliers.size), multipliers, findings=list(findings))
    if candidate is not None:
        try:
            schedule = Schedule.parse(candidate)
            candidate = str(schedule)  # canonical text
            found = mismatch(schedule, multipliers)
        except RampupError as error:  # the nearest spec may not even resolve (a warmup longer than the run)
            found = (0, math.nan)
            why = why or error.line()
        if found is None and why is None:
            imported.spec = candidate
            return imported
        imported.nearest = candidate
        if why is None and found is not None:
            index, gap = found
            relative = gap / max(abs(float(multipliers[index])), 1e-300)
            why = f"the closest spec differs at update {index} by {relative:.3g} relative"
        imported.findings.append(
            Finding("not-exact", f"no rampup spec equals this schedule ({why}); the nearest is {candidate}")
        )
    else:
        imported.findings.append(Finding("not-exact", f"no rampup spec equals this schedule ({why or 'unsupported'})"))
    return imported


def general_findings(imported: Imported, warmup_end: float | None) -> None:
    """The findings that follow from the rates themselves: a warmup past the run's end, a first update at 0, a rise."""
    values = imported.multipliers
    total = imported.total_steps
    if warmup_end is not None and warmup_end >= total and warmup_end > 0:
        imported.findings.append(
            Finding(
                "warmup-longer-than-run",
                f"the warmup ends at update {format_number(warmup_end)} but the run has {total} updates: "
                f"it never reaches the peak (at most {float(values.max()):.3g} of it)",
            )
        )
    if values.size and values[0] == 0.0:
        zeros = int(np.argmax(values != 0.0)) if (values != 0.0).any() else int(values.size)
        what = "the first update runs" if zeros == 1 else f"the first {zeros} updates run"
        imported.findings.append(
            Finding("zero-first-update", f"{what} at rate 0: no weight moves (only the optimizer's moments)")
        )
    if values.size > 2:
        top = int(np.argmax(values))
        after = values[top:]
        rises = np.diff(after) > RELATIVE * np.abs(after[:-1]) + _FLOOR
        if rises.any():
            at = top + int(np.argmax(rises)) + 1
            imported.findings.append(
                Finding(
                    "rises-again",
                    f"after its peak at update {top} the rate rises again at update {at} "
                    f"(a cosine past its end, or more than half a cycle)",
                )
            )


def number(data: Mapping[str, Any], key: str, where: str, default: Any = None, *, low: float | None = None) -> Any:
    """``data[key]`` as a finite float (``default`` if absent); the error names the file and the key."""
    if key not in data or data[key] is None:
        return default
    raw = data[key]
    value: float | None = None
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or not math.isfinite(value) or abs(value) > 1e15:
        raise RampupError(f"{where}: {key}", raw, "a finite number")
    if low is not None and value < low:
        raise RampupError(f"{where}: {key}", raw, f"a number >= {format_number(low)}")
    return value


def whole(data: Mapping[str, Any], key: str, where: str, default: Any = None, *, low: int = 0) -> Any:
    """``data[key]`` as a whole number >= ``low`` (``default`` if absent)."""
    value = number(data, key, where, None)
    if value is None:
        return default
    if not float(value).is_integer() or value < low or value > MAX_STEPS:
        raise RampupError(f"{where}: {key}", data[key], f"a whole number >= {low}")
    return int(value)


def check_keys(data: Mapping[str, Any], known: set[str], where: str, words: tuple[str, ...]) -> None:
    """Keys that look like schedule settings (``lr``, ``warmup``, ``sched``...) must be ones this importer reads."""
    for key in data:
        lowered = str(key).lower()
        if key not in known and any(word in lowered for word in words):
            shown = sorted(name for name in known if any(word in name.lower() for word in words))
            raise RampupError(f"{where}: key", key, f"one of the schedule keys read here: {', '.join(shown)}")
