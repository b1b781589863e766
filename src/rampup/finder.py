"""The warmup finder: choose a warmup from the model itself, with probes and pilot runs.

Rules of thumb do not know the model. :func:`find_warmup` measures it, in two stages, always from the
same initial weights (it leaves the model as it found it):

1. **The critical rate at initialization** (Kalra & Barkeshli 2024, "Why Warmup the Learning Rate?
   Underlying Mechanisms and Improvements", NeurIPS 2024): one optimizer step at rate ``r`` from the
   initial weights, on the first batch, is *unstable* when the held-out loss afterwards is above
   ``(1 + probe_tolerance) * L0`` or not finite (``L0``: the held-out loss at initialization). ``r``
   starts at ``target_lr / 64`` and doubles until a step is unstable (up to ``64 * target_lr``), then
   ``bisections`` geometric bisections narrow the edge: the critical rate ``r_c`` is the largest
   stable rate found. When ``r_c < target_lr`` the warmup starts below the edge, at
   ``from = start_fraction * r_c / target_lr``; otherwise it starts at 0 as usual.

2. **Pilot runs, by successive halving** (in the spirit of Smith 2017's range test and of Jamieson &
   Talwalkar 2016's successive halving). The candidates are warmup lengths from 0 to ``max_share``
   of the run; every pilot runs the real schedule ``linear(W, from=...) -> decay`` of the whole run.

   - *Screen*: every candidate trains ``screen_steps`` updates (default 20% of the run) on batch
     order A. One that diverges or ends above ``L0`` is out. Up to four go on: the best at the
     screen, the longest left, the one halfway between them on the ladder of candidates, and the best
     of those whose warmup ended within the screen (the screen saw those at their peak rate; a long
     warmup may lead at the screen only because it has trained at lower rates so far).
   - *Final*: each of the three continues on order A **and**, forked at the end of the screen, on a
     second order B (the same batches shuffled). Each stops when it has used the same *learning-rate
     area* (the sum of the rates so far) as the longest candidate has used ``margin`` (10% of the run)
     after its warmup ends: at equal area a long warmup is no longer penalized for having used less
     rate so far, which a comparison at the same step would do (docs/finder.md). A run's score is the
     held-out loss averaged over its last three evaluations (``smooth``); a finalist's score is the
     worse of its two orders (a warmup that trains on one order and breaks on the other is unstable).
   - *Decision*: the noise is measured, not assumed: ``sigma`` is the median over the finalists of
     ``|A - B| / sqrt(2)`` (the lower middle for an even count), leaving out the finalists that *broke*
     (an order diverged, or gave back more than a tenth of what the finalist had gained from ``L0`` by
     the end of its screen: training on made it worse), whose spread is instability, not noise (all
     of them are used when every finalist broke); the median, so that one more unstable finalist does
     not pass for noise either. Two candidates differ only when their scores differ by more than
     ``noise_z * sigma``; a finalist that broke is not healthy while another did not. The finder
     takes the **longest** healthy candidate, whose score is within that of the best (a longer
     warmup is the safer one when the data cannot tell), unless the failures lie on the long side.
   - *Failures on the long side*: when every finalist that failed is longer than every healthy one,
     and at least one of them broke, long warmups are the risk (they keep the peak rate into the later,
     sharper part of the run: LoRA fine-tuning at a high rate in the lab), and the answer moves away
     from them, as the default moves away from failing short ones: the **shortest** healthy warmup.
     The finder also tries the candidate one rung below the shortest healthy finalist (if it passed
     the screen): it continues from its screen on both orders to the rate area that finalist had at
     each of its evaluations (as many as the budget allows), and it is the answer when its score is
     within the tolerance of that finalist's over the same evaluations.

   The whole search costs at most ``budget`` runs' worth of optimizer updates (default 4): the
   number of updates the probes and pilots made, divided by ``total_steps``, is in the evidence
   (``cost_runs``) and in :meth:`WarmupFinding.explain`.

When the probes are inconclusive (every pilot diverged or ended above ``L0``), the finder falls back
to the advisor (:func:`rampup.recommend`) and says so in its reasons.

The answer is a :class:`WarmupFinding`: the advisor's :class:`~rampup.advisor.Recommendation`
with the evidence (rates tried and losses seen, every pilot's curve and scores) and a plot. When the
warmup starts above 0, which no Hugging Face / TRL scheduler can do, its ``exports`` also carry the
nearest warmup they can run (``exports["nearest"]``). PyTorch is imported only when the finder runs.
"""

from __future__ import annotations

import copy
import itertools
import math
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence, Sized
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from rampup.advisor import Alternative, Reason, Recommendation, exports_for, recommend
from rampup.checks import positive, whole
from rampup.durations import ceil_steps, format_number
from rampup.errors import RampupError
from rampup.schedule import Schedule, as_schedule

if TYPE_CHECKING:
    import torch

__all__ = ["FinderEvidence", "Pilot", "Probe", "WarmupFinding", "find_warmup"]

