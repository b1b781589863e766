"""The curve formulas: every warmup and decay shape rampup knows, each in one place.

A phase of a schedule runs a curve over ``t`` in ``[0, L)`` steps (``t`` counts
from the phase's start, ``L`` is its length, ``p = t / L`` its progress). It
moves from the value ``a`` where the previous phase ended towards its target
``b``: the peak (1) for a warmup, ``to`` (default 0) for a decay.

Each formula is written once, against a small array namespace ``xp`` (``math``
for one step, NumPy for a million, ``jax.numpy`` under ``jax.jit``,
``keras.ops`` in Keras): the same line of code serves all of them, so the
scalar, vectorized and framework values cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np

from rampup.durations import nearest_steps

__all__ = [
    "DECAY_CURVES",
    "SCALAR",
    "VECTOR",
    "WARMUP_CURVES",
    "Curve",
    "Param",
    "Role",
    "Segment",
    "curve_for",
]

Role = Literal["warmup", "decay"]
ParamKind = Literal["float", "bool", "duration", "durations"]


def _one(ufunc: Any) -> Callable[[float], float]:
    """``ufunc`` on one number, as a Python float (rates written into an optimizer stay plain data).

    NumPy is held in a closure, not named as a global: ``torch.compile`` then leaves the
    scalar path of an eagerly run scheduler alone, as it does for :mod:`math`.
    """

    def call(x: float) -> float:
        return float(ufunc(x))

    return call


def _one_power(ufunc: Any, array: Any, float64: Any) -> Callable[[float, float], float]:
    """``base ** exponent`` through NumPy's array loop (its scalar power differs: 0.1 ** 2.0 in the last bit)."""

    def call(base: float, exponent: float) -> float:
        return float(ufunc(array([base], dtype=float64), array([exponent], dtype=float64))[0])

    return call


class _ScalarMath:
    """The array namespace for one number at a time.

    Its functions are NumPy's own ufuncs on a single value, not :mod:`math`: NumPy's
    ``exp``, ``log``, ``expm1`` and ``power`` differ from the C library's in the last bit
    for some inputs, and the scalar call promises the same value as :meth:`Schedule.values`.
    """

    exp = staticmethod(_one(np.exp))
    expm1 = staticmethod(_one(np.expm1))
    log = staticmethod(_one(np.log))
    cos = staticmethod(_one(np.cos))
    sin = staticmethod(_one(np.sin))
    sqrt = staticmethod(_one(np.sqrt))
    tanh = staticmethod(_one(np.tanh))
    log1p = staticmethod(_one(np.log1p))
    floor = staticmethod(_one(np.floor))
    power = staticmethod(_one_power(np.power, np.array, np.float64))
    minimum = staticmethod(min)
    maximum = staticmethod(max)

    @staticmethod
    def where(condition: Any, if_true: Any, if_false: Any) -> Any:
        return if_true if condition else if_false


SCALAR: Any = _ScalarMath()


class _VectorMath:
    """NumPy for arrays of steps, with ``power`` always on two arrays (as :data:`SCALAR` computes it).

    ``np.power(x, 2.0)`` squares and ``np.power(x, 0.5)`` takes a square root, each a hair
    off ``pow``; broadcasting both operands first keeps every element on the one loop.
    """

    def __getattr__(self, name: str) -> Any:
        return getattr(np, name)

    @staticmethod
    def power(base: Any, exponent: Any) -> Any:
        base, exponent = np.broadcast_arrays(np.asarray(base, dtype=np.float64), np.asarray(exponent, np.float64))
        return np.power(np.ascontiguousarray(base), np.ascontiguousarray(exponent))  # no stride-0 fast paths


#: the array namespace of :meth:`Schedule.values`: NumPy, with the scalar call's ``power``
VECTOR: Any = _VectorMath()


def whole_periods(xp: Any, t: Any, period: float) -> Any:
    """``floor(t / period)``, exact at every multiple of ``period`` in any array namespace.

    XLA divides by a constant through its reciprocal, so ``jnp.floor(103.0 / 103)`` is 0 in
    float64 (and 41, 47, ... fail in float32): a stair would come one step late. One
    comparison each way puts the count back; NumPy's and Python's division are already exact.
    """
    k = xp.floor(t / period)
    k = k + xp.where((k + 1.0) * period <= t, 1.0, 0.0)
    return k - xp.where(k * period > t, 1.0, 0.0)


