"""rampup.audit: each mistake made for real in a tiny PyTorch run is caught at its first update and named.

Every test trains a real model with a real optimizer and scheduler; the audit is the
optimizer step pre-hook of rampup.audit.torch. A correct loop runs to the end without a
word; each wrong one stops with AuditError and the diagnosis that fits it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from rampup import RampupError
from rampup.audit import DIAGNOSES, AuditError, RateAudit
from rampup.audit.torch import audit, other_schedulers
from rampup.schedule import parse
from rampup.torch import RampupLR

SPEC = "linear(8) -> cosine(to=0.1)"
TOTAL = 40


def _model() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Linear(4, 1)


def _loss(model: torch.nn.Module, index: int) -> torch.Tensor:
    generator = torch.Generator().manual_seed(index)
    x, y = torch.randn(8, 4, generator=generator), torch.randn(8, generator=generator)
    return torch.nn.functional.mse_loss(model(x).squeeze(-1), y)


def _setup(lr: float = 0.1, adam: bool = False) -> tuple[torch.nn.Module, torch.optim.Optimizer, RampupLR]:
    model = _model()
    optimizer = (torch.optim.AdamW if adam else torch.optim.SGD)(model.parameters(), lr=lr)
    return model, optimizer, RampupLR(optimizer, SPEC, total_steps=TOTAL)


def _update(model: torch.nn.Module, optimizer: torch.optim.Optimizer, index: int) -> None:
    optimizer.zero_grad()
    _loss(model, index).backward()
    optimizer.step()


def test_a_correct_loop_raises_nothing_with_accumulation_and_two_groups() -> None:
    model = _model()
    optimizer = torch.optim.AdamW([{"params": [model.weight], "lr": 0.1}, {"params": [model.bias], "lr": 0.01}])
    scheduler = RampupLR(optimizer, SPEC, total_steps=TOTAL)
    with audit(optimizer, scheduler, accumulation=4) as checking:
        for update in range(TOTAL):
            for micro in range(4):
                (_loss(model, 10 * update + micro) / 4).backward()
            optimizer.step()
            optimizer.zero_grad()
            scheduler.step()
    assert checking.checked == TOTAL


def _caught(run: object) -> AuditError:
    with pytest.raises(AuditError) as caught:
        run()  # type: ignore[operator]
    error = caught.value
    assert isinstance(error, RampupError) and error.code in DIAGNOSES
    assert "diagnosis: " in str(error) and error.field.startswith("learning rate of param_groups[0] at update ")
    return error


def test_stepped_per_micro_batch() -> None:
    model, optimizer, scheduler = _setup()
    audit(optimizer, scheduler, accumulation=4)

    def run() -> None:
        for update in range(TOTAL):
            for micro in range(4):
                (_loss(model, 10 * update + micro) / 4).backward()
                scheduler.step()  # the mistake: once per micro-batch
            optimizer.step()
            optimizer.zero_grad()

    error = _caught(run)
    assert error.code == "per-micro-batch" and error.update == 0  # four steps before the first update
    assert "once per micro-batch" in error.diagnosis


def test_stepped_twice() -> None:
    model, optimizer, scheduler = _setup()
    audit(optimizer, scheduler)

    def run() -> None:
        for update in range(TOTAL):
            _update(model, optimizer, update)
            scheduler.step()
            scheduler.step()  # the mistake: a second step (a callback, a copy-pasted line)

    error = _caught(run)
    assert error.code == "stepped-twice" and error.update == 1


def test_never_stepped() -> None:
    model, optimizer, scheduler = _setup()
    audit(optimizer, scheduler)

    def run() -> None:
        for update in range(TOTAL):
            _update(model, optimizer, update)  # the mistake: no scheduler.step()

    error = _caught(run)
    assert error.code == "never-stepped" and error.update == 1
    assert "never stepped" in error.diagnosis


def test_overridden_by_another_torch_scheduler() -> None:
    model, optimizer, scheduler = _setup()
    audit(optimizer, scheduler)
    other = torch.optim.lr_scheduler.StepLR(optimizer, step_size=3, gamma=0.5)  # the mistake: a second scheduler

    def run() -> None:
        for update in range(TOTAL):
            _update(model, optimizer, update)
            scheduler.step()
            other.step()

    error = _caught(run)
    assert error.code == "overridden"
    assert "torch.optim.lr_scheduler.StepLR" in error.diagnosis
    assert "RampupLR" not in error.diagnosis


def test_overridden_by_deepspeeds_scheduler() -> None:
    from deepspeed.runtime.lr_schedules import WarmupLR

    model, optimizer, scheduler = _setup()
    audit(optimizer, scheduler)
    deepspeed_warmup = WarmupLR(optimizer, warmup_min_lr=0.0, warmup_max_lr=0.1, warmup_num_steps=20)

    def run() -> None:
        for update in range(TOTAL):
            _update(model, optimizer, update)
            scheduler.step()
            deepspeed_warmup.step()  # DeepSpeed's engine steps its own scheduler after RampupLR's

    error = _caught(run)
    assert error.code == "overridden"
    assert "DeepSpeed's WarmupLR" in error.diagnosis and "'scheduler' section" in error.diagnosis


def test_warmup_restarted_on_resume(tmp_path: Path) -> None:
    model, optimizer, scheduler = _setup(adam=True)
    audit(optimizer, scheduler)
    for update in range(20):
        _update(model, optimizer, update)
        scheduler.step()
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, tmp_path / "ckpt.pt")
    # the mistake: the scheduler's state is not saved, so the resumed run builds a new one at step 0
    model, optimizer, scheduler = _setup(adam=True)
    saved = torch.load(tmp_path / "ckpt.pt", weights_only=True)
    model.load_state_dict(saved["model"])
    optimizer.load_state_dict(saved["optimizer"])
    checking = audit(optimizer, scheduler)
    assert checking.checker.start == 20  # from Adam's own count of updates

    def run() -> None:
        for update in range(20, TOTAL):
            _update(model, optimizer, update)
            scheduler.step()

    error = _caught(run)
    assert error.code == "restarted-on-resume" and error.update == 21  # update 20 ran at the loaded rate
    assert "state_dict" in error.diagnosis


def test_resumed_correctly_raises_nothing(tmp_path: Path) -> None:
    model, optimizer, scheduler = _setup(adam=True)
    for update in range(20):
        _update(model, optimizer, update)
        scheduler.step()
    state = {"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}
    model2, optimizer2, scheduler2 = _setup(adam=True)
    optimizer2.load_state_dict(state["optimizer"])
    scheduler2.load_state_dict(state["scheduler"])
    checking = audit(optimizer2, scheduler2)
    for update in range(20, TOTAL):
        _update(model2, optimizer2, update)
        scheduler2.step()
    assert checking.checked == 20


def test_a_spec_plan_catches_a_total_counted_per_process() -> None:
    """The plan given as a spec with the run's real total: a scheduler resolved for another total is named."""
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    # 2 processes; the run has TOTAL updates but the scheduler was built with the per-process example count
    scheduler = RampupLR(optimizer, "linear(10%) -> cosine", total_steps=2 * TOTAL)
    audit(optimizer, "linear(10%) -> cosine", total_steps=TOTAL, world_size=2)

    def run() -> None:
        for update in range(TOTAL):
            _update(model, optimizer, update)
            scheduler.step()

    error = _caught(run)
    assert error.code == "total-per-process" and "resolved for 80 steps" in error.diagnosis


