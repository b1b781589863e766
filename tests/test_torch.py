"""rampup.torch: RampupLR and with_warmup against the engine, transformers and PyTorch's own schedulers."""

from __future__ import annotations

import io
import math
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import torch
import transformers.optimization as hf
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.optim.lr_scheduler import (
    CosineAnnealingLR,
    LambdaLR,
    OneCycleLR,
    ReduceLROnPlateau,
    StepLR,
)

import rampup
import rampup.torch as rampup_torch
from rampup import RampupError
from rampup.torch import RampupLR, WarmupScheduler, with_warmup

PEAKS = (0.1, 0.025)


def make_optimizer(peaks: tuple[float, ...] = PEAKS, tensor_lr: bool = False) -> torch.optim.Optimizer:
    """SGD with one group per peak (a tensor ``lr`` if asked)."""
    groups = [
        {"params": [torch.nn.Parameter(torch.ones(2))], "lr": torch.tensor(peak) if tensor_lr else peak}
        for peak in peaks
    ]
    return torch.optim.SGD(groups, lr=peaks[0])  # transformers reads its polynomial peak from the defaults


def group_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(group["lr"]) for group in optimizer.param_groups]


@contextmanager
def no_warnings() -> Iterator[None]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    assert [str(w.message) for w in caught] == []


def save_load(state: Any) -> Any:
    """Through torch.save and torch.load(weights_only=True), as a checkpoint goes."""
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def run(scheduler: Any, optimizer: torch.optim.Optimizer, steps: int, **step_kwargs: Any) -> list[list[float]]:
    """The rates in use before each of ``steps`` updates (optimizer.step, then scheduler.step)."""
    seen = []
    for _ in range(steps):
        seen.append(group_lrs(optimizer))
        optimizer.step()
        scheduler.step(**step_kwargs)
    return seen


# ---------------------------------------------------------------------------- RampupLR = engine

SPECS = [
    ("linear(5%) -> cosine(to=0.1)", 200),
    ("exponential(20) -> constant", None),
    ("linear(10) -> constant(50%) -> 1-sqrt", 200),
    ("linear(16) -> inverse-sqrt", None),
    ("cosine(10) -> step(at=[60, 120], gamma=0.5)", 200),
    ("constant(10, from=0.1) -> cosine-restarts(cycles=3)", 200),
    ("untuned-linear(beta2=0.95) -> polynomial(power=2, to=0.05)", 200),
    ("bert", 200),
]


@pytest.mark.parametrize(("spec", "total"), SPECS)
def test_rates_equal_the_engine_at_every_step(spec: str, total: int | None) -> None:
    optimizer = make_optimizer()
    with no_warnings():
        scheduler = RampupLR(optimizer, spec, total_steps=total)
        schedule = rampup.as_schedule(spec).resolve(total)
        assert scheduler.schedule == schedule
        for step in range(260):  # past the end: the value holds
            expected = [peak * schedule(step) for peak in PEAKS]
            assert scheduler.last_epoch == step
            assert scheduler.get_last_lr() == expected, step  # exact: the same engine call
            assert group_lrs(optimizer) == expected
            optimizer.step()
            scheduler.step()


def test_the_first_rate_is_the_schedule_at_step_0_and_peaks_are_per_group() -> None:
    optimizer = make_optimizer((1.0, 0.5, 0.25))
    scheduler = RampupLR(optimizer, "linear(10, from=0.2) -> constant")
    assert scheduler.get_last_lr() == pytest.approx([0.2, 0.1, 0.05])
    assert [group["initial_lr"] for group in optimizer.param_groups] == [1.0, 0.5, 0.25]
    assert scheduler.base_lrs == [1.0, 0.5, 0.25]


def test_takes_a_schedule_object_a_dict_and_a_preset() -> None:
    text = rampup.preset("bert").spec
    schedule = rampup.parse(text)
    for form in (schedule, schedule.to_dict(), "bert", "BERT", text):
        scheduler = RampupLR(make_optimizer(), form, total_steps=100)
        assert scheduler.schedule == schedule.resolve(100)


