"""Adapter order correlation, event by event, with a scripted control."""
from __future__ import annotations

import pytest

from kxrules.broker import KiwoomAdapter
from kxrules.broker.events import CancelIntent, OrderIntent
from kxrules.broker.venues import VenueMapConfig
from kxrules.clock import VirtualClock

from .fakes import ScriptedOcx
from .helpers import MS, VENUES, Recorder, kst

BUY = OrderIntent("b1", "005930", "KRX", "buy", 10, "limit", 70000)


def rig(venues=VENUES, **kw):
    clock = VirtualClock(kst("10:00:00"))
    ocx = ScriptedOcx(**kw)
    rec = Recorder()
    ad = KiwoomAdapter(ocx, venues, clock, rec, ["005930", "000660"])
    ad.connect()
    ocx.login(0)
    return clock, ocx, ad, rec


def order(no, status, *, qty=10, unfilled=10, cum="", exec_no="", price="", unit_qty="",
          fee="0", tax="0", kind="+매수", side="2", orig="0000000", screen="0101"):
    return {"9203": no, "913": status, "9001": "A005930", "900": str(qty), "902": str(unfilled),
            "904": orig, "905": kind, "907": side, "909": exec_no, "910": price, "911": cum,
            "914": price, "915": unit_qty, "938": fee, "939": tax, "920": screen}


def test_send_maps_the_intent_to_send_order_arguments():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ad.send(OrderIntent("n1", "000660", "NXT", "sell", 3, "mid", 201000))
    ad.send(OrderIntent("n2", "000660", "NXT", "buy", 3, "ioc_market", 201000))
    assert ocx.sent == [("b1", "0101", "8012345611", 1, "005930", 10, 70000, "00", ""),
                        ("n1", "0102", "8012345611", 22, "000660", 3, 0, "29", ""),
                        ("n2", "0103", "8012345611", 21, "000660", 3, 0, "13", "")]


def test_local_refusals_and_send_errors_are_rejects_at_the_send_stage():
    clock, ocx, ad, rec = rig()
    assert ad.send(OrderIntent("s", "005930", "SOR", "buy", 1, "limit", 70000)) == -300
    assert ad.send(OrderIntent("m", "005930", "KRX", "buy", 1, "mid", 0)) == -300
    assert ad.send(OrderIntent("q", "005930", "KRX", "buy", 0, "limit", 70000)) == -300
    assert ad.send(OrderIntent("p", "005930", "KRX", "buy", 1, "limit", 0)) == -300
    assert ocx.sent == []
    assert [(e.client_id, e.stage, e.code) for e in rec.orders] == [
        ("s", "send", -300), ("m", "send", -300), ("q", "send", -300), ("p", "send", -300)]
    with pytest.raises(ValueError):
        ad.send(OrderIntent("s", "005930", "KRX", "buy", 1, "limit", 70000))
    ocx.send_result = -308
    assert ad.send(BUY) == -308
    assert rec.orders[-1].code == -308 and "OP_ERR_ORD_OVERFLOW" in rec.orders[-1].message
    ocx.tr("b1", "")  # nothing more for a final order
    assert rec.kinds("b1") == ["OrderRejected"]


@pytest.mark.parametrize("msg_first", [True, False])
def test_empty_order_number_is_a_reject_with_the_message(msg_first):
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    if msg_first:
        ocx.msg("b1", "[RC4007] 모의투자 매매금지 종목")
        ocx.tr("b1", "")
    else:
        ocx.tr("b1", "")
        assert rec.orders == []  # waits a moment for the message
        clock.run_until(clock.now_ns() + 5 * MS)
        ocx.msg("b1", "[RC4007] 모의투자 매매금지 종목")
    assert rec.kinds("b1") == ["OrderRejected"]
    r = rec.of("b1")[0]
    assert (r.stage, r.code, r.message) == ("tr", None, "[RC4007] 모의투자 매매금지 종목")
    clock.run_until(clock.now_ns() + 100 * MS)
    assert rec.kinds("b1") == ["OrderRejected"]


def test_reject_without_any_message_after_the_grace():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ocx.tr("b1", "   ")
    clock.run_until(clock.now_ns() + 25 * MS)
    assert rec.kinds("b1") == ["OrderRejected"] and rec.of("b1")[0].message == ""


