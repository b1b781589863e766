"""Parity with Hugging Face transformers: rampup's multipliers equal ``get_scheduler``'s at every step.

For each scheduler name, :func:`hf_equivalent_spec` writes the rampup spec that
equals ``transformers.get_scheduler(name, optimizer, num_warmup_steps,
num_training_steps, scheduler_specific_kwargs)``. The tests draw random
configurations (warmup 0 included, totals up to 3000 steps, every scheduler
parameter) and compare rampup's values with the ``LambdaLR``'s multiplier
(``lr_lambdas[0](step)``, which ``LambdaLR`` multiplies by the base lr) at every
step from 0 to the total, within 1e-9. The known differences, all at or past
the end of the run, are asserted where they occur and listed in docs/parity.md.
"""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from transformers import TrainingArguments, get_scheduler
from transformers.trainer_utils import SchedulerType

import rampup
from rampup import RampupError
from rampup.durations import format_number

TOL = 1e-9
MAX_TOTAL = 3000


def _warmup_steps(warmup: float, total: int | None) -> int:
    """Hugging Face's ``TrainingArguments.get_warmup_steps``: below 1 a ratio, ``ceil(total * ratio)`` in floats."""
    if warmup >= 1 or warmup == 0:
        return int(warmup)
    if total is None:
        raise RampupError("total", None, "the number of training steps", hint="a warmup ratio below 1 needs it")
    return math.ceil(total * warmup)


def _need_total(name: str, total: int | None) -> int:
    if total is None:
        raise RampupError("total", None, f"num_training_steps: Hugging Face's {name} needs it")
    return total


def _cycles(cycles: float, default: float) -> str:
    return "" if cycles == default else f", cycles={format_number(cycles)}"


def _to(value: float) -> str:
    return "" if value == 0 else f", to={format_number(value)}"


def _from(value: float) -> str:
    return "" if value == 0 else f", from={format_number(value)}"


_KWARGS: dict[str, tuple[str, ...]] = {
    "constant": (),
    "constant_with_warmup": (),
    "linear": (),
    "cosine": ("num_cycles",),
    "cosine_with_restarts": ("num_cycles",),
    "polynomial": ("lr_end", "power", "lr"),
    "inverse_sqrt": ("timescale",),
    "cosine_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "lr"),
    "cosine_warmup_with_min_lr": ("num_cycles", "min_lr", "min_lr_rate", "warmup_lr_rate", "lr"),
    "warmup_stable_decay": (
        "num_decay_steps",
        "num_stable_steps",
        "warmup_type",
        "decay_type",
        "min_lr_ratio",
        "num_cycles",
    ),
}


