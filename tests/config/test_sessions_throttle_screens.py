"""Sessions and calendar (KX301-KX305), throttle arithmetic (KX401-KX404), screens (KX501-KX504)."""
from __future__ import annotations

import datetime as dt

S = "sessions/sessions.yaml"
C = "sessions/krx_calendar_2026.yaml"
T = "rules/throttle.yaml"
V = "config/venues/kiwoom.yaml"


# --- sessions ------------------------------------------------------------------------------

def test_guard_starting_before_nxt_main_is_KX301(ws):
    ws.replace(S, 'start: "09:00:32"', 'start: "09:00:10"')      # NXT main opens 09:00:30
    line, col = ws.find(S, '"09:00:10"')
    assert ws.check() == {(S, line, col, "KX301")}
    assert ws.messages("KX301") == ["guard starts at 09:00:10, before NXT main opens at 09:00:30"]


def test_guard_starting_before_krx_continuous_is_KX301(ws):
    ws.replace(S, '{name: main, start: "09:00:30"', '{name: main, start: "08:59:00"')
    ws.replace(S, 'start: "09:00:32"', 'start: "08:59:30"')
    line, col = ws.find(S, '"08:59:30"')
    assert ws.check() == {(S, line, col, "KX301")}
    assert "before KRX continuous opens at 09:00:00" in ws.messages("KX301")[0]


def test_guard_ending_after_both_venues_close_is_KX301_twice(ws):
    ws.replace(S, 'end: "15:19:50"', 'end: "15:25:00"')
    line, col = ws.find(S, '"15:25:00"')
    assert ws.check() == {(S, line, col, "KX301")}
    assert sorted(ws.messages("KX301")) == [
        "guard ends at 15:25:00, after KRX continuous closes at 15:20:00",
        "guard ends at 15:25:00, after NXT main closes at 15:20:00",
    ]


def test_guard_inside_nxt_pre_market_only_is_KX301(ws):
    ws.replace(S, "  NXT: main", "  NXT: pre")
    line, col = ws.find(S, '"15:19:50"')
    assert (S, line, col, "KX301") in ws.check()


def test_guard_end_before_start_is_KX302(ws):
    ws.replace(S, 'end: "15:19:50"', 'end: "09:00:31"')
    line, col = ws.find(S, '"09:00:31"')
    assert ws.check() == {(S, line, col, "KX302")}


def test_session_starting_before_the_previous_one_ends_is_KX302(ws):
    ws.replace(S, '{name: continuous, start: "09:00:00"', '{name: continuous, start: "08:59:00"')
    line, col = ws.find(S, '"08:59:00"')
    assert ws.check() == {(S, line, col, "KX302")}


def test_session_ending_before_it_starts_is_KX302(ws):
    ws.replace(S, '{name: after, start: "15:40:00", end: "20:00:00"',
               '{name: after, start: "15:40:00", end: "15:30:00"')
    line, col = ws.find(S, '"15:30:00"', after="name: after")
    assert ws.check() == {(S, line, col, "KX302")}


def test_trade_in_naming_an_auction_is_KX104(ws):
    ws.replace(S, "  KRX: continuous", "  KRX: closing_auction")
    line, col = ws.find(S, "closing_auction", after="trade_in:")
    assert (S, line, col, "KX104") in ws.check()


def test_trade_in_naming_an_unknown_session_is_KX104(ws):
    ws.replace(S, "  NXT: main", "  NXT: mian")
    line, col = ws.find(S, "mian")
    assert ws.check() == {(S, line, col, "KX104")}
    assert "known: pre, main, after" in ws.messages("KX104")[0]


def test_fid_215_code_mapped_twice_is_KX303(ws):
    ws.replace(S, '{code: "S", venue: NXT', '{code: "R", venue: NXT')
    line, col = ws.find(S, '"R"', nth=2)
    assert (S, line, col, "KX303") in ws.check()
    assert any("mapped twice" in m for m in ws.messages("KX303"))


