"""Paper or real, declared: the profile says which Kiwoom server it means, the engine arms only
when the broker's login (GetServerGubun) agrees, and the status line, the recording, the summary
and the report say which server it was."""
from __future__ import annotations

import datetime as dt

import duckdb
import pytest
from typer.testing import CliRunner

from kxrules.broker import KiwoomAdapter
from kxrules.broker.server import (PAPER, REAL, SIM, ServerUndeclared, describe, expected_server,
                                   server_of_gubun)
from kxrules.cli.app import app
from kxrules.clock import VirtualClock
from kxrules.report.source import RunInfo
from kxrules.storage.recorder import connect

from ..broker.fakes import ScriptedOcx
from ..broker.helpers import VENUES, Recorder, kst

DAY = ["--date", "2026-11-23", "--until", "09:06:00", "--seed", "7", "--speed", "max", "--quiet"]


def _trade(ws, tmp_path, *extra: str, profile: str = "pilot"):
    return CliRunner().invoke(app, ["trade", "--profile", profile, "--broker", "sim", "--synthetic", *DAY,
                                    "--data-dir", str(tmp_path / "data"), "--workspace", str(ws.root), *extra])


def _run_row(tmp_path):
    con = duckdb.connect(str(tmp_path / "data" / "kxrules.duckdb"), read_only=True)
    return con, con.execute("SELECT server, status, exit_code FROM runs ORDER BY run_id DESC LIMIT 1").fetchone()


# -- the rules -------------------------------------------------------------------------------------
@pytest.mark.parametrize("gubun, server", [("1", PAPER), (" 1 ", PAPER), ("0", REAL), ("", REAL), (None, REAL)])
def test_only_1_is_the_mock_server(gubun, server):
    assert server_of_gubun(gubun) == server


def test_a_live_broker_needs_paper_or_real_declared():
    assert expected_server(PAPER, "kiwoom") == PAPER and expected_server(REAL, "kiwoom") == REAL
    for declared in (None, SIM):
        with pytest.raises(ServerUndeclared, match="server: paper"):
            expected_server(declared, "kiwoom")
    assert expected_server(None, "sim") is None and expected_server(SIM, "sim") is None
    assert expected_server(REAL, "sim") == REAL          # rehearsed against the emulator's answer
    assert describe(REAL) == "real (실거래)" and describe(None) == "unknown"


# -- the adapter reads GetServerGubun at login -------------------------------------------------------
class GubunOcx(ScriptedOcx):
    def __init__(self, login: str, koa: str):
        super().__init__()
        self.login_gubun, self.koa_gubun = login, koa

    def GetLoginInfo(self, tag: str) -> str:
        return self.login_gubun if tag == "GetServerGubun" else super().GetLoginInfo(tag)

    def KOA_Functions(self, name: str, param: str) -> str:
        return self.koa_gubun if name == "GetServerGubun" else ""


@pytest.mark.parametrize("login, koa, server", [("1", "", PAPER), ("", "1", PAPER), ("0", "1", REAL), ("", "", REAL)])
def test_adapter_reports_the_server_of_the_login(login, koa, server):
    rec = Recorder()
    ocx = GubunOcx(login, koa)
    ad = KiwoomAdapter(ocx, VENUES, VirtualClock(kst("08:50:00")), rec, ["005930"])
    ad.connect()
    ocx.OnEventConnect.emit(0)
    ev = rec.connections[-1]
    assert ev.connected and ev.server == server and ev.raw["server_gubun"] == (login or koa)


# -- whole runs against the emulator ---------------------------------------------------------------
def test_declared_real_against_a_paper_server_never_arms_and_exits_1(ws, tmp_path):
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper", "\nserver: real")
    result = _trade(ws, tmp_path)
    assert result.exit_code == 1, result.output
    assert ("server mismatch: the profile declares real (실거래) but the broker logged in to paper (모의투자)"
            in result.output)
    con, (server, status, code) = _run_row(tmp_path)
    assert (server, status, code) == (PAPER, "abnormal", 1)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM signals WHERE admitted").fetchone() == (0,)
    alerts = con.execute("SELECT kind, message FROM alerts WHERE kind = 'server_mismatch'").fetchall()
    assert len(alerts) == 1 and "GetServerGubun='1'" in alerts[0][1]


def test_declared_real_against_a_real_server_trades(ws, tmp_path):
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper", "\nserver: real")
    ws.replace("config/sim/default.yaml", 'server_gubun: "1"', 'server_gubun: "0"')
    result = _trade(ws, tmp_path)
    assert result.exit_code == 0, result.output
    assert "server real (실거래)" in result.output and "flat on every symbol" in result.output
    con, (server, status, code) = _run_row(tmp_path)
    assert (server, status, code) == (REAL, "ok", 0)
    assert con.execute("SELECT count(*) FROM orders").fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM alerts WHERE kind = 'server_mismatch'").fetchone() == (0,)
    report = CliRunner().invoke(app, ["report", "--data-dir", str(tmp_path / "data"), "--out",
                                      str(tmp_path / "r.html"), "--workspace", str(ws.root)])
    assert report.exit_code == 0, report.output
    assert "server real (실거래)" in report.output
    assert 'data-k="server">real (실거래)' in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_emulator_without_a_declaration_is_sim_and_unchecked(ws, tmp_path):
    # the sim profile (broker: sim) inherits no server once pilot declares none
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper\n", "\n")
    ws.replace("config/sim/default.yaml", 'server_gubun: "1"', 'server_gubun: "0"')
    result = _trade(ws, tmp_path, profile="sim")
    assert result.exit_code == 0, result.output
    assert "server sim (emulator)" in result.output
    assert _run_row(tmp_path)[1][0] == SIM


