"""The live host's logic (login, durable recording, end of day, Ctrl-C) with the emulator
standing in for the COM control and a virtual clock standing in for Qt."""
from __future__ import annotations

import datetime as dt
import signal

import duckdb
import pytest

from kxrules.broker import errors as E
from kxrules.broker.emulator.control import KiwoomEmulator
from kxrules.config.compile import compile_profile
from kxrules.clock import VirtualClock
from kxrules.seoul import epoch_ns, midnight_ns
from kxrules.marketdata.quote_format import iter_quote_batches
from kxrules.marketdata.synthetic import generate_day, select_universe
from kxrules.runtime.live import run_live
from kxrules.runtime.trade import TradeOptions, fee_fn_for
from kxrules.storage.recorder import Recorder

from ..engine.scenario import REPO

DAY = dt.date(2026, 11, 23)


class ReplayApp:
    """Plays Qt's part: exec_() runs the event loop (here: replayed quotes and virtual timers)."""

    def __init__(self, clock, emulator, quotes, codes, interrupt_at_ns=None, signals=(signal.SIGINT,)):
        self.clock, self.emulator, self.quotes, self.codes = clock, emulator, quotes, codes
        self.interrupt_at_ns = interrupt_at_ns
        self.signals = signals
        self.quit_called = False

    def quit(self):
        self.quit_called = True

    def exec_(self):
        for batch in iter_quote_batches(self.quotes, codes=self.codes):
            for row in zip(*(c.tolist() for c in (batch.ts_ns, batch.code_idx, batch.venue_idx, batch.bid,
                                                   batch.ask, batch.bid_qty, batch.ask_qty))):
                ts, sym, venue, bid, ask, bq, aq = row
                if self.interrupt_at_ns is not None and ts >= self.interrupt_at_ns:
                    self.interrupt_at_ns = None
                    for sig in self.signals:
                        signal.raise_signal(sig)
                self.clock.run_until(ts)
                if self.quit_called:
                    return 0
                self.emulator.feed_quote(sym, venue, bid, ask, bq, aq, ts)
        while not self.quit_called and self.clock.next_due_ns() is not None:
            self.clock.run_until(self.clock.next_due_ns())
        return 0


def _setup(tmp_path, minutes=6):
    universe = select_universe("pilot", 8, workspace=REPO)
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n" + "".join(
        f"{c},{n},{m},{p}\n" for c, n, m, p in zip(universe.codes, universe.names, universe.markets,
                                                    universe.ref_prices)), encoding="utf-8")
    quotes = tmp_path / "q.parquet"
    generate_day(quotes, universe=universe, date=DAY, seed=3, start="09:00:00", minutes=minutes,
                 rate_multiplier=2.0, workspace=REPO)
    profile = compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni})
    clock = VirtualClock(epoch_ns(DAY, 8 * 3600 + 55 * 60))
    emulator = KiwoomEmulator(profile.emulator, clock, list(profile.codes),
                              markets={s.code: s.market for s in profile.symbols},
                              ref_prices={s.code: s.ref_price for s in profile.symbols},
                              fee_fn=fee_fn_for(profile.cost), venues=profile.venues,
                              midnight_ns=midnight_ns(DAY))
    return profile, clock, emulator, quotes


def test_live_host_trades_records_durably_and_stops_flat_at_until(tmp_path, monkeypatch):
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    profile, clock, emulator, quotes = _setup(tmp_path)
    emulator.app = ReplayApp(clock, emulator, quotes, profile.codes)
    result = run_live(profile, TradeOptions(broker="kiwoom", until=9 * 3600 + 5 * 60, data_dir=tmp_path / "d"),
                      control=emulator, clock=clock)
    assert emulator.app.quit_called
    assert result.exit_code == 0 and result.summary.flat
    con = duckdb.connect(str(result.db_path), read_only=True)
    assert con.execute("SELECT mode, broker, status FROM runs").fetchall() == [("live", "kiwoom", "ok")]
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM orders WHERE status = 'live'").fetchone()[0] == 0


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_live_host_ctrl_c_disarms_flattens_and_exits_zero(tmp_path, monkeypatch, sig):
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    profile, clock, emulator, quotes = _setup(tmp_path)
    emulator.app = ReplayApp(clock, emulator, quotes, profile.codes,
                             interrupt_at_ns=epoch_ns(DAY, 9 * 3600 + 3 * 60), signals=(getattr(signal, sig),))
    result = run_live(profile, TradeOptions(broker="kiwoom", data_dir=tmp_path / "d"),
                      control=emulator, clock=clock)
    assert result.exit_code == 0 and result.summary.flat
    assert any(f"interrupted by the operator ({sig})" in n for n in result.notes)
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL      # the handlers are restored
    con = duckdb.connect(str(result.db_path), read_only=True)
    last_sent = con.execute("SELECT max(sent_ns) FROM orders WHERE role = 'entry'").fetchone()[0]
    assert last_sent is None or last_sent < epoch_ns(DAY, 9 * 3600 + 3 * 60 + 1)


