"""``rampup inspect``: what schedule a training config really runs, update by update.

Reads a Hugging Face TrainingArguments / TRL config (YAML or JSON), an Axolotl or LLaMA-Factory
YAML, a DeepSpeed JSON with a ``scheduler`` block, a Megatron-LM or timm command line (or args
file, or timm's ``args.yaml``), a NeMo config with an ``optim.sched`` block, or a rampup schedule
(spec text, or the dict form as JSON, YAML or TOML). Each tool's conventions live in
:mod:`rampup.conventions`; the result is an :class:`~rampup.conventions.Imported`: the tool's own
rate for every optimizer update, the rampup spec that equals it (or none, and why), and findings.
"""

from __future__ import annotations

import dataclasses
import json
import math
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import numpy as np
import typer

from rampup.conventions import (
    Counting,
    Finding,
    Imported,
    RunSize,
    check_keys,
    general_findings,
    number,
    run_length_finding,
    settle,
    whole,
)
from rampup.conventions import axolotl as axolotl_conventions
from rampup.conventions import deepspeed as deepspeed_conventions
from rampup.conventions import hf as hf_conventions
from rampup.conventions import llamafactory as llamafactory_conventions
from rampup.conventions import megatron as megatron_conventions
from rampup.conventions import nemo as nemo_conventions
from rampup.conventions import timm as timm_conventions
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule

__all__ = [
    "FORMATS",
    "SCHEDULE_SUFFIXES",
    "command",
    "detect",
    "inspect_file",
    "inspect_text",
    "load_data",
    "read_schedule_file",
    "render",
]

#: the suffixes of a schedule file: the dict form as JSON, YAML or TOML, or spec text
SCHEDULE_SUFFIXES = (".json", ".yaml", ".yml", ".toml", ".txt", ".spec")

FORMATS = ("auto", "hf", "axolotl", "llamafactory", "deepspeed", "megatron", "timm", "nemo", "rampup")

#: the schedule keys read from Hugging Face TrainingArguments / TRL configs
HF_KEYS = {
    "learning_rate",
    "lr_scheduler_type",
    "lr_scheduler_kwargs",
    "warmup_steps",
    "warmup_ratio",
    "max_steps",
    "num_train_epochs",
    "per_device_train_batch_size",
    "gradient_accumulation_steps",
    "deepspeed",
    "dataloader_drop_last",
}
_AXOLOTL_MARKERS = {"base_model", "micro_batch_size", "num_epochs", "lr_scheduler", "datasets", "adapter"}
_HF_MARKERS = {"output_dir", "lr_scheduler_type", "num_train_epochs", "per_device_train_batch_size", "learning_rate"}


def load_data(text: str, name: str) -> Any:
    """The file's data: JSON, YAML (safe loader) or TOML by its suffix; other text is returned as is."""
    suffix = Path(name).suffix.lower()
    try:
        if suffix == ".json":
            return json.loads(text)
        if suffix in (".yaml", ".yml"):
            import yaml  # type: ignore[import-untyped,unused-ignore]

            return yaml.safe_load(text)
        if suffix == ".toml":
            import tomllib  # type: ignore[import-not-found,unused-ignore]

            return tomllib.loads(text)
    except ImportError as error:  # pragma: no cover - tomllib is in 3.11, PyYAML comes with transformers
        raise RampupError(name, suffix, "a format whose reader is installed", hint=str(error)) from None
    except Exception as error:
        message = " ".join(str(error).split())[:160]
        raise RampupError(name, "a malformed file", f"valid {suffix.lstrip('.').upper()}", hint=message) from None
    return text


