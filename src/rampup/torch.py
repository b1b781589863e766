"""PyTorch front door: :class:`RampupLR`, a closed-form scheduler, and :func:`with_warmup`.

``RampupLR`` is a real :class:`torch.optim.lr_scheduler.LRScheduler`. Each
parameter group's own initial rate (``group["initial_lr"]``, set from its ``lr``
as PyTorch's schedulers do) is its peak, and after ``n`` calls of ``step()``
every group runs at ``initial_lr * schedule(n)``: the engine's value at step
``n``, computed in closed form every time (no recursive update that could drift,
unlike the chainable forms of PyTorch's own schedulers)::

    >>> import torch
    >>> from rampup.torch import RampupLR
    >>> model = torch.nn.Linear(2, 1)
    >>> optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    >>> scheduler = RampupLR(optimizer, "linear(5%) -> cosine(to=0.1)", total_steps=1000)
    >>> for _ in range(50):
    ...     optimizer.step()
    ...     scheduler.step()
    >>> scheduler.get_last_lr()
    [0.1]

``with_warmup(scheduler, "linear(500)")`` puts a warmup in front of any other
PyTorch scheduler. See docs/torch.md for resuming, tensor rates with a
``torch.compile``d optimizer step, gradient accumulation and multi-process runs.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from numbers import Real
from typing import Any, SupportsFloat

import numpy as np

try:
    import torch
    from torch import Tensor
    from torch.optim import Optimizer
    from torch.optim.lr_scheduler import LRScheduler, ReduceLROnPlateau
except ImportError as error:  # pragma: no cover - exercised in a subprocess without torch
    raise ImportError("rampup.torch needs PyTorch, which is not installed: pip install 'rampup[torch]'") from error

from rampup.errors import RampupError
from rampup.schedule import Phase, Schedule, as_schedule
from rampup.stepper import Multipliers

__all__ = ["RampupLR", "WarmupScheduler", "with_warmup", "write_rates"]

#: version of the state_dict layout
_FORMAT = 1

_ORDER_WARNING = (
    "scheduler.step() was called before optimizer.step(): the rate for step 0 was never used. "
    "Call optimizer.step() first, then scheduler.step(), once per optimizer update "
    "(see https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate)"
)


def _check_optimizer(optimizer: object) -> Optimizer:
    if not isinstance(optimizer, Optimizer):
        raise RampupError(
            "optimizer",
            type(optimizer).__name__,
            "a torch.optim.Optimizer",
            hint="build the optimizer first, e.g. torch.optim.AdamW(model.parameters(), lr=3e-4)",
        )
    if not optimizer.param_groups:
        raise RampupError("optimizer", "no parameter groups", "an optimizer with at least one parameter group")
    return optimizer


def _as_float(value: object, field: str) -> float:
    """A group's rate as a Python float (a tensor rate is read once, here, never per step)."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RampupError(field, f"a tensor of shape {tuple(value.shape)}", "a number or a one-element tensor")
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(float(value)) or value < 0:
        raise RampupError(field, value, "a finite learning rate >= 0")
    return float(value)


def _check_step(value: object, field: str, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RampupError(field, value, "a whole number of optimizer steps")
    if value < lowest:
        expected = "-1 (a new run) or the number of the last step done (>= 0)" if lowest < 0 else "a step >= 0"
        raise RampupError(field, value, expected, hint="steps count optimizer updates from 0")
    return value


def _check_format(state: Mapping[str, Any], owner: str) -> None:
    """The layout version, when the checkpoint names one, must be this module's."""
    if isinstance(state, Mapping) and "format" in state:
        version = state["format"]
        if isinstance(version, bool) or version != _FORMAT:
            raise RampupError(
                f"{owner} state_dict['format']",
                version,
                f"{_FORMAT}, the layout this version of rampup writes",
                hint="was the checkpoint written by a newer rampup, or by another scheduler?",
            )


def _step_count(state: Mapping[str, Any], step: int) -> int:
    """The saved number of ``step()`` calls (PyTorch's ``_step_count``), checked; ``step + 1`` if absent."""
    if "step_count" not in state:
        return step + 1
    return _check_step(state["step_count"], "state_dict['step_count']", 0)


def _warn_if_out_of_order(optimizer: Optimizer) -> None:
    """PyTorch's check (pytorch/pytorch#20124): the first scheduler step should follow an optimizer step."""
    if hasattr(optimizer.step, "_wrapped_by_lr_sched") and not getattr(optimizer, "_opt_called", False):
        warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=3)


