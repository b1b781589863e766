"""Spec text and dict form of a schedule, and its description in words.

Grammar (whitespace is free between tokens)::

    schedule := phase ( "->" phase )*
    phase    := NAME [ "(" [ arg ( "," arg )* ] ")" ]
    arg      := LENGTH | KEY "=" value          (the length comes first, at most once)
    value    := NUMBER | DURATION | "true" | "false" | "[" value ( "," value )* "]"

``str(parse(text))`` is the canonical text and ``parse(str(s)) == s``. Nothing
here calls ``eval``: the text is read by a small recursive-descent parser,
and every error points at the place in the text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from rampup.curves import DECAY_CURVES, WARMUP_CURVES, curve_for
from rampup.durations import Duration
from rampup.errors import RampupError
from rampup.schedule import ParamValue, Phase, Schedule, infer_roles, normalize_phase

__all__ = ["describe", "parse_spec", "schedule_from_dict", "schedule_to_dict"]

_NAME = re.compile(r"[A-Za-z0-9_]+(?:-[A-Za-z0-9_]+)*")
_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# ASCII digits only (``\d`` would also match "５" and "١٠")
_VALUE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?(?:%|ep|[KMBGT]?tok)?(?![A-Za-z0-9_.])")
_WORD = re.compile(r"(?:true|false)(?![A-Za-z0-9_])")

_PHASE_HELP = "a curve name such as linear, cosine or untuned-linear"


class _RawPhase:
    def __init__(self, name: str, position: int) -> None:
        self.name = name
        self.position = position
        self.length: str | None = None
        self.length_position = position
        self.args: list[tuple[str, Any]] = []
        self.positions: dict[str, int] = {}


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, expected: str, position: int | None = None, got: str | None = None) -> RampupError:
        position = self.pos if position is None else position
        if got is None:
            rest = self.text[position:]
            got = rest[:12] if rest else "the end"
        return RampupError("spec", got, expected, text=self.text, position=position)

    def skip(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self, literal: str) -> bool:
        self.skip()
        return self.text.startswith(literal, self.pos)

    def take(self, literal: str) -> bool:
        if self.peek(literal):
            self.pos += len(literal)
            return True
        return False

    def match(self, pattern: re.Pattern[str]) -> str | None:
        self.skip()
        found = pattern.match(self.text, self.pos)
        if found is None:
            return None
        self.pos = found.end()
        return found.group(0)

    def schedule(self) -> list[_RawPhase]:
        phases = [self.phase()]
        while self.take("->"):
            phases.append(self.phase())
        self.skip()
        if self.pos != len(self.text):
            raise self.fail("'->' and another phase, or the end of the spec")
        return phases

    def phase(self) -> _RawPhase:
        self.skip()
        start = self.pos
        name = self.match(_NAME)
        if name is None:
            raise self.fail(_PHASE_HELP)
        raw = _RawPhase(name.lower(), start)
        if not self.take("("):
            return raw
        if self.take(")"):
            return raw
        while True:
            self.skip()
            arg_start = self.pos
            key = self.match(_KEY)
            if key is not None and self.take("="):
                if key in raw.positions:
                    raise self.fail(f"each parameter once ({key!r} is given twice)", arg_start, key)
                raw.positions[key] = arg_start
                raw.args.append((key, self.value()))
            else:
                self.pos = arg_start
                token = self.match(_VALUE)
                if token is None:
                    raise self.fail("a length (100, 5%, 2ep, 375Mtok) or name=value")
                if raw.args or raw.length is not None:
                    raise self.fail("name=value: the length comes first and only once", arg_start, token)
                raw.length = token
                raw.length_position = arg_start
            if self.take(")"):
                return raw
            if not self.take(","):
                raise self.fail("',' or ')'")

    def value(self) -> Any:
        if self.take("["):
            items = [self.scalar()]
            while self.take(","):
                items.append(self.scalar())
            if not self.take("]"):
                raise self.fail("',' or ']'")
            return items
        return self.scalar()

    def scalar(self) -> str:
        token = self.match(_VALUE) or self.match(_WORD)
        if token is None:
            raise self.fail("a number, a duration (100, 5%, 2ep, 375Mtok), true/false or a [list]")
        return token


def parse_spec(text: str) -> Schedule:
    """Read spec text such as ``"linear(5%) -> cosine(to=0.1)"`` into a :class:`Schedule`."""
    if not isinstance(text, str):
        raise RampupError("spec", text, "spec text such as 'linear(5%) -> cosine(to=0.1)'")
    if not text.strip():
        raise RampupError("spec", text, "at least one phase, such as 'linear(5%) -> cosine(to=0.1)'")
    parser = _Parser(text)
    raw_phases = parser.schedule()
    roles = infer_roles([(raw.name, [key for key, _ in raw.args]) for raw in raw_phases])
    phases = []
    for index, (raw, role) in enumerate(zip(raw_phases, roles, strict=True)):
        try:
            phases.append(normalize_phase(index, raw.name, raw.length, raw.args, role, len(raw_phases)))
        except RampupError as error:
            raise RampupError(
                error.field,
                error.value,
                error.expected,
                hint=error.hint,
                text=text,
                position=_blame(raw, error),
            ) from None
    try:
        return Schedule(tuple(phases))
    except RampupError as error:
        raise RampupError(error.field, error.value, error.expected, hint=error.hint, text=text, position=0) from None


def _blame(raw: _RawPhase, error: RampupError) -> int:
    """Where in the text a phase's validation error belongs."""
    field = error.field
    if field.endswith(" length"):
        return raw.length_position
    if field.endswith(": parameter") and isinstance(error.value, str) and error.value in raw.positions:
        return raw.positions[error.value]
    for key, position in raw.positions.items():
        if field.endswith(f": {key}"):
            return position
    return raw.position