def detect(data: Any, name: str) -> str:
    """Which tool's config ``data`` is (the ``auto`` format)."""
    if isinstance(data, str):
        flags = set(re.findall(r"(?<![\w-])--[\w-]+", data))
        if "--train-iters" not in flags and flags & {"--sched", "--warmup-epochs", "--epochs", "--sched-on-updates"}:
            return "timm"
        if "--train-iters" in data or "--lr " in data or "--lr=" in data:
            return "megatron"
        return "rampup"
    if isinstance(data, Mapping):
        keys = set(data)
        if "phases" in keys:
            return "rampup"
        if isinstance(data.get("scheduler"), Mapping) or data.get("type") in deepspeed_conventions.TYPES:
            return "deepspeed"
        if "sched" in keys and keys & {"epochs", "warmup_epochs", "sched_on_updates"}:
            return "timm"
        if _nemo_like(data):
            return "nemo"
        if keys & llamafactory_conventions.MARKERS and not keys & {"micro_batch_size", "num_epochs", "lr_scheduler"}:
            return "llamafactory"
        if keys & _AXOLOTL_MARKERS and "lr_scheduler_type" not in keys:
            return "axolotl"
        if keys & _HF_MARKERS:
            return "hf"
    raise RampupError(name, "a file of no known tool", f"one of {', '.join(FORMATS[1:])}: pass --format")


def _nemo_like(data: Mapping[str, Any]) -> bool:
    """A NeMo config: a ``sched`` block with a NeMo scheduler's name under ``model.optim``, ``optim`` or on its own."""
    for node in (data.get("model"), data):
        optim = node.get("optim") if isinstance(node, Mapping) else None
        for block in (optim, node):
            sched = block.get("sched") if isinstance(block, Mapping) else None
            if isinstance(sched, Mapping) and sched.get("name") in nemo_conventions.SCHEDULERS:
                return True
    return data.get("name") in nemo_conventions.SCHEDULERS


def read_schedule_file(path: str) -> Schedule:
    """A schedule from a file: the dict form as JSON, YAML (safe loader) or TOML, or spec text; errors name the file.

    Used wherever the command line takes spec text (``values``, ``show``, ``plot``, ``export``).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RampupError("SPEC", path, "spec text, a preset name or an existing schedule file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RampupError("SPEC", path, "a readable schedule file", hint=type(error).__name__) from None
    data = load_data(text, path)
    try:
        if isinstance(data, str):
            return Schedule.parse(data.strip())
        if isinstance(data, Mapping):
            return Schedule.from_dict(data)
    except RampupError as error:
        where = f"{path}: {error.field}"
        raise RampupError(
            where, error.value, error.expected, hint=error.hint, text=error.text, position=error.position
        ) from None
    raise RampupError(path, type(data).__name__, 'a schedule: spec text, or the dict form {"phases": [...]}')


def inspect_file(path: str, fmt: str = "auto", size: RunSize | None = None) -> Imported:
    """Read ``path`` and inspect it (errors name the file)."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RampupError("FILE", path, "an existing config file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise RampupError("FILE", path, "a readable text file", hint=type(error).__name__) from None
    return inspect_text(text, path, fmt, size or RunSize(), base=file.parent)


def inspect_text(text: str, name: str, fmt: str, size: RunSize, base: Path | None = None) -> Imported:
    """Inspect a config's text; ``name`` is its file name (for the suffix and errors)."""
    key = str(fmt).strip().lower()
    if key not in FORMATS:
        raise RampupError("--format", fmt, f"one of {', '.join(FORMATS)}")
    if key == "megatron":
        return megatron_conventions.import_args(text, name, total_steps=size.total_steps)
    data = load_data(text, name)
    if key == "auto":
        key = detect(data, name)
        if key == "megatron":
            return megatron_conventions.import_args(text, name, total_steps=size.total_steps)
    if key == "timm":
        flags = timm_conventions.parse_flags(text, name) if isinstance(data, str) else data
        if not isinstance(flags, Mapping):
            raise RampupError(name, type(data).__name__, "timm's train.py flags, or the args.yaml it writes")
        world = timm_conventions.world_size(text) if isinstance(data, str) else None
        if size.num_processes is None and world is not None:
            size = dataclasses.replace(size, num_processes=world)
        return timm_conventions.import_settings(flags, name, size)
    if key == "rampup":
        return _rampup(data, name, size)
    if not isinstance(data, Mapping):
        raise RampupError(name, type(data).__name__, f"a mapping of {key} settings")
    if key == "deepspeed":
        block = data.get("scheduler") if "scheduler" in data else data
        lr = _optimizer_lr(data, name)
        counting = deepspeed_conventions.run_counting(data, size, name)
        run = size.total_steps if size.total_steps is not None or counting is None else counting.updates
        return deepspeed_conventions.import_block(block, name, total_steps=run, optimizer_lr=lr, counting=counting)
    if key == "axolotl":
        return _axolotl(data, name, size, base)
    if key == "llamafactory":
        return _llamafactory(data, name, size, base)
    if key == "nemo":
        return nemo_conventions.import_config(data, name, size)
    return _hf(data, name, size, base)


