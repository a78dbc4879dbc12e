"""The order lifecycle: one (status, event) -> status table every status change goes through
(engine/orders.py), shown in docs/guide.md, and the odd orders of events it exists for, run
through the emulator."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from kxrules.broker.events import OrderCancelled, OrderFilled
from kxrules.engine.engine import Engine
from kxrules.engine.orders import (ACK, APPLY, EVENTS, FILL, IGNORE, LAST_FILL, LATE, LIFECYCLE, LIVE, STATUSES,
                                   TERMINAL, TIMEOUT, lifecycle_markdown)

from .scenario import REPO, Quotes, rows, run

CODE = "005930"   # at ₩100,000: tick ₩100, KOSPI tax 0.05% + 0.15%


@pytest.mark.parametrize("status", STATUSES)
@pytest.mark.parametrize("event", EVENTS)
def test_the_table_says_what_every_event_does_in_every_status(status, event):
    step = LIFECYCLE[status][event]
    assert step.dest in STATUSES and step.how in (APPLY, LATE, IGNORE)
    if step.how == IGNORE:
        assert step.dest == status and step.why          # ignored: recorded with its reason
    if status in TERMINAL:
        assert step.dest in TERMINAL                      # an ended order never works again
    if event in (FILL, LAST_FILL) and status != LIVE:
        # money the broker moved is applied, flagged if it came after an outcome; only a fill
        # past an order's quantity (or on a cancel order) is not
        assert step.how == LATE or status in ("filled", "confirmed"), (status, event)


def test_the_table_has_exactly_the_statuses_and_events():
    assert set(LIFECYCLE) == set(STATUSES)
    assert all(set(row) == set(EVENTS) for row in LIFECYCLE.values())
    # what the engine did before the table, kept: a late ack or fill after a timeout is applied, flagged
    assert LIFECYCLE[TIMEOUT][ACK] == (LIVE, LATE, LIFECYCLE[TIMEOUT][ACK].why)
    assert LIFECYCLE[TIMEOUT][FILL].dest == LIVE and LIFECYCLE[TIMEOUT][FILL].how == LATE


def test_the_guide_shows_the_table_the_engine_runs():
    guide = (REPO / "docs/guide.md").read_text(encoding="utf-8")
    assert lifecycle_markdown() in guide


def test_no_engine_code_sets_an_order_status_outside_the_table():
    """Status assignments: the table's step, and an adopted order's first status (trade --resume)."""
    found = []
    for path in sorted(Path(REPO / "kxrules/engine").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for fn in ast.walk(tree):
            if isinstance(fn, ast.FunctionDef):
                for node in ast.walk(fn):
                    if isinstance(node, ast.Assign) and any(
                            isinstance(t, ast.Attribute) and t.attr == "status" for t in node.targets):
                        found.append((path.name, fn.name))
    assert sorted(found) == [("execution.py", "_step"), ("execution.py", "adopt_orders")]


# -- the odd orders of events, through the emulator ---------------------------------------------

def gap_for_300ms() -> Quotes:
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:05")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.300", 100_400, 100_500)
    return q


def test_an_ack_after_the_ack_timeout_is_applied_and_flagged(tmp_path):
    # The TR reply and the Chejan of the entry come after the 200 ms ack timeout: the entry counts
    # as rejected (the pair ends ENTRY_REJECTED), then its ack makes it live again (flagged late),
    # its fill is applied and the safety net sells the share the pair no longer owns.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.030", 100_400, 100_500)
    slow = {k: {"dist": "fixed", "ms": ms} for k, ms in (("tr_ack", 300), ("accept", 320), ("fill", 330))}
    result, con = run(tmp_path, q, emulator={"latency_ms": slow})
    assert rows(con, "SELECT final_state FROM pairs") == [("ENTRY_REJECTED",)]
    entry = "SELECT event, late FROM order_events WHERE client_id = 'E0000001' ORDER BY ts_ns"
    assert rows(con, entry) == [("ack_timeout", False), ("ack", True), ("accepted", False), ("filled", False)]
    assert rows(con, "SELECT role, side, status, filled_qty, late FROM orders ORDER BY sent_ns") == [
        ("entry", "buy", "filled", 1, True), ("flatten", "sell", "filled", 1, True)]
    assert rows(con, "SELECT role, side, price FROM fills ORDER BY ts_ns") == [
        ("entry", "buy", 100_000), ("flatten", "sell", 99_900)]
    assert result.summary.flat and result.summary.net_krw == -324


def test_a_repeated_fill_that_reaches_the_engine_is_ignored_recorded_and_alerted(tmp_path, monkeypatch):
    # broker/orders.py drops the repeats it can see; one that got past it (delivered twice here)
    # finds its order filled: the table ignores it, and the day's books are the clean run's.
    deliver = Engine.on_order_event

    def twice(self, ev):
        deliver(self, ev)
        if isinstance(ev, OrderFilled) and ev.client_id.startswith("H"):
            deliver(self, ev)
    monkeypatch.setattr(Engine, "on_order_event", twice)
    result, con = run(tmp_path, gap_for_300ms())
    assert rows(con, "SELECT role, side, price, qty FROM fills ORDER BY ts_ns") == [
        ("entry", "buy", 100_000, 1), ("hedge", "sell", 100_400, 1)]
    assert rows(con, "SELECT final_state, hedged, net_krw FROM pairs") == [("PAIRED_DONE", 1, 174)]
    assert rows(con, "SELECT event, qty FROM order_events WHERE event LIKE 'ignored%'") == [("ignored_last_fill", 1)]
    (alert,), = rows(con, "SELECT message FROM alerts WHERE kind = 'order_event_ignored'")
    assert alert.startswith("H0000002 005930: 'last_fill' on a filled order ignored")
    assert rows(con, "SELECT count(*) FROM telemetry WHERE metric = 'order_events_ignored'") == [(1,)]
    assert result.summary.fills == 2 and result.summary.net_krw == 174 and result.summary.flat


def test_a_fill_after_its_cancel_was_confirmed_is_applied_and_flagged(tmp_path, monkeypatch):
    # Two shares: the hedge's limit sells one at 100,400, but that 체결 reaches the engine only
    # after the cancel at t_hedge has confirmed the other. The escalation first asks for both
    # (refused: the broker holds one), the late fill is applied and flagged, the pair sells the
    # last share with an IOC and ends flat by the broker's account, to the won.
    deliver = Engine.on_order_event
    held: list[OrderFilled] = []

    def fill_after_cancel(self, ev):
        if isinstance(ev, OrderFilled) and ev.client_id == "H0000002":
            held.append(ev)
            return
        deliver(self, ev)
        if isinstance(ev, OrderCancelled) and ev.client_id == "H0000002":
            for fill in held:
                deliver(self, fill)
    monkeypatch.setattr(Engine, "on_order_event", fill_after_cancel)
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:10")
    q.hold(CODE, "NXT", "09:10:00.000", "09:10:00.030", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:10:00.030", "09:10:00.300", 99_900, 100_000, 1000, 1000)
    q.hold(CODE, "NXT", "09:10:00.300", "09:10:00.320", 100_400, 100_500, 1, 50)   # one share at 100,400
    q.hold(CODE, "NXT", "09:10:00.320", "09:10:01.500", 99_900, 100_000, 1000, 1000)
    result, con = run(tmp_path, q, params={"slice_qty": 2})
    assert held, "the hedge filled in part"
    hedge = "SELECT event, qty, late FROM order_events WHERE client_id = 'H0000002' ORDER BY ts_ns, event"
    assert rows(con, hedge) == [("ack", 0, False), ("accepted", 2, False), ("cancelled", 1, False),
                                ("late_fill", 1, True)]
    assert rows(con, "SELECT role, status, filled_qty, late FROM orders ORDER BY sent_ns") == [
        ("entry", "filled", 2, False), ("hedge", "cancelled", 1, True), ("cancel", "confirmed", 0, False),
        ("escalation", "rejected", 0, False), ("escalation", "filled", 1, False)]
    assert rows(con, "SELECT role, price, qty FROM fills ORDER BY ts_ns") == [
        ("entry", 100_000, 2), ("hedge", 100_400, 1), ("escalation", 99_900, 1)]
    # by hand: buy 2 at 100,000: commission 30 + venue 7; sell 100,400: 10 + 3, tax 50 + 150;
    # sell 99,900: 10 + 3, tax 49 + 149. Gross 300, fees 63, tax 398
    assert rows(con, "SELECT final_state, hedged, gross_krw, fees_krw, tax_krw, net_krw FROM pairs") == [
        ("PAIRED_DONE", 2, 300, 63, 398, -161)]
    assert result.summary.flat and result.summary.net_krw == -161
