"""``RestBridge``: what ``EmulatedServer`` attaches to as its control, speaking REST instead of OCX.

The server reports through a control's ``emit_*``/``publish_*`` methods at delivery time. Here:
a TR ack (``emit_tr`` + ``emit_msg``) and an account reply (``emit_tr_rows``) answer the HTTP
request waiting for them; Chejan becomes WebSocket ``00``/``04`` frames and VI ``1h`` for the sockets logged in and
registered; 장시작시간 ``0s`` for every socket logged in (market-wide, as on OpenAPI+). The server stays up while sockets come and go
(``connected`` is always true: HTTP answers do not need a socket); a frame with nobody to receive
it is lost and counted, as real-time data is lost while a real session is down.
"""
from __future__ import annotations

import asyncio
import json
from collections import Counter
from typing import Any, Awaitable, Callable

from ..clock import AsyncioClock
from ... import fids as F
from ...emulator import formats as fm
from ...emulator.server import EmulatedServer
from ...venues import VenueMapConfig
from .. import protocol as P

NAMES = {P.RT_HOGA: "주식호가잔량", P.RT_SESSION: "장시작시간", P.RT_VI: "VI발동/해제",
         P.RT_ORDER: "주문체결", P.RT_BALANCE: "잔고", P.RT_TRADE: "주식체결"}
ACCOUNT_WIDE = (P.RT_SESSION, P.RT_ORDER, P.RT_BALANCE)


class WsSession:
    """One logged-in socket: its registrations and an outgoing queue (the feeder never waits)."""

    def __init__(self, send_text: Callable[[str], Awaitable[None]]) -> None:
        self.send_text = send_text
        self.regs: dict[str, set[str]] = {}       # type -> items ("" = account/market-wide)
        self.queue: asyncio.Queue[str | None] = asyncio.Queue()
        self.sent = 0

    def wants(self, rtype: str, item: str) -> bool:
        items = self.regs.get(rtype)
        return items is not None and (item in items or "" in items)

    def register(self, data: list[dict[str, Any]], refresh: bool) -> None:
        if refresh:
            pass        # "1": keep what was registered and add (the REST guide's refresh flag)
        else:
            self.regs.clear()
        for entry in data:
            for rtype in entry.get("type") or ():
                self.regs.setdefault(str(rtype), set()).update(str(i) for i in entry.get("item") or [""])

    def remove(self, data: list[dict[str, Any]]) -> None:
        for entry in data:
            for rtype in entry.get("type") or ():
                items = self.regs.get(str(rtype), set())
                items.difference_update(str(i) for i in entry.get("item") or [""])

    async def writer(self) -> None:
        while True:
            text = await self.queue.get()
            if text is None:
                return
            await self.send_text(text)
            self.sent += 1


def real_message(rtype: str, item: str, values: dict[int, str] | dict[str, str]) -> str:
    return json.dumps({"trnm": "REAL", "data": [{"type": rtype, "name": NAMES.get(rtype, rtype),
                                                 "item": item,
                                                 "values": {str(k): v for k, v in values.items()}}]},
                      ensure_ascii=False)


class RestBridge:
    connected = True            # the server is up; sockets are tracked per session

    def __init__(self, server: EmulatedServer, clock: AsyncioClock, venues: VenueMapConfig) -> None:
        self.server = server
        self.clock = clock
        self.venues = venues                      # VenueMapConfig: quote suffixes
        self.sessions: set[WsSession] = set()
        self.counters: Counter[str] = Counter()
        self._waiting: dict[str, asyncio.Future[Any]] = {}
        self._msgs: dict[str, str] = {}
        self.closers: list[Any] = []              # coroutines that close every socket (drops)
        self.suffix = {spec.index: spec.real_suffix for spec in venues.venues.values()}
        server.attach(self)

    # --- HTTP replies the server produces later ---------------------------------------------
    def expect(self, rqname: str) -> asyncio.Future[Any]:
        fut = asyncio.get_running_loop().create_future()
        self._waiting[rqname] = fut
        return fut

    def forget(self, rqname: str) -> None:
        self._waiting.pop(rqname, None)
        self._msgs.pop(rqname, None)

    def emit_msg(self, screen: str, rqname: str, trcode: str, msg: str) -> None:
        self._msgs[rqname] = msg

    def emit_tr(self, screen: str, rqname: str, trcode: str, order_no: str) -> None:
        # the message of the same ack is delivered right after (or was right before): read it
        # once the current callbacks have run
        self.clock.loop.call_soon(self._ack, rqname, order_no)

    def _ack(self, rqname: str, order_no: str) -> None:
        fut = self._waiting.pop(rqname, None)
        msg = self._msgs.pop(rqname, "")
        if fut is not None and not fut.done():
            fut.set_result((order_no, msg))

    def emit_tr_rows(self, screen: str, rqname: str, trcode: str, prev_next: str,
                     single: dict[str, str], rows: list[dict[str, str]]) -> None:
        fut = self._waiting.pop(rqname, None)
        if fut is not None and not fut.done():
            fut.set_result((prev_next, single, rows))

    # --- WebSocket frames -------------------------------------------------------------------
    def broadcast(self, rtype: str, item: str, values: dict[int, str]) -> None:
        text = None
        delivered = False
        for s in self.sessions:
            if s.wants(rtype, item):
                text = text or real_message(rtype, item, values)
                s.queue.put_nowait(text)
                delivered = True
        if not delivered:
            self.counters["undelivered_" + rtype] += 1

    def emit_chejan(self, gubun: str, rec: dict[int, str]) -> None:
        code = fm_code(rec.get(F.CODE, ""))
        self.broadcast(P.RT_ORDER if gubun == "0" else P.RT_BALANCE, code, rec)

    def publish_session(self, code215: str) -> None:
        """장시작시간 goes to every logged-in socket, registered or not (as on OpenAPI+)."""
        text = real_message(P.RT_SESSION, "", fm.session_record(self.clock.now_ns(), code215))
        for s in self.sessions:
            s.queue.put_nowait(text)
        if not self.sessions:
            self.counters["undelivered_" + P.RT_SESSION] += 1

    def publish_vi(self, code: str, active: bool) -> None:
        srv = self.server
        last, _, _, ref = srv._marks(code)
        rec = fm.vi_record(self.clock.now_ns(), code, srv.cfg.names.get(code, code), active,
                           last, ref, "1" if srv.markets.get(code) != "KOSDAQ" else "2")
        self.broadcast(P.RT_VI, code, rec)

    def publish_quote(self, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int,
                      ts_ns: int) -> None:
        """The matcher's book first, then 0D to whoever registered the venue's code."""
        srv = self.server
        srv.exchange.quote(sym, venue, bid, ask, bid_qty, ask_qty, ts_ns)
        code = srv.codes[sym]
        item = code + self.suffix.get(venue, "")
        if any(s.wants(P.RT_HOGA, item) for s in self.sessions):
            self.broadcast(P.RT_HOGA, item, fm.hoga_record(ts_ns, bid, ask, bid_qty, ask_qty,
                                                           srv.ref_price(code)))
        else:
            self.counters["undelivered_0D"] += 1

    def drop_connection(self) -> None:
        """The fault schedule drops the sessions: close every socket (registrations go with them)."""
        self.counters["drops"] += 1
        for close in list(self.closers):
            self.clock.loop.create_task(close())

    def login_allowed(self) -> bool:
        rc = self.server.reconnect_ns
        return rc is not None and self.clock.now_ns() >= rc


def fm_code(v: str) -> str:
    v = v.strip()
    return v[1:] if len(v) == 7 and v[0] == "A" else v
