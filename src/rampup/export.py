"""``rampup export``: ready-to-paste code that runs one schedule in a framework.

Each function returns Python source text. The schedule is written as its resolved
spec text (every length in steps), so the code runs exactly the rates that
``rampup values`` prints for the same total.

- ``torch``, ``lightning``, ``optax``, ``keras``: through rampup's own front door
  (:class:`rampup.torch.RampupLR`, :func:`rampup.lightning.scheduler_config`,
  :func:`rampup.optax.schedule`, :class:`rampup.keras.RampupSchedule`): exact by
  construction, since they evaluate the engine.
- ``deepspeed``, ``megatron``, ``axolotl``, ``llamafactory``, ``timm``, ``nemo``: the tool's own config
  (a DeepSpeed ``scheduler`` block, Megatron-LM flags, Axolotl or LLaMA-Factory YAML keys, timm's
  ``train.py`` flags, a NeMo ``optim.sched`` block) when its scheduler computes exactly the same
  rates, checked by reading the text back with ``rampup inspect``; else a
  :class:`~rampup.RampupError` with the nearest exact spec (:mod:`rampup.conventions`).
- ``hf``, ``trl``: the built-in scheduler's ``TrainingArguments`` / ``SFTConfig``
  keywords when one computes the same rates over the run (rampup's restatement of
  transformers' schedulers, :mod:`rampup.conventions.hf_builtins`: no framework is imported),
  else :class:`rampup.hf.RampupTrainer` / :class:`rampup.trl.RampupSFTTrainer` with a
  comment that says why. ``strict=True`` also checks the built-in against the transformers
  installed here (:func:`rampup.hf.training_args`), and raises the :class:`~rampup.RampupError`
  where there is none. Never a built-in that is close but not equal.

The code expects ``model`` (and, for Trainer, ``train_dataset``; for TRL also
``tokenizer``) to exist where it is pasted.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Mapping
from typing import Any

from rampup.checks import learning_rate
from rampup.conventions.hf_builtins import match_builtin
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

__all__ = ["CONFIGS", "TARGETS", "export"]

#: peak learning rate used when neither --peak-lr nor a preset gives one
DEFAULT_PEAK_LR = 1e-3


def _text(value: str) -> str:
    """A Python string literal in double quotes."""
    return json.dumps(value)


def _number(value: float) -> str:
    return format_number(value)


class _Plan:
    """What every snippet needs: the resolved schedule, its total, the peak and the header comment."""

    def __init__(
        self,
        spec: Schedule | str | Mapping[str, Any],
        total_steps: int | None,
        peak_lr: float | None,
        steps_per_epoch: float | None,
        tokens_per_step: float | None,
    ) -> None:
        original = as_schedule(spec)
        self.resolved = original.resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)
        self.steps_per_epoch = steps_per_epoch
        self.total: int | None = self.resolved.context.total_steps
        self.peak_note = ""
        if peak_lr is None:
            peak_lr = _preset_peak(spec)
            if peak_lr is None:
                peak_lr = DEFAULT_PEAK_LR
                self.peak_note = "  # the peak learning rate: set yours (rampup export --peak-lr X)"
        self.peak = learning_rate(peak_lr)
        self.text = str(self.resolved)
        run = f"resolved for a run of {self.total} updates" if self.total is not None else "open-ended"
        self.header = f"# rampup schedule: {original} ({run})"
        if str(original) != self.text:
            self.header += f"\n#   = {self.text}"

    def total_kwarg(self) -> str:
        return "" if self.total is None else f", total_steps={self.total}"


def _preset_peak(spec: Schedule | str | Mapping[str, Any]) -> float | None:
    from rampup.presets import preset_peak_lr

    return preset_peak_lr(spec)


def _lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def _kwargs_block(kwargs: Mapping[str, Any], indent: str) -> list[str]:
    return [f"{indent}{key}={_literal(value)}," for key, value in kwargs.items()]


def _literal(value: Any) -> str:
    """Python source for plain data (str, int, float, bool, dict of those)."""
    if isinstance(value, bool) or value is None:
        return repr(value)
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_text(str(key))}: {_literal(item)}" for key, item in value.items()) + "}"
    raise TypeError(f"no literal for {value!r}")  # pragma: no cover - only plain data reaches here


# ---------------------------------------------------------------------- the front doors


def _torch(plan: _Plan) -> str:
    """PyTorch: :class:`rampup.torch.RampupLR` on an AdamW whose ``lr`` is the peak."""
    return _lines(
        plan.header,
        "import torch",
        "",
        "from rampup.torch import RampupLR",
        "",
        f"optimizer = torch.optim.AdamW(model.parameters(), lr={_number(plan.peak)})  # lr: the peak{plan.peak_note}",
        f"scheduler = RampupLR(optimizer, {_text(plan.text)}{plan.total_kwarg()})",
        "# once per optimizer update: optimizer.step(), then scheduler.step()",
    )


def _lightning(plan: _Plan) -> str:
    """Lightning: a ``configure_optimizers`` method returning :func:`rampup.lightning.scheduler_config`."""
    return _lines(
        plan.header,
        "# paste configure_optimizers into your LightningModule",
        "import torch",
        "",
        "from rampup.lightning import scheduler_config",
        "",
        "",
        "def configure_optimizers(self):",
        f"    optimizer = torch.optim.AdamW(self.parameters(), lr={_number(plan.peak)})"
        f"  # lr: the peak{plan.peak_note}",
        f"    return scheduler_config(optimizer, {_text(plan.text)}{plan.total_kwarg()})",
    )


def _optax(plan: _Plan) -> str:
    """optax: :func:`rampup.optax.schedule` as the optimizer's learning rate (jit-safe)."""
    return _lines(
        plan.header,
        "import optax",
        "",
        "import rampup.optax",
        "",
        f"learning_rate = rampup.optax.schedule({_text(plan.text)}, peak_lr={_number(plan.peak)}"
        f"{plan.total_kwarg()}){plan.peak_note}",
        "optimizer = optax.adamw(learning_rate=learning_rate)",
    )