def test_explicit_step_jumps_in_closed_form() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    optimizer.step()
    scheduler.step(57)
    assert scheduler.last_epoch == 57
    assert group_lrs(optimizer) == [peak * scheduler.schedule(57) for peak in PEAKS]
    scheduler.step()
    assert group_lrs(optimizer) == [peak * scheduler.schedule(58) for peak in PEAKS]
    scheduler.step(3)
    assert group_lrs(optimizer) == [peak * scheduler.schedule(3) for peak in PEAKS]


def test_get_lr_and_last_lr_attribute_agree_with_get_last_lr() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    run(scheduler, optimizer, 33)
    assert scheduler.get_lr() == scheduler.get_last_lr() == scheduler._last_lr == group_lrs(optimizer)


# ---------------------------------------------------------------------------- parity with transformers

HF_CASES: list[tuple[str, Callable[[torch.optim.Optimizer, int, int], LambdaLR], str, int]] = [
    ("linear", hf.get_linear_schedule_with_warmup, "linear({w}) -> linear", 1),
    ("cosine", hf.get_cosine_schedule_with_warmup, "linear({w}) -> cosine", 1),
    ("constant", lambda o, w, t: hf.get_constant_schedule_with_warmup(o, w), "linear({w}) -> constant", 2),
    (
        "polynomial",
        lambda o, w, t: hf.get_polynomial_decay_schedule_with_warmup(o, w, t, lr_end=1e-4, power=2.0),  # type: ignore[no-untyped-call]
        "linear({w}) -> polynomial(power=2, to={to})",
        2,
    ),
    ("inverse_sqrt", lambda o, w, t: hf.get_inverse_sqrt_schedule(o, w), "linear({w}) -> inverse-sqrt", 2),
]


@pytest.mark.parametrize(("name", "make_hf", "spec", "horizon"), HF_CASES, ids=[case[0] for case in HF_CASES])
@pytest.mark.parametrize(("warmup", "total"), [(0, 40), (10, 100), (7, 33)])
def test_parity_with_transformers_lambdalr_schedulers(
    name: str,
    make_hf: Callable[[torch.optim.Optimizer, int, int], LambdaLR],
    spec: str,
    horizon: int,
    warmup: int,
    total: int,
) -> None:
    """Hugging Face's schedulers, step by step (the cosine only up to T: past it HF's rises again)."""
    peak = 0.3
    text = spec.format(w=warmup, to=repr(1e-4 / peak))
    open_ended = name in ("constant", "inverse_sqrt")
    hf_optimizer, our_optimizer = make_optimizer((peak,)), make_optimizer((peak,))
    theirs = make_hf(hf_optimizer, warmup, total)
    ours = RampupLR(our_optimizer, text, total_steps=None if open_ended else total)
    for step in range(horizon * total + 1):
        (a,), (b,) = theirs.get_last_lr(), ours.get_last_lr()
        assert math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-15 * peak), (step, a, b)
        for optimizer, scheduler in ((hf_optimizer, theirs), (our_optimizer, ours)):
            optimizer.step()
            scheduler.step()


# ---------------------------------------------------------------------------- warnings


def test_no_warnings_in_normal_use() -> None:
    with no_warnings():
        optimizer = make_optimizer()
        scheduler = RampupLR(optimizer, "linear(5) -> cosine", total_steps=20)
        run(scheduler, optimizer, 25)
        state = save_load(scheduler.state_dict())
        fresh_optimizer = make_optimizer()
        fresh = RampupLR(fresh_optimizer, "linear(5) -> cosine", total_steps=20)
        fresh.load_state_dict(state)
        run(fresh, fresh_optimizer, 5)
        wrapped_optimizer = make_optimizer()
        wrapped = with_warmup(CosineAnnealingLR(wrapped_optimizer, T_max=15), "linear(5)")
        run(wrapped, wrapped_optimizer, 25)


def test_stepping_the_scheduler_before_the_optimizer_warns_as_pytorch_does() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(5) -> cosine", total_steps=20)
    with pytest.warns(UserWarning, match=r"before optimizer\.step\(\)"):
        scheduler.step()


# ---------------------------------------------------------------------------- checkpoints and resume


