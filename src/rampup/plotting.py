"""Pictures of schedules: matplotlib figures and plots in the terminal.

>>> fig, ax = rampup.plot(["bert", "linear(5%) -> cosine(to=0.1)"], total_steps=1000)   # doctest: +SKIP
>>> fig.savefig("schedules.png")                                                      # doctest: +SKIP

Every value drawn comes from the engine (``Schedule.values``); this module only
chooses where to look. It draws the learning rate (or the multiplier of the
peak) against the step, a dashed vertical line where each warmup ends (as the
seed documents' ``visualize_lr_schedule`` does) and a legend with each
schedule's canonical, resolved spec text.

Jumps (a constant warmup, an exponential warmup's last step, step decay,
cosine restarts, a staircase) are drawn as vertical jumps: the steps drawn are
every whole step (long runs: ``num_points`` evenly spaced steps), every phase
boundary, and both sides of every jump, which the engine lists
(:meth:`rampup.Schedule.jumps`).

:func:`plot_terminal` draws the same plot as text with plotext (``rampup plot
--terminal``), and :func:`plot_recommendation` the advisor's choice next to
the alternatives it weighed.

Needs the ``plot`` extra (``pip install 'rampup[plot]'``): matplotlib for images,
plotext for the terminal. Importing ``rampup`` does not import either.
"""

from __future__ import annotations

import importlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeAlias

import numpy as np
import numpy.typing as npt

from rampup.checks import learning_rate
from rampup.errors import RampupError
from rampup.presets import ALIASES, PRESETS
from rampup.schedule import Schedule, as_schedule

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "DEFAULT_OUTPUT",
    "ScheduleLike",
    "check_output",
    "curve_points",
    "plot",
    "plot_recommendation",
    "plot_terminal",
    "save_figure",
    "spec_label",
]

ScheduleLike: TypeAlias = "Schedule | str | Mapping[str, Any]"
FloatArray: TypeAlias = npt.NDArray[np.float64]

#: where ``rampup plot`` writes its image when not told
DEFAULT_OUTPUT = "rampup-schedule.png"
#: the most jumps drawn as vertical lines, per point of the grid
_MAX_JUMPS = 20
#: the point drawn just before a jump, this much (relative) earlier
_JUST_BEFORE = 1e-12
_EXTRA = "pip install 'rampup[plot]'"


def _require(module: str) -> Any:
    """Import an optional dependency of the plots, or say which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f"rampup's plots need {module.split('.', maxsplit=1)[0]}: {_EXTRA}") from error


# --------------------------------------------------------------------------- what to draw


def spec_label(source: ScheduleLike, schedule: Schedule) -> str:
    """The legend text: the resolved canonical spec, after the preset's name when ``source`` names one."""
    if isinstance(source, str):
        key = source.strip().lower()
        key = ALIASES.get(key, key)
        if key in PRESETS:
            return f"{key}: {schedule}"
    return str(schedule)


def curve_points(schedule: Schedule, stop: int, num_points: int = 2000) -> tuple[FloatArray, FloatArray]:
    """Steps in ``[0, stop]`` and the schedule's multipliers there, chosen so that a line through them is faithful.

    The steps are every whole step when ``stop <= num_points`` (else ``num_points``
    evenly spaced steps, plus steps 1 and ``stop - 1``), every phase boundary, and both
    sides of every jump the engine knows of (:meth:`Schedule.jumps`), so that the line
    rises or falls vertically there instead of slanting across the interval. A run with
    more jumps than ``20 * num_points`` is drawn without them (at that density they are a
    texture at any size a figure has).
    """
    if stop <= num_points:
        grid = np.arange(stop + 1, dtype=np.float64)
    else:
        grid = np.linspace(0.0, float(stop), num_points + 1)
    bounds = [0.0, 1.0, float(stop - 1), float(stop)]
    for _, start, length in schedule.spans():
        bounds += [float(start), float(start + length)]
    try:
        jumps = np.asarray(schedule.jumps(stop, most=_MAX_JUMPS * num_points), dtype=np.float64)
    except RampupError:
        jumps = np.empty(0)
    before = jumps - np.maximum(1.0, jumps) * _JUST_BEFORE
    steps = np.unique(np.concatenate([grid, [b for b in bounds if 0 <= b <= stop], jumps, before[before >= 0]]))
    return steps, schedule.values(steps)


