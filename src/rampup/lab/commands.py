"""The ``rampup lab`` and ``rampup demo`` commands (registered in :mod:`rampup.cli`).

PyTorch and matplotlib are imported only when a command runs trials or draws figures, so
``rampup --help`` stays fast. Bad input raises :class:`RampupError`; the CLI turns it into one
``error:`` line and exit code 2.
"""

from __future__ import annotations

import math
from typing import Annotated

import typer

from rampup.errors import RampupError

__all__ = ["demo_command", "find_command", "lab_app"]

lab_app = typer.Typer(
    help="The warmup lab: real training runs that show what warmup does (needs torch).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

DbOpt = Annotated[str, typer.Option("--db", help="SQLite results database (created if missing).")]
#: what --task takes, for every command that has it
TASK_HELP = (
    "A built-in task (see `rampup lab tasks`), or your own: path/to/file.py:NAME or package.module:NAME "
    "naming a rampup.lab.custom.LabTask (docs/lab.md)."
)


@lab_app.command("tasks")
def tasks_command() -> None:
    """The built-in tasks with their sizes, optimizer and calibrated rates."""
    from rampup.lab.tasks import TASKS

    for task in TASKS.values():
        typer.echo(task.describe())
    typer.echo("Your own task: --task path/to/file.py:NAME or package.module:NAME (docs/lab.md, examples/lab_task.py).")


def _rates(values: list[str], normal: float, high: float) -> list[float]:
    rates: list[float] = []
    for value in values:
        for item in value.split(","):
            item = item.strip()
            if item in ("normal", "high"):
                rate = normal if item == "normal" else high
                if math.isnan(rate):  # a task of your own that sets no such rate
                    raise RampupError("--lr", item, "a number", hint=f"the task sets no {item}_lr: give the rate")
                rates.append(rate)
            else:
                try:
                    rates.append(float(item))
                except ValueError:
                    raise RampupError("--lr", item, "a peak learning rate > 0, or 'normal' / 'high'") from None
    return rates


@lab_app.command("run")
def run_command(
    task: Annotated[str, typer.Option("--task", help=TASK_HELP)],
    warmup: Annotated[
        list[str],
        typer.Option(
            "--warmup",
            help="Repeatable: none, advisor, a warmup phase such as 'linear(5%)' (followed by the task's decay), "
            "or a whole schedule with '->'.",
        ),
    ],
    lr: Annotated[
        list[str], typer.Option("--lr", help="Repeatable or comma-separated peak rates; 'normal'/'high': the task's.")
    ],
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 for every (warmup, rate).")] = 1,
    db: DbOpt = "rampup-lab.db",
    steps: Annotated[int | None, typer.Option("--steps", help="Steps per trial (default: the task's).")] = None,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: all cores).")] = None,
    beta2: Annotated[float | None, typer.Option("--beta2", help="Adam's beta2 (default: the task's).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
    monitor: Annotated[
        str | None,
        typer.Option("--monitor", help="'hold': the monitor adapts each warmup while training (label <warmup>+hold)."),
    ] = None,
    backend: Annotated[
        str,
        typer.Option(
            "--backend", help="local: worker processes on this machine; ray: Ray Core tasks (the rampup[ray] extra)."
        ),
    ] = "local",
    address: Annotated[
        str | None,
        typer.Option(
            "--address",
            help="With --backend ray: the running cluster's head, HOST:PORT (default: start a local Ray instance).",
        ),
    ] = None,
    cpus_per_trial: Annotated[
        float | None, typer.Option("--cpus-per-trial", help="With --backend ray: CPUs each trial reserves (default 1).")
    ] = None,
    gpus_per_trial: Annotated[
        float | None, typer.Option("--gpus-per-trial", help="With --backend ray: GPUs each trial reserves (default 0).")
    ] = None,
) -> None:
    """Run a sweep of warmups x peak rates x seeds; finished trials in --db are skipped.

    With --backend ray, --workers is the most trials in flight (default: as many as the cluster's CPUs fit).
    """
    from rampup.lab.backends import make_backend
    from rampup.lab.demo import format_table
    from rampup.lab.metrics import cells
    from rampup.lab.monitoring import score
    from rampup.lab.runner import plan_trials, run_sweep
    from rampup.lab.store import Store
    from rampup.lab.tasks import get_task

    runs_on = make_backend(backend, workers=workers, address=address, cpus=cpus_per_trial, gpus=gpus_per_trial)
    spec = get_task(task)
    rates = _rates(lr, spec.normal_lr, spec.high_lr)
    trials = plan_trials(spec.name, warmup, rates, seeds, steps=steps, beta2=beta2, monitor=monitor)
    if spec.kind == "custom":
        from rampup.lab.custom import check_task

        check_task(trials[0])  # a task that raises is a --task error before the database is opened
    summary = run_sweep(trials, db, progress=not quiet, backend=runs_on)  # an unreachable Ray: before --db too
    with Store(db) as store:
        rows = store.rows(keys=summary.keys)
    typer.echo(format_table(cells(rows)))
    typer.echo(summary.line())
    typer.echo(f"monitor: {score(rows).line()}")
    failed = [row for row in rows if row.status == "failed"]
    for row in failed:
        typer.echo(f"failed: {row.warmup} lr={row.peak_lr:g} seed={row.seed}: {row.error}", err=True)


@lab_app.command("report")
def report_command(
    db: DbOpt = "rampup-lab.db",
    out: Annotated[str, typer.Option("--out", "-o", help="Directory for the figures and tables.")] = "rampup-report",
    task: Annotated[
        str | None,
        typer.Option("--task", help="Only this task (built-in, or path/to/file.py:NAME or package.module:NAME)."),
    ] = None,
) -> None:
    """PNG figures and a summary table (Markdown, and one self-contained HTML file) from a results database."""
    from rampup.lab.report import write_report
    from rampup.lab.store import Store

    with Store(db, readonly=True) as store:
        if task is not None and ":" in task:
            from rampup.lab.custom import stored_name

            task = stored_name(task, {row.task for row in store.rows()})
        rows = store.rows(task=task)
    for path in write_report(rows, out):
        typer.echo(str(path))


def demo_command(
    out: Annotated[str, typer.Option("--out", "-o", help="Directory for the database, figures and tables.")] = (
        "rampup-demo"
    ),
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds per (warmup, rate).")] = 3,
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes (default: all cores).")] = None,
    steps: Annotated[int | None, typer.Option("--steps", help="Steps per trial (default: the task's).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress bar.")] = False,
) -> None:
    """Show what warmup does: Post-LN transformer, no / short / the advisor's warmup, at a normal and a high rate."""
    from pathlib import Path

    from rampup.lab.demo import run_demo

    place = Path(out)
    blocker = next((part for part in (place, *place.parents) if part.exists() and not part.is_dir()), None)
    if blocker is not None:  # the demo writes its database and figures inside --out: say so, not --db
        raise RampupError(
            "--out",
            out,
            "a directory for the database, figures and tables (created if missing)",
            hint=f"{blocker} is a file",
        )

    run_demo(out, seeds=seeds, workers=workers, steps=steps, progress=not quiet, echo=typer.echo)


def find_command(
    task: Annotated[str, typer.Option("--task", help=TASK_HELP)],
    lr: Annotated[
        str, typer.Option("--lr", help="The target peak rate; 'normal' or 'high' for the task's (default high).")
    ] = "high",
    probe_seed: Annotated[
        int, typer.Option("--probe-seed", help="Initial weights and data order the finder probes with.")
    ] = 1000,
    steps: Annotated[int | None, typer.Option("--steps", help="Steps of the run (default: the task's).")] = None,
    plot: Annotated[str | None, typer.Option("--plot", help="Write the probes and pilots to this PNG.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the finding as JSON.")] = False,
    check: Annotated[
        bool, typer.Option("--check", help="Then train it and a grid of warmups on --seeds seeds and compare.")
    ] = False,
    seeds: Annotated[int, typer.Option("--seeds", help="Seeds 0..N-1 for --check.")] = 3,
    db: DbOpt = "rampup-lab.db",
    workers: Annotated[int | None, typer.Option("--workers", help="Worker processes for --check.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", help="No progress lines or bar.")] = False,
) -> None:
    """Find the warmup for a lab task from the model itself: critical-rate probes and pilot runs (needs torch)."""
    from rampup.lab.tasks import get_task

    spec = get_task(task)
    rates = _rates([lr], spec.normal_lr, spec.high_lr)
    if len(rates) != 1 or not rates[0] > 0:
        raise RampupError("--lr", lr, "one peak learning rate > 0, or 'normal' / 'high'")
    if spec.kind == "custom":
        from rampup.lab.custom import check_task, resolve_task
        from rampup.lab.runner import plan_trials

        if resolve_task(spec.name).lab_task.train is not None:
            raise RampupError(
                "--task",
                task,
                "a LabTask(data=...) (the finder probes the task's model)",
                hint="a train(trial) task runs its own loop: give it a data= builder to use rampup find",
            )
        check_task(plan_trials(spec.name, ["none"], rates, [probe_seed], steps=steps)[0])
    if plot is not None:
        from rampup.plotting import check_output

        check_output(plot)
    import time

    from rampup.lab.finding import find_for_task

    started = time.perf_counter()
    if not quiet:  # the finder has no progress callback: one line per stage, on stderr
        typer.echo(
            f"rampup find: stage 1/{2 if check else 1}: critical-rate probes and pilot runs on {spec.name} "
            "(about half a minute on two cores)...",
            err=True,
        )
    finding = find_for_task(spec.name, rates[0], seed=probe_seed, steps=steps)
    if not quiet:
        typer.echo(f"rampup find: stage 1 done in {time.perf_counter() - started:.1f} s", err=True)
    if as_json:
        typer.echo(finding.to_json())
    else:
        typer.echo(f"rampup find: {spec.title}, target lr {rates[0]:g} (probed at seed {probe_seed})")
        typer.echo(finding.explain())
        if finding.evidence is not None:
            typer.echo(f"probes and pilots took {finding.evidence.wall_s:.1f} s")
    if plot is not None:
        finding.plot(plot)
        typer.echo(f"wrote {plot}", err=as_json)
    if check:
        from rampup.lab.finding import check_against_grid

        if not quiet:
            typer.echo("rampup find: stage 2/2: training the finding and a grid of warmups to check it", err=True)
        result = check_against_grid(
            spec.name, str(finding.schedule), rates[0], seeds=seeds, db=db, workers=workers, progress=not quiet
        )
        lines = ["", result.table(), "final held-out loss in nats; * diverged", f"verdict: {result.verdict()}"]
        for line in [*lines, result.summary.line()]:
            typer.echo(line, err=as_json)  # with --json, stdout stays one JSON object
