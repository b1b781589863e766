"""Durations: how long a phase lasts, in steps, percent of the total, epochs or tokens.

Text forms (DESIGN.md): ``100`` (optimizer steps), ``5%`` (of the total),
``2ep`` (epochs, needs steps per epoch), ``375Mtok`` (tokens, needs tokens per
step; suffixes K, M, B (or G) and T). Relative durations round up, like Hugging
Face's ``ceil(total * ratio)``, but without its floating-point surprises:
``7%`` of 100 steps is 7, not 8.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np

from rampup.errors import RampupError

__all__ = [
    "MAX_STEPS",
    "Duration",
    "ResolveContext",
    "Unit",
    "ceil_steps",
    "early_window",
    "floor_steps",
    "format_number",
    "parse_number",
    "real_number",
    "step_count",
]

Unit = Literal["steps", "percent", "epochs", "tokens"]

_TOKEN_SUFFIXES: dict[str, float] = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}
#: the most optimizer steps a run, a phase or a step number may have (10**15: far beyond any run, and
#: small enough that every sum of step counts and every curve's arithmetic stays exact and finite in float64)
MAX_STEPS = 10**15

# ASCII digits only: ``\d`` and ``float()`` also read "５" and "١٠" (and ``float`` reads "1_0", "nan")
_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
_NUMBER_RE = re.compile(rf"^[+-]?{_NUMBER}$")
_DURATION_RE = re.compile(rf"^({_NUMBER})(%|ep|([KMBGT]?)tok)?$")


def real_number(value: object) -> float | None:
    """``value`` as a float if it is a real number (int, float, NumPy scalar; not bool), else None.

    Integers too large for a float (``10**400``) become ``inf``, so that the caller's range
    check rejects them by name instead of an ``OverflowError`` escaping.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        return None
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def parse_number(text: str) -> float | None:
    """The number in ``text`` (ASCII digits, optional sign and exponent), or None if it is not one."""
    text = text.strip()
    if not _NUMBER_RE.match(text):
        return None
    return float(text)


def step_count(value: float, field: str, what: str = "a whole number of optimizer steps") -> int:
    """The one guard of step counts: ``value`` rounded up to whole steps, finite, >= 0 and at most MAX_STEPS."""
    if not (math.isfinite(value) and 0 <= value <= MAX_STEPS):
        raise RampupError(field, value, f"{what} between 0 and 10**15")
    nearest = round(value)
    if abs(value - nearest) <= 1e-9 * max(1.0, abs(value)):
        return int(nearest)
    return math.ceil(value)


def format_number(value: float) -> str:
    """The shortest text that parses back to exactly ``value`` (integers without ``.0``)."""
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(float(value))


def ceil_steps(x: float, field: str = "steps") -> int:
    """``ceil(x)``, except that a value within 1e-9 (relative) of an integer is that integer.

    ``x`` must be a finite number of steps in [0, MAX_STEPS] (else :class:`RampupError` names ``field``).
    """
    value = real_number(x)
    return step_count(math.nan if value is None else value, field)


def floor_steps(x: float, field: str = "steps") -> int:
    """``floor(x)``, except that a value within 1e-9 (relative) of an integer is that integer (the
    counterpart of :func:`ceil_steps`, for caps: "at most 25% of the run")."""
    value = real_number(x)
    if value is None or not (math.isfinite(value) and 0 <= value <= MAX_STEPS):
        raise RampupError(field, x, "a whole number of optimizer steps between 0 and 10**15")
    nearest = round(value)
    if abs(value - nearest) <= 1e-9 * max(1.0, abs(value)):
        return int(nearest)
    return math.floor(value)


def nearest_steps(x: float, field: str = "steps") -> int:
    """``round(x)`` (Python's: a half goes to the even neighbour), for lengths a formula gives in steps:
    the untuned warmups' ``2 / (1 - beta2)`` (Ma & Yarats 2021) and RAdam's."""
    value = real_number(x)
    if value is None or not (math.isfinite(value) and value >= 0):
        raise RampupError(field, x, "a finite number of optimizer steps >= 0")
    return round(value)  # the phase that takes this length checks it against MAX_STEPS, naming the phase


def early_window(warmup_steps: int, total_steps: int | None, share: float = 0.2, minimum: int = 0) -> int:
    """The start of a run that instability is looked for in: the warmup, at least ``share`` of the run
    (rounded up) and at least ``minimum`` updates. The lab counts spikes in it (``minimum`` 0), the
    monitor watches it (``minimum`` 50, so that runs without warmup are watched too)."""
    part = 0 if total_steps is None else ceil_steps(share * total_steps, "total_steps")
    return max(warmup_steps, part, minimum)


@dataclass(frozen=True)
class ResolveContext:
    """What relative durations are resolved against."""

    total_steps: int | None = None
    steps_per_epoch: float | None = None
    tokens_per_step: float | None = None


