"""The lab's built-in tasks: what is trained, on which data, with which optimizer (no PyTorch import here).

Every task is small enough that a run of a few hundred steps takes seconds on one CPU core, and its
data is generated or read from the Python installation (nothing is downloaded):

- ``postln``: a character-level language model on the Python standard library's source, a Post-LN
  transformer (LayerNorm after each residual add, as in Vaswani et al. 2017) trained with Adam.
  Calibrated so that at its high rate no warmup fails while the advisor's warmup trains (docs/lab.md).
- ``preln``: the same model with Pre-LN (LayerNorm before each sublayer, Xiong et al. 2020).
- ``mlp``: a batch-norm MLP on a generated teacher-labelled classification problem, SGD with momentum
  at batch 1024 and a rate scaled up as Goyal et al. 2017 do for large batches.

Every schedule of a trial is a warmup followed by the task's decay (``cosine(to=0.1)``); "no warmup"
is the decay alone (see :func:`rampup.lab.runner.schedule_for`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from rampup.errors import RampupError

__all__ = ["TASKS", "OptimizerSettings", "Task", "get_task"]


@dataclass(frozen=True)
class OptimizerSettings:
    """Adam (``betas``, ``eps``) or SGD (``momentum``); ``weight_decay`` for both."""

    name: Literal["adam", "adamw", "sgd"]
    betas: tuple[float, float] = (0.9, 0.999)
    eps: float = 1e-8
    momentum: float = 0.0
    weight_decay: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the trial's configuration."""
        data = asdict(self)
        data["betas"] = list(self.betas)
        return data

    def with_beta2(self, beta2: float | None) -> OptimizerSettings:
        """These settings with Adam's ``beta2`` replaced (checked to lie in (0, 1))."""
        if beta2 is None:
            return self
        if self.name not in ("adam", "adamw"):
            raise RampupError("--beta2", beta2, "no beta2 for an SGD task", hint="beta2 applies to Adam tasks only")
        if not (isinstance(beta2, float | int) and math.isfinite(beta2) and 0 < beta2 < 1):
            raise RampupError("--beta2", beta2, "a number between 0 and 1, e.g. 0.98")
        return replace(self, betas=(self.betas[0], float(beta2)))


@dataclass(frozen=True)
class Task:
    """A built-in training problem with its calibrated defaults.

    ``normal_lr`` is a rate at which warmup hardly matters; ``high_lr`` is the rate the task was
    calibrated at (docs/lab.md). ``model`` holds the model's sizes, ``data`` the data's.
    """

    name: str
    title: str
    #: ``custom``: a task of your own (:mod:`rampup.lab.custom`), named ``<reference>@<digest of its file>``
    kind: Literal["charlm", "mlp", "conv", "wordlm", "lora", "custom"]
    steps: int
    batch: int
    normal_lr: float
    high_lr: float
    optimizer: OptimizerSettings
    architecture: str | None
    model: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)
    decay: str = "cosine(to=0.1)"
    #: how a user would describe this run to :func:`rampup.recommend` (besides its length, decay and optimizer)
    advice: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> str:
        """One paragraph for ``rampup lab tasks``."""
        opt = self.optimizer
        if opt.name in ("adam", "adamw"):
            name = "AdamW" if opt.name == "adamw" else "Adam"
            decay = f", weight_decay={opt.weight_decay:g}" if opt.weight_decay else ""
            how = f"{name}(betas={opt.betas}, eps={opt.eps:g}{decay})"
        else:
            how = f"SGD(momentum={opt.momentum:g}, weight_decay={opt.weight_decay:g})"
        sizes = ", ".join(f"{key}={value}" for key, value in self.model.items())
        return (
            f"{self.name}: {self.title}\n"
            f"    model: {sizes}\n"
            f"    {how}, batch {self.batch}, {self.steps} steps, decay {self.decay}\n"
            f"    rates: normal {self.normal_lr:g}, high {self.high_lr:g}"
        )


_CHARLM_MODEL = {"d_model": 32, "layers": 4, "heads": 4, "context": 32, "init_std": 0.05}
_CHARLM_DATA = {"corpus": "python-stdlib", "chars": 600_000, "heldout": 0.1, "eval_sequences": 256}
_ADAM = OptimizerSettings("adam", betas=(0.9, 0.98), eps=1e-9)

