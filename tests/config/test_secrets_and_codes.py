"""Secrets belong in environment variables (KX951, KX952); the code registry is documented."""
from __future__ import annotations

import re

from kxrules.config.diagnostics import CODES, Severity

from ..conftest import REPO

P = "config/profiles/pilot.yaml"
S = "config/profiles/sim.yaml"


def test_slack_webhook_url_in_the_profile_is_KX951(ws):
    ws.replace(P, "webhook_env: KXRULES_SLACK_WEBHOOK",
               "webhook_env: https://hooks.slack.com/services/T000/B000/XXXXXXXX")
    line, col = ws.find(P, "https://")
    assert ws.check() == {(P, line, col, "KX951")}
    assert "environment variable" in ws.messages("KX951")[0]


def test_env_name_that_is_not_a_variable_name_is_KX951(ws):
    ws.replace(P, "password_env: KXRULES_ACCOUNT_PASSWORD", "password_env: 'hunter2!'")
    line, col = ws.find(P, "'hunter2!'")
    assert ws.check() == {(P, line, col, "KX951")}


def test_literal_account_number_where_a_variable_belongs_is_KX951(ws):
    ws.replace(P, "number_env: KXRULES_ACCOUNT ", 'number_env: "8012-3456-11" ')
    line, col = ws.find(P, '"8012-3456-11"')
    assert ws.check() == {(P, line, col, "KX951")}


def test_secret_set_in_a_child_profile_points_at_the_child(ws):
    ws.replace(S, "    enabled: false", "    enabled: false\n    webhook_env: xoxb-1234-5678-abcdef")
    line, col = ws.find(S, "xoxb-")
    assert ws.check("sim") == {(S, line, col, "KX951")}


def test_url_under_a_secret_like_key_in_another_file_is_KX951(ws):
    ws.append("rules/risk.yaml", 'alert_webhook: "https://hooks.slack.com/services/T0/B0/XYZ"\n')
    line, col = ws.find("rules/risk.yaml", '"https://')
    found = ws.check()
    assert ("rules/risk.yaml", line, col, "KX951") in found
    assert ("rules/risk.yaml", line, 1, "KX101") in found          # and the key is unknown anyway


def test_url_under_an_innocent_key_elsewhere_is_not_a_secret(ws):
    v = "config/venues/kiwoom.yaml"
    ws.replace(v, "source: design blueprint; no OCX source found",
               "source: https://openapi.kiwoom.com/guide (REST only)")
    assert ws.check() == set()


def test_enabled_slack_without_its_variable_is_a_KX952_warning(ws, monkeypatch):
    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK")
    line, col = ws.find(P, "KXRULES_SLACK_WEBHOOK")
    assert ws.check() == {(P, line, col, "KX952")}
    assert not ws.diags.errors
    assert ws.check("sim") == set()            # the sim profile turns Slack off


# --- the code registry -----------------------------------------------------------------------

def test_codes_are_well_formed_and_grouped():
    for code, spec in CODES.items():
        assert re.fullmatch(r"KX\d{3}", code) and spec.code == code
        assert isinstance(spec.severity, Severity) and spec.title


def test_every_diagnostic_code_is_documented_in_the_user_guide():
    guide = (REPO / "docs/guide.md").read_text(encoding="utf-8")
    missing = [code for code in CODES if code not in guide]
    assert not missing, f"docs/guide.md does not document {', '.join(missing)}"


def test_a_kiwoom_rest_appkey_written_where_its_variable_belongs_is_KX951(ws):
    ws.append(P, "rest:\n  appkey_env: Xq9Lk2Vb8Nw3Rt7Yp1Zs6Mh4Jd0Fc5Ga2Ue8Wi\n")
    line, col = ws.find(P, "Xq9Lk2Vb8Nw3Rt7Yp1Zs6Mh4Jd0Fc5Ga2Ue8Wi")
    assert ws.check() == {(P, line, col, "KX951")}


def test_an_upper_case_secretkey_written_where_its_variable_belongs_is_KX951(ws):
    ws.append(P, "rest:\n  secretkey_env: Q9LK2VB8NW3RT7YP1ZS6MH4JD0FC5GA2UE8WI3\n")
    line, col = ws.find(P, "Q9LK2VB8NW3RT7YP1ZS6MH4JD0FC5GA2UE8WI3")
    assert ws.check() == {(P, line, col, "KX951")}


def test_the_rest_section_names_variables_and_a_key_itself_is_unknown(ws):
    ws.append(P, "rest:\n  appkey_env: KXRULES_KIWOOM_APPKEY\n  server: mock\n")
    assert ws.check() == set()
    ws.append(P, "  appkey: not-here\n")
    assert {c for *_, c in ws.check()} == {"KX101"}
