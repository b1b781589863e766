"""Which transformers built-in scheduler equals a rampup schedule, without importing transformers.

The one matcher of Hugging Face's schedulers: :mod:`rampup.hf` (which then checks the match against
transformers' own multipliers), the advisor's and the finder's exports and ``rampup export --to hf``
all use :func:`match_builtin`. The formulas matched are transformers 5.x's ``optimization.py``
(``get_scheduler`` and the ``_get_*_lr_lambda`` functions, ``get_wsd_schedule``,
``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rampup.curves import Segment
from rampup.durations import format_number
from rampup.schedule import Schedule

__all__ = ["BuiltinScheduler", "match_builtin"]

#: two minimum rates closer than this (relative) are the same
_TOLERANCE = 1e-9


@dataclass(frozen=True)
class _Piece:
    """One stretch of the resolved schedule: a segment of the engine, or the hold after the last one."""

    kind: str  # the curve, with equal shapes merged: linear for polynomial(power=1) and untuned-linear
    role: str
    start: float
    length: float
    a: float
    b: float
    params: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class BuiltinScheduler:
    """A transformers built-in scheduler and its arguments (what :func:`builtin_scheduler` finds)."""

    name: str
    warmup_steps: int
    kwargs: dict[str, Any]
    #: the kwargs hold absolute rates (polynomial's ``lr_end``): they are for this peak only
    needs_peak: bool
    #: the schedule, resolved
    schedule: Schedule


def _piece(seg: Segment) -> _Piece:
    name, role, params = seg.curve.name, seg.curve.role, seg.params
    kind = name
    if role == "warmup":
        if name == "untuned-linear" or (name == "polynomial" and params["power"] == 1.0):
            kind = "linear"
        if params.get("delay"):
            kind = f"{name} with delay="  # held at its start for a while: no transformers warmup does that
    elif name == "polynomial" and params["power"] == 1.0:
        kind = "linear"
    elif seg.a == seg.b and name in ("linear", "cosine", "polynomial", "1-sqrt", "inverse-sqrt"):
        kind = "constant"  # a decay from a value to itself is flat
    return _Piece(kind, role, seg.start, seg.length, seg.a, seg.b, params)


def _pieces(schedule: Schedule, total: int | None) -> list[_Piece]:
    """The resolved schedule as pieces that cover the run: ``[0, total)``, or ``[0, inf)`` without a total.

    Zero-length phases are left out (the engine skips them too); the value held after
    the last phase becomes a ``constant`` piece; neighbouring flat pieces at the same
    value are merged.
    """
    pieces = [_piece(seg) for seg in schedule.segments]
    end = schedule.phases_end
    final = schedule.final_value()
    if total is not None and end < total:
        pieces.append(_Piece("constant", "decay", end, total - end, final, final))
    elif total is None and not math.isinf(end):
        pieces.append(_Piece("constant", "decay", end, math.inf, final, final))
    merged: list[_Piece] = []
    for piece in pieces:
        last = merged[-1] if merged else None
        if last is not None and last.kind == piece.kind == "constant" and last.a == piece.a:
            merged[-1] = _Piece("constant", "decay", last.start, last.length + piece.length, last.a, last.a)
        else:
            merged.append(piece)
    return merged


def _steps(x: float) -> int:
    return int(x)


def _cycles(piece: _Piece) -> float:
    return float(piece.params.get("cycles") or 0.5)


def _simple(warm: _Piece | None, decay: _Piece, peak_lr: float | None) -> tuple[str, dict[str, Any], bool] | str:
    """A decay over the whole rest of the run after a linear warmup from 0 (or none): the named built-ins."""
    kind, b = decay.kind, decay.b
    if kind == "linear" and b == 0:
        return "linear", {}, False
    if kind == "cosine":
        if decay.params["exponent"] != 1.0:
            return "its cosine has exponent != 1: transformers' cosines have no exponent"
        if b == 0:
            return "cosine", {"num_cycles": _cycles(decay)}, False
        return "cosine_with_min_lr", {"num_cycles": _cycles(decay), "min_lr_rate": b}, False
    if kind == "cosine-restarts":
        params = decay.params
        if params["period"] is not None or params["decay"] != 1.0:
            return "cosine_with_restarts has equal cycles over the decay, each from the peak (no period, mult, decay)"
        if b != 0:
            return "cosine_with_restarts decays to 0 (no to=)"
        return "cosine_with_restarts", {"num_cycles": float(params["cycles"] or 1.0)}, False
    if kind in ("polynomial", "linear"):
        power = float(decay.params.get("power", 1.0))
        if b != 0 and peak_lr is None:
            return "needs peak_lr"
        lr_end = 0.0 if b == 0 else b * float(peak_lr)  # type: ignore[arg-type]
        return "polynomial", {"lr_end": lr_end, "power": power}, b != 0
    if kind == "inverse-sqrt":
        if b != 0:
            return "inverse_sqrt decays towards 0 (no to=)"
        return "inverse_sqrt", {"timescale": _steps(decay.params["timescale"])}, False
    if kind in ("exponential", "step"):
        return f"transformers has no {kind} decay"
    return f"transformers has no {kind} decay of this kind"


_WSD_DECAYS = ("linear", "cosine", "1-sqrt")


def _wsd(
    warm: _Piece | None, stable: _Piece | None, decay: _Piece | None, hold: _Piece | None
) -> tuple[dict[str, Any], bool] | str:
    """``warmup_stable_decay``: warmup from m, the peak held, a decay to m, m held (transformers' get_wsd_schedule)."""
    if warm is not None and warm.kind not in ("linear", "cosine", "1-sqrt"):
        return f"its warmup is {warm.kind}: transformers' warmups are linear, cosine or 1-sqrt"
    if decay is None:
        if warm is None:
            return "no warmup and no decay"
        m = warm.a
        kwargs: dict[str, Any] = {"num_decay_steps": 0, "warmup_type": warm.kind, "decay_type": "linear"}
        kwargs.update(min_lr_ratio=m, num_cycles=0.5)
        if stable is None or math.isinf(stable.length):
            return "warmup_stable_decay needs the run's length (pass total_steps)"
        return kwargs, False
    if decay.kind not in _WSD_DECAYS or (decay.kind == "cosine" and decay.params["exponent"] != 1.0):
        what = "cosine with exponent != 1" if decay.kind == "cosine" else decay.kind
        return f"its decay is {what}: warmup_stable_decay decays linear, cosine or 1-sqrt"
    m = decay.b
    if warm is not None and warm.a != m:
        return (
            f"its warmup starts at from={format_number(warm.a)} and its decay ends at to={format_number(m)}: "
            "transformers' warmup_stable_decay starts and ends at the same min_lr_ratio (and its other "
            "schedulers warm up from 0)"
        )
    kwargs = {
        "num_decay_steps": _steps(decay.length),
        "warmup_type": warm.kind if warm is not None else "linear",
        "decay_type": decay.kind,
        "min_lr_ratio": m,
        "num_cycles": _cycles(decay) if decay.kind == "cosine" else 0.5,
    }
    if hold is not None:
        if abs(hold.a - m) > _TOLERANCE:
            return (
                f"its decay ends at step {format_number(hold.start)} at {hold.a:.6g} and holds it: transformers' "
                f"warmup_stable_decay holds min_lr_ratio={format_number(m)} there"
            )
        # the run goes on after the decay: transformers then holds min_lr_ratio, as rampup does
        kwargs["num_stable_steps"] = _steps(stable.length) if stable is not None else 0
    return kwargs, False


def _cosine_ahead(
    warm: _Piece | None,
    stable: _Piece | None,
    decay: _Piece,
    hold: _Piece | None,
    total: int | None,
    peak_lr: float | None,
) -> tuple[int, dict[str, Any]] | None:
    """``cosine_warmup_with_min_lr`` (``get_cosine_with_min_lr_schedule_with_warmup_lr_rate``): a linear warmup
    from ``r`` over ``W - 1`` steps (``r = 1/W`` unless ``warmup_lr_rate`` is given), a cosine to ``min_lr_rate``
    over ``T - W`` steps that reaches it at step ``T - 1``, the last update of the run: one step ahead."""
    if warm is None or stable is not None or hold is None or total is None:
        return None
    if warm.kind != "linear" or warm.length < 1 or not float(warm.length).is_integer():
        return None
    if decay.kind != "cosine" or decay.params["exponent"] != 1.0 or hold.start + 1 != total:
        return None
    w = _steps(warm.length) + 1
    kwargs: dict[str, Any] = {"num_cycles": _cycles(decay), "min_lr_rate": decay.b}
    if abs(warm.a - 1.0 / w) > _TOLERANCE * (1.0 / w):
        kwargs["warmup_lr_rate"] = warm.a
    return w, kwargs


def match_builtin(schedule: Schedule, total: int | None, peak_lr: float | None) -> BuiltinScheduler | str:
    """The built-in whose rates equal the schedule's over the run, or the reason there is none."""
    pieces = _pieces(schedule, total)
    warm = pieces[0] if pieces and pieces[0].role == "warmup" else None
    rest = pieces[1:] if warm is not None else pieces
    warmup = _steps(warm.length) if warm is not None else 0
    linear_from_zero = warm is None or (warm.kind == "linear" and warm.a == 0)
    kinds = [piece.kind for piece in rest]
    # the peak held, forever or until the end
    if kinds == ["constant"] or not kinds:
        if linear_from_zero:
            return BuiltinScheduler("constant_with_warmup" if warm else "constant", warmup, {}, False, schedule)
        result = _wsd(warm, rest[0] if rest else None, None, None)
        if isinstance(result, str):
            return result
        return BuiltinScheduler("warmup_stable_decay", warmup, result[0], result[1], schedule)
    # [stable] decay [hold]
    stable = rest[0] if kinds[0] == "constant" else None
    body = rest[1:] if stable is not None else rest
    if not body or body[0].kind == "constant" or len(body) > 2 or (len(body) == 2 and body[1].kind != "constant"):
        phases = " -> ".join(str(phase) for phase in schedule.phases)
        return (
            f"{phases} has more phases than transformers' schedulers (a warmup, a stable phase and one decay, "
            "then the final value held)"
        )
    decay, hold = body[0], (body[1] if len(body) == 2 else None)
    reason_simple = None
    if stable is None and hold is None and linear_from_zero:
        simple = _simple(warm, decay, peak_lr)
        if not isinstance(simple, str):
            name, kwargs, needs_peak = simple
            return BuiltinScheduler(name, warmup, kwargs, needs_peak, schedule)
        reason_simple = simple
    wsd = _wsd(warm, stable, decay, hold)
    if not isinstance(wsd, str):
        return BuiltinScheduler("warmup_stable_decay", warmup, wsd[0], wsd[1], schedule)
    ahead = _cosine_ahead(warm, stable, decay, hold, total, peak_lr)
    if ahead is not None:
        return BuiltinScheduler("cosine_warmup_with_min_lr", ahead[0], ahead[1], False, schedule)
    if reason_simple == "needs peak_lr":
        return (
            "its decay ends at to > 0 with a linear warmup from 0: transformers' polynomial takes an absolute "
            "lr_end = to * peak; pass peak_lr"
        )
    if reason_simple is not None and decay.kind not in ("linear", "1-sqrt"):  # those two: only WSD can help
        return reason_simple
    if hold is not None and decay.kind not in _WSD_DECAYS:
        return (
            f"its {decay.kind} decay ends at step {format_number(hold.start)}, before the run's end: transformers' "
            f"{decay.kind} decays until num_training_steps"
        )
    return wsd