def _optimizer_lr(data: Mapping[str, Any], name: str) -> float | None:
    optimizer = data.get("optimizer")
    if not isinstance(optimizer, Mapping):
        return None
    params = optimizer.get("params") or {}
    if not isinstance(params, Mapping) or params.get("lr") in (None, "auto"):
        return None
    return float(number(params, "lr", f"{name}: optimizer.params"))


def _rampup(data: Any, name: str, size: RunSize) -> Imported:
    schedule = Schedule.parse(data.strip()) if isinstance(data, str) else Schedule.from_dict(data)
    resolved = schedule.resolve(size.total_steps)
    total = resolved.total_steps
    if total is None:
        raise RampupError("--total-steps", None, "the run's updates: this schedule is open-ended")
    values = resolved.values(np.arange(total, dtype=np.float64))
    imported = settle("rampup", 1.0, values, str(resolved), [])
    general_findings(imported, resolved.warmup_steps if resolved.warmup_steps else None)
    return imported


def _deepspeed_file(
    value: Any, name: str, base: Path | None, unread: list[Finding] | None = None
) -> Mapping[str, Any] | None:
    """The DeepSpeed config a training config names (a path relative to the file, or to the working directory).

    With ``unread``, a file found in neither place is a finding there (LLaMA-Factory's examples name
    paths relative to its repository), not an error.
    """
    if isinstance(value, Mapping):
        return value
    if not isinstance(value, str) or not value:
        return None
    path = Path(value)
    if not path.is_absolute() and base is not None and (unread is None or (base / path).is_file()):
        path = base / path
    if unread is not None and not path.is_file():
        unread.append(
            Finding(
                "deepspeed-unread",
                f"the DeepSpeed config {value} was not found: a scheduler block in it would replace lr_scheduler_type",
            )
        )
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise RampupError(
            f"{name}: deepspeed", value, "a readable DeepSpeed JSON file", hint=type(error).__name__
        ) from None
    return data if isinstance(data, Mapping) else None


def _kwargs(data: Mapping[str, Any], name: str, scheduler: str) -> dict[str, Any]:
    raw = data.get("lr_scheduler_kwargs") or {}
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise RampupError(f"{name}: lr_scheduler_kwargs", raw, "a mapping (or its JSON text)") from None
    if not isinstance(raw, Mapping):
        raise RampupError(f"{name}: lr_scheduler_kwargs", raw, "a mapping")
    allowed = hf_conventions.WSD_KWARGS if scheduler == hf_conventions.WSD else hf_conventions.SCHEDULERS[scheduler]
    for key in raw:
        if key not in allowed:
            valid = ", ".join(allowed) or "none"
            raise RampupError(f"{name}: lr_scheduler_kwargs", key, f"a keyword of {scheduler}: {valid}")
    hf_conventions.check_min_lr(scheduler, raw, name)
    if "warmup_lr_rate" in raw:
        number(raw, "warmup_lr_rate", f"{name}: lr_scheduler_kwargs", None, low=0.0)
    if scheduler == hf_conventions.WSD:
        for key in ("warmup_type", "decay_type"):
            if key in raw and raw[key] not in hf_conventions.WSD_CURVES:
                valid = ", ".join(hf_conventions.WSD_CURVES)
                raise RampupError(f"{name}: lr_scheduler_kwargs.{key}", raw[key], f"one of {valid}")
        for key in ("num_stable_steps", "num_decay_steps"):
            whole(raw, key, f"{name}: lr_scheduler_kwargs", None)
        for key in ("min_lr_ratio", "num_cycles"):
            number(raw, key, f"{name}: lr_scheduler_kwargs", None, low=0.0)
    return dict(raw)


