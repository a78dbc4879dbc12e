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
    due = ts_ns + emu.server.lat.real_data.ns_many(n)
    due[0] = max(int(due[0]), emu._last_real_ns)
    out = np.maximum.accumulate(due)
    emu._last_real_ns = int(out[-1])
    return out


def real_data_breaks(emu) -> np.ndarray:
    """Times at which the emulator publishes real data of its own (FID 215 signals, VI on/off)."""
    return np.unique(np.asarray(emu.server.publish_times, dtype=np.int64))


def has_disconnect(emu) -> bool:
    return emu.server.cfg.faults.disconnect_at is not None
