"""Any arrival order of one recorded emulator session's Msg / TrData / Chejan (with duplicates)
gives the same per-order totals: filled qty, notional, fees, tax, cancelled qty, rejects."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.broker import KiwoomAdapter
from kxrules.broker.events import (CancelIntent, OrderCancelled, OrderFilled, OrderIntent,
                                   OrderRejected)
from kxrules.clock import VirtualClock

from .fakes import ScriptedOcx
from .helpers import MS, VENUES, Recorder, kst, make_config, make_rig

INTENTS = [OrderIntent("A", "005930", "KRX", "buy", 60, "ioc_limit", 70000),
           OrderIntent("B", "005930", "NXT", "sell", 5, "limit", 70200),
           OrderIntent("D", "000660", "KRX", "sell", 1, "limit", 200000),
           OrderIntent("E", "000660", "KRX", "buy", 3, "limit", 199000)]
CANCEL = CancelIntent("F", "E", "000660", "KRX", "buy", 0)


def _record_session():
    rig = make_rig(make_config(holdings={"005930": 20}))
    emu, events = rig.emu, []
    emu.OnReceiveTrData.connect(lambda scr, rq, tr, *a: events.append(
        ("tr", rq, emu.GetCommData(tr, rq, 0, "주문번호"))))
    emu.OnReceiveMsg.connect(lambda scr, rq, tr, msg: events.append(("msg", rq, msg)))
    emu.OnReceiveChejanData.connect(lambda g, n, fl: events.append(
        ("chejan", g, {f: emu.GetChejanData(int(f)) for f in fl.split(";")})))
    rig.quote(0, 0, 69900, 70000, 100, 50)
    rig.quote(0, 1, 69900, 70100, 30, 40)
    rig.quote(1, 0, 199500, 200000, 10, 10)
    for i in INTENTS:
        rig.adapter.send(i)
    rig.run_ms(1000)
    rig.quote(0, 1, 70200, 70300, 10, 10)
    rig.run_ms(1000)
    rig.adapter.cancel(CANCEL)
    rig.run_ms(1000)
    return events, totals(rig.rec)


def totals(rec: Recorder) -> dict[str, tuple]:
    out: dict[str, list] = {}
    for e in rec.orders:
        o = out.setdefault(e.client_id, [0, 0, 0, 0, 0, None])
        if isinstance(e, OrderFilled):
            o[0] += e.qty
            o[1] += e.qty * e.price
            o[2] += e.fee
            o[3] += e.tax
        elif isinstance(e, OrderCancelled):
            o[4] += e.cancelled_qty
        elif isinstance(e, OrderRejected):
            o[5] = (e.stage, e.message)
    return {k: tuple(v) for k, v in out.items()}


EVENTS, EXPECTED = _record_session()


def _replay(events) -> dict[str, tuple]:
    clock = VirtualClock(kst("10:00:00"))
    ocx = ScriptedOcx()
    rec = Recorder()
    ad = KiwoomAdapter(ocx, VENUES, clock, rec, ["005930", "000660"])
    ad.connect()
    ocx.login(0)
    for i in INTENTS:
        ad.send(i)
    ad.orders.by_client["E"].order_no = "0"  # let the cancel go out before E's ack is replayed
    ad.cancel(CANCEL)
    ad.orders.by_client["E"].order_no = ""
    for kind, a, b in events:
        if kind == "tr":
            ocx.tr(a, b)
        elif kind == "msg":
            ocx.msg(a, b)
        else:
            ocx.chejan(a, b)
    clock.run_until(clock.now_ns() + 100 * MS)
    return totals(rec)


def test_recorded_session_replays_to_the_same_totals():
    assert EXPECTED["A"][:5] == (50, 3_500_000, 520, 0, 10)
    assert EXPECTED["D"][5][0] == "tr" and EXPECTED["E"][4] == 3
    assert _replay(EVENTS) == EXPECTED


@settings(max_examples=150, deadline=None)
@given(st.permutations(range(len(EVENTS))), st.lists(st.integers(0, len(EVENTS) - 1),
                                                     max_size=6))
def test_any_arrival_order_with_duplicates(order, dups):
    events = [EVENTS[i] for i in order] + [EVENTS[i] for i in dups]
    assert _replay(events) == EXPECTED
