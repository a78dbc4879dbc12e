"""What the fast replay asks of the emulator, through the control's public methods.

The emulator owns its real-data delivery rule (``delivery.RealDataQueue``); these functions are
the fast host's (and the trade runner's) names for the questions it asks.
"""
from __future__ import annotations

import numpy as np

from .control import KiwoomEmulator


def ready(emu: KiwoomEmulator) -> bool:
    """Every quote fed now would be delivered: the per-row gate can be skipped."""
    return emu.streams_every_quote()


def delivery_times(emu: KiwoomEmulator, ts_ns: np.ndarray) -> np.ndarray:
    """Delivery time of each quote fed at ``ts_ns`` (sorted), advancing the emulator's FIFO."""
    return emu.quote_delivery_times(ts_ns)


def real_data_breaks(emu: KiwoomEmulator) -> np.ndarray:
    """Times at which the emulator publishes real data of its own (FID 215 signals, VI on/off)."""
    return emu.own_real_data_times()


def has_disconnect(emu: KiwoomEmulator) -> bool:
    return emu.schedules_disconnect()
