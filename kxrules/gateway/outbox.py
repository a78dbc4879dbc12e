"""What the gateway has to send, between the control's thread and the sender thread.

The control's thread must never wait for a slow engine: it only appends. Order events, Chejan,
TR replies, messages and call returns are kept, in order, whatever the backlog. Real data is
different: only the newest top of book of a code matters, so while a code's earlier real-data
record is still waiting its values are replaced by the newer ones (counted in ``coalesced``).

When nothing is waiting and the sender is not writing, the control's thread sends the event
itself with ``send_now`` (a non-blocking send): handing it to the sender thread costs a thread
wake-up and a wait for the interpreter lock, about half of the latency the gateway adds. What the
socket does not take at once (the engine lags) goes to the sender thread, and from then on events
queue and real data coalesces as above. The socket's send buffer is kept small for that reason.
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Callable

from .wire import pack


class Outbox:
    def __init__(self, *, stamp: bool = False, send_now: Callable[[bytes], int] | None = None):
        self._cond = threading.Condition()
        # event records (lists), other frames (dicts) and the unsent tail of a frame sent now (bytes)
        self._items: deque[Any] = deque()
        self._waiting_real: dict[tuple[str, str], list] = {}
        self._send_now = send_now
        self._sender_writing = False             # the sender holds taken items: no send_now until sent()
        self.stamp = stamp                       # keep each record's capture time (the benchmark)
        self._stamps: deque[int] = deque()
        self.coalesced = 0
        self.records = 0
        self.closed = False

    def put_record(self, record: list) -> None:
        """From the control's thread: one captured event."""
        with self._cond:
            self.records += 1
            if self._sent_now({"t": "events", "ev": [record]}, record=True):
                return
            if record[0] == "R":
                key = (record[1], record[2])
                waiting = self._waiting_real.get(key)
                if waiting is not None:
                    waiting[3], waiting[4] = record[3], record[4]
                    self.coalesced += 1
                    return
                self._waiting_real[key] = record
            self._items.append(record)
            if self.stamp:
                self._stamps.append(time.perf_counter_ns())
            self._cond.notify()

    def put_frame(self, frame: dict) -> None:
        """From the control's thread: a frame that is not an event (a call's return)."""
        with self._cond:
            if self._sent_now(frame):
                return
            self._items.append(frame)
            if self.stamp:
                self._stamps.append(0)
            self._cond.notify()

    def _sent_now(self, frame: dict, *, record: bool = False) -> bool:
        """Under the lock: send ``frame`` from this thread if that keeps the order; the unsent
        tail of a partly taken frame is queued first for the sender."""
        if self._send_now is None or self._items or self._sender_writing or self.closed:
            return False
        if record and self.stamp:
            frame["at"] = [time.perf_counter_ns()]
        data = pack(frame)
        taken = self._send_now(data)
        if taken < len(data):
            self._items.append(data[taken:])
            self._stamps.append(0)
            self._cond.notify()
        return True

    def take(self, timeout: float | None = None) -> list[dict]:
        """From the sender thread: everything waiting, as frames (consecutive records in one
        ``events`` frame) and raw bytes; [] on timeout or once closed and empty. Call ``sent``
        once they are written."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            items, self._items = self._items, deque()
            stamps, self._stamps = self._stamps, deque()
            self._waiting_real.clear()
            self._sender_writing = bool(items)
        frames: list[Any] = []
        records: list[list] = []
        at: list[int] = []
        for i, item in enumerate(items):
            if not isinstance(item, list):
                if records:
                    frames.append(self._events(records, at))
                    records, at = [], []
                frames.append(item)
            else:
                records.append(item)
                if self.stamp:
                    at.append(stamps[i])
        if records:
            frames.append(self._events(records, at))
        return frames

    def sent(self) -> None:
        """From the sender thread: what ``take`` returned is written; the control's thread may send
        again."""
        with self._cond:
            self._sender_writing = False

    def _events(self, records: list[list], at: list[int]) -> dict:
        frame: dict = {"t": "events", "ev": records}
        if self.stamp:
            frame["at"] = at
        return frame

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
