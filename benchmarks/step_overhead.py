"""Per-step cost of a PyTorch learning-rate scheduler, against honest anchors measured in the same run (issue 16).

The same schedule, a linear warmup over 5% of the run then a cosine to 0, stepped
through the run by each contender:

  * ``inline``: the limit. The formula written inline in the loop body that writes
    ``group["lr"] = base * multiplier`` (no function call per step);
  * ``list``: the multipliers precomputed into a Python list, read in the loop;
  * ``hand``: the formula in a function called once per step (what a user's
    ``lr_lambda``-free loop looks like; the anchor of issue 3);
  * ``rampup``: ``rampup.torch.RampupLR(optimizer, "linear(5%) -> cosine", total_steps=T).step``;
  * ``hf``: transformers' ``get_cosine_schedule_with_warmup`` (a ``LambdaLR``);
  * ``lambda``: PyTorch's ``LambdaLR`` with the formula as its lambda;
  * ``sequential``: ``SequentialLR(LinearLR, CosineAnnealingLR)``, PyTorch's own composition;
  * ``timm``: timm's ``CosineLRScheduler`` (``warmup_prefix=True``, stepped per update with
    ``step_update``), loaded from its scheduler files alone (timm's package needs torchvision);
  * ``pytorch_warmup``: ``pytorch_warmup.LinearWarmup`` dampening a ``CosineAnnealingLR``.

timm and pytorch_warmup are optional anchors: ``pip install --no-deps timm pytorch-warmup``
(no torchvision needed); a missing one is left out with a note. Only the scheduler
step is timed. Each contender runs on a fresh SGD optimizer with 1, 10, 100 and 1000
parameter groups; in a round every contender runs the schedule, taking turns every
250 steps so that a busy machine slows all alike; a round's time per step is its
median chunk, and the table gives medians over the rounds (of the times, and of each
round's ratios). A second table does the same with tensor rates (``lr`` a 0-d tensor,
as for ``torch.compile``): ``rampup`` against ``fill_`` written inline.

    python benchmarks/step_overhead.py               # 10,000 steps (fewer at 100 and 1000 groups), 7 rounds
    python benchmarks/step_overhead.py --quick       # a smoke run

Goals (issue 16): rampup within 1.5x of ``inline`` at 1 and 10 groups, 1.2x at 100; within 1.5x of
``fill_`` with tensor rates at 1 group.
"""

from __future__ import annotations

import argparse
import functools
import gc
import importlib.util
import math
import platform
import statistics
import sys
import time
import types
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch.optim.lr_scheduler import CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR
from transformers import get_cosine_schedule_with_warmup

import rampup
from rampup.torch import RampupLR

WARMUP_FRACTION = 0.05
PEAK = 1e-3
#: steps each contender runs before the next takes its turn (all see the same machine load)
CHUNK = 250
#: steps per round by number of groups (the slow anchors at 1000 groups take milliseconds a step)
STEPS = {1: 10_000, 10: 10_000, 100: 4_000, 1000: 1_000}

Runner = Callable[[int], None]
Maker = Callable[[torch.optim.Optimizer], Runner]


def _multiplier(step: int, warmup: int, total: int) -> float:
    """The schedule's formula (for the anchors that take a function)."""
    if step < warmup:
        return step / warmup
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup))))


def _optimizer(groups: int, tensor: bool = False) -> torch.optim.Optimizer:
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(groups)]
    rates = [PEAK * (1 + i % 3) for i in range(groups)]
    return torch.optim.SGD(
        [{"params": [p], "lr": torch.tensor(r) if tensor else r} for p, r in zip(params, rates, strict=True)],
        lr=torch.tensor(PEAK) if tensor else PEAK,
    )


def _stepping(step: Callable[[], Any]) -> Runner:
    def run(count: int) -> None:
        for _ in range(count):
            step()

    return run


