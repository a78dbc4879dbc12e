"""Every limit of rules/risk.yaml acts: one scenario per limit through the emulator, asserting the
engine's reaction and what it recorded (events, alerts, refused signals)."""
from __future__ import annotations

import datetime as dt
import json

from .scenario import MS, Quotes, at, rows, run

CODE = "005930"       # ₩100,000: tick ₩100; a 4-tick gap covers the costs
OTHER = "005380"
TWO = [(CODE, "삼성전자", "KOSPI", 100000), (OTHER, "현대차", "KOSPI", 100000)]


def gap(q: Quotes, start: str, ms: int = 300, code: str = CODE) -> Quotes:
    """NXT's bid 4 ticks above KRX's ask for ``ms``: buy KRX 100,000, sell NXT 100,400."""
    t0 = at(start, q.day)
    return q.hold(code, "NXT", t0, t0 + ms * MS, 100_400, 100_500)


def events(con, kind: str) -> list[tuple[str, dict]]:
    return [(c, json.loads(d)) for c, d in rows(con, "SELECT code, detail FROM events WHERE kind = ? ORDER BY ts_ns", kind)]


def alerts(con, kind: str) -> list[str]:
    return [m for (m,) in rows(con, "SELECT message FROM alerts WHERE kind = ? ORDER BY ts_ns", kind)]


def refused(con, reason: str) -> int:
    return rows(con, "SELECT count(*) FROM signals WHERE refuse_reason = ?", reason)[0][0]


# -- max_unhedged_ms -------------------------------------------------------------------------------
def stranded_hedge() -> Quotes:
    """The entry fills; then NXT's bid is empty for 10 s (KRX still bids): the hedge cannot sell."""
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:11:30")
    gap(q, "09:10:00", ms=30)
    q.hold(CODE, "NXT", "09:10:00.030", "09:10:10", 0, 100_000, 0, 1000)
    return q


def test_a_pair_unhedged_past_max_unhedged_ms_alerts_once_escalates_freezes_and_disarms(tmp_path):
    q = stranded_hedge()
    gap(q, "09:11:00")                              # after the disarm: never traded
    result, con = run(tmp_path, q, risk={"max_unhedged_ms": 2000, "max_orders_per_pair": 60})
    (first_fill,), = rows(con, "SELECT first_fill_ns FROM pairs WHERE pair_id = 1")
    assert rows(con, "SELECT count(*) FROM pairs") == [(1,)]
    said = alerts(con, "max_unhedged")
    assert len(said) == 1 and "pair 1 005930: 1 share(s) unhedged for 2000 ms" in said[0]
    (alert_ns,), = rows(con, "SELECT ts_ns FROM alerts WHERE kind = 'max_unhedged'")
    assert alert_ns == first_fill + 2000 * MS
    # the escalation is forced at that moment: the IOC state's own trigger fires off its timer
    forced = rows(con, "SELECT trigger FROM transitions WHERE ts_ns = ?", alert_ns)
    assert forced == [("ioc_timeout",)]
    assert events(con, "symbol_frozen") == [(CODE, {"reason": "max_unhedged_ms"})]
    kills = alerts(con, "kill_switch")
    assert kills[0] == "disarmed: pair 1 005930 unhedged for 2000 ms"
    assert result.summary.flat


def test_max_unhedged_without_disarm_freezes_only_the_symbol(tmp_path):
    base = stranded_hedge().steady(OTHER, 99_900, 100_000, end="09:11:30")
    gap(base, "09:11:00")                            # frozen: not traded
    gap(base, "09:11:00", code=OTHER)                # another symbol: traded (still armed)
    result, con = run(tmp_path, base, universe=TWO,
                      risk={"max_unhedged_ms": 2000, "max_orders_per_pair": 60, "disarm_on_max_unhedged": "false"})
    assert len(alerts(con, "max_unhedged")) == 1
    assert rows(con, "SELECT code FROM pairs ORDER BY pair_id") == [(CODE,), (OTHER,)]
    assert all("unhedged" not in m for m in alerts(con, "kill_switch"))
    assert result.summary.flat


