"""What the gateway has to send, between the control's thread and the sender thread.

The control's thread must never wait for a slow engine: it only appends. Order events, Chejan,
TR replies, messages and call returns are kept, in order, whatever the backlog. Real data is
different: only the newest top of book of a code matters, so while a code's earlier real-data
record is still waiting its values are replaced by the newer ones (counted in ``coalesced``).
"""
from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any


class Outbox:
    def __init__(self, *, stamp: bool = False):
        self._cond = threading.Condition()
        self._items: deque[Any] = deque()        # event records (lists) and other frames (dicts)
        self._waiting_real: dict[tuple[str, str], list] = {}
        self.stamp = stamp                       # keep each record's capture time (the benchmark)
        self._stamps: deque[int] = deque()
        self.coalesced = 0
        self.records = 0
        self.closed = False

    def put_record(self, record: list) -> None:
        """From the control's thread: one captured event."""
        with self._cond:
            self.records += 1
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
            self._items.append(frame)
            if self.stamp:
                self._stamps.append(0)
            self._cond.notify()

    def take(self, timeout: float | None = None) -> list[dict]:
        """From the sender thread: everything waiting, as frames (consecutive records in one
        ``events`` frame); [] on timeout or once closed and empty."""
        with self._cond:
            if not self._items and not self.closed:
                self._cond.wait(timeout)
            items, self._items = self._items, deque()
            stamps, self._stamps = self._stamps, deque()
            self._waiting_real.clear()
        frames: list[dict] = []
        records: list[list] = []
        at: list[int] = []
        for i, item in enumerate(items):
            if isinstance(item, dict):
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

    def _events(self, records: list[list], at: list[int]) -> dict:
        frame: dict = {"t": "events", "ev": records}
        if self.stamp:
            frame["at"] = at
        return frame

    def close(self) -> None:
        with self._cond:
            self.closed = True
            self._cond.notify_all()
