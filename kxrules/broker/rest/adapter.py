"""``KiwoomRestAdapter``: the Kiwoom REST API behind the same surface and events as
:class:`~kxrules.broker.adapter.KiwoomAdapter` (``connect``, ``subscribe_quotes``, ``send``,
``cancel``, ``request_account``, ``forget``, ``check_connection``, ``close``).

Everything runs on one asyncio loop, the engine's: the engine's calls are synchronous and only
start tasks; replies and WebSocket messages call the listener from tasks on that loop. Nothing
else touches engine state.

- Orders: ``kt10000``/``kt10001`` with ``dmst_stex_tp`` per leg and ``trde_tp`` from the REST venue
  map, ``kt10003`` with ``cncl_qty`` "0" (the whole remainder). The HTTP reply is the TR ack: an
  ``ord_no`` maps the order (``OrderAck``); a non-zero ``return_code`` is a reject (1700, the
  rate limit, as stage ``send`` like OpenAPI+'s -308; others stage ``tr``). A transport error
  after the request may have left is no answer at all: the engine's ack timeout and the
  open-orders TR settle it. Order events (``00``) and balances (``04``) come over the WebSocket
  in the same FIDs as OpenAPI+ Chejan, so :class:`~kxrules.broker.orders.OrderTracker` correlates them.
- Account TRs: ``kt00018`` (holdings) and ``ka10075`` (open orders) answered as ``AccountPage``,
  ``cont-yn``/``next-key`` for more pages.
- Master data: before the first login is reported, 종목정보 for the universe (``ka10099`` per
  listing market, ``ka10100`` for a code the list left out), paced inside the declared query
  limit, as one ``MasterStateEvent`` per code (``broker/master.py``); a code left unread is
  reported as ``UNREAD`` (muted: never traded on a guess).
- WebSocket: ``LOGIN`` with the token, ``REG`` of every registration (again after a reconnect),
  ``PING`` echoed, ``REAL`` dispatched. A drop is one ``ConnectionEvent(False)`` (the engine
  disarms and zeroes its quotes); the adapter reconnects with back-off.
- Secrets: the appkey, secretkey and every token are masked (``Redactor``) in whatever text leaves
  this class.
"""
from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from typing import Any, Coroutine

import httpx
import websockets

from ..events import (AccountPage, BalanceUpdate, BrokerListener, CancelIntent, ConnectionEvent,
                      ExecutionRow, HoldingRow, MasterStateEvent, OpenOrderRow, OrderIntent, SessionEvent,
                      ViEvent)
from ..master import UNREAD, rest_restrictions
from ..orders import OrderTracker, TrackedOrder
from ..parsing import norm_order_no, parse_int_or, session_venue, strip_code
from ..venues import VenueMapConfig
from . import frames as FR
from .clock import AsyncioClock
from . import protocol as P
from .credentials import Credentials, Redactor
from .token import TokenKeeper, TokenRefused
from .venues import RestVenueMap

ITEMS_PER_REG = 100          # codes per REG data entry
# websockets logs every frame at DEBUG, the LOGIN frame (the token) included: never below INFO
_WS_LOG = logging.getLogger("kxrules.broker.rest.websocket")
_WS_LOG.setLevel(logging.INFO)
LOGIN_TIMEOUT_S = 10.0
CLOSE_WAIT_S = 2.0           # for the adapter's own tasks to end once cancelled, at close
MASTER_ATTEMPTS = 3          # per 종목정보 call: a refusal (1700) or a transport error is tried again