@dataclass(frozen=True)
class _Curve:
    label: str
    schedule: Schedule
    steps: FloatArray
    values: FloatArray  # learning rates when a peak is given, else multipliers
    warmup_end: int


def _listed(schedules: ScheduleLike | Iterable[ScheduleLike]) -> list[ScheduleLike]:
    if isinstance(schedules, (Schedule, str, Mapping)):
        return [schedules]
    if not isinstance(schedules, Iterable):
        raise RampupError("schedules", schedules, "a Schedule, spec text, a preset name or a dict, or a list of them")
    items = list(schedules)
    if not items:
        raise RampupError(
            "schedules",
            [],
            "at least one schedule (spec text, preset name or Schedule)",
            hint="e.g. plot('linear(5%) -> cosine', total_steps=1000)",
        )
    return items


def _peaks(peak_lr: float | Sequence[float] | None, count: int) -> list[float | None]:
    if peak_lr is None:
        return [None] * count
    peaks = [peak_lr] * count if isinstance(peak_lr, (int, float)) else list(peak_lr)
    if len(peaks) != count:
        raise RampupError("peak_lr", list(peaks), f"one learning rate, or one for each of the {count} schedules")
    return [learning_rate(peak) for peak in peaks]


def _prepare(
    schedules: ScheduleLike | Iterable[ScheduleLike],
    total_steps: int | None,
    peak_lr: float | Sequence[float] | None,
    steps_per_epoch: float | None,
    tokens_per_step: float | None,
    labels: Sequence[str] | None,
    num_points: int,
) -> tuple[list[_Curve], int]:
    """Resolve every schedule, pick the steps to draw and evaluate them (all in the engine)."""
    sources = _listed(schedules)
    peaks = _peaks(peak_lr, len(sources))
    if labels is not None and (isinstance(labels, str) or len(labels) != len(sources)):
        raise RampupError("labels", labels, f"a list of {len(sources)} labels, one for each schedule")
    if isinstance(num_points, bool) or not isinstance(num_points, int) or num_points < 2:
        raise RampupError("num_points", num_points, "a whole number >= 2")
    resolved = [
        as_schedule(source).resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)
        for source in sources
    ]
    texts = list(labels) if labels is not None else [spec_label(s, r) for s, r in zip(sources, resolved, strict=True)]
    if total_steps is None:
        for text, schedule in zip(texts, resolved, strict=True):
            if schedule.total_steps is None:
                raise RampupError(
                    "total_steps",
                    None,
                    "the number of steps to draw",
                    hint=f"{text!r} is open-ended (its last phase never ends): pass total_steps (--total-steps N)",
                )
    stop = total_steps if total_steps is not None else max(int(s.total_steps or 0) for s in resolved)
    curves = []
    for text, schedule, peak in zip(texts, resolved, peaks, strict=True):
        steps, values = curve_points(schedule, stop, num_points)
        if peak is not None:
            values = values * peak
        curves.append(_Curve(text, schedule, steps, values, schedule.warmup_steps))
    return curves, stop