def _keras(plan: _Plan) -> str:
    """Keras 3: :class:`rampup.keras.RampupSchedule` as the optimizer's learning rate."""
    return _lines(
        plan.header,
        "import rampup.keras  # first: it picks a Keras backend when none is configured",
        "",
        "import keras",
        "",
        f"learning_rate = rampup.keras.RampupSchedule({_text(plan.text)}, peak_lr={_number(plan.peak)}"
        f"{plan.total_kwarg()}){plan.peak_note}",
        "optimizer = keras.optimizers.AdamW(learning_rate=learning_rate)",
    )


# ---------------------------------------------------------------------- Hugging Face and TRL


def _builtin_or_reason(plan: _Plan, strict: bool) -> dict[str, Any] | str:
    """``TrainingArguments`` keywords of the exact built-in scheduler, or why there is none.

    rampup's restatement of transformers' schedulers (:mod:`rampup.conventions.hf_builtins`, no framework
    imported; tested against transformers at every update) decides; ``strict`` also checks the answer
    against the transformers installed here (:func:`rampup.hf.training_args`, which imports it and torch).
    """
    if not strict:
        found = match_builtin(plan.resolved, plan.total, plan.peak)
        if isinstance(found, str):
            return found
        return {
            "lr_scheduler_type": found.name,
            "warmup_steps": found.warmup_steps,
            "lr_scheduler_kwargs": dict(found.kwargs),
            "learning_rate": plan.peak,
        }
    try:
        from rampup.hf import training_args
    except ImportError:
        raise RampupError(
            "--strict",
            True,
            "transformers installed: a built-in scheduler is checked against it before it is written",
            hint="pip install 'rampup[hf]', or leave out --strict",
        ) from None
    return training_args(plan.resolved, plan.total, peak_lr=plan.peak)


def _wrap_comment(text: str) -> list[str]:
    return ["# " + line for line in textwrap.wrap(text, width=110)]


