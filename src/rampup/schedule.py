"""Schedules: a sequence of phases, resolved against the run, evaluated at any step.

A schedule is a pure function ``step -> multiplier`` of the peak learning rate
(DESIGN.md). ``step`` is the number of optimizer updates already done, counted
from 0, and ``schedule(step)`` is the multiplier for the next update, so a
linear warmup over W steps gives ``schedule(0) == from`` and
``schedule(W) == 1``. After the last phase the value holds.

>>> s = parse("linear(5%) -> cosine(to=0.1)").resolve(total_steps=1000)
>>> str(s), s(0), s(50), s(1000)
('linear(50) -> cosine(950, to=0.1)', 0.0, 1.0, 0.1)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cached_property
from itertools import pairwise
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from rampup.curves import (
    DECAY_CURVES,
    SCALAR,
    VECTOR,
    WARMUP_CURVES,
    Curve,
    Param,
    Role,
    Segment,
    curve_for,
    multiples,
    whole_periods,
)
from rampup.durations import MAX_STEPS, Duration, ResolveContext, format_number, parse_number, real_number, step_count
from rampup.errors import RampupError

__all__ = ["ParamValue", "Phase", "Schedule", "as_schedule", "parse", "phase_params"]

ParamValue: TypeAlias = "float | bool | Duration | tuple[Duration, ...] | None"

#: inverse-sqrt's timescale when there is no warmup (Hugging Face's default)
DEFAULT_TIMESCALE = 10_000
#: the largest magnitude of a curve's number parameter: with steps at most MAX_STEPS, every formula stays finite
MAX_PARAM = 1e15


def _fraction(x: float) -> str | None:
    return None if 0 <= x <= 1 else "a fraction of the peak between 0 and 1"


_FROM = Param("from", "float", 0.0, _fraction, "where the warmup starts, as a fraction of the peak")
_TO = Param("to", "float", 0.0, _fraction, "where the decay ends, as a fraction of the peak")
_MIN = Param("min", "duration", None, None, "the phase lasts at least this long")
_MAX = Param("max", "duration", None, None, "the phase lasts at most this long")


def _positive(x: float) -> str | None:
    return None if x > 0 else "a duration > 0"


def _positive_number(x: float) -> str | None:
    return None if x > 0 else "a number > 0 (1: no k-decay)"


_OF = Param(
    "of",
    "duration",
    None,
    _positive,
    "the curve's own length, when the phase runs only part of it (a branch cuts a phase: cosine(400, of=900))",
)
_STRETCH = Param(
    "stretch",
    "durations",
    (),
    None,
    "[keep, was, now, ...]: the phase's steps after `keep`, which ended at `was`, now end at `now` (an extension)",
)
_SKIP = Param(
    "skip",
    "duration",
    None,
    _positive,
    "the curve's clock starts this far in: cosine(L, skip=W) runs steps W .. W+L of a cosine of L+W "
    "(timm without --warmup-prefix, NeMo's SquareRootAnnealing)",
)
_PER = Param(
    "per",
    "duration",
    None,
    _positive,
    "a staircase: the phase's clock is held at floor(t / per) * per, one value for each `per` updates "
    "(timm's and mmengine's per-epoch stepping: per=1ep)",
)
_FLOOR = Param(
    "floor",
    "float",
    0.0,
    _fraction,
    "a clip: the decay's value is max(curve, floor), not a decay towards it (NeMo's max(lr * mult, min_lr))",
)
_K = Param(
    "k",
    "float",
    1.0,
    _positive_number,
    "k-decay: the decay's progress p becomes p ** k (Zhang et al. 2020; timm's --lr-k-decay)",
)
#: the parameters that make a phase a window onto its curve (Schedule.branch writes of= and stretch=)
_WINDOW_KEYS = ("of", "skip", "stretch")
#: the parameters that change how a phase reads its curve: k-decay, a clip, a staircase (see _Part)
_MODIFIER_KEYS = ("k", "floor", "per")


def phase_params(curve: Curve) -> tuple[Param, ...]:
    """Every keyword a phase of this curve accepts, in canonical order."""
    extra: tuple[Param, ...]
    modifiers: tuple[Param, ...]
    if curve.role == "warmup":
        extra, modifiers = (_FROM,), (_PER,)
    elif curve.name == "constant":
        extra, modifiers = (), (_PER,)
    else:
        extra, modifiers = (_TO,), (_K, _FLOOR, _PER)
    clamps = () if curve.derives_length else (_MIN, _MAX)
    return curve.params + extra + (_OF, _SKIP, _STRETCH) + modifiers + clamps


def _names(curves: Mapping[str, Curve]) -> str:
    return ", ".join(sorted(curves))


def _coerce(param: Param, raw: Any, field_name: str) -> ParamValue:
    """Check and convert one parameter value (from text, a dict or Python)."""
    if param.kind == "bool":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise RampupError(field_name, raw, "true or false")
    if param.kind == "float":
        value = parse_number(raw) if isinstance(raw, str) else real_number(raw)
        if value is None:
            raise RampupError(field_name, raw, f"a finite number ({param.doc})")
        if not (math.isfinite(value) and abs(value) <= MAX_PARAM):
            raise RampupError(field_name, raw, f"a finite number of at most 1e15 ({param.doc})")
        problem = param.check(value) if param.check else None
        if problem:
            raise RampupError(field_name, raw, problem)
        return value
    if param.kind == "duration":
        duration = Duration.parse(raw, field_name)
        if param.check and param.check(duration.amount):
            raise RampupError(field_name, str(duration), "a duration > 0")
        return duration
    if isinstance(raw, (str, bytes)) or not isinstance(raw, Iterable):
        raise RampupError(field_name, raw, "a list of durations such as [30ep, 60ep, 80ep]")
    items = tuple(Duration.parse(item, field_name) for item in raw)
    if not items:
        raise RampupError(field_name, list(raw), "at least one milestone")
    return items


@dataclass(frozen=True)
class Phase:
    """One phase: a curve, its length (None: open, takes what remains) and its parameters.

    ``params`` holds only the parameters that differ from their defaults, in
    canonical order, so that equal phases compare equal however they were written.
    Build one with :meth:`Phase.of`.
    """

    curve: str
    length: Duration | None = None
    params: tuple[tuple[str, ParamValue], ...] = ()

    @classmethod
    def of(cls, curve: str, length: Duration | str | int | None = None, **params: Any) -> Phase:
        """``Phase.of("linear", "5%", from_=0.1)`` (``from_`` stands for ``from``)."""
        if "from_" in params:
            params["from"] = params.pop("from_")
        duration = None if length is None else Duration.parse(length, f"{curve}: length")
        return cls(curve, duration, tuple(params.items()))

    def get(self, name: str, default: Any = None) -> Any:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _ in self.params)

    def __str__(self) -> str:
        args = [] if self.length is None else [str(self.length)]
        for key, value in self.params:
            args.append(f"{key}={_format_value(value)}")
        return f"{self.curve}({', '.join(args)})" if args else self.curve


def _format_value(value: ParamValue) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(str(item) for item in value) + "]"
    assert isinstance(value, (int, float))
    return format_number(value)


def infer_roles(phases: Sequence[tuple[str, Iterable[str]]]) -> list[Role]:
    """Which phase is a warmup: the rule that makes ``linear(5%) -> cosine`` read as it should.

    Only the first phase can be a warmup. It is one when its curve exists only as a
    warmup (``untuned-linear``, ``radam``), when it has ``from=``, or when more
    phases follow and its curve is a warmup shape other than ``constant`` (a flat
    start at 0 is the stable phase, not a warmup: write ``constant(N, from=0.1)``
    for Goyal et al.'s constant warmup). A phase with ``to=`` is a decay, unless its curve
    exists only as a warmup (then the warmup's check rejects ``to=`` by name).
    """
    roles: list[Role] = []
    for index, (name, keys) in enumerate(phases):
        keys = set(keys)
        in_warmup, in_decay = name in WARMUP_CURVES, name in DECAY_CURVES
        role: Role
        if index > 0 or not in_warmup or ("to" in keys and in_decay):
            role = "decay"
        elif "from" in keys or not in_decay:
            role = "warmup"
        else:
            role = "warmup" if len(phases) > 1 and name != "constant" else "decay"
        roles.append(role)
    return roles


def _role_keys(index: int, name: str, role: Role, count: int | None) -> set[str]:
    """The keys that decide a first phase's role (:func:`infer_roles`): kept even at their default.

    ``linear(10, from=0)`` alone is a warmup and ``linear(10, to=0) -> cosine`` starts
    with a decay; dropping the default-valued key would turn them around.
    ``count`` is the number of phases (None: not known, keep the key).
    """
    if index > 0 or name not in WARMUP_CURVES or name not in DECAY_CURVES:
        return set()
    if role == "warmup":
        return {"from"} if count is None or count == 1 or name == "constant" else set()
    return {"to"} if count is None or (count > 1 and name != "constant") else set()


def normalize_phase(
    index: int,
    curve_name: str,
    length: Any,
    raw_params: Sequence[tuple[str, Any]],
    role: Role,
    phase_count: int | None = None,
) -> Phase:
    """Validate one phase and put it in canonical form; errors name the phase and field."""
    label = f"phase {index + 1} ({curve_name})"
    curve = curve_for(curve_name, role)
    if curve is None:
        if role == "decay" and curve_name in WARMUP_CURVES:
            raise RampupError(
                f"phase {index + 1}",
                curve_name,
                "a decay curve here: only the first phase can be a warmup",
                hint=f"decay curves are {_names(DECAY_CURVES)}",
            )
        raise RampupError(
            f"phase {index + 1}",
            curve_name,
            f"a curve name: warmups {_names(WARMUP_CURVES)}; decays {_names(DECAY_CURVES)}",
        )
    duration: Duration | None = None
    windowed = any(key in _WINDOW_KEYS for key, _ in raw_params)
    if length is not None:
        if curve.derives_length and not windowed:
            raise RampupError(
                f"{label}: length",
                str(length),
                "no length: this curve takes its length from beta2",
                hint=f"remove it, or write linear({length}) for a tuned warmup",
            )
        duration = Duration.parse(length, f"{label}: length")
    allowed = {param.name: param for param in phase_params(curve)}
    given: dict[str, ParamValue] = {}
    for key, raw in raw_params:
        if key in given:
            raise RampupError(f"{label}: {key}", raw, "each parameter once")
        if key not in allowed:
            valid = ", ".join(name for name in allowed if name not in (*_WINDOW_KEYS, *_MODIFIER_KEYS)) or "none"
            modifiers = ", ".join(f"{name}=" for name in _MODIFIER_KEYS if name in allowed)
            if key == "from" and role == "decay":
                expected = "no 'from': only a warmup (the first phase) starts from a value"
            elif key == "to" and role == "warmup":
                expected = "no 'to': a warmup always ends at the peak (1)"
            else:
                expected = (
                    f"one of its parameters ({valid}), or of=, skip= and stretch= for part of its curve, "
                    f"or the modifiers {modifiers}"
                )
                if key == "k":
                    expected = "no 'k': k-decay bends a decay's progress; a warmup or a hold has none"
                if key == "floor":
                    expected = (
                        "no 'floor': a constant phase has nothing to clip; put floor= on a decay curve"
                        if role == "decay"
                        else "no 'floor': a warmup rises to the peak; floor= clips a decay"
                    )
            raise RampupError(f"{label}: parameter", key, expected)
        given[key] = _coerce(allowed[key], raw, f"{label}: {key}")
    _check_combinations(label, curve, duration, given)
    keep = _role_keys(index, curve_name, role, phase_count)
    params = tuple(
        (param.name, given[param.name])
        for param in phase_params(curve)
        if param.name in given and (not _is_default(param, given[param.name]) or param.name in keep)
    )
    return Phase(curve_name, duration, params)


def _is_default(param: Param, value: ParamValue) -> bool:
    """Whether ``value`` is the parameter's default (``every=1`` is a Duration, its default the number 1)."""
    default = param.default
    if isinstance(value, Duration) and isinstance(default, float):
        return value.unit == "steps" and value.amount == default
    return bool(value == default)


def _check_combinations(label: str, curve: Curve, length: Duration | None, given: Mapping[str, Any]) -> None:
    if curve.name == "step" and curve.role == "decay" and ("every" in given) == ("at" in given):
        raise RampupError(
            label, "every and at" if "every" in given else "neither", "exactly one of every=D or at=[...]"
        )
    if curve.name == "cosine-restarts":
        if given.get("cycles") is not None and given.get("period") is not None:
            raise RampupError(label, "cycles and period", "one of cycles=N or period=D")
        if given.get("mult", 1.0) != 1.0 and given.get("period") is None:
            raise RampupError(f"{label}: mult", given["mult"], "mult only with period=D")
    if curve.name == "exponential" and curve.role == "decay" and given.get("gamma") is None:
        if given.get("to", 0.0) <= 0:
            raise RampupError(
                label,
                "exponential without gamma or to",
                "gamma=G (the factor per `every` steps) or to=T > 0 (the value to reach at the end)",
            )
        if "every" in given or "staircase" in given:
            raise RampupError(label, "every/staircase without gamma", "gamma=G with every and staircase")
    if curve.name == "tanh" and given.get("lb", -7.0) >= given.get("ub", 3.0):
        raise RampupError(
            f"{label}: lb",
            given.get("lb", -7.0),
            f"a number below ub ({given.get('ub', 3.0):g}): tanh decays from lb to ub",
        )
    floor, to = given.get("floor", 0.0), given.get("to", 0.0)
    if floor and floor <= to:
        raise RampupError(
            f"{label}: floor",
            floor,
            f"a floor above to={to:g}: the decay never goes below its target, so this floor clips nothing",
            hint="leave floor= out, or lower to=",
        )
    stretch = given.get("stretch", ())
    if len(stretch) % 3:
        raise RampupError(
            f"{label}: stretch",
            _format_value(stretch),
            "whole triples [keep, was, now]: after `keep` steps, the rest that ended at `was` now ends at `now`",
        )
    if ("of" in given or stretch) and length is None:
        raise RampupError(
            f"{label} length", None, "a length: a phase that runs part of its curve (of=, stretch=) states its own"
        )
    low, high = given.get("min"), given.get("max")
    if isinstance(low, Duration) and isinstance(high, Duration) and low.unit == high.unit and low.amount > high.amount:
        raise RampupError(f"{label}: min", str(low), f"at most max ({high})")


@dataclass(frozen=True)
class _Plan:
    """A schedule compiled for evaluation."""

    segments: tuple[Segment, ...]
    starts: tuple[float, ...]
    end: float
    final: float
    spans: tuple[tuple[int, int, float], ...]  # (phase index, start step, length) for every phase
    roles: tuple[Role, ...]


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: phases, and what relative lengths are resolved against.

    Build one with :func:`parse`, :meth:`from_dict`, a preset, or from phases.
    Call it with a step for the multiplier of the peak rate; :meth:`values` does
    a whole array of steps at once.
    """

    phases: tuple[Phase, ...]
    context: ResolveContext = field(default=ResolveContext(), compare=False, repr=False)

    def __post_init__(self) -> None:
        phases = tuple(self.phases)
        if not phases:
            raise RampupError("phases", [], "at least one phase, e.g. 'linear(5%) -> cosine'")
        for phase in phases:
            if not isinstance(phase, Phase):
                raise RampupError("phases", phase, "Phase objects (use parse() for text)")
        roles = infer_roles([(phase.curve, phase.keys()) for phase in phases])
        normalized = tuple(
            normalize_phase(i, phase.curve, phase.length, phase.params, role, len(phases))
            for i, (phase, role) in enumerate(zip(phases, roles, strict=True))
        )
        object.__setattr__(self, "phases", normalized)
        _check_context(self.context)
        _check_sizes(normalized, roles)

    # ------------------------------------------------------------------ building

    @classmethod
    def parse(cls, text: str) -> Schedule:
        """Read spec text such as ``"linear(5%) -> cosine(to=0.1)"``."""
        from rampup.spec import parse_spec

        return parse_spec(text)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schedule:
        """The dict form: ``{"phases": [{"curve": "linear", "length": "5%"}, {"curve": "cosine"}]}``."""
        from rampup.spec import schedule_from_dict

        return schedule_from_dict(data)

    def to_dict(self) -> dict[str, Any]:
        """The dict form (for JSON, YAML or TOML); :meth:`from_dict` reads it back."""
        from rampup.spec import schedule_to_dict

        return schedule_to_dict(self)

    def resolve(
        self,
        total_steps: int | None = None,
        *,
        steps_per_epoch: float | None = None,
        tokens_per_step: float | None = None,
    ) -> Schedule:
        """The same schedule with every length in steps, for a run of ``total_steps`` updates.

        Percentages need ``total_steps``, epochs ``steps_per_epoch``, tokens
        ``tokens_per_step``; the one phase without a length takes what remains.
        """
        context = ResolveContext(
            total_steps=self.context.total_steps if total_steps is None else total_steps,
            steps_per_epoch=self.context.steps_per_epoch if steps_per_epoch is None else steps_per_epoch,
            tokens_per_step=self.context.tokens_per_step if tokens_per_step is None else tokens_per_step,
        )
        _check_context(context)
        plan = _compile(self.phases, context)
        phases = []
        for (index, _, length), phase, role in zip(plan.spans, self.phases, plan.roles, strict=True):
            curve = curve_for(phase.curve, role)
            assert curve is not None
            unlengthed = curve.derives_length and phase.length is None
            new_length = None if (unlengthed or math.isinf(length)) else Duration(length)
            params = []
            for key, value in phase.params:
                if key in ("min", "max"):
                    continue
                if isinstance(value, Duration):
                    value = Duration(value.to_steps(context, f"phase {index + 1}: {key}"))
                elif isinstance(value, tuple):
                    value = tuple(Duration(item.to_steps(context, f"phase {index + 1}: {key}")) for item in value)
                params.append((key, value))
            phases.append(Phase(phase.curve, new_length, tuple(params)))
        resolved_context = ResolveContext(total_steps=context.total_steps)
        resolved = Schedule(tuple(phases), resolved_context)
        _ = resolved._plan  # compiled now: a resolved schedule that cannot be evaluated fails here, not later
        return resolved

    # ------------------------------------------------------------------ branching

    def branch(
        self,
        at: int,
        then: Schedule | str | Mapping[str, Any] | None = None,
        *,
        total_steps: int | None = None,
    ) -> Schedule:
        """A schedule equal to this one before step ``at`` that goes on differently from there.

        ``then=SPEC``: the phases of SPEC (decays) follow from the value at ``at``:
        ``s.branch(at=6000, then="1-sqrt(2000)")`` cools a warmup-stable-decay run down
        from step 6000 to 0 over 2000 steps (Hägele et al. 2024). A phase of SPEC
        without a length takes what remains of ``total_steps`` (default: this run's).

        ``total_steps=T2`` alone: the same plan on a run of ``T2`` steps that keeps
        steps ``<= at`` as they were and stretches (or shrinks) the rest of the plan,
        ``[at, T]``, onto ``[at, T2]``: phase boundaries ``b`` move to
        ``at + round((b - at) (T2 - at) / (T - at))`` (at least ``at + 1``), and the phase running at ``at``
        keeps its curve up to ``at`` and plays its rest over its new length (the
        ``stretch=`` of :class:`_Part`), so the rate goes on from its value at ``at``
        without a jump and reaches the same targets.

        The past is phases too: the phase running at ``at`` is cut there
        (``cosine(400, of=900)``: the first 400 steps of a 900-step cosine), so the
        result has canonical text that round-trips like every schedule.
        """
        at = _check_branch_step(at)
        if then is None and total_steps is None:
            raise RampupError(
                "then", None, "the phases to continue with (then='1-sqrt(2000)') or the run's new total_steps"
            )
        if total_steps is not None:
            _check_context(ResolveContext(total_steps=total_steps))
        try:
            base = self.resolve()
        except RampupError as error:
            raise RampupError(
                "schedule",
                str(self),
                "a schedule whose lengths are resolved against the run before it branches",
                hint=f"resolve(total_steps=...) it first ({error.field}: {error.expected})",
            ) from None
        plan = base._plan
        total = base.total_steps
        last = plan.end if total is None else max(plan.end, total)
        if at > last:
            raise RampupError("at", at, f"a step from 0 to {last:g}, where this run ends", hint="branch within the run")
        if then is None:
            assert total_steps is not None
            return _extend(base, at, total_steps)
        return _graft(base, at, then, total_steps, self.context)

    # ------------------------------------------------------------------ evaluation

    @cached_property
    def _plan(self) -> _Plan:
        return _compile(self.phases, self.context)

    def __call__(self, step: float) -> float:
        """The multiplier of the peak rate for the update after ``step`` updates."""
        step = _check_step(step)
        plan = self._plan
        if step >= plan.end:
            return plan.final
        seg = plan.segments[bisect_right(plan.starts, step) - 1]
        return float(seg.curve.formula(SCALAR, step - seg.start, seg))

    def segment_at(self, step: float) -> Segment | None:
        """The resolved phase that ``step`` falls in, or None past the end (the value then holds).

        ``seg.value(SCALAR, step - seg.start)`` is ``self(step)``: front doors that step
        through a run one update at a time (``rampup.torch``) look the phase up once per
        phase with this, instead of once per step.
        """
        step = _check_step(step)
        plan = self._plan
        if step >= plan.end:
            return None
        return plan.segments[bisect_right(plan.starts, step) - 1]

    def values(self, steps: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The multipliers at many steps at once (NumPy, float64); equals calling one by one.

        Works through the steps in blocks small enough for the CPU cache, so that
        the formulas' intermediate arrays never travel to main memory.
        """
        array = _step_array(steps)
        flat = array.reshape(-1)
        plan = self._plan
        out = np.empty(flat.shape, dtype=np.float64)
        for begin in range(0, flat.size, _BLOCK):
            block = flat[begin : begin + _BLOCK].astype(np.float64, copy=False)
            _fill_block(plan, block, out[begin : begin + _BLOCK])
        return out.reshape(array.shape)

    def evaluate(self, steps: Any, xp: Any) -> Any:
        """The multipliers for an array of ``xp`` (``jax.numpy``, ``keras.ops``, NumPy), branch-free.

        Made for tracing (``jax.jit``, Keras graphs): no Python ``if`` looks at a
        value of ``steps``. Each phase is evaluated on clipped steps and the
        right one chosen with ``xp.where``.
        """
        plan = self._plan
        segments = plan.segments
        if segments and math.isinf(segments[-1].length):
            last = segments[-1]
            out = last.curve.formula(xp, xp.maximum(steps - last.start, 0.0), last)
            segments = segments[:-1]
        else:
            out = 0.0 * steps + plan.final
        for seg in reversed(segments):
            t = xp.minimum(xp.maximum(steps - seg.start, 0.0), seg.length)
            out = xp.where(steps < seg.end, seg.curve.formula(xp, t, seg), out)
        return out

    # ------------------------------------------------------------------ introspection

    @property
    def warmup_steps(self) -> int:
        """The step at which the warmup ends (0 without a warmup)."""
        plan = self._plan
        if plan.roles[0] != "warmup":
            return 0
        return plan.spans[0][2]  # type: ignore[return-value]

    @property
    def total_steps(self) -> int | None:
        """The run's length: the total it was resolved with, else the sum of the phases (None if open-ended)."""
        if self.context.total_steps is not None:
            return self.context.total_steps
        end = self._plan.end
        return None if math.isinf(end) else int(end)

    @property
    def peak(self) -> float:
        """The largest multiplier the schedule reaches (1 for every schedule with a warmup or a decay from the peak)."""
        plan = self._plan
        candidates = [plan.final] + [seg.a for seg in plan.segments] + [seg.end_value() for seg in plan.segments]
        if plan.roles[0] == "warmup":
            candidates.append(1.0)
        return max(candidates)

    @property
    def roles(self) -> tuple[Role, ...]:
        """``"warmup"`` or ``"decay"`` for each phase (known without resolving the lengths)."""
        return tuple(infer_roles([(phase.curve, phase.keys()) for phase in self.phases]))

    # ------------------------------------------------------------------ the cursor: where a step falls

    @property
    def segments(self) -> tuple[Segment, ...]:
        """The phases as the engine evaluates them, in order: each with its start step, length
        (``inf`` for an open-ended last phase), start value ``a``, target ``b`` and resolved
        parameters. Phases of length 0 are left out (no step falls in them).

        ``seg.value(SCALAR, step - seg.start)`` is ``self(step)`` for ``seg.start <= step < seg.end``;
        :meth:`segment_at` finds the one a step falls in; past :attr:`phases_end` the value
        :meth:`final_value` holds.
        """
        return self._plan.segments

    @property
    def phases_end(self) -> float:
        """The step where the last phase ends (``inf`` when it is open-ended); from there the value holds."""
        return self._plan.end

    def jumps(self, stop: float, most: int = 100_000) -> list[float]:
        """The steps in ``(0, stop]`` where the multiplier jumps, in order: ``self(s)`` differs from its limit
        from the left by more than 1e-9 of the peak (a constant or exponential warmup's end, a phase that
        starts elsewhere than the last one ended, step decay's drops, restarts, RAdam's start, a staircase).

        The candidates come from the phases (their boundaries and :meth:`Curve.jump_points`), so no
        search is needed; the limit from the left is the phase's formula one float before (on the phase's
        own clock, so it stays exact late in a long run). More than ``most`` candidates is a
        :class:`RampupError` (draw such a run without its jumps: at that density they are a texture).
        """
        stop = float(_check_step(stop))
        scale = max(self.peak, 1e-300)
        found: list[float] = []

        def check(step: float, left: float, nudge: int = 0) -> None:
            for _ in range(1 + nudge):  # a phase's start plus its clock may round a float short of the jump
                if not 0 < step <= stop:
                    return
                if abs(self(step) - left) > _JUMP * scale:
                    found.append(step)
                    return
                step = float(np.nextafter(step, math.inf))

        previous: Segment | None = None
        for seg in self.segments:
            if seg.start >= stop:
                break
            if previous is not None:
                check(seg.start, _end_from_the_left(previous))
            points = seg.curve.jump_points(seg, min(seg.length, stop - seg.start), most)
            if len(found) + len(points) > most:
                raise RampupError("most", most, f"more than {most} steps where the rate may jump before step {stop:g}")
            for t in points:
                settled = _settle(seg, t)
                if settled is not None:
                    check(seg.start + settled[0], settled[1], nudge=3)
            previous = seg
        if previous is not None and not math.isinf(previous.length):
            check(previous.end, _end_from_the_left(previous))
        return sorted(set(found))

    def spans(self) -> list[tuple[Phase, int, float]]:
        """Each phase with its start step and length in steps (``inf`` for an open-ended last phase)."""
        return [(self.phases[i], start, length) for i, start, length in self._plan.spans]

    def final_value(self) -> float:
        """The value held after the last phase."""
        return self._plan.final

    def describe(self) -> str:
        """The schedule in plain words."""
        from rampup.spec import describe

        return describe(self)

    def __str__(self) -> str:
        return " -> ".join(str(phase) for phase in self.phases)


#: :meth:`Schedule.jumps`: the least jump, as a share of the peak
_JUMP = 1e-9


def _end_from_the_left(seg: Segment) -> float:
    """A phase's value as its clock reaches its end from below: its formula at the end when the curve is
    continuous (a square root's end is steep: one float before would differ), else one float before."""
    curve = seg.curve
    smooth = curve.per is None and not curve.inner.curve.jumps if isinstance(curve, _Part) else not curve.jumps
    t = seg.length if smooth else float(np.nextafter(seg.length, -math.inf))
    return float(seg.value(SCALAR, t))


def _settle(seg: Segment, t: float) -> tuple[float, float] | None:
    """Where exactly, to the float, the phase's formula jumps near its clock value ``t``, and its value just
    before: the candidate of :meth:`Curve.jump_points` may be a few floats off the formula's own arithmetic
    (``3 * (t / 5)`` is not whole at ``t = 5 / 3``). Bisection within a billionth of ``t`` either side
    follows the larger change; None when nothing jumps there."""
    width = 1e-9 * max(1.0, abs(t))
    lo, hi = max(t - width, 0.0), t + width
    v_lo, v_hi = float(seg.value(SCALAR, lo)), float(seg.value(SCALAR, hi))
    if v_lo == v_hi:
        return None
    while (mid := 0.5 * (lo + hi)) not in (lo, hi):
        v_mid = float(seg.value(SCALAR, mid))
        if abs(v_mid - v_lo) >= abs(v_hi - v_mid):
            hi, v_hi = mid, v_mid
        else:
            lo, v_lo = mid, v_mid
    return hi, v_lo


#: steps per block in :meth:`Schedule.values` (a few arrays of it fit in a core's L2 cache)
_BLOCK = 1 << 14


def _fill_block(plan: _Plan, block: npt.NDArray[np.float64], out: npt.NDArray[np.float64]) -> None:
    """Evaluate one block of steps into ``out``: by slices when sorted, else by masks."""
    bounds = [*plan.starts, plan.end]
    if block.size < 2 or bool((block[1:] >= block[:-1]).all()):
        cuts = np.searchsorted(block, bounds, side="left")
        out[: cuts[0]] = plan.final  # only reachable when there are no segments
        for seg, lo, hi in zip(plan.segments, cuts[:-1], cuts[1:], strict=True):
            if hi > lo:
                out[lo:hi] = seg.curve.formula(VECTOR, block[lo:hi] - seg.start, seg)
        out[cuts[-1] :] = plan.final
        return
    where = np.searchsorted(np.asarray(bounds), block, side="right") - 1
    out[:] = plan.final
    for index, seg in enumerate(plan.segments):
        mask = where == index
        if mask.any():
            out[mask] = seg.curve.formula(VECTOR, block[mask] - seg.start, seg)


_STEPS_EXPECTED = "finite numbers of optimizer steps >= 0 and at most 10**15"


def _check_step(step: Any) -> float:
    """The one check of a step the schedule is evaluated at: a real number in [0, MAX_STEPS]."""
    value = real_number(step)
    if value is None:
        raise RampupError("step", step, "a number of optimizer steps >= 0")
    if not (0 <= value <= MAX_STEPS):  # also NaN, inf and integers too large for a float
        raise RampupError("step", step, "a finite number of optimizer steps >= 0 and at most 10**15")
    return value


def _step_array(steps: Any) -> npt.NDArray[Any]:
    """``steps`` as an array of real numbers in [0, MAX_STEPS], with the scalar call's rules."""
    try:
        array = np.asarray(steps) if not isinstance(steps, str) else np.asarray([steps])
    except (TypeError, ValueError, OverflowError):  # ragged lists, objects NumPy cannot hold
        raise RampupError("steps", steps, _STEPS_EXPECTED) from None
    kind = array.dtype.kind
    if kind == "O":  # Python objects (None, huge ints, mixed lists): each must pass the scalar check
        converted = np.empty(array.shape, dtype=np.float64)
        for index, item in np.ndenumerate(array):
            value = real_number(item)
            if value is None or not (0 <= value <= MAX_STEPS):
                raise RampupError("steps", item, _STEPS_EXPECTED)
            converted[index] = value
        return converted
    if kind not in "iuf":  # bool, complex, strings, dates, records: not step numbers
        raise RampupError("steps", f"an array of {array.dtype}", _STEPS_EXPECTED)
    flat = array.reshape(-1)
    if flat.size:
        low, high = float(flat.min()), float(flat.max())  # in float64: 10**15 is no float16
        if not (low >= 0 and high <= MAX_STEPS):  # min and max propagate NaN
            as_float = flat.astype(np.float64)
            bad = as_float[~((as_float >= 0) & (as_float <= MAX_STEPS))][0]
            raise RampupError("steps", float(bad), _STEPS_EXPECTED)
    return array


def _check_context(context: ResolveContext) -> None:
    total = context.total_steps
    if total is not None and (
        isinstance(total, bool) or not isinstance(total, (int, np.integer)) or not 0 < total <= MAX_STEPS
    ):
        raise RampupError("total_steps", total, "a whole number of optimizer steps > 0 and at most 10**15")
    for name in ("steps_per_epoch", "tokens_per_step"):
        given = getattr(context, name)
        value = real_number(given)
        if given is not None and (value is None or not (math.isfinite(value) and value > 0)):
            raise RampupError(name, given, "a number > 0, finite")


def _check_sizes(phases: tuple[Phase, ...], roles: Sequence[Role]) -> None:
    """What can be checked before resolving: lengths from beta2, and the sum of the lengths in steps."""
    fixed = 0
    for index, (phase, role) in enumerate(zip(phases, roles, strict=True)):
        curve = curve_for(phase.curve, role)
        if curve is not None and curve.derives_length and phase.length is None:
            fixed += _phase_length(index, phase, curve, _defaults(curve, phase), ResolveContext())
        elif phase.length is not None and phase.length.unit == "steps":
            fixed += int(phase.length.amount)
    if fixed > MAX_STEPS:
        raise RampupError("phases", f"{fixed} steps in all", "at most 10**15 steps in all")


def _phase_length(index: int, phase: Phase, curve: Curve, params: Mapping[str, Any], context: ResolveContext) -> int:
    label = f"phase {index + 1} ({phase.curve}) length"
    if curve.derives_length and phase.length is None:
        return step_count(curve.derived_length(params), label)
    assert phase.length is not None
    return phase.length.to_steps(context, label)


def _clamp(index: int, phase: Phase, length: int, context: ResolveContext) -> int:
    low, high = phase.get("min"), phase.get("max")
    label = f"phase {index + 1} ({phase.curve})"
    low_steps = low.to_steps(context, f"{label} min") if isinstance(low, Duration) else None
    high_steps = high.to_steps(context, f"{label} max") if isinstance(high, Duration) else None
    if low_steps is not None and high_steps is not None and low_steps > high_steps:
        raise RampupError(
            f"{label}: min",
            str(low) if low.unit == "steps" else f"{low} ({low_steps} steps)",
            f"at most max ({high} = {high_steps} steps) once resolved",
        )
    if low_steps is not None:
        length = max(length, low_steps)
    if high_steps is not None:
        length = min(length, high_steps)
    return length


def _defaults(curve: Curve, phase: Phase) -> dict[str, Any]:
    params = {param.name: param.default for param in phase_params(curve)}
    params.update(dict(phase.params))
    return params


def _compile(phases: tuple[Phase, ...], context: ResolveContext) -> _Plan:
    roles = tuple(infer_roles([(phase.curve, phase.keys()) for phase in phases]))
    curves = [curve_for(phase.curve, role) for phase, role in zip(phases, roles, strict=True)]
    raw = [_defaults(curve, phase) for curve, phase in zip(curves, phases, strict=True) if curve is not None]
    lengths: list[float | None] = []
    open_index: int | None = None
    for index, (phase, curve, params) in enumerate(zip(phases, curves, raw, strict=True)):
        assert curve is not None
        if phase.length is None and not curve.derives_length:
            if open_index is not None:
                raise RampupError(
                    f"phase {index + 1} ({phase.curve}) length",
                    None,
                    "a length: only one phase may leave its length open",
                    hint=f"phase {open_index + 1} ({phases[open_index].curve}) already takes what remains",
                )
            open_index = index
            lengths.append(None)
        else:
            lengths.append(_clamp(index, phase, _phase_length(index, phase, curve, params, context), context))
    fixed = sum(length for length in lengths if length is not None)
    if fixed > MAX_STEPS:
        raise RampupError("phases", f"{fixed} steps in all", "at most 10**15 steps in all")
    total = context.total_steps
    if open_index is not None:
        phase, curve = phases[open_index], curves[open_index]
        assert curve is not None
        if total is not None:
            if fixed > total:
                raise RampupError(
                    "total_steps",
                    total,
                    f"at least {fixed:g} steps: the phases with a length already take {fixed:g}",
                    hint="shorten them or train longer",
                )
            lengths[open_index] = open_length = _clamp(open_index, phase, int(total - fixed), context)
            if fixed + open_length > total:
                raise RampupError(
                    "total_steps",
                    total,
                    f"at least {fixed + open_length} steps: phase {open_index + 1} ({phase.curve}) lasts at least "
                    f"{open_length} steps (its min) after the {fixed} steps of the others",
                    hint="lower its min or train longer",
                )
        elif open_index == len(phases) - 1 and curve.can_be_open(raw[open_index]):
            lengths[open_index] = math.inf
        else:
            raise RampupError(
                "total_steps",
                None,
                "a positive number of steps",
                hint=(
                    f"phase {open_index + 1} ({phase.curve}) has no length and takes what remains of the total: "
                    f"pass total_steps (--total-steps N) or give it a length, e.g. {phase.curve}(1000)"
                ),
            )
    elif total is not None and fixed > total:
        raise RampupError(
            "total_steps",
            total,
            f"at least {fixed:g} steps: the phases add up to {fixed:g}",
            hint="shorten the phases or train longer",
        )
    windows = [
        _window(index, phase, curve, params, length, context)
        for index, (phase, curve, params, length) in enumerate(zip(phases, curves, raw, lengths, strict=True))
        if curve is not None and length is not None
    ]
    warmup_length: float = 0
    if roles[0] == "warmup":
        warmup_length = windows[0][0] if windows[0] is not None else lengths[0]  # type: ignore[assignment]
    segments: list[Segment] = []
    spans: list[tuple[int, int, float]] = []
    start_step = 0.0
    value = raw[0].get("from", 0.0) if roles[0] == "warmup" else 1.0
    for index, (phase, curve, params, length) in enumerate(zip(phases, curves, raw, lengths, strict=True)):
        assert curve is not None and length is not None
        resolved = _resolve_params(index, phase, curve, params, context, start_step, warmup_length)
        target = 1.0 if curve.role == "warmup" else resolved.get("to", value)
        if (
            curve.name == "exponential"
            and curve.role == "decay"
            and resolved["gamma"] is None
            and (value <= 0 or math.isinf(length))
        ):
            raise RampupError(
                f"phase {index + 1} (exponential)",
                "no gamma",
                "gamma=G: decaying to `to` needs a start above 0 and a length",
            )
        spans.append((index, int(start_step), length))
        window = windows[index]
        per, floor, k = resolved.get("per"), resolved.get("floor", 0.0), resolved.get("k", 1.0)
        if window is not None or per is not None or floor or k != 1.0:
            # part of the curve, a staircase, a clip or k-decay: the curve's own length, the clock from the phase's
            own, stretches, skip = window if window is not None else (length, (), 0)
            if k != 1.0 and math.isinf(own):
                raise RampupError(
                    f"phase {index + 1} ({phase.curve}): k",
                    k,
                    "a phase with a length: k-decay bends the progress t / L of a phase that ends",
                    hint=f"give it a length, e.g. {phase.curve}(1000, k={format_number(k)})",
                )
            inner = Segment(curve, start_step, float(own), value, target, resolved)
            part = (_WarmupPart if curve.role == "warmup" else _DecayPart)(inner, stretches, skip, per, floor, k)
            seg = Segment(part, start_step, float(length), value, target, resolved)
            if length > 0:
                segments.append(seg)
            value = seg.end_value() if not math.isinf(length) else value
            start_step += length
        elif length > 0:
            seg = Segment(curve, start_step, float(length), value, target, resolved)
            segments.append(seg)
            value = seg.end_value() if not math.isinf(length) else value
            start_step += length
        else:
            value = target if curve.role == "warmup" else value
    end = start_step
    return _Plan(
        segments=tuple(segments),
        starts=tuple(seg.start for seg in segments),
        end=end,
        final=float(value),
        spans=tuple(spans),
        roles=roles,
    )


def _window(
    index: int, phase: Phase, curve: Curve | None, params: Mapping[str, Any], length: float, context: ResolveContext
) -> tuple[float, tuple[tuple[int, int, int], ...], int] | None:
    """A phase that runs part of its curve: ``(the curve's own length, its stretches, skip)``, checked; else None.

    ``of=N`` is the curve's own length (for a curve whose length comes from beta2, that
    length); without it, the length the first stretch started from (``was``) plus ``skip``,
    or for a phase without stretches, its own length plus ``skip``. ``skip=W`` starts the
    curve's clock W steps in. Each stretch ``[keep, was, now]`` needs
    ``0 <= keep < was <= D`` and ``keep < now``, where ``D`` is the curve's length less
    ``skip``, then the ``now`` of the stretch before; the phase lasts at most the last ``D``.
    """
    assert curve is not None
    given_of, given_stretch, given_skip = phase.get("of"), phase.get("stretch", ()), phase.get("skip")
    if given_of is None and not given_stretch and given_skip is None:
        return None
    label = f"phase {index + 1} ({phase.curve})"
    numbers = [item.to_steps(context, f"{label}: stretch") for item in given_stretch]
    stretches = tuple((numbers[i], numbers[i + 1], numbers[i + 2]) for i in range(0, len(numbers), 3))
    skip = given_skip.to_steps(context, f"{label}: skip") if given_skip is not None else 0
    own: float
    if given_of is not None:
        own = given_of.to_steps(context, f"{label}: of")
        if curve.derives_length and own != curve.derived_length(params):
            raise RampupError(
                f"{label}: of",
                str(given_of),
                f"{curve.derived_length(params)}, the length this curve takes from beta2",
            )
    elif curve.derives_length:
        own = curve.derived_length(params)
    elif stretches:
        own = stretches[0][1] + skip
    else:
        own = length + skip
    if own <= 0:
        raise RampupError(f"{label}: of", own, "a length of at least 1 step once resolved")
    if skip >= own:
        raise RampupError(
            f"{label}: skip",
            str(given_skip),
            f"less than the curve's own length ({own:g} steps): skip= starts the curve part-way in",
        )
    domain = own - skip
    for keep, was, now in stretches:
        if not (0 <= keep < was <= domain and keep < now):
            raise RampupError(
                f"{label}: stretch",
                [keep, was, now],
                f"0 <= keep < was <= {domain:g} (the length before this stretch) and keep < now",
            )
        domain = now
    if length > domain:
        raise RampupError(
            f"{label} length",
            length,
            f"at most {domain:g}: the phase runs part of its curve, which lasts {domain:g} steps"
            + (f" after the {skip} it skips" if skip else ""),
        )
    return own, stretches, skip


class _Part(Curve):
    """A curve seen through a window and modifiers: part of it, a staircase of it, or clipped at a floor.

    The phase's own clock ``t`` becomes the curve's ``u`` in four steps, then the value is clipped:

    1. ``per=N`` (a staircase): ``t`` is held at ``floor(t / N) * N`` (:func:`whole_periods`, exact in
       every array namespace), so the value is constant for N updates and equals the curve at the
       start of each period: timm's per-epoch stepping (``train.py`` calls ``scheduler.step(epoch + 1)``
       once per epoch unless ``--sched-on-updates``; timm 1.0), mmengine's ``by_epoch=True``, any
       PyTorch scheduler stepped once per epoch.
    2. each stretch ``[keep, was, now]``, the newest first (a branch's cut, or an extension):
       ``t`` for ``t <= keep``, else ``keep + (t - keep) * (was - keep) / (now - keep)``. Before
       ``keep`` the map is the identity, so every step before a branch point is the curve's own
       value, bit for bit; at ``t = now`` it is exactly ``was`` (whole numbers), so the curve still
       reaches its target.
    3. ``skip=W``: ``u = W + t``, the curve started part-way in (timm without ``--warmup-prefix``
       times its cosine from update 0, ``timm/scheduler/cosine_lr.py``; NeMo 2.6's
       SquareRootAnnealing and the WarmupHold anneals without ``hold_steps``,
       ``nemo/core/optim/lr_scheduler.py``).
    4. ``k`` (k-decay, Zhang et al. 2020, "k-decay: A New Method For Learning Rate Schedule"): the
       curve's progress ``p = u / L`` becomes ``p ** k``, i.e. ``u = L * (u / L) ** k`` (timm 1.0's
       ``--lr-k-decay``: ``cos(pi * t_curr ** k / t_i ** k)`` in ``cosine_lr.py``,
       ``(1 - t_curr ** k / t_i ** k) ** power`` in ``poly_lr.py``). k > 1 holds the rate up longer.

    Then ``floor=m`` clips: ``max(curve(u), m)`` (NeMo's ``max(lr * mult, min_lr)`` in SquareAnnealing,
    SquareRootAnnealing, WarmupHoldAnnealOneMinusSquareRoot and NoamAnnealing; Megatron-core 0.16's
    inverse-square-root ``max(min_lr, lr)``, ``megatron/core/optimizer_param_scheduler.py``).
    A phase that runs its curve to the end hands on the curve's end value (clipped), not the
    staircase's: a staircased warmup still ends at the peak; one cut short (a branch) hands on
    the value running at its end, staircase included. Not a curve of its own: exporters that match
    curve names see ``part`` (the curve is :attr:`inner`).
    """

    name = "part"
    summary = "part of a curve"

    def __init__(
        self,
        inner: Segment,
        stretches: tuple[tuple[int, int, int], ...],
        skip: float = 0,
        per: float | None = None,
        floor: float = 0.0,
        k: float = 1.0,
    ) -> None:
        self.inner = inner
        self.stretches = stretches
        self.skip = skip
        self.per = per
        self.floor = floor
        self.k = k

    def clock(self, xp: Any, t: Any) -> Any:
        """The curve's clock at the phase's step ``t``: the stretches, the skip, k-decay (not the staircase)."""
        for keep, was, now in reversed(self.stretches):
            t = xp.where(t > keep, keep + ((t - keep) * float(was - keep)) / float(now - keep), t)
        if self.skip:
            t = t + float(self.skip)
        if self.k != 1.0:
            own = self.inner.length
            t = own * xp.power(t / own, self.k)
        return t

    def unclock(self, u: float) -> float:
        """The phase's step where :meth:`clock` reaches ``u`` (its inverse: the clock is increasing)."""
        if self.k != 1.0:
            own = self.inner.length
            u = own * (u / own) ** (1.0 / self.k)
        t = u - float(self.skip)
        for keep, was, now in self.stretches:  # clock applies the newest first, so its inverse the oldest
            if t > keep:
                t = keep + (t - keep) * float(now - keep) / float(was - keep)
        nearest = round(t)
        return float(nearest) if abs(t - nearest) <= 1e-9 * max(1.0, abs(t)) else t

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        """The staircase's steps, and the inner curve's jumps where the clock reaches them."""
        inner = self.inner
        reach = min(float(self.clock(SCALAR, upto)), inner.length)
        first = float(self.clock(SCALAR, 0.0))  # where the phase's clock starts on its curve (skip=)
        found = [self.unclock(u) for u in inner.curve.jump_points(inner, reach, most) if u > first]
        if self.per is not None:  # a staircase reads its curve at the start of each period: a jump waits for the next
            found = [math.ceil(t / self.per) * self.per for t in found]
            found += multiples(self.per, upto, most)
        return sorted({t for t in found if 0 < t < upto})[: most + 1]

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        inner = self.inner
        if self.per is not None:
            t = whole_periods(xp, t, self.per) * self.per
        value = inner.curve.formula(xp, self.clock(xp, t), inner)
        return xp.maximum(value, self.floor) if self.floor else value

    def end_value(self, seg: Segment) -> float:
        """The curve's value where the phase stops, clipped (its own end value when the window reaches its end)."""
        reached = Fraction(int(seg.length))
        for keep, was, now in reversed(self.stretches):
            if reached > keep:
                reached = keep + (reached - keep) * (was - keep) / (now - keep)
        inner = self.inner
        if reached + int(self.skip) == inner.length:
            value = inner.curve.end_value(inner)
        else:  # cut short (a branch): the value running at its last step, staircase included
            held = seg.length if self.per is None else float(whole_periods(SCALAR, seg.length, self.per) * self.per)
            value = float(inner.curve.formula(SCALAR, float(self.clock(SCALAR, held)), inner))
        return max(value, self.floor) if self.floor else value


class _WarmupPart(_Part):
    role = "warmup"


class _DecayPart(_Part):
    role = "decay"


def _check_branch_step(at: object) -> int:
    if isinstance(at, bool) or not isinstance(at, (int, np.integer)):
        raise RampupError("at", at, "a whole number of optimizer steps: the step the branch starts at")
    if at < 0:
        raise RampupError("at", int(at), "a step >= 0", hint="steps count optimizer updates from 0")
    return int(at)


def _with(phase: Phase, length: int | None, **changes: ParamValue) -> Phase:
    """``phase`` with another length and some parameters replaced (None removes one)."""
    params = [(key, value) for key, value in phase.params if key not in changes]
    params += [(key, value) for key, value in changes.items() if value is not None]
    return Phase(phase.curve, None if length is None else Duration(length), tuple(params))


def _own_length(phase: Phase, curve: Curve, span: int) -> Duration | None:
    """The ``of=`` a window onto this phase's curve needs (None when its default is right)."""
    if phase.get("of") is not None:
        return phase.get("of")  # type: ignore[no-any-return]
    if curve.derives_length:
        return Duration(curve.derived_length(_defaults(curve, phase)))
    if phase.get("stretch"):
        return None  # the first stretch's `was` (plus skip=)
    skip = phase.get("skip")
    return Duration(span + (int(skip.amount) if isinstance(skip, Duration) else 0))


def _cut(phase: Phase, curve: Curve, span: int, keep: int) -> Phase:
    """The first ``keep`` steps of a phase of ``span`` steps, exactly as they were."""
    if curve.name == "constant" and curve.role == "decay":
        return Phase("constant", Duration(keep))  # a value held: its first steps are a shorter hold
    return _with(phase, keep, of=_own_length(phase, curve, span))


def _restretch(phase: Phase, curve: Curve, span: int, keep: int, now: int) -> Phase:
    """A phase of ``span`` steps that keeps its first ``keep`` and plays the rest so that it lasts ``now``."""
    if now == span:
        return phase
    if curve.name == "constant" and curve.role == "decay":
        return Phase("constant", Duration(now))
    if now == keep:
        return _cut(phase, curve, span, keep)
    shape_by_progress = not curve.derives_length and all(
        param.kind not in ("duration", "durations") for param in curve.params
    )
    windowed = any(key in _WINDOW_KEYS or key == "per" for key, _ in phase.params)
    if keep == 0 and shape_by_progress and not windowed:
        return _with(phase, now)  # a curve of its progress alone: the same phase, longer
    stretch = (*phase.get("stretch", ()), Duration(keep), Duration(span), Duration(now))
    own = phase.get("of")
    if own is None and curve.derives_length:
        own = Duration(curve.derived_length(_defaults(curve, phase)))
    return _with(phase, now, of=own, stretch=stretch)  # without of=: the curve's length is the first `was`


def _pinned(base: Schedule, phase: Phase, curve: Curve, shift: int) -> Phase:
    """A phase that moves by ``shift`` steps, with what it took from its place written out.

    Its curve's clock is stretched, not its surroundings: milestones counted from the start
    of training (``step(at=[...])``) move with it, and inverse-sqrt keeps the timescale it
    took from the warmup (whose length the extension may change).
    """
    if curve.name == "step" and phase.get("at"):
        milestones = tuple(Duration(int(item.amount) + shift) for item in phase.get("at"))
        return _with(phase, None if phase.length is None else int(phase.length.amount), at=milestones)
    if curve.name == "inverse-sqrt" and phase.get("timescale") is None:
        roles = base.roles
        first, (_, _, span) = base.phases[0], base.spans()[0]
        warm = curve_for(first.curve, roles[0])
        assert warm is not None
        window = _window(0, first, warm, _defaults(warm, first), span, base.context) if roles[0] == "warmup" else None
        warmup = (window[0] if window is not None else int(span)) if roles[0] == "warmup" else 0
        timescale = Duration(warmup or DEFAULT_TIMESCALE)
        return _with(phase, None if phase.length is None else int(phase.length.amount), timescale=timescale)
    return phase


def _pin_roles(phases: list[Phase], roles: Sequence[Role]) -> list[Phase]:
    """Keep the first phase's role when other phases now follow it (``cosine(900)`` alone is a decay)."""
    first, role = phases[0], roles[0]
    keys = first.keys()
    if role == "warmup" and first.curve in DECAY_CURVES and "from" not in keys:
        phases[0] = _with(first, None if first.length is None else int(first.length.amount), **{"from": 0.0})
    elif role == "decay" and first.curve in WARMUP_CURVES and first.curve != "constant" and "to" not in keys:
        phases[0] = _with(first, None if first.length is None else int(first.length.amount), to=0.0)
    return phases


def _past(base: Schedule, at: int) -> list[Phase]:
    """The phases of ``base`` (resolved) before step ``at``: those that end by then, and the one running, cut."""
    kept: list[Phase] = []
    for (phase, start, length), role in zip(base.spans(), base.roles, strict=True):
        curve = curve_for(phase.curve, role)
        assert curve is not None
        if start + length <= at:
            kept.append(phase)
            continue
        if start < at or not kept:  # the phase running at `at` (at 0: the first, cut before it starts)
            kept.append(_cut(phase, curve, int(length) if not math.isinf(length) else at - start, at - start))
        return kept
    end = base._plan.end
    if at > end:  # past the last phase: the value it holds, until `at`
        kept.append(Phase("constant", Duration(at - int(end))))
    return kept


def _graft(
    base: Schedule,
    at: int,
    then: Schedule | str | Mapping[str, Any],
    total_steps: int | None,
    context: ResolveContext,
) -> Schedule:
    """``base`` up to ``at``, then the phases of ``then`` from the value there."""
    following = as_schedule(then)
    if following.roles[0] == "warmup":
        raise RampupError(
            "then",
            str(following),
            "decay phases only (constant, linear, cosine, 1-sqrt...): a branch goes on from the rate at `at`",
            hint=(
                "to re-warm a checkpoint, start a new run: rampup recommend --regime continue; "
                f"a decay of a warmup-shaped curve is written {following.phases[0].curve}(..., to=0)"
            ),
        )
    open_or_relative = any(
        (phase.length is None and not (curve_for(phase.curve, "decay") or DECAY_CURVES["constant"]).derives_length)
        or (phase.length is not None and phase.length.is_relative)
        for phase in following.phases
    )
    total = total_steps if total_steps is not None else (base.total_steps if open_or_relative else None)
    roles = base.roles
    phases = _pin_roles(_past(base, at) + list(following.phases), roles)
    branched = Schedule(
        tuple(phases),
        ResolveContext(total, context.steps_per_epoch, context.tokens_per_step),
    )
    return branched.resolve()


def _extend(base: Schedule, at: int, total_steps: int) -> Schedule:
    """``base`` (resolved) on a run of ``total_steps``: steps ``<= at`` kept, the rest of the plan stretched."""
    plan = base._plan
    if total_steps <= at:
        raise RampupError("total_steps", total_steps, f"more than {at} (at): the run goes on after the branch point")
    spans = base.spans()
    if math.isinf(plan.end):  # an open last phase that runs forever: it goes on; the total only ends it
        start = spans[-1][1]
        if total_steps <= start:
            raise RampupError(
                "total_steps", total_steps, f"more than {start}, where the last phase (open-ended) begins"
            )
        phases = [phase for phase, _, _ in spans[:-1]]
        phases.append(_with(spans[-1][0], total_steps - start))
        return Schedule(tuple(phases), ResolveContext(total_steps=total_steps)).resolve()
    old_total = base.total_steps
    assert old_total is not None
    if at >= old_total:
        raise RampupError(
            "at",
            at,
            f"a step before {old_total}, the end of this run: nothing of its plan remains to stretch",
            hint="to go on after the end, branch with then='...'",
        )

    def moved(boundary: int) -> int:
        if boundary <= at:
            return boundary
        span, new = old_total - at, total_steps - at
        # round half up, in whole numbers; a boundary after `at` stays after it, so that step `at` keeps its phase
        return max(at + 1, at + ((boundary - at) * new * 2 + span) // (2 * span))

    phases = []
    for (phase, start, length), role in zip(spans, base.roles, strict=True):
        curve = curve_for(phase.curve, role)
        assert curve is not None
        end = start + int(length)
        if end <= at:
            phases.append(phase)
            continue
        first = moved(start)
        keep = max(at - start, 0)
        now = moved(end) - first
        phases.append(_restretch(_pinned(base, phase, curve, first - start), curve, int(length), keep, now))
    phases = _pin_roles(phases, base.roles)
    return Schedule(tuple(phases), ResolveContext(total_steps=total_steps)).resolve()


def _resolve_params(
    index: int,
    phase: Phase,
    curve: Curve,
    params: Mapping[str, Any],
    context: ResolveContext,
    start_step: float,
    warmup_length: float | None,
) -> dict[str, Any]:
    resolved: dict[str, Any] = {}
    label = f"phase {index + 1} ({phase.curve})"
    for key, value in params.items():
        if key in ("min", "max", *_WINDOW_KEYS):
            continue
        if isinstance(value, Duration):
            steps = value.to_steps(context, f"{label}: {key}")
            if steps <= 0:
                raise RampupError(f"{label}: {key}", str(value), "at least 1 step once resolved")
            value = float(steps)
        elif isinstance(value, tuple):
            milestones = [float(item.to_steps(context, f"{label}: {key}")) for item in value]
            for before, after in pairwise(milestones):
                if after <= before:
                    raise RampupError(f"{label}: {key}", _format_value(params[key]), "increasing milestones")
            if milestones and milestones[0] < start_step:
                raise RampupError(
                    f"{label}: {key}",
                    _format_value(params[key]),
                    f"milestones from step {int(start_step)} on, where this phase starts",
                    hint="milestones count from the start of training, warmup included",
                )
            value = tuple(milestones)
        resolved[key] = value
    if curve.name == "inverse-sqrt" and resolved.get("timescale") is None:
        resolved["timescale"] = float(warmup_length) if warmup_length else float(DEFAULT_TIMESCALE)
    return resolved


def parse(text: str) -> Schedule:
    """Read spec text: ``parse("linear(5%) -> cosine(to=0.1)")``. See :mod:`rampup.spec`."""
    return Schedule.parse(text)


def as_schedule(schedule: Schedule | str | Mapping[str, Any]) -> Schedule:
    """A schedule from a Schedule, spec text, a preset name or the dict form."""
    if isinstance(schedule, Schedule):
        return schedule
    if isinstance(schedule, str):
        from rampup.presets import ALIASES, PRESETS

        key = schedule.strip().lower()
        key = ALIASES.get(key, key)
        if key in PRESETS:
            return PRESETS[key].schedule
        return Schedule.parse(schedule)
    if isinstance(schedule, Mapping):
        return Schedule.from_dict(schedule)
    raise RampupError("schedule", schedule, "a Schedule, spec text such as 'linear(5%) -> cosine', a preset or a dict")
