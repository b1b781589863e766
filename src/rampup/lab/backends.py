"""Where a sweep's trials run: the executor seam between the driver and its workers.

The driver (:func:`rampup.lab.runner.run_sweep`) claims each trial in the database, hands it to a
backend and writes what comes back; a backend never opens the database, so the driver stays its only
writer. A backend keeps at most :meth:`Backend.capacity` trials in flight and returns their results
as they finish. Three backends:

- :class:`InProcess` (``--backend local --workers 1``): each trial runs in the driver's own process;
- :class:`LocalPool` (``--backend local``, the default): worker processes on this machine, spawned
  once per sweep; each imports PyTorch and the training code once, then runs trial after trial;
- :class:`RayBackend` (``--backend ray [--address ADDR]``): Ray Core tasks on a local Ray instance
  started for the sweep, or on a running cluster (``ray start --head`` on one machine, ``ray start
  --address=HEAD:6379`` on the others). Ray is imported only here, and only when the sweep runs.

A trial whose worker dies under it (killed, out of memory, a crash in native code) costs that trial
alone: it is run again, up to ``retries`` more times, and recorded ``failed`` with
:data:`WORKER_DIED` if its worker died every time (the next sweep tries it again).
"""

from __future__ import annotations

import contextlib
import logging
import math
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
import traceback
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.connection import wait as wait_for
from multiprocessing.process import BaseProcess
from typing import Any

from rampup.errors import RampupError
from rampup.lab.result import TrialConfig, TrialResult

__all__ = [
    "BACKENDS",
    "RETRIES",
    "WORKER_DIED",
    "Backend",
    "InProcess",
    "LocalPool",
    "RayBackend",
    "TrialFn",
    "failure",
    "make_backend",
]

TrialFn = Callable[[TrialConfig], TrialResult]

#: the ``--backend`` values
BACKENDS = ("local", "ray")
#: times a trial is run again in the same sweep when its worker dies under it
RETRIES = 1
#: the message of a trial whose worker died under it on every try (it is tried again on the next run)
WORKER_DIED = "the worker process died while this trial ran (killed, out of memory, or a crash in native code)"
#: seconds to wait for a Ray address to accept a connection before calling it unreachable
CONNECT_TIMEOUT_S = 5.0


def failure(config: TrialConfig, error: BaseException | str, wall_s: float = 0.0) -> TrialResult:
    """A ``failed`` result for a trial: the exception's type, message and the line it came from."""
    if isinstance(error, str):
        return TrialResult(config=config, status="failed", wall_s=wall_s, error=error)
    last = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
    where = f" ({last[0].filename.rsplit(os.sep, 1)[-1]}:{last[0].lineno})" if last else ""
    return TrialResult(config=config, status="failed", wall_s=wall_s, error=f"{type(error).__name__}: {error}{where}")


def _guarded(trial_fn: TrialFn, config: TrialConfig) -> TrialResult:
    """``trial_fn(config)``, with an exception it lets out turned into a ``failed`` result."""
    start = time.perf_counter()
    try:
        return trial_fn(config)
    except Exception as error:  # a failing trial must not stop the sweep
        return failure(config, error, time.perf_counter() - start)


class Backend(ABC):
    """Runs trials somewhere and returns their results; the driver claims and records them."""

    name: str = ""

    def check(self) -> None:  # noqa: B027 - most backends have nothing to check
        """Bad settings raise :class:`RampupError` here, before the driver opens the database."""

    @abstractmethod
    def start(self, trial_fn: TrialFn, trials: int) -> None:
        """Get ready to run ``trials`` trials (at most) with ``trial_fn`` (module-level: workers import it)."""

    @abstractmethod
    def capacity(self) -> int:
        """How many trials to keep in flight now."""

    @abstractmethod
    def submit(self, config: TrialConfig) -> None:
        """Start a trial (its claim is the driver's)."""

    @property
    @abstractmethod
    def in_flight(self) -> int:
        """Trials submitted whose results have not been returned yet."""

    @abstractmethod
    def wait(self, timeout: float | None) -> list[TrialResult]:
        """The results that finished, waiting up to ``timeout`` seconds (None: until one does) for the first."""

    def close(self) -> None:  # noqa: B027 - nothing to release by default
        """Stop every worker (a stopped sweep leaves nothing training) and release what was started."""


