"""The lab's HTML report is one self-contained file, and a real headless Chromium renders it (issue 14).

Chromium comes from the system packages (``apt-get install -y chromium``; CI installs it). Without it
the browser tests are skipped and the self-containment checks still run.
"""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from rampup.lab import Store, plan_trials, run_sweep
from rampup.lab.report import write_report

WIDTH, HEIGHT = 1280, 3000
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _browser() -> str | None:
    return next((path for path in map(shutil.which, BROWSERS) if path), None)


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report of a small mlp sweep: two warmups, two rates (one diverges), one seed."""
    folder = tmp_path_factory.mktemp("report")
    db = folder / "lab.db"
    run_sweep(plan_trials("mlp", ["none", "linear(3)"], [0.1, 1e4], 1, steps=10), db, workers=1, progress=False)
    with Store(db) as store:
        write_report(store.rows(), folder / "out")
    return folder / "out" / "summary.html"


def _run(browser: str, *args: str) -> subprocess.CompletedProcess[str]:
    flags = ["--headless", "--disable-gpu", "--no-first-run", "--hide-scrollbars", "--disable-extensions"]
    if os.geteuid() == 0:
        flags.append("--no-sandbox")  # Chromium refuses to run as root with its sandbox
    return subprocess.run(
        [browser, *flags, *args], capture_output=True, text=True, timeout=120, check=False, env={**os.environ}
    )


def test_the_html_report_is_one_self_contained_file(report: Path) -> None:
    page = report.read_text()
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == 2
    for data, name in zip(images, ("mlp-loss-curves.png", "mlp-final-vs-lr.png"), strict=True):
        assert base64.b64decode(data) == (report.parent / name).read_bytes()  # the figures themselves
    # nothing else is loaded: every src/href is a data: URI, no url(...), no scripts, no links
    assert all(value.startswith("data:") for value in re.findall(r'(?:src|href)="([^"]*)"', page))
    assert not re.search(r"url\(|<script|<link|<iframe|@import", page, re.IGNORECASE)
    assert "default-src 'none'" in page  # and the browser is told to refuse any other load
    # it still opens when moved away from the PNGs
    moved = report.parent.parent / "alone" / "summary.html"
    moved.parent.mkdir(exist_ok=True)
    moved.write_text(page)
    assert moved.read_text().count("data:image/png;base64,") == 2


@pytest.mark.skipif(_browser() is None, reason="needs Chromium from the system packages (apt-get install chromium)")
def test_headless_chromium_renders_the_tables_and_the_figures(report: Path, tmp_path: Path) -> None:
    from PIL import Image

    browser = _browser()
    assert browser is not None
    alone = tmp_path / "summary.html"  # alone in its folder: the PNG files are not there to be loaded
    shutil.copy(report, alone)
    shot = tmp_path / "shot.png"
    done = _run(browser, f"--screenshot={shot}", f"--window-size={WIDTH},{HEIGHT}", alone.as_uri())
    assert shot.is_file(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    assert image.size == (WIDTH, HEIGHT)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # anti-aliased text and plotted lines, not a blank page
    white = max(count for count, colour in colours if colour == (255, 255, 255))
    assert white < 0.97 * WIDTH * HEIGHT
    # the figures' colours (matplotlib's C0 and C1 lines) are on the screen: the inlined PNGs were drawn
    pixels = {colour for _, colour in colours}
    assert any(abs(r - 31) < 40 and abs(g - 119) < 40 and b > 150 for r, g, b in pixels)  # C0 blue
    assert any(r > 220 and 100 < g < 160 and b < 60 for r, g, b in pixels)  # C1 orange

    # the DOM after loading: the tables and, per image, its decoded size (a probe script in a copy of the
    # page; the report itself forbids scripts)
    probe = tmp_path / "probe.html"
    page = alone.read_text()
    page = re.sub(r"<meta http-equiv='Content-Security-Policy'[^>]*>", "", page)
    script = (
        "<script>window.addEventListener('load', () => { for (const img of document.images) "
        "img.setAttribute('data-decoded', img.naturalWidth + 'x' + img.naturalHeight); });</script>"
    )
    probe.write_text(page.replace("</body>", script + "</body>"))
    dom = _run(browser, "--dump-dom", "--virtual-time-budget=5000", probe.as_uri()).stdout
    assert dom.count("<table>") == 3 and "lr sensitivity" in dom
    assert dom.count("<tr>") >= 1 + 4 + 1 + 2  # header and rows of the cell and per-warmup tables
    sizes = re.findall(r'data-decoded="(\d+)x(\d+)"', dom)
    assert len(sizes) == 2 and all(int(w) > 300 and int(h) > 200 for w, h in sizes), sizes
