"""Keras 3 front door: a rampup schedule as a ``keras.optimizers.schedules.LearningRateSchedule``.

>>> import keras, rampup.keras
>>> lr = rampup.keras.RampupSchedule("linear(5%) -> cosine(to=0.1)", peak_lr=3e-4, total_steps=10_000)
>>> optimizer = keras.optimizers.AdamW(learning_rate=lr)

Keras passes the optimizer's ``iterations`` (updates already done) as the step,
which is rampup's step convention. The values come from the engine's formulas
evaluated with ``keras.ops`` (no Python branch on the step), so they work on
every backend and inside compiled train steps. ``get_config`` stores the
resolved spec text; ``from_config`` rebuilds the same schedule, and the class is
registered for ``keras.saving``.

Keras 3 needs a backend. When ``KERAS_BACKEND`` is unset and TensorFlow is not
installed, importing this module selects JAX (or PyTorch) before Keras loads.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import Any

from rampup.checks import learning_rate
from rampup.schedule import Schedule, as_schedule

if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ and importlib.util.find_spec("tensorflow") is None:
    for _backend, _module in (("jax", "jax"), ("torch", "torch")):
        if importlib.util.find_spec(_module) is not None:
            os.environ["KERAS_BACKEND"] = _backend
            break

try:
    import keras
except ImportError as error:  # pragma: no cover - exercised only without keras
    raise ImportError("rampup.keras needs Keras 3 and a backend: pip install 'rampup[keras]'") from error

__all__ = ["RampupSchedule"]


@keras.saving.register_keras_serializable(package="rampup")
class RampupSchedule(keras.optimizers.schedules.LearningRateSchedule):  # type: ignore[misc]
    """``step -> peak_lr * multiplier(step)`` for Keras optimizers, from a rampup schedule.

    Args:
        schedule: a Schedule, spec text, preset name or dict form.
        peak_lr: the peak learning rate.
        total_steps, steps_per_epoch, tokens_per_step: what relative lengths resolve against.
    """

    def __init__(
        self,
        schedule: Schedule | str | Mapping[str, Any],
        peak_lr: float = 1.0,
        total_steps: int | None = None,
        steps_per_epoch: float | None = None,
        tokens_per_step: float | None = None,
    ) -> None:
        super().__init__()
        peak = learning_rate(peak_lr)
        self.schedule = as_schedule(schedule).resolve(
            total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step
        )
        self.peak_lr = peak

    def __call__(self, step: Any) -> Any:
        steps = keras.ops.cast(step, "float32")
        return self.peak_lr * self.schedule.evaluate(steps, keras.ops)

    def get_config(self) -> dict[str, Any]:
        return {
            "schedule": str(self.schedule),
            "peak_lr": self.peak_lr,
            "total_steps": self.schedule.total_steps,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> RampupSchedule:
        return cls(**config)