class InProcess(Backend):
    """Each trial runs in this process, one at a time, when its result is waited for."""

    name = "local"

    def __init__(self) -> None:
        self._queue: deque[TrialConfig] = deque()
        self._trial_fn: TrialFn | None = None

    def start(self, trial_fn: TrialFn, trials: int) -> None:
        self._trial_fn = trial_fn

    def capacity(self) -> int:
        return 1

    def submit(self, config: TrialConfig) -> None:
        self._queue.append(config)

    @property
    def in_flight(self) -> int:
        return len(self._queue)

    def wait(self, timeout: float | None) -> list[TrialResult]:
        if not self._queue or self._trial_fn is None:
            return []
        return [_guarded(self._trial_fn, self._queue.popleft())]


# ------------------------------------------------------------------------------------------ local pool


def _watch_parent(parent: int) -> None:
    """Exit when the parent is gone (a killed sweep must not leave workers training)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent:
            os._exit(1)


def warm_up() -> None:
    """What every trial needs, imported once per worker: PyTorch on one thread, the training loop, and what
    an optimizer's first construction imports (``torch._dynamo``, a second by itself)."""
    try:
        import torch

        torch.set_num_threads(1)
        import rampup.lab.train  # noqa: F401 - the training loop, the task families and their models

        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.0)
    except ImportError:  # no torch: every trial reports it as its own failure
        pass


def _serve(conn: Connection, parent: int, trial_fn: TrialFn) -> None:
    """A pool worker: warm up, then run each trial the driver sends until it sends ``None`` or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle: it stops the workers
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    warm_up()
    while True:
        try:
            config = conn.recv()
        except (EOFError, OSError):
            config = None
        if config is None:
            # the worker holds nothing to save (the driver writes the results): skip the interpreter's
            # teardown with PyTorch loaded, which takes about a second the sweep would wait for
            with contextlib.suppress(OSError, ValueError):
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(0)
        conn.send(_guarded(trial_fn, config))


class _Worker:
    """One worker process, its end of the pipe, and the trial it is running (None: idle)."""

    def __init__(self, context: Any, trial_fn: TrialFn) -> None:
        self.conn, child = context.Pipe()
        self.process: BaseProcess = context.Process(
            target=_serve, args=(child, os.getpid(), trial_fn), name="rampup-lab-worker"
        )
        self.process.start()
        child.close()
        self.config: TrialConfig | None = None

    def stop(self) -> None:
        if self.process.is_alive():
            if self.config is None:
                with contextlib.suppress(OSError):
                    self.conn.send(None)
            else:
                self.process.terminate()  # it is training: no need to wait for the end of the trial

    def reap(self, timeout: float) -> None:
        self.process.join(timeout)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(5)
        self.conn.close()


class LocalPool(Backend):
    """``workers`` spawned processes on this machine that import once and run many trials.

    The driver knows which trial each worker runs, so a worker that dies costs exactly that trial: it is
    replaced, and the trial runs again on the new one (up to ``retries`` times).
    """

    name = "local"

    def __init__(self, workers: int, retries: int = RETRIES) -> None:
        self.workers, self.retries = workers, retries
        self._context = multiprocessing.get_context("spawn")
        self._pool: list[_Worker] = []
        self._tries: dict[str, int] = {}
        self._trial_fn: TrialFn | None = None

    def start(self, trial_fn: TrialFn, trials: int) -> None:
        self._trial_fn = trial_fn
        self._pool = [_Worker(self._context, trial_fn) for _ in range(max(1, min(self.workers, trials)))]

    def capacity(self) -> int:
        return len(self._pool)

    @property
    def in_flight(self) -> int:
        return sum(worker.config is not None for worker in self._pool)

    def _replace(self, worker: _Worker) -> _Worker:
        assert self._trial_fn is not None, "start() first"
        worker.reap(0)
        fresh = _Worker(self._context, self._trial_fn)
        self._pool[self._pool.index(worker)] = fresh
        return fresh

    def submit(self, config: TrialConfig) -> None:
        worker = next(worker for worker in self._pool if worker.config is None)
        for _ in range(2):  # an idle worker may have died since its last trial: then a fresh one
            try:
                worker.conn.send(config)
                break
            except OSError:
                worker = self._replace(worker)
        else:
            raise RuntimeError("could not start a worker process")
        worker.config = config
        self._tries[config.key] = self._tries.get(config.key, 0) + 1

    def wait(self, timeout: float | None) -> list[TrialResult]:
        busy = [worker for worker in self._pool if worker.config is not None]
        if not busy:
            return []
        ready = set(wait_for([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout))
        results: list[TrialResult] = []
        for worker in busy:
            if worker.conn not in ready and worker.process.sentinel not in ready:
                continue
            config = worker.config
            assert config is not None
            try:
                if not worker.conn.poll():
                    raise EOFError  # exited without a result
                result: TrialResult = worker.conn.recv()
            except (EOFError, OSError):
                worker = self._replace(worker)
                if self._tries[config.key] <= self.retries:
                    self.submit(config)  # on the fresh worker: its claim is still this sweep's
                    continue
                result = failure(config, WORKER_DIED)
            worker.config = None
            self._tries.pop(config.key, None)
            results.append(result)
        return results

    def close(self) -> None:
        for worker in self._pool:
            worker.stop()
        deadline = time.monotonic() + 10
        for worker in self._pool:
            worker.reap(max(0.0, deadline - time.monotonic()))
        self._pool = []


# ------------------------------------------------------------------------------------------ Ray


_warmed: list[bool] = []  # whether this Ray worker has warmed up


def _ray_trial(trial_fn: TrialFn, config: TrialConfig, cwd: str) -> TrialResult:
    """A trial in a Ray worker, in the driver's directory when this machine has it (relative task paths).

    A Ray worker runs many trials; the first warms it up (:func:`warm_up`) outside the trial's own time.
    """
    if cwd != os.getcwd() and os.path.isdir(cwd):
        os.chdir(cwd)
    if not _warmed:
        warm_up()
        _warmed.append(True)
    return _guarded(trial_fn, config)


def _split_address(address: str) -> tuple[str, int] | None:
    """``(host, port)`` of ``host:port``, ``[v6]:port`` or ``ray://host:port``; None if it is not one."""
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    host = host.strip("[]")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        return None
    return host, int(port)


