"""Draws the figures of docs/inspect.md: configs as they really run, next to what was likely meant.

- docs/images/inspect_deepspeed_log.png: a Trainer + DeepSpeed config (tests/data/hf/with_deepspeed.yaml).
- docs/images/inspect_timm_defaults.png: timm's SE-ResNet34 recipe (tests/data/timm/seresnet34_cosine.sh) with
  timm's defaults (the rate stepped once per epoch, the cosine timed from update 0 without --warmup-prefix),
  next to the same flags with --sched-on-updates --warmup-prefix. Both curves are rampup inspect's reading
  of the flags (timm's formulas, tests/test_inspect_tools.py checks them), not drawn by hand.
"""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rampup.conventions import RunSize
from rampup.inspect import inspect_file, inspect_text

ROOT = Path(__file__).resolve().parent.parent


def deepspeed_figure() -> None:
    real = inspect_file(str(ROOT / "tests/data/hf/with_deepspeed.yaml"), size=RunSize())
    steps = np.arange(real.total_steps)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    ax.plot(steps, real.lrs, lw=1.8, label=f"what runs (DeepSpeed WarmupDecayLR, log warmup): {real.spec}")
    cosine = 3e-5 * np.where(steps < 100, steps / 100, 0.5 * (1 + np.cos(np.pi * (steps - 100) / 900)))
    ax.plot(
        steps, cosine, lw=1.4, ls="--", label="what the file asks Trainer for: lr_scheduler_type cosine, warmup 10%"
    )
    linear = 3e-5 * np.where(steps < 101, np.maximum(steps - 1, 0) / 100, (1001 - steps) / 900)
    ax.plot(steps, linear, lw=1.2, ls=":", label='"warmup_type": "linear": linear(101, delay=1) -> linear(900)')
    ax.set_xlabel("optimizer update")
    ax.set_ylabel("learning rate")
    ax.set_title("tests/data/hf/with_deepspeed.yaml: the DeepSpeed scheduler block takes over", fontsize=10)
    ax.legend(fontsize=7.5, loc="upper right")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(ROOT / "docs/images/inspect_deepspeed_log.png", dpi=100)
    plt.close(fig)


def timm_figure() -> None:
    path = ROOT / "tests/data/timm/seresnet34_cosine.sh"
    imagenet = RunSize(dataset_size=1_281_167)
    real = inspect_file(str(path), size=imagenet)
    text = path.read_text().rstrip() + " --sched-on-updates --warmup-prefix\n"
    meant = inspect_text(text, "seresnet34_meant.sh", "timm", imagenet)
    per_epoch = real.total_steps // 150
    fig, (whole, start) = plt.subplots(1, 2, figsize=(11, 5), gridspec_kw={"width_ratios": [3, 2]})
    for ax, stop in ((whole, meant.total_steps), (start, 12 * per_epoch)):
        ax.plot(
            np.arange(min(stop, meant.total_steps)),
            meant.lrs[:stop],
            lw=1.4,
            ls="--",
            color="C1",
            label=f"likely meant (--sched-on-updates --warmup-prefix): {meant.spec}",
        )
        ax.plot(
            np.arange(min(stop, real.total_steps)),
            real.lrs[:stop],
            lw=1.8,
            color="C0",
            label=f"timm's defaults (what runs): {real.spec}",
        )
        ax.set_xlabel("optimizer update")
        ax.grid(alpha=0.3)
    whole.set_ylabel("learning rate")
    whole.set_title(f"the whole run: {real.total_steps} updates ({per_epoch} per epoch, 4 GPUs)", fontsize=9)
    start.set_title("the first 12 epochs: one rate per epoch", fontsize=9)
    start.axvline(5 * per_epoch, color="0.5", lw=0.8, ls=":")
    handles, labels = whole.get_legend_handles_labels()
    fig.legend(handles, labels, fontsize=7.5, loc="lower center", ncol=1, frameon=False)
    fig.suptitle("tests/data/timm/seresnet34_cosine.sh (timm's training_script docs) on ImageNet", fontsize=10)
    fig.tight_layout(rect=(0, 0.1, 1, 1))
    fig.savefig(ROOT / "docs/images/inspect_timm_defaults.png", dpi=100)
    plt.close(fig)


if __name__ == "__main__":
    deepspeed_figure()
    timm_figure()
