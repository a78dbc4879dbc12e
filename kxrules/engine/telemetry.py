"""Latency SLOs and execution health: tick→signal, signal→send, quote→send (the engine's own added
latency: from the adapter receiving the quote that made the symbol worth a look to the entry's
SendOrder), send→ack, unhedged time.

Samples go to the recorder's telemetry table (buffered, bulk-inserted); the report computes the
percentiles with SQL.
"""
from __future__ import annotations

import numpy as np

from ..seoul import NS_PER_MS


class Telemetry:
    def __init__(self, recorder):
        self.recorder = recorder

    def _add(self, ts_ns: int, metric: str, value: float) -> None:
        self.recorder.telemetry(ts_ns, metric, value)

    def signals(self, now_ns: int, quote_ts_ns: np.ndarray) -> None:
        for value in ((now_ns - quote_ts_ns) / NS_PER_MS).tolist():
            self._add(now_ns, "tick_to_signal_ms", value)

    def order_sent(self, rec, now_ns: int) -> None:
        if rec.role == "entry" and rec.pair is not None:
            self._add(now_ns, "signal_to_send_ms", (now_ns - rec.pair.started_ns) / NS_PER_MS)
            self._add(now_ns, "quote_to_send_ms", (now_ns - rec.pair.signal.quote_ts_ns) / NS_PER_MS)

    def order_acked(self, rec, now_ns: int) -> None:
        self._add(now_ns, "send_to_ack_ms", (now_ns - rec.sent_ns) / NS_PER_MS)

    def pair_finished(self, pair) -> None:
        if pair.unhedged_ms is not None:
            self._add(pair.flat_ns or pair.ended_ns, "unhedged_ms", pair.unhedged_ms)
