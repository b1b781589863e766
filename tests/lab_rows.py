"""Stored lab trials made up for tests of the summaries (no training): :func:`trial_row`."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from rampup.lab import plan_trials
from rampup.lab.store import TrialRow

#: the checkout (the tests run the command line from its sources)
REPO = Path(__file__).resolve().parent.parent


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


def start_sweep_and_kill_it(
    argv: list[str], db: Path, rows: int = 3, timeout: float = 120.0
) -> subprocess.Popen[bytes]:
    """Start ``rampup <argv>`` (a lab sweep into ``db``) in its own session and SIGKILL its driver as soon as
    ``rows`` trials are stored; the killed process is returned (its session may still hold workers)."""
    code = f"import sys; from rampup.cli import main; main({argv!r})"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, start_new_session=True, stderr=subprocess.PIPE)
    count = 0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
            if db.exists():
                try:
                    with sqlite3.connect(db) as con:
                        count = con.execute("SELECT count(*) FROM trials").fetchone()[0]
                except sqlite3.Error:
                    continue
                if count >= rows:
                    break
        assert proc.poll() is None, f"the sweep ended before it could be killed: {proc.stderr.read()!r}"  # type: ignore[union-attr]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc
