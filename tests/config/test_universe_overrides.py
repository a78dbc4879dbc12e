"""Universe CSV (KX006, KX601-KX603, KX606, KX607) and per-symbol overrides (KX604, KX605)."""
from __future__ import annotations

from pathlib import Path

from kxrules.config.diagnostics import Diagnostics
from kxrules.config.universe import load_universe

U = "config/universe/pilot.csv"
O = "config/overrides/pilot.yaml"


def _line_of(ws, needle):
    return ws.find(U, needle)[0]


def test_shipped_universe_loads_with_crlf_line_endings_and_korean_names(ws):
    assert b"\r\n" in ws.path(U).read_bytes()
    diags = Diagnostics(ws.root)
    symbols = load_universe(ws.path(U), diags)
    assert not diags.items
    assert len(symbols) == 50
    s = next(s for s in symbols if s.code == "005930")
    assert (s.name, s.market, s.ref_price, s.line) == ("삼성전자", "KOSPI", 239_500, _line_of(ws, "005930"))


def test_universe_saved_with_a_byte_order_mark_loads(ws):
    ws.write(U, "\ufeffcode,name,market,ref_price\r\n005930,삼성전자,KOSPI,239500\r\n")
    ws.write(O, "symbols: {}\n")
    assert ws.check() == set()
    assert [s.code for s in ws.loaded.universe] == ["005930"]


def test_short_code_is_KX601(ws):
    ws.replace(U, "005930,", "5930,")
    line = _line_of(ws, "5930,")
    assert (U, line, 1, "KX601") in ws.check()


def test_lowercase_code_is_KX601(ws):
    ws.replace(U, "005930,", "00593a,")
    assert (U, _line_of(ws, "00593a"), 1, "KX601") in ws.check()


def test_alphanumeric_code_is_accepted(ws):
    ws.replace(U, "005930,", "0126Z0,")
    ws.replace(O, '"005930":', '"0126Z0":')
    assert ws.check() == set()


def test_code_listed_twice_is_KX602_at_the_second_line(ws):
    ws.replace(U, "005930,삼성전자", "000660,삼성전자")
    first = _line_of(ws, "000660")
    second = ws.find(U, "000660", nth=2)[0]
    assert (U, second, 1, "KX602") in ws.check()
    assert ws.messages("KX602") == [f"code 000660 already listed on line {first}"]


def test_unknown_market_is_KX603_at_the_market_column(ws):
    ws.replace(U, ",KOSPI,239500", ",KONEX,239500")
    line, col = ws.find(U, "KONEX")
    assert (U, line, col, "KX603") in ws.check()


def test_ref_price_off_the_tick_grid_is_KX606(ws):
    ws.replace(U, ",KOSPI,239500", ",KOSPI,239510")       # tick 500 at this price
    line, col = ws.find(U, "239510")
    assert (U, line, col, "KX606") in ws.check()
    assert "tick 500" in ws.messages("KX606")[0]


def test_ref_price_at_a_band_edge_must_use_the_upper_band_tick(ws):
    ws.replace(U, ",KOSPI,239500", ",KOSPI,200100")       # 200,000 and up: tick 500
    line, col = ws.find(U, "200100")
    assert (U, line, col, "KX606") in ws.check()


def test_negative_ref_price_is_KX606(ws):
    ws.replace(U, ",KOSPI,239500", ",KOSPI,-500")
    line, col = ws.find(U, "-500")
    assert (U, line, col, "KX606") in ws.check()


def test_non_numeric_ref_price_is_KX103(ws):
    ws.replace(U, ",KOSPI,239500", ",KOSPI,2395OO")
    line, col = ws.find(U, "2395OO")
    assert (U, line, col, "KX103") in ws.check()


def test_wrong_header_is_KX006_at_the_header_line(ws):
    ws.replace(U, "code,name,market,ref_price", "code,name,market,price")
    line, _ = ws.find(U, "code,name,market,price")
    assert ws.check() == {(U, line, 1, "KX006")}


def test_row_with_a_missing_field_is_KX006(ws):
    ws.replace(U, ",KOSPI,239500", ",KOSPI")
    line = _line_of(ws, "005930")
    assert (U, line, 1, "KX006") in ws.check()
    assert ws.messages("KX006") == ["expected 4 fields, found 3"]


def test_file_with_only_comments_is_KX006(ws):
    ws.write(U, "# nothing here\n")
    assert (U, 0, 0, "KX006") in ws.check()


def test_empty_universe_is_a_KX607_warning(ws):
    ws.write(U, "code,name,market,ref_price\n")
    ws.write(O, "symbols: {}\n")
    assert ws.check() == {(U, 0, 0, "KX607")}


def test_universe_that_is_not_utf8_is_KX006(tmp_path: Path):
    p = tmp_path / "u.csv"
    p.write_bytes("code,name,market,ref_price\n005930,삼성전자,KOSPI,239500\n".encode("cp949"))
    diags = Diagnostics(tmp_path)
    assert load_universe(p, diags) is None
    assert [d.code for d in diags.items] == ["KX006"]


def test_column_positions_count_characters_not_bytes(tmp_path: Path):
    p = tmp_path / "u.csv"
    p.write_text("code,name,market,ref_price\n005930,삼성전자,KOSPII,239500\n", encoding="utf-8")
    diags = Diagnostics(tmp_path)
    load_universe(p, diags)
    (d,) = diags.items
    assert (d.code, d.position.line, d.position.col) == ("KX603", 2, len("005930,삼성전자,") + 1)


# --- overrides -----------------------------------------------------------------------------

def test_override_for_a_symbol_not_in_the_universe_is_KX604_at_the_key(ws):
    ws.replace(O, '"035420":', '"999999":')
    line, col = ws.find(O, '"999999"')
    assert ws.check() == {(O, line, col, "KX604")}


def test_override_naming_an_unknown_parameter_is_KX605_with_did_you_mean(ws):
    ws.replace(O, "    t_hedge_ms: 800", "    t_hedge_ms: 800\n    edge_bufer_ticks: 1")
    line, col = ws.find(O, "edge_bufer_ticks")
    assert ws.check() == {(O, line, col, "KX605")}
    assert ws.messages("KX605") == ["005930: unknown parameter 'edge_bufer_ticks'; did you mean 'edge_buffer_ticks'?"]


def test_override_naming_a_nonsense_parameter_lists_the_known_ones(ws):
    ws.replace(O, "    t_hedge_ms: 800", "    t_hedge_ms: 800\n    zzz: 1")
    line, col = ws.find(O, "zzz")
    assert ws.check() == {(O, line, col, "KX605")}
    assert "known: slice_qty, edge_buffer_ticks" in ws.messages("KX605")[0]


def test_override_value_out_of_range_is_KX104_at_the_value(ws):
    ws.replace(O, "t_hedge_ms: 800", "t_hedge_ms: 10")
    line, col = ws.find(O, "10", after="t_hedge_ms: ")
    assert ws.check() == {(O, line, col, "KX104")}


def test_override_value_that_is_not_a_number_is_KX103(ws):
    ws.replace(O, "min_visible_qty: 5", "min_visible_qty: many")
    line, col = ws.find(O, "many")
    assert (O, line, col, "KX103") in ws.check()


def test_overrides_change_the_economics_of_their_symbol(ws):
    ws.replace(O, "edge_buffer_ticks: 2", "edge_buffer_ticks: 3")
    ws.check()
    row = next(r for r in ws.result.economics.rows if r.code == "000660")
    assert row.rule_min_ticks == 7          # one tick more than with a buffer of 2
