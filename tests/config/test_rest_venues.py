"""The REST venue map (files.rest_venues) is validated like every workspace file, with positions."""
from __future__ import annotations

R = "config/venues/kiwoom_rest.yaml"


def test_the_shipped_rest_venue_map_is_clean(ws):
    assert ws.check() == set()


def test_an_unknown_order_style_in_the_rest_venue_map_is_reported_where_it_is(ws):
    ws.replace(R, 'mid: "29"', 'midpoint: "29"')
    line, _ = ws.find(R, "midpoint")
    found = ws.check()
    assert found and all(path == R and ln == line for path, ln, _, _ in found)


def test_a_venue_code_other_than_krx_nxt_sor_is_an_error(ws):
    ws.replace(R, "dmst_stex_tp: NXT", "dmst_stex_tp: NXTX")
    line, _ = ws.find(R, "NXTX")
    assert {(p, ln) for p, ln, _, _ in ws.check()} == {(R, line)}
