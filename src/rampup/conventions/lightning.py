"""Lightning's count of optimizer updates (no framework import).

Lightning's ``Trainer.estimated_stepping_batches`` is the run's total; an epoch of
``num_training_batches`` micro-batches is ``ceil(batches / accumulate_grad_batches)``
optimizer updates, the last accumulation window being stepped even when it is short
(``lightning/pytorch/loops/training_epoch_loop.py``, ``_accumulated_batches_reached`` or
the epoch's last batch). The tool's rounding, kept on purpose.
"""

from __future__ import annotations

__all__ = ["updates_per_epoch"]


def updates_per_epoch(batches: int, accumulate_grad_batches: int = 1) -> int:
    """``ceil(batches / accumulate_grad_batches)``: the optimizer updates of one epoch in Lightning."""
    return -(-batches // accumulate_grad_batches)