SRC_CRITICAL = (
    "Kalra & Barkeshli 2024, Why Warmup the Learning Rate? Underlying Mechanisms and Improvements "
    "(NeurIPS 2024, arXiv:2406.09405): estimate the critical rate at initialization and warm up from below it"
)
SRC_PILOTS = (
    "rampup's warmup range test (docs/finder.md), after Smith 2017's learning-rate range test "
    "(arXiv:1506.01186) and Jamieson & Talwalkar 2016's successive halving (arXiv:1502.07943)"
)
#: default candidates, as multiples of ``max_share`` (0.5 of the run by default: 0, 1.6%, 3.1%, ... 35%, 50%)
LADDER = (0.0, 1 / 32, 1 / 16, 1 / 8, 1 / 4, 1 / 2, 0.7, 1.0)
#: held-out batches taken from ``batches`` when no ``eval_batches`` are given
DEFAULT_EVAL_BATCHES = 4
#: how far the rate probes go, in powers of 2 either side of the target
PROBE_RANGE = 6
#: the screen's length, as a share of the run
SCREEN_SHARE = 0.2
#: how long after the longest finalist's warmup the final compares (share of the run), at equal rate area
MARGIN_SHARE = 0.1
#: held-out evaluations averaged into a score, spaced by SMOOTH_SPACING of the run
SMOOTH = 3
SMOOTH_SPACING = 0.025
#: candidates that go from the screen to the final (the best, the longest, the one between)
FINALISTS = 3
#: a finalist *broke* when it gave back more than this share of what it had gained by the end of the screen
BREAK_SHARE = 0.1


@dataclass(frozen=True)
class Probe:
    """One step at ``rate`` from the initial weights: the held-out loss after it, and whether it was stable."""

    rate: float
    loss: float | None
    stable: bool


@dataclass(frozen=True)
class Pilot:
    """One candidate warmup: its screen, and for the finalists the final on two batch orders.

    ``score`` is the worse of ``scores`` (the final's two orders) for a finalist, else the screen score;
    None when it diverged. ``healthy``: a finalist within the measured noise of the best one that did
    not *break* (``broke``: it gave back more than a tenth of its gain after the screen; a broken
    finalist is healthy only when every finalist broke).
    ``train_losses`` are order A's, over the screen and (for a finalist) its final. For the candidate
    one rung below the shortest healthy finalist (tried when the failures lie on the long side),
    ``compared_with`` is that finalist and ``compared_scores`` its scores over the same evaluations, at
    equal rate area; ``healthy`` then means within the noise of those.
    """

    warmup_steps: int
    spec: str
    score: float | None
    healthy: bool
    train_losses: tuple[float | None, ...] = field(repr=False)
    screen_score: float | None = None
    finalist: bool = False
    scores: tuple[float | None, ...] = ()
    stop_step: int | None = None
    compared_with: int | None = None
    compared_scores: tuple[float | None, ...] = ()
    broke: bool = False


@dataclass(frozen=True)
class FinderEvidence:
    """What the finder measured: the probes, the critical rate, the pilots, the noise, and the cost.

    ``noise`` is the measured spread (one score's standard deviation, nats) and ``tolerance`` the
    difference (``noise_z * noise``) below which two finalists count as equal. ``updates`` counts
    every optimizer update the probes and pilots made; ``cost_runs`` is ``updates / total_steps``.
    """

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
    screen_steps: int = 0
    noise: float | None = None
    noise_z: float = 2.0
    updates: int = 0
    cost_runs: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["probes"] = [asdict(probe) for probe in self.probes]
        data["pilots"] = [
            {
                **asdict(pilot),
                "train_losses": list(pilot.train_losses),
                "scores": list(pilot.scores),
                "compared_scores": list(pilot.compared_scores),
            }
            for pilot in self.pilots
        ]
        return data


@dataclass(frozen=True)
class WarmupFinding(Recommendation):
    """The finder's answer: a :class:`~rampup.advisor.Recommendation` with the probes' evidence."""

    evidence: FinderEvidence | None = None

    def to_dict(self) -> dict[str, Any]:
        data = super().to_dict()
        data["evidence"] = None if self.evidence is None else self.evidence.to_dict()
        return data

    def explain(self) -> str:
        """The advisor's explanation, the nearest Hugging Face warmup (when it starts above 0) and the cost."""
        lines = [super().explain()]
        nearest = self.exports.get("nearest")
        if isinstance(nearest, Mapping):
            text = ", ".join(f"{name}={value!r}" for name, value in nearest["hf"].items())
            lines.append(f"nearest for Hugging Face / TRL: {nearest['spec']} ({nearest['how']})")
            lines.append(f"  TrainingArguments / SFTConfig({text})")
        if self.evidence is not None:
            ev = self.evidence
            lines.append(
                f"cost: {ev.updates} optimizer updates = {ev.cost_runs:.2f} runs of {self.total_steps} steps "
                f"({len(ev.probes)} probe steps, {len(ev.pilots)} pilots), {ev.wall_s:.1f} s"
            )
        return "\n".join(lines)

    def plot(self, path: str | None = None) -> Any:
        """The evidence in two panels (one-step probes; pilot losses), as ``(figure, axes)``; ``path`` saves a PNG."""
        from rampup.plotting import plot_finding

        return plot_finding(self, path)


