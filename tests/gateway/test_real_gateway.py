"""`kxrules gateway` for the real control: what can be checked without the 32-bit COM object.

The control's session watch (a dropped session ends the gateway so that a new one logs in), the
clear refusal where the control cannot exist, and `kxrules trade -p pilot` naming the profile's
32-bit Python when it cannot start the gateway."""
from __future__ import annotations

import subprocess
import sys

from typer.testing import CliRunner

from kxrules.broker.ocx import Signal
from kxrules.cli.app import app
from kxrules.gateway.qt_thread import SessionWatch

SECRET = "real-gateway-test-secret-0123456"


class Control:
    def __init__(self) -> None:
        self.OnEventConnect = Signal()
        self.state = 0

    def GetConnectState(self) -> int:
        return self.state


def test_the_watch_ends_the_gateway_once_when_a_logged_in_session_drops():
    control, ended = Control(), []
    watch = SessionWatch(control, ended.append)
    control.OnEventConnect.emit(-100)        # a failed first login is not a drop: the engine retries
    watch.check()
    assert ended == []
    control.OnEventConnect.emit(0)
    control.state = 1
    watch.check()
    assert ended == []
    control.OnEventConnect.emit(-106)
    control.OnEventConnect.emit(-106)
    watch.check()
    assert ended == ["the control's session dropped (OnEventConnect -106)"]


def test_the_watch_notices_a_silent_drop():
    control, ended = Control(), []
    watch = SessionWatch(control, ended.append)
    control.OnEventConnect.emit(0)
    control.state = 0                        # no event: the control only says so when asked
    watch.check()
    assert ended == ["the control says it is not connected (GetConnectState 0)"]


def workspace(tmp_path):
    root = tmp_path / "ws"
    subprocess.run([sys.executable, "-m", "kxrules", "init", str(root)], check=True, capture_output=True)
    return root


def test_the_real_gateway_refuses_clearly_where_the_control_cannot_run(tmp_path, monkeypatch):
    if sys.platform == "win32":
        return
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    result = CliRunner().invoke(app, ["gateway", "-w", str(workspace(tmp_path)), "-p", "pilot", "--date", "2026-12-04"])
    assert result.exit_code == 2
    assert "32-bit" in result.output and "Traceback" not in result.output


def test_trade_names_the_profiles_python_when_it_cannot_start_the_gateway(tmp_path, monkeypatch):
    root = workspace(tmp_path)
    profile = root / "config/profiles/pilot.yaml"
    text = profile.read_text(encoding="utf-8").replace("port: 8765", "port: 0")
    profile.write_text(text.replace("C:\\Python311-32\\python.exe", str(tmp_path / "no-such-python")), encoding="utf-8")
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    result = CliRunner().invoke(app, ["trade", "-w", str(root), "-p", "pilot", "--date", "2026-12-04"])
    assert result.exit_code == 2, result.output
    assert "no-such-python" in result.output and "gateway.python" in result.output
