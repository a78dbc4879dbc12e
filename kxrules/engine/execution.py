"""Execution: routes pair legs to orders, owns every in-flight order, and keeps the book flat.

It is the OrderGateway and Router of the design in one place because both need the same
in-flight state: every SendOrder passes the throttle, gets a client id (its sRQName), a TR-ack
timer (no 주문번호 in ``ack_timeout_ms`` → treated as a reject) and a Chejan-silence timer
(telemetry). Broker events are applied idempotently and turned into the pair machine's events.
A final safety net flattens any shares no live pair accounts for (a fill that raced a timeout).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..broker.events import (CancelIntent, OrderAccepted, OrderAck, OrderCancelled, OrderFilled,
                             OrderIntent, OrderRejected)
from .evaluator import VENUE_NAMES, Signal
from .orders import (CANCEL_CONFIRMED, DONE_CANCELLED, DONE_FILLED, DONE_REJECTED, LIVE, TIMEOUT,
                     OrderRecord)
from .pair import Pair, build_machine
from ..money.fees import liquidity_of
from ..seoul import NS_PER_MS
from .throttle import OrderThrottle

MARKET_STYLES = frozenset({"market", "ioc_market", "mid"})
IOC_STYLES = frozenset({"ioc_limit", "ioc_market"})


@dataclass(slots=True)
class ExecutionTimeouts:
    ack_ms: int = 200          # no TR 주문번호 by then: the order counts as rejected
    chejan_silence_ms: int = 300   # accepted but no Chejan 접수 by then: stuck (telemetry)
    flatten_retry_ms: int = 1000


class Execution:
    def __init__(self, profile, clock, adapter, throttle: OrderThrottle, recorder, telemetry,
                 *, on_alert: Callable[[str, str], None] | None = None,
                 timeouts: ExecutionTimeouts | None = None):
        self.profile = profile
        self.clock = clock
        self.adapter = adapter
        self.throttle = throttle
        self.recorder = recorder
        self.telemetry = telemetry
        self.timeouts = timeouts or ExecutionTimeouts()
        self._on_alert = on_alert
        self.cost = profile.cost
        self.markets = [s.market for s in profile.symbols]
        self.legs = profile.machine.legs
        self.state_specs = {s.name: s for s in profile.machine.states}
        self.machine = build_machine(profile.machine_kwargs)
        self.cooldown_ms = profile.edge.cooldown_ms
        self.reject_cooldown_ms = profile.edge.reject_cooldown_ms
        self.orders: dict[str, OrderRecord] = {}
        self.active: dict[int, list[Pair]] = {}      # sym -> live pairs
        self.live_count = np.zeros(len(profile.codes), dtype=np.int64)
        self.position = [0] * len(profile.codes)     # shares bought minus sold, per symbol
        self.flattening: dict[int, str] = {}         # sym -> client id of a live flatten order
        self.cancels_of: dict[str, list[str]] = {}   # order client id -> its cancel orders' ids
        self.pending_urgent: list[OrderRecord] = []      # cancels/hedges waiting for a slot or a login
        self.connected = False
        self._pending_timer = None
        self._seq = 0
        self._pair_seq = 0
        self.evaluator = None                         # set by the engine (cooldowns)
        self.pairs_done: list[Pair] = []
        # realised session PnL: every fill's cash (sells in, buys out, fees and tax out) of a
        # symbol is realised when its position is flat again, whatever the order's role
        self.realised_krw = 0
        self._unrealised_cash = [0] * len(profile.codes)
        self.counters = {"rejects": 0, "ack_timeouts": 0, "stuck": 0, "late_events": 0,
                         "orphan_fills": 0, "throttle_refusals": 0, "unresolved": 0}

    # -- ids and small services -------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:07d}"

    def param(self, name: str, sym: int):
        return self.profile.params[name][sym].item()

    def cool(self, sym: int, ms: int) -> None:
        if self.evaluator is not None and ms:
            self.evaluator.cool(sym, self.clock.now_ns() + ms * NS_PER_MS)

    def alert(self, kind: str, message: str) -> None:
        """A red flag: recorded in the alerts table and sent to the operator's channel."""
        self.recorder.alert(self.clock.now_ns(), kind, message)
        self.notify(kind, message)

    def notify(self, kind: str, message: str) -> None:
        """News for the operator's channel only, not a red flag (fills, finished pairs).
        ``on_alert`` is the channel itself (e.g. Slack), never something that records."""
        if self._on_alert:
            self._on_alert(kind, message)

    def record_transition(self, pair: Pair, trigger: str, source: str, dest: str) -> None:
        self.recorder.transition(self.clock.now_ns(), pair.pair_id, trigger, source, dest)

    def open_exposure(self, sym: int) -> int:
        return sum(p.unhedged for p in self.active.get(sym, ()))

    def busy_symbols(self) -> int:
        return int(np.count_nonzero(self.live_count))

    # -- pairs --------------------------------------------------------------------------------
    def start_pair(self, signal: Signal) -> Pair:
        self._pair_seq += 1
        pair = Pair(self._pair_seq, self.profile.codes[signal.sym], signal, self.legs.entry.side, self)
        self.machine.add_model(pair)
        self.active.setdefault(signal.sym, []).append(pair)
        self.live_count[signal.sym] += 1
        pair.fire("send")
        return pair

    def pair_finished(self, pair: Pair) -> None:
        pair.ended_ns = self.clock.now_ns()
        live = self.active.get(pair.sym, [])
        if pair in live:
            live.remove(pair)
            self.live_count[pair.sym] -= 1
        self.machine.remove_model(pair)
        self.pairs_done.append(pair)
        self.recorder.pair_finished(pair)
        if self._on_alert and pair.state == "PAIRED_DONE":
            self.notify("pair_done", f"pair {pair.pair_id} {pair.code}: net ₩{pair.net_krw:,} "
                                     f"(gross ₩{pair.gross_krw:,}, fees ₩{pair.fees:,}, tax ₩{pair.tax:,})")
        self.telemetry.pair_finished(pair)
        self.check_flat(pair.sym)

    # -- routing ------------------------------------------------------------------------------
    def _leg_venues(self, pair: Pair) -> tuple[str, str]:
        """(entry venue, hedge venue): a buy entry takes the cheap venue's ask."""
        s = pair.signal
        buy, sell = VENUE_NAMES[s.buy_venue], VENUE_NAMES[s.sell_venue]
        return (buy, sell) if pair.entry_side == "buy" else (sell, buy)

    def send_entry(self, pair: Pair) -> None:
        s = pair.signal
        venue, _ = self._leg_venues(pair)
        style = self.legs.entry.style
        price = 0 if style in MARKET_STYLES else (s.buy_price if pair.entry_side == "buy" else s.sell_price)
        rec = self._new_order("entry", pair, s.sym, venue, pair.entry_side, pair.qty, style, price)
        pair.entry_id = rec.client_id
        self._send(rec, urgent=False)

    def send_hedge(self, pair: Pair, *, escalate: bool) -> None:
        _, venue = self._leg_venues(pair)
        side = "sell" if pair.entry_side == "buy" else "buy"
        if escalate:
            # cancel-then-new: whatever still rests (e.g. a hedge whose ack came late) is cancelled
            # first; its cancel confirmation brings the machine back here for the remainder
            resting = [c for c in pair.hedge_ids if self._rests(self.orders[c])]
            if resting:
                self.cancel_live(pair, resting)
        # an order that timed out without an ack may not exist; a cash account cannot oversell,
        # so re-sending is safe (the broker refuses a sell beyond the orderable quantity)
        in_flight = sum(o.leaves for o in (self.orders[c] for c in pair.hedge_ids)
                        if not o.done and o.status != TIMEOUT)
        qty = pair.unhedged - in_flight
        if qty <= 0:
            return            # what is left is already working; the state timer will look again
        style = (self.legs.escalation if escalate else self.legs.hedge).style
        if style in MARKET_STYLES:
            price = 0
        else:
            price = pair.signal.sell_price if side == "sell" else pair.signal.buy_price
        rec = self._new_order("escalation" if escalate else "hedge", pair, pair.sym, venue, side, qty, style, price)
        pair.hedge_ids.append(rec.client_id)
        self._send(rec, urgent=True)

    def _rests(self, rec: OrderRecord) -> bool:
        """A live order that will not end by itself and has no cancel on its way."""
        if rec.done or rec.status == TIMEOUT or rec.style in IOC_STYLES:
            return False
        return not any(not self.orders[c].done for c in self.cancels_of.get(rec.client_id, ()))

    def cancel_live(self, pair: Pair | None, client_ids: list[str]) -> None:
        for cid in client_ids:
            orig = self.orders.get(cid)
            if orig is None or orig.done or orig.status == TIMEOUT:
                continue
            rec = self._new_order("cancel", pair, orig.sym, orig.venue, orig.side, 0, "cancel", 0)
            rec.cancel_of = cid
            self.cancels_of.setdefault(cid, []).append(rec.client_id)
            self._send(rec, urgent=True)

    def _new_order(self, role, pair, sym, venue, side, qty, style, price) -> OrderRecord:
        prefix = {"entry": "E", "hedge": "H", "escalation": "X", "cancel": "C", "flatten": "F"}[role]
        rec = OrderRecord(self._next_id(prefix), role, sym, self.profile.codes[sym], venue, side, qty,
                          style, price, pair=pair)
        self.orders[rec.client_id] = rec
        return rec

    # -- sending ------------------------------------------------------------------------------
    def _send(self, rec: OrderRecord, *, urgent: bool) -> None:
        now = self.clock.now_ns()
        if not self.connected:
            if urgent:                   # cancels and hedges wait for the login to come back
                self.pending_urgent.append(rec)
                return
            self._finish(rec, DONE_REJECTED, "not connected")
            self._route_reject(rec)
            return
        if not self.throttle.may_send(now, urgent=urgent):
            if urgent:
                self.pending_urgent.append(rec)
                self._schedule_pending(now)
                return
            self.counters["throttle_refusals"] += 1
            self._finish(rec, DONE_REJECTED, "throttle: no free order slot")
            self._route_reject(rec)
            return
        self._dispatch(rec, now)

    def _dispatch(self, rec: OrderRecord, now: int) -> None:
        rec.sent_ns = now
        self.throttle.record(now)
        self.telemetry.order_sent(rec, now)
        # recorded before the call: a refused send comes back as OrderRejected(stage='send')
        # from inside it, and finishes the record there
        self.recorder.order_sent(rec)
        if rec.role == "cancel":
            orig = self.orders[rec.cancel_of]
            intent = CancelIntent(rec.client_id, orig.client_id, orig.code, orig.venue, orig.side, 0)
            rc = self.adapter.cancel(intent)
        else:
            intent = OrderIntent(rec.client_id, rec.code, rec.venue, rec.side, rec.qty, rec.style, rec.price)
            rc = self.adapter.send(intent)
        rec.send_rc = rc
        if rc == 0:
            rec.timers.append(self.clock.call_later(self.timeouts.ack_ms, self._ack_timeout, rec.client_id))

    def _schedule_pending(self, now: int) -> None:
        if self._pending_timer is None:
            at = self.throttle.next_slot_ns(now)
            self._pending_timer = self.clock.call_at(at, self._drain_pending)

    def set_connected(self, connected: bool) -> None:
        self.connected = connected
        if connected and self.pending_urgent:
            self._drain_pending()

    def _drain_pending(self) -> None:
        self._pending_timer = None
        if not self.connected:
            return
        now = self.clock.now_ns()
        while self.pending_urgent and self.throttle.may_send(now, urgent=True):
            rec = self.pending_urgent.pop(0)
            self._dispatch(rec, now)
        if self.pending_urgent:
            self._schedule_pending(now)

    # -- timers -------------------------------------------------------------------------------
    def _ack_timeout(self, client_id: str) -> None:
        rec = self.orders[client_id]
        if rec.ack_ns is not None or rec.done:
            return
        rec.status = TIMEOUT
        self.counters["ack_timeouts"] += 1
        rec.message = f"no TR 주문번호 within {self.timeouts.ack_ms} ms"
        self.recorder.order_event(self.clock.now_ns(), rec, "ack_timeout", message=rec.message)
        self._route_reject(rec)

    def _cancel_refused(self, client_id: str) -> None:
        rec = self.orders[client_id]
        if rec.done or rec.status == TIMEOUT:
            return
        rec.status = TIMEOUT
        rec.message = "cancel refused and no final event: outcome unknown"
        self.counters["unresolved"] += 1
        self.recorder.order_event(self.clock.now_ns(), rec, "unresolved", message=rec.message)
        self.alert("order_unresolved", f"{rec.client_id} {rec.code}: {rec.message}")
        pair = rec.pair
        if pair is not None and pair.ended_ns is None and rec.role in ("hedge", "escalation"):
            pair.fire("hedge_expired")

    def _chejan_silence(self, client_id: str) -> None:
        rec = self.orders[client_id]
        if rec.accepted_ns is None and not rec.done:
            self.counters["stuck"] += 1
            self.recorder.order_event(self.clock.now_ns(), rec, "stuck",
                                      message=f"no Chejan 접수 within {self.timeouts.chejan_silence_ms} ms of the ack")

    # -- broker events ------------------------------------------------------------------------
    def on_order_event(self, ev) -> None:
        rec = self.orders.get(ev.client_id)
        if rec is None:
            self.recorder.unknown_event(ev)
            return
        now = self.clock.now_ns()
        if isinstance(ev, OrderFilled):
            self._on_fill(rec, ev, now)
        elif isinstance(ev, OrderAck):
            if rec.ack_ns is None:
                rec.ack_ns = now
                rec.order_no = ev.order_no
                if rec.status == TIMEOUT:
                    rec.late = True
                    rec.status = LIVE
                    self.counters["late_events"] += 1
                self.telemetry.order_acked(rec, now)
                rec.timers.append(self.clock.call_later(self.timeouts.chejan_silence_ms,
                                                        self._chejan_silence, rec.client_id))
                self.recorder.order_event(now, rec, "ack", raw=ev.raw, late=rec.late)
        elif isinstance(ev, OrderAccepted):
            if rec.accepted_ns is None:
                rec.accepted_ns = now
                rec.order_no = rec.order_no or ev.order_no
                self.recorder.order_event(now, rec, "accepted", qty=ev.leaves_qty, raw=ev.raw)
        elif isinstance(ev, OrderCancelled):
            if not rec.done:
                self._finish(rec, DONE_CANCELLED, "", qty=ev.cancelled_qty, raw=ev.raw)
                self._route_done(rec)
        elif isinstance(ev, OrderRejected):
            if ev.stage == "send":
                rec.send_rc = ev.code
            if not rec.done and rec.filled == 0:
                was_timeout = rec.status == TIMEOUT
                self.counters["rejects"] += 1
                self._finish(rec, DONE_REJECTED, ev.message, raw=ev.raw)
                if not was_timeout:
                    self._route_reject(rec)

    def _on_fill(self, rec: OrderRecord, ev: OrderFilled, now: int) -> None:
        key = ev.exec_id or f"{ev.order_no}:{ev.cum_qty}"
        if key in rec.exec_ids or rec.filled + ev.qty > rec.qty:
            return                                     # duplicate Chejan: already applied
        rec.exec_ids.add(key)
        if rec.status == TIMEOUT:
            rec.late = True
            rec.status = LIVE
            self.counters["late_events"] += 1
        rec.filled += ev.qty
        rec.value += ev.price * ev.qty
        liquidity = liquidity_of(rec.style)
        market = self.markets[rec.sym]
        fee = self.cost.fee(rec.venue, rec.side, ev.price, ev.qty, liquidity)
        tax = self.cost.tax(market, rec.side, ev.price, ev.qty)
        rec.fees += fee
        rec.tax += tax
        self.position[rec.sym] += ev.qty if rec.side == "buy" else -ev.qty
        cash = ev.price * ev.qty if rec.side == "sell" else -ev.price * ev.qty
        self._unrealised_cash[rec.sym] += cash - fee - tax
        if self.position[rec.sym] == 0:
            self.realised_krw += self._unrealised_cash[rec.sym]
            self._unrealised_cash[rec.sym] = 0
        if self.evaluator is not None:
            held = max(self.position[rec.sym], 0)
            self.evaluator.sellable[:, rec.sym] = held
        self.recorder.fill(now, rec, ev, fee, tax)
        if self._on_alert:
            self.notify(f"{rec.side}_fill", f"{rec.code} {rec.venue} {rec.side} {ev.qty} @ ₩{ev.price:,} ({rec.role})")
        pair = rec.pair
        if pair is not None and rec.role != "flatten" and pair.ended_ns is None:
            # a pair's books close when it ends (it is recorded then); a later fill is the
            # safety net's (orphan fill, flattened below) and counts in the realised ledger
            if rec.side == "buy":
                pair.buy_value += ev.price * ev.qty
            else:
                pair.sell_value += ev.price * ev.qty
            pair.fees += fee
            pair.tax += tax
            if rec.role == "entry":
                pair.entry_filled += ev.qty
                if pair.first_fill_ns is None:
                    pair.first_fill_ns = now
            else:
                pair.hedged += ev.qty
        if ev.leaves_qty == 0 or rec.filled >= rec.qty:
            self._finish(rec, DONE_FILLED, "")
        if pair is not None and pair.ended_ns is None and rec.role != "flatten":
            if rec.role == "entry":
                if rec.done:
                    pair.entry_done = True
                    pair.fire("entry_filled")
            else:
                pair.fire("hedge_filled")
        elif rec.role == "flatten" or (pair is not None and pair.ended_ns is not None):
            if pair is not None:
                self.counters["orphan_fills"] += 1
            self.check_flat(rec.sym)

    def _finish(self, rec: OrderRecord, status: str, message: str, *, qty: int = 0, raw=None) -> None:
        rec.status = status
        rec.message = message or rec.message
        rec.cancel_timers()
        self.recorder.order_event(self.clock.now_ns(), rec, status, qty=qty, message=message, raw=raw)
        self.recorder.order_final(rec)
        if rec.role != "cancel":
            for cid in self.cancels_of.pop(rec.client_id, ()):
                c = self.orders[cid]
                if not c.done:
                    self._finish(c, CANCEL_CONFIRMED if status == DONE_CANCELLED else DONE_REJECTED,
                                 "" if status == DONE_CANCELLED else f"nothing left to cancel (order {status})")
        if rec.role == "flatten" and self.flattening.get(rec.sym) == rec.client_id:
            del self.flattening[rec.sym]
            if status != DONE_FILLED:
                self.clock.call_later(self.timeouts.flatten_retry_ms, self.check_flat, rec.sym)

    def _route_done(self, rec: OrderRecord) -> None:
        """An order ended without filling completely (IOC remainder, cancel confirmed)."""
        pair = rec.pair
        if pair is None or pair.ended_ns is not None:
            self.check_flat(rec.sym)
            return
        if rec.role == "entry":
            pair.entry_done = True
            pair.fire("entry_filled" if pair.entry_filled > 0 else "entry_expired")
        elif rec.role in ("hedge", "escalation"):
            if pair.unhedged > 0:
                pair.fire("hedge_expired")

    def _route_reject(self, rec: OrderRecord) -> None:
        pair = rec.pair
        if rec.role == "cancel":
            # usually the target filled first and reports that itself; if it stays silent, the
            # broker no longer holds it live (its events were lost, e.g. during a disconnect):
            # mark it unresolved so the machine's escalation is not blocked by a phantom order
            orig = self.orders.get(rec.cancel_of)
            if orig is not None and not orig.done:
                self.clock.call_later(self.timeouts.ack_ms, self._cancel_refused, orig.client_id)
            return
        if pair is None or pair.ended_ns is not None:
            self.check_flat(rec.sym)
            return
        if rec.role == "entry":
            pair.fire("entry_rejected")
        else:
            pair.fire("hedge_rejected")

    # -- the safety net -----------------------------------------------------------------------
    def check_flat(self, sym: int) -> None:
        """Sell (or buy back) shares no live pair accounts for, until the symbol is flat."""
        excess = self.position[sym] - self.open_exposure(sym)
        if excess == 0 or sym in self.flattening:
            return
        side = "sell" if excess > 0 else "buy"
        venue = "KRX"
        self.alert("flatten", f"{self.profile.codes[sym]}: {abs(excess)} share(s) not owned by a live pair; "
                              f"sending a {side} IOC to flatten")
        rec = self._new_order("flatten", None, sym, venue, side, abs(excess), "ioc_market", 0)
        self.flattening[sym] = rec.client_id
        self._send(rec, urgent=True)

    def has_live_orders(self) -> bool:
        return any(not o.done and o.role != "cancel" for o in self.orders.values())
