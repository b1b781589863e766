"""The worked example of docs/continuation.md: cooldowns branched from a warmup-stable run, against one cosine.

On the lab's ``preln`` task (a Pre-LN character transformer, Adam) trained for ``STEPS``
updates: ``linear(5%) -> constant`` (the stable run), the same run branched at 50%, 70%
and 90% into a 1-sqrt cooldown to 0 over the rest (``Schedule.branch(at=k,
then="1-sqrt(T-k)")``), and one cosine run of the same length, ``linear(5%) -> cosine``.
Each schedule is trained with ``SEEDS`` seeds. A branch shares the stable run's past bit
for bit, so training it from step 0 with the same seed is training on from the stable
run's checkpoint at ``k``; the script checks that (every training loss before ``k``
equals the stable run's). It prints the table of docs/continuation.md (the final loss on
the held-out text) and writes docs/images/continuation.png (the schedules, and the training
loss averaged over seeds and over the last 50 steps).

    python docs/make_continuation.py
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from rampup import parse
from rampup.lab.corpus import load_corpus
from rampup.lab.result import TrialConfig, TrialResult
from rampup.lab.runner import run_trial
from rampup.lab.tasks import get_task
from rampup.schedule import Schedule

TASK = "preln"
STEPS = 1200
SEEDS = (0, 1, 2)
BRANCH_AT = (0.5, 0.7, 0.9)
#: steps in the moving average of the training loss drawn
SMOOTH = 50
OUT = Path(__file__).resolve().parent / "images" / "continuation.png"


def schedules() -> dict[str, Schedule]:
    stable = parse("linear(5%) -> constant").resolve(total_steps=STEPS)
    runs = {"stable (no cooldown)": stable}
    for share in BRANCH_AT:
        at = round(share * STEPS)
        runs[f"branch at {share:.0%}"] = stable.branch(at=at, then=f"1-sqrt({STEPS - at})")
    runs["cosine"] = parse("linear(5%) -> cosine").resolve(total_steps=STEPS)
    return runs


def train(schedule: Schedule, seed: int) -> TrialResult:
    spec = get_task(TASK)
    data = dict(spec.data)
    data["sha256"] = load_corpus(int(data["chars"]), float(data["heldout"])).sha256
    config = TrialConfig(
        task=TASK,
        warmup="continuation",
        schedule=str(schedule),
        peak_lr=spec.normal_lr,
        seed=seed,
        steps=STEPS,
        batch=spec.batch,
        optimizer=spec.optimizer,
        model=dict(spec.model),
        data=data,
    )
    result = run_trial(config)
    if result.status != "ok" or result.final_loss is None:
        sys.exit(f"make_continuation: {schedule} seed {seed}: {result.status}")
    return result


def main() -> None:
    runs = schedules()
    results = {name: [train(schedule, seed) for seed in SEEDS] for name, schedule in runs.items()}
    stable = results["stable (no cooldown)"]
    for share in BRANCH_AT:
        at = round(share * STEPS)
        for seed, (branch, base) in enumerate(zip(results[f"branch at {share:.0%}"], stable, strict=True)):
            if branch.train_losses[:at] != base.train_losses[:at]:
                sys.exit(f"make_continuation: the branch at {at} (seed {seed}) does not share the stable run's past")
    print(f"{TASK}, {STEPS} steps, peak {get_task(TASK).normal_lr:g}, seeds {list(SEEDS)}")
    print("| schedule | spec | final eval loss (mean of seeds) | per seed |")
    print("|---|---|---:|---|")
    for name, schedule in runs.items():
        finals = [float(result.final_loss) for result in results[name]]  # type: ignore[arg-type]
        mean = statistics.mean(finals)
        spread = ", ".join(f"{value:.4f}" for value in finals)
        print(f"| {name} | `{schedule}` | {mean:.4f} | {spread} |")

    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 7), sharex=True, dpi=110)
    steps = np.arange(STEPS + 1, dtype=np.float64)
    for name, schedule in runs.items():
        top.plot(steps, schedule.values(steps), label=name)
        losses = np.array([result.train_losses for result in results[name]], dtype=np.float64).mean(axis=0)
        smooth = np.convolve(losses, np.ones(SMOOTH) / SMOOTH, mode="valid")  # the mean of the last SMOOTH steps
        shown = np.arange(SMOOTH, STEPS + 1) >= STEPS // 4
        bottom.plot(np.arange(SMOOTH, STEPS + 1)[shown], smooth[shown], label=name)
    top.set_ylabel("multiplier of the peak")
    top.set_title(f"1-sqrt cooldowns branched from a stable run vs one cosine ({TASK}, {STEPS} steps)")
    top.legend(fontsize=8)
    bottom.set_ylabel(f"training loss (mean of {len(SEEDS)} seeds, last {SMOOTH} steps)")
    bottom.set_xlabel("optimizer step")
    bottom.legend(fontsize=8)
    fig.tight_layout()
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT)
    print(f"wrote {OUT.name}")


if __name__ == "__main__":
    main()