def _positive(x: float) -> str | None:
    return None if x > 0 else "a number > 0"


def _unit_open(x: float) -> str | None:
    return None if 0 < x < 1 else "a number strictly between 0 and 1, such as 0.999"


def _unit_half_open(x: float) -> str | None:
    return None if 0 < x <= 1 else "a number in (0, 1], such as 0.1"


def _fraction(x: float) -> str | None:
    return None if 0 <= x <= 1 else "a fraction of the peak between 0 and 1"


def _at_least_one(x: float) -> str | None:
    return None if x >= 1 else "a number >= 1"


@dataclass(frozen=True)
class Param:
    """One keyword parameter of a curve: its kind, default and valid range."""

    name: str
    kind: ParamKind
    default: Any
    check: Callable[[float], str | None] | None = None
    doc: str = ""


@dataclass(frozen=True)
class Segment:
    """A phase resolved to absolute steps, ready to evaluate.

    ``start`` is the step where it begins, ``length`` its number of steps
    (``math.inf`` for an open-ended last phase), ``a`` its start value, ``b``
    its target, ``params`` its parameters with defaults filled in and
    durations converted to steps.
    """

    curve: Curve
    start: float
    length: float
    a: float
    b: float
    params: Mapping[str, Any]

    @property
    def end(self) -> float:
        return self.start + self.length

    def value(self, xp: Any, t: Any) -> Any:
        return self.curve.formula(xp, t, self)

    def end_value(self) -> float:
        return self.curve.end_value(self)


class Curve:
    """A shape for one phase. Subclasses give the formula and its source."""

    name: ClassVar[str]
    role: ClassVar[Role]
    summary: ClassVar[str]
    params: ClassVar[tuple[Param, ...]] = ()
    #: the curve does not reach its target continuously (it jumps at the end, or steps inside)
    jumps: ClassVar[bool] = False
    #: the curve can run forever, so a last phase of this curve needs no length
    open_ended: ClassVar[bool] = False
    #: the length comes from the parameters (Adam's beta2), not from the user
    derives_length: ClassVar[bool] = False

    def derived_length(self, params: Mapping[str, Any]) -> int:
        raise NotImplementedError

    def can_be_open(self, params: Mapping[str, Any]) -> bool:
        """Whether a last phase of this curve may run forever (no length, no total)."""
        return self.open_ended

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        raise NotImplementedError

    def end_value(self, seg: Segment) -> float:
        """The value the phase hands to the next one (and holds after the last phase)."""
        if self.role == "warmup":
            return seg.b
        return float(self.formula(SCALAR, seg.length, seg))

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        """The clock values ``t`` in ``(0, upto)`` (``upto`` at most the phase's length) where the formula
        steps (step decay's drops, restarts, a staircase), at most ``most + 1`` of them: candidates, each
        checked by :meth:`rampup.Schedule.jumps`. A jump where the phase ends is the schedule's to find."""
        return []

    def param(self, name: str) -> Param | None:
        for param in self.params:
            if param.name == name:
                return param
        return None


def multiples(period: float, upto: float, most: int) -> list[float]:
    """``k * period`` for ``k = 1, 2, ...`` below ``upto``, at most ``most + 1`` of them: a staircase's steps."""
    if not (period > 0 and math.isfinite(upto)):
        return []
    count = min(math.ceil(upto / period) - 1, most + 1)
    return [k * period for k in range(1, max(count, 0) + 1)]


# --------------------------------------------------------------------------- warmups


def _whole(x: float) -> str | None:
    return None if x >= 0 and float(x).is_integer() else "a whole number of updates >= 0"


_DELAY = Param(
    "delay",
    "float",
    0.0,
    _whole,
    "updates held at `from` before the curve starts, within the phase (DeepSpeed runs update k at its rate for k-1)",
)


def _delayed(xp: Any, t: Any, seg: Segment) -> tuple[Any, float]:
    """The curve's clock and length after ``delay`` updates held at the start (the length at least 1)."""
    delay = seg.params.get("delay", 0.0)
    if not delay:
        return t, seg.length
    return xp.maximum(t - delay, 0.0), max(seg.length - delay, 1.0)


