"""The engine's link to the view's process is shared memory the engine copies into and never
waits on: the view reads the newest capture whole (a torn one is never taken), commands arrive in
order and nothing else passes for one, a full ring refuses the next command. The view's process
lives in its own session (the terminal's Ctrl-C is the engine's), serves on the socket the engine
bound, and ends when the engine's session does."""
from __future__ import annotations

import http.client
import json
import os
import socket
import sys

import numpy as np
import pytest

from kxrules.engine.controls import Command
from kxrules.ops.link import (COMMAND_LEN, COMMAND_SIZE, RING, RING_AT, SLOT_SIZE, SLOTS_AT, EngineGone, EngineLink,
                              ViewLink, map_region, new_region)
from kxrules.ops.process import ViewProcess
from kxrules.ops.snapshot import ViewProfile


@pytest.fixture
def ends():
    region, handle = new_region()
    view_region = map_region(handle)
    if isinstance(handle, int):
        os.close(handle)
    yield EngineLink(region), ViewLink(view_region)
    region.close()
    view_region.close()


def test_the_view_reads_the_newest_capture_once_whatever_the_engine_published_meanwhile(ends):
    engine, view = ends
    assert view.latest() is None                                       # nothing yet
    for i in range(1, 6):
        engine.publish((i, np.full(1000, i)))
    seq, (number, array) = view.latest()
    assert (seq, number) == (5, 5) and (array == 5).all()              # the newest, not a backlog
    assert view.latest() is None                                       # once
    engine.publish((6, np.zeros(3)))
    assert view.latest()[1][0] == 6
    engine.publish(b"x" * (SLOT_SIZE + 1))                             # too large: not sent
    assert view.latest() is None and engine.too_large == 1


def test_a_capture_torn_by_the_engine_rewriting_it_is_not_taken(ends):
    engine, view = ends
    engine.publish("whole")
    region = engine.region
    region[SLOTS_AT + SLOT_SIZE] ^= 0xFF                               # the slot changes under the reader
    assert view.latest() is None
    region[SLOTS_AT + SLOT_SIZE] ^= 0xFF
    assert view.latest() == (1, "whole")


def test_commands_arrive_in_order_and_nothing_else_passes_for_one(ends):
    engine, view = ends
    view.send_command(Command("mute", "005930", who="ops view 127.0.0.1", received_ns=11))
    view.send_command(Command("emergency_stop", who="ops view 127.0.0.1", received_ns=12))
    assert [c.command for c in engine.take_commands()] == ["mute", "emergency_stop"]
    assert engine.take_commands() == []
    view.send_command(Command("rm -rf", who="x", received_ns=1))       # not a command the engine knows
    view.send_command(Command("arm", who="ops view ::1", received_ns=13))
    assert engine.take_commands() == [Command("arm", who="ops view ::1", received_ns=13)]


def test_a_full_ring_refuses_the_next_command_until_the_engine_takes_them(ends):
    engine, view = ends
    for i in range(RING):
        view.send_command(Command("arm", who="ops view", received_ns=i))
    with pytest.raises(EngineGone):
        view.send_command(Command("disarm", who="ops view", received_ns=99))
    taken = engine.take_commands()
    assert [c.received_ns for c in taken] == list(range(RING))
    view.send_command(Command("disarm", who="ops view", received_ns=100))     # the ring wraps
    assert engine.take_commands() == [Command("disarm", who="ops view", received_ns=100)]
    assert RING_AT + RING * COMMAND_SIZE <= SLOTS_AT and COMMAND_LEN.size < COMMAND_SIZE


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX sessions")
def test_the_view_process_serves_on_the_engines_socket_in_its_own_session_and_ends_with_the_engine():
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    profile = ViewProfile(["005930"], ["삼성전자"], ["KOSPI"], [1], None, {}, {})   # type: ignore[arg-type]
    view = ViewProcess(listener, "s3cret", profile)
    proc = view.proc
    try:
        assert listener.fileno() == -1                                   # handed over, not kept
        assert os.getsid(proc.pid) != os.getsid(0)                        # the terminal's Ctrl-C is not its
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/snapshot", headers={"x-kx-ops": "s3cret"})
        reply = conn.getresponse()
        assert reply.status == 200 and json.loads(reply.read()) == {}   # no capture yet
        conn.request("GET", "/api/snapshot")
        assert conn.getresponse().status == 401
        conn.close()
        view.close()
        assert proc.wait(timeout=30) == 0
    finally:
        proc.kill()
        proc.wait()
