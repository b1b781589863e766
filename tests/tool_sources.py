"""The tools' own scheduler code, loaded from their installed files without importing their packages.

timm 1.0.31, axolotl 0.19.0 and nemo_toolkit 2.6.2 are installed without their dependencies
(``pip install --no-deps -r tests/tools-no-deps.txt``): ``import timm`` pulls torchvision, ``import axolotl``
its training stack, ``import nemo`` Lightning, Megatron and more. Their scheduler modules need only torch
(NeMo's also OmegaConf, in the ``dev`` extra), so each is imported from its file under an empty package
module whose ``__path__`` is the installed folder (found with ``importlib.util.find_spec``, which does not
run the package's ``__init__``). What runs is the tools' code, unchanged:

- timm: ``timm/scheduler/{scheduler,cosine_lr,tanh_lr,poly_lr,step_lr,multistep_lr,plateau_lr,wsd_lr,
  scheduler_factory}.py`` (``scheduler_kwargs`` and ``create_scheduler_v2`` as ``train.py`` calls them).
- Axolotl: ``axolotl/utils/schedulers.py``; and ``_configure_warmup_and_logging`` of
  ``axolotl/core/builders/base.py``, compiled alone from that file's syntax tree (the module imports
  transformers, peft, accelerate...).
- NeMo: ``nemo/core/config/schedulers.py`` and ``nemo/core/optim/lr_scheduler.py`` (the classes,
  ``get_scheduler`` and ``prepare_lr_scheduler``); ``maybe_update_config_version`` and ``_convert_config``
  of ``nemo/utils/model_utils.py``, compiled alone the same way (``prepare_lr_scheduler`` runs them on the
  ``sched`` block first).

Stand-ins, none of which computes a rate: the empty package modules (``timm``, ``timm.scheduler``,
``axolotl``..., ``nemo``, ``nemo.core``...); NeMo's ``nemo.utils.logging`` (a logger that keeps the
messages in ``NEMO_LOG``); and ``hydra``, which ``lr_scheduler.py`` imports only for
``hydra.utils.instantiate`` of a ``_target_`` class path in a ``sched`` block (never given here: the
stand-in raises if it is called).

Every name added to ``sys.modules`` while loading under those packages (and ``hydra``) is removed
afterwards, so a later ``import timm`` or ``import nemo`` is not shadowed; the loaded modules stay
cached here. A tool that is not installed is a ``MissingTool`` error (the tests fail; they never skip).
"""

from __future__ import annotations

import ast
import copy
import functools
import importlib
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

INSTALL = "pip install --no-deps -r tests/tools-no-deps.txt"
#: the stand-ins' roots: what is added under them while loading is removed afterwards
_ROOTS = ("timm", "axolotl", "nemo", "hydra")
#: NeMo's log messages while its code runs (``nemo.utils.logging`` stand-in)
NEMO_LOG: list[tuple[str, str]] = []


class MissingTool(RuntimeError):
    """A tool's files are not installed."""


@functools.cache
def package_dir(name: str) -> Path:
    """The installed folder of package ``name``, without importing it (found before any stand-in is made)."""
    try:
        found = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        found = None
    if found is None or not found.submodule_search_locations:
        raise MissingTool(f"{name} is not installed: run `{INSTALL}` (the parity tests load its scheduler files)")
    return Path(next(iter(found.submodule_search_locations)))


def _file(root: str, relative: str) -> Path:
    path = package_dir(root) / relative
    if not path.is_file():
        raise MissingTool(f"{root}/{relative} is missing: run `{INSTALL}` (the version pinned there has it)")
    return path


@contextmanager
def _loading() -> Iterator[None]:
    """Let stand-ins live in ``sys.modules`` while the tools' modules are imported, then take them out again."""
    before = set(sys.modules)
    try:
        yield
    finally:
        for name in set(sys.modules) - before:
            if name.split(".")[0] in _ROOTS:
                del sys.modules[name]


def _package(name: str, folder: Path | None = None, **attributes: Any) -> None:
    """An empty package module ``name`` (its ``__init__`` not run), importing submodules from ``folder``."""
    if name in sys.modules:
        return
    module = types.ModuleType(name)
    if folder is not None:
        module.__path__ = [str(folder)]
    for key, value in attributes.items():
        setattr(module, key, value)
    sys.modules[name] = module


def _packages(dotted: str) -> None:
    """Empty packages for ``dotted`` and each of its parents, over the installed folders."""
    parts = dotted.split(".")
    root = package_dir(parts[0])
    for end in range(1, len(parts) + 1):
        _package(".".join(parts[:end]), root.joinpath(*parts[1:end]))


