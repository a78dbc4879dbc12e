"""The report in headless Chromium (Playwright, tests/browser.py): no console error, no request
beyond the file itself, charts that actually draw something, and a screenshot. Skips (never
fails) when no Chromium is installed; `.ci/run` installs Debian's. docs/report.png is made with
``python -m tests.report.screenshot REPORT.html docs/report.png``."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from ..browser import Watched, chromium, needs_chromium
from .helpers import REPO, render

pytestmark = needs_chromium

CHARTS_JS = """(() => {
  const out = [];
  for (const svg of document.querySelectorAll('svg.chart, svg.machine, svg.slo, svg.strip')) {
    const box = svg.getBoundingClientRect();
    const marks = svg.querySelectorAll('g.bars rect, path.line, path.step, g.dots circle, g.node, rect.seg, rect.fill');
    let drawn = 0;
    for (const m of marks) { const b = m.getBBox(); if (b.width > 0 || b.height > 0) drawn++; }
    out.push({cls: svg.getAttribute('class'), w: box.width, h: box.height, marks: marks.length, drawn});
  }
  return out;
})()"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as b:
        yield b


def open_page(browser, url: str) -> Watched:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    watched = Watched(page)
    page.goto(url, wait_until="load")
    return watched


def test_report_in_headless_chromium(recording, browser, tmp_path):
    rendered = render(recording.data_dir, tmp_path / "report.html", "--run", str(recording.traded))
    assert rendered.exit_code == 0, rendered.output
    url = rendered.path.resolve().as_uri()
    w = open_page(browser, url)
    assert w.errors == []
    assert [u for u in w.requests if u != url] == [], "the page fetched something besides itself"
    charts = w.page.evaluate(CHARTS_JS)
    kinds = {c["cls"] for c in charts}
    assert {"chart", "machine", "slo", "strip"} <= kinds, kinds
    for c in charts:
        assert c["w"] > 100 and c["h"] > 20, c
        assert c["drawn"] > 0, f"an empty chart: {c}"
    assert len(w.page.text_content("#symbols td:nth-child(2)")) > 0
    shot = w.page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert shot[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", shot[16:24])
    assert width == 1280 and height > 2000 and len(shot) > 50_000


def test_the_harness_catches_errors_and_external_requests(browser):
    """The checks above can fail: a page with a console error and an external image trips both."""
    w = open_page(browser, "data:text/html,<img src='http://example.invalid/x.png'>"
                           "<script>console.error('boom')</script>")
    assert any("boom" in e for e in w.errors)
    assert "http://example.invalid/x.png" in w.requests


def test_empty_run_renders_cleanly_in_chromium(recording, browser, tmp_path):
    rendered = render(recording.data_dir, tmp_path / "empty.html", "--run", str(recording.empty))
    url = rendered.path.resolve().as_uri()
    w = open_page(browser, url)
    assert w.errors == []
    assert [u for u in w.requests if u != url] == []
    assert w.page.evaluate("document.querySelectorAll('svg.machine g.node').length") >= 5


def test_docs_screenshot_exists():
    shot = Path(REPO / "docs" / "report.png")
    if not shot.exists():
        pytest.skip("docs/report.png not generated yet (python -m tests.report.screenshot REPORT.html docs/report.png)")
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
