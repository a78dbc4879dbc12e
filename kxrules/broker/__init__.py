"""Broker port: the OpenAPI+ control surface, the shared adapter, venue mapping, the emulator.

See docs/architecture.md. ``KiwoomAdapter`` turns control strings into typed events for both controls: the
real one (``kxrules.broker.kiwoom``, Windows only) and ``KiwoomEmulator``. Exports load lazily so
that `kxrules validate` (which needs only the venue model) stays quick to start.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "KiwoomAdapter": "adapter", "BrokerError": "errors", "BrokerUnavailable": "errors",
    "BalanceUpdate": "events", "BrokerListener": "events", "CancelIntent": "events",
    "ConnectionEvent": "events", "OrderAccepted": "events", "OrderAck": "events",
    "OrderCancelled": "events", "OrderFilled": "events", "OrderIntent": "events",
    "OrderRejected": "events", "SessionEvent": "events", "ViEvent": "events",
    "OcxLike": "ocx", "Signal": "ocx", "VenueMapConfig": "venues", "load_venue_map_file": "venues",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
