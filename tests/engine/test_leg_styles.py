"""A leg's order style per venue (rules/pair_machine.yaml ``style: {KRX: limit, NXT: mid}``): the
passive hedge rests at NXT's midpoint, where KRX has no midpoint code, and is a limit at KRX."""
from __future__ import annotations

from .scenario import Quotes, capture_emulators, rows, run

CODE = "005930"   # at ₩100,000: tick ₩100, KOSPI tax 0.05% + 0.15%
PER_VENUE_HEDGE = {"hedge": "{style: {KRX: limit, NXT: mid}}"}
MID_FILLS_AT_THE_NEXT_QUOTE = {"fill_odds": {"mid_fill_rate_per_s": 1000.0}}


def test_the_hedge_rests_at_nxt_mid_and_fills_there_to_the_won(tmp_path, monkeypatch):
    # NXT's bid jumps 4 ticks above KRX's ask: buy KRX at 100,000; the hedge goes to NXT as a
    # midpoint order (hoga 29, price 0). NXT then quotes 100,300 / 100,400: a one-tick spread, so
    # the mid is a half tick, 100,350 (as a recorded 중간가 print: 313,750 inside 313,500 / 314,000).
    emulators = capture_emulators(monkeypatch)
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.300", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.300", "09:10:01.000", 100_300, 100_400)
    result, con = run(tmp_path, q, machine=PER_VENUE_HEDGE, emulator=MID_FILLS_AT_THE_NEXT_QUOTE)
    assert rows(con, "SELECT role, venue, side, style, price, status, avg_price FROM orders ORDER BY sent_ns") == [
        ("entry", "KRX", "buy", "ioc_limit", 100_000, "filled", 100_000),
        ("hedge", "NXT", "sell", "mid", 0, "filled", 100_350)]
    (hedge,) = [o for o in emulators[0].server.orders.values() if o.venue == "NXT"]
    assert (hedge.style, hedge.price) == ("mid", 0)           # the broker got a midpoint order
    (accepted,), = rows(con, "SELECT raw_json FROM order_events WHERE client_id = 'H0000002' AND event = 'accepted'")
    assert '"906": "중간가"' in accepted                         # and its 접수 says so
    # by hand: buy KRX 100,000: commission floor10(15.0) = 10, venue fees floor(3.64) = 3;
    # sell NXT 100,350 resting (maker): commission floor10(14.55) = 10, regulatory maker
    # floor(2.71) = 2; tax floor(50.18) + floor(150.53) = 200
    assert rows(con, "SELECT role, price, fee_krw, tax_krw FROM fills ORDER BY ts_ns") == [
        ("entry", 100_000, 13, 0), ("hedge", 100_350, 12, 200)]
    assert rows(con, "SELECT final_state, gross_krw, fees_krw, tax_krw, net_krw FROM pairs") == [
        ("PAIRED_DONE", 350, 25, 200, 125)]
    assert result.summary.flat and result.summary.net_krw == 125


def test_the_same_hedge_is_a_limit_when_it_goes_to_krx(tmp_path):
    # The reverse gap (KRX's bid above NXT's ask): buy NXT, hedge on KRX with a limit at its bid.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "KRX", "09:10:00.000", "09:10:00.300", 100_400, 100_500)
    result, con = run(tmp_path, q, machine=PER_VENUE_HEDGE, emulator=MID_FILLS_AT_THE_NEXT_QUOTE)
    assert rows(con, "SELECT role, venue, side, style, price, status FROM orders ORDER BY sent_ns") == [
        ("entry", "NXT", "buy", "ioc_limit", 100_000, "filled"), ("hedge", "KRX", "sell", "limit", 100_400, "filled")]
    assert result.summary.flat and rows(con, "SELECT final_state FROM pairs") == [("PAIRED_DONE",)]
