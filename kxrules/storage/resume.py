"""What an engine that died left in the recording, for the next one (``kxrules trade --resume``).

The recording is durable beside a gateway (every order, fill and event committed as it happens),
so the last run tells: what the account held when the day began (its ``account_baseline``, carried
from run to run), what the engine believed it held (its starting position, its fills and the
adjustments it adopted), the orders it had not seen end (with their numbers from the ack events),
and the last client id it used (new ids must not repeat one).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

FINAL = ("filled", "cancelled", "rejected", "confirmed")


@dataclass
class UnfinishedOrder:
    client_id: str
    role: str
    code: str
    venue: str
    side: str
    qty: int
    style: str
    price: int
    sent_ns: int
    order_no: str
    filled: int


@dataclass
class ResumePoint:
    run_id: int
    status: str
    baseline: dict[str, int]                 # the account's holdings when the day began
    positions: dict[str, int]                # what the dead engine believed it held
    last_price: dict[str, int]
    orders: list[UnfinishedOrder] = field(default_factory=list)
    last_seq: int = 0


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
    positions: dict[str, int] = dict(resumed[0]["positions"]) if resumed else {}
    for code, qty in con.execute("SELECT code, sum(CASE WHEN side = 'buy' THEN qty ELSE -qty END) FROM fills "
                                 "WHERE run_id = ? GROUP BY code", [run]).fetchall():
        positions[code] = positions.get(code, 0) + int(qty)
    for adj in events("position_adjusted"):
        code = adj.get("code")
        if code is not None:
            positions[code] = positions.get(code, 0) + int(adj["broker"]) - int(adj["engine"])
    last_price = {c: int(p) for c, p in con.execute(
        "SELECT code, arg_max(price, ts_ns) FROM fills WHERE run_id = ? GROUP BY code", [run]).fetchall()}
    numbers = dict(con.execute("SELECT client_id, arg_max(order_no, ts_ns) FROM order_events WHERE run_id = ? "
                               "AND order_no IS NOT NULL AND order_no <> '' GROUP BY client_id", [run]).fetchall())
    filled = dict(con.execute("SELECT client_id, sum(qty) FROM fills WHERE run_id = ? GROUP BY client_id",
                              [run]).fetchall())
    orders = [UnfinishedOrder(cid, role, code, venue, side, int(qty), style, int(price or 0), int(sent or 0),
                              numbers.get(cid) or no or "", int(filled.get(cid) or 0))
              for cid, role, code, venue, side, qty, style, price, sent, no in con.execute(
                  f"SELECT client_id, role, code, venue, side, qty, style, price, sent_ns, order_no FROM orders "
                  f"WHERE run_id = ? AND role <> 'cancel' AND status NOT IN {FINAL}", [run]).fetchall()]
    last_seq = con.execute("SELECT max(CAST(substr(client_id, 2) AS BIGINT)) FROM orders").fetchone()[0] or 0
    return ResumePoint(run, status, {c: int(q) for c, q in base[0]["holdings"].items()},
                       {c: q for c, q in positions.items() if q}, last_price, orders, int(last_seq))