def _log_floor(curves: Sequence[_Curve], peaks: Sequence[float | None]) -> float:
    """The lower end of a log axis: the smallest rate taken at a whole step >= 1 (zeros have no logarithm)."""
    floor = math.inf
    for curve, peak in zip(curves, peaks, strict=True):
        stop = int(curve.steps[-1])
        if stop < 1:
            continue
        steps = np.unique(np.concatenate([np.round(curve.steps[curve.steps >= 1]), [1.0, float(stop)]]))
        values = curve.schedule.values(steps) * (1.0 if peak is None else peak)
        positive = values[values > 0]
        if positive.size:
            floor = min(floor, float(positive.min()))
    if not math.isfinite(floor):
        raise RampupError("log_y", True, "a schedule with some value above 0 to draw on a log scale")
    return floor


def _log_mask(curve: _Curve, floor: float) -> npt.NDArray[np.bool_]:
    """Points a log axis can show: values above 0, and before step 1 only those not below the floor."""
    return (curve.values > 0) & ((curve.steps >= 1) | (curve.values >= floor))


def _step_text(step: float, stop: float) -> str:
    if step == 0:
        return "0"
    if stop >= 1e6:
        return f"{step / 1e6:g}M"
    if stop >= 1e4:
        return f"{step / 1e3:g}k"
    return f"{step:g}"


def _token_text(tokens: float) -> str:
    """``375M``, ``1.5B``: token counts as papers write them."""
    for suffix, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if abs(tokens) >= scale:
            return f"{tokens / scale:g}{suffix}"
    return f"{tokens:g}"


def _default_title(sources: list[ScheduleLike], stop: int) -> str:
    if len(sources) == 1 and isinstance(sources[0], str):
        key = sources[0].strip().lower()
        key = ALIASES.get(key, key)
        if key in PRESETS:
            return PRESETS[key].title
    noun = "schedule" if len(sources) == 1 else "schedules"
    return f"Learning-rate {noun} over {stop:,} steps"


# --------------------------------------------------------------------------- matplotlib


