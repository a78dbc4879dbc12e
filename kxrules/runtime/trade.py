"""`kxrules trade` as a library: build the broker, engine and recorder; run; summarise.

The same Engine runs in both worlds; only the clock and the control differ:
- ``sim``: VirtualClock + the Kiwoom emulator fed by a replay file or a synthetic day;
- ``kiwoom``: the real OpenAPI+ control inside pykiwoom's Qt loop (Windows only). Asking for it
  elsewhere fails with a clear message; it never falls back to the emulator.
"""
from __future__ import annotations

import json
import signal as signals
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from .. import seoul
from ..clock import NS_PER_S, VirtualClock
from ..engine.engine import Engine
from ..engine.telemetry import Telemetry
from ..storage.recorder import Recorder, RecordingUnavailable
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
    errors: list[str] = field(default_factory=list)     # for stderr: recording failures, lost rows
    recorded: bool = True                               # the run's end made it into the recording


def fee_fn_for(cost):
    """The emulated broker charges exactly what the fee and tax tables say (FIDs 938/939)."""
    def fee_fn(venue: str, side: str, price: int, qty: int, market: str) -> tuple[int, int]:
        return cost.fee(venue, side, price, qty, "taker"), cost.tax(market, side, price, qty)
    return fee_fn


class Interrupts:
    """SIGINT (Ctrl-C) and SIGTERM while a host runs. The handler never raises: it counts and
    calls ``on_signal(count)``, which only sets flags or schedules work on the host's loop, so a
    signal can neither land inside engine code nor tear a recording write. The previous handlers
    come back on exit (off the main thread, where handlers cannot be set, it does nothing)."""

    def __init__(self, on_signal: Callable[[int], None] | None = None):
        self.on_signal = on_signal
        self.count = 0
        self.names: list[str] = []
        self._previous: dict = {}

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():
            for sig in (signals.SIGINT, getattr(signals, "SIGTERM", None)):
                if sig is not None:
                    self._previous[sig] = signals.signal(sig, self._handle)
        return self

    def _handle(self, signum, _frame) -> None:
        self.count += 1
        self.names.append(signals.Signals(signum).name)
        if self.on_signal is not None:
            self.on_signal(self.count)

    @property
    def first(self) -> str:
        return self.names[0] if self.names else ""

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signals.signal(sig, handler)
        self._previous.clear()


def open_recorder(data_dir: Path, codes, *, durable: bool) -> Recorder:
    """The run's recorder, or a TradeError (exit 2) before anything trades: the file is locked by
    another process, or cannot be written."""
    try:
        return Recorder(data_dir, codes, durable=durable)
    except RecordingUnavailable as exc:
        raise TradeError(str(exc)) from None


def start_recording(recorder: Recorder, **run) -> int:
    try:
        return recorder.start_run(**run)
    except RecordingUnavailable as exc:
        recorder.close()
        raise TradeError(str(exc)) from None


def record_end(recorder: Recorder, engine: Engine, summary: RunSummary, exit_code: int) -> tuple[int, list[str]]:
    """Record the run's end: pairs still live get their row (their state at the end, no end time),
    then everything pending and the run's row in one transaction. A recording failure at any
    point of the run makes the exit code 1; returns (exit code, lines for stderr)."""
    ex = engine.execution
    if ex is not None:
        for pairs in list(ex.active.values()):
            for pair in list(pairs):
                recorder.pair_open_at_end(pair)
    if recorder.failed is not None:
        exit_code = EXIT_ABNORMAL
    written = recorder.finish_run("ok" if exit_code == EXIT_OK else "abnormal", exit_code, summary.as_dict())
    recorder.close()
    errors: list[str] = []
    if recorder.failed is not None:
        how = "flattened" if summary.flat else ("NOT flat: " + ", ".join(
            f"{c} {q:+d}" for c, q in summary.positions_left.items()))
        errors.append(f"recording failed: {recorder.failed}; disarmed and {how}")
        if written:
            errors.append(f"the rows held back were written at the end: run {recorder.run_id} in "
                          f"{recorder.path} is complete")
        else:
            errors.append(f"not recorded (run {recorder.run_id} in {recorder.path}): " + "; ".join(recorder.lost))
            errors.append("run summary: " + json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
    return exit_code, errors


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
        from .replay_check import check_replay

        check_replay(options.replay, profile)     # before anything is recorded; names file, row, column
        source = QuoteSourceSpec(options.replay, "replay")
    else:
        seed = options.synthetic_seed if options.synthetic_seed is not None else profile.emulator.seed
        source = synthetic_day(profile, profile.run_date, seed, data_dir / "synthetic", until_s=options.until)

    start_ns = seoul.epoch_ns(profile.run_date, 8 * 3600 + 50 * 60)
    clock = VirtualClock(start_ns)
    recorder = open_recorder(data_dir, profile.codes, durable=False)
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
    run_id = start_recording(recorder, profile=profile.name, broker="sim", mode="simulation", seed=source.seed,
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
    replayed = [False]

    def on_signal(count: int) -> None:
        host.interrupt()                # the replay stops at its next row (or chunk)
        if (count >= 2 or replayed[0]) and hasattr(host, "hurry"):
            host.hurry()                # wind down without waiting for wall time (paced replays)

    def on_recording_failure(reason: str) -> None:
        engine.kill(f"recording failed: {reason}")
        host.interrupt()

    recorder.on_failure = on_recording_failure
    notes: list[str] = []
    with Interrupts(on_signal) as interrupts:       # kept through the final write: it cannot tear
        with frozen_startup_heap():
            adapter.connect()
            adapter.subscribe_quotes()
            result = host.replay()
            replayed[0] = True
            if interrupts.count:
                notes.append(f"interrupted by the operator ({interrupts.first}): disarmed, flattening, recording")
            if result.stopped_by == "end_of_data":
                engine.kill("end of market data")
            else:
                engine.wind_down()
            if not host.drain(engine.idle):
                engine.wind_down()
                host.drain(engine.idle, limit_ns=60 * NS_PER_S)
            engine.stopping = True
        if interrupts.count >= 2:
            notes.append("interrupted again: the wind-down ran without waiting for wall time")
        summary = summarise(engine, profile, source.describe(), run_id)
        exit_code = EXIT_OK if summary.flat and summary.ended_normally else EXIT_ABNORMAL
        if interrupts.count and result.stopped_by == "interrupt" and summary.flat:
            exit_code = EXIT_OK
        exit_code, errors = record_end(recorder, engine, summary, exit_code)
    adapter.close()
    return TradeResult(exit_code, summary, run_id, recorder.path, notes, errors, recorded=not recorder.lost)


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
