"""The emulated broker charges the fee schedule each order's style pays (maker for a midpoint
order, which rests; taker for all else), as the engine's own ledger does."""
from __future__ import annotations

from kxrules.broker import KiwoomAdapter
from kxrules.broker.emulator import KiwoomEmulator
from kxrules.broker.events import OrderFilled, OrderIntent
from kxrules.config.diagnostics import Diagnostics
from kxrules.config.schema.money import FeesFile, TaxFile
from kxrules.config.yaml_loader import load_yaml
from kxrules.clock import VirtualClock
from kxrules.money.fees import CostModel
from kxrules.broker.emulator.build import fee_fn_for

from ..conftest import REPO
from .helpers import DAY, VENUES, Recorder, Rig, kst, make_config


def _shipped(name: str, model):
    doc = load_yaml(REPO / "rules" / name, Diagnostics(REPO))
    return model.model_validate(doc.data)


def _rig(cost: CostModel) -> Rig:
    clock = VirtualClock(kst("10:00:00"))
    codes = ["005930", "000660"]
    emu = KiwoomEmulator(make_config(fill_odds={"mid_fill_rate_per_s": 50.0}), clock, codes,
                         {c: "KOSPI" for c in codes}, venues=VENUES,
                         ref_prices={"005930": 70_000, "000660": 200_000}, fee_fn=fee_fn_for(cost))
    rec = Recorder()
    adapter = KiwoomAdapter(emu, VENUES, clock, rec, codes)
    rig = Rig(clock, emu, adapter, rec)
    adapter.connect()
    rig.run_ms(1_000)
    adapter.subscribe_quotes()
    return rig


def test_a_midpoint_fill_pays_the_maker_schedule_and_a_limit_fill_the_taker_one():
    cost = CostModel(_shipped("fees.yaml", FeesFile), _shipped("tax.yaml", TaxFile), DAY.date())
    maker = cost.fee("NXT", "buy", 70_000, 30, "maker")
    taker = cost.fee("NXT", "buy", 70_000, 30, "taker")
    assert maker < taker                      # NXT charges resting orders less
    rig = _rig(cost)
    rig.quote(0, 1, 69_900, 70_100, 100, 100)
    assert rig.adapter.send(OrderIntent("m", "005930", "NXT", "buy", 30, "mid", 0)) == 0
    rig.run_ms(500)
    rig.quote(0, 1, 69_900, 70_100, 100, 100)
    rig.run_ms(500)
    mid_fill = rig.rec.of("m")[-1]
    assert isinstance(mid_fill, OrderFilled) and (mid_fill.price, mid_fill.qty) == (70_000, 30)
    assert mid_fill.fee == maker
    rig.quote(0, 1, 69_900, 70_000, 100, 100)
    assert rig.adapter.send(OrderIntent("t", "005930", "NXT", "buy", 30, "limit", 70_000)) == 0
    rig.run_ms(1_000)
    limit_fill = rig.rec.of("t")[-1]
    assert isinstance(limit_fill, OrderFilled) and (limit_fill.price, limit_fill.qty) == (70_000, 30)
    assert limit_fill.fee == taker