def plot(
    schedules: ScheduleLike | Iterable[ScheduleLike],
    total_steps: int | None = None,
    *,
    ax: Axes | None = None,
    peak_lr: float | Sequence[float] | None = None,
    log_y: bool = False,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    num_points: int = 2000,
    figsize: tuple[float, float] = (8.0, 4.5),
    dpi: float | None = None,
) -> tuple[Figure, Axes]:
    """Draw one schedule or several on one matplotlib axes; returns ``(figure, axes)``.

    ``schedules``: a Schedule, spec text, preset name or dict, or a list of them,
    each resolved with ``total_steps``, ``steps_per_epoch`` and ``tokens_per_step``.
    The x axis runs from step 0 to ``total_steps`` (default: the longest schedule;
    an open-ended one needs it). With ``peak_lr`` (one rate, or one per schedule)
    the y axis is the learning rate ``peak_lr * multiplier``, else the multiplier.

    ``log_y``: a logarithmic y axis. Zeros have no logarithm, so values <= 0 are
    left out (the line stops) and the axis starts at the smallest rate taken at a
    whole step >= 1; a warmup from 0 is drawn from step 1, its first nonzero rate.

    ``ax``: draw into your own axes (the title is then set only when given);
    otherwise a new pyplot figure of ``figsize`` inches is made (matplotlib picks
    its backend as usual: Agg when there is no display).
    """
    _require("matplotlib")
    from matplotlib import ticker
    from matplotlib.lines import Line2D

    sources = _listed(schedules)
    curves, stop = _prepare(sources, total_steps, peak_lr, steps_per_epoch, tokens_per_step, labels, num_points)
    peaks = _peaks(peak_lr, len(curves))
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=figsize, dpi=dpi, layout="constrained")
        if title is None:
            title = _default_title(sources, stop)
    else:
        fig = ax.figure.figure  # the root figure, also for axes on a subfigure
    floor = _log_floor(curves, peaks) if log_y else 0.0
    top = 0.0
    has_warmup = False
    for curve in curves:
        steps, values = curve.steps, curve.values
        if log_y:
            keep = _log_mask(curve, floor)
            steps, values = steps[keep], values[keep]
        (line,) = ax.plot(steps, values, label=curve.label, linewidth=2.0)
        top = max(top, float(np.max(curve.values)))
        if 0 < curve.warmup_end <= stop:
            has_warmup = True
            ax.axvline(curve.warmup_end, color=line.get_color(), linestyle=(0, (4, 3)), linewidth=1.2, alpha=0.9)
    ax.set_xlim(0, stop)
    if log_y:
        ax.set_yscale("log")
        ax.set_ylim(floor / 1.5, top * 1.5)
    else:
        ax.set_ylim(0, top * 1.08 if top > 0 else 1.0)
        rates = ticker.ScalarFormatter(useMathText=True)  # 2e-4 reads "2.0" under a "1e-4" on top
        rates.set_powerlimits((-2, 4))
        ax.yaxis.set_major_formatter(rates)
    ax.xaxis.set_major_locator(ticker.MaxNLocator(nbins="auto", steps=[1, 2, 2.5, 5, 10], integer=True))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: _step_text(x, stop)))
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate" if peak_lr is not None else "multiplier of peak lr")
    if title:
        ax.set_title(title)
    ax.grid(True, alpha=0.3)
    if steps_per_epoch is not None or tokens_per_step is not None:  # a second x axis on top, in epochs or tokens
        per_step = 1.0 / float(steps_per_epoch) if steps_per_epoch is not None else float(tokens_per_step or 1.0)

        def forward(steps: npt.ArrayLike) -> npt.ArrayLike:
            return np.asarray(steps, dtype=np.float64) * per_step

        def inverse(amount: npt.ArrayLike) -> npt.ArrayLike:
            return np.asarray(amount, dtype=np.float64) / per_step

        top_axis = ax.secondary_xaxis("top", functions=(forward, inverse))
        if steps_per_epoch is not None:
            top_axis.set_xlabel("epoch")
        else:
            top_axis.xaxis.set_major_formatter(ticker.FuncFormatter(lambda x, _: _token_text(x)))
            top_axis.set_xlabel("tokens")
    handles, names = ax.get_legend_handles_labels()
    if has_warmup:
        handles.append(Line2D([], [], color="0.35", linestyle=(0, (4, 3)), linewidth=1.2))
        names.append("end of warmup")
    ax.legend(handles, names, fontsize="small", loc="best")
    return fig, ax


def plot_recommendation(recommendation: Any, path: str | Path | None = None, **options: Any) -> tuple[Figure, Axes]:
    """The advisor's recommended schedule (thick) next to the alternatives it weighed; writes ``path`` if given.

    Reads ``recommendation.schedule``, ``.total_steps``, ``.steps_per_epoch``,
    ``.peak_lr``, ``.warmup_steps`` and each alternative's ``.label`` and ``.spec``
    (:class:`rampup.advisor.Recommendation`). Alternatives without a spec, that
    do not fit the run, or that draw the same schedule as one already drawn are
    left out. ``options`` go to :func:`plot`.
    """
    total, per_epoch = recommendation.total_steps, recommendation.steps_per_epoch
    chosen = as_schedule(recommendation.schedule).resolve(total, steps_per_epoch=per_epoch)
    schedules, labels, seen = [chosen], [f"recommended: {chosen}"], {str(chosen)}
    for alternative in recommendation.alternatives:
        if not alternative.spec:
            continue
        try:
            schedule = as_schedule(alternative.spec).resolve(total, steps_per_epoch=per_epoch)
        except RampupError:  # e.g. a warmup longer than the run
            continue
        if str(schedule) not in seen:
            seen.add(str(schedule))
            schedules.append(schedule)
            labels.append(f"{alternative.label}: {schedule}")
    options.setdefault("peak_lr", recommendation.peak_lr)
    options.setdefault("title", f"Recommended warmup: {recommendation.warmup_steps:,} steps, and the alternatives")
    fig, ax = plot(schedules, total, labels=labels, **options)
    for line in ax.get_lines():
        if line.get_label() == labels[0]:
            line.set_linewidth(3.5)
            line.set_zorder(3)
    if path is not None:
        save_figure(fig, path)
    return fig, ax


