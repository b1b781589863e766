"""Live audit: the rate each optimizer update actually used, against the plan, with a diagnosis at the first miss.

A scheduler can be right and the loop around it wrong: stepped once per micro-batch,
twice, never, overridden by another scheduler (DeepSpeed's included), stepped once per
process, or restarted from step 0 when a run resumed (accelerate#963, transformers#18436).
The rates then drift from the plan silently. :class:`RateAudit` is told the rate of every
parameter group just before each update and compares it with
``peak * schedule(update)``; at the first update that differs it raises
:class:`AuditError`, whose ``hint`` says in plain words which mistake fits what it saw.

The front doors read the rates where each framework has them and delegate here:
:func:`rampup.audit.torch.audit` (an optimizer step pre-hook), :class:`rampup.audit.hf.AuditCallback`
(Trainer's ``on_optimizer_step``) and :class:`rampup.audit.lightning.AuditCallback`
(``on_before_optimizer_step``). This module imports no framework.

How a miss is read, for an update ``n`` of a session that began at update ``s`` (0 for a
new run, the checkpoint's step for a resumed one) with rate ``r = peak * m``, plan ``P``:

- ``m`` equal to every rate seen since ``s`` while the plan moved: never stepped;
- ``m = P(k n)`` (or ``P(s + k (n - s))``) for a whole ``k >= 2``: stepped ``k`` times per
  update: per micro-batch when ``k`` is the gradient accumulation, once per process when
  ``k`` is the number of processes (Accelerate's prepared scheduler: the total was counted
  per process), twice when ``k = 2``;
- ``m = P(n - s)`` with ``s > 0``: the warmup restarted when the run resumed;
- ``m = P'(n)``, the same spec resolved with the total times or over the processes or
  the accumulation: the total was counted per process (or per micro-batch);
- anything else: another scheduler (or code) sets the rate; the door names the
  schedulers it finds holding the optimizer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from rampup.errors import RampupError
from rampup.schedule import Schedule
from rampup.stepper import Multipliers

__all__ = ["DIAGNOSES", "AuditError", "RateAudit", "same_rate"]

#: the codes of :attr:`AuditError.code`, and what each means
DIAGNOSES: dict[str, str] = {
    "per-micro-batch": "the scheduler is stepped once per micro-batch instead of once per optimizer update",
    "stepped-twice": "the scheduler is stepped twice per optimizer update",
    "stepped-k-times": "the scheduler is stepped several times per optimizer update",
    "never-stepped": "the scheduler is never stepped",
    "stepped-too-rarely": "the scheduler is stepped less than once per update (once per epoch)",
    "other-plan": "the scheduler follows another schedule than the plan",
    "overridden": "another scheduler (or code) sets the learning rate",
    "total-per-process": "the run's total was counted per process",
    "restarted-on-resume": "the schedule restarted from step 0 when the run resumed",
}

#: relative tolerance of a rate against the plan (a float32 tensor rate holds 7 digits)
RTOL = 1e-6
#: the largest number of scheduler steps per update the diagnosis tries
MAX_STEPS_PER_UPDATE = 64


def same_rate(a: float, b: float, rtol: float = RTOL) -> bool:
    """``|a - b| <= rtol * max(|a|, |b|)`` (rates of 0 must be exactly 0)."""
    return abs(a - b) <= rtol * max(abs(a), abs(b))


class AuditError(RampupError):
    """The first update whose rate is not the plan's, with the diagnosis (``code``, one of :data:`DIAGNOSES`)."""

    def __init__(self, update: int, group: int, used: float, planned: float, code: str, diagnosis: str) -> None:
        super().__init__(
            f"learning rate of param_groups[{group}] at update {update}",
            used,
            f"{planned!r}, the plan's rate for that update",
            hint=f"diagnosis: {diagnosis}",
        )
        #: the update (optimizer steps done before it) whose rate differed
        self.update = update
        #: one of :data:`DIAGNOSES`
        self.code = code
        #: the diagnosis in plain words, with the fix
        self.diagnosis = diagnosis


