"""Runs that traded nothing, runs that ended abnormally, recordings of several runs, and the
clear errors (exit 2) for what is not there."""
from __future__ import annotations

import duckdb

from kxrules.storage.recorder import connect

from .helpers import render, values


def test_a_run_that_traded_nothing_renders_with_zeros(recording, tmp_path):
    r = render(recording.data_dir, tmp_path / "r.html", "--run", str(recording.empty))
    assert r.exit_code == 0, r.output
    v = values(r.html)
    assert int(v["net_krw"]) == 0 and int(v["signals"]) == 0 and int(v["pairs_started"]) == 0
    assert v["fill_rate"] == "None" and v["unhedged_p50"] == "None"
    assert "No symbol traded." in r.html and "No pair was started." in r.html
    assert "Nothing traded: net PnL stayed at ₩0." in r.html
    assert '<svg class="machine"' in r.html          # the machine is drawn even with no pair
    assert "ended normally" in r.output and "net ₩0" in r.output


def test_an_abnormal_run_shows_its_open_pair_and_position(recording, tmp_path):
    r = render(recording.data_dir, tmp_path / "r.html", "--run", str(recording.crashed))
    assert r.exit_code == 0, r.output
    assert "ended abnormally" in r.html and "ENDED ABNORMALLY (status running" in r.output
    con = recording.con()
    started = con.execute("SELECT count(DISTINCT pair_id) FROM signals WHERE run_id = ? AND pair_id IS NOT NULL",
                          [recording.crashed]).fetchone()[0]
    finished = con.execute("SELECT count(*) FROM pairs WHERE run_id = ?", [recording.crashed]).fetchone()[0]
    assert started > finished, "the crash copy should stop inside a pair"
    v = values(r.html)
    assert int(v["pairs_started"]) == started
    assert "never ended" in r.html                    # the open pair's card note and timeline
    held = con.execute("""SELECT code, sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) AS q FROM fills
                          WHERE run_id = ? GROUP BY code HAVING q <> 0""", [recording.crashed]).fetchall()
    assert held, "the crash copy should hold the entry it bought"
    assert "NOT FLAT" in r.html and "NOT FLAT" in r.output
    marked = 0
    for code, q in held:
        assert f"{code} {q:+d}" in r.output
        last = con.execute("""SELECT price FROM fills WHERE run_id = ? AND code = ? ORDER BY ts_ns DESC LIMIT 1""",
                           [recording.crashed, code]).fetchone()[0]
        bid = con.execute("""SELECT bid1 FROM quotes WHERE run_id = ? AND code = ? AND bid1 > 0
                             ORDER BY ts_ns DESC LIMIT 1""", [recording.crashed, code]).fetchone()
        marked += q * (bid[0] if bid else last)
    net = con.execute("""SELECT sum(CASE side WHEN 'sell' THEN price * qty ELSE -price * qty END - fee_krw - tax_krw)
                         FROM fills WHERE run_id = ?""", [recording.crashed]).fetchone()[0]
    assert int(v["net_krw"]) == net
    assert int(v["net_marked_krw"]) == net + marked


def test_run_selection_in_a_recording_of_several_runs(recording, tmp_path):
    latest = render(recording.data_dir, tmp_path / "latest.html")
    first = render(recording.data_dir, tmp_path / "first.html", "--run", "1")
    assert latest.exit_code == first.exit_code == 0
    assert 'data-k="run_id">3<' in latest.html and 'data-k="run_id">1<' in first.html
    assert "This recording holds runs 1, 2, 3." in first.html
    assert values(latest.html)["pairs_started"] != values(first.html)["pairs_started"]


def test_default_output_goes_to_the_data_dir(recording, tmp_path):
    import shutil

    data = tmp_path / "copy"
    shutil.copytree(recording.data_dir, data, ignore=shutil.ignore_patterns("synthetic"))
    from typer.testing import CliRunner

    from .helpers import REPO, report_app

    result = CliRunner().invoke(report_app(), ["report", "--data-dir", str(data), "--run", "1", "--workspace",
                                               str(REPO), "--quiet"])
    assert result.exit_code == 0, result.output
    assert (data / "report-2026-11-23-run1.html").is_file()
    assert "kxrules report: run" not in result.output      # --quiet drops the text summary


