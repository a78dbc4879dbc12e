"""What the ops view shows, built on the engine's thread from its state, as one JSON document.

``FeedTap`` watches the rows the recorder writes (signals, order events, fills, pairs, alerts,
the operator's commands, pair transitions) and keeps the latest in a bounded deque: one
append per row, no formatting on the hot path. ``SnapshotBuilder.build()`` turns the engine's
state and that tail into plain data (formatting happens here, at the pump's bounded rate) and
serialises it; the web thread only ever sees the resulting bytes.
"""
from __future__ import annotations

import json
from collections import deque

from .. import seoul
from ..engine.engine import Engine, leg_liquidity
from ..market import VENUES
from ..money.ticks import tick_size

FEED_TABLES = frozenset({"signals", "order_events", "fills", "pairs", "alerts", "operator_commands"})
FEED_ROWS = 400          # kept on the engine's thread
FEED_SHOWN = 120         # sent to the page
CURVE_POINTS = 600       # the PnL curve's resolution (halved when full)
DONE_SHOWN = 12          # finished pairs in the monitor
COST_CACHE = 50_000      # slice costs kept by (symbol, direction, prices)

SERVER_NAMES = {"real": "실거래", "paper": "모의투자", "sim": "SIM"}


class FeedTap:
    """The recorder's ``tap``: keeps the feed's rows and each live pair's last transition."""

    __slots__ = ("rows", "state_since")

    def __init__(self) -> None:
        self.rows: deque[tuple[str, tuple]] = deque(maxlen=FEED_ROWS)
        self.state_since: dict[int, int] = {}

    def __call__(self, table: str, row: tuple) -> None:
        if table == "transitions":
            self.state_since[row[1]] = row[0]
        elif table in FEED_TABLES:
            if table == "signals" and row[13]:      # admitted signals show up as their orders
                return
            self.rows.append((table, row))


