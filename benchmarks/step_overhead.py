"""Per-step cost of a PyTorch learning-rate scheduler, against anchors measured in the same run.

The same schedule, a linear warmup over 5% of the run then a cosine to 0, stepped
through the whole run (``--steps`` updates) by:

  * ``rampup``: ``rampup.torch.RampupLR(optimizer, "linear(5%) -> cosine", total_steps=T)``;
  * ``hand``: a hand-written closed-form loop, the floor: the formula written inline
    and ``group["lr"] = base * multiplier`` for each group;
  * ``hf``: transformers' ``get_cosine_schedule_with_warmup`` (a ``LambdaLR``);
  * ``sequential``: ``SequentialLR(LinearLR, CosineAnnealingLR)``, PyTorch's own composition
    (``LinearLR`` from ``1 / W``: its start factor cannot be 0).

Only the scheduler step is timed (the optimizer, SGD over one-element parameters,
is stepped once before timing, as PyTorch expects). Each contender is timed on a
fresh optimizer with 1 and with 100 parameter groups. In a round every contender
runs the whole schedule, taking turns every 250 steps, so that a busy machine slows
all of them alike; a round's time per step is the median over its chunks (a chunk
that lost the CPU to another process does not count), and the table gives the median
over ``--repeats`` rounds of the time per step and of each round's ratios.

    python benchmarks/step_overhead.py               # 10,000 steps, 7 rounds
    python benchmarks/step_overhead.py --quick       # 1,000 steps, 3 rounds (a smoke run)

Goal (issue 3): rampup within 1.5x of ``hand``, and at least 10x faster than ``hf`` at 100 groups.
"""

from __future__ import annotations

import argparse
import functools
import gc
import math
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LinearLR, SequentialLR
from transformers import get_cosine_schedule_with_warmup

import rampup
from rampup.torch import RampupLR

WARMUP_FRACTION = 0.05
PEAK = 1e-3
#: steps each contender runs before the next takes its turn (all see the same machine load)
CHUNK = 250


def _optimizer(groups: int) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    return torch.optim.SGD([{"params": [param], "lr": PEAK * (1 + i % 3)} for i, param in enumerate(params)], lr=PEAK)


def _hand(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> Callable[[], None]:
    """The floor: the closed form written inline, then one assignment per group."""
    bases = [group["lr"] for group in optimizer.param_groups]
    step = 0

    def hand_step() -> None:
        nonlocal step
        step += 1
        if step < warmup:
            multiplier = step / warmup
        else:
            multiplier = max(0.0, 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup))))
        for group, base in zip(optimizer.param_groups, bases):  # noqa: B905  (as a user writes it)
            group["lr"] = base * multiplier

    return hand_step


def _contenders(warmup: int, total: int) -> dict[str, Callable[[torch.optim.Optimizer], Callable[[], None]]]:
    def rampup_lr(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
        return RampupLR(optimizer, "linear(5%) -> cosine", total_steps=total).step

    def hf(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
        scheduler: torch.optim.lr_scheduler.LambdaLR = get_cosine_schedule_with_warmup(optimizer, warmup, total)
        return scheduler.step

    def sequential(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
        ramp = LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup)
        cosine = CosineAnnealingLR(optimizer, T_max=total - warmup)
        return SequentialLR(optimizer, [ramp, cosine], milestones=[warmup]).step

    def hand(optimizer: torch.optim.Optimizer) -> Callable[[], None]:
        return _hand(optimizer, warmup, total)

    return {"hand": hand, "rampup": rampup_lr, "hf": hf, "sequential": sequential}


def _round(
    contenders: dict[str, Callable[[torch.optim.Optimizer], Callable[[], None]]], groups: int, steps: int, chunk: int
) -> dict[str, float]:
    """One run of every contender, interleaved in chunks of steps; seconds per step for each.

    A contender's time per step is its median chunk divided by the chunk's steps: on a
    shared machine a chunk now and then loses the CPU for milliseconds, which in a sum
    would swamp a step of about a microsecond (one group) in whichever contender it hit.
    """
    steppers = {}
    for name, make in contenders.items():
        optimizer = _optimizer(groups)
        steppers[name] = make(optimizer)
        optimizer.step()  # schedulers are stepped after the optimizer
    chunks: dict[str, list[float]] = {name: [] for name in contenders}
    gc.disable()
    try:
        for _ in range(steps // chunk):
            for name, step in steppers.items():
                start = time.perf_counter()
                for _ in range(chunk):
                    step()
                chunks[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: statistics.median(times) / chunk for name, times in chunks.items()}


def _median_ratio(rounds: list[dict[str, float]], top: str, bottom: str) -> float:
    """The median over rounds of each round's ratio (both timed under the same load)."""
    return statistics.median(r[top] / r[bottom] for r in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10_000, help="optimizer updates in the run")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds; the median is reported")
    parser.add_argument("--quick", action="store_true", help="1,000 steps, 3 rounds")
    args = parser.parse_args()
    steps, repeats = (1_000, 3) if args.quick else (args.steps, args.repeats)
    warmup = math.ceil(steps * WARMUP_FRACTION)
    contenders = _contenders(warmup, steps)
    warnings.simplefilter("error")  # a spurious scheduler warning would also distort the timing

    print(f"python {platform.python_version()}, torch {torch.__version__}, rampup {rampup.__version__}, ", end="")
    print(f"{platform.machine()}; {steps} steps (warmup {warmup}), median of {repeats} rounds\n")
    print(
        "| groups | rampup µs/step | hand µs/step | hf µs/step | sequential µs/step "
        "| rampup / hand | hf / rampup | sequential / rampup |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for groups in (1, 100):
        rounds = [_round(contenders, groups, steps, CHUNK) for _ in range(repeats)]
        us = {name: statistics.median(r[name] for r in rounds) * 1e6 for name in contenders}
        ratio = functools.partial(_median_ratio, rounds)

        print(
            f"| {groups} | {us['rampup']:.2f} | {us['hand']:.2f} | {us['hf']:.2f} | {us['sequential']:.2f} "
            f"| {ratio('rampup', 'hand'):.2f}x | {ratio('hf', 'rampup'):.1f}x "
            f"| {ratio('sequential', 'rampup'):.1f}x |"
        )


if __name__ == "__main__":
    main()