def _inline(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> Runner:
    """The limit: the formula inline in the loop that writes the rates."""
    groups = optimizer.param_groups
    bases = [group["lr"] for group in groups]
    pairs = list(zip(groups, bases, strict=True))
    state = [0]
    cos, pi, span = math.cos, math.pi, total - warmup

    def run(count: int) -> None:
        step = state[0]
        if len(pairs) == 1:
            group, base = pairs[0]
            for _ in range(count):
                step += 1
                m = step / warmup if step < warmup else max(0.0, 0.5 * (1.0 + cos(pi * (step - warmup) / span)))
                group["lr"] = base * m
        else:
            for _ in range(count):
                step += 1
                m = step / warmup if step < warmup else max(0.0, 0.5 * (1.0 + cos(pi * (step - warmup) / span)))
                for group, base in pairs:
                    group["lr"] = base * m
        state[0] = step

    return run


def _listed(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> Runner:
    """The multipliers precomputed into a list, read in the loop."""
    groups = optimizer.param_groups
    pairs = [(group, group["lr"]) for group in groups]
    table = [_multiplier(step, warmup, total) for step in range(total + 2)]
    state = [0]

    def run(count: int) -> None:
        step = state[0]
        for _ in range(count):
            step += 1
            m = table[step]
            for group, base in pairs:
                group["lr"] = base * m
        state[0] = step

    return run


def _hand(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> Runner:
    """The formula in a function called once per step, then one assignment per group."""
    bases = [group["lr"] for group in optimizer.param_groups]
    step = 0

    def hand_step() -> None:
        nonlocal step
        step += 1
        multiplier = _multiplier(step, warmup, total)
        for group, base in zip(optimizer.param_groups, bases):  # noqa: B905  (as a user writes it)
            group["lr"] = base * multiplier

    return _stepping(hand_step)


def _fill(optimizer: torch.optim.Optimizer, warmup: int, total: int) -> Runner:
    """The limit with tensor rates: the formula inline, then ``fill_`` in place."""
    pairs = [(group["lr"], float(group["lr"])) for group in optimizer.param_groups]
    state = [0]
    cos, pi, span = math.cos, math.pi, total - warmup

    def run(count: int) -> None:
        step = state[0]
        for _ in range(count):
            step += 1
            m = step / warmup if step < warmup else max(0.0, 0.5 * (1.0 + cos(pi * (step - warmup) / span)))
            for rate, base in pairs:
                rate.fill_(base * m)
        state[0] = step

    return run


@functools.cache
def _load_timm() -> Any:
    """timm's ``CosineLRScheduler`` from its scheduler files alone (its package imports torchvision)."""
    found = importlib.util.find_spec("timm")
    if found is None or not found.submodule_search_locations:
        return None
    root = Path(next(iter(found.submodule_search_locations)))
    for name, path in (("timm", root), ("timm.scheduler", root / "scheduler")):
        if name not in sys.modules:
            package = types.ModuleType(name)
            package.__path__ = [str(path)]
            sys.modules[name] = package
    module = None
    for name in ("scheduler", "cosine_lr"):
        spec = importlib.util.spec_from_file_location(f"timm.scheduler.{name}", root / "scheduler" / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    return None if module is None else module.CosineLRScheduler


def _contenders(warmup: int, total: int) -> tuple[dict[str, Maker], list[str]]:
    notes = []

    def rampup_lr(optimizer: torch.optim.Optimizer) -> Runner:
        return _stepping(RampupLR(optimizer, "linear(5%) -> cosine", total_steps=total).step)

    def hf(optimizer: torch.optim.Optimizer) -> Runner:
        return _stepping(get_cosine_schedule_with_warmup(optimizer, warmup, total).step)

    def torch_lambda(optimizer: torch.optim.Optimizer) -> Runner:
        return _stepping(LambdaLR(optimizer, lambda step: _multiplier(step, warmup, total)).step)

    def sequential(optimizer: torch.optim.Optimizer) -> Runner:
        ramp = LinearLR(optimizer, start_factor=1.0 / warmup, end_factor=1.0, total_iters=warmup)
        cosine = CosineAnnealingLR(optimizer, T_max=total - warmup)
        return _stepping(SequentialLR(optimizer, [ramp, cosine], milestones=[warmup]).step)

    contenders: dict[str, Maker] = {
        "inline": functools.partial(_inline, warmup=warmup, total=total),  # type: ignore[dict-item]
        "list": functools.partial(_listed, warmup=warmup, total=total),  # type: ignore[dict-item]
        "hand": functools.partial(_hand, warmup=warmup, total=total),  # type: ignore[dict-item]
        "rampup": rampup_lr,
        "hf": hf,
        "lambda": torch_lambda,
        "sequential": sequential,
    }
    cosine_lr = _load_timm()
    if cosine_lr is not None:

        def timm(optimizer: torch.optim.Optimizer) -> Runner:
            scheduler = cosine_lr(
                optimizer, t_initial=total - warmup, warmup_t=warmup, warmup_prefix=True, t_in_epochs=False
            )
            count = [0]

            def step() -> None:
                count[0] += 1
                scheduler.step_update(count[0])

            return _stepping(step)

        contenders["timm"] = timm
    else:
        notes.append("timm not installed (pip install --no-deps timm): left out")
    try:
        import pytorch_warmup
    except ImportError:
        notes.append("pytorch_warmup not installed (pip install --no-deps pytorch-warmup): left out")
    else:

        def dampened(optimizer: torch.optim.Optimizer) -> Runner:
            cosine = CosineAnnealingLR(optimizer, T_max=total)
            ramp = pytorch_warmup.LinearWarmup(optimizer, warmup_period=warmup)

            def step() -> None:
                with ramp.dampening():
                    cosine.step()

            return _stepping(step)

        contenders["pytorch_warmup"] = dampened
    return contenders, notes


def _round(contenders: dict[str, Maker], groups: int, steps: int, tensor: bool = False) -> dict[str, float]:
    """One run of every contender, interleaved in chunks of steps; seconds per step for each (the median chunk:
    on a shared machine a chunk now and then loses the CPU for milliseconds, which would swamp a sum)."""
    runners = {}
    for name, make in contenders.items():
        optimizer = _optimizer(groups, tensor)
        runners[name] = make(optimizer)
        optimizer.step()  # schedulers are stepped after the optimizer
    chunks: dict[str, list[float]] = {name: [] for name in contenders}
    gc.disable()
    try:
        for _ in range(steps // CHUNK):
            for name, run in runners.items():
                start = time.perf_counter()
                run(CHUNK)
                chunks[name].append(time.perf_counter() - start)
    finally:
        gc.enable()
    return {name: statistics.median(times) / CHUNK for name, times in chunks.items()}


def _median_ratio(rounds: list[dict[str, float]], top: str, bottom: str) -> float:
    """The median over rounds of each round's ratio (both timed under the same load)."""
    return statistics.median(r[top] / r[bottom] for r in rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="interleaved rounds; the median is reported")
    parser.add_argument("--quick", action="store_true", help="a tenth of the steps, 3 rounds")
    args = parser.parse_args()
    repeats = 3 if args.quick else args.repeats
    warnings.simplefilter("error")  # a spurious scheduler warning would also distort the timing
    warnings.filterwarnings("ignore", category=DeprecationWarning)  # pytorch_warmup's, at construction

    print(f"python {platform.python_version()}, torch {torch.__version__}, rampup {rampup.__version__}, ", end="")
    print(f"{platform.machine()}; median of {repeats} rounds\n")
    header = None
    for groups, steps in STEPS.items():
        steps = max(CHUNK * 4, steps // 10) if args.quick else steps
        warmup = math.ceil(steps * WARMUP_FRACTION)
        contenders, notes = _contenders(warmup, steps)
        if header is None:
            for note in notes:
                print(f"note: {note}")
            others = [name for name in contenders if name not in ("inline", "list", "hand", "rampup")]
            header = others
            print(
                "| groups | steps | rampup µs/step | inline µs/step | rampup / inline | rampup / list "
                "| rampup / hand | " + " | ".join(f"{name} / rampup" for name in others) + " |"
            )
            print("|---:" * (7 + len(others)) + "|")
        rounds = [_round(contenders, groups, steps) for _ in range(repeats)]
        us = {name: statistics.median(r[name] for r in rounds) * 1e6 for name in contenders}
        ratio = functools.partial(_median_ratio, rounds)
        print(
            f"| {groups} | {steps} | {us['rampup']:.2f} | {us['inline']:.2f} | {ratio('rampup', 'inline'):.2f}x "
            f"| {ratio('rampup', 'list'):.2f}x | {ratio('rampup', 'hand'):.2f}x | "
            + " | ".join(f"{ratio(name, 'rampup'):.1f}x" for name in header)
            + " |"
        )

    print("\nTensor rates (`lr` a 0-d tensor):\n")
    print("| groups | rampup µs/step | fill_ µs/step | rampup / fill_ |\n|---:|---:|---:|---:|")
    for groups in (1, 10):
        steps = 1_000 if args.quick else 10_000
        warmup = math.ceil(steps * WARMUP_FRACTION)

        def rampup_tensor(optimizer: torch.optim.Optimizer, total: int = steps) -> Runner:
            return _stepping(RampupLR(optimizer, "linear(5%) -> cosine", total_steps=total).step)

        pair: dict[str, Maker] = {
            "fill": functools.partial(_fill, warmup=warmup, total=steps),  # type: ignore[dict-item]
            "rampup": rampup_tensor,
        }
        rounds = [_round(pair, groups, steps, tensor=True) for _ in range(repeats)]
        us = {name: statistics.median(r[name] for r in rounds) * 1e6 for name in pair}
        print(f"| {groups} | {us['rampup']:.2f} | {us['fill']:.2f} | {_median_ratio(rounds, 'rampup', 'fill'):.2f}x |")


if __name__ == "__main__":
    main()
