"""The fast replay path gives exactly the orders and fills of the faithful (string) path."""
from __future__ import annotations

import datetime as dt

import duckdb

from kxrules.config.compile import compile_profile
from kxrules.marketdata.synthetic import generate_day, select_universe
from kxrules.runtime.fast import FastReplay
from kxrules.runtime.trade import TradeOptions, run_simulation

from .scenario import REPO

ORDER_COLS = ("client_id, pair_id, role, code, venue, side, qty, style, price, cancel_of, sent_ns, send_rc, "
              "ack_ns, accepted_ns, order_no, status, filled_qty, avg_price, fees_krw, tax_krw, late")
FILL_COLS = "ts_ns, client_id, pair_id, role, code, venue, side, price, qty, exec_id, fee_krw, tax_krw"
DAY = dt.date(2026, 11, 23)


def _day(tmp_path):
    universe = select_universe("pilot", 12, workspace=REPO)
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n" + "".join(
        f"{c},{n},{m},{p}\n" for c, n, m, p in zip(universe.codes, universe.names, universe.markets,
                                                    universe.ref_prices)), encoding="utf-8")
    quotes = tmp_path / "quotes.parquet"
    # a busy 8 minutes: twice the usual update rate
    generate_day(quotes, universe=universe, date=DAY, seed=11, start="09:00:00", minutes=8,
                 rate_multiplier=2.0, workspace=REPO)
    return universe, uni, quotes


def _replay_both_ways(tmp_path, universe, uni, quotes, vi: str, real_data_latency: str | None = None):
    """Orders, fills and pairs of the fast and the faithful replay of ``quotes``, under the
    shipped emulator profile (late and dropped acks, reordered and duplicated Chejan, rejects)
    plus the VI schedule ``vi`` (and, if given, another quote delivery latency)."""
    text = (REPO / "config/sim/default.yaml").read_text(encoding="utf-8").replace("vi: []", vi)
    if real_data_latency is not None:
        shipped = "real_data: {dist: lognormal, median_ms: 15, p99_ms: 80}"
        assert shipped in text
        text = text.replace(shipped, f"real_data: {real_data_latency}")
    emu = tmp_path / "emulator.yaml"
    emu.write_text(text, encoding="utf-8")
    profile = compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni, "emulator": emu})
    results = {}
    for path in ("fast", "faithful"):
        res = run_simulation(profile, TradeOptions(broker="sim", replay=quotes, data_dir=tmp_path / path,
                                                   replay_path=path))
        con = duckdb.connect(str(res.db_path), read_only=True)
        results[path] = (
            con.execute(f"SELECT {ORDER_COLS} FROM orders ORDER BY client_id").fetchall(),
            con.execute(f"SELECT {FILL_COLS} FROM fills ORDER BY ts_ns, client_id").fetchall(),
            con.execute("SELECT pair_id, final_state, net_krw FROM pairs ORDER BY pair_id").fetchall(),
        )
        con.close()
    return results["fast"], results["faithful"]


def test_fast_and_faithful_replays_send_identical_orders_and_fills(tmp_path):
    universe, uni, quotes = _day(tmp_path)
    fast, faithful = _replay_both_ways(tmp_path, universe, uni, quotes,
                                       f'vi: [{{code: "{universe.codes[0]}", at: "09:04:00", duration_s: 120}}]')
    assert len(faithful[0]) >= 20, "the sample should trade enough to compare"
    assert fast[0] == faithful[0]
    assert fast[1] == faithful[1]
    assert fast[2] == faithful[2]


def test_a_batch_between_crossing_quotes_sees_every_quote_delivered_by_then(tmp_path, monkeypatch):
    """A VI that ends makes its symbol eligible again: the engine evaluates at once, between the
    fast host's windows. Quotes delivered since the last window must be put into the book first
    (``sync_book``), and both paths still agree."""
    universe, uni, quotes = _day(tmp_path)
    synced = []
    original = FastReplay._sync

    def counting_sync(self, now):
        before = self.pending()
        marked = original(self, now)
        synced.append(before - self.pending())
        return marked
    monkeypatch.setattr(FastReplay, "_sync", counting_sync)
    fast, faithful = _replay_both_ways(
        tmp_path, universe, uni, quotes,
        f'vi: [{{code: "{universe.codes[-1]}", at: "09:02:00", duration_s: 61.5}}, '
        f'{{code: "{universe.codes[1]}", at: "09:03:00", duration_s: 30.25}}]',
        real_data_latency="{dist: fixed, ms: 1}")
    assert sum(synced) > 0, "a batch between windows should have found quotes to apply"
    assert len(faithful[0]) >= 20, "the sample should trade enough to compare"
    assert fast[0] == faithful[0]
    assert fast[1] == faithful[1]
    assert fast[2] == faithful[2]


def test_fast_and_faithful_replays_record_the_same_quotes(tmp_path, monkeypatch):
    """With ``--record-quotes`` both paths record every top-of-book change the engine's book took,
    at its delivery time: the fast path writes them from each chunk's own columns (small chunks, so
    that the recording spans many of them)."""
    from kxrules.runtime import fast

    monkeypatch.setattr(fast, "CHUNK_ROWS", 5_000)
    universe, uni, quotes = _day(tmp_path)
    profile = compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni})
    recorded = {}
    for path in ("fast", "faithful"):
        res = run_simulation(profile, TradeOptions(broker="sim", replay=quotes, data_dir=tmp_path / path,
                                                   replay_path=path, record_quotes=True))
        con = duckdb.connect(str(res.db_path), read_only=True)
        # (quotes of one book often share a delivery time: rowid, the order they were recorded in,
        # breaks the ties, which ORDER BY leaves to the sort)
        recorded[path] = con.execute("SELECT ts_ns, code, venue, bid1, ask1, bid1_qty, ask1_qty FROM quotes "
                                     "ORDER BY ts_ns, code, venue, rowid").fetchall()
        con.close()
    rows = duckdb.sql(f"SELECT count(*) FROM '{quotes}'").fetchall()[0][0]
    assert 20 * fast.CHUNK_ROWS < len(recorded["fast"]) <= rows, "the sample should span many chunks"
    assert recorded["fast"] == recorded["faithful"]