def test_live_broker_without_a_declaration_exits_2_before_anything(ws, tmp_path):
    ws.replace("config/profiles/sim.yaml", "broker: sim", "broker: sim\nserver: sim")
    result = CliRunner().invoke(app, ["trade", "--profile", "sim", "--broker", "kiwoom", "--date", "2026-11-23",
                                      "--data-dir", str(tmp_path / "data"), "--workspace", str(ws.root)])
    assert result.exit_code == 2
    assert "declares server: sim (the emulator): add `server: paper` (모의투자) or `server: real`" in result.output
    assert not (tmp_path / "data").exists()


def test_validate_requires_a_server_for_the_live_broker(ws):
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper\n", "\n")
    assert "KX102" in ws.codes()
    assert any("server is missing" in m for m in ws.messages("KX102"))


def test_validate_refuses_sim_as_the_live_brokers_server(ws):
    ws.replace("config/profiles/pilot.yaml", "\nserver: paper", "\nserver: sim")
    assert "KX104" in ws.codes()
    assert any("server: sim means the emulator" in m for m in ws.messages("KX104"))


# -- an older recording gains the column -----------------------------------------------------------
def test_an_old_recording_is_migrated_and_reported_as_not_recorded(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    old = duckdb.connect(str(data / "kxrules.duckdb"))
    old.execute("CREATE TABLE runs (run_id INTEGER PRIMARY KEY, profile VARCHAR, broker VARCHAR, mode VARCHAR, "
                "sim_seed BIGINT, source VARCHAR, run_date DATE, started_at TIMESTAMP, ended_at TIMESTAMP, "
                "config_hash VARCHAR, config_json VARCHAR, status VARCHAR, exit_code INTEGER, "
                "summary_json VARCHAR, schema_version INTEGER)")
    old.execute("INSERT INTO runs (run_id, profile, broker, status) VALUES (1, 'pilot', 'sim', 'ok')")
    old.close()
    con = connect(data)
    assert con.execute("SELECT run_id, server FROM runs").fetchall() == [(1, None)]
    con.close()
    connect(data).close()           # idempotent
    info = RunInfo(1, "pilot", "sim", "simulation", None, None, dt.date(2026, 11, 23), None, None, None,
                   "ok", 0, {}, None)
    assert info.server_text == "not recorded"


def test_status_line_shows_the_server():
    from types import SimpleNamespace

    from kxrules.runtime.status import status_line

    engine = SimpleNamespace(execution=None, guard=SimpleNamespace(armed=lambda ts: False, mute_reasons={}), server=REAL,
                             stats={"quotes": 0, "signals": 0}, throttle=SimpleNamespace(max_in_window=0))
    assert " disarmed REAL  quotes 0 " in status_line(engine, kst("09:00:00"))
    engine.server = None
    assert " disarmed ?     quotes 0 " in status_line(engine, kst("09:00:00"))


# -- the split session: the engine asks the gateway's emulator over the wire --------------------------
def test_declared_real_against_the_gateways_paper_emulator_never_arms(tmp_path, monkeypatch):
    from kxrules.config.compile import compile_profile
    from kxrules.runtime.trade import TradeOptions, run_simulation

    from ..engine.scenario import DAY
    from ..engine.test_broker_truth_property import gappy_market
    from ..gateway.test_split_session import SECRET, start_gateway, workspace

    root = workspace(tmp_path, {})
    pilot = root / "config/profiles/pilot.yaml"
    pilot.write_text(pilot.read_text(encoding="utf-8").replace("\nserver: paper", "\nserver: real"), encoding="utf-8")
    quotes = gappy_market(11).write(tmp_path / "quotes.parquet")
    profile = compile_profile(root, "sim", DAY)       # sim extends pilot: declares real
    proc, port = start_gateway(root, quotes, tmp_path)
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    try:
        result = run_simulation(profile, TradeOptions(broker="sim", gateway=f"127.0.0.1:{port}",
                                                      data_dir=tmp_path / "split"))
        proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert result.exit_code == 1
    assert result.summary.killed.startswith("server mismatch: the profile declares real (실거래) but the broker "
                                            "logged in to paper (모의투자)")
    assert result.summary.server == PAPER and result.summary.fills == 0
    con = duckdb.connect(str(result.db_path), read_only=True)
    assert con.execute("SELECT server FROM runs").fetchall() == [(PAPER,)]
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (0,)