def hf_equivalent_spec(name: str, warmup: float, total: int | None, **kwargs: Any) -> str:
    """The rampup spec equal to ``transformers.get_scheduler(name, ...)`` (Hugging Face transformers 5.x).

    ``warmup`` is ``num_warmup_steps`` (below 1: a ratio, rounded as
    ``TrainingArguments.get_warmup_steps`` does, ``ceil(total * ratio)`` in
    floating point), ``total`` is ``num_training_steps`` and ``kwargs`` are the
    ``scheduler_specific_kwargs``, plus ``lr`` (the optimizer's learning rate,
    Hugging Face's ``lr_init``) where an absolute ``lr_end`` or ``min_lr`` is
    given. Every length in the result is in steps, so it needs no resolving.
    The formulas are transformers' ``optimization.py``; the differences past the
    end of the run are in docs/parity.md.
    """
    name = str(getattr(name, "value", name))
    if name not in _KWARGS:
        raise RampupError(
            "name",
            name,
            f"a transformers scheduler with a rampup equivalent: {', '.join(_KWARGS)}",
            hint="reduce_lr_on_plateau and greedy follow a metric, not the step",
        )
    for key, value in kwargs.items():
        if key not in _KWARGS[name]:
            raise RampupError(f"{name}: {key}", value, f"one of {', '.join(_KWARGS[name]) or 'no parameters'}")
    if name == "constant":
        return "constant"
    w = _warmup_steps(warmup, total)
    if name == "constant_with_warmup":
        return f"linear({w}) -> constant"
    if name == "inverse_sqrt":
        timescale = kwargs.get("timescale")
        # same default as Hugging Face: the warmup length, or 10000 without a warmup
        return f"linear({w}) -> inverse-sqrt" + ("" if timescale is None else f"(timescale={int(timescale)})")
    if name == "warmup_stable_decay":
        decay = int(kwargs["num_decay_steps"])
        stable = kwargs.get("num_stable_steps")
        stable = _need_total(name, total) - w - decay if stable is None else int(stable)
        ratio = float(kwargs.get("min_lr_ratio", 0.0))
        decay_type = kwargs.get("decay_type", "cosine")
        cycles = _cycles(float(kwargs.get("num_cycles", 0.5)), 0.5) if decay_type == "cosine" else ""
        return (
            f"{kwargs.get('warmup_type', 'linear')}({w}{_from(ratio)}) -> constant({stable})"
            f" -> {decay_type}({decay}{cycles}{_to(ratio)})"
        )
    t = _need_total(name, total)
    if name == "linear":
        return f"linear({w}) -> linear({t - w})"
    if name == "cosine":
        return f"linear({w}) -> cosine({t - w}{_cycles(float(kwargs.get('num_cycles', 0.5)), 0.5)})"
    if name == "cosine_with_restarts":
        return f"linear({w}) -> cosine-restarts({t - w}{_cycles(float(kwargs.get('num_cycles', 1)), 1.0)})"
    if name == "polynomial":
        lr = kwargs.get("lr")
        if lr is None:
            raise RampupError("lr", None, "the optimizer's learning rate: lr_end is absolute")
        lr_end = float(kwargs.get("lr_end", 1e-7))
        if not lr > lr_end:
            raise RampupError("lr_end", lr_end, f"less than the learning rate {lr}")
        power = float(kwargs.get("power", 1.0))
        power_text = "" if power == 1 else f", power={format_number(power)}"
        return f"linear({w}) -> polynomial({t - w}{power_text}{_to(lr_end / lr)})"
    # cosine_with_min_lr and cosine_warmup_with_min_lr
    if kwargs.get("min_lr") is not None:
        if kwargs.get("lr") is None:
            raise RampupError("lr", None, "the optimizer's learning rate: min_lr is absolute")
        floor = float(kwargs["min_lr"]) / float(kwargs["lr"])
    else:
        floor = float(kwargs.get("min_lr_rate", 0.0))
    cycles = _cycles(float(kwargs.get("num_cycles", 0.5)), 0.5)
    if name == "cosine_with_min_lr":
        return f"linear({w}) -> cosine({t - w}{cycles}{_to(floor)})"
    # cosine_warmup_with_min_lr counts one step ahead: warmup (s + 1) / W, peak at step W - 1, floor at T - 1
    rate = kwargs.get("warmup_lr_rate")
    if w < (1 if rate is None else 2):
        raise RampupError(
            "num_warmup_steps",
            w,
            "at least 1 (2 with warmup_lr_rate)",
            hint="with a shorter warmup Hugging Face's cosine_warmup_with_min_lr starts inside its cosine",
        )
    start = 1.0 / w if rate is None else float(rate)
    return f"linear({w - 1}{_from(start)}) -> cosine({t - w}{cycles}{_to(floor)})"


# --------------------------------------------------------------------------- configurations


def _optimizer(lr: float) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=lr)


def _hf_scheduler(name: str, config: dict[str, Any]) -> torch.optim.lr_scheduler.LRScheduler:
    return get_scheduler(
        name,
        _optimizer(config["lr"]),
        num_warmup_steps=config["hf_warmup"],
        num_training_steps=config["hf_total"],
        scheduler_specific_kwargs=config["kwargs"],
    )