def _ratio_findings(ratio: float, total: int, used: int, who: str) -> list[Finding]:
    rounded = {"Hugging Face": math.ceil(total * ratio), "Axolotl and NeMo": int(ratio * total)}
    if len(set(rounded.values())) == 1:
        return []
    others = ", ".join(f"{tool} {steps}" for tool, steps in rounded.items())
    return [
        Finding(
            "ratio-rounding",
            f"a warmup ratio of {format_number(ratio)} over {total} updates is {used} updates in {who}; "
            f"the tools round it differently ({others})",
        )
    ]


def _hf(data: Mapping[str, Any], name: str, size: RunSize, base: Path | None) -> Imported:
    return _trainer(data, name, size, base, "hf")


def _llamafactory(data: Mapping[str, Any], name: str, size: RunSize, base: Path | None) -> Imported:
    return _trainer(data, name, size, base, "llamafactory")


def _trainer(data: Mapping[str, Any], name: str, size: RunSize, base: Path | None, tool: str) -> Imported:
    """Trainer's arguments as Hugging Face (``tool="hf"``) or LLaMA-Factory (``"llamafactory"``) hands them over."""
    factory = tool == "llamafactory"
    check_keys(data, HF_KEYS | llamafactory_conventions.KEYS if factory else HF_KEYS, name, ("lr", "warmup", "sched"))
    findings: list[Finding] = []
    lr = number(data, "learning_rate", name, 5e-5)
    if not lr > 0:
        raise RampupError(f"{name}: learning_rate", data.get("learning_rate"), "a learning rate > 0")
    scheduler = str(data.get("lr_scheduler_type", "linear"))
    known = (*hf_conventions.SCHEDULERS, hf_conventions.WSD)
    if scheduler not in known:
        raise RampupError(f"{name}: lr_scheduler_type", scheduler, f"one of {', '.join(known)}")
    kwargs = _kwargs(data, name, scheduler)
    warmup = number(data, "warmup_steps", name, 0.0, low=0.0)
    ratio = number(data, "warmup_ratio", name, None, low=0.0)
    if ratio is not None:
        if warmup:
            raise RampupError(f"{name}: warmup_ratio", data["warmup_ratio"], "no warmup_ratio with warmup_steps")
        if ratio >= 1:
            raise RampupError(f"{name}: warmup_ratio", data["warmup_ratio"], "a ratio below 1")
        note = " (LLaMA-Factory allows transformers up to 5.8)" if factory else ""
        findings.append(
            Finding(
                "renamed-key",
                "warmup_ratio is transformers 4's key, deprecated in 5.0 and removed in 5.2: read as "
                f"warmup_steps below 1 (a ratio, the same rounding){note}",
            )
        )
        warmup = ratio
    if warmup >= 1 and not float(warmup).is_integer():
        raise RampupError(f"{name}: warmup_steps", data["warmup_steps"], "a whole number of steps, or a ratio below 1")
    max_steps = whole(data, "max_steps", name, -1, low=-1)
    if factory and data.get("streaming") and max_steps <= 0:
        raise RampupError(
            f"{name}: max_steps",
            data.get("max_steps"),
            "a number of updates > 0: LLaMA-Factory requires it with streaming",
        )
    batch = whole(data, "per_device_train_batch_size", name, 8, low=1)
    accum = whole(data, "gradient_accumulation_steps", name, 1, low=1)
    if size.batch_size is not None:
        batch = size.batch_size
    if size.grad_accum is not None:
        accum = size.grad_accum
    epochs = size.epochs if size.epochs is not None else number(data, "num_train_epochs", name, 3.0, low=0.0)
    processes = size.num_processes or 1
    counting = None
    if size.dataset_size is not None and epochs > 0:
        counting = hf_conventions.counting(size.dataset_size, batch, accum, processes, epochs)
    run = size.total_steps
    if run is None and max_steps > 0:
        run = max_steps
        epochs_given = size.epochs is not None or "num_train_epochs" in data
        if counting is not None and epochs_given:
            warmup_key = ("warmup_steps", int(warmup)) if warmup >= 1 else None
            found = run_length_finding("max_steps", max_steps, counting, "Trainer", warmup_key)
            if found is not None:
                findings.append(found)
    if run is None:
        if size.dataset_size is None:
            raise RampupError(
                f"{name}: max_steps",
                data.get("max_steps"),
                "a number of updates > 0, or the run's size (--total-steps, or --dataset-size)",
                hint="an iterable dataset has no length: Trainer needs max_steps",
            )
        run = hf_conventions.total_steps(size.dataset_size, batch, accum, processes, epochs)
    w = hf_conventions.warmup_steps(warmup, run)
    if 0 < warmup < 1:
        findings.extend(_ratio_findings(warmup, run, w, "Hugging Face (ceil)"))
    if scheduler == hf_conventions.WSD:
        if factory:
            kwargs, more = llamafactory_conventions.wsd_defaults(w, run, kwargs)
            findings.extend(more)
        elif "num_decay_steps" not in kwargs:
            raise RampupError(
                f"{name}: lr_scheduler_kwargs.num_decay_steps",
                None,
                "the length of warmup_stable_decay's decay: transformers' get_wsd_schedule requires it",
            )
    ds = _deepspeed_file(data.get("deepspeed"), name, base, findings if factory else None)
    if ds is not None and isinstance(ds.get("scheduler"), Mapping):
        fill = {"learning_rate": lr, "warmup_steps": w, "total_steps": run}
        if counting is None or counting.updates != run:
            counting = Counting.from_updates(run, accum, processes)
        imported = deepspeed_conventions.import_block(
            ds["scheduler"], f"{name}: deepspeed", total_steps=run, optimizer_lr=lr, hf=fill, counting=counting
        )
        imported.findings.insert(
            0,
            Finding(
                "deepspeed-overrides",
                f"the DeepSpeed config's scheduler ({ds['scheduler'].get('type')}) replaces lr_scheduler_type "
                f"{scheduler!r}: Trainer's own scheduler is not used",
            ),
        )
        imported.findings = findings + imported.findings
        imported.source = f"{tool} + {imported.source}"
        return imported
    steps = np.arange(run, dtype=np.float64)
    values = hf_conventions.multipliers(scheduler, w, run, kwargs, lr, steps)
    candidate = hf_conventions.spec_for(scheduler, w, run, kwargs, lr)
    imported = settle(tool, lr, values, candidate, findings)
    general_findings(imported, w)
    return imported


