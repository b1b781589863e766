"""Watch the start of training, flag the instability warmup is there to prevent, and act on it.

:class:`WarmupMonitor` is told, once per optimizer update, the update's loss and gradient norm. In
its watch window (the warmup, and at least the first 20% of the run or 50 steps, so that runs
without warmup are watched too) it raises a :class:`Flag` for:

- **non-finite**: a NaN or infinite loss or gradient norm;
- **loss-spike**: a loss above ``loss_spike`` times the median of the last ``window`` losses
  (the "catapult" of a rate above the edge of stability: Lewkowycz et al. 2020, Kalra & Barkeshli 2024);
- **grad-blowup**: a gradient norm above ``grad_blowup`` times the median of the last ``window`` norms;
- **grad-collapse**: a gradient norm below the median of the last ``window`` norms divided by
  ``grad_collapse`` while the loss did not fall by as much: the gradient vanishing within a step or
  two while the rate ramps, the mark of a model falling into a degenerate solution. (A model that
  converges fast loses its gradient too, but its loss falls with it: not flagged.) On the lab's
  Post-LN task this is how a too-short warmup fails: the model collapses onto the character
  frequencies around step 10 and never leaves (docs/monitor.md). ``grad_collapse=None`` turns it off.

The median of the recent past is the reference (not the mean), so that one flagged value does not
move it; the first ``min_history`` updates set the reference and are not judged (except non-finite).

What it does with a flag is ``action``:

- ``"warn"``: a :class:`RuntimeWarning` (and the flag in :attr:`WarmupMonitor.flags`);
- ``"stop"``: the same, and :attr:`WarmupMonitor.should_stop` turns true (the framework callbacks
  stop the trainer);
- ``"hold"``: an adaptive warmup that lengthens itself while training is unstable. The ramp has a
  clock ``c`` (in steps of the warmup) and a speed ``v`` (warmup steps per update, 1 at first). Each
  update advances ``c`` by ``v``. A flag moves the clock back to ``backoff * c``, multiplies the speed
  by ``slowdown`` and holds the clock still for ``hold_steps`` updates; flags during a hold only
  extend it. The rate is ``schedule(c)`` during the ramp, never above the decay's value at the
  current step (the ramp climbs until it meets the planned decay and then follows it, so the decay
  still ends where it was planned). :meth:`WarmupMonitor.multiplier` gives that value;
  :class:`rampup.monitor.torch.MonitoredLR` writes it into an optimizer.

Front doors: :mod:`rampup.monitor.torch` (plain PyTorch loops), :mod:`rampup.monitor.hf`
(a transformers ``TrainerCallback``), :mod:`rampup.monitor.lightning` (a Lightning ``Callback``).
This module itself needs nothing but the standard library and the schedule engine.
"""

from __future__ import annotations

import math
import statistics
import warnings
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["ACTIONS", "Action", "Flag", "FlagKind", "WarmupMonitor", "require_monitor"]

Action = Literal["warn", "stop", "hold"]
FlagKind = Literal["non-finite", "loss-spike", "grad-blowup", "grad-collapse"]
ACTIONS: tuple[str, ...] = get_args(Action)

#: the shortest watch window, in updates, when the warmup is shorter or absent
MIN_WATCH_STEPS = 50
#: the share of the run watched at least
WATCH_SHARE = 0.2


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