def plot_finding(finding: Any, path: str | Path | None = None) -> tuple[Figure, Any]:
    """The warmup finder's evidence (:class:`rampup.finder.WarmupFinding`) in two panels; writes ``path`` if given.

    Left: the held-out loss after one step from the initial weights against the probed rate (log
    scale), unstable probes as crosses, the initial loss, the target rate and the critical rate.
    Right: each pilot's training loss (a moving average) against the step, the chosen warmup's
    pilot thick, its held-out score in the legend, the end of each warmup dotted.
    """
    plt = _require("matplotlib.pyplot")
    evidence = finding.evidence
    if evidence is None:
        raise RampupError("finding", "no evidence", "a WarmupFinding made by rampup.find_warmup")
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5), layout="constrained")
    stable = [(p.rate, p.loss) for p in evidence.probes if p.stable and p.loss is not None]
    unstable = [(p.rate, p.loss if p.loss is not None else math.nan) for p in evidence.probes if not p.stable]
    if stable:
        left.plot(*zip(*sorted(stable), strict=True), "o", color="tab:blue", label="stable step")
    if unstable:
        finite = [(rate, min(loss, 3 * evidence.initial_loss)) for rate, loss in unstable if math.isfinite(loss)]
        if finite:
            left.plot(*zip(*finite, strict=True), "x", color="tab:red", markersize=9, label="unstable step")
    left.axhline(evidence.initial_loss, color="gray", linestyle=":", label=f"initial loss {evidence.initial_loss:.3g}")
    left.axvline(evidence.target_lr, color="black", linestyle="--", label=f"target {evidence.target_lr:.3g}")
    if evidence.critical_lr is not None:
        left.axvline(
            evidence.critical_lr, color="tab:red", linestyle="-.", label=f"critical {evidence.critical_lr:.3g}"
        )
    left.set_xscale("log")
    left.set_xlabel("learning rate of the one probe step")
    left.set_ylabel("held-out loss after it")
    left.set_title("Critical rate at initialization")
    left.legend(fontsize=8)
    for index, pilot in enumerate(evidence.pilots):
        values = [math.nan if v is None else v for v in pilot.train_losses]
        smooth = np.convolve(values, np.ones(5) / 5, mode="valid") if len(values) >= 5 else np.asarray(values)
        chosen = pilot.warmup_steps == evidence.chosen_steps
        score = "diverged" if pilot.score is None else f"{pilot.score:.3f}"
        line = right.plot(
            np.arange(len(smooth)) + (len(values) - len(smooth)),
            smooth,
            linewidth=3 if chosen else 1.2,
            label=f"warmup {pilot.warmup_steps}: {score}{' (healthy)' if pilot.healthy else ''}",
            zorder=3 if chosen else 2,
            color=f"C{index}",
        )[0]
        if 0 < pilot.warmup_steps < evidence.pilot_steps:
            right.axvline(pilot.warmup_steps, color=line.get_color(), linestyle=":", linewidth=1)
    right.set_xlabel("step")
    right.set_ylabel("training loss (moving average of 5)")
    right.set_title(f"Pilot runs, {evidence.pilot_steps} steps: chosen warmup {finding.warmup_steps} steps")
    right.legend(fontsize=8, title="warmup: held-out loss", title_fontsize=8)
    if path is not None:
        save_figure(fig, path)
    return fig, (left, right)


