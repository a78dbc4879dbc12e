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
from pathlib import Path
from typing import Any, Callable

from ..broker.adapter import KiwoomAdapter
from ..clock import VirtualClock, WallClock
from ..engine.engine import Engine
from ..gateway.remote import RemoteControl
from ..gateway.wire import SECRET_ENV, WireError, secret_from_env
from .gateway_supervisor import GatewayPlan, GatewaySupervisor, GatewayUnavailable
from .errors import TradeError
from .session import END_OF_DATA, INTERRUPT, UNTIL, TradeOptions, Wait
from .simulation import DRAIN_LIMIT_NS
from .. import seoul


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise TradeError(f"--gateway must be HOST:PORT, got {text!r}")
    return host or "127.0.0.1", int(port)


def gateway_plan(profile: Any, options: TradeOptions) -> GatewayPlan | None:
    """Where this session's broker is: ``--gateway HOST:PORT`` (a gateway someone runs), else,
    for the OpenAPI+ broker, the profile's ``gateway:`` section (which may say how to start it)."""
    section = profile.profile.gateway
    if options.gateway is not None:
        host, port = parse_address(options.gateway)
        secret_env = section.secret_env if section is not None else SECRET_ENV
        return GatewayPlan(host, port, secret_env)
    if options.broker != "kiwoom" or section is None:
        return None
    log_dir = Path(options.data_dir or profile.data_dir) / "gateway"
    return GatewayPlan.from_profile(section, profile_ref=profile.name, workspace=profile.workspace,
                                    run_date=profile.run_date, log_dir=log_dir)


class LockstepLoop:
    """The session's event loop when the emulator runs behind a gateway."""

    def __init__(self, control: RemoteControl, clock: VirtualClock, until_ns: int | None) -> None:
        self.control = control
        self.clock = clock
        self.until_ns = until_ns
        self.interrupted = False
        self.feed_done = False

    def _advance(self, until: int | None) -> dict[str, Any]:
        conn = self.control.conn
        conn.send({"t": "advance", "until": until})
        while True:
            frame = conn.recv()
            if frame.get("t") == "events" and "next_feed" in frame:
                return dict(frame)
            if frame.get("t") == "events":          # not expected outside a call, but never lost
                self.control.held.extend(frame["ev"])

    def _step(self, limit: int | None) -> dict[str, Any]:
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
    """The adapter over a ``RemoteControl``: closing it also ends the gateway's session (and
    waits for a gateway this run started to exit)."""

    supervisor: GatewaySupervisor | None = None

    ocx: RemoteControl

    def close(self) -> None:
        super().close()
        self.ocx.close()
        if self.supervisor is not None:
            self.supervisor.close()


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
    wall-time gateway: ``mode`` and ``broker`` follow what the gateway serves). On wall time the
    supervisor finds the gateway again (restarting one this run started) when it goes away."""

    broker = "sim"
    mode = "simulation"
    durable = True                                # an engine beside a gateway may die: --resume reads it
    record_quotes: bool | None = False           # the gateway's replay file is the quote record

    def __init__(self, profile: Any, options: TradeOptions, plan: GatewayPlan) -> None:
        self.profile = profile
        self.options = options
        self.plan = plan
        self.source = self.summary_source = f"gateway {plan.host}:{plan.port}"
        self.seed: int | None = None
        self.gateway_mode: str | None = None
        self.supervisor: GatewaySupervisor | None = None

    def open_broker(self) -> tuple[VirtualClock, RemoteControl]:
        try:
            secret = secret_from_env(self.plan.secret_env)
        except WireError as exc:
            raise TradeError(str(exc)) from None
        self.supervisor = supervisor = GatewaySupervisor(self.plan, secret, check=self._check_gateway)
        try:
            conn = supervisor.start()
        except (GatewayUnavailable, OSError, WireError) as exc:
            raise TradeError(f"cannot use the gateway at {supervisor.address}: {exc}") from None
        info = self.info
        self.source = self.summary_source = f"gateway {supervisor.address}: {info.get('source')}"
        self.seed = info.get("seed")
        if self.gateway_mode == "emulator-lockstep":
            return VirtualClock(info["now"]), RemoteControl(conn)   # where the gateway's day stands
        # wall time: both processes read the same origin and speed, so they agree on the time
        self.mode, self.durable, self.record_quotes = "live", True, None
        if self.gateway_mode == "live":
            self.broker = "kiwoom"
        clock = WallClock(info.get("origin_ns"), wall_origin_ns=info.get("wall_origin_ns"),
                          speed=float(info.get("speed", 1.0)))
        return clock, RemoteControl(conn, reattach=supervisor)

    def _check_gateway(self, conn: Any) -> None:
        """The gateway serves what this engine was compiled for (mode, day, universe)."""
        where = self.supervisor.address if self.supervisor else "?"
        conn.send({"t": "info"})
        info = conn.recv()
        mode = info.get("mode")
        if mode not in ("emulator-lockstep", "emulator-live", "live"):
            raise TradeError(f"the gateway at {where} serves {mode!r}, which this engine does not know")
        day = info.get("run_date")
        if day is not None and day != self.profile.run_date.isoformat():
            raise TradeError(f"the gateway at {where} serves the trading day {day}; this engine was "
                             f"compiled for {self.profile.run_date} (run with --date {day})")
        if list(info.get("codes", ())) != list(self.profile.codes):
            raise TradeError(f"the gateway at {where} serves another universe "
                             f"({len(info.get('codes', ()))} codes; the profile has {len(self.profile.codes)})")
        if self.gateway_mode is not None and mode != self.gateway_mode:
            raise TradeError(f"the gateway at {where} came back serving {mode!r}, not {self.gateway_mode!r}")
        self.info, self.gateway_mode = info, mode

    def make_adapter(self, control: RemoteControl, clock: VirtualClock, engine: Engine) -> KiwoomAdapter:
        account = None
        if self.gateway_mode == "live":
            import os

            account = os.environ.get(self.profile.profile.account.number_env) or None
        adapter = GatewayAdapter(control, self.profile.venues, clock, engine, list(self.profile.codes), account=account)
        adapter.supervisor = self.supervisor
        if self.supervisor is not None:
            self.supervisor.on_event = engine.alert      # restarts are recorded and alerted
        return adapter

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