def test_missing_things_are_clear_errors_with_exit_2(recording, tmp_path):
    missing = render(tmp_path / "nope", tmp_path / "a.html")
    assert missing.exit_code == 2 and "data directory not found" in missing.output
    (tmp_path / "empty").mkdir()
    no_db = render(tmp_path / "empty", tmp_path / "b.html")
    assert no_db.exit_code == 2 and "no recording in" in no_db.output
    no_run = render(recording.data_dir, tmp_path / "c.html", "--run", "99")
    assert no_run.exit_code == 2 and "run 99 is not in" in no_run.output and "runs: 1, 2, 3" in no_run.output
    bad = render(recording.data_dir, tmp_path / "d.html", "--run", "yesterday")
    assert bad.exit_code == 2 and "--run must be 'latest' or a run id" in bad.output
    connect(tmp_path / "fresh").close()                      # a recording with its tables but no run
    none = render(tmp_path / "fresh", tmp_path / "e.html")
    assert none.exit_code == 2 and "holds no run" in none.output
    other = tmp_path / "other"
    other.mkdir()
    duckdb.connect(str(other / "kxrules.duckdb")).close()
    foreign = render(other, tmp_path / "f.html")
    assert foreign.exit_code == 2 and "not a kxrules recording" in foreign.output
    assert not any((tmp_path / n).exists() for n in ("a.html", "b.html", "c.html", "d.html", "e.html", "f.html"))


def test_a_recording_still_locked_by_a_writer_is_read_from_a_copy(recording, tmp_path):
    import shutil
    import subprocess
    import sys

    data = tmp_path / "live"
    shutil.copytree(recording.data_dir, data, ignore=shutil.ignore_patterns("synthetic"))
    # another process holds DuckDB's write lock, as a running `kxrules trade` does
    writer = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(data / 'kxrules.duckdb')!r})\n"
                               "print('locked', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().strip() == "locked"
        r = render(data, tmp_path / "r.html", "--run", "1")
    finally:
        writer.kill()
        writer.wait()
    assert r.exit_code == 0, r.output
    reference = render(recording.data_dir, tmp_path / "s.html", "--run", "1")
    assert values(r.html)["net_krw"] == values(reference.html)["net_krw"]


def test_chosen_pair_timelines(recording, tmp_path):
    con = recording.con()
    pair, n = con.execute("""SELECT pair_id, count(*) FROM transitions WHERE run_id = 1 GROUP BY 1
                             ORDER BY 2 DESC, 1 LIMIT 1""").fetchone()
    r = render(recording.data_dir, tmp_path / "r.html", "--run", "1", "--pairs", f"{pair},99999")
    assert r.exit_code == 0, r.output
    assert r.html.count('<details class="pair"') == 1 and f'data-pair="{pair}"' in r.html
    block = r.html.split(f'data-pair="{pair}"')[1].split("</details>")[0]
    assert block.count("<tr><td>09:") == n                    # one row per recorded transition
    assert "Pair 99999 is not in this run." in r.html
    bad = render(recording.data_dir, tmp_path / "s.html", "--pairs", "one,two")
    assert bad.exit_code == 2 and "--pairs" in bad.output


def test_recorded_auto_pause_periods_are_drawn(recording, tmp_path):
    import shutil

    data = tmp_path / "paused"
    data.mkdir()
    shutil.copy2(recording.data_dir / "kxrules.duckdb", data / "kxrules.duckdb")
    con = duckdb.connect(str(data / "kxrules.duckdb"))
    t0 = con.execute("SELECT min(sent_ns) FROM orders WHERE run_id = 1").fetchone()[0]
    con.execute("INSERT INTO events VALUES (1, ?, 'auto_pause', NULL, '{\"on\": true}'), "
                "(1, ?, 'auto_pause', NULL, '{\"on\": false}'), (1, ?, 'auto_pause', NULL, 'on')",
                [t0 + 10**9, t0 + 8 * 10**9, t0 + 60 * 10**9])
    con.close()
    r = render(data, tmp_path / "r.html", "--run", "1")
    assert r.exit_code == 0, r.output
    assert "2 auto-pause period(s) recorded by the engine" in r.html
    assert r.html.count('<rect class="pause"') == 2


def test_pause_periods_are_derived_from_the_sends_with_the_throttle_rule(recording):
    import numpy as np

    from kxrules.report import series
    from kxrules.report.config_view import ConfigView

    view = ConfigView(names={}, markets={})          # 5 calls / 1,000 ms, pause at 80% over 5 s
    ns = 10**9
    storm = np.array([100 * ns + i * 250_000_000 for i in range(24)] + [300 * ns], dtype=np.int64)
    con = duckdb.connect()
    con.execute("CREATE TABLE events (run_id INTEGER, ts_ns BIGINT, kind VARCHAR, code VARCHAR, detail VARCHAR)")
    recorded, periods = series.pause_periods(con, 1, view, storm)
    assert not recorded and len(periods) == 1
    start, end = periods[0]
    # 20 calls within 5 s (the 20th at 104.75 s) start it; it ends when the 5th call leaves the window
    assert start == series.kst(storm[19]) and end == series.kst(storm[4] + 5 * ns)
    calm = np.arange(0, 600 * ns, ns, dtype=np.int64)            # 1 call a second: 20% of capacity
    assert series.pause_periods(con, 1, view, calm) == (False, [])
