"""Frames between the engine and the gateway: a 4-byte big-endian length, then one msgpack map.

msgpack rather than gRPC: it has wheels for 32-bit Windows, needs no code generation, and a frame
is one ``packb`` call (the gateway must keep up with tens of thousands of events a second).

The handshake proves both ends know the secret without sending it: each side sends a random
nonce and answers the other's with HMAC-SHA256(secret, nonce + role). A wrong or missing answer
closes the connection before any call or event passes.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import select
import socket
import struct
from typing import Any

import msgpack

PROTOCOL_VERSION = 1
SECRET_ENV = "KXRULES_GATEWAY_SECRET"
MAX_FRAME = 64 * 1024 * 1024
SEND_BUFFER = 64 * 1024
_LEN = struct.Struct(">I")


class WireError(Exception):
    """The other side broke the protocol, failed the handshake or went away."""


def secret_from_env(name: str = SECRET_ENV) -> bytes:
    value = os.environ.get(name, "")
    if len(value) < 16:
        raise WireError(f"set {name} to a secret of at least 16 characters (both the gateway and "
                        f"the engine read it; it never goes over the wire)")
    return value.encode()


def pack(obj: Any) -> bytes:
    body = msgpack.packb(obj, use_bin_type=True)
    return _LEN.pack(len(body)) + body


class Connection:
    """One TCP connection carrying frames; ``recv`` blocks until a whole frame is there."""

    def __init__(self, sock: socket.socket):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock = sock
        self._unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=MAX_FRAME)
        self._buf = bytearray()
        self._nonblocking = False

    def send(self, obj: Any) -> None:
        self.send_raw(pack(obj))

    def send_raw(self, data: bytes) -> None:
        if not self._nonblocking:
            self.sock.sendall(data)
            return
        view = memoryview(data)
        while view:
            try:
                view = view[self.sock.send(view):]
            except BlockingIOError:
                select.select([], [self.sock], [])

    def make_nonblocking(self) -> None:
        """The gateway's side, after the handshake: its control thread may then ``try_send``
        (never waits), while the sender thread's ``send_raw`` and the reader's ``recv`` wait in
        ``select``. Portable: Windows has no per-call MSG_DONTWAIT."""
        self.sock.setblocking(False)
        # a small send buffer: when the engine lags, events wait in the Outbox, where real data
        # coalesces to the newest, instead of in the kernel, where it goes stale
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER)
        self._nonblocking = True

    def try_send(self, data: bytes) -> int:
        """Send what the socket takes now, without waiting; returns how many bytes it took."""
        try:
            return self.sock.send(data)
        except OSError:             # would block, or the engine is gone (the reader finds out)
            return 0

    def _read(self, size: int) -> bytes:
        while True:
            try:
                return self.sock.recv(size)
            except BlockingIOError:
                select.select([self.sock], [], [])

    def take_buffered(self) -> bytes:
        """Bytes received but not yet read as frames (a relay forwards them first)."""
        data = bytes(self._buf)
        self._buf.clear()
        return data

    def recv(self) -> Any:
        while True:
            frame = self.poll()
            if frame is not None:
                return frame
            chunk = self._read(1 << 16)
            if not chunk:
                raise WireError("the other side closed the connection")
            self._buf += chunk

    def fill(self, timeout_s: float) -> None:
        """Wait up to ``timeout_s`` for bytes and take what arrived (one read); never blocks longer."""
        readable, _, _ = select.select([self.sock], [], [], timeout_s)
        if readable:
            try:
                chunk = self.sock.recv(1 << 18)
            except BlockingIOError:
                return
            if not chunk:
                raise WireError("the other side closed the connection")
            self._buf += chunk

    def poll(self) -> Any | None:
        """A whole frame already received, or None (never blocks)."""
        buf = self._buf
        if len(buf) < 4:
            return None
        size = _LEN.unpack_from(buf)[0]
        if size > MAX_FRAME:
            raise WireError(f"frame of {size:,} bytes exceeds {MAX_FRAME:,}")
        if len(buf) < 4 + size:
            return None
        body = bytes(buf[4:4 + size])
        del buf[:4 + size]
        return msgpack.unpackb(body, raw=False, strict_map_key=False)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def _answer(secret: bytes, nonce: bytes, role: bytes) -> bytes:
    return hmac.new(secret, nonce + role, hashlib.sha256).digest()


def handshake_server(conn: Connection, secret: bytes) -> None:
    """The gateway's side: challenge, check the answer, answer the engine's challenge."""
    nonce = secrets.token_bytes(32)
    conn.send({"v": PROTOCOL_VERSION, "challenge": nonce})
    reply = conn.recv()
    if not isinstance(reply, dict) or reply.get("v") != PROTOCOL_VERSION:
        raise WireError(f"protocol version mismatch: gateway speaks {PROTOCOL_VERSION}, "
                        f"the engine sent {reply.get('v') if isinstance(reply, dict) else reply!r}")
    if not hmac.compare_digest(reply.get("answer", b""), _answer(secret, nonce, b"engine")):
        conn.send({"error": "authentication failed"})
        raise WireError("authentication failed: the engine does not know the gateway's secret")
    conn.send({"answer": _answer(secret, reply.get("challenge", b""), b"gateway")})


def handshake_client(conn: Connection, secret: bytes) -> None:
    """The engine's side: answer the challenge, check the gateway knows the secret too."""
    hello = conn.recv()
    if not isinstance(hello, dict) or hello.get("v") != PROTOCOL_VERSION:
        raise WireError(f"protocol version mismatch: the engine speaks {PROTOCOL_VERSION}, "
                        f"the gateway sent {hello!r}")
    nonce = secrets.token_bytes(32)
    conn.send({"v": PROTOCOL_VERSION, "answer": _answer(secret, hello["challenge"], b"engine"),
               "challenge": nonce})
    reply = conn.recv()
    if "error" in reply:
        raise WireError(f"the gateway refused the connection: {reply['error']}")
    if not hmac.compare_digest(reply.get("answer", b""), _answer(secret, nonce, b"gateway")):
        raise WireError("the gateway could not prove it knows the secret")


def connect(host: str, port: int, secret: bytes, *, timeout_s: float = 10.0) -> Connection:
    sock = socket.create_connection((host, port), timeout=timeout_s)
    conn = Connection(sock)
    try:
        handshake_client(conn, secret)      # under the timeout: a gateway busy with another engine
    except BaseException:
        conn.close()
        raise
    sock.settimeout(None)
    return conn


def listen(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening socket, loopback unless the profile names an address."""
    srv = socket.create_server((host, port))
    return srv
