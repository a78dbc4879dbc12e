"""Serving one engine session over a socket: authenticate, then answer frames until it leaves."""
from __future__ import annotations

import socket
import sys
from typing import Callable

from .wire import Connection, WireError, handshake_server, pack


def log_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def accept_engine(listener: socket.socket, secret: bytes, log: Callable[[str], None]) -> Connection:
    """Accept connections until one authenticates; one that fails the handshake is closed and
    logged, never served."""
    while True:
        sock, peer = listener.accept()
        conn = Connection(sock)
        try:
            handshake_server(conn, secret)
        except (WireError, OSError) as exc:
            log(f"gateway: refused {peer[0]}:{peer[1]}: {exc}")
            conn.close()
            continue
        log(f"gateway: engine connected from {peer[0]}:{peer[1]}")
        return conn


def serve_one(listener: socket.socket, secret: bytes, handle: Callable[[dict], list[dict]],
              *, log: Callable[[str], None] = log_stderr) -> bool:
    """Serve the first engine that authenticates until it says ``bye`` or goes away. Returns
    whether a session was served to its ``bye``."""
    conn = accept_engine(listener, secret, log)
    try:
        while True:
            frame = conn.recv()
            if frame.get("t") == "bye":
                conn.send({"t": "bye"})
                return True
            conn.send_raw(b"".join(pack(reply) for reply in handle(frame)))
    except (WireError, OSError) as exc:
        log(f"gateway: the engine went away: {exc}")
        return False
    finally:
        conn.close()
