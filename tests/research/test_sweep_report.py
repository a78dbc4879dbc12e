"""`kxrules report --sweep ID`: a self-contained page, and in headless Chromium no script error
and no request beyond the file itself (skips without Chromium)."""
from __future__ import annotations

import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app
from tests.browser import Watched, chromium, needs_chromium

from .conftest import REPO

CHARTS_JS = """(() => [...document.querySelectorAll('svg.chart')].map(svg => {
  const marks = svg.querySelectorAll('g.cells rect, g.dots circle');
  let drawn = 0;
  for (const m of marks) { const b = m.getBBox(); if (b.width > 0 || b.height > 0) drawn++; }
  return {cls: svg.getAttribute('class'), drawn};
}))()"""


def _render(swept, tmp_path):
    plan, table, db = swept[0], swept[2], swept[-1]
    out = tmp_path / "sweep.html"
    r = CliRunner().invoke(app, ["report", "--sweep", plan.sweep.name, "--db", str(db), "--out", str(out),
                                 "--workspace", str(REPO)])
    assert r.exit_code == 0, r.output
    return out, table


def test_the_sweep_report_ranks_settings_and_shows_every_command(swept, tmp_path):
    out, table = _render(swept, tmp_path)
    html = out.read_text(encoding="utf-8")
    assert "Content-Security-Policy" in html and "<script" not in html and "http://" not in html
    assert html.count('<tr class="ok">') + html.count('<tr class="bad">') == 4      # one per setting
    for row in table:
        assert row["command"].replace("'", "&#39;") in html                         # every cell reproducible
    assert 'class="chart heat"' in html and 'class="chart spread"' in html and 'class="chart scatter"' in html


def test_an_unknown_sweep_is_a_usage_error(swept, tmp_path):
    _, _, _, db = swept
    r = CliRunner().invoke(app, ["report", "--sweep", "nope", "--db", str(db), "--workspace", str(REPO)])
    assert r.exit_code == 2 and "no sweep 'nope'" in r.output and "parity" in r.output


def test_a_search_report_ranks_its_trials(searched, tmp_path):
    out, table = _render(searched, tmp_path)
    html = out.read_text(encoding="utf-8")
    trials = searched[3]
    assert "Optuna <b>tpe</b> search: 6 of 6 trials told" in html
    settings = {t["setting"] for t in trials}
    assert html.count('<tr class="ok">') + html.count('<tr class="bad">') == len(settings)
    for t in trials:                                        # each ranked setting names its trial(s)
        assert f'<td class="trial">{t["trial"]}' in html or f', {t["trial"]}</td>' in html
    assert 'class="chart heat"' in html


def test_a_heatmap_of_many_search_points_bins_them():
    """A search's continuous values would make one column per trial: they fall into ranges."""
    import random

    from kxrules.research.spec import Objective
    from kxrules.research.sweep_report import MAX_AXIS, heatmap

    rng = random.Random(1)
    rows = []
    for i in range(40):
        p = {"edge_buffer_ticks": rng.uniform(0, 3), "t_hedge_ms": rng.randrange(100, 1000)}
        rows.append({"setting": f"s{i}", "params": p, "net_krw": int(p["t_hedge_ms"] - 300 * p["edge_buffer_ticks"])})
    svg = str(heatmap(rows, ["edge_buffer_ticks", "t_hedge_ms"], Objective(maximize="net_krw")))
    cells = svg.count("<rect")
    assert 0 < cells <= MAX_AXIS * MAX_AXIS
    best = max(rows, key=lambda r: r["net_krw"])["net_krw"]
    assert f">{best:,}</text>" in svg                      # the best setting's value is in its range's cell
    assert "–" in svg.split("<g class=\"cells\">")[1]      # ranges are labelled lo–hi


@needs_chromium
@pytest.mark.parametrize("which", ["swept", "searched"])
def test_the_sweep_report_in_headless_chromium(which, request, tmp_path):
    out, _ = _render(request.getfixturevalue(which), tmp_path)
    url = out.resolve().as_uri()
    with chromium() as browser:
        w = Watched(browser.new_page(viewport={"width": 1280, "height": 900}))
        w.page.goto(url, wait_until="load")
        assert w.errors == []
        assert [u for u in w.requests if u != url] == []
        charts = w.page.evaluate(CHARTS_JS)
        assert len(charts) == 3 and all(c["drawn"] > 0 for c in charts), charts
