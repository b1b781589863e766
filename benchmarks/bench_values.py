"""Vectorized schedule evaluation against stepping a transformers scheduler.

Contenders, for the schedule ``linear(1%) -> cosine(to=0.1)``:
  * rampup: ``Schedule.values`` over all N_VALUES steps at once;
  * reference: the same formula written by hand in NumPy (the floor of what is possible);
  * anchor: transformers' ``get_cosine_schedule_with_warmup`` stepped one update at a time
    (what a user does to get the same list of rates, e.g. to plot them), N_STEPPED steps in all.
The contenders take turns in each round, so that the load of a shared machine falls on
all of them alike; each round's ratio is computed from that round's times, and the
report gives the medians over the rounds.

    python benchmarks/bench_values.py            # 10M vectorized vs 1M stepped, 5 rounds
    python benchmarks/bench_values.py --quick    # 1M vs 100k (a smoke run)
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
import warnings
from collections.abc import Callable

import numpy as np

import rampup


def _seconds(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ten times fewer steps")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n_values = 1_000_000 if args.quick else 10_000_000
    n_stepped = 100_000 if args.quick else 1_000_000

    import torch
    from transformers import get_cosine_schedule_with_warmup

    schedule = rampup.parse("linear(1%) -> cosine(to=0.1)").resolve(total_steps=n_values)
    steps = np.arange(n_values)
    warmup = math.ceil(0.01 * n_values)

    def rampup_values() -> object:
        return schedule.values(steps)

    def numpy_by_hand() -> object:
        s = steps.astype(np.float64)
        progress = np.clip((s - warmup) / (n_values - warmup), 0.0, 1.0)
        cosine = 0.1 + 0.9 * 0.5 * (1.0 + np.cos(np.pi * progress))
        return np.where(s < warmup, s / warmup, cosine)

    param = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.SGD([param], lr=1.0)
    scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(0.01 * n_stepped), n_stepped)
    per_round = n_stepped // args.rounds
    rates: list[float] = []

    def transformers_stepped() -> object:
        with warnings.catch_warnings():  # no optimizer.step(): only the scheduler's own cost is timed
            warnings.simplefilter("ignore")
            for _ in range(per_round):
                rates.append(scheduler.get_last_lr()[0])
                scheduler.step()
        return rates

    assert np.allclose(rampup_values(), numpy_by_hand(), atol=1e-12)
    rows = []
    for _ in range(args.rounds):
        t_rampup = _seconds(rampup_values) / n_values
        t_hand = _seconds(numpy_by_hand) / n_values
        t_hf = _seconds(transformers_stepped) / per_round
        rows.append((t_rampup, t_hand, t_hf, t_hf / t_rampup, t_rampup / t_hand))
    med = [statistics.median(column) for column in zip(*rows, strict=True)]
    print(f"{args.rounds} rounds; each: {n_values:,} steps vectorized, {per_round:,} transformers steps")
    print(f"rampup Schedule.values:           {med[0] * 1e9:9.2f} ns/step")
    print(f"NumPy by hand:                    {med[1] * 1e9:9.2f} ns/step")
    print(f"transformers cosine, stepped:     {med[2] * 1e9:9.2f} ns/step")
    print(f"transformers / rampup per step:   {med[3]:9.0f}x   (goal >= 200x)")
    print(f"rampup / NumPy by hand:           {med[4]:9.2f}x")


if __name__ == "__main__":
    main()
