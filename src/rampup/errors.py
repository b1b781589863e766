"""The one exception type of rampup.

Every bad input is answered with :class:`RampupError`, a subclass of
:class:`ValueError`. Its message names the field, the value it got and what
would be valid, so that a user can fix the input without reading code.
"""

from __future__ import annotations

__all__ = ["RampupError"]


#: longest shown form of a bad value, and the characters of a long spec shown on each side of the position
_MAX_SHOWN = 80
_AROUND = 30


def _show(value: object) -> str:
    """``repr(value)``, shortened in the middle when long (a 1 MB spec is not echoed back)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**_MAX_SHOWN:
        digits = int(abs(value).bit_length() * 0.30102999566) + 1  # without str(): it refuses 4300+ digits
        return f"{'-' if value < 0 else ''}<an integer of about {digits} digits>"
    try:
        text = repr(value)
    except Exception:  # a repr that fails (an object's own __repr__) still gives one line
        text = f"<{type(value).__name__}>"
    if len(text) > _MAX_SHOWN:
        text = text[: _MAX_SHOWN - 20] + " … " + text[-17:]
    return text.replace("\n", " ")


def _excerpt(text: str, position: int) -> tuple[str, int]:
    """The part of ``text`` around ``position`` (``…`` where cut) and where the position falls in it."""
    if len(text) <= 2 * _AROUND + 12:
        return text, position
    start = max(0, position - _AROUND)
    end = min(len(text), position + _AROUND)
    head = "…" if start > 0 else ""
    tail = "…" if end < len(text) else ""
    return head + text[start:end] + tail, position - start + len(head)


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
            shown, _ = _excerpt(self.text, self.position)
            where = f" at position {self.position} of {shown!r}"
        else:
            where = ""
        message = f"{self.field}: got {_show(self.value)}{where}, expected {self.expected}"
        if self.hint:
            message += f"; {self.hint}"
        return " ".join(message.splitlines())  # one line, whatever a hint from elsewhere (SQLite) holds

    def __str__(self) -> str:
        message = self.line()
        if self.position is not None and self.text is not None:
            shown, at = _excerpt(self.text, self.position)
            shown = "".join(" " if char.isspace() else char for char in shown)
            message += f"\n    {shown}\n    {' ' * at}^"
        return message
