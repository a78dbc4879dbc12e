"""The REST emulator's ASGI app (starlette): the routes and WebSocket protocol of Kiwoom's REST API.

- ``POST /oauth2/token``: the configured appkey/secretkey get a token valid ``token_lifetime_s``
  (session time); anything else 8001. ``/oauth2/revoke`` ends a token.
- ``POST /api/dostk/ordr`` (kt10000 buy, kt10001 sell, kt10003 cancel) and ``/api/dostk/acnt``
  (kt00018 holdings, ka10075 open orders, pages by ``cont-yn``/``next-key``): a token the server
  does not know or that expired is 8005; over the order or query budget that the REST venue map
  declares (``limits``) 1700 (HTTP 429).
- ``POST /api/dostk/stkinfo``: 종목정보 from the emulator's master data (``master:`` in the sim
  profile, a clean name by default): ``ka10099`` lists a market's codes (``mrkt_tp`` 0 KOSPI, 10
  KOSDAQ) ``STOCK_ROWS_PER_PAGE`` a page, ``ka10100`` answers one code (1901 for an unknown one).
- ``/api/dostk/websocket``: ``LOGIN`` first, then ``REG``/``REMOVE``; the server sends ``PING``
  every ``ping_s`` and counts echoes; ``REAL`` frames come from the bridge.

Emulator choices (no public source): a broker refusal of an order is return_code 1 with the
OpenAPI+ message text; a TR ack the fault schedule drops is an HTTP 504 after ``ack_wait_s``.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import secrets as pysecrets
from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ...emulator import formats as fm
from ...emulator.config import MasterState
from ...emulator.server import EmulatedServer
from .. import protocol as P
from ..venues import RestVenueMap
from .bridge import RestBridge, WsSession
from ....seoul import NS_PER_S

RC_REFUSED = 1
STOCK_ROWS_PER_PAGE = 100       # ka10099 rows a page (emulator choice; Kiwoom does not document it)
MARKET_NAMES = {"KOSPI": ("0", "거래소"), "KOSDAQ": ("10", "코스닥")}
MSG_BAD_TOKEN = "Token이 유효하지 않습니다"
MSG_RATE = "허용된 요청 개수를 초과하였습니다"


@dataclass
class EmulatorAuth:
    appkey: str = field(repr=False)
    secretkey: str = field(repr=False)
    token_lifetime_s: float = 86_400.0
    tokens: dict[str, int] = field(default_factory=dict, repr=False)     # token -> expires_ns

    def issue(self, now_ns: int) -> tuple[str, int]:
        token = pysecrets.token_urlsafe(32)
        expires = now_ns + int(self.token_lifetime_s * NS_PER_S)
        self.tokens[token] = expires
        return token, expires

    def valid(self, token: str, now_ns: int) -> bool:
        exp = self.tokens.get(token)
        return exp is not None and now_ns < exp

    def expire_all(self) -> None:
        self.tokens.clear()


class SlidingWindow:
    """At most ``capacity`` calls in any ``window_ms`` (the REST venue map's declared limits);
    a refused call does not count."""

    def __init__(self, capacity: int, window_ms: int) -> None:
        self.capacity = capacity
        self.window_ns = window_ms * 1_000_000
        self.sent: deque[int] = deque()

    def take(self, now_ns: int) -> bool:
        while self.sent and now_ns - self.sent[0] >= self.window_ns:
            self.sent.popleft()
        if len(self.sent) >= self.capacity:
            return False
        self.sent.append(now_ns)
        return True


@dataclass
class Faults:
    """Switches tests flip from outside (through ``RestEmulator.call``)."""
    rate_limit_next: int = 0           # answer the next N TRs with 1700
    ping_s: float = 0.0                # session seconds between server PINGs (0: none)


def build_app(bridge: RestBridge, auth: EmulatorAuth, rest_venues: RestVenueMap, *,
              ack_wait_s: float = 5.0) -> Starlette:
    server, clock = bridge.server, bridge.clock
    counters: Counter[str] = bridge.counters
    faults = Faults()
    seq = itertools.count(1)
    order_budget = SlidingWindow(rest_venues.limits.orders.capacity, rest_venues.limits.orders.window_ms)
    query_budget = SlidingWindow(rest_venues.limits.queries.capacity, rest_venues.limits.queries.window_ms)
    styles = {(v, tp): style for v, spec in rest_venues.venues.items() for style, tp in spec.trde_tp.items()}

    def reply(code: int, msg: str, status: int = 200, headers: dict[str, str] | None = None,
              **body: Any) -> JSONResponse:
        return JSONResponse({"return_code": code, "return_msg": msg, **body}, status_code=status,
                            headers=headers)

    def authorised(request: Request) -> bool:
        header = request.headers.get("authorization", "")
        return header.startswith("Bearer ") and auth.valid(header[7:], clock.now_ns())

    def rate_limited() -> bool:
        if faults.rate_limit_next > 0:
            faults.rate_limit_next -= 1
            return True
        return False

    async def token(request: Request) -> Response:
        body = await request.json()
        if body.get("appkey") != auth.appkey or body.get("secretkey") != auth.secretkey:
            counters["token_refused"] += 1
            return reply(8001, "appkey 또는 secretkey가 유효하지 않습니다")
        tok, expires = auth.issue(clock.now_ns())
        counters["tokens_issued"] += 1
        return reply(0, "정상적으로 처리되었습니다", token=tok, token_type="bearer",
                     expires_dt=P.format_expires_dt(expires))

    async def revoke(request: Request) -> Response:
        body = await request.json()
        auth.tokens.pop(str(body.get("token", "")), None)
        return reply(0, "정상적으로 처리되었습니다")

    async def wait_ack(rqname: str) -> Any:
        fut = bridge.expect(rqname)
        try:
            return await asyncio.wait_for(fut, clock.sleep_s(ack_wait_s))
        except asyncio.TimeoutError:
            bridge.forget(rqname)
            return None

    async def order(request: Request) -> Response:
        if not authorised(request):
            return reply(8005, MSG_BAD_TOKEN)
        api = request.headers.get("api-id", "")
        body = await request.json()
        now = clock.now_ns()
        server.exchange.advance(now)
        venue = str(body.get("dmst_stex_tp", ""))
        code = str(body.get("stk_cd", ""))
        if code not in server.sym_of:
            return reply(1901, "종목코드가 올바르지 않습니다")
        if venue not in rest_venues.venues:
            return reply(RC_REFUSED, fm.MSG_VENUE_UNSUPPORTED)
        if rate_limited() or not order_budget.take(now):
            counters["orders_rate_limited"] += 1
            return reply(P.RC_RATE_LIMIT, MSG_RATE, 429)
        rqname = f"rest:{next(seq)}"
        if api in (P.API_BUY, P.API_SELL):
            style = styles.get((venue, str(body.get("trde_tp", ""))))
            try:
                qty = int(body.get("ord_qty", "0"))
                price = int(body.get("ord_uv") or 0)
            except ValueError:
                return reply(RC_REFUSED, "주문수량/단가가 올바르지 않습니다")
            if style is None or qty <= 0:
                return reply(RC_REFUSED, fm.MSG_VENUE_UNSUPPORTED)
            fut = wait_ack(rqname)
            server.submit_new(rqname, "", venue, "buy" if api == P.API_BUY else "sell", code, qty, price, style)
        elif api == P.API_CANCEL:
            try:
                qty = int(body.get("cncl_qty", "0"))
            except ValueError:
                return reply(RC_REFUSED, "취소수량이 올바르지 않습니다")
            fut = wait_ack(rqname)
            server.submit_cancel(rqname, "", venue, code, qty, str(body.get("orig_ord_no", "")))
        else:
            return reply(1501, f"api-id {api!r}는 지원하지 않습니다")
        got = await fut
        if got is None:
            counters["ack_lost"] += 1
            return Response("upstream timeout", status_code=504)
        order_no, msg = got
        if not order_no:
            return reply(RC_REFUSED, msg)
        extra: dict[str, Any] = {}
        if api == P.API_CANCEL:      # "0" asked for the whole remainder: the answer says how many that was
            taken = server.orders.get(int(order_no))
            extra = {"base_orig_ord_no": body.get("orig_ord_no", ""),
                     "cncl_qty": str(taken.qty if taken is not None else qty)}
        return reply(0, msg, ord_no=order_no, dmst_stex_tp=venue, **extra)

    async def account(request: Request) -> Response:
        if not authorised(request):
            return reply(8005, MSG_BAD_TOKEN)
        api = request.headers.get("api-id", "")
        trcode = {P.API_HOLDINGS: fm.TR_HOLDINGS, P.API_OPEN_ORDERS: fm.TR_OPEN_ORDERS,
                  P.API_EXECUTIONS: fm.TR_EXECUTIONS}.get(api)
        if trcode is None:
            return reply(1501, f"api-id {api!r}는 지원하지 않습니다")
        if rate_limited() or not query_budget.take(clock.now_ns()):
            counters["queries_rate_limited"] += 1
            return reply(P.RC_RATE_LIMIT, MSG_RATE, 429)
        more = request.headers.get("cont-yn", "N") == "Y"
        rqname = request.headers.get("next-key", "") if more else f"rest:{api}:{next(seq)}"
        fut = wait_ack(rqname)
        server.submit_query(rqname, "", trcode, 2 if more else 0, {})
        got = await fut
        if got is None:
            counters["query_lost"] += 1
            return Response("upstream timeout", status_code=504)
        prev_next, single, rows = got
        headers = {"cont-yn": "Y" if prev_next == "2" else "N",
                   "next-key": rqname if prev_next == "2" else "", "api-id": api}
        listed: dict[str, Any]
        if api == P.API_HOLDINGS:
            listed = {P.HOLDINGS_LIST: [holding_json(r) for r in rows]}
            return reply(0, "조회가 완료되었습니다", headers=headers,
                         tot_pur_amt=single.get("총매입금액", "0"), **listed)
        if api == P.API_EXECUTIONS:
            listed = {P.EXECUTIONS_LIST: [execution_json(r, server) for r in rows]}
            return reply(0, "조회가 완료되었습니다", headers=headers, **listed)
        listed = {P.OPEN_ORDERS_LIST: [open_order_json(r, server) for r in rows]}
        return reply(0, "조회가 완료되었습니다", headers=headers, **listed)

    async def stock_info(request: Request) -> Response:
        if not authorised(request):
            return reply(8005, MSG_BAD_TOKEN)
        api = request.headers.get("api-id", "")
        if api not in (P.API_STOCK_LIST, P.API_STOCK_INFO):
            return reply(1501, f"api-id {api!r}는 지원하지 않습니다")
        if rate_limited() or not query_budget.take(clock.now_ns()):
            counters["queries_rate_limited"] += 1
            return reply(P.RC_RATE_LIMIT, MSG_RATE, 429)
        body = await request.json()
        if api == P.API_STOCK_INFO:
            code = str(body.get("stk_cd", ""))
            if code not in server.sym_of:
                return reply(1901, "종목코드가 올바르지 않습니다")
            row: dict[str, Any] = stock_info_row(server, code)
            return reply(0, "정상적으로 처리되었습니다", **row)
        market = {tp: m for m, (tp, _) in MARKET_NAMES.items()}.get(str(body.get("mrkt_tp", "")))
        codes = [c for c in server.codes if server.markets.get(c, "KOSPI") == market]
        start = int(request.headers.get("next-key", "0") or 0) if request.headers.get("cont-yn") == "Y" else 0
        end = start + STOCK_ROWS_PER_PAGE
        more = end < len(codes)
        headers = {"cont-yn": "Y" if more else "N", "next-key": str(end) if more else "", "api-id": api}
        listed: dict[str, Any] = {P.STOCK_LIST: [stock_info_row(server, c) for c in codes[start:end]]}
        return reply(0, "정상적으로 처리되었습니다", headers=headers, **listed)

    async def websocket(ws: WebSocket) -> None:
        await ws.accept()
        session = WsSession(ws.send_text)
        writer = pinger = None

        async def close() -> None:
            await session.queue.put(None)
            try:
                await ws.close(code=1011)
            except Exception:  # noqa: BLE001 - already closed
                pass

        try:
            first = json.loads(await ws.receive_text())
            tok = str(first.get("token", ""))
            if first.get("trnm") != "LOGIN" or not auth.valid(tok, clock.now_ns()):
                await ws.send_text(json.dumps({"trnm": "LOGIN", "return_code": 8005, "return_msg": MSG_BAD_TOKEN}))
                await ws.close()
                return
            if not bridge.login_allowed():
                counters["login_refused_down"] += 1
                await ws.send_text(json.dumps({"trnm": "LOGIN", "return_code": 100013,
                                               "return_msg": "서버 점검 중입니다"}, ensure_ascii=False))
                await ws.close()
                return
            await ws.send_text(json.dumps({"trnm": "LOGIN", "return_code": 0, "return_msg": ""}))
            counters["ws_logins"] += 1
            bridge.sessions.add(session)
            bridge.closers.append(close)
            writer = asyncio.create_task(session.writer())
            if faults.ping_s > 0:
                pinger = asyncio.create_task(ping_every(session, clock.sleep_s(faults.ping_s)))
            while True:
                text = await ws.receive_text()
                msg = json.loads(text)
                trnm = msg.get("trnm")
                if trnm == "REG":
                    session.register(msg.get("data") or [], str(msg.get("refresh", "1")) == "1")
                    counters["reg"] += 1
                    await session.queue.put(json.dumps({"trnm": "REG", "return_code": 0, "return_msg": ""}))
                elif trnm == "REMOVE":
                    session.remove(msg.get("data") or [])
                    await session.queue.put(json.dumps({"trnm": "REMOVE", "return_code": 0, "return_msg": ""}))
                elif trnm == "PING":
                    counters["ping_echoed"] += 1
        except (WebSocketDisconnect, RuntimeError, ValueError):
            pass
        finally:
            bridge.sessions.discard(session)
            if close in bridge.closers:
                bridge.closers.remove(close)
            for t in (writer, pinger):
                if t is not None:
                    t.cancel()

    async def ping_every(session: WsSession, wall_s: float) -> None:
        while True:
            await asyncio.sleep(wall_s)
            await session.queue.put(json.dumps({"trnm": "PING"}))

    app = Starlette(routes=[
        Route(P.PATH_TOKEN, token, methods=["POST"]),
        Route(P.PATH_REVOKE, revoke, methods=["POST"]),
        Route(P.PATH_ORDER, order, methods=["POST"]),
        Route(P.PATH_ACCOUNT, account, methods=["POST"]),
        Route(P.PATH_STOCK_INFO, stock_info, methods=["POST"]),
        WebSocketRoute(P.PATH_WEBSOCKET, websocket),
    ])
    app.state.faults = faults
    app.state.auth = auth
    return app


def stock_info_row(server: EmulatedServer, code: str) -> dict[str, str]:
    """One code's 종목정보 in the documented fields (ka10100's answer, a ka10099 row): ``state``
    and ``auditInfo`` are the master data's texts, ``orderWarning`` is derived from them; what the
    emulator does not know is empty."""
    master = server.cfg.master.get(code) or MasterState()
    market_code, market_name = MARKET_NAMES.get(server.markets.get(code, "KOSPI"), ("0", "거래소"))
    warning = ("2" if "정리매매" in master.state else
               {"투자위험": "4", "투자경고": "5"}.get(master.construction, "0"))
    return {"code": code, "name": server.cfg.names.get(code, code), "listCount": "",
            "auditInfo": master.construction, "regDay": "", "lastPrice": f"{server.ref_price(code):08d}",
            "state": master.state, "marketCode": market_code, "marketName": market_name, "upName": "",
            "upSizeName": "", "companyClassName": "", "orderWarning": warning, "nxtEnable": "Y"}


def holding_json(r: dict[str, str]) -> dict[str, str]:
    return {"stk_cd": r["종목번호"], "stk_nm": r["종목명"].strip(), "rmnd_qty": r["보유수량"],
            "trde_able_qty": r["매매가능수량"], "pur_pric": r["매입가"], "cur_prc": r["현재가"],
            "pur_amt": r["매입금액"], "evlt_amt": r["평가금액"]}


def execution_json(r: dict[str, str], server: EmulatedServer) -> dict[str, str]:
    o = server.orders.get(int(r["주문번호"]))
    venue = o.venue if o is not None else "KRX"
    return {"ord_no": r["주문번호"], "stk_cd": r["종목코드"], "stk_nm": r["종목명"].strip(),
            "io_tp_nm": r["주문구분"], "ord_pric": r["주문가격"], "ord_qty": r["주문수량"],
            "cntr_pric": r["체결가"], "cntr_qty": r["체결량"], "oso_qty": r["미체결수량"],
            "tdy_trde_cmsn": r["당일매매수수료"], "tdy_trde_tax": r["당일매매세금"], "ord_stt": r["주문상태"],
            "trde_tp": r["매매구분"], "orig_ord_no": r["원주문번호"], "ord_tm": r["주문시간"],
            "stex_tp": "1" if venue == "KRX" else "2", "stex_tp_txt": venue, "sor_yn": "N"}


def open_order_json(r: dict[str, str], server: EmulatedServer) -> dict[str, str]:
    o = server.orders.get(int(r["주문번호"]))
    venue = o.venue if o is not None else "KRX"
    return {"ord_no": r["주문번호"], "stk_cd": r["종목코드"], "stk_nm": r["종목명"].strip(),
            "ord_stt": r["주문상태"], "ord_qty": r["주문수량"], "ord_pric": r["주문가격"],
            "oso_qty": r["미체결수량"], "cntr_qty": r["체결량"], "io_tp_nm": r["주문구분"],
            "trde_tp": r["매매구분"], "tm": r["시간"],
            "stex_tp": "1" if venue == "KRX" else "2", "stex_tp_txt": venue}