class LinearWarmup(Curve):
    """``a + (b - a) * p``: the standard warmup (Goyal et al. 2017; Hugging Face, optax).

    With ``delay=d`` the first ``d`` updates hold ``a`` and the line runs over the other
    ``L - d``: DeepSpeed's ``WarmupLR`` sets update k's rate after update k-1
    (``deepspeed/runtime/lr_schedules.py``), so its linear warmup over W is ``linear(W+1, delay=1)``.
    """

    name = "linear"
    role = "warmup"
    summary = "linear warmup"
    params = (_DELAY,)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        u, length = _delayed(xp, t, seg)
        return seg.a + (seg.b - seg.a) * (u / length)


class LogWarmup(Curve):
    """``a + (b - a) * log(1 + t) / log(1 + L)``: DeepSpeed's default ``warmup_type: "log"``.

    DeepSpeed's ``WarmupLR`` (``deepspeed/runtime/lr_schedules.py``, 0.19) computes
    ``min + (max - min) * log(i + 1) / log(W)`` for iteration ``i < W``: it reaches the
    peak at ``i = W - 1``, so its warmup of W is ``log(W-1)`` here (``log(W, delay=1)``
    with its one-update delay). It rises steeply: half way up after ``sqrt(L)`` updates.
    """

    name = "log"
    role = "warmup"
    summary = "logarithmic warmup"
    params = (_DELAY,)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        u, length = _delayed(xp, t, seg)
        return seg.a + (seg.b - seg.a) * (xp.log1p(u) / math.log1p(length))


class ExponentialWarmup(Curve):
    """``a + (b - a) * (1 - exp(-rate * p))``, rate 5: the seed documents' exponential warmup.

    It reaches ``1 - exp(-rate)`` of the way (99.3% at rate 5) and then steps
    to the peak when the phase ends, exactly as the seed's
    ``1 - math.exp(-5 * step / warmup_steps)`` does.
    """

    name = "exponential"
    role = "warmup"
    summary = "exponential warmup"
    jumps = True
    params = (Param("rate", "float", 5.0, _positive, "how fast it approaches the peak"),)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        rate = seg.params["rate"]
        return seg.a - (seg.b - seg.a) * xp.expm1(-rate * (t / seg.length))


class CosineWarmup(Curve):
    """``a + (b - a) * (1 - cos(pi * p)) / 2``: half a cosine up (Hugging Face's WSD ``warmup_type="cosine"``)."""

    name = "cosine"
    role = "warmup"
    summary = "cosine warmup"

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        half = xp.sin(0.5 * math.pi * (t / seg.length))
        return seg.a + (seg.b - seg.a) * (half * half)


class PolynomialWarmup(Curve):
    """``a + (b - a) * p ** power`` (power 1 is linear; optax's ``polynomial_schedule`` shape)."""

    name = "polynomial"
    role = "warmup"
    summary = "polynomial warmup"
    params = (Param("power", "float", 1.0, _positive, "the exponent of the progress"),)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.a + (seg.b - seg.a) * xp.power(t / seg.length, seg.params["power"])


class ConstantWarmup(Curve):
    """``a`` until the phase ends, then a jump to the peak: Goyal et al. 2017's "constant warmup".

    Goyal et al. found this harmful for large batches (a jump at the end of warmup
    spikes the error); it is here so that it can be compared. Give it ``from=``.
    """

    name = "constant"
    role = "warmup"
    summary = "constant warmup"
    jumps = True

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.a + 0.0 * t


class OneMinusSqrtWarmup(Curve):
    """``a + (b - a) * (1 - sqrt(1 - p))``: Hugging Face's WSD ``warmup_type="1-sqrt"``."""

    name = "1-sqrt"
    role = "warmup"
    summary = "1-sqrt warmup"

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        p = t / seg.length
        return seg.a + (seg.b - seg.a) * p / (1.0 + xp.sqrt((seg.length - t) / seg.length))


_BETA2 = Param("beta2", "float", 0.999, _unit_open, "Adam's second-moment decay")


