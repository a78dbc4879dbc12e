"""The ops view of one session, assembled: the recorder's feed tap and the capturer (the engine's
thread), the snapshot renderer (the view's thread), the operator's controls, the engine-clock pump
and the web server with its secret."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Callable

from ..engine.controls import OperatorControls
from .capture import Capturer, FeedTap
from .pump import Board, OpsPump
from .server import OpsServer
from .snapshot import SnapshotRenderer

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class OpsOptions:
    port: int                                   # > 0 (0 means the view is off: no OpsOptions)
    bind: str = "127.0.0.1"
    secret_env: str = "KXRULES_OPS_SECRET"
    announce: Callable[[str], None] | None = None   # where the URL line goes (the terminal)


def view_url(bind: str, port: int, secret: str) -> str:
    host = "127.0.0.1" if bind in ("0.0.0.0", "") else f"[{bind}]" if ":" in bind else bind
    return f"http://{host}:{port}/?k={secret}"


class OpsView:
    def __init__(self, engine, options: OpsOptions) -> None:
        self.options = options
        self.secret = os.environ.get(options.secret_env) or secrets.token_urlsafe(24)
        self.board = Board(SnapshotRenderer(engine.profile).render)
        tap = FeedTap()
        engine.recorder.tap = tap
        capturer = Capturer(engine, tap)
        self.pump = OpsPump(engine, self.board, capturer, OperatorControls(engine))
        self.board.publish(capturer.capture())
        self.server = OpsServer(self.board, self.secret, options.bind, options.port)

    def start(self) -> str:
        """Listen; returns (and announces) the URL with the secret."""
        self.server.start()
        url = view_url(self.options.bind, self.options.port, self.secret)
        say = self.options.announce
        if say is not None:
            say(f"ops view: {url}")
            if self.options.bind not in LOOPBACK:
                say(f"ops view: WARNING bound to {self.options.bind}: reachable from the network over "
                    f"plain, unencrypted HTTP; anyone who sees the URL or the traffic can control the engine")
        return url

    def close(self) -> None:
        self.server.stop()
        if self.options.announce is not None and self.pump.stopped_ns:
            self.options.announce(cost_line(self.pump, self.board))


def cost_line(pump: OpsPump, board: Board) -> str:
    """What the view cost this run: the engine thread's time in the pump's ticks (commands,
    captures) against the run's wall time, and the view thread's rendering so far."""
    span_ns = max(pump.stopped_ns - pump.started_ns, 1)
    return (f"ops view: engine thread {pump.engine_ns / 1e6:.2f} ms in {pump.ticks} ticks, {pump.captures} captures "
            f"({100 * pump.engine_ns / span_ns:.3f}% of {span_ns / 1e9:.2f} s); "
            f"view thread rendered {board.renders} snapshots in {board.render_ns / 1e6:.2f} ms")