def test_state_dict_is_plain_data_and_loads_with_weights_only() -> None:
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3)
    scheduler = RampupLR(optimizer, "linear(5%) -> cosine(to=0.1)", total_steps=1000)
    run(scheduler, optimizer, 17)
    state = scheduler.state_dict()
    assert state == {
        "format": 1,
        "schedule": "linear(50) -> cosine(950, to=0.1)",
        "total_steps": 1000,
        "step": 17,
        "step_count": 18,
        "base_lrs": [1e-3],
    }
    checkpoint = {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "scheduler": state}
    loaded = save_load(checkpoint)  # weights_only=True: it raises on anything but plain data and tensors
    assert loaded["scheduler"] == state


def _trajectory(spec: str, total: int | None, steps: int) -> list[list[float]]:
    optimizer = make_optimizer()
    return run(RampupLR(optimizer, spec, total_steps=total), optimizer, steps)


@settings(max_examples=30, deadline=None)
@given(
    case=st.sampled_from(SPECS[:5]),
    stop=st.integers(min_value=0, max_value=239),
    optimizer_first=st.booleans(),
)
def test_resume_at_any_step_reproduces_the_run_exactly(
    case: tuple[str, int | None], stop: int, optimizer_first: bool
) -> None:
    spec, total = case
    steps = 240
    uninterrupted = _trajectory(spec, total, steps)

    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, spec, total_steps=total)
    before = run(scheduler, optimizer, stop)
    checkpoint = save_load({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})

    resumed_optimizer = make_optimizer()
    if optimizer_first:  # the order does not matter: loading the scheduler also writes the rates
        resumed_optimizer.load_state_dict(checkpoint["optimizer"])
        resumed = RampupLR(resumed_optimizer, spec, total_steps=total)
        resumed.load_state_dict(checkpoint["scheduler"])
    else:
        resumed = RampupLR(resumed_optimizer, spec, total_steps=total)
        resumed.load_state_dict(checkpoint["scheduler"])
        resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    after = run(resumed, resumed_optimizer, steps - stop)
    assert before + after == uninterrupted
    assert resumed.last_epoch == steps


def test_resume_with_tensor_rates() -> None:
    optimizer = make_optimizer(tensor_lr=True)
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=50)
    run(scheduler, optimizer, 20)
    checkpoint = save_load({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})
    resumed_optimizer = make_optimizer(tensor_lr=True)
    resumed = RampupLR(resumed_optimizer, "linear(10) -> cosine", total_steps=50)
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    resumed.load_state_dict(checkpoint["scheduler"])
    assert run(resumed, resumed_optimizer, 30) == run(scheduler, optimizer, 30)
    assert all(isinstance(group["lr"], torch.Tensor) for group in resumed_optimizer.param_groups)


def test_resuming_with_another_total_is_an_error_unless_asked_for() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10%) -> cosine", total_steps=100)
    run(scheduler, optimizer, 40)
    state = scheduler.state_dict()

    longer_optimizer = make_optimizer()
    longer = RampupLR(longer_optimizer, "linear(10%) -> cosine", total_steps=200)
    with pytest.raises(RampupError, match=r"total_steps: got 200.*expected 100.*allow_schedule_change=True"):
        longer.load_state_dict(state)
    assert longer.last_epoch == 0  # nothing was loaded

    longer.load_state_dict(state, allow_schedule_change=True)
    assert longer.last_epoch == 40
    assert str(longer.schedule) == "linear(20) -> cosine(180)"
    assert group_lrs(longer_optimizer) == [peak * longer.schedule(40) for peak in PEAKS]
    expected = [[peak * longer.schedule(step) for peak in PEAKS] for step in range(40, 200)]
    assert run(longer, longer_optimizer, 160) == expected


def test_resuming_with_another_schedule_is_an_error() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    other = RampupLR(make_optimizer(), "linear(10) -> linear", total_steps=100)
    with pytest.raises(RampupError, match=r"^schedule: got 'linear\(10\) -> linear\(90\)'"):
        other.load_state_dict(scheduler.state_dict())


