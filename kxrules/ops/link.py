"""The link between the engine and the ops view's own process: one shared memory region, so the
engine's side is a few memory copies and never a system call. (A system call lets go of the
interpreter's lock; taking it back waits behind the replay's reading thread: a socket's send
cost a capture 1-3 ms where the copy costs 0.3 ms.)

Layout: a header of counters, a ring of command slots, and two capture slots.

- Engine → view, captures (pickles: the view trusts the engine, never the other way round): the
  engine writes each into the slot the previous one did not use, then its length, checksum and
  slot, then a new sequence number. The view copies the newest and keeps it only if the sequence
  number did not move meanwhile and the checksum holds; it sees the present, never a backlog, and
  the engine never waits for it.
- View → engine, operator commands as small JSON objects (the engine does not unpickle what
  another process sends): the view writes one into the ring, then counts it; the engine reads the
  count when its pump ticks, takes the new ones and counts what it took. A full ring (the engine
  not ticking) refuses the command.
"""
from __future__ import annotations

import json
import mmap
import os
import pickle
import secrets
import struct
import sys
import threading
import zlib
from typing import Any

from ..engine.controls import COMMANDS, Command

# header: capture seq, length, slot, crc32 | commands taken (engine), commands written (view)
HEADER = struct.Struct("<QQQQQQ")
SEQ, LENGTH, SLOT, CRC, TAKEN, WRITTEN = range(6)
COUNTER = struct.Struct("<Q")
RING = 64                          # commands between two ticks of the engine's pump, at most
COMMAND_SIZE = 512                 # a command's JSON with its 2-byte length
COMMAND_LEN = struct.Struct("<H")
RING_AT = 64
SLOTS_AT = 1 << 16
SLOT_SIZE = 8 << 20                # a capture of 200 symbols pickles to ~50 kB; untouched pages cost nothing
REGION_SIZE = SLOTS_AT + 2 * SLOT_SIZE


def new_region() -> tuple[mmap.mmap, Any]:
    """A region for the link, and what another process needs to map it: a memory file's
    descriptor on POSIX (inherited), a name on Windows."""
    if sys.platform == "win32":
        name = f"kxrules-ops-{secrets.token_hex(8)}"
        return mmap.mmap(-1, REGION_SIZE, tagname=name), name
    fd = os.memfd_create("kxrules-ops") if hasattr(os, "memfd_create") else _unlinked_file()
    os.ftruncate(fd, REGION_SIZE)
    return mmap.mmap(fd, REGION_SIZE), fd


def _unlinked_file() -> int:
    import tempfile

    fd, path = tempfile.mkstemp(prefix="kxrules-ops-")
    os.unlink(path)
    return fd


def map_region(handle: Any) -> mmap.mmap:
    if sys.platform == "win32":
        return mmap.mmap(-1, REGION_SIZE, tagname=handle)
    return mmap.mmap(handle, REGION_SIZE)


class EngineGone(OSError):
    """The engine's session has ended or its command ring is full."""


def _offset(field: int) -> int:
    return field * COUNTER.size


def command_payload(cmd: Command) -> bytes:
    return json.dumps({"command": cmd.command, "code": cmd.code, "who": cmd.who,
                       "received_ns": cmd.received_ns}).encode()


def command_of(payload: bytes) -> Command | None:
    """A command as the engine reads it; None for anything that is not a known command."""
    try:
        d = json.loads(payload)
        cmd = Command(d["command"], d["code"], who=str(d["who"]), received_ns=int(d["received_ns"]))
    except (ValueError, KeyError, TypeError):
        return None
    return cmd if cmd.command in COMMANDS else None


class EngineLink:
    """The engine's end, used on its thread only; ``publish`` and ``take_commands`` copy memory
    and return."""

    def __init__(self, region: mmap.mmap) -> None:
        self.region = region
        self.seq = 0
        self.taken = 0
        self.sent_bytes = 0
        self.too_large = 0                        # captures over SLOT_SIZE, not sent

    def publish(self, capture: Any) -> None:
        payload = pickle.dumps(capture, protocol=pickle.HIGHEST_PROTOCOL)
        if len(payload) > SLOT_SIZE:
            self.too_large += 1
            return
        region, seq = self.region, self.seq + 1
        slot = seq % 2
        at = SLOTS_AT + slot * SLOT_SIZE
        region[at:at + len(payload)] = payload
        for field, value in ((LENGTH, len(payload)), (SLOT, slot), (CRC, zlib.crc32(payload)), (SEQ, seq)):
            COUNTER.pack_into(region, _offset(field), value)
        self.seq = seq
        self.sent_bytes += len(payload)

    def take_commands(self) -> list[Command]:
        region = self.region
        (written,) = COUNTER.unpack_from(region, _offset(WRITTEN))
        if written == self.taken:
            return []
        taken = []
        for i in range(self.taken, written):
            at = RING_AT + (i % RING) * COMMAND_SIZE
            (size,) = COMMAND_LEN.unpack_from(region, at)
            cmd = command_of(region[at + COMMAND_LEN.size:at + COMMAND_LEN.size + size])
            if cmd is not None:
                taken.append(cmd)
        self.taken = written
        COUNTER.pack_into(region, _offset(TAKEN), written)
        return taken


class ViewLink:
    """The view's end, in the view's process: ``latest`` from any thread, ``send_command`` from
    the web server's."""

    def __init__(self, region: mmap.mmap) -> None:
        self.region = region
        self.seen = 0
        self._send_lock = threading.Lock()

    def latest(self) -> tuple[int, Any] | None:
        """The newest capture and its number if the engine published one since the last call."""
        region = self.region
        for _ in range(100):
            seq, size, slot, crc, _taken, _written = HEADER.unpack_from(region, 0)
            if seq == self.seen:
                return None
            at = SLOTS_AT + slot * SLOT_SIZE
            payload = region[at:at + size] if size <= SLOT_SIZE else b""
            (again,) = COUNTER.unpack_from(region, _offset(SEQ))
            if again == seq and zlib.crc32(payload) == crc:
                self.seen = seq
                return seq, pickle.loads(payload)
        return None                               # the engine is rewriting it right now: next time

    def send_command(self, cmd: Command) -> None:
        payload = command_payload(cmd)
        if len(payload) > COMMAND_SIZE - COMMAND_LEN.size:
            raise ValueError(f"ops view: a command of {len(payload)} bytes is too long")
        with self._send_lock:
            region = self.region
            _seq, _size, _slot, _crc, taken, written = HEADER.unpack_from(region, 0)
            if written - taken >= RING:
                raise EngineGone("ops view: the engine is not taking commands")
            at = RING_AT + (written % RING) * COMMAND_SIZE
            region[at:at + COMMAND_LEN.size + len(payload)] = COMMAND_LEN.pack(len(payload)) + payload
            COUNTER.pack_into(region, _offset(WRITTEN), written + 1)
