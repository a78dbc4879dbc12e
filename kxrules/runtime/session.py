"""One session lifecycle for every host: build → run → finish.

- build: open the recording first (exit 2 if another process holds it, before any login), then the
  host's broker (its clock and control), telemetry, engine and adapter; start the run's row.
- run: under ``Interrupts`` (SIGINT, SIGTERM) and with the start-up heap frozen: connect,
  subscribe, and let the host's event loop trade until the market data ends, ``--until`` or an
  interrupt; the same loop then carries out the wind-down.
- finish: summarise, apply the exit-code rule, record the end, close.

A host (``SessionHost``) supplies only what differs: the clock and the control, the adapter, and
an ``EventLoop`` (the virtual-clock replay, the fast columnar replay, Qt's loop when live). The
wind-down is written once, as the waits the loop carries out (``wind_down``), so a loop that
blocks (a replay) and a loop that calls back (Qt) end a session the same way.
"""
from __future__ import annotations

import json
from concurrent.futures import Future
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Generic, Protocol, TypeVar

from ..broker.events import BrokerAdapter
from ..clock import NS_PER_S, Clock
from ..config.compile import CompiledProfile
from ..engine.controls import EMERGENCY_STOP
from ..engine.engine import Engine
from ..engine.evaluator import compile_kernels
from ..engine.telemetry import Telemetry
from ..storage.recorder import Recorder, RecordingUnavailable
from .errors import TradeError
from .heap import frozen_startup_heap
from .interrupts import Interrupts
from .summary import RunSummary, summarise

if TYPE_CHECKING:
    from ..storage.resume import ResumePoint
    from ..ops.view import OpsView

EXIT_OK, EXIT_ABNORMAL, EXIT_USAGE = 0, 1, 2

# why an event loop stopped trading
END_OF_DATA = "end_of_data"     # the market data (a replay) or the trading window (live) is over
UNTIL = "until"                 # --until
INTERRUPT = "interrupt"         # Ctrl-C, SIGTERM or a recording failure

SECOND_WAIT_NS = 60 * NS_PER_S  # the forced wind-down's own limit


@dataclass
class TradeOptions:
    broker: str                         # "sim" | "kiwoom" | "kiwoom_rest"
    replay: Path | None = None
    synthetic_seed: int | None = None
    speed: float | None = None          # None = as fast as possible
    until: int | None = None            # seconds of day (KST) to stop at
    data_dir: Path | None = None
    replay_path: str = "fast"           # "fast" (columnar) or "faithful" (real-data strings)
    record_quotes: bool = False         # simulation: the replayed file already is the quote record
    status: Callable[[str], None] | None = None   # a status-line sink (terminal)
    alerts: Callable[[str, int, str, tuple[Any, ...]], None] | None = None   # (kind, ts_ns, message, facts)
    gateway: str | None = None          # HOST:PORT of a gateway serving the broker (kxrules gateway)
    resume: bool = False                # take over from the data directory's last run (it died)
    emulator: bool = False              # kiwoom_rest: trade against the REST emulator on loopback
    ops: Any = None                     # ops.view.OpsOptions: the operator's live web view (None: off)
    replay_check: Future[None] | None = None    # the check of ``replay`` already under way (start_check)
    recording: str | None = None        # a DuckDB database to record into instead of data_dir's file


@dataclass
class TradeResult:
    exit_code: int
    summary: RunSummary
    run_id: int
    db_path: Path
    notes: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)     # for stderr: recording failures, lost rows
    recorded: bool = True                               # the run's end made it into the recording


# -- the wind-down and the exit code: written once, for every host -------------------------------
@dataclass(frozen=True, slots=True)
class Wait:
    """Run the loop until ``done()`` or ``limit_ns`` of its time has passed (None: the loop's own
    limit for letting in-flight pairs finish)."""
    done: Callable[[], bool]
    limit_ns: int | None = None


