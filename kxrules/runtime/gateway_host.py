"""``kxrules trade --gateway HOST:PORT``: the engine here, the broker in a gateway process.

Against ``kxrules gateway --emulator`` the two processes share one virtual timeline in lockstep
(``gateway.lockstep``): the engine's loop asks the gateway to advance to its own next timer,
delivers what happened, runs its timers, and asks again.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

from ..broker.adapter import KiwoomAdapter
from ..clock import VirtualClock
from ..engine.engine import Engine
from ..gateway.remote import RemoteControl
from ..gateway.wire import WireError, connect, secret_from_env
from .session import END_OF_DATA, INTERRUPT, UNTIL, TradeError, TradeOptions, Wait
from .simulation import DRAIN_LIMIT_NS
from .. import seoul


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise TradeError(f"--gateway must be HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


class LockstepLoop:
    """The session's event loop when the emulator runs behind a gateway."""

    def __init__(self, control: RemoteControl, clock: VirtualClock, until_ns: int | None) -> None:
        self.control = control
        self.clock = clock
        self.until_ns = until_ns
        self.interrupted = False
        self.feed_done = False

    def _advance(self, until: int | None) -> dict:
        conn = self.control.conn
        conn.send({"t": "advance", "until": until})
        while True:
            frame = conn.recv()
            if frame.get("t") == "events" and "next_feed" in frame:
                return frame
            if frame.get("t") == "events":          # not expected outside a call, but never lost
                self.control.held.extend(frame["ev"])

    def _step(self, limit: int | None) -> dict:
        """One lockstep step: the gateway up to our next timer (or ``limit``), then our side."""
        clock, control = self.clock, self.control
        due = clock.next_due_ns()
        until = due if limit is None else (limit if due is None else min(due, limit))
        reply = self._advance(until)
        clock.skip_to(reply["now"])
        control.deliver(reply["ev"])
        clock.run_until(clock.now_ns())             # our timers due now (after the gateway's events)
        control.deliver([])                         # events that came while a timer's call waited
        self.feed_done = reply["next_feed"] is None
        return reply

    def _trade(self) -> str:
        while not self.interrupted:
            reply = self._step(self.until_ns)
            if self.until_ns is not None and self.clock.now_ns() >= self.until_ns:
                return UNTIL
            if self.feed_done:
                return END_OF_DATA
            if reply["next_timer"] is None and self.clock.next_due_ns() is None and not reply["ev"]:
                return END_OF_DATA
        return INTERRUPT

    def _drain(self, done: Callable[[], bool], limit_ns: int) -> None:
        deadline = self.clock.now_ns() + limit_ns
        while not done() and self.clock.now_ns() < deadline:
            reply = self._step(deadline)
            if reply["next_timer"] is None and self.clock.next_due_ns() is None and not reply["ev"]:
                break                               # nothing left on either side

    def run(self, wind_down: Callable[[str], Iterator[Wait]]) -> None:
        stopped_by = self._trade()
        if stopped_by != END_OF_DATA:
            self.control.conn.send({"t": "stop_feed"})
            self.control.conn.recv()
        for wait in wind_down(stopped_by):
            self._drain(wait.done, DRAIN_LIMIT_NS if wait.limit_ns is None else wait.limit_ns)

    def interrupt(self) -> None:
        self.interrupted = True

    def hurry(self) -> None:
        pass                                        # virtual time: nothing waits for the wall clock


class GatewayAdapter(KiwoomAdapter):
    """The adapter over a ``RemoteControl``: closing it also ends the gateway's session."""

    def close(self) -> None:
        super().close()
        self.ocx.close()


class GatewayHost:
    """What a session against a gateway plugs into the lifecycle."""

    broker = "sim"
    mode = "simulation"
    durable = False
    record_quotes: bool | None = False           # the gateway's replay file is the quote record

    def __init__(self, profile: Any, options: TradeOptions, address: str) -> None:
        self.profile = profile
        self.options = options
        self.address = parse_address(address)
        self.source = self.summary_source = f"gateway {address}"
        self.seed: int | None = None

    def open_broker(self) -> tuple[VirtualClock, RemoteControl]:
        host, port = self.address
        try:
            conn = connect(host, port, secret_from_env())
        except (OSError, WireError) as exc:
            raise TradeError(f"cannot use the gateway at {host}:{port}: {exc}") from None
        conn.send({"t": "info"})
        info = conn.recv()
        if info.get("mode") != "emulator-lockstep":
            conn.close()
            raise TradeError(f"the gateway at {host}:{port} serves {info.get('mode')!r}; this engine "
                             f"drives an emulator gateway in lockstep (kxrules gateway --emulator)")
        if list(info.get("codes", ())) != list(self.profile.codes):
            conn.close()
            raise TradeError(f"the gateway at {host}:{port} serves another universe "
                             f"({len(info.get('codes', ()))} codes; the profile has {len(self.profile.codes)})")
        self.source = self.summary_source = f"gateway {host}:{port}: {info.get('source')}"
        self.seed = info.get("seed")
        return VirtualClock(info["start_ns"]), RemoteControl(conn)

    def make_adapter(self, control: RemoteControl, clock: VirtualClock, engine: Engine) -> KiwoomAdapter:
        return GatewayAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes))

    def make_loop(self, control: RemoteControl, clock: VirtualClock, engine: Engine,
                  adapter: KiwoomAdapter) -> LockstepLoop:
        until = self.options.until
        return LockstepLoop(control, clock,
                            None if until is None else seoul.epoch_ns(self.profile.run_date, until))
