"""The emulator's real-data delivery rule, in one place for the faithful and the fast path.

Every real-data record the control sends (quotes, FID 215 signals, VI) draws one latency from the
``real_data`` stream and is delivered first-in-first-out: at ``max(fed + latency, previous
delivery)``. The faithful path asks for one record at a time, the fast replay for a whole run of
quotes at once; numpy's Generator gives the same numbers for one array draw as for the same count
of scalar draws, so both forms below deliver identically (tests hold them to it).
"""
from __future__ import annotations

import numpy as np

from ... import compiled
from .faults import MIN_LATENCY_NS, LatencySampler

_JIT = compiled.load("kxrules.broker.emulator.queue_jit")


class RealDataQueue:
    """The FIFO of real-data deliveries: when each record fed to the control reaches the client."""

    __slots__ = ("_latency", "last_ns")

    def __init__(self, latency: LatencySampler):
        self._latency = latency
        self.last_ns = 0          # delivery time of the latest record (FIFO: none may overtake it)

    def due(self, fed_ns: int) -> int:
        """Delivery time of one record fed at ``fed_ns``."""
        t = max(fed_ns + self._latency.ns(), self.last_ns)
        self.last_ns = t
        return t

    def due_many(self, fed_ns: np.ndarray) -> np.ndarray:
        """Delivery times of records fed at ``fed_ns`` (ascending): equal to calling :meth:`due`
        for each in turn."""
        n = len(fed_ns)
        if n == 0:
            return np.zeros(0, dtype=np.int64)
        if _JIT is not None:
            out = np.empty(n, dtype=np.int64)
            self.last_ns = int(_JIT.fifo_due(np.asarray(fed_ns, dtype=np.int64), self._latency.ms_many(n),
                                             self._latency.cap_ms, MIN_LATENCY_NS, self.last_ns, out))
            return out
        due = np.asarray(fed_ns, dtype=np.int64) + self._latency.ns_many(n)
        due[0] = max(int(due[0]), self.last_ns)
        out = np.maximum.accumulate(due)
        self.last_ns = int(out[-1])
        return out