# ---------------------------------------------------------------------------------------------- checks


def _candidate_lengths(shares: Iterable[float], total: int) -> list[int]:
    """The pilots' warmup lengths: each share of ``total`` rounded up as the engine rounds ``linear(S%)``
    (``durations.ceil_steps``: 7% of 100 is 7, not the 8 of ``math.ceil(0.07 * 100)``), without repeats."""
    return sorted({ceil_steps(share * total) for share in shares})


def _shares(shares: object, max_share: float) -> tuple[float, ...]:
    if shares is None:
        return tuple(sorted({rung * max_share for rung in LADDER}))
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


def _fallback_kwargs(fallback: Mapping[str, Any] | None, total: int, decay: str, target: float) -> dict[str, Any]:
    """The advisor's arguments for the fallback; ``peak_lr`` only when the fallback does not scale a ``base_lr``."""
    if fallback is not None and not isinstance(fallback, Mapping):
        raise RampupError("fallback", type(fallback).__name__, "a dict of rampup.recommend() arguments")
    kwargs: dict[str, Any] = {"total_steps": total, "decay": decay}
    given = dict(fallback or {})
    if given.get("base_lr") is None and given.get("peak_lr") is None:
        kwargs["peak_lr"] = target
    if any(given.get(key) is not None for key in ("dataset_size", "epochs")):
        kwargs.pop("total_steps")  # the advisor counts the run from the data, as the fallback asks
    kwargs.update(given)
    return kwargs


# ---------------------------------------------------------------------------------------------- the runs


