"""The executions TR's catch-up touches only orders with fills the engine missed: a dead run's
order whose fills are all recorded is not taken over again (it would sit live in this run,
to be cancelled and refused)."""
from __future__ import annotations

from kxrules.broker.events import ExecutionRow
from kxrules.storage.resume import DayOrder

from kxrules.engine import execution as X

CODE = "005930"


def test_an_order_whose_fills_are_all_recorded_is_not_reopened():
    delivered = []
    ex = X.Execution.__new__(X.Execution)          # only what catch_up reads
    ex.orders, ex.profile = {}, type("P", (), {"codes": (CODE,)})()
    day = DayOrder("E0000001", "entry", CODE, "KRX", "buy", 1, "ioc_limit", 100_000, 1, 100_000, 15, 0)
    row = ExecutionRow("1", CODE, "buy", 1, 1, 100_000, 15, 0)
    assert X.Execution.catch_up(ex, row, "E0000001", day, delivered.append) == 0
    assert ex.orders == {} and delivered == []


class Adapter:
    """Records the numbers the engine tells it."""

    def __init__(self) -> None:
        self.learned: list[tuple[str, str]] = []

    def learn_order_no(self, client_id: str, order_no: str) -> None:
        self.learned.append((client_id, order_no))


def resumed(*unnumbered: tuple[str, str, int]) -> X.Execution:
    """An engine after ``--resume`` holding the dead engine's orders that never got a number
    (client id, side, qty), plus one of this run's own orders still waiting for its ack."""
    ex = X.Execution.__new__(X.Execution)
    ex.orders, ex.adopted, ex.adapter = {}, [], Adapter()
    for cid, side, qty in unnumbered:
        ex.orders[cid] = X.OrderRecord(cid, "entry", 0, CODE, "KRX", side, qty, "ioc_limit", 100_000)
        ex.adopted.append(cid)
    ex.orders["H0000020"] = X.OrderRecord("H0000020", "hedge", 0, CODE, "NXT", "sell", 1, "ioc_limit", 99_900)
    return ex


def row(no: str, side: str = "buy", qty: int = 1, code: str = CODE) -> ExecutionRow:
    return ExecutionRow(no, code, side, qty, qty, 100_000, 15, 0)


def test_an_order_that_died_before_its_ack_takes_the_row_numbered_between_its_neighbours():
    ex = resumed(("E0000005", "buy", 1))
    known = {"100": "E0000004", "103": "X0000006"}          # sent just before / just after it
    rows = [row("99"), row("101", qty=2), row("102"), row("104")]
    assert ex.learn_numbers(rows, known) == {"102": "E0000005"}
    assert ex.adapter.learned == [("E0000005", "102")]


def test_no_row_in_its_window_means_no_number():
    ex = resumed(("E0000005", "buy", 1))
    # a same-looking order before its predecessor or after its successor is another terminal's
    assert ex.learn_numbers([row("99"), row("104")], {"100": "E0000004", "103": "X0000006"}) == {}
    assert ex.adapter.learned == []


def test_two_unnumbered_orders_take_their_rows_in_send_order_and_this_runs_own_order_waits():
    ex = resumed(("E0000007", "buy", 1), ("E0000005", "buy", 1))
    rows = [row("112"), row("111"), row("113", side="sell")]
    assert ex.learn_numbers(rows, {"110": "E0000004"}) == {"111": "E0000005", "112": "E0000007"}
    assert "H0000020" not in ex.adapter.learned and ex.orders["H0000020"].order_no is None


def test_the_tracker_maps_a_learned_number_and_acks_the_order_once():
    from collections import Counter

    from kxrules.broker.events import OrderAck
    from kxrules.broker.orders import OrderTracker
    from kxrules.clock import VirtualClock

    events: list = []
    counters: Counter[str] = Counter()
    tracker = OrderTracker(VirtualClock(0), events.append, counters, order_screen="1000")
    tracker.adopt("E0000005", CODE, "KRX", "buy", 1, "", 0)
    tracker.learn_number("E0000005", "102")
    tracker.learn_number("E0000005", "103")                  # numbered already: kept
    tracker.learn_number("E0000099", "104")                  # not ours: nothing
    assert tracker.by_no["102"].client_id == "E0000005" and "103" not in tracker.by_no
    assert [type(e) for e in events] == [OrderAck] and events[0].order_no == "0000102"
    assert counters["order_no_learned"] == 1
