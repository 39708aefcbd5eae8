"""The report pages in a real browser: Debian's headless Chromium, driven by Python Playwright.

A model-day report (drift, performance, operations, failed validation with hostile values, a column and a
category named <script>alert(1)</script>), the model's trend page and the index are each opened from
file:// once. Each must log no console error, throw no page error, open no dialog, request nothing but
file: and data: URLs, decode every image, draw a screenshot that is not blank, show its key texts, and fit
an A4 page when printed (nothing wider than the paper, no chart taller than a page). Without Chromium or
Playwright the tests skip, except under CI.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import shutil
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from monitoring_jobs.metrics import Metric, Status
from monitoring_jobs.reports import DayCell, render_index, render_model_day_report, render_model_page
from tests.conftest import service_unavailable
from tests.test_reports import DAY, DRIFT_THRESHOLD, HOSTILE, feature_drift, long_history, make_report

LAUNCH_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SCREEN = {"width": 1200, "height": 900}
A4_CONTENT_WIDTH_PX = 718  # 210 mm less two 12 mm margins (the pages' @page rule), at 96 px per inch
A4_CONTENT_HEIGHT_PX = 1031  # 297 mm less two 12 mm margins
LOCAL_SCHEMES = ("file", "data")
OVERFLOWING = """(pageHeight) => {
  const width = document.documentElement.clientWidth;
  const name = e => `${e.tagName} ${e.getAttribute("alt") || e.className}`;
  const wide = Array.from(document.querySelectorAll("table, figure, img"))
    .filter(e => e.getBoundingClientRect().right > width + 1)
    .map(e => `${name(e)} ${Math.round(e.getBoundingClientRect().right)}`);
  const tall = Array.from(document.images).filter(e => e.getBoundingClientRect().height > pageHeight)
    .map(e => `${name(e)} ${Math.round(e.getBoundingClientRect().height)}`);
  return {pageWidth: document.documentElement.scrollWidth, width, wide, tall};
}"""


@dataclass(frozen=True)
class Visit:
    """What one page load did and showed."""

    console: list[tuple[str, str]]
    page_errors: list[str]
    dialogs: list[str]
    requests: list[str]
    links: list[str]
    images_decoded: bool
    scripts: int
    text: str
    screenshot: np.ndarray
    printed: dict


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ModuleNotFoundError:
        service_unavailable("Python Playwright is not installed (pip install playwright; no browser download needed)")
    executable = shutil.which("chromium")
    if executable is None:
        service_unavailable("Debian's chromium package is not installed (apt-get install chromium; .ci/run does)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, timeout=30_000)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> dict[str, Path]:
    """A model-day report, its model page and the index, as the pipeline lays them out."""
    root = tmp_path_factory.mktemp("site")
    base = make_report()
    segments = [m.segment for m in base.metrics if m.segment]
    every_classification_metric = [  # the widest performance table a binary classifier gets
        Metric("performance", name, value, segment=segment, status=Status.MISSING if segment else Status.INFO)
        for segment in ["", *segments]
        for name, value in (("accuracy", 0.7123), ("precision", 0.6789), ("f1", 0.6543), ("log_loss", 0.5312),
                            ("labeled_rows", 12345))]
    report = dataclasses.replace(base, history=long_history(45), metrics=[*base.metrics, *every_classification_metric])
    day_page = render_model_day_report(root, report)
    cells = [DayCell("credit_default", DAY - dt.timedelta(days=back), "ok" if back % 9 else "warn", "fine")
             for back in range(1, 45) if back != 20]
    cells += [DayCell("credit_default", DAY, "fail", "2 check(s) failed: nulls, categories"),
              DayCell(HOSTILE, DAY, "warn", HOSTILE)]
    today = pd.DataFrame([{"partition_date": DAY, "area": m.area, "metric": m.metric, "feature": m.feature,
                           "segment": m.segment, "value": m.value} for m in report.metrics])
    model_page = render_model_page(root, report.monitor, cells, pd.concat([report.history, today]))
    return {"day": day_page, "model": model_page, "index": render_index(root, cells), "report": report}


def _visit(browser, path: Path, screenshot_path: Path) -> Visit:
    context = browser.new_context(viewport=SCREEN)
    context.set_offline(True)  # a request that slipped through is recorded below, and still goes nowhere
    requests: list[str] = []
    context.on("request", lambda request: requests.append(request.url))
    page = context.new_page()
    console: list[tuple[str, str]] = []
    page_errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("pageerror", lambda error: page_errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.goto(path.as_uri(), wait_until="load")
        page.screenshot(path=str(screenshot_path), full_page=True)
        links = page.eval_on_selector_all("a[href]", "anchors => anchors.map(a => a.href)")
        images_decoded = page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
        scripts = page.evaluate("document.scripts.length")
        text = page.inner_text("body")
        page.emulate_media(media="print")
        page.set_viewport_size({"width": A4_CONTENT_WIDTH_PX, "height": 1000})
        printed = page.evaluate(OVERFLOWING, A4_CONTENT_HEIGHT_PX)
    finally:
        context.close()
    return Visit(console, page_errors, dialogs, requests, links, images_decoded, scripts, " ".join(text.split()),
                 mpimg.imread(screenshot_path), printed)


@pytest.fixture(scope="module")
def visits(browser, site, tmp_path_factory) -> dict[str, Visit]:
    shots = tmp_path_factory.mktemp("screenshots")
    return {name: _visit(browser, site[name], shots / f"{name}.png") for name in ("day", "model", "index")}


PAGES = ("day", "model", "index")


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_without_errors_dialogs_or_scripts(visits, name):
    visit = visits[name]
    assert [text for kind, text in visit.console if kind == "error"] == []
    assert visit.page_errors == [] and visit.dialogs == [] and visit.scripts == 0


@pytest.mark.parametrize("name", PAGES)
def test_page_requests_nothing_beyond_the_machine(visits, name):
    visit = visits[name]
    assert visit.requests  # the page itself at least: the recorder works
    assert [url for url in visit.requests if urllib.parse.urlsplit(url).scheme not in LOCAL_SCHEMES] == []
    assert visit.images_decoded


@pytest.mark.parametrize("name", PAGES)
def test_every_link_opens_a_local_file(visits, name):
    for link in visits[name].links:
        parts = urllib.parse.urlsplit(link)
        assert parts.scheme == "file", link
        assert Path(urllib.request.url2pathname(parts.path)).is_file(), link


@pytest.mark.parametrize("name", PAGES)
def test_screenshot_is_not_blank(visits, name):
    pixels = visits[name].screenshot[..., :3]
    assert pixels.shape[0] >= SCREEN["height"] and pixels.shape[1] == SCREEN["width"]
    assert pixels.var() > 1e-3
    assert (pixels.min(axis=-1) < 0.9).mean() > 0.01  # more than a few specks of ink


@pytest.mark.parametrize("name", PAGES)
def test_printed_page_fits_a4(visits, name):
    """No table or chart wider than the paper, and no chart taller than one page."""
    printed = visits[name].printed
    assert printed["wide"] == [] and printed["tall"] == [] and printed["pageWidth"] <= printed["width"], printed


def test_day_report_shows_model_date_status_and_summary_sentences(visits, site):
    text, report = visits["day"].text, site["report"]
    drift = feature_drift(report)
    drifted = [m for m in drift if m.status is Status.WARN]
    largest = max(drifted, key=lambda m: m.value / m.threshold)
    method = {"wasserstein": "normed Wasserstein", "jensenshannon": "Jensen-Shannon distance"}[largest.metric]
    assert "credit_default: 2026-10-15" in text and "Overall: ✖ Failed" in text
    assert (f"{len(drifted)} of {len(drift)} features drifted; the largest is {largest.feature}, "
            f"{method} {largest.value:.3g} against a threshold of {DRIFT_THRESHOLD:.2f}.") in text
    assert "2 of 3 checks failed: nulls (error), categories (warning)." in text
    assert HOSTILE in text  # shown as text, since nothing of it ran (no script, no dialog)


def test_model_page_shows_latest_status_and_trends(visits):
    text = visits["model"].text
    assert "credit_default over time" in text
    assert "Latest day: 2026-10-15 ✖ Failed 2 check(s) failed: nulls, categories" in text
    assert "Status, last 46 days" in text and "Trends over" in text  # the history begins 45 days back
    assert "fewer than two days" not in text  # every trend had the history to be drawn


def test_index_shows_every_model_with_its_latest_status(visits):
    text = visits["index"].text
    assert "Model monitoring" in text and "Last 30 days" in text and "Last 90 days" in text
    assert "credit_default 2026-10-15 ✖ Failed 2 check(s) failed: nulls, categories" in text
    assert html.unescape(HOSTILE) in text
