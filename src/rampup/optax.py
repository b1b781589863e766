"""optax front door: a rampup schedule as an optax schedule (``count -> learning rate``).

>>> import optax, rampup.optax
>>> lr = rampup.optax.schedule("linear(5%) -> cosine(to=0.1)", peak_lr=3e-4, total_steps=10_000)
>>> optimizer = optax.adamw(learning_rate=lr)

The callable evaluates the engine's formulas with ``jax.numpy`` and no Python
branch on the step, so it works under ``jax.jit`` and inside ``optax``'s
``scale_by_schedule``. optax's own ``count`` is the number of updates already
done, which is rampup's step convention: no offset is needed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rampup.checks import learning_rate
from rampup.schedule import Schedule, as_schedule

try:
    import jax.numpy as jnp
except ImportError as error:  # pragma: no cover - exercised only without jax
    raise ImportError("rampup.optax needs JAX and optax: pip install 'rampup[jax]'") from error

__all__ = ["schedule"]


def schedule(
    spec: Schedule | str | Mapping[str, Any],
    *,
    peak_lr: float = 1.0,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> Callable[[Any], Any]:
    """An optax schedule: ``count -> peak_lr * multiplier(count)``, jit-safe.

    ``spec`` is a Schedule, spec text, a preset name or the dict form; relative
    lengths are resolved with ``total_steps`` (and epochs/tokens as needed).
    The result is in JAX's default float type (float32 unless x64 is enabled).
    """
    peak = learning_rate(peak_lr)
    resolved = as_schedule(spec).resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)

    def rampup_schedule(count: Any) -> Any:
        steps = jnp.asarray(count, dtype=jnp.result_type(float))
        return peak * resolved.evaluate(steps, jnp)

    rampup_schedule.__doc__ = f"{peak:g} * ({resolved})"
    rampup_schedule.rampup_schedule = resolved  # type: ignore[attr-defined]
    return rampup_schedule
