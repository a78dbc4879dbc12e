"""The view's side of the ops view, in the view's own process: the latest capture the engine
sent (replaced whole as each arrives) and where the page's commands go. The web server turns the
latest capture into the page's JSON with ``render`` only when a viewer asks for it, once per
capture; no viewer, no rendering."""
from __future__ import annotations

from typing import Any, Callable

from ..engine.controls import Command


class Board:
    def __init__(self, render: Callable[[Any], bytes] = bytes,
                 send_command: Callable[[Command], None] = lambda cmd: None) -> None:
        self._render = render
        self._send_command = send_command
        self._latest: tuple[int, Any] = (0, b"{}")
        self._rendered: tuple[int, bytes] = (0, b"{}")
        self.renders = 0
        self.viewers = 0             # open live streams
        self.closed = False          # the engine's session is over: streams send the last capture and end

    def publish(self, capture: Any) -> None:
        self._latest = (self._latest[0] + 1, capture)

    def latest(self) -> tuple[int, bytes]:
        """The newest snapshot as JSON and its number."""
        seq, capture = self._latest
        if self._rendered[0] != seq:
            self._rendered = (seq, self._render(capture))
            self.renders += 1
        return self._rendered

    def submit(self, cmd: Command) -> None:
        """Sends a command to the engine (OSError: the engine's session has ended or takes none)."""
        if self.closed:
            raise OSError("the engine's session has ended")
        self._send_command(cmd)
