"""The engine end to end through the Kiwoom emulator, with scripted quotes and faults."""
from __future__ import annotations

from .scenario import MS, Quotes, at, rows, run

CODE = "005930"   # at ₩100,000 in these scenarios: tick ₩100, KOSPI tax 0.05% + 0.15%


def test_clean_arbitrage_is_paired_with_pnl_to_the_won(tmp_path):
    # NXT's bid jumps 4 ticks above KRX's ask for 300 ms: buy KRX at 100,000, sell NXT at 100,400.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.300", 100_400, 100_500)
    result, con = run(tmp_path, q)
    assert result.exit_code == 0
    pairs = rows(con, "SELECT final_state, buy_venue, sell_venue, entry_filled, hedged, buy_value, sell_value, "
                      "gross_krw, fees_krw, tax_krw, net_krw, used_ioc FROM pairs")
    # by hand: buy KRX 100,000: commission floor10(15.0)=10, venue fees floor(3.64)=3
    #          sell NXT 100,400: commission floor10(14.56)=10, regulatory floor(3.20)=3,
    #          tax floor(50.2)=50 + rural floor(150.6)=150
    assert pairs == [("PAIRED_DONE", "KRX", "NXT", 1, 1, 100_000, 100_400, 400, 26, 200, 174, False)]
    fills = rows(con, "SELECT role, venue, side, price, qty, fee_krw, tax_krw, broker_fee_krw, broker_tax_krw "
                      "FROM fills ORDER BY ts_ns")
    assert fills == [("entry", "KRX", "buy", 100_000, 1, 13, 0, 13, 0),
                     ("hedge", "NXT", "sell", 100_400, 1, 13, 200, 13, 200)]
    path = [r[0] for r in rows(con, "SELECT dest FROM transitions ORDER BY ts_ns")]
    assert path == ["ENTRY_TAKE_SENT", "HEDGE_POST_SENT", "PAIRED_DONE"]
    assert result.summary.flat and result.summary.net_krw == 174


def test_unfilled_hedge_is_cancelled_then_sold_with_an_ioc_at_t_hedge(tmp_path):
    # The gap lasts 30 ms: the entry fills, the hedge limit at 100,400 finds the bid gone and rests.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.030", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.030", "09:10:00.500", 99_900, 100_000, 1000, 1000)
    result, con = run(tmp_path, q)
    assert result.exit_code == 0 and result.summary.flat
    path = [r[0] for r in rows(con, "SELECT dest FROM transitions ORDER BY ts_ns")]
    assert path == ["ENTRY_TAKE_SENT", "HEDGE_POST_SENT", "CANCEL_POST_SENT", "HEDGE_IOC_SENT", "PAIRED_DONE"]
    (hedge_sent,), = rows(con, "SELECT ts_ns FROM transitions WHERE dest = 'HEDGE_POST_SENT'")
    (cancel_sent,), = rows(con, "SELECT ts_ns FROM transitions WHERE dest = 'CANCEL_POST_SENT'")
    assert cancel_sent - hedge_sent == 800 * MS          # 005930's t_hedge_ms override (800 ms)
    orders = rows(con, "SELECT role, style, status FROM orders WHERE role <> 'entry' ORDER BY sent_ns")
    assert orders == [("hedge", "limit", "cancelled"), ("cancel", "cancel", "confirmed"),
                      ("escalation", "ioc_market", "filled")]
    # sold at NXT's bid 99,900: gross -100; fees 13 + 13; tax floor(49.95) + floor(149.85) = 198
    assert rows(con, "SELECT gross_krw, fees_krw, tax_krw, net_krw, used_ioc FROM pairs") == [(-100, 26, 198, -324, True)]
    (unhedged,), = rows(con, "SELECT unhedged_ms FROM pairs")
    assert 800 < unhedged < 800 + 200                     # t_hedge + the IOC round trip
    # the red flags (the hedge timeout, and the end of data disarming the run) are recorded once
    # each; fills and the finished pair are news for the operator's channel, not alerts
    assert rows(con, "SELECT kind, count(*) FROM alerts GROUP BY kind ORDER BY kind") == [
        ("hedge_timeout", 1), ("kill_switch", 1)]


