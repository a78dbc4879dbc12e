"""Every run ends recorded: SIGTERM and a second Ctrl-C, recording failures, a locked data
directory, a killed run, and pairs still live at the end."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import duckdb
import pytest
from typer.testing import CliRunner

from kxrules.broker.emulator.control import KiwoomEmulator
from kxrules.cli.app import app as kxrules_app
from kxrules.config.compile import compile_profile
from kxrules.engine.engine import Engine
from kxrules.marketdata.synthetic import select_universe
from kxrules.runtime.trade import TradeOptions, run_simulation
from kxrules.storage import recorder as recorder_mod
from kxrules.storage.recorder import Recorder, connect

from ..engine.scenario import DAY, DETERMINISTIC_EMULATOR, REPO, Quotes, at

CODE = "005930"


def _profile(tmp_path, emulator=None):
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n", encoding="utf-8")
    cfg = json.loads(json.dumps(DETERMINISTIC_EMULATOR))
    for key, value in (emulator or {}).items():
        cfg[key] = value
    emu = tmp_path / "emulator.yaml"
    emu.write_text(json.dumps(cfg), encoding="utf-8")
    return compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni, "emulator": emu})


def _one_pair_quotes(end="09:10:20"):
    """A two-tick gap at 09:10:00 that closes at once: one pair whose hedge has to wait."""
    q = Quotes().steady(CODE, 99_900, 100_000, end=end)
    q.hold(CODE, "NXT", "09:10:00.600", "09:10:00.630", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.630", "09:10:01.500", 99_900, 100_000, 1000, 1000)
    return q


def _run_row(db, run_id=1):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute("SELECT status, exit_code, ended_at, summary_json FROM runs WHERE run_id = ?",
                           [run_id]).fetchone()
    finally:
        con.close()


def _small_universe(tmp_path, n=3):
    universe = select_universe("pilot", n, workspace=REPO)
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n" + "".join(
        f"{c},{nm},{m},{p}\n" for c, nm, m, p in zip(universe.codes, universe.names, universe.markets,
                                                     universe.ref_prices)), encoding="utf-8")
    return uni


def _trade_args(uni, data_dir, until="09:06:00", speed="max", seed=5):
    return ["trade", "--profile", "pilot", "--broker", "sim", "--synthetic", "--seed", str(seed), "--speed", speed,
            "--date", str(DAY), "--until", until, "--universe", str(uni), "--data-dir", str(data_dir),
            "--workspace", str(REPO), "--quiet"]


def _spawn_trade(uni, data_dir):
    """`kxrules trade` in its own process at 20x wall time (about 50 s for the whole run); returns
    once its recording is open and it has traded for a moment."""
    proc = subprocess.Popen([sys.executable, "-m", "kxrules", *_trade_args(uni, data_dir, speed="20")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (data_dir / "kxrules.duckdb").exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the run never opened its recording"
        time.sleep(0.1)
    time.sleep(2.0)
    assert proc.poll() is None, proc.communicate()
    return proc


# -- signals ------------------------------------------------------------------------------------
def test_sigterm_mid_run_winds_down_records_and_exits_like_ctrl_c(tmp_path):
    uni, data = _small_universe(tmp_path), tmp_path / "d"
    proc = _spawn_trade(uni, data)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=90)
    assert "interrupted by the operator (SIGTERM)" in out, out + err
    assert "Traceback" not in err
    status, code, ended, summary = _run_row(data / "kxrules.duckdb")
    assert proc.returncode == code and ended is not None and summary is not None
    summary = json.loads(summary)
    assert (status, code) == (("ok", 0) if summary["flat"] else ("abnormal", 1))
    # it stopped early: far fewer quotes than the day up to --until holds
    day = next((data / "synthetic").glob("*.parquet"))
    total = duckdb.sql(f"SELECT count(*) FROM '{day}'").fetchall()[0][0]
    assert 0 < summary["quotes"] < total / 2


def _faithful(tmp_path, profile, q, **kw):
    return run_simulation(profile, TradeOptions(broker="sim", replay=q.write(tmp_path / "q.parquet"),
                                                data_dir=tmp_path / "data", replay_path="faithful", **kw))


def test_a_second_and_third_ctrl_c_neither_stop_the_wind_down_nor_tear_the_recording(tmp_path, monkeypatch):
    profile = _profile(tmp_path)
    feed = KiwoomEmulator.feed_quote
    sent = []

    def feed_then_interrupt(self, sym, venue, bid, ask, bq, aq, ts):
        feed(self, sym, venue, bid, ask, bq, aq, ts)
        if ts >= at("09:10:00.700") and not sent:          # the pair holds its entry, the hedge rests
            sent.append(ts)
            signal.raise_signal(signal.SIGINT)
    monkeypatch.setattr(KiwoomEmulator, "feed_quote", feed_then_interrupt)
    wind_down = Engine.wind_down

    def wind_down_interrupted(self):
        signal.raise_signal(signal.SIGINT)                 # Ctrl-C again during the wind-down
        wind_down(self)
    monkeypatch.setattr(Engine, "wind_down", wind_down_interrupted)
    flush, seen = Recorder.flush, {}

    def flush_interrupted(self):
        seen["orders"] = len(self._orders)
        self._flush_table("signals")
        signal.raise_signal(signal.SIGINT)                 # and once more inside the final write
        seen["after_signal"] = True
        flush(self)
    monkeypatch.setattr(Recorder, "flush", flush_interrupted)
    result = _faithful(tmp_path, profile, _one_pair_quotes())
    assert sent and seen["after_signal"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler      # handlers restored
    assert any("interrupted again" in n for n in result.notes)
    status, code, ended, summary = _run_row(result.db_path)
    assert ended is not None and json.loads(summary)["run_id"] == result.run_id
    assert code == result.exit_code == (0 if result.summary.flat else 1)
    assert status == ("ok" if code == 0 else "abnormal")
    con = duckdb.connect(str(result.db_path), read_only=True)
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] == seen["orders"] > 0
    assert con.execute("SELECT count(*) FROM orders WHERE status = 'live'").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM pairs").fetchone()[0] == 1
    assert con.execute("SELECT count(*) FROM signals").fetchone()[0] == 1        # written once, not twice


# -- pairs live at the end --------------------------------------------------------------------
def test_a_pair_still_live_at_the_end_gets_its_pairs_row(tmp_path):
    # the session drops mid-hedge and never comes back: the pair cannot finish
    profile = _profile(tmp_path, {"faults": {"disconnect_at": "09:10:01", "reconnect_after_s": 36000}})
    result = _faithful(tmp_path, profile, _one_pair_quotes())
    assert result.summary.pairs_by_state.get("LIVE") == 1 and result.exit_code == 1
    con = duckdb.connect(str(result.db_path), read_only=True)
    rows = con.execute("SELECT pair_id, final_state, ended_ns, entry_filled, net_krw FROM pairs").fetchall()
    assert len(rows) == 1
    pair_id, state, ended, filled, net = rows[0]
    assert ended is None and net is None and filled > 0
    last = con.execute("SELECT dest FROM transitions WHERE pair_id = ? ORDER BY ts_ns DESC, rowid DESC LIMIT 1",
                       [pair_id]).fetchone()[0]
    assert state == last and state not in ("PAIRED_DONE", "ENTRY_MISSED", "ENTRY_REJECTED")
    con.close()
    from kxrules.report.build import collect
    from kxrules.report.render import render_html

    data = collect(result.db_path.parent, "latest")
    assert data.totals["pairs_open"] == 1 and data.totals["pairs_finished"] == 0
    assert "still live when the run ended" in render_html(data, REPO)


# -- recording failures -------------------------------------------------------------------------
class _Disk:
    """Wraps DuckDB connections: the ``after``-th INSERT and (if ``stays_full``) every statement
    after it fail as a full disk does."""

    def __init__(self, after: int, stays_full: bool):
        self.after, self.stays_full = after, stays_full
        self.inserts, self.full, self.failures = 0, False, 0

    def connect(self, real):
        disk = self

        class Con:
            def __init__(self, con):
                self._con = con

            def execute(self, sql, *args):
                if sql.startswith("INSERT INTO") and not sql.startswith("INSERT INTO runs"):
                    disk.inserts += 1
                    if disk.inserts == disk.after:
                        disk.full = True
                        disk.failures += 1
                        raise duckdb.IOException('Could not write file "kxrules.duckdb.wal": No space left on device')
                if disk.full and disk.stays_full and not sql.startswith(("ROLLBACK", "SELECT")):
                    disk.failures += 1
                    raise duckdb.IOException('Could not write file "kxrules.duckdb.wal": No space left on device')
                return self._con.execute(sql, *args)

            def __getattr__(self, name):
                return getattr(self._con, name)
        return lambda *a, **k: Con(real(*a, **k))


def _trade_with_a_full_disk(tmp_path, monkeypatch, stays_full):
    disk = _Disk(after=3, stays_full=stays_full)
    monkeypatch.setattr(recorder_mod, "FLUSH_ROWS", 5)           # flush often, so it fails mid-run
    monkeypatch.setattr(recorder_mod, "connect", disk.connect(connect))
    uni = _small_universe(tmp_path, 10)                          # seed 7: a dozen signals by 09:10
    result = CliRunner().invoke(kxrules_app, _trade_args(uni, tmp_path / "d", until="09:10:00", seed=7))
    assert disk.failures
    return result


def test_a_disk_full_mid_run_disarms_flattens_and_exits_1_with_everything_written_later(tmp_path, monkeypatch):
    result = _trade_with_a_full_disk(tmp_path, monkeypatch, stays_full=False)
    assert result.exit_code == 1, result.output
    assert "recording failed: writing" in result.output and "No space left on device" in result.output
    assert "disarmed and flattened" in result.output and "Traceback" not in result.output
    assert "internal error" not in result.output
    con = duckdb.connect(str(tmp_path / "d" / "kxrules.duckdb"), read_only=True)
    status, code, summary = con.execute("SELECT status, exit_code, summary_json FROM runs").fetchone()
    assert (status, code) == ("abnormal", 1) and json.loads(summary)["flat"]
    (killed_at, message), = con.execute("SELECT ts_ns, message FROM alerts WHERE kind = 'kill_switch'").fetchall()
    assert message.startswith("disarmed: recording failed: writing")
    assert con.execute("SELECT count(*) FROM orders WHERE role = 'entry'").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM orders WHERE role = 'entry' AND sent_ns > ?",
                       [killed_at]).fetchone()[0] == 0                  # no entry after the failure
    assert con.execute("SELECT count(*) FROM orders WHERE status = 'live'").fetchone()[0] == 0


def test_a_disk_that_stays_full_loses_rows_but_says_which_and_prints_the_summary(tmp_path, monkeypatch):
    result = _trade_with_a_full_disk(tmp_path, monkeypatch, stays_full=True)
    assert result.exit_code == 1, result.output
    assert "recording failed: writing" in result.output and "disarmed and flattened" in result.output
    assert "not recorded (run 1 in" in result.output and "rows" in result.output
    assert "recorded as run" not in result.output and "Traceback" not in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("kxrules: run summary: "))
    summary = json.loads(line.removeprefix("kxrules: run summary: "))
    assert summary["run_id"] == 1 and summary["flat"] and summary["killed"].startswith("recording failed")


# -- a locked data directory ----------------------------------------------------------------------
def test_a_data_directory_another_process_holds_exits_2_before_trading(tmp_path):
    data = tmp_path / "d"
    holder = subprocess.Popen([sys.executable, "-c",
                               "import sys, time, datetime\n"
                               "from kxrules.storage.recorder import connect\n"
                               f"c = connect({str(data)!r})\n"
                               "c.execute(\"INSERT INTO runs (run_id, profile, status) VALUES (1, 'pilot', 'running')\")\n"
                               "print('locked', flush=True)\ntime.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        result = CliRunner().invoke(kxrules_app, _trade_args(_small_universe(tmp_path), data, until="09:01:00"))
    finally:
        holder.kill()
        holder.wait()
    assert result.exit_code == 2, result.output
    assert f"data directory {data} is in use by another kxrules process (pid {holder.pid})" in result.output
    assert "choose another --data-dir or wait" in result.output
    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    assert con.execute("SELECT run_id, status FROM runs").fetchall() == [(1, "running")]   # untouched


# -- a killed run -----------------------------------------------------------------------------------
@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs kill -9")
def test_a_killed_run_is_closed_as_killed_by_the_next_and_its_report_says_incomplete(tmp_path):
    uni, data = _small_universe(tmp_path), tmp_path / "d"
    proc = _spawn_trade(uni, data)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert _run_row(data / "kxrules.duckdb")[0] == "running"          # what the dead process left
    nxt = CliRunner().invoke(kxrules_app, _trade_args(uni, data, until="09:00:10"))
    assert nxt.exit_code == 0, nxt.output
    status, code, ended, summary = _run_row(data / "kxrules.duckdb", 1)
    assert (status, code, ended, summary) == ("killed", None, None, None)
    assert _run_row(data / "kxrules.duckdb", 2)[0] == "ok"
    report = CliRunner().invoke(kxrules_app, ["report", "--data-dir", str(data), "--run", "1", "--out",
                                              str(tmp_path / "r.html"), "--workspace", str(REPO)])
    assert report.exit_code == 0, report.output
    assert "DATA INCOMPLETE" in report.output and "was killed" in report.output
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert 'data-k="incomplete"' in html and "Data incomplete." in html
    ok = CliRunner().invoke(kxrules_app, ["report", "--data-dir", str(data), "--run", "2", "--out",
                                          str(tmp_path / "s.html"), "--workspace", str(REPO)])
    assert ok.exit_code == 0 and "DATA INCOMPLETE" not in ok.output
    assert 'data-k="incomplete"' not in (tmp_path / "s.html").read_text(encoding="utf-8")


def test_a_recording_that_drops_every_100th_fill_row_is_an_error(tmp_path, monkeypatch):
    """The recording's row counts are checked against the engine's at the end of the run."""
    original = Recorder.fill
    seen = [0]

    def lossy_fill(self, *args):
        seen[0] += 1
        if seen[0] % 100:
            original(self, *args)
    monkeypatch.setattr(Recorder, "fill", lossy_fill)
    uni = _small_universe(tmp_path, 10)
    result = CliRunner().invoke(kxrules_app, _trade_args(uni, tmp_path / "d", until="11:30:00", seed=7))
    assert seen[0] >= 100, "the run should fill enough to drop a row"
    assert result.exit_code == 1, result.output
    lost = seen[0] // 100
    assert (f"the recording does not match the engine: fills {seen[0] - lost} rows recorded, "
            f"{seen[0]} by the engine") in result.output
    assert "Traceback" not in result.output
    con = duckdb.connect(str(tmp_path / "d" / "kxrules.duckdb"), read_only=True)
    assert con.execute("SELECT status, exit_code FROM runs").fetchone() == ("recording_incomplete", 1)