def test_fid_215_without_an_nxt_close_is_KX303(ws):
    ws.replace(S, "NXT메인마켓종료, effect: close", "NXT메인마켓종료, effect: none")
    line, col = ws.find(S, "- {code", after="fid_215:")
    assert ws.check() == {(S, line, col, "KX303")}
    assert ws.messages("KX303") == ["guard.use_fid_215 is on but no NXT code has effect 'close'"]


def test_fid_215_completeness_is_not_required_when_the_guard_ignores_it(ws):
    ws.replace(S, "NXT메인마켓종료, effect: close", "NXT메인마켓종료, effect: none")
    ws.replace(S, "use_fid_215: true", "use_fid_215: false")
    assert ws.check() == set()


def test_fid_215_naming_an_unknown_venue_is_KX303(ws):
    ws.replace(S, '{code: "3", venue: KRX', '{code: "3", venue: KOSPI')
    line, col = ws.find(S, "KOSPI")
    found = ws.check()
    assert (S, line, col, "KX303") in found
    assert "names venue 'KOSPI'" in " ".join(ws.messages("KX303"))


# --- calendar ------------------------------------------------------------------------------

def test_run_date_outside_the_calendar_years_is_KX305(ws):
    line, col = ws.find(C, "[2026, 2027]")
    assert ws.check(date=dt.date(2028, 1, 4)) == {(C, line, col, "KX305")}


def test_holiday_run_date_is_a_KX304_warning_at_the_holiday(ws):
    line, col = ws.find(C, "2026-08-17")
    assert ws.check(date=dt.date(2026, 8, 17)) == {(C, line, col, "KX304")}
    assert "광복절" in ws.messages("KX304")[0]
    assert not ws.diags.errors


def test_weekend_run_date_is_a_KX304_warning(ws):
    line, col = ws.find(C, "- {date", after="holidays:")
    assert ws.check(date=dt.date(2026, 8, 15)) == {(C, line, col, "KX304")}
    assert "weekend" in ws.messages("KX304")[0]


def test_holiday_outside_the_calendar_years_is_KX104(ws):
    ws.replace(C, "{date: 2026-12-31,", "{date: 2028-12-29,")
    line, col = ws.find(C, "2028-12-29")
    assert ws.check() == {(C, line, col, "KX104")}


# --- throttle ------------------------------------------------------------------------------

