"""The gateway process dies mid-pair; the engine's supervisor restarts it and the session ends flat.

The broker must outlive the process that dies, as Kiwoom's servers outlive the control's process:
the emulated broker runs in `kxrules gateway --emulator --keep-serving`, and the process the
engine's profile starts (and restarts) is a relay in front of it (`kxrules gateway --relay-to`).
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import duckdb
import pytest

from kxrules.config.compile import compile_profile
from kxrules.engine.evaluator import compile_kernels
from kxrules.gateway.wire import Connection
from kxrules.runtime.gateway_host import GatewayAdapter
from kxrules.runtime.gateway_supervisor import GatewayPlan, GatewaySupervisor, GatewayUnavailable
from kxrules.runtime.trade import TradeOptions, run_trade

from ..engine.scenario import DAY
from .test_split_session import SECRET, start_gateway, workspace
from .test_wall_time_gateway import SPEED, START, early_market

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")


def relay_profile(root, upstream_port: int, *, max_restarts: int = 3) -> None:
    (root / "config/profiles/gw.yaml").write_text(f"""\
extends: sim
name: gw
broker: kiwoom
server: paper
gateway:
  port: 0
  python: {sys.executable}
  args: [--relay-to, "127.0.0.1:{upstream_port}"]
  start_timeout_s: 30
  restarts: {{max: {max_restarts}, backoff_ms: 100, backoff_max_ms: 400}}
""", encoding="utf-8")


def test_a_gateway_killed_mid_pair_is_restarted_and_the_session_ends_flat(tmp_path, monkeypatch):
    root = workspace(tmp_path, {})
    quotes = early_market(3).write(tmp_path / "quotes.parquet")
    relay_profile(root, 0)
    compile_kernels(compile_profile(root, "gw", DAY))     # before the market's clock starts
    broker, port = _broker(root, quotes, tmp_path)
    relay_profile(root, port)
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    started: list[subprocess.Popen] = []
    spawn = GatewaySupervisor._spawn

    def spawn_and_note(self):
        spawn(self)
        started.append(self.process)
    monkeypatch.setattr(GatewaySupervisor, "_spawn", spawn_and_note)
    sends = [0]
    send = GatewayAdapter.send

    def send_then_kill(self, intent):
        ret = send(self, intent)
        sends[0] += 1
        if sends[0] == 3:           # an entry just went out: its hedge has not
            os.kill(started[-1].pid, signal.SIGKILL)
        return ret
    monkeypatch.setattr(GatewayAdapter, "send", send_then_kill)
    profile = compile_profile(root, "gw", DAY)
    try:
        result = run_trade(profile, TradeOptions(broker="kiwoom", data_dir=tmp_path / "data", until=9 * 3600 + 130))
    finally:
        broker.send_signal(signal.SIGINT)
        out, err = broker.communicate(timeout=30)
    s = result.summary
    assert len(started) == 2, "the dead gateway was started again, once"
    assert started[0].returncode == -signal.SIGKILL
    assert result.exit_code == 0 and s.flat and s.broker_confirmed, s.paragraph()
    assert "the broker's account holds {}" in out, out
    taken = next(line for line in out.splitlines() if "orders taken under" in line)
    n_orders, n_names = _counts(taken)
    assert n_orders == n_names, f"an order was sent twice: {taken}"
    con = duckdb.connect(str(result.db_path), read_only=True)
    try:
        alerts = [k for (k,) in con.execute("SELECT kind FROM alerts ORDER BY ts_ns").fetchall()]
        sent = [t for (t,) in con.execute("SELECT sent_ns FROM orders WHERE sent_ns IS NOT NULL").fetchall()]
        lost_at, back_at = (t for (t,) in con.execute(
            "SELECT ts_ns FROM alerts WHERE kind IN ('gateway_lost', 'gateway_back') ORDER BY ts_ns").fetchall())
    finally:
        con.close()
    assert alerts.index("gateway_lost") < alerts.index("gateway_restart") < alerts.index("gateway_back")
    assert not [t for t in sent if lost_at < t < back_at], "nothing is sent while the gateway is away"
    assert any(t > back_at for t in sent), "it trades again once the broker has been asked"


def _broker(root, quotes, tmp):
    """The emulated broker on a sped-up wall clock, serving engines (here: relays) one after another."""
    (tmp / "broker").mkdir()
    return start_gateway(root, quotes, tmp / "broker", "--speed", str(SPEED), "--start", START, "--keep-serving")


def _counts(line: str) -> tuple[int, int]:
    words = line.replace(",", "").split()
    numbers = [int(w) for w in words if w.isdigit()]
    return numbers[0], numbers[1]


def test_restarts_are_bounded_and_back_off(tmp_path, monkeypatch):
    """A gateway that dies at once every time is restarted at most ``max`` times, each after a
    longer pause, then given up on with one alert."""
    clock = [0.0]
    plan = GatewayPlan("127.0.0.1", 0, "X", command=(sys.executable, "-c", "raise SystemExit(7)"),
                       max_restarts=2, backoff_ms=1000, backoff_max_ms=1500, log_dir=tmp_path)
    sup = GatewaySupervisor(plan, b"s" * 32, now_s=lambda: clock[0])
    events: list[tuple[str, str]] = []
    sup.on_event = lambda kind, message: events.append((kind, message))
    with pytest.raises(GatewayUnavailable, match="exited with code 7"):
        sup.start()
    attempts = []
    for t in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 10.0, 20.0):
        clock[0] = t
        if sup.process is not None:
            sup.process.wait(10)
        before = sup.restarts
        assert sup.reconnect() is None
        if sup.restarts > before:
            attempts.append(t)
    assert attempts == [0.0, 1.0]             # then 1.5 s later it gives up (the next one is the 3rd)
    assert [k for k, _ in events] == ["gateway_restart", "gateway_restart", "gateway_gave_up"]
    assert sup.gave_up


def test_a_gateway_run_by_the_operator_is_only_reconnected(tmp_path):
    plan = GatewayPlan("127.0.0.1", 1, "X")          # nothing listens on port 1
    sup = GatewaySupervisor(plan, b"s" * 32)
    with pytest.raises(GatewayUnavailable, match="no gateway answers"):
        sup.start()
    assert sup.reconnect() is None and sup.process is None


def test_a_gateway_that_comes_back_serving_another_day_is_refused(tmp_path):
    """The session's own check runs on every reconnect; a mismatch is news, never a session."""
    import threading

    from kxrules.gateway.wire import handshake_server, listen

    listener = listen("127.0.0.1", 0)
    port = listener.getsockname()[1]

    def serve():
        sock, _ = listener.accept()
        conn = Connection(sock)
        handshake_server(conn, b"s" * 32)
        conn.recv()
        conn.send({"t": "info", "run_date": "2030-01-02"})
        try:
            conn.recv()
        except Exception:
            pass
    threading.Thread(target=serve, daemon=True).start()

    def check(conn):
        conn.send({"t": "info"})
        if conn.recv().get("run_date") != DAY.isoformat():
            raise ValueError("another day")
    sup = GatewaySupervisor(GatewayPlan("127.0.0.1", port, "X"), b"s" * 32, check=check)
    events: list[str] = []
    sup.on_event = lambda kind, message: events.append(kind)
    assert sup.reconnect() is None
    assert events == ["gateway_refused"]
    listener.close()