def test_loading_a_foreign_or_mismatched_state_dict_is_a_clear_error() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    pytorch_state = CosineAnnealingLR(make_optimizer(), T_max=10).state_dict()
    with pytest.raises(RampupError, match="RampupLR state_dict"):
        scheduler.load_state_dict(pytorch_state)
    one_group = RampupLR(make_optimizer((0.1,)), "linear(10) -> cosine", total_steps=100)
    with pytest.raises(RampupError, match="base_lrs"):
        scheduler.load_state_dict(one_group.state_dict())
    bad_step = {**scheduler.state_dict(), "step": -3}
    with pytest.raises(RampupError, match=r"state_dict\['step'\]: got -3"):
        scheduler.load_state_dict(bad_step)


# ---------------------------------------------------------------------------- tensor learning rates


def test_tensor_rates_are_filled_in_place_without_reading_them_back(monkeypatch: pytest.MonkeyPatch) -> None:
    optimizer = make_optimizer(tensor_lr=True)
    tensors = [group["lr"] for group in optimizer.param_groups]
    pointers = [tensor.data_ptr() for tensor in tensors]
    scheduler = RampupLR(optimizer, "linear(10) -> cosine(to=0.1)", total_steps=40)
    peaks = [float(torch.tensor(peak)) for peak in PEAKS]  # the float32 peaks, read once when built
    assert scheduler.base_lrs == peaks

    def no_sync(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a tensor rate was read back to the host")

    for step in range(1, 45):
        optimizer.step()
        with monkeypatch.context() as patch:
            for name in ("item", "tolist", "__float__", "__bool__", "cpu", "clone"):
                patch.setattr(torch.Tensor, name, no_sync)
            scheduler.step()
            expected = [peak * scheduler.schedule(step) for peak in peaks]
            assert scheduler.get_last_lr() == expected  # floats, no tensor read
        assert [group["lr"] for group in optimizer.param_groups] == tensors  # the same objects...
        assert [tensor.data_ptr() for tensor in tensors] == pointers  # ...same storage
    assert [tensor.dtype for tensor in tensors] == [torch.float32, torch.float32]
    assert [float(tensor) for tensor in tensors] == pytest.approx(expected, rel=1e-7)


def test_float_and_tensor_rates_mixed_and_groups_replaced_along_the_way() -> None:
    """The fast paths remember the groups they last wrote; a mixed list, a replaced rate or group, a new list."""
    params = [torch.nn.Parameter(torch.zeros(2)) for _ in range(3)]
    optimizer = torch.optim.SGD(
        [{"params": [params[0]], "lr": 0.1}, {"params": [params[1]], "lr": torch.tensor(0.2)}], lr=0.1
    )
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=40)
    peaks = list(scheduler.base_lrs)

    def rates() -> list[float]:
        return [float(group["lr"]) for group in optimizer.param_groups]

    for step in range(1, 6):  # mixed: the float replaced, the tensor filled
        optimizer.step()
        scheduler.step()
        assert rates() == pytest.approx([peak * scheduler.schedule(step) for peak in peaks], rel=1e-7)
    optimizer.param_groups[1]["lr"] = torch.tensor(0.2)  # a rate tensor replaced
    optimizer.param_groups[0] = {**optimizer.param_groups[0]}  # a group dict replaced
    for step in range(6, 12):
        optimizer.step()
        scheduler.step()
        assert rates() == pytest.approx([peak * scheduler.schedule(step) for peak in peaks], rel=1e-7)
    floats = RampupLR(make_optimizer(), "linear(10) -> cosine", total_steps=40)
    floats.optimizer.step()
    floats.step()
    floats.optimizer.param_groups[0] = {**floats.optimizer.param_groups[0]}  # a float group replaced
    floats.optimizer.step()
    floats.step()
    assert [group["lr"] for group in floats.optimizer.param_groups] == [
        peak * floats.schedule(2) for peak in floats.base_lrs
    ]


def test_tensor_rates_with_with_warmup_after_the_handover() -> None:
    optimizer = make_optimizer(tensor_lr=True)
    tensors = [group["lr"] for group in optimizer.param_groups]
    scheduler = with_warmup(CosineAnnealingLR(optimizer, T_max=20), "linear(5)")
    run(scheduler, optimizer, 25)
    assert [group["lr"] for group in optimizer.param_groups] == tensors


