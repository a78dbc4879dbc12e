"""``kxrules gateway --emulator``: the Kiwoom emulator in its own process, served in lockstep.

The profile, the market data and the seed decide the broker's world here, as they do in process;
the engine that connects brings only its own side (rules, risk, recording).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from ..broker.emulator.build import emulator_for, session_start_ns
from ..clock import VirtualClock
from ..marketdata.quote_format import iter_quote_batches
from .lockstep import LockstepGateway, QuoteFeeder


def emulated_gateway(profile: Any, quotes: Path, seed: int | None, source: str) -> LockstepGateway:
    clock = VirtualClock(session_start_ns(profile))
    emulator = emulator_for(profile, clock, seed)
    feeder = QuoteFeeder(iter_quote_batches(quotes, codes=profile.codes), emulator.feed_quote)
    info = {"mode": "emulator-lockstep", "start_ns": clock.now_ns(), "source": source, "seed": seed,
            "codes": list(profile.codes), "config_hash": profile.config_hash}
    return LockstepGateway(emulator, clock, feeder, info)


def emulated_live_gateway(profile: Any, quotes: Path, seed: int | None, source: str, speed: float):
    """The emulator on a sped-up wall clock from the session's start: the engine reads the same
    origin and speed, so both agree on the market's time (``kxrules gateway --emulator --speed N``)."""
    from ..clock import WallClock
    from .live import EmulatorThread, LiveGateway

    clock = WallClock(session_start_ns(profile), speed=speed)
    emulator = emulator_for(profile, clock, seed)
    feeder = QuoteFeeder(iter_quote_batches(quotes, codes=profile.codes), emulator.feed_quote)
    info = {"mode": "emulator-live", "origin_ns": clock.origin_ns, "wall_origin_ns": clock.wall_origin_ns,
            "speed": speed, "source": source, "seed": seed, "codes": list(profile.codes),
            "config_hash": profile.config_hash}
    return LiveGateway(emulator, EmulatorThread(clock, feeder), info), emulator
