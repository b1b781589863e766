"""Planning and running sweeps: warmups x peak rates x seeds, in parallel, resumable.

**Warmup convention.** Every trial's schedule is a warmup followed by the task's decay
(``cosine(to=0.1)`` for the built-in tasks), so trials differ in their warmup alone:

- ``none``: no warmup, the decay alone (step 0 runs at the peak rate);
- ``advisor``: the warmup :func:`rampup.recommend` gives for the task (pretraining, the task's
  architecture and optimizer, the run's length);
- a warmup phase such as ``linear(5%)``, ``exponential(50)`` or ``untuned-linear(beta2=0.98)``:
  that warmup, then the decay;
- a whole schedule (text with ``->``, or a preset name): used as it is.

**Running.** Trials run through a backend (:mod:`rampup.lab.backends`): worker processes on this
machine that import once and run many trials (``--backend local``, the default; one PyTorch thread
each), or Ray Core tasks on a local Ray instance or a cluster (``--backend ray``). This process, the
driver, writes each result to SQLite as it arrives (:class:`rampup.lab.store.Store`) and skips the
trials the database has already finished, so a killed sweep picks up where it stopped. A trial that
raises is recorded as ``failed`` with its message; a diverging one as ``diverged``; a worker that dies
under a trial (killed, out of memory) costs that trial alone, which runs again, and is recorded
``failed`` if it dies every time; none of them stops the sweep.

**Concurrent sweeps.** Each sweep claims a trial in the database (a lease with owner and expiry,
:meth:`rampup.lab.store.Store.claim`) right before running it, so two sweeps on one database split
the trials and never run one twice; a sweep that finds a trial claimed by another waits for its
result or, if that sweep died, for its lease to expire, then runs it.

**Your own task.** ``task`` may be ``path/to/file.py:NAME`` or ``package.module:NAME``
(:mod:`rampup.lab.custom`).
"""

from __future__ import annotations

import importlib
import math
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from typing import Any

from rampup.errors import RampupError
from rampup.lab.backends import RETRIES, WORKER_DIED, Backend, TrialFn, failure, make_backend
from rampup.lab.result import TrialConfig, TrialResult
from rampup.lab.store import DEFAULT_DB, LEASE_S, Claim, LeaseKeeper, Store, new_owner
from rampup.lab.tasks import OptimizerSettings, Task, get_task
from rampup.presets import is_preset
from rampup.schedule import Schedule, as_schedule

__all__ = [
    "WORKER_DIED",
    "SweepSummary",
    "advisor_schedule",
    "plan_trials",
    "run_sweep",
    "run_trial",
    "schedule_for",
]

#: fewest steps a trial may have (a warmup and a decay need room)
MIN_STEPS = 10


def advisor_schedule(task: Task, steps: int, optimizer: OptimizerSettings) -> Schedule:
    """The advisor's warmup for the task, followed by the task's decay, resolved to ``steps``."""
    from rampup.advisor import recommend

    betas = optimizer.betas if optimizer.name in ("adam", "adamw") else None
    rec = recommend(total_steps=steps, optimizer=optimizer.name, betas=betas, decay=task.decay, **task.advice)
    return as_schedule(rec.spec).resolve(total_steps=steps)


def schedule_for(task: Task, warmup: str, steps: int, optimizer: OptimizerSettings | None = None) -> Schedule:
    """The full schedule a ``--warmup`` value stands for (module docstring), resolved to ``steps``."""
    if not isinstance(warmup, str) or not warmup.strip():
        raise RampupError("--warmup", warmup, "none, advisor, a warmup such as linear(5%), or a whole schedule")
    text = warmup.strip()
    optimizer = optimizer or task.optimizer
    if text == "none":
        return as_schedule(task.decay).resolve(total_steps=steps)
    if text == "advisor":
        return advisor_schedule(task, steps, optimizer)
    if "->" in text or is_preset(text):
        return as_schedule(text).resolve(total_steps=steps)
    schedule = as_schedule(f"{text} -> {task.decay}")
    if schedule.roles[0] != "warmup":
        raise RampupError(
            "--warmup",
            text,
            "a warmup phase such as linear(5%) or exponential(50), none, advisor, or a whole schedule with '->'",
        )
    return schedule.resolve(total_steps=steps)