def _state_entry(state: Mapping[str, Any], key: str, owner: str) -> Any:
    if not isinstance(state, Mapping):
        raise RampupError(f"{owner} state_dict", type(state).__name__, "a dict made by state_dict()")
    if key not in state:
        raise RampupError(
            f"{owner} state_dict",
            sorted(state),
            f"a dict with the key {key!r}, as made by {owner}.state_dict()",
            hint="was the checkpoint written by another scheduler?",
        )
    return state[key]


def write_rates(optimizer: Optimizer, rates: Sequence[float | Tensor]) -> None:
    """Write one rate per parameter group: a float replaced, a tensor rate filled (or copied) in place.

    In place, a tensor ``lr`` keeps its storage (no new tensor, no host-device sync), so a compiled
    optimizer step never recompiles. The schedulers of :mod:`rampup.torch` and
    :class:`rampup.monitor.torch.MonitoredLR` write their rates with it (``RampupLR.step`` inlines it).
    """
    for group, rate in zip(optimizer.param_groups, rates, strict=True):
        current = group["lr"]
        if isinstance(current, Tensor) and isinstance(rate, Tensor):
            current.copy_(rate)
        elif isinstance(current, Tensor):
            current.fill_(rate)
        else:
            group["lr"] = rate


_is_compiling = torch.compiler.is_dynamo_compiling  # False when eager; True while dynamo traces


