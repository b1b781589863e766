"""Step after step: a schedule's multipliers for the schedulers that are stepped once per update (issues 16, 17).

:class:`Multipliers` is the one framework-free stepper that the PyTorch schedulers
(:class:`rampup.torch.RampupLR`, :class:`rampup.torch.WarmupScheduler`) read their
rates from. It asks the engine for ``schedule.values`` of a block of :data:`BLOCK`
whole steps at a time and keeps them in a list, so that a step costs a list index
instead of a formula: the closed form is kept (a block is a pure function of its
steps, so any step can be asked for in any order, and a resumed run gets the same
numbers), and the values are the scalar call's bit for bit, because the engine's
scalar namespace computes with NumPy's own ufuncs (:data:`rampup.curves.SCALAR`).
"""

from __future__ import annotations

import numpy as np

from rampup.schedule import Schedule

__all__ = ["BLOCK", "Multipliers"]

#: whole steps evaluated at once (8 KB of floats; about 10 µs of the vectorized engine)
BLOCK = 1024


class Multipliers:
    """``schedule(step)`` for whole steps ``>= 0``, one block of :data:`BLOCK` steps evaluated at a time.

    ``multipliers(step)`` is ``schedule(step)``. A caller in a hurry may read :attr:`table` (the
    values of steps ``start`` to ``start + len(table) - 1``) itself and call :meth:`fill` when the
    step is outside it, as ``RampupLR.step`` does.
    """

    __slots__ = ("schedule", "start", "table")

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = schedule
        #: the first step of the block held
        self.start = 0
        #: the block's multipliers, as Python floats
        self.table: list[float] = []

    def __call__(self, step: int) -> float:
        index = step - self.start
        if 0 <= index < len(self.table):
            return self.table[index]
        return self.fill(step)

    def fill(self, step: int) -> float:
        """Evaluate the block that starts at ``step``; its first value."""
        steps = np.arange(step, step + BLOCK, dtype=np.float64)
        self.table = self.schedule.values(steps).tolist()
        self.start = step
        return self.table[0]