def _to_cpu(value: Any) -> Any:
    """A copy of ``value`` (a state dict, nested) with every tensor copied to the CPU."""
    import torch

    if isinstance(value, torch.Tensor):
        return value.detach().to("cpu", copy=True)
    if isinstance(value, dict):
        return {key: _to_cpu(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return type(value)(_to_cpu(item) for item in value)
    return copy.deepcopy(value)


@dataclass
class _Run:
    """A pilot in progress: its schedule, the optimizer, the step reached, and what it saw."""

    spec: str
    schedule: Schedule
    optimizer: torch.optim.Optimizer
    peaks: list[float]
    step: int = 0
    losses: list[float | None] = field(default_factory=list)
    evals: dict[int, float | None] = field(default_factory=dict)
    dead: bool = False


@dataclass
class _Saved:
    """A pilot paused at the end of the screen: its trainable weights, optimizer state and random state."""

    weights: dict[str, Any]
    optimizer: dict[str, Any]
    rng: Any
    run: _Run
    lr: float


class _Bench:
    """The model, its initial weights, the batches and the user's functions: runs from the same start."""

    def __init__(
        self,
        model: torch.nn.Module,
        loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
        make_optimizer: Callable[[torch.nn.Module, float], torch.optim.Optimizer],
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
        self.initial = self.weights()
        self.updates = 0

    def weights(self) -> dict[str, Any]:
        """The trainable parameters and the buffers (frozen weights never change), copied to the CPU."""
        keep = {name for name, parameter in self.model.named_parameters() if parameter.requires_grad}
        keep |= {name for name, _ in self.model.named_buffers()}
        return {name: _to_cpu(value) for name, value in self.model.state_dict().items() if name in keep}

    def load(self, weights: dict[str, Any]) -> None:
        self.model.load_state_dict(weights, strict=False)

    def optimizer(self, lr: float) -> torch.optim.Optimizer:
        import torch

        try:
            optimizer = self.make_optimizer(self.model, lr)
        except TypeError as error:
            raise RampupError(
                "make_optimizer",
                f"TypeError: {error}",
                "a function (model, lr) -> Optimizer",
                hint="it receives the model, e.g. lambda model, lr: torch.optim.AdamW(model.parameters(), lr=lr)",
            ) from None
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise RampupError(
                "make_optimizer",
                type(optimizer).__name__,
                "a function (model, lr) -> torch.optim.Optimizer",
                hint="return the optimizer, e.g. lambda model, lr: torch.optim.AdamW(model.parameters(), lr=lr)",
            )
        return optimizer

    def restart(self, lr: float, seed: int) -> torch.optim.Optimizer:
        import torch

        self.load(self.initial)
        self.model.train()
        torch.manual_seed(seed)
        return self.optimizer(lr)

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
            self.updates += 1
        return value

    def probe(self, rate: float, limit: float) -> Probe:
        """One step at ``rate`` from the initial weights; stable when the held-out loss stays below ``limit``."""
        optimizer = self.restart(rate, self.seed)
        self.update(optimizer, self.train[0])
        loss = self.held_out_loss()
        finite = math.isfinite(loss)
        return Probe(rate, loss if finite else None, finite and loss <= limit)

    def start(self, spec: str, target_lr: float, total_steps: int) -> _Run:
        optimizer = self.restart(target_lr, self.seed)
        peaks = [float(group["lr"]) for group in optimizer.param_groups]
        return _Run(spec, as_schedule(spec).resolve(total_steps), optimizer, peaks)

    def advance(self, run: _Run, batches: Sequence[Any], until: int, evals: Iterable[int]) -> None:
        """Train ``run`` to step ``until`` on ``batches[step]``, evaluating held-out after the steps in ``evals``."""
        wanted = set(evals)
        while run.step < until and not run.dead:
            multiplier = run.schedule(run.step)
            for group, peak in zip(run.optimizer.param_groups, run.peaks, strict=True):
                group["lr"] = peak * multiplier
            value = self.update(run.optimizer, batches[run.step])
            run.step += 1
            if not math.isfinite(value):
                run.losses.append(None)
                run.dead = True
                return
            run.losses.append(value)
            if run.step in wanted:
                loss = self.held_out_loss()
                run.evals[run.step] = loss if math.isfinite(loss) else None

    def save(self, run: _Run, lr: float) -> _Saved:
        import torch

        return _Saved(self.weights(), _to_cpu(run.optimizer.state_dict()), torch.random.get_rng_state(), run, lr)

    def resume(self, saved: _Saved, seed: int | None) -> _Run:
        """The saved pilot, ready to go on: on its own random stream (``seed`` None) or a fresh one."""
        import torch

        self.load(saved.weights)
        self.model.train()
        optimizer = self.optimizer(saved.lr)
        optimizer.load_state_dict(copy.deepcopy(saved.optimizer))
        if seed is None:
            torch.random.set_rng_state(saved.rng)
        else:
            torch.manual_seed(seed)
        old = saved.run
        return _Run(old.spec, old.schedule, optimizer, old.peaks, old.step, list(old.losses), dict(old.evals), old.dead)


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


def _areas(schedule: Schedule, steps: int) -> list[float]:
    """The cumulative multiplier after 0..steps updates (``areas[s]``: the rate area of the first s updates)."""
    areas = [0.0]
    for step in range(steps):
        areas.append(areas[-1] + schedule(step))
    return areas


def _smoothed(evals: Mapping[int, float | None], points: Sequence[int]) -> float | None:
    values = [evals.get(point) for point in points]
    if any(value is None for value in values):
        return None
    return math.fsum(values) / len(values)  # type: ignore[arg-type]


def _eval_points(stop: int, spacing: int, floor: int) -> list[int]:
    return sorted({max(floor, stop - index * spacing) for index in range(SMOOTH)})


def _finalists(alive: list[int], screen: Mapping[int, float], screen_steps: int) -> list[int]:
    """The best at the screen, the longest alive, the one halfway between them on the ladder, and the best
    of those whose warmup ended within the screen: the screen has seen those at their peak rate, the
    longer ones only on their way up (a long warmup may lead at the screen only because it has trained
    at lower rates so far), so the final always weighs a warmup the screen saw at full rate."""
    best = min(alive, key=lambda length: (screen[length], -length))
    low, high = alive.index(best), len(alive) - 1
    ranked = [alive[high], best]  # in the order they are kept when the budget is short
    finished = [length for length in alive if length < screen_steps]
    if finished:
        ranked.append(min(finished, key=lambda length: (screen[length], -length)))
    ranked.append(alive[(low + high + 1) // 2])
    return list(dict.fromkeys(ranked))


def _stops(
    finalists: list[int], areas: Mapping[int, list[float]], margin: int, total: int, screen: int
) -> dict[int, int]:
    """Where each finalist has used the rate area the longest one used ``margin`` steps after its warmup."""
    longest = max(finalists)
    horizon = min(total, longest + margin)
    goal = areas[longest][horizon]
    return {length: min(total, max(screen, _reach(areas[length], goal, total))) for length in finalists}


def _reach(areas: Sequence[float], goal: float, default: int) -> int:
    """The first step after which the rate area ``areas[step]`` has reached ``goal`` (``default`` if never)."""
    return next((step for step, area in enumerate(areas) if area >= goal - 1e-9), default)


@dataclass(frozen=True)
class _Verdict:
    """The final's first round judged: the best score (a finalist's worse order), the healthy finalists
    (within ``tolerance`` of the best, below the initial loss), and whether the failures lie on the long side."""

    best: float | None
    healthy: frozenset[int]
    long_side: bool


def _broken(
    finals: Mapping[int, Sequence[float | None]], screen_scores: Mapping[int, float | None], initial_loss: float
) -> set[int]:
    """The finalists that *broke*: an order diverged, or gave back more than ``BREAK_SHARE`` of what the
    finalist had gained by the end of its screen (ended above ``screen + BREAK_SHARE * (L0 - screen)``):
    training on made it worse, by more than the wobble of a run that has converged. A break is
    instability, not noise: it is left out of the noise."""
    broken = set()
    for length, pair in finals.items():
        before = screen_scores.get(length)
        line = None if before is None else before + BREAK_SHARE * max(0.0, initial_loss - before)
        if any(score is None or (line is not None and score > line) for score in pair):
            broken.add(length)
    return broken


def _verdict(
    finals: Mapping[int, Sequence[float | None]], broken: set[int], initial_loss: float, tolerance: float
) -> _Verdict:
    """Judge the finalists: healthy within ``tolerance`` of the best and, unless every finalist broke, not
    broken. The failures lie on the long side when every finalist that is not healthy is
    longer than every healthy one and at least one of them broke (``broken``). A finalist merely worse
    than the best is not a break (a long warmup on a task that wants it can end a little worse at equal
    area by chance)."""
    scores = {length: _worse(pair) for length, pair in finals.items()}
    eligible = {n: m for n, m in scores.items() if m is not None and m < initial_loss}
    best = min(eligible.values()) if eligible else None
    healthy = frozenset(n for n, m in eligible.items() if best is not None and m <= best + tolerance)
    if healthy - broken:
        healthy -= broken  # a finalist that broke is not healthy while another did not break
    failed = [n for n in scores if n not in healthy]
    long_side = bool(healthy) and bool(broken & set(failed)) and min(failed, default=0) > max(healthy)
    return _Verdict(best, healthy, long_side)


@dataclass(frozen=True)
class _RungBelow:
    """The candidate one rung below the shortest healthy finalist, run on every order to the rate areas
    at which that finalist was evaluated: its scores, the finalist's over the same evaluations, its stop."""

    length: int
    scores: tuple[float | None, ...]
    reference_scores: tuple[float | None, ...]
    stop: int
    run: _Run


def _rung_below(
    bench: _Bench,
    saved: _Saved,
    length: int,
    reference: int,
    reference_runs: Sequence[_Run],
    reference_points: Sequence[int],
    areas: Mapping[int, list[float]],
    orders: Sequence[Sequence[Any]],
    screen: int,
    room: float,
    seed: int,
) -> _RungBelow | None:
    """Run ``length`` on every order (order B on the fresh random stream ``seed``) to the rate area the
    finalist ``reference`` (its runs on the same orders: ``reference_runs``) had at each of its evaluation
    points, as many of them as the updates left in ``room`` allow (None when not even the first fits);
    both are scored over those points. A point the shorter warmup reaches within its screen is left out
    (the screen kept no evaluation there, and a later step would hold more rate area)."""
    matched = [
        (point, _reach(areas[length], areas[reference][point], len(areas[length]) - 1)) for point in reference_points
    ]
    per_order = (room - bench.updates) / len(orders)
    fitting = [(point, own) for point, own in matched if screen < own and own - screen <= per_order]
    if not fitting:
        return None
    own_points = [own for _, own in fitting]
    scores: list[float | None] = []
    first: _Run | None = None
    for order, sequence in enumerate(orders):
        run = bench.resume(saved, None if order == 0 else seed)
        bench.advance(run, sequence, own_points[-1], own_points)
        scores.append(None if run.dead else _smoothed(run.evals, own_points))
        first = first or run
    assert first is not None
    reference_scores = tuple(_smoothed(run.evals, [point for point, _ in fitting]) for run in reference_runs)
    return _RungBelow(length, tuple(scores), reference_scores, own_points[-1], first)


# ---------------------------------------------------------------------------------------------- the finder


def find_warmup(
    model: torch.nn.Module,
    loss_fn: Callable[[torch.nn.Module, Any], torch.Tensor],
    batches: Iterable[Any],
    make_optimizer: Callable[[torch.nn.Module, float], torch.optim.Optimizer],
    target_lr: float,
    *,
    total_steps: int,
    decay: str = "cosine",
    eval_batches: Iterable[Any] | None = None,
    shares: Sequence[float] | None = None,
    max_share: float = 0.5,
    screen_steps: int | None = None,
    noise_z: float = 2.0,
    budget: float = 4.0,
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
        batches: training batches, used in order by every pilot (cycled when there are fewer than the
            longest pilot needs, at most ``max_share + 10%`` of the run). Unless ``eval_batches`` is
            given, the 4 after them are held out.
        make_optimizer: ``make_optimizer(model, lr)`` -> a fresh optimizer over the parameters to
            train (called for every run), so frozen weights can be left out and parameter groups
            built by name; each group's ``lr`` is its peak.
        target_lr: the peak learning rate the run will use.
        total_steps: the run's optimizer updates; the warmup shares and the decay refer to it.
        decay: spec text of what follows the warmup (``"cosine(to=0.1)"``).
        shares, max_share: the candidate warmups as shares of the run (default: 0 and ``max_share``
            times 1/32, 1/16, 1/8, 1/4, 1/2, 0.7 and 1), none longer than ``max_share``.
        screen_steps: updates of the screen every candidate runs (default 20% of the run).
        noise_z: how many measured standard deviations two finalists must differ by to count as different.
        budget: the most optimizer updates the search may make, in runs of ``total_steps``.
        probe_tolerance, bisections, start_fraction: the critical-rate probe (module docstring).
        seed: ``torch.manual_seed`` before every run (dropout and the like), restored afterwards.
        fallback: keyword arguments for :func:`rampup.recommend` when the probes are inconclusive
            (checked before anything trains; ``peak_lr`` is the target unless they give ``base_lr``).
    """
    import torch

    start_time = time.perf_counter()
    if not isinstance(model, torch.nn.Module):
        raise RampupError("model", type(model).__name__, "a torch.nn.Module")
    if not callable(loss_fn):
        raise RampupError("loss_fn", type(loss_fn).__name__, "a function (model, batch) -> loss tensor")
    if not callable(make_optimizer):
        raise RampupError("make_optimizer", type(make_optimizer).__name__, "a function (model, lr) -> Optimizer")
    target = positive(target_lr, "target_lr")
    total = whole(total_steps, "total_steps", 2)
    max_share = positive(max_share, "max_share")
    if max_share > 1:
        raise RampupError("max_share", max_share, "a share of the run in (0, 1]")
    candidate_shares = _shares(shares, max_share)
    noise_z = positive(noise_z, "noise_z") if noise_z != 0 else 0.0
    budget = positive(budget, "budget")
    if probe_tolerance < 0 or not math.isfinite(probe_tolerance):
        raise RampupError("probe_tolerance", probe_tolerance, "a relative rise of the loss >= 0")
    bisections = whole(bisections, "bisections", 0)
    start_fraction = positive(start_fraction, "start_fraction")
    as_schedule(decay).resolve(total)  # a bad decay fails here, before any run
    fallback_kwargs = _fallback_kwargs(fallback, total, decay, target)
    recommend(**fallback_kwargs)  # a bad fallback fails here too, not after the probes
    if screen_steps is None:
        screen = max(1, ceil_steps(SCREEN_SHARE * total))
    else:
        screen = min(total, whole(screen_steps, "screen_steps", 1))
    margin = ceil_steps(MARGIN_SHARE * total)
    lengths = _candidate_lengths(candidate_shares, total)
    horizon = min(total, max(screen, max(lengths) + margin))
    train = _take(batches, horizon + (0 if eval_batches is not None else DEFAULT_EVAL_BATCHES), "batches")
    if eval_batches is not None:
        held_out = _take(eval_batches, _count_batches(eval_batches), "eval_batches")
    else:
        train, held_out = train[:horizon], train[horizon:]
    shuffled = list(range(screen, horizon))
    random.Random(seed).shuffle(shuffled)
    order_b = train[:screen] + [train[index] for index in shuffled]  # order B: the same batches after the screen
    spacing = max(1, ceil_steps(SMOOTH_SPACING * total))

    rng_state = torch.random.get_rng_state()
    bench = _Bench(model, loss_fn, make_optimizer, train, held_out, seed)
    try:
        bench.restart(target, seed)  # checks make_optimizer before any training
        initial_loss = bench.held_out_loss()
        if not math.isfinite(initial_loss):
            raise RampupError("loss_fn", initial_loss, "a finite loss at the initial weights")
        limit = initial_loss * (1 + probe_tolerance)
        probes, critical, bounded = _critical_rate(bench, target, limit, bisections)
        start = 0.0  # below the target only when the probes found the edge there
        if critical is not None and critical < target:
            start = min(1.0, start_fraction * critical / target)
        specs = {length: _warmup_spec(length, start, decay) for length in lengths}
        saved: dict[int, _Saved] = {}
        screen_scores: dict[int, float | None] = {}
        for length in lengths:
            run = bench.start(specs[length], target, total)
            points = _eval_points(screen, spacing, 1)
            bench.advance(run, train, screen, points)
            score = None if run.dead else _smoothed(run.evals, points)
            screen_scores[length] = score
            saved[length] = bench.save(run, target)
        alive = [n for n in lengths if (s := screen_scores[n]) is not None and s < initial_loss]
        finals: dict[int, tuple[float | None, ...]] = {}
        stops: dict[int, int] = {}
        runs: dict[int, list[_Run]] = {}  # every order's run of each finalist
        if alive:
            areas = {n: _areas(as_schedule(specs[n]).resolve(total), horizon) for n in alive}
            finalists = _finalists(alive, {n: screen_scores[n] for n in alive}, screen)  # type: ignore[misc]
            room = budget * total - bench.updates  # the probes and the screen are done
            stops = _stops(finalists, areas, margin, horizon, screen)
            while 2 * sum(stop - screen for stop in stops.values()) > room and len(finalists) > 2:
                finalists.pop()  # the one halfway goes first, then the best warmup the screen saw whole
                stops = _stops(finalists, areas, margin, horizon, screen)
            cut = margin
            while 2 * sum(stop - screen for stop in stops.values()) > room and cut > 0:
                cut //= 2
                stops = _stops(finalists, areas, cut, horizon, screen)
            orders = (train, order_b) if 2 * sum(stop - screen for stop in stops.values()) <= room else (train,)
            for index, length in enumerate(finalists):
                points = _eval_points(stops[length], spacing, screen)
                pair: list[float | None] = []
                for order, sequence in enumerate(orders):
                    run = bench.resume(saved[length], None if order == 0 else seed + 1 + index)
                    bench.advance(run, sequence, stops[length], points)
                    pair.append(None if run.dead else _smoothed(run.evals, points))
                    runs.setdefault(length, []).append(run)
                finals[length] = tuple(pair)
        broken = _broken(finals, screen_scores, initial_loss)
        noise = _noise({n: pair for n, pair in finals.items() if n not in broken} or finals)
        tolerance = noise_z * noise if noise is not None else 0.0
        verdict = _verdict(finals, broken, initial_loss, tolerance)
        compared: dict[int, tuple[int, tuple[float | None, ...]]] = {}  # rung below -> (finalist, its scores)
        healthy_lengths = set(verdict.healthy)
        if verdict.long_side and len(orders) == 2:
            # the failures lie on the long side: try one rung below the shortest healthy finalist
            reference = min(verdict.healthy)
            below = [n for n in lengths if n < reference]  # the ladder's next candidate, if it passed the screen
            rung = None
            if below and below[-1] in alive:
                points = _eval_points(stops[reference], spacing, screen)
                rung = _rung_below(
                    bench,
                    saved[below[-1]],
                    below[-1],
                    reference,
                    runs[reference],
                    points,
                    areas,
                    orders,
                    screen,
                    budget * total,
                    seed + 1 + len(finals),
                )
            if rung is not None:
                finals[rung.length], stops[rung.length], runs[rung.length] = rung.scores, rung.stop, [rung.run]
                compared[rung.length] = (reference, rung.reference_scores)
                score, against = _worse(rung.scores), _worse(rung.reference_scores)
                if score is not None and against is not None and score < initial_loss and score <= against + tolerance:
                    healthy_lengths.add(rung.length)
    finally:
        bench.load(bench.initial)
        torch.random.set_rng_state(rng_state)

    best = verdict.best
    pilots: list[Pilot] = []
    for length in lengths:
        run = runs[length][0] if length in runs else saved[length].run
        finalist = length in finals
        score = _worse(finals[length]) if finalist else screen_scores[length]
        pilots.append(
            Pilot(
                warmup_steps=length,
                spec=specs[length],
                score=score,
                healthy=length in healthy_lengths,
                train_losses=tuple(run.losses),
                screen_score=screen_scores[length],
                finalist=finalist,
                scores=finals.get(length, ()),
                stop_step=stops.get(length),
                compared_with=compared[length][0] if length in compared else None,
                compared_scores=compared[length][1] if length in compared else (),
                broke=length in broken,
            )
        )
    healthy = [p for p in pilots if p.healthy]
    evidence_args: dict[str, Any] = {
        "target_lr": target,
        "initial_loss": initial_loss,
        "probes": tuple(probes),
        "critical_lr": critical,
        "critical_bounded": bounded,
        "start_fraction": start,
        "pilot_steps": max([screen, *stops.values()]),
        "pilots": tuple(pilots),
        "tolerance": tolerance,
        "screen_steps": screen,
        "noise": noise,
        "noise_z": noise_z,
        "updates": bench.updates,
        "cost_runs": bench.updates / total,
    }
    reasons = [_critical_reason(probes, critical, bounded, target, start, initial_loss)]
    if not healthy:
        why = "every pilot diverged or ended above the initial loss"
        return _fallback(fallback_kwargs, reasons, why, evidence_args, time.perf_counter() - start_time)

    # the healthy warmup farthest from the failures: the longest, unless they lie on the long side
    chosen = (min if verdict.long_side else max)(p.warmup_steps for p in healthy)
    spec = _warmup_spec(chosen, start, decay)
    schedule = as_schedule(spec).resolve(total)
    reasons.append(_pilot_reason(pilots, evidence_args, chosen, best, verdict.long_side))
    alternatives = tuple(
        Alternative(
            f"pilot linear({p.warmup_steps})" if p.warmup_steps else "pilot without warmup",
            p.warmup_steps,
            p.spec,
            _why_not(p, best if p.compared_with is None else _worse(p.compared_scores), tolerance, verdict.long_side),
        )
        for p in pilots
        if p.warmup_steps != chosen
    )
    exports = exports_for(schedule, chosen, total, target)
    if start > 0 and chosen > 0:
        exports, nearest_reason = _nearest_export(chosen, start, decay, total, target)
        reasons.append(nearest_reason)
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
        exports=exports,
        evidence=evidence,
    )


def _worse(pair: Sequence[float | None]) -> float | None:
    """A finalist's score: the worse of its batch orders (a warmup is only as good as its worse order)."""
    if not pair or any(value is None for value in pair):
        return None
    return max(pair)  # type: ignore[type-var]


def _noise(finals: Mapping[int, tuple[float | None, ...]]) -> float | None:
    """One score's standard deviation from the finalists' two orders: ``|A - B| / sqrt(2)``, the median
    over the finalists (None: no complete pair). The median, because a finalist whose two orders end
    far apart is unstable, not a measure of the noise of the others."""
    spreads = sorted(
        abs(pair[0] - pair[1]) / math.sqrt(2)
        for pair in finals.values()
        if len(pair) == 2 and pair[0] is not None and pair[1] is not None
    )
    if not spreads:
        return None
    middle = len(spreads) // 2
    return spreads[middle] if len(spreads) % 2 else min(spreads[middle - 1], spreads[middle])


def _nearest_export(chosen: int, start: float, decay: str, total: int, target: float) -> tuple[dict[str, Any], Reason]:
    """The linear warmup from 0 (all Hugging Face / TRL can run) that reaches the peak at the same step."""
    nearest_spec = _warmup_spec(chosen, 0.0, decay)
    nearest = exports_for(as_schedule(nearest_spec).resolve(total), chosen, total, target)
    how = (
        f"a linear warmup from 0 over the same {chosen} steps: it reaches the peak at the same step and its rate "
        f"is never above the finding's, so it is at least as stable; it gives up {format_number(round(start, 4))} "
        f"of the peak at the start ({format_number(round(start * chosen / 2, 1))} steps' worth of rate area)"
    )
    note = (
        "the warmup starts above 0 (from=...), which no Hugging Face scheduler does: drive the optimizer with "
        "rampup.torch.RampupLR (or rampup.hf's RampupTrainer) for the exact schedule, or use exports['nearest']"
    )
    exports: dict[str, Any] = {"hf": None, "trl": None, "note": note}
    if nearest.get("hf") is not None:
        exports["nearest"] = {"spec": nearest_spec, "how": how, "hf": nearest["hf"], "trl": nearest["trl"]}
    detail = f"for Hugging Face / TRL, which start every warmup at 0: {nearest_spec}, {how}"
    return exports, Reason("nearest built-in warmup", SRC_CRITICAL, detail)


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


def _pilot_reason(
    pilots: list[Pilot], evidence: Mapping[str, Any], chosen: int, best: float | None, long_side: bool
) -> Reason:
    def text(score: float | None) -> str:
        return "diverged" if score is None else f"{score:.4g}"

    screened = ", ".join(f"{p.warmup_steps}: {text(p.screen_score)}" for p in pilots)
    finals = ", ".join(
        f"{p.warmup_steps} (to step {p.stop_step}): {' / '.join(text(s) for s in p.scores)}{'' if p.healthy else ' x'}"
        for p in pilots
        if p.finalist and p.compared_with is None
    )
    second = ", ".join(
        f"{p.warmup_steps} (to step {p.stop_step}): {' / '.join(text(s) for s in p.scores)}{'' if p.healthy else ' x'} "
        f"against {p.compared_with}'s {' / '.join(text(s) for s in p.compared_scores)}"
        for p in pilots
        if p.compared_with is not None
    )
    noise = evidence["noise"]
    if long_side:
        choice = (
            "every finalist that failed is longer than the healthy ones and one broke: the failures lie on the "
            "long side, so the answer is the shortest healthy warmup"
        )
        if second:
            choice += f" (one rung below the shortest healthy finalist, at the same rate area: {second})"
        choice += f": {chosen} steps"
    else:
        choice = f"the longest of those: {chosen} steps"
    detail = (
        f"screen of {len(pilots)} warmups, {evidence['screen_steps']} steps each, held-out loss ({screened}); "
        f"final on two batch orders at equal rate area ({finals}; x = worse than the best by more than the noise); "
        f"measured noise {'n/a' if noise is None else f'{noise:.3g}'} nats per score, so finalists within "
        f"{evidence['noise_z']:g} x that = {evidence['tolerance']:.3g} of the best ({text(best)}) count as equal; "
        f"{choice}; cost {evidence['cost_runs']:.2f} runs"
    )
    return Reason("warmup range test", SRC_PILOTS, detail)


def _why_not(pilot: Pilot, reference: float | None, tolerance: float, long_side: bool) -> str:
    """Why a pilot is not the answer; ``reference`` is the score it was judged against (the best finalist's,
    or for the rung below the shortest healthy finalist, that finalist's over the same evaluations)."""
    if not pilot.finalist:
        if pilot.screen_score is None:
            return "its pilot diverged in the screen"
        return f"screened out (held-out {pilot.screen_score:.4g} after the screen)"
    if pilot.score is None:
        return "its pilot diverged"
    against = "the best" if pilot.compared_with is None else f"linear({pilot.compared_with}) at the same rate area"
    if not pilot.healthy and pilot.broke:
        return f"it broke: its pilots ended at {pilot.score:.4g}, above where its screen left it, while others did not"
    if not pilot.healthy:
        shown = "n/a" if reference is None else f"{reference:.4g}"
        return f"its pilots ended at {pilot.score:.4g}, more than the noise ({tolerance:.3g}) above {against} ({shown})"
    if long_side:
        return f"within the noise of {against}, but a shorter warmup was too (the failures lie on the long side)"
    return "within the noise of the best, but a longer warmup was too"


def _fallback(
    kwargs: dict[str, Any],
    reasons: list[Reason],
    why: str,
    evidence_args: dict[str, Any],
    wall_s: float,
) -> WarmupFinding:
    """The advisor's recommendation, with the probes' evidence and the reason the finder fell back."""
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
