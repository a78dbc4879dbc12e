"""The gateway on wall time: the control on its own thread, the engine served over the wire.

Three threads, one owner each: the control's thread (Qt's for the real control; a timer loop for
the emulator) is the only one that touches the control; a receiver thread reads the engine's
frames and posts its calls to the control's thread; a sender thread writes what the ``Outbox``
holds. The control's thread never waits for the engine: a slow engine only makes real data
coalesce. Engines are served one after another (an engine may be restarted against an unchanged
broker); while none is connected, events are counted and dropped (a reconnecting engine asks the
broker's account what is true).
"""
from __future__ import annotations

import queue
import socket
import sys
import threading
from typing import Any, Callable

from .capture import CALLS, ControlCapture
from .outbox import Outbox
from .serve import accept_engine
from .wire import Connection, WireError, pack


def tune_thread_switching() -> None:
    """Hand the interpreter between the control's thread and the sender thread every 0.5 ms
    (Python's default is 5 ms): a busy control thread must not hold events back that long."""
    sys.setswitchinterval(0.0005)


class EmulatorThread:
    """The emulator's control thread: posted calls, the emulator's timers and the market data,
    on a (possibly sped-up) wall clock."""

    def __init__(self, clock: Any, feeder: Any):
        self.clock = clock
        self.feeder = feeder
        self._calls: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        self._wake = threading.Event()
        self.stopped = False

    def post(self, fn: Callable[[], None]) -> None:
        self._calls.put(fn)
        self._wake.set()

    def stop(self) -> None:
        self.stopped = True
        self._wake.set()

    def run(self) -> None:
        clock, feeder = self.clock, self.feeder
        while not self.stopped:
            self._wake.clear()
            while True:
                try:
                    self._calls.get_nowait()()
                except queue.Empty:
                    break
            clock.run_due()
            now = clock.now_ns()
            ts = feeder.next_ts()
            while ts is not None and ts <= now:
                feeder.feed_at(ts)
                ts = feeder.next_ts()
            due = [t for t in (clock.next_due_ns(), ts) if t is not None]
            self._wake.wait(min(0.05, clock.wall_delay_s(min(due))) if due else 0.05)


class LiveGateway:
    def __init__(self, control: Any, thread: Any, info: dict, *, outbox_stamps: bool = False,
                 log: Callable[[str], None] = lambda m: print(m, file=sys.stderr, flush=True)):
        self.control = control
        self.thread = thread
        self.info = info
        self.log = log
        self.stamps = outbox_stamps
        self.outbox: Outbox | None = None
        self.dropped = 0
        self.served = 0
        ControlCapture(control, self._record)

    def _record(self, record: list) -> None:
        outbox = self.outbox
        if outbox is None:
            self.dropped += 1           # no engine connected: it will ask the broker's account
        else:
            outbox.put_record(record)

    def serve(self, listener: socket.socket, secret: bytes, *, once: bool = False) -> None:
        """Accept and serve engines on a background thread while the control's thread runs."""
        tune_thread_switching()
        def accept_loop() -> None:
            while not self.thread.stopped:
                try:
                    conn = accept_engine(listener, secret, self.log)
                except OSError:
                    return                  # the listener was closed
                self._serve_engine(conn)
                self.served += 1
                if once:
                    self.thread.stop()
                    return
        threading.Thread(target=accept_loop, name="gateway-accept", daemon=True).start()

    def _serve_engine(self, conn: Connection) -> None:
        conn.make_nonblocking()
        outbox = Outbox(stamp=self.stamps, send_now=conn.try_send)
        sender = threading.Thread(target=self._send_loop, args=(conn, outbox), name="gateway-send", daemon=True)
        sender.start()
        self.outbox = outbox
        try:
            while True:
                frame = conn.recv()
                kind = frame.get("t")
                if kind == "call":
                    self.thread.post(lambda f=frame: self._call(f, outbox))
                elif kind == "info":
                    outbox.put_frame({"t": "info", **self.info})
                elif kind == "stats":
                    outbox.put_frame({"t": "stats", "coalesced": outbox.coalesced, "records": outbox.records,
                                      "dropped_while_away": self.dropped})
                elif kind == "bye":
                    outbox.put_frame({"t": "bye"})
                    break
        except (WireError, OSError) as exc:
            self.log(f"gateway: the engine went away: {exc}")
        finally:
            self.outbox = None
            self.log(f"gateway: {outbox.records:,} events, {outbox.coalesced:,} real-data records coalesced")
            outbox.close()
            sender.join(5)
            conn.close()

    def _call(self, frame: dict, outbox: Outbox) -> None:
        """On the control's thread."""
        method = frame.get("m")
        if method not in CALLS:
            outbox.put_frame({"t": "ret", "id": frame.get("id"), "error": f"{method!r} is not served"})
            return
        try:
            result = getattr(self.control, method)(*frame.get("a", ()))
        except Exception as exc:  # noqa: BLE001 - the control's error goes back to the engine
            outbox.put_frame({"t": "ret", "id": frame.get("id"), "error": f"{type(exc).__name__}: {exc}"})
            return
        outbox.put_frame({"t": "ret", "id": frame["id"], "r": result})

    @staticmethod
    def _send_loop(conn: Connection, outbox: Outbox) -> None:
        try:
            while True:
                frames = outbox.take(timeout=0.5)
                if frames:
                    conn.send_raw(b"".join(f if isinstance(f, bytes) else pack(f) for f in frames))
                    outbox.sent()
                elif outbox.closed:
                    return
        except OSError:
            return
