"""`kxrules trade --broker kiwoom_rest --emulator`: a seeded session through the REST emulator over
real sockets ends flat with its orders, fills and balances recorded, and the appkey and secretkey
appear nowhere: not in the data directory, not in the output."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
from typer.testing import CliRunner

from kxrules.broker.rest.emulator import app as emulator_app
from kxrules.cli.app import app as kxrules_app

from ..engine.scenario import DAY, REPO
from .test_run_end import _small_universe

APPKEY = "KnownAppKey-REST-session-7f3a9c1e5b2d4f6a8c0e"
SECRET = "KnownSecretKey-REST-session-0e8c6a4f2d1b3c5e"


def _args(uni: Path, data: Path, *, until: str = "09:02:10", speed: str = "5") -> list[str]:
    return ["trade", "--profile", "pilot", "--broker", "kiwoom_rest", "--emulator", "--seed", "7",
            "--speed", speed, "--date", str(DAY), "--until", until, "--universe", str(uni),
            "--data-dir", str(data), "--workspace", str(REPO), "--quiet"]


def test_a_seeded_rest_emulator_session_ends_flat_recorded_and_leaks_no_secret(tmp_path, monkeypatch, capfd):
    monkeypatch.setenv("KXRULES_KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KXRULES_KIWOOM_SECRETKEY", SECRET)
    tokens: list[str] = []
    issue = emulator_app.EmulatorAuth.issue

    def remember(self, now_ns):                  # every token the emulator hands out, to look for
        token, expires = issue(self, now_ns)
        tokens.append(token)
        return token, expires
    monkeypatch.setattr(emulator_app.EmulatorAuth, "issue", remember)
    data = tmp_path / "d"
    result = CliRunner().invoke(kxrules_app, _args(_small_universe(tmp_path, 10), data))
    assert result.exit_code == 0, result.output
    assert "flat on every symbol" in result.output
    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    try:
        broker, mode, status = con.execute("SELECT broker, mode, status FROM runs").fetchone()
        assert (broker, mode, status) == ("kiwoom_rest", "simulation", "ok")
        assert con.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM fills").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM events WHERE kind = 'balance'").fetchone()[0] > 0
    finally:
        con.close()
    captured = capfd.readouterr()
    assert tokens
    for secret in (APPKEY, SECRET, *tokens):
        assert secret not in result.output and secret not in captured.out and secret not in captured.err
        for f in data.rglob("*"):
            if f.is_file():
                assert secret.encode() not in f.read_bytes(), f


def test_a_throttle_above_the_rest_limits_is_refused_before_trading(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("KXRULES_KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KXRULES_KIWOOM_SECRETKEY", SECRET)
    ws.replace("config/venues/kiwoom_rest.yaml", "orders: {capacity: 5, window_ms: 1000}",
               "orders: {capacity: 4, window_ms: 1000}")
    args = _args(_small_universe(tmp_path, 3), tmp_path / "d")
    args[args.index("--workspace") + 1] = str(ws.root)
    result = CliRunner().invoke(kxrules_app, args)
    assert result.exit_code == 2
    assert "throttle orders: 5 per 1000 ms is more than the Kiwoom REST limit of 4 per 1000 ms" in result.output


def test_a_scheduled_drop_disarms_then_the_session_logs_in_again_registers_and_ends_flat(ws, tmp_path, monkeypatch):
    monkeypatch.setenv("KXRULES_KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KXRULES_KIWOOM_SECRETKEY", SECRET)
    ws.replace("config/sim/default.yaml", "disconnect_at: null", 'disconnect_at: "09:01:20"')
    ws.replace("config/sim/default.yaml", "reconnect_after_s: null", "reconnect_after_s: 10")
    data = tmp_path / "d"
    args = _args(_small_universe(tmp_path, 10), data)
    args[args.index("--workspace") + 1] = str(ws.root)
    result = CliRunner().invoke(kxrules_app, args)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    try:
        ups = [json.loads(d)["connected"] for d, in con.execute(
            "SELECT detail FROM events WHERE kind = 'connection' ORDER BY ts_ns").fetchall()]
        reasons = [json.loads(d)["reasons"] for d, in con.execute(
            "SELECT detail FROM events WHERE kind = 'reconciled' ORDER BY ts_ns").fetchall()]
    finally:
        con.close()
    assert ups[0] is True and False in ups and ups[-1] is True    # down (refused until 09:01:30), up again
    assert sum("login" in r for r in reasons) >= 2                 # the account asked again after it


def test_a_halted_name_on_the_rest_broker_is_muted_at_start_up_never_traded_and_shown(ws, tmp_path, monkeypatch):
    from kxrules.engine.engine import Engine
    from kxrules.ops.capture import Capturer, FeedTap
    from kxrules.ops.snapshot import SnapshotRenderer, ViewProfile

    from ..engine.scenario import capture

    monkeypatch.setenv("KXRULES_KIWOOM_APPKEY", APPKEY)
    monkeypatch.setenv("KXRULES_KIWOOM_SECRETKEY", SECRET)
    halted = "003230"                    # seed 7 trades it on these ten symbols when it is clean
    ws.replace("config/sim/default.yaml", "names: {}",
               'names: {}\nmaster: {"%s": {state: "증거금100%%|거래정지"}}' % halted)
    engines = capture(monkeypatch, Engine)
    data = tmp_path / "d"
    args = _args(_small_universe(tmp_path, 10), data)
    args[args.index("--workspace") + 1] = str(ws.root)
    result = CliRunner().invoke(kxrules_app, args)
    assert result.exit_code == 0, result.output
    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    try:
        muted = con.execute("SELECT code, detail, ts_ns FROM events WHERE kind = 'symbol_muted'").fetchall()
        (first_login,), = con.execute("SELECT min(ts_ns) FROM events WHERE kind = 'connection'").fetchall()
        assert [(c, json.loads(d)) for c, d, _ in muted] == [
            (halted, {"reason": "거래정지", "source": "broker master data"})]
        assert muted[0][2] <= first_login                       # before the login, so before arming
        assert con.execute("SELECT message FROM alerts WHERE kind = 'symbol_muted'").fetchall() == [
            (f"{halted} 삼양식품: 거래정지 by the broker's master data; muted for the day",)]
        assert con.execute("SELECT count(*) FROM orders WHERE code = ?", [halted]).fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM signals WHERE code = ? AND admitted", [halted]).fetchone() == (0,)
        (summary,), = con.execute("SELECT summary_json FROM runs").fetchall()
        assert json.loads(summary)["muted"] == {halted: "거래정지"}
    finally:
        con.close()
    snapshot = SnapshotRenderer(ViewProfile.of(engines[0].profile)).render(Capturer(engines[0], FeedTap()).capture())
    symbols = json.loads(snapshot)["symbols"]           # columns: a list per field
    row = symbols["code"].index(halted)
    assert (symbols["state"][row], symbols["mute_reason"][row]) == ("muted", "거래정지")   # the ops view's row