def test_reserve_equal_to_capacity_is_KX401(ws):
    ws.replace(T, "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    line, col = ws.find(T, "5", after="reserve_for_hedge: ")
    found = ws.check()
    assert (T, line, col, "KX401") in found
    # and min_free_to_start 4 < 2 legs + reserve 5
    line, col = ws.find(T, "4", after="min_free_to_start: ")
    assert (T, line, col, "KX402") in found


def test_min_free_below_legs_plus_reserve_is_KX402(ws):
    ws.replace(T, "min_free_to_start: 4", "min_free_to_start: 3")
    line, col = ws.find(T, "3", after="min_free_to_start: ")
    assert ws.check() == {(T, line, col, "KX402")}


def test_min_free_above_capacity_is_KX402(ws):
    ws.replace(T, "min_free_to_start: 4", "min_free_to_start: 6")
    line, col = ws.find(T, "6", after="min_free_to_start: ")
    assert ws.check() == {(T, line, col, "KX402")}


def test_min_free_exactly_legs_plus_reserve_is_fine(ws):
    ws.replace(T, "reserve_for_hedge: 2", "reserve_for_hedge: 1")
    ws.replace(T, "min_free_to_start: 4", "min_free_to_start: 3")
    assert ws.check() == set()


def test_six_orders_per_second_is_KX403(ws):
    ws.replace(T, "orders:\n  capacity: 5", "orders:\n  capacity: 6")
    line, col = ws.find(T, "6", after="orders:")
    assert ws.check() == {(T, line, col, "KX403")}


def test_query_budget_of_3_per_500_ms_is_KX403(ws):
    ws.replace(T, "queries:\n  capacity: 5\n  window_ms: 1000", "queries:\n  capacity: 3\n  window_ms: 500")
    line, col = ws.find(T, "3", after="queries:")
    assert ws.check() == {(T, line, col, "KX403")}


def test_ten_per_two_seconds_is_KX403_because_bursts_exceed_five(ws):
    ws.replace(T, "queries:\n  capacity: 5\n  window_ms: 1000", "queries:\n  capacity: 10\n  window_ms: 2000")
    line, col = ws.find(T, "10", after="queries:")
    # 10 calls may land in the same second: only capacity <= 5 per window >= 1 s is safe
    assert ws.check() == {(T, line, col, "KX403")}


def test_auto_pause_disabled_is_a_KX404_warning(ws):
    ws.replace(T, "enabled: true", "enabled: false")
    line, col = ws.find(T, "false")
    assert ws.check() == {(T, line, col, "KX404")}
    assert not ws.diags.errors


def test_auto_pause_threshold_above_100_percent_is_KX404(ws):
    ws.replace(T, "utilisation: 0.80", "utilisation: 1.5")
    line, col = ws.find(T, "1.5")
    assert ws.check() == {(T, line, col, "KX404")}


# --- screens -------------------------------------------------------------------------------

def test_shipped_codes_per_screen_is_not_mistaken_for_a_screen(ws):
    assert "codes_per_screen: 100" in ws.read(V)
    assert not {c for *_, c in ws.check()} & {"KX501", "KX502", "KX503", "KX504"}


def test_screen_0000_is_KX501(ws):
    ws.replace(V, '"5103"', '"0000"')
    line, col = ws.find(V, '"0000"')
    assert (V, line, col, "KX501") in ws.check()


def test_three_digit_screen_is_KX501(ws):
    ws.replace(V, 'order: "0101"', 'order: "101"')
    line, col = ws.find(V, '"101"')
    assert (V, line, col, "KX501") in ws.check()


def test_unquoted_screen_number_is_KX501(ws):
    ws.replace(V, 'session: "5900"', "session: 5900")
    line, col = ws.find(V, "5900")
    assert (V, line, col, "KX501") in ws.check()


def test_screen_used_twice_is_KX502_at_the_second_use(ws):
    ws.replace(V, 'order: "0101"', 'order: "5120"')
    line, col = ws.find(V, '"5120"', nth=2)
    assert (V, line, col, "KX502") in ws.check()
    assert "screens.market_data.19" in ws.messages("KX502")[0]


def test_too_few_market_data_screens_for_the_universe_is_KX503(ws):
    # 600+ NXT-eligible symbols need 1,200+ registrations (KRX + _NX): 5 screens hold 500.
    ws.replace("config/profiles/pilot.yaml", "config/universe/pilot.csv", "config/universe/nxt_eligible.csv")
    text = ws.read(V)
    start = text.index("market_data: [")
    end = text.index("]", start) + 1
    ws.replace(V, text[start:end], 'market_data: ["5101", "5102", "5103", "5104", "5105"]')
    line, col = ws.find(V, '["5101"')
    assert (V, line, col, "KX503") in ws.check()


def test_codes_per_screen_below_100_shrinks_the_capacity_KX503(ws):
    # 50 pilot symbols = 100 registrations; 2 screens of 40 codes hold only 80.
    text = ws.read(V)
    start = text.index("market_data: [")
    end = text.index("]", start) + 1
    ws.replace(V, text[start:end], 'market_data: ["5101", "5102"]')
    ws.replace(V, "codes_per_screen: 100", "codes_per_screen: 40")
    line, col = ws.find(V, '["5101"')
    assert ws.check() == {(V, line, col, "KX503")}
    assert "declare at least 3" in ws.messages("KX503")[0]


def test_more_than_200_screens_is_KX504(ws):
    extra = ", ".join(f'"{6000 + i}"' for i in range(185))
    ws.replace(V, '"5120"]', f'"5120",\n                {extra}]')
    line, col = ws.find(V, "market_data:")
    assert (V, line, col, "KX504") in ws.check()
    assert ws.messages("KX504")[0].startswith("215 screens declared")  # 20 + 185 market data, 8 order, session, query