def _spec(name: str, config: dict[str, Any]) -> str:
    kwargs = dict(config["kwargs"])
    if name in ("polynomial", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["lr"] = config["lr"]
    # the total as Trainer knows it (it turns a warmup ratio into steps), even where the scheduler ignores it
    return hf_equivalent_spec(name, config["warmup"], config["total"], **kwargs)


@st.composite
def hf_configs(draw: st.DrawFn, name: str) -> dict[str, Any]:
    """A random configuration of one transformers scheduler, as Trainer would build it."""
    total = draw(st.integers(1, MAX_TOTAL))
    # the warmup: none, short, anywhere up to the end, or a ratio as TrainingArguments.warmup_steps < 1 takes it
    warmup: float = draw(
        st.one_of(
            st.just(0),
            st.integers(0, min(total, 50)),
            st.integers(0, total),
            st.floats(0.001, 0.999),
        )
    )
    hf_warmup = TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=warmup), total)
    lr = draw(st.floats(1e-6, 1.0))
    kwargs: dict[str, Any] = {}
    hf_total: int | None = total
    if name in ("polynomial", "warmup_stable_decay", "cosine_warmup_with_min_lr"):
        # polynomial divides by the decay length (W = T raises ZeroDivisionError in transformers);
        # WSD needs room for its decay; cosine_warmup_with_min_lr needs its decay to start after the warmup
        assume(hf_warmup < total)
    if name == "cosine":
        kwargs["num_cycles"] = draw(st.one_of(st.just(0.5), st.floats(0.05, 3.0)))
    elif name == "cosine_with_restarts":
        kwargs["num_cycles"] = draw(st.one_of(st.integers(1, 8), st.floats(0.2, 5.0)))
    elif name == "polynomial":
        kwargs["power"] = draw(st.one_of(st.just(1.0), st.floats(0.1, 5.0)))
        if draw(st.booleans()):  # else transformers' default lr_end = 1e-7
            kwargs["lr_end"] = lr * draw(st.floats(0.0, 0.99))
    elif name == "inverse_sqrt":
        if draw(st.booleans()):
            kwargs["timescale"] = draw(st.integers(1, 20_000))
        hf_total = None  # transformers' inverse_sqrt has no end
    elif name in ("cosine_with_min_lr", "cosine_warmup_with_min_lr"):
        kwargs["num_cycles"] = draw(st.one_of(st.just(0.5), st.floats(0.05, 2.0)))
        if draw(st.booleans()):
            kwargs["min_lr_rate"] = draw(st.floats(0.0, 1.0))
        else:
            kwargs["min_lr"] = lr * draw(st.floats(0.0, 1.0))
        if name == "cosine_warmup_with_min_lr":
            assume(hf_warmup >= 1)
            if hf_warmup >= 2 and draw(st.booleans()):
                kwargs["warmup_lr_rate"] = draw(st.floats(0.0, 1.0))
    elif name == "warmup_stable_decay":
        decay = draw(st.integers(1, total - hf_warmup))
        kwargs["num_decay_steps"] = decay
        if draw(st.booleans()):  # give the stable length instead of the total
            kwargs["num_stable_steps"] = total - hf_warmup - decay
            hf_total = None
        kwargs["warmup_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        kwargs["decay_type"] = draw(st.sampled_from(["linear", "cosine", "1-sqrt"]))
        kwargs["min_lr_ratio"] = draw(st.one_of(st.just(0.0), st.floats(0.0, 1.0)))
        kwargs["num_cycles"] = draw(st.one_of(st.just(0.5), st.just(1.5), st.floats(0.05, 3.0)))
    return {
        "total": total,
        "warmup": warmup,
        "hf_warmup": hf_warmup,
        "hf_total": hf_total,
        "lr": lr,
        "kwargs": kwargs,
    }


def known_end_difference(name: str, config: dict[str, Any], schedule: rampup.Schedule) -> bool:
    """Whether step T (the total: after the last update) is one of the differences in docs/parity.md.

    - ``linear`` with ``num_warmup_steps == num_training_steps``: transformers' decay over
      ``max(1, 0)`` steps gives 0 at T; rampup's ``linear(T) -> linear(0)`` has no decay and holds 1.
    - ``warmup_stable_decay`` drops to ``min_lr_ratio`` at T even where its curve ends elsewhere
      (a cosine whose ``num_cycles`` is not 0.5, 1.5, ...); rampup holds the value its curve ends at.
    - ``cosine_warmup_with_min_lr`` reaches its floor at T - 1 and rises again at T (as ``cosine`` does past T).
    """
    if name == "linear":
        return bool(config["hf_warmup"] == config["total"])
    if name == "warmup_stable_decay":
        return abs(schedule.final_value() - config["kwargs"].get("min_lr_ratio", 0.0)) > TOL
    return name == "cosine_warmup_with_min_lr"


# --------------------------------------------------------------------------- tests

PARITY_NAMES = [
    "linear",
    "cosine",
    "cosine_with_restarts",
    "polynomial",
    "constant_with_warmup",
    "inverse_sqrt",
    "warmup_stable_decay",
    "cosine_with_min_lr",
    "cosine_warmup_with_min_lr",
]


@pytest.mark.parametrize("name", PARITY_NAMES)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_every_step_equals_transformers(name: str, data: st.DataObject) -> None:
    config = data.draw(hf_configs(name), label="config")
    total = config["total"]
    spec = _spec(name, config)
    schedule = rampup.parse(spec)
    open_ended = schedule.total_steps is None  # constant_with_warmup and inverse_sqrt run forever in both
    horizon = 2 * total if open_ended else total
    steps = np.arange(horizon + 1)
    lam = _hf_scheduler(name, config).lr_lambdas[0]
    expected = np.array([float(lam(int(s))) for s in steps])
    got = schedule.values(steps)
    if known_end_difference(name, config, schedule):
        # the T updates of the run use steps 0..T-1, which all agree; step T is a documented difference
        if name == "linear":
            assert (got[total], expected[total]) == (1.0, 0.0)
        elif name == "warmup_stable_decay":
            assert expected[total] == config["kwargs"].get("min_lr_ratio", 0.0)
            assert got[total] == schedule.final_value()
        steps, got, expected = steps[:total], got[:total], expected[:total]
    worst = int(np.argmax(np.abs(got - expected))) if len(steps) else 0
    assert np.allclose(got, expected, rtol=0.0, atol=TOL), (spec, config, worst, got[worst], expected[worst])


def test_fixed_edges_equal_transformers() -> None:
    """Hand-picked edges: one-step runs, warmup to the last step, warmup equal to the total."""
    cases: list[tuple[str, int, int, dict[str, Any]]] = [
        ("linear", 0, 1, {}),
        ("linear", 1, 1, {}),
        ("linear", 99, 100, {}),
        ("cosine", 100, 100, {}),
        ("cosine", 0, 1, {"num_cycles": 2.0}),
        ("cosine_with_restarts", 100, 100, {"num_cycles": 3}),
        ("cosine_with_restarts", 0, 7, {"num_cycles": 7}),
        ("polynomial", 0, 1, {"power": 2.0, "lr_end": 0.0}),
        ("constant_with_warmup", 1, 1, {}),
        ("inverse_sqrt", 0, 50, {}),
        ("inverse_sqrt", 1, 50, {"timescale": 1}),
        ("warmup_stable_decay", 0, 1, {"num_decay_steps": 1}),
        ("warmup_stable_decay", 5, 6, {"num_decay_steps": 1, "decay_type": "1-sqrt", "min_lr_ratio": 0.5}),
    ]
    for name, warmup, total, kwargs in cases:
        config = {
            "total": total,
            "warmup": warmup,
            "hf_warmup": warmup,
            "hf_total": None if name == "inverse_sqrt" else total,
            "lr": 0.1,
            "kwargs": kwargs,
        }
        schedule = rampup.parse(_spec(name, config))
        lam = _hf_scheduler(name, config).lr_lambdas[0]
        end = total if known_end_difference(name, config, schedule) else total + 1
        for step in range(end):
            assert schedule(step) == pytest.approx(float(lam(step)), abs=TOL), (name, warmup, total, step)


REAL_SEQUENCES: list[tuple[str, int, int, dict[str, Any]]] = [
    ("linear", 30, 200, {}),
    ("cosine", 20, 150, {"num_cycles": 0.5}),
    ("cosine_with_restarts", 10, 120, {"num_cycles": 3}),
    ("polynomial", 15, 100, {"power": 2.0, "lr_end": 1e-4}),
    ("constant_with_warmup", 25, 80, {}),
    ("inverse_sqrt", 40, 300, {}),
    ("warmup_stable_decay", 10, 100, {"num_decay_steps": 20, "min_lr_ratio": 0.1, "warmup_type": "cosine"}),
    ("cosine_with_min_lr", 10, 100, {"min_lr_rate": 0.1}),
    ("cosine_warmup_with_min_lr", 10, 100, {"min_lr_rate": 0.1}),
]


@pytest.mark.parametrize(("name", "warmup", "total", "kwargs"), REAL_SEQUENCES)
def test_stepping_the_real_scheduler_gives_the_same_rates(
    name: str, warmup: int, total: int, kwargs: dict[str, Any]
) -> None:
    """``optimizer.step(); scheduler.step()`` as Trainer does: ``get_last_lr`` is the lambda, and rampup's."""
    lr = 3e-3
    config = {"total": total, "warmup": warmup, "hf_warmup": warmup, "hf_total": total, "lr": lr, "kwargs": kwargs}
    if name == "inverse_sqrt":
        config["hf_total"] = None
    scheduler = _hf_scheduler(name, config)
    optimizer = scheduler.optimizer
    schedule = rampup.parse(_spec(name, config))
    last = total - 1 if name == "cosine_warmup_with_min_lr" else total
    for step in range(last + 1):
        rate = scheduler.get_last_lr()[0]
        assert rate == pytest.approx(lr * float(scheduler.lr_lambdas[0](step)), rel=1e-12, abs=1e-15)
        assert rate / lr == pytest.approx(schedule(step), abs=TOL), (name, step)
        assert optimizer.param_groups[0]["lr"] == rate
        optimizer.step()
        scheduler.step()


def test_constant_is_constant() -> None:
    lam = get_scheduler("constant", _optimizer(0.1)).lr_lambdas[0]
    schedule = rampup.parse(hf_equivalent_spec("constant", 0, None))
    assert all(schedule(s) == float(lam(s)) == 1.0 for s in range(0, 5000, 7))


def test_a_spec_for_every_scheduler_type() -> None:
    """Every transformers scheduler name has a spec, except the two that follow a metric instead of the step."""
    metric_driven = {"reduce_lr_on_plateau", "greedy"}
    for scheduler_type in SchedulerType:
        if scheduler_type.value in metric_driven:
            with pytest.raises(RampupError, match="follow a metric"):
                hf_equivalent_spec(scheduler_type, 10, 100)
            continue
        kwargs: dict[str, Any] = {}
        if scheduler_type.value == "warmup_stable_decay":
            kwargs = {"num_decay_steps": 10}
        elif scheduler_type.value in ("polynomial", "cosine_with_min_lr", "cosine_warmup_with_min_lr"):
            kwargs = {"lr": 1e-3, "min_lr": 1e-4} if "min_lr" in scheduler_type.value else {"lr": 1e-3}
        spec = hf_equivalent_spec(scheduler_type, 10, 100, **kwargs)
        assert str(rampup.parse(spec)) == spec  # already canonical: the table in docs/parity.md prints these


def test_warmup_ratio_rounds_as_trainer_does() -> None:
    """A ratio below 1 becomes ``ceil(total * ratio)`` as in Trainer: 0.07 of 100 is 8 there (7.000000000000001).

    rampup's own ``7%`` of 100 is 7 steps (durations round within 1e-9), so a spec written with a
    percentage can be one step shorter than Trainer's warmup; hf_equivalent_spec gives Trainer's.
    """
    assert TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=0.07), 100) == 8
    assert hf_equivalent_spec("linear", 0.07, 100) == "linear(8) -> linear(92)"
    assert rampup.parse("linear(7%) -> linear").resolve(total_steps=100).warmup_steps == 7
    for ratio, total in [(0.1, 1000), (0.03, 3333), (0.05, 20), (0.5, 7)]:
        hf_warmup = TrainingArguments.get_warmup_steps(SimpleNamespace(warmup_steps=ratio), total)
        assert rampup.parse(hf_equivalent_spec("cosine", ratio, total)).warmup_steps == hf_warmup


