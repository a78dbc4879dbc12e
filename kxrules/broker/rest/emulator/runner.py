"""``RestEmulator``: the REST emulator in a thread of its own, on loopback, with a secret.

The thread owns an asyncio loop, the broker core (``EmulatedServer``, the same one the OCX
emulator wraps: orders, matching, holdings, cash, faults, latencies), the bridge, the ASGI app and
the uvicorn server, and, given a quote file, replays it into the matcher and out as ``0D``
frames at the session's time. Nothing in it is shared with the engine's thread but the
``Timeline`` (immutable) and the sockets. ``call(fn)`` runs ``fn`` on the emulator's loop (tests
flip faults and read state through it).

Why uvicorn + starlette: both are well kept, pure Python, and one ASGI app serves the HTTP routes
and the WebSocket on one loopback port (uvicorn drives the ``websockets`` protocol implementation
underneath); no hand-written HTTP or framing.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import socket
import threading
from typing import Any, Callable, Iterable

from ...emulator.config import EmulatorConfig, FeeFn
from ...emulator.server import EmulatedServer
from ...venues import VenueMapConfig
from ..clock import AsyncioClock, Timeline
from ..venues import RestVenueMap
from .app import EmulatorAuth, build_app
from .bridge import RestBridge

LOOPBACK = "127.0.0.1"


class RestEmulator:
    def __init__(self, config: EmulatorConfig, timeline: Timeline, codes: list[str],
                 markets: dict[str, str], *, appkey: str, secretkey: str,
                 venues: VenueMapConfig, rest_venues: RestVenueMap,
                 ref_prices: dict[str, int] | None = None, fee_fn: FeeFn | None = None,
                 names: dict[str, str] | None = None, midnight_ns: int | None = None,
                 quotes: Iterable[Any] | None = None, token_lifetime_s: float = 86_400.0,
                 host: str = LOOPBACK, port: int = 0) -> None:
        if not appkey or not secretkey:
            raise ValueError("the REST emulator requires an appkey and a secretkey")
        if names:
            config = config.model_copy(update={"names": {**names, **config.names}})
        self.config = config
        self.timeline = timeline
        self.codes = list(codes)
        self.markets = dict(markets)
        self.venues = venues
        self.rest_venues = rest_venues
        self.ref_prices = ref_prices
        self.fee_fn = fee_fn
        self.midnight_ns = midnight_ns
        self.quotes = quotes
        self.auth = EmulatorAuth(appkey, secretkey, token_lifetime_s)
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host, self.port = self._sock.getsockname()[:2]
        self.loop: asyncio.AbstractEventLoop | None = None
        self.server: EmulatedServer | None = None
        self.bridge: RestBridge | None = None
        self.app: Any = None
        self.feed_done = threading.Event()
        self.fed_rows = 0
        self._uvicorn: Any = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://{self.host}:{self.port}"

    # --- lifecycle --------------------------------------------------------------------------
    def start(self) -> "RestEmulator":
        self._thread = threading.Thread(target=self._main, name="kiwoom-rest-emulator", daemon=True)
        self._thread.start()
        self._ready.wait(30)
        if self._error is not None:
            raise RuntimeError(f"the REST emulator did not start: {self._error!r}")
        return self

    def _main(self) -> None:
        import uvicorn

        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.loop = loop
        try:
            clock = AsyncioClock(loop, self.timeline)
            self.server = EmulatedServer(self.config, clock, self.codes, self.markets,
                                         ref_prices=self.ref_prices, fee_fn=self.fee_fn,
                                         midnight_ns=self.midnight_ns)
            self.bridge = RestBridge(self.server, clock, self.venues)
            self.app = build_app(self.bridge, self.auth, self.rest_venues)
            config = uvicorn.Config(self.app, log_level="warning", access_log=False,
                                    lifespan="off", ws="websockets-sansio", ws_ping_interval=None)
            self._uvicorn = uvicorn.Server(config)
            serving = loop.create_task(self._uvicorn.serve(sockets=[self._sock]))
            feeder = loop.create_task(self._feed(clock)) if self.quotes is not None else None
            if feeder is None:
                self.feed_done.set()
        except BaseException as exc:  # noqa: BLE001 - reported to start()
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        try:
            loop.run_until_complete(serving)
        finally:
            if feeder is not None:
                feeder.cancel()
            loop.run_until_complete(asyncio.gather(*asyncio.all_tasks(loop), return_exceptions=True))
            loop.close()

    async def _feed(self, clock: AsyncioClock) -> None:
        """Replay the quote file at the session's time: each row when the clock reaches it."""
        bridge, quotes = self.bridge, self.quotes
        assert bridge is not None and quotes is not None
        try:
            for batch in quotes:            # QuoteBatch columns (the host reads the file: marketdata)
                cols = (batch.ts_ns.tolist(), batch.code_idx.tolist(), batch.venue_idx.tolist(),
                        batch.bid.tolist(), batch.ask.tolist(), batch.bid_qty.tolist(), batch.ask_qty.tolist())
                for ts, sym, venue, bid, ask, bq, aq in zip(*cols):
                    ahead = ts - clock.now_ns()
                    if ahead > 1_000_000:                  # more than 1 ms of session time
                        await asyncio.sleep(clock.sleep_s(ahead / 1e9))
                    bridge.publish_quote(sym, venue, bid, ask, bq, aq, ts)
                    self.fed_rows += 1
        finally:
            self.feed_done.set()

    def call(self, fn: Callable[..., Any], *args: Any, timeout: float = 10.0) -> Any:
        """Run ``fn(*args)`` on the emulator's loop and return its result."""
        assert self.loop is not None

        async def run() -> Any:
            return fn(*args)

        fut: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(run(), self.loop)
        return fut.result(timeout)

    def stop(self) -> None:
        if self._uvicorn is not None and self.loop is not None and not self.loop.is_closed():
            self._uvicorn.should_exit = True
            self.loop.call_soon_threadsafe(lambda: None)
        if self._thread is not None:
            self._thread.join(15)
        try:
            self._sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RestEmulator":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
