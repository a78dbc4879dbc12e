"""The live host: the real OpenAPI+ control inside pykiwoom's Qt application (Windows only).

Same Engine, Execution and KiwoomAdapter as the simulation; the clock is ``QtClock`` (wall time,
QTimer callbacks on the one Qt thread) and the recorder commits every order, event and fill as it
happens. A 250 ms housekeeping timer keeps the Python interpreter responsive to Ctrl-C inside the
Qt loop, refreshes the status line, polls the connection (the real control may drop silently)
and ends the day: after the guard window closes and nothing is in flight, or on Ctrl-C (or
SIGTERM) after the engine has disarmed, cancelled what rests and flattened. A second Ctrl-C stops
waiting for the wind-down. Signal handlers only schedule work on the loop (never mid-callback),
and stay installed until the run is recorded. A recording failure disarms at once and winds down
the same way (the run then exits 1).
"""
from __future__ import annotations

import os
from pathlib import Path

from .. import seoul
from ..broker.adapter import KiwoomAdapter
from ..broker.kiwoom.control import open_kiwoom_control
from ..broker.kiwoom.qtclock import QtClock
from ..clock import NS_PER_S
from ..engine.engine import Engine
from ..engine.telemetry import Telemetry
from .alerts import SlackNotifier
from .heap import frozen_startup_heap
from .summary import summarise
from .trade import (EXIT_ABNORMAL, EXIT_OK, Interrupts, TradeOptions, TradeResult, open_recorder, record_end,
                    start_recording, status_line)

HOUSEKEEPING_MS = 250
CONNECTION_CHECK_NS = 5 * NS_PER_S
WIND_DOWN_GRACE_NS = 60 * NS_PER_S      # after the window: force the wind-down if still busy
STOP_GRACE_NS = 30 * NS_PER_S           # after Ctrl-C: leave even if not idle (recorded as abnormal)


def run_live(profile, options: TradeOptions, *, control=None, clock=None) -> TradeResult:
    """Trade live. ``control``/``clock`` default to the real OpenAPI+ control and ``QtClock``;
    tests pass the emulator (with an ``app`` whose ``exec_`` drives time) and a virtual clock."""
    data_dir = Path(options.data_dir or profile.data_dir)
    recorder = open_recorder(data_dir, profile.codes, durable=True)     # before the login: exit 2 if locked
    try:
        control = control or open_kiwoom_control()
        clock = clock or QtClock()
    except BaseException:
        recorder.close()
        raise
    notifier = SlackNotifier.from_profile(profile)
    if notifier is not None and options.alerts is None:
        options.alerts = notifier
    telemetry = Telemetry(recorder)
    engine = Engine(profile, clock, recorder, telemetry, on_alert=options.alerts)
    account = os.environ.get(profile.profile.account.number_env) or None
    adapter = KiwoomAdapter(control, profile.venues, clock, engine, list(profile.codes), account=account)
    engine.attach(adapter)
    run_id = start_recording(recorder, profile=profile.name, broker="kiwoom", mode="live", seed=None,
                             source="Kiwoom OpenAPI+", run_date=profile.run_date,
                             config_hash=profile.config_hash, config=profile.snapshot)
    state = {"stop_at": None, "interrupted": False, "hurried": False, "recording_failed": False,
             "last_check": 0, "notes": []}
    interrupts = Interrupts(lambda count: clock.call_later(0, on_interrupt, count))

    def on_interrupt(count: int) -> None:
        now = clock.now_ns()
        if not state["interrupted"]:
            state["interrupted"] = True
            state["notes"].append(f"interrupted by the operator ({interrupts.first}): disarmed, flattening, "
                                  f"recording")
            engine.wind_down()
            state["stop_at"] = now + STOP_GRACE_NS
        elif count >= 2 and not state["hurried"]:
            state["hurried"] = True
            state["notes"].append("interrupted again: stopped waiting for the wind-down")
            state["stop_at"] = now          # the next housekeeping tick leaves the loop

    def on_recording_failure(reason: str) -> None:
        engine.kill(f"recording failed: {reason}")      # no new entry from this instant
        clock.call_later(0, wind_down_after_failure)

    def wind_down_after_failure() -> None:
        if not state["recording_failed"]:
            state["recording_failed"] = True
            engine.wind_down()
            stop = clock.now_ns() + STOP_GRACE_NS
            state["stop_at"] = stop if state["stop_at"] is None else min(state["stop_at"], stop)

    recorder.on_failure = on_recording_failure

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

    with interrupts:                    # kept through the final write: a signal cannot tear it
        try:
            with frozen_startup_heap():
                adapter.connect()
                adapter.subscribe_quotes()
                clock.call_later(HOUSEKEEPING_MS, housekeeping)
                control.app.exec_()
        finally:
            engine.stopping = True
        summary = summarise(engine, profile, "Kiwoom OpenAPI+ (live)", run_id)
        exit_code = EXIT_OK if summary.flat and (summary.ended_normally or state["interrupted"]) else EXIT_ABNORMAL
        exit_code, errors = record_end(recorder, engine, summary, exit_code)
    adapter.close()
    if notifier is not None:
        notifier("run_end", summary.paragraph() + "".join(f"\n{e}" for e in errors[:2]))
        notifier.close()
    return TradeResult(exit_code, summary, run_id, recorder.path, state["notes"], errors,
                       recorded=not recorder.lost)


def _until_ns(profile, until_s: int) -> int:
    return seoul.epoch_ns(profile.run_date, until_s)
