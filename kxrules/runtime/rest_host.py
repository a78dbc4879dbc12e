"""The Kiwoom REST host: ``--broker kiwoom_rest`` through the one session lifecycle.

The engine runs on an asyncio event loop in this thread (``RestLoop``); the REST adapter's HTTP
replies and WebSocket frames call it from tasks on that loop, and its timers are the loop's
(``AsyncioClock``): one thread, one clock. Live, the clock is wall time. With ``--emulator`` the
REST emulator runs in a thread of its own on loopback (a synthetic day or a replay fed into it at
the session's time), and both clocks share one ``Timeline`` that may run N× faster than wall time
(``--speed``; ``max`` is ``EMULATOR_MAX_SPEED``): real sockets need real time.

The emulator's appkey and secretkey come from the profile's variables when they are set, else are
made up for the run (never printed).
"""
from __future__ import annotations

import asyncio
import os
import secrets as pysecrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from .. import seoul
from ..broker.rest.clock import AsyncioClock, Timeline
from ..clock import NS_PER_S
from ..engine.engine import Engine
from ..marketdata.quote_format import iter_quote_batches
from .errors import TradeError
from .session import END_OF_DATA, INTERRUPT, UNTIL, TradeOptions, TradeResult, Wait, run_session
from .status import status_line

if TYPE_CHECKING:
    from ..broker.rest.adapter import KiwoomRestAdapter
    from ..broker.rest.credentials import Credentials
    from ..broker.rest.emulator.runner import RestEmulator
    from ..config.schema.rest_venues import RestVenueMap
    from ..config.compile import CompiledProfile

# The emulator shares this process (and its GIL) with the engine: at 50 symbols (~700 quotes a
# session second) 20x saturates two cores and acks pass the engine's 200 ms timeout; 10x is clean.
EMULATOR_MAX_SPEED = 10.0
EMULATOR_START_S = 8 * 3600 + 59 * 60 + 50   # 08:59:50: the login and the first holdings before the open
HOUSEKEEPING_S = 0.05                        # wall seconds between the loop's checks
FIRST_WAIT_NS = 60 * NS_PER_S


@dataclass
class RestControl:
    """What ``open_broker`` hands the adapter and the loop: where to connect, with what."""
    loop: asyncio.AbstractEventLoop
    base_url: str
    ws_url: str
    credentials: Any
    rest_venues: Any
    server: str
    emulator: Any = None          # RestEmulator when --emulator