TASKS: dict[str, Task] = {
    task.name: task
    for task in (
        Task(
            name="postln",
            title="character LM on Python stdlib source, Post-LN transformer, Adam",
            kind="charlm",
            steps=400,
            batch=16,
            normal_lr=3e-3,
            high_lr=2e-2,
            optimizer=_ADAM,
            architecture="post-ln",
            model={**_CHARLM_MODEL, "norm": "post"},
            data=dict(_CHARLM_DATA),
            advice={"regime": "pretrain", "architecture": "post-ln"},
        ),
        Task(
            name="preln",
            title="the same character LM with a Pre-LN transformer (LayerNorm before each sublayer)",
            kind="charlm",
            steps=400,
            batch=16,
            normal_lr=3e-3,
            high_lr=2e-2,
            optimizer=_ADAM,
            architecture="pre-ln",
            model={**_CHARLM_MODEL, "norm": "pre"},
            data=dict(_CHARLM_DATA),
            advice={"regime": "pretrain", "architecture": "pre-ln"},
        ),
        Task(
            name="mlp",
            title="batch-norm MLP on generated teacher-labelled data, SGD momentum at batch 1024 (Goyal et al.)",
            kind="mlp",
            steps=200,
            batch=1024,
            normal_lr=0.1,
            high_lr=4.0,
            optimizer=OptimizerSettings("sgd", momentum=0.9),
            architecture=None,
            model={"width": 128, "depth": 3},
            data={"inputs": 32, "classes": 10, "examples": 50_000, "heldout": 5_000, "teacher_seed": 1234},
            advice={"regime": "pretrain", "batch_size": 1024, "base_batch_size": 256, "base_lr": 1.0},
        ),
        Task(
            name="conv",
            title="batch-norm conv net on generated images, SGD momentum at batch 1024, rate scaled by the linear rule",
            kind="conv",
            steps=160,
            batch=1024,
            normal_lr=0.1,
            high_lr=0.8,
            optimizer=OptimizerSettings("sgd", momentum=0.9),
            architecture=None,
            model={"width": 8},
            data={
                "size": 16,
                "classes": 20,
                "examples": 20_000,
                "heldout": 2_000,
                "shift": 2,
                "noise": 5.0,
                "data_seed": 4321,
            },
            advice={"regime": "pretrain", "batch_size": 1024, "base_batch_size": 128, "base_lr": 0.1},
        ),
        Task(
            name="encoder",
            title="word-level LM from torch.nn.TransformerEncoderLayer (Post-LN), AdamW beta2 0.999, weight decay 0.1",
            kind="wordlm",
            steps=300,
            batch=16,
            normal_lr=3e-3,
            high_lr=1.5e-2,
            optimizer=OptimizerSettings("adamw", betas=(0.9, 0.999), eps=1e-8, weight_decay=0.1),
            architecture="post-ln",
            model={"d_model": 64, "layers": 2, "heads": 4, "context": 32},
            data={"corpus": "python-stdlib", "chars": 600_000, "heldout": 0.1, "vocab": 1024, "eval_sequences": 256},
            advice={"regime": "pretrain", "architecture": "post-ln"},
        ),
        Task(
            name="lora",
            title="LoRA (rank 4) fine-tuning of a pretrained Pre-LN char model on case-swapped stdlib source, AdamW",
            kind="lora",
            steps=200,
            batch=16,
            normal_lr=3e-3,
            high_lr=2e-2,
            optimizer=OptimizerSettings("adamw", betas=(0.9, 0.999), eps=1e-8),
            architecture="decoder",
            model={"d_model": 48, "layers": 2, "heads": 4, "context": 32, "init_std": 0.02, "rank": 4, "alpha": 32},
            data={
                "corpus": "python-stdlib",
                "chars": 600_000,
                "heldout": 0.1,
                "vocab": 99,
                "finetune_chars": 300_000,
                "eval_sequences": 256,
                "pretrain": {"steps": 800, "batch": 32, "lr": 3e-3, "seed": 777},
            },
            advice={"regime": "lora"},
        ),
        Task(
            name="noisy",
            title="the Post-LN character LM at batch 4 (a noisy per-step loss), Adam, 600 steps",
            kind="charlm",
            steps=600,
            batch=4,
            normal_lr=2e-3,
            high_lr=1e-2,
            optimizer=_ADAM,
            architecture="post-ln",
            model={**_CHARLM_MODEL, "norm": "post"},
            data=dict(_CHARLM_DATA),
            advice={"regime": "pretrain", "architecture": "post-ln"},
        ),
    )
}


def get_task(name: str) -> Task:
    """The built-in task called ``name``, or a task of your own (``path/to/file.py:NAME`` or
    ``package.module:NAME``, see :mod:`rampup.lab.custom`); a :class:`RampupError` lists the valid names."""
    if isinstance(name, str) and ":" in name:
        from rampup.lab.custom import resolve_task

        return resolve_task(name).task
    try:
        return TASKS[name]
    except (KeyError, TypeError):
        raise RampupError(
            "--task",
            name,
            f"one of {', '.join(TASKS)}, or a task of your own as path/to/file.py:NAME or package.module:NAME",
            hint="see `rampup lab tasks` and docs/lab.md",
        ) from None
