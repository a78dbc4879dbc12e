"""`kxrules validate` and `kxrules init`: exit codes, output formats, the economics table."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess

import pytest
from typer.testing import CliRunner

from kxrules import __version__
from kxrules.cli.app import app
from kxrules.config.diagnostics import CODES

DATE = "2026-08-12"
runner = CliRunner()


def validate(ws, *args: str):
    return runner.invoke(app, ["validate", "--workspace", str(ws.root), "--date", DATE, *args])


# --- exit codes ----------------------------------------------------------------------------

def test_clean_profile_exits_0_and_prints_no_diagnostics(ws):
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 0, r.output
    assert r.stdout.splitlines() == [f"ok: pilot on {DATE}: 0 error(s), 0 warning(s)"]


def test_profile_as_positional_argument(ws):
    r = validate(ws, "sim")
    assert r.exit_code == 0, r.output
    assert r.stdout.strip() == f"ok: sim on {DATE}: 0 error(s), 0 warning(s)"


def test_profile_as_a_path(ws):
    r = validate(ws, str(ws.path("config/profiles/sim.yaml")))
    assert r.exit_code == 0, r.output


def test_no_profile_checks_every_profile(ws):
    r = validate(ws)
    assert r.exit_code == 0, r.output
    m = re.fullmatch(rf"ok: (.+) on {DATE}: 0 error\(s\), 0 warning\(s\)", r.stdout.strip())
    assert m and {"pilot", "sim"} <= set(m.group(1).split(", "))


def test_no_profile_reports_an_error_in_any_profile(ws):
    ws.replace("config/profiles/sim.yaml", "broker: sim", "broker: simulator")
    line, col = ws.find("config/profiles/sim.yaml", "simulator")
    r = validate(ws)
    assert r.exit_code == 1
    assert f"config/profiles/sim.yaml:{line}:{col}: error KX104 broker: Input should be 'kiwoom', 'sim' or 'kiwoom_rest'" in r.stdout
    assert r.stdout.splitlines()[-1] == f"FAILED: pilot, sim on {DATE}: 1 error(s), 0 warning(s)"


def test_an_unknown_slack_send_on_name_is_an_error_at_its_position(ws):
    ws.replace("config/profiles/pilot.yaml", "send_on: [buy_fill, sell_fill", "send_on: [buy_fill, sell_fills")
    line, col = ws.find("config/profiles/pilot.yaml", "sell_fills")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 1
    assert (f"config/profiles/pilot.yaml:{line}:{col}: error KX104 alerts.slack.send_on.1: Input should be "
            f"'buy_fill', 'sell_fill', 'pair_done'") in r.stdout


def test_warnings_alone_exit_0(ws, monkeypatch):
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK")
    line, col = ws.find("config/profiles/pilot.yaml", "KXRULES_SLACK_WEBHOOK")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 0
    assert r.stdout.splitlines()[0] == (
        f"config/profiles/pilot.yaml:{line}:{col}: warning KX952 alerts.slack is enabled but "
        "$KXRULES_SLACK_WEBHOOK is not set: Slack alerts will be skipped")
    assert r.stdout.splitlines()[-1] == f"ok: pilot on {DATE}: 0 error(s), 1 warning(s)"


def test_errors_exit_1_with_located_lines(ws):
    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 1
    line, col = ws.find("rules/throttle.yaml", "5", after="reserve_for_hedge: ")
    assert f"rules/throttle.yaml:{line}:{col}: error KX401 " in r.stdout
    assert r.stdout.splitlines()[-1].startswith("FAILED: pilot")


def test_yaml_syntax_error_exits_1_without_a_traceback(ws):
    ws.replace("rules/throttle.yaml", "orders:\n  capacity: 5", "orders:\n\tcapacity: 5")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 1
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert "error KX004" in r.stdout and "Traceback" not in r.output


@pytest.mark.parametrize("args, message", [
    (["--profile", "nope"], "KX201"),
    (["pilot", "--profile", "pilot"], "not both"),
    (["--profile", "pilot", "--date", "12/08/2026"], "--date must be YYYY-MM-DD"),
])
def test_misuse_exits_2(ws, args, message):
    r = validate(ws, *args)
    assert r.exit_code == 2
    assert message in r.output


def test_unknown_format_is_a_usage_error_exit_2(ws):
    r = validate(ws, "--format", "xml")
    assert r.exit_code == 2


def test_missing_referenced_file_exits_2(ws):
    ws.path("rules/risk.yaml").unlink()
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 2
    line, col = ws.find("config/profiles/pilot.yaml", "rules/risk.yaml")
    assert f"config/profiles/pilot.yaml:{line}:{col}: error KX203 files.risk: 'rules/risk.yaml' does not exist" in r.stdout


def test_unreadable_file_exits_2(ws):
    ws.path("rules/edge.yaml").write_bytes(b"\xff\xfe\x00garbage")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 2
    assert "rules/edge.yaml:0:0: error KX001" in r.stdout


def test_universe_path_that_is_a_directory_exits_2(ws):
    ws.replace("config/profiles/pilot.yaml", "universe: config/universe/pilot.csv", "universe: config/universe")
    r = validate(ws, "--profile", "pilot")
    assert r.exit_code == 2
    assert "config/universe:0:0: error KX001 cannot read universe file" in r.stdout


def test_extends_cycle_exits_2(ws):
    ws.replace("config/profiles/sim.yaml", "extends: pilot", "extends: sim")
    r = validate(ws, "sim")
    assert r.exit_code == 2
    assert "KX202" in r.stdout


def test_empty_workspace_has_no_profiles_exit_2(tmp_path):
    (tmp_path / "config" / "profiles").mkdir(parents=True)
    r = runner.invoke(app, ["validate", "--workspace", str(tmp_path)])
    assert r.exit_code == 2
    assert "no profiles found" in r.output


# --- output formats ------------------------------------------------------------------------

def test_json_format_shape(ws):
    ws.replace("rules/throttle.yaml", "enabled: true", "enabled: false")       # one warning
    r = validate(ws, "--profile", "pilot", "--format", "json")
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert set(doc) == {"errors", "warnings", "diagnostics", "profiles", "run_date", "economics"}
    assert (doc["errors"], doc["warnings"], doc["profiles"], doc["run_date"]) == (0, 1, ["pilot"], DATE)
    line, col = ws.find("rules/throttle.yaml", "false")
    assert doc["diagnostics"] == [{
        "path": "rules/throttle.yaml", "line": line, "col": col, "severity": "warning",
        "code": "KX404", "message": "auto_pause is off: nothing slows entries when the order budget runs hot"}]
    rows = {row["code"]: row for row in doc["economics"]["pilot"]}
    assert len(rows) == 50
    assert rows["005930"] == {
        "code": "005930", "name": "삼성전자", "market": "KOSPI", "ref_price": 239_500, "tick": 500,
        "slice_qty": 1, "cost_krw_1tick": 555, "break_even_ticks": 2, "rule_min_ticks": 3,
        "rule_net_krw": 944}


def test_json_format_with_errors_exits_1_and_has_no_economics(ws):
    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    r = validate(ws, "--profile", "pilot", "--format", "json")
    assert r.exit_code == 1
    doc = json.loads(r.stdout)
    assert doc["errors"] == 2 and doc["economics"] == {}
    assert {d["code"] for d in doc["diagnostics"]} == {"KX401", "KX402"}
    assert all(d["code"] in CODES for d in doc["diagnostics"])


def test_economics_table(ws):
    r = validate(ws, "--profile", "pilot", "--economics")
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    assert f"economics for profile pilot on {DATE} (worst direction, KRW):" in lines
    head = next(ln for ln in lines if ln.startswith("code"))
    assert head.split() == ["code", "name", "market", "ref", "tick", "slice", "cost@1t", "b/e",
                            "ticks", "rule", "ticks", "rule", "net"]
    rows = {ln.split()[0]: ln.split() for ln in lines if re.match(r"^[0-9A-Z]{6} ", ln)}
    assert len(rows) == 50
    # code, name, market, ref, tick, slice, cost@1t, b/e, rule ticks, rule net
    assert rows["005930"][2:] == ["KOSPI", "239,500", "500", "1", "555", "2", "3", "944"]
    assert rows["025900"][2:] == ["KOSDAQ", "7,770", "10", "1", "15", "2", "3", "15"]
    assert rows["001060"][2:] == ["KOSPI", "26,250", "50", "1", "52", "2", "3", "98"]
    assert rows["000660"][2:] == ["KOSPI", "1,425,000", "1000", "1", "3,358", "4", "6", "2,632"]


def test_economics_table_shows_dashes_when_the_rules_never_trade(ws):
    ws.replace("rules/edge.yaml", "when: net_edge_ticks >= edge_buffer_ticks", "when: net_edge_ticks >= 100")
    r = validate(ws, "--profile", "pilot", "--economics")
    assert r.exit_code == 0
    row = next(ln for ln in r.stdout.splitlines() if ln.startswith("005930"))
    assert row.split()[-2:] == ["-", "-"]
    assert "warning KX806" in r.stdout


def test_version():
    r = runner.invoke(app, ["--version"])
    assert r.exit_code == 0
    assert r.stdout.strip() == f"kxrules {__version__}"


def test_help_lists_the_commands():
    r = runner.invoke(app, ["--help"])
    assert r.exit_code == 0
    assert "validate" in r.stdout and "init" in r.stdout


# --- init ----------------------------------------------------------------------------------

def test_init_writes_a_workspace_that_validates_clean(tmp_path, monkeypatch):
    monkeypatch.setenv("KXRULES_SLACK_WEBHOOK", "set-for-tests")
    target = tmp_path / "new"
    r = runner.invoke(app, ["init", str(target)])
    assert r.exit_code == 0, r.output
    for sub in ("rules", "sessions", "config", "reports"):
        assert (target / sub).is_dir()
    assert (target / "config" / "profiles" / "pilot.yaml").is_file()
    r = runner.invoke(app, ["validate", "--workspace", str(target), "--date", DATE])
    assert r.exit_code == 0, r.output
    m = re.fullmatch(rf"ok: (.+) on {DATE}: 0 error\(s\), 0 warning\(s\)", r.stdout.strip())
    assert m and {"pilot", "sim"} <= set(m.group(1).split(", "))


def test_init_finds_the_workspace_from_inside_it(tmp_path, monkeypatch):
    monkeypatch.setenv("KXRULES_SLACK_WEBHOOK", "set-for-tests")
    monkeypatch.delenv("KXRULES_WORKSPACE", raising=False)
    target = tmp_path / "new"
    assert runner.invoke(app, ["init", str(target)]).exit_code == 0
    monkeypatch.chdir(target / "rules")
    r = runner.invoke(app, ["validate", "--profile", "pilot", "--date", DATE])
    assert r.exit_code == 0, r.output


def test_init_refuses_a_non_empty_directory_without_force(tmp_path):
    target = tmp_path / "busy"
    target.mkdir()
    (target / "notes.txt").write_text("mine", encoding="utf-8")
    r = runner.invoke(app, ["init", str(target)])
    assert r.exit_code == 2
    assert "not empty" in r.output and "--force" in r.output
    assert sorted(p.name for p in target.iterdir()) == ["notes.txt"]

    r = runner.invoke(app, ["init", str(target), "--force"])
    assert r.exit_code == 0, r.output
    assert (target / "rules" / "edge.yaml").is_file()
    assert (target / "notes.txt").read_text(encoding="utf-8") == "mine"


def test_init_into_an_empty_existing_directory(tmp_path):
    target = tmp_path / "empty"
    target.mkdir()
    r = runner.invoke(app, ["init", str(target)])
    assert r.exit_code == 0, r.output


# --- the installed executable ----------------------------------------------------------------

@pytest.mark.skipif(shutil.which("kxrules") is None, reason="the kxrules executable is not installed")
def test_installed_executable(ws):
    env = {**os.environ, "KXRULES_SLACK_WEBHOOK": "set-for-tests", "PYTHONIOENCODING": "utf-8"}
    env.pop("KXRULES_WORKSPACE", None)
    exe = shutil.which("kxrules")
    ok = subprocess.run([exe, "validate", "--profile", "pilot", "--date", DATE, "-w", str(ws.root),
                         "--format", "json"], capture_output=True, text=True, env=env, timeout=60)
    assert ok.returncode == 0, ok.stderr
    doc = json.loads(ok.stdout)
    assert doc["errors"] == 0 and len(doc["economics"]["pilot"]) == 50

    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    bad = subprocess.run([exe, "validate", "pilot", "--date", DATE, "-w", str(ws.root)],
                         capture_output=True, text=True, env=env, timeout=60)
    assert bad.returncode == 1
    assert "error KX401" in bad.stdout and "Traceback" not in bad.stderr

    misuse = subprocess.run([exe, "validate", "nope", "-w", str(ws.root)],
                            capture_output=True, text=True, env=env, timeout=60)
    assert misuse.returncode == 2 and "KX201" in misuse.stdout


def test_machine_notes_list_the_events_each_state_ignores(ws):
    r = validate(ws, "--profile", "pilot", "--machine")
    assert r.exit_code == 0, r.output
    assert ("note: pilot: pair machine state ENTRY_TAKE_SENT ignores send, hedge_filled, hedge_rejected, "
            "hedge_expired (recorded and alerted if one comes)") in r.stdout.splitlines()
    assert r.stdout.splitlines()[-1].startswith("ok: pilot")
    doc = json.loads(validate(ws, "--profile", "pilot", "--machine", "--format", "json").stdout)
    assert doc["ignored_events"]["pilot"]["CANDIDATE"][0] == "entry_rejected"
