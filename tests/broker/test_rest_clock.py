"""The REST host's clock keeps VirtualClock's order on a real event loop: by time, then by the
order timers were set (two broker reports 1 µs apart must never swap)."""
from __future__ import annotations

import asyncio

from kxrules.broker.rest.clock import AsyncioClock, Timeline


def test_timers_run_in_time_order_then_in_the_order_they_were_set():
    loop = asyncio.new_event_loop()
    try:
        clock = AsyncioClock(loop, Timeline(1_000_000_000_000, speed=10.0))
        ran: list[str] = []
        t = clock.now_ns() + 20_000_000
        clock.call_at(t + 1_000, ran.append, "c")          # 1 µs later, set first
        clock.call_at(t, ran.append, "a")
        clock.call_at(t, ran.append, "b")                  # same instant: after "a"
        gone = clock.call_at(t, ran.append, "x")
        gone.cancel()
        clock.call_at(clock.now_ns() - 5_000_000, ran.append, "past")   # already due: first
        loop.run_until_complete(asyncio.sleep(0.05))
        assert ran == ["past", "a", "b", "c"]
    finally:
        loop.close()


def test_the_timeline_runs_speed_times_wall_time():
    loop = asyncio.new_event_loop()
    try:
        clock = AsyncioClock(loop, Timeline(0, speed=20.0))
        start = clock.now_ns()
        loop.run_until_complete(asyncio.sleep(0.05))
        assert 0.9e9 <= clock.now_ns() - start <= 2.0e9    # 50 ms of wall time: about 1 s
        assert clock.sleep_s(1.0) == 0.05
    finally:
        loop.close()