def wind_down(engine: Engine, stopped_by: str) -> Iterator[Wait]:
    """The end of every session, as the waits the host's loop carries out in turn. At the end of
    the market data entries stop and pairs finish on their own; otherwise (``--until``, an
    interrupt) the engine winds down at once: disarm, cancel what rests, flatten. A loop that is
    still busy after the first wait is wound down (again) and given one more, shorter wait. The
    predicate is always ``engine.idle``: whatever the engine still waits for is its business."""
    if stopped_by == END_OF_DATA:
        engine.kill("end of market data", trip=False)
    else:
        engine.wind_down()
    yield Wait(engine.idle)
    if not engine.idle():
        engine.wind_down()
        yield Wait(engine.idle, SECOND_WAIT_NS)


def exit_code(summary: RunSummary, *, stopped_by_operator: bool, recording_failed: bool) -> int:
    """0 when the session ended flat, and normally or because the operator stopped it (a pair
    left live by a hurried wind-down, say); 1 otherwise, and always when the recording failed."""
    if recording_failed:
        return EXIT_ABNORMAL
    return EXIT_OK if summary.flat and (summary.ended_normally or stopped_by_operator) else EXIT_ABNORMAL


# -- what a host plugs in ---------------------------------------------------------------------------
class EventLoop(Protocol):
    def run(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        """Trade until the data ends, ``--until`` or ``interrupt()``; then call ``wind_down(why)``
        (``END_OF_DATA``, ``UNTIL`` or ``INTERRUPT``) and carry out each wait it yields, in turn."""

    def interrupt(self) -> None:
        """Stop trading soon (safe inside a signal handler: set a flag or schedule on the loop).
        Once winding down, a loop may take it as the operator's wish to end sooner."""

    def hurry(self) -> None:
        """The operator asked again: stop waiting for wall time (signal-safe as well)."""


ClockT = TypeVar("ClockT", bound=Clock)
ControlT = TypeVar("ControlT")           # the host's control: an OCX, a gateway's remote, the REST session
AdapterT = TypeVar("AdapterT", bound=BrokerAdapter)


class SessionHost(Protocol[ClockT, ControlT, AdapterT]):
    broker: str                 # runs.broker: "sim" | "kiwoom"
    mode: str                   # runs.mode: "simulation" | "live"
    source: str                 # runs.source
    summary_source: str         # how the end-of-run paragraph names the source
    seed: int | None
    durable: bool               # commit every row as it happens (live) or in batches (simulation)
    record_quotes: bool | None  # None: the profile's recording.quotes

    def open_broker(self) -> tuple[ClockT, ControlT]:
        """The clock and the control (a login, for a real broker); called once the recording is open."""

    def make_adapter(self, control: ControlT, clock: ClockT, engine: Engine) -> AdapterT:
        """The broker adapter the engine's execution sends through."""

    def make_loop(self, control: ControlT, clock: ClockT, engine: Engine, adapter: AdapterT) -> EventLoop:
        """The event loop that owns time while the session runs."""


# -- the lifecycle ---------------------------------------------------------------------------------
class Session(Generic[ClockT, ControlT, AdapterT]):
    """One session: ``run()`` builds, trades under ``Interrupts`` and finishes."""

    recorder: Recorder
    engine: Engine
    adapter: AdapterT
    loop: EventLoop
    run_id: int

    def __init__(self, profile: CompiledProfile, options: TradeOptions,
                 host: SessionHost[ClockT, ControlT, AdapterT]) -> None:
        self.profile = profile
        self.options = options
        self.host = host
        self.stopped_by: str | None = None          # set when the wind-down begins
        self.ops: OpsView | None = None             # the live web view (ops.view.OpsView), if asked for
        self.interrupts = Interrupts(self._on_signal)

    def run(self) -> TradeResult:
        self.build()
        try:
            # kept through the final write: a signal cannot tear it; the start-up heap stays frozen
            # through it too (a full collection there walked every start-up object: ~70 ms)
            with self.interrupts, frozen_startup_heap():
                self.trade()
                result = self.finish()
        finally:
            if self.ops is not None:
                self.ops.close()
        self.adapter.close()
        return result

    # -- build -----------------------------------------------------------------------------------
    def build(self) -> None:
        profile, host = self.profile, self.host
        data_dir = Path(self.options.data_dir or profile.data_dir)
        self.recorder = open_recorder(data_dir, profile.codes, durable=host.durable,   # exit 2 if locked
                                      database=self.options.recording)
        try:
            compile_kernels(profile)        # numba compiles here (seconds, once), not while a market runs
            clock, control = host.open_broker()
        except BaseException:
            self.recorder.close()
            raise
        self.engine = Engine(profile, clock, self.recorder, Telemetry(self.recorder), on_alert=self.options.alerts)
        if host.record_quotes is not None:
            self.engine.record_quotes = host.record_quotes
        self.adapter = host.make_adapter(control, clock, self.engine)
        self.engine.attach(self.adapter)
        resume_point = self._resume_point() if self.options.resume else None
        if self.options.ops is not None:
            self._open_ops_view()           # before the run's row: a taken port records nothing
        self.run_id = start_recording(self.recorder, profile=profile.name, broker=host.broker, mode=host.mode,
                                      seed=host.seed, source=host.source, run_date=profile.run_date,
                                      config_hash=profile.config_hash, config=profile.snapshot)
        if resume_point is not None:
            self.engine.resume(resume_point)
        self.loop = host.make_loop(control, clock, self.engine, self.adapter)
        self.recorder.on_failure = self._on_recording_failure

    def _open_ops_view(self) -> None:
        from ..ops.view import OpsUnavailable, OpsView

        try:
            self.ops = OpsView(self.engine, self.options.ops)
        except OpsUnavailable as exc:
            self.recorder.close()
            self.adapter.close()
            raise TradeError(str(exc)) from None
        self.ops.announce()

    def _resume_point(self) -> ResumePoint:
        from ..storage.resume import NothingToResume, load_resume_point

        try:
            return load_resume_point(self.recorder.con, self.recorder.run_id)
        except NothingToResume as exc:
            self.recorder.close()
            self.adapter.close()
            raise TradeError(f"--resume: {exc}") from None

    # -- run -------------------------------------------------------------------------------------
    def trade(self) -> None:
        try:
            self.adapter.connect()
            self.adapter.subscribe_quotes()
            if self.ops is not None:
                self.ops.pump.start()       # on the engine's clock: every loop runs it
            self.loop.run(self._wind_down)
        finally:
            self.engine.stopping = True         # no reconnect from here on
            if self.ops is not None:
                self.ops.pump.stop(f"stopped: {self.stopped_by}" if self.stopped_by else "stopped")

    def _wind_down(self, stopped_by: str) -> Iterator[Wait]:
        self.stopped_by = stopped_by
        return wind_down(self.engine, stopped_by)

    def _on_signal(self, count: int) -> None:
        # inside a signal handler: the loop only sets flags or schedules work
        self.loop.interrupt()
        if count >= 2:
            self.loop.hurry()

    def _on_recording_failure(self, reason: str) -> None:
        self.engine.kill(f"recording failed: {reason}")     # no new entry from this instant
        if self.stopped_by is None:
            self.loop.interrupt()                           # and wind down flat

    # -- finish ----------------------------------------------------------------------------------
    def finish(self) -> TradeResult:
        interrupts = self.interrupts
        notes: list[str] = []
        if interrupts.count:
            notes.append(f"interrupted by the operator ({interrupts.first}): disarmed, flattening, recording")
        if interrupts.count >= 2:
            notes.append("interrupted again: the wind-down stopped waiting for wall time")
        summary = summarise(self.engine, self.profile, self.host.summary_source, self.run_id)
        # Ctrl-C / SIGTERM, or the ops view's emergency stop
        stopped_by_operator = ((interrupts.count > 0 and self.stopped_by == INTERRUPT)
                               or self.engine.guard.killed == EMERGENCY_STOP)
        code, errors = record_end(self.recorder, self.engine, summary, stopped_by_operator=stopped_by_operator)
        return TradeResult(code, summary, self.run_id, self.recorder.path, notes, errors,
                           recorded=not self.recorder.lost)


def run_session(profile: CompiledProfile, options: TradeOptions,
                host: SessionHost[ClockT, ControlT, AdapterT]) -> TradeResult:
    return Session(profile, options, host).run()


# -- the recording's start and end ------------------------------------------------------------------
def open_recorder(data_dir: Path, codes: tuple[str, ...], *, durable: bool, database: str | None = None) -> Recorder:
    """The run's recorder, or a TradeError (exit 2) before anything trades: the file is locked by
    another process, or cannot be written."""
    try:
        return Recorder(data_dir, codes, durable=durable, database=database)
    except RecordingUnavailable as exc:
        raise TradeError(str(exc)) from None


def start_recording(recorder: Recorder, **run: Any) -> int:
    try:
        return recorder.start_run(**run)
    except RecordingUnavailable as exc:
        recorder.close()
        raise TradeError(str(exc)) from None


def check_row_counts(recorder: Recorder, engine: Engine) -> None:
    """The recording holds a row for every signal, pair and fill the engine handed it; a table
    short of (or beyond) the engine's count is a recording failure (exit 1, the run marked)."""
    ex = engine.execution
    if ex is None:
        return
    expected: dict[str, int] = {"signals": engine.stats["signals"], "fills": ex.counters["fills"],
                "pairs": len(ex.pairs_done) + sum(len(p) for p in ex.active.values())}
    got = recorder.row_counts(tuple(expected))
    wrong = [f"{table} {got[table]} rows recorded, {n} by the engine" for table, n in expected.items()
             if got[table] != n]
    if wrong:
        recorder.mark_incomplete(EXIT_ABNORMAL, "the recording does not match the engine: " + "; ".join(wrong))


def record_end(recorder: Recorder, engine: Engine, summary: RunSummary, *,
               stopped_by_operator: bool) -> tuple[int, list[str]]:
    """Record the run's end: pairs still live get their row (their state at the end, no end time),
    then everything pending and the run's row in one transaction. Returns (exit code, lines for
    stderr); a recording failure at any point of the run, these last writes included, makes it 1."""
    ex = engine.execution
    if ex is not None:
        for pairs in list(ex.active.values()):
            for pair in list(pairs):
                recorder.pair_open_at_end(pair)
    code = exit_code(summary, stopped_by_operator=stopped_by_operator, recording_failed=recorder.failed is not None)
    written = recorder.finish_run("ok" if code == EXIT_OK else "abnormal", code, summary.as_dict())
    if written and ex is not None:
        check_row_counts(recorder, engine)
    recorder.close()
    errors: list[str] = []
    if recorder.failed is not None:
        code = exit_code(summary, stopped_by_operator=stopped_by_operator, recording_failed=True)   # the final write too
        how = "flattened" if summary.flat else ("NOT flat: " + ", ".join(
            f"{c} {q:+d}" for c, q in summary.positions_left.items()))
        errors.append(f"recording failed: {recorder.failed}; disarmed and {how}")
        if written and recorder.incomplete is None:
            errors.append(f"the rows held back were written at the end: run {recorder.run_id} in "
                          f"{recorder.path} is complete")
        else:
            errors.append(f"not recorded (run {recorder.run_id} in {recorder.path}): " + "; ".join(recorder.lost))
            errors.append("run summary: " + json.dumps(summary.as_dict(), ensure_ascii=False, default=str))
    return code, errors