def _ratio(name: str, value: object, lowest: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= lowest:
        raise RampupError(name, value, f"a number > {lowest:g}")
    return float(value)


def _fraction(name: str, value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        raise RampupError(name, value, f"a fraction in (0, 1]: {what}")
    return float(value)


def _count(name: str, value: object, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise RampupError(name, value, f"a whole number >= {lowest}")
    return value


def _number(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)  # type: ignore[arg-type]  # a 0-d tensor or NumPy scalar
        except (TypeError, ValueError):
            raise RampupError(name, value, "a number (a float, or a 0-d tensor)") from None
    return float(value)


class WarmupMonitor:
    """Flags loss spikes, non-finite values and gradient-norm blow-ups or collapses early in training.

    Args:
        schedule: the planned schedule (a :class:`rampup.Schedule`, spec text or preset name). It
            sets the watch window and is what ``action="hold"`` adapts; without one, the window is
            ``watch_steps`` and ``"hold"`` is not available.
        total_steps, steps_per_epoch: what the schedule needs to resolve.
        action: ``"warn"``, ``"stop"`` or ``"hold"`` (module docstring).
        watch_steps: the updates watched; default: the warmup, at least 20% of the run, at least 50.
        window, min_history: the recent past the median reference is taken over, and the updates
            seen before anything is judged.
        loss_spike, grad_blowup, grad_collapse: the thresholds (``None`` switches one off).
        backoff, slowdown, hold_steps: how ``"hold"`` reacts to a flag.
        warn: whether a flag also raises a :class:`RuntimeWarning` (the flags are kept either way).
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
        window: int = 10,
        min_history: int = 5,
        loss_spike: float | None = 1.5,
        grad_blowup: float | None = 5.0,
        grad_collapse: float | None = 2.5,
        backoff: float = 0.1,
        slowdown: float = 0.5,
        hold_steps: int = 10,
        warn: bool = True,
        on_flag: Callable[[Flag], object] | None = None,
    ) -> None:
        if action not in ACTIONS:
            raise RampupError("action", action, f"one of {', '.join(ACTIONS)}")
        self.schedule: Schedule | None = None
        if schedule is not None:
            self.schedule = as_schedule(schedule).resolve(total_steps, steps_per_epoch=steps_per_epoch)
        elif action == "hold":
            raise RampupError(
                "schedule", None, "the planned schedule when action='hold'", hint="hold adapts a schedule's warmup"
            )
        self.action: Action = action
        self.window = _count("window", window, 2)
        self.min_history = _count("min_history", min_history, 1)
        self.loss_spike = None if loss_spike is None else _ratio("loss_spike", loss_spike, 1.0)
        self.grad_blowup = None if grad_blowup is None else _ratio("grad_blowup", grad_blowup, 1.0)
        self.grad_collapse = None if grad_collapse is None else _ratio("grad_collapse", grad_collapse, 1.0)
        self.backoff = _fraction("backoff", backoff, "where the ramp's clock goes back to")
        self.slowdown = _fraction("slowdown", slowdown, "how much slower the ramp goes on")
        self.hold_steps = _count("hold_steps", hold_steps, 0)
        self.warn = bool(warn)
        self.on_flag = on_flag
        self.warmup_steps = 0 if self.schedule is None else self.schedule.warmup_steps
        if watch_steps is None:
            total = None if self.schedule is None else self.schedule.total_steps
            share = 0 if total is None else math.ceil(WATCH_SHARE * total)
            watch_steps = max(self.warmup_steps, share, MIN_WATCH_STEPS)
        self.watch_steps = _count("watch_steps", watch_steps, 0)
        #: every flag raised, in order
        self.flags: list[Flag] = []
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
        self._losses: deque[float] = deque(maxlen=self.window)
        self._norms: deque[float] = deque(maxlen=self.window)

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
            return self.schedule(at)
        planned = self._planned(at)
        return planned if self.ramp_done_at is not None else min(self.schedule(self.clock), planned)

    def _planned(self, step: int) -> float:
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
        found: list[Flag] = []
        if step < self.watch_steps:
            found = self._judge(step, value, norm, multiplier)
        if math.isfinite(value):
            self._losses.append(value)
        if norm is not None and math.isfinite(norm):
            self._norms.append(norm)
        self.step = step + 1
        for flag in found:
            self._raise(flag)
        if self.action == "hold":
            self._advance(step, bool(found))
        elif self.ramp_done_at is None and self.step >= self.warmup_steps:
            self.ramp_done_at = self.warmup_steps  # the planned warmup is over
        return found

    def _judge(self, step: int, loss: float, norm: float | None, multiplier: float) -> list[Flag]:
        def flag(kind: FlagKind, value: float, reference: float, what: str) -> Flag:
            return Flag(step, kind, value, reference, multiplier, f"step {step}: {what}")

        if not math.isfinite(loss):
            return [flag("non-finite", loss, math.nan, "non-finite loss")]
        if norm is not None and not math.isfinite(norm):
            return [flag("non-finite", norm, math.nan, "non-finite gradient norm")]
        found = []
        if self.loss_spike is not None and len(self._losses) >= self.min_history:
            reference = statistics.median(self._losses)
            if loss > self.loss_spike * reference:
                found.append(
                    flag(
                        "loss-spike", loss, reference, f"loss {loss:.4g} > {self.loss_spike:g} x median {reference:.4g}"
                    )
                )
        if norm is not None and len(self._norms) >= self.min_history:
            reference = statistics.median(self._norms)
            if self.grad_blowup is not None and norm > self.grad_blowup * reference:
                what = f"gradient norm {norm:.4g} > {self.grad_blowup:g} x median {reference:.4g}"
                found.append(flag("grad-blowup", norm, reference, what))
            elif (
                self.grad_collapse is not None
                and norm * self.grad_collapse < reference
                and not (self._losses and loss * self.grad_collapse < statistics.median(self._losses))
            ):
                what = f"gradient norm {norm:.4g} < median {reference:.4g} / {self.grad_collapse:g}"
                found.append(flag("grad-collapse", norm, reference, what))
        return found

    def _raise(self, flag: Flag) -> None:
        self.flags.append(flag)
        if self.action == "stop":
            self.should_stop = True
        if self.on_flag is not None:
            self.on_flag(flag)
        if self.warn:
            reaction = {"warn": "", "stop": "; stopping", "hold": "; holding the warmup ramp"}[self.action]
            warnings.warn(f"rampup monitor: {flag.message}{reaction}", RuntimeWarning, stacklevel=4)

    def _advance(self, step: int, flagged: bool) -> None:
        """Move the ramp's clock after update ``step`` (``"hold"`` only).

        A flag in the watch window sends the clock back even when the ramp had already met the
        decay: instability right after a too-short warmup starts the ramp again, slower.
        """
        assert self.schedule is not None
        after = step + 1
        if flagged and step < self.hold_until:  # the same episode: only hold longer
            self.hold_until = after + self.hold_steps
            return
        if flagged:
            self.clock = self.backoff * min(self.clock, float(self.warmup_steps))
            self.speed *= self.slowdown
            self.hold_until = after + self.hold_steps
            self.ramp_done_at = None if self.warmup_steps > 0 else self.ramp_done_at
            return
        if self.ramp_done_at is not None:
            return
        if after >= self.hold_until:
            self.clock += self.speed
        if self.clock >= self.warmup_steps or self.schedule(self.clock) >= self._planned(after):
            self.ramp_done_at = after

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
        }

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Continue from :meth:`state_dict`."""
        try:
            self.step = int(state["step"])
            self.clock = float(state["clock"])
            self.speed = float(state["speed"])
            self.hold_until = int(state["hold_until"])
            done = state["ramp_done_at"]
            self.ramp_done_at = None if done is None else int(done)
            self.should_stop = bool(state["should_stop"])
            self._losses = deque((float(x) for x in state["losses"]), maxlen=self.window)
            self._norms = deque((float(x) for x in state["norms"]), maxlen=self.window)
            self.flags = [Flag(**flag) for flag in state["flags"]]
        except (KeyError, TypeError, ValueError) as error:
            raise RampupError(
                "state_dict", type(state).__name__, "a dict made by WarmupMonitor.state_dict()", hint=str(error)
            ) from None


def require_monitor(monitor: object) -> WarmupMonitor:
    """``monitor`` if it is a :class:`WarmupMonitor` (what every front door takes), else a :class:`RampupError`."""
    if not isinstance(monitor, WarmupMonitor):
        raise RampupError("monitor", type(monitor).__name__, "a rampup.monitor.WarmupMonitor")
    return monitor
