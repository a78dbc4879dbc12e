"""A live ``Clock`` on the Qt event loop (Windows runs inside pykiwoom's QApplication).

Wall time is read here and only here; timers are ``QTimer.singleShot``. Imports Qt lazily.
"""
from __future__ import annotations

import itertools
import time
from typing import Any, Callable

from kxrules.clock import NS_PER_MS, TimerHandle


class QtClock:
    def __init__(self) -> None:
        from PyQt5.QtCore import QTimer  # pragma: no cover - Windows only

        self._single_shot = QTimer.singleShot  # pragma: no cover
        self._seq = itertools.count()  # pragma: no cover

    def now_ns(self) -> int:  # pragma: no cover
        return time.time_ns()

    def call_at(self, when_ns: int, fn: Callable[..., Any], *args: Any) -> TimerHandle:  # pragma: no cover
        handle = TimerHandle(int(when_ns), next(self._seq), fn, args)
        delay_ms = max(0, (handle.when_ns - time.time_ns()) // NS_PER_MS)

        def fire() -> None:
            if not handle.cancelled:
                fn(*args)

        self._single_shot(int(delay_ms), fire)
        return handle

    def call_later(self, delay_ms: float, fn: Callable[..., Any], *args: Any) -> TimerHandle:  # pragma: no cover
        return self.call_at(time.time_ns() + int(delay_ms * NS_PER_MS), fn, *args)
