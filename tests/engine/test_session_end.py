"""The guard window's end through the emulator: KRX holds resting orders for its closing auction
and NXT keeps them live into its after-market, so the engine cancels its own at 15:19:50 and the
pair's machine escalates while both venues still trade."""
from __future__ import annotations

import json

import pytest

from .scenario import Quotes, at, rows, run

CODE = "068270"                     # no per-symbol override in the pilot profile
UNIVERSE = [(CODE, "셀트리온", "KOSPI", 100000)]


@pytest.mark.parametrize("rich, cheap, after_close", [
    ("NXT", "KRX", "15:40:05"),     # the hedge rests on NXT: its after-market would take it
    ("KRX", "NXT", "15:29:59"),     # the hedge rests on KRX: its closing auction would take it
])
def test_a_resting_hedge_is_cancelled_at_the_windows_end_and_escalated_before_the_close(
        tmp_path, rich, cheap, after_close):
    q = Quotes().steady(CODE, 99_900, 100_000, start="15:19:00", end="15:20:00")
    q.hold(CODE, rich, "15:19:45.000", "15:19:45.030", 100_400, 100_500)     # buy cheap, post on rich
    q.hold(CODE, rich, "15:19:45.030", "15:19:45.500", 99_900, 100_000, 1000, 1000)
    q.add(after_close, CODE, rich, 100_400, 100_500)                          # would reach the post
    result, con = run(tmp_path, q, universe=UNIVERSE, params={"t_hedge_ms": 60000},
                      risk={"max_unhedged_ms": 65000})
    orders = rows(con, "SELECT role, venue, style, status, sent_ns FROM orders ORDER BY sent_ns")
    assert [o[:4] for o in orders] == [("entry", cheap, "ioc_limit", "filled"), ("hedge", rich, "limit", "cancelled"),
                                       ("cancel", rich, "cancel", "confirmed"),
                                       ("escalation", rich, "ioc_market", "filled")]
    assert orders[2][4] == at("15:19:50")                                   # at the window's end
    (hedge_id,), = rows(con, "SELECT client_id FROM orders WHERE role = 'hedge'")
    (detail,), = rows(con, "SELECT detail FROM events WHERE kind = 'window_closed'")
    assert json.loads(detail) == {"cancelled": [hedge_id]}
    assert rows(con, "SELECT max(ts_ns) < ? FROM fills", at("15:20:00")) == [(True,)]
    assert rows(con, "SELECT final_state FROM pairs") == [("PAIRED_DONE",)]
    assert result.exit_code == 0 and result.summary.flat