def _check_lr(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr) or lr <= 0:
        raise RampupError("--lr", lr, "a peak learning rate > 0")
    return float(lr)


def plan_trials(
    task: str,
    warmups: Sequence[str],
    lrs: Sequence[float],
    seeds: int | Sequence[int] = 1,
    *,
    steps: int | None = None,
    beta2: float | None = None,
    monitor: str | None = None,
) -> list[TrialConfig]:
    """Every (warmup, rate, seed) trial of a sweep; bad input raises :class:`RampupError` before anything runs.

    ``seeds`` is a count (seeds 0..N-1) or the seeds themselves; ``steps`` overrides the task's length.
    ``monitor="hold"`` lets :class:`rampup.monitor.WarmupMonitor` adapt every warmup while it trains;
    the trials are labelled ``<warmup>+hold``.
    """
    if monitor not in (None, "hold"):
        raise RampupError("--monitor", monitor, "hold (the monitor adapts the warmup), or leave it out")
    spec = get_task(task)
    if monitor is not None and spec.kind == "custom":
        from rampup.lab.custom import resolve_task

        if resolve_task(spec.name).lab_task.train is not None:
            raise RampupError(
                "--monitor",
                monitor,
                "no --monitor for a task that runs its own loop (train=)",
                hint="your loop sets the rates; give the task data= so that rampup's loop and the monitor drive them",
            )
    if not warmups:
        raise RampupError("--warmup", list(warmups), "at least one warmup (none, advisor, linear(5%)...)")
    if not lrs:
        raise RampupError("--lr", list(lrs), "at least one peak learning rate > 0")
    rates = [_check_lr(lr) for lr in lrs]
    if isinstance(seeds, int) and not isinstance(seeds, bool):
        if seeds < 1:
            raise RampupError("--seeds", seeds, "a number of seeds >= 1")
        seed_list = list(range(seeds))
    else:
        seed_list = list(seeds)  # type: ignore[arg-type]
        if not seed_list or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in seed_list):
            raise RampupError("seeds", seeds, "whole numbers >= 0")
    total = spec.steps if steps is None else steps
    if steps is None and not total:
        raise RampupError("--steps", None, f"a whole number of steps >= {MIN_STEPS}", hint="the task sets no length")
    if isinstance(total, bool) or not isinstance(total, int) or total < MIN_STEPS:
        raise RampupError("--steps", steps, f"a whole number of steps >= {MIN_STEPS}")
    optimizer = spec.optimizer.with_beta2(beta2)
    data = dict(spec.data)
    if spec.kind in ("charlm", "wordlm", "lora"):
        from rampup.lab.corpus import FINETUNE_FILES, load_corpus

        data["sha256"] = load_corpus(int(data["chars"]), float(data["heldout"])).sha256
        if spec.kind == "lora":
            tune = load_corpus(int(data["finetune_chars"]), float(data["heldout"]), FINETUNE_FILES, swapcase=True)
            data["finetune_sha256"] = tune.sha256
    schedules = {warmup: str(schedule_for(spec, warmup, total, optimizer)) for warmup in warmups}
    trials: list[TrialConfig] = []
    for warmup in warmups:
        for lr in rates:
            for seed in seed_list:
                trials.append(
                    TrialConfig(
                        task=spec.name,
                        warmup=warmup.strip() + ("" if monitor is None else f"+{monitor}"),
                        schedule=schedules[warmup],
                        peak_lr=lr,
                        seed=seed,
                        steps=total,
                        batch=spec.batch,
                        optimizer=optimizer,
                        model=dict(spec.model),
                        data=data,
                        monitor=monitor,
                    )
                )
    return trials


