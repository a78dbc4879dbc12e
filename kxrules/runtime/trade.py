"""`kxrules trade` as a library: build the broker, engine and recorder; run; summarise.

The same Engine runs in both worlds; only the clock and the control differ:
- ``sim``: VirtualClock + the Kiwoom emulator fed by a replay file or a synthetic day;
- ``kiwoom``: the real OpenAPI+ control inside pykiwoom's Qt loop (Windows only). Asking for it
  elsewhere fails with a clear message; it never falls back to the emulator.
"""
from __future__ import annotations

import signal as signals
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import seoul
from ..engine.clock import NS_PER_S, VirtualClock
from ..engine.engine import Engine
from ..engine.telemetry import Telemetry
from ..storage.recorder import Recorder
from .sources import QuoteSourceSpec, synthetic_day
from .summary import RunSummary, summarise

EXIT_OK, EXIT_ABNORMAL, EXIT_USAGE = 0, 1, 2


class TradeError(Exception):
    """A usage or environment problem found before trading started (exit code 2)."""


@dataclass
class TradeOptions:
    broker: str                         # "sim" | "kiwoom"
    replay: Path | None = None
    synthetic_seed: int | None = None
    speed: float | None = None          # None = as fast as possible
    until: int | None = None            # seconds of day (KST) to stop at
    data_dir: Path | None = None
    replay_path: str = "fast"           # "fast" (columnar) or "faithful" (real-data strings)
    record_quotes: bool = False         # simulation: the replayed file already is the quote record
    status: Callable[[str], None] | None = None   # a status-line sink (terminal)
    alerts: Callable[[str, str], None] | None = None


@dataclass
class TradeResult:
    exit_code: int
    summary: RunSummary
    run_id: int
    db_path: Path
    notes: list[str] = field(default_factory=list)


def fee_fn_for(cost):
    """The emulated broker charges exactly what the fee and tax tables say (FIDs 938/939)."""
    def fee_fn(venue: str, side: str, price: int, qty: int, market: str) -> tuple[int, int]:
        return cost.fee(venue, side, price, qty, "taker"), cost.tax(market, side, price, qty)
    return fee_fn


def run_trade(profile, options: TradeOptions) -> TradeResult:
    if options.broker == "kiwoom":
        from ..broker.kiwoom.control import require_real_control

        require_real_control()          # raises BrokerUnavailable off Windows / without pykiwoom
        from .live import run_live      # pragma: no cover - needs the Windows COM control
        return run_live(profile, options)
    return run_simulation(profile, options)


def run_simulation(profile, options: TradeOptions) -> TradeResult:
    from ..broker.adapter import KiwoomAdapter
    from ..broker.emulator import fastpath
    from ..broker.emulator.control import KiwoomEmulator
    from .allocator import keep_freed_memory
    from .fast import FastReplay
    from .heap import frozen_startup_heap
    from .simulation import SimulationHost

    if profile.emulator is None:
        raise TradeError(f"profile {profile.name} names no emulator file (files.emulator)")
    data_dir = Path(options.data_dir or profile.data_dir)
    if options.replay is not None:
        if not options.replay.exists():
            raise TradeError(f"replay file not found: {options.replay}")
        source = QuoteSourceSpec(options.replay, "replay")
    else:
        seed = options.synthetic_seed if options.synthetic_seed is not None else profile.emulator.seed
        source = synthetic_day(profile, profile.run_date, seed, data_dir / "synthetic", until_s=options.until)

    start_ns = seoul.epoch_ns(profile.run_date, 8 * 3600 + 50 * 60)
    clock = VirtualClock(start_ns)
    recorder = Recorder(data_dir, profile.codes, durable=False)
    telemetry = Telemetry(recorder)
    engine = Engine(profile, clock, recorder, telemetry, on_alert=options.alerts)
    engine.record_quotes = options.record_quotes
    emulator = KiwoomEmulator(
        profile.emulator, clock, list(profile.codes),
        markets={s.code: s.market for s in profile.symbols},
        names={s.code: s.name for s in profile.symbols},
        ref_prices={s.code: s.ref_price for s in profile.symbols},
        fee_fn=fee_fn_for(profile.cost), venues=profile.venues,
        midnight_ns=seoul.midnight_ns(profile.run_date),
        seed=source.seed if source.seed is not None else profile.emulator.seed,
    )
    adapter = KiwoomAdapter(emulator, profile.venues, clock, engine, list(profile.codes))
    engine.attach(adapter)
    run_id = recorder.start_run(profile=profile.name, broker="sim", mode="simulation", seed=source.seed,
                                source=source.describe(), run_date=profile.run_date,
                                config_hash=profile.config_hash, config=profile.snapshot)
    until_ns = seoul.epoch_ns(profile.run_date, options.until) if options.until is not None else None
    progress = _progress(engine, options.status)
    if options.replay_path == "fast" and options.speed is None and not fastpath.has_disconnect(emulator):
        keep_freed_memory()
        host = FastReplay(clock, emulator, engine, source.path, profile.codes, until_ns=until_ns,
                          on_progress=progress)
    else:
        host = SimulationHost(clock, emulator.feed_quote, source.path, profile.codes, speed=options.speed,
                              until_ns=until_ns, on_progress=progress)
    previous = signals.signal(signals.SIGINT, lambda *_: host.interrupt())
    notes: list[str] = []
    try:
        with frozen_startup_heap():
            adapter.connect()
            adapter.subscribe_quotes()
            result = host.replay()
            if result.stopped_by == "interrupt":
                notes.append("interrupted by the operator: disarmed, flattening, recording")
            if result.stopped_by == "end_of_data":
                engine.kill("end of market data")
            else:
                engine.wind_down()
            if not host.drain(engine.idle):
                engine.wind_down()
                host.drain(engine.idle, limit_ns=60 * NS_PER_S)
            engine.stopping = True
    finally:
        signals.signal(signals.SIGINT, previous)
    summary = summarise(engine, profile, source.describe(), run_id)
    exit_code = EXIT_OK if summary.flat and summary.ended_normally else EXIT_ABNORMAL
    if result.stopped_by == "interrupt" and summary.flat:
        exit_code = EXIT_OK
    recorder.finish_run("ok" if exit_code == EXIT_OK else "abnormal", exit_code, summary.as_dict())
    recorder.close()
    adapter.close()
    return TradeResult(exit_code, summary, run_id, recorder.path, notes)


def _progress(engine: Engine, sink):
    if sink is None:
        return None

    def report(rows: int, ts_ns: int) -> None:
        sink(status_line(engine, ts_ns))
    return report


def status_line(engine: Engine, ts_ns: int) -> str:
    ex = engine.execution
    done = ex.pairs_done if ex else []
    net = ex.realised_krw if ex else 0            # what the daily-loss limit watches
    armed = "ARMED" if engine.guard.armed(ts_ns) else "disarmed"
    return (f"{seoul.fmt_hms(seoul.seconds_of_day(ts_ns))} {armed:<8} quotes {engine.stats['quotes']:,} "
            f"signals {engine.stats['signals']:,} pairs {len(done):,} net ₩{net:,} "
            f"max orders/s {engine.throttle.max_in_window}")