def test_cosine_past_the_end_rises_in_transformers_and_holds_in_rampup() -> None:
    """The difference beyond T: transformers' cosine goes on (back up to the peak at 2T - W); rampup holds 0."""
    warmup, total = 10, 110
    lam = get_scheduler("cosine", _optimizer(0.1), warmup, total).lr_lambdas[0]
    schedule = rampup.parse(hf_equivalent_spec("cosine", warmup, total))
    assert lam(2 * total - warmup) == pytest.approx(1.0)
    assert schedule(2 * total - warmup) == schedule(total) == pytest.approx(0.0, abs=1e-15)
    # inside the run, cycles > 0.5 rise again in both
    lam2 = get_scheduler("cosine", _optimizer(0.1), 0, 100, {"num_cycles": 1.0}).lr_lambdas[0]
    schedule2 = rampup.parse(hf_equivalent_spec("cosine", 0, 100, num_cycles=1.0))
    assert schedule2(75) == pytest.approx(lam2(75)) == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("linear", {"num_cycles": 2}),
        ("polynomial", {}),
        ("polynomial", {"lr": 1e-8}),
        ("warmup_stable_decay", {"num_decay_steps": 10, "lr": 1.0}),
        ("cosine_with_min_lr", {"min_lr": 1e-5}),
    ],
)
def test_helper_rejects_what_it_cannot_map(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(RampupError):
        hf_equivalent_spec(name, 10, 100, **kwargs)


def test_helper_needs_the_total_and_a_warmup_for_shifted_cosine() -> None:
    with pytest.raises(RampupError, match="num_training_steps"):
        hf_equivalent_spec("linear", 10, None)
    with pytest.raises(RampupError, match="num_warmup_steps"):
        hf_equivalent_spec("cosine_warmup_with_min_lr", 0, 100, min_lr_rate=0.1)
    with pytest.raises(RampupError, match="num_warmup_steps"):
        hf_equivalent_spec("cosine_warmup_with_min_lr", 1, 100, min_lr_rate=0.1, warmup_lr_rate=0.5)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(data=st.data())
def test_inspect_reads_cosine_warmup_with_min_lr(data: st.DataObject) -> None:
    """``rampup inspect``'s reader (rampup.conventions.hf) of ``cosine_warmup_with_min_lr``: transformers' rate at
    every update of the run, and an exact spec (runs of more than 2 updates)."""
    import json

    from rampup.conventions import RunSize
    from rampup.inspect import inspect_text

    config = data.draw(hf_configs("cosine_warmup_with_min_lr"), label="config")
    total = config["total"]
    assume(total > 2)
    lam = _hf_scheduler("cosine_warmup_with_min_lr", config).lr_lambdas[0]
    expected = np.array([float(lam(step)) for step in range(total)])
    args = {"learning_rate": config["lr"], "lr_scheduler_type": "cosine_warmup_with_min_lr", "max_steps": total}
    args.update(warmup_steps=config["hf_warmup"], lr_scheduler_kwargs=config["kwargs"])
    imported = inspect_text(json.dumps(args), "args.json", "hf", RunSize())
    assert np.all(np.abs(imported.multipliers - expected) <= TOL * np.abs(expected) + 1e-15)
    assert imported.spec is not None, imported.findings
    ours = rampup.parse(imported.spec).values(np.arange(total))
    assert np.all(np.abs(ours - expected) <= TOL * np.abs(expected) + 1e-15)
