"""Broker truth end to end: the broker's account, not the engine's fills, says what is held."""
from __future__ import annotations

import json

from .scenario import Quotes, broker_holdings, capture_emulators, rows, run

CODE = "005930"


def cross_once(end: str = "09:10:20") -> Quotes:
    """One 300 ms gap at 09:10:00: buy KRX at 100,000, sell NXT at 100,400."""
    q = Quotes().steady(CODE, 99_900, 100_000, end=end)
    return q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.300", 100_400, 100_500)


def events(con, kind: str) -> list[dict]:
    return [json.loads(d) for (d,) in rows(con, "SELECT detail FROM events WHERE kind = ? ORDER BY ts_ns", kind)]


def test_the_account_is_read_before_arming_and_start_holdings_are_not_ours(tmp_path, monkeypatch):
    emulators = capture_emulators(monkeypatch)
    result, con = run(tmp_path, cross_once(), emulator={"holdings": {CODE: 7}})
    assert events(con, "account_baseline") == [{"holdings": {CODE: 7}, "resumed": False}]
    (baseline_ns,), = rows(con, "SELECT ts_ns FROM events WHERE kind = 'account_baseline'")
    (first_signal_ns,), = rows(con, "SELECT min(ts_ns) FROM signals")
    assert baseline_ns < first_signal_ns
    assert rows(con, "SELECT final_state FROM pairs") == [("PAIRED_DONE",)]
    # the 7 shares held before the run are neither ours to sell nor a position left
    assert broker_holdings(emulators[0]) == {CODE: 7}
    assert result.exit_code == 0 and result.summary.flat and result.summary.positions_left == {}
    assert result.summary.broker_confirmed


def test_lost_fills_are_caught_up_from_the_executions_tr_at_the_brokers_price(tmp_path, monkeypatch):
    # Every order Chejan is lost (as in a network drop): the engine never sees its fills, only
    # the balance Chejan. The difference outlives the settling window: a position break. The
    # round that follows reads the day's orders with fills (opt10076) and records what the
    # engine missed as fills at the broker's price: nothing is adopted at an estimate.
    emulators = capture_emulators(monkeypatch)
    result, con = run(tmp_path, cross_once(end="09:12:20"), emulator={"faults": {"chejan_drop_rate": 1.0}})
    breaks = events(con, "position_break")
    assert breaks and breaks[0]["code"] == CODE and breaks[0]["engine"] == 0 and breaks[0]["broker"] == 1
    assert events(con, "fills_caught_up") and not events(con, "position_adjusted")
    server = emulators[0].server
    broker_fills = sorted((f[4], f[5], f[6]) for f in server.fills)          # (side, price, qty)
    recorded = rows(con, "SELECT side, price, qty FROM fills ORDER BY side, price")
    assert [tuple(r) for r in recorded] == broker_fills                      # every fill, at its price
    assert rows(con, "SELECT count(*) FROM fills WHERE exec_id NOT LIKE 'executions:%'") == [(0,)]
    assert broker_holdings(emulators[0]) == {}
    s = result.summary
    assert s.flat and s.broker_confirmed and s.adjusted_krw == 0 and not s.unresolved_breaks
    (gross,), = rows(con, "SELECT sum(CASE WHEN side = 'sell' THEN price * qty ELSE -price * qty END) FROM fills")
    assert gross == sum(p * q if side == "sell" else -p * q for side, p, q in broker_fills)