def _count_compiles(
    make_scheduler: Callable[[torch.optim.Optimizer], Any],
    lr: float | torch.Tensor,
    steps: int,
    scheduler_inside: bool = False,
) -> int:
    """Graphs compiled for a torch.compile'd optimizer step over ``steps`` updates.

    ``scheduler_inside``: the scheduler is stepped inside the compiled function too,
    as in PyTorch's recipe "Running the compiled optimizer with an LR Scheduler".
    """
    from torch._dynamo.testing import CompileCounter
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = torch.nn.Linear(4, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)  # stateless: a recompile could only be the rate
    scheduler = make_scheduler(optimizer)
    counter = CompileCounter()

    @torch.compile(backend=counter, fullgraph=False)
    def optimizer_step() -> None:
        optimizer.step()
        if scheduler_inside:
            scheduler.step()

    inputs = torch.randn(8, 4)
    for _ in range(steps):
        model(inputs).pow(2).mean().backward()
        optimizer_step()
        optimizer.zero_grad()
        if not scheduler_inside:
            scheduler.step()
        rate = scheduler.get_last_lr()[0]
        assert float(optimizer.param_groups[0]["lr"]) == pytest.approx(float(rate), rel=1e-6)  # it took effect
    assert scheduler.last_epoch == steps
    assert counter.op_count > 0  # the graph holds the parameter update: the optimizer step was compiled
    assert counters["stats"]["unique_graphs"] == counter.frame_count  # dynamo's own count agrees
    torch._dynamo.reset()
    return counter.frame_count


def _rampup(optimizer: torch.optim.Optimizer) -> RampupLR:
    return RampupLR(optimizer, "linear(10) -> cosine(to=0.1)", total_steps=30)


def test_compiled_optimizer_step_with_tensor_rates_never_recompiles() -> None:
    """A whole warmup and decay (30 updates) with a tensor lr: compiled once, never again."""
    assert _count_compiles(_rampup, torch.tensor(0.01), steps=30) == 1
    # the control: with a float lr, a changing rate does recompile (the counter sees it)
    assert _count_compiles(_rampup, 0.01, steps=3) > 1


def test_scheduler_stepped_inside_the_compiled_function_is_not_traced() -> None:
    """Like PyTorch's own schedulers, ours run eagerly inside a compiled function: no recompiles."""

    def wrapped(optimizer: torch.optim.Optimizer) -> WarmupScheduler:
        return with_warmup(CosineAnnealingLR(optimizer, T_max=20), "linear(10)")

    assert _count_compiles(_rampup, torch.tensor(0.01), steps=30, scheduler_inside=True) == 1
    assert _count_compiles(wrapped, torch.tensor(0.01), steps=30, scheduler_inside=True) == 1


# ---------------------------------------------------------------------------- with_warmup


def _rates_of(
    scheduler: Any, optimizer: torch.optim.Optimizer, steps: int, metrics: list[float] | None
) -> list[list[float]]:
    seen = []
    for step in range(steps):
        seen.append(group_lrs(optimizer))
        assert scheduler.get_last_lr() == seen[-1]  # the rate in use
        optimizer.step()
        if metrics is None:
            scheduler.step()
        else:
            scheduler.step(metrics[step])
    return seen


INNER: dict[str, Callable[[torch.optim.Optimizer], Any]] = {
    "cosine": lambda o: CosineAnnealingLR(o, T_max=30, eta_min=0.001),
    "step": lambda o: StepLR(o, step_size=7, gamma=0.5),
    "onecycle": lambda o: OneCycleLR(o, max_lr=[0.2, 0.05], total_steps=40),
    "plateau": lambda o: ReduceLROnPlateau(o, factor=0.5, patience=1),
    "rampup": lambda o: RampupLR(o, "cosine(30, to=0.1)"),
}
LOSSES = [1.0 - 0.01 * i if i % 5 else 2.0 for i in range(40)]