def test_late_ack_after_the_engine_gave_up_is_still_reported_once():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    clock.run_until(clock.now_ns() + 500 * MS)  # the engine's 200 ms timeout passed
    ocx.tr("b1", "0000123")
    ocx.tr("b1", "0000123")
    assert rec.kinds("b1") == ["OrderAck"] and rec.of("b1")[0].order_no == "0000123"
    assert ad.order_no("b1") == "0000123" and ad.counters["tr_duplicate"] == 1


def test_partial_fills_duplicates_and_running_fees():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ocx.tr("b1", "0000123")
    ocx.chejan("0", order("0000123", "체결", unfilled=6, cum="4", exec_no="9001", price="70000",
                          unit_qty="4", fee="40"))  # a fill before its 접수
    ocx.chejan("0", order("0000123", "접수"))  # the late 접수 changes nothing
    ocx.chejan("0", order("0000123", "체결", unfilled=6, cum="4", exec_no="9001", price="70000",
                          unit_qty="4", fee="40"))  # duplicate
    ocx.chejan("0", order("0000123", "체결", unfilled=0, cum="10", exec_no="9002", price="69900",
                          unit_qty="6", fee="100"))
    assert rec.kinds("b1") == ["OrderAck", "OrderAccepted", "OrderFilled", "OrderFilled"]
    f1, f2 = rec.of("b1")[2:]
    assert (f1.qty, f1.cum_qty, f1.leaves_qty, f1.fee) == (4, 4, 6, 40)
    assert (f2.qty, f2.price, f2.cum_qty, f2.leaves_qty, f2.fee) == (6, 69900, 10, 0, 60)
    assert ad.counters["duplicate_fill"] == 1 and ad.counters["duplicate_accept"] == 1


def test_per_fill_fee_mode_from_the_venue_map():
    data = VENUES.model_dump()
    data["chejan"] = {"fee_tax": "per_fill"}
    clock, ocx, ad, rec = rig(VenueMapConfig.model_validate(data))
    ad.send(BUY)
    ocx.tr("b1", "0000123")
    ocx.chejan("0", order("0000123", "체결", unfilled=0, cum="10", exec_no="1", price="70000",
                          unit_qty="10", fee="100"))
    assert rec.of("b1")[-1].fee == 100


def test_cancel_confirmed_ends_the_original_and_duplicates_are_ignored():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ocx.tr("b1", "0000123")
    ocx.chejan("0", order("0000123", "접수"))
    ocx.chejan("0", order("0000123", "체결", unfilled=7, cum="3", exec_no="1", price="70000",
                          unit_qty="3"))
    assert ad.cancel(CancelIntent("c1", "b1", "005930", "KRX", "buy", 0)) == 0
    assert ocx.sent[-1] == ("c1", "0102", "8012345611", 3, "005930", 7, 0, "00", "0000123")
    ocx.chejan("0", order("0000124", "접수", qty=7, unfilled=7, kind="매수취소",
                          orig="0000123"))  # before the cancel's own ack
    ocx.tr("c1", "0000124")
    ocx.chejan("0", order("0000124", "확인", qty=7, unfilled=0, kind="매수취소", orig="0000123"))
    ocx.chejan("0", order("0000123", "확인", unfilled=0, cum="3", kind="매수취소",
                          orig="0000123"))
    assert rec.kinds("b1") == ["OrderAck", "OrderAccepted", "OrderFilled", "OrderCancelled"]
    assert rec.of("b1")[-1].cancelled_qty == 7 and rec.of("b1")[-1].order_no == "0000123"
    assert rec.kinds("c1") == ["OrderAck"]
    assert ad.counters["duplicate_cancel"] == 1


def test_cancel_refused_by_the_exchange_and_cancel_before_ack():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    assert ad.cancel(CancelIntent("c0", "b1", "005930", "KRX", "buy", 0)) == -300
    assert "no order number" in rec.of("c0")[0].message
    ocx.tr("b1", "0000123")
    ad.cancel(CancelIntent("c1", "b1", "005930", "KRX", "buy", 0))
    ocx.tr("c1", "0000124")
    ocx.chejan("0", order("0000124", "거부", kind="매수취소", orig="0000123"))
    assert rec.kinds("c1") == ["OrderAck", "OrderRejected"]
    assert rec.of("c1")[-1].stage == "exchange"
    with pytest.raises(ValueError):
        ad.cancel(CancelIntent("c2", "nope", "005930", "KRX", "buy", 0))


