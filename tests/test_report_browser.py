"""report.html in a real browser: Debian's Chromium, headless, driven by Playwright.

Every figure must have rendered (a plotly div with its SVG and as many traces as the
figure has), with no script error, no console error and no request leaving the file:
the report works offline. Each figure is on screen with a size and is screenshotted; in
the start-latency figure the CDF's curves lie inside its plot area and each legend sits
level with its own chart; every bar label starts clear of its platform's name. Skipped
only when no Chromium binary is installed (``.ci/run`` installs Debian's ``chromium``).
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
from tests.test_report import FEATURES, sweep_points

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
    """A run's report (every figure) and a sweep's (one key, two keys): path and traces
    per figure div."""
    folder = tmp_path_factory.mktemp("reports")
    # A run with a host failure, contention and interference: its report has every
    # figure a run's report can have (a plain run's has a subset of them).
    results = simdc.simulate(validate(copy.deepcopy(FEATURES)))
    out = results.write(folder / "run", report=True)
    made = {"run": (out / "report.html", {f"fig-{name}": len(fig.data) for name, fig in results.figures().items()})}
    for name, keys in (("sweep-1", {"host.memory_gib": [32, 64, 128]}),
                       ("sweep-2", {"host.memory_gib": [32, 64], "host.cpu_cores": [8, 16]})):
        points = sweep_points(keys)
        path = report.write_report(points, folder / f"{name}.html")
        metrics = [m for m in report.SWEEP_METRICS if m in points.columns]
        made[name] = (path, {f"fig-sweep-{m}": len(report.figure_sweep(points, m).data) for m in metrics})
    return made


@pytest.fixture(scope="module")
def opened(browser, reports):
    """``opened(which)``: the report loaded in a page until plotly has drawn every figure,
    with the page errors, console errors and outside requests seen on the way; each
    report is loaded once (a page parses 3.5 MB of plotly.js) and shared by the tests."""
    pages: dict[str, tuple] = {}

    def open_report(which: str):
        if which not in pages:
            path, expected = reports[which]
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            outside: list[str] = []
            page.on("pageerror", lambda error: errors.append(f"pageerror: {error}"))
            page.on("console", lambda message: errors.append(f"console: {message.text}")
                    if message.type == "error" else None)
            page.on("request", lambda request: outside.append(request.url)
                    if not request.url.startswith("file:") else None)
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(expected)}", timeout=20_000)
            pages[which] = (page, errors, outside)
        return pages[which]

    yield open_report
    for page, _, _ in pages.values():
        page.close()


@pytest.mark.parametrize("which", ["run", "sweep-1", "sweep-2"])
def test_every_figure_renders_without_errors_or_network(opened, reports, which):
    """Open the file:// URL; wait for plotly; every figure div is a rendered plot with
    its traces; no page error, no console error, no request other than the file."""
    _, expected = reports[which]
    page, errors, outside = opened(which)

    plots = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(div => ({
        id: div.id,
        svgs: div.querySelectorAll('.main-svg').length,
        traces: (div._fullData || []).length,
        drawn: div.querySelectorAll('.scatterlayer .trace, .barlayer .trace, .boxlayer .trace, .heatmaplayer .hm')
            .length,
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
        assert cells == ["metric", *FEATURES["simulation"]["platforms"]]


# Page coordinates of every figure's parts, for the checks below: plot areas from
# plotly's own axes (offset and length within the figure's SVG), legends, bar labels,
# category tick labels, CDF line paths.
GEOMETRY = """() => Array.from(document.querySelectorAll('section.figure')).map(section => {
    const div = section.querySelector('.js-plotly-plot');
    const box = element => { const r = element.getBoundingClientRect();
                             return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; };
    const svg = div.querySelector('.main-svg').getBoundingClientRect();
    const layout = div._fullLayout;
    const area = (x, y) => {
        const [xa, ya] = [layout[x], layout[y]];
        return {left: svg.left + xa._offset, right: svg.left + xa._offset + xa._length,
                top: svg.top + ya._offset, bottom: svg.top + ya._offset + ya._length}; };
    return {
        name: section.dataset.figure, id: div.id, div: box(div), svgs: div.querySelectorAll('.main-svg').length,
        cdf: layout.yaxis2 ? area('xaxis', 'yaxis') : null,
        bars: layout.yaxis2 ? area('xaxis2', 'yaxis2') : null,
        legends: Object.fromEntries(Array.from(div.querySelectorAll('g.legend, g.legend2'))
                                         .map(g => [g.getAttribute('class'), box(g)])),
        lines: Array.from(div.querySelectorAll('.subplot.xy .scatterlayer path.js-line')).map(box),
        labels: Array.from(div.querySelectorAll('.barlayer text')).filter(t => t.textContent).map(box),
        // A tick label's ink: its box up to the end of its last visible character.
        ticks: Array.from(div.querySelectorAll('.ytick text, .y2tick text')).map(t => {
            const b = box(t), ink = t.textContent.trimEnd().length;
            return {...b, right: ink ? b.left + t.getSubStringLength(0, ink) : b.left}; }),
    };
})"""


# Clearance between a platform's name and a bar label beside it: the 4 px plotly leaves
# by itself was the "label runs into the axis label" of issue #15.
MIN_GAP_PX = 6


def test_each_figure_is_on_screen_whole_and_screenshotted(opened, reports, tmp_path):
    """The report of a run with every figure: each figure's div has a size and plotly's
    SVG, and a screenshot of it is a PNG; the start-latency CDF's curves end inside
    their plot area, short of its frame; the platform legend is level with the CDF, the phase legend with
    the bars, both right of them; every bar's label starts clear of its platform's name."""
    _, expected = reports["run"]
    page, _, _ = opened("run")
    figures = {f["name"]: f for f in page.evaluate(GEOMETRY)}
    assert [f"fig-{name}" for name in figures] == list(expected)
    assert {"interference", "failures"} <= set(figures)
    for name, figure in figures.items():
        assert figure["svgs"] >= 1, name
        assert figure["div"]["right"] - figure["div"]["left"] > 300, name
        assert figure["div"]["bottom"] - figure["div"]["top"] > 200, name
        shot = tmp_path / f"{name}.png"
        page.locator(f"#{figure['id']}").screenshot(path=shot)
        assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 5_000, name
        for label in figure["labels"]:
            for tick in figure["ticks"]:  # on one row: the label starts clear of the name
                if label["top"] < tick["bottom"] and tick["top"] < label["bottom"]:
                    assert label["left"] - tick["right"] >= MIN_GAP_PX, (name, label, tick)

    start = figures["start_latency"]
    cdf, bars = start["cdf"], start["bars"]
    assert len(start["lines"]) == len(FEATURES["simulation"]["platforms"])
    for line in start["lines"]:  # inside, not ending on the frame where the axis would cut them
        assert cdf["left"] + 3 <= line["left"] and line["right"] <= cdf["right"] - 3, (line, cdf)
    platforms, phases = start["legends"]["legend"], start["legends"]["legend2"]
    assert platforms["left"] >= cdf["right"] and phases["left"] >= bars["right"]
    assert cdf["top"] - 30 <= platforms["top"] < cdf["bottom"]
    assert bars["top"] - 30 <= phases["top"] < bars["bottom"]