# -- rejects per symbol ----------------------------------------------------------------------------
def standing_gap(q: Quotes, start: str, ms: int, code: str = CODE) -> Quotes:
    """A gap that lasts ``ms`` while NXT's sizes flicker (each change is a new quote to act on)."""
    gap(q, start, ms, code)
    t0 = at(start, q.day)
    for k in range(50, ms, 50):
        q.add(t0 + k * MS, code, "NXT", 100_400, 100_500, 50 + (k // 50) % 2, 50)
    return q


def test_three_rejects_in_a_row_freeze_the_symbol_for_reject_freeze_ms(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:11:20")
    standing_gap(q, "09:10:00", 3000)
    standing_gap(q, "09:11:10", 500)                  # after the thaw: traded again
    result, con = run(tmp_path, q, emulator={"faults": {"reject_rate": 1.0}})
    started = [t for (t,) in rows(con, "SELECT started_ns FROM pairs ORDER BY pair_id")]
    in_gap = [t for t in started if t < at("09:10:03")]
    assert len(in_gap) == 3                           # the third reject froze it: 3 s of gap, no 4th
    assert any(t >= at("09:11:10") for t in started)
    frozen, = events(con, "symbol_frozen")
    assert frozen == (CODE, {"reason": "rejects", "for_ms": 60000})
    (frozen_ns,), = rows(con, "SELECT ts_ns FROM events WHERE kind = 'symbol_frozen'")
    (thawed_ns,), = rows(con, "SELECT ts_ns FROM events WHERE kind = 'symbol_unfrozen'")
    assert thawed_ns - frozen_ns == 60_000 * MS
    assert len(alerts(con, "reject_freeze")) == 1
    spikes = alerts(con, "reject_spike")
    assert spikes == ["005930: 3 rejects within 60 s"]     # once per episode, not per reject
    assert result.summary.flat


def test_five_rejects_within_the_window_freeze_the_symbol(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    standing_gap(q, "09:10:00", 5000)
    result, con = run(tmp_path, q, emulator={"faults": {"reject_rate": 1.0}},
                      risk={"reject_freeze_consecutive": 100})
    assert rows(con, "SELECT count(*) FROM pairs") == [(5,)]
    assert events(con, "symbol_frozen") == [(CODE, {"reason": "rejects", "for_ms": 60000})]
    assert alerts(con, "reject_spike") == ["005930: 3 rejects within 60 s"]


def test_a_reject_storm_over_all_symbols_trips_the_kill_switch(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    standing_gap(q, "09:10:00", 5000)
    result, con = run(tmp_path, q, emulator={"faults": {"reject_rate": 1.0}},
                      risk={"max_rejects_per_minute": 3, "reject_freeze_consecutive": 100,
                            "reject_freeze_count": 300})
    assert rows(con, "SELECT count(*) FROM pairs") == [(4,)]      # the 4th reject disarms
    kills = alerts(con, "kill_switch")
    assert kills[0] == "disarmed: 4 rejects within a minute (limit 3)"
    assert events(con, "symbol_frozen") == []


# -- caps at admission --------------------------------------------------------------------------------
def test_max_active_symbols_refuses_a_second_symbol_while_one_trades(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20").steady(OTHER, 99_900, 100_000, end="09:10:20")
    gap(q, "09:10:00", 300)
    gap(q, "09:10:00", 300, code=OTHER)
    result, con = run(tmp_path, q, universe=TWO, risk={"max_active_symbols": 1})
    assert rows(con, "SELECT count(*) FROM pairs") == [(1,)]
    assert refused(con, "max_active_symbols") >= 1
    assert result.summary.flat


def test_max_pairs_per_symbol_per_day_stops_the_symbol_and_alerts_once(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:14:00")
    for minute in (10, 11, 12, 13):
        standing_gap(q, f"09:{minute}:00", 1000)
    result, con = run(tmp_path, q, risk={"max_pairs_per_symbol_per_day": 2})
    assert rows(con, "SELECT count(*) FROM pairs") == [(2,)]
    assert refused(con, "max_pairs_per_symbol_per_day") >= 2
    assert alerts(con, "limit_reached") == [
        "max_pairs_per_symbol_per_day: 005930: 2 pairs today (limit 2); no more on this symbol"]


def test_notional_cap_per_symbol(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:12:00")
    for minute in (10, 11):
        gap(q, f"09:{minute}:00")
    result, con = run(tmp_path, q, risk={"max_notional_per_symbol_krw": 150000})
    assert rows(con, "SELECT count(*) FROM pairs") == [(1,)]
    assert refused(con, "max_notional_per_symbol_krw") >= 1
    said, = alerts(con, "limit_reached")
    assert said.startswith("max_notional_per_symbol_krw: 005930: entry notional ₩100,000 + ₩100,000")


def test_notional_cap_per_day_over_all_symbols(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:12:00").steady(OTHER, 99_900, 100_000, end="09:12:00")
    gap(q, "09:10:00")
    gap(q, "09:11:00", code=OTHER)
    result, con = run(tmp_path, q, universe=TWO, risk={"max_notional_per_symbol_krw": 150000, "max_notional_per_day_krw": 150000})
    assert rows(con, "SELECT code FROM pairs") == [(CODE,)]
    assert refused(con, "max_notional_per_day_krw") >= 1
    day_cap = [m for m in alerts(con, "limit_reached") if m.startswith("max_notional_per_day_krw")]
    assert len(day_cap) == 1, "once per episode"


# -- the venues' own signals and the calendar -------------------------------------------------------
def test_a_venue_close_code_fid_215_disarms_inside_the_guard_window(tmp_path):
    krx_closes_early = [{"at": "08:30:00", "code": "0", "matching": False},
                        {"at": "09:00:00", "code": "3", "matching": True},
                        {"at": "09:05:00", "code": "4", "matching": False}]
    nxt = [{"at": "09:00:30", "code": "R", "matching": True}]
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    gap(q, "09:03:00")                                # both open: traded
    gap(q, "09:10:00")                                # KRX said closed (code 4): not traded
    result, con = run(tmp_path, q, emulator={"sessions": {"KRX": krx_closes_early, "NXT": nxt}})
    started = [t for (t,) in rows(con, "SELECT started_ns FROM pairs")]
    assert len(started) == 1 and started[0] < at("09:05:00")
    closes = [d for _, d in events(con, "fid215") if d["effect"] == ["KRX", "close"]]
    assert len(closes) == 1 and closes[0]["code"] == "4"
    assert rows(con, "SELECT count(*) FROM orders WHERE sent_ns > ?", at("09:05:01")) == [(0,)]


def test_a_late_open_day_moves_the_guard_window(tmp_path):
    suneung = dt.date(2026, 11, 19)                   # 수능: KRX opens at 10:00 (sessions/krx_calendar)
    q = Quotes(day=suneung).steady(CODE, 99_900, 100_000, end="10:10:00")
    gap(q, "09:30:00")                                # a normal day would trade this
    gap(q, "10:05:00")
    result, con = run(tmp_path, q, day=suneung)
    started = [t for (t,) in rows(con, "SELECT started_ns FROM pairs")]
    assert len(started) == 1 and started[0] >= at("10:05:00", suneung)
    assert result.exit_code == 0


# -- every edge seen: a symbol that becomes eligible is evaluated against its standing book ----------
def test_a_standing_gap_present_when_the_guard_arms_is_traded(tmp_path):
    # no quote moves after 09:00:31: the gap stands when the guard arms at 09:00:32
    q = Quotes().add("09:00:00", CODE, "KRX", 99_900, 100_000).add("09:00:31", CODE, "NXT", 100_400, 100_500)
    q.add("09:00:45", CODE, "NXT", 99_900, 100_000)                 # the gap closes
    result, con = run(tmp_path, q)
    started = [t for (t,) in rows(con, "SELECT started_ns FROM pairs")]
    assert len(started) == 1 and at("09:00:32") <= started[0] < at("09:00:32.100")


def test_a_gap_that_appears_during_a_cooldown_and_outlives_it_is_traded_when_it_ends(tmp_path):
    q = Quotes().add("09:10:00", CODE, "KRX", 99_900, 100_000)
    q.add("09:10:00.000", CODE, "NXT", 100_100, 100_200)       # 1 tick: refused, the symbol cools 150 ms
    q.add("09:10:00.050", CODE, "NXT", 100_400, 100_500)       # 4 ticks, during the cooldown; then still
    q.add("09:10:01", CODE, "NXT", 99_900, 100_000)            # the gap closes
    result, con = run(tmp_path, q)
    started = [t for (t,) in rows(con, "SELECT started_ns FROM pairs")]
    assert len(started) == 1 and at("09:10:00.150") <= started[0] < at("09:10:00.250")
