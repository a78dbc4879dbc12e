"""The emulated broker *server*: account, orders, matcher, and what it reports back when.

It outlives the control (``KiwoomEmulator``): a crashed engine can create a new control against
the same ``EmulatedServer`` and find its orders, holdings and cash where the broker left them.
Reports go to whichever control is attached and connected at delivery time; others are lost (as
Chejan is lost while a real session is down).

Report timing per order (latency draws from the sim profile): TrData (+Msg) at send+tr_ack;
Chejan 접수 at send+accept, after TrData unless the ``chejan_before_tr`` reorder fires; for a sell
a balance (orderable reduced) right after 접수; the order reaches the matcher at send+match;
each fill is reported at match+fill (체결 then balance, or balance first under
``balance_before_fill``); a cancel is confirmed at its send+cancel, never before it reached the
matcher. One order's Chejan events stay in order unless a late-Chejan fault delays one of them.
"""
from __future__ import annotations

from collections import deque
from typing import Any

from kxrules.clock import Clock
from kxrules.money.ticks import on_grid

from ..fids import ST_ACCEPTED, ST_CONFIRMED, ST_FILLED, ST_REJECTED
from ..venues import VenueMapConfig, load_venue_map_file
from ... import seoul
from ...market import VENUE_INDEX, VENUES
from ...seoul import NS_PER_MS, NS_PER_S
from . import formats as fm
from .accounts import Account
from .config import EmulatorConfig, FeeFn, default_fee_fn
from .faults import FaultDice, Latencies, Rngs
from .matching import EmuOrder, Exchange

GAP_NS = 1_000  # 1 µs between events of one burst
ORDERS_PER_S = 5


