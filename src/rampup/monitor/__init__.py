"""Watch the start of training, flag the instability warmup is there to prevent, and act on it.

:class:`WarmupMonitor` is told, once per optimizer update, the update's loss and gradient norm. In
its watch window (the warmup, and at least the first 20% of the run or 50 steps, so that runs
without warmup are watched too) it raises a :class:`Flag` for:

- **non-finite**: a NaN or infinite loss or gradient norm;
- **loss-spike**: a loss far above the recent ones (the "catapult" of a rate above the edge of
  stability: Lewkowycz et al. 2020, Kalra & Barkeshli 2024); in the first ``min_history`` updates,
  before any noise can be measured, also two losses in a row above ``early_jump`` (2) times the first
  loss, with the gradient norm ``early_jump`` times the first too where norms are given (a healthy
  start does not double its loss twice running; the lab's batch-norm nets without warmup jumped
  2.2x twice, below the one-loss bound of 2.25x, and never recovered);
- **grad-blowup**: a gradient norm far above the recent ones (``grad_blowup``: 10x, an order of
  magnitude) *on a loss not below its own median*: a large gradient on a batch whose loss is low is
  a hard batch, not a catapult (in one the loss rises with the gradient). On the lab's grid the
  earlier 5x without the loss test flagged three runs that ended within 2% of the best and caught
  no failed run that another flag did not (docs/monitor.md);
- **grad-collapse**: the gradient norm falling far below the recent ones *and the loss not falling
  in the updates after it*, at a planned rate of at least ``stall_rate`` of the peak: the model fell
  into a degenerate solution (the lab's Post-LN task collapses onto the character frequencies this
  way). A sharp start, where the gradient falls faster than the loss while the loss still falls, is
  not a collapse;
- **loss-stall**: the loss sitting on a level, at a planned rate of at least ``stall_rate`` of the
  peak, for ``stall_factor`` times as long as the run took to get down to that level. A healthy run
  passes through plateaus too, and converges in the end; what sets a stuck run apart online is that
  it got to its level fast (a collapse) and then stayed there at a high rate for much longer than
  the descent took. A temporary plateau ends before that; a plateau reached after a long descent
  (the run converging) needs a proportionally longer wait. It also needs the gradient norm on the
  plateau to be ``stall_grad`` times below that of the first updates: a model stuck in a degenerate
  solution stops pulling on its weights, while one that still works on a plateau (a fine-tune, a
  word LM before it leaves the unigram level) pulls about as hard as at the start.

A ``grad-collapse`` or a ``loss-stall`` also needs the loss to be still above ``stuck_share`` (0.6) of
the first loss: the degenerate solutions a too-fast start falls into (the class or token
frequencies, a dead network) keep most of the untrained loss (the character frequencies of the
lab's corpus: 3.1 of 4.6 nats, 67%; a dead 20-class net: ln 20 = 3.0 of 3.4), while a run that has
already removed 40% of its loss is converging, and its slowing gradient is the bottom coming near.

"Far" is judged against the recent past's own noise, so that per-batch noise is not a spike: losses
and gradient norms are compared on a log scale (ratios; raw values when a loss is not positive) to
the median of the last ``window`` values, and a value is far when it is beyond both a fixed ratio
(``loss_spike``, ``grad_blowup``, ``grad_collapse``) and ``noise_z`` robust standard deviations of the
update-to-update noise (the median absolute deviation of the differences, which a trend does not
inflate), measured over the last :data:`NOISE_SPAN` updates. Early on, with few losses, the noise
is measured more cautiously (a median absolute deviation of 5-20 losses of lognormal noise 0.15-0.3
came out at half the true noise often enough to flag healthy simulated runs): after one loss a spike
must be ``loss_spike`` squared (2.25) times it; with 2-4 losses the whole spread so far (max - min)
stands in for the noise; from 5 losses until ``2 * window``, the larger of the median absolute
deviation and the root mean square of the differences. A large-batch SGD run that blows up in its
first steps starts from almost noiseless losses and is flagged; a healthy run with per-batch
lognormal noise of 0.3 is flagged in its first updates in about 3.5% of runs (1.5% at 0.15; 400
simulated runs each, docs/monitor.md).

What it does with a flag is ``action``:

- ``"warn"``: a :class:`RuntimeWarning` (and the flag in :attr:`WarmupMonitor.flags`);
- ``"stop"``: the same, and :attr:`WarmupMonitor.should_stop` turns true (the framework callbacks
  stop the trainer);
- ``"hold"``: an adaptive warmup that lengthens itself while training is unstable. The ramp has a
  clock ``c`` (in steps of the warmup) and a speed ``v`` (warmup steps per update, 1 at first). Each
  update advances ``c`` by ``v``. A flag starts an *episode*: the clock goes back to ``backoff * c``,
  the speed is multiplied by ``slowdown`` and the clock stands still for ``hold_steps`` updates;
  flags during a hold only extend it. A gradient drop at a planned rate of at least ``stall_rate``
  starts an episode at once (kind ``"grad-drop"``), before the verdict on the collapse is in: by then
  the collapse can no longer be undone, and a back-off costs little after a sharp start. The rate
  is ``schedule(c)`` during the ramp, never above the
  decay's value at the current step (the ramp climbs until it meets the planned decay and then
  follows it, so the decay still ends where it was planned). Hold never starves a run: the rate is
  never below ``hold_floor`` times the plan, there are at most ``max_holds`` episodes, and an
  episode (or a longer hold) only starts when the rate it is projected to hold back, with what was
  held back already, stays within ``hold_budget`` of the planned total (the sum of the planned
  multipliers over the run). Each episode warns once, with what it did and these bounds.
  :meth:`WarmupMonitor.multiplier` gives the rate; :class:`rampup.monitor.torch.MonitoredLR` writes
  it into an optimizer.

Front doors: :mod:`rampup.monitor.torch` (plain PyTorch loops), :mod:`rampup.monitor.hf`
(a transformers ``TrainerCallback``), :mod:`rampup.monitor.lightning` (a Lightning ``Callback``).
This module itself needs nothing but the standard library and the schedule engine.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any, Literal, get_args

from rampup.checks import fraction, ratio, whole
from rampup.durations import early_window
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule
from rampup.stepper import Multipliers

__all__ = ["ACTIONS", "KINDS", "Action", "Flag", "FlagKind", "HoldEpisode", "WarmupMonitor", "require_monitor"]

Action = Literal["warn", "stop", "hold"]
FlagKind = Literal["non-finite", "loss-spike", "grad-blowup", "grad-collapse", "loss-stall"]
ACTIONS: tuple[str, ...] = get_args(Action)
#: every kind of flag, in the order of the module docstring
KINDS: tuple[str, ...] = get_args(FlagKind)

#: the shortest watch window, in updates, when the warmup is shorter or absent
MIN_WATCH_STEPS = 50
#: the share of the run watched at least
WATCH_SHARE = 0.2
#: a median absolute deviation times this is a standard deviation (for normal noise)
_MAD_TO_SD = 1.4826


@dataclass(frozen=True)
class Flag:
    """One sign of instability: at which update, what, the value and the reference it was judged against."""

    step: int
    kind: FlagKind
    value: float
    reference: float
    multiplier: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class HoldEpisode:
    """One reaction of ``"hold"``: when, to which flag, the rate before and after, and what it was projected to cost."""

    step: int
    kind: str
    rate_before: float
    rate_after: float
    clock: float
    speed: float
    projected_share: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)  # type: ignore[arg-type]  # a 0-d tensor or NumPy scalar
        except (TypeError, ValueError):
            raise RampupError(name, value, "a number (a float, or a 0-d tensor)") from None
    return float(value)


def noise_scale(values: Iterable[float]) -> float:
    """A robust standard deviation of the update-to-update noise of a sequence: the median absolute
    deviation of its differences (scaled to a normal's standard deviation, and by 1/sqrt(2) for the
    difference of two draws). A steady trend moves every difference alike and does not count."""
    seq = list(values)
    diffs = [b - a for a, b in pairwise(seq)]
    if len(diffs) < 2:
        return 0.0
    centre = statistics.median(diffs)
    return _MAD_TO_SD * statistics.median(abs(d - centre) for d in diffs) / math.sqrt(2)


#: how many recent updates of the watch window the noise is measured over (the median reference uses
#: ``window``): a median absolute deviation of 20 differences is too noisy a yardstick (it came out at
#: half the true noise often enough to flag healthy simulated runs); of 100, within about 15%
NOISE_SPAN = 100


def rms_noise(values: Iterable[float]) -> float:
    """The standard deviation of the update-to-update noise from the root mean square of the differences
    (less their mean, over sqrt(2)): on few values less often far too low than the median absolute deviation."""
    diffs = [b - a for a, b in pairwise(list(values))]
    if len(diffs) < 2:
        return 0.0
    mean = math.fsum(diffs) / len(diffs)
    return math.sqrt(math.fsum((d - mean) ** 2 for d in diffs) / (len(diffs) - 1)) / math.sqrt(2)


class WarmupMonitor:
    """Flags loss spikes and stalls, non-finite values and gradient-norm blow-ups or collapses early in training.

    Args:
        schedule: the planned schedule (a :class:`rampup.Schedule`, spec text or preset name). It
            sets the watch window and the planned rate the stall detectors judge against, and is what
            ``action="hold"`` adapts; without one, the window is ``watch_steps``, stalls and collapses
            are judged at any rate, and ``"hold"`` is not available.
        total_steps, steps_per_epoch: what the schedule needs to resolve.
        action: ``"warn"``, ``"stop"`` or ``"hold"`` (module docstring).
        watch_steps: the updates watched; default: the warmup, at least 20% of the run, at least 50.
        window, min_history: the recent past the median reference and the noise are taken over, and
            the updates seen before anything but non-finite values and early spikes is judged.
        loss_spike, grad_blowup, grad_collapse: the least ratio to the recent median that counts as
            far (``None`` switches that flag off).
        early_jump: the ratio to the first loss (and gradient norm) that two updates in a row must
            exceed in the first ``min_history`` updates to be a spike (``None``: off).
        noise_z: how many robust standard deviations of the recent noise a value must also be away.
        stall_rate: the planned multiplier (a fraction of the peak) from which a plateau or a
            collapse of the gradient counts as a failure (``None`` switches ``loss-stall`` off).
        stall_factor: how many times as long as the descent to it a plateau must last to be a stall.
        stall_grad: how many times below the first updates' the gradient norm on a plateau must be for
            it to be a stall (``None``: not required).
        stuck_share: the share of the first loss above which the loss must still be for a collapse or
            a stall (``None``: not required).
        backoff, slowdown, hold_steps: how ``"hold"`` reacts to a flag.
        hold_floor, max_holds, hold_budget: the bounds of ``"hold"``: the least share of the planned
            rate it ever gives, the most episodes, the most of the planned total rate it holds back.
        warn: whether a flag (with ``"hold"``: an episode) raises a :class:`RuntimeWarning`; the
            flags are kept either way.
        on_flag: called with every flag (a logger, a progress bar...).
    """

    def __init__(
        self,
        schedule: Schedule | str | Mapping[str, Any] | None = None,
        *,
        total_steps: int | None = None,
        steps_per_epoch: float | None = None,
        action: Action = "warn",
        watch_steps: int | None = None,
        window: int = 20,
        min_history: int = 5,
        loss_spike: float | None = 1.5,
        early_jump: float | None = 2.0,
        grad_blowup: float | None = 10.0,
        grad_collapse: float | None = 2.5,
        noise_z: float = 6.0,
        stall_rate: float | None = 0.5,
        stall_factor: float = 1.5,
        stall_grad: float | None = 1.25,
        stuck_share: float | None = 0.6,
        backoff: float = 0.1,
        slowdown: float = 0.5,
        hold_steps: int = 5,
        hold_floor: float = 0.1,
        max_holds: int = 3,
        hold_budget: float = 0.1,
        warn: bool = True,
        on_flag: Callable[[Flag], object] | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise RampupError("action", action, f"one of {', '.join(ACTIONS)}")
        self.schedule: Schedule | None = None
        self._plan_rates: Multipliers | None = None  # the plan, step after step (the schedulers' stepper)
        if schedule is not None:
            self.schedule = as_schedule(schedule).resolve(total_steps, steps_per_epoch=steps_per_epoch)
            self._plan_rates = Multipliers(self.schedule)
        elif action == "hold":
            raise RampupError(
                "schedule", None, "the planned schedule when action='hold'", hint="hold adapts a schedule's warmup"
            )
        self.action: Action = action
        self.window = whole(window, "window", 3)
        self.min_history = whole(min_history, "min_history", 1)
        self.loss_spike = None if loss_spike is None else ratio(loss_spike, "loss_spike", 1.0)
        self.early_jump = None if early_jump is None else ratio(early_jump, "early_jump", 1.0)
        self.grad_blowup = None if grad_blowup is None else ratio(grad_blowup, "grad_blowup", 1.0)
        self.grad_collapse = None if grad_collapse is None else ratio(grad_collapse, "grad_collapse", 1.0)
        self.noise_z = ratio(noise_z, "noise_z", 0.0)
        self.stall_rate = None if stall_rate is None else fraction(stall_rate, "stall_rate", "of the peak", zero=True)
        self.stall_factor = ratio(stall_factor, "stall_factor", 0.0)
        self.stall_grad = None if stall_grad is None else ratio(stall_grad, "stall_grad", 1.0)
        self.stuck_share = (
            None if stuck_share is None else fraction(stuck_share, "stuck_share", "of the first loss, e.g. 0.6")
        )
        self.backoff = fraction(backoff, "backoff", "where the ramp's clock goes back to")
        self.slowdown = fraction(slowdown, "slowdown", "how much slower the ramp goes on")
        self.hold_steps = whole(hold_steps, "hold_steps", 0)
        self.hold_floor = fraction(hold_floor, "hold_floor", "the least share of the planned rate", zero=True)
        self.max_holds = whole(max_holds, "max_holds", 0)
        self.hold_budget = fraction(hold_budget, "hold_budget", "the most of the planned total held back", zero=True)
        self.warn = bool(warn)
        self.on_flag = on_flag
        self.warmup_steps = 0 if self.schedule is None else self.schedule.warmup_steps
        total = None if self.schedule is None else self.schedule.total_steps
        if watch_steps is None:
            watch_steps = early_window(self.warmup_steps, total, WATCH_SHARE, MIN_WATCH_STEPS)
        self.watch_steps = whole(watch_steps, "watch_steps", 0)
        #: the sum of the planned multipliers over the run (what ``hold_budget`` is a share of)
        self.planned_total = 0.0
        if self.schedule is not None:
            horizon = total if total is not None else max(self.watch_steps, self.warmup_steps + 1)
            self.planned_total = float(self.schedule.values(range(horizon)).sum())
        #: every flag raised, in order
        self.flags: list[Flag] = []
        #: every episode of ``"hold"``, in order
        self.episodes: list[HoldEpisode] = []
        #: true once a flag was raised with ``action="stop"``
        self.should_stop = False
        #: updates observed so far
        self.step = 0
        #: the ramp's clock and speed (``"hold"``), and the update until which the clock stands still
        self.clock = 0.0
        self.speed = 1.0
        self.hold_until = 0
        #: the update at which the ramp reached the planned decay (None while it is still ramping)
        self.ramp_done_at: int | None = None if self.warmup_steps > 0 else 0
        #: the planned rate ``"hold"`` has held back so far (a sum of multipliers)
        self.held_back = 0.0
        self._log_scale = True  # losses compared as logs while every loss seen is positive
        self._losses: deque[float] = deque(maxlen=self.window)
        self._norms: deque[float] = deque(maxlen=self.window)
        self._first: float | None = None
        self._history: list[float] = []  # every finite loss level seen in the watch window
        self._blocks: list[float] = []  # the median of each min_history-long block of _history
        self._norm_history: list[float] = []  # the log gradient norm of every update in the watch window (nan: none)
        self._drop: tuple[int, float, float, float] | None = None  # a gradient drop awaiting its verdict
        self._stalled = False
        self._noted_limit = False
        self._suspect: Flag | None = None  # a gradient drop "hold" reacts to before its verdict

    # ------------------------------------------------------------------ the rate

    def multiplier(self, step: int | None = None) -> float:
        """The schedule's multiplier for the update after ``step`` updates (default: those observed).

        Without ``"hold"`` this is the planned schedule; with it, the adapted ramp (module docstring).
        Only the current and later steps are meaningful under ``"hold"``: the clock is not rewound.
        """
        if self.schedule is None:
            raise RampupError("schedule", None, "a schedule given to WarmupMonitor", hint="multiplier() needs one")
        at = self.step if step is None else step
        if self.action != "hold":
            if type(at) is int and at >= 0 and self._plan_rates is not None:
                return self._plan_rates(at)  # schedule(at), bit for bit, a list index per step
            return self.schedule(at)
        return self._ramp(at, self.clock, self.ramp_done_at is not None)

    def _ramp(self, at: int, clock: float, done: bool) -> float:
        assert self.schedule is not None
        planned = self._planned(at)
        if done:
            return planned
        return max(min(self.schedule(clock), planned), self.hold_floor * self.schedule(at))

    def _planned(self, step: float) -> float:
        """What the planned schedule gives after its warmup: the decay's value at ``step`` (the peak before it)."""
        assert self.schedule is not None
        return self.schedule(max(step, self.warmup_steps))

    # ------------------------------------------------------------------ observing

    def observe(self, loss: object, grad_norm: object = None) -> list[Flag]:
        """Record one optimizer update's loss (and gradient norm); return the flags it raised.

        Call it once per optimizer update, after ``optimizer.step()``. Under ``"hold"``, the next
        :meth:`multiplier` already reflects what this update showed.
        """
        step = self.step
        value = _number("loss", loss)
        norm = None if grad_norm is None else _number("grad_norm", grad_norm)
        multiplier = self.multiplier(step) if self.schedule is not None else math.nan
        if self.action == "hold" and self.schedule is not None:
            self.held_back += max(0.0, self.schedule(step) - multiplier)
        if math.isfinite(value) and value <= 0 and self._log_scale:
            self._to_raw()
        level = self._level(value)
        found: list[Flag] = []
        if step < self.watch_steps:
            found = self._judge(step, value, level, norm, multiplier)
        if math.isfinite(level):
            self._losses.append(level)
            if self._first is None:
                self._first = level
            if step < self.watch_steps:
                self._history.append(level)
                if len(self._history) % self.min_history == 0:
                    self._blocks.append(statistics.median(self._history[-self.min_history :]))
        if norm is not None and math.isfinite(norm) and norm > 0:
            self._norms.append(math.log(norm))
        if step < self.watch_steps:
            finite = norm is not None and math.isfinite(norm) and norm > 0
            self._norm_history.append(math.log(norm) if finite else math.nan)  # type: ignore[arg-type]
        self.step = step + 1
        for flag in found:
            self._raise(flag)
        if self.action == "hold":
            suspect, self._suspect = self._suspect, None
            self._advance(step, found, suspect)
        elif self.ramp_done_at is None and self.step >= self.warmup_steps:
            self.ramp_done_at = self.warmup_steps  # the planned warmup is over
        return found

    def _level(self, loss: float) -> float:
        if not math.isfinite(loss):
            return loss
        return math.log(loss) if self._log_scale else loss

    def _to_raw(self) -> None:
        """A loss that is not positive: from now on losses are compared as they are, not as logs."""
        self._log_scale = False
        self._losses = deque((math.exp(x) for x in self._losses), maxlen=self.window)
        self._history = [math.exp(x) for x in self._history]
        self._blocks = [math.exp(x) for x in self._blocks]
        self._first = None if self._first is None else math.exp(self._first)
        if self._drop is not None:
            at, norm, reference, level = self._drop
            self._drop = (at, norm, reference, math.exp(level))

    def _show(self, level: float) -> str:
        return f"{math.exp(level) if self._log_scale else level:.4g}"

    def _far(self, excess: float, ratio: float, noise: float) -> bool:
        """Whether a value ``excess`` above (on the log scale) its reference is far: beyond the ratio and the noise."""
        return excess > math.log(ratio) and excess > self.noise_z * noise

    def _judge(self, step: int, loss: float, level: float, norm: float | None, multiplier: float) -> list[Flag]:
        def flag(kind: FlagKind, value: float, reference: float, what: str) -> Flag:
            return Flag(step, kind, value, reference, multiplier, f"step {step}: {what}")

        if not math.isfinite(loss):
            return [flag("non-finite", loss, math.nan, "non-finite loss")]
        if norm is not None and not math.isfinite(norm):
            return [flag("non-finite", norm, math.nan, "non-finite gradient norm")]
        found = []
        jump = self._early_jump(level, norm)
        spike = self._spike(level) if jump is None else None
        if jump is not None:
            found.append(flag("loss-spike", loss, *jump))
        if spike is not None:
            reference, what = spike
            found.append(flag("loss-spike", loss, reference, what))
        if norm is not None and norm > 0 and len(self._norms) >= self.min_history:
            reference = statistics.median(self._norms)
            seen = [x for x in self._norm_history[-NOISE_SPAN:] if math.isfinite(x)]
            noise = noise_scale(seen if len(seen) >= len(self._norms) else self._norms)
            shown = f"{math.exp(reference):.4g}"
            excess = math.log(norm) - reference
            loss_up = not self._losses or level >= statistics.median(self._losses)
            if self.grad_blowup is not None and loss_up and self._far(excess, self.grad_blowup, noise):
                what = (
                    f"gradient norm {norm:.4g} > {self.grad_blowup:g} x median {shown} (and > {self.noise_z:g} sd), "
                    f"on a loss not below its median"
                )
                found.append(flag("grad-blowup", norm, math.exp(reference), what))
            elif (
                self.grad_collapse is not None
                and self._drop is None
                and len(self._losses) >= self.min_history
                and self._far(-excess, self.grad_collapse, noise)
            ):
                # the loss when the gradient dropped: the lower of its level and the median of the last three
                # (one level is a noisy yardstick; the median alone is too high right after a spike)
                recent = statistics.median([*self._history[-2:], level])
                self._drop = (step, norm, math.exp(reference), min(level, recent))
                if self.action == "hold" and self._high_rate(multiplier):
                    what = (
                        f"gradient norm {norm:.4g} < median {shown} / {self.grad_collapse:g} at {multiplier:.3g} "
                        "of the peak rate: a collapse is suspected (flagged if the loss does not fall in the next "
                        f"{self.min_history} updates)"
                    )
                    self._suspect = Flag(
                        step, "grad-collapse", norm, math.exp(reference), multiplier, f"step {step}: {what}"
                    )
        collapse = self._collapse(step, level, multiplier)
        if collapse is not None:
            found.append(flag("grad-collapse", *collapse))
        stall = self._stall(step, level, multiplier)
        if stall is not None:
            found.append(flag("loss-stall", *stall))
        return found

    def _early_jump(self, level: float, norm: float | None) -> tuple[float, str] | None:
        """Two updates in a row whose loss is ``early_jump`` times the first loss, in the first ``min_history``
        updates (before a noise scale can be measured), with the gradient norm ``early_jump`` times the first
        too where norms are given: the first steps at the rate threw the model out of its starting basin (the
        catapult of Lewkowycz et al. 2020 that does not come back down)."""
        if self.early_jump is None or self._first is None or not 2 <= len(self._history) < self.min_history:
            return None
        first, previous = self._first, self._history[-1]
        jump = math.log(self.early_jump) if self._log_scale else (self.early_jump - 1) * abs(first)
        bound = first + jump
        if not (level > bound and previous > bound):
            return None
        norms = self._norm_history
        if norm is not None and norms and math.isfinite(norms[0]):
            if not (norm > 0 and math.log(norm) - norms[0] > math.log(self.early_jump)):
                return None
            if not (math.isfinite(norms[-1]) and norms[-1] - norms[0] > math.log(self.early_jump)):
                return None
        shown = math.exp(first) if self._log_scale else first
        what = (
            f"loss {self._show(level)} and {self._show(previous)} in a row > {self.early_jump:g} x the first loss "
            f"{self._show(first)}" + (", with the gradient norm likewise" if norm is not None else "")
        )
        return shown, what

    def _spike(self, level: float) -> tuple[float, str] | None:
        if self.loss_spike is None or self._first is None:
            return None
        if len(self._losses) < 2:  # one loss seen: no spread to judge by, far above it
            start = self._losses[0] if self._losses else self._first
            threshold = self.loss_spike**2
            excess = level - start if self._log_scale else (level - start) / abs(start or 1.0)
            if excess <= (math.log(threshold) if self._log_scale else threshold - 1):
                return None
            what = f"loss {self._show(level)} > {threshold:.3g} x the first loss {self._show(start)}"
            return (math.exp(start) if self._log_scale else start), what
        reference = statistics.median(self._losses)
        if len(self._losses) < self.min_history:
            # too few losses for a standard deviation: the whole spread so far stands in for it (it is
            # larger than the noise's standard deviation, so a noisy start is never a spike)
            noise = max(self._losses) - min(self._losses)
        elif len(self._history) < 2 * self.window:
            # a median absolute deviation of few losses is often low: the larger of it and the root mean square
            noise = max(noise_scale(self._losses), rms_noise(self._losses))
        else:
            noise = noise_scale(self._history[-NOISE_SPAN:])
        if self._log_scale:
            far = self._far(level - reference, self.loss_spike, noise)
        else:
            far = (
                level - reference > (self.loss_spike - 1) * abs(reference) and level - reference > self.noise_z * noise
            )
        if not far:
            return None
        shown = self._show(reference)
        what = f"loss {self._show(level)} > {self.loss_spike:g} x median {shown} (and > {self.noise_z:g} sd)"
        return (math.exp(reference) if self._log_scale else reference), what

    def _high_rate(self, multiplier: float) -> bool:
        return self.stall_rate is not None and (not math.isfinite(multiplier) or multiplier >= self.stall_rate)

    def _collapse(self, step: int, level: float, multiplier: float) -> tuple[float, float, str] | None:
        """The verdict on a gradient drop, ``min_history`` updates later: a collapse if the loss did not fall since."""
        if self._drop is None or step - self._drop[0] < self.min_history:
            return None
        at, norm, reference, before = self._drop
        self._drop = None
        after = [*self._history[-(self.min_history - 1) :], level] if math.isfinite(level) else []
        if not after or (self.stall_rate is not None and not self._high_rate(multiplier)):
            return None
        noise = noise_scale(self._history[-NOISE_SPAN:] if len(self._history) >= len(self._losses) else self._losses)
        if statistics.median(after) < before - noise:
            return None  # the loss still falls (by more than its noise): a sharp start, not a collapse
        if not self._stuck(statistics.median(after)):
            return None  # most of the loss is gone: the gradient slows near the bottom
        what = (
            f"gradient norm fell to {norm:.4g} at step {at} (< median {reference:.4g} / {self.grad_collapse:g}) "
            f"and the loss has not fallen since (median {self._show(statistics.median(after))})"
        )
        return norm, reference, what

    def _stall(self, step: int, level: float, multiplier: float) -> tuple[float, float, str] | None:
        """A plateau at a high rate lasting ``stall_factor`` times as long as the descent to it (module docstring).

        Judged when a block of ``min_history`` levels is complete, on the medians of the blocks: the
        plateau goes back from now as long as every block is within two standard errors above the
        last one; it is a stall when it has lasted ``stall_factor`` times the updates before it, the
        planned rate was at least ``stall_rate`` from its start, and the median of its second half is
        not below that of its first half by two standard errors of that difference.
        """
        size = self.min_history
        if self.stall_rate is None or self._stalled or not self._high_rate(multiplier) or not math.isfinite(level):
            return None
        if (len(self._history) + 1) % size != 0 or len(self._blocks) < 3:
            return None
        blocks = [*self._blocks, statistics.median([*self._history[-(size - 1) :], level])]
        now = blocks[-1]
        noise = noise_scale(self._history[-self.window :])
        start = len(blocks) - 1  # back from now, as long as every block is on the level
        while start > 0 and blocks[start - 1] <= now + 2 * 1.25 * noise / math.sqrt(size):
            start -= 1
        reached = start * size
        half = (len(blocks) - start) // 2
        if half < 2 or len(blocks) - start < self.stall_factor * start:
            return None
        if self.schedule is not None and self.schedule(reached) < self.stall_rate:
            return None  # the rate was low for part of the plateau: a warmup still under way
        if not self._gradient_fell(reached):
            return None  # the model still pulls on its weights as hard as at the start: a plateau it works on
        if not self._stuck(now):
            return None  # most of the loss is gone: a run converging, not stuck in a degenerate solution
        first = statistics.median(blocks[-2 * half : -half])
        last = statistics.median(blocks[-half:])
        noise = noise_scale(self._history[-2 * half * size :])
        # the standard error of the difference of two medians of half block medians of size values each
        error = math.pi / 2 * noise * math.sqrt(2 / (half * size))
        if first - last > 2 * error:
            return None  # still falling
        self._stalled = True
        what = (
            f"loss stalled at {self._show(last)} at {multiplier:.3g} of the peak rate: no fall since step "
            f"{reached}, {self.stall_factor:g}x as long as it took to get there"
        )
        shown = math.exp(last) if self._log_scale else last
        return shown, (math.exp(first) if self._log_scale else first), what

    def _stuck(self, level: float) -> bool:
        """Whether ``level`` still keeps more than ``stuck_share`` of the first loss (true when not required)."""
        if self.stuck_share is None or self._first is None:
            return True
        if self._log_scale:
            return level - self._first > math.log(self.stuck_share)
        return level > self.stuck_share * self._first if self._first > 0 else True

    def _gradient_fell(self, since: int) -> bool:
        """Whether the median gradient norm since update ``since`` is ``stall_grad`` times below that of the
        first ``min_history`` updates (true when there are no norms to judge by, or the test is off)."""
        if self.stall_grad is None:
            return True
        start = [x for x in self._norm_history[: self.min_history] if math.isfinite(x)]
        plateau = [x for x in self._norm_history[since:] if math.isfinite(x)]
        if not start or not plateau:
            return True
        return statistics.median(start) - statistics.median(plateau) > math.log(self.stall_grad)

    def _ramp_rate(self, step: int) -> float:
        """The rate at an earlier ``step`` (the plan; under ``"hold"`` at least what the ramp gave)."""
        assert self.schedule is not None
        return self.schedule(step)

    def _raise(self, flag: Flag) -> None:
        self.flags.append(flag)
        if self.action == "stop":
            self.should_stop = True
        if self.on_flag is not None:
            self.on_flag(flag)
        if self.warn and self.action != "hold":
            reaction = "; stopping" if self.action == "stop" else ""
            warnings.warn(f"rampup monitor: {flag.message}{reaction}", RuntimeWarning, stacklevel=4)

    # ------------------------------------------------------------------ hold

    def _advance(self, step: int, found: list[Flag], suspect: Flag | None = None) -> None:
        """Move the ramp's clock after update ``step`` (``"hold"`` only).

        A flag in the watch window sends the clock back even when the ramp had already met the
        decay: instability right after a too-short warmup starts the ramp again, slower. A gradient
        drop at a high rate (``suspect``) acts like a flag here, at once: by the time the verdict on
        it is in, a collapse can no longer be undone, and backing off costs little when it was a
        sharp start. Episodes and holds only start within the bounds (module docstring).
        """
        assert self.schedule is not None
        after = step + 1
        if suspect is not None and not found:
            found = [suspect]
        if found and step < self.hold_until:  # the same episode: only hold longer, if the budget allows
            cost = self._project(after, self.clock, self.speed, after + self.hold_steps, self.ramp_done_at is not None)
            if self.held_back + cost <= self.hold_budget * self.planned_total:
                self.hold_until = after + self.hold_steps
            return
        if found and self._try_episode(step, found[0]):
            return
        if self.ramp_done_at is not None:
            return
        if after >= self.hold_until:
            self.clock += self.speed
        if self.clock >= self.warmup_steps or self.schedule(self.clock) >= self._planned(after):
            self.ramp_done_at = after

    def _try_episode(self, step: int, flag: Flag) -> bool:
        """Start an episode of ``"hold"`` for ``flag`` if the bounds allow it; warn once either way."""
        assert self.schedule is not None
        after = step + 1
        budget = self.hold_budget * self.planned_total
        if len(self.episodes) >= self.max_holds:
            self._note_limit(flag, f"{self.max_holds} episodes of hold already; the ramp goes on as it was")
            return False
        clock = self.backoff * min(self.clock, float(self.warmup_steps))
        speed = self.speed * self.slowdown
        hold_until = after + self.hold_steps
        cost = self._project(after, clock, speed, hold_until, done=False)
        if self.held_back + cost > budget:
            self._note_limit(
                flag,
                f"holding would take back {(self.held_back + cost) / self.planned_total:.1%} of the planned total "
                f"rate, above the bound of {self.hold_budget:.0%}; the ramp goes on as it was",
            )
            return False
        before = self.multiplier(after)
        self.clock, self.speed, self.hold_until = clock, speed, hold_until
        self.ramp_done_at = None if self.warmup_steps > 0 else self.ramp_done_at
        rate = self.multiplier(after)
        share = (self.held_back + cost) / self.planned_total if self.planned_total else 0.0
        kind = flag.kind if flag in self.flags else "grad-drop"
        self.episodes.append(HoldEpisode(flag.step, kind, before, rate, clock, speed, share))
        if self.warn:
            warnings.warn(
                f"rampup monitor: {flag.message}; holding the warmup (episode {len(self.episodes)} of at most "
                f"{self.max_holds}): rate {before:.3g} -> {rate:.3g} of the peak for {self.hold_steps} updates, "
                f"then the ramp climbs again at {speed:g}x its speed; the rate never goes below "
                f"{self.hold_floor:g}x the plan, and hold takes back {share:.1%} of the planned total rate so far "
                f"(projected; bounded at {self.hold_budget:.0%})",
                RuntimeWarning,
                stacklevel=4,
            )
        return True

    def _note_limit(self, flag: Flag, what: str) -> None:
        if self.warn and not self._noted_limit:
            warnings.warn(f"rampup monitor: {flag.message}; not holding: {what}", RuntimeWarning, stacklevel=5)
        self._noted_limit = True

    def _project(self, start: int, clock: float, speed: float, hold_until: int, done: bool) -> float:
        """The planned rate the ramp would hold back from update ``start`` on, with no further flag."""
        assert self.schedule is not None
        cost = 0.0
        at = start
        while not done:
            cost += max(0.0, self.schedule(at) - self._ramp(at, clock, False))
            at += 1
            if at >= hold_until:
                clock += speed
            done = clock >= self.warmup_steps or self.schedule(clock) >= self._planned(at)
        return cost

    # ------------------------------------------------------------------ reporting and checkpoints

    @property
    def flagged(self) -> bool:
        """Whether any flag was raised."""
        return bool(self.flags)

    def first_flag(self) -> Flag | None:
        return self.flags[0] if self.flags else None

    def summary(self) -> dict[str, Any]:
        """Plain data: what was watched, every flag, and where the ramp is."""
        return {
            "action": self.action,
            "watch_steps": self.watch_steps,
            "steps_observed": self.step,
            "flags": [flag.to_dict() for flag in self.flags],
            "first_flag_step": self.flags[0].step if self.flags else None,
            "warmup_steps_planned": self.warmup_steps,
            "ramp_done_at": self.ramp_done_at,
            "hold_episodes": [episode.to_dict() for episode in self.episodes],
            "held_back_share": self.held_back / self.planned_total if self.planned_total else 0.0,
        }

    def state_dict(self) -> dict[str, Any]:
        """Plain data to resume exactly (the thresholds come from the constructor)."""
        return {
            "step": self.step,
            "clock": self.clock,
            "speed": self.speed,
            "hold_until": self.hold_until,
            "ramp_done_at": self.ramp_done_at,
            "should_stop": self.should_stop,
            "losses": list(self._losses),
            "norms": list(self._norms),
            "flags": [flag.to_dict() for flag in self.flags],
            "episodes": [episode.to_dict() for episode in self.episodes],
            "held_back": self.held_back,
            "log_scale": self._log_scale,
            "first": self._first,
            "history": list(self._history),
            "blocks": list(self._blocks),
            "norm_history": list(self._norm_history),
            "drop": None if self._drop is None else list(self._drop),
            "stalled": self._stalled,
            "noted_limit": self._noted_limit,
            "plan": self.plan(),
        }

    def plan(self) -> dict[str, Any]:
        """What a saved state must match to be resumed here: the planned schedule, its total and the action."""
        schedule = None if self.schedule is None else str(self.schedule)
        total = None if self.schedule is None else self.schedule.total_steps
        return {"schedule": schedule, "total_steps": total, "action": self.action}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict` (one from before the stall detector and the hold bounds loads too).

        A state saved with another schedule, total or action is refused (a :class:`RampupError`), and
        so is a malformed one; either way the monitor is left as it was.
        """
        if not isinstance(state, Mapping):
            raise RampupError("state_dict", type(state).__name__, "a dict made by WarmupMonitor.state_dict()")
        saved = state.get("plan")
        if saved is not None and dict(saved) != self.plan():
            raise RampupError(
                "state_dict",
                dict(saved),
                f"a state saved with this monitor's plan {self.plan()}",
                hint="build the WarmupMonitor with the schedule, total_steps and action the run was saved with",
            )
        try:
            log_scale = bool(state.get("log_scale", False))
            if "log_scale" not in state:  # an older state kept raw losses and norms
                norms = [math.log(float(x)) for x in state["norms"] if float(x) > 0]
            else:
                norms = [float(x) for x in state["norms"]]
            done = state["ramp_done_at"]
            first = state.get("first")
            drop = state.get("drop")
            new = {
                "step": int(state["step"]),
                "clock": float(state["clock"]),
                "speed": float(state["speed"]),
                "hold_until": int(state["hold_until"]),
                "ramp_done_at": None if done is None else int(done),
                "should_stop": bool(state["should_stop"]),
                "_log_scale": log_scale,
                "_losses": deque((float(x) for x in state["losses"]), maxlen=self.window),
                "_norms": deque(norms, maxlen=self.window),
                "flags": [Flag(**flag) for flag in state["flags"]],
                "episodes": [HoldEpisode(**episode) for episode in state.get("episodes", [])],
                "held_back": float(state.get("held_back", 0.0)),
                "_first": None if first is None else float(first),
                "_history": [float(x) for x in state.get("history", [])],
                "_blocks": [float(x) for x in state.get("blocks", [])],
                "_norm_history": [float(x) for x in state.get("norm_history", [])],
                "_drop": None if drop is None else (int(drop[0]), float(drop[1]), float(drop[2]), float(drop[3])),
                "_stalled": bool(state.get("stalled", False)),
                "_noted_limit": bool(state.get("noted_limit", False)),
            }
        except (KeyError, TypeError, ValueError, IndexError) as error:
            raise RampupError(
                "state_dict", type(state).__name__, "a dict made by WarmupMonitor.state_dict()", hint=str(error)
            ) from None
        for name, value in new.items():
            setattr(self, name, value)


def require_monitor(monitor: object) -> WarmupMonitor:
    """``monitor`` if it is a :class:`WarmupMonitor` (what every front door takes), else a :class:`RampupError`."""
    if not isinstance(monitor, WarmupMonitor):
        raise RampupError("monitor", type(monitor).__name__, "a rampup.monitor.WarmupMonitor")
    return monitor