class RateAudit:
    """Checks the rate of each update against ``peak * schedule(update)``; raises :class:`AuditError` at the first miss.

    Args:
        schedule: the plan, resolved (every length in steps).
        peaks: each parameter group's peak rate (``initial_lr``).
        start: the update this session begins at (a resumed run's step; 0 for a new run).
        accumulation: micro-batches per update (names the per-micro-batch mistake).
        world_size: processes (names the once-per-process mistake).
        spec: the unresolved plan, to tell a total counted per process (optional).
        suspects: called on a miss that no stepping pattern explains: the other schedulers found.
        scheduler: the audited scheduler's state, when there is one: ``(its steps done, the rates it
            set)``; a miss is then read from its own count (exact) instead of from the rate alone.
        rtol: relative tolerance of a rate.
    """

    def __init__(
        self,
        schedule: Schedule,
        peaks: Sequence[float],
        *,
        start: int = 0,
        accumulation: int = 1,
        world_size: int = 1,
        spec: Schedule | None = None,
        suspects: Callable[[], list[str]] | None = None,
        scheduler: Callable[[], tuple[int, list[float]]] | None = None,
        rtol: float = RTOL,
    ) -> None:
        for name, value, lowest in (
            ("start", start, 0),
            ("accumulation", accumulation, 1),
            ("world_size", world_size, 1),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
                raise RampupError(name, value, f"a whole number >= {lowest}")
        if not peaks:
            raise RampupError("peaks", list(peaks), "one peak rate per parameter group")
        self.schedule = schedule
        self.peaks = [float(peak) for peak in peaks]
        self.start = start
        self.accumulation = accumulation
        self.world_size = world_size
        self.spec = spec
        self.suspects = suspects
        self.scheduler = scheduler
        #: the audited scheduler's steps when the audit began
        self.scheduler_start = scheduler()[0] if scheduler is not None else None
        self.rtol = rtol
        #: the next update to check
        self.update = start
        #: updates checked so far
        self.checked = 0
        self._first: list[float] | None = None  # the multipliers of the session's first update
        self._steady = True  # every update so far used the first update's rates
        self._plan_rates = Multipliers(schedule)  # the schedulers' stepper: a list index per update

    def planned(self, update: int) -> float:
        """``schedule(update)``, bit for bit (:class:`rampup.stepper.Multipliers`; the hot path of every check)."""
        return self._plan_rates(update)

    def check(self, rates: Sequence[float], update: int | None = None) -> None:
        """The rates of the update about to run (one per group); ``update`` defaults to the next one."""
        n = self.update if update is None else update
        multiplier = self.planned(n)
        peaks = self.peaks
        if len(rates) != len(peaks):
            raise RampupError("rates", f"{len(rates)} groups", f"{len(peaks)}, one rate per parameter group")
        observed = []
        for group, (rate, peak) in enumerate(zip(rates, peaks, strict=True)):
            expected = peak * multiplier
            if not same_rate(rate, expected, self.rtol):
                raise self._miss(n, group, rate, expected)
            observed.append(rate / peak if peak else multiplier)
        if self._first is None:
            self._first = observed
        elif self._steady and observed != self._first:
            self._steady = False
        self.update = n + 1
        self.checked += 1

    # ------------------------------------------------------------------ diagnosis

    def _miss(self, n: int, group: int, rate: float, expected: float) -> AuditError:
        peak = self.peaks[group]
        m = rate / peak if peak else 0.0
        code, words = self.diagnose(n, m, group)
        return AuditError(n, group, rate, expected, code, words)

    def _fits(self, m: float, step: float) -> bool:
        return 0 <= step <= 10**15 and same_rate(m, self.schedule(step), self.rtol)

    def diagnose(self, n: int, m: float, group: int = 0) -> tuple[str, str]:
        """``(code, words)`` for update ``n`` having run at multiplier ``m`` (see the module docstring)."""
        if self.scheduler is not None:
            return self._diagnose_counted(n, m, group)
        s, plan = self.start, self.schedule
        first = self._first
        if first is not None and self._steady and same_rate(m, first[group], self.rtol) and n > s:
            return "never-stepped", (
                f"the rate has not changed since update {s} while the plan moved ({first[group]:.6g} x peak, "
                f"plan {plan(n):.6g} x peak): the scheduler is never stepped. Call scheduler.step() right after "
                "optimizer.step(), once per update (Lightning: 'interval': 'step')"
            )
        for k in range(2, MAX_STEPS_PER_UPDATE + 1):
            origins = (0, s) if s else (0,)
            if any(self._fits(m, origin + k * (n - origin) + j) for origin in origins for j in range(k + 1)):
                return self._k_times(k, n)
        if s > 0 and self._fits(m, n - s) and not self._fits(m, n):
            return "restarted-on-resume", (
                f"the rate is the plan's for step {n - s}, as if the run began at update {s}, where it resumed: "
                "the scheduler's state was not restored, so the warmup ran again. Load the scheduler's "
                "state_dict with the optimizer's (Trainer: keep scheduler.pt in the checkpoint)"
            )
        found = self._other_totals(n, m)
        if found is not None:
            return found
        return self._overridden(m)

    def _overridden(self, m: float) -> tuple[str, str]:
        names = self.suspects() if self.suspects is not None else []
        if names:
            return "overridden", (
                f"another scheduler sets the rate: {', '.join(names)}. Keep one scheduler: remove it "
                "(DeepSpeed: drop the 'scheduler' section of its config; rampup export --to deepspeed writes "
                "an exact one) or let it be the only one"
            )
        return "overridden", (
            f"the rate ({m:.6g} x peak) is not the one the scheduler set: something else sets it (another "
            "scheduler, or code writing param_groups[...]['lr']). Keep one scheduler, stepped once per update"
        )

    def _diagnose_counted(self, n: int, m: float, group: int) -> tuple[str, str]:
        """The diagnosis from the audited scheduler's own count of steps (exact, unlike the rate alone)."""
        assert self.scheduler is not None and self.scheduler_start is not None
        steps, rates = self.scheduler()
        peak = self.peaks[group]
        if not same_rate(m * peak, rates[group], self.rtol):
            return self._overridden(m)
        s, began = self.start, self.scheduler_start
        if s > 0 and began == 0:
            return "restarted-on-resume", (
                f"the run resumed at update {s} but the scheduler started again at step 0 (it is at step {steps}): "
                "its state was not restored, so the warmup ran again. Load the scheduler's state_dict with the "
                "optimizer's (Trainer: keep scheduler.pt in the checkpoint)"
            )
        moved, session = steps - began, n - s
        if moved == 0:
            return "never-stepped", (
                f"the scheduler is still at step {steps} at update {n}: it is never stepped. Call "
                "scheduler.step() right after optimizer.step(), once per update (Lightning: 'interval': 'step')"
            )
        if moved < session:
            return "stepped-too-rarely", (
                f"the scheduler was stepped {moved} times in {session} updates: less than once per update "
                "(once per epoch?). Step it once per optimizer update (Lightning: 'interval': 'step')"
            )
        preferred = [k for k in (self.accumulation, self.world_size, 2) if k > 1]
        candidates = preferred + list(range(2, MAX_STEPS_PER_UPDATE + 1))
        for k in candidates:
            if k * session <= moved <= k * (session + 1):  # k steps per update, the current one's maybe begun
                return self._k_times(k, n)
        found = self._other_totals(n, m)
        if found is not None:
            return found
        return "other-plan", (
            f"the scheduler is stepped once per update but follows another schedule ({m:.6g} x peak at update {n}, "
            f"the plan {self.schedule(n):.6g}): build it with the plan ({self.schedule})"
        )

    def _k_times(self, k: int, n: int) -> tuple[str, str]:
        if self.accumulation > 1 and k == self.accumulation:
            return "per-micro-batch", (
                f"the rate is the plan's at about {k} x {n} steps: the scheduler is stepped once per micro-batch "
                f"({k} per update with gradient accumulation {k}). Step it once per optimizer update, after "
                "optimizer.step() (inside the accumulation's last micro-batch)"
            )
        if self.world_size > 1 and k == self.world_size:
            return "total-per-process", (
                f"the rate is the plan's at about {k} x {n} steps: the scheduler is stepped once per process "
                f"({k} processes) at each update, as Accelerate's prepared scheduler does when the total counts "
                "every process's batches; this total was counted per process. Do not prepare the scheduler, "
                "or count the total over all processes"
            )
        if k == 2:
            return "stepped-twice", (
                f"the rate is the plan's at about 2 x {n} steps: the scheduler is stepped twice per update (a second "
                "scheduler.step() in the loop or a callback, or a framework stepping it too). Step it once"
            )
        return "stepped-k-times", (
            f"the rate is the plan's at about {k} x {n} steps: the scheduler is stepped {k} times per update "
            "(once per micro-batch or per process?). Step it once per optimizer update"
        )

    def _other_totals(self, n: int, m: float) -> tuple[str, str] | None:
        spec, total = self.spec, self.schedule.total_steps
        if spec is None or total is None:
            return None
        for factor, who in ((self.world_size, "processes"), (self.accumulation, "micro-batches per update")):
            if factor <= 1:
                continue
            for other in (total * factor, -(-total // factor)):
                try:
                    wrong = spec.resolve(other)
                except RampupError:
                    continue
                if str(wrong) != str(self.schedule) and same_rate(m, wrong(n), self.rtol):
                    return "total-per-process", (
                        f"the rates follow the schedule resolved for {other} steps, but the run has {total} "
                        f"({factor} {who}): the total was counted per process"
                        + (" or per micro-batch" if who != "processes" else "")
                        + ". Count optimizer updates over all processes: rampup.hf.trainer_total_steps, or "
                        "trainer.estimated_stepping_batches"
                    )
        return None
