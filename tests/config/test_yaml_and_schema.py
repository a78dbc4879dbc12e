"""Malformed YAML becomes a located diagnostic (never a traceback); schema errors KX101-KX104."""
from __future__ import annotations

from pathlib import Path

from kxrules.config import yaml_loader
from kxrules.config.diagnostics import Diagnostics
from kxrules.config.yaml_loader import load_yaml

T = "rules/throttle.yaml"


# --- YAML syntax ---------------------------------------------------------------------------

def test_tab_indentation_is_KX004(ws):
    ws.replace(T, "orders:\n  capacity: 5", "orders:\n\tcapacity: 5")
    line, col = ws.find(T, "\tcapacity")
    assert (T, line, col, "KX004") in ws.check()
    assert ws.loaded is not None and "throttle" not in ws.loaded.models


def test_duplicate_key_is_KX003_at_the_second_key(ws):
    ws.replace(T, "  window_ms: 1000\n  reserve", "  window_ms: 1000\n  capacity: 4\n  reserve")
    line, col = ws.find(T, "capacity: 4")
    assert (T, line, col, "KX003") in ws.check()
    assert "capacity" in ws.messages("KX003")[0]


def test_unterminated_quoted_scalar_is_KX002(ws):
    ws.replace(T, "capacity: 5", 'capacity: "5')
    found = ws.check()
    assert {(p, c) for p, _, _, c in found} == {(T, "KX002")}
    assert "quoted scalar" in ws.messages("KX002")[0]


def test_bad_indentation_is_KX002_at_its_line(ws):
    ws.replace(T, "  window_ms: 1000\n  reserve", "  window_ms: 1000\n    oops: [1\n  reserve")
    found = ws.check()
    assert [c for *_, c in found] == ["KX002"]
    (_, line, _, _), = found
    assert line >= ws.find(T, "oops")[0]


def test_unparsable_scalar_is_KX103_at_the_value(ws):
    ws.replace(T, "capacity: 5", "capacity: five")
    line, col = ws.find(T, "five")
    assert (T, line, col, "KX103") in ws.check()


def test_impossible_date_is_KX103_at_the_value_not_a_traceback(ws):
    f = "rules/fees.yaml"
    ws.replace(f, "{from: 2024-01-01, to: null}", "{from: 2024-13-01, to: null}")
    line, col = ws.find(f, "2024-13-01")
    assert ws.check() == {(f, line, col, "KX103")}
    assert ws.messages("KX103") == ["value '2024-13-01' cannot be read: month must be in 1..12"]


def test_yaml_file_with_a_byte_order_mark_loads(ws):
    ws.path(T).write_bytes(b"\xef\xbb\xbf" + ws.path(T).read_bytes())
    assert ws.check() == set()


def test_python_tag_is_refused_KX005(ws):
    ws.replace(T, "capacity: 5", "capacity: !!python/object/apply:os.system [echo pwned]")
    line, col = ws.find(T, "!!python")
    assert (T, line, col, "KX005") in ws.check()


def test_custom_local_tag_is_refused_KX005(ws):
    ws.replace(T, "capacity: 5", "capacity: !env KIWOOM_CAPACITY")
    line, col = ws.find(T, "!env")
    assert (T, line, col, "KX005") in ws.check()


def test_alias_bomb_is_a_diagnostic(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(yaml_loader, "MAX_NODES", 5_000)      # the real limit is 200,000 nodes
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 8):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    p = tmp_path / "bomb.yaml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    diags = Diagnostics(tmp_path)
    assert load_yaml(p, diags) is None
    assert [d.code for d in diags.items] == ["KX002"]
    assert "alias" in diags.items[0].message
    assert "5000 nodes" in diags.items[0].message


def test_file_that_is_not_utf8_is_KX001(ws):
    ws.path("rules/edge.yaml").write_bytes(b"\xff\xfe rules: []\n")
    assert ("rules/edge.yaml", 0, 0, "KX001") in ws.check()


def test_loader_keeps_key_and_value_positions(tmp_path: Path):
    p = tmp_path / "x.yaml"
    p.write_text("top:\n  list:\n    - {a: 1, b: two}\n    - three\n", encoding="utf-8")
    doc = load_yaml(p, Diagnostics(tmp_path))
    assert doc is not None
    assert doc.data == {"top": {"list": [{"a": 1, "b": "two"}, "three"]}}
    assert type(doc.data["top"]) is dict and type(doc.data["top"]["list"]) is list
    assert (doc.key_positions[("top", "list")].line, doc.key_positions[("top", "list")].col) == (2, 3)
    pos = doc.position(("top", "list", 0, "b"))
    assert (pos.line, pos.col) == (3, 17)
    pos = doc.position(("top", "list", 1))
    assert (pos.line, pos.col) == (4, 7)
    # an unknown location falls back to its nearest located ancestor
    pos = doc.position(("top", "list", 0, "nope"))
    assert (pos.line, pos.col) == (3, 7)