def _trainer_code(plan: _Plan, strict: bool, *, trl: bool) -> str:
    config_cls, module = ("SFTConfig", "trl") if trl else ("TrainingArguments", "transformers")
    library = "TRL's" if trl else "transformers'"
    trainer_cls = "SFTTrainer" if trl else "Trainer"
    extra = ["    processing_class=tokenizer,"] if trl else []
    found = _builtin_or_reason(plan, strict)
    name = "config" if trl else "args"
    total_line = (
        [f"    max_steps={plan.total},  # the run it was resolved for: keep Trainer's total at {plan.total} updates"]
        if plan.total is not None
        else []
    )
    if isinstance(found, dict):
        kwargs = dict(found)
        peak = kwargs.pop("learning_rate")
        return _lines(
            plan.header,
            *_wrap_comment(
                f"{library} built-in {kwargs['lr_scheduler_type']!r} scheduler computes the same rates at every "
                "update of the run ("
                + (
                    "checked against the transformers installed here with rampup.hf.training_args)."
                    if strict
                    else "rampup.conventions.hf_builtins, tested against transformers' own schedulers; "
                    "rampup export --strict checks the transformers installed here)."
                )
            ),
            f"from {module} import {', '.join(sorted([config_cls, trainer_cls]))}",
            "",
            f"{name} = {config_cls}(",
            '    output_dir="out",',
            *total_line,
            f"    learning_rate={_number(peak)},{plan.peak_note}",
            *_kwargs_block(kwargs, "    "),
            ")",
            f"trainer = {trainer_cls}(",
            "    model=model,",
            f"    args={name},",
            "    train_dataset=train_dataset,",
            *extra,
            ")",
        )
    rampup_cls, rampup_module = ("RampupSFTTrainer", "rampup.trl") if trl else ("RampupTrainer", "rampup.hf")
    return _lines(
        plan.header,
        *_wrap_comment(
            f"No {module} built-in scheduler computes it exactly: {found}. "
            + f"{rampup_cls} runs it exactly through rampup.torch.RampupLR, resolved with the number of updates "
            "Trainer computes."
        ),
        f"from {module} import {config_cls}",
        "",
        f"from {rampup_module} import {rampup_cls}",
        "",
        f"{name} = {config_cls}(",
        '    output_dir="out",',
        *total_line,
        f"    learning_rate={_number(plan.peak)},{plan.peak_note or '  # the peak'}",
        ")",
        f"trainer = {rampup_cls}(",
        "    model=model,",
        f"    args={name},",
        "    train_dataset=train_dataset,",
        *extra,
        f"    schedule={_text(plan.text)},",
        ")",
    )


def _hf(plan: _Plan, strict: bool = False) -> str:
    """transformers: ``TrainingArguments`` with the exact built-in scheduler, else :class:`rampup.hf.RampupTrainer`."""
    return _trainer_code(plan, strict, trl=False)


def _trl(plan: _Plan, strict: bool = False) -> str:
    """TRL: ``SFTConfig`` with the built-in scheduler when exact, else :class:`rampup.trl.RampupSFTTrainer`."""
    return _trainer_code(plan, strict, trl=True)


_EXACT: dict[str, Callable[[_Plan], str]] = {"torch": _torch, "lightning": _lightning, "optax": _optax, "keras": _keras}
_TRAINERS: dict[str, Callable[[_Plan, bool], str]] = {"hf": _hf, "trl": _trl}


def _config_text(key: str, plan: _Plan) -> str:
    """Another tool's config (DeepSpeed JSON, Megatron flags, Axolotl YAML...): exact, or an error naming
    the nearest exact spec."""
    from rampup.conventions import axolotl, deepspeed, llamafactory, megatron, nemo, timm

    writers = {"deepspeed": deepspeed.export_config, "megatron": megatron.export_flags, "axolotl": axolotl.export_yaml}
    writers.update(llamafactory=llamafactory.export_yaml, nemo=nemo.export_yaml)
    if key == "timm":
        return timm.export_flags(plan.resolved, plan.total, plan.peak, plan.steps_per_epoch)
    return writers[key](plan.resolved, plan.total, plan.peak)


#: the tools whose own config file ``rampup export --to`` writes (checked by reading it back: ``rampup inspect``)
CONFIGS: tuple[str, ...] = ("deepspeed", "megatron", "axolotl", "llamafactory", "timm", "nemo")

#: the frameworks ``rampup export --to`` knows
TARGETS: tuple[str, ...] = ("torch", "hf", "trl", "lightning", "optax", "keras")


def export(
    spec: Schedule | str | Mapping[str, Any],
    target: str,
    *,
    total_steps: int | None = None,
    peak_lr: float | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
    strict: bool = False,
) -> str:
    """Python code that runs ``spec`` in ``target`` (one of :data:`TARGETS`), or a config (:data:`CONFIGS`).

    ``peak_lr`` defaults to the preset's peak, else 1e-3 (with a comment to set it).
    ``strict`` (hf, trl): raise :class:`~rampup.RampupError` when no built-in
    scheduler is exact, instead of writing the RampupTrainer code.
    """
    key = str(target).strip().lower()
    if key not in TARGETS and key not in CONFIGS:
        raise RampupError("--to", target, f"one of {', '.join(TARGETS)}")
    plan = _Plan(spec, total_steps, peak_lr, steps_per_epoch, tokens_per_step)
    if key in _TRAINERS:
        return _TRAINERS[key](plan, strict)
    if key in CONFIGS:
        return _config_text(key, plan)
    return _EXACT[key](plan)