class UntunedLinearWarmup(Curve):
    """Linear warmup over ``round(2 / (1 - beta2))`` steps (Ma & Yarats 2021, "untuned linear warmup").

    beta2 = 0.999 gives 2000 steps, 0.98 gives 100 (rounded, never truncated:
    ``2 / (1 - 0.999)`` is 1999.99999... in floating point).
    """

    name = "untuned-linear"
    role = "warmup"
    summary = "untuned linear warmup"
    params = (_BETA2,)
    derives_length = True

    def derived_length(self, params: Mapping[str, Any]) -> int:
        beta2: float = params["beta2"]
        return nearest_steps(2.0 / (1.0 - beta2), "beta2")

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.a + (seg.b - seg.a) * (t / seg.length)


class UntunedExponentialWarmup(Curve):
    """``a + (b - a) * (1 - exp(-(1 - beta2) * t))`` (Ma & Yarats 2021, "untuned exponential warmup").

    The time constant is ``1 / (1 - beta2)`` steps (1000 at beta2 = 0.999), which is
    also the paper's "warmup period" of this curve. The formula never reaches the
    peak, so the phase lasts five time constants, ``round(5 / (1 - beta2))`` steps,
    by which it is at 99.3%, and then steps to the peak like the seed's exponential.
    """

    name = "untuned-exponential"
    role = "warmup"
    summary = "untuned exponential warmup"
    params = (_BETA2,)
    derives_length = True
    jumps = True

    def derived_length(self, params: Mapping[str, Any]) -> int:
        beta2: float = params["beta2"]
        return nearest_steps(5.0 / (1.0 - beta2), "beta2")

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.a - (seg.b - seg.a) * xp.expm1(-(1.0 - seg.params["beta2"]) * t)


def radam_rectification(xp: Any, update: Any, beta2: float) -> Any:
    """RAdam's variance rectification factor ``r_u`` for update number ``u >= 1`` (Liu et al. 2020).

    ``rho_inf = 2 / (1 - beta2) - 1``, ``rho_u = rho_inf - 2 u beta2^u / (1 - beta2^u)``,
    ``r_u = sqrt((rho_u - 4)(rho_u - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_u))``
    while ``rho_u > 5`` and 0 before, as ``torch.optim.RAdam`` computes it.
    """
    rho_inf = 2.0 / (1.0 - beta2) - 1.0
    beta2_u = xp.exp(update * math.log(beta2))
    rho = rho_inf - 2.0 * update * beta2_u / (1.0 - beta2_u)
    ratio = (rho - 4.0) * (rho - 2.0) * rho_inf / ((rho_inf - 4.0) * (rho_inf - 2.0) * rho)
    return xp.where(rho > 5.0, xp.sqrt(xp.maximum(ratio, 0.0)), 0.0 * update)


def _radam_beta2(x: float) -> str | None:
    """beta2 in (0, 1) with which the rectification starts (``rho_u > 5``) within the warmup."""
    if not 0 < x < 1:
        return _unit_open(x)
    if (
        2.0 / (1.0 - x) - 1.0 <= 5.0
        or not radam_rectification(SCALAR, nearest_steps(2.0 / (1.0 - x), "beta2") + 1.0, x) > 0
    ):
        return "a number in [0.73, 1), such as 0.999: below that RAdam's rectification never starts within its warmup"
    return None


class RAdamWarmup(Curve):
    """RAdam's rectification factor as a warmup: ``a + (b - a) * r_{t+1} / r_{L+1}``.

    ``r_u`` is :func:`radam_rectification` (Liu et al. 2020), the factor that RAdam
    multiplies its adaptive step by; Ma & Yarats 2021 read it as a built-in warmup.
    It is zero for the first few updates and then rises; since it only reaches 1
    asymptotically, the phase (``round(2 / (1 - beta2))`` steps) is
    rescaled by ``r_{L+1}`` so that it ends at the peak without a jump.
    """

    name = "radam"
    role = "warmup"
    summary = "RAdam-rectification warmup"
    params = (Param("beta2", "float", 0.999, _radam_beta2, "Adam's second-moment decay"),)
    derives_length = True

    def derived_length(self, params: Mapping[str, Any]) -> int:
        beta2: float = params["beta2"]
        return nearest_steps(2.0 / (1.0 - beta2), "beta2")

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        beta2 = seg.params["beta2"]
        final = float(radam_rectification(SCALAR, seg.length + 1.0, beta2))
        return seg.a + (seg.b - seg.a) * radam_rectification(xp, t + 1.0, beta2) / final

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        """Where the rectification starts (``rho_{t+1}`` reaches 5, an increasing function of ``t``): the least
        such ``t`` to the last bit, by bisection."""
        beta2 = seg.params["beta2"]
        lo, hi = 0.0, float(seg.length)
        if radam_rectification(SCALAR, lo + 1.0, beta2) > 0 or not radam_rectification(SCALAR, hi + 1.0, beta2) > 0:
            return []
        while (mid := 0.5 * (lo + hi)) not in (lo, hi):
            if radam_rectification(SCALAR, mid + 1.0, beta2) > 0:
                hi = mid
            else:
                lo = mid
        return [hi] if 0 < hi < upto else []


