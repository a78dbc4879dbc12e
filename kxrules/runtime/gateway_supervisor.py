"""Keeping the gateway alive: start it, notice it died, restart it (bounded, with back-off), reconnect.

The real control cannot log in again in its own process (its dialog after a dropped session says
to restart the program; koapy restarts the process), so a gateway whose control session drops
exits, and the engine's side starts a new one. This is host code: it owns the gateway's process
and the socket, never engine state. The engine only sees a dropped session and, as after any
disconnect, logs in again on its reconnect timer; that login is when the supervisor gets its turn
(``reconnect``), so nothing here makes the engine wait beyond a loopback connect.
"""
from __future__ import annotations

import datetime as dt
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..gateway.wire import Connection, WireError, connect

if TYPE_CHECKING:
    from ..config.schema.profile import Gateway as GatewaySection

CONNECT_TIMEOUT_S = 2.0
POLL_S = 0.1


class GatewayUnavailable(Exception):
    """The gateway could not be reached (or started) before trading."""


@dataclass(frozen=True)
class GatewayPlan:
    """Where the gateway listens and, when this run starts it, how."""
    host: str
    port: int                                 # 0 with a command: the started gateway picks one
    secret_env: str
    command: tuple[str, ...] | None = None    # None: the operator runs the gateway
    max_restarts: int = 5
    backoff_ms: int = 2_000
    backoff_max_ms: int = 60_000
    start_timeout_s: float = 60.0
    log_dir: Path | None = None               # the started gateway's output (gateway-N.log)

    @classmethod
    def from_profile(cls, section: GatewaySection, *, profile_ref: str, workspace: Path, run_date: dt.date,
                     log_dir: Path | None) -> "GatewayPlan":
        """The profile's ``gateway:`` section; with ``python`` set, the command that starts
        ``kxrules gateway`` for this profile in that interpreter."""
        command = None
        if section.python:
            command = (section.python, "-m", "kxrules", "gateway", "--profile", profile_ref,
                       "--workspace", str(workspace), "--date", run_date.isoformat(), "--host", section.host,
                       *section.args)
        r = section.restarts
        return cls(section.host, section.port, section.secret_env, command, r.max, r.backoff_ms,
                   r.backoff_max_ms, section.start_timeout_s, log_dir)