def test_chejan_before_ack_maps_a_unique_order_and_waits_when_ambiguous():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ocx.chejan("0", order("0000123", "접수"))
    assert rec.kinds("b1") == ["OrderAck", "OrderAccepted"]
    assert rec.of("b1")[0].raw.get("source") == "chejan"
    ocx.tr("b1", "0000123")
    assert rec.kinds("b1") == ["OrderAck", "OrderAccepted"]
    ad.send(OrderIntent("x", "005930", "KRX", "buy", 5, "limit", 69000))
    ad.send(OrderIntent("y", "005930", "KRX", "buy", 5, "limit", 69100))
    ocx.chejan("0", order("0000200", "접수", qty=5, unfilled=5))
    assert rec.of("x") == [] and rec.of("y") == []
    ocx.tr("y", "0000200")
    assert rec.kinds("y") == ["OrderAck", "OrderAccepted"]
    # an order from another screen (HTS) is never claimed
    ocx.chejan("0", order("0000300", "접수", qty=5, unfilled=5, screen="4989"))
    assert rec.of("x") == [] and ad.counters["chejan_buffered"] == 2


def test_buffer_of_unknown_orders_is_bounded():
    clock, ocx, ad, rec = rig()
    ad.orders.buffer_limit = 3
    for i in range(5):
        ocx.chejan("0", order(f"{900 + i:07d}", "접수", screen="4989"))
    assert ad.counters["chejan_buffer_dropped"] == 2


def test_exchange_reject_of_an_order():
    clock, ocx, ad, rec = rig()
    ad.send(BUY)
    ocx.tr("b1", "0000123")
    ocx.chejan("0", {**order("0000123", "거부"), "919": "[EM0007] 거래소 거부"})
    assert rec.kinds("b1") == ["OrderAck", "OrderRejected"]
    assert rec.of("b1")[-1].message == "[EM0007] 거래소 거부"


def test_login_with_a_foreign_account_and_the_account_window():
    clock = VirtualClock(kst("10:00:00"))
    ocx = ScriptedOcx()
    rec = Recorder()
    ad = KiwoomAdapter(ocx, VENUES, clock, rec, ["005930"], account="999")
    ad.connect()
    ocx.login(0)
    assert rec.connections[-1].connected is False and rec.connections[-1].err_code == -302
    data = VENUES.model_dump()
    data["login"] = {"show_account_window": True}
    clock, ocx, ad, rec = rig(VenueMapConfig.model_validate(data))
    assert ("ShowAccountWindow", "") in ocx.koa and rec.connections[-1].connected
    ocx.login(-101)
    assert rec.connections[-1].err_code == -101 and not ad.connected


def test_session_and_vi_events():
    clock, ocx, ad, rec = rig()
    ocx.real("", "장시작시간", {"215": "R", "20": "090030", "214": "000000"})
    ocx.real("", "장시작시간", {"215": "3", "20": "090000", "214": "000000"})
    ocx.real("005930", "VI발동/해제", {"9001": "A005930", "9068": "1", "1225": "동적"})
    ocx.real("005930", "VI발동/해제", {"9001": "005930", "9068": "2"})
    assert [(s.venue, s.code215) for s in rec.sessions] == [("NXT", "R"), ("KRX", "3")]
    assert [(v.code, v.active) for v in rec.vis] == [("005930", True), ("005930", False)]
    assert rec.vis[0].raw["1225"] == "동적"


def test_subscribe_before_login_registers_on_login_and_close_releases_screens():
    clock = VirtualClock(kst("10:00:00"))
    ocx = ScriptedOcx()
    ad = KiwoomAdapter(ocx, VENUES, clock, Recorder(), ["005930"])
    assert ad.subscribe_quotes() == -106 and ocx.realreg == []
    ad.connect()
    ocx.login(0)
    assert ocx.realreg[0] == ("5101", "005930", "21;41;51;61;71;20;10;15;27;28", "0")
    assert ocx.realreg[1] == ("5101", "005930_NX", "21;41;51;61;71;20;10;15;27;28", "1")
    assert ocx.realreg[2][:2] == ("5900", "")
    ad.close()
    assert len(ocx.OnReceiveRealData) == 0