def run_trial(config: TrialConfig) -> TrialResult:
    """Run one trial; an exception becomes a ``failed`` result carrying its message (never raised).

    The trial runs on one PyTorch thread whatever the caller's setting (restored afterwards): the
    float results of a step depend on how many threads split it, so this keeps a trial's numbers
    the same whether it runs in a sweep's worker or in the caller's process.
    """
    start = time.perf_counter()
    try:
        import torch

        from rampup.lab.train import train

        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            if ":" in config.task:  # a task of your own (rampup.lab.custom)
                from rampup.lab.custom import run_custom

                return run_custom(config)
            return train(config)
        finally:
            torch.set_num_threads(threads)
    except Exception as error:  # a failing trial must not stop the sweep
        return failure(config, error, time.perf_counter() - start)


@dataclass(frozen=True)
class SweepSummary:
    """What a sweep did: trials in the plan, skipped (already finished), run now, and their outcomes."""

    db: str
    planned: int
    skipped: int
    ran: int
    ok: int
    diverged: int
    failed: int
    wall_s: float
    keys: tuple[str, ...]

    def line(self) -> str:
        return (
            f"{self.planned} trials: {self.skipped} already in {self.db}, {self.ran} run now "
            f"({self.ok} ok, {self.diverged} diverged, {self.failed} failed) in {self.wall_s:.1f} s"
        )


#: seconds between looks at the trials another sweep holds
POLL_S = 0.5


class _Claims:
    """The trials this sweep runs, claimed one at a time just before they start (module docstring)."""

    def __init__(
        self, store: Store, pending: Sequence[TrialConfig], owner: str, lease_s: float, poll_s: float = POLL_S
    ) -> None:
        self.store, self.owner, self.lease_s, self.poll_s = store, owner, lease_s, poll_s
        self.queue: deque[TrialConfig] = deque(pending)
        self.seen = store.runs(config.key for config in pending)
        self.others: dict[str, TrialConfig] = {}  # claimed by another live sweep
        self._next_look = 0.0

    def _claim(self, config: TrialConfig) -> Claim:
        return self.store.claim(config.key, self.owner, lease_s=self.lease_s, runs_seen=self.seen.get(config.key, 0))

    def take(self) -> TrialConfig | None:
        """The next trial claimed for this sweep, or None when none can be claimed now."""
        while self.queue:
            config = self.queue.popleft()
            state = self._claim(config)
            if state == "claimed":
                return config
            if state == "taken":
                self.others[config.key] = config
        if self.others and time.monotonic() >= self._next_look:
            self._next_look = time.monotonic() + self.poll_s
            for key, config in list(self.others.items()):
                state = self._claim(config)
                if state != "taken":
                    del self.others[key]
                if state == "claimed":
                    return config
        return None

    def give_back(self, config: TrialConfig) -> None:
        """A claimed trial that could not start goes first again (the claim is still this sweep's)."""
        self.queue.appendleft(config)

    @property
    def waiting(self) -> bool:
        """Whether trials claimed by other sweeps are still unfinished."""
        return bool(self.others)


def _drive(claims: _Claims, backend: Backend, trial_fn: TrialFn, trials: int) -> Generator[TrialResult, None, None]:
    """Feed the backend claimed trials, at most its capacity in flight, and yield the results as they come.

    The backend starts only when there is a trial to run (a rerun with nothing left starts no worker) and
    is closed when the sweep ends or stops (its workers with it).
    """
    first = claims.take()
    if first is None and not claims.waiting:
        return
    if first is not None:
        claims.give_back(first)
    try:
        backend.start(trial_fn, trials)
        while True:
            while backend.in_flight < backend.capacity():
                config = claims.take()
                if config is None:
                    break
                backend.submit(config)
            if not backend.in_flight:
                if not claims.waiting:
                    return
                time.sleep(claims.poll_s)  # only other sweeps' trials are left: wait for them
                continue
            yield from backend.wait(claims.poll_s if claims.waiting else None)
    finally:
        backend.close()


