"""The engine's record of every order it sent: one owner for in-flight orders, and the one table
every change of an order's status goes through.

Every outbound call ends in exactly one terminal status: filled, cancelled (IOC remainder or
cancel confirmed), rejected, or confirmed (a cancel order whose target was cancelled); timeout
(no TR ack in time, or a refused cancel with no outcome) is not terminal. ``LIFECYCLE`` says, for
each (status, event), the next status and how the event is taken: applied, applied and flagged
late (it came after the status that should have followed it: nothing the broker did is lost), or
ignored (recorded, counted, alerted once: never dropped silently). docs/guide.md prints the table
(``lifecycle_markdown``; a test holds the two together).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..clock import TimerHandle

LIVE, DONE_FILLED, DONE_CANCELLED, DONE_REJECTED, TIMEOUT = "live", "filled", "cancelled", "rejected", "timeout"
CANCEL_CONFIRMED = "confirmed"          # a cancel order whose target was cancelled
STATUSES = (LIVE, TIMEOUT, DONE_FILLED, DONE_CANCELLED, DONE_REJECTED, CANCEL_CONFIRMED)
TERMINAL = frozenset({DONE_FILLED, DONE_CANCELLED, DONE_REJECTED, CANCEL_CONFIRMED})

# events: what the broker said (through broker/orders.py, which drops its own repeats) and what
# the engine's timers and the broker's account concluded
ACK = "ack"                             # TR reply with the 주문번호
REPEAT_ACK = "repeat_ack"               # another one, after the order had its number
ACCEPTED = "accepted"                   # Chejan 접수
REPEAT_ACCEPTED = "repeat_accepted"
FILL = "fill"                           # a 체결 that leaves quantity
LAST_FILL = "last_fill"                 # a 체결 that completes the order's quantity
CANCELLED = "cancelled"                 # the remainder ended: cancel confirmed, IOC remainder, no longer open
REJECTED = "rejected"                   # refused: at send, by the TR, by the exchange, never taken
ACK_TIMEOUT = "ack_timeout"             # no 주문번호 within risk.timings.ack_ms
CANCEL_REFUSED = "cancel_refused"       # its cancel was refused and no final event came
TARGET_CANCELLED = "target_cancelled"   # (cancel orders) the order it cancels was cancelled
TARGET_ENDED = "target_ended"           # (cancel orders) the order it cancels ended otherwise
EVENTS = (ACK, REPEAT_ACK, ACCEPTED, REPEAT_ACCEPTED, FILL, LAST_FILL, CANCELLED, REJECTED, ACK_TIMEOUT,
          CANCEL_REFUSED, TARGET_CANCELLED, TARGET_ENDED)

APPLY, LATE, IGNORE = "apply", "late", "ignore"


class Step(NamedTuple):
    dest: str            # the status after the event (the same one when ignored)
    how: str             # APPLY | LATE | IGNORE
    why: str


def _row(default: Step, **steps: Step) -> dict[str, Step]:
    """One status's row: the named events, every other event ``default``."""
    unknown = set(steps) - set(EVENTS)
    if unknown:
        raise ValueError(f"not order events: {sorted(unknown)}")
    return {e: steps.get(e, default) for e in EVENTS}


def _late(dest: str, why: str) -> Step:
    return Step(dest, LATE, why)


def _ignore(status: str, why: str) -> Step:
    return Step(status, IGNORE, why)


_FILL_AFTER_END = "a fill is money the broker moved: applied (its account holds it), flagged"

LIFECYCLE: dict[str, dict[str, Step]] = {
    LIVE: _row(Step(LIVE, APPLY, ""),
               repeat_ack=_ignore(LIVE, "already acknowledged"),
               repeat_accepted=_ignore(LIVE, "already accepted"),
               last_fill=Step(DONE_FILLED, APPLY, ""),
               cancelled=Step(DONE_CANCELLED, APPLY, ""),
               rejected=Step(DONE_REJECTED, APPLY, ""),
               ack_timeout=Step(TIMEOUT, APPLY, "treated as rejected until the broker says otherwise"),
               cancel_refused=Step(TIMEOUT, APPLY, "outcome unknown: the broker's open orders are asked"),
               target_cancelled=Step(CANCEL_CONFIRMED, APPLY, ""),
               target_ended=Step(DONE_REJECTED, APPLY, "nothing left to cancel")),
    TIMEOUT: _row(_ignore(TIMEOUT, "already timed out"),
                  ack=_late(LIVE, "it exists after all"),
                  accepted=_late(LIVE, "it is working after all"),
                  fill=_late(LIVE, "it exists after all"),
                  last_fill=_late(DONE_FILLED, "it exists after all"),
                  cancelled=_late(DONE_CANCELLED, "it existed"),
                  rejected=Step(DONE_REJECTED, APPLY, "what the timeout assumed"),
                  repeat_ack=_ignore(TIMEOUT, "already acknowledged"),
                  repeat_accepted=_ignore(TIMEOUT, "already accepted"),
                  target_cancelled=_late(CANCEL_CONFIRMED, "the cancel worked"),
                  target_ended=Step(DONE_REJECTED, APPLY, "nothing left to cancel")),
    DONE_FILLED: _row(_ignore(DONE_FILLED, "the order is filled"),
                      ack=_late(DONE_FILLED, "its order number is kept"),
                      fill=_ignore(DONE_FILLED, "past the order's quantity: a repeat; the broker's account is asked"),
                      last_fill=_ignore(DONE_FILLED, "past the order's quantity: a repeat; the broker's account is asked")),
    DONE_CANCELLED: _row(_ignore(DONE_CANCELLED, "the order is over"),
                         ack=_late(DONE_CANCELLED, "its order number is kept"),
                         cancelled=Step(DONE_CANCELLED, APPLY, "the broker confirms it (e.g. after the open-orders TR)"),
                         fill=_late(DONE_CANCELLED, _FILL_AFTER_END),
                         last_fill=_late(DONE_FILLED, _FILL_AFTER_END + "; it filled in full")),
    DONE_REJECTED: _row(_ignore(DONE_REJECTED, "the order is over"),
                        ack=_late(DONE_REJECTED, "its order number is kept"),
                        fill=_late(DONE_REJECTED, _FILL_AFTER_END),
                        last_fill=_late(DONE_FILLED, _FILL_AFTER_END + "; it filled in full"),
                        rejected=Step(DONE_REJECTED, APPLY, "the broker confirms it (a cancel whose order had ended)"),
                        target_cancelled=Step(DONE_REJECTED, APPLY, "the cancel had been refused"),
                        target_ended=Step(DONE_REJECTED, APPLY, "the cancel had been refused")),
    CANCEL_CONFIRMED: _row(_ignore(CANCEL_CONFIRMED, "the cancel is over"),
                           ack=Step(CANCEL_CONFIRMED, APPLY, "a cancel's reply may follow its target's end")),
}


def lifecycle_markdown() -> str:
    """The table as docs/guide.md shows it: a row per event, a column per status."""
    def cell(step: Step, status: str) -> str:
        if step.how == IGNORE:
            return "ignored"
        text = step.dest if step.dest != status else "="
        return f"{text}, late" if step.how == LATE else text
    lines = ["| event | " + " | ".join(STATUSES) + " |", "|---" * (len(STATUSES) + 1) + "|"]
    for event in EVENTS:
        lines.append(f"| `{event}` | " + " | ".join(cell(LIFECYCLE[s][event], s) for s in STATUSES) + " |")
    return "\n".join(lines)


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
    late: bool = False        # an event came after the status it should have preceded (LIFECYCLE)
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
