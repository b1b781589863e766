"""Render the gallery: every preset and every curve to docs/gallery/*.png, and the page docs/gallery.md.

Run from anywhere: ``python docs/make_gallery.py``. Needs the plot extra
(``pip install 'rampup[plot]'``). Every value drawn comes from the engine; this
script only chooses the runs to draw (a typical length for each recipe) and
fails if a preset or a curve has no picture, so the gallery cannot fall behind.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from rampup import PRESETS
from rampup.curves import DECAY_CURVES, WARMUP_CURVES
from rampup.plotting import plot, save_figure
from rampup.schedule import as_schedule

DOCS = Path(__file__).resolve().parent
OUT = DOCS / "gallery"
FIGSIZE = (8.0, 4.5)
DPI = 80  # 640 x 360 pixels


@dataclass
class Picture:
    """One image of the gallery: what to draw and how to say it on the page."""

    name: str
    specs: list[str]
    total_steps: int | None = None
    caption: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def run(self) -> str:
        """The run the picture resolves its specs for, in words."""
        parts = [f"{self.total_steps:,} steps"] if self.total_steps else []
        if "steps_per_epoch" in self.options:
            parts.append(f"{self.options['steps_per_epoch']:g} steps per epoch")
        if "tokens_per_step" in self.options:
            parts.append(f"{self.options['tokens_per_step']:,.0f} tokens per step")
        if "peak_lr" in self.options:
            parts.append(f"peak lr {self.options['peak_lr']:g}")
        if self.options.get("log_y"):
            parts.append("log scale")
        return ", ".join(parts)


#: a typical run for every preset (the length its source trained for, where it says)
PRESET_RUNS: dict[str, dict[str, Any]] = {
    "bert": {"total_steps": 1000},
    "vit": {"total_steps": 30000, "steps_per_epoch": 100},  # DeiT: 300 epochs
    "lora": {"total_steps": 200},
    "five-percent": {"total_steps": 1000},
    "vaswani": {"total_steps": 100000},  # the base model trained 100k steps
    "gpt3": {"total_steps": 600000, "tokens_per_step": 500000},  # 300B tokens at 0.5M per step
    "llama": {"total_steps": 250000},  # 1T tokens at 4M per step
    "wsd": {"total_steps": 10000},
    "goyal": {"total_steps": 9000, "steps_per_epoch": 100},  # 90 epochs
    "rewarm": {"total_steps": 20000},
}

#: an example spec for every curve: warmups followed by a hold, decays after a short linear warmup
WARMUP_EXAMPLES: dict[str, tuple[str, int]] = {
    "linear": ("linear(500) -> constant", 1000),
    "exponential": ("exponential(500) -> constant", 1000),
    "cosine": ("cosine(500) -> constant", 1000),
    "polynomial": ("polynomial(500, power=2) -> constant", 1000),
    "constant": ("constant(500, from=0.1) -> constant", 1000),
    "1-sqrt": ("1-sqrt(500) -> constant", 1000),
    "untuned-linear": ("untuned-linear(beta2=0.999) -> constant", 4000),
    "untuned-exponential": ("untuned-exponential(beta2=0.999) -> constant", 8000),
    "radam": ("radam(beta2=0.999) -> constant", 4000),
    "log": ("log(500) -> constant", 1000),
}
DECAY_EXAMPLES: dict[str, tuple[str, int]] = {
    "constant": ("linear(50) -> constant", 1000),
    "linear": ("linear(50) -> linear", 1000),
    "cosine": ("linear(50) -> cosine(to=0.1)", 1000),
    "polynomial": ("linear(50) -> polynomial(power=2)", 1000),
    "exponential": ("linear(50) -> exponential(gamma=0.995)", 1000),
    "inverse-sqrt": ("linear(50) -> inverse-sqrt", 1000),
    "1-sqrt": ("linear(50) -> constant(750) -> 1-sqrt", 1000),
    "step": ("linear(50) -> step(every=250, gamma=0.5)", 1000),
    "cosine-restarts": ("linear(50) -> cosine-restarts(cycles=3)", 1000),
    "tanh": ("linear(50) -> tanh(to=0.01)", 1000),
}

COMPARISONS = [
    Picture(
        "compare-warmups",
        [spec for name, (spec, _) in WARMUP_EXAMPLES.items() if not name.startswith(("untuned", "radam"))],
        1000,
        "The warmup shapes over the same 500 steps. The exponential and the constant warmup end with a jump.",
    ),
    Picture(
        "compare-decays",
        [DECAY_EXAMPLES[name][0] for name in ("linear", "cosine", "polynomial", "inverse-sqrt", "1-sqrt")],
        1000,
        "Decays after the same 50-step warmup.",
    ),
    Picture(
        "compare-untuned",
        [
            "untuned-linear(beta2=0.999) -> constant",
            "untuned-exponential(beta2=0.999) -> constant",
            "radam(beta2=0.999) -> constant",
            "linear(2000) -> constant",
        ],
        8000,
        "Warmups whose length comes from Adam's beta2 = 0.999 (Ma & Yarats 2021). The untuned linear one is "
        "exactly linear(2000): the two lines coincide.",
    ),
    Picture(
        "warmup-ten-times-too-long",
        ["linear(5%) -> cosine(to=0.1)", "linear(50%) -> cosine(to=0.1)"],
        10000,
        "A common mistake: 50% instead of 5% leaves half the run below the peak.",
    ),
    Picture(
        "epochs-versus-steps",
        ["linear(5ep) -> cosine", "linear(5) -> cosine"],
        5000,
        "Another: 5 epochs (500 steps here) versus 5 steps, a warmup that is over before it starts.",
        {"steps_per_epoch": 100},
    ),
    Picture(
        "log-scale",
        ["vaswani", "linear(4000) -> cosine(to=0.1)"],
        100000,
        "On a log axis: the first nonzero rate (step 1) is where the axis starts; zeros are left out.",
        {"peak_lr": 7e-4, "log_y": True},
    ),
]


def preset_pictures() -> list[Picture]:
    missing = set(PRESETS) - set(PRESET_RUNS)
    if missing:
        sys.exit(f"make_gallery: no run for the presets {sorted(missing)}: add them to PRESET_RUNS")
    pictures = []
    for name, preset in PRESETS.items():
        run = dict(PRESET_RUNS[name])
        total = run.pop("total_steps")
        if preset.peak_lr is not None:
            run["peak_lr"] = preset.peak_lr
        pictures.append(Picture(f"preset-{name}", [name], total, f"{preset.title}. Source: {preset.source}.", run))
    return pictures


def curve_pictures(role: str, examples: dict[str, tuple[str, int]], curves: dict[str, Any]) -> list[Picture]:
    missing = set(curves) - set(examples)
    if missing:
        sys.exit(f"make_gallery: no example for the {role} curves {sorted(missing)}")
    pictures = []
    for name, (spec, total) in examples.items():
        doc = (curves[name].__doc__ or "").strip().splitlines()[0]
        pictures.append(Picture(f"{role}-{name}", [spec], total, doc.replace("``", "`")))
    return pictures


def render(picture: Picture) -> None:
    options = dict(picture.options)
    fig, _ = plot(picture.specs, picture.total_steps, figsize=FIGSIZE, dpi=DPI, **options)
    save_figure(fig, OUT / f"{picture.name}.png", dpi=DPI)
    plt.close(fig)


def section(title: str, intro: str, pictures: list[Picture]) -> list[str]:
    lines = [f"## {title}", "", intro, ""]
    for picture in pictures:
        lines.append(f"### {picture.name}")
        lines.append("")
        if picture.caption:
            lines += [picture.caption, ""]
        for spec in picture.specs:
            schedule = as_schedule(spec).resolve(
                picture.total_steps,
                steps_per_epoch=picture.options.get("steps_per_epoch"),
                tokens_per_step=picture.options.get("tokens_per_step"),
            )
            resolved = f" → `{schedule}`" if str(schedule) != spec else ""
            lines.append(f"- `{spec}`{resolved}")
        lines += ["", f"Run: {picture.run()}.", "", f"![{picture.name}](gallery/{picture.name}.png)", ""]
    return lines


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for stale in OUT.glob("*.png"):
        stale.unlink()
    presets = preset_pictures()
    warmups = curve_pictures("warmup", WARMUP_EXAMPLES, WARMUP_CURVES)
    decays = curve_pictures("decay", DECAY_EXAMPLES, DECAY_CURVES)
    for picture in [*presets, *warmups, *decays, *COMPARISONS]:
        render(picture)
    page = [
        "# Gallery",
        "",
        "Every preset and every curve of rampup, drawn by `rampup.plot` (learning rate, or multiplier of the",
        "peak, against the optimizer step; a dashed line where each warmup ends). Written by",
        "`python docs/make_gallery.py`, which also draws the pictures: do not edit by hand.",
        "Each picture's spec is listed with its resolved, canonical form for the run shown.",
        "The same plots from the command line: `rampup plot SPEC [SPEC ...] --total-steps N [-o out.png]`,",
        "or `--terminal` for a text plot.",
        "",
        *section("Presets", "The named recipes (`rampup presets`), at the peak rate their source used.", presets),
        *section("Warmup curves", "Each warmup shape, followed by a hold at the peak.", warmups),
        *section("Decay curves", "Each decay shape, after a 50-step linear warmup.", decays),
        *section("Comparisons", "Several schedules on one figure, and two mistakes a picture catches.", COMPARISONS),
    ]
    (DOCS / "gallery.md").write_text("\n".join(page).rstrip() + "\n", encoding="utf-8")
    size = sum(path.stat().st_size for path in OUT.glob("*.png"))
    print(f"{len(list(OUT.glob('*.png')))} pictures, {size / 1e6:.2f} MB in {OUT.relative_to(DOCS.parent)}")


if __name__ == "__main__":
    main()