def test_rejected_entry_cools_the_symbol_down(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:02.000", 100_400, 100_500)
    for ms in range(50, 2000, 50):                        # the gap persists (sizes flicker) for 2 s
        q.add(at("09:10:00") + ms * MS, CODE, "NXT", 100_400, 100_500, 50 + (ms // 50) % 2, 50)
    result, con = run(tmp_path, q, emulator={"faults": {"reject_rate": 1.0}})
    pairs = rows(con, "SELECT pair_id, final_state, started_ns FROM pairs ORDER BY pair_id")
    assert pairs and all(p[1] == "ENTRY_REJECTED" for p in pairs)
    msgs = rows(con, "SELECT DISTINCT message FROM orders WHERE status = 'rejected'")
    assert msgs and all(m[0] for m in msgs)                # the server's reason is kept
    (reject_cooldown,) = rows(con, "SELECT 250")[0]
    for (_, _, a), (_, _, b) in zip(pairs, pairs[1:]):
        assert b - a >= reject_cooldown * MS               # never re-entered inside the cooldown
    assert result.summary.flat


def test_nothing_is_sent_outside_the_guard_window(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, start="09:00:00", end="09:01:00")
    q.hold(CODE, "NXT", "09:00:30.500", "09:00:31.900", 100_400, 100_500)   # NXT open, guard not yet
    q.hold(CODE, "NXT", "09:00:31.900", "09:00:31.901", 99_900, 100_000)     # gone before it arms
    q.steady(CODE, 99_900, 100_000, start="15:19:00", end="15:20:00")
    q.hold(CODE, "NXT", "15:19:55.000", "15:19:58.000", 100_400, 100_500)   # guard ended at 15:19:50
    result, con = run(tmp_path, q)
    assert rows(con, "SELECT count(*) FROM orders") == [(0,)]
    assert result.exit_code == 0


def test_a_vi_mutes_the_symbol_until_it_clears(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:14:00")
    q.hold(CODE, "NXT", "09:10:30.000", "09:10:30.300", 100_400, 100_500)   # during the VI: ignored
    q.hold(CODE, "NXT", "09:13:00.000", "09:13:00.300", 100_400, 100_500)   # after it: traded
    result, con = run(tmp_path, q, emulator={"faults": {"vi": [{"code": CODE, "at": "09:10:00", "duration_s": 120}]}})
    started = rows(con, "SELECT started_ns FROM pairs")
    assert len(started) == 1 and started[0][0] >= at("09:13:00")
    assert rows(con, "SELECT count(*) FROM events WHERE kind = 'vi'") == [(2,)]


def test_disconnect_mid_pair_disarms_and_flattens_after_reconnect(tmp_path):
    # the gap closes at once, so the hedge rests; the session drops at 09:10:01 (before t_hedge)
    # and logins fail for 3 s: the cancel waits, and after the reconnect the engine flattens.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    q.hold(CODE, "NXT", "09:10:00.600", "09:10:00.630", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.630", "09:10:01.500", 99_900, 100_000, 1000, 1000)
    result, con = run(tmp_path, q, emulator={"faults": {"disconnect_at": "09:10:01", "reconnect_after_s": 3}})
    assert result.summary.flat, result.summary.paragraph()
    assert rows(con, "SELECT count(*) FROM pairs") == [(1,)]
    conn = rows(con, "SELECT detail FROM events WHERE kind = 'connection' ORDER BY ts_ns")
    assert any('"connected": false' in d[0] for d in conn) and '"connected": true' in conn[-1][0]
    (sold_at,), = rows(con, "SELECT max(ts_ns) FROM fills WHERE side = 'sell'")
    assert sold_at > at("09:10:04")                        # flattened after the reconnect
    down = rows(con, "SELECT count(*) FROM orders WHERE sent_ns BETWEEN ? AND ?", at("09:10:01"), at("09:10:04"))
    assert down == [(0,)]                                  # nothing was sent while disconnected


def test_a_flattening_loss_counts_toward_the_daily_loss_limit(tmp_path):
    # The entry's fill report arrives 2 s late: the pair gives the entry up (cancel refused,
    # ENTRY_MISSED, PnL never booked), then the late share is sold by the safety net at the
    # bid, a ₩324 loss (₩100 of price, ₩26 fees, ₩198 tax). It is realised, and a ₩200 daily
    # loss limit kills the run.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.030", 100_400, 100_500)
    result, con = run(tmp_path, q, emulator={"latency_ms": {"fill": {"dist": "fixed", "ms": 2000}}},
                      risk={"max_daily_loss_krw": 200})
    assert result.summary.flat and result.summary.net_krw == -324
    assert rows(con, "SELECT final_state, net_krw FROM pairs") == [("ENTRY_MISSED", 0)]
    assert rows(con, "SELECT role, side, status FROM orders WHERE role = 'flatten'") == [("flatten", "sell", "filled")]
    (killed,), = rows(con, "SELECT message FROM alerts WHERE kind = 'kill_switch'")
    assert killed == "disarmed: session net PnL ₩-324 below -₩200"
    # the report's cumulative PnL line ends at the day's net, though the fill came after its pair ended
    from kxrules.report import series

    (run_id,), = rows(con, "SELECT max(run_id) FROM runs")
    assert series.pnl(con, run_id)[-1][1] == -324


def test_an_edge_that_covers_commission_but_not_tax_is_not_traded(tmp_path):
    # 2 ticks (₩200) beat both commissions and venue fees (₩26) but not the ₩200 sell tax
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:01.000", 100_200, 100_300)
    result, con = run(tmp_path, q)
    assert rows(con, "SELECT count(*) FROM signals") == [(0,)]
    assert rows(con, "SELECT count(*) FROM orders") == [(0,)]
    assert result.exit_code == 0


def test_a_duplicated_chejan_fill_is_counted_once(tmp_path, monkeypatch):
    # The emulated broker delivers every 체결 twice: the pair, its fills, its costs and the
    # position are those of the clean run, and the broker's account agrees.
    from kxrules.broker.adapter import KiwoomAdapter

    from .scenario import broker_holdings, capture, capture_emulators

    emulators, adapters = capture_emulators(monkeypatch), capture(monkeypatch, KiwoomAdapter)
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.300", 100_400, 100_500)
    result, con = run(tmp_path, q, emulator={"faults": {"duplicate_chejan_rate": 1.0}})
    assert adapters[0].counters["duplicate_fill"] == 2          # both repeats reached the adapter
    assert rows(con, "SELECT role, side, price, qty, fee_krw, tax_krw FROM fills ORDER BY ts_ns") == [
        ("entry", "buy", 100_000, 1, 13, 0), ("hedge", "sell", 100_400, 1, 13, 200)]
    assert rows(con, "SELECT final_state, entry_filled, hedged, net_krw FROM pairs") == [("PAIRED_DONE", 1, 1, 174)]
    assert result.summary.fills == 2 and result.summary.net_krw == 174
    assert result.summary.flat and broker_holdings(emulators[0]) == {}