# --------------------------------------------------------------------------- dict form


def _value_to_data(value: ParamValue) -> Any:
    if isinstance(value, Duration):
        return int(value.amount) if value.unit == "steps" else str(value)
    if isinstance(value, tuple):
        return [_value_to_data(item) for item in value]
    return value


def schedule_to_dict(schedule: Schedule) -> dict[str, Any]:
    """``{"phases": [{"curve": ..., "length": ..., <params>}, ...]}``: plain JSON-able data."""
    phases = []
    for phase in schedule.phases:
        item: dict[str, Any] = {"curve": phase.curve}
        if phase.length is not None:
            item["length"] = _value_to_data(phase.length)
        for key, value in phase.params:
            item[key] = _value_to_data(value)
        phases.append(item)
    return {"phases": phases}


def schedule_from_dict(data: Mapping[str, Any]) -> Schedule:
    """Read the dict form written by :func:`schedule_to_dict` (also from JSON, YAML, TOML)."""
    if not isinstance(data, Mapping):
        raise RampupError("schedule", data, "a mapping with a 'phases' list")
    unknown = sorted(set(data) - {"phases"})
    if unknown:
        raise RampupError("schedule", unknown[0], "only the key 'phases'")
    items = data.get("phases")
    if isinstance(items, (str, bytes)) or not isinstance(items, (list, tuple)) or not items:
        raise RampupError("phases", items, "a non-empty list of phases like {'curve': 'linear', 'length': '5%'}")
    raw_phases: list[tuple[str, Any, list[tuple[str, Any]]]] = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise RampupError(f"phases[{index}]", item, "a mapping with at least 'curve'")
        curve = item.get("curve")
        if not isinstance(curve, str):
            raise RampupError(f"phases[{index}].curve", curve, _PHASE_HELP)
        params = [(str(key), value) for key, value in item.items() if key not in ("curve", "length")]
        raw_phases.append((curve.strip().lower(), item.get("length"), params))
    roles = infer_roles([(name, [key for key, _ in params]) for name, _, params in raw_phases])
    phases = [
        normalize_phase(index, name, length, params, role, len(raw_phases))
        for index, ((name, length, params), role) in enumerate(zip(raw_phases, roles, strict=True))
    ]
    return Schedule(tuple(phases))


# --------------------------------------------------------------------------- words


def _share(value: float) -> str:
    if value == 1.0:
        return "the peak"
    if value == 0.0:
        return "0"
    return f"{value * 100:.4g}% of the peak"


def _steps(start: float, length: float) -> str:
    if length == float("inf"):
        return f"from step {start:g} on"
    unit = "step" if length == 1 else "steps"
    return f"over {length:g} {unit} ({start:g}-{start + length:g})"


def _amount(value: object) -> str:
    """A duration parameter in words: ``100 steps``, ``1ep``, ``5%``."""
    if isinstance(value, Duration) and value.unit == "steps":
        return f"{value.amount:g} step" + ("" if value.amount == 1 else "s")
    if isinstance(value, (int, float)):
        return f"{value:g} step" + ("" if value == 1 else "s")
    return str(value)


def _modifiers(phase: Phase, length: float) -> str:
    """The phase modifiers in words (docs/semantics.md, "Phase modifiers"), each after a comma."""
    words = []
    of, skip = phase.get("of"), phase.get("skip")
    if skip is not None:
        words.append(f"starting {_amount(skip)} into its curve" + (f" of {_amount(of)}" if of is not None else ""))
    elif of is not None:
        words.append(f"the first {_amount(length)} of a curve of {_amount(of)}")
    if phase.get("stretch"):
        words.append("the rest of its curve stretched or shrunk to fit")
    if phase.get("per") is not None:
        words.append(f"held for {_amount(phase.get('per'))} at a time (a staircase)")
    if phase.get("k") is not None:
        words.append(f"k-decay with k={phase.get('k'):g}")
    if phase.get("floor") is not None:
        words.append(f"never below {_share(phase.get('floor'))}")
    if phase.get("delay"):
        words.append(f"its first {_amount(phase.get('delay'))} held at its start")
    return "".join(f", {word}" for word in words)


def describe(schedule: Schedule) -> str:
    """One sentence: ``"linear warmup from 0 to the peak over 50 steps (0-50), then ..."``."""
    segments = {seg.start: seg for seg in schedule.segments}
    parts = []
    for (phase, start, length), role in zip(schedule.spans(), schedule.roles, strict=True):
        curve = curve_for(phase.curve, role)
        assert curve is not None
        if length == 0:
            continue
        seg = segments[start]
        extra = _modifiers(phase, length)
        entering = schedule(start)  # the value the phase starts at (a phase may start part-way into its curve)
        if role == "warmup":
            parts.append(f"{curve.summary} from {_share(entering)} to the peak {_steps(start, length)}{extra}")
        elif phase.curve == "constant":
            parts.append(f"hold at {_share(entering)} {_steps(start, length)}{extra}")
        else:
            target = seg.end_value() if length != float("inf") else seg.b
            parts.append(f"{curve.summary} from {_share(entering)} to {_share(target)} {_steps(start, length)}{extra}")
    if not parts:
        return f"constant at {_share(schedule.final_value())}"
    text = ", then ".join(parts)
    end = schedule.phases_end
    if end != float("inf"):
        text += f"; after step {end:g} it holds at {_share(schedule.final_value())}"
    return text[0].upper() + text[1:] + "."


def curve_names() -> dict[str, list[str]]:
    """The curve names by role, for help texts."""
    return {"warmup": sorted(WARMUP_CURVES), "decay": sorted(DECAY_CURVES)}
