"""Order correlation: TR acks, messages and Chejan -> one clean event sequence per client order.

Whatever order OnReceiveMsg, OnReceiveTrData and OnReceiveChejanData arrive in, each client order
yields at most: ``OrderAck`` -> ``OrderAccepted`` -> ``OrderFilled``* -> one final
(``OrderCancelled`` | ``OrderRejected`` | the fill that leaves 0). Duplicates are dropped and
counted here and only here (a 체결 whose execution number, or running quantity, was seen, or one
past the order's quantity): the engine applies every ``OrderFilled`` it gets. Missing steps are
synthesised (a fill before its 접수 first emits ``OrderAccepted``).

- ``sRQName`` is the client id, so TrData and Msg map to the order directly.
- Chejan for an unknown order number is buffered until an ack maps the number. An un-acked
  order of ours with the same screen (orders rotate over the venue map's order screens), code,
  side and quantity as a 접수 or 체결 is mapped at once (the ack is then synthesised), so a
  dropped TR ack does not hide an order's fills. When several fit, the newest wins: an older one
  has had no 접수 for a whole screen rotation, so the broker most likely refused it (its TR reply
  lost), and an ambiguity must never park the Chejan for ever.
- The open-orders TR (opt10075) teaches the numbers of orders still working whose ack was lost
  (:meth:`OrderTracker.learn`), so a resting order can always be cancelled; an order the broker
  does not know is closed with :meth:`OrderTracker.forget`.
- An empty 주문번호 is a reject; its reason comes from OnReceiveMsg, which may come before the
  TrData or up to ``msg_grace_ms`` after it.
- Cancels: the cancel's own number carries 904 = original; its 확인 ends the ORIGINAL order with
  ``OrderCancelled(orig client id)``; its 거부 is ``OrderRejected(cancel client id)``. A 확인 on an
  original order's own number (IOC remainder, expiry, the follow-up of a cancel) ends it too.
- Fees: FID 938/939 read as running totals per order (or per fill, per the venue map); the
  engine gets each fill's increment.
"""
from __future__ import annotations

from collections import Counter, OrderedDict
from dataclasses import dataclass, field
from typing import Callable

from kxrules.clock import Clock, TimerHandle
from . import fids as F
from .events import (CancelIntent, OpenOrderRow, OrderAccepted, OrderAck, OrderCancelled, OrderEvent,
                     OrderFilled, OrderIntent, OrderRejected)
from .parsing import ChejanOrder, norm_order_no


@dataclass(slots=True, eq=False)
class TrackedOrder:
    client_id: str
    code: str
    venue: str
    side: str
    qty: int
    screen: str = ""
    price: int = 0
    is_cancel: bool = False
    orig: "TrackedOrder | None" = None
    order_no: str = ""  # normalised key
    order_no_raw: str = ""
    acked: bool = False
    accepted: bool = False
    final: bool = False
    cum_qty: int = 0
    cancelled_qty: int = 0
    fee_seen: int = 0
    tax_seen: int = 0
    caught_up_to: int = 0   # the executions TR's running quantity (trade --resume): a Chejan within it repeats
    exec_ids: set[str] = field(default_factory=set)
    reject_timer: TimerHandle | None = None

    @property
    def leaves(self) -> int:
        return max(0, self.qty - self.cum_qty - self.cancelled_qty)