# --------------------------------------------------------------------------- decays


class ConstantDecay(Curve):
    """``a``: hold the value (the "stable" phase of warmup-stable-decay; Hugging Face's constant)."""

    name = "constant"
    role = "decay"
    summary = "constant"
    open_ended = True

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.a + 0.0 * t

    def end_value(self, seg: Segment) -> float:
        return seg.a


class LinearDecay(Curve):
    """``b + (a - b) * (1 - p)`` (Hugging Face's ``get_linear_schedule_with_warmup``)."""

    name = "linear"
    role = "decay"
    summary = "linear decay"

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.b + (seg.a - seg.b) * ((seg.length - t) / seg.length)


class CosineDecay(Curve):
    """``b + (a - b) * ((1 + cos(2 pi cycles p)) / 2) ** exponent`` (Loshchilov & Hutter 2017).

    ``cycles`` 0.5 is half a cosine down (Hugging Face's ``num_cycles``);
    ``exponent`` is optax's ``cosine_decay_schedule`` exponent. Unlike Hugging
    Face's, the value holds once the phase ends instead of rising again.
    """

    name = "cosine"
    role = "decay"
    summary = "cosine decay"
    params = (
        Param("cycles", "float", 0.5, _positive, "number of cosine periods over the phase"),
        Param("exponent", "float", 1.0, _positive, "power applied to the cosine factor"),
    )

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        cycles = seg.params["cycles"]
        if cycles == 0.5:  # the same value, written to stay exact in float32 near the end
            half = xp.sin(0.5 * math.pi * ((seg.length - t) / seg.length))
            factor = half * half
        else:
            factor = 0.5 * (1.0 + xp.cos(math.pi * cycles * 2.0 * (t / seg.length)))
        exponent = seg.params["exponent"]
        if exponent != 1.0:
            factor = xp.power(factor, exponent)
        return seg.b + (seg.a - seg.b) * factor


class PolynomialDecay(Curve):
    """``b + (a - b) * (1 - p) ** power`` (Hugging Face's ``get_polynomial_decay_schedule_with_warmup``)."""

    name = "polynomial"
    role = "decay"
    summary = "polynomial decay"
    params = (Param("power", "float", 1.0, _positive, "the exponent of the remaining fraction"),)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        return seg.b + (seg.a - seg.b) * xp.power((seg.length - t) / seg.length, seg.params["power"])


class TanhDecay(Curve):
    """``b + (a - b) * (1 - tanh(lb * (1 - p) + ub * p)) / 2``, then ``b``: timm's ``TanhLRScheduler``.

    Source: ``timm/scheduler/tanh_lr.py`` (timm 1.0.29.dev0): ``lr_min + 0.5 * (lr_max - lr_min) *
    (1 - tanh(lb * (1 - tr) + ub * tr))`` with ``tr = t_curr / t_i`` and the bounds ``lb = -7``,
    ``ub = 3`` (Hsueh et al. 2019, "Stochastic Gradient Descent with Hyperbolic-Tangent Decay").
    It starts a hair below ``a`` (``(1 - tanh(-7)) / 2`` of the way, 0.99999917) and ends
    ``(1 - tanh(3)) / 2`` (0.25%) of the way above ``b``; when the phase ends it steps to ``b``,
    as timm's cycle ends at ``lr_min``.
    """

    name = "tanh"
    role = "decay"
    summary = "tanh decay"
    jumps = True
    params = (
        Param("lb", "float", -7.0, None, "the tanh argument at the phase's start (timm's lb)"),
        Param("ub", "float", 3.0, None, "the tanh argument at the phase's end (timm's ub)"),
    )

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        p = t / seg.length
        lb, ub = seg.params["lb"], seg.params["ub"]
        return seg.b + (seg.a - seg.b) * (0.5 * (1.0 - xp.tanh(lb * (1.0 - p) + ub * p)))

    def end_value(self, seg: Segment) -> float:
        return seg.b


