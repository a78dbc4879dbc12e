"""The live host: the real OpenAPI+ control inside pykiwoom's Qt application (Windows only).

Same Engine, Execution, KiwoomAdapter and session lifecycle (``session.Session``) as the
simulation; the clock is ``QtClock`` (wall time, QTimer callbacks on the one Qt thread), the
recorder commits every order, event and fill as it happens, and the event loop is Qt's
(``QtLoop``). A 250 ms housekeeping timer keeps the Python interpreter responsive to Ctrl-C inside
the Qt loop, refreshes the status line, polls the connection (the real control may drop silently)
and ends the day: when the guard window closes, at ``--until``, or on Ctrl-C (or SIGTERM) or a
recording failure, it starts the session's wind-down and carries out its waits on the loop, then
quits. A Ctrl-C during the first wait forces the wind-down at once; a second Ctrl-C stops waiting.
Signal handlers only schedule work on the loop (never mid-callback).
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, Callable

from .. import seoul
from ..broker.adapter import KiwoomAdapter
from ..broker.kiwoom.control import open_kiwoom_control
from ..broker.kiwoom.qtclock import QtClock
from ..clock import NS_PER_S, Clock
from ..engine.engine import Engine
from .session import END_OF_DATA, INTERRUPT, UNTIL, TradeOptions, TradeResult, Wait, run_session
from .status import status_line

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile

HOUSEKEEPING_MS = 250
CONNECTION_CHECK_NS = 5 * NS_PER_S
FIRST_WAIT_NS = 60 * NS_PER_S       # how long in-flight pairs may take to finish before it is forced


class QtLoop:
    """Qt's event loop (``app.exec_()``) as the session's loop; one ``exec_()`` covers the trading
    and the wind-down. ``app`` needs only ``exec_()`` and ``quit()``: tests pass a stand-in that
    replays quotes on a virtual clock."""

    def __init__(self, app: Any, clock: Clock, engine: Engine, adapter: KiwoomAdapter, *,
                 until_ns: int | None = None, status: Callable[[str], None] | None = None) -> None:
        self.app = app
        self.clock = clock
        self.engine = engine
        self.adapter = adapter
        self.until_ns = until_ns
        self.status = status
        self.hurried = False
        self.last_check = 0
        self._wind_down: Callable[[str], Iterator[Wait]] | None = None
        self._waits: Iterator[Wait] | None = None     # None: still trading
        self._wait: Wait | None = None
        self._wait_ends_ns = 0
        self._waits_begun = 0

    def run(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        self._wind_down = wind_down
        self.clock.call_later(HOUSEKEEPING_MS, self._housekeeping)
        self.app.exec_()

    # signal-safe: both only schedule work on the loop
    def interrupt(self) -> None:
        self.clock.call_later(0, self._on_interrupt)

    def hurry(self) -> None:
        self.clock.call_later(0, self._on_hurry)

    def _on_interrupt(self) -> None:
        now = self.clock.now_ns()
        if self._waits is None:
            self._stop_trading(INTERRUPT, now)
        elif self._waits_begun == 1:
            self._wait_ends_ns = now            # cut the first wait short: the forced wind-down follows

    def _on_hurry(self) -> None:
        self.hurried = True                     # the next housekeeping tick leaves the loop

    def _housekeeping(self) -> None:
        now = self.clock.now_ns()
        if self.status:
            self.status(status_line(self.engine, now))
        if now - self.last_check >= CONNECTION_CHECK_NS:
            self.last_check = now
            self.adapter.check_connection()
        if self._waits is None:
            why = self._why_stop(now)
            if why is not None:
                self._stop_trading(why, now)
        if self._waits is not None and (self.hurried or not self._keep_waiting(now)):
            self.app.quit()
            return
        self.clock.call_later(HOUSEKEEPING_MS, self._housekeeping)

    def _why_stop(self, now: int) -> str | None:
        if self.until_ns is not None and now >= self.until_ns:
            return UNTIL
        guard = self.engine.guard
        if now >= guard.window_end_ns or not guard.trading_day:
            return END_OF_DATA
        return None

    def _stop_trading(self, why: str, now: int) -> None:
        assert self._wind_down is not None, "run() sets it before the loop starts"
        self._waits = self._wind_down(why)
        self._next_wait(now)                    # the wind-down starts here

    def _next_wait(self, now: int) -> bool:
        assert self._waits is not None, "_stop_trading began the wind-down"
        self._wait = next(self._waits, None)
        if self._wait is None:
            return False
        self._waits_begun += 1
        self._wait_ends_ns = now + (self._wait.limit_ns if self._wait.limit_ns is not None else FIRST_WAIT_NS)
        return True

    def _keep_waiting(self, now: int) -> bool:
        """Advance through the wind-down's waits; False once they are all over."""
        if self._wait is None:
            return False
        if self._wait.done() or now >= self._wait_ends_ns:
            return self._next_wait(now)
        return True


class KiwoomHost:
    """``--broker kiwoom``: what a live session plugs into the lifecycle. ``control``/``clock``
    default to the real OpenAPI+ control and ``QtClock``; tests pass the emulator (with an ``app``
    whose ``exec_`` drives time) and a virtual clock."""

    broker = "kiwoom"
    mode = "live"
    source = "Kiwoom OpenAPI+"
    summary_source = "Kiwoom OpenAPI+ (live)"
    seed: int | None = None
    durable = True
    record_quotes: bool | None = None                # the profile's recording.quotes

    def __init__(self, profile: CompiledProfile, options: TradeOptions, *, control: Any = None, clock: Clock | None = None) -> None:
        self.profile = profile
        self.options = options
        self._control = control
        self._clock = clock

    def open_broker(self) -> tuple[Clock, Any]:
        control = self._control or open_kiwoom_control()        # the login (QApplication first)
        return self._clock or QtClock(), control

    def make_adapter(self, control: Any, clock: Clock, engine: Engine) -> KiwoomAdapter:
        account = os.environ.get(self.profile.profile.account.number_env) or None
        return KiwoomAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes), account=account)

    def make_loop(self, control: Any, clock: Clock, engine: Engine, adapter: KiwoomAdapter) -> QtLoop:
        until = self.options.until
        until_ns = seoul.epoch_ns(self.profile.run_date, until) if until is not None else None
        return QtLoop(control.app, clock, engine, adapter, until_ns=until_ns, status=self.options.status)


def run_live(profile: CompiledProfile, options: TradeOptions, *, control: Any = None, clock: Clock | None = None) -> TradeResult:
    """Trade live through the OpenAPI+ control."""
    return run_session(profile, options, KiwoomHost(profile, options, control=control, clock=clock))