def run_sweep(
    trials: Sequence[TrialConfig],
    db: str | os.PathLike[str] = DEFAULT_DB,
    *,
    workers: int | None = None,
    progress: bool = True,
    on_result: Callable[[TrialResult], Any] | None = None,
    trial_fn: TrialFn = run_trial,
    lease_s: float = LEASE_S,
    backend: str | Backend = "local",
    address: str | None = None,
    retries: int = RETRIES,
) -> SweepSummary:
    """Run the trials the database has not finished, ``workers`` at a time (default: all cores).

    ``backend`` is ``"local"`` (worker processes on this machine; ``workers=1`` runs in this process),
    ``"ray"`` (Ray Core: a local instance, or the cluster at ``address``) or a
    :class:`rampup.lab.backends.Backend`. Each result is committed by this process as soon as it
    arrives. A worker that dies under a trial costs that trial alone: it runs again (``retries`` times),
    then is recorded ``failed`` and tried again next time; never the sweep. ``trial_fn`` runs one trial
    (a module-level function: the workers import it). Each trial is claimed with a lease of ``lease_s``
    seconds (renewed while it runs) before it starts, so sweeps running at the same time on one database
    share the work; ``skipped`` counts the trials this sweep did not run (finished before, or by another
    sweep). Bad settings (an unreachable ``address``) raise :class:`RampupError` before the database is
    opened.
    """
    start = time.perf_counter()
    if isinstance(backend, str):
        backend = make_backend(backend, workers=workers, address=address, retries=retries)
    elif workers is not None or address is not None:
        raise RampupError("workers", workers, "None with a Backend object (give the backend its workers)")
    if isinstance(lease_s, bool) or not isinstance(lease_s, int | float) or not lease_s > 0:
        raise RampupError("lease_s", lease_s, "seconds > 0")
    unique: dict[str, TrialConfig] = {}
    for config in trials:
        unique.setdefault(config.key, config)
    owner = new_owner()
    backend.check()
    try:
        with Store(db) as store:
            done = store.finished_keys()
            pending = [config for key, config in unique.items() if key not in done]
            counts = {"ok": 0, "diverged": 0, "failed": 0}
            bar = _progress(len(unique), len(unique) - len(pending), progress)
            claims = _Claims(store, pending, owner, float(lease_s))
            with LeaseKeeper(db, owner, float(lease_s)):
                results = _drive(claims, backend, trial_fn, len(pending))
                try:
                    for result in results:
                        store.record(result, owner)
                        counts[result.status] += 1
                        bar.update(result)
                        if on_result is not None:
                            on_result(result)
                finally:
                    bar.close()
                    results.close()  # stops the workers when the loop ends early
                    store.release(owner)
    finally:
        backend.close()  # (a connection made by check() when nothing was left to run)
    ran = sum(counts.values())
    return SweepSummary(
        db=str(db),
        planned=len(unique),
        skipped=len(unique) - ran,
        ran=ran,
        ok=counts["ok"],
        diverged=counts["diverged"],
        failed=counts["failed"],
        wall_s=time.perf_counter() - start,
        keys=tuple(unique),
    )


class _Progress:
    """A tqdm bar on stderr (or nothing when tqdm is missing or progress is off)."""

    def __init__(self, total: int, done: int, enabled: bool) -> None:
        self._bar: Any = None
        if not enabled:
            return
        try:
            tqdm = importlib.import_module("tqdm").tqdm
        except ImportError:  # pragma: no cover - tqdm ships with the torch/hf extras
            return
        self._bar = tqdm(total=total, initial=done, file=sys.stderr, unit="trial", dynamic_ncols=True, leave=True)

    def update(self, result: TrialResult) -> None:
        if self._bar is not None:
            cfg = result.config
            self._bar.set_postfix_str(f"{cfg.warmup} lr={cfg.peak_lr:g} seed={cfg.seed}: {result.status}")
            self._bar.update(1)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _progress(total: int, done: int, enabled: bool) -> _Progress:
    return _Progress(total, done, enabled)
