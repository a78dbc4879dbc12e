"""Venue mapping as data, and sharding of real-time registrations onto screens."""
from __future__ import annotations

import copy

import pytest
from pydantic import ValidationError
from ruamel.yaml import YAML

from kxrules.broker.screens import plan_quote_registrations, plan_session_registrations
from kxrules.broker.venues import VenueMapConfig, default_venue_map_path

from .helpers import VENUES, make_rig


def _data():
    return YAML(typ="safe").load(default_venue_map_path().read_text(encoding="utf-8"))


def test_shipped_venue_map_codes():
    v = VENUES
    assert (v.order_type("KRX", "buy"), v.order_type("KRX", "sell")) == (1, 2)
    assert (v.cancel_type("KRX", "buy"), v.cancel_type("KRX", "sell")) == (3, 4)
    assert (v.order_type("NXT", "buy"), v.order_type("NXT", "sell")) == (21, 22)
    assert v.cancel_type("NXT", "sell") == 23 and v.spec("NXT").order_types.modify_buy == 25
    assert v.spec("SOR").enabled is False and v.spec("SOR").order_types.buy == 11
    assert [v.hoga("NXT", s) for s in ("limit", "market", "ioc_limit", "ioc_market", "mid")] == \
        ["00", "03", "10", "13", "29"]
    assert v.needs_zero_price("NXT", "mid") and v.needs_zero_price("KRX", "market")
    assert not v.needs_zero_price("KRX", "ioc_limit")
    assert v.real_code("005930", "NXT") == "005930_NX"
    assert v.split_real_code("005930_AL") == ("005930", "SOR")
    assert v.decode_order_type(23) == ("NXT", "cancel", "any")
    assert v.quote_venues() == ["KRX", "NXT"]
    ids = {a.id for a in v.assumptions}
    assert {"nxt_order_types", "nx_realtime", "hoga_29"} <= ids
    with pytest.raises(ValueError):
        v.hoga("KRX", "mid")


@pytest.mark.parametrize("mutate,needle", [
    (lambda d: d["venues"]["NXT"].update(real_suffix=""), "real_suffix"),
    (lambda d: d["venues"]["NXT"]["hoga"].update(mid="9"), "two digits"),
    (lambda d: d["screens"].update(order="5101"), "distinct"),
    (lambda d: d["screens"].update(session="0000"), "4 digits"),
    (lambda d: d["venues"]["NXT"]["order_types"].update(buy=1), "nOrderType 1"),
    (lambda d: d["venues"]["KRX"].update(price_zero=["market", "mid"]), "price_zero"),
    (lambda d: d.update(surprise=1), "surprise"),
    (lambda d: d["real_fids"].update(quote=list(range(101))), "quote"),
])
def test_bad_venue_maps_are_refused(mutate, needle):
    d = copy.deepcopy(_data())
    mutate(d)
    with pytest.raises(ValidationError) as e:
        VenueMapConfig.model_validate(d)
    assert needle in str(e.value)


def test_models_are_frozen():
    with pytest.raises(ValidationError):
        VENUES.cancel_hoga = "03"  # type: ignore[misc]


def test_200_codes_on_two_venues_shard_onto_100_code_screens():
    codes = [f"{i:06d}" for i in range(200)]
    plan = plan_quote_registrations(codes, VENUES)
    screens = {}
    for reg in plan:
        assert len(reg.codes) <= 100
        screens.setdefault(reg.screen, []).append(reg)
    assert len(screens) == 4
    for regs in screens.values():
        assert [r.opt for r in regs] == ["0", "1"]  # KRX first replaces, NXT then adds
        assert sum(len(r.codes) for r in regs) == 100
        krx, nxt = regs
        assert all(not c.endswith("_NX") for c in krx.codes)
        assert [c + "_NX" for c in krx.codes] == list(nxt.codes)
    all_codes = [c for r in plan for c in r.codes]
    assert len(all_codes) == len(set(all_codes)) == 400
    sess = plan_session_registrations(VENUES)
    assert sess[0].codes == () and "215" in sess[0].fids_arg and sess[0].opt == "0"


def test_too_few_screens_is_a_clear_error():
    codes = [f"{i:06d}" for i in range(20 * 50 + 1)]
    with pytest.raises(ValueError, match="need 21 screens"):
        plan_quote_registrations(codes, VENUES)


def test_adapter_registers_the_plan_on_the_emulator():
    codes = [f"{i:06d}" for i in range(1, 201)]
    rig = make_rig(codes=codes)
    reg = rig.emu.registered_screens()
    market = {s: r for s, r in reg.items() if s != VENUES.screens.session}
    assert len(market) == 4 and all(len(r) == 100 for r in market.values())
    assert set(reg[VENUES.screens.session]) == {""}
    assert rig.adapter.counters["realreg_failed"] == 0
    assert rig.emu.registered("000001_NX", "주식호가잔량")
    assert rig.emu.registered("000001", "주식체결")
    assert not rig.emu.registered("000001_AL", "주식호가잔량")
