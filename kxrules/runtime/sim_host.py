"""The simulation host: the Kiwoom emulator on a virtual clock, fed by a replay file or a synthetic
day. It plugs into the one session lifecycle (``session.Session``); only the clock, the control
and the event loop (the faithful or the fast replay) are its own."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Callable

from .. import seoul
from ..broker.adapter import KiwoomAdapter
from ..broker.emulator.control import KiwoomEmulator
from ..broker.emulator.build import emulator_for, session_start_ns
from ..clock import VirtualClock
from ..config.compile import CompiledProfile
from ..engine.engine import Engine
from .fast import FastReplay
from .session import TradeOptions, Wait
from .simulation import SimulationHost
from .sources import QuoteSourceSpec
from .status import progress_reporter

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

    def __init__(self, profile: CompiledProfile, options: TradeOptions, quotes: QuoteSourceSpec) -> None:
        self.profile = profile
        self.options = options
        self.quotes = quotes
        self.source = self.summary_source = quotes.describe()
        self.seed = quotes.seed
        self.record_quotes: bool | None = options.record_quotes      # the replayed file already is the quote record

    def open_broker(self) -> tuple[VirtualClock, KiwoomEmulator]:
        clock = VirtualClock(session_start_ns(self.profile))
        return clock, emulator_for(self.profile, clock, self.seed)

    def make_adapter(self, control: KiwoomEmulator, clock: VirtualClock, engine: Engine) -> KiwoomAdapter:
        return KiwoomAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes))

    def make_loop(self, control: KiwoomEmulator, clock: VirtualClock, engine: Engine, adapter: KiwoomAdapter) -> ReplayLoop:
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