def masked_account(account: str | None) -> str:
    """An account number with all but its last two digits hidden."""
    if not account:
        return "?"
    digits = str(account)
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def _hms_ms(ts_ns: int) -> str:
    ms = (ts_ns // 1_000_000) % 1000
    return f"{seoul.fmt_hms(seoul.seconds_of_day(ts_ns))}.{ms:03d}"


class SnapshotBuilder:
    def __init__(self, engine: Engine, tap: FeedTap) -> None:
        self.engine = engine
        self.tap = tap
        profile = engine.profile
        self.codes = profile.codes
        self.names = [s.name for s in profile.symbols]
        self.markets = [s.market for s in profile.symbols]
        self.buy_liq, self.sell_liq = leg_liquidity(profile.machine.legs)
        n = len(self.codes)
        self._top_seen = engine.book.top.copy()
        self._changed_ns = [[0] * n, [0] * n]       # when each venue's top last changed (seen here)
        self._curve: list[tuple[int, int]] = []
        self._costs: dict[tuple, int | None] = {}
        self.ended = False
        self.result: str | None = None

    # -- the document -------------------------------------------------------------------------
    def build(self) -> bytes:
        engine = self.engine
        now = engine.clock.now_ns()
        self._note_book(now)
        ex = engine.execution
        if ex is not None:
            self._note_pnl(now, ex.realised_krw)
        doc = {"t": _hms_ms(now), "now_ns": now, "top": self._top(now), "symbols": self._symbols(now),
               "pairs": self._pairs(now), "done": self._done(), "feed": self._feed(),
               "pnl": {"realised_krw": ex.realised_krw if ex else 0, "curve": self._curve}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    def _note_book(self, now: int) -> None:
        top = self.engine.book.top
        changed = (top != self._top_seen).any(axis=0)     # (venue, symbol)
        if changed.any():
            for venue, sym in zip(*changed.nonzero()):
                self._changed_ns[int(venue)][int(sym)] = now
            self._top_seen[...] = top

    def _note_pnl(self, now: int, realised: int) -> None:
        curve = self._curve
        if curve and curve[-1][1] == realised:
            return
        curve.append((now // 1_000_000, realised))
        if len(curve) > CURVE_POINTS:                       # keep the shape, halve the points
            self._curve = curve[::2]

    def _top(self, now: int) -> dict:
        engine = self.engine
        guard, throttle, ex = engine.guard, engine.throttle, engine.execution
        adapter = ex.adapter if ex is not None else None
        used = throttle.used(now)
        junk = getattr(adapter, "dropped_junk", None)
        return {
            "connected": guard.connected,
            "account": masked_account(getattr(adapter, "account", None)),
            "server": SERVER_NAMES.get(engine.server or "", "?"),
            "session": {"trading_day": guard.trading_day, "in_window": guard.in_window(now),
                        "window": [_hms_ms(guard.window_start_ns)[:8], _hms_ms(guard.window_end_ns)[:8]],
                        **{v: guard.venue_open[v] for v in VENUES}},
            "armed": guard.armed(now),
            "operator_disarmed": guard.operator_disarmed,
            "killed": guard.killed,
            "orders_in_window": used, "capacity": throttle.capacity,
            "band": throttle.pause_utilisation * throttle.capacity,
            "tokens_free": throttle.capacity - used, "max_in_window": throttle.max_in_window,
            "paused": throttle.paused,
            "quotes": engine.stats["quotes"], "signals": engine.stats["signals"],
            "admitted": engine.stats["admitted"],
            "pairs_done": len(ex.pairs_done) if ex else 0,
            "junk": junk() if callable(junk) else None,
            "ended": self.ended, "result": self.result,
        }

    def _symbols(self, now: int) -> list[dict]:
        engine = self.engine
        book, guard = engine.book, engine.guard
        frozen = engine.truth.frozen.tolist() if engine.truth is not None else [False] * len(self.codes)
        bid, ask, bq, aq = (a.tolist() for a in (book.bid, book.ask, book.bid_qty, book.ask_qty))
        cooling = (engine.evaluator.next_eligible_ns > now).tolist()
        vi, muted = guard.vi.tolist(), guard.operator_muted.tolist()
        reasons = guard.mute_reasons          # 거래정지, 관리종목 … (the broker's master data), or the operator's
        armed = guard.armed(now)
        ex = engine.execution
        rows = []
        for i, code in enumerate(self.codes):
            state = ("VI" if vi[i] else "muted" if muted[i] or i in reasons else "frozen" if frozen[i]
                     else "cooling" if cooling[i] else "armed" if armed else "disarmed")
            venues = [{"bid": bid[v][i], "ask": ask[v][i], "bid_qty": bq[v][i], "ask_qty": aq[v][i],
                       "age_ms": (now - self._changed_ns[v][i]) // 1_000_000 if self._changed_ns[v][i] else None}
                      for v in (0, 1)]
            rows.append({"code": code, "name": self.names[i], "venues": venues, "state": state,
                         "muted": muted[i], "mute_reason": reasons.get(i), "frozen": frozen[i],
                         "live_pairs": len(ex.active.get(i, ())) if ex else 0,
                         "position": ex.position[i] if ex else 0, **self._edge(i, bid, ask)})
        return rows

    def _edge(self, i: int, bid, ask) -> dict:
        """The better direction's gap in ticks and its net edge after every cost for one slice."""
        best = None
        for buy in (0, 1):
            sell = 1 - buy
            if ask[buy][i] > 0 and bid[sell][i] > 0 and (best is None or bid[sell][i] - ask[buy][i] > best[2]):
                best = (buy, sell, bid[sell][i] - ask[buy][i])
        if best is None:
            return {"gap_ticks": None, "net_edge_krw": None, "direction": None}
        buy, sell, gap = best
        buy_price, sell_price = ask[buy][i], bid[sell][i]
        qty = int(self.engine.profile.params["slice_qty"][i])
        cost = self._cost(i, buy, buy_price, sell_price, qty)
        return {"gap_ticks": gap // tick_size(buy_price), "direction": f"{VENUES[buy]}→{VENUES[sell]}",
                "net_edge_krw": gap * qty - cost if cost is not None else None}

    def _cost(self, i: int, buy: int, buy_price: int, sell_price: int, qty: int) -> int | None:
        """Every cost of one slice, exact as the rules cost it; prices hover within a few ticks,
        so the answers are kept (the cache is emptied when it grows large)."""
        key = (i, buy, buy_price, sell_price, qty)
        cost = self._costs.get(key, -1)
        if cost == -1:
            try:
                cost = self.engine.profile.cost.round_trip_cost(
                    self.markets[i], VENUES[buy], buy_price, VENUES[1 - buy], sell_price, qty,
                    buy_liq=self.buy_liq[VENUES[buy]], sell_liq=self.sell_liq[VENUES[1 - buy]])
            except LookupError:
                cost = None
            if len(self._costs) >= COST_CACHE:
                self._costs.clear()
            self._costs[key] = cost
        return cost

    def _pairs(self, now: int) -> list[dict]:
        ex = self.engine.execution
        if ex is None:
            return []
        since = self.tap.state_since
        out = []
        for pairs in ex.active.values():
            for p in pairs:
                entered = since.get(p.pair_id, p.started_ns)
                out.append({"pair_id": p.pair_id, "code": p.code, "state": p.state, "qty": p.qty,
                            "buy": VENUES[p.signal.buy_venue], "sell": VENUES[p.signal.sell_venue],
                            "entry_filled": p.entry_filled, "hedged": p.hedged,
                            "age_ms": (now - p.started_ns) // 1_000_000,
                            "in_state_ms": (now - entered) // 1_000_000,
                            "unhedged_ms": (now - p.first_fill_ns) // 1_000_000
                            if p.first_fill_ns is not None and p.hedged < p.entry_filled else 0})
        return sorted(out, key=lambda p: p["pair_id"])

    def _done(self) -> list[dict]:
        ex = self.engine.execution
        if ex is None:
            return []
        return [{"pair_id": p.pair_id, "code": p.code, "state": p.state, "net_krw": p.net_krw,
                 "ended": _hms_ms(p.ended_ns) if p.ended_ns else ""} for p in ex.pairs_done[-DONE_SHOWN:]][::-1]

    def _feed(self) -> list[dict]:
        orders = self.engine.execution.orders if self.engine.execution else {}
        out = []
        for table, row in list(self.tap.rows)[-FEED_SHOWN:][::-1]:
            out.append(self._feed_item(table, row, orders))
        return out

    @staticmethod
    def _feed_item(table: str, row: tuple, orders) -> dict:
        if table == "signals":
            (ts, _q, code, bv, sv, bp, sp, _bq, _sq, qty, _g, _c, net, _adm, reason, _pid) = row
            return {"t": _hms_ms(ts), "kind": "refused", "code": code,
                    "text": f"{bv}→{sv} {bp:,}/{sp:,} x{qty} net ₩{net:,}: {reason}"}
        if table == "order_events":
            ts, client_id, event, _no, qty, message, late, _raw = row
            rec = orders.get(client_id)
            what = (f"{rec.role} {rec.side} {rec.venue} {rec.qty}@{rec.price:,}" if rec is not None else client_id)
            tail = f" {message}" if message else ""
            return {"t": _hms_ms(ts), "kind": "order", "code": rec.code if rec is not None else "",
                    "text": f"{event}{' (late)' if late else ''}: {what}{tail}"}
        if table == "fills":
            ts, _cid, pair_id, role, code, venue, side, price, qty = row[:9]
            return {"t": _hms_ms(ts), "kind": "fill", "code": code,
                    "text": f"{side} {qty} @ {price:,} on {venue} ({role}, pair {pair_id})"}
        if table == "pairs":
            pair_id, code, final_state, net = row[0], row[1], row[12], row[20]
            ts = row[11] or row[8]
            return {"t": _hms_ms(ts), "kind": "pair", "code": code,
                    "text": f"pair {pair_id} {final_state} net ₩{net:,}" if net is not None
                    else f"pair {pair_id} {final_state}"}
        if table == "alerts":
            ts, kind, message = row
            return {"t": _hms_ms(ts), "kind": "alert", "code": "", "text": f"{kind}: {message}"}
        ts, _received, who, command, code, done, outcome = row      # operator_commands
        return {"t": _hms_ms(ts), "kind": "command", "code": code or "",
                "text": f"{command} by {who}: {outcome if done else 'refused: ' + outcome}"}

