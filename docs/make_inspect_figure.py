"""Draws docs/images/inspect_deepspeed_log.png: a Trainer + DeepSpeed config as it really runs."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rampup.conventions import RunSize
from rampup.inspect import inspect_file

ROOT = Path(__file__).resolve().parent.parent
real = inspect_file(str(ROOT / "tests/data/hf/with_deepspeed.yaml"), size=RunSize())
steps = np.arange(real.total_steps)
fig, ax = plt.subplots(figsize=(8, 4.5))
ax.plot(steps, real.lrs, lw=1.8, label=f"what runs (DeepSpeed WarmupDecayLR, log warmup): {real.spec}")
cosine = 3e-5 * np.where(steps < 100, steps / 100, 0.5 * (1 + np.cos(np.pi * (steps - 100) / 900)))
ax.plot(steps, cosine, lw=1.4, ls="--", label="what the file asks Trainer for: lr_scheduler_type cosine, warmup 10%")
linear = 3e-5 * np.where(steps < 101, np.maximum(steps - 1, 0) / 100, (1001 - steps) / 900)
ax.plot(steps, linear, lw=1.2, ls=":", label='"warmup_type": "linear": linear(101, delay=1) -> linear(900)')
ax.set_xlabel("optimizer update")
ax.set_ylabel("learning rate")
ax.set_title("tests/data/hf/with_deepspeed.yaml: the DeepSpeed scheduler block takes over", fontsize=10)
ax.legend(fontsize=7.5, loc="upper right")
ax.grid(alpha=0.3)
fig.tight_layout()
fig.savefig(ROOT / "docs/images/inspect_deepspeed_log.png", dpi=100)