class GatewaySupervisor:
    """One engine session's gateway: ``start`` before trading (blocking: nothing trades yet), then
    ``reconnect`` whenever the engine logs in again after the gateway went away."""

    def __init__(self, plan: GatewayPlan, secret: bytes, *, check: Callable[[Connection], None] | None = None,
                 now_s: Callable[[], float] = time.monotonic):
        self.plan = plan
        self.secret = secret
        self.check = check              # the session's own test of a gateway (day, universe, mode)
        self.now_s = now_s
        self.on_event: Callable[[str, str], None] = lambda kind, message: None   # alert + record
        self.process: subprocess.Popen[bytes] | None = None
        self.port = plan.port
        self.restarts = 0
        self.gave_up = False
        self._next_restart_s = 0.0
        self._backoff_ms = plan.backoff_ms
        self._port_file: Path | None = None

    @property
    def address(self) -> str:
        return f"{self.plan.host}:{self.port}"

    # -- before trading -----------------------------------------------------------------------------
    def start(self) -> Connection:
        """Connect to the gateway; when none answers and this run may start one, start it and wait
        for it (up to ``start_timeout_s``: a real login takes seconds)."""
        plan = self.plan
        if plan.port:
            conn = self._try_connect()
            if conn is not None:
                return conn
        if plan.command is None:
            raise GatewayUnavailable(f"no gateway answers at {self.address}: start `kxrules gateway` there, or "
                                     f"name the 32-bit Python in the profile's gateway.python")
        self._spawn()
        deadline = self.now_s() + plan.start_timeout_s
        while self.now_s() < deadline:
            conn = self._connect_started()
            if conn is not None:
                return conn
            if self.process is not None and self.process.poll() is not None:
                raise GatewayUnavailable(f"the gateway exited with code {self.process.returncode} before it "
                                         f"listened; see {self._log_path()}")
            time.sleep(POLL_S)
        raise GatewayUnavailable(f"the gateway did not listen within {plan.start_timeout_s:g} s; see {self._log_path()}")

    # -- while trading ------------------------------------------------------------------------------
    def reconnect(self) -> Connection | None:
        """Called on the engine's thread when it logs in again after losing the gateway: a new
        connection, or None (not yet: the engine tries again on its reconnect timer). Starts a new
        gateway when the one this run started has exited, at most ``max_restarts`` times, waiting
        longer each time; never blocks beyond a loopback connect."""
        try:
            return self._find_again()
        except Exception as exc:  # noqa: BLE001 - a gateway that fails the session's check is news
            self.on_event("gateway_refused", f"gateway {self.address} refused: {exc}")
            return None

    def _find_again(self) -> Connection | None:
        proc = self.process
        if proc is not None and proc.poll() is None:
            return self._connect_started()
        if self.plan.command is None:
            return self._try_connect()           # the operator's gateway: they restart it
        if self.gave_up:
            return None
        now = self.now_s()
        if now < self._next_restart_s:
            return None
        if self.restarts >= self.plan.max_restarts:
            self.gave_up = True
            self.on_event("gateway_gave_up", f"the gateway died {self.restarts + 1} times; not restarting it "
                                              f"again (gateway.restarts.max {self.plan.max_restarts})")
            return None
        self.restarts += 1
        code = None if proc is None else proc.returncode
        self.on_event("gateway_restart", f"gateway exited (code {code}); starting it again "
                                         f"({self.restarts}/{self.plan.max_restarts})")
        self._spawn()
        self._next_restart_s = now + self._backoff_ms / 1000
        self._backoff_ms = min(self.plan.backoff_max_ms, max(1, self._backoff_ms) * 2)
        return self._connect_started()

    def lost(self, why: str) -> None:
        self.on_event("gateway_lost", f"gateway {self.address} went away ({why}): disarmed until it is back")

    def connected_again(self) -> None:
        self.on_event("gateway_back", f"gateway {self.address} reconnected: logging in, asking the broker")

    # -- the end ------------------------------------------------------------------------------------
    def close(self, wait_s: float = 10.0) -> None:
        """A gateway this run started ends with its engine's session; make sure it did."""
        proc = self.process
        if proc is None:
            return
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()

    # -- the process and the socket -----------------------------------------------------------------
    def _spawn(self) -> None:
        plan = self.plan
        assert plan.command is not None
        log_dir = plan.log_dir or Path(".")
        log_dir.mkdir(parents=True, exist_ok=True)
        self._port_file = log_dir / f"gateway-{self.restarts}.port"
        self._port_file.unlink(missing_ok=True)
        # a restart listens where the first one did, so an engine elsewhere finds it again
        port = self.port if self.process is not None else plan.port
        command = [*plan.command, "--port", str(port), "--port-file", str(self._port_file)]
        with open(self._log_path(), "ab") as log:
            try:
                self.process = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                                env=os.environ.copy(), start_new_session=sys.platform != "win32")
            except OSError as exc:
                raise GatewayUnavailable(f"cannot start the gateway with {plan.command[0]}: {exc} "
                                         f"(the profile's gateway.python)") from None

    def _log_path(self) -> Path:
        return (self.plan.log_dir or Path(".")) / f"gateway-{self.restarts}.log"

    def _connect_started(self) -> Connection | None:
        pf = self._port_file
        if pf is None or not pf.exists():
            return None
        text = pf.read_text(encoding="utf-8").strip()
        if not text.isdigit():
            return None                           # being written
        self.port = int(text)
        return self._try_connect()

    def _try_connect(self) -> Connection | None:
        try:
            conn = connect(self.plan.host, self.port, self.secret, timeout_s=CONNECT_TIMEOUT_S)
        except (OSError, WireError, socket.timeout):
            return None
        if self.check is not None:
            try:
                self.check(conn)
            except BaseException:
                conn.close()
                raise
        return conn
