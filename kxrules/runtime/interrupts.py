"""SIGINT (Ctrl-C) and SIGTERM while a session runs, without letting a signal land in engine code."""
from __future__ import annotations

import signal as signals
import threading
from types import FrameType
from typing import Any, Callable


class Interrupts:
    """SIGINT (Ctrl-C) and SIGTERM while a host runs. The handler never raises: it counts and
    calls ``on_signal(count)``, which only sets flags or schedules work on the host's loop, so a
    signal can neither land inside engine code nor tear a recording write. The previous handlers
    come back on exit (off the main thread, where handlers cannot be set, it does nothing)."""

    def __init__(self, on_signal: Callable[[int], None] | None = None):
        self.on_signal = on_signal
        self.count = 0
        self.names: list[str] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> "Interrupts":
        if threading.current_thread() is threading.main_thread():
            for sig in (signals.SIGINT, getattr(signals, "SIGTERM", None)):
                if sig is not None:
                    self._previous[sig] = signals.signal(sig, self._handle)
        return self

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        self.count += 1
        self.names.append(signals.Signals(signum).name)
        if self.on_signal is not None:
            self.on_signal(self.count)

    @property
    def first(self) -> str:
        return self.names[0] if self.names else ""

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signals.signal(sig, handler)
        self._previous.clear()
