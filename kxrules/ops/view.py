"""The ops view of one session, assembled on the engine's side: the recorder's feed tap, the
capturer and the engine-clock pump (the engine's thread), the listening socket and the view's own
process (``process.py``) with its secret."""
from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from typing import Callable

from ..engine.controls import OperatorControls
from .capture import Capturer, FeedTap
from .link import EngineLink
from .process import ViewProcess, ViewProcessFailed
from .pump import OpsPump
from .snapshot import ViewProfile

LOOPBACK = ("127.0.0.1", "::1", "localhost")
BACKLOG = 64             # connections waiting while the view's process starts


@dataclass
class OpsOptions:
    port: int                                   # > 0 (0 means the view is off: no OpsOptions)
    bind: str = "127.0.0.1"
    secret_env: str = "KXRULES_OPS_SECRET"
    announce: Callable[[str], None] | None = None   # where the URL line goes (the terminal)


class OpsUnavailable(Exception):
    """The view could not listen (the port is taken, say)."""


def view_url(bind: str, port: int, secret: str) -> str:
    host = "127.0.0.1" if bind in ("0.0.0.0", "") else f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{port}/?k={secret}"


def listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family, backlog=BACKLOG)
    except OSError as exc:
        raise OpsUnavailable(f"ops view: cannot listen on {host}:{port} ({exc.strerror or exc})") from None


class OpsView:
    """Opened before the run is recorded (a taken port raises ``OpsUnavailable`` and records
    nothing): listens, starts the view's process and sends it the first capture."""

    def __init__(self, engine, options: OpsOptions) -> None:
        self.options = options
        self.secret = os.environ.get(options.secret_env) or secrets.token_urlsafe(24)
        listener = listen(options.bind, options.port)
        try:
            self.process = ViewProcess(listener, self.secret, ViewProfile.of(engine.profile))
        except ViewProcessFailed as exc:
            raise OpsUnavailable(str(exc)) from None
        self.link = self.process.link
        tap = FeedTap()
        engine.recorder.tap = tap
        capturer = Capturer(engine, tap)
        self.pump = OpsPump(engine, self.link, capturer, OperatorControls(engine))
        self.link.publish(capturer.capture())
        self.url = view_url(options.bind, options.port, self.secret)

    def announce(self) -> None:
        """Prints the URL with the secret (and a warning for a bind off this machine)."""
        say = self.options.announce
        if say is None:
            return
        say(f"ops view: {self.url}")
        if self.options.bind not in LOOPBACK:
            say(f"ops view: WARNING bound to {self.options.bind}: reachable from the network over "
                f"plain, unencrypted HTTP; anyone who sees the URL or the traffic can control the engine")

    def close(self) -> None:
        """The view shows the last capture and its process ends on its own (not waited for)."""
        self.process.close()
        if self.options.announce is not None and self.pump.stopped_ns:
            self.options.announce(cost_line(self.pump, self.link))


def cost_line(pump: OpsPump, link: EngineLink) -> str:
    """What the view cost the engine's thread this run: the time in the pump's ticks (commands
    applied, captures taken, pickled and copied to the view) against the run's wall time."""
    span_ns = max(pump.stopped_ns - pump.started_ns, 1)
    return (f"ops view: engine thread {pump.engine_ns / 1e6:.2f} ms in {pump.ticks} ticks, {pump.captures} captures "
            f"({100 * pump.engine_ns / span_ns:.3f}% of {span_ns / 1e9:.2f} s); "
            f"{link.sent_bytes / 1e3:.0f} kB shared with the view's process")
