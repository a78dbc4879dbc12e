"""`kxrules doctor`: one line per check, OK / FIX / SKIP, exit 0 only when nothing is to fix.
The Windows checks run here against a fake registry, fake imports and a fake network."""
from __future__ import annotations

import socket
import threading
from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.config.schema.profile import Account, Alerts, Gateway
from kxrules.runtime.doctor import (CONTROL, ENGINE, FIX, NOT_WINDOWS, OK, SKIP, Machine, exit_code, gateway_of,
                            run_checks)

SECRET = "s3cret-value-that-must-never-print"
ENV = {"KXRULES_ACCOUNT": "8012345611", "KXRULES_ACCOUNT_PASSWORD": SECRET,
       "KXRULES_GATEWAY_SECRET": SECRET}


def profile(**extra):
    return SimpleNamespace(broker="kiwoom", server="paper", account=Account(), alerts=Alerts(), **extra)


def windows(bits: int = 32, *, imports: dict | None = None, registry=lambda prog: r"C:\OpenAPI\khopenapi.ocx",
            env=ENV, connect=lambda host, port, timeout: None) -> Machine:
    def importer(name):
        if imports and name in imports:
            raise imports[name]
        return object()
    return Machine(platform="win32", pointer_bits=bits, python=(3, 11, 9), os_name="Windows 10", env=env,
                   importer=importer, registry=registry, connect=connect, file_exists=lambda p: True)


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_good_32_bit_windows_gateway_machine_passes():
    checks = run_checks(windows(32), profile(gateway=Gateway(host="10.0.0.5", port=5151)))
    assert exit_code(checks) == 0, [c.line() for c in checks]
    c = by_name(checks)
    assert c["python"].status == OK and "32-bit: hosts the control" in c["python"].message
    assert c["OpenAPI+ control"].message.startswith("KHOPENAPI.KHOpenAPICtrl.1 registered")
    assert c["pykiwoom"].status == OK and c["PyQt5.QAxContainer"].status == OK
    assert c["gateway"].status == OK and "10.0.0.5:5151" in c["gateway"].message


def test_a_64_bit_python_cannot_host_the_control():
    c = by_name(run_checks(windows(64), profile(), role=CONTROL))
    assert c["python"].status == FIX and "needs a 32-bit Python" in c["python"].message


def test_a_32_bit_python_cannot_run_the_engine():
    c = by_name(run_checks(windows(32), profile(), role=ENGINE))
    assert c["python"].status == FIX and "64-bit" in c["python"].message
    assert {"duckdb", "pyarrow", "msgpack"} <= set(c)


def test_unregistered_control_says_how_to_register_it():
    c = by_name(run_checks(windows(32, registry=lambda prog: None), profile()))
    assert c["OpenAPI+ control"].status == FIX and "regsvr32" in c["OpenAPI+ control"].message


def test_numpy_2_under_pandas_names_the_pin():
    err = ValueError("numpy.dtype size changed, may indicate binary incompatibility")
    checks = run_checks(windows(32, imports={"pykiwoom": err}), profile())
    c = by_name(checks)
    assert c["pykiwoom"].status == FIX
    assert "ValueError: numpy.dtype size changed" in c["pykiwoom"].message
    assert "pip install 'numpy<2'" in c["pykiwoom"].message
    assert exit_code(checks) == 1


def test_any_import_failure_is_a_fix_not_a_crash():
    c = by_name(run_checks(windows(32, imports={"PyQt5.QAxContainer": RuntimeError("qt is sad")}), profile()))
    assert c["PyQt5.QAxContainer"].status == FIX and "RuntimeError: qt is sad" in c["PyQt5.QAxContainer"].message


def test_env_vars_are_checked_never_printed():
    env = {"KXRULES_ACCOUNT": SECRET}
    checks = run_checks(windows(32, env=env), profile(gateway=Gateway(host="127.0.0.1", port=1)))
    c = by_name(checks)
    assert c["$KXRULES_ACCOUNT"].status == OK
    assert c["$KXRULES_ACCOUNT_PASSWORD"].status == FIX
    assert c["$KXRULES_GATEWAY_SECRET"].status == FIX
    assert all(SECRET not in ch.line() for ch in checks)


def test_no_gateway_declared_is_skipped():
    c = by_name(run_checks(windows(32), profile()))
    assert c["gateway"].status == SKIP and "no gateway declared" in c["gateway"].message


def test_an_unreachable_gateway_is_a_fix():
    def refuse(host, port, timeout):
        raise ConnectionRefusedError(111, "Connection refused")
    c = by_name(run_checks(windows(32, connect=refuse), profile(), gateway="127.0.0.1:5151"))
    assert c["gateway"].status == FIX and "start `kxrules gateway`" in c["gateway"].message


def test_gateway_address_from_an_object_or_a_mapping():
    g = gateway_of(SimpleNamespace(gateway=SimpleNamespace(host="h", port=7, secret_env="MY_SECRET")))
    assert (g.host, g.port, g.secret_env) == ("h", 7, "MY_SECRET")
    assert gateway_of(SimpleNamespace()) is None
    assert gateway_of(None, "::1:9").port == 9


def test_on_linux_the_windows_checks_say_why_they_do_not_apply():
    m = Machine(platform="linux", pointer_bits=64, python=(3, 11, 7), os_name="Linux", env=ENV)
    checks = run_checks(m, profile(), role=CONTROL)
    c = by_name(checks)
    assert c["OpenAPI+ control"].status == SKIP and c["OpenAPI+ control"].message == NOT_WINDOWS
    assert c["pykiwoom"].status == SKIP and c["pykiwoom"].message == NOT_WINDOWS
    assert exit_code(checks) == 0


# -- the command, on this (Linux) machine -------------------------------------------------------------
@pytest.fixture
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    stop = threading.Event()

    def accept():
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
                conn.close()
            except OSError:
                pass
    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1]
    stop.set()
    t.join()
    srv.close()


def test_doctor_command_passes_on_a_set_up_linux_engine(ws, monkeypatch, listener):
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    result = CliRunner().invoke(app, ["doctor", "--workspace", str(ws.root), "--gateway", f"127.0.0.1:{listener}"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("OK   os: ") and NOT_WINDOWS in lines[0]
    assert f"SKIP OpenAPI+ control: {NOT_WINDOWS}" in lines
    assert "OK   server: the profile trades on paper (모의투자)" in lines
    assert f"OK   gateway: 127.0.0.1:{listener} accepts connections (--gateway)" in lines
    assert SECRET not in result.output


def test_doctor_command_exits_1_naming_what_to_fix(ws, monkeypatch):
    monkeypatch.delenv("KXRULES_ACCOUNT_PASSWORD", raising=False)
    result = CliRunner().invoke(app, ["doctor", "--workspace", str(ws.root)])
    assert result.exit_code == 1
    assert "FIX  $KXRULES_ACCOUNT_PASSWORD: not set" in result.output
    assert "FIX  gateway: 127.0.0.1:8765 does not answer" in result.output     # the pilot's gateway:


def test_doctor_command_with_a_broken_profile_still_checks_the_machine(ws):
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper", "\nserver: maybe")
    result = CliRunner().invoke(app, ["doctor", "--workspace", str(ws.root)])
    assert result.exit_code == 1
    assert "FIX  profile: profile pilot cannot be loaded" in result.output and "OK   python" in result.output


def test_doctor_rejects_a_bad_gateway_address(ws):
    result = CliRunner().invoke(app, ["doctor", "--workspace", str(ws.root), "--gateway", "nope"])
    assert result.exit_code == 2 and "HOST:PORT" in result.output
