"""The one exception type of rampup.

Every bad input is answered with :class:`RampupError`, a subclass of
:class:`ValueError`. Its message names the field, the value it got and what
would be valid, so that a user can fix the input without reading code.
"""

from __future__ import annotations

__all__ = ["RampupError"]


def _show(value: object) -> str:
    if isinstance(value, str):
        return repr(value)
    return repr(value)


class RampupError(ValueError):
    """Bad input: names the field, the value it got and the fix.

    Attributes:
        field: what was wrong (``"total_steps"``, ``"spec"``, ``"phase 2 (cosine): to"``).
        value: the value that was given.
        expected: what would be valid, in words.
        hint: an optional way to fix it.
        text: for spec errors, the text being parsed.
        position: for spec errors, the 0-based index in ``text`` of the problem.
    """

    def __init__(
        self,
        field: str,
        value: object,
        expected: str,
        *,
        hint: str | None = None,
        text: str | None = None,
        position: int | None = None,
    ) -> None:
        self.field = field
        self.value = value
        self.expected = expected
        self.hint = hint
        self.text = text
        self.position = position
        super().__init__(self.line())

    def line(self) -> str:
        """The whole message on one line (what the command line prints)."""
        if self.position is not None and self.text is not None:
            where = f" at position {self.position} of {self.text!r}"
        else:
            where = ""
        message = f"{self.field}: got {_show(self.value)}{where}, expected {self.expected}"
        if self.hint:
            message += f"; {self.hint}"
        return message

    def __str__(self) -> str:
        message = self.line()
        if self.position is not None and self.text is not None:
            message += f"\n    {self.text}\n    {' ' * self.position}^"
        return message