class ExponentialDecay(Curve):
    """``max(b, a * gamma ** (t / every))``, floored if ``staircase`` (optax's ``exponential_decay``).

    Without ``gamma``, the phase decays geometrically from ``a`` to ``to`` over its
    length: ``a * (b / a) ** p`` (``to`` must then be above 0).
    """

    name = "exponential"
    role = "decay"
    summary = "exponential decay"
    open_ended = True

    def can_be_open(self, params: Mapping[str, Any]) -> bool:
        return params.get("gamma") is not None

    params = (
        Param("gamma", "float", None, _unit_half_open, "factor applied every `every` steps"),
        Param("every", "duration", 1.0, _positive, "steps per factor gamma (optax's transition_steps)"),
        Param("staircase", "bool", False, None, "apply gamma in whole steps of `every`"),
    )

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        gamma = seg.params["gamma"]
        if gamma is None:
            # a ** (1 - p) * b ** p as one exp of logs: b / a overflows for a tiny (subnormal) a
            log_a = math.log(seg.a)
            return xp.exp(log_a + (t / seg.length) * (math.log(seg.b) - log_a))
        every = seg.params["every"]
        periods = whole_periods(xp, t, every) if seg.params["staircase"] else t / every
        # exp(k log gamma) with log gamma in float64: gamma**k in float32 loses k ulps of gamma
        return xp.maximum(seg.b, seg.a * xp.exp(periods * math.log(gamma)))

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        if seg.params["gamma"] is None or not seg.params["staircase"]:
            return []
        return multiples(seg.params["every"], upto, most)


class InverseSqrtDecay(Curve):
    """``b + (a - b) * sqrt(timescale / (t + timescale))`` (Vaswani et al. 2017; Hugging Face's inverse_sqrt).

    With the timescale equal to the warmup length W (the default, as in Hugging
    Face; 10000 without a warmup), a linear warmup followed by this phase is
    "Attention Is All You Need"'s ``min(step ** -0.5, step * W ** -1.5)``, scaled
    so that its peak is 1.
    """

    name = "inverse-sqrt"
    role = "decay"
    summary = "inverse square root decay"
    open_ended = True
    params = (Param("timescale", "duration", None, _positive, "steps after which the rate has fallen by sqrt(2)"),)

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        timescale = seg.params["timescale"]
        return seg.b + (seg.a - seg.b) * xp.sqrt(timescale / (t + timescale))


class OneMinusSqrtDecay(Curve):
    """``b + (a - b) * (1 - sqrt(p))``: the cooldown of Hägele et al. 2024 (Hugging Face's WSD "1-sqrt")."""

    name = "1-sqrt"
    role = "decay"
    summary = "1-sqrt cooldown"

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        remaining = (seg.length - t) / seg.length
        return seg.b + (seg.a - seg.b) * remaining / (1.0 + xp.sqrt(t / seg.length))


class StepDecay(Curve):
    """``max(b, a * gamma ** n)``: n drops so far (PyTorch's ``StepLR`` and ``MultiStepLR``; Goyal et al. 2017).

    With ``every=D``, a drop every D steps counted from the phase's start. With
    ``at=[...]``, drops at those milestones, counted from the start of training
    (as papers state them: Goyal et al. divide by 10 at epochs 30, 60 and 80).
    """

    name = "step"
    role = "decay"
    summary = "step decay"
    jumps = True
    open_ended = True
    params = (
        Param("every", "duration", None, _positive, "drop every this many steps"),
        Param("at", "durations", (), None, "milestones from the start of training"),
        Param("gamma", "float", 0.1, _unit_half_open, "factor at each drop"),
    )

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        every = seg.params["every"]
        if every is not None:
            drops = whole_periods(xp, t, every)
        else:
            drops = 0.0 * t
            for milestone in seg.params["at"]:
                drops = drops + xp.where(t + seg.start >= milestone, 1.0, 0.0)
        return xp.maximum(seg.b, seg.a * xp.power(seg.params["gamma"], drops))

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        every = seg.params["every"]
        if every is not None:
            return multiples(every, upto, most)
        return [m - seg.start for m in seg.params["at"] if 0 < m - seg.start < upto][: most + 1]


