"""String parsing: signed prices, "-0", empty strings and junk are counted and dropped."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.broker import KiwoomAdapter
from kxrules.broker.parsing import (hhmmss, norm_order_no, parse_chejan_order,
                                    parse_price, parse_qty, session_venue, strip_code)
from kxrules.clock import VirtualClock
from kxrules.seoul import parse_hms

from .fakes import ScriptedOcx
from .helpers import VENUES, Recorder, kst


@pytest.mark.parametrize("s,v", [("+6500", 6500), ("-425000", 425000), ("6500", 6500),
                                 ("-0", 0), ("0", 0), (" 0", 0), ("+0", 0)])
def test_signed_prices(s, v):
    assert parse_price(s) == v


@pytest.mark.parametrize("s", ["", " ", "abc", "1_000", "12.5", "--1", "+-3", "1e3"])
def test_junk_prices_raise_value_error(s):
    with pytest.raises(ValueError):
        parse_price(s)


def test_quantities_are_unsigned():
    assert parse_qty("273") == 273
    with pytest.raises(ValueError):
        parse_qty("-5")


def test_codes_order_numbers_and_times():
    assert strip_code("A005930") == "005930"
    assert strip_code(" 005930 ") == "005930"
    assert strip_code("0001A0") == "0001A0"
    assert norm_order_no("0008048") == "8048"
    assert norm_order_no("0000000") == "" and norm_order_no("  ") == ""
    with pytest.raises(ValueError):
        norm_order_no("12a")
    assert hhmmss(kst("15:33:05")) == "153305"
    assert parse_hms("09:00:30") == 9 * 3600 + 30
    with pytest.raises(ValueError):
        parse_hms("25:00:00")
    assert [session_venue(c) for c in "03PQRSTUVW"] == ["KRX", "KRX"] + ["NXT"] * 8
    assert session_venue("s") == "KRX"  # lower-case s/e are KRX derivative codes


def test_chejan_order_parse_rejects_junk():
    with pytest.raises(ValueError):
        parse_chejan_order(lambda fid: "")
    vals = {9203: "0000012", 913: "체결", 907: "2", 9001: "A005930", 900: "x"}
    with pytest.raises(ValueError):
        parse_chejan_order(lambda fid: vals.get(fid, ""))


def _rig():
    clock = VirtualClock(kst("10:00:00"))
    ocx = ScriptedOcx()
    rec = Recorder()
    ad = KiwoomAdapter(ocx, VENUES, clock, rec, ["005930"])
    ad.connect()
    ocx.login(0)
    return ocx, ad, rec


def test_adapter_counts_and_drops_bad_quotes_never_raises():
    ocx, ad, rec = _rig()
    good = {"41": "+70100", "51": "-70000", "61": "5", "71": "7"}
    ocx.real("005930", "주식호가잔량", good)
    ocx.real("005930_NX", "주식호가잔량", {**good, "41": "-0"})  # empty ask side
    ocx.real("005930", "주식호가잔량", {**good, "51": ""})
    ocx.real("005930", "주식호가잔량", {**good, "61": "abc"})
    ocx.real("005930", "주식호가잔량", {**good, "71": "-3"})
    ocx.real("005930", "주식호가잔량", {**good, "41": "7_0100"})
    ocx.real("999999", "주식호가잔량", good)
    ocx.real("005930", "주식체결", {"10": "junk", "15": "+1"})
    ocx.real("", "장시작시간", {"215": "", "20": "090000"})
    ocx.real("005930", "VI발동/해제", {"9001": "005930", "9068": "9"})
    ocx.real("005930", "알수없는타입", {})
    ocx.chejan("0", {"913": "체결"})
    ocx.chejan("1", {"930": "1"})
    ocx.chejan("3", {})
    assert [q[:6] for q in rec.quotes] == [(0, 0, 70000, 70100, 7, 5), (0, 1, 70000, 0, 7, 5)]
    c = ad.counters
    assert (c["quote_empty"], c["quote_junk"], c["real_unknown_code"]) == (1, 3, 1)
    assert (c["trade_junk"], c["session_junk"], c["vi_junk"]) == (1, 1, 1)
    assert (c["chejan_junk"], c["balance_junk"], c["chejan_other_gubun"]) == (1, 1, 1)
    assert ad.dropped_junk == 9


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["41", "51", "61", "71", "215", "9068", "9001", "10",
                                        "15"]),
                       st.text(max_size=8), max_size=9),
       st.sampled_from(["주식호가잔량", "주식체결", "장시작시간", "VI발동/해제"]))
def test_arbitrary_strings_never_crash_the_adapter(values, rtype):
    ocx, ad, rec = _rig()
    ocx.real("005930", rtype, values)
    ocx.chejan("0", {k: v for k, v in values.items()})
    ocx.chejan("1", {k: v for k, v in values.items()})


def test_trade_ticks_are_registered_only_for_a_listener_that_reads_them():
    class QuotesOnly:
        def __getattr__(self, name):              # every listener method but on_trade
            if name == "on_trade":
                raise AttributeError(name)
            return lambda *a, **k: None
    registered = {}
    for label, listener in (("quotes only", QuotesOnly()), ("with trades", Recorder())):
        ocx = ScriptedOcx()
        ad = KiwoomAdapter(ocx, VENUES, VirtualClock(kst("10:00:00")), listener, ["005930"])
        ad.connect()
        ocx.login(0)
        ad.subscribe_quotes()
        registered[label] = {f for screen, codes, fids, _ in ocx.realreg if codes for f in fids.split(";")}
    trade_only = {str(f) for f in VENUES.real_fids.trade} - {str(f) for f in VENUES.real_fids.quote}
    assert trade_only and not trade_only & registered["quotes only"]
    assert trade_only <= registered["with trades"]
