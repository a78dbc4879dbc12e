"""Rule expressions (KX801-KX804) located in every YAML scalar style, and economics (KX805, KX806)."""
from __future__ import annotations

import pytest

E = "rules/edge.yaml"
RULE = "    when: net_edge_ticks >= edge_buffer_ticks\n"
TYPO = "edge_bufer_ticks"


def _only(ws, code):
    found = ws.check()
    assert {c for *_, c in found} == {code}, [d.format() for d in ws.diags.items]
    return found


# --- positions in every scalar style: the typo is reported where it stands in the file --------

@pytest.mark.parametrize("style, text", [
    ("plain", f"    when: net_edge_ticks >= {TYPO}\n"),
    ("single-quoted", f"    when: 'net_edge_ticks >= {TYPO}'\n"),
    ("double-quoted", f'    when: "net_edge_ticks >= {TYPO}"\n'),
    ("plain over two lines", f"    when: net_edge_ticks >= 1 and\n      net_edge_ticks >= {TYPO}\n"),
    ("plain with a blank line", f"    when: net_edge_ticks >= 1 and\n\n      net_edge_ticks >= {TYPO}\n"),
    ("double-quoted over two lines", f'    when: "net_edge_ticks >= 1 and\n      net_edge_ticks >= {TYPO}"\n'),
    ("folded block", f"    when: >\n      net_edge_ticks >= 1 and\n      net_edge_ticks >= {TYPO}\n"),
    ("folded block, strip", f"    when: >-\n      net_edge_ticks >= 1 and\n      net_edge_ticks >= {TYPO}\n"),
    ("folded block with a blank line", f"    when: >\n      net_edge_ticks >= 1 and\n\n      net_edge_ticks >= {TYPO}\n"),
    ("literal block", f"    when: |\n      net_edge_ticks >= 1 and\n      net_edge_ticks >= {TYPO}\n"),
    ("literal block, more indented", f"    when: |\n      net_edge_ticks >= 1 and\n          net_edge_ticks >= {TYPO}\n"),
    ("literal block, keep", f"    when: |+\n      (net_edge_ticks >= 1) and\n      ({TYPO} <= net_edge_ticks)\n"),
])
def test_unknown_name_is_KX802_at_its_position_in_the_file(ws, style, text):
    ws.replace(E, RULE, text)
    line, col = ws.find(E, TYPO)
    assert _only(ws, "KX802") == {(E, line, col, "KX802")}, style
    assert ws.messages("KX802") == [
        f"rule 'net_edge_covers_costs_and_buffer': unknown name '{TYPO}'; did you mean 'edge_buffer_ticks'?"]


def test_unknown_name_in_a_flow_mapping_rule(ws):
    ws.replace(E, "  - name: visible_size_covers_slice\n    when: min(buy_ask_qty, sell_bid_qty) >= max(slice_qty, min_visible_qty)\n",
               "  - {name: visible_size_covers_slice, when: \"min(buy_ask_qty, sell_bid_qty) >= max(slice_qty, min_visble_qty)\"}\n")
    line, col = ws.find(E, "min_visble_qty")
    assert _only(ws, "KX802") == {(E, line, col, "KX802")}
    assert "did you mean 'min_visible_qty'" in ws.messages("KX802")[0]


def test_syntax_error_is_KX801_at_the_offending_token(ws):
    ws.replace(E, RULE, "    when: net_edge_ticks >= >= 1\n")
    line, col = ws.find(E, ">= 1", after="when: net_edge_ticks ")
    assert _only(ws, "KX801") == {(E, line, col, "KX801")}


def test_unbalanced_parenthesis_in_a_block_is_KX801(ws):
    ws.replace(E, RULE, "    when: >\n      (net_edge_ticks >= 1 and\n      net_edge_ticks >= edge_buffer_ticks\n")
    found = _only(ws, "KX801")
    ((path, line, _, _),) = found
    assert path == E and ws.find(E, "(net_edge_ticks")[0] <= line <= ws.find(E, "edge_buffer_ticks\n")[0] + 1


def test_forbidden_call_is_KX803(ws):
    ws.replace(E, RULE, "    when: __import__('os').system('true') == 0\n")
    line, col = ws.find(E, "__import__")
    found = _only(ws, "KX803")
    assert {(p, ln) for p, ln, _, _ in found} == {(E, line)}
    ((_, _, c, _),) = found
    assert col <= c < col + len("__import__('os').system('true')")


def test_attribute_access_is_KX803(ws):
    ws.replace(E, RULE, "    when: net_edge_ticks.__class__ == 1\n")
    line, col = ws.find(E, "net_edge_ticks.__class__")
    found = _only(ws, "KX803")
    ((_, ln, c, _),) = found
    assert ln == line and col <= c <= col + len("net_edge_ticks.__class__")


def test_numeric_rule_is_KX804(ws):
    ws.replace(E, RULE, "    when: net_edge_ticks - edge_buffer_ticks\n")
    line, col = ws.find(E, "net_edge_ticks - edge_buffer_ticks")
    assert _only(ws, "KX804") == {(E, line, col, "KX804")}
    assert "does not yield a boolean" in ws.messages("KX804")[0]


def test_every_rule_is_checked_not_only_the_first(ws):
    ws.replace(E, RULE, f"    when: net_edge_ticks >= {TYPO}\n")
    ws.replace(E, "min_visible_qty)\n", "min_visble_qty)\n")
    found = _only(ws, "KX802")
    assert {(ln, c) for _, ln, c, _ in found} == {ws.find(E, TYPO), ws.find(E, "min_visble_qty")}


def test_rules_compile_to_kernels_for_the_engine(ws):
    ws.check()
    assert ws.result.kernels is not None and len(ws.result.kernels) == 2


# --- economics ---------------------------------------------------------------------------

def test_rule_that_forgets_costs_is_a_KX805_warning(ws):
    # admits any edge of one tick: 005930 at 239,500 loses ₩55 on a 1-tick edge (cost ₩555)
    ws.replace(E, RULE, "    when: gross_edge_krw >= tick * edge_buffer_ticks\n")
    line, col = ws.find(E, "rules:")
    found = ws.check()
    assert found == {(E, line, col, "KX805")}
    assert not ws.diags.errors
    msg = ws.messages("KX805")[0]
    assert "including the sell tax" in msg
    row = next(r for r in ws.result.economics.rows if r.code == "005930")
    assert (row.rule_min_ticks, row.rule_net_krw, row.break_even_ticks) == (1, -55, 2)


def test_rule_that_forgets_the_tax_is_a_KX805_warning(ws):
    # fees only (no tax): cost at 1 tick for 005930 is 30 + 8 + 30 + 7 = 75 < 500
    ws.replace(E, RULE, "    when: gross_edge_krw - 100 >= tick * edge_buffer_ticks * 0\n")
    line, col = ws.find(E, "rules:")
    assert (E, line, col, "KX805") in ws.check()


def test_rule_that_never_admits_a_trade_is_a_KX806_warning(ws):
    ws.replace(E, RULE, "    when: net_edge_ticks >= 100\n")
    line, col = ws.find(E, "rules:")
    assert ws.check() == {(E, line, col, "KX806")}
    assert "50 symbols" in ws.messages("KX806")[0]
    assert all(r.rule_min_ticks is None for r in ws.result.economics.rows)


def test_no_economics_when_there_are_errors(ws):
    ws.replace("rules/throttle.yaml", "reserve_for_hedge: 2", "reserve_for_hedge: 5")
    ws.check()
    assert ws.result.economics is None