class OrderTracker:
    def __init__(self, clock: Clock, emit: Callable[[OrderEvent], None], counters: Counter[str],
                 *, order_screen: str, fee_cumulative: bool = True, msg_grace_ms: float = 20.0,
                 buffer_limit: int = 10_000):
        self.clock = clock
        self._emit = emit
        self.counters = counters
        self.order_screen = order_screen
        self.fee_cumulative = fee_cumulative
        self.msg_grace_ms = msg_grace_ms
        self.buffer_limit = buffer_limit
        self.by_client: dict[str, TrackedOrder] = {}
        self.by_no: dict[str, TrackedOrder] = {}
        self._pending: list[TrackedOrder] = []  # sent, no number yet
        self._msgs: dict[str, str] = {}
        self._buffer: OrderedDict[str, list[tuple[ChejanOrder, dict[str, str]]]] = OrderedDict()
        self._buffered = 0

    # --- registration ---
    def register_new(self, intent: OrderIntent, screen: str = "") -> TrackedOrder:
        if intent.client_id in self.by_client:
            raise ValueError(f"client id {intent.client_id!r} was already used")
        o = TrackedOrder(intent.client_id, intent.code, intent.venue, intent.side, intent.qty,
                         screen or self.order_screen, intent.price)
        self.by_client[o.client_id] = o
        self._pending.append(o)
        return o

    def adopt(self, client_id: str, code: str, venue: str, side: str, qty: int, order_no_raw: str,
              cum_qty: int = 0) -> TrackedOrder:
        """An order an earlier engine sent (``trade --resume``): known by its number, its Chejan
        maps to it and it can be cancelled; without a number it waits to be learned."""
        o = TrackedOrder(client_id, code, venue, side, qty, self.order_screen, acked=bool(order_no_raw),
                         cum_qty=cum_qty)
        self.by_client[client_id] = o
        if order_no_raw:
            self._map(o, norm_order_no(order_no_raw), order_no_raw, {"source": "resume"})
        else:
            self._pending.append(o)
        return o

    def catch_up(self, client_id: str, filled: int, fees: int, tax: int) -> None:
        """The executions TR (``trade --resume``) told ``client_id``'s running totals: fills up
        to ``filled`` are the engine's already, so a Chejan that reports one of them late (its
        running quantity within them) is a repeat."""
        o = self.by_client.get(client_id)
        if o is None or filled <= o.cum_qty:
            return
        o.cum_qty = o.caught_up_to = filled
        o.fee_seen, o.tax_seen = max(o.fee_seen, fees), max(o.tax_seen, tax)
        if o.leaves == 0:
            o.final = True

    def register_cancel(self, intent: CancelIntent, orig: TrackedOrder, qty: int,
                        screen: str = "") -> TrackedOrder:
        if intent.client_id in self.by_client:
            raise ValueError(f"client id {intent.client_id!r} was already used")
        o = TrackedOrder(intent.client_id, orig.code, orig.venue, orig.side, qty,
                         screen or self.order_screen, is_cancel=True, orig=orig)
        self.by_client[o.client_id] = o
        self._pending.append(o)
        return o

    def reject(self, o: TrackedOrder, stage: str, code: int | None, message: str,
               raw: dict[str, str] | None = None) -> None:
        if o.final:
            self.counters["duplicate_reject"] += 1
            return
        o.final = True
        if o.reject_timer is not None:
            o.reject_timer.cancel()
            o.reject_timer = None
        if o in self._pending:
            self._pending.remove(o)
        self._msgs.pop(o.client_id, None)
        self._emit(OrderRejected(o.client_id, stage, code, message,  # type: ignore[arg-type]
                                 self.clock.now_ns(), raw or {}))

    # --- TR ack and message ---
    def on_tr(self, rqname: str, order_no_raw: str, raw: dict[str, str]) -> None:
        o = self.by_client.get(rqname)
        if o is None:
            self.counters["tr_unknown_rqname"] += 1
            return
        try:
            no = norm_order_no(order_no_raw)
        except ValueError:
            self.counters["tr_junk"] += 1
            return
        if not no:
            if o.order_no or o.final:
                self.counters["tr_duplicate"] += 1
                return
            msg = self._msgs.get(rqname)
            if msg is not None:
                self.reject(o, "tr", None, msg, {**raw, "msg": msg})
            elif o.reject_timer is None:
                o.reject_timer = self.clock.call_later(self.msg_grace_ms, self._tr_reject_due,
                                                       o, raw)
            return
        if o.order_no:
            self.counters["tr_duplicate" if o.order_no == no else "tr_conflict"] += 1
            return
        self._map(o, no, order_no_raw.strip(), raw)

    def _tr_reject_due(self, o: TrackedOrder, raw: dict[str, str]) -> None:
        o.reject_timer = None
        if not o.final and not o.order_no:
            msg = self._msgs.get(o.client_id, "")
            self.reject(o, "tr", None, msg, {**raw, "msg": msg})

    def on_msg(self, rqname: str, msg: str) -> None:
        o = self.by_client.get(rqname)
        if o is None or o.order_no or o.final:
            return
        self._msgs[rqname] = msg
        if o.reject_timer is not None:
            o.reject_timer.cancel()
            o.reject_timer = None
            self.reject(o, "tr", None, msg, {"rqname": rqname, "msg": msg})

    def _map(self, o: TrackedOrder, no: str, raw_no: str, raw: dict[str, str]) -> None:
        o.order_no, o.order_no_raw = no, raw_no
        self.by_no[no] = o
        if o in self._pending:
            self._pending.remove(o)
        self._msgs.pop(o.client_id, None)
        if not o.acked:
            o.acked = True
            self._emit(OrderAck(o.client_id, raw_no, self.clock.now_ns(), raw))
        for rec, rraw in self._buffer.pop(no, ()):
            self._buffered -= 1
            self._apply(o, rec, rraw)

    # --- Chejan gubun 0 ---
    def on_chejan(self, rec: ChejanOrder, raw: dict[str, str]) -> None:
        o = self.by_no.get(rec.order_no)
        if o is None:
            o = self._correlate(rec)
            if o is None:
                self._hold(rec, raw)
                return
            self.counters["chejan_before_ack"] += 1
            self._map(o, rec.order_no, rec.order_no_raw, {**raw, "source": "chejan"})
        self._apply(o, rec, raw)

    def _correlate(self, rec: ChejanOrder) -> TrackedOrder | None:
        if rec.is_cancel:
            if rec.status != F.ST_ACCEPTED:
                return None
            orig = self.by_no.get(rec.orig_no) if rec.orig_no else None
            if orig is None:
                return None
            cands = [c for c in self._pending if c.is_cancel and c.orig is orig]
        else:
            if rec.status not in (F.ST_ACCEPTED, F.ST_FILLED):
                return None
            if rec.orig_no and rec.orig_no != rec.order_no:
                return None
            cands = [c for c in self._pending if not c.is_cancel and not c.final
                     and c.code == rec.code and c.side == rec.side and c.qty == rec.order_qty
                     and (not rec.screen or rec.screen == c.screen)]
        if len(cands) > 1:
            self.counters["chejan_ambiguous_newest"] += 1
        return cands[-1] if cands else None

    # --- what the broker's open-orders TR says ---
    def learn(self, rows: list[OpenOrderRow]) -> None:
        """Map open orders whose number we never learned (their TR ack was lost): per (code,
        side, qty), unknown numbers in ascending order go to our un-numbered orders in send
        order (the broker numbers orders as they arrive). Sets ``row.client_id`` for ours."""
        unknown: dict[tuple[str, str, int], list[OpenOrderRow]] = {}
        for row in rows:
            o = self.by_no.get(row.order_no)
            if o is not None:
                row.client_id = o.client_id
            else:
                unknown.setdefault((row.code, row.side, row.qty), []).append(row)
        for (code, side, qty), found in unknown.items():
            mine = [o for o in self.by_client.values() if not o.is_cancel and not o.order_no
                    and not o.final and o.code == code and o.side == side and o.qty == qty]
            found.sort(key=lambda r: int(r.order_no))
            for o, row in zip(mine, found):
                self.counters["order_no_learned"] += 1
                self._map(o, row.order_no, row.order_no.zfill(7), {"source": "opt10075"})
                row.client_id = o.client_id

    def learn_number(self, client_id: str, order_no: str) -> None:
        """The engine matched one of our un-numbered orders to a row of the executions TR
        (``trade --resume``: a dead engine sent it and died before the broker's ack)."""
        o = self.by_client.get(client_id)
        if o is None or o.order_no or o.is_cancel:
            return
        self.counters["order_no_learned"] += 1
        self._map(o, order_no, order_no.zfill(7), {"source": "opt10076"})

    def forget(self, client_id: str) -> None:
        """The broker does not know this order (no ack, no Chejan, not open): close it here so
        it is no longer a correlation candidate. The engine records the outcome."""
        o = self.by_client.get(client_id)
        if o is None or o.final or o.order_no:
            return
        o.final = True
        if o in self._pending:
            self._pending.remove(o)
        if o.reject_timer is not None:
            o.reject_timer.cancel()
            o.reject_timer = None
        self.counters["order_forgotten"] += 1

    def _hold(self, rec: ChejanOrder, raw: dict[str, str]) -> None:
        self._buffer.setdefault(rec.order_no, []).append((rec, raw))
        self._buffered += 1
        self.counters["chejan_buffered"] += 1
        while self._buffered > self.buffer_limit:
            _, dropped = self._buffer.popitem(last=False)
            self._buffered -= len(dropped)
            self.counters["chejan_buffer_dropped"] += len(dropped)

    def _apply(self, o: TrackedOrder, rec: ChejanOrder, raw: dict[str, str]) -> None:
        if o.is_cancel:
            self._apply_cancel(o, rec, raw)
            return
        st = rec.status
        if st == F.ST_ACCEPTED:
            if rec.is_cancel or rec.is_modify:
                self.counters["chejan_odd"] += 1
            elif o.accepted or o.final:
                self.counters["duplicate_accept"] += 1
            else:
                self._accept(o, raw, rec.unfilled or o.leaves)
        elif st == F.ST_FILLED:
            self._fill(o, rec, raw)
        elif st in (F.ST_CONFIRMED, F.ST_CANCELLED):
            if o.final:
                self.counters["duplicate_cancel"] += 1
                return
            qty = min(o.leaves, max(0, (rec.order_qty or o.qty) - max(rec.cum_qty, o.cum_qty)))
            if qty > 0:
                self._cancelled(o, qty, raw)
            else:
                self.counters["cancel_nothing_left"] += 1
        elif st == F.ST_REJECTED:
            self._exchange_reject(o, rec, raw)
        else:
            self.counters["chejan_unknown_status"] += 1

    def _apply_cancel(self, c: TrackedOrder, rec: ChejanOrder, raw: dict[str, str]) -> None:
        orig = c.orig
        assert orig is not None
        st = rec.status
        if st == F.ST_ACCEPTED:
            c.accepted = True
        elif st in (F.ST_CONFIRMED, F.ST_CANCELLED):
            if c.final:
                self.counters["duplicate_cancel"] += 1
                return
            c.final = True
            if orig.final:
                self.counters["duplicate_cancel"] += 1
                return
            qty = min(rec.order_qty, orig.leaves)
            if qty > 0:
                self._cancelled(orig, qty, raw)
        elif st == F.ST_REJECTED:
            self._exchange_reject(c, rec, raw)
        else:
            self.counters["chejan_odd"] += 1

    def _accept(self, o: TrackedOrder, raw: dict[str, str], leaves: int) -> None:
        o.accepted = True
        self._emit(OrderAccepted(o.client_id, o.order_no_raw, leaves, self.clock.now_ns(), raw))

    def _fill(self, o: TrackedOrder, rec: ChejanOrder, raw: dict[str, str]) -> None:
        key = rec.exec_no or f"cum:{rec.cum_qty}"
        if key in o.exec_ids or 0 < rec.cum_qty <= o.caught_up_to:
            self.counters["duplicate_fill"] += 1
            return
        qty = rec.exec_qty or (rec.cum_qty - o.cum_qty)
        if qty <= 0 or rec.exec_price <= 0:
            self.counters["chejan_junk"] += 1
            return
        if o.cum_qty + qty > o.qty:              # more than the order's quantity: a repeat under another number
            self.counters["fill_over_qty"] += 1
            return
        o.exec_ids.add(key)
        if not o.accepted and not o.final:
            self._accept(o, raw, o.leaves)
        if o.final:
            self.counters["fill_after_final"] += 1
        o.cum_qty += qty
        if self.fee_cumulative:
            fee, tax = max(0, rec.fee - o.fee_seen), max(0, rec.tax - o.tax_seen)
            o.fee_seen, o.tax_seen = max(o.fee_seen, rec.fee), max(o.tax_seen, rec.tax)
        else:
            fee, tax = rec.fee, rec.tax
        leaves = o.leaves
        if leaves == 0:
            o.final = True
        self._emit(OrderFilled(o.client_id, o.order_no_raw, rec.exec_no, rec.exec_price, qty,
                               o.cum_qty, leaves, fee, tax, self.clock.now_ns(), raw))

    def _cancelled(self, o: TrackedOrder, qty: int, raw: dict[str, str]) -> None:
        if not o.accepted:
            self._accept(o, raw, o.leaves)
        o.cancelled_qty = qty
        o.final = True
        self._emit(OrderCancelled(o.client_id, o.order_no_raw, qty, self.clock.now_ns(), raw))

    def _exchange_reject(self, o: TrackedOrder, rec: ChejanOrder, raw: dict[str, str]) -> None:
        reason = rec.reject_reason if rec.reject_reason not in ("", "0") else "거부"
        self.reject(o, "exchange", None, reason, raw)

    def close(self) -> None:
        for o in self.by_client.values():
            if o.reject_timer is not None:
                o.reject_timer.cancel()
                o.reject_timer = None