def check_output(path: str | Path) -> Path:
    """What :func:`save_figure` can tell before drawing: an image format matplotlib writes, a folder that exists.

    ``rampup plot`` asks this first, so that a bad ``-o`` is one error line and nothing else
    (not a terminal plot, then the error).
    """
    from matplotlib.backend_bases import FigureCanvasBase

    target = Path(path)
    if target.suffix.lower().lstrip(".") not in FigureCanvasBase.get_supported_filetypes():
        raise RampupError("output", str(path), "an image file name ending in .png, .svg or .pdf")
    if not target.parent.is_dir():
        raise RampupError(
            "output", str(path), "a file in a folder that exists and can be written", hint="no such folder"
        )
    return target


def save_figure(fig: Figure, path: str | Path, dpi: float | None = None) -> Path:
    """Write ``fig`` to ``path`` (the extension picks the format: .png, .svg, .pdf...); bad paths are RampupErrors."""
    target = Path(path)
    formats = fig.canvas.get_supported_filetypes()
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in formats:
        raise RampupError("output", str(path), "an image file name ending in .png, .svg or .pdf")
    try:
        fig.savefig(target, dpi=dpi if dpi is not None else fig.dpi)
    except OSError as error:
        reason = error.strerror or type(error).__name__
        raise RampupError(
            "output", str(path), "a file in a folder that exists and can be written", hint=reason
        ) from None
    return target


# --------------------------------------------------------------------------- terminal


def _nice_ticks(low: float, high: float, count: int) -> list[float]:
    """About ``count`` round tick positions (1, 2 or 5 times a power of ten apart) from ``low`` to ``high``."""
    if not high > low:
        return [low]
    raw = (high - low) / max(count, 1)
    power = 10.0 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1.0, 2.0, 5.0, 10.0) if m * power >= raw)
    first = math.ceil(low / step - 1e-9) * step
    return [float(x) for x in np.arange(first, high + step * 1e-9, step)]


#: terminal colors (the 256-color codes of plotext's own palette), and glyphs that tell curves apart without color
_TERMINAL_COLORS = (12, 9, 10, 13, 14, 11)
_TERMINAL_GLYPHS = ("braille", "•", "+", "x", "o", "*", "#", "@")
_GLYPH_TEXT = {"braille": "⣿"}

_Series: TypeAlias = "tuple[str, list[float], list[float], int]"
_Ticks: TypeAlias = "tuple[list[float], list[str]]"


def _key_line(label: str, glyph: str, warmup_end: int, paint: Any, pixel: Any) -> str:
    """One line of the key under a terminal plot: the curve's glyph (in its color), its spec, its warmup."""
    sample = _GLYPH_TEXT.get(glyph, glyph) * 2
    if paint is not None:
        sample = paint(sample, pixel)
    return f"  {sample} {label}" + (f"   (warmup ends at step {warmup_end:,})" if warmup_end else "")


def _column(floor: float | None, top: float, height: int) -> list[float]:
    """Heights for a dashed vertical line from the bottom of the y axis to the top, one per row."""
    if floor is None:
        return [float(y) for y in np.linspace(0.0, top, 2 * height)]
    return [float(y) for y in np.geomspace(floor, top, 2 * height)]


