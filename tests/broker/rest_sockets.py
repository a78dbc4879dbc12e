"""Helpers for the REST tests over real sockets: an emulator thread on loopback and an adapter on
this thread's event loop, both on one timeline (speed-up keeps the tests short)."""
from __future__ import annotations

import asyncio
import datetime as dt
from contextlib import contextmanager
from typing import Any, Callable, Iterator

from kxrules import seoul
from kxrules.broker.emulator.config import EmulatorConfig
from kxrules.broker.rest import Credentials, KiwoomRestAdapter
from kxrules.broker.rest.clock import AsyncioClock, Timeline
from kxrules.broker.rest.emulator import RestEmulator
from kxrules.broker.rest.venues import load_rest_venue_map
from kxrules.broker.venues import load_venue_map_file

DAY = dt.date(2026, 8, 12)
APPKEY = "PSk3yForSocketTests0123456789abcdefXYZ"
SECRET = "S3cretForSocketTests9876543210fedcbaQRS"
CODES = ["005930", "000660"]
REFS = {"005930": 70000, "000660": 180000}


class Listener:
    def __init__(self) -> None:
        self.quotes: list[tuple] = []
        self.events: list[Any] = []
        self.balances: list[Any] = []
        self.accounts: list[Any] = []
        self.conn: list[Any] = []
        self.sessions: list[Any] = []

    def on_quote(self, *args) -> None:
        self.quotes.append(args)

    def on_order_event(self, ev) -> None:
        self.events.append(ev)

    def on_balance(self, ev) -> None:
        self.balances.append(ev)

    def on_session(self, ev) -> None:
        self.sessions.append(ev)

    def on_vi(self, ev) -> None:
        self.sessions.append(ev)

    def on_connection(self, ev) -> None:
        self.conn.append(ev)

    def on_account(self, ev) -> None:
        self.accounts.append(ev)


class Rig:
    def __init__(self, emu: RestEmulator, adapter: KiwoomRestAdapter, listener: Listener,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.emu, self.adapter, self.listener, self.loop = emu, adapter, listener, loop

    def run_until(self, cond: Callable[[], bool], timeout_s: float = 5.0) -> bool:
        async def wait() -> bool:
            deadline = self.loop.time() + timeout_s
            while not cond():
                if self.loop.time() > deadline:
                    return False
                await asyncio.sleep(0.005)
            return True
        return self.loop.run_until_complete(wait())

    def quote(self, sym: int, venue: int, bid: int, ask: int, bq: int = 100, aq: int = 100) -> None:
        now = self.adapter.clock.now_ns()
        self.emu.call(self.emu.bridge.publish_quote, sym, venue, bid, ask, bq, aq, now)


@contextmanager
def rig(*, start_hms: str = "09:05:00", speed: float = 1.0, config: EmulatorConfig | None = None,
        token_lifetime_s: float = 86_400.0, renew_before_s: int | None = None) -> Iterator[Rig]:
    timeline = Timeline(seoul.epoch_ns(DAY, seoul.parse_hms(start_hms)), speed)
    venues = load_venue_map_file()
    rest_venues = load_rest_venue_map()
    if renew_before_s is not None:
        rest_venues = rest_venues.model_copy(update={"token": rest_venues.token.model_copy(
            update={"renew_before_s": renew_before_s})})
    emu = RestEmulator(config or EmulatorConfig(seed=7), timeline, CODES,
                       {c: "KOSPI" for c in CODES}, appkey=APPKEY, secretkey=SECRET, venues=venues,
                       rest_venues=rest_venues, ref_prices=REFS, midnight_ns=seoul.midnight_ns(DAY),
                       token_lifetime_s=token_lifetime_s)
    emu.start()
    loop = asyncio.new_event_loop()
    listener = Listener()
    adapter = KiwoomRestAdapter(base_url=emu.base_url, ws_url=emu.ws_url,
                                credentials=Credentials(APPKEY, SECRET), rest_venues=rest_venues,
                                venues=venues, clock=AsyncioClock(loop, timeline), listener=listener,
                                codes=CODES)
    try:
        yield Rig(emu, adapter, listener, loop)
    finally:
        adapter.close()
        loop.close()
        emu.stop()
