"""Adapter conformance: the same scenario against the emulator in several event orders and seeds
gives the same engine-level outcome (per-order event kinds, fills, fees, cancels, balances)."""
from __future__ import annotations

import pytest

from kxrules.broker.events import CancelIntent, OrderAck, OrderIntent

from .helpers import kst, make_config, make_rig

LATENCY = {  # the shipped profile's shapes
    "tr_ack": {"dist": "lognormal", "median_ms": 25, "p99_ms": 120},
    "accept": {"dist": "lognormal", "median_ms": 30, "p99_ms": 150},
    "match": {"dist": "lognormal", "median_ms": 8, "p99_ms": 40},
    "fill": {"dist": "lognormal", "median_ms": 12, "p99_ms": 60},
    "cancel": {"dist": "lognormal", "median_ms": 35, "p99_ms": 160},
    "real_data": {"dist": "lognormal", "median_ms": 15, "p99_ms": 80},
}

VARIANTS = {
    "baseline": {},
    "msg_before_tr": {"reorder": {"msg_before_tr": 1.0}},
    "chejan_before_tr": {"reorder": {"chejan_before_tr": 1.0}},
    "balance_before_fill": {"reorder": {"balance_before_fill": 1.0}},
    "duplicate_fill": {"duplicate_chejan_rate": 1.0},
    "late_ack_after_timeout": {"tr_ack_late_rate": 1.0, "tr_ack_late_ms": 450},
    "late_chejan": {"chejan_late_rate": 0.5, "chejan_late_ms": 120},
    "everything_at_once": {"reorder": {"msg_before_tr": 0.5, "chejan_before_tr": 0.5,
                                       "balance_before_fill": 0.5},
                           "duplicate_chejan_rate": 0.5, "tr_ack_late_rate": 0.5,
                           "tr_ack_late_ms": 450},
}


def run_scenario(faults: dict, seed: int):
    cfg = make_config(seed=seed, holdings={"005930": 20}, latency_ms=LATENCY,
                      fill_odds={"take_full": 1.0, "mid_fill_rate_per_s": 1e6}, faults=faults)
    rig = make_rig(cfg)
    ad, at = rig.adapter, (lambda hms: rig.run(kst(hms)))
    at("10:00:01")
    rig.quote(0, 0, 69900, 70000, 100, 50)
    rig.quote(0, 1, 69900, 70100, 30, 40)
    rig.quote(1, 0, 199500, 200000, 10, 10)
    rig.quote(1, 1, 199500, 200500, 10, 10)
    at("10:00:02")
    sends = [OrderIntent("A", "005930", "KRX", "buy", 60, "ioc_limit", 70000),
             OrderIntent("B", "005930", "NXT", "sell", 5, "limit", 70200),
             OrderIntent("C", "000660", "NXT", "buy", 2, "mid", 0),
             OrderIntent("D", "000660", "KRX", "sell", 1, "limit", 200000),
             OrderIntent("E", "000660", "KRX", "buy", 3, "limit", 199000)]
    assert [ad.send(i) for i in sends] == [0] * 5
    at("10:00:03")
    rig.quote(0, 1, 70200, 70300, 10, 10)
    rig.quote(1, 1, 199500, 200500, 10, 10)
    at("10:00:04")
    assert ad.cancel(CancelIntent("F", "E", "000660", "KRX", "buy", 0)) == 0
    at("10:00:05")
    assert ad.send(OrderIntent("G", "005930", "KRX", "sell", 10, "market", 0)) == 0
    at("10:00:10")
    rec = rig.rec
    kinds = {cid: rec.kinds(cid) for cid in "ABCDEFG"}
    acct = rig.emu.server.account.snapshot()
    return rec.outcome(), kinds, rec.last_balance(), acct, rig


def _engine_view(result):
    outcome, kinds, balances, acct, _ = result
    return outcome, kinds, balances, acct


@pytest.fixture(scope="module")
def reference():
    return run_scenario({}, 1)


def test_reference_outcome_is_what_the_market_allowed(reference):
    outcome, kinds, balances, acct, rig = reference
    assert outcome["A"] == ("cancelled", 50, 3_500_000, 520, 0, 10)
    assert outcome["B"] == ("filled", 5, 351_000, 50, 702, 0)
    assert outcome["C"] == ("filled", 2, 400_000, 60, 0, 0)
    assert outcome["D"][0] == "rejected:tr"
    assert outcome["E"] == ("cancelled", 0, 0, 0, 0, 3)
    assert outcome["G"] == ("filled", 10, 699_000, 100, 1398, 0)
    assert kinds["A"] == ["OrderAck", "OrderAccepted", "OrderFilled", "OrderCancelled"]
    assert kinds["F"] == ["OrderAck"]
    assert balances == {"005930": (55, 55, 70000), "000660": (2, 2, 200000)}
    assert acct["reserved_cash"] == 0


@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_same_outcome_in_every_event_order(reference, variant, seed):
    assert _engine_view(run_scenario(VARIANTS[variant], seed)) == _engine_view(reference)


def test_the_late_ack_really_came_after_the_engine_timeout():
    *_, rig = run_scenario(VARIANTS["late_ack_after_timeout"], 4)
    acks = [e for e in rig.rec.orders if isinstance(e, OrderAck) and e.client_id == "D"]
    assert acks == []  # D was refused: its late, empty ack became the reject, with the message
    rej = rig.rec.of("D")[0]
    assert rej.ts_ns - kst("10:00:02") > 400_000_000 and "매도가능수량" in rej.message
    assert rig.adapter.counters["tr_duplicate"] >= 4  # late acks of orders mapped from Chejan


def test_dropped_acks_still_end_every_accepted_order():
    outcome, kinds, balances, acct, rig = run_scenario({"tr_ack_drop_rate": 1.0}, 5)
    ref_outcome, _, ref_bal, ref_acct, _ = run_scenario({}, 5)
    assert balances == ref_bal and acct == ref_acct
    # the broker-refused sell has no ack and no message: only the engine's ack timeout ends it
    assert "D" not in outcome
    assert {k: v for k, v in outcome.items() if k != "D"} == \
        {k: v for k, v in ref_outcome.items() if k != "D"}
    assert rig.adapter.counters["chejan_before_ack"] >= 5


def test_same_seed_same_event_stream():
    def stream(seed):
        *_, rig = run_scenario(VARIANTS["everything_at_once"], seed)
        return ([(type(e).__name__, e.client_id, e.ts_ns) for e in rig.rec.orders],
                [(b.code, b.holding_qty, b.ts_ns) for b in rig.rec.balances], rig.rec.quotes)

    assert stream(11) == stream(11)
    assert stream(11) != stream(12)