class RayBackend(Backend):
    """Ray Core tasks: a local Ray instance started for the sweep (no address), or a running cluster.

    Each trial is a task that reserves ``cpus`` CPUs and ``gpus`` GPUs; at most ``workers`` trials are in
    flight (default: as many as the cluster's resources fit, asked again as machines join). Ray runs a
    trial again when its worker or machine dies (``retries``). Results come back to the driver, which alone
    writes the database. In a process already connected to Ray (``ray.init``), that connection is used.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        workers: int | None = None,
        cpus: float = 1.0,
        gpus: float = 0.0,
        retries: int = RETRIES,
    ) -> None:
        for flag, value in (("--cpus-per-trial", cpus), ("--gpus-per-trial", gpus)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
                raise RampupError(flag, value, "a number of units >= 0 that each trial reserves on the Ray cluster")
        if cpus == 0 and gpus == 0:
            raise RampupError("--cpus-per-trial", cpus, "CPUs > 0 (or --gpus-per-trial > 0) for each trial")
        self.address, self.workers, self.cpus, self.gpus, self.retries = address, workers, cpus, gpus, retries
        self._ray: Any = None
        self._remote: Any = None
        self._owned = False  # whether this backend connected (and so disconnects)
        self._refs: dict[Any, TrialConfig] = {}
        self._cwd = os.getcwd()
        self._trial_fn: TrialFn | None = None

    def _target(self) -> tuple[str, str]:
        """The address to connect to and the flag it came from (``local``: start an instance)."""
        if self.address is not None:
            return self.address, "--address"
        if os.environ.get("RAY_ADDRESS"):
            return os.environ["RAY_ADDRESS"], "RAY_ADDRESS"
        return "local", "--address"

    def check(self) -> None:
        """Ray is installed and the address answers; a cluster is connected to now (a local one starts later)."""
        try:
            import ray
        except ImportError as error:
            raise RampupError(
                "--backend",
                "ray",
                "local, or ray with Ray installed",
                hint=f"pip install 'rampup[ray]' ({error})",
            ) from None
        self._ray = ray
        address, flag = self._target()
        if address not in ("local", "auto"):
            where = _split_address(address)
            if where is None:
                raise RampupError(
                    flag, address, "the Ray head's HOST:PORT (ray start --head prints it), ray://HOST:PORT or auto"
                )
            try:
                socket.create_connection(where, timeout=CONNECT_TIMEOUT_S).close()
            except OSError as error:
                raise RampupError(
                    flag,
                    address,
                    "the address of a running Ray head",
                    hint=f"nothing answers there ({error}): start one with `ray start --head` and pass the address "
                    "it prints, or leave out --address to start a local Ray",
                ) from None
        if ray.is_initialized():  # this process is connected already: that connection is used
            self._check_fits()
        elif address != "local":  # (auto: Ray finds the running head of this machine, or says there is none)
            self._connect(address, flag)

    def _connect(self, address: str, flag: str) -> None:
        ray = self._ray
        extra = {"include_dashboard": False} if address == "local" else {}
        try:
            ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False, **extra)
        except ConnectionError as error:
            raise RampupError(
                flag, address, "the address of a running Ray head", hint=f"Ray says: {error}".rstrip(".")
            ) from None
        self._owned = True
        self._check_fits()

    def _check_fits(self) -> None:
        """A trial's resources fit on the cluster (else Ray would queue it forever)."""
        total = self._ray.cluster_resources()
        for need, unit, flag in ((self.cpus, "CPU", "--cpus-per-trial"), (self.gpus, "GPU", "--gpus-per-trial")):
            if need > total.get(unit, 0):
                raise RampupError(
                    flag,
                    need,
                    f"at most the {total.get(unit, 0):g} {unit}s of the Ray cluster",
                    hint="ask for less, or add a machine with more (ray start --address=HEAD:PORT)",
                )

    def start(self, trial_fn: TrialFn, trials: int) -> None:
        if self._ray is None:
            self.check()
        ray = self._ray
        if not ray.is_initialized():
            self._connect("local", "--address")
        self._remote = ray.remote(_ray_trial).options(
            num_cpus=self.cpus, num_gpus=self.gpus, max_retries=self.retries, retry_exceptions=False
        )
        self._trial_fn = trial_fn

    def capacity(self) -> int:
        if self.workers is not None:
            return self.workers
        total = self._ray.cluster_resources()
        fits = [total.get("CPU", 0) / self.cpus] if self.cpus else []
        if self.gpus:
            fits.append(total.get("GPU", 0) / self.gpus)
        return max(1, int(min(fits) + 1e-9))

    def submit(self, config: TrialConfig) -> None:
        self._refs[self._remote.remote(self._trial_fn, config, self._cwd)] = config

    @property
    def in_flight(self) -> int:
        return len(self._refs)

    def wait(self, timeout: float | None) -> list[TrialResult]:
        ray = self._ray
        if not self._refs:
            return []
        refs = list(self._refs)
        ready, _ = ray.wait(refs, num_returns=1, timeout=timeout)
        if ready:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        results = []
        for ref in ready:
            config = self._refs.pop(ref)
            try:
                results.append(ray.get(ref))
            except ray.exceptions.RayTaskError as error:  # the trial function itself raised
                results.append(failure(config, f"{type(error.cause).__name__}: {error.cause}"))
            except ray.exceptions.RayError as error:  # its worker or machine died on every try
                results.append(failure(config, f"{WORKER_DIED}; Ray says: {type(error).__name__}"))
        return results

    def close(self) -> None:
        ray = self._ray
        if ray is None:
            return
        for ref in self._refs:
            with contextlib.suppress(Exception):
                ray.cancel(ref, force=True)
        self._refs.clear()
        if self._owned and ray.is_initialized():
            ray.shutdown()
            self._owned = False


def make_backend(
    name: str,
    *,
    workers: int | None = None,
    address: str | None = None,
    cpus: float | None = None,
    gpus: float | None = None,
    retries: int = RETRIES,
) -> Backend:
    """The backend a ``--backend`` value names; ``workers`` is checked, the Ray flags only go with ``ray``."""
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise RampupError("--workers", workers, "a number of worker processes >= 1")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise RampupError("retries", retries, "a whole number >= 0")
    if name == "ray":
        return RayBackend(
            address,
            workers=workers,
            cpus=1.0 if cpus is None else cpus,
            gpus=0.0 if gpus is None else gpus,
            retries=retries,
        )
    if name != "local":
        raise RampupError("--backend", name, "local (worker processes on this machine) or ray (Ray Core)")
    for flag, value in (("--address", address), ("--cpus-per-trial", cpus), ("--gpus-per-trial", gpus)):
        if value is not None:
            raise RampupError(flag, value, "nothing with --backend local", hint="add --backend ray to use Ray")
    count = workers or os.cpu_count() or 1
    return InProcess() if count == 1 else LocalPool(count, retries)
