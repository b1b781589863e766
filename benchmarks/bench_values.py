"""Vectorized schedule evaluation against stepping a transformers scheduler.

Measures, in one run:
  * rampup: ``Schedule.values`` of ``linear(1%) -> cosine(to=0.1)`` over N_VALUES steps at once;
  * anchor: transformers' ``get_cosine_schedule_with_warmup`` stepped N_STEPPED times
    (what a user does to get the same list of rates, e.g. to plot them);
  * reference: the same formula written by hand in NumPy (the floor of what is possible).
Reports time per step and the ratios. Timings are medians of REPEATS runs.

    python benchmarks/bench_values.py            # 10M vectorized vs 1M stepped
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


def _median_seconds(function: Callable[[], object], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="ten times fewer steps")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    n_values = 1_000_000 if args.quick else 10_000_000
    n_stepped = 100_000 if args.quick else 1_000_000

    import torch
    from transformers import get_cosine_schedule_with_warmup

    schedule = rampup.parse("linear(1%) -> cosine(to=0.1)").resolve(total_steps=n_values)
    steps = np.arange(n_values)

    def rampup_values() -> object:
        return schedule.values(steps)

    warmup = math.ceil(0.01 * n_values)

    def numpy_by_hand() -> object:
        s = steps.astype(np.float64)
        progress = (s - warmup) / (n_values - warmup)
        cosine = 0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * np.clip(progress, 0, 1)))
        return np.where(s < warmup, s / warmup, cosine)

    def transformers_stepped() -> object:
        param = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.SGD([param], lr=1.0)
        scheduler = get_cosine_schedule_with_warmup(optimizer, math.ceil(0.01 * n_stepped), n_stepped)
        rates = []
        with warnings.catch_warnings():  # no optimizer.step(): only the scheduler's own cost is timed
            warnings.simplefilter("ignore")
            for _ in range(n_stepped):
                rates.append(scheduler.get_last_lr()[0])
                scheduler.step()
        return rates

    assert np.allclose(rampup_values(), numpy_by_hand(), atol=1e-12)
    t_rampup = _median_seconds(rampup_values, args.repeats)
    t_hand = _median_seconds(numpy_by_hand, args.repeats)
    t_hf = _median_seconds(transformers_stepped, max(1, args.repeats // 2))
    per_rampup = t_rampup / n_values
    per_hand = t_hand / n_values
    per_hf = t_hf / n_stepped
    print(f"rampup Schedule.values, {n_values:,} steps:        {per_rampup * 1e9:8.2f} ns/step  ({t_rampup:.3f} s)")
    print(f"NumPy by hand, {n_values:,} steps:                 {per_hand * 1e9:8.2f} ns/step  ({t_hand:.3f} s)")
    print(f"transformers cosine stepped, {n_stepped:,} steps:   {per_hf * 1e9:8.2f} ns/step  ({t_hf:.3f} s)")
    print(f"ratio transformers / rampup (per step): {per_hf / per_rampup:.0f}x  (goal >= 200x)")
    print(f"ratio rampup / NumPy by hand:           {per_rampup / per_hand:.2f}x")


if __name__ == "__main__":
    main()
