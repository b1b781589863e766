"""Plots: the pixels of the PNGs are where the engine's values say, the terminal plot works without a TTY."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.colors as mcolors
import matplotlib.image as mimage
import matplotlib.pyplot as plt
import numpy as np
import pytest

import rampup
from rampup.cli import main
from rampup.plotting import curve_points, plot_terminal, save_figure

WHITE = np.array([1.0, 1.0, 1.0])


@pytest.fixture(autouse=True)
def _close_figures() -> object:
    yield
    plt.close("all")


def render(fig: object, path: Path) -> np.ndarray:
    """Save at the figure's own dpi (so display coordinates are pixels) and read the RGB pixels back."""
    save_figure(fig, path)  # type: ignore[arg-type]
    return mimage.imread(path)[:, :, :3]


def pixel(ax: object, step: float, value: float, height: int) -> tuple[int, int]:
    """Row and column in the image of the data point (step, value)."""
    x, y = ax.transData.transform((step, value))  # type: ignore[attr-defined]
    return round(float(height - y)), round(float(x))


def near(image: np.ndarray, row: int, col: int, rgb: np.ndarray, radius: int = 2, tol: float = 0.12) -> bool:
    """Whether some pixel within ``radius`` of (row, col) has the color ``rgb``."""
    window = image[row - radius : row + radius + 1, col - radius : col + radius + 1]
    return bool((np.abs(window - rgb).max(axis=-1) < tol).any())


def bare(ax: object) -> None:
    """No legend, no grid: only the curves and the warmup lines are in the plot area."""
    ax.get_legend().remove()  # type: ignore[attr-defined]
    ax.grid(False)  # type: ignore[attr-defined]


def test_import_rampup_does_not_import_matplotlib() -> None:
    code = (
        "import sys, rampup; assert 'matplotlib' not in sys.modules and 'plotext' not in sys.modules; "
        "assert callable(rampup.plot) and rampup.plot.__name__ == 'plot'; "
        "import rampup.plotting; print(rampup.plot is rampup.plotting.plot)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "True"


def test_missing_matplotlib_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"rampup\[plot\]"):
        rampup.plot("bert", 100)
    monkeypatch.setitem(sys.modules, "plotext", None)
    with pytest.raises(ImportError, match=r"rampup\[plot\]"):
        plot_terminal("bert", 100)


def test_png_size_is_figsize_times_dpi(tmp_path: Path) -> None:
    fig, _ = rampup.plot("bert", 1000, figsize=(6.0, 3.0), dpi=50)
    assert render(fig, tmp_path / "a.png").shape[:2] == (150, 300)
    assert main(["plot", "llama", "-n", "5000", "-o", str(tmp_path / "b.png"), "--dpi", "80"]) is None
    assert mimage.imread(tmp_path / "b.png").shape[:2] == (360, 640)


def test_curve_pixels_are_where_the_values_say(tmp_path: Path) -> None:
    schedule = rampup.parse("linear(100) -> cosine(to=0.1)").resolve(total_steps=1000)
    fig, ax = rampup.plot(schedule, figsize=(8.0, 4.5), dpi=80)
    bare(ax)
    ax.set_xlim(0, 1000)
    ax.set_ylim(0, 1.1)
    fig.canvas.draw()
    image = render(fig, tmp_path / "curve.png")
    height = image.shape[0]
    color = np.array(mcolors.to_rgb(ax.get_lines()[0].get_color()))
    for step in (30, 60, 250, 400, 550, 700, 850, 990):
        row, col = pixel(ax, step, schedule(step), height)
        assert near(image, row, col, color), f"no curve at step {step}"
        # half-way between the curve and the axis, well off the curve: background
        off_row, off_col = pixel(ax, step, schedule(step) / 2 if schedule(step) > 0.3 else 0.8, height)
        assert not near(image, off_row, off_col, color, radius=1)
        assert np.abs(image[off_row, off_col] - WHITE).max() < 0.05
    # the dashed warmup line: at step 100, from the axis to the peak, in the curve's color, with gaps
    _, col = pixel(ax, 100, 0, height)
    top, bottom = pixel(ax, 100, 0.9, height)[0], pixel(ax, 100, 0.1, height)[0]
    column = image[top:bottom, col - 1 : col + 2]
    colored = (np.abs(column - color).max(axis=-1) < 0.2).any(axis=1)
    assert 0.3 < colored.mean() < 0.9  # dashes and gaps
    elsewhere = image[pixel(ax, 300, 0.7, height)[0] : bottom, pixel(ax, 300, 0, height)[1]]  # under the curve
    assert not (np.abs(elsewhere - color).max(axis=-1) < 0.2).any()


