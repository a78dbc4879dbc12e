"""The gateway's send queue: sent at once when the engine keeps up; when it lags nothing of an
order is lost or reordered, and a code's real data coalesces to its newest top of book."""
from __future__ import annotations

import socket
import threading

from kxrules.gateway.live import LiveGateway
from kxrules.gateway.outbox import Outbox
from kxrules.gateway.wire import Connection, listen, pack


def pair() -> tuple[Connection, Connection]:
    listener = listen()
    engine_sock = socket.create_connection(listener.getsockname())
    gateway_sock, _ = listener.accept()
    listener.close()
    gateway, engine = Connection(gateway_sock), Connection(engine_sock)
    gateway.make_nonblocking()
    return gateway, engine


def real(code: str, n: int) -> list:
    return ["R", code, "주식호가잔량", [str(n)], ""]


def chejan(n: int) -> list:
    return ["J", "0", {9203: str(n)}]


def received(engine: Connection, until: dict) -> list:
    records: list = []
    while True:
        frame = engine.recv()
        if frame == until:
            return records
        assert frame["t"] == "events"
        records.extend(frame["ev"])


def test_with_an_idle_sender_the_controls_thread_sends_each_event_itself():
    gateway, engine = pair()
    outbox = Outbox(send_now=gateway.try_send)
    outbox.put_record(chejan(1))
    outbox.put_record(real("005930", 7))
    # no sender thread runs: both are on the wire already, one frame each, nothing queued
    assert engine.recv() == {"t": "events", "ev": [chejan(1)]}
    assert engine.recv() == {"t": "events", "ev": [real("005930", 7)]}
    assert outbox.take(timeout=0) == []


def test_an_engine_that_lags_loses_no_order_event_and_gets_each_codes_newest_quote():
    gateway, engine = pair()
    outbox = Outbox(send_now=gateway.try_send)
    # the engine reads nothing while the control fires: the socket fills, then events queue
    for n in range(20_000):
        outbox.put_record(real("005930" if n % 2 else "000660", n))
        if n % 100 == 0:
            outbox.put_record(chejan(n))
    outbox.put_frame({"t": "done"})
    assert outbox.coalesced > 10_000
    sender = threading.Thread(target=LiveGateway._send_loop, args=(gateway, outbox), daemon=True)
    sender.start()
    records = received(engine, {"t": "done"})
    outbox.close()
    sender.join(5)

    assert [int(r[2][9203]) for r in records if r[0] == "J"] == list(range(0, 20_000, 100))
    for code, last in (("000660", 19_998), ("005930", 19_999)):
        values = [int(r[3][0]) for r in records if r[0] == "R" and r[1] == code]
        assert values == sorted(values) and values[-1] == last
    assert len(records) == 20_000 + 200 - outbox.coalesced


def test_a_frame_the_socket_took_only_in_part_is_finished_before_anything_after_it():
    gateway, engine = pair()
    taken: list[int] = []

    def take_a_little(data: bytes) -> int:
        n = gateway.try_send(data[:5])
        taken.append(n)
        return n

    outbox = Outbox(send_now=take_a_little)
    outbox.put_record(chejan(1))                  # 5 bytes go now, the rest waits for the sender
    outbox.put_record(chejan(2))                  # queued behind the tail: no send_now
    assert taken == [5]
    sender = threading.Thread(target=LiveGateway._send_loop, args=(gateway, outbox), daemon=True)
    sender.start()
    assert engine.recv() == {"t": "events", "ev": [chejan(1)]}
    assert engine.recv() == {"t": "events", "ev": [chejan(2)]}
    outbox.close()
    sender.join(5)


def test_while_the_sender_writes_what_it_took_new_events_wait_behind_it():
    gateway, engine = pair()
    socket_full = [True]
    outbox = Outbox(send_now=lambda data: 0 if socket_full[0] else gateway.try_send(data))
    outbox.put_record(chejan(1))                  # the socket takes nothing: queued
    socket_full[0] = False
    taken = outbox.take(timeout=0)                # the sender holds it, not yet written
    outbox.put_record(chejan(2))                  # must not overtake it
    gateway.send_raw(b"".join(taken))
    outbox.sent()
    gateway.send_raw(b"".join(pack(f) for f in outbox.take(timeout=0)))
    assert engine.recv() == {"t": "events", "ev": [chejan(1)]}
    assert engine.recv() == {"t": "events", "ev": [chejan(2)]}
