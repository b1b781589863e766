"""What the live audit costs per training step, as a ratio against the same step without it, in the same run.

The step: a tiny model (an MLP, 64 -> 128 -> 128 -> 1, batch 32, on CPU): forward,
backward, ``AdamW.step()``, ``RampupLR.step()``, ``zero_grad``. Two contenders run it:

  * ``plain``: the step as it is (the anchor);
  * ``audited``: the same step with ``rampup.audit.torch.audit(optimizer, scheduler)``
    hooked in front of ``optimizer.step()`` (reading the rate, checking it against the plan).

Each contender has its own model, optimizer and scheduler (the same seeds). In a round
they take turns every ``CHUNK`` steps, so that a busy machine slows both alike; a round's
time per step is the median over its chunks, and the table gives the median over
``--repeats`` rounds of the time per step and of each round's ratio audited / plain.
The hook's own cost is also timed alone (called on a step's rates, no training), and given
as a share of the plain step: a steadier figure than the ratio on a busy machine.

    python benchmarks/audit_overhead.py            # 2,000 steps, 7 rounds
    python benchmarks/audit_overhead.py --quick    # 300 steps, 3 rounds (a smoke run)

Goal (issue 13): the audit costs under 5% of the tiny model's training step.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
import warnings
from collections.abc import Callable

import torch

from rampup.audit.torch import audit
from rampup.torch import RampupLR

SPEC = "linear(5%) -> cosine(to=0.1)"
#: steps each contender runs before the other takes its turn
CHUNK = 50


def _contender(total: int, audited: bool) -> Callable[[int], None]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 128), torch.nn.ReLU(), torch.nn.Linear(128, 1)
    )
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = RampupLR(optimizer, SPEC, total_steps=total)
    if audited:
        audit(optimizer, scheduler)
    generator = torch.Generator().manual_seed(1)
    inputs, targets = torch.randn(32, 64, generator=generator), torch.randn(32, 1, generator=generator)

    def steps(count: int) -> None:
        for _ in range(count):
            loss = torch.nn.functional.mse_loss(model(inputs), targets)
            loss.backward()
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)

    return steps


def _round(total: int) -> tuple[float, float]:
    """Seconds per step of (plain, audited), each the median over its chunks."""
    runs = {"plain": _contender(total, False), "audited": _contender(total, True)}
    times: dict[str, list[float]] = {name: [] for name in runs}
    for begin in range(0, total, CHUNK):
        count = min(CHUNK, total - begin)
        for name, run in runs.items():
            start = time.perf_counter()
            run(count)
            times[name].append((time.perf_counter() - start) / count)
    return statistics.median(times["plain"]), statistics.median(times["audited"])


def _check_alone(repeats: int = 20_000) -> float:
    """Seconds per call of the audit's hook alone: (hook + scheduler step) minus (scheduler step), interleaved."""
    costs = []
    warnings.simplefilter("ignore", UserWarning)  # the order warning of a scheduler stepped without training
    for _ in range(5):
        timings = []
        for hooked in (False, True):
            optimizer = torch.optim.SGD(torch.nn.Linear(2, 1).parameters(), lr=1e-3)
            optimizer.step()  # PyTorch expects an optimizer step before the first scheduler step
            scheduler = RampupLR(optimizer, SPEC, total_steps=repeats + 1)
            hook = audit(optimizer, scheduler)
            start = time.perf_counter()
            for _ in range(repeats):
                if hooked:
                    hook._before_step(optimizer, (), {})
                scheduler.step()
            timings.append(time.perf_counter() - start)
            hook.remove()
        costs.append((timings[1] - timings[0]) / repeats)
    return statistics.median(costs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--quick", action="store_true", help="300 steps, 3 rounds")
    options = parser.parse_args()
    steps, repeats = (300, 3) if options.quick else (options.steps, options.repeats)
    torch.set_num_threads(1)
    rounds = [_round(steps) for _ in range(repeats)]
    plain = statistics.median(p for p, _ in rounds)
    audited = statistics.median(a for _, a in rounds)
    ratio = statistics.median(a / p for p, a in rounds)
    alone = _check_alone()
    print(f"python {platform.python_version()}, torch {torch.__version__}, {platform.machine()}, 1 thread")
    print(f"{steps} steps x {repeats} rounds, chunks of {CHUNK}")
    print(f"plain step:    {plain * 1e6:9.1f} us")
    print(f"audited step:  {audited * 1e6:9.1f} us")
    print(f"ratio:         {ratio:9.4f}  (median of the rounds' audited / plain; goal < 1.05)")
    print(f"hook alone:    {alone * 1e6:9.2f} us per update = {alone / plain:.2%} of the plain step")
    print(f"rounds:        {', '.join(f'{a / p:.4f}' for p, a in rounds)}")


if __name__ == "__main__":
    main()