class RampupLR(LRScheduler):
    """A PyTorch scheduler that runs a rampup schedule in closed form.

    ``lr = initial_lr * schedule(step)`` for every parameter group, where ``step``
    is the number of ``scheduler.step()`` calls so far (one per optimizer update)
    and ``initial_lr`` is the group's rate when the scheduler was built (its
    peak). This is :class:`torch.optim.lr_scheduler.LambdaLR`'s rule, with the
    function given as data, so it survives ``state_dict()``.

    Args:
        optimizer: the optimizer whose rates to set.
        schedule: a :class:`rampup.Schedule`, spec text (``"linear(5%) -> cosine"``),
            a preset name (``"bert"``) or the dict form.
        total_steps: the run's number of optimizer updates (needed by ``5%`` and open lengths).
        steps_per_epoch: optimizer updates per epoch (needed by ``2ep``).
        tokens_per_step: tokens per optimizer update (needed by ``375Mtok``).
        last_epoch: PyTorch's resume index: -1 starts a run. Prefer ``load_state_dict``.

    ``get_last_lr()`` returns the rates written, as Python floats (for a tensor
    ``lr``, the tensor holds that value in its dtype).
    """

    def __init__(
        self,
        optimizer: Optimizer,
        schedule: Schedule | str | Mapping[str, Any],
        *,
        total_steps: int | None = None,
        steps_per_epoch: float | None = None,
        tokens_per_step: float | None = None,
        last_epoch: int = -1,
        keep_past: bool = False,
    ) -> None:
        optimizer = _check_optimizer(optimizer)
        last_epoch = _check_step(last_epoch, "last_epoch", -1)
        if not isinstance(keep_past, bool):
            raise RampupError("keep_past", keep_past, "True or False")
        resolved = as_schedule(schedule).resolve(
            total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step
        )
        #: the schedule, resolved: every length in steps (a branch replaces it)
        self.schedule: Schedule = resolved
        #: what ``load_state_dict`` does with a checkpoint of another schedule whose past it can keep
        #: (see there); set it on a scheduler a framework builds and loads (Trainer, Lightning)
        self.keep_past: bool = keep_past
        # the schedule built with, and the branches made since: [at, then text or None, total or None]
        self._origin: tuple[str, int | None] = (str(resolved), resolved.total_steps)
        self._branches: list[list[Any]] = []
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group in groups:
                lr = group["lr"]
                group.setdefault("initial_lr", lr.clone() if isinstance(lr, Tensor) else lr)
        else:
            for index, group in enumerate(groups):
                if "initial_lr" not in group:
                    raise RampupError(
                        f"optimizer.param_groups[{index}]",
                        "no 'initial_lr'",
                        "a group with 'initial_lr' when last_epoch >= 0 (a resumed run)",
                        hint="load the optimizer's state_dict first, or use scheduler.load_state_dict()",
                    )
        self._peaks: list[float] = [
            _as_float(group["initial_lr"], f"optimizer.param_groups[{index}]['initial_lr']")
            for index, group in enumerate(groups)
        ]
        # the schedule's multipliers, a block of steps at a time (rampup.stepper)
        self._multipliers = Multipliers(resolved)
        # the groups list last seen when every rate in it was a float (the fast path), else None
        self._float_groups: list[dict[str, Any]] | None = None
        # (group, peak) of each group of that list: a loop over pairs is faster than a zip per step
        self._float_pairs: list[tuple[dict[str, Any], float]] = []
        # the groups list last seen with a tensor rate, and (group, its rate tensor, peak) of each group
        self._tensor_groups: list[dict[str, Any]] | None = None
        self._tensor_rates: list[tuple[dict[str, Any], Any, float]] = []
        super().__init__(optimizer, last_epoch)
        self.base_lrs = list(self._peaks)  # floats: plain data

    # ------------------------------------------------------------------ stepping

    def _value(self, step: int) -> float:
        """``schedule(step)``, bit for bit (:class:`rampup.stepper.Multipliers`)."""
        return self._multipliers(step)

    def _groups_error(self) -> RampupError:
        return RampupError(
            "optimizer.param_groups",
            f"{len(self.optimizer.param_groups)} groups",
            f"the {len(self._peaks)} groups the scheduler was built with",
            hint="build the scheduler after add_param_group(), or load a state_dict made with as many groups",
        )

    def _write(self, multiplier: float) -> None:
        """Set every group's rate to ``peak * multiplier`` (:func:`write_rates`), and remember the groups for
        the fast paths of :meth:`step`."""
        groups = self.optimizer.param_groups
        if len(groups) != len(self._peaks):
            raise self._groups_error()
        if any(isinstance(group["lr"], Tensor) for group in groups):
            self._float_groups = None
            rates = [(group, group["lr"], peak) for group, peak in zip(groups, self._peaks, strict=True)]
            every_rate_a_tensor = all(isinstance(rate, Tensor) for _, rate, _ in rates)
            # the tensor fast path: tensors only
            self._tensor_groups, self._tensor_rates = (groups, rates) if every_rate_a_tensor else (None, [])
        else:
            self._float_groups = groups
            self._float_pairs = list(zip(groups, self._peaks, strict=True))
            self._tensor_groups = None
        write_rates(self.optimizer, [peak * multiplier for peak in self._peaks])

    def step(self, epoch: int | None = None) -> None:
        """Move to the next step (call it once per optimizer update, after ``optimizer.step()``).

        ``step(n)`` jumps to step ``n`` (the rates for the update after ``n`` updates).
        Whether the groups' rates are floats or tensors is looked at when the
        optimizer's groups list is new (built, or replaced by ``optimizer.load_state_dict``):
        a tensor rate is filled in place, a float replaced.
        """
        if _is_compiling():  # inside a torch.compile'd function: run eagerly (see _eager)
            _eager(RampupLR.step)(self, epoch)
            return
        count = self._step_count
        self._step_count = count + 1
        if count == 1:
            _warn_if_out_of_order(self.optimizer)
        if epoch is None:
            current = self.last_epoch = self.last_epoch + 1
        else:
            current = self.last_epoch = _check_step(epoch, "step", 0)
        # self._value(current), inlined (this runs once per optimizer update): a list index into the block
        multipliers = self._multipliers
        index = current - multipliers.start
        table = multipliers.table
        multiplier = table[index] if 0 <= index < len(table) else multipliers.fill(current)
        groups, peaks = self.optimizer.param_groups, self._peaks
        size = len(peaks)
        # the fast path: floats, the groups as last seen (a list, its length and its first group unchanged;
        # optimizer.load_state_dict makes a new list, add_param_group a longer one)
        if groups is self._float_groups and len(groups) == size and groups[0] is self._float_pairs[0][0]:
            if size == 1:  # model.parameters(): one group, no loop
                groups[0]["lr"] = peaks[0] * multiplier
            else:
                for group, peak in self._float_pairs:
                    group["lr"] = peak * multiplier
        elif groups is self._tensor_groups and len(groups) == size:  # tensors, as last seen: fill in place
            for group, rate, peak in self._tensor_rates:
                if group["lr"] is not rate:  # a rate replaced since: look again
                    self._write(multiplier)
                    return
                rate.fill_(peak * multiplier)
        else:
            self._write(multiplier)

    def get_lr(self) -> list[float | Tensor]:
        """The rates for the current step (closed form): ``initial_lr * schedule(last_epoch)``."""
        if len(self.optimizer.param_groups) != len(self._peaks):
            raise self._groups_error()
        multiplier = self.schedule(self.last_epoch)
        return [peak * multiplier for peak in self._peaks]

    def get_last_lr(self) -> list[float | Tensor]:
        """The rates in use now, one per parameter group, as Python floats: ``initial_lr * schedule(last_epoch)``."""
        if len(self.optimizer.param_groups) != len(self._peaks):
            raise self._groups_error()  # a group added after the scheduler was built has no peak here
        multiplier = self._value(self.last_epoch)
        return [peak * multiplier for peak in self._peaks]

    @property
    def _last_lr(self) -> list[float | Tensor]:
        # PyTorch's schedulers keep the list in this attribute; some code reads it directly.
        return self.get_last_lr()

    @_last_lr.setter
    def _last_lr(self, value: list[float | Tensor]) -> None:
        pass  # derived from the step, never stored

    # ------------------------------------------------------------------ branching

    def branch(
        self,
        at: int | None = None,
        then: Schedule | str | Mapping[str, Any] | None = None,
        *,
        total_steps: int | None = None,
    ) -> Schedule:
        """Change the plan mid-run: :meth:`rampup.Schedule.branch` of this scheduler's schedule.

        ``at`` defaults to the current step (``last_epoch``, whose rate is set but not used
        yet); it may not be earlier, since the steps done cannot change. ``then=SPEC``
        continues with those phases from the rate at ``at`` (a cooldown), ``total_steps=T2``
        stretches the rest of the plan over a run of ``T2`` steps. The groups' rates are
        rewritten for the current step, and ``state_dict`` keeps the branch, which
        ``load_state_dict`` replays onto a scheduler built with the original schedule.
        Bad input raises :class:`RampupError` and changes nothing. Returns the new schedule.
        """
        done = max(self.last_epoch, 0)
        if at is None:
            at = done
        elif not isinstance(at, bool) and isinstance(at, int) and at < done:
            raise RampupError(
                "at",
                at,
                f"a step >= {done}, the steps done: they ran at the old rates, which a branch cannot change",
                hint=f"branch at {done} (now) or later",
            )
        branched = self.schedule.branch(at, then, total_steps=total_steps)
        record = str(as_schedule(then)) if then is not None else None
        self._adopt(branched, [*self._branches, [int(at), record, total_steps]], self._origin)
        self._write(self._value(self.last_epoch))
        return branched

    def _adopt(self, schedule: Schedule, branches: list[list[Any]], origin: tuple[str, int | None]) -> None:
        self.schedule = schedule
        self._branches = branches
        self._origin = origin
        self._multipliers = Multipliers(schedule)

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Plain data only (loads with ``torch.load(..., weights_only=True)``).

        ``schedule`` is the resolved spec text, ``total_steps`` the total it was
        resolved with, ``step`` the steps done, ``base_lrs`` the peaks. After a branch,
        ``origin``, ``origin_total`` and ``branches`` (``[at, then, total_steps]`` each)
        say how the schedule came from the one the scheduler was built with.
        """
        state: dict[str, Any] = {
            "format": _FORMAT,
            "schedule": str(self.schedule),
            "total_steps": self.schedule.total_steps,
            "step": self.last_epoch,
            "step_count": self._step_count,
            "base_lrs": list(self._peaks),
        }
        if self._branches:
            state["origin"], state["origin_total"] = self._origin
            state["branches"] = [list(item) for item in self._branches]
        return state

    def _replayed(self, state: Mapping[str, Any], saved: str, total: int | None) -> Schedule | None:
        """The checkpoint's branches made again on this scheduler's schedule, when it is their origin."""
        origin, origin_total, branches = state.get("origin"), state.get("origin_total"), state.get("branches")
        if origin != str(self.schedule) or origin_total != self.schedule.total_steps or not branches:
            return None
        if not isinstance(branches, (list, tuple)) or not all(
            isinstance(item, (list, tuple)) and len(item) == 3 for item in branches
        ):
            raise RampupError("state_dict['branches']", branches, "a list of [at, then, total_steps], as saved")
        schedule = self.schedule
        for at, then, new_total in branches:
            schedule = schedule.branch(at, then, total_steps=new_total)
        if str(schedule) != saved or schedule.total_steps != total:
            raise RampupError(
                "state_dict['branches']",
                branches,
                f"branches that make {saved!r} from {origin!r}",
                hint="the checkpoint was edited, or written by another version of rampup",
            )
        return schedule

    def _keep_past(self, saved: Schedule, step: int) -> tuple[Schedule, str]:
        """Under ``keep_past``: the schedule to go on with, and how it was made (see load_state_dict)."""
        if _same_past(self.schedule, saved, step):
            return self.schedule, "own"
        if self.schedule.total_steps != saved.total_steps and self.schedule.total_steps is not None:
            return saved.branch(step, total_steps=self.schedule.total_steps), "stretched"
        raise RampupError(
            "schedule",
            str(self.schedule),
            f"a schedule whose steps before {step} are the checkpoint's ({str(saved)!r})",
            hint=(
                "the run has already used those rates: build the scheduler with the checkpoint's schedule, "
                "branch it (RampupLR.branch or Schedule.branch), or change only total_steps to stretch its rest"
            ),
        )

    def load_state_dict(
        self,
        state_dict: Mapping[str, Any],
        *,
        allow_schedule_change: bool = False,
        keep_past: bool | None = None,
    ) -> None:
        """Resume at the saved step, and set the groups' rates for it.

        The checkpoint's schedule must be this scheduler's (same resolved spec, same
        total), or made from it by :meth:`branch` (the branches are made again), else a
        :class:`RampupError` says what differs and nothing changes.

        To continue a run on another total without touching its past, build the
        scheduler with the new total and ``keep_past=True`` (default: the constructor's):
        if this schedule's rates before the saved step are the checkpoint's, bit for bit,
        the run goes on with this schedule; else the checkpoint's schedule is branched at
        the saved step with this total (:meth:`rampup.Schedule.branch`: its rest
        stretched). A schedule with the checkpoint's total but another past is refused.

        ``allow_schedule_change=True`` switches to this scheduler's schedule from the
        saved step on, whatever the past was (a warmup may restart: rates jump).

        The rates are written here too, so it does not matter whether the optimizer's
        state was loaded before or after.
        """
        if keep_past is None:
            keep_past = self.keep_past
        saved_text = _state_entry(state_dict, "schedule", "RampupLR")
        _check_format(state_dict, "RampupLR")
        if not isinstance(saved_text, str):
            raise RampupError("state_dict['schedule']", saved_text, "the resolved spec text, as state_dict() writes it")
        saved_total = _state_entry(state_dict, "total_steps", "RampupLR")
        if saved_total is not None and (
            isinstance(saved_total, bool) or not isinstance(saved_total, int) or saved_total <= 0
        ):
            raise RampupError(
                "state_dict['total_steps']", saved_total, "a whole number of steps > 0, or None (open-ended)"
            )
        step = _check_step(_state_entry(state_dict, "step", "RampupLR"), "state_dict['step']", 0)
        count = _step_count(state_dict, step)
        peaks = _state_entry(state_dict, "base_lrs", "RampupLR")
        if not isinstance(peaks, (list, tuple)) or len(peaks) != len(self.optimizer.param_groups):
            raise RampupError(
                "state_dict['base_lrs']",
                peaks,
                f"{len(self.optimizer.param_groups)} rates, one per parameter group of the optimizer",
            )
        floats = [_as_float(peak, "state_dict['base_lrs']") for peak in peaks]
        same = saved_text == str(self.schedule) and saved_total == self.schedule.total_steps
        adopted: tuple[Schedule, list[list[Any]], tuple[str, int | None]] | None = None
        if same:
            adopted = (self.schedule, _branches_of(state_dict), _origin_of(state_dict, self._origin))
        elif (replayed := self._replayed(state_dict, saved_text, saved_total)) is not None:
            adopted = (replayed, _branches_of(state_dict), _origin_of(state_dict, self._origin))
        elif keep_past and not allow_schedule_change:
            saved = Schedule.parse(saved_text).resolve(saved_total)
            schedule, how = self._keep_past(saved, step)
            if how == "own":
                adopted = (schedule, [], (str(schedule), schedule.total_steps))
            else:
                record = [step, None, schedule.total_steps]
                adopted = (schedule, [*_branches_of(state_dict), record], _origin_of(state_dict, self._origin))
        if adopted is None and not allow_schedule_change:
            if saved_total != self.schedule.total_steps:
                raise RampupError(
                    "total_steps",
                    self.schedule.total_steps,
                    f"{saved_total}, the total the checkpoint was made with",
                    hint=(
                        f"build RampupLR with total_steps={saved_total} to resume the same run, with "
                        "keep_past=True to keep the rates used so far and stretch the rest over the new total, "
                        "or pass load_state_dict(..., allow_schedule_change=True) to switch to the new plan"
                    ),
                )
            if saved_text != str(self.schedule):
                raise RampupError(
                    "schedule",
                    str(self.schedule),
                    f"{saved_text!r}, the schedule the checkpoint was made with",
                    hint="build RampupLR with that schedule, or pass allow_schedule_change=True to switch",
                )
        if adopted is not None:
            self._adopt(*adopted)
        self._peaks = floats
        self.base_lrs = list(floats)
        self._step_count = count
        self.last_epoch = step
        self._write(self._value(step))

    def __repr__(self) -> str:
        return f"RampupLR({str(self.schedule)!r}, total_steps={self.schedule.total_steps}, step={self.last_epoch})"


def _branches_of(state: Mapping[str, Any]) -> list[list[Any]]:
    branches = state.get("branches", [])
    return [list(item) for item in branches] if isinstance(branches, (list, tuple)) else []


def _origin_of(state: Mapping[str, Any], default: tuple[str, int | None]) -> tuple[str, int | None]:
    origin = state.get("origin")
    return (origin, state.get("origin_total")) if isinstance(origin, str) else default


#: steps compared at once by :func:`_same_past` (8 MB of float64 per schedule)
_PAST_BLOCK = 1 << 20


def _same_past(ours: Schedule, theirs: Schedule, step: int) -> bool:
    """Whether two schedules give the same rates, bit for bit, at every step before ``step``."""
    for begin in range(0, step, _PAST_BLOCK):
        steps = np.arange(begin, min(step, begin + _PAST_BLOCK), dtype=np.float64)
        if ours.values(steps).tobytes() != theirs.values(steps).tobytes():
            return False
    return True


#: ``step`` methods run eagerly when called from inside a ``torch.compile``d function
#: (the pattern of PyTorch's recipe "Running the compiled optimizer with an LR Scheduler").
#: PyTorch's own schedulers are never traced (dynamo skips their file): a scheduler's
#: Python state, such as its step counter, would be guarded on and recompiled for at
#: every step. ``torch.compiler.disable`` does the same for ours; it is taken only
#: when compiling, since its wrapper costs more than a whole eager step. (Dynamo may
#: still look at the frames the eager step calls; it leaves alone a frame that neither
#: receives a tensor nor names the ``torch`` module, which is how the methods that
#: fill tensor rates are written.) The wrappers are made on first use, not at import:
#: ``torch.compiler.disable`` imports dynamo (and sympy), which would double the time
#: ``import rampup.torch`` takes; when it is first needed, dynamo is already tracing.
_EAGER: dict[Any, Any] = {}


def _eager(method: Any) -> Any:
    """``method`` wrapped by ``torch.compiler.disable(recursive=True)``, made once."""
    wrapped = _EAGER.get(method)
    if wrapped is None:
        wrapped = _EAGER[method] = torch.compiler.disable(method, recursive=True)  # type: ignore[no-untyped-call]
    return wrapped


# ---------------------------------------------------------------------- with_warmup


def _warmup_schedule(
    warmup: int | str | Schedule | Mapping[str, Any],
    total_steps: int | None,
    steps_per_epoch: float | None,
    tokens_per_step: float | None,
) -> Schedule:
    """``warmup -> constant``: the warmup phase, then the peak held (the rest is the inner scheduler's)."""
    if isinstance(warmup, bool):
        raise RampupError("warmup", warmup, "a number of steps or a warmup such as 'linear(500)'")
    if isinstance(warmup, int):
        if warmup < 0:
            raise RampupError("warmup", warmup, "a number of warmup steps >= 0")
        warmup = f"linear({warmup})"
    if isinstance(warmup, str) and "->" not in warmup:
        warmup = f"{warmup} -> constant"  # alone, "linear(500)" would read as a decay from the peak
    phases = as_schedule(warmup).phases
    if len(phases) == 2 and phases[1].curve == "constant" and phases[1].length is None:
        phases = phases[:1]
    if len(phases) != 1:
        raise RampupError(
            "warmup",
            str(warmup) if not isinstance(warmup, Mapping) else dict(warmup),
            "one warmup phase, such as 'linear(500)' or 'exponential(100)'",
            hint="the wrapped scheduler does the rest; for a whole schedule use RampupLR",
        )
    schedule = Schedule((phases[0], Phase("constant")))
    if schedule.roles[0] != "warmup":
        raise RampupError(
            "warmup",
            str(phases[0]),
            "a warmup curve that rises to the peak (linear, exponential, cosine, polynomial, 1-sqrt, untuned-...)",
            hint="a constant warmup needs its start: constant(500, from=0.1)",
        )
    return schedule.resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)


class WarmupScheduler(LRScheduler):
    """A warmup in front of another PyTorch scheduler (made by :func:`with_warmup`).

    One clock: ``step`` counts the wrapper's ``step()`` calls. For ``step <= W``
    (the warmup's length) the wrapped scheduler is not stepped, and each group runs
    at ``warmup(step) * inner_lr``, where ``inner_lr`` is the rate the wrapped
    scheduler set for its own step 0. After that the wrapped scheduler is stepped
    once per call, so at step ``W + n`` the rates are the wrapped scheduler's after
    ``n`` steps: its schedule starts when the warmup ends (give it the length
    left, e.g. ``CosineAnnealingLR(optimizer, T_max=total - W)``).
    """

    def __init__(
        self,
        scheduler: LRScheduler,
        warmup: int | str | Schedule | Mapping[str, Any],
        *,
        total_steps: int | None = None,
        steps_per_epoch: float | None = None,
        tokens_per_step: float | None = None,
    ) -> None:
        if isinstance(scheduler, Optimizer):
            raise RampupError(
                "scheduler",
                type(scheduler).__name__,
                "a learning-rate scheduler, not an optimizer",
                hint="for a warmup alone use RampupLR(optimizer, 'linear(500) -> constant')",
            )
        if not isinstance(scheduler, LRScheduler):
            raise RampupError(
                "scheduler",
                type(scheduler).__name__,
                "a torch.optim.lr_scheduler scheduler (an LRScheduler or ReduceLROnPlateau)",
                hint="build it first, e.g. with_warmup(CosineAnnealingLR(optimizer, T_max=9500), 'linear(500)')",
            )
        optimizer = _check_optimizer(scheduler.optimizer)
        #: the warmup, resolved, followed by the peak held (``linear(500) -> constant``)
        self.warmup: Schedule = _warmup_schedule(warmup, total_steps, steps_per_epoch, tokens_per_step)
        #: the warmup's length in steps
        self.warmup_steps: int = self.warmup.warmup_steps
        #: the wrapped scheduler
        self.scheduler: LRScheduler = scheduler
        # the rates the wrapped scheduler set at construction: the warmup's peaks
        self._inner_lrs: list[float] = [
            _as_float(group["lr"], f"optimizer.param_groups[{index}]['lr']")
            for index, group in enumerate(optimizer.param_groups)
        ]
        self._rates: list[Any] = list(self._inner_lrs)
        self._multipliers = Multipliers(self.warmup)
        super().__init__(optimizer, -1)

    def _value(self, step: int) -> float:
        """``warmup(step)``, bit for bit (:class:`rampup.stepper.Multipliers`)."""
        return self._multipliers(step)

    def _set(self, rates: list[Any]) -> None:
        """Write the rates (:func:`write_rates`)."""
        write_rates(self.optimizer, rates)

    def step(self, metrics: SupportsFloat | None = None) -> None:
        """Move to the next step; ``metrics`` is for a wrapped ReduceLROnPlateau (unused during the warmup)."""
        if _is_compiling():  # inside a torch.compile'd function: run eagerly, like PyTorch's own schedulers
            _eager(WarmupScheduler.step)(self, metrics)
            return
        inner = self.scheduler
        plateau = isinstance(inner, ReduceLROnPlateau)
        if plateau and metrics is None and self._step_count:  # (the step made when built has none)
            raise RampupError(
                "metrics", None, "the monitored value: the wrapped ReduceLROnPlateau needs scheduler.step(metrics)"
            )
        if not plateau and metrics is not None:
            raise RampupError(
                "metrics", metrics, f"no argument: the wrapped {type(inner).__name__} is stepped with step()"
            )
        if self._step_count == 1:
            _warn_if_out_of_order(self.optimizer)
        self._step_count += 1
        self.last_epoch += 1
        current = self.last_epoch
        ours = current <= self.warmup_steps  # the warmup and the hand-over; after it the wrapped scheduler writes
        if not ours:
            if plateau:
                inner.step(metrics)  # type: ignore[arg-type]
            else:
                inner.step()
        self._rates = self._rates_at(current)
        if ours:
            self._set(self._rates)

    def _rates_at(self, step: int) -> list[Any]:
        """The groups' rates at ``step``: the wrapped scheduler's first rates times the warmup during it, exactly
        those rates at the hand-over (``step == warmup_steps``), the wrapped scheduler's own rates after it."""
        if step < self.warmup_steps:
            multiplier = self._value(step)
            return [lr * multiplier for lr in self._inner_lrs]
        if step == self.warmup_steps:
            return list(self._inner_lrs)
        return list(self.scheduler.get_last_lr())

    def get_lr(self) -> list[float | Tensor]:
        """The rates in use (the wrapper has no closed form of its own after the warmup)."""
        return list(self._rates)

    def get_last_lr(self) -> list[float | Tensor]:
        """The rates in use now: the warmed-up rates, then the wrapped scheduler's."""
        return list(self._rates)

    @property
    def _last_lr(self) -> list[float | Tensor]:
        return self.get_last_lr()

    @_last_lr.setter
    def _last_lr(self, value: list[float | Tensor]) -> None:
        pass

    def state_dict(self) -> dict[str, Any]:
        """The warmup's spec text, the step, the wrapped scheduler's rates at its step 0, and its state_dict."""
        return {
            "format": _FORMAT,
            "warmup": str(self.warmup),
            "step": self.last_epoch,
            "step_count": self._step_count,
            "inner_lrs": list(self._inner_lrs),
            "scheduler": self.scheduler.state_dict(),
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Resume both schedulers at the saved step and set the groups' rates for it."""
        saved_warmup = _state_entry(state_dict, "warmup", "WarmupScheduler")
        _check_format(state_dict, "WarmupScheduler")
        step = _check_step(_state_entry(state_dict, "step", "WarmupScheduler"), "state_dict['step']", 0)
        count = _step_count(state_dict, step)
        inner_lrs = _state_entry(state_dict, "inner_lrs", "WarmupScheduler")
        inner_state = _state_entry(state_dict, "scheduler", "WarmupScheduler")
        if saved_warmup != str(self.warmup):
            raise RampupError(
                "warmup",
                str(self.warmup),
                f"{saved_warmup!r}, the warmup the checkpoint was made with",
            )
        if not isinstance(inner_lrs, (list, tuple)) or len(inner_lrs) != len(self.optimizer.param_groups):
            raise RampupError(
                "state_dict['inner_lrs']", inner_lrs, f"{len(self.optimizer.param_groups)} rates, one per group"
            )
        self.scheduler.load_state_dict(inner_state)
        self._inner_lrs = [_as_float(lr, "state_dict['inner_lrs']") for lr in inner_lrs]
        self._step_count = count
        self.last_epoch = step
        self._rates = self._rates_at(step)
        self._set(self._rates)

    def __repr__(self) -> str:
        return f"with_warmup({type(self.scheduler).__name__}, {str(self.warmup.phases[0])!r}, step={self.last_epoch})"


def with_warmup(
    scheduler: LRScheduler,
    warmup: int | str | Schedule | Mapping[str, Any],
    *,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> WarmupScheduler:
    """Put a warmup in front of an existing PyTorch scheduler.

    ``warmup`` is a number of steps (a linear warmup) or one warmup phase as text:
    ``"linear(500)"``, ``"exponential(100)"``, ``"cosine(2ep)"`` (with
    ``steps_per_epoch``), ``"linear(5%)"`` (with ``total_steps``). Build the wrapped
    scheduler first, as usual: whatever rate it set at construction is the peak
    the warmup climbs to, and its schedule starts when the warmup ends.

    >>> import torch
    >>> optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=0.1)
    >>> cosine = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=900)
    >>> scheduler = with_warmup(cosine, "linear(100)")
    >>> scheduler.get_last_lr()
    [0.0]
    """
    return WarmupScheduler(
        scheduler,
        warmup,
        total_steps=total_steps,
        steps_per_epoch=steps_per_epoch,
        tokens_per_step=tokens_per_step,
    )
