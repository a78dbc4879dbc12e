"""Broker port: the OpenAPI+ control surface, the shared adapter, venue mapping, the emulator.

See DESIGN §2. ``KiwoomAdapter`` turns control strings into typed events for both controls: the
real one (``kxrules.broker.kiwoom``, Windows only) and ``KiwoomEmulator``.
"""
from .adapter import KiwoomAdapter
from .errors import BrokerError, BrokerUnavailable
from .events import (BalanceUpdate, BrokerListener, CancelIntent, ConnectionEvent, OrderAccepted,
                     OrderAck, OrderCancelled, OrderFilled, OrderIntent, OrderRejected,
                     SessionEvent, ViEvent)
from .ocx import OcxLike, Signal
from .venues import VenueMapConfig, load_venue_map_file

__all__ = [
    "BalanceUpdate", "BrokerError", "BrokerListener", "BrokerUnavailable", "CancelIntent",
    "ConnectionEvent", "KiwoomAdapter", "OcxLike", "OrderAccepted", "OrderAck", "OrderCancelled",
    "OrderFilled", "OrderIntent", "OrderRejected", "SessionEvent", "Signal", "VenueMapConfig",
    "ViEvent", "load_venue_map_file",
]