def _axolotl(data: Mapping[str, Any], name: str, size: RunSize, base: Path | None) -> Imported:
    plan = axolotl_conventions.plan(data, name, size)
    lr, w, run = plan["lr"], plan["warmup"], plan["total"]
    findings = plan["findings"]
    ds = _deepspeed_file(data.get("deepspeed"), name, base)
    if ds is not None and isinstance(ds.get("scheduler"), Mapping):
        fill = {"learning_rate": lr, "warmup_steps": w, "total_steps": run}
        counting = Counting.from_updates(run, plan["accum"], plan["processes"])
        imported = deepspeed_conventions.import_block(
            ds["scheduler"], f"{name}: deepspeed", total_steps=run, optimizer_lr=lr, hf=fill, counting=counting
        )
        imported.findings = [
            *findings,
            Finding(
                "deepspeed-overrides",
                f"the DeepSpeed config's scheduler ({ds['scheduler'].get('type')}) replaces lr_scheduler "
                f"{plan['scheduler']!r} and Axolotl's cosine options",
            ),
            *imported.findings,
        ]
        imported.source = f"axolotl + {imported.source}"
        return imported
    steps = np.arange(run, dtype=np.float64)
    if plan["kind"] == "hf":
        values = hf_conventions.multipliers(plan["scheduler"], w, run, plan["kwargs"], lr, steps)
        candidate = hf_conventions.spec_for(plan["scheduler"], w, run, plan["kwargs"], lr)
    else:
        values = axolotl_conventions.multipliers(plan["kind"], w, run, plan["settings"], steps)
        candidate = axolotl_conventions.candidate(plan["kind"], w, run, plan["settings"])
    imported = settle("axolotl", lr, values, candidate, findings)
    general_findings(imported, w)
    return imported


