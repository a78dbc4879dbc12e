"""The simulation host: the Kiwoom emulator on a virtual clock, fed by a replay file or a synthetic
day. It plugs into the one session lifecycle (``session.Session``); only the clock, the control
and the event loop (the faithful or the fast replay) are its own."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

from .. import seoul
from ..broker.adapter import KiwoomAdapter
from ..broker.emulator.config import FeeFn
from ..engine.clock import VirtualClock
from ..engine.engine import Engine
from ..money.fees import CostModel, liquidity_of
from .fast import FastReplay
from .session import TradeOptions, Wait
from .simulation import SimulationHost
from .sources import QuoteSourceSpec
from .status import progress_reporter

SESSION_START_S = 8 * 3600 + 50 * 60     # the virtual clock starts before the login, as a live day does


def fee_fn_for(cost: CostModel) -> FeeFn:
    """The emulated broker charges exactly what the fee and tax tables say (FIDs 938/939), on the
    schedule each order's style pays: a midpoint order rests (maker), all else takes."""
    def fee_fn(venue: str, side: str, price: int, qty: int, market: str, style: str = "limit") -> tuple[int, int]:
        return cost.fee(venue, side, price, qty, liquidity_of(style)), cost.tax(market, side, price, qty)
    return fee_fn


class ReplayLoop:
    """Either replay host as the session's event loop: replay the quotes, then carry out the
    wind-down's waits on the same virtual clock."""

    def __init__(self, replay: SimulationHost | FastReplay) -> None:
        self.replay = replay
        self.replayed = False

    def run(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        result = self.replay.replay()
        self.replayed = True
        for wait in wind_down(result.stopped_by):
            if wait.limit_ns is None:
                self.replay.drain(wait.done)
            else:
                self.replay.drain(wait.done, limit_ns=wait.limit_ns)

    def interrupt(self) -> None:
        self.replay.interrupt()         # the replay stops at its next row (or chunk)
        if self.replayed:
            self.hurry()                # already winding down: finish it without waiting for wall time

    def hurry(self) -> None:
        hurry = getattr(self.replay, "hurry", None)     # only a paced replay waits for wall time
        if hurry is not None:
            hurry()


class EmulatorHost:
    """``--broker sim``: what a simulated session plugs into the lifecycle."""

    broker = "sim"
    mode = "simulation"
    durable = False

    def __init__(self, profile, options: TradeOptions, quotes: QuoteSourceSpec) -> None:
        self.profile = profile
        self.options = options
        self.quotes = quotes
        self.source = self.summary_source = quotes.describe()
        self.seed = quotes.seed
        self.record_quotes = options.record_quotes      # the replayed file already is the quote record

    def open_broker(self):
        from ..broker.emulator.control import KiwoomEmulator

        profile = self.profile
        clock = VirtualClock(seoul.epoch_ns(profile.run_date, SESSION_START_S))
        emulator = KiwoomEmulator(
            profile.emulator, clock, list(profile.codes),
            markets={s.code: s.market for s in profile.symbols},
            names={s.code: s.name for s in profile.symbols},
            ref_prices={s.code: s.ref_price for s in profile.symbols},
            fee_fn=fee_fn_for(profile.cost), venues=profile.venues,
            midnight_ns=seoul.midnight_ns(profile.run_date),
            seed=self.seed if self.seed is not None else profile.emulator.seed,
        )
        return clock, emulator

    def make_adapter(self, control, clock: VirtualClock, engine: Engine) -> KiwoomAdapter:
        return KiwoomAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes))

    def make_loop(self, control, clock: VirtualClock, engine: Engine, adapter: KiwoomAdapter) -> ReplayLoop:
        from ..broker.emulator import fastpath
        from .allocator import keep_freed_memory

        profile, options = self.profile, self.options
        until_ns = seoul.epoch_ns(profile.run_date, options.until) if options.until is not None else None
        progress = progress_reporter(engine, options.status)
        if options.replay_path == "fast" and options.speed is None and not fastpath.has_disconnect(control):
            keep_freed_memory()
            return ReplayLoop(FastReplay(clock, control, engine, self.quotes.path, profile.codes,
                                         until_ns=until_ns, on_progress=progress))
        return ReplayLoop(SimulationHost(clock, control.feed_quote, self.quotes.path, profile.codes,
                                         speed=options.speed, until_ns=until_ns, on_progress=progress))