class CosineRestartsDecay(Curve):
    """SGDR's cosine with warm restarts (Loshchilov & Hutter 2017; Hugging Face's hard restarts).

    Cycle k lasts ``period * mult ** k`` steps and starts from ``a * decay ** k``:
    ``b + (a * decay ** k - b) * (1 + cos(pi * tau / T_k)) / 2``. With ``cycles=N``
    (the default, 1), N equal cycles fill the phase, as Hugging Face's
    ``get_cosine_with_hard_restarts_schedule_with_warmup``.
    """

    name = "cosine-restarts"
    role = "decay"
    summary = "cosine with restarts"
    jumps = True
    params = (
        Param("cycles", "float", None, _positive, "number of equal cycles over the phase"),
        Param("period", "duration", None, _positive, "length of the first cycle"),
        Param("mult", "float", 1.0, _at_least_one, "each cycle is this many times longer"),
        Param("decay", "float", 1.0, _unit_half_open, "each restart starts this much lower"),
    )

    def can_be_open(self, params: Mapping[str, Any]) -> bool:
        return params.get("period") is not None

    def formula(self, xp: Any, t: Any, seg: Segment) -> Any:
        period = seg.params["period"]
        mult = seg.params["mult"]
        if period is None:
            cycles = seg.params["cycles"] if seg.params["cycles"] is not None else 1.0
            position = cycles * (t / seg.length)
            index = xp.floor(position)
            fraction = position - index
        elif mult == 1.0:
            index = whole_periods(xp, t, period)
            fraction = (t - index * period) / period
        else:

            def cycle_start(k: Any) -> Any:  # period * (mult**k - 1) / (mult - 1)
                return period * (xp.power(mult, k) - 1.0) / (mult - 1.0)

            index = xp.floor(xp.log(1.0 + t * (mult - 1.0) / period) / math.log(mult))
            # the logarithm can land a hair below a whole cycle (log(1000) / log(10) < 3): correct both ways
            index = index + xp.where(cycle_start(index + 1.0) <= t, 1.0, 0.0)
            index = index - xp.where(cycle_start(index) > t, 1.0, 0.0)
            fraction = (t - cycle_start(index)) / (period * xp.power(mult, index))
        top = seg.a * xp.power(seg.params["decay"], index)
        return seg.b + (top - seg.b) * 0.5 * (1.0 + xp.cos(math.pi * fraction))

    def jump_points(self, seg: Segment, upto: float, most: int) -> list[float]:
        period, mult = seg.params["period"], seg.params["mult"]
        if period is None:
            cycles = seg.params["cycles"] if seg.params["cycles"] is not None else 1.0
            return multiples(seg.length / cycles, upto, most)
        if mult == 1.0:
            return multiples(period, upto, most)
        starts: list[float] = []
        while len(starts) <= most and (start := period * (mult ** (len(starts) + 1) - 1.0) / (mult - 1.0)) < upto:
            starts.append(start)
        return starts

    def end_value(self, seg: Segment) -> float:
        return seg.b


WARMUP_CURVES: dict[str, Curve] = {
    curve.name: curve
    for curve in (
        LinearWarmup(),
        LogWarmup(),
        ExponentialWarmup(),
        CosineWarmup(),
        PolynomialWarmup(),
        ConstantWarmup(),
        OneMinusSqrtWarmup(),
        UntunedLinearWarmup(),
        UntunedExponentialWarmup(),
        RAdamWarmup(),
    )
}

DECAY_CURVES: dict[str, Curve] = {
    curve.name: curve
    for curve in (
        ConstantDecay(),
        LinearDecay(),
        CosineDecay(),
        PolynomialDecay(),
        TanhDecay(),
        ExponentialDecay(),
        InverseSqrtDecay(),
        OneMinusSqrtDecay(),
        StepDecay(),
        CosineRestartsDecay(),
    )
}


def curve_for(name: str, role: Role) -> Curve | None:
    """The curve called ``name`` in ``role``, or None."""
    return (WARMUP_CURVES if role == "warmup" else DECAY_CURVES).get(name)