def test_jumps_are_vertical(tmp_path: Path) -> None:
    spec = "constant(10000, from=0.2) -> step(every=30000, gamma=0.5)"
    schedule = rampup.parse(spec).resolve(total_steps=100_000)
    steps, values = curve_points(schedule, 100_000, num_points=50)  # a grid 2000 steps apart
    for jump in (10_000, 40_000, 70_000):
        i = int(np.searchsorted(steps, jump))
        assert steps[i] == jump and 0 < jump - steps[i - 1] < 1e-3
        assert values[i - 1] == schedule(jump - 1) and values[i] == schedule(jump)
    fig, ax = rampup.plot(schedule, num_points=50, dpi=80)
    bare(ax)
    ax.set_ylim(0, 1.1)
    fig.canvas.draw()
    image = render(fig, tmp_path / "jumps.png")
    color = np.array(mcolors.to_rgb(ax.get_lines()[0].get_color()))
    for jump, middle in ((40_000, 0.75), (70_000, 0.375)):  # half-way up each drop, at the drop's column
        row, col = pixel(ax, jump, middle, image.shape[0])
        assert near(image, row, col, color, radius=1)
        # a slanted line over one grid interval would pass 2000 steps (12 px) to the side
        row, col = pixel(ax, jump + 1500, middle, image.shape[0])
        assert not near(image, row, col, color, radius=1)


def test_several_schedules_several_colors(tmp_path: Path) -> None:
    specs = ["linear(100) -> constant", "constant(1000, from=0.3)", "cosine(1000, to=0.5)"]
    fig, ax = rampup.plot(specs, 1000, dpi=80)
    bare(ax)
    ax.set_ylim(0, 1.1)
    fig.canvas.draw()
    image = render(fig, tmp_path / "three.png")
    curves = [line for line in ax.get_lines() if len(line.get_xdata()) > 2]  # not the warmup lines
    colors = [np.array(mcolors.to_rgb(line.get_color())) for line in curves]
    assert len(curves) == 3 and len({tuple(color) for color in colors}) == 3
    for spec, color in zip(specs, colors, strict=True):
        schedule = rampup.parse(spec).resolve(total_steps=1000)
        for step in (300, 600, 800):  # the curves are apart there: 1, 0.3 and 0.9 ... 0.55
            row, col = pixel(ax, step, schedule(step), image.shape[0])
            assert near(image, row, col, color), (spec, step)
            assert not any(near(image, row, col, other, radius=1) for other in colors if other is not color)


def test_legend_labels_axes_title_and_peak() -> None:
    _, ax = rampup.plot(["bert", "linear(5%) -> cosine(to=0.1)"], 1000, peak_lr=[5e-5, 3e-4])
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert texts == ["bert: linear(100) -> linear(900)", "linear(50) -> cosine(950, to=0.1)", "end of warmup"]
    assert ax.get_xlabel() == "step" and ax.get_ylabel() == "learning rate"
    assert ax.get_title() == "Learning-rate schedules over 1,000 steps"
    curves = ax.get_lines()
    assert max(curves[0].get_ydata()) == pytest.approx(5e-5) and max(curves[2].get_ydata()) == pytest.approx(3e-4)
    warmup = [line for line in curves if list(line.get_xdata()) == [100, 100]]
    assert warmup and warmup[0].get_color() == curves[0].get_color() and warmup[0].get_linestyle() == "--"
    _, ax = rampup.plot("bert", 1000)
    assert ax.get_ylabel() == "multiplier of peak lr" and ax.get_title().startswith("BERT fine-tuning")


def test_log_scale_leaves_zeros_out() -> None:
    schedule = rampup.parse("linear(100) -> cosine(900)")
    _, ax = rampup.plot(schedule, log_y=True)
    assert ax.get_yscale() == "log"
    xs, ys = ax.get_lines()[0].get_xdata(), ax.get_lines()[0].get_ydata()
    assert (ys > 0).all() and xs.min() >= 1  # step 0 (value 0) and step 1000 (0) are left out
    low, high = ax.get_ylim()
    resolved = schedule.resolve()
    assert low <= resolved(999) < resolved(1) and high > 1  # the smallest rate at a whole step is on the axis