def _plotext6(
    plt: Any,
    series: list[_Series],
    stop: int,
    top: float,
    floor: float | None,
    title: str,
    y_label: str,
    width: int,
    height: int,
    color: bool,
    x_ticks: _Ticks,
    y_ticks: _Ticks,
) -> str:
    """Draw with plotext 6's figure API; the key goes under the plot (a legend box would hide the curves)."""
    figure, terminal = plt.figure, plt.terminal
    limits = list(getattr(terminal, "_limit", (True, True)))
    terminal.limit(False, False)  # the size asked for, not the terminal's (there may be none)
    figure.clear()
    try:
        figure.plot_size(width, height - len(series) - 1)
        figure.theme("simple" if color else "colorless")
        key = []
        for index, (label, xs, ys, warmup_end) in enumerate(series):
            glyph = "braille" if color else _TERMINAL_GLYPHS[index % len(_TERMINAL_GLYPHS)]
            pixel = _TERMINAL_COLORS[index % len(_TERMINAL_COLORS)] if color else None
            if 0 < warmup_end <= stop:  # a column of dashes, drawn first so that the curves stay on top
                ys_mark = _column(floor, top, height)
                figure.draw(figure.signal([warmup_end] * len(ys_mark), ys_mark, marker=plt.marker("┆", pixel=pixel)))
            signal = figure.signal(xs, ys, marker=plt.marker(glyph, pixel=pixel))
            signal.lines()
            figure.draw(signal)
            paint = (lambda text, pixel: plt.colorize(text, pixel=pixel).string()) if color else None
            key.append(_key_line(label, glyph, warmup_end, paint, pixel))
        figure.legend(False)
        figure.title(title)
        figure.label("step", axis="x")
        figure.label(y_label, axis="y")
        figure.ruler("x").lim(0, stop)
        figure.ruler("x").ticks(*x_ticks)
        if floor is not None:
            figure.ruler("y").scale("log")
            figure.ruler("y").lim(floor, top)
        else:
            figure.ruler("y").lim(0, top * 1.05 if top > 0 else 1.0)
            figure.ruler("y").ticks(*y_ticks)  # (plotext 6 loses a log axis given explicit ticks)
        text: str = figure.build().string(colorless=not color)
    finally:
        figure.clear()
        terminal.limit(*limits)
    return text + "\n" + "\n".join(key)


def plot_terminal(
    schedules: ScheduleLike | Iterable[ScheduleLike],
    total_steps: int | None = None,
    *,
    peak_lr: float | Sequence[float] | None = None,
    log_y: bool = False,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
    labels: Sequence[str] | None = None,
    title: str | None = None,
    width: int = 100,
    height: int = 30,
    color: bool = False,
) -> str:
    """The same plot as :func:`plot`, drawn with plotext as text ``width`` x ``height`` characters.

    The size is set explicitly (no terminal needed); with ``color=False`` the text
    has no ANSI color codes, for pipes, files and logs.
    """
    plt = _require("plotext")
    if isinstance(width, bool) or not isinstance(width, int) or width < 40:
        raise RampupError("width", width, "a whole number of characters >= 40")
    if isinstance(height, bool) or not isinstance(height, int) or height < 12:
        raise RampupError("height", height, "a whole number of lines >= 12")
    sources = _listed(schedules)
    curves, stop = _prepare(
        sources, total_steps, peak_lr, steps_per_epoch, tokens_per_step, labels, max(200, 4 * width)
    )
    peaks = _peaks(peak_lr, len(curves))
    floor = _log_floor(curves, peaks) if log_y else 0.0
    top = max(float(np.max(curve.values)) for curve in curves)
    x_ticks = _nice_ticks(0.0, float(stop), max(3, width // 14))
    x_labels = [_step_text(x, stop) for x in x_ticks]
    y_label = "learning rate" if peak_lr is not None else "multiplier of peak lr"
    text_title = title if title is not None else _default_title(sources, stop)
    series = []
    for curve in curves:
        steps, values = curve.steps, curve.values
        if log_y:
            keep = _log_mask(curve, floor)
            steps, values = steps[keep], values[keep]
        series.append((curve.label, steps.tolist(), values.tolist(), curve.warmup_end))
    if log_y and len({y for _, _, ys, _ in series for y in ys}) < 2:
        log_y = False  # one flat line: plotext pads a flat log axis down to 0 and fails; linear draws it the same
    y_ticks = _nice_ticks(0.0, top, max(2, height // 6))  # linear axis only
    y_labels = [f"{y:.3g}" for y in y_ticks]
    lines = _plotext6(
        plt,
        series,
        stop,
        top,
        floor if log_y else None,
        text_title,
        y_label,
        width,
        height,
        color,
        (x_ticks, x_labels),
        (y_ticks, y_labels),
    )
    text = "\n".join(line.rstrip() for line in lines.splitlines())
    return text
