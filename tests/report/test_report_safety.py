"""Hostile strings come out escaped; the page can neither run a script nor fetch anything; a full
synthetic day renders in well under 5 s."""
from __future__ import annotations

import json
import re
import shutil
import time

import duckdb
import pytest

from kxrules.report.build import collect
from kxrules.report.render import render_html

from .helpers import DB, REPO, render, values

SCRIPT = '<script>alert("kx")</script>'


@pytest.fixture
def hostile(recording, tmp_path):
    """A copy of run 1 whose symbol name, server messages, refusal reason, alert and source carry
    markup, in text and in attribute position."""
    data = tmp_path / "hostile"
    data.mkdir()
    shutil.copy2(recording.data_dir / DB, data / DB)
    con = duckdb.connect(str(data / DB))
    code = con.execute("SELECT code FROM pairs WHERE run_id = 1 AND entry_filled > 0 ORDER BY net_krw LIMIT 1").fetchone()[0]
    config = json.loads(con.execute("SELECT config_json FROM runs WHERE run_id = 1").fetchone()[0])
    for row in config["files"]["universe"]:
        if row[0] == code:
            row[1] = SCRIPT + "셀트리온"
    con.execute("UPDATE runs SET config_json = ?, source = ? WHERE run_id = 1",
                [json.dumps(config, ensure_ascii=False), "<img src=x onerror=alert(1)>"])
    con.execute("UPDATE order_events SET message = ? WHERE run_id = 1 AND event = 'rejected'",
                [SCRIPT + " 주문거부"])
    con.execute("UPDATE orders SET message = ? WHERE run_id = 1 AND status = 'rejected'", [SCRIPT])
    con.execute("UPDATE signals SET refuse_reason = ? WHERE run_id = 1 AND NOT admitted",
                ['"><script>alert(2)</script>'])
    con.execute("INSERT INTO alerts VALUES (1, (SELECT max(ts_ns) FROM signals WHERE run_id = 1), ?, ?)",
                ["kill_switch", SCRIPT])
    con.close()
    return data, code


def test_hostile_strings_are_escaped(hostile, tmp_path):
    data, code = hostile
    r = render(data, tmp_path / "r.html", "--run", "1")
    assert r.exit_code == 0, r.output
    html = r.html
    assert not re.search(r"<\s*script", html, re.I), "a script element reached the page"
    assert not re.search(r"<\s*img", html, re.I)
    assert "&lt;script&gt;alert(&#34;kx&#34;)&lt;/script&gt;셀트리온" in html      # the symbol name
    assert "&lt;script&gt;alert(&#34;kx&#34;)&lt;/script&gt; 주문거부" in html      # the server message
    assert 'data-reason="&#34;&gt;&lt;script&gt;alert(2)&lt;/script&gt;"' in html    # attribute position
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert int(values(html)["rejects"]) > 0


def test_page_forbids_scripts_and_network_even_if_a_template_is_careless(recording, tmp_path):
    """The CSP meta tag blocks scripts and fetches; CSS from reports/ cannot close its <style>."""
    ws = tmp_path / "ws"
    (ws / "reports").mkdir(parents=True)
    (ws / "reports" / "report.css").write_text("body { color: red; }\n</style><script>alert(1)</script>",
                                               encoding="utf-8")
    data = collect(recording.data_dir, 1)
    html = render_html(data, ws)
    assert "color: red" in html                       # the workspace's CSS won over the shipped one
    assert not re.search(r"<\s*script", html, re.I)
    assert "default-src 'none'" in html and "script-src" not in html
    assert not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "no external reference"


@pytest.fixture(scope="module")
def full_day(recording, tmp_path_factory):
    """A full-day-sized recording (09:00-15:30 scale) made from run 1's six minutes repeated 65
    times, shifted in time: ~15 M quotes, ~1,700 pairs, like the seeded full synthetic day."""
    data = tmp_path_factory.mktemp("fullday")
    shutil.copy2(recording.data_dir / DB, data / DB)
    con = duckdb.connect(str(data / DB))
    con.execute("DELETE FROM runs WHERE run_id <> 1")
    shift = 360 * 1_000_000_000
    for table in ("signals", "pairs", "orders", "order_events", "fills", "transitions", "quotes", "telemetry",
                  "events", "alerts"):
        cols = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        exprs = []
        for c in cols:
            if c.endswith("_ns"):
                exprs.append(f"{c} + k * {shift}")
            elif c == "pair_id":
                exprs.append(f"{c} + k * 1000000")
            elif c in ("client_id", "cancel_of", "exec_id"):
                exprs.append(f"{c} || '-' || k")
            else:
                exprs.append(c)
        con.execute(f"INSERT INTO {table} SELECT {', '.join(exprs)} FROM {table}, range(1, 65) r(k) "
                    f"WHERE run_id = 1")
    if con.execute("SELECT count(*) FROM quotes").fetchone()[0] < 10_000_000:
        # a recording made without quotes (recording.quotes: false) still gets a day's worth
        con.execute("""INSERT INTO quotes SELECT 1, lo + i * ((hi - lo) // 10000000), '005930',
                           CASE WHEN i % 2 = 0 THEN 'KRX' ELSE 'NXT' END, 70000, 70100, 10, 10
                       FROM (SELECT min(ts_ns) AS lo, max(ts_ns) AS hi FROM signals WHERE run_id = 1),
                            range(10000000) r(i)""")
    counts = con.execute("SELECT (SELECT count(*) FROM quotes WHERE run_id = 1), "
                         "(SELECT count(*) FROM pairs WHERE run_id = 1)").fetchone()
    con.close()
    return data, counts


def test_a_full_synthetic_day_renders_in_under_5_s(full_day, tmp_path):
    data, (quotes, pairs) = full_day
    assert quotes >= 10_000_000 and pairs > 1_000
    started = time.perf_counter()
    rendered = render(data, tmp_path / "day.html", "--run", "1")
    elapsed = time.perf_counter() - started
    assert rendered.exit_code == 0, rendered.output
    assert elapsed < 5.0, f"rendering took {elapsed:.2f} s"
    assert int(values(rendered.html)["pairs_started"]) == pairs
    assert (REPO / "reports" / "report.html.j2").is_file()


def test_a_template_mistake_is_a_located_error_exit_2(recording, tmp_path):
    ws = tmp_path / "ws"
    shutil.copytree(REPO / "reports", ws / "reports")
    page = ws / "reports" / "report.html.j2"
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace("{{ t.net_krw | signed }}", "{{ t.nett_krw | signed }}", 1), encoding="utf-8")
    from typer.testing import CliRunner

    from .helpers import report_app

    result = CliRunner().invoke(report_app(), ["report", "--data-dir", str(recording.data_dir), "--run", "1",
                                               "--out", str(tmp_path / "r.html"), "--workspace", str(ws)])
    assert result.exit_code == 2
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "{{ t.net_krw | signed }}" in ln)
    assert f"report.html.j2:{line}:" in result.output and "nett_krw" in result.output
    assert not (tmp_path / "r.html").exists()
