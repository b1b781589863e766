"""Your own task in the lab: ``--task path/to/file.py:NAME`` or ``--task package.module:NAME``.

``NAME`` is a :class:`LabTask` defined in that file or module, in one of two forms:

- ``LabTask(data=build, ...)``: ``build(trial)`` returns an object with the members of
  :class:`rampup.lab.data.TaskData` (``batch(rng, size)``, ``model(trial)``, ``loss(model, x, y)``,
  ``eval_x``, ``eval_y``); rampup builds the optimizer from ``optimizer`` (Adam, AdamW or SGD at the
  trial's peak rate) and runs its own training loop, metrics and monitor, exactly as for the built-in
  tasks;
- ``LabTask(train=fn, ...)`` or a plain function ``train(trial)``: your own loop. It receives the
  trial (:class:`rampup.lab.TrialConfig`: ``seed``, ``schedule``, ``peak_lr``, ``steps``, ``batch``,
  ``optimizer``, ``model``) and returns a :class:`rampup.lab.TrialResult` or a mapping with
  ``initial_loss`` and ``final_loss`` (held-out losses before and after training) and, optionally,
  ``train_losses`` and ``grad_norms`` (one per update: the spikes, the largest gradient norm and the
  monitor's flags are computed from them), ``eval_steps``/``eval_losses`` and ``diverged``.

Workers are spawned processes: each imports the reference again, so the file must import without
side effects that matter (put a script's own code under ``if __name__ == "__main__":``). A trial's task
is stored as ``<reference>@<first 12 hex digits of the SHA-256 of the file>``, so the trial keys
change when the file does and a database never mixes two versions of a task. A change in another file
the task imports is not seen: bump ``LabTask.version`` then.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import importlib.util
import inspect
import math
import os
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from rampup.errors import RampupError
from rampup.lab.result import TrialConfig, TrialResult
from rampup.lab.tasks import TASKS, OptimizerSettings, Task

__all__ = ["LabTask", "ResolvedTask", "check_task", "is_reference", "resolve_task", "run_custom", "stored_name"]

#: digits of the file's SHA-256 in a stored task name
DIGEST_DIGITS = 12
_FORMS = "a built-in task, path/to/file.py:NAME or package.module:NAME"
_KINDS = "a rampup.lab.custom.LabTask, or a train(trial) function"


@dataclass(frozen=True)
class LabTask:
    """A task of your own (module docstring): give ``data`` (rampup's loop) or ``train`` (yours), not both.

    ``steps`` is the default length of a trial (``--steps`` overrides it); ``normal_lr`` and ``high_lr``
    are what ``--lr normal`` and ``--lr high`` stand for; ``optimizer`` is the optimizer rampup builds
    (with ``data``) and how the run is described to the advisor (``--warmup advisor``), together with
    ``architecture``, ``advice`` (keywords of :func:`rampup.recommend`) and ``decay`` (the decay every
    warmup is followed by). ``model`` holds sizes and settings your code reads as ``trial.model``; it is
    part of every trial's key, like ``version``.
    """

    title: str = "a task of your own"
    data: Callable[[TrialConfig], Any] | None = None
    train: Callable[[TrialConfig], Any] | None = None
    steps: int | None = None
    batch: int = 32
    normal_lr: float | None = None
    high_lr: float | None = None
    optimizer: OptimizerSettings = field(default_factory=lambda: OptimizerSettings("adam"))
    architecture: str | None = None
    decay: str = "cosine(to=0.1)"
    advice: Mapping[str, Any] | None = None
    model: Mapping[str, Any] = field(default_factory=dict)
    version: str = ""

    def problems(self) -> list[str]:
        """What is wrong with this task (empty when it can run)."""
        found = []
        if (self.data is None) == (self.train is None):
            found.append("give exactly one of data= (rampup's loop) and train= (your own loop)")
        for name in ("data", "train"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                found.append(f"{name}= must be callable, got a {type(value).__name__}")
        if self.steps is not None and (isinstance(self.steps, bool) or not isinstance(self.steps, int)):
            found.append(f"steps= must be a whole number, got {self.steps!r}")
        if isinstance(self.batch, bool) or not isinstance(self.batch, int) or self.batch < 1:
            found.append(f"batch= must be a whole number >= 1, got {self.batch!r}")
        if not isinstance(self.optimizer, OptimizerSettings):
            found.append("optimizer= must be a rampup.lab.OptimizerSettings")
        return found


@dataclass(frozen=True)
class ResolvedTask:
    """A reference, its file's digest, the user's object and the :class:`Task` the lab plans with."""

    reference: str
    digest: str
    lab_task: LabTask
    task: Task

    @property
    def name(self) -> str:
        return self.task.name


def is_reference(name: object) -> bool:
    """Whether a ``--task`` value names a task of your own (built-in names have no ``:``)."""
    return isinstance(name, str) and ":" in name


def _split(text: str) -> tuple[str, str, str | None]:
    """``(target, attribute, digest or None)`` of ``target:NAME[@digest]``; bad syntax raises."""
    if not isinstance(text, str) or text.count(":") < 1:
        raise RampupError("--task", text, _FORMS)
    target, _, attribute = text.rpartition(":")
    digest = None
    if "@" in attribute:
        attribute, _, digest = attribute.partition("@")
    if not target or not attribute.isidentifier():
        raise RampupError("--task", text, _FORMS, hint="NAME after the last ':' is the name of the task's object")
    return target, attribute, digest


def _is_file(target: str) -> bool:
    return target.endswith(".py") or "/" in target or os.sep in target


def _normalize(target: str, attribute: str) -> str:
    if _is_file(target):
        return f"{os.path.normpath(target).replace(os.sep, '/')}:{attribute}"
    return f"{target}:{attribute}"


def _import_path() -> None:
    """``package.module`` references resolve against the current directory too (as ``python -m`` does)."""
    here = os.getcwd()
    if here not in sys.path and "" not in sys.path:
        sys.path.append(here)


def _source(text: str, target: str) -> Path:
    """The file a reference's object is defined in (a module is located without being run)."""
    if _is_file(target):
        path = Path(target)
        if not path.is_file():
            raise RampupError(
                "--task",
                text,
                "path/to/file.py:NAME with a Python file that exists",
                hint=f"no such file: {target} (relative paths start at the current directory)",
            )
        return path
    _import_path()
    try:
        spec = importlib.util.find_spec(target)
    except (ImportError, ValueError) as error:
        spec = None
        why = _one_line(error)
    else:
        why = f"no module named {target!r}"
    if spec is None or spec.origin is None or not Path(spec.origin).is_file():
        raise RampupError(
            "--task",
            text,
            "package.module:NAME with a module that can be imported",
            hint=f"{why}; install the package, run from the directory that holds it, or give path/to/file.py:NAME",
        )
    return Path(spec.origin)


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


_MODULES: dict[tuple[str, str], ModuleType] = {}


def _load(text: str, target: str, path: Path, digest: str) -> ModuleType:
    """Import the file or module once per process and version of the file."""
    cached = _MODULES.get((target, digest))
    if cached is not None:
        return cached
    try:
        if _is_file(target):
            name = f"rampup_lab_task_{digest[:DIGEST_DIGITS]}"
            spec = importlib.util.spec_from_file_location(name, path)
            if spec is None or spec.loader is None:
                raise ImportError(f"cannot import {path}")
            module = importlib.util.module_from_spec(spec)
            folder = str(path.resolve().parent)
            if folder not in sys.path:
                sys.path.append(folder)  # the file may import its neighbours
            sys.modules[name] = module
            try:
                spec.loader.exec_module(module)
            except BaseException:
                sys.modules.pop(name, None)
                raise
        else:
            module = importlib.import_module(target)
    except RampupError:
        raise
    except Exception as error:
        raise RampupError(
            "--task",
            text,
            "a file or module that imports without an error",
            hint=f"importing it raised {_one_line(error)}; fix it and run again (nothing was written)",
        ) from None
    _MODULES[(target, digest)] = module
    return module


def _lab_task(text: str, module: ModuleType, attribute: str) -> LabTask:
    if not hasattr(module, attribute):
        found = [name for name, value in vars(module).items() if isinstance(value, LabTask)]
        shown = ", ".join(found) if found else "none"
        raise RampupError(
            "--task",
            text,
            f"NAME of an object defined there ({_KINDS})",
            hint=f"it defines no {attribute!r}; the LabTask objects it defines: {shown}",
        )
    value = getattr(module, attribute)
    if isinstance(value, LabTask):
        lab_task = value
    elif inspect.isfunction(value) or inspect.ismethod(value):
        try:
            inspect.signature(value).bind(None)
        except TypeError:
            raise RampupError(
                "--task",
                text,
                _KINDS,
                hint=f"{attribute} is a function that cannot be called with one argument (the trial)",
            ) from None
        lab_task = LabTask(title=f"{attribute}(trial), your own training loop", train=value)
    else:
        raise RampupError(
            "--task",
            text,
            _KINDS,
            hint=f"{attribute} is a {type(value).__name__}: wrap it as LabTask(data=...) or LabTask(train=...)",
        )
    problems = lab_task.problems()
    if problems:
        raise RampupError("--task", text, f"a valid LabTask ({_KINDS})", hint="; ".join(problems))
    return lab_task


def _as_task(name: str, lab_task: LabTask, digest: str) -> Task:
    advice = dict(lab_task.advice) if lab_task.advice is not None else {"regime": "pretrain"}
    if lab_task.architecture is not None and lab_task.advice is None:
        advice["architecture"] = lab_task.architecture
    data: dict[str, Any] = {"file_sha256": digest}
    if lab_task.version:
        data["version"] = lab_task.version
    return Task(
        name=name,
        title=lab_task.title,
        kind="custom",
        steps=lab_task.steps or 0,
        batch=lab_task.batch,
        normal_lr=math.nan if lab_task.normal_lr is None else float(lab_task.normal_lr),
        high_lr=math.nan if lab_task.high_lr is None else float(lab_task.high_lr),
        optimizer=lab_task.optimizer,
        architecture=lab_task.architecture,
        model=dict(lab_task.model),
        data=data,
        decay=lab_task.decay,
        advice=advice,
    )


def resolve_task(text: str) -> ResolvedTask:
    """Import a reference (``path/to/file.py:NAME`` or ``package.module:NAME``, optionally with the
    ``@digest`` of a stored name, which must match the file as it is now) and check what it names."""
    target, attribute, wanted = _split(text)
    if target in TASKS:
        raise RampupError("--task", text, _FORMS, hint=f"{target} is a built-in task: pass --task {target}")
    path = _source(text, target)
    digest = _digest(path)
    if wanted is not None and not digest.startswith(wanted):
        raise RampupError(
            "--task",
            text,
            f"the file as it was when the trial was planned (digest {wanted})",
            hint=f"{path} has changed since (digest {digest[:DIGEST_DIGITS]}): plan the sweep again",
        )
    reference = _normalize(target, attribute)
    module = _load(text, target, path, digest)
    lab_task = _lab_task(text, module, attribute)
    name = f"{reference}@{digest[:DIGEST_DIGITS]}"
    return ResolvedTask(reference, digest, lab_task, _as_task(name, lab_task, digest))


def stored_name(text: str, stored: Iterable[str]) -> str:
    """The stored task name a ``lab report --task`` reference stands for: the file's current version,
    or the one version the database holds (several: an error lists them)."""
    target, attribute, wanted = _split(text)
    reference = _normalize(target, attribute)
    versions = sorted(name for name in set(stored) if name.startswith(f"{reference}@"))
    if wanted is not None:
        matching = [name for name in versions if name.split("@")[-1].startswith(wanted)]
        if len(matching) == 1:
            return matching[0]
    else:
        try:
            current = f"{reference}@{_digest(_source(text, target))[:DIGEST_DIGITS]}"
        except RampupError:
            current = None
        if current in versions:
            return current
        if len(versions) == 1:
            return versions[0]
    if not versions:
        raise RampupError("--task", text, "a task with trials in --db", hint="run a sweep of it first")
    raise RampupError(
        "--task", text, f"one of the versions in --db: {', '.join(versions)}", hint="pass the name with its @digest"
    )


def custom_data(config: TrialConfig) -> Any:
    """A ``data=`` task's data for a trial (what :func:`rampup.lab.data.task_data` returns for it)."""
    lab_task = resolve_task(config.task).lab_task
    if lab_task.data is None:
        raise RampupError(
            "--task", config.task, "a LabTask(data=...) for rampup's own loop", hint="this one has train="
        )
    return lab_task.data(config)


def check_task(trial: TrialConfig) -> None:
    """Build the first trial's data, model and loss before anything is written (a ``data=`` task), or check
    that ``train`` takes the trial (a ``train=`` task); a task that raises becomes a ``--task`` error."""
    resolved = resolve_task(trial.task)
    if resolved.lab_task.data is None:
        return
    import numpy as np
    import torch

    stage = "data(trial)"
    try:
        built = resolved.lab_task.data(trial)
        missing = [name for name in ("batch", "model", "loss", "eval_x", "eval_y") if not hasattr(built, name)]
        if missing:
            raise RampupError(
                "--task",
                trial.task,
                "data= returning an object with batch, model, loss, eval_x and eval_y (rampup.lab.data.TaskData)",
                hint=f"it has no {', '.join(missing)}",
            )
        stage = "model(trial)"
        state = torch.random.get_rng_state()
        torch.manual_seed(trial.seed)
        try:
            model = built.model(trial)
        finally:
            torch.random.set_rng_state(state)
        stage = "batch(rng, size)"
        x, y = built.batch(np.random.default_rng(trial.seed), min(trial.batch, 4))
        stage = "loss(model, x, y)"
        with torch.no_grad():
            loss = built.loss(model, x, y)
            held = built.loss(model, built.eval_x, built.eval_y)
        for value in (loss, held):
            if not (isinstance(value, torch.Tensor) and value.dim() == 0):
                raise TypeError(f"loss must return a scalar tensor, got {type(value).__name__}")
    except RampupError:
        raise
    except Exception as error:
        raise RampupError(
            "--task",
            resolved.reference,
            "a task whose data, model and loss can be built",
            hint=f"{stage} raised {_one_line(error)}; fix the task (nothing was written)",
        ) from None


def run_custom(config: TrialConfig) -> TrialResult:
    """One trial of a task of your own: rampup's loop for a ``data=`` task, yours for a ``train=`` one."""
    lab_task = resolve_task(config.task).lab_task
    if lab_task.train is None:
        from rampup.lab.train import train

        return train(config)
    start = time.perf_counter()
    outcome = lab_task.train(config)
    return result_from(config, outcome, wall_s=time.perf_counter() - start)


def _float(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        try:
            return float(value)  # type: ignore[arg-type]  # a 0-d tensor or NumPy scalar
        except (TypeError, ValueError):
            raise TypeError(f"train(trial) returned {name}={value!r}: expected a number") from None
    return float(value)


def _floats(name: str, values: object) -> list[float]:
    if values is None:
        return []
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise TypeError(f"train(trial) returned {name} of type {type(values).__name__}: expected a list of numbers")
    return [_float(name, value) for value in values]


def result_from(config: TrialConfig, outcome: object, *, wall_s: float = 0.0) -> TrialResult:
    """A :class:`TrialResult` from what ``train(trial)`` returned, judged by the rules of rampup's own loop
    (docs/lab.md): diverged if a loss is not finite or the final loss is above the initial one."""
    if isinstance(outcome, TrialResult):
        return dataclasses.replace(outcome, config=config, wall_s=outcome.wall_s or wall_s)
    if not isinstance(outcome, Mapping):
        raise TypeError(
            f"train(trial) returned a {type(outcome).__name__}: expected a TrialResult or a mapping with "
            "initial_loss and final_loss"
        )
    from rampup.lab.train import measured
    from rampup.monitor import WarmupMonitor
    from rampup.schedule import as_schedule

    missing = [name for name in ("initial_loss", "final_loss") if name not in outcome]
    if missing:
        raise TypeError(f"train(trial) returned no {' and no '.join(missing)}")
    initial = _float("initial_loss", outcome["initial_loss"])
    final = _float("final_loss", outcome["final_loss"])
    losses = _floats("train_losses", outcome.get("train_losses"))
    norms = _floats("grad_norms", outcome.get("grad_norms"))
    schedule = as_schedule(config.schedule).resolve(total_steps=config.steps)
    monitor = WarmupMonitor(schedule, total_steps=config.steps, warn=False)
    for index, loss in enumerate(losses):
        monitor.observe(loss, norms[index] if index < len(norms) else None)
    diverged = (
        bool(outcome.get("diverged", False))
        or not (math.isfinite(initial) and math.isfinite(final))
        or final > initial
        or not all(math.isfinite(value) for value in losses)
    )
    finite_norms = [value for value in norms if math.isfinite(value)]
    eval_steps = [int(step) for step in outcome.get("eval_steps") or [0, len(losses) or config.steps]]
    eval_losses = _floats("eval_losses", outcome.get("eval_losses")) or [initial, final]
    return measured(
        config,
        schedule,
        monitor,
        initial=initial,
        final=final,
        diverged=diverged,
        losses=losses,
        norms=norms,
        max_grad_norm=max(finite_norms) if finite_norms else None,
        wall_s=wall_s,
        eval_steps=eval_steps,
        eval_losses=eval_losses,
    )