class KiwoomRestAdapter:
    def __init__(self, *, base_url: str, ws_url: str, credentials: Credentials,
                 rest_venues: RestVenueMap, venues: VenueMapConfig, clock: AsyncioClock,
                 listener: BrokerListener, codes: list[str], account: str | None = None,
                 markets: dict[str, str] | None = None, server: str = "real", http_timeout_s: float = 5.0,
                 close_loop: bool = False,
                 transport: httpx.AsyncBaseTransport | None = None):
        self.base_url = base_url
        self.ws_url = ws_url.rstrip("/") + P.PATH_WEBSOCKET
        self.rest_venues = rest_venues
        self.venues = venues
        self.clock = clock
        self.listener = listener
        self.codes = list(codes)
        self.markets = dict(markets or {})           # code -> KOSPI | KOSDAQ (ka10099's mrkt_tp)
        self.account = account
        self.server = server
        # what a login says about the account (the engine refuses to arm on a mismatch with the
        # profile's server): the REST host names it; the emulator is a paper account, as the OCX
        # emulator's GetServerGubun "1"
        self.login_server = {"real": "real", "mock": "paper"}.get(server, "paper")
        self.connected = False               # logged in on the WebSocket
        self.counters: Counter[str] = Counter()
        self.redactor = Redactor(credentials.appkey, credentials.secretkey)
        self.http = httpx.AsyncClient(base_url=base_url, timeout=http_timeout_s, transport=transport)
        self.tokens = TokenKeeper(self.http, credentials, self.redactor, clock,
                                  renew_before_s=rest_venues.token.renew_before_s)
        self.orders = OrderTracker(clock, listener.on_order_event, self.counters, order_screen="",
                                   fee_cumulative=venues.chejan.fee_tax == "cumulative_per_order")
        self._keys: dict[str, tuple[int, int]] = {}
        for name in venues.quote_venues():
            spec = venues.spec(name)
            for i, c in enumerate(self.codes):
                self._keys[c + spec.real_suffix] = (i, spec.index)
        self._on_quote = listener.on_quote
        self._on_trade = getattr(listener, "on_trade", None)
        self._last_balance: dict[str, tuple[int, int, int]] = {}
        self._next_key: dict[str, str] = {}
        self._subscribed = False
        self._master_read = False
        self._closing = False
        self._closed = False
        self._close_loop = close_loop
        self._ws: Any = None
        self._ws_task: asyncio.Task[None] | None = None
        self._renew_timer: Any = None
        self._tasks: set[asyncio.Task[None]] = set()

    # --- tasks on the loop ------------------------------------------------------------------
    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = self.clock.loop.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counters["task_failed"] += 1

    # --- session ----------------------------------------------------------------------------
    def connect(self) -> int:
        """Start the token + WebSocket login; the outcome arrives as a ConnectionEvent. A login
        already under way (or up) is left alone."""
        self._closing = False
        if self._ws_task is None or self._ws_task.done():
            self._ws_task = self._spawn(self._ws_main())
        return 0

    def check_connection(self) -> bool:
        return self.connected

    def subscribe_quotes(self) -> int:
        """Register every code on every quoted venue, the market-wide signals and the account's
        order and balance events; before login only remember it (and after every reconnect)."""
        self._subscribed = True
        if self._ws is not None and self.connected:
            self._spawn(self._register(self._ws))
        return 0

    def registrations(self) -> list[dict[str, list[str]]]:
        """The REG ``data`` entries: 0D (and 0B when the listener takes trades) for every quoted
        code, 1h VI for the plain codes, 0s / 00 / 04 market- and account-wide."""
        keys = list(self._keys)
        data: list[dict[str, list[str]]] = []
        quote_types = [P.RT_HOGA] + ([P.RT_TRADE] if self._on_trade is not None else [])
        for i in range(0, len(keys), ITEMS_PER_REG):
            data.append({"item": keys[i:i + ITEMS_PER_REG], "type": quote_types})
        for i in range(0, len(self.codes), ITEMS_PER_REG):
            data.append({"item": self.codes[i:i + ITEMS_PER_REG], "type": [P.RT_VI]})
        data.append({"item": [""], "type": [P.RT_SESSION]})
        data.append({"item": [""], "type": [P.RT_ORDER, P.RT_BALANCE]})
        return data

    async def _register(self, ws: Any) -> None:
        msg = {"trnm": "REG", "grp_no": self.rest_venues.websocket.group, "refresh": "1",
               "data": self.registrations()}
        try:
            await ws.send(json.dumps(msg))
            self.counters["reg_sent"] += 1
        except Exception:  # noqa: BLE001 - the socket went: the reconnect registers again
            self.counters["reg_failed"] += 1

    def _set_connected(self, up: bool, code: int, raw: dict[str, str]) -> None:
        if up == self.connected:
            return
        self.connected = up
        self.listener.on_connection(ConnectionEvent(up, code, self.clock.now_ns(),
                                                    self.redactor.clean_dict(raw),
                                                    server=self.login_server if up else None))

    async def _ws_main(self) -> None:
        backoff = self.rest_venues.websocket.reconnect_backoff_ms
        attempt = 0
        while not self._closing:
            code, why = P.RC_TRANSPORT, "closed"
            try:
                token = await self.tokens.get()
                await self._read_master_states()
                async with websockets.connect(self.ws_url, ping_interval=None, logger=_WS_LOG,
                                              max_size=2 ** 22, open_timeout=LOGIN_TIMEOUT_S) as ws:
                    await ws.send(json.dumps({"trnm": "LOGIN", "token": token}))
                    reply = FR.decode(await asyncio.wait_for(ws.recv(), LOGIN_TIMEOUT_S))
                    rc = int(reply.get("return_code", -1))
                    if rc != P.RC_OK:
                        if rc in P.RC_TOKEN_REISSUE:
                            self.tokens.invalidate(token)
                        raise TokenRefused(rc, str(reply.get("return_msg", "")))
                    self._ws = ws
                    self.counters["ws_logins"] += 1
                    if self._subscribed:
                        await self._register(ws)
                    self._schedule_renewal()
                    attempt = 0
                    self._set_connected(True, 0, {"server": self.server, "source": "websocket"})
                    async for message in ws:
                        await self._on_ws_message(ws, message)
            except asyncio.CancelledError:
                raise
            except TokenRefused as exc:
                code, why = exc.code, str(exc)
            except Exception as exc:  # noqa: BLE001 - any socket failure: report, back off, retry
                why = f"{type(exc).__name__}: {exc}"
            finally:
                self._ws = None
            if self._closing:
                break
            self.counters["ws_drops"] += 1
            if self.connected:
                self._set_connected(False, code, {"error": why, "source": "websocket"})
            else:
                self.listener.on_connection(ConnectionEvent(False, code, self.clock.now_ns(),
                                                            {"error": self.redactor.clean(why)}))
            delay_ms = backoff[min(attempt, len(backoff) - 1)]
            attempt += 1
            await asyncio.sleep(self.clock.sleep_s(delay_ms / 1000))

    def _schedule_renewal(self) -> None:
        """Renew the token ahead of its expiry even when no request needs it then."""
        if self._renew_timer is not None:
            self._renew_timer.cancel()
        at = self.tokens.expires_ns - self.rest_venues.token.renew_before_s * 1_000_000_000
        self._renew_timer = self.clock.call_at(max(at, self.clock.now_ns()), self._renew_due)

    def _renew_due(self) -> None:
        self._renew_timer = None
        if not self._closing:
            self._spawn(self._renew())

    async def _renew(self) -> None:
        try:
            await self.tokens.get()
            self.counters["token_renewed_ahead"] += 1
            self._schedule_renewal()
        except TokenRefused:
            self.counters["token_renew_failed"] += 1

    async def _on_ws_message(self, ws: Any, message: str | bytes) -> None:
        try:
            msg = FR.decode(message)
        except ValueError:
            self.counters["ws_junk"] += 1
            return
        trnm = msg.get("trnm")
        if trnm == "REAL":
            for item in msg.get("data") or ():
                self._on_real(item)
        elif trnm == "PING":
            await ws.send(message if isinstance(message, str) else message.decode())
            self.counters["ping"] += 1
        elif trnm in ("REG", "REMOVE"):
            if int(msg.get("return_code", 0)) != 0:
                self.counters["reg_refused"] += 1
        elif trnm == "SYSTEM":
            self.counters["ws_system"] += 1
        else:
            self.counters["ws_other"] += 1

    # --- real data --------------------------------------------------------------------------
    def _on_real(self, item: Any) -> None:
        try:
            rtype, key, values = item["type"], item.get("item", ""), item["values"]
        except (KeyError, TypeError):
            self.counters["ws_junk"] += 1
            return
        if rtype == P.RT_HOGA:
            ent = self._keys.get(key)
            if ent is None:
                self.counters["real_unknown_code"] += 1
                return
            try:
                bid, ask, bid_qty, ask_qty = FR.top_of_book(values)
            except (KeyError, ValueError, TypeError):
                self.counters["quote_junk"] += 1
                return
            self._on_quote(ent[0], ent[1], bid, ask, bid_qty, ask_qty, self.clock.now_ns())
        elif rtype == P.RT_ORDER:
            self._order(values)
        elif rtype == P.RT_BALANCE:
            self._balance(values)
        elif rtype == P.RT_TRADE:
            ent = self._keys.get(key)
            if ent is None or self._on_trade is None:
                return
            try:
                price, qty = FR.last_trade(values)
            except (KeyError, ValueError, TypeError):
                self.counters["trade_junk"] += 1
                return
            self._on_trade(ent[0], ent[1], price, qty, self.clock.now_ns())
        elif rtype == P.RT_SESSION:
            try:
                code = FR.session_code(values)
            except ValueError:
                self.counters["session_junk"] += 1
                return
            self.listener.on_session(SessionEvent(session_venue(code), code, self.clock.now_ns(),
                                                  {"key": key, **_strs(values)}))
        elif rtype == P.RT_VI:
            try:
                code, active = FR.vi_state(values, key)
            except ValueError:
                self.counters["vi_junk"] += 1
                return
            self.listener.on_vi(ViEvent(code, active, self.clock.now_ns(), {"key": key, **_strs(values)}))
        else:
            self.counters["real_other_type"] += 1

    def _order(self, values: dict[str, Any]) -> None:
        try:
            rec = FR.order_event(values)
        except (ValueError, TypeError):
            self.counters["chejan_junk"] += 1
            return
        self.orders.on_chejan(rec, {"type": P.RT_ORDER, **_strs(values)})

    def _balance(self, values: dict[str, Any]) -> None:
        try:
            bal = FR.balance_event(values)
        except (ValueError, TypeError):
            self.counters["balance_junk"] += 1
            return
        state = (bal.holding_qty, bal.orderable_qty, bal.avg_price)
        if self._last_balance.get(bal.code) == state:
            self.counters["duplicate_balance"] += 1
            return
        self._last_balance[bal.code] = state
        self.listener.on_balance(BalanceUpdate(bal.code, bal.holding_qty, bal.orderable_qty,
                                               bal.avg_price, self.clock.now_ns(),
                                               {"type": P.RT_BALANCE, **_strs(values)}))

    # --- master data ------------------------------------------------------------------------
    async def _read_master_states(self) -> None:
        """Once, before the first login is reported: each code's 종목정보 as a MasterStateEvent,
        so the engine mutes restricted names (거래정지, 관리종목 …) before it can arm."""
        on_master = getattr(self.listener, "on_master_state", None)
        if on_master is None or self._master_read:
            return
        self._master_read = True
        rows: dict[str, dict[str, Any]] = {}
        try:
            await self._master_rows(rows)
        except Exception:  # noqa: BLE001 - whatever was not read is reported unread below
            self.counters["master_read_failed"] += 1
        now = self.clock.now_ns()
        for code in self.codes:
            row = rows.get(code)
            if row is None:
                self.counters["master_unread"] += 1
                on_master(MasterStateEvent(code, (UNREAD,), now, {"error": "no 종목정보 answer (ka10099, ka10100)"}))
            else:
                on_master(MasterStateEvent(code, rest_restrictions(row), now,
                                           {k: str(row.get(k, "")) for k in P.MASTER_FIELDS}))

    async def _master_rows(self, rows: dict[str, dict[str, Any]]) -> None:
        wanted = set(self.codes)
        listed = {P.MARKET_TP.get(self.markets.get(c, "KOSPI")) for c in self.codes}
        for mrkt_tp in sorted(m for m in listed if m is not None):     # another market: ka10100 per code
            cont: str | None = None
            while True:
                rc, data, headers = await self._paced_query(P.API_STOCK_LIST, {"mrkt_tp": mrkt_tp}, cont)
                if rc != P.RC_OK:
                    break
                for row in data.get(P.STOCK_LIST) or ():
                    code = str(row.get("code", "")).strip() if isinstance(row, dict) else ""
                    if code in wanted:
                        rows[code] = row
                cont = headers.get("next-key", "") if headers is not None and headers.get("cont-yn") == "Y" else None
                if not cont:
                    break
        for code in self.codes:
            if code not in rows:
                rc, data, _ = await self._paced_query(P.API_STOCK_INFO, {"stk_cd": code})
                if rc == P.RC_OK and str(data.get("code", "")).strip() == code:
                    rows[code] = data

    async def _paced_query(self, api: str, body: dict[str, str],
                           cont: str | None = None) -> tuple[int, dict[str, Any], httpx.Headers | None]:
        """One 종목정보 call spaced inside the declared query limit; a 1700 or a transport error
        waits a whole window and tries again (``MASTER_ATTEMPTS``)."""
        limit = self.rest_venues.limits.queries
        rc, data, headers = P.RC_TRANSPORT, dict[str, Any](), None
        for attempt in range(MASTER_ATTEMPTS):
            pause_ms = limit.window_ms / limit.capacity if attempt == 0 else limit.window_ms
            await asyncio.sleep(self.clock.sleep_s(pause_ms / 1000))
            rc, _, data, headers = await self._call(api, P.PATH_STOCK_INFO, body, cont_key=cont)
            if rc not in (P.RC_RATE_LIMIT, P.RC_TRANSPORT):
                break
            self.counters["master_retry"] += 1
        return rc, data, headers

    # --- HTTP -------------------------------------------------------------------------------
    async def _call(self, api_id: str, path: str, body: dict[str, str], *,
                    cont_key: str | None = None) -> tuple[int, str, dict[str, Any], httpx.Headers | None]:
        """One TR: (return_code, message, body, headers). A token the server refuses is renewed
        and the call made once more; a transport failure is ``RC_TRANSPORT``."""
        for attempt in (0, 1):
            try:
                token = await self.tokens.get()
            except TokenRefused as exc:
                return exc.code, str(exc), {}, None
            headers = {"api-id": api_id, "authorization": f"Bearer {token}",
                       "content-type": "application/json;charset=UTF-8",
                       "cont-yn": "Y" if cont_key else "N", "next-key": cont_key or ""}
            try:
                r = await self.http.post(path, json=body, headers=headers)
                data = r.json()
            except (httpx.HTTPError, ValueError) as exc:
                self.counters["http_transport_error"] += 1
                return P.RC_TRANSPORT, self.redactor.clean(f"{type(exc).__name__}: {exc}"), {}, None
            if not isinstance(data, dict):
                return P.RC_TRANSPORT, "reply is not a JSON object", {}, r.headers
            rc = int(data.get("return_code", 0) or 0)
            if rc in P.RC_TOKEN_REISSUE and attempt == 0:
                self.counters["token_refused"] += 1
                self.tokens.invalidate(token)
                continue
            if rc == P.RC_RATE_LIMIT:
                self.counters["rate_limited"] += 1
            return rc, self.redactor.clean(data.get("return_msg", "")), data, r.headers
        return P.RC_TRANSPORT, "unreachable", {}, None

    # --- orders out -------------------------------------------------------------------------
    def _problem(self, intent: OrderIntent) -> str | None:
        spec = self.venues.venues.get(intent.venue)  # type: ignore[call-overload]
        if spec is None or not spec.enabled or intent.venue not in self.rest_venues.venues:
            return f"venue {intent.venue!r} is unknown or disabled in the venue maps"
        if self.server == "mock" and intent.venue not in self.rest_venues.mock_venues:
            return (f"the Kiwoom mock server (mockapi) supports {', '.join(self.rest_venues.mock_venues)} "
                    f"only: a {intent.venue} leg cannot be sent there")
        if self.rest_venues.trde_tp(intent.venue, intent.style) is None:
            return f"venue {intent.venue} has no REST trde_tp for style {intent.style!r}"
        if intent.side not in ("buy", "sell"):
            return f"side must be buy or sell, got {intent.side!r}"
        if intent.qty <= 0:
            return "quantity must be positive"
        if not self.venues.needs_zero_price(intent.venue, intent.style) and intent.price <= 0:
            return f"style {intent.style} needs a positive price"
        return None

    def send(self, intent: OrderIntent) -> int:
        """Start kt10000/kt10001; returns 0 or -1 for an order refused before sending (also
        reported as ``OrderRejected(stage='send')``). The broker's answer comes later."""
        o = self.orders.register_new(intent, "")
        problem = self._problem(intent)
        if problem is not None:
            self.orders.reject(o, "send", P.RC_TRANSPORT, problem)
            return P.RC_TRANSPORT
        price = 0 if self.venues.needs_zero_price(intent.venue, intent.style) else intent.price
        body = P.order_body(self.rest_venues.stex(intent.venue), intent.code, intent.qty, price,
                            self.rest_venues.trde_tp(intent.venue, intent.style) or "")
        api = P.API_BUY if intent.side == "buy" else P.API_SELL
        self._spawn(self._order_call(o, api, body))
        return 0

    def cancel(self, intent: CancelIntent) -> int:
        """kt10003 for the whole remainder of an earlier order."""
        orig = self.orders.by_client.get(intent.orig_client_id)
        if orig is None or orig.is_cancel:
            raise ValueError(f"no order with client id {intent.orig_client_id!r} to cancel")
        c = self.orders.register_cancel(intent, orig, orig.leaves, "")
        if orig.final:
            self.orders.reject(c, "send", P.RC_TRANSPORT, "the order is already done")
            return P.RC_TRANSPORT
        if not orig.order_no:
            self.orders.reject(c, "send", P.RC_TRANSPORT, "the order has no order number yet (no ack)")
            return P.RC_TRANSPORT
        body = P.cancel_body(self.rest_venues.stex(orig.venue), orig.order_no_raw, orig.code, 0)
        self._spawn(self._order_call(c, P.API_CANCEL, body))
        return 0

    async def _order_call(self, o: TrackedOrder, api: str, body: dict[str, str]) -> None:
        rc, msg, data, _ = await self._call(api, P.PATH_ORDER, body)
        raw = {"api-id": api, "return_code": str(rc), "return_msg": msg}
        if rc == P.RC_OK:
            no = str(data.get("ord_no", "")).strip()
            self.orders.on_tr(o.client_id, no, {**raw, "ord_no": no})
            if not no:
                self.orders.on_msg(o.client_id, msg or "empty ord_no")
        elif rc == P.RC_TRANSPORT:
            # the request may have reached the broker: no verdict (ack timeout + open orders TR)
            self.counters["order_outcome_unknown"] += 1
        else:
            stage = "send" if rc == P.RC_RATE_LIMIT else "tr"
            self.orders.reject(o, stage, rc, f"[{rc}] {msg}", raw)

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
        self.orders.forget(client_id)

    # --- account TRs ------------------------------------------------------------------------
    def request_account(self, kind: str, *, more: bool = False) -> int:
        """kt00018 (holdings), ka10075 (open orders) or ka10076 (orders with fills); ``more``: the next page. The reply (or a
        refusal, ``rc`` non-zero: 1700 over the limit) comes as an ``AccountPage``."""
        if kind not in P.ACCOUNT_API:
            raise ValueError(f"unknown account request {kind!r}")
        cont = self._next_key.pop(kind, None) if more else None
        if more and not cont:
            return P.RC_TRANSPORT
        self._spawn(self._account_call(kind, cont))
        return 0

    async def _account_call(self, kind: str, cont: str | None) -> None:
        api = P.ACCOUNT_API[kind]
        body = P.ACCOUNT_BODY[kind]
        rc, _, data, headers = await self._call(api, P.PATH_ACCOUNT, dict(body), cont_key=cont)
        now = self.clock.now_ns()
        if rc != P.RC_OK:
            self.counters["account_tr_refused"] += 1
            self.listener.on_account(AccountPage(kind, [], rc=rc, ts_ns=now))  # type: ignore[arg-type]
            return
        more = headers is not None and headers.get("cont-yn", "N") == "Y"
        if more:
            self._next_key[kind] = headers.get("next-key", "") if headers is not None else ""
        rows: list[Any]
        if kind == "holdings":
            rows = self._holding_rows(data)
        elif kind == "executions":
            rows = self._execution_rows(data)
        else:
            rows = self._open_order_rows(data)
            self.orders.learn(rows)
        self.listener.on_account(AccountPage(kind, rows, more, 0, now))  # type: ignore[arg-type]

    def _holding_rows(self, data: dict[str, Any]) -> list[HoldingRow]:
        rows: list[HoldingRow] = []
        for r in data.get(P.HOLDINGS_LIST) or ():
            try:
                rows.append(HoldingRow(strip_code(str(r["stk_cd"])).split("_")[0],
                                       parse_int_or(str(r.get("rmnd_qty", ""))),
                                       parse_int_or(str(r.get("trde_able_qty", ""))),
                                       abs(parse_int_or(str(r.get("pur_pric", ""))))))
            except (KeyError, ValueError, TypeError):
                self.counters["account_row_junk"] += 1
        return rows

    def _open_order_rows(self, data: dict[str, Any]) -> list[OpenOrderRow]:
        rows: list[OpenOrderRow] = []
        for r in data.get(P.OPEN_ORDERS_LIST) or ():
            try:
                side = str(r.get("io_tp_nm", ""))
                rows.append(OpenOrderRow(norm_order_no(str(r["ord_no"])),
                                         strip_code(str(r["stk_cd"])).split("_")[0],
                                         "sell" if "매도" in side else "buy",
                                         parse_int_or(str(r.get("ord_qty", ""))),
                                         abs(parse_int_or(str(r.get("ord_pric", "")))),
                                         parse_int_or(str(r.get("oso_qty", "")))))
            except (KeyError, ValueError, TypeError):
                self.counters["account_row_junk"] += 1
        return rows

    def _execution_rows(self, data: dict[str, Any]) -> list[ExecutionRow]:
        rows: list[ExecutionRow] = []
        for r in data.get(P.EXECUTIONS_LIST) or ():
            try:
                side = str(r.get("io_tp_nm", ""))
                rows.append(ExecutionRow(norm_order_no(str(r["ord_no"])),
                                         strip_code(str(r["stk_cd"])).split("_")[0],
                                         "sell" if "매도" in side else "buy",
                                         parse_int_or(str(r.get("ord_qty", ""))),
                                         parse_int_or(str(r.get("cntr_qty", ""))),
                                         abs(parse_int_or(str(r.get("cntr_pric", "")))),
                                         parse_int_or(str(r.get("tdy_trde_cmsn", ""))),
                                         parse_int_or(str(r.get("tdy_trde_tax", "")))))
            except (KeyError, ValueError, TypeError):
                self.counters["account_row_junk"] += 1
        return rows

    # --- the end ----------------------------------------------------------------------------
    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._closing = True
        if self._renew_timer is not None:
            self._renew_timer.cancel()
        ws = self._ws
        if ws is not None and self._subscribed:
            try:        # unregister politely; the socket closes right after either way
                await asyncio.wait_for(ws.send(json.dumps({
                    "trnm": "REMOVE", "grp_no": self.rest_venues.websocket.group,
                    "data": self.registrations()})), 1.0)
            except Exception:  # noqa: BLE001 - already gone
                pass
        tasks = [t for t in (self._ws_task, *self._tasks) if t is not None and not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            _, stuck = await asyncio.wait(tasks, timeout=CLOSE_WAIT_S)
            if stuck and ws is not None:
                # a socket read that saw the peer's close waits, shielded from cancellation, for
                # the connection to be lost (websockets' recv): lose it
                ws.transport.abort()
                _, stuck = await asyncio.wait(stuck, timeout=CLOSE_WAIT_S)
            if stuck:           # never hang the session's end on them: left to the loop's close
                self.counters["close_tasks_stuck"] += len(stuck)
        if await self.tokens.revoke():
            self.counters["token_revoked"] += 1
        await self.http.aclose()
        self.connected = False

    def close(self) -> None:
        """Close the socket and the HTTP client (on the loop, which is no longer running)."""
        self.orders.close()
        loop = self.clock.loop
        if loop.is_closed():
            return
        if loop.is_running():
            loop.create_task(self.aclose())
            return
        loop.run_until_complete(self.aclose())
        if self._close_loop:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()


def _strs(values: dict[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in values.items()}
