"""TRL front door: a rampup schedule in ``SFTConfig``, or RampupLR inside ``SFTTrainer``.

TRL's ``SFTConfig`` is a ``transformers.TrainingArguments`` and its ``SFTTrainer`` a
``Trainer``, so the two paths of :mod:`rampup.hf` apply unchanged:

>>> import rampup.trl
>>> config = SFTConfig(output_dir="out", max_steps=1000,
...                    **rampup.trl.sft_config_args("linear(5%) -> cosine(to=0.1)", total_steps=1000))  # doctest: +SKIP

and, for schedules without a transformers built-in,
``rampup.trl.RampupSFTTrainer(model=..., args=config, train_dataset=..., schedule="exponential(50) -> cosine")``.

TRL's defaults differ from Trainer's in ways that matter here: ``learning_rate``
is 2e-5 (the peak, unless ``peak_lr`` is given) and the number of examples that
Trainer counts is the dataset after TRL's preprocessing (``len(trainer.train_dataset)``;
with ``packing`` it is the number of packed sequences).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

try:
    from trl.trainer.sft_trainer import SFTTrainer
except ImportError as error:  # pragma: no cover - exercised only without trl
    raise ImportError("rampup.trl needs TRL and transformers: pip install 'rampup[trl]'") from error

from rampup.hf import RampupSchedulerMixin, training_args
from rampup.schedule import Schedule

__all__ = ["RampupSFTTrainer", "sft_config_args"]


def sft_config_args(
    schedule: Schedule | str | Mapping[str, Any],
    total_steps: int | None = None,
    *,
    peak_lr: float | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> dict[str, Any]:
    """``SFTConfig`` keywords whose built-in scheduler equals ``schedule``: :func:`rampup.hf.training_args`.

    ``SFTConfig`` subclasses ``TrainingArguments`` and hands the same fields to the same
    ``Trainer.create_scheduler``, so the keywords and the exactness rule are the same.
    """
    return training_args(
        schedule, total_steps, peak_lr=peak_lr, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step
    )


class RampupSFTTrainer(RampupSchedulerMixin, SFTTrainer):
    """TRL's ``SFTTrainer`` with a rampup schedule run by :class:`rampup.torch.RampupLR`.

    ``RampupSFTTrainer(model=..., args=SFTConfig(...), train_dataset=..., schedule="linear(5%) -> 1-sqrt")``;
    see :class:`rampup.hf.RampupSchedulerMixin`.
    """
