"""What the ops view shows, as one JSON document, built in the view's process from an
``EngineCapture`` alone (``capture.py``): the renderer holds the profile's static parts
(``ViewProfile``: codes, Korean names, markets, slice sizes, the cost model), sent once when the
view starts, and never sees the engine."""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from .. import seoul
from ..market import VENUES
from ..money.fees import CostModel
from ..money.ticks import tick_sizes
from .capture import EngineCapture, FeedEntry

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile

COST_CACHE = 50_000      # slice costs kept by (symbol, direction, prices)

SERVER_NAMES = {"real": "실거래", "paper": "모의투자", "sim": "SIM"}


def masked_account(account: str | None) -> str:
    """An account number with all but its last two digits hidden."""
    if not account:
        return "?"
    digits = str(account)
    return "*" * max(len(digits) - 2, 0) + digits[-2:]


def _hms_ms(ts_ns: int) -> str:
    ms = (ts_ns // 1_000_000) % 1000
    return f"{seoul.fmt_hms(seoul.seconds_of_day(ts_ns))}.{ms:03d}"


@dataclass(frozen=True)
class ViewProfile:
    """The profile's parts the page needs, picklable and light: the view's process imports neither
    the compiler nor the engine."""
    codes: list[str]
    names: list[str]
    markets: list[str]
    slice_qty: list[int]
    cost_model: CostModel
    buy_liq: dict[str, str]           # the fee schedule (maker / taker) each venue's buy leg pays
    sell_liq: dict[str, str]

    @classmethod
    def of(cls, profile: CompiledProfile) -> ViewProfile:
        from ..engine.engine import leg_liquidity

        buy_liq, sell_liq = leg_liquidity(profile.machine.legs)
        return cls(list(profile.codes), [s.name for s in profile.symbols], [s.market for s in profile.symbols],
                   [int(q) for q in profile.params["slice_qty"]], profile.cost, buy_liq, sell_liq)


class SnapshotRenderer:
    def __init__(self, profile: ViewProfile) -> None:
        self.codes = profile.codes
        self.names = profile.names
        self.markets = profile.markets
        self.slice_qty = profile.slice_qty
        self.cost_model = profile.cost_model
        self.buy_liq, self.sell_liq = profile.buy_liq, profile.sell_liq
        self._costs: dict[tuple, int | None] = {}
        self._feed_items: dict[FeedEntry, dict] = {}      # the last snapshot's feed, formatted

    def render(self, cap: EngineCapture) -> bytes:
        doc = {"t": _hms_ms(cap.now_ns), "now_ns": cap.now_ns, "top": self._top(cap), "symbols": self._symbols(cap),
               "pairs": self._pairs(cap), "done": self._done(cap), "feed": self._feed(cap),
               "pnl": {"realised_krw": cap.realised_krw, "curve": cap.curve}}
        return json.dumps(doc, ensure_ascii=False, separators=(",", ":")).encode()

    @staticmethod
    def _top(cap: EngineCapture) -> dict:
        used = cap.orders_in_window
        return {
            "connected": cap.connected,
            "account": masked_account(cap.account),
            "server": SERVER_NAMES.get(cap.server or "", "?"),
            "session": {"trading_day": cap.trading_day, "in_window": cap.in_window,
                        "window": [_hms_ms(cap.window_ns[0])[:8], _hms_ms(cap.window_ns[1])[:8]],
                        **{v: cap.venue_open[v] for v in VENUES}},
            "armed": cap.armed,
            "operator_disarmed": cap.operator_disarmed,
            "killed": cap.killed,
            "orders_in_window": used, "capacity": cap.capacity,
            "band": cap.pause_utilisation * cap.capacity,
            "tokens_free": cap.capacity - used, "max_in_window": cap.max_in_window,
            "paused": cap.paused,
            "quotes": cap.quotes, "signals": cap.signals, "admitted": cap.admitted,
            "pairs_done": cap.pairs_done,
            "junk": cap.junk,
            "ended": cap.ended, "result": cap.result,
        }

    def _symbols(self, cap: EngineCapture) -> dict:
        """Every symbol's row as columns (one list per field, the venues' fields one list per
        venue): a few numpy passes and short lists, which encode many times faster than a dict per
        symbol; the page turns them back into rows."""
        now = cap.now_ns
        n = len(self.codes)
        bid, ask, bid_qty, ask_qty = cap.top
        changed = cap.changed_ns
        age = np.maximum(now - changed, 0) // 1_000_000
        frozen = cap.frozen if cap.frozen is not None else np.zeros(n, dtype=bool)
        reasons = cap.mute_reasons
        muted = cap.muted | np.isin(np.arange(n), list(reasons))
        state = np.select([cap.vi, muted, frozen, cap.cooling], ["VI", "muted", "frozen", "cooling"],
                          "armed" if cap.armed else "disarmed")
        live = np.bincount([p.sym for p in cap.live_pairs], minlength=n).tolist()
        position = list(cap.position) if cap.trading else [0] * n
        gap_ticks, net_edge, direction = self._edges(bid, ask)
        return {"code": self.codes, "name": self.names, "state": state.tolist(),
                "muted": cap.muted.tolist(), "mute_reason": [reasons.get(i) for i in range(n)] if reasons else [None] * n,
                "frozen": frozen.tolist(), "live_pairs": live, "position": position,
                "gap_ticks": gap_ticks, "net_edge_krw": net_edge, "direction": direction,
                "bid": bid.tolist(), "ask": ask.tolist(), "bid_qty": bid_qty.tolist(), "ask_qty": ask_qty.tolist(),
                "age_ms": [[a if c else None for a, c in zip(ages, changes)]
                           for ages, changes in zip(age.tolist(), changed.tolist())]}

    def _edges(self, bid: np.ndarray, ask: np.ndarray) -> tuple[list, list, list]:
        """Per symbol, the better direction's gap in ticks and its net edge after every cost for
        one slice (None where no direction has both prices): buying on NXT wins only when its gap
        is strictly the larger."""
        valid = (ask > 0) & (bid[::-1] > 0)             # [buy KRX sell NXT, buy NXT sell KRX]
        gap = bid[::-1] - ask
        buy = np.where(valid[1] & (~valid[0] | (gap[1] > gap[0])), 1, 0)
        cols = np.arange(len(self.codes))
        best_gap, buy_price = gap[buy, cols], ask[buy, cols]
        sell_price = bid[1 - buy, cols]
        ticks = best_gap // tick_sizes(buy_price)
        gap_ticks: list = [None] * len(cols)
        net_edge: list = [None] * len(cols)
        direction: list = [None] * len(cols)
        names = (f"{VENUES[0]}→{VENUES[1]}", f"{VENUES[1]}→{VENUES[0]}")
        chosen = valid[buy, cols]
        for i, b, bp, sp, g, t in zip(np.flatnonzero(chosen).tolist(), buy[chosen].tolist(), buy_price[chosen].tolist(),
                                      sell_price[chosen].tolist(), best_gap[chosen].tolist(), ticks[chosen].tolist()):
            qty = self.slice_qty[i]
            cost = self._cost(i, b, bp, sp, qty)
            gap_ticks[i], direction[i] = t, names[b]
            net_edge[i] = g * qty - cost if cost is not None else None
        return gap_ticks, net_edge, direction

    def _cost(self, i: int, buy: int, buy_price: int, sell_price: int, qty: int) -> int | None:
        """Every cost of one slice, exact as the rules cost it; prices hover within a few ticks,
        so the answers are kept (the cache is emptied when it grows large)."""
        key = (i, buy, buy_price, sell_price, qty)
        cost = self._costs.get(key, -1)
        if cost == -1:
            try:
                cost = self.cost_model.round_trip_cost(
                    self.markets[i], VENUES[buy], buy_price, VENUES[1 - buy], sell_price, qty,
                    buy_liq=self.buy_liq[VENUES[buy]], sell_liq=self.sell_liq[VENUES[1 - buy]])
            except LookupError:
                cost = None
            if len(self._costs) >= COST_CACHE:
                self._costs.clear()
            self._costs[key] = cost
        return cost

    @staticmethod
    def _pairs(cap: EngineCapture) -> list[dict]:
        now = cap.now_ns
        out = [{"pair_id": p.pair_id, "code": p.code, "state": p.state, "qty": p.qty,
                "buy": VENUES[p.buy_venue], "sell": VENUES[p.sell_venue],
                "entry_filled": p.entry_filled, "hedged": p.hedged,
                "age_ms": (now - p.started_ns) // 1_000_000,
                "in_state_ms": (now - p.state_since_ns) // 1_000_000,
                "unhedged_ms": (now - p.first_fill_ns) // 1_000_000
                if p.first_fill_ns is not None and p.hedged < p.entry_filled else 0}
               for p in cap.live_pairs]
        return sorted(out, key=lambda p: p["pair_id"])

    @staticmethod
    def _done(cap: EngineCapture) -> list[dict]:
        return [{"pair_id": p.pair_id, "code": p.code, "state": p.state, "net_krw": p.net_krw,
                 "ended": _hms_ms(p.ended_ns) if p.ended_ns else ""} for p in reversed(cap.done)]

    def _feed(self, cap: EngineCapture) -> list[dict]:
        """Newest first; an entry already shown keeps its formatted item (live, most of the feed
        is the same from one snapshot to the next)."""
        shown = self._feed_items
        fresh: dict[FeedEntry, dict] = {}
        out = []
        for entry in reversed(cap.feed):
            item = shown.get(entry)
            if item is None:
                item = self._feed_item(entry)
            fresh[entry] = item
            out.append(item)
        self._feed_items = fresh
        return out

    @staticmethod
    def _feed_item(entry: FeedEntry) -> dict:
        table, row, rec = entry
        if table == "signals":
            (ts, _q, code, bv, sv, bp, sp, _bq, _sq, qty, _g, _c, net, _adm, reason, _pid) = row
            return {"t": _hms_ms(ts), "kind": "refused", "code": code,
                    "text": f"{bv}→{sv} {bp:,}/{sp:,} x{qty} net ₩{net:,}: {reason}"}
        if table == "order_events":
            ts, client_id, event, _no, qty, message, late = row
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