def test_a_break_the_executions_tr_cannot_explain_is_settled_by_the_brokers_numbers(tmp_path, monkeypatch):
    # As above, but the executions TR does not list the order (NXT orders through OpenAPI+ are
    # unconfirmed): the broker's holdings decide, the missed fills valued at an estimate.
    from kxrules.broker.emulator.server import EmulatedServer

    monkeypatch.setattr(EmulatedServer, "executions", lambda self: [])
    emulators = capture_emulators(monkeypatch)
    q = cross_once(end="09:12:20")
    q.hold(CODE, "NXT", "09:12:00.000", "09:12:00.300", 100_400, 100_500)   # a second gap: frozen
    result, con = run(tmp_path, q, emulator={"faults": {"chejan_drop_rate": 1.0}})
    breaks = events(con, "position_break")
    assert breaks and breaks[0]["code"] == CODE and breaks[0]["engine"] == 0 and breaks[0]["broker"] == 1
    assert any(e == {"reason": "position break"} for e in events(con, "symbol_frozen"))
    adjusted = events(con, "position_adjusted")[0]
    assert (adjusted["engine"], adjusted["broker"], adjusted["mark_price"]) == (0, 1, 100_000)
    # frozen for the rest of the session: the second gap is not traded
    assert rows(con, "SELECT count(*) FROM pairs") == [(1,)]
    # the broker's shares were flattened, never more: nothing oversold, nothing left
    assert broker_holdings(emulators[0]) == {}
    server_sells = [f for f in emulators[0].server.fills if f[4] == "sell"]
    assert sum(f[6] for f in server_sells) == 1
    assert rows(con, "SELECT count(*) FROM alerts WHERE kind = 'position_break'") == [(len(breaks),)]
    s = result.summary
    assert s.flat and s.broker_confirmed and s.position_breaks and not s.unresolved_breaks
    assert CODE in s.paragraph() and "position break" in s.paragraph()
    # every order ended in a final state, settled by the open-orders TR where Chejan was lost
    assert rows(con, "SELECT count(*) FROM orders WHERE status NOT IN ('filled', 'cancelled', 'rejected', 'confirmed')") == [(0,)]


def test_no_answer_from_the_account_means_no_trading_and_no_claim_of_flat(tmp_path):
    result, con = run(tmp_path, cross_once(), emulator={"faults": {"query_drop_rate": 1.0}})
    assert rows(con, "SELECT count(*) FROM orders") == [(0,)]
    s = result.summary
    assert not s.flat and not s.broker_confirmed and s.positions_left == {}
    assert result.exit_code == 1
    assert "NOT CONFIRMED flat" in s.paragraph()


def test_a_pair_never_sends_more_than_its_order_budget(tmp_path, monkeypatch):
    # After the entry fills, NXT's bid is gone: the hedge rests, is cancelled, and every IOC
    # escalation finds no bid. The pair stops at max_orders_per_pair and the safety net sells on
    # KRX, where a bid is.
    emulators = capture_emulators(monkeypatch)
    q = cross_once()
    q.hold(CODE, "NXT", "09:10:00.030", "09:10:15.000", 0, 100_500, 0, 1000)
    result, con = run(tmp_path, q, risk={"max_orders_per_pair": 5})
    assert rows(con, "SELECT final_state FROM pairs") == [("ABANDONED",)]
    assert rows(con, "SELECT count(*) FROM orders WHERE pair_id = 1") == [(5,)]
    assert rows(con, "SELECT count(*) FROM alerts WHERE kind = 'pair_abandoned'") == [(1,)]
    assert rows(con, "SELECT role, venue, side, status FROM orders WHERE role = 'flatten'") == [
        ("flatten", "KRX", "sell", "filled")]
    assert broker_holdings(emulators[0]) == {}
    assert result.exit_code == 0 and result.summary.flat and result.summary.pairs_abandoned == 1


def test_the_safety_net_stops_at_its_budget_freezes_and_tells_the_truth(tmp_path, monkeypatch):
    # No bid anywhere after the entry: neither the pair nor the safety net can sell.
    emulators = capture_emulators(monkeypatch)
    q = cross_once(end="09:11:00")
    q.hold(CODE, "NXT", "09:10:00.030", "09:11:00.000", 0, 100_500, 0, 1000)
    q.hold(CODE, "KRX", "09:10:00.030", "09:11:00.000", 0, 100_000, 0, 1000)
    result, con = run(tmp_path, q, risk={"max_orders_per_pair": 4, "max_flatten_orders": 2})
    flattens = rows(con, "SELECT sent_ns FROM orders WHERE role = 'flatten' ORDER BY sent_ns")
    assert len(flattens) == 2
    assert rows(con, "SELECT count(*) FROM alerts WHERE kind = 'flatten_budget'") == [(1,)]
    assert {"reason": "flatten budget spent"} in events(con, "symbol_frozen")
    assert broker_holdings(emulators[0]) == {CODE: 1}
    s = result.summary
    assert result.exit_code == 1 and not s.flat and s.positions_left == {CODE: 1}
    assert f"NOT FLAT by the broker's account: {CODE} +1" in s.paragraph()
