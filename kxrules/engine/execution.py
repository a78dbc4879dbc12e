"""Execution: routes pair legs to orders, owns every in-flight order, and keeps the book flat.

It is the OrderGateway and Router of the design in one place because both need the same
in-flight state: every SendOrder passes the throttle, gets a client id (its sRQName), a TR-ack
timer (no 주문번호 in ``ack_timeout_ms`` → treated as a reject) and a Chejan-silence timer
(telemetry). Broker events are applied idempotently and turned into the pair machine's events.
A final safety net flattens any shares no live pair accounts for (a fill that raced a timeout),
selling only what the broker says may be sold (``truth``: engine/broker_truth.py), within a
declared order budget, backing off between attempts. No pair sends more than
``risk.max_orders_per_pair`` orders: past that it is abandoned to the safety net.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..broker.parsing import norm_order_no
from ..broker.events import (CancelIntent, OrderAccepted, OrderAck, OrderCancelled, OrderFilled,
                             OrderIntent, OrderRejected)
from .evaluator import Signal
from .orders import (ACCEPTED, ACK, ACK_TIMEOUT, CANCEL_REFUSED, CANCELLED, DONE_CANCELLED, DONE_FILLED, FILL,
                     IGNORE, LAST_FILL, LATE, LIFECYCLE, LIVE, REJECTED, REPEAT_ACCEPTED, REPEAT_ACK,
                     TARGET_CANCELLED, TARGET_ENDED, TIMEOUT, OrderRecord, Step)
from .pair import Pair, build_machine
from ..market import IOC_STYLES, VENUES as VENUE_NAMES
from ..money.fees import liquidity_of
from ..seoul import NS_PER_MS
from .throttle import OrderThrottle
from ..machine.spec import ABANDON, handled_events

if TYPE_CHECKING:
    from ..broker.events import BrokerAdapter, OrderEvent
    from ..clock import Clock, TimerHandle
    from ..config.compile import CompiledProfile
    from ..config.schema.strategy import EngineTimings
    from ..storage.recorder import Recorder
    from ..broker.events import ExecutionRow
    from ..storage.resume import DayOrder, UnfinishedOrder
    from .broker_truth import BrokerTruth
    from .evaluator import RuleEvaluator
    from .telemetry import Telemetry

FILL_KINDS = {"buy": "buy_fill", "sell": "sell_fill"}
SPARE_PAIRS = 4            # pair models registered ahead: a batch rarely starts more


@dataclass(slots=True)
class ExecutionTimeouts:
    ack_ms: int = 200          # no TR 주문번호 by then: the order counts as rejected
    chejan_silence_ms: int = 300   # accepted but no Chejan 접수 by then: stuck (telemetry)
    flatten_retry_ms: int = 1000   # first safety-net retry; doubles per attempt up to 32 s
    ioc_outcome_ms: int = 1000     # an IOC ends at once; still working by then, its Chejan was lost

    @classmethod
    def from_config(cls, timings: EngineTimings) -> "ExecutionTimeouts":
        """From ``risk.timings`` (rules/risk.yaml)."""
        return cls(ack_ms=timings.ack_ms, chejan_silence_ms=timings.chejan_silence_ms,
                   flatten_retry_ms=timings.flatten_retry_ms, ioc_outcome_ms=timings.ioc_outcome_ms)


# the operator's channel: (kind, ts_ns, message, facts); facts are raw values formatted off the engine thread
AlertSink = Callable[[str, int, str, tuple[Any, ...]], None]


class Execution:
    def __init__(self, profile: CompiledProfile, clock: Clock, adapter: BrokerAdapter, throttle: OrderThrottle,
                 recorder: Recorder, telemetry: Telemetry, *,
                 on_alert: AlertSink | None = None,
                 timeouts: ExecutionTimeouts | None = None) -> None:
        self.profile = profile
        self.clock = clock
        self.adapter = adapter
        self.throttle = throttle
        self.recorder = recorder
        self.telemetry = telemetry
        self.timeouts = timeouts or ExecutionTimeouts.from_config(profile.risk.timings)
        self._on_alert = on_alert
        self.cost = profile.cost
        self.markets = [s.market for s in profile.symbols]
        self.legs = profile.machine.legs
        # per venue, the style each leg sends there (rules/pair_machine.yaml legs)
        self.entry_styles = self.legs.entry.styles()
        self.hedge_styles = self.legs.hedge.styles()
        self.escalation_styles = self.legs.escalation.styles()
        self.state_specs = {s.name: s for s in profile.machine.states}
        self.machine = build_machine(profile.machine_kwargs)
        self.handled = handled_events(profile.machine)
        self._ignored_kinds: set[tuple[str, str]] = set()     # (state, event) alerted once
        self._ignored_order_kinds: set[tuple[str, str]] = set()   # (order status, event) alerted once
        self.cooldown_ms = profile.edge.cooldown_ms
        self.reject_cooldown_ms = profile.edge.reject_cooldown_ms
        self.orders: dict[str, OrderRecord] = {}
        self.unfinished: list[dict[str, OrderRecord]] = [{} for _ in profile.codes]   # per symbol, not final yet
        self.active: dict[int, list[Pair]] = {}      # sym -> live pairs
        self.live_count = np.zeros(len(profile.codes), dtype=np.int64)
        self.position = [0] * len(profile.codes)     # shares bought minus sold, per symbol
        self.flattening: dict[int, str] = {}         # sym -> client id of a live flatten order
        self.cancels_of: dict[str, list[str]] = {}   # order client id -> its cancel orders' ids
        self.adopted: list[str] = []                     # orders a dead engine left (trade --resume)
        self.pending_urgent: list[OrderRecord] = []      # cancels/hedges waiting for a slot or a login
        self.connected = False
        self._pending_timer: TimerHandle | None = None
        self._seq = 0
        self._pair_seq = 0
        # pair models registered with the machine ahead of need (start_pair takes one, the idle refills)
        self._spares: list[Pair] = [self._spare() for _ in range(SPARE_PAIRS)]
        self._restock: TimerHandle | None = None
        self.evaluator: RuleEvaluator | None = None   # set by the engine (cooldowns)
        self.pairs_done: list[Pair] = []
        self.truth: "BrokerTruth | None" = None       # set by the engine: what the broker holds
        self.on_first_fill: Callable[[Pair], None] | None = None   # set by the engine: max unhedged time
        self.on_cooled: Callable[[int, int], None] | None = None    # set by the engine: re-evaluate at the end
        self.on_clip_done: Callable[[int], None] | None = None      # set by the engine: re-check the spread
        risk = profile.risk
        self.max_orders_per_pair = risk.max_orders_per_pair
        self.max_flatten_orders = risk.max_flatten_orders
        self.settle_ms = risk.position_settle_ms
        self.flatten_venue = risk.flatten_venue
        n = len(profile.codes)
        self.flatten_attempts = [0] * n              # safety-net orders since the symbol was last flat
        self.flatten_retry: dict[int, object] = {}  # sym -> the back-off timer
        self._flatten_spent: set[int] = set()        # symbols whose budget ran out (alerted once)
        self.last_price = [0] * n                    # last fill price: values a position adjustment
        self.last_activity_ns = 0                    # the last fill or final order state
        # realised session PnL: every fill's cash (sells in, buys out, fees and tax out) of a
        # symbol is realised when its position is flat again, whatever the order's role
        self.realised_krw = 0
        self._unrealised_cash = [0] * len(profile.codes)
        self.counters = {"rejects": 0, "ack_timeouts": 0, "stuck": 0, "late_events": 0,
                         "orphan_fills": 0, "throttle_refusals": 0, "unresolved": 0,
                         "abandoned": 0, "flatten_orders": 0, "settled_by_broker": 0,
                         "ignored_events": 0, "ignored_order_events": 0, "fills": 0, "cancels_resent": 0}

    # -- ids and small services -------------------------------------------------------------
    def _next_id(self, prefix: str) -> str:
        self._seq += 1
        return f"{prefix}{self._seq:07d}"

    def param(self, name: str, sym: int) -> int | float:
        value: int | float = self.profile.params[name][sym].item()
        return value

    def cool(self, sym: int, ms: int) -> None:
        if self.evaluator is not None and ms:
            until = self.clock.now_ns() + ms * NS_PER_MS
            self.evaluator.cool(sym, until)
            if self.on_cooled is not None:
                self.on_cooled(sym, until)

    def alert(self, kind: str, message: str, facts: tuple[Any, ...] = ()) -> None:
        """A red flag: recorded in the alerts table and sent to the operator's channel."""
        self.recorder.alert(self.clock.now_ns(), kind, message)
        self.notify(kind, message, facts)

    def notify(self, kind: str, message: str, facts: tuple[Any, ...] = ()) -> None:
        """News for the operator's channel only, not a red flag (fills, finished pairs).
        ``on_alert`` is the channel itself (e.g. Slack), never something that records; it
        formats ``facts`` off the engine thread."""
        if self._on_alert:
            self._on_alert(kind, self.clock.now_ns(), message, facts)

    def record_transition(self, pair: Pair, trigger: str, source: str, dest: str) -> None:
        self.recorder.transition(self.clock.now_ns(), pair.pair_id, trigger, source, dest)

    def event_ignored(self, pair: Pair, trigger: str) -> None:
        """An event the pair machine has no transition for in the pair's state."""
        self.counters["ignored_events"] += 1
        self.recorder.transition(self.clock.now_ns(), pair.pair_id, trigger, pair.state, pair.state, ignored=True)
        if (pair.state, trigger) not in self._ignored_kinds:
            self._ignored_kinds.add((pair.state, trigger))
            self.alert("event_ignored", f"pair {pair.pair_id} {pair.code}: state {pair.state} has no transition "
                                        f"for '{trigger}'; ignored (once per state and event; every one is "
                                        f"in transitions with ignored = true)")

    def open_exposure(self, sym: int) -> int:
        return sum(p.unhedged for p in self.active.get(sym, ()))

    def busy_symbols(self) -> int:
        return int(np.count_nonzero(self.live_count))

    # -- pairs --------------------------------------------------------------------------------
    def start_pair(self, signal: Signal) -> Pair:
        self._pair_seq += 1
        pair = self._spares.pop() if self._spares else self._spare()
        pair.begin(self._pair_seq, self.profile.codes[signal.sym], signal, self.legs.entry.side, self)
        if self._restock is None:
            self._restock = self.clock.call_at(self.clock.now_ns(), self._restock_spares)
        self.active.setdefault(signal.sym, []).append(pair)
        self.live_count[signal.sym] += 1
        pair.fire("send")
        return pair

    def _spare(self) -> Pair:
        pair = Pair.spare()
        self.machine.add_model(pair)
        return pair

    def _restock_spares(self) -> None:
        """Register the models of the next pairs once the engine is idle, off the quote-to-order path."""
        self._restock = None
        while len(self._spares) < SPARE_PAIRS:
            self._spares.append(self._spare())

    def pair_finished(self, pair: Pair) -> None:
        pair.ended_ns = self.clock.now_ns()
        live = self.active.get(pair.sym, [])
        if pair in live:
            live.remove(pair)
            self.live_count[pair.sym] -= 1
            # a clip that traded frees its slot: look at the spread again at once (a pair that
            # did not trade cooled its symbol, and the cooldown's end looks again)
            if pair.entry_filled and self.on_clip_done is not None:
                self.on_clip_done(pair.sym)
        self.machine.remove_model(pair)
        self.pairs_done.append(pair)
        self.recorder.pair_finished(pair)
        if self._on_alert and pair.state == "PAIRED_DONE":
            self.notify("pair_done", "", (pair.code, pair.pair_id, pair.net_krw, pair.buy_value))
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
        style = self.entry_styles[venue]
        price = 0 if self._price_zero(venue, style) else (s.buy_price if pair.entry_side == "buy" else s.sell_price)
        rec = self._new_order("entry", pair, s.sym, venue, pair.entry_side, pair.qty, style, price)
        pair.entry_id = rec.client_id
        self._send(rec, urgent=False)

    def _price_zero(self, venue: str, style: str) -> bool:
        """The style goes without a price at this venue (market, IOC market, midpoint): the
        broker's venue map says so (its ``price_zero``), nothing here."""
        return bool(self.adapter.venues.needs_zero_price(venue, style))

    def within_budget(self, pair: Pair) -> bool:
        """Room for one more order of this pair; past the budget the pair is abandoned."""
        if pair.orders_sent < self.max_orders_per_pair:
            return True
        self.abandon_pair(pair, f"order budget spent ({self.max_orders_per_pair} orders)")
        return False

    def abandon_pair(self, pair: Pair, reason: str) -> None:
        """End the pair (state ABANDONED); its resting orders are cancelled and what it holds goes
        to the safety net. Deferred to the clock's next step: it may be asked from inside one of
        the pair's own transitions."""
        if pair.ended_ns is not None or pair.abandoned_because is not None:
            return
        pair.abandoned_because = reason
        self.clock.call_later(0, self._abandon_now, pair)

    def _abandon_now(self, pair: Pair) -> None:
        if pair.ended_ns is not None:
            return
        self.counters["abandoned"] += 1
        self.alert("pair_abandoned", f"pair {pair.pair_id} {pair.code}: {pair.abandoned_because}; "
                                     f"{pair.unhedged} share(s) go to the safety net")
        resting = [c for c in [pair.entry_id, *pair.hedge_ids] if c and self._rests(self.orders[c])]
        self.cancel_live(None, resting)       # the safety net's cancels, outside the pair's budget
        pair.fire(ABANDON)

    def abandon_symbol(self, sym: int, reason: str) -> None:
        for pair in list(self.active.get(sym, ())):
            self.abandon_pair(pair, reason)

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
        if not self.within_budget(pair):
            return
        style = (self.escalation_styles if escalate else self.hedge_styles)[venue]
        if self._price_zero(venue, style):
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

    def cancel_resting(self) -> list[str]:
        """Cancel every order of ours that rests with no cancel on its way, outside any pair's
        budget (a cancel confirmed drives its pair's machine on as usual); returns their ids."""
        ids = [c for orders in self.unfinished for c, o in orders.items() if o.role != "cancel" and self._rests(o)]
        self.cancel_live(None, ids)
        return ids

    def cancel_live(self, pair: Pair | None, client_ids: list[str]) -> None:
        for cid in client_ids:
            orig = self.orders.get(cid)
            if orig is None or orig.done or orig.status == TIMEOUT:
                continue
            if pair is not None and not self.within_budget(pair):
                return
            # Kiwoom's rule: a cancel asks for at most what remains (more is refused, 00Z924)
            rec = self._new_order("cancel", pair, orig.sym, orig.venue, orig.side, orig.leaves, "cancel", 0)
            rec.cancel_of = cid
            self.cancels_of.setdefault(cid, []).append(rec.client_id)
            self._send(rec, urgent=True)

    def _new_order(self, role: str, pair: Pair | None, sym: int, venue: str, side: str, qty: int, style: str,
                   price: int) -> OrderRecord:
        prefix = {"entry": "E", "hedge": "H", "escalation": "X", "cancel": "C", "flatten": "F"}[role]
        rec = OrderRecord(self._next_id(prefix), role, sym, self.profile.codes[sym], venue, side, qty,
                          style, price, pair=pair)
        if pair is not None:
            pair.orders_sent += 1
        self.orders[rec.client_id] = rec
        self.unfinished[sym][rec.client_id] = rec
        return rec

    # -- sending ------------------------------------------------------------------------------
    def _send(self, rec: OrderRecord, *, urgent: bool) -> None:
        now = self.clock.now_ns()
        if not self.connected:
            if urgent:                   # cancels and hedges wait for the login to come back
                self.pending_urgent.append(rec)
                return
            self._finish(rec, REJECTED, "not connected")
            self._route_reject(rec)
            return
        if not self.throttle.may_send(now, urgent=urgent):
            if urgent:
                self.pending_urgent.append(rec)
                self._schedule_pending(now)
                return
            self.counters["throttle_refusals"] += 1
            self._finish(rec, REJECTED, "throttle: no free order slot")
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
            assert rec.cancel_of is not None, "a cancel names its order"
            orig = self.orders[rec.cancel_of]
            rc = self.adapter.cancel(CancelIntent(rec.client_id, orig.client_id, orig.code, orig.venue, orig.side,
                                                  rec.qty))
        else:
            rc = self.adapter.send(OrderIntent(rec.client_id, rec.code, rec.venue, rec.side, rec.qty, rec.style,
                                               rec.price))
        rec.send_rc = rc
        if rc == 0:
            rec.timers.append(self.clock.call_later(self.timeouts.ack_ms, self._ack_timeout, rec.client_id))
            if rec.style in IOC_STYLES:
                rec.timers.append(self.clock.call_later(self.timeouts.ioc_outcome_ms, self._ioc_overdue,
                                                        rec.client_id))

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
            return                     # answered in time
        if self._step(rec, ACK_TIMEOUT) is None:
            return
        self.counters["ack_timeouts"] += 1
        rec.message = f"no TR 주문번호 within {self.timeouts.ack_ms} ms"
        self.recorder.order_event(self.clock.now_ns(), rec, "ack_timeout", message=rec.message)
        self._ask_broker_later("unacknowledged order")
        self._route_reject(rec)

    def _ask_broker_later(self, reason: str) -> None:
        """Reconcile once the settling window has passed, so the answer can settle what is unknown now."""
        if self.truth is not None:
            self.clock.call_later(self.settle_ms + 1, self.truth.request, reason)

    def _ioc_overdue(self, client_id: str) -> None:
        rec = self.orders[client_id]
        if not rec.done:
            self.recorder.order_event(self.clock.now_ns(), rec, "ioc_overdue",
                                      message=f"IOC without an outcome after {self.timeouts.ioc_outcome_ms} ms")
            self._ask_broker_later("IOC without an outcome")

    def _cancel_refused(self, client_id: str, asked: int) -> None:
        """A cancel of ``client_id`` for ``asked`` shares was refused and the order has not ended
        since. A fill that raced the cancel leaves less than it asked for (refused: 00Z924): cancel
        the remainder now. Otherwise the outcome is unknown: ask the broker."""
        rec = self.orders[client_id]
        if rec.done:
            return                     # it ended after all
        if 0 < rec.leaves < asked and rec.sent_ns:
            self.counters["cancels_resent"] += 1
            self.cancel_live(None, [client_id])       # a cancel, even past the pair's budget
            return
        if self._step(rec, CANCEL_REFUSED) is None:
            return
        rec.message = "cancel refused and no final event: outcome unknown"
        self.counters["unresolved"] += 1
        self.recorder.order_event(self.clock.now_ns(), rec, "unresolved", message=rec.message)
        self.alert("order_unresolved", f"{rec.client_id} {rec.code}: {rec.message}")
        self._ask_broker_later("unresolved order")
        pair = rec.pair
        if pair is not None and pair.ended_ns is None and rec.role in ("hedge", "escalation"):
            pair.fire("hedge_expired")

    def _chejan_silence(self, client_id: str) -> None:
        rec = self.orders[client_id]
        if rec.accepted_ns is None and not rec.done:
            self.counters["stuck"] += 1
            self.recorder.order_event(self.clock.now_ns(), rec, "stuck",
                                      message=f"no Chejan 접수 within {self.timeouts.chejan_silence_ms} ms of the ack")
            self._ask_broker_later("silent order")     # its Chejan may be lost: the open-orders TR tells

    # -- the order lifecycle (engine/orders.py's LIFECYCLE) -----------------------------------
    def _step(self, rec: OrderRecord, event: str, *, qty: int = 0,
              raw: dict[str, str] | None = None) -> Step | None:
        """Move ``rec`` as the lifecycle table says: the step taken, or None when the table
        ignores ``event`` in the order's status (recorded, counted, alerted once)."""
        step = LIFECYCLE[rec.status][event]
        if step.how == IGNORE:
            self._order_event_ignored(rec, event, step, qty, raw)
            return None
        if step.how == LATE:
            rec.late = True
            self.counters["late_events"] += 1
        rec.status = step.dest
        return step

    def _order_event_ignored(self, rec: OrderRecord, event: str, step: Step, qty: int,
                             raw: dict[str, str] | None) -> None:
        now = self.clock.now_ns()
        self.counters["ignored_order_events"] += 1
        self.telemetry.order_event_ignored(now)
        self.recorder.order_event(now, rec, f"ignored_{event}", qty=qty, message=step.why, raw=raw)
        if (rec.status, event) not in self._ignored_order_kinds:
            self._ignored_order_kinds.add((rec.status, event))
            self.alert("order_event_ignored", f"{rec.client_id} {rec.code}: '{event}' on a {rec.status} order "
                                              f"ignored ({step.why}); once per status and event, every one "
                                              f"is in order_events")

    def _finish(self, rec: OrderRecord, event: str, message: str, *, qty: int = 0,
                raw: dict[str, str] | None = None) -> bool:
        """An event that may end the order: True when, by the lifecycle table, it ends it now."""
        was = rec.status
        step = self._step(rec, event, qty=qty, raw=raw)
        if step is None or not rec.done:
            return False
        if rec.status == was:          # it had ended so already: the event confirms it
            self.recorder.order_event(self.clock.now_ns(), rec, event, qty=qty, message=step.why, raw=raw,
                                      late=step.how == LATE)
            return False
        self._close(rec, step, message, qty=qty, raw=raw)
        return True

    def _close(self, rec: OrderRecord, step: Step, message: str, *, qty: int = 0,
               raw: dict[str, str] | None = None) -> None:
        """The order has reached a terminal status: its record, timers, cancels and flatten job."""
        status = rec.status
        self.unfinished[rec.sym].pop(rec.client_id, None)
        self.last_activity_ns = self.clock.now_ns()
        rec.message = message or rec.message
        rec.cancel_timers()
        self.recorder.order_event(self.clock.now_ns(), rec, status, qty=qty, message=message, raw=raw,
                                  late=step.how == LATE)
        self.recorder.order_final(rec)
        if rec.role != "cancel":
            for cid in self.cancels_of.pop(rec.client_id, ()):
                cancelled = status == DONE_CANCELLED
                self._finish(self.orders[cid], TARGET_CANCELLED if cancelled else TARGET_ENDED,
                             "" if cancelled else f"nothing left to cancel (order {status})")
        if rec.role == "flatten" and self.flattening.get(rec.sym) == rec.client_id:
            del self.flattening[rec.sym]
            if status != DONE_FILLED:
                self._retry_flatten(rec.sym)

    # -- broker events ------------------------------------------------------------------------
    def on_order_event(self, ev: OrderEvent) -> None:
        rec = self.orders.get(ev.client_id)
        if rec is None:
            self.recorder.unknown_event(ev)
            return
        now = self.clock.now_ns()
        if isinstance(ev, OrderFilled):
            self._on_fill(rec, ev, now)
        elif isinstance(ev, OrderAck):
            step = self._step(rec, ACK if rec.ack_ns is None else REPEAT_ACK, raw=ev.raw)
            if step is not None:
                rec.ack_ns = now
                rec.order_no = ev.order_no
                self.telemetry.order_acked(rec, now)
                if not rec.done:
                    rec.timers.append(self.clock.call_later(self.timeouts.chejan_silence_ms,
                                                            self._chejan_silence, rec.client_id))
                self.recorder.order_event(now, rec, "ack", raw=ev.raw, late=step.how == LATE)
        elif isinstance(ev, OrderAccepted):
            step = self._step(rec, ACCEPTED if rec.accepted_ns is None else REPEAT_ACCEPTED, qty=ev.leaves_qty,
                              raw=ev.raw)
            if step is not None:
                rec.accepted_ns = now
                rec.order_no = rec.order_no or ev.order_no
                self.recorder.order_event(now, rec, "accepted", qty=ev.leaves_qty, raw=ev.raw,
                                          late=step.how == LATE)
        elif isinstance(ev, OrderCancelled):
            if self._finish(rec, CANCELLED, "", qty=ev.cancelled_qty, raw=ev.raw):
                self._route_done(rec)
        elif isinstance(ev, OrderRejected):
            if ev.stage == "send":
                rec.send_rc = ev.code
            if rec.filled:             # refused after part of it filled: what was left of it is over
                if self._finish(rec, CANCELLED, f"refused after a partial fill: {ev.message}", raw=ev.raw):
                    self._route_done(rec)
                return
            was_timeout = rec.status == TIMEOUT
            if self._finish(rec, REJECTED, ev.message, raw=ev.raw):
                self.counters["rejects"] += 1
                if not was_timeout:        # a timeout was routed as a reject already
                    self._route_reject(rec)

    def _on_fill(self, rec: OrderRecord, ev: OrderFilled, now: int) -> None:
        was = rec.status
        step = self._step(rec, LAST_FILL if rec.filled + ev.qty >= rec.qty else FILL, qty=ev.qty, raw=ev.raw)
        if step is None:               # past the order's quantity: the broker's account tells what it holds
            self._ask_broker_later("a fill past its order's quantity")
            return
        if step.how == LATE:
            self.recorder.order_event(now, rec, "late_fill", qty=ev.qty, message=step.why, raw=ev.raw, late=True)
        rec.fills += 1
        rec.filled += ev.qty
        rec.value += ev.price * ev.qty
        liquidity = liquidity_of(rec.style)
        market = self.markets[rec.sym]
        fee = self.cost.fee(rec.venue, rec.side, ev.price, ev.qty, liquidity)
        tax = self.cost.tax(market, rec.side, ev.price, ev.qty)
        rec.fees += fee
        rec.tax += tax
        rec.broker_fees += ev.fee
        rec.broker_tax += ev.tax
        self.position[rec.sym] += ev.qty if rec.side == "buy" else -ev.qty
        self.last_price[rec.sym] = ev.price
        self.last_activity_ns = now
        cash = ev.price * ev.qty if rec.side == "sell" else -ev.price * ev.qty
        self._unrealised_cash[rec.sym] += cash - fee - tax
        if self.position[rec.sym] == 0:
            self.realised_krw += self._unrealised_cash[rec.sym]
            self._unrealised_cash[rec.sym] = 0
        if self.evaluator is not None:
            held = max(self.position[rec.sym], 0)
            self.evaluator.sellable[:, rec.sym] = held
        self.recorder.fill(now, rec, ev, fee, tax)
        self.counters["fills"] += 1                 # the recording must hold as many (record_end)
        if self._on_alert:
            self.notify(FILL_KINDS[rec.side], "", (rec.code, rec.venue, ev.qty, ev.price,
                                                   None if rec.pair is None else rec.pair.pair_id, rec.role))
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
                    if self.on_first_fill is not None:
                        self.on_first_fill(pair)
            else:
                pair.hedged += ev.qty
        if rec.done and rec.status != was:
            self._close(rec, step, "")             # this fill ends the order
        elif rec.done:
            self.recorder.order_final(rec)         # a late fill on an ended order: its row shows it
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
        if self.truth is not None:
            self.truth.watch(rec.sym)

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
            orig = self.orders.get(rec.cancel_of or "")
            if orig is not None and not orig.done:
                self.clock.call_later(self.timeouts.ack_ms, self._cancel_refused, orig.client_id, rec.qty)
            return
        if rec.role == "flatten":
            if self.truth is not None:       # e.g. 매도가능수량 부족: what does the broker hold?
                self.truth.request("flatten refused")
            return                           # the back-off timer tries again, never at once
        if pair is None or pair.ended_ns is not None:
            self.check_flat(rec.sym)
            return
        if rec.role == "entry":
            pair.fire("entry_rejected")
        else:
            pair.fire("hedge_rejected")

    # -- the safety net -----------------------------------------------------------------------
    def check_flat(self, sym: int) -> None:
        """Sell (or buy back) shares no live pair accounts for, until the symbol is flat.

        Never blindly: it waits while an order of the symbol outside a live pair is still working
        or unknown (cancelling one that rests and would lock the shares), sells at most what the
        broker says may be sold, spends at most ``max_flatten_orders`` orders per episode with a
        growing pause between them, and then freezes the symbol and asks the broker."""
        if sym in self.flattening or sym in self.flatten_retry:
            return
        excess = self.position[sym] - self.open_exposure(sym)
        if excess == 0:
            if self.truth is None or not self.truth.differs(sym):
                self.flatten_attempts[sym] = 0
                self._flatten_spent.discard(sym)
            return
        strays = [o for o in self.unfinished[sym].values() if o.role != "cancel"
                  and (o.pair is None or o.pair.ended_ns is not None)]
        if strays:
            self.cancel_live(None, [o.client_id for o in strays if self._rests(o)])
            return                # their outcome first: a fill, a cancel or the broker's answer calls again
        side = "sell" if excess > 0 else "buy"
        qty = abs(excess)
        if side == "sell" and self.truth is not None:
            sellable = self.truth.sellable(sym)
            if sellable is not None and sellable < qty:
                if sellable == 0:
                    self.truth.watch(sym)      # a lasting difference becomes a break: the broker decides
                    return
                qty = sellable
        code = self.profile.codes[sym]
        if self.flatten_attempts[sym] >= self.max_flatten_orders:
            if sym not in self._flatten_spent:
                self._flatten_spent.add(sym)
                self.alert("flatten_budget", f"{code}: {self.flatten_attempts[sym]} safety-net orders did "
                                             f"not flatten {qty} share(s); symbol frozen, asking the broker")
                if self.truth is not None:
                    self.truth.freeze(sym, "flatten budget spent")
                    self.truth.request("flatten budget spent")
            return
        self.flatten_attempts[sym] += 1
        self.counters["flatten_orders"] += 1
        self.alert("flatten", f"{code}: {qty} share(s) not owned by a live pair; sending a {side} IOC "
                              f"to flatten (attempt {self.flatten_attempts[sym]} of {self.max_flatten_orders})")
        rec = self._new_order("flatten", None, sym, self.flatten_venue, side, qty, "ioc_market", 0)
        self.flattening[sym] = rec.client_id
        self._send(rec, urgent=True)

    def _retry_flatten(self, sym: int) -> None:
        attempts = max(self.flatten_attempts[sym], 1)
        delay = self.timeouts.flatten_retry_ms * 2 ** min(attempts - 1, 5)
        self.flatten_retry[sym] = self.clock.call_later(delay, self._flatten_again, sym)

    def _flatten_again(self, sym: int) -> None:
        self.flatten_retry.pop(sym, None)
        self.check_flat(sym)

    # -- what the broker said (engine/broker_truth.py) ------------------------------------------
    def orders_in_flight(self, sym: int) -> bool:
        """An order of the symbol that is working or whose outcome is unknown (sent or waiting)."""
        return bool(self.unfinished[sym]) or any(o.sym == sym for o in self.pending_urgent)

    def unaccounted(self, open_ids: set[str], sent_before_ns: int) -> list[OrderRecord]:
        """Orders sent before ``sent_before_ns`` that we still think working (or never heard of),
        but that are not among the broker's open orders."""
        return [o for orders in self.unfinished for o in orders.values()
                if not (o.done or o.role == "cancel" or not o.sent_ns or o.sent_ns > sent_before_ns
                        or o.client_id in open_ids)]

    def settle_unaccounted(self, open_ids: set[str], sent_before_ns: int) -> None:
        """The ``unaccounted`` orders are over: a never-acknowledged one was not taken (rejected),
        an acknowledged one ended unseen (cancelled). A fill we never heard of shows in the
        holdings: broker truth opens a break for such a symbol before settling, so its pairs do
        not act on these outcomes."""
        for rec in self.unaccounted(open_ids, sent_before_ns):
            self.counters["settled_by_broker"] += 1
            self.adapter.forget(rec.client_id)
            if rec.ack_ns is None and rec.filled == 0:
                if self._finish(rec, REJECTED, "not among the broker's open orders: never taken"):
                    self.counters["rejects"] += 1
                    if rec.pair is None or rec.pair.ended_ns is not None:
                        self.check_flat(rec.sym)
            elif self._finish(rec, CANCELLED, "no longer open at the broker (open-orders TR)"):
                self._route_done(rec)

    def adopt_orders(self, orders: list[UnfinishedOrder]) -> None:
        """Orders a dead engine left unfinished (``trade --resume``, storage/resume.py): tracked
        again, outside any pair, so that their Chejan applies, the broker's open orders settle
        them and ``cancel_adopted`` can cancel what still rests."""
        index = {c: i for i, c in enumerate(self.profile.codes)}
        for u in orders:
            sym = index.get(u.code)
            if sym is None:
                continue
            rec = OrderRecord(u.client_id, u.role, sym, u.code, u.venue, u.side, u.qty, u.style, u.price)
            rec.sent_ns, rec.filled = u.sent_ns, u.filled
            rec.order_no = u.order_no or None
            rec.ack_ns = u.sent_ns if u.order_no else None
            rec.status = LIVE if u.order_no else TIMEOUT
            self.orders[rec.client_id] = rec
            self.unfinished[sym][rec.client_id] = rec
            self.adopted.append(rec.client_id)
            self.adapter.adopt_order(u.client_id, u.code, u.venue, u.side, u.qty, u.order_no, u.filled)
            self.recorder.order_sent(rec)

    def numbered_orders(self) -> dict[str, str]:
        """This run's orders (cancels aside) by the broker's number (as the adapters key them)."""
        return {norm_order_no(r.order_no): cid for cid, r in self.orders.items() if r.order_no and r.role != "cancel"}

    def learn_numbers(self, unclaimed: list[ExecutionRow], known: dict[str, str]) -> dict[str, str]:
        """Client ids for executions rows no order of ours claims by number (``trade --resume``):
        an order a dead engine sent and died before the broker's ack numbered it has fills at
        the broker and no number here. The broker numbers orders as they arrive, so an adopted
        un-numbered order's number lies between those of our orders sent just before and just
        after it (``known``: every number of ours, this run's and the day's earlier runs', by
        client id, whose sequence is the send order); the first unclaimed row of its code, side
        and quantity in that window is its own. The adapter learns the number too."""
        def seq(client_id: str) -> int:
            return int(client_id[1:])

        unnumbered = (self.orders[cid] for cid in self.adopted)
        waiting = sorted((r for r in unnumbered if not r.order_no and r.role != "cancel"), key=lambda r: seq(r.client_id))
        learned: dict[str, str] = {}
        if not waiting or not unclaimed:
            return learned
        bounds = sorted((seq(cid), int(no)) for no, cid in known.items())
        free = sorted(unclaimed, key=lambda r: int(r.order_no))
        for rec in waiting:
            s = seq(rec.client_id)
            lo = max((no for at, no in bounds if at < s), default=-1)
            hi = min((no for at, no in bounds if at > s), default=1 << 62)
            row = next((r for r in free if lo < int(r.order_no) < hi
                        and (r.code, r.side, r.qty) == (rec.code, rec.side, rec.qty)), None)
            if row is not None:
                free.remove(row)
                self.adapter.learn_order_no(rec.client_id, row.order_no)
                learned[row.order_no] = rec.client_id
        return learned

    def catch_up(self, row: ExecutionRow, client_id: str, day: DayOrder | None,
                 deliver: Callable[[OrderEvent], None]) -> int:
        """Fills the broker made for one of our orders that the engine never heard (a Chejan
        lost, or an engine that died: ``day`` is the order as the day's earlier runs recorded
        it), read from the executions TR's running totals: applied and recorded as one fill at
        their average price (exact to the won when they share one price; the broker's average
        is an integer). Returns the shares caught up."""
        rec = self.orders.get(client_id)
        reopened = rec is None
        if rec is None:                   # an order a dead run saw end: recorded again in this run
            assert day is not None
            if row.filled <= day.filled or day.code not in self.profile.codes:
                return 0                  # nothing missed (most of the day's orders)
            sym = self.profile.codes.index(day.code)
            rec = OrderRecord(day.client_id, day.role, sym, day.code, day.venue, day.side, day.qty, day.style,
                              day.price)
            rec.filled, rec.order_no = day.filled, row.order_no
            self.orders[rec.client_id] = rec
            self.recorder.order_sent(rec)
        missing = row.filled - rec.filled
        if missing <= 0:
            return 0
        past_value, past_fees, past_tax = (day.value, day.broker_fees, day.broker_tax) if day else (0, 0, 0)
        value = max(0, row.avg_price * row.filled - past_value - rec.value)
        price = max(1, (value + missing // 2) // missing)
        fee = max(0, row.fees - past_fees - rec.broker_fees)
        tax = max(0, row.tax - past_tax - rec.broker_tax)
        self.adapter.catch_up(rec.client_id, row.filled, row.fees, row.tax)
        deliver(OrderFilled(
            rec.client_id, rec.order_no or row.order_no, f"executions:{row.order_no}:{row.filled}", price, missing,
            row.filled, max(0, rec.qty - row.filled), fee, tax, self.clock.now_ns(),
            {"source": "executions TR", "filled": str(row.filled), "avg_price": str(row.avg_price)}))
        if reopened and not rec.done:
            self._finish(rec, "cancelled", "its remainder ended while no engine ran (executions TR)")
        return missing

    def cancel_adopted(self) -> None:
        """Cancel the dead engine's orders that still rest at the broker."""
        self.cancel_live(None, [c for c in self.adopted if self._rests(self.orders[c])])

    def adopt_position(self, sym: int, qty: int, cash_krw: int) -> None:
        """The broker's number replaces ours; ``cash_krw`` estimates the fills we never received."""
        self._unrealised_cash[sym] += cash_krw
        self.position[sym] = qty
        if qty == 0:
            self.realised_krw += self._unrealised_cash[sym]
            self._unrealised_cash[sym] = 0
        if self.evaluator is not None:
            self.evaluator.sellable[:, sym] = max(qty, 0)
        self.flatten_attempts[sym] = 0           # a new episode: the old attempts aimed at a wrong number
        self._flatten_spent.discard(sym)

    def has_live_orders(self) -> bool:
        return any(not o.done and o.role != "cancel" for o in self.orders.values())
