"""What an engine that died left in the recording, for the next one (``kxrules trade --resume``).

The recording is durable beside a gateway (every order, fill and event committed as it happens),
so the last run tells: what the account held when the day began (its ``account_baseline``, carried
from run to run), what the engine believed it held (its starting position, its fills and the
adjustments it adopted), the orders it had not seen end (with their numbers from the ack events),
the last client id it used (new ids must not repeat one), and every order of the day with a
number and the fills recorded for it (the executions TR then tells what no engine heard).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FINAL = ("filled", "cancelled", "rejected", "confirmed")
# The day's runs before the one resuming (``?``: it, then the run it resumes): besides the run it
# takes over, runs after that one that died before they read the account may have heard acks and
# fills of its orders (they send nothing before the account is read), and those are facts too.
DAY_RUNS = "SELECT run_id FROM runs WHERE run_id < ? AND run_date = (SELECT run_date FROM runs WHERE run_id = ?)"
#: the run taken over and the day's runs after it (parameters: run, then those of DAY_RUNS)
SINCE_RUN = f"run_id >= ? AND run_id IN ({DAY_RUNS})"


@dataclass
class RecordedOrder:
    """What the recording says an order was (the ``orders`` row's own columns)."""
    client_id: str
    role: str
    code: str
    venue: str
    side: str
    qty: int
    style: str
    price: int


@dataclass
class UnfinishedOrder(RecordedOrder):
    sent_ns: int
    order_no: str
    filled: int


@dataclass
class DayOrder(RecordedOrder):
    """An order some run of the day sent and the broker numbered, with the fills recorded for it
    in every run (an order left unfinished is carried over and may fill in a later run)."""
    filled: int
    value: int                               # sum of price * qty over the recorded fills
    broker_fees: int
    broker_tax: int


@dataclass
class ResumePoint:
    run_id: int
    status: str
    baseline: dict[str, int]                 # the account's holdings when the day began
    positions: dict[str, int]                # what the dead engine believed it held
    last_price: dict[str, int]
    orders: list[UnfinishedOrder] = field(default_factory=list)
    last_seq: int = 0
    day_orders: dict[str, DayOrder] = field(default_factory=dict)    # by the broker's number, as recorded


class NothingToResume(Exception):
    pass


def load_resume_point(con: Any, before_run: int) -> ResumePoint:
    # the last run that read the broker's account (one that died before it cannot have traded)
    row = con.execute("SELECT r.run_id, r.status FROM runs r WHERE r.run_id < ? AND EXISTS (SELECT 1 FROM events e "
                      "WHERE e.run_id = r.run_id AND e.kind = 'account_baseline') ORDER BY r.run_id DESC LIMIT 1",
                      [before_run]).fetchone()
    if row is None:
        raise NothingToResume("no earlier run in this recording read the broker's account: nothing to take over")
    run, status = int(row[0]), row[1]
    if status == "ok":
        raise NothingToResume(f"run {run} ended normally and flat: trade without --resume")

    def events(kind: str) -> list[dict]:
        return [{"code": code, **json.loads(d)} for code, d in con.execute(
            "SELECT code, detail FROM events WHERE run_id = ? AND kind = ? ORDER BY ts_ns", [run, kind]).fetchall()]

    base = events("account_baseline")
    resumed = events("resumed")
    day = [before_run, run]                      # the parameters of DAY_RUNS
    since = [run, *day]                          # ... of SINCE_RUN
    positions: dict[str, int] = dict(resumed[0]["positions"]) if resumed else {}
    for code, qty in con.execute("SELECT code, sum(CASE WHEN side = 'buy' THEN qty ELSE -qty END) FROM fills "
                                 f"WHERE {SINCE_RUN} GROUP BY code", since).fetchall():
        positions[code] = positions.get(code, 0) + int(qty)
    for adj in events("position_adjusted"):
        code = adj.get("code")
        if code is not None:
            positions[code] = positions.get(code, 0) + int(adj["broker"]) - int(adj["engine"])
    last_price = {c: int(p) for c, p in con.execute(
        f"SELECT code, arg_max(price, ts_ns) FROM fills WHERE {SINCE_RUN} GROUP BY code", since).fetchall()}
    numbers = dict(con.execute(f"SELECT client_id, arg_max(order_no, ts_ns) FROM order_events WHERE {SINCE_RUN} "
                               "AND order_no IS NOT NULL AND order_no <> '' GROUP BY client_id", since).fetchall())
    # an order carried over from run to run may have filled in any of them
    filled = dict(con.execute(f"SELECT client_id, sum(qty) FROM fills WHERE run_id IN ({DAY_RUNS}) GROUP BY client_id",
                              day).fetchall())
    # unfinished: as the run taken over left it, unless a later run saw it end
    ended = {cid for (cid,) in con.execute(
        f"SELECT client_id FROM orders WHERE {SINCE_RUN} AND status IN {FINAL}", since).fetchall()}
    orders = [UnfinishedOrder(cid, role, code, venue, side, int(qty), style, int(price or 0), int(sent or 0),
                              numbers.get(cid) or no or "", int(filled.get(cid) or 0))
              for cid, role, code, venue, side, qty, style, price, sent, no in con.execute(
                  f"SELECT client_id, role, code, venue, side, qty, style, price, sent_ns, order_no FROM orders "
                  f"WHERE run_id = ? AND role <> 'cancel' AND status NOT IN {FINAL}", [run]).fetchall()
              if cid not in ended]
    day_orders = _day_orders(con, day)
    # every client id the day has seen, wherever it was recorded: none may be handed out again
    last_seq = con.execute("SELECT max(TRY_CAST(substr(client_id, 2) AS BIGINT)) FROM (SELECT client_id FROM orders "
                           "UNION ALL SELECT client_id FROM order_events UNION ALL SELECT client_id FROM fills)"
                           ).fetchone()[0] or 0
    return ResumePoint(run, status, {c: int(q) for c, q in base[0]["holdings"].items()},
                       {c: q for c, q in positions.items() if q}, last_price, orders, int(last_seq), day_orders)


def _day_orders(con: Any, day: list[int]) -> dict[str, DayOrder]:
    """Every numbered order of the day's runs (``day``: the parameters of ``DAY_RUNS``), with its
    fills in all of them."""
    rows = con.execute(
        f"WITH day AS ({DAY_RUNS}), "
        "numbered AS (SELECT client_id, arg_max(order_no, ts_ns) AS order_no FROM order_events WHERE run_id IN "
        "(SELECT run_id FROM day) AND order_no IS NOT NULL AND order_no <> '' GROUP BY client_id), "
        "sent AS (SELECT client_id, any_value(role) AS role, any_value(code) AS code, any_value(venue) AS venue, "
        "any_value(side) AS side, any_value(qty) AS qty, any_value(style) AS style, any_value(price) AS price "
        "FROM orders WHERE run_id IN (SELECT run_id FROM day) AND role <> 'cancel' GROUP BY client_id), "
        "filled AS (SELECT client_id, sum(qty) AS qty, sum(price * qty) AS value, "
        "coalesce(sum(broker_fee_krw), 0) AS fees, coalesce(sum(broker_tax_krw), 0) AS tax FROM fills "
        "WHERE run_id IN (SELECT run_id FROM day) GROUP BY client_id) "
        "SELECT n.order_no, s.client_id, s.role, s.code, s.venue, s.side, s.qty, s.style, s.price, "
        "coalesce(f.qty, 0), coalesce(f.value, 0), coalesce(f.fees, 0), coalesce(f.tax, 0) "
        "FROM sent s JOIN numbered n USING (client_id) LEFT JOIN filled f USING (client_id)", day).fetchall()
    return {no: DayOrder(cid, role, code, venue, side, int(qty), style, int(price or 0), int(filled), int(value),
                         int(fees), int(tax))
            for no, cid, role, code, venue, side, qty, style, price, filled, value, fees, tax in rows}
