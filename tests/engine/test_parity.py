"""The fast replay path gives exactly the orders and fills of the faithful (string) path."""
from __future__ import annotations

import datetime as dt

from types import SimpleNamespace

import duckdb
import numpy as np

from kxrules import seoul
from kxrules.config.compile import compile_profile
from kxrules.clock import NS_PER_MS, NS_PER_S
from kxrules.marketdata.quote_format import iter_quote_batches
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


def test_a_break_inside_a_pending_batch_window_keeps_parity(tmp_path, monkeypatch):
    """The emulator's own real data (here a VI ending) splits the stream just after a quote that
    crossed a symbol was delivered: quotes of the next run delivered before the pending batch
    must be topped up into the book before it runs. Quotes arrive 1 ms after their time stamp
    so the split can be placed."""
    universe, uni, quotes = _day(tmp_path)
    n = len(universe.codes)
    shadow = SimpleNamespace(n_syms=n, small=True, shadow_px=np.zeros((2, n), np.int64),
                             shadow_sz=np.zeros((2, n), np.int64))
    ts, hot = [], []
    for b in iter_quote_batches(quotes, codes=list(universe.codes)):
        changed, crossed = FastReplay._shadow(shadow, b.code_idx, b.venue_idx, b.bid, b.ask, b.bid_qty, b.ask_qty)
        ts.append(b.ts_ns)
        hot.append(b.ts_ns[changed & crossed])
    ts, hot = np.concatenate(ts), np.concatenate(hot)
    batch_ns, lat_ns = 10 * NS_PER_MS, NS_PER_MS
    vi_start = seoul.epoch_ns(DAY, seoul.parse_hms("09:02:00"))

    def split_after(t: int) -> int | None:
        """Split 0.5 ms after delivery of the crossing quote at ``t`` if a later quote is still
        delivered inside that quote's batch window."""
        split = t + lat_ns + NS_PER_MS // 2
        due = ((t + lat_ns) // batch_ns + 1) * batch_ns
        later = ts[(ts >= split) & (ts + lat_ns < due)]
        return split if later.size else None
    split = next(s for s in map(split_after, hot[hot > vi_start + NS_PER_S].tolist()) if s is not None)
    topped_up = []
    original = FastReplay._top_up

    def counting_top_up(self):
        head = self.pending.head
        original(self)
        topped_up.append(self.pending.head - head)
    monkeypatch.setattr(FastReplay, "_top_up", counting_top_up)
    fast, faithful = _replay_both_ways(
        tmp_path, universe, uni, quotes,
        f'vi: [{{code: "{universe.codes[-1]}", at: "09:02:00", duration_s: {(split - vi_start) / NS_PER_S}}}]',
        real_data_latency="{dist: fixed, ms: 1}")
    assert sum(topped_up) > 0, "the scenario should reach the top-up"
    assert len(faithful[0]) >= 20, "the sample should trade enough to compare"
    assert fast[0] == faithful[0]
    assert fast[1] == faithful[1]
    assert fast[2] == faithful[2]