def _accelerate_worker(rank: int, init: str, out: str) -> None:
    """One of two processes: Accelerate's prepared scheduler with the total counted per process."""
    os.environ.update({"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": "2", "MASTER_ADDR": "127.0.0.1"})
    os.environ["MASTER_PORT"] = init
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    model = _model()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    data = torch.utils.data.TensorDataset(torch.randn(64, 4), torch.randn(64))
    loader = torch.utils.data.DataLoader(data, batch_size=4)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    updates = len(loader)  # the mistake: this process's batches (8), as the total of the schedule
    scheduler = accelerator.prepare(RampupLR(optimizer.optimizer, SPEC, total_steps=updates))
    audit(optimizer.optimizer, scheduler.scheduler, world_size=accelerator.num_processes)
    result = "none"
    try:
        for x, y in loader:
            loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
            accelerator.backward(loss)
            optimizer.step()
            scheduler.step()  # Accelerate steps the wrapped scheduler once per process
            optimizer.zero_grad()
    except AuditError as error:
        result = f"{error.code} {error.update}"
    Path(out, f"rank{rank}").write_text(result)
    dist.barrier()
    accelerator.end_training()


def test_total_counted_per_process_with_accelerate_in_two_processes(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    mp.spawn(_accelerate_worker, args=(port, str(tmp_path)), nprocs=2, join=True)  # type: ignore[attr-defined,no-untyped-call]
    assert (tmp_path / "rank0").read_text() == "total-per-process 1"
    assert (tmp_path / "rank1").read_text() == "total-per-process 1"


def test_the_checker_refuses_bad_setup() -> None:
    plan = parse(SPEC).resolve(TOTAL)
    with pytest.raises(RampupError, match="accumulation"):
        RateAudit(plan, [0.1], accumulation=0)
    with pytest.raises(RampupError, match="peaks"):
        RateAudit(plan, [])
    checker = RateAudit(plan, [0.1, 0.01])
    with pytest.raises(RampupError, match="one rate per parameter group"):
        checker.check([0.0])
    assert checker.update == 0  # nothing counted


def test_other_schedulers_finds_nothing_on_a_lone_optimizer() -> None:
    _, optimizer, scheduler = _setup()
    assert other_schedulers(optimizer, scheduler) == []
    assert other_schedulers(optimizer) == ["rampup.torch.RampupLR"]
