"""Profiles: lookup, `extends` chains and cycles, referenced files, and where merged keys point."""
from __future__ import annotations

from kxrules.config.diagnostics import Diagnostics
from kxrules.config.profiles import available_profiles, load_profile

P = "config/profiles/pilot.yaml"
S = "config/profiles/sim.yaml"


def test_available_profiles_lists_the_shipped_ones(ws):
    assert available_profiles(ws.root) == ["pilot", "sim"]


def test_unknown_profile_is_KX201(ws):
    assert ws.check("nope") == {("config/profiles/nope.yaml", 0, 0, "KX201")}
    assert "available: pilot, sim" in ws.messages("KX201")[0]


def test_extends_naming_an_unknown_profile_is_KX201_at_extends(ws):
    ws.replace(S, "extends: pilot", "extends: pilott")
    line, col = ws.find(S, "pilott")
    assert ws.check("sim") == {(S, line, col, "KX201")}


def test_profile_extending_itself_is_KX202(ws):
    ws.replace(S, "extends: pilot", "extends: sim")
    line, col = ws.find(S, "sim", after="extends: ")
    assert ws.check("sim") == {(S, line, col, "KX202")}
    assert ws.messages("KX202") == ["profile extends itself: sim -> sim"]


def test_extends_cycle_through_two_profiles_is_KX202_at_the_closing_extends(ws):
    ws.replace(P, "name: pilot", "extends: sim\nname: pilot")
    line, col = ws.find(P, "sim", after="extends: ")
    assert ws.check("sim") == {(P, line, col, "KX202")}
    assert ws.messages("KX202") == ["profile extends itself: sim -> pilot -> sim"]


def test_missing_referenced_file_is_KX203_at_the_files_entry(ws):
    ws.replace(P, "edge: rules/edge.yaml", "edge: rules/edge2.yaml")
    line, col = ws.find(P, "rules/edge2.yaml")
    assert (P, line, col, "KX203") in ws.check("pilot")
    assert ws.messages("KX203") == ["files.edge: 'rules/edge2.yaml' does not exist"]


def test_missing_file_inherited_by_a_child_points_at_the_parent_that_names_it(ws):
    ws.replace(P, "edge: rules/edge.yaml", "edge: rules/edge2.yaml")
    line, col = ws.find(P, "rules/edge2.yaml")
    assert (P, line, col, "KX203") in ws.check("sim")


def test_child_overriding_a_file_points_at_the_child(ws):
    ws.append(S, "files:\n  edge: rules/nope.yaml\n")
    line, col = ws.find(S, "rules/nope.yaml")
    assert (S, line, col, "KX203") in ws.check("sim")
    assert ws.check("pilot") == set()          # the parent is untouched


def test_extends_merges_mappings_key_by_key_and_replaces_other_values(ws):
    ws.check("sim")
    prof = ws.loaded.profile
    assert prof.name == "sim"
    assert prof.broker == "sim"                          # overridden by sim.yaml
    assert prof.data_dir == "data/sim"                   # overridden
    assert prof.alerts.slack.enabled is False            # overridden inside a nested mapping
    assert prof.alerts.slack.webhook_env == "KXRULES_SLACK_WEBHOOK"   # inherited sibling key
    assert "buy_fill" in prof.alerts.slack.send_on       # inherited
    assert prof.files.edge == "rules/edge.yaml"          # inherited mapping
    assert prof.telemetry.slo_ms.send_to_ack == 150      # inherited
    assert prof.extends is None                          # `extends` is consumed by the merge


def test_merged_list_replaces_the_parent_list(ws):
    ws.replace(S, "    enabled: false", "    enabled: false\n    send_on: [run_end]")
    ws.check("sim")
    assert ws.loaded.profile.alerts.slack.send_on == ["run_end"]


def test_bad_value_in_an_overridden_key_points_at_the_child(ws):
    ws.replace(S, "data_dir: data/sim", "data_dir: [data, sim]")
    line, col = ws.find(S, "[data, sim]")
    assert ws.check("sim") == {(S, line, col, "KX103")}


def test_bad_value_in_an_inherited_key_points_at_the_parent(ws):
    ws.replace(P, "reject_rate_5m: 0.005", "reject_rate_5m: 5")
    line, col = ws.find(P, "5", after="reject_rate_5m: ")
    assert ws.check("sim") == {(P, line, col, "KX104")}


def test_bad_value_overriding_a_nested_key_points_at_the_child(ws):
    ws.append(S, "telemetry:\n  reject_rate_5m: 2\n")
    line, col = ws.find(S, "2", after="reject_rate_5m: ")
    assert ws.check("sim") == {(S, line, col, "KX104")}


def test_unknown_key_added_by_a_child_is_KX101_in_the_child(ws):
    ws.append(S, "brokr: kiwoom\n")
    line, col = ws.find(S, "brokr")
    assert ws.check("sim") == {(S, line, col, "KX101")}
    assert "did you mean 'broker'" in ws.messages("KX101")[0]


def test_origin_of_merged_keys(ws):
    merged = load_profile(ws.root, "sim", Diagnostics(ws.root))
    assert merged is not None
    assert [p.name for p in merged.chain] == ["sim.yaml", "pilot.yaml"]
    path, pos = merged.locate(("broker",))
    assert (path.name, (pos.line, pos.col)) == ("sim.yaml", ws.find(S, "sim", after="broker: "))
    path, pos = merged.locate(("alerts", "slack", "webhook_env"))
    assert (path.name, (pos.line, pos.col)) == ("pilot.yaml", ws.find(P, "KXRULES_SLACK_WEBHOOK"))
    path, pos = merged.locate(("alerts", "slack", "enabled"))
    assert (path.name, (pos.line, pos.col)) == ("sim.yaml", ws.find(S, "false"))


def test_profile_that_is_not_a_mapping_is_KX103(ws):
    ws.write(S, "- pilot\n")
    assert ws.check("sim") == {(S, 1, 1, "KX103")}


def test_profile_given_as_a_path(ws, monkeypatch):
    monkeypatch.chdir(ws.root)
    assert ws.check("config/profiles/sim.yaml") == set()
    assert ws.loaded.profile.name == "sim"