def test_draws_into_the_users_axes() -> None:
    fig, (left, right) = plt.subplots(1, 2)
    returned_fig, returned_ax = rampup.plot("bert", 500, ax=right)
    assert returned_fig is fig and returned_ax is right
    assert not left.get_lines() and right.get_lines() and right.get_title() == ""


def test_open_ended_needs_a_total_and_other_bad_input() -> None:
    with pytest.raises(rampup.RampupError, match=r"total_steps.*open-ended"):
        rampup.plot("linear(4000) -> inverse-sqrt")
    with pytest.raises(rampup.RampupError, match="total_steps"):
        rampup.plot("linear(5%) -> cosine")
    with pytest.raises(rampup.RampupError, match="schedules"):
        rampup.plot([])
    with pytest.raises(rampup.RampupError, match="peak_lr"):
        rampup.plot("bert", 100, peak_lr=-1.0)
    with pytest.raises(rampup.RampupError, match="labels"):
        rampup.plot(["bert", "llama"], 10000, labels=["one"])
    fig, _ = rampup.plot("bert", 100)
    with pytest.raises(rampup.RampupError, match="output"):
        save_figure(fig, "/nonexistent-dir/x.png")
    with pytest.raises(rampup.RampupError, match="output"):
        save_figure(fig, "plot.txt")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["plot"], "SPEC"),
        (["plot", "bert", "-n", "100", "-o", "/nonexistent-dir/x.png"], "output"),
        (["plot", "linear(5%) -> cosine"], "total_steps"),
        (["plot", "vaswani"], "open-ended"),
        (["plot", "linear(5%) -> nonsense", "-n", "100"], "phase 2"),
    ],
)
def test_cli_bad_input_is_one_error_line(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error:") and message in err[0]


@pytest.mark.parametrize("output", ["/nonexistent-dir/x.png", "plot.txt"])
def test_cli_bad_output_with_terminal_prints_no_plot(output: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad -o is caught before drawing: no terminal plot on stdout ahead of the error line."""
    with pytest.raises(SystemExit) as exit_info:
        main(["plot", "bert", "-n", "100", "--terminal", "-o", output])
    assert exit_info.value.code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: output: ") and captured.err.count("\n") == 1


def test_cli_writes_the_png_and_prints_its_path(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    main(["plot", "bert", "-n", "1000"])
    assert capsys.readouterr().out.strip() == "rampup-schedule.png"
    assert mimage.imread(tmp_path / "rampup-schedule.png").shape[:2] == (450, 800)


def test_terminal_plot_without_a_tty(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "rampup.cli", "plot", "bert", "linear(5%) -> cosine(to=0.1)", "-n", "1000"]
    env = {key: value for key, value in os.environ.items() if key not in ("NO_COLOR", "COLUMNS")}
    result = subprocess.run(
        [*command, "--terminal"], capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path, check=False
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "\x1b[" not in out
    assert "step" in out and "multiplier of peak lr" in out
    assert "bert: linear(100) -> linear(900)" in out and "linear(50) -> cosine(950, to=0.1)" in out
    assert any("\u2800" < ch <= "\u28ff" for ch in out)  # braille dots of the curve
    assert "┆" in out and "•" in out  # the warmup lines; the second curve's own glyph
    lines = out.splitlines()
    assert len(lines) <= 31 and max(len(line) for line in lines) <= 100
    assert not list(tmp_path.iterdir())  # no image without -o


def test_terminal_colors_only_when_asked() -> None:
    colored = plot_terminal(["bert", "llama"], 10000, color=True, width=80, height=20)
    plain = plot_terminal(["bert", "llama"], 10000, width=80, height=20)
    assert "\x1b[" in colored and "\x1b[" not in plain
    assert "llama: linear(2000) -> cosine(8000, to=0.1)" in plain
    log = plot_terminal("vaswani", 100000, peak_lr=7e-4, log_y=True, width=80, height=20)
    assert "learning rate" in log and any("\u2800" < ch <= "\u28ff" for ch in log)


def test_plot_recommendation_draws_the_choice_and_the_alternatives(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from rampup.advisor import recommend
    from rampup.plotting import plot_recommendation

    alternative = SimpleNamespace
    recommendation = SimpleNamespace(
        schedule=rampup.parse("linear(50) -> linear").resolve(total_steps=1000),
        total_steps=1000,
        steps_per_epoch=None,
        peak_lr=2e-4,
        warmup_steps=50,
        alternatives=(
            alternative(label="same", spec="linear(50) -> linear"),  # drawn already
            alternative(label="unsloth", spec="linear(10) -> linear"),
            alternative(label="too long", spec="linear(2000) -> linear"),  # does not fit 1000 steps
            alternative(label="no spec", spec=None),
        ),
    )
    _, ax = plot_recommendation(recommendation, tmp_path / "rec.png", dpi=50)
    texts = [text.get_text() for text in ax.get_legend().get_texts()]
    assert texts == ["recommended: linear(50) -> linear(950)", "unsloth: linear(10) -> linear(990)", "end of warmup"]
    chosen = next(line for line in ax.get_lines() if line.get_label() == texts[0])
    assert chosen.get_linewidth() > 3 and max(chosen.get_ydata()) == pytest.approx(2e-4)
    assert mimage.imread(tmp_path / "rec.png").shape[:2] == (225, 400)
    real = recommend(total_steps=20000, regime="full", architecture="bert")  # the advisor's own object works too
    _, ax = plot_recommendation(real)
    assert ax.get_legend().get_texts()[0].get_text() == f"recommended: {real.schedule}"


def test_recommend_plot_draws_the_recommendation_and_its_alternatives(tmp_path: Path) -> None:
    target = tmp_path / "advice.png"
    setup = ["--total-steps", "2000", "--regime", "pretrain", "--architecture", "post-ln", "--beta2", "0.98"]
    main(["recommend", *setup, "--optimizer", "adam", "--plot", str(target)])
    image = plt.imread(target)
    assert image.shape[:2] == (450, 800)  # plot()'s default 8 x 4.5 inches at 100 dpi
    advice = rampup.recommend(total_steps=2000, regime="pretrain", architecture="post-ln", beta2=0.98, optimizer="adam")
    fig, ax = rampup.plotting.plot_recommendation(advice)
    labels = [line.get_label() for line in ax.get_lines() if not line.get_label().startswith("_")]
    assert labels[0].startswith("recommended: linear(")
    assert len(labels) >= 2  # at least one alternative drawn beside it
    plt.close(fig)


def test_gallery_script_runs_and_covers_every_preset_and_curve(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/make_gallery.py imports, has a picture for every preset and curve, and renders one into tmp_path."""
    import importlib.util

    docs = Path(__file__).resolve().parent.parent / "docs"
    spec = importlib.util.spec_from_file_location("make_gallery", docs / "make_gallery.py")
    assert spec is not None and spec.loader is not None
    gallery = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "make_gallery", gallery)  # its dataclasses look their module up
    spec.loader.exec_module(gallery)
    presets = gallery.preset_pictures()
    warmups = gallery.curve_pictures("warmup", gallery.WARMUP_EXAMPLES, rampup.curves.WARMUP_CURVES)
    decays = gallery.curve_pictures("decay", gallery.DECAY_EXAMPLES, rampup.curves.DECAY_CURVES)
    names = {picture.name for picture in [*presets, *warmups, *decays, *gallery.COMPARISONS]}
    assert {f"preset-{name}" for name in rampup.PRESETS} <= names
    assert {f"warmup-{name}" for name in rampup.curves.WARMUP_CURVES} <= names
    assert {f"decay-{name}" for name in rampup.curves.DECAY_CURVES} <= names
    # the committed page shows every picture, with its image checked in beside it
    page = (docs / "gallery.md").read_text(encoding="utf-8")
    for name in names:
        assert f"![{name}](gallery/{name}.png)" in page, name
        assert (docs / "gallery" / f"{name}.png").is_file(), name
    monkeypatch.setattr(gallery, "OUT", tmp_path)
    gallery.render(presets[0])
    image = mimage.imread(tmp_path / f"{presets[0].name}.png")
    assert image.shape[:2] == (360, 640)  # FIGSIZE 8 x 4.5 inches at 80 dpi
    assert (np.abs(image[:, :, :3] - WHITE).max(axis=-1) > 0.2).mean() > 0.01  # something is drawn
