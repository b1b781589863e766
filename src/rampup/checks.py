"""The argument checks every front door shares (issue 17): one clear :class:`RampupError` per bad value.

Each check takes the value and the name of the field it came from, returns the value as the type the
caller works with, and otherwise raises ``RampupError(field, value, what would be valid)``. Numbers
are real numbers only: not ``bool`` (``True`` is not a learning rate), not text, never NaN or
infinite (``inf`` is refused everywhere: an exported ``lr=inf`` trains nothing). NumPy scalars are
numbers; a 0-d tensor is not (call ``.item()``).
"""

from __future__ import annotations

import math

from rampup.durations import real_number
from rampup.errors import RampupError

__all__ = ["fraction", "learning_rate", "optional_learning_rate", "positive", "ratio", "whole"]


def learning_rate(value: object, field: str = "peak_lr") -> float:
    """A finite learning rate > 0."""
    number = real_number(value)
    if number is None or not (math.isfinite(number) and number > 0):
        raise RampupError(field, value, "a finite learning rate > 0, e.g. 3e-4")
    return number


def optional_learning_rate(value: object, field: str = "peak_lr") -> float | None:
    """``None``, or a finite learning rate > 0."""
    return None if value is None else learning_rate(value, field)


def positive(value: object, field: str, expected: str = "a finite number > 0") -> float:
    """A finite number > 0; ``expected`` says in the error what it is (``"a batch size > 0"``)."""
    number = real_number(value)
    if number is None or not (math.isfinite(number) and number > 0):
        raise RampupError(field, value, expected)
    return number


def ratio(value: object, field: str, lowest: float) -> float:
    """A finite number above ``lowest`` (a threshold ratio such as ``1.5`` for "1.5x the median")."""
    number = real_number(value)
    if number is None or not (math.isfinite(number) and number > lowest):
        raise RampupError(field, value, f"a number > {lowest:g}")
    return number


def fraction(value: object, field: str, what: str, *, zero: bool = False) -> float:
    """A number in (0, 1], or [0, 1] with ``zero``; ``what`` says in the error what it is a fraction of."""
    number = real_number(value)
    if number is None or not ((number >= 0 if zero else number > 0) and number <= 1):
        raise RampupError(field, value, f"a fraction in {'[0' if zero else '(0'}, 1]: {what}")
    return number


def whole(value: object, field: str, lowest: int) -> int:
    """A whole number (``int``, not ``bool``) of at least ``lowest``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise RampupError(field, value, f"a whole number >= {lowest}")
    return value
