"""The warmup finder: choose a warmup from the model itself, with probes and pilot runs.

Rules of thumb do not know the model. :func:`find_warmup` measures it, in two stages, always from the
same initial weights and on the same batches (it leaves the model as it found it):

1. **The critical rate at initialization** (Kalra & Barkeshli 2024, "Why Warmup the Learning Rate?
   Underlying Mechanisms and Improvements", NeurIPS 2024): one optimizer step at rate ``r`` from the
   initial weights, on the first batch, is *unstable* when the held-out loss afterwards is above
   ``(1 + probe_tolerance) * L0`` or not finite (``L0``: the held-out loss at initialization). ``r``
   starts at ``target_lr / 64`` and doubles until a step is unstable (up to ``64 * target_lr``), then
   ``bisections`` geometric bisections narrow the edge: the critical rate ``r_c`` is the largest
   stable rate found. When ``r_c < target_lr`` the warmup starts below the edge, at
   ``from = start_fraction * r_c / target_lr`` (they start warmup at the critical rate rather than
   at 0; ``start_fraction`` keeps a margin); otherwise it starts at 0 as usual.

2. **A warmup range test** (pilot runs; in the spirit of Smith 2017's learning-rate range test):
   for each candidate length ``W`` (``shares`` of the run, 0 included), the schedule
   ``linear(W, from=...) -> decay`` is run for ``pilot_steps`` updates (default 40% of the run) and
   scored by its held-out loss at the end. Candidates within ``tolerance`` (5%) of the best score
   (and below ``L0``) are healthy; a warmup that fails (diverges, or collapses onto a poor solution
   it never leaves) ends far above. The finder takes the **longest** healthy length (at most
   ``max_share`` of the run): within the pilots' horizon a longer warmup only looks a little worse
   because it has used less of the rate so far, while over the whole run it is the safer and, at a
   high rate, usually the better choice (on the lab's tasks the longest healthy warmup was within
   2% of the best of a grid of full runs, docs/finder.md). Stage 1 alone is not enough: on the lab's
   Post-LN task one step is stable up to ten times the target rate, yet without warmup training
   collapses within 20 steps; the pilots see that.

When the probes are inconclusive (every pilot diverged or ended above ``L0``), the finder falls back
to the advisor (:func:`rampup.recommend`) and says so in its reasons.

The answer is a :class:`WarmupFinding`: the advisor's :class:`~rampup.advisor.Recommendation`
with the evidence (rates tried and losses seen, every pilot's curve and score) and a plot.
PyTorch is imported only when the finder runs.
"""

from __future__ import annotations

import copy
import itertools
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any

from rampup.advisor import Alternative, Reason, Recommendation, exports_for, recommend
from rampup.durations import format_number
from rampup.errors import RampupError
from rampup.schedule import as_schedule

if TYPE_CHECKING:
    import torch

__all__ = ["FinderEvidence", "Pilot", "Probe", "WarmupFinding", "find_warmup"]

SRC_CRITICAL = (
    "Kalra & Barkeshli 2024, Why Warmup the Learning Rate? Underlying Mechanisms and Improvements "
    "(NeurIPS 2024, arXiv:2406.09405): estimate the critical rate at initialization and warm up from below it"
)
SRC_PILOTS = (
    "rampup's warmup range test (docs/finder.md), after Smith 2017's learning-rate range test "
    "(Cyclical Learning Rates for Training Neural Networks, arXiv:1506.01186)"
)
#: default warmup lengths tried, as shares of the run
DEFAULT_SHARES = (0.0, 0.0125, 0.025, 0.05, 0.1, 0.2, 0.4)
#: held-out batches taken from ``batches`` when no ``eval_batches`` are given
DEFAULT_EVAL_BATCHES = 4
#: how far the rate probes go, in powers of 2 either side of the target
PROBE_RANGE = 6


@dataclass(frozen=True)
class Probe:
    """One step at ``rate`` from the initial weights: the held-out loss after it, and whether it was stable."""

    rate: float
    loss: float | None
    stable: bool


@dataclass(frozen=True)
class Pilot:
    """One pilot run: the warmup tried, its training losses, its held-out score, and the verdict."""

    warmup_steps: int
    spec: str
    score: float | None
    healthy: bool
    train_losses: tuple[float | None, ...] = field(repr=False)


