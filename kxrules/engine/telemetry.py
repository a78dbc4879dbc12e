"""Latency SLOs and execution health: tick→signal, signal→send, quote→send (the engine's own added
latency: from the adapter receiving the quote that made the symbol worth a look to the entry's
SendOrder), send→ack, unhedged time.

Samples go to the recorder's telemetry table (buffered, bulk-inserted); the report computes the
percentiles with SQL.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..arrays import I64
from ..seoul import NS_PER_MS

if TYPE_CHECKING:
    from ..storage.recorder import Recorder
    from .orders import OrderRecord
    from .pair import Pair



class Telemetry:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    def _add(self, ts_ns: int, metric: str, value: float) -> None:
        self.recorder.telemetry(ts_ns, metric, value)

    def signals(self, now_ns: int, quote_ts_ns: I64) -> None:
        for value in ((now_ns - quote_ts_ns) / NS_PER_MS).tolist():
            self._add(now_ns, "tick_to_signal_ms", value)

    def order_sent(self, rec: OrderRecord, now_ns: int) -> None:
        if rec.role == "entry" and rec.pair is not None:
            self._add(now_ns, "signal_to_send_ms", (now_ns - rec.pair.started_ns) / NS_PER_MS)
            self._add(now_ns, "quote_to_send_ms", (now_ns - rec.pair.signal.quote_ts_ns) / NS_PER_MS)

    def order_acked(self, rec: OrderRecord, now_ns: int) -> None:
        self._add(now_ns, "send_to_ack_ms", (now_ns - rec.sent_ns) / NS_PER_MS)

    def order_event_ignored(self, now_ns: int) -> None:
        """An order event the lifecycle table ignores in the order's status (engine/orders.py)."""
        self._add(now_ns, "order_events_ignored", 1.0)

    def pair_finished(self, pair: Pair) -> None:
        unhedged, end = pair.unhedged_ms, pair.flat_ns or pair.ended_ns
        if unhedged is not None and end is not None:        # the first implies the second
            self._add(end, "unhedged_ms", unhedged)
