"""``kxrules trade --gateway HOST:PORT``: the engine here, the broker in a gateway process.

Against ``kxrules gateway --emulator`` the two processes share one virtual timeline in lockstep
(``gateway.lockstep``): the engine's loop asks the gateway to advance to its own next timer,
delivers what happened, runs its timers, and asks again. Against a gateway on wall time (the
real control, or ``--emulator --speed N``) the engine runs the live host's loop (``QtLoop``:
housekeeping, the end of the window, the wind-down's waits) over ``GatewaySocketApp``, which
waits on the socket and the clock's next timer instead of Qt's event loop.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Callable

from ..broker.adapter import KiwoomAdapter
from ..clock import VirtualClock, WallClock
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

    ocx: RemoteControl

    def close(self) -> None:
        super().close()
        self.ocx.close()


class GatewaySocketApp:
    """The engine's event loop beside a wall-time gateway, in the shape ``QtLoop`` drives
    (``exec_``/``quit``): deliver what the gateway sent, fire the clock's due timers, sleep on the
    socket until the next one. A gateway that goes away is a dropped session (``gone``)."""

    def __init__(self, control: RemoteControl, clock: WallClock, *, max_wait_s: float = 0.05) -> None:
        self.control = control
        self.clock = clock
        self.max_wait_s = max_wait_s
        self._quit = False

    def exec_(self) -> None:
        clock, control = self.clock, self.control
        self._quit = False
        while not self._quit:
            due = clock.next_due_ns()
            wait = self.max_wait_s if due is None else min(self.max_wait_s, clock.wall_delay_s(due))
            self._pump(wait)
            clock.run_due()
            control.deliver([])

    def _pump(self, wait_s: float) -> None:
        control = self.control
        if control.dead is not None:
            import time

            time.sleep(wait_s)              # the host loop, not engine code: nothing to read
            return
        conn = control.conn
        try:
            conn.fill(wait_s)
            while (frame := conn.poll()) is not None:
                if frame.get("t") == "events":
                    control.deliver(frame["ev"])
        except (WireError, OSError) as exc:
            control.gone(str(exc))
            control.deliver([])

    def quit(self) -> None:
        self._quit = True


class GatewayHost:
    """What a session against a gateway plugs into the lifecycle (lockstep emulator, or a
    wall-time gateway: ``mode`` and ``broker`` follow what the gateway serves)."""

    broker = "sim"
    mode = "simulation"
    durable = True                                # an engine beside a gateway may die: --resume reads it
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
        self.gateway_mode = info.get("mode")
        if self.gateway_mode not in ("emulator-lockstep", "emulator-live", "live"):
            conn.close()
            raise TradeError(f"the gateway at {host}:{port} serves {self.gateway_mode!r}, which this "
                             f"engine does not know")
        day = info.get("run_date")
        if day is not None and day != self.profile.run_date.isoformat():
            conn.close()
            raise TradeError(f"the gateway at {host}:{port} serves the trading day {day}; this engine was "
                             f"compiled for {self.profile.run_date} (run with --date {day})")
        if list(info.get("codes", ())) != list(self.profile.codes):
            conn.close()
            raise TradeError(f"the gateway at {host}:{port} serves another universe "
                             f"({len(info.get('codes', ()))} codes; the profile has {len(self.profile.codes)})")
        self.source = self.summary_source = f"gateway {host}:{port}: {info.get('source')}"
        self.seed = info.get("seed")
        if self.gateway_mode == "emulator-lockstep":
            return VirtualClock(info["now"]), RemoteControl(conn)   # where the gateway's day stands
        # wall time: both processes read the same origin and speed, so they agree on the time
        self.mode, self.durable, self.record_quotes = "live", True, None
        if self.gateway_mode == "live":
            self.broker = "kiwoom"
        clock = WallClock(info.get("origin_ns"), wall_origin_ns=info.get("wall_origin_ns"),
                          speed=float(info.get("speed", 1.0)))
        return clock, RemoteControl(conn)

    def make_adapter(self, control: RemoteControl, clock: VirtualClock, engine: Engine) -> KiwoomAdapter:
        account = None
        if self.gateway_mode == "live":
            import os

            account = os.environ.get(self.profile.profile.account.number_env) or None
        return GatewayAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes), account=account)

    def make_loop(self, control: RemoteControl, clock: VirtualClock, engine: Engine,
                  adapter: KiwoomAdapter) -> Any:
        until = self.options.until
        until_ns = None if until is None else seoul.epoch_ns(self.profile.run_date, until)
        if self.gateway_mode == "emulator-lockstep":
            return LockstepLoop(control, clock, until_ns)
        from .live import QtLoop

        assert isinstance(clock, WallClock)
        return QtLoop(GatewaySocketApp(control, clock), clock, engine, adapter, until_ns=until_ns,
                      status=self.options.status)
