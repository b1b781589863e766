"""Stored lab trials made up for tests of the summaries (no training): :func:`trial_row`."""

from __future__ import annotations

from rampup.lab import plan_trials
from rampup.lab.store import TrialRow


def trial_row(
    warmup: str,
    lr: float,
    seed: int,
    final: float,
    *,
    initial: float = 4.6,
    flags: list[int] | None = None,
    diverged: bool = False,
    schedule: str = "s",
) -> TrialRow:
    """A Post-LN trial row with this final loss; ``flags`` are the steps of made-up monitor flags
    (``grad-blowup`` before step 30, ``grad-collapse`` after), ``None`` for a row without the column."""
    config = plan_trials("mlp", ["none"], [lr], [seed], steps=10)[0]
    return TrialRow(
        key=f"{warmup}{lr}{seed}",
        task="postln",
        warmup=warmup,
        schedule=schedule,
        peak_lr=lr,
        seed=seed,
        steps=400,
        status="diverged" if diverged else "ok",
        diverged=diverged,
        initial_loss=initial,
        final_loss=final,
        spikes=0,
        max_grad_norm=1.0,
        warmup_steps=0,
        wall_s=1.0,
        train_losses=[],
        eval_steps=[],
        eval_losses=[],
        config=config,
        error=None,
        runs=1,
        finished_at="",
        flags=None
        if flags is None
        else [{"step": step, "kind": "grad-blowup" if step < 30 else "grad-collapse"} for step in flags],
    )
