"""``kxrules gateway --relay-to HOST:PORT``: a gateway process in front of another gateway's broker.

The real control's process can die while the broker (Kiwoom's servers) lives on. The emulated
broker lives inside ``kxrules gateway --emulator``, so killing that process would kill the broker
too; a relay is the process that can die in its place. It authenticates both ways with the same
secret, then copies frames' bytes untouched in both directions until either side hangs up; the
engine cannot tell it from the gateway behind it.
"""
from __future__ import annotations

import select
import socket
from typing import Callable

from .serve import accept_engine, log_stderr
from .wire import Connection, WireError, connect

CHUNK = 1 << 18


def relay_one(listener: socket.socket, secret: bytes, upstream: tuple[str, int], *,
              log: Callable[[str], None] = log_stderr) -> bool:
    """Serve one engine through to ``upstream``. True when the engine ended the session (it
    hung up after its ``bye``), False when the broker behind went away."""
    engine = accept_engine(listener, secret, log)
    log(f"gateway: relaying to {upstream[0]}:{upstream[1]}")
    try:
        broker = connect(upstream[0], upstream[1], secret)
    except (WireError, OSError) as exc:
        log(f"gateway: the broker at {upstream[0]}:{upstream[1]} does not answer: {exc}")
        engine.close()
        return False
    try:
        return _pump(engine, broker)
    finally:
        engine.close()
        broker.close()


def _pump(engine: Connection, broker: Connection) -> bool:
    ends = {engine.sock: broker.sock, broker.sock: engine.sock}
    for src, dst in ((engine, broker), (broker, engine)):
        pending = src.take_buffered()
        if pending:
            dst.sock.sendall(pending)
    while True:
        readable, _, _ = select.select(list(ends), [], [])
        for sock in readable:
            try:
                data = sock.recv(CHUNK)
            except OSError:
                data = b""
            if not data:
                return sock is engine.sock          # the engine left: a normal end
            ends[sock].sendall(data)
