"""Kiwoom's cancel quantity through the emulator: a cancel asks for the remainder the engine knows;
a fill that raced it leaves less at the broker, which refuses the cancel (00Z924), so the engine
cancels the new remainder once the fill arrives and the pair escalates as usual."""
from __future__ import annotations

from .scenario import Quotes, at, rows, run

CODE = "068270"                     # no per-symbol override in the pilot profile
UNIVERSE = [(CODE, "셀트리온", "KOSPI", 100000)]


def test_a_cancel_refused_because_a_fill_raced_it_is_sent_again_for_the_remainder(tmp_path):
    # Entry 2 shares on KRX; the hedge (sell 2 at 100,400 on NXT) rests. 1 share fills at the
    # broker 210 ms before t_hedge's cancel, its Chejan 300 ms later: the cancel asks for 2 of 1 left.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.030", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.030", "09:10:01.100", 99_900, 100_000, 1000, 1000)
    q.hold(CODE, "NXT", "09:10:01.100", "09:10:01.500", 100_400, 100_500, 1, 1000)
    q.hold(CODE, "NXT", "09:10:01.500", "09:10:02.000", 99_900, 100_000, 1000, 1000)
    result, con = run(tmp_path, q, universe=UNIVERSE, params={"slice_qty": 2},
                      emulator={"latency_ms": {"fill": {"dist": "fixed", "ms": 300}}})
    t0 = at("09:10:00")
    orders = rows(con, "SELECT (sent_ns - ?) // 1000000, role, qty, status, message FROM orders ORDER BY sent_ns", t0)
    assert orders == [(5, "entry", 2, "filled", ""), (310, "hedge", 2, "cancelled", ""),
                      (1310, "cancel", 2, "rejected", "[00Z924] 모의투자 취소수량이 취소가능수량을 초과합니다"),
                      (1530, "cancel", 1, "confirmed", ""),           # the refusal's wait, then the remainder
                      (1555, "escalation", 1, "filled", "")]
    assert rows(con, "SELECT role, price, qty FROM fills ORDER BY ts_ns") == [
        ("entry", 100_000, 2), ("hedge", 100_400, 1), ("escalation", 99_900, 1)]
    assert rows(con, "SELECT final_state, hedged FROM pairs") == [("PAIRED_DONE", 2)]
    assert rows(con, "SELECT count(*) FROM alerts WHERE kind = 'order_unresolved'") == [(0,)]
    assert result.exit_code == 0 and result.summary.flat
