"""The ops view of one session, assembled: the recorder's feed tap, the snapshot builder, the
operator's controls, the engine-clock pump and the web server with its secret."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from typing import Callable

from ..engine.controls import OperatorControls
from .pump import Board, OpsPump
from .server import OpsServer
from .snapshot import FeedTap, SnapshotBuilder

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
        self.board = Board()
        tap = FeedTap()
        engine.recorder.tap = tap
        self.builder = SnapshotBuilder(engine, tap)
        self.pump = OpsPump(engine, self.board, self.builder, OperatorControls(engine))
        self.board.publish(self.builder.build())
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
