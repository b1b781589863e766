"""RampupLR in a two-process torch.distributed run (gloo, CPU) with DDP and gradient accumulation.

The documented recipe: every rank builds the same scheduler and steps it once per
optimizer update (not per micro-batch). Every rank must then see the same rates,
and a run resumed from a checkpoint must continue exactly as the uninterrupted one.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch.nn.parallel import DistributedDataParallel

from rampup.torch import RampupLR

WORLD = 2
UPDATES = 12
ACCUMULATE = 2  # micro-batches per optimizer update
RESUME_AT = 5
SPEC = "linear(4) -> cosine(to=0.1)"


def _build() -> tuple[DistributedDataParallel, torch.optim.Optimizer, RampupLR]:
    torch.manual_seed(0)  # the same initial weights on every rank (DDP also broadcasts rank 0's)
    model = DistributedDataParallel(torch.nn.Linear(4, 1))
    optimizer = torch.optim.SGD(
        [
            {"params": [model.module.weight], "lr": 0.1},
            {"params": [model.module.bias], "lr": 0.02},
        ],
        momentum=0.9,
    )
    return model, optimizer, RampupLR(optimizer, SPEC, total_steps=UPDATES)


def _train(
    rank: int,
    model: DistributedDataParallel,
    optimizer: torch.optim.Optimizer,
    scheduler: RampupLR,
    updates: range,
    checkpoint: Path | None = None,
) -> list[list[float]]:
    """The recipe: accumulate, step the optimizer, then the scheduler, once per update."""
    rates = []
    for update in updates:
        rates.append([float(group["lr"]) for group in optimizer.param_groups])
        for micro in range(ACCUMULATE):
            generator = torch.Generator().manual_seed(1000 * update + 10 * micro + rank)
            inputs = torch.randn(8, 4, generator=generator)
            if micro < ACCUMULATE - 1:
                with model.no_sync():  # no all-reduce until the last micro-batch
                    (model(inputs).pow(2).mean() / ACCUMULATE).backward()
            else:
                (model(inputs).pow(2).mean() / ACCUMULATE).backward()
        optimizer.step()
        scheduler.step()  # once per optimizer update
        optimizer.zero_grad()
        if checkpoint is not None and update + 1 == RESUME_AT:
            if rank == 0:
                state = {
                    "model": model.module.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                }
                torch.save(state, checkpoint)
            dist.barrier()
    return rates


def _worker(rank: int, init_file: str, out_dir: str) -> None:
    """One rank. It ends with ``os._exit``: with gloo, tearing down DDP's reducer after
    ``all_gather_object`` can deadlock in ``~ProcessGroupGloo`` (it joins a worker thread
    that waits for the GIL the destructor holds), so the rank writes its result, leaves
    the group, and exits without running any destructor."""
    status = 1
    try:
        _run_rank(rank, init_file, out_dir)
        status = 0
    except BaseException:
        Path(out_dir, f"rank{rank}.error").write_text(traceback.format_exc())
    finally:
        os._exit(status)


def _run_rank(rank: int, init_file: str, out_dir: str) -> None:
    os.environ.setdefault("GLOO_SOCKET_IFNAME", "lo")
    dist.init_process_group(
        "gloo", init_method=f"file://{init_file}", rank=rank, world_size=WORLD, timeout=timedelta(seconds=60)
    )
    checkpoint = Path(out_dir) / "checkpoint.pt"
    model, optimizer, scheduler = _build()
    uninterrupted = _train(rank, model, optimizer, scheduler, range(UPDATES), checkpoint)
    final = [param.detach().clone() for param in model.parameters()]

    # a new process state: build everything again, load the checkpoint, continue
    model, optimizer, scheduler = _build()
    state = torch.load(checkpoint, weights_only=True)
    model.module.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    scheduler.load_state_dict(state["scheduler"])
    resumed = _train(rank, model, optimizer, scheduler, range(RESUME_AT, UPDATES))
    same_weights = all(torch.equal(a, b) for a, b in zip(final, model.parameters(), strict=True))

    gathered: list[object] = [None] * WORLD
    dist.all_gather_object(gathered, uninterrupted)
    result = {
        "uninterrupted": uninterrupted,
        "resumed": resumed,
        "engine": [[peak * scheduler.schedule(step) for peak in (0.1, 0.02)] for step in range(UPDATES)],
        "all_ranks": gathered,
        "same_weights_after_resume": same_weights,
        "last_step": scheduler.last_epoch,
    }
    Path(out_dir, f"rank{rank}.json").write_text(json.dumps(result))
    dist.barrier()  # both ranks have written before either leaves the group
    dist.destroy_process_group()


def test_every_rank_sees_the_same_rates_and_resumes_identically(tmp_path: Path) -> None:
    context = mp.spawn(_worker, args=(str(tmp_path / "init"), str(tmp_path)), nprocs=WORLD, join=False)  # type: ignore[attr-defined,no-untyped-call]
    deadline = time.monotonic() + 180  # a hung rank fails the test instead of hanging the suite
    try:
        while not context.join(timeout=1):
            assert time.monotonic() < deadline, "the two ranks did not finish within 180 s"
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    errors = sorted(tmp_path.glob("rank*.error"))
    assert not errors, "\n".join(path.read_text() for path in errors)
    results = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(WORLD)]
    for result in results:
        assert result["uninterrupted"] == result["engine"]  # one scheduler step per update, not per micro-batch
        assert result["all_ranks"] == [result["uninterrupted"]] * WORLD  # every rank, the same rates
        assert result["resumed"] == result["uninterrupted"][RESUME_AT:]  # resumed exactly
        assert result["same_weights_after_resume"]
        assert result["last_step"] == UPDATES
    assert results[0] == results[1]