@dataclass(frozen=True)
class FinderEvidence:
    """What the finder measured: the probes, the critical rate, the pilots, and what it concluded."""

    target_lr: float
    initial_loss: float
    probes: tuple[Probe, ...]
    critical_lr: float | None
    critical_bounded: bool
    start_fraction: float
    pilot_steps: int
    pilots: tuple[Pilot, ...]
    tolerance: float
    chosen_steps: int
    inconclusive: str | None
    wall_s: float

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["probes"] = [asdict(probe) for probe in self.probes]
        data["pilots"] = [{**asdict(pilot), "train_losses": list(pilot.train_losses)} for pilot in self.pilots]
        return data


@dataclass(frozen=True)
class WarmupFinding(Recommendation):
    """The finder's answer: a :class:`~rampup.advisor.Recommendation` with the probes' evidence."""

    evidence: FinderEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["evidence"] = None if self.evidence is None else self.evidence.to_dict()
        return data

    def plot(self, path: str | None = None) -> Any:
        """The evidence in two panels (one-step probes; pilot losses), as ``(figure, axes)``; ``path`` saves a PNG."""
        from rampup.plotting import plot_finding

        return plot_finding(self, path)


# ---------------------------------------------------------------------------------------------- checks


def _positive(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise RampupError(name, value, "a number > 0")
    return float(value)


def _whole(name: str, value: object, lowest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise RampupError(name, value, f"a whole number >= {lowest}")
    return value


def _shares(shares: object, max_share: float) -> tuple[float, ...]:
    try:
        values = tuple(float(share) for share in shares)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        raise RampupError("shares", shares, "a list of warmup shares of the run, e.g. [0, 0.05, 0.1]") from None
    if not values or any(not (0 <= share <= max_share) for share in values):
        raise RampupError("shares", list(values), f"shares between 0 and max_share ({format_number(max_share)})")
    return tuple(sorted(set(values)))


def _take(batches: Iterable[Any], count: int, name: str) -> list[Any]:
    """``count`` batches from ``batches``, cycling through them when there are fewer."""
    try:
        taken = list(itertools.islice(iter(batches), count))
    except TypeError:
        raise RampupError(name, type(batches).__name__, "an iterable of batches (a list, a DataLoader...)") from None
    if not taken:
        raise RampupError(name, "no batches", "at least one batch")
    return list(itertools.islice(itertools.cycle(taken), count))


def _count_batches(batches: Iterable[Any]) -> int:
    """All of a sized collection of held-out batches; 4 from an unsized iterable."""
    return len(batches) if isinstance(batches, Sized) else DEFAULT_EVAL_BATCHES


# ---------------------------------------------------------------------------------------------- the runs


class _Bench:
    """The model, its initial weights, the batches and the user's functions: runs from the same start."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
        make_optimizer: Callable[[Iterable[torch.nn.Parameter], float], torch.optim.Optimizer],
        train: list[Any],
        held_out: list[Any],
        seed: int,
    ) -> None:
        self.model = model
        self.loss_fn = loss_fn
        self.make_optimizer = make_optimizer
        self.train = train
        self.held_out = held_out
        self.seed = seed
        self.initial = copy.deepcopy(model.state_dict())

    def restart(self, lr: float) -> torch.optim.Optimizer:
        import torch

        self.model.load_state_dict(self.initial)
        self.model.train()
        torch.manual_seed(self.seed)
        optimizer = self.make_optimizer(self.model.parameters(), lr)
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise RampupError("make_optimizer", type(optimizer).__name__, "a function (parameters, lr) -> Optimizer")
        return optimizer

    def held_out_loss(self) -> float:
        import torch

        was_training = self.model.training
        self.model.eval()
        with torch.no_grad():
            total = sum(float(self.loss_fn(self.model, batch)) for batch in self.held_out)
        self.model.train(was_training)
        return total / len(self.held_out)

    def update(self, optimizer: torch.optim.Optimizer, batch: Any) -> float:
        loss = self.loss_fn(self.model, batch)
        value = float(loss.detach())
        optimizer.zero_grad(set_to_none=True)
        if math.isfinite(value):
            loss.backward()  # type: ignore[no-untyped-call]
            optimizer.step()
        return value

    def probe(self, rate: float, limit: float) -> Probe:
        """One step at ``rate`` from the initial weights; stable when the held-out loss stays below ``limit``."""
        optimizer = self.restart(rate)
        self.update(optimizer, self.train[0])
        loss = self.held_out_loss()
        finite = math.isfinite(loss)
        return Probe(rate, loss if finite else None, finite and loss <= limit)

    def pilot(
        self, spec: str, target_lr: float, total_steps: int, steps: int
    ) -> tuple[float | None, list[float | None]]:
        from rampup.torch import RampupLR

        optimizer = self.restart(target_lr)
        scheduler = RampupLR(optimizer, spec, total_steps=total_steps)
        losses: list[float | None] = []
        for batch in self.train[:steps]:
            value = self.update(optimizer, batch)
            if not math.isfinite(value):
                losses.append(None)
                return None, losses
            losses.append(value)
            scheduler.step()
        score = self.held_out_loss()
        return (score if math.isfinite(score) else None), losses


def _critical_rate(
    bench: _Bench, target: float, limit: float, bisections: int
) -> tuple[list[Probe], float | None, bool]:
    """Probes up from ``target / 64`` by doubling, then geometric bisection: (probes, r_c, bounded)."""
    probes: list[Probe] = []
    rate = target / 2**PROBE_RANGE
    stable: float | None = None
    unstable: float | None = None
    while rate <= target * 2**PROBE_RANGE:
        probe = bench.probe(rate, limit)
        probes.append(probe)
        if not probe.stable:
            unstable = rate
            break
        stable = rate
        rate *= 2
    if unstable is None:
        return probes, stable, False
    if stable is None:  # even the smallest rate was unstable
        return probes, None, True
    for _ in range(bisections):
        middle = math.sqrt(stable * unstable)
        probe = bench.probe(middle, limit)
        probes.append(probe)
        if probe.stable:
            stable = middle
        else:
            unstable = middle
    return probes, stable, True


def _warmup_spec(steps: int, start: float, decay: str) -> str:
    if steps == 0:
        return decay
    start_text = f", from={format_number(round(start, 4))}" if start > 0 else ""
    return f"linear({steps}{start_text}) -> {decay}"


# ---------------------------------------------------------------------------------------------- the finder


def find_warmup(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    batches: Iterable[Any],
    make_optimizer: Callable[[Iterable[torch.nn.Parameter], float], torch.optim.Optimizer],
    target_lr: float,
    *,
    total_steps: int,
    decay: str = "cosine",
    eval_batches: Iterable[Any] | None = None,
    pilot_steps: int | None = None,
    shares: Sequence[float] = DEFAULT_SHARES,
    tolerance: float = 0.05,
    max_share: float = 0.5,
    probe_tolerance: float = 0.0,
    bisections: int = 4,
    start_fraction: float = 0.5,
    seed: int = 0,
    fallback: Mapping[str, Any] | None = None,
) -> WarmupFinding:
    """Choose a warmup for ``model`` at peak rate ``target_lr`` from probes and pilot runs (module docstring).

    Args:
        model: the model, at its initial weights (it is restored to them at the end).
        loss_fn: ``loss_fn(model, batch)`` -> a scalar loss tensor.
        batches: training batches; the first ``pilot_steps`` are used, in order, by every pilot
            (cycled when there are fewer). Unless ``eval_batches`` is given, the next 4 are held out.
        make_optimizer: ``make_optimizer(parameters, lr)`` -> a fresh optimizer (called for every run).
        target_lr: the peak learning rate the run will use.
        total_steps: the run's optimizer updates; the warmup shares and the decay refer to it.
        decay: spec text of what follows the warmup (``"cosine(to=0.1)"``).
        pilot_steps: updates per pilot run (default 40% of the run, at least 20).
        shares, tolerance, max_share: the candidates and the choice (module docstring).
        probe_tolerance, bisections, start_fraction: the critical-rate probe (module docstring).
        seed: ``torch.manual_seed`` before every run (dropout and the like), restored afterwards.
        fallback: keyword arguments for :func:`rampup.recommend` when the probes are inconclusive.
    """
    import torch

    start_time = time.perf_counter()
    if not isinstance(model, torch.nn.Module):
        raise RampupError("model", type(model).__name__, "a torch.nn.Module")
    if not callable(loss_fn):
        raise RampupError("loss_fn", type(loss_fn).__name__, "a function (model, batch) -> loss tensor")
    if not callable(make_optimizer):
        raise RampupError("make_optimizer", type(make_optimizer).__name__, "a function (parameters, lr) -> Optimizer")
    target = _positive("target_lr", target_lr)
    total = _whole("total_steps", total_steps, 2)
    tolerance = _positive("tolerance", tolerance)
    max_share = _positive("max_share", max_share)
    if max_share > 1:
        raise RampupError("max_share", max_share, "a share of the run in (0, 1]")
    candidates_shares = _shares(shares, max_share)
    if probe_tolerance < 0 or not math.isfinite(probe_tolerance):
        raise RampupError("probe_tolerance", probe_tolerance, "a relative rise of the loss >= 0")
    bisections = _whole("bisections", bisections, 0)
    start_fraction = _positive("start_fraction", start_fraction)
    as_schedule(decay).resolve(total)  # a bad decay fails here, before any run
    steps = max(20, math.ceil(0.4 * total)) if pilot_steps is None else _whole("pilot_steps", pilot_steps, 1)
    steps = min(steps, total)
    train = _take(batches, steps + (0 if eval_batches is not None else DEFAULT_EVAL_BATCHES), "batches")
    if eval_batches is not None:
        held_out = _take(eval_batches, _count_batches(eval_batches), "eval_batches")
    else:
        train, held_out = train[:steps], train[steps:]

    rng_state = torch.random.get_rng_state()
    bench = _Bench(model, loss_fn, make_optimizer, train, held_out, seed)
    try:
        bench.restart(target)
        initial_loss = bench.held_out_loss()
        if not math.isfinite(initial_loss):
            raise RampupError("loss_fn", initial_loss, "a finite loss at the initial weights")
        limit = initial_loss * (1 + probe_tolerance)
        probes, critical, bounded = _critical_rate(bench, target, limit, bisections)
        start = 0.0  # below the target only when the probes found the edge there
        if critical is not None and critical < target:
            start = min(1.0, start_fraction * critical / target)
        lengths = sorted({math.ceil(share * total) for share in candidates_shares})
        pilots: list[Pilot] = []
        for length in lengths:
            spec = _warmup_spec(length, start, decay)
            score, losses = bench.pilot(spec, target, total, steps)
            pilots.append(Pilot(length, spec, score, False, tuple(losses)))
    finally:
        model.load_state_dict(bench.initial)
        torch.random.set_rng_state(rng_state)

    scores = [p.score for p in pilots if p.score is not None and p.score < initial_loss]
    best = min(scores) if scores else None
    pilots = [
        replace(
            p,
            healthy=best is not None
            and p.score is not None
            and p.score <= best * (1 + tolerance)
            and p.score < initial_loss,
        )
        for p in pilots
    ]
    healthy = [p for p in pilots if p.healthy]
    evidence_args: dict[str, Any] = {
        "target_lr": target,
        "initial_loss": initial_loss,
        "probes": tuple(probes),
        "critical_lr": critical,
        "critical_bounded": bounded,
        "start_fraction": start,
        "pilot_steps": steps,
        "pilots": tuple(pilots),
        "tolerance": tolerance,
    }
    reasons = [_critical_reason(probes, critical, bounded, target, start, initial_loss)]
    if not healthy:
        why = "every pilot diverged or ended above the initial loss"
        return _fallback(fallback, total, decay, target, reasons, why, evidence_args, time.perf_counter() - start_time)

    chosen = min(max(p.warmup_steps for p in healthy), math.floor(max_share * total))
    spec = _warmup_spec(chosen, start, decay)
    schedule = as_schedule(spec).resolve(total)
    reasons.append(_pilot_reason(pilots, steps, chosen, tolerance, best))
    alternatives = tuple(
        Alternative(
            f"pilot linear({p.warmup_steps})" if p.warmup_steps else "pilot without warmup",
            p.warmup_steps,
            p.spec,
            _why_not(p, best, tolerance),
        )
        for p in pilots
        if p.warmup_steps != chosen
    )
    evidence = FinderEvidence(
        **evidence_args, chosen_steps=chosen, inconclusive=None, wall_s=time.perf_counter() - start_time
    )
    return WarmupFinding(
        warmup_steps=chosen,
        warmup_ratio=chosen / total,
        total_steps=total,
        steps_per_epoch=None,
        schedule=schedule,
        spec=spec,
        peak_lr=target,
        reasons=tuple(reasons),
        alternatives=alternatives,
        exports=exports_for(schedule, chosen, total, target) if start == 0 else _from_export(),
        evidence=evidence,
    )


def _from_export() -> dict[str, Any]:
    note = (
        "the warmup starts above 0 (from=...), which no Hugging Face scheduler does; "
        "drive the optimizer with rampup.torch.RampupLR (or rampup.hf's RampupTrainer) instead"
    )
    return {"hf": None, "trl": None, "note": note}


def _critical_reason(
    probes: list[Probe], critical: float | None, bounded: bool, target: float, start: float, initial: float
) -> Reason:
    tried = ", ".join(f"{probe.rate:.3g}{'' if probe.stable else '!'}" for probe in probes)
    if critical is None:
        detail = f"one step was unstable even at {probes[0].rate:.3g}; the warmup starts at 0 (rates tried: {tried})"
    elif not bounded:
        detail = (
            f"no one-step instability up to {critical:.3g} ({critical / target:.3g}x the target {target:.3g}): "
            f"the start is not limited by it, the warmup starts at 0 (initial loss {initial:.4g})"
        )
    elif start > 0:
        detail = (
            f"critical rate {critical:.3g} < target {target:.3g}: the warmup starts at "
            f"{format_number(round(start, 4))} of the peak, below the edge (rates tried, ! = unstable: {tried})"
        )
    else:
        detail = (
            f"critical rate {critical:.3g} >= target {target:.3g}: one step at the target is stable; "
            f"the warmup starts at 0 (rates tried, ! = unstable: {tried})"
        )
    return Reason("critical-rate probe", SRC_CRITICAL, detail)


def _pilot_reason(pilots: list[Pilot], steps: int, chosen: int, tolerance: float, best: float | None) -> Reason:
    scores = ", ".join(
        f"{p.warmup_steps}: {'diverged' if p.score is None else f'{p.score:.4g}'}{'' if p.healthy else ' x'}"
        for p in pilots
    )
    detail = (
        f"{len(pilots)} pilots of {steps} steps, held-out loss by warmup length ({scores}; x = not healthy); "
        f"healthy = within {tolerance:.0%} of the best ({best:.4g}); the longest healthy warmup: {chosen} steps"
    )
    return Reason("warmup range test", SRC_PILOTS, detail)


def _why_not(pilot: Pilot, best: float | None, tolerance: float) -> str:
    if pilot.score is None:
        return "its pilot diverged"
    if not pilot.healthy:
        return f"its pilot ended at {pilot.score:.4g}, more than {tolerance:.0%} above the best ({best:.4g})"
    return "healthy, but a longer warmup was healthy too"


def _fallback(
    fallback: Mapping[str, Any] | None,
    total: int,
    decay: str,
    target: float,
    reasons: list[Reason],
    why: str,
    evidence_args: dict[str, Any],
    wall_s: float,
) -> WarmupFinding:
    """The advisor's recommendation, with the probes' evidence and the reason the finder fell back."""
    kwargs: dict[str, Any] = {"total_steps": total, "decay": decay, "peak_lr": target}
    kwargs.update(fallback or {})
    advice = recommend(**kwargs)
    fell_back = Reason(
        "finder inconclusive",
        SRC_PILOTS,
        f"{why}: the probes cannot choose, so this is the advisor's recommendation (rules below)",
    )
    evidence = FinderEvidence(**evidence_args, chosen_steps=advice.warmup_steps, inconclusive=why, wall_s=wall_s)
    return WarmupFinding(
        warmup_steps=advice.warmup_steps,
        warmup_ratio=advice.warmup_ratio,
        total_steps=advice.total_steps,
        steps_per_epoch=advice.steps_per_epoch,
        schedule=advice.schedule,
        spec=advice.spec,
        peak_lr=advice.peak_lr,
        reasons=(*reasons, fell_back, *advice.reasons),
        alternatives=advice.alternatives,
        exports=advice.exports,
        evidence=evidence,
    )
