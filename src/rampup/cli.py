"""The ``rampup`` command line.

Bad input never ends in a traceback: one line on stderr that starts with
``error:`` and exit code 2.
"""

from __future__ import annotations

import csv
import io
import json
import sys
from typing import Annotated, Any

import typer

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from rampup.errors import RampupError
from rampup.presets import PRESETS
from rampup.schedule import Schedule, as_schedule

app = typer.Typer(
    name="rampup",
    help="Learning-rate warmup: schedules, advice, plots and proof.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

SpecArg = Annotated[str, typer.Argument(help="Spec text such as 'linear(5%) -> cosine(to=0.1)', or a preset name.")]
TotalOpt = Annotated[int | None, typer.Option("--total-steps", "-n", help="Total optimizer steps of the run.")]
EpochOpt = Annotated[float | None, typer.Option("--steps-per-epoch", help="Optimizer steps per epoch (for 'ep').")]
TokensOpt = Annotated[float | None, typer.Option("--tokens-per-step", help="Tokens per optimizer step (for 'tok').")]
PeakOpt = Annotated[float, typer.Option("--peak-lr", help="Peak learning rate; values are peak * multiplier.")]


def resolve_spec(
    spec: str,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> Schedule:
    """Spec text or preset name, resolved with what the command line was given."""
    return as_schedule(spec).resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)


def _steps_to_show(schedule: Schedule, at: str | None, every: int | None) -> list[int]:
    if at is not None and every is not None:
        raise RampupError("--at/--every", f"--at {at} --every {every}", "one of --at or --every, not both")
    if at is not None:
        steps = []
        for item in at.split(","):
            item = item.strip()
            try:
                step = int(item)
            except ValueError:
                raise RampupError("--at", item, "whole step numbers separated by commas, e.g. --at 0,10,99") from None
            if step < 0:
                raise RampupError("--at", step, "steps >= 0")
            steps.append(step)
        return steps
    total = schedule.total_steps
    if total is None:
        raise RampupError(
            "--total-steps", None, "the run's length", hint="this schedule is open-ended: list steps with --at 0,10,99"
        )
    if every is None:
        every = max(1, total // 20)
    if every <= 0:
        raise RampupError("--every", every, "a whole number of steps > 0")
    return [*range(0, total, every), total]


@app.command()
def values(
    spec: SpecArg,
    total_steps: TotalOpt = None,
    peak_lr: PeakOpt = 1.0,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="Comma-separated steps, e.g. 0,10,99.")] = None,
    every: Annotated[int | None, typer.Option("--every", help="Every K steps from 0 to the total.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """The learning rate at chosen steps: peak-lr times the schedule's multiplier."""
    if output_format not in ("table", "json", "csv"):
        raise RampupError("--format", output_format, "one of table, json, csv")
    if not peak_lr > 0:
        raise RampupError("--peak-lr", peak_lr, "a learning rate > 0")
    schedule = resolve_spec(spec, total_steps, steps_per_epoch, tokens_per_step)
    steps = _steps_to_show(schedule, at, every)
    rows = [{"step": step, "lr": peak_lr * schedule(step)} for step in steps]
    if output_format == "json":
        typer.echo(json.dumps(rows))
    elif output_format == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["step", "lr"])
        for row in rows:
            writer.writerow([row["step"], repr(row["lr"])])
        typer.echo(buffer.getvalue(), nl=False)
    else:
        width = max(len(str(row["step"])) for row in rows) if rows else 4
        typer.echo(f"{'step':>{max(width, 4)}}  lr")
        for row in rows:
            typer.echo(f"{row['step']:>{max(width, 4)}}  {row['lr']:.6g}")


@app.command()
def show(
    spec: SpecArg,
    total_steps: TotalOpt = None,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    peak_lr: Annotated[float | None, typer.Option("--peak-lr", help="Also show absolute rates.")] = None,
) -> None:
    """The canonical spec, each phase with its steps, where warmup ends, and the schedule in words."""
    original = as_schedule(spec)
    schedule = original.resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)
    typer.echo(f"spec:      {original}")
    if str(schedule) != str(original):
        typer.echo(f"resolved:  {schedule}")
    total = schedule.total_steps
    typer.echo(f"total:     {total if total is not None else 'open-ended'} steps")
    typer.echo(f"warmup:    ends at step {schedule.warmup_steps}")
    typer.echo("phases:")
    for (phase, start, length), role in zip(schedule.spans(), schedule.roles, strict=True):
        end = "end" if length == float("inf") else f"{start + length:g}"
        first = schedule(start)
        line = f"  {role:<6}  steps {start:>7g} - {end:<7}  {phase}"
        if peak_lr is not None:
            line += f"   (lr {peak_lr * first:.4g} at step {start})"
        typer.echo(line)
    typer.echo(f"in words:  {schedule.describe()}")


@app.command()
def presets() -> None:
    """The named recipes with their sources."""
    for item in PRESETS.values():
        typer.echo(f"{item.name}: {item.spec}")
        typer.echo(f"    {item.title}")
        if item.peak_lr is not None:
            typer.echo(f"    peak lr: {item.peak_lr:.4g}")
        if item.needs:
            typer.echo(f"    needs: {', '.join(item.needs)}")
        typer.echo(f"    source: {item.source}")


def main(argv: list[str] | None = None) -> Any:
    """Entry point: runs the app, turning bad input into one ``error:`` line and exit code 2."""
    command = typer.main.get_command(app)
    try:
        result = command.main(args=argv, prog_name="rampup", standalone_mode=False)
    except RampupError as error:
        typer.echo(f"error: {error.line()}", err=True)
        sys.exit(2)
    except click_exceptions.NoArgsIsHelpError as error:
        typer.echo(error.ctx.get_help() if error.ctx else str(error))
        sys.exit(2)
    except click_exceptions.UsageError as error:
        message = " ".join(error.format_message().split())
        typer.echo(f"error: {message} (see rampup --help)", err=True)
        sys.exit(2)
    except click_exceptions.ClickException as error:
        typer.echo(f"error: {' '.join(error.format_message().split())}", err=True)
        sys.exit(2)
    if isinstance(result, int) and result != 0:
        sys.exit(result)
    return None


if __name__ == "__main__":
    main()
