"""The one-line status a terminal shows while a session runs."""
from __future__ import annotations

from typing import Callable

from .. import seoul
from ..engine.engine import Engine


def status_line(engine: Engine, ts_ns: int) -> str:
    ex = engine.execution
    done = ex.pairs_done if ex else []
    net = ex.realised_krw if ex else 0            # what the daily-loss limit watches
    armed = "ARMED" if engine.guard.armed(ts_ns) else "disarmed"
    server = (engine.server or "?").upper()     # PAPER / REAL / SIM: never trade real by accident
    return (f"{seoul.fmt_hms(seoul.seconds_of_day(ts_ns))} {armed:<8} {server:<5} quotes {engine.stats['quotes']:,} "
            f"signals {engine.stats['signals']:,} pairs {len(done):,} net ₩{net:,} "
            f"max orders/s {engine.throttle.max_in_window}"
            + (f" muted {len(engine.guard.mute_reasons)}" if engine.guard.mute_reasons else ""))


def progress_reporter(engine: Engine, sink: Callable[[str], None] | None) -> Callable[[int, int], None] | None:
    """A replay host's ``on_progress(rows, ts_ns)`` that writes the status line to ``sink``."""
    if sink is None:
        return None

    def report(rows: int, ts_ns: int) -> None:
        sink(status_line(engine, ts_ns))
    return report
