"""The real control's thread in the gateway: Qt's event loop, and a watch on the control's session.

Only this thread touches the control. The receiver thread hands it calls through a queued Qt
signal (a signal emitted from another thread runs its slot in the receiver object's thread). A
control whose session dropped cannot log in again in its process (its own dialog says to restart
the program), so ``SessionWatch`` ends the gateway then; the engine's supervisor starts a new one.
"""
from __future__ import annotations

from typing import Any, Callable

EXIT_SESSION_DROPPED = 3      # the gateway's exit code when the control's session dropped
WATCH_MS = 1000               # how often the watch asks GetConnectState


class SessionWatch:
    """Calls ``end(reason)`` once when a control that had logged in loses its session: an
    ``OnEventConnect`` with an error after a login, or ``GetConnectState() == 0`` on ``check``."""

    def __init__(self, control: Any, end: Callable[[str], None]):
        self.control = control
        self.end = end
        self.logged_in = False
        self.ended = False
        control.OnEventConnect.connect(self._on_connect)

    def _on_connect(self, err: int) -> None:
        if int(err) == 0:
            self.logged_in = True
        elif self.logged_in:
            self._end(f"the control's session dropped (OnEventConnect {int(err)})")

    def check(self) -> None:
        if self.logged_in and not self.ended and int(self.control.GetConnectState()) == 0:
            self._end("the control says it is not connected (GetConnectState 0)")

    def _end(self, reason: str) -> None:
        if not self.ended:
            self.ended = True
            self.end(reason)


class QtControlThread:
    """``LiveGateway``'s control thread for the real control: ``run`` is ``app.exec_()``."""

    def __init__(self, app: Any):            # pragma: no cover - needs PyQt5 (the Windows gateway)
        from PyQt5.QtCore import QObject, pyqtSignal, pyqtSlot

        class Poster(QObject):
            posted = pyqtSignal(object)

            @pyqtSlot(object)
            def run(self, fn: Callable[[], None]) -> None:
                fn()

        self.app = app
        self.stopped = False
        self._poster = Poster()                 # lives in this (the main) thread
        self._poster.posted.connect(self._poster.run)

    def post(self, fn: Callable[[], None]) -> None:     # pragma: no cover
        self._poster.posted.emit(fn)

    def every(self, ms: int, fn: Callable[[], None]) -> None:   # pragma: no cover
        from PyQt5.QtCore import QTimer

        timer = QTimer(self._poster)
        timer.timeout.connect(fn)
        timer.start(ms)

    def stop(self) -> None:                     # pragma: no cover
        self.stopped = True
        self.post(self.app.quit)

    def run(self) -> None:                      # pragma: no cover
        self.app.exec_()