def function_from(path: Path, name: str, namespace: dict[str, Any]) -> Callable[..., Any]:
    """The function (or method) ``name`` of the source file ``path``, compiled alone into ``namespace``.

    For functions whose module imports far more than they use: the function's own lines run, with the
    globals given in ``namespace``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == name:
            if node.decorator_list:
                raise MissingTool(f"{path.name}: {name} has decorators; it cannot be compiled alone")
            code = compile(ast.Module(body=[node], type_ignores=[]), str(path), "exec")
            exec(code, namespace)  # the installed tool's own function, as written there
            return namespace[name]  # type: ignore[no-any-return]
    raise MissingTool(f"{path} has no function {name}: run `{INSTALL}` (the version pinned there has it)")


# --------------------------------------------------------------------------- timm


TIMM_FILES = (
    "scheduler",
    "cosine_lr",
    "tanh_lr",
    "poly_lr",
    "step_lr",
    "multistep_lr",
    "plateau_lr",
    "wsd_lr",
    "scheduler_factory",
)


@functools.cache
def timm_scheduler() -> types.SimpleNamespace:
    """timm's ``timm/scheduler/*.py`` modules by file name (``.scheduler_factory.create_scheduler_v2``...)."""
    for name in TIMM_FILES:
        _file("timm", f"scheduler/{name}.py")
    with _loading():
        _packages("timm.scheduler")
        modules = {name: importlib.import_module(f"timm.scheduler.{name}") for name in TIMM_FILES}
    return types.SimpleNamespace(**modules)


# --------------------------------------------------------------------------- Axolotl


@functools.cache
def axolotl_schedulers() -> types.ModuleType:
    """Axolotl's ``axolotl/utils/schedulers.py`` (its lambdas and the ``LambdaLR`` builders)."""
    _file("axolotl", "utils/schedulers.py")
    with _loading():
        _packages("axolotl.utils")
        return importlib.import_module("axolotl.utils.schedulers")


@functools.cache
def axolotl_configure_warmup() -> Callable[..., Any]:
    """``AxolotlTrainerBuilder._configure_warmup_and_logging(self, total_num_steps, training_args_kwargs)``
    of ``axolotl/core/builders/base.py``: ``self.cfg`` needs ``warmup_steps``, ``warmup_ratio``,
    ``logging_steps``; it writes ``training_args_kwargs["warmup_steps"]``."""
    return function_from(_file("axolotl", "core/builders/base.py"), "_configure_warmup_and_logging", {})


# --------------------------------------------------------------------------- NeMo


class _NemoLogging:
    """``nemo.utils.logging`` stand-in: keeps (level, message) in ``NEMO_LOG``."""

    def __getattr__(self, level: str) -> Callable[..., None]:
        def log(message: object, *args: object, **_: object) -> None:
            text = str(message)
            if args:
                try:
                    text = text % args
                except (TypeError, ValueError):
                    text = " ".join([text, *map(str, args)])
            NEMO_LOG.append((level, text))

        return log


def _hydra_instantiate(*_: object, **__: object) -> object:
    raise NotImplementedError("hydra stand-in (tests/tool_sources.py): a _target_ class path is not read here")


@functools.cache
def nemo_lr_scheduler() -> types.ModuleType:
    """NeMo's ``nemo/core/optim/lr_scheduler.py``, over its ``nemo/core/config/schedulers.py``."""
    for relative in ("core/optim/lr_scheduler.py", "core/config/schedulers.py", "utils/model_utils.py"):
        _file("nemo", relative)
    try:
        from omegaconf import DictConfig, OmegaConf
        from omegaconf import errors as omegaconf_errors
    except ImportError as error:
        raise MissingTool(f"NeMo's lr_scheduler.py needs omegaconf (the dev extra): {error}") from None
    logging = _NemoLogging()
    namespace = {
        "copy": copy,
        "DictConfig": DictConfig,
        "OmegaConf": OmegaConf,
        "omegaconf_errors": omegaconf_errors,
        "logging": logging,
        "_HAS_HYDRA": True,
    }
    model_utils = _file("nemo", "utils/model_utils.py")
    function_from(model_utils, "_convert_config", namespace)
    maybe_update = function_from(model_utils, "maybe_update_config_version", namespace)
    with _loading():
        hydra = types.ModuleType("hydra")
        hydra.utils = types.SimpleNamespace(instantiate=_hydra_instantiate)  # type: ignore[attr-defined]
        sys.modules["hydra"] = hydra
        _packages("nemo.core.config")
        _packages("nemo.core.optim")
        _package("nemo.utils", package_dir("nemo") / "utils", logging=logging)
        _package("nemo.utils.model_utils", None, maybe_update_config_version=maybe_update)
        return importlib.import_module("nemo.core.optim.lr_scheduler")