class RestLoop:
    """The asyncio loop as the session's event loop: trade until the data (emulator) or the
    trading window ends, ``--until`` or an interrupt; then carry out the wind-down's waits."""

    def __init__(self, control: RestControl, clock: AsyncioClock, engine: Engine, adapter: Any, *,
                 until_ns: int | None = None, status: Callable[[str], None] | None = None) -> None:
        self.control = control
        self.clock = clock
        self.engine = engine
        self.adapter = adapter
        self.until_ns = until_ns
        self.status = status
        self.interrupted = False
        self.hurried = False
        self.winding_down = False

    def run(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        loop = self.control.loop
        try:
            loop.run_until_complete(self._main(wind_down))
        finally:
            loop.run_until_complete(self.adapter.aclose())
            if self.control.emulator is not None:
                self.control.emulator.stop()

    # signal-safe: only flags, read by the loop's next check
    def interrupt(self) -> None:
        self.interrupted = True

    def hurry(self) -> None:
        self.hurried = True

    async def _main(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        why = None
        while why is None:
            await asyncio.sleep(HOUSEKEEPING_S)
            why = self._why_stop(self.clock.now_ns())
            if self.status:
                self.status(status_line(self.engine, self.clock.now_ns()))
        self.winding_down = True
        self.interrupted = False
        for wait in wind_down(why):
            ends = self.clock.now_ns() + (wait.limit_ns if wait.limit_ns is not None else FIRST_WAIT_NS)
            while not wait.done() and self.clock.now_ns() < ends and not self.hurried:
                if self.interrupted:            # the operator asked again: cut this wait short
                    self.interrupted = False
                    break
                await asyncio.sleep(HOUSEKEEPING_S)

    def _why_stop(self, now: int) -> str | None:
        if self.interrupted:
            return INTERRUPT
        if self.until_ns is not None and now >= self.until_ns:
            return UNTIL
        emu = self.control.emulator
        if emu is not None and emu.feed_done.is_set():
            return END_OF_DATA
        guard = self.engine.guard
        if now >= guard.window_end_ns or not guard.trading_day:
            return END_OF_DATA
        return None


class RestHost:
    """``--broker kiwoom_rest`` (with ``emulator``: against the REST emulator)."""

    broker = "kiwoom_rest"

    def __init__(self, profile: CompiledProfile, options: TradeOptions, *, emulator: bool = False, quotes: Any = None) -> None:
        self.profile = profile
        self.options = options
        self.emulator = emulator
        self.quotes = quotes
        self.mode = "simulation" if emulator else "live"
        self.durable = not emulator
        self.record_quotes = options.record_quotes if emulator else None
        # --seed seeds the emulator even for a replay (the same broker draws as an OCX run)
        self.seed = options.synthetic_seed if options.synthetic_seed is not None else (
            quotes.seed if quotes is not None else None)
        self.source = self.summary_source = (
            f"Kiwoom REST emulator, {quotes.describe()}" if emulator and quotes is not None
            else f"Kiwoom REST API ({profile.profile.rest.server})")

    def _rest_venues(self) -> RestVenueMap:
        """``files.rest_venues``, as validated when the profile was compiled."""
        from ..broker.rest.venues import RestVenueMap

        data = self.profile.snapshot["files"].get("rest_venues")
        if data is None:
            raise TradeError(f"profile {self.profile.name} names no REST venue map "
                             "(files.rest_venues: config/venues/kiwoom_rest.yaml)")
        return RestVenueMap.model_validate(data)

    def _check_budgets(self, rest_venues: RestVenueMap) -> None:
        """The engine's throttle (rules/throttle.yaml) must stay inside the REST limits the venue
        map declares, or the server would answer 1700 to orders the engine thinks it may send."""
        throttle, limits = self.profile.throttle, rest_venues.limits
        for name, ours, theirs in (("orders", throttle.orders, limits.orders),
                                   ("queries", throttle.queries, limits.queries)):
            if ours.capacity * theirs.window_ms > theirs.capacity * ours.window_ms:
                raise TradeError(f"throttle {name}: {ours.capacity} per {ours.window_ms} ms is more than the "
                                 f"Kiwoom REST limit of {theirs.capacity} per {theirs.window_ms} ms "
                                 "(files.rest_venues)")

    def _credentials(self) -> Credentials:
        from ..broker.rest.credentials import Credentials, MissingCredentials

        rest = self.profile.profile.rest
        try:
            return Credentials.from_env(rest.appkey_env, rest.secretkey_env)
        except MissingCredentials as exc:
            if not self.emulator:
                raise TradeError(str(exc)) from None
            return Credentials(pysecrets.token_urlsafe(24), pysecrets.token_urlsafe(24))

    def open_broker(self) -> tuple[AsyncioClock, RestControl]:
        from ..broker.rest import protocol as P

        profile = self.profile
        rest_venues = self._rest_venues()
        self._check_budgets(rest_venues)
        credentials = self._credentials()
        loop = asyncio.new_event_loop()
        if not self.emulator:
            clock = AsyncioClock(loop, Timeline.wall())
            base, ws = P.HOSTS[profile.profile.rest.server]
            return clock, RestControl(loop, base, ws, credentials, rest_venues, profile.profile.rest.server)
        speed = self.options.speed or EMULATOR_MAX_SPEED
        timeline = Timeline(seoul.epoch_ns(profile.run_date, EMULATOR_START_S), speed)
        emu = self._start_emulator(timeline, credentials, rest_venues)
        return AsyncioClock(loop, timeline), RestControl(loop, emu.base_url, emu.ws_url, credentials,
                                                         rest_venues, "emulator", emu)

    def _start_emulator(self, timeline: Timeline, credentials: Credentials,
                        rest_venues: RestVenueMap) -> RestEmulator:
        from ..broker.rest.emulator import RestEmulator
        from ..broker.emulator.build import fee_fn_for

        profile = self.profile
        if profile.emulator is None:
            raise TradeError(f"profile {profile.name} names no emulator file (files.emulator)")
        config = profile.emulator
        if self.seed is not None:
            config = config.model_copy(update={"seed": int(self.seed)})
        return RestEmulator(config, timeline, list(profile.codes), {s.code: s.market for s in profile.symbols},
                            appkey=credentials.appkey, secretkey=credentials.secretkey,
                            venues=profile.venues, rest_venues=rest_venues,
                            ref_prices={s.code: s.ref_price for s in profile.symbols},
                            fee_fn=fee_fn_for(profile.cost), names={s.code: s.name for s in profile.symbols},
                            midnight_ns=seoul.midnight_ns(profile.run_date),
                            quotes=None if self.quotes is None else
                            iter_quote_batches(self.quotes.path, codes=list(profile.codes))).start()

    def make_adapter(self, control: RestControl, clock: AsyncioClock, engine: Engine) -> KiwoomRestAdapter:
        from ..broker.rest.adapter import KiwoomRestAdapter

        account = os.environ.get(self.profile.profile.account.number_env) or None
        return KiwoomRestAdapter(base_url=control.base_url, ws_url=control.ws_url,
                                 credentials=control.credentials, rest_venues=control.rest_venues,
                                 venues=self.profile.venues, clock=clock, listener=engine,
                                 codes=list(self.profile.codes), account=account,
                                 markets={s.code: s.market for s in self.profile.symbols},
                                 server=control.server, close_loop=True)

    def make_loop(self, control: RestControl, clock: AsyncioClock, engine: Engine, adapter: KiwoomRestAdapter) -> RestLoop:
        until = self.options.until
        until_ns = seoul.epoch_ns(self.profile.run_date, until) if until is not None else None
        return RestLoop(control, clock, engine, adapter, until_ns=until_ns, status=self.options.status)


def run_rest(profile: CompiledProfile, options: TradeOptions) -> TradeResult:
    """Trade through the Kiwoom REST API, or (``options.emulator``) through the REST emulator
    fed by a replay file or a synthetic day."""
    quotes = None
    if options.emulator:
        from pathlib import Path

        from .sources import QuoteSourceSpec, synthetic_day

        if options.replay is not None:
            from .replay_check import require_checked

            require_checked(options.replay, profile, options.replay_check)
            quotes = QuoteSourceSpec(options.replay, "replay")
        else:
            if profile.emulator is None:
                raise TradeError(f"profile {profile.name} names no emulator file (files.emulator)")
            seed = options.synthetic_seed if options.synthetic_seed is not None else profile.emulator.seed
            data_dir = Path(options.data_dir or profile.data_dir)
            quotes = synthetic_day(profile, profile.run_date, seed, data_dir / "synthetic", until_s=options.until)
    return run_session(profile, options, RestHost(profile, options, emulator=options.emulator, quotes=quotes))