# --------------------------------------------------------------------------- output


def render(imported: Imported, limit: int = 1000) -> str:
    """The text report: source, spec, peak, the rate of each update, findings."""
    lines = [f"source:    {imported.source}"]
    if imported.spec is not None:
        lines.append(f"spec:      {imported.spec}   (exact at every update)")
    else:
        nearest = f" (nearest: {imported.nearest})" if imported.nearest else ""
        lines.append(f"spec:      none exact{nearest}")
    lines.append(f"peak lr:   {imported.peak_lr:.6g}")
    lines.append(f"updates:   {imported.total_steps}")
    lrs = imported.lrs
    total = imported.total_steps
    every = 1 if total <= limit else math.ceil(total / 100)
    shown = sorted({*range(0, total, every), total - 1} if total else set())
    lines.append("rates:" if every == 1 else f"rates:     (one update in {every}; --json for all {total})")
    width = max(6, len(str(total)))
    lines.append(f"  {'update':>{width}}  lr")
    lines.extend(f"  {step:>{width}}  {lrs[step]:.6g}" for step in shown)
    lines.append("findings:" if imported.findings else "findings:  none")
    lines.extend(f"  - [{item.kind}] {item.message}" for item in imported.findings)
    return "\n".join(lines) + "\n"


def plot(imported: Imported, path: str) -> str:
    """Draw the rate of each update to ``path`` (PNG, SVG or PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(np.arange(imported.total_steps), imported.lrs, lw=1.6)
    ax.set_xlabel("optimizer update")
    ax.set_ylabel("learning rate")
    ax.set_title(f"{imported.source}: {imported.spec or 'no exact rampup spec'}", fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


# --------------------------------------------------------------------------- the command


def command(
    file: Annotated[str, typer.Argument(metavar="FILE", help="A training config, DeepSpeed JSON or Megatron args.")],
    config_format: Annotated[
        str, typer.Option("--format", help="auto, hf, axolotl, llamafactory, deepspeed, megatron, timm, nemo, rampup.")
    ] = ("auto"),
    total_steps: Annotated[
        int | None, typer.Option("--total-steps", "-n", help="Optimizer updates of the run.")
    ] = None,
    dataset_size: Annotated[int | None, typer.Option("--dataset-size", help="Training examples per epoch.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per device and step.")] = None,
    grad_accum: Annotated[int | None, typer.Option("--grad-accum", help="Gradient accumulation steps.")] = None,
    num_processes: Annotated[int | None, typer.Option("--num-processes", help="Data-parallel processes.")] = None,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Epochs (instead of the config's).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object: source, spec, peak_lr, lrs...")] = False,
    plot_path: Annotated[str | None, typer.Option("--plot", help="Also draw the rates (a PNG).")] = None,
) -> None:
    """What schedule a config really runs: the exact rampup spec (or why none), each update's rate, findings."""
    counts = {
        "--total-steps": total_steps,
        "--dataset-size": dataset_size,
        "--batch-size": batch_size,
        "--grad-accum": grad_accum,
        "--num-processes": num_processes,
    }
    for flag, count in counts.items():
        if count is not None and not 0 < count <= 10**9:
            raise RampupError(flag, count, "a whole number > 0 and at most 10**9")
    if epochs is not None and not (0 < epochs <= 1e6):
        raise RampupError("--epochs", epochs, "a number of epochs > 0 and at most 10**6")
    if plot_path is not None:
        try:
            from rampup.plotting import check_output
        except ImportError as error:
            raise RampupError("--plot", plot_path, "the plot extra installed", hint=str(error)) from None
        check_output(plot_path)
    size = RunSize(total_steps, dataset_size, batch_size, grad_accum, num_processes, epochs)
    imported = inspect_file(file, config_format, size)
    if plot_path is not None:
        plot(imported, plot_path)
    if as_json:
        typer.echo(json.dumps(imported.to_json()))
    else:
        typer.echo(render(imported), nl=False)
        if plot_path is not None:
            typer.echo(f"plot:      {plot_path}")
