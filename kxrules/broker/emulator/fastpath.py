"""Vectorised real-data delivery for the fast replay path.

On the faithful path every quote fed to the emulator draws one real-data latency from the
``real_data`` stream and is delivered first-in-first-out at ``max(now + latency, last)``. The
fast path asks for the same delivery times for a whole run of quotes at once: numpy's Generator
gives the same numbers for one array draw as for the same count of scalar draws, so as long as
the caller splits runs at the times the emulator itself publishes real data (session signals,
VIs), both paths see identical deliveries.
"""
from __future__ import annotations

import numpy as np

from ..fids import RT_HOGA
from .config import FixedLatency, LognormalLatency

NS_PER_MS = 1_000_000
MIN_LATENCY_NS = 1_000


def _latencies_ns(emu, n: int) -> np.ndarray:
    sampler = emu.server.lat.real_data
    spec = emu.server.cfg.latency_ms.real_data
    if isinstance(spec, FixedLatency):
        ms = np.full(n, spec.ms, dtype=np.float64)
    elif isinstance(spec, LognormalLatency):
        ms = np.minimum(sampler._rng.lognormal(sampler._a, sampler._b, size=n), sampler._cap)
    else:
        ms = sampler._rng.uniform(sampler._a, sampler._b, size=n)
    return np.maximum(MIN_LATENCY_NS, (ms * NS_PER_MS).astype(np.int64))


def ready(emu) -> bool:
    """Connected, and every code's quote key registered on both venues (nothing to gate per row)."""
    if not emu.connected:
        return False
    return all(emu.registered(key, RT_HOGA) for keys in emu._keys.values() for key in keys)


def delivery_times(emu, ts_ns: np.ndarray) -> np.ndarray:
    """Delivery time of each quote fed at ``ts_ns`` (sorted), advancing the emulator's FIFO."""
    n = len(ts_ns)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    due = ts_ns + _latencies_ns(emu, n)
    due[0] = max(int(due[0]), emu._last_real_ns)
    out = np.maximum.accumulate(due)
    emu._last_real_ns = int(out[-1])
    return out


def real_data_breaks(emu) -> np.ndarray:
    """Times at which the emulator publishes real data of its own (FID 215 signals, VI on/off)."""
    srv = emu.server
    times = [srv.at_time(step.at) for steps in srv.cfg.sessions.values() for step in steps]
    for vi in srv.cfg.faults.vi:
        start = srv.at_time(vi.at)
        times += [start, start + int(vi.duration_s * 1_000_000_000)]
    return np.unique(np.asarray(times, dtype=np.int64))


def has_disconnect(emu) -> bool:
    return emu.server.cfg.faults.disconnect_at is not None
