"""The engine's record of every order it sent: one owner for in-flight orders.

Every outbound call ends in exactly one terminal status: filled, cancelled (IOC remainder or
cancel confirmed), rejected, or timeout (no TR ack in time); a late ack or fill after a timeout
is still applied, and flagged, so nothing the broker did is ever lost.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..clock import TimerHandle

LIVE, DONE_FILLED, DONE_CANCELLED, DONE_REJECTED, TIMEOUT = "live", "filled", "cancelled", "rejected", "timeout"
CANCEL_CONFIRMED = "confirmed"          # a cancel order whose target was cancelled
TERMINAL = frozenset({DONE_FILLED, DONE_CANCELLED, DONE_REJECTED, CANCEL_CONFIRMED})


@dataclass(slots=True)
class OrderRecord:
    client_id: str
    role: str                 # entry | hedge | escalation | cancel | flatten
    sym: int
    code: str
    venue: str
    side: str
    qty: int
    style: str
    price: int
    pair: Any = None          # the Pair it belongs to (None for flatten jobs)
    cancel_of: str | None = None
    sent_ns: int = 0
    send_rc: int | None = None
    ack_ns: int | None = None
    accepted_ns: int | None = None
    order_no: str | None = None
    status: str = LIVE
    filled: int = 0
    value: int = 0            # sum of price * qty over fills
    fees: int = 0
    tax: int = 0
    broker_fees: int = 0      # the broker's own figures, as its fills reported them
    broker_tax: int = 0
    late: bool = False        # an ack or fill came after we had timed it out
    message: str = ""
    fills: int = 0            # fill events applied (each counted once: broker/orders.py drops repeats)
    timers: list[TimerHandle] = field(default_factory=list)

    @property
    def leaves(self) -> int:
        return self.qty - self.filled

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def avg_price(self) -> int:
        return self.value // self.filled if self.filled else 0

    def cancel_timers(self) -> None:
        for t in self.timers:
            t.cancel()
        self.timers.clear()