# --- schema --------------------------------------------------------------------------------

def test_misspelt_key_is_KX101_at_the_key_with_did_you_mean(ws):
    ws.replace(T, "capacity: 5", "capacty: 5")
    line, col = ws.find(T, "capacty")
    assert (T, line, col, "KX101") in ws.check()
    assert any("did you mean 'capacity'" in m for m in ws.messages("KX101"))


def test_unknown_top_level_key_is_KX101(ws):
    ws.append("rules/risk.yaml", "max_daily_loss: 1000\n")
    line, col = ws.find("rules/risk.yaml", "max_daily_loss:")
    assert ("rules/risk.yaml", line, col, "KX101") in ws.check()
    assert "did you mean 'max_daily_loss_krw'" in ws.messages("KX101")[0]


def test_missing_required_top_level_key_is_KX102_at_the_document(ws):
    ws.replace(T, "orders:", "ordersx:")
    found = ws.check()
    assert (T, 1, 1, "KX102") in found
    assert ws.messages("KX102") == ["missing required key 'orders'"]


def test_missing_nested_key_is_KX102_at_its_parent(ws):
    m = "rules/pair_machine.yaml"
    ws.replace(m, "timer: {after_ms: 50, trigger: stale}", "timer: {after_ms: 50}")
    line, col = ws.find(m, "{after_ms: 50}")
    assert (m, line, col, "KX102") in ws.check()
    assert ws.messages("KX102") == ["missing required key 'states.0.timer.trigger'"]


def test_wrong_type_is_KX103_at_the_value(ws):
    ws.replace(T, "capacity: 5", "capacity: [5]")
    line, col = ws.find(T, "[5]")
    assert (T, line, col, "KX103") in ws.check()


def test_out_of_range_is_KX104_at_the_value(ws):
    ws.replace(T, "capacity: 5", "capacity: 0")
    line, col = ws.find(T, "0", after="capacity: ")
    assert (T, line, col, "KX104") in ws.check()


def test_value_not_in_allowed_set_is_KX104(ws):
    ws.replace("rules/risk.yaml", "inventory: none", "inventory: borrowed")
    line, col = ws.find("rules/risk.yaml", "borrowed")
    assert ("rules/risk.yaml", line, col, "KX104") in ws.check()


def test_time_of_day_out_of_range_is_KX104_with_the_value_in_the_message(ws):
    s = "sessions/sessions.yaml"
    ws.replace(s, 'start: "09:00:32"', 'start: "25:00:32"')
    line, col = ws.find(s, '"25:00:32"')
    assert (s, line, col, "KX104") in ws.check()
    assert ws.messages("KX104") == ["guard.start: time of day '25:00:32' is not a valid time"]


def test_time_of_day_unparsable_is_KX103(ws):
    s = "sessions/sessions.yaml"
    ws.replace(s, 'end: "15:19:50"', 'end: "3pm"')
    line, col = ws.find(s, '"3pm"')
    assert (s, line, col, "KX103") in ws.check()
    assert ws.messages("KX103") == ["guard.end: time of day must be \"HH:MM:SS\", got '3pm'"]


def test_error_inside_a_list_item_is_located_at_the_item(ws):
    f = "rules/fees.yaml"
    ws.replace(f, "sides: [buy, sell]", "sides: [buy, hold]")
    line, col = ws.find(f, "hold")
    assert (f, line, col, "KX104") in ws.check()


def test_empty_file_reports_missing_keys_not_a_traceback(ws):
    ws.write("rules/edge.yaml", "")
    assert ("rules/edge.yaml", 1, 1, "KX102") in ws.check()


def test_document_that_is_a_list_is_KX103(ws):
    ws.write("rules/edge.yaml", "- a\n- b\n")
    assert ("rules/edge.yaml", 1, 1, "KX103") in ws.check()


def test_file_owned_by_another_package_is_schema_checked_too(ws):
    v = "config/venues/kiwoom.yaml"
    ws.replace(v, "cancel_hoga:", "cancel_hoga_code:")
    line, col = ws.find(v, "cancel_hoga_code")
    assert (v, line, col, "KX101") in ws.check()
