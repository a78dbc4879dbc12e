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
