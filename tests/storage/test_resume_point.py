"""What `trade --resume` takes over counts every run of the day before it: a run that died
after hearing the ack and fill of the dead engine's order, but before it read the account (so
it is no resume point itself), still decides that order's number, fills and end."""
from __future__ import annotations

import datetime as dt
import json

import duckdb

from kxrules.storage.resume import load_resume_point
from kxrules.storage.schema import TABLES

DAY = dt.date(2026, 11, 23)
CODE = "005930"


def recording() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    for name, cols in TABLES.items():
        con.execute(f"CREATE TABLE {name} ({cols})")
    return con


def run(con, run_id: int, *, read_account: bool) -> None:
    con.execute("INSERT INTO runs (run_id, run_date, status) VALUES (?, ?, 'killed')", [run_id, DAY])
    if read_account:
        con.execute("INSERT INTO events VALUES (?, 1, 'account_baseline', NULL, ?)",
                    [run_id, json.dumps({"holdings": {}, "resumed": run_id > 1})])


def order(con, run_id: int, status: str, order_no: str | None, filled: int) -> None:
    con.execute("INSERT INTO orders (run_id, client_id, role, code, venue, side, qty, style, price, sent_ns, "
                "order_no, status, filled_qty) VALUES (?, 'H0000085', 'hedge', ?, 'KRX', 'sell', 1, 'limit', "
                "100400, 5, ?, ?, ?)", [run_id, CODE, order_no, status, filled])


def test_a_later_run_that_heard_the_fill_before_reading_the_account_counts():
    con = recording()
    run(con, 6, read_account=True)                   # sent the hedge, died before its ack
    con.execute("INSERT INTO fills (run_id, ts_ns, client_id, code, side, price, qty, exec_id) "
                "VALUES (6, 2, 'E0000084', ?, 'buy', 100300, 1, '39')", [CODE])
    order(con, 6, "live", None, 0)
    run(con, 7, read_account=False)                  # adopted it, heard ack and fill, died
    order(con, 7, "filled", "0000067", 1)
    con.execute("INSERT INTO order_events (run_id, ts_ns, client_id, event, order_no, qty) "
                "VALUES (7, 3, 'H0000085', 'ack', '0000067', 0)")
    con.execute("INSERT INTO fills (run_id, ts_ns, client_id, code, side, price, qty, exec_id, broker_fee_krw, "
                "broker_tax_krw) VALUES (7, 4, 'H0000085', ?, 'sell', 100400, 1, '40', 15, 200)", [CODE])

    point = load_resume_point(con, 8)

    assert point.run_id == 6, "the last run that read the account is taken over"
    assert point.orders == [], "run 7 saw the hedge end: nothing is left to adopt"
    assert point.positions == {}, "bought in run 6, sold in run 7"
    day = point.day_orders["0000067"]
    assert (day.client_id, day.filled, day.value, day.broker_fees, day.broker_tax) == ("H0000085", 1, 100400, 15, 200)


def test_an_order_still_unfinished_keeps_the_number_a_later_run_learned():
    con = recording()
    run(con, 6, read_account=True)
    order(con, 6, "live", None, 0)
    run(con, 7, read_account=False)                  # heard only the ack
    order(con, 7, "live", "0000067", 0)
    con.execute("INSERT INTO order_events (run_id, ts_ns, client_id, event, order_no, qty) "
                "VALUES (7, 3, 'H0000085', 'ack', '0000067', 0)")

    [adopted] = load_resume_point(con, 8).orders
    assert (adopted.client_id, adopted.order_no, adopted.filled) == ("H0000085", "0000067", 0)


def test_a_client_id_seen_only_in_order_events_is_not_handed_out_again():
    con = recording()
    run(con, 6, read_account=True)
    order(con, 6, "live", None, 0)                   # H0000085
    con.execute("INSERT INTO order_events (run_id, ts_ns, client_id, event, order_no, qty) "
                "VALUES (6, 3, 'F0000092', 'ack', '0000070', 0)")  # its orders row was lost
    assert load_resume_point(con, 7).last_seq == 92


def test_an_orders_final_rewrite_is_all_or_nothing(tmp_path, monkeypatch):
    """A durable recording rewrites an order's row at its end (delete, insert): a failure (or a
    kill) between the two must leave the row as it was, not gone."""
    from kxrules.engine.orders import OrderRecord
    from kxrules.storage import recorder as R

    rec = R.Recorder(tmp_path, (CODE,), durable=True)
    rec.start_run(profile="p", broker="sim", mode="live", seed=None, source="s", run_date=DAY,
                  config_hash="h", config={})
    order_rec = OrderRecord("H0000085", "hedge", 0, CODE, "KRX", "sell", 1, "limit", 100_400)
    rec.order_sent(order_rec)
    order_rec.status, order_rec.order_no = "filled", "0000067"

    def dies(*_):
        raise duckdb.IOException("killed between the statements")

    monkeypatch.setattr(rec, "_insert_order", dies)
    rec.order_final(order_rec)
    assert rec.failed is not None
    rows = rec.con.execute("SELECT client_id, status FROM orders").fetchall()
    assert rows == [("H0000085", "live")]
    rec.close()