@dataclass(frozen=True)
class Duration:
    """A length of time in one of four units.

    ``amount`` is the number as written: ``Duration(5, "percent")`` is 5% of
    the total, ``Duration(375e6, "tokens")`` is 375M tokens.
    """

    amount: float
    unit: Unit = "steps"

    def __post_init__(self) -> None:
        given = self.amount
        amount = real_number(given)
        if amount is None:
            raise RampupError("duration", given, "a number of steps, a percentage, epochs or tokens")
        if not math.isfinite(amount) or amount < 0:
            raise RampupError("duration", given, "a finite number >= 0")
        if self.unit not in ("steps", "percent", "epochs", "tokens"):
            raise RampupError("duration unit", self.unit, "one of 'steps', 'percent', 'epochs', 'tokens'")
        if self.unit == "steps" and not amount.is_integer():
            raise RampupError(
                "duration", given, "a whole number of steps", hint="use a percentage like 5% for a fraction"
            )
        if self.unit == "steps" and amount > MAX_STEPS:
            raise RampupError("duration", given, "a whole number of steps between 0 and 10**15")
        if self.unit == "percent" and amount > 100:
            raise RampupError("duration", f"{format_number(amount)}%", "a percentage between 0% and 100%")
        object.__setattr__(self, "amount", amount)

    @classmethod
    def parse(cls, text: str | int | float | Duration, field: str = "duration") -> Duration:
        """Read ``100``, ``5%``, ``2ep``, ``2.5ep``, ``375Mtok`` (or an int, or a Duration)."""
        if isinstance(text, Duration):
            return text
        if isinstance(text, bool):
            raise RampupError(field, text, "a duration such as 100, 5%, 2ep or 375Mtok")
        try:
            return cls._parse(text, field)
        except RampupError as error:  # name the caller's field (the phase), not just "duration"
            if error.field != "duration" or field == "duration":
                raise
            raise RampupError(field, error.value, error.expected, hint=error.hint) from None

    @classmethod
    def _parse(cls, text: str | int | float, field: str) -> Duration:
        if real_number(text) is not None:
            return cls(text, "steps")  # type: ignore[arg-type]
        if not isinstance(text, str):
            raise RampupError(field, text, "a duration such as 100, 5%, 2ep or 375Mtok")
        match = _DURATION_RE.match(text.strip())
        if match is None:
            raise RampupError(field, text, "a duration such as 100, 5%, 2ep or 375Mtok")
        number = float(match.group(1))
        suffix = match.group(2)
        if suffix is None:
            return cls(number, "steps")
        if suffix == "%":
            return cls(number, "percent")
        if suffix == "ep":
            return cls(number, "epochs")
        scale = _TOKEN_SUFFIXES.get(match.group(3) or "", 1.0)
        return cls(number * scale, "tokens")

    @property
    def is_relative(self) -> bool:
        """True unless the duration is a plain number of steps."""
        return self.unit != "steps"

    def __str__(self) -> str:
        if self.unit == "steps":
            return format_number(self.amount)
        if self.unit == "percent":
            return f"{format_number(self.amount)}%"
        if self.unit == "epochs":
            return f"{format_number(self.amount)}ep"
        for suffix in ("T", "B", "M", "K"):
            scale = _TOKEN_SUFFIXES[suffix]
            scaled = self.amount / scale
            if self.amount >= scale and scaled.is_integer() and scaled * scale == self.amount:
                return f"{int(scaled)}{suffix}tok"
        return f"{format_number(self.amount)}tok"

    def to_steps(self, context: ResolveContext, field: str = "duration") -> int:
        """The number of optimizer steps this duration lasts in ``context`` (rounded up)."""
        if self.unit == "steps":
            return int(self.amount)
        if self.unit == "percent":
            if context.total_steps is None:
                raise RampupError(
                    "total_steps",
                    None,
                    "a positive number of steps",
                    hint=f"{field} is {self}, a share of the total: pass total_steps (--total-steps N)",
                )
            total = real_number(context.total_steps)
            return step_count(math.nan if total is None else total * self.amount / 100.0, field)
        if self.unit == "epochs":
            if context.steps_per_epoch is None:
                raise RampupError(
                    "steps_per_epoch",
                    None,
                    "a positive number of optimizer steps per epoch",
                    hint=f"{field} is {self}: pass steps_per_epoch (--steps-per-epoch K)",
                )
            per_epoch = real_number(context.steps_per_epoch)
            return step_count(math.nan if per_epoch is None else self.amount * per_epoch, field)
        if context.tokens_per_step is None:
            raise RampupError(
                "tokens_per_step",
                None,
                "a positive number of tokens per optimizer step",
                hint=f"{field} is {self}: pass tokens_per_step (--tokens-per-step K), e.g. batch x sequence length",
            )
        per_step = real_number(context.tokens_per_step)
        return step_count(math.nan if per_step is None else self.amount / per_step, field)
