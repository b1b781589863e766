"""The ``rampup`` command line.

Bad input never ends in a traceback: one line on stderr that starts with
``error:`` and exit code 2.
"""

from __future__ import annotations

import json
import math
import re
import sys
from collections.abc import Iterator, Sequence
from typing import Annotated, Any

import numpy as np
import typer

try:  # typer >= 0.20 carries its own copy of click
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - older typer uses click itself
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from rampup.durations import MAX_STEPS
from rampup.errors import RampupError
from rampup.presets import PRESETS, is_preset, preset_peak_lr
from rampup.schedule import Schedule, as_schedule

app = typer.Typer(
    name="rampup",
    help="Learning-rate warmup: schedules, advice, plots and proof.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

#: the most pixels per inch `rampup plot` draws at (8 x 4.5 inches: 8000 x 4500 pixels)
MAX_DPI = 1000


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("rampup")
    except PackageNotFoundError:  # pragma: no cover - a source tree without metadata
        import rampup

        return str(getattr(rampup, "__version__", "unknown"))


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"rampup {_version()}")
        raise typer.Exit()


@app.callback()
def _options(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    """Learning-rate warmup: schedules, advice, plots and proof."""


def peak_for(spec: str, given: float | None, default: float) -> float:
    """``--peak-lr`` if given, else the preset's own peak (a preset that has one), else ``default``.

    One rule for every command that turns multipliers into rates (values, show, export).
    """
    if given is not None:
        peak = given
    else:
        found = preset_peak_lr(spec)
        peak = default if found is None else found
    return check_peak(peak)


#: the range of --peak-lr: beyond it a rate is no learning rate, and the axes of a plot cannot be drawn
PEAK_RANGE = (1e-30, 1e30)


def check_peak(peak: float) -> float:
    """``--peak-lr``: a finite learning rate > 0, within :data:`PEAK_RANGE`."""
    low, high = PEAK_RANGE
    if not (peak > 0 and math.isfinite(peak)):
        raise RampupError("--peak-lr", peak, "a finite learning rate > 0")
    if not low <= peak <= high:
        raise RampupError("--peak-lr", peak, f"a finite learning rate > 0, between {low:g} and {high:g}")
    return peak


def spec_or_file(value: Any) -> Any:
    """A SPEC argument that names a schedule file becomes that schedule's canonical spec text.

    The one place where the command line reads schedule files (``values``, ``show``, ``plot``,
    ``export``; ``inspect`` reads them itself): the dict form as JSON, YAML or TOML, or a text file
    holding a spec (:func:`rampup.inspect.read_schedule_file`). A preset name is never a file; any
    other argument that names an existing file, or ends in a schedule file's suffix, is read as one.
    """
    if isinstance(value, (list, tuple)):
        return [spec_or_file(item) for item in value]
    if not isinstance(value, str) or is_preset(value):
        return value
    import os

    lowered = value.strip().lower()
    if os.path.isfile(value) or lowered.endswith((".json", ".yaml", ".yml", ".toml", ".txt", ".spec")):
        from rampup.inspect import read_schedule_file

        return str(read_schedule_file(value))
    return value


SpecArg = Annotated[
    str,
    typer.Argument(
        help="Spec text such as 'linear(5%) -> cosine(to=0.1)', a preset name, or a schedule file.",
        callback=spec_or_file,
    ),
]
TotalOpt = Annotated[int | None, typer.Option("--total-steps", "-n", help="Total optimizer steps of the run.")]
EpochOpt = Annotated[float | None, typer.Option("--steps-per-epoch", help="Optimizer steps per epoch (for 'ep').")]
TokensOpt = Annotated[float | None, typer.Option("--tokens-per-step", help="Tokens per optimizer step (for 'tok').")]
PeakOpt = Annotated[
    float | None,
    typer.Option("--peak-lr", help="Peak learning rate; values are peak * multiplier (default: the preset's, else 1)."),
]


def resolve_spec(
    spec: str,
    total_steps: int | None = None,
    steps_per_epoch: float | None = None,
    tokens_per_step: float | None = None,
) -> Schedule:
    """Spec text or preset name, resolved with what the command line was given."""
    return as_schedule(spec).resolve(total_steps, steps_per_epoch=steps_per_epoch, tokens_per_step=tokens_per_step)


#: rows of ``rampup values`` computed (by the vectorized engine) and written at a time
ROWS_PER_BLOCK = 1 << 16

#: a block of rows: the steps and the rates at them
Rows = tuple[Sequence[int], list[float]]


def _steps_to_show(schedule: Schedule, at: str | None, every: int | None) -> list[int] | range:
    """The steps ``rampup values`` shows: the ``--at`` list, or ``range(0, total, every)``.

    After that range, the total itself is always shown last (see :func:`_step_blocks`);
    a range, not a list, so that the steps of a long run are never all in memory at once.
    """
    if at is not None and every is not None:
        raise RampupError("--at/--every", f"--at {at} --every {every}", "one of --at or --every, not both")
    if at is not None:
        steps = []
        for item in at.split(","):
            item = item.strip()
            if not re.fullmatch(r"-?[0-9]+", item):  # ASCII digits: int() also reads "５" and "1_0"
                raise RampupError("--at", item, "whole step numbers separated by commas, e.g. --at 0,10,99")
            if item.startswith("-"):
                raise RampupError("--at", item, "steps >= 0")
            if len(item) > 16:
                raise RampupError("--at", item, "steps >= 0 and at most 10**15")
            steps.append(int(item))
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
    return range(0, total, every)


def _step_blocks(schedule: Schedule, steps: list[int] | range, peak: float) -> Iterator[Rows]:
    """The rows of ``rampup values``, ``(steps, rates)``, at most :data:`ROWS_PER_BLOCK` at a time.

    ``--at`` steps (a list someone typed) are evaluated one by one; ``--every`` steps come
    from :meth:`Schedule.values` in blocks (bit for bit the scalar call's values), and the
    total is the last row.
    """
    if isinstance(steps, list):
        yield steps, [peak * schedule(step) for step in steps]
        return
    total = schedule.total_steps
    assert total is not None  # _steps_to_show checked it
    for begin in range(0, len(steps), ROWS_PER_BLOCK):
        part = steps[begin : begin + ROWS_PER_BLOCK]
        numbers = np.arange(part.start, part.stop, part.step, dtype=np.int64)
        yield part, (peak * schedule.values(numbers)).tolist()
    yield [total], [peak * schedule(total)]


class _JsonNumber(float):
    """A float whose ``repr`` is what ``json.dumps`` writes for it (``NaN``, ``Infinity`` for the non-finite)."""

    def __repr__(self) -> str:
        return json.dumps(float(self))


def _write_rows(blocks: Iterator[Rows], output_format: str, width: int) -> None:
    """Write the rows as they come: the same text as building them all first, in constant memory."""
    write = sys.stdout.write
    if output_format == "json":
        opening = "["
        for steps, rates in blocks:
            pairs = zip(steps, rates if all(map(math.isfinite, rates)) else map(_JsonNumber, rates), strict=True)
            rows = [f'{{"step": {step}, "lr": {rate!r}}}' for step, rate in pairs]
            write(opening + ", ".join(rows))
            opening = ", "
        write("]\n")
    elif output_format == "csv":
        write("step,lr\n")
        for steps, rates in blocks:
            write("".join([f"{step},{rate!r}\n" for step, rate in zip(steps, rates, strict=True)]))
    else:
        write(f"{'step':>{width}}  lr\n")
        for steps, rates in blocks:
            write("".join([f"{step:>{width}}  {rate:.6g}\n" for step, rate in zip(steps, rates, strict=True)]))
    sys.stdout.flush()


@app.command()
def values(
    spec: SpecArg,
    total_steps: TotalOpt = None,
    peak_lr: PeakOpt = None,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    at: Annotated[str | None, typer.Option("--at", help="Comma-separated steps, e.g. 0,10,99.")] = None,
    every: Annotated[int | None, typer.Option("--every", help="Every K steps from 0 to the total.")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table, json or csv.")] = "table",
) -> None:
    """The learning rate at chosen steps: peak-lr times the schedule's multiplier."""
    if output_format not in ("table", "json", "csv"):
        raise RampupError("--format", output_format, "one of table, json, csv")
    peak = peak_for(spec, peak_lr, 1.0)
    schedule = resolve_spec(spec, total_steps, steps_per_epoch, tokens_per_step)
    steps = _steps_to_show(schedule, at, every)
    blocks = _step_blocks(schedule, steps, peak)
    if isinstance(steps, list):  # the rates are computed (and may fail) before anything is written
        blocks = iter([next(blocks)])
    largest = max(steps) if isinstance(steps, list) else schedule.total_steps
    try:
        _write_rows(blocks, output_format, max(len(str(largest)), 4))
    except BrokenPipeError:  # the reader has had enough (``rampup values ... | head``): stop, quietly
        _quiet_stdout()


def _quiet_stdout() -> None:
    """Send what is left in stdout's buffer to /dev/null, so that exiting raises no second BrokenPipeError."""
    import contextlib
    import os

    with contextlib.suppress(OSError, ValueError):  # a stdout without a file descriptor: nothing to redirect
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@app.command()
def show(
    spec: SpecArg,
    total_steps: TotalOpt = None,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    peak_lr: Annotated[
        float | None, typer.Option("--peak-lr", help="Also show absolute rates (default: the preset's peak, if any).")
    ] = None,
) -> None:
    """The canonical spec, each phase with its steps, where warmup ends, and the schedule in words."""
    if peak_lr is not None or preset_peak_lr(spec) is not None:
        peak_lr = peak_for(spec, peak_lr, 1.0)
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


@app.command("plot")
def plot_command(
    specs: Annotated[
        list[str] | None,
        typer.Argument(
            metavar="SPEC", help="Specs, preset names or schedule files, drawn on one figure.", callback=spec_or_file
        ),
    ] = None,
    total_steps: TotalOpt = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Image to write (.png, .svg, .pdf).")] = None,
    peak_lr: Annotated[float | None, typer.Option("--peak-lr", help="Draw learning rates: peak * multiplier.")] = None,
    log_y: Annotated[bool, typer.Option("--log-y", help="Logarithmic learning-rate axis.")] = False,
    terminal: Annotated[bool, typer.Option("--terminal", help="Draw in the terminal (an image only with -o).")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No color codes in the terminal plot.")] = False,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    title: Annotated[str | None, typer.Option("--title", help="Title of the plot.")] = None,
    dpi: Annotated[int, typer.Option("--dpi", help="Pixels per inch of the 8 x 4.5 inch image.")] = 100,
) -> None:
    """Draw schedules: learning rate against step, dashed where each warmup ends. Prints the image's path."""
    import os
    import shutil

    if not specs:
        raise RampupError("SPEC", None, "at least one spec or preset name", hint="e.g. rampup plot bert -n 1000")
    if peak_lr is not None:
        check_peak(peak_lr)
    if not 0 < dpi <= MAX_DPI:
        raise RampupError("--dpi", dpi, f"a whole number of pixels per inch between 1 and {MAX_DPI}")
    if title is not None:
        _check_title(title)
    for spec in specs:  # bad input fails here, before matplotlib is imported
        resolve_spec(spec, total_steps, steps_per_epoch, tokens_per_step)
    try:
        from rampup.plotting import DEFAULT_OUTPUT, check_output, plot, plot_terminal, save_figure

        options: dict[str, Any] = {
            "peak_lr": peak_lr,
            "log_y": log_y,
            "title": title,
            "steps_per_epoch": steps_per_epoch,
            "tokens_per_step": tokens_per_step,
        }
        if output is not None:
            check_output(output)  # before drawing: a bad -o is one error line, no plot before it
        if terminal:
            color = not no_color and "NO_COLOR" not in os.environ and sys.stdout.isatty()
            width = max(60, min(shutil.get_terminal_size((100, 30)).columns, 160))
            text = plot_terminal(specs, total_steps, width=width, height=30, color=color, **options)
            typer.echo(text, color=color)
        if output is not None or not terminal:
            import matplotlib

            matplotlib.use("Agg")  # a file, whatever display there is
            import matplotlib.pyplot as plt

            fig, _ = plot(specs, total_steps, dpi=dpi, **options)
            try:
                path = save_figure(fig, output or DEFAULT_OUTPUT, dpi=dpi)
            finally:
                plt.close(fig)
            typer.echo(str(path))
    except ImportError as error:
        raise RampupError("rampup plot", "a missing package", "the plot extra", hint=str(error)) from None


def _check_title(title: str) -> None:
    """A title that matplotlib reads as math must parse, else one error line before drawing.

    matplotlib reads a text as math when it has an even, non-zero number of unescaped ``$``.
    """
    if len(title) > 500:
        raise RampupError("--title", title, "a title of at most 500 characters")
    dollars = title.count("$") - title.count("\\$")
    if dollars == 0 or dollars % 2:
        return
    try:
        from matplotlib.mathtext import MathTextParser
    except ImportError:
        return  # the plot extra is missing: the plot itself says so
    try:
        MathTextParser("path").parse(title)
    except (ValueError, RuntimeError) as error:
        raise RampupError(
            "--title",
            title,
            "plain text, or matplotlib math between $ signs that parses",
            hint=f"{' '.join(str(error).split())}; write \\$ for a dollar sign",
        ) from None


@app.command("recommend")
def recommend_command(
    total_steps: TotalOpt = None,
    dataset_size: Annotated[int | None, typer.Option("--dataset-size", help="Training examples per epoch.")] = None,
    batch_size: Annotated[int | None, typer.Option("--batch-size", help="Examples per device and step.")] = None,
    grad_accum: Annotated[int, typer.Option("--grad-accum", help="Gradient accumulation steps.")] = 1,
    num_processes: Annotated[int, typer.Option("--num-processes", help="Data-parallel processes.")] = 1,
    epochs: Annotated[float | None, typer.Option("--epochs", help="Epochs (with dataset and batch size).")] = None,
    optimizer: Annotated[str, typer.Option("--optimizer", help="adamw, adam, lamb, radam, lion, sgd...")] = "adamw",
    beta2: Annotated[float | None, typer.Option("--beta2", help="Adam's beta2 (default 0.999).")] = None,
    betas: Annotated[str | None, typer.Option("--betas", help="beta1,beta2, e.g. 0.9,0.95.")] = None,
    regime: Annotated[str | None, typer.Option("--regime", help="lora, qlora, full, pretrain or continue.")] = None,
    architecture: Annotated[
        str | None, typer.Option("--architecture", help="post-ln, pre-ln, bert, vit or decoder.")
    ] = None,
    base_batch_size: Annotated[int | None, typer.Option("--base-batch-size", help="Batch of --base-lr.")] = None,
    base_warmup_steps: Annotated[
        int | None, typer.Option("--base-warmup-steps", help="Warmup tuned at the base batch.")
    ] = None,
    peak_lr: Annotated[float | None, typer.Option("--peak-lr", help="Peak learning rate, used as is.")] = None,
    base_lr: Annotated[float | None, typer.Option("--base-lr", help="Rate at the base batch, scaled.")] = None,
    decay: Annotated[
        str | None,
        typer.Option("--decay", help="After the warmup: linear (default; continue: cosine(to=0.1)), cosine..."),
    ] = None,
    max_warmup_share: Annotated[
        float | None,
        typer.Option(
            "--max-warmup-share",
            help=(
                "Cap, share of the run (default 0.25; 0.5 for a rate scaled up for a large batch; "
                "from scratch, half of what the rules ask, up to 0.5)."
            ),
        ),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the recommendation as JSON.")] = False,
    plot_path: Annotated[
        str | None, typer.Option("--plot", help="Also draw the schedule next to the alternatives (a PNG).")
    ] = None,
) -> None:
    """How many warmup steps: the number, the schedule, the rules that fired and the HF / TRL arguments."""
    from rampup.advisor import recommend

    counts = {
        "--total-steps": total_steps,
        "--dataset-size": dataset_size,
        "--batch-size": batch_size,
        "--grad-accum": grad_accum,
        "--num-processes": num_processes,
        "--base-batch-size": base_batch_size,
        "--base-warmup-steps": base_warmup_steps,
    }
    for flag, count in counts.items():  # the advisor multiplies and divides these as floats
        if count is not None and abs(count) > MAX_STEPS:
            raise RampupError(flag, count, "a whole number of at most 10**15")
    pair: tuple[float, float] | None = None
    if betas is not None:
        try:
            first, second = (float(item) for item in betas.split(","))
        except ValueError:
            raise RampupError("--betas", betas, "two numbers separated by a comma, e.g. 0.9,0.999") from None
        pair = (first, second)
    advice = recommend(
        total_steps=total_steps,
        dataset_size=dataset_size,
        batch_size=batch_size,
        grad_accum=grad_accum,
        num_processes=num_processes,
        epochs=epochs,
        optimizer=optimizer,
        betas=pair,
        beta2=beta2,
        regime=regime,
        architecture=architecture,
        base_batch_size=base_batch_size,
        base_warmup_steps=base_warmup_steps,
        base_lr=base_lr,
        peak_lr=peak_lr,
        max_warmup_share=max_warmup_share,
        decay=decay,
    )
    typer.echo(advice.to_json() if as_json else advice.explain())
    if plot_path is not None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            from rampup.plotting import plot_recommendation
        except ImportError as error:
            raise RampupError("--plot", plot_path, "the plot extra installed", hint=str(error)) from None
        fig, _ = plot_recommendation(advice, plot_path)
        plt.close(fig)
        if not as_json:
            typer.echo(f"plot:      {plot_path}")


@app.command("export")
def export_command(
    spec: SpecArg,
    to: Annotated[
        str,
        typer.Option("--to", help="torch, hf, trl, lightning, optax, keras; configs: deepspeed, megatron, axolotl."),
    ],
    total_steps: TotalOpt = None,
    peak_lr: Annotated[
        float | None, typer.Option("--peak-lr", help="Peak learning rate (default: the preset's, else 1e-3).")
    ] = None,
    steps_per_epoch: EpochOpt = None,
    tokens_per_step: TokensOpt = None,
    strict: Annotated[bool, typer.Option("--strict", help="hf/trl: fail unless a built-in is exact.")] = False,
) -> None:
    """Ready-to-paste Python that runs the schedule in a framework, with the same rates as `rampup values`."""
    from rampup.export import export

    code = export(
        spec,
        to,
        total_steps=total_steps,
        peak_lr=peak_lr,
        steps_per_epoch=steps_per_epoch,
        tokens_per_step=tokens_per_step,
        strict=strict,
    )
    typer.echo(code, nl=False)


#: the commands defined above; the others (the lab's, ``inspect``) are registered only when
#: the command line may need them, so that ``rampup values`` imports no lab, SQLite or advisor
_OWN_COMMANDS = frozenset({"values", "show", "presets", "plot", "recommend", "export"})


def _add_other_commands() -> None:
    """Register ``inspect`` (issue 12), ``lab``, ``demo`` and ``find`` (issue 7), once, after this module's own."""
    if any(info.name == "inspect" for info in app.registered_commands):
        return
    from rampup.inspect import command as inspect_command
    from rampup.lab.commands import demo_command, find_command, lab_app

    app.command("inspect")(inspect_command)
    app.add_typer(lab_app, name="lab")
    app.command("demo")(demo_command)
    app.command("find")(find_command)


#: what an option's value is called in --help, by its type (instead of typer's ``<int>``, ``<list[str]>``)
_METAVARS = {"int": "N", "float": "X"}


def _plain_help(command: Any) -> None:
    """Help as people write it: whole one-line descriptions, and ``N``, ``X``, ``TEXT`` for values.

    Click cuts each command's description to the terminal's width with "..."; the short help is
    set to the first sentence instead, and wrapped. Typer shows the Python type of each value
    (``<list[str]>``); each option gets a metavar, each argument shows its name only.
    """
    for param in getattr(command, "params", []):
        kind = getattr(param, "param_type_name", "")
        if kind == "option":
            if not param.is_flag and param.metavar is None:
                bare = param.bare_type() if hasattr(param, "bare_type") else ""
                param.metavar = _METAVARS.get(bare, "TEXT")
        elif kind == "argument":
            param.display_type_rich = lambda ctx: None  # the argument's name (SPEC) says it all
    if command.help and not command.short_help:
        first = command.help.strip().split("\n\n")[0]
        command.short_help = " ".join(first.split())
    for sub in getattr(command, "commands", {}).values():
        _plain_help(sub)


#: values the light coercion reads itself (anything else goes to Typer's own, which is built on pydantic)
_PLAIN = {
    int: re.compile(r"-?[0-9]{1,18}"),
    float: re.compile(r"-?[0-9]{1,30}(\.[0-9]{0,30})?([eE][-+]?[0-9]{1,4})?"),
}


class _LightCoercion:
    """Typer's coercion of one parameter, without pydantic for the plain cases.

    Typer (0.2x) builds a pydantic ``TypeAdapter`` for every parameter of the command
    that runs, which imports pydantic: a third of the start-up of ``rampup values``.
    Here a missing value, a text for a text parameter and a plain number (ASCII digits,
    read by ``int``/``float`` just as pydantic reads them) are read directly; anything
    else, such as a bad number, goes to Typer's own coercion, messages and all.
    """

    def __init__(self, param: Any, annotation: type) -> None:
        self.param = param
        self.annotation = annotation

    def coerce(self, value: Any, param: Any, ctx: Any) -> Any:
        if value is None:
            return None
        kind = self.annotation
        if type(value) is kind:
            return value
        if isinstance(value, str):
            pattern = _PLAIN.get(kind)
            if pattern is not None and pattern.fullmatch(value):
                return kind(value)
        self.param._runtime_param = None  # Typer builds its own on the next call, and keeps it
        return self.param.get_runtime_param().coerce(value, param=param, ctx=ctx)


def _light_coercion(command: Any) -> None:
    """Give each plain parameter (one text, number or flag, no parser, no bounds) the light coercion."""
    for param in getattr(command, "params", []):
        _make_light(param)
    help_option = getattr(command, "get_help_option", None)
    if help_option is not None:  # ``--help`` is made on first use, for a context: made light then

        def light_help_option(ctx: Any, _made: Any = help_option) -> Any:
            option = _made(ctx)
            if option is not None:
                _make_light(option)
            return option

        command.get_help_option = light_help_option
    for sub in getattr(command, "commands", {}).values():
        _light_coercion(sub)


def _make_light(param: Any) -> None:
    descriptor: Any = getattr(param, "type_descriptor", None)
    info = getattr(descriptor, "parameter_info", None)
    if info is None or getattr(param, "_runtime_param", False) is not None:
        return  # not a Typer parameter, or its coercion is already built
    plain = info.parser is None and info.min is None and info.max is None
    if plain and descriptor.annotation in (str, int, float, bool) and param.nargs == 1 and not param.multiple:
        param._runtime_param = _LightCoercion(param, descriptor.annotation)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: runs the app, turning bad input into one ``error:`` line and exit code 2."""
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0] not in _OWN_COMMANDS:  # help, completion, lab, inspect...: every command
        _add_other_commands()
    command = typer.main.get_command(app)
    _plain_help(command)
    _light_coercion(command)
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
