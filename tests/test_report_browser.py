"""report.html in a real browser: Debian's Chromium, headless, driven by Playwright.

Every figure must have rendered (a plotly div with its SVG and as many traces as the
figure has), with no script error, no console error and no request leaving the file:
the report works offline. Skipped only when no Chromium binary is installed
(``.ci/run`` installs Debian's ``chromium``).
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

import simdc
from simdc import report
from simdc.config import validate
from tests.conftest import MINIMAL
from tests.test_report import sweep_points

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or \
    next((p for p in ("/usr/bin/chromium", "/usr/lib/chromium/chromium") if Path(p).is_file()), None)
# As root in a container, without the sandbox; no GPU; and none of Chromium's own
# background traffic (this machine has no network but the package registries).
LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
               "--no-first-run", "--disable-sync", "--disable-dev-shm-usage"]

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium binary: apt-get install chromium")


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, tuple[Path, dict[str, int]]]:
    """A run's report and a sweep's (one key, two keys): path and traces per figure div."""
    folder = tmp_path_factory.mktemp("reports")
    results = simdc.simulate(validate(copy.deepcopy(MINIMAL)))
    out = results.write(folder / "run", report=True)
    made = {"run": (out / "report.html", {f"fig-{name}": len(fig.data) for name, fig in results.figures().items()})}
    for name, keys in (("sweep-1", {"host.memory_gib": [32, 64, 128]}),
                       ("sweep-2", {"host.memory_gib": [32, 64], "host.cpu_cores": [8, 16]})):
        points = sweep_points(keys)
        path = report.write_report(points, folder / f"{name}.html")
        metrics = [m for m in report.SWEEP_METRICS if m in points.columns]
        made[name] = (path, {f"fig-sweep-{m}": len(report.figure_sweep(points, m).data) for m in metrics})
    return made


@pytest.mark.parametrize("which", ["run", "sweep-1", "sweep-2"])
def test_every_figure_renders_without_errors_or_network(browser, reports, which):
    """Open the file:// URL; wait for plotly; every figure div is a rendered plot with
    its traces; no page error, no console error, no request other than the file."""
    path, expected = reports[which]
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors: list[str] = []
    outside: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
    page.on("console", lambda message: errors.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("request", lambda request: outside.append(request.url) if not request.url.startswith("file:") else None)
    page.goto(path.as_uri(), wait_until="load")
    page.wait_for_function(f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(expected)}",
                           timeout=20_000)

    plots = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
        id: div.id,
        svgs: div.querySelectorAll('.main-svg').length,
        traces: (div._fullData || []).length,
        drawn: div.querySelectorAll('.scatterlayer .trace, .barlayer .trace, .heatmaplayer .hm').length,
    }))""")
    assert errors == []
    assert outside == []
    assert [p["id"] for p in plots] == list(expected)
    for plot in plots:
        assert plot["svgs"] >= 1, plot
        assert plot["traces"] == expected[plot["id"]], plot
        assert plot["drawn"] >= 1, plot
    if which == "run":
        cells = page.locator("table.headline thead th").all_inner_texts()
        assert cells == ["metric", "vm", "container"]
    page.close()
