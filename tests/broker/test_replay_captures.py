"""Real captures (re-typed facts) through the adapter: Chejan sequences and the `_NX` book."""
from __future__ import annotations

from kxrules.broker import KiwoomAdapter
from kxrules.broker.events import (OrderAccepted, OrderAck, OrderFilled, OrderIntent)
from kxrules.clock import VirtualClock

from .fakes import ScriptedOcx
from .fixtures.captures import (CHEJAN_227100, HOGA_000020_KRX, HOGA_005380_NX,
                                HOGA_005930_61_71, TRADE_000660)
from .helpers import VENUES, Recorder, kst


def _rig(codes):
    clock = VirtualClock(kst("09:08:00"))
    ocx = ScriptedOcx(account="REDACTED_ACCOUNT")
    rec = Recorder()
    adapter = KiwoomAdapter(ocx, VENUES, clock, rec, codes)
    adapter.connect()
    ocx.login(0)
    return ocx, adapter, rec


def _replay_buy_sell(ocx, adapter, chejan_first: bool):
    adapter.send(OrderIntent("B1", "227100", "KRX", "buy", 1, "market", 0))
    if chejan_first:
        for g, v in CHEJAN_227100[:3]:
            ocx.chejan(g, v)
        ocx.tr("B1", "0008048")
    else:
        ocx.tr("B1", "0008048")
        for g, v in CHEJAN_227100[:3]:
            ocx.chejan(g, v)
    adapter.send(OrderIntent("S1", "227100", "KRX", "sell", 1, "market", 0))
    ocx.tr("S1", "0008477", trcode="KOA_NORMAL_SELL_KQ_ORD")
    for g, v in CHEJAN_227100[3:]:
        ocx.chejan(g, v)


def test_real_chejan_sequence_buy_then_sell():
    ocx, adapter, rec = _rig(["227100"])
    _replay_buy_sell(ocx, adapter, chejan_first=False)
    # the orders went out as market orders with price 0
    assert ocx.sent[0][3:8] == (1, "227100", 1, 0, "03")
    assert ocx.sent[1][3:8] == (2, "227100", 1, 0, "03")
    assert rec.kinds("B1") == ["OrderAck", "OrderAccepted", "OrderFilled"]
    ack, acc, fill = rec.of("B1")
    assert isinstance(ack, OrderAck) and ack.order_no == "0008048"
    assert isinstance(acc, OrderAccepted) and acc.leaves_qty == 1
    assert isinstance(fill, OrderFilled)
    assert (fill.exec_id, fill.price, fill.qty, fill.cum_qty, fill.leaves_qty, fill.fee,
            fill.tax) == ("545", 1510, 1, 1, 0, 0, 0)
    assert fill.raw["9001"] == "A227100" and fill.raw["910"] == "1510"
    s_fill = rec.of("S1")[-1]
    assert rec.kinds("S1") == ["OrderAck", "OrderAccepted", "OrderFilled"]
    assert (s_fill.price, s_fill.qty, s_fill.leaves_qty, s_fill.tax) == (1486, 1, 0, 2)
    # balances: after the buy; the sell's 접수 reserves (orderable 0) BEFORE its fill; flat
    assert [(b.code, b.holding_qty, b.orderable_qty, b.avg_price) for b in rec.balances] == [
        ("227100", 1, 1, 1510), ("227100", 1, 0, 1510), ("227100", 0, 0, 0)]
    assert adapter.counters["chejan_junk"] == 0


def test_real_chejan_before_trdata_gives_the_same_events():
    ocx1, ad1, rec1 = _rig(["227100"])
    _replay_buy_sell(ocx1, ad1, chejan_first=False)
    ocx2, ad2, rec2 = _rig(["227100"])
    _replay_buy_sell(ocx2, ad2, chejan_first=True)
    strip = lambda evs: [(type(e).__name__, e.client_id, getattr(e, "qty", None),  # noqa: E731
                          getattr(e, "price", None)) for e in evs]
    assert strip(rec1.orders) == strip(rec2.orders)
    # the capture's screen (4989) is not our order screen: the Chejan waited for the ack
    assert ad2.counters["chejan_buffered"] == 2


def test_real_nx_book_frame_parses_to_nxt_top_of_book():
    ocx, adapter, rec = _rig(["000020", "005380"])
    ocx.real("005380_NX", "주식호가잔량", HOGA_005380_NX)
    assert len(rec.quotes) == 1
    sym, venue, bid, ask, bq, aq, _ = rec.quotes[0]
    assert (sym, venue, bid, ask, bq, aq) == (1, 1, 424500, 425000, 24, 273)


def test_real_krx_book_and_trade_frames():
    ocx, adapter, rec = _rig(["000020", "000660"])
    ocx.real("000020", "주식호가잔량", HOGA_000020_KRX)
    assert rec.quotes[0][:6] == (0, 0, 6490, 6500, 2, 20)
    ocx.real("000660", "주식체결", TRADE_000660)
    assert rec.trades[0][:4] == (1, 0, 1851000, 1)


def test_only_61_71_registered_frames_are_dropped_as_empty_not_crashing():
    ocx, adapter, rec = _rig(["005930"])
    for aq, bq in HOGA_005930_61_71:
        ocx.real("005930", "주식호가잔량", {"61": aq, "71": bq})
    assert rec.quotes == []
    assert adapter.counters["quote_empty"] == 3
    assert adapter.dropped_junk == 3
