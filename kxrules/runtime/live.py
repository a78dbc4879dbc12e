"""The live host: the real OpenAPI+ control inside pykiwoom's Qt application (Windows only).

Same Engine, Execution and KiwoomAdapter as the simulation; the clock is ``QtClock`` (wall time,
QTimer callbacks on the one Qt thread) and the recorder commits every order, event and fill as it
happens. A 250 ms housekeeping timer keeps the Python interpreter responsive to Ctrl-C inside the
Qt loop, refreshes the status line, polls the connection (the real control may drop silently)
and ends the day: after the guard window closes and nothing is in flight, or on Ctrl-C after the
engine has disarmed, cancelled what rests and flattened.
"""
from __future__ import annotations

import os
import signal as signals
from pathlib import Path

from .. import seoul
from ..broker.adapter import KiwoomAdapter
from ..broker.kiwoom.control import open_kiwoom_control
from ..broker.kiwoom.qtclock import QtClock
from ..engine.clock import NS_PER_S
from ..engine.engine import Engine
from ..engine.telemetry import Telemetry
from ..storage.recorder import Recorder
from .alerts import SlackNotifier
from .heap import frozen_startup_heap
from .summary import summarise
from .trade import EXIT_ABNORMAL, EXIT_OK, TradeOptions, TradeResult, status_line

HOUSEKEEPING_MS = 250
CONNECTION_CHECK_NS = 5 * NS_PER_S
WIND_DOWN_GRACE_NS = 60 * NS_PER_S      # after the window: force the wind-down if still busy
STOP_GRACE_NS = 30 * NS_PER_S           # after Ctrl-C: leave even if not idle (recorded as abnormal)


def run_live(profile, options: TradeOptions, *, control=None, clock=None) -> TradeResult:
    """Trade live. ``control``/``clock`` default to the real OpenAPI+ control and ``QtClock``;
    tests pass the emulator (with an ``app`` whose ``exec_`` drives time) and a virtual clock."""
    control = control or open_kiwoom_control()
    clock = clock or QtClock()
    notifier = SlackNotifier.from_profile(profile)
    if notifier is not None and options.alerts is None:
        options.alerts = notifier
    data_dir = Path(options.data_dir or profile.data_dir)
    recorder = Recorder(data_dir, profile.codes, durable=True)
    telemetry = Telemetry(recorder)
    engine = Engine(profile, clock, recorder, telemetry, on_alert=options.alerts)
    account = os.environ.get(profile.profile.account.number_env) or None
    adapter = KiwoomAdapter(control, profile.venues, clock, engine, list(profile.codes), account=account)
    engine.attach(adapter)
    run_id = recorder.start_run(profile=profile.name, broker="kiwoom", mode="live", seed=None,
                                source="Kiwoom OpenAPI+", run_date=profile.run_date,
                                config_hash=profile.config_hash, config=profile.snapshot)
    state = {"stop_at": None, "interrupted": False, "last_check": 0, "notes": []}

    def on_sigint(*_):
        if not state["interrupted"]:
            state["interrupted"] = True
            state["notes"].append("interrupted by the operator: disarmed, flattening, recording")
            engine.wind_down()
            state["stop_at"] = clock.now_ns() + STOP_GRACE_NS

    def housekeeping() -> None:
        now = clock.now_ns()
        if options.status:
            options.status(status_line(engine, now))
        if now - state["last_check"] >= CONNECTION_CHECK_NS:
            state["last_check"] = now
            adapter.check_connection()
        after_window = now >= engine.guard.window_end_ns or not engine.guard.trading_day
        if options.until is not None and now >= _until_ns(profile, options.until) and state["stop_at"] is None:
            engine.wind_down()
            state["stop_at"] = now + STOP_GRACE_NS
        if after_window and state["stop_at"] is None and now >= engine.guard.window_end_ns + WIND_DOWN_GRACE_NS:
            engine.wind_down()
            state["stop_at"] = now + STOP_GRACE_NS
        if (after_window or state["interrupted"] or state["stop_at"]) and engine.idle():
            control.app.quit()
            return
        if state["stop_at"] is not None and now >= state["stop_at"]:
            control.app.quit()
            return
        clock.call_later(HOUSEKEEPING_MS, housekeeping)

    previous = signals.signal(signals.SIGINT, on_sigint)
    try:
        with frozen_startup_heap():
            adapter.connect()
            adapter.subscribe_quotes()
            clock.call_later(HOUSEKEEPING_MS, housekeeping)
            control.app.exec_()
    finally:
        signals.signal(signals.SIGINT, previous)
        engine.stopping = True
    summary = summarise(engine, profile, "Kiwoom OpenAPI+ (live)", run_id)
    exit_code = EXIT_OK if summary.flat and (summary.ended_normally or state["interrupted"]) else EXIT_ABNORMAL
    recorder.finish_run("ok" if exit_code == EXIT_OK else "abnormal", exit_code, summary.as_dict())
    recorder.close()
    adapter.close()
    if notifier is not None:
        notifier("run_end", summary.paragraph())
        notifier.close()
    return TradeResult(exit_code, summary, run_id, recorder.path, state["notes"])


def _until_ns(profile, until_s: int) -> int:
    return seoul.epoch_ns(profile.run_date, until_s)
