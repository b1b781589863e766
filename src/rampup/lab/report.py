"""The lab's report: a summary table (Markdown and HTML) and PNG figures, from a results database.

Figures (matplotlib, Agg backend; ``pip install 'rampup[plot]'``), one pair per task:

- ``<task>-loss-curves.png``: training loss against step, one panel per peak rate, one colour per
  warmup (every seed drawn, smoothed), the end of each warmup dotted;
- ``<task>-final-vs-lr.png``: final held-out loss against peak rate (log x), one line per warmup,
  diverged trials marked with x, the initial loss dashed.

``summary.html`` is one self-contained file: the figures are inlined as ``data:`` URIs and the page
loads nothing else (no file, no network), so it can be mailed or attached as it is. A task name that
is no file name (a task of your own, ``path/to/file.py:NAME@digest``) has its other characters
replaced by ``_`` in the PNGs' names.
"""

from __future__ import annotations

import base64
import html
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

from rampup.errors import RampupError
from rampup.lab.metrics import Cell, WarmupSummary, cells, summarize
from rampup.lab.store import TrialRow

__all__ = ["cell_table", "file_stem", "markdown", "summary_table", "write_report"]


def _num(value: float | None, digits: int = 3) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.{digits}f}"


def cell_table(by_cell: Sequence[Cell]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-(warmup, rate) table."""
    header = ["task", "warmup", "schedule", "peak lr", "final loss per seed", "mean", "diverged", "max grad norm"]
    rows = []
    for cell in by_cell:
        finals = " ".join(_num(f) + ("*" if f is None or f > cell.initial_loss else "") for f in cell.finals)
        rows.append(
            [
                cell.task,
                cell.warmup,
                cell.schedule,
                f"{cell.peak_lr:g}",
                finals,
                _num(cell.mean_final),
                f"{cell.diverged}/{len(cell.seeds)}",
                _num(cell.max_grad_norm, 1),
            ]
        )
    return header, rows


def summary_table(summaries: Sequence[WarmupSummary]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-warmup table (Wortsman et al.'s lr sensitivity)."""
    header = ["task", "warmup", "lr sensitivity", "best lr", "best loss", "divergence rate", "trials"]
    rows = [
        [
            s.task,
            s.warmup,
            _num(s.sensitivity),
            f"{s.best_lr:g}",
            _num(s.best_loss),
            f"{s.divergence_rate:.0%}",
            str(s.trials),
        ]
        for s in summaries
    ]
    return header, rows


def markdown(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>\n" for row in rows)
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>\n</table>"


_NOTE = (
    "Final loss: held-out loss after the last step (nats). `*`: diverged (non-finite, exploded, or ending "
    "above the initial loss); a diverged trial counts as its initial loss in the mean. lr sensitivity: "
    "Wortsman et al. 2023, mean over the rate grid of min(final, initial) minus the best final loss."
)


def _smooth(values: Sequence[float | None], width: int) -> list[float]:
    out: list[float] = []
    level: float | None = None
    alpha = 2.0 / (width + 1)
    for value in values:
        if value is None or not math.isfinite(value):
            out.append(math.nan)
            continue
        level = value if level is None else level + alpha * (value - level)
        out.append(level)
    return out


def file_stem(task: str) -> str:
    """A task name made safe as the start of a file name (built-in names are unchanged)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", task).strip("._") or "task"


def _inline(path: Path) -> str:
    """An ``<img>`` with the PNG inlined as a data: URI."""
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    alt = html.escape(path.stem)
    return f'<p><img src="data:image/png;base64,{data}" alt="{alt}" title="{alt}"></p>\n'


def _plots(task: str, rows: Sequence[TrialRow], by_cell: Sequence[Cell], out: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    warmups = list(dict.fromkeys(cell.warmup for cell in by_cell))
    colors = {w: f"C{i % 10}" for i, w in enumerate(warmups)}
    lrs = sorted({row.peak_lr for row in rows})
    paths = []

    cols = min(3, len(lrs))
    nrows = math.ceil(len(lrs) / cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(4.4 * cols, 3.4 * nrows), squeeze=False, sharey=True)
    initial = max((r.initial_loss for r in rows if r.initial_loss is not None), default=math.nan)
    flat = [ax for line in axes for ax in line]
    for ax in flat[len(lrs) :]:
        ax.set_visible(False)
    for ax, lr in zip(flat, lrs, strict=False):
        for warmup in warmups:
            members = [r for r in rows if r.peak_lr == lr and r.warmup == warmup]
            for index, row in enumerate(members):
                if not row.train_losses:
                    continue
                smooth = _smooth(row.train_losses, max(3, row.steps // 40))
                ax.plot(range(len(smooth)), smooth, color=colors[warmup], lw=1.1, alpha=0.75,
                        label=warmup if index == 0 else None)  # fmt: skip
            if members and members[0].warmup_steps:
                ax.axvline(members[0].warmup_steps, color=colors[warmup], ls=":", lw=1)
        ax.set_title(f"{task}, peak lr {lr:g}")
        ax.set_xlabel("step")
        if math.isfinite(initial):
            ax.set_ylim(top=initial * 1.1)
        ax.grid(alpha=0.3)
    for line in axes:
        line[0].set_ylabel("training loss (smoothed)")
    flat[len(lrs) - 1].legend(title="warmup", fontsize=8)
    fig.tight_layout()
    path = out / f"{file_stem(task)}-loss-curves.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)

    fig, ax = plt.subplots(figsize=(5.5, 4))
    for warmup in warmups:
        mine = [c for c in by_cell if c.warmup == warmup]
        ax.plot([c.peak_lr for c in mine], [c.mean_final for c in mine], marker="o", color=colors[warmup], label=warmup)
        bad = [c for c in mine if c.diverged]
        ax.scatter([c.peak_lr for c in bad], [c.mean_final for c in bad], marker="x", s=80, color=colors[warmup])
    if math.isfinite(initial):
        ax.axhline(initial, color="grey", ls="--", lw=1, label="initial loss")
    ax.set_xscale("log")
    ax.set_xticks(lrs, [f"{lr:g}" for lr in lrs])
    ax.minorticks_off()
    ax.set_xlabel("peak learning rate")
    ax.set_ylabel("final held-out loss (mean over seeds)")
    ax.set_title(f"{task}: final loss against peak rate")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    path = out / f"{file_stem(task)}-final-vs-lr.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths


def monitor_table(rows: Sequence[TrialRow]) -> tuple[list[str], list[list[str]], str]:
    """The monitor's flags per cell (first flag's step per seed, kinds, outcome) and its catch / false-alarm line."""
    from rampup.lab.monitoring import monitor_cells, score

    header = [
        "task",
        "peak lr",
        "warmup",
        "flagged",
        "first flag at step (per seed)",
        "kinds",
        "outcome",
        "ramp met decay at",
    ]
    body = []
    for cell in monitor_cells(rows):
        firsts = ", ".join("-" if step is None else str(step) for step in cell.first_steps)
        ramps = ", ".join("-" if step is None else str(step) for step in cell.ramp_done_at)
        body.append(
            [
                cell.task,
                f"{cell.peak_lr:g}",
                cell.warmup,
                f"{cell.flagged}/{cell.runs}",
                firsts,
                ", ".join(cell.kinds) or "-",
                ", ".join(cell.outcomes),
                ramps,
            ]
        )
    return header, body, score(rows).line()


def write_report(rows: Sequence[TrialRow], out_dir: str | os.PathLike[str], *, figures: bool = True) -> list[Path]:
    """Write ``summary.md``, ``summary.html`` (self-contained: figures inlined) and (with ``figures``) the PNGs;
    returns the paths written."""
    if not rows:
        raise RampupError("--db", "no trials", "a database with at least one finished trial")
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise RampupError("-o", str(out_dir), "a directory that can be created", hint=str(error)) from None
    by_cell = cells(rows)
    summaries = summarize(rows)
    cell_head, cell_rows = cell_table(by_cell)
    sum_head, sum_rows = summary_table(summaries)
    mon_head, mon_rows, mon_line = monitor_table(rows)
    paths: list[Path] = []
    if figures:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise ImportError("the lab's figures need matplotlib: pip install 'rampup[plot]'") from None
        for task in dict.fromkeys(row.task for row in rows):
            mine = [row for row in rows if row.task == task]
            paths += _plots(task, mine, [c for c in by_cell if c.task == task], out)
    md = "\n\n".join(
        [
            "# rampup lab report",
            "## Final loss by warmup and peak rate",
            markdown(cell_head, cell_rows),
            "## Per warmup over the rate grid",
            markdown(sum_head, sum_rows),
            _NOTE,
            "## What the monitor flagged",
            markdown(mon_head, mon_rows) if mon_rows else "No trial recorded the monitor's flags.",
            f"Monitor: {mon_line} (docs/monitor.md).",
            *[f"![{p.stem}]({p.name})" for p in paths],
        ]
    )
    (out / "summary.md").write_text(md + "\n", encoding="utf-8")
    images = "".join(_inline(p) for p in paths)
    page = (
        "<!doctype html>\n<html><head><meta charset='utf-8'><title>rampup lab report</title>\n"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; "
        "style-src 'unsafe-inline'\">\n"
        "<style>body{font-family:sans-serif;max-width:75em;margin:2em auto}table{border-collapse:collapse}"
        "td,th{border:1px solid #bbb;padding:.25em .6em;text-align:left}img{max-width:100%}</style></head><body>\n"
        "<h1>rampup lab report</h1>\n<h2>Final loss by warmup and peak rate</h2>\n"
        f"{_html_table(cell_head, cell_rows)}\n<h2>Per warmup over the rate grid</h2>\n"
        f"{_html_table(sum_head, sum_rows)}\n<p>{html.escape(_NOTE)}</p>\n<h2>What the monitor flagged</h2>\n"
        f"{_html_table(mon_head, mon_rows)}\n<p>Monitor: {html.escape(mon_line)}</p>\n{images}</body></html>\n"
    )
    (out / "summary.html").write_text(page, encoding="utf-8")
    return [out / "summary.md", out / "summary.html", *paths]