class EmulatedServer:
    def __init__(self, config: EmulatorConfig, clock: Clock, codes: list[str],
                 markets: dict[str, str], *, ref_prices: dict[str, int] | None = None,
                 fee_fn: FeeFn | None = None, midnight_ns: int | None = None,
                 venues: VenueMapConfig | None = None):
        self.cfg = config
        self.venues = venues or load_venue_map_file()       # which styles go with price 0
        self.clock = clock
        self.codes = list(codes)
        self.sym_of = {c: i for i, c in enumerate(self.codes)}
        self.markets = dict(markets)
        self.ref: dict[str, int] = dict(ref_prices or {})
        self.rngs = Rngs(config.seed)
        self.lat = Latencies(config, self.rngs)
        self.dice = FaultDice(config, self.rngs.fault)
        self.query_dice = FaultDice(config, self.rngs.query)
        self.loss_dice = FaultDice(config, self.rngs.loss)
        self.fee_fn: FeeFn = fee_fn or default_fee_fn(config.fees)
        self.account = Account.opening(config.account, config.cash_krw, config.holdings, self.ref)
        self.orders: dict[int, EmuOrder] = {}
        self.fills: list[tuple[int, int, str, str, str, int, int]] = []  # ledger
        self.control: Any = None
        self.undelivered = 0
        self.password_ok = not config.require_account_password
        self._next_no = 1
        self._next_exec = 1
        self._sent: deque[int] = deque()
        self._queries: deque[int] = deque()
        self._pages: dict[tuple[str, str], list[dict[str, str]]] = {}   # rows left for prev_next=2
        self.midnight_ns = seoul.midnight_of(clock.now_ns()) if midnight_ns is None else midnight_ns
        self.exchange = Exchange(len(self.codes), clock, config.fill_odds, self.rngs.fill, self)
        self.reconnect_ns: int | None = 0
        # when the server publishes real data of its own (FID 215 signals, VI on/off): the fast
        # replay splits its quote runs there to keep the real-data draws in step
        self.publish_times: list[int] = []
        self._schedule_day()

    # --- wiring ---
    def attach(self, control: Any) -> None:
        self.control = control

    def at_time(self, hms: str) -> int:
        return self.midnight_ns + seoul.parse_hms(hms) * NS_PER_S

    def _deliver(self, t: int, method: str, *args: Any) -> None:
        self.clock.call_at(t, self._deliver_now, method, args)

    def _deliver_now(self, method: str, args: tuple[Any, ...]) -> None:
        c = self.control
        if c is None or not c.connected:
            self.undelivered += 1
            return
        getattr(c, method)(*args)

    def _schedule_day(self) -> None:
        now = self.clock.now_ns()
        for venue, steps in self.cfg.sessions.items():
            vidx = VENUE_INDEX[venue]
            for step in steps:
                t = self.at_time(step.at)
                if t <= now:
                    self.exchange.open[vidx] = step.matching
                    continue
                self.exchange.venue_step(t, vidx, step.matching, step.expire_resting, step.closing_auction)
                self._publish_at(t, "session", step.code)
        for vi in self.cfg.faults.vi:
            sym = self.sym_of.get(vi.code)
            if sym is None:
                continue
            t_on = self.at_time(vi.at)
            t_off = t_on + int(vi.duration_s * NS_PER_S)
            self.exchange.vi_step(t_on, sym, True)
            self.exchange.vi_step(t_off, sym, False)
            self._publish_at(t_on, "vi", vi.code, True)
            self._publish_at(t_off, "vi", vi.code, False)
        f = self.cfg.faults
        if f.disconnect_at is not None:
            t = self.at_time(f.disconnect_at)
            self.clock.call_at(t, self._disconnect)

    def _publish_at(self, t: int, kind: str, *args: Any) -> None:
        self.publish_times.append(t)
        self.clock.call_at(t, self._publish, kind, *args)

    def _publish(self, kind: str, *args: Any) -> None:
        c = self.control
        if c is not None:
            getattr(c, "publish_" + kind)(*args)

    def _disconnect(self) -> None:
        f = self.cfg.faults
        now = self.clock.now_ns()
        self.reconnect_ns = (None if f.reconnect_after_s is None
                             else now + int(f.reconnect_after_s * NS_PER_S))
        if self.control is not None:
            self.control.drop_connection()

    # --- prices for formatting ---
    def ref_price(self, code: str) -> int:
        ref = self.ref.get(code)
        if ref is None:
            sym = self.sym_of.get(code)
            bid, ask = self.exchange.top(sym, 0) if sym is not None else (0, 0)
            ref = (bid + ask) // 2 if bid and ask else (bid or ask)
            if ref:
                self.ref[code] = ref
        return ref or 0

    def _marks(self, code: str, vidx: int = 0) -> tuple[int, int, int, int]:
        """(last, bid, ask, ref) for the price fields of a Chejan record."""
        sym = self.sym_of[code]
        bid, ask = self.exchange.top(sym, vidx)
        ref = self.ref_price(code)
        last = (bid + ask) // 2 if bid and ask else (bid or ask or ref)
        return last, bid, ask, ref

    # --- order entry (called by the control after its own call checks) ---
    def rate_ok(self, now: int) -> bool:
        """≤ 5 orders (cancels included) in any 1,000 ms; a refused call does not count."""
        sent = self._sent
        while sent and now - sent[0] >= NS_PER_S:
            sent.popleft()
        if len(sent) >= ORDERS_PER_S:
            return False
        sent.append(now)
        return True

    def _new_no(self) -> int:
        no = self._next_no
        self._next_no += 1
        return no

    def _check_new(self, venue: str, side: str, code: str, qty: int, price: int, style: str,
                   now: int) -> tuple[str | None, int]:
        """(reject message or None, estimated price for the cash reservation)."""
        if self.dice.hit(self.cfg.faults.reject_rate):
            return fm.MSG_FAULT_REJECT, 0
        vidx = VENUE_INDEX.get(venue)
        if vidx is None or (style == "mid" and venue != "NXT"):
            return fm.MSG_VENUE_UNSUPPORTED, 0
        if not self.exchange.open[vidx]:
            first_open = min((self.at_time(s.at) for s in self.cfg.sessions.get(VENUES[vidx], ())
                              if s.matching), default=now + 1)
            return (fm.MSG_BEFORE_OPEN if now < first_open else fm.MSG_CLOSED), 0
        priced = not self.venues.needs_zero_price(venue, style)
        if priced and price <= 0:
            return fm.MSG_NO_PRICE, 0
        if not priced and price != 0:
            return fm.MSG_PRICE_NOT_ALLOWED, 0
        if priced and not on_grid(price):
            return fm.MSG_OFF_TICK, 0
        if side == "sell":
            return (None if qty <= self.account.holding(code).orderable
                    else fm.MSG_SELL_EXCEEDS), price
        bid, ask = self.exchange.top(self.sym_of[code], vidx)
        est = price if priced else (ask or bid or self.ref_price(code))
        need = est * qty + self.fee_fn(venue, "buy", est, qty, self.markets.get(code, "KOSPI"), style)[0]
        return (None if need <= self.account.orderable_cash else fm.MSG_CASH_EXCEEDS), est

    def _tr_reply(self, t: int, rqname: str, screen: str, trcode: str, order_no: str,
                  msg: str) -> None:
        f = self.cfg.faults
        if self.dice.hit(f.tr_ack_drop_rate):
            return
        if self.dice.hit(f.tr_ack_late_rate):
            t += int(f.tr_ack_late_ms * 1_000_000)
        tr = ("emit_tr", screen, rqname, trcode, order_no)
        mg = ("emit_msg", screen, rqname, trcode, msg)
        for ev in ((mg, tr) if self.dice.hit(f.reorder.msg_before_tr) else (tr, mg)):
            self._deliver(t, *ev)

    def _plan_ack(self, now: int) -> tuple[int, int]:
        """(TrData time, 접수 time): 접수 follows TrData unless the reorder fault fires."""
        t_tr = now + self.lat.tr_ack.ns()
        t_acc = now + self.lat.accept.ns()
        if self.dice.hit(self.cfg.faults.reorder.chejan_before_tr):
            t_tr = max(t_tr, t_acc + GAP_NS)
        else:
            t_acc = max(t_acc, t_tr + GAP_NS)
        return t_tr, t_acc

    def submit_new(self, rqname: str, screen: str, venue: str, side: str, code: str, qty: int,
                   price: int, style: str) -> None:
        now = self.clock.now_ns()
        self.exchange.advance(now)
        market = self.markets.get(code, "KOSPI")
        trcode = fm.tr_code(side, market)
        reason, est = self._check_new(venue, side, code, qty, price, style, now)
        if reason is not None:
            self._tr_reply(now + self.lat.tr_ack.ns(), rqname, screen, trcode, "", reason)
            return
        o = EmuOrder(self._new_no(), rqname, screen, venue, VENUE_INDEX[venue], self.sym_of[code],
                     code, side, qty, price, style, qty, created_ns=now, est_price=est)
        self.orders[o.order_no] = o
        if side == "sell":
            self.account.reserve_sell(code, qty)
        else:
            o.reserved_cash = est * qty
            self.account.reserve_buy(o.reserved_cash)
        t_tr, t_acc = self._plan_ack(now)
        self._tr_reply(t_tr, rqname, screen, trcode, fm.order_no_str(o.order_no), fm.MSG_OK[side])
        self._chejan_order(o, t_acc, ST_ACCEPTED, unfilled=qty)
        if side == "sell":
            self._balance(self._seq(o, t_acc + GAP_NS), code, side, o.vidx)
        o.exchange_reject = self.dice.hit(self.cfg.faults.exchange_reject_rate)
        o.arrive_ns = now + self.lat.match.ns()
        self.exchange.submit(o, o.arrive_ns)

    def submit_cancel(self, rqname: str, screen: str, venue: str, code: str, qty: int,
                      orig_no: str) -> None:
        now = self.clock.now_ns()
        self.exchange.advance(now)
        trcode = fm.tr_code("cancel", self.markets.get(code, "KOSPI"))
        orig = self.orders.get(int(orig_no)) if orig_no.strip().isdigit() else None
        if (orig is None or orig.is_cancel or orig.code != code or orig.venue != venue
                or orig.leaves <= 0 or orig.status == "done"):
            self._tr_reply(now + self.lat.tr_ack.ns(), rqname, screen, trcode, "",
                           fm.MSG_NOTHING_TO_CANCEL)
            return
        if qty > orig.leaves:
            self._tr_reply(now + self.lat.tr_ack.ns(), rqname, screen, trcode, "",
                           fm.MSG_CANCEL_EXCEEDS)
            return
        c = EmuOrder(self._new_no(), rqname, screen, venue, orig.vidx, orig.sym, code, orig.side,
                     qty or orig.leaves, 0, orig.style, qty or orig.leaves, created_ns=now,
                     is_cancel=True, orig=orig)
        self.orders[c.order_no] = c
        t_tr, t_acc = self._plan_ack(now)
        self._tr_reply(t_tr, rqname, screen, trcode, fm.order_no_str(c.order_no),
                       fm.MSG_OK["cancel"])
        self._chejan_order(c, t_acc, ST_ACCEPTED, unfilled=c.qty)
        c.arrive_ns = max(now + self.lat.match.ns(), orig.arrive_ns + GAP_NS)
        self.exchange.cancel(c, c.arrive_ns)

    # --- Chejan building ---
    def _seq(self, o: EmuOrder, t: int) -> int:
        """Keep one order's reports in order: at least GAP after the previous one."""
        t = max(t, o.last_chejan_ns + GAP_NS)
        o.last_chejan_ns = t
        return t

    def _chejan_order(self, o: EmuOrder, t: int, status: str, *, unfilled: int,
                      exec_no: str = "", exec_price: int = 0, exec_qty: int = 0,
                      order_qty: int | None = None, kind: str | None = None,
                      orig_no: int = 0, reason: str = "0", sequence: bool = True,
                      duplicate: bool = False) -> int:
        if sequence:
            t = self._seq(o, t)
        last, bid, ask, ref = self._marks(o.code, o.vidx)
        if kind is None:
            kind = ("+매수" if o.side == "buy" else "-매도") if not o.is_cancel else \
                ("매수취소" if o.side == "buy" else "매도취소")
        rec = fm.chejan_order_record(
            account=self.account.number, order_no=o.order_no,
            orig_no=orig_no or (o.orig.order_no if o.orig else 0), code=o.code,
            name=self.cfg.names.get(o.code, o.code), status=status, side=o.side, kind=kind,
            style=o.style, order_qty=o.qty if order_qty is None else order_qty,
            order_price=o.price, unfilled=unfilled, cum_qty=o.cum_qty, cum_amount=o.cum_amount,
            exec_no=exec_no, exec_price=exec_price, exec_qty=exec_qty, fee_cum=o.fee_cum,
            tax_cum=o.tax_cum, screen=o.screen, ts_ns=t, last=last, bid=bid, ask=ask, ref=ref,
            reject_reason=reason)
        f = self.cfg.faults
        t_out = t + (int(f.chejan_late_ms * 1_000_000) if self.dice.hit(f.chejan_late_rate) else 0)
        if self.loss_dice.hit(f.chejan_drop_rate):
            return t                     # lost on the way: the engine never hears of it
        self._deliver(t_out, "emit_chejan", "0", rec)
        if duplicate:
            self._deliver(t_out + GAP_NS, "emit_chejan", "0", rec)
        return t

    def _balance(self, t: int, code: str, side: str, vidx: int = 0) -> None:
        h = self.account.holding(code)
        last, bid, ask, ref = self._marks(code, vidx)
        rec = fm.chejan_balance_record(
            account=self.account.number, code=code, name=self.cfg.names.get(code, code),
            holding=h.qty, avg_price=h.avg_price, total_cost=h.total_cost, orderable=h.orderable,
            net_buy_today=h.net_buy_today, side=side, realized_today=h.realized_today,
            last=last, bid=bid, ask=ask, ref=ref)
        self._deliver(t, "emit_chejan", "1", rec)

    # --- exchange callbacks ---
    def on_fill(self, o: EmuOrder, price: int, qty: int, t: int) -> None:
        fee, tax = self.fee_fn(o.venue, o.side, price, qty, self.markets.get(o.code, "KOSPI"), o.style)
        o.fee_cum += fee
        o.tax_cum += tax
        acct = self.account
        if o.side == "buy":
            release = min(o.reserved_cash, o.est_price * qty if o.est_price else o.reserved_cash)
            if o.leaves == 0:
                release = o.reserved_cash
            o.reserved_cash -= release
            acct.release_buy(release)
            acct.settle_buy(o.code, price, qty, fee)
        else:
            acct.settle_sell(o.code, price, qty, fee, tax)
        exec_no = str(self._next_exec)
        self._next_exec += 1
        self.fills.append((t, o.order_no, o.code, o.venue, o.side, price, qty))
        f = self.cfg.faults
        t_f = self._seq(o, t + self.lat.fill.ns())
        dup = self.dice.hit(f.duplicate_chejan_rate)
        if self.dice.hit(f.reorder.balance_before_fill):
            self._balance(t_f, o.code, o.side, o.vidx)
            t_f = self._seq(o, t_f + GAP_NS)
            self._chejan_order(o, t_f, ST_FILLED, unfilled=o.leaves, exec_no=exec_no,
                               exec_price=price, exec_qty=qty, sequence=False, duplicate=dup)
        else:
            self._chejan_order(o, t_f, ST_FILLED, unfilled=o.leaves, exec_no=exec_no,
                               exec_price=price, exec_qty=qty, sequence=False, duplicate=dup)
            self._balance(self._seq(o, t_f + GAP_NS), o.code, o.side, o.vidx)

    def _release(self, o: EmuOrder, qty: int) -> None:
        if o.side == "sell":
            self.account.release_sell(o.code, qty)
        else:
            self.account.release_buy(o.reserved_cash)
            o.reserved_cash = 0

    def on_expire(self, o: EmuOrder, qty: int, t: int) -> None:
        """IOC remainder or session expiry: 확인 on the order's own number."""
        self._release(o, qty)
        t_c = self._chejan_order(o, t + self.lat.fill.ns(), ST_CONFIRMED, unfilled=0,
                                 kind="매수취소" if o.side == "buy" else "매도취소",
                                 orig_no=o.order_no)
        if o.side == "sell":
            self._balance(self._seq(o, t_c + GAP_NS), o.code, o.side, o.vidx)

    def on_cancel_done(self, c: EmuOrder, orig: EmuOrder, qty: int, t: int) -> None:
        """The cancel's 확인 reports the quantity it took off (900 주문수량); when that was the whole
        remainder, a 확인 on the original order's own number follows."""
        partial = orig.leaves > 0
        if partial:
            self._release_part(orig, qty)
        else:
            self._release(orig, qty)
        c.status = "done"
        c.leaves = 0
        t_c = max(c.created_ns + self.lat.cancel.ns(), t)
        t_c = self._chejan_order(c, t_c, ST_CONFIRMED, unfilled=0, order_qty=qty)
        orig.last_chejan_ns = max(orig.last_chejan_ns, t_c)
        if partial:
            if orig.side == "sell":
                self._balance(self._seq(orig, t_c + GAP_NS), orig.code, orig.side, orig.vidx)
            return
        t_o = self._chejan_order(orig, t_c + GAP_NS, ST_CONFIRMED, unfilled=0,
                                 kind="매수취소" if orig.side == "buy" else "매도취소",
                                 orig_no=orig.order_no)
        if orig.side == "sell":
            self._balance(self._seq(orig, t_o + GAP_NS), orig.code, orig.side, orig.vidx)

    def _release_part(self, o: EmuOrder, qty: int) -> None:
        """Part of a working order cancelled: free its shares, or its cash at the reserved price."""
        if o.side == "sell":
            self.account.release_sell(o.code, qty)
            return
        part = min(o.reserved_cash, (o.est_price or o.price) * qty)
        o.reserved_cash -= part
        self.account.release_buy(part)

    def on_cancel_failed(self, c: EmuOrder, t: int) -> None:
        c.status = "done"
        c.leaves = 0
        self._chejan_order(c, max(c.created_ns + self.lat.cancel.ns(), t), ST_REJECTED,
                           unfilled=0, reason=fm.MSG_NOTHING_TO_CANCEL)

    def on_reject(self, o: EmuOrder, reason: str, t: int) -> None:
        self._release(o, o.leaves)
        o.leaves = 0
        t_r = self._chejan_order(o, t + self.lat.fill.ns(), ST_REJECTED, unfilled=0,
                                 reason=reason)
        if o.side == "sell":
            self._balance(self._seq(o, t_r + GAP_NS), o.code, o.side, o.vidx)

    # --- account TRs: opw00018 (holdings), opt10075 (open orders), opt10076 (orders with fills) ---
    def query_rate_ok(self, now: int) -> bool:
        """Every declared query window has room; a refused call does not count."""
        q = self._queries
        longest = max(w.window_ms for w in self.cfg.query_limits) * NS_PER_MS
        while q and now - q[0] >= longest:
            q.popleft()
        for w in self.cfg.query_limits:
            horizon = now - w.window_ms * NS_PER_MS
            if sum(1 for t in q if t > horizon) >= w.capacity:
                return False
        q.append(now)
        return True

    def submit_query(self, rqname: str, screen: str, trcode: str, prev_next: int,
                     inputs: dict[str, str]) -> None:
        """Answer after the query latency with the account as it is *then* (it may already show
        fills whose Chejan is still on its way, as at the real broker)."""
        t = self.clock.now_ns() + self.lat.query.ns()
        if self.query_dice.hit(self.cfg.faults.query_drop_rate):
            return
        self.clock.call_at(t, self._answer_query, rqname, screen, trcode, prev_next, dict(inputs))

    def _answer_query(self, rqname: str, screen: str, trcode: str, prev_next: int,
                      inputs: dict[str, str]) -> None:
        key = (trcode, rqname)
        if prev_next == 2 and key in self._pages:
            rows = self._pages.pop(key)
        elif trcode == fm.TR_HOLDINGS:
            rows = [fm.holding_row(c, self.cfg.names.get(c, c), h.qty, h.orderable, h.avg_price,
                                   self._marks(c)[0])
                    for c, h in sorted(self.account.holdings.items()) if h.qty > 0]
        elif trcode == fm.TR_EXECUTIONS:
            rows = [fm.execution_row(o, self.cfg.names.get(o.code, o.code)) for o in self.executions()]
        else:
            rows = [fm.open_order_row(self.account.number, o, self.cfg.names.get(o.code, o.code))
                    for o in self.open_orders() if o.leaves > 0]
        page, rest = rows[:fm.ROWS_PER_PAGE], rows[fm.ROWS_PER_PAGE:]
        if rest:
            self._pages[key] = rest
        single = fm.holdings_summary(rows) if trcode == fm.TR_HOLDINGS else {}
        self._deliver_now("emit_tr_rows", (screen, rqname, trcode, "2" if rest else "0", single, page))

    # --- views for tests and recovery ---
    def open_orders(self) -> list[EmuOrder]:
        return [o for o in self.orders.values() if not o.is_cancel and o.status != "done"]

    def executions(self) -> list[EmuOrder]:
        """The day's orders with fills (the executions TR)."""
        return [o for o in self.orders.values() if not o.is_cancel and o.cum_qty > 0]