@pytest.mark.parametrize("kind", sorted(INNER))
@pytest.mark.parametrize("warmup", ["linear(8)", "exponential(8)", 8, "cosine(8)", "constant(8, from=0.1)"])
def test_with_warmup_in_front_of_any_scheduler(kind: str, warmup: str | int) -> None:
    """Up to W: warmup(step) * the rate the wrapped scheduler set; then exactly the wrapped scheduler, shifted by W."""
    metrics = LOSSES if kind == "plateau" else None
    optimizer = make_optimizer()
    with no_warnings():
        scheduler = with_warmup(INNER[kind](optimizer), warmup)
        seen = _rates_of(scheduler, optimizer, 38, metrics)

    reference_optimizer = make_optimizer()
    reference = INNER[kind](reference_optimizer)
    start = group_lrs(reference_optimizer)
    w = scheduler.warmup_steps
    assert w == 8
    text = f"linear({warmup})" if isinstance(warmup, int) else warmup
    multiplier = rampup.parse(f"{text} -> constant").resolve()
    expected = [[rate * multiplier(step) for rate in start] for step in range(w)]
    shifted = _rates_of(reference, reference_optimizer, 38 - w, metrics[w:] if metrics else None)
    assert seen[:w] == expected
    assert seen[w:] == shifted


def test_with_warmup_matches_transformers_cosine_with_warmup() -> None:
    warmup, total = 10, 100
    optimizer, hf_optimizer = make_optimizer((0.3,)), make_optimizer((0.3,))
    scheduler = with_warmup(CosineAnnealingLR(optimizer, T_max=total - warmup), f"linear({warmup})")
    theirs = hf.get_cosine_schedule_with_warmup(hf_optimizer, warmup, total)
    ours = [rates[0] for rates in run(scheduler, optimizer, total + 1)]
    reference = [rates[0] for rates in run(theirs, hf_optimizer, total + 1)]
    assert ours == pytest.approx(reference, rel=1e-9, abs=1e-15)


def test_with_warmup_has_no_construction_order_trap() -> None:
    """The wrapped scheduler already set its rates (OneCycleLR: max_lr / 25): the warmup climbs to those."""
    optimizer = make_optimizer()
    one_cycle = OneCycleLR(optimizer, max_lr=[0.2, 0.05], total_steps=40)
    assert group_lrs(optimizer) == pytest.approx([0.2 / 25, 0.05 / 25])
    scheduler = with_warmup(one_cycle, "linear(4)")
    assert group_lrs(optimizer) == [0.0, 0.0] == scheduler.get_last_lr()
    run(scheduler, optimizer, 4)
    assert group_lrs(optimizer) == pytest.approx([0.2 / 25, 0.05 / 25], rel=1e-15)
    assert one_cycle.last_epoch == 0  # not stepped during the warmup


@pytest.mark.parametrize("kind", sorted(INNER))
@pytest.mark.parametrize("stop", [0, 3, 8, 9, 20])
def test_with_warmup_state_dict_round_trips_both(kind: str, stop: int) -> None:
    metrics = LOSSES if kind == "plateau" else None
    steps = 30

    def build() -> tuple[torch.optim.Optimizer, WarmupScheduler]:
        optimizer = make_optimizer()
        return optimizer, with_warmup(INNER[kind](optimizer), "linear(8)")

    optimizer, scheduler = build()
    uninterrupted = _rates_of(scheduler, optimizer, steps, metrics)
    optimizer, scheduler = build()
    before = _rates_of(scheduler, optimizer, stop, metrics)
    checkpoint = save_load({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()})
    resumed_optimizer, resumed = build()
    resumed.load_state_dict(checkpoint["scheduler"])
    resumed_optimizer.load_state_dict(checkpoint["optimizer"])
    after = _rates_of(resumed, resumed_optimizer, steps - stop, metrics[stop:] if metrics else None)
    assert before + after == uninterrupted


def test_with_warmup_of_length_zero_is_the_scheduler_itself() -> None:
    optimizer, reference_optimizer = make_optimizer(), make_optimizer()
    scheduler = with_warmup(StepLR(optimizer, step_size=3, gamma=0.5), 0)
    reference = StepLR(reference_optimizer, step_size=3, gamma=0.5)
    assert run(scheduler, optimizer, 12) == run(reference, reference_optimizer, 12)


