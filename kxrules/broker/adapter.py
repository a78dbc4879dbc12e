"""``KiwoomAdapter``: the one place where control strings become engine events (both controls).

Market data: 주식호가잔량 -> ``listener.on_quote`` (ints only), 주식체결 -> ``on_trade`` if the
listener has it, 장시작시간 (FID 215) -> ``SessionEvent``, VI발동/해제 (9068) -> ``ViEvent``.
Empty strings and junk are counted in ``counters`` and dropped; nothing raises out of a handler
because of a bad string. Orders: intents -> ``SendOrder`` with the venue's codes from the venue
map; acks, messages and Chejan -> order events via :class:`~kxrules.broker.orders.OrderTracker`.
The adapter keeps no timeouts of its own beyond a short wait for a reject's message.
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Callable

from kxrules.clock import Clock
from . import errors as E
from . import fids as F
from .events import (AccountPage, BalanceUpdate, BrokerListener, CancelIntent, ConnectionEvent, MasterStateEvent,
                     ExecutionRow, HoldingRow, OpenOrderRow, OrderIntent, SessionEvent, ViEvent)
from .master import restrictions
from .ocx import OcxLike, split_list
from .orders import OrderTracker
from .parsing import (norm_order_no, parse_chejan_balance, parse_chejan_order, parse_int_or,
                      session_venue, strip_code)
from .screens import plan_quote_registrations, plan_session_registrations
from .server import server_of_gubun
from .venues import VenueMapConfig

#: account TRs: kind -> (sRQName, TR code, inputs besides 계좌번호)
ACCOUNT_TRS = {
    "holdings": ("kx:holdings", "opw00018",
                 {"비밀번호": "", "비밀번호입력매체구분": "00", "조회구분": "2"}),
    "open_orders": ("kx:open_orders", "opt10075",
                    {"전체종목구분": "0", "매매구분": "0", "종목코드": "", "체결구분": "1"}),
    # 실시간체결요청: every order of the day with fills (체결구분 2), its running totals
    "executions": ("kx:executions", "opt10076",
                   {"종목코드": "", "조회구분": "0", "매도수구분": "0", "비밀번호": "", "체결구분": "2"}),
}
_ACCOUNT_RQ = {rq: kind for kind, (rq, _, _) in ACCOUNT_TRS.items()}

# a Chejan event's FID list, split and converted once per distinct list (the control sends a
# handful of forms all day); bounded so that a control sending arbitrary lists cannot grow it
_CHEJAN_FID_CACHE: dict[str, tuple[tuple[str, ...], tuple[int, ...]]] = {}
_CHEJAN_FID_CACHE_MAX = 256


def _chejan_fids(fid_list: str) -> tuple[tuple[str, ...], tuple[int, ...]]:
    """The numeric FIDs of ``fid_list``, in order: as text and as numbers."""
    fids = _CHEJAN_FID_CACHE.get(fid_list)
    if fids is None:
        texts = tuple(f for f in split_list(fid_list) if f.isdigit())
        fids = (texts, tuple(map(int, texts)))
        if len(_CHEJAN_FID_CACHE) < _CHEJAN_FID_CACHE_MAX:
            _CHEJAN_FID_CACHE[fid_list] = fids
    return fids


class _ChejanValues(dict[int, str]):
    """The values read for an event's listed FIDs, by number; a FID it did not list is asked of
    the control (as a C lookup: the parsers read ~17 FIDs an event)."""
    __slots__ = ("ask",)        # dict's own constructor, then ``ask`` set: no Python frame to build one
    ask: Callable[[int], str]

    def __missing__(self, fid: int) -> str:
        return self.ask(fid)


_JUNK_KEYS = ("quote_junk", "quote_empty", "trade_junk", "session_junk", "vi_junk",
              "chejan_junk", "balance_junk")


class KiwoomAdapter:
    def __init__(self, ocx: OcxLike, venues: VenueMapConfig, clock: Clock,
                 listener: BrokerListener, codes: list[str], account: str | None = None,
                 *, msg_grace_ms: float = 20.0):
        self.ocx = ocx
        self.venues = venues
        self.clock = clock
        self.listener = listener
        self.codes = list(codes)
        self.account = account
        self.accounts: list[str] = []
        self.connected = False
        self.counters: Counter[str] = Counter()
        self._sym = {c: i for i, c in enumerate(self.codes)}
        self._keys: dict[str, tuple[int, int]] = {}
        for name in venues.quote_venues():
            spec = venues.spec(name)
            for i, c in enumerate(self.codes):
                self._keys[c + spec.real_suffix] = (i, spec.index)
        self._on_quote = listener.on_quote
        self._on_trade = getattr(listener, "on_trade", None)
        self._get_real = ocx.GetCommRealData
        self._last_balance: dict[str, tuple[int, int, int]] = {}
        self._subscribed = False
        self._password_asked = False
        self._screens_used: set[str] = set()
        self._order_screens = venues.screens.order_screens
        self._next_screen = 0
        self.orders = OrderTracker(clock, listener.on_order_event, self.counters,
                                   order_screen=venues.screens.order,
                                   fee_cumulative=venues.chejan.fee_tax == "cumulative_per_order",
                                   msg_grace_ms=msg_grace_ms)
        self._handlers = ((ocx.OnEventConnect, self._on_event_connect),
                          (ocx.OnReceiveRealData, self._on_real),
                          (ocx.OnReceiveTrData, self._on_tr),
                          (ocx.OnReceiveMsg, self._on_msg),
                          (ocx.OnReceiveChejanData, self._on_chejan))
        for sig, fn in self._handlers:
            sig.connect(fn)

    @property
    def dropped_junk(self) -> int:
        return sum(self.counters[k] for k in _JUNK_KEYS)

    # --- session ---
    def connect(self) -> int:
        """Start the login (CommConnect); the outcome arrives as a ConnectionEvent. A control
        already logged in (an engine restarted against a running gateway) says nothing more, so
        its login is taken as done at once."""
        if self.ocx.GetConnectState() == 1:
            self._on_event_connect(E.OP_ERR_NONE)
            return E.OP_ERR_NONE
        ret = self.ocx.CommConnect()
        if ret != E.OP_ERR_NONE:
            self.listener.on_connection(ConnectionEvent(False, ret, self.clock.now_ns(),
                                                        {"error": E.error_message(ret)}))
        return ret

    def _on_event_connect(self, err: int) -> None:
        now = self.clock.now_ns()
        err = int(err)
        if err != E.OP_ERR_NONE:
            self.connected = False
            self.listener.on_connection(ConnectionEvent(False, err, now,
                                                        {"error": E.error_message(err)}))
            return
        accounts = split_list(self.ocx.GetLoginInfo("ACCNO"))
        if self.account is None and accounts:
            self.account = accounts[0]
        if self.account not in accounts:
            self.connected = False
            self.listener.on_connection(ConnectionEvent(
                False, E.OP_ERR_OTHER_ACC_USE, now,
                {"error": f"account {self.account} is not in ACCNO", "accounts": ";".join(accounts)}))
            return
        self.accounts = accounts
        self.connected = True
        self._password_asked = self.venues.login.show_account_window
        if self._password_asked:
            self.ocx.KOA_Functions("ShowAccountWindow", "")
        if self._subscribed:
            self._register_all()
        self._read_master_states(now)
        gubun = self._server_gubun()
        self.listener.on_connection(ConnectionEvent(True, 0, now, {
            "accounts": ";".join(accounts), "server_gubun": gubun}, server=server_of_gubun(gubun)))

    def _read_master_states(self, now: int) -> None:
        """Each code's master data (GetMasterStockState, GetMasterConstruction: synchronous,
        no TR) as a MasterStateEvent, before the login is reported: the engine mutes restricted
        names before it can arm."""
        on_master = getattr(self.listener, "on_master_state", None)
        if on_master is None:
            return
        for code in self.codes:
            state, construction = self.ocx.GetMasterStockState(code), self.ocx.GetMasterConstruction(code)
            on_master(MasterStateEvent(code, restrictions(state, construction), now,
                                       {"state": state, "construction": construction}))

    def _server_gubun(self) -> str:
        """GetServerGubun as KOA Studio documents it (GetLoginInfo), else as koapy asks it
        (KOA_Functions): some set-ups answer only one of them."""
        return (self.ocx.GetLoginInfo("GetServerGubun") or self.ocx.KOA_Functions("GetServerGubun", "")).strip()

    def check_connection(self) -> bool:
        """Poll ``GetConnectState`` (the real control may drop without an event): a drop is
        reported once as ``ConnectionEvent(False, -106)``. Call it from a Clock timer."""
        up = self.ocx.GetConnectState() == 1
        if self.connected and not up:
            self.connected = False
            self.listener.on_connection(ConnectionEvent(
                False, E.OP_ERR_SOCKET_CLOSED, self.clock.now_ns(),
                {"error": "GetConnectState() == 0", "source": "poll"}))
        return up

    def subscribe_quotes(self) -> int:
        """Register every code on every quoted venue plus the market-wide signals.

        Returns 0 or the first failing SetRealReg code; before login it only remembers the wish
        and registers on the next successful login (also after a reconnect)."""
        self._subscribed = True
        if not self.connected:
            return E.OP_ERR_SOCKET_CLOSED
        return self._register_all()

    def _register_all(self) -> int:
        first = 0
        plan = plan_quote_registrations(self.codes, self.venues, trades=self._on_trade is not None) + \
            plan_session_registrations(self.venues)
        for reg in plan:
            ret = self.ocx.SetRealReg(reg.screen, reg.codes_arg, reg.fids_arg, reg.opt)
            self._screens_used.add(reg.screen)
            if ret != E.OP_ERR_NONE:
                self.counters["realreg_failed"] += 1
                first = first or ret
        return first

    def close(self) -> None:
        for screen in sorted(self._screens_used):
            self.ocx.DisconnectRealData(screen)
        self._screens_used.clear()
        self._subscribed = False
        self.orders.close()
        for sig, fn in self._handlers:
            try:
                sig.disconnect(fn)  # type: ignore[attr-defined]
            except Exception:  # noqa: BLE001 - a Qt signal may already be gone
                pass

    # --- real data ---
    def _on_real(self, key: str, rtype: str, data: str) -> None:
        if rtype == F.RT_HOGA:
            received_ns = self.clock.now_ns()       # the engine's added latency counts from here
            ent = self._keys.get(key)
            if ent is None:
                self.counters["real_unknown_code"] += 1
                return
            g = self._get_real
            a, b, aq, bq = g(key, 41), g(key, 51), g(key, 61), g(key, 71)
            try:
                ask, bid, ask_qty, bid_qty = abs(int(a)), abs(int(b)), int(aq), int(bq)
            except ValueError:
                empty = not (a.strip() and b.strip() and aq.strip() and bq.strip())
                self.counters["quote_empty" if empty else "quote_junk"] += 1
                return
            if ask_qty < 0 or bid_qty < 0 or "_" in a + b + aq + bq:
                self.counters["quote_junk"] += 1
                return
            self._on_quote(ent[0], ent[1], bid, ask, bid_qty, ask_qty, received_ns)
        elif rtype == F.RT_TRADE:
            self._trade(key)
        elif rtype == F.RT_SESSION:
            self._session(key)
        elif rtype == F.RT_VI:
            self._vi(key)
        else:
            self.counters["real_other_type"] += 1

    def _trade(self, key: str) -> None:
        ent = self._keys.get(key)
        if ent is None:
            self.counters["real_unknown_code"] += 1
            return
        if self._on_trade is None:
            return
        g = self._get_real
        p, q = g(key, F.LAST_PRICE), g(key, F.TRADE_QTY)
        try:
            price, qty = abs(int(p)), int(q)
        except ValueError:
            self.counters["trade_junk"] += 1
            return
        self._on_trade(ent[0], ent[1], price, qty, self.clock.now_ns())

    def _session(self, key: str) -> None:
        g = self._get_real
        code = g(key, F.SESSION_CODE).strip()
        if len(code) != 1:
            self.counters["session_junk"] += 1
            return
        raw = {"key": key, "215": code, "20": g(key, F.TRADE_TIME), "214": g(key, F.SESSION_REMAIN)}
        self.listener.on_session(SessionEvent(session_venue(code), code, self.clock.now_ns(), raw))

    def _vi(self, key: str) -> None:
        g = self._get_real
        flag = g(key, F.VI_GUBUN).strip()
        code = self.venues.split_real_code(strip_code(g(key, F.CODE)) or key)[0]
        if flag not in ("1", "2") or not code:
            self.counters["vi_junk"] += 1
            return
        raw = {"key": key, **{str(f): g(key, f) for f in (F.CODE, F.VI_GUBUN, F.VI_TRIGGER_PRICE,
                                                          F.VI_KIND, F.VI_RELEASE_TIME)}}
        self.listener.on_vi(ViEvent(code, flag == "1", self.clock.now_ns(), raw))

    # --- orders out ---
    def _validate(self, intent: OrderIntent) -> str | None:
        spec = self.venues.venues.get(intent.venue)  # type: ignore[call-overload]
        if spec is None or not spec.enabled:
            return f"venue {intent.venue!r} is unknown or disabled in the venue map"
        if intent.style not in spec.hoga:
            return f"venue {intent.venue} has no order style {intent.style!r}"
        if intent.side not in ("buy", "sell"):
            return f"side must be buy or sell, got {intent.side!r}"
        if intent.qty <= 0:
            return "quantity must be positive"
        if intent.style not in spec.price_zero and intent.price <= 0:
            return f"style {intent.style} needs a positive price"
        return None

    def send(self, intent: OrderIntent) -> int:
        """SendOrder for a new order; returns its result (0, -308, ...). A non-zero result is
        also reported as ``OrderRejected(stage='send')``."""
        screen = self._order_screen()
        o = self.orders.register_new(intent, screen)
        problem = self._validate(intent)
        if problem is not None:
            self.orders.reject(o, "send", E.OP_ERR_ORD_WRONG_INPUT, problem)
            return E.OP_ERR_ORD_WRONG_INPUT
        v = self.venues
        price = 0 if v.needs_zero_price(intent.venue, intent.style) else intent.price
        ret = self.ocx.SendOrder(intent.client_id, screen, self.account or "",
                                 v.order_type(intent.venue, intent.side), intent.code,
                                 intent.qty, price, v.hoga(intent.venue, intent.style), "")
        if ret != E.OP_ERR_NONE:
            self.orders.reject(o, "send", ret, E.error_message(ret))
            self._password_window(ret)
        return ret

    def _order_screen(self) -> str:
        screens = self._order_screens
        screen = screens[self._next_screen % len(screens)]
        self._next_screen += 1
        return screen

    def _password_window(self, ret: int) -> None:
        """-301 (계좌 비밀번호 없음): open the account-password window, once per login."""
        if ret == E.OP_ERR_ORD_WRONG_ACCTNO and not self._password_asked:
            self._password_asked = True
            self.counters["account_window"] += 1
            self.ocx.KOA_Functions("ShowAccountWindow", "")

    def cancel(self, intent: CancelIntent) -> int:
        """Cancel the whole remainder of an earlier order (``intent.qty`` is informational)."""
        orig = self.orders.by_client.get(intent.orig_client_id)
        if orig is None or orig.is_cancel:
            raise ValueError(f"no order with client id {intent.orig_client_id!r} to cancel")
        screen = self._order_screen()
        c = self.orders.register_cancel(intent, orig, orig.leaves, screen)
        if orig.final:
            self.orders.reject(c, "send", E.OP_ERR_ORD_WRONG_INPUT, "the order is already done")
            return E.OP_ERR_ORD_WRONG_INPUT
        if not orig.order_no:
            self.orders.reject(c, "send", E.OP_ERR_ORD_WRONG_INPUT,
                               "the order has no order number yet (no ack)")
            return E.OP_ERR_ORD_WRONG_INPUT
        v = self.venues
        ret = self.ocx.SendOrder(intent.client_id, screen, self.account or "",
                                 v.cancel_type(orig.venue, orig.side), orig.code, orig.leaves, 0,
                                 v.cancel_hoga, orig.order_no_raw)
        if ret != E.OP_ERR_NONE:
            self.orders.reject(c, "send", ret, E.error_message(ret))
            self._password_window(ret)
        return ret

    def order_no(self, client_id: str) -> str | None:
        o = self.orders.by_client.get(client_id)
        return o.order_no_raw if o is not None and o.order_no else None

    def adopt_order(self, client_id: str, code: str, venue: str, side: str, qty: int,
                    order_no: str, filled: int) -> None:
        """Track an order an earlier engine sent (``trade --resume``)."""
        self.orders.adopt(client_id, code, venue, side, qty, order_no, filled)

    def catch_up(self, client_id: str, filled: int, fees: int, tax: int) -> None:
        """Fills of ``client_id`` the engine took from the executions TR (``trade --resume``)."""
        self.orders.catch_up(client_id, filled, fees, tax)

    def learn_order_no(self, client_id: str, order_no: str) -> None:
        """The broker's number of an order an earlier engine sent, found in the executions TR."""
        self.orders.learn_number(client_id, order_no)

    def forget(self, client_id: str) -> None:
        """The broker does not know this order: stop expecting its Chejan."""
        self.orders.forget(client_id)

    # --- account TRs out ---
    def request_account(self, kind: str, *, more: bool = False) -> int:
        """Ask for the holdings (opw00018), the open orders (opt10075) or the day's orders with
        fills (opt10076); ``more``: the next page. The reply comes as ``AccountPage``; a refused call returns its code (also sent as
        an ``AccountPage`` with ``rc``), e.g. -200 past the query limit."""
        rqname, trcode, inputs = ACCOUNT_TRS[kind]
        self.ocx.SetInputValue("계좌번호", self.account or "")
        for item, value in inputs.items():
            self.ocx.SetInputValue(item, value)
        ret = self.ocx.CommRqData(rqname, trcode, 2 if more else 0, self.venues.screens.query)
        if ret != E.OP_ERR_NONE:
            self.counters["account_tr_refused"] += 1
            self.listener.on_account(AccountPage(kind, [], rc=ret, ts_ns=self.clock.now_ns()))  # type: ignore[arg-type]
        return ret

    def _account_reply(self, kind: str, trcode: str, rqname: str, prev_next: str) -> None:
        get = self.ocx.GetCommData
        rows: list[Any] = []
        for i in range(self.ocx.GetRepeatCnt(trcode, rqname)):
            try:
                if kind == "holdings":
                    code = strip_code(get(trcode, rqname, i, "종목번호"))
                    rows.append(HoldingRow(code, parse_int_or(get(trcode, rqname, i, "보유수량")),
                                           parse_int_or(get(trcode, rqname, i, "매매가능수량")),
                                           abs(parse_int_or(get(trcode, rqname, i, "매입가")))))
                else:
                    # both order TRs' rows begin alike: 주문번호, 종목코드, 주문구분, 주문수량
                    order_no = norm_order_no(get(trcode, rqname, i, "주문번호"))
                    code = strip_code(get(trcode, rqname, i, "종목코드"))
                    side = "sell" if "매도" in get(trcode, rqname, i, "주문구분") else "buy"
                    qty = parse_int_or(get(trcode, rqname, i, "주문수량"))
                    if kind == "executions":
                        rows.append(ExecutionRow(order_no, code, side, qty,
                                                 parse_int_or(get(trcode, rqname, i, "체결량")),
                                                 abs(parse_int_or(get(trcode, rqname, i, "체결가"))),
                                                 parse_int_or(get(trcode, rqname, i, "당일매매수수료")),
                                                 parse_int_or(get(trcode, rqname, i, "당일매매세금"))))
                    else:
                        rows.append(OpenOrderRow(order_no, code, side, qty,
                                                 abs(parse_int_or(get(trcode, rqname, i, "주문가격"))),
                                                 parse_int_or(get(trcode, rqname, i, "미체결수량"))))
            except ValueError:
                self.counters["account_row_junk"] += 1
        if kind == "open_orders":
            self.orders.learn(rows)
        self.listener.on_account(AccountPage(kind, rows, prev_next.strip() == "2",  # type: ignore[arg-type]
                                             0, self.clock.now_ns()))

    # --- acks, messages, Chejan in ---
    def _on_tr(self, screen: str, rqname: str, trcode: str, record: str = "",
               prev_next: str = "", *rest: Any) -> None:
        kind = _ACCOUNT_RQ.get(rqname)
        if kind is not None:
            self._account_reply(kind, trcode, rqname, str(prev_next))
            return
        if rqname not in self.orders.by_client:
            self.counters["tr_other"] += 1
            return
        no = self.ocx.GetCommData(trcode, rqname, 0, "주문번호")
        self.orders.on_tr(rqname, no, {"screen": screen, "rqname": rqname, "trcode": trcode,
                                       "주문번호": no})

    def _on_msg(self, screen: str, rqname: str, trcode: str, msg: str) -> None:
        self.orders.on_msg(rqname, msg)

    def _on_chejan(self, gubun: str, item_cnt: int, fid_list: str) -> None:
        g = self.ocx.GetChejanData
        texts, numbers = _chejan_fids(fid_list)
        values = list(map(g, numbers))
        raw: dict[str, str] = {"gubun": gubun, **dict(zip(texts, values))}
        by_number = _ChejanValues(zip(numbers, values))
        by_number.ask = g
        get = by_number.__getitem__

        if gubun == "0":
            try:
                rec = parse_chejan_order(get)
            except ValueError:
                self.counters["chejan_junk"] += 1
                return
            self.orders.on_chejan(rec, raw)
        elif gubun == "1":
            try:
                bal = parse_chejan_balance(get)
            except ValueError:
                self.counters["balance_junk"] += 1
                return
            state = (bal.holding_qty, bal.orderable_qty, bal.avg_price)
            if self._last_balance.get(bal.code) == state:
                self.counters["duplicate_balance"] += 1
                return
            self._last_balance[bal.code] = state
            self.listener.on_balance(BalanceUpdate(bal.code, bal.holding_qty, bal.orderable_qty,
                                                   bal.avg_price, self.clock.now_ns(), raw))
        else:
            self.counters["chejan_other_gubun"] += 1