def test_a_send_the_control_refuses_leaves_one_durable_order_row(tmp_path, monkeypatch):
    """The control refuses the first SendOrder (-308): the refusal comes back from inside the
    call; the live database must hold that order once, with its return code, before any
    end-of-day rewrite (a crash mid-day leaves exactly what was written)."""
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    profile, clock, emulator, quotes = _setup(tmp_path)
    emulator.app = ReplayApp(clock, emulator, quotes, profile.codes)
    send, refused = emulator.SendOrder, []

    def refuse_first(rqname, *args):
        if not refused:
            refused.append(rqname)
            return E.OP_ERR_ORD_OVERFLOW
        return send(rqname, *args)
    monkeypatch.setattr(emulator, "SendOrder", refuse_first)
    before_rewrite = {}
    flush = Recorder.flush

    def snapshot_then_flush(self):
        before_rewrite["rows"] = self.con.execute(
            "SELECT client_id, status, send_rc FROM orders WHERE client_id = ?", refused).fetchall()
        flush(self)
    monkeypatch.setattr(Recorder, "flush", snapshot_then_flush)
    result = run_live(profile, TradeOptions(broker="kiwoom", until=9 * 3600 + 5 * 60, data_dir=tmp_path / "d"),
                      control=emulator, clock=clock)
    assert result.exit_code == 0 and refused
    assert before_rewrite["rows"] == [(refused[0], "rejected", E.OP_ERR_ORD_OVERFLOW)]


def test_live_host_second_ctrl_c_stops_waiting_and_still_records_truthfully(tmp_path, monkeypatch):
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    profile, clock, emulator, quotes = _setup(tmp_path)
    emulator.app = ReplayApp(clock, emulator, quotes, profile.codes, interrupt_at_ns=epoch_ns(DAY, 9 * 3600 + 3 * 60),
                             signals=(signal.SIGINT, signal.SIGINT))
    result = run_live(profile, TradeOptions(broker="kiwoom", data_dir=tmp_path / "d"),
                      control=emulator, clock=clock)
    assert emulator.app.quit_called
    assert any("interrupted again" in n for n in result.notes)
    assert result.exit_code == (0 if result.summary.flat else 1)
    con = duckdb.connect(str(result.db_path), read_only=True)
    status, code, summary = con.execute("SELECT status, exit_code, summary_json FROM runs").fetchone()
    assert code == result.exit_code and status == ("ok" if code == 0 else "abnormal") and summary
    live_pairs = result.summary.pairs_by_state.get("LIVE", 0)
    assert con.execute("SELECT count(*) FROM pairs WHERE ended_ns IS NULL").fetchone()[0] == live_pairs


def test_live_host_recording_failure_disarms_winds_down_and_exits_1(tmp_path, monkeypatch):
    """The durable insert of an order event fails (disk full) mid-day: the engine is killed at
    once, the day winds down flat, the rows held back are written at the end, exit 1."""
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    profile, clock, emulator, quotes = _setup(tmp_path)
    emulator.app = ReplayApp(clock, emulator, quotes, profile.codes)
    row, failed = Recorder._row, []

    def full_once(self, table, r):
        if table == "order_events" and not failed and self.failed is None:
            failed.append((clock.now_ns(), r[1], r[2]))
            self._fail("writing order_events", duckdb.IOException("No space left on device"))
        row(self, table, r)
    monkeypatch.setattr(Recorder, "_row", full_once)
    result = run_live(profile, TradeOptions(broker="kiwoom", until=9 * 3600 + 5 * 60, data_dir=tmp_path / "d"),
                      control=emulator, clock=clock)
    assert failed and result.exit_code == 1 and result.summary.flat
    assert result.errors[0] == "recording failed: writing order_events: No space left on device; disarmed and flattened"
    assert result.summary.killed.startswith("recording failed")
    con = duckdb.connect(str(result.db_path), read_only=True)
    assert con.execute("SELECT status, exit_code FROM runs").fetchone() == ("abnormal", 1)
    when, client_id, event = failed[0]
    assert con.execute("SELECT count(*) FROM orders WHERE role = 'entry' AND sent_ns > ?", [when]).fetchone()[0] == 0
    # the row that could not be written then was kept and written at the end
    assert con.execute("SELECT count(*) FROM order_events WHERE client_id = ? AND event = ? AND ts_ns = ?",
                       [client_id, event, when]).fetchone()[0] == 1