def test_with_warmup_lengths_in_percent_and_epochs() -> None:
    optimizer = make_optimizer()
    assert with_warmup(StepLR(optimizer, 5), "linear(5%)", total_steps=300).warmup_steps == 15
    optimizer = make_optimizer()
    assert with_warmup(StepLR(optimizer, 5), "cosine(2ep)", steps_per_epoch=50).warmup_steps == 100


# ---------------------------------------------------------------------------- bad input


def test_bad_input_gets_a_clear_rampup_error() -> None:
    optimizer = make_optimizer()
    with pytest.raises(RampupError, match="total_steps"):
        RampupLR(optimizer, "linear(5%) -> cosine")  # a share of a total that was not given
    with pytest.raises(RampupError, match="last_epoch: got -5"):
        RampupLR(optimizer, "linear(10) -> cosine", total_steps=100, last_epoch=-5)
    with pytest.raises(RampupError, match=r"optimizer: got 'Linear', expected a torch\.optim\.Optimizer"):
        RampupLR(torch.nn.Linear(2, 2), "linear(10) -> cosine", total_steps=100)  # type: ignore[arg-type]
    empty = make_optimizer()
    empty.param_groups.clear()
    with pytest.raises(RampupError, match="optimizer: got 'no parameter groups'"):
        RampupLR(empty, "linear(10) -> cosine", total_steps=100)
    with pytest.raises(RampupError, match="schedule"):
        RampupLR(optimizer, 42, total_steps=100)  # type: ignore[arg-type]
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    optimizer.step()
    with pytest.raises(RampupError, match="step: got -1"):
        scheduler.step(-1)
    with pytest.raises(RampupError, match=r"step: got 2\.5"):
        scheduler.step(2.5)  # type: ignore[arg-type]


def test_a_group_added_after_the_scheduler_is_an_error_not_a_silent_skip() -> None:
    optimizer = make_optimizer()
    scheduler = RampupLR(optimizer, "linear(10) -> cosine", total_steps=100)
    optimizer.step()
    scheduler.step()
    optimizer.add_param_group({"params": [torch.nn.Parameter(torch.ones(1))], "lr": 0.3})
    with pytest.raises(RampupError, match=r"optimizer\.param_groups: got '3 groups'"):
        scheduler.step()


def test_with_warmup_bad_input() -> None:
    optimizer = make_optimizer()
    for not_a_scheduler in (None, "cosine", optimizer, RampupLR):
        with pytest.raises(RampupError, match=r"^scheduler: got"):
            with_warmup(not_a_scheduler, "linear(10)")  # type: ignore[arg-type]
    cosine = CosineAnnealingLR(optimizer, T_max=10)
    for not_a_warmup in ("constant(10)", "linear(10) -> cosine(100)", -3, True):
        with pytest.raises(RampupError, match=r"^warmup: got"):
            with_warmup(cosine, not_a_warmup)
    with pytest.raises(RampupError, match="total_steps"):
        with_warmup(cosine, "linear(5%)")
    scheduler = with_warmup(cosine, 0)
    optimizer.step()
    with pytest.raises(RampupError, match=r"^metrics: got 0\.5"):
        scheduler.step(0.5)
    assert scheduler.last_epoch == 0  # a refused call does not advance the clock
    plateau_optimizer = make_optimizer()
    plateau = with_warmup(ReduceLROnPlateau(plateau_optimizer), 0)
    plateau_optimizer.step()
    with pytest.raises(RampupError, match=r"^metrics: got None"):
        plateau.step()


# ---------------------------------------------------------------------------- the module itself


def test_the_module_imports_the_real_torch() -> None:
    assert getattr(rampup_torch, "torch") is torch  # noqa: B009  (not re-exported)
    assert "rampup" not in (torch.__file__ or "")


def test_without_torch_the_import_error_names_the_extra() -> None:
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import rampup.torch\nexcept ImportError as e:\n    print(e)\n"
        "import rampup; print(rampup.parse('linear(5) -> cosine(10)')(5))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'rampup[torch]'" in result.stdout
    assert result.stdout.strip().endswith("1.0")  # the core still works with NumPy alone
