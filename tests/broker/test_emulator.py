"""The Kiwoom emulator behaves like the control: login, limits, -308, cash account, matching."""
from __future__ import annotations

import pytest

from kxrules.broker import errors as E
from kxrules.broker.events import (CancelIntent, OrderFilled, OrderIntent,
                                   OrderRejected)
from kxrules.broker.fids import HOGA_FIDS

from .helpers import S, make_config, make_rig


def test_calls_before_login_fail():
    rig = make_rig(login=False)
    emu = rig.emu
    assert emu.GetConnectState() == 0
    assert emu.GetLoginInfo("ACCNO") == ""
    assert emu.SetRealReg("5101", "005930", "41", "0") == E.OP_ERR_SOCKET_CLOSED
    assert emu.SendOrder("x", "0101", "8012345611", 1, "005930", 1, 70000, "00", "") == \
        E.OP_ERR_SOCKET_CLOSED
    assert rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 1, "limit", 70000)) == \
        E.OP_ERR_SOCKET_CLOSED
    assert rig.rec.kinds("b") == ["OrderRejected"] and rig.rec.of("b")[0].stage == "send"
    rig.adapter.connect()
    rig.run_ms(10)
    assert emu.GetConnectState() == 0  # OnEventConnect has not arrived yet
    rig.run_ms(100)
    assert emu.GetConnectState() == 1 and rig.rec.connections[-1].connected
    assert emu.GetLoginInfo("ACCNO") == "8012345611;"
    assert rig.adapter.account == "8012345611"


def test_set_real_reg_limits():
    rig = make_rig(subscribe=False)
    emu = rig.emu
    codes101 = ";".join(f"{i:06d}" for i in range(101))
    assert emu.SetRealReg("5101", codes101, "41;51", "0") == E.OP_ERR_OVER_MAX_DATA
    codes100 = ";".join(f"{i:06d}" for i in range(100))
    assert emu.SetRealReg("5101", codes100, "41;51", "0") == 0
    fids101 = ";".join(str(f) for f in range(1000, 1101))
    assert emu.SetRealReg("5102", "005930", fids101, "0") == E.OP_ERR_OVER_MAX_FID
    assert emu.SetRealReg("0000", "005930", "41", "0") == E.OP_ERR_INPUT
    assert emu.SetRealReg("51", "005930", "41", "0") == E.OP_ERR_INPUT
    assert emu.SetRealReg("5102", "005930", "41", "2") == E.OP_ERR_INPUT
    # "0" replaces the screen's codes, "1" adds
    assert emu.SetRealReg("5103", "005930", "41", "0") == 0
    assert emu.SetRealReg("5103", "000660", "41", "1") == 0
    assert set(emu.registered_screens()["5103"]) == {"005930", "000660"}
    assert emu.SetRealReg("5103", "000660", "41", "0") == 0
    assert set(emu.registered_screens()["5103"]) == {"000660"}
    for i in range(198):  # 5101, 5103 + 198 = 200 screens
        assert emu.SetRealReg(f"{6000 + i}", "005930", "41", "0") == 0
    assert emu.SetRealReg("7999", "005930", "41", "0") == E.OP_ERR_INPUT  # screen 201
    emu.DisconnectRealData("6000")
    assert emu.SetRealReg("7999", "005930", "41", "0") == 0


def test_real_data_strings_are_signed_with_empty_levels_and_hhmmss():
    rig = make_rig(ref_prices={"005930": 70_000, "000660": 200_000})
    seen = []
    rig.emu.OnReceiveRealData.connect(lambda k, t, d: seen.append(
        (k, t, d, {f: rig.emu.GetCommRealData(k, f) for f in (21, 41, 51, 61, 71, 42, 62)})))
    rig.run_ms(250)  # 10:00:01.250
    rig.quote(0, 1, 69900, 70100, 3, 4)
    rig.quote(0, 0, 70000, 0, 8, 0)
    rig.run_ms(500)
    (k1, t1, d1, f1), (k2, _, _, f2) = seen
    assert (k1, t1) == ("005930_NX", "주식호가잔량")
    assert f1 == {21: "100001", 41: "+70100", 51: "-69900", 61: "4", 71: "3", 42: "-0", 62: "0"}
    assert k2 == "005930" and f2[41] == "-0" and f2[51] == "70000"
    fields = d1.split("\t")
    assert len(fields) == len(HOGA_FIDS) and fields[HOGA_FIDS.index(41)] == "+70100"
    assert rig.rec.quotes[0][:6] == (0, 1, 69900, 70100, 3, 4)
    assert rig.emu.GetCommRealData("005930_NX", 41) == ""  # only inside the event


def test_minus_308_on_the_sixth_order_within_one_second_cancels_count():
    rig = make_rig(make_config(holdings={"005930": 100}))
    rig.quote(0, 0, 69900, 70000, 100, 100)
    ad = rig.adapter
    for i in range(3):
        assert ad.send(OrderIntent(f"b{i}", "005930", "KRX", "buy", 1, "limit", 69000)) == 0
        rig.run_ms(100)
    for i in range(2):
        assert ad.cancel(CancelIntent(f"c{i}", f"b{i}", "005930", "KRX", "buy", 0)) == 0
        rig.run_ms(100)
    assert ad.send(OrderIntent("b5", "005930", "KRX", "buy", 1, "limit", 69000)) == \
        E.OP_ERR_ORD_OVERFLOW
    rej = rig.rec.of("b5")[0]
    assert isinstance(rej, OrderRejected) and (rej.stage, rej.code) == ("send", -308)
    rig.run_ms(600)  # the first order left the 1,000 ms window
    assert ad.send(OrderIntent("b6", "005930", "KRX", "buy", 1, "limit", 69000)) == 0
    rig.run_ms(500)
    assert [rig.rec.kinds(f"b{i}")[-1] for i in range(2)] == ["OrderCancelled"] * 2


def test_sell_without_holdings_is_rejected_with_a_message():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 100, 100)
    assert rig.adapter.send(OrderIntent("s", "005930", "KRX", "sell", 1, "limit", 70000)) == 0
    rig.run_ms(500)
    assert rig.rec.kinds("s") == ["OrderRejected"]
    rej = rig.rec.of("s")[0]
    assert rej.stage == "tr" and "매도가능수량" in rej.message
    assert rig.emu.server.orders == {}


def test_sell_reserves_orderable_quantity():
    rig = make_rig(make_config(holdings={"005930": 5}))
    rig.quote(0, 0, 69900, 70000, 100, 100)
    assert rig.adapter.send(OrderIntent("s1", "005930", "KRX", "sell", 4, "limit", 71000)) == 0
    assert rig.adapter.send(OrderIntent("s2", "005930", "NXT", "sell", 2, "limit", 71000)) == 0
    rig.run_ms(500)
    assert rig.rec.kinds("s2") == ["OrderRejected"]
    assert rig.rec.last_balance()["005930"] == (5, 1, 70000)


def test_buy_beyond_cash_is_rejected():
    rig = make_rig(make_config(cash_krw=1_000_000))
    rig.quote(0, 0, 69900, 70000, 100, 100)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 15, "limit", 70000))
    rig.run_ms(500)
    assert "주문가능금액" in rig.rec.of("b")[0].message


def test_ioc_remainder_is_cancelled():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 100, 50)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 60, "ioc_limit", 70000))
    rig.run_ms(500)
    assert rig.rec.kinds("b") == ["OrderAck", "OrderAccepted", "OrderFilled", "OrderCancelled"]
    fill, canc = rig.rec.of("b")[2:]
    assert (fill.price, fill.qty, fill.leaves_qty) == (70000, 50, 10)
    assert canc.cancelled_qty == 10
    assert rig.rec.last_balance()["005930"] == (50, 50, 70000)


def test_two_orders_cannot_take_the_same_displayed_size():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 100, 30)
    rig.adapter.send(OrderIntent("a", "005930", "KRX", "buy", 20, "ioc_limit", 70000))
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 20, "ioc_limit", 70000))
    rig.run_ms(500)
    filled = {c: sum(e.qty for e in rig.rec.of(c) if isinstance(e, OrderFilled)) for c in "ab"}
    assert sorted(filled.values()) == [10, 20]
    rig.quote(0, 0, 69900, 70000, 100, 30)  # a new quote refreshes the displayed size
    rig.adapter.send(OrderIntent("c", "005930", "KRX", "buy", 20, "ioc_limit", 70000))
    rig.run_ms(500)
    assert rig.rec.of("c")[-1].leaves_qty == 0


def test_resting_limit_fills_when_the_opposite_quote_reaches_it():
    rig = make_rig()
    rig.quote(0, 1, 69900, 70100, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "NXT", "buy", 5, "limit", 70000))
    rig.run_ms(500)
    assert rig.rec.kinds("b") == ["OrderAck", "OrderAccepted"]
    rig.quote(0, 1, 69900, 70050, 10, 10)  # not yet
    rig.run_ms(500)
    rig.quote(0, 0, 69800, 69900, 10, 10)  # the other venue does not matter
    rig.run_ms(500)
    assert rig.rec.kinds("b") == ["OrderAck", "OrderAccepted"]
    rig.quote(0, 1, 69800, 69950, 10, 3)  # the ask crossed our bid: fill at our price
    rig.run_ms(500)
    fill = rig.rec.of("b")[-1]
    assert isinstance(fill, OrderFilled) and (fill.price, fill.qty, fill.leaves_qty) == (70000, 3, 2)
    rig.quote(0, 1, 69800, 70000, 10, 10)
    rig.run_ms(500)
    assert rig.rec.outcome()["b"][:2] == ("filled", 5)


def test_market_order_remainder_rests_and_takes_later_tops():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 10, 4)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 6, "market", 0))
    rig.run_ms(500)
    rig.quote(0, 0, 70000, 70100, 10, 10)
    rig.run_ms(500)
    fills = [(e.price, e.qty) for e in rig.rec.of("b") if isinstance(e, OrderFilled)]
    assert fills == [(70000, 4), (70100, 2)]


def test_midpoint_order_rests_at_the_mid_and_fills_per_odds():
    cfg = make_config(fill_odds={"mid_fill_rate_per_s": 50.0})
    rig = make_rig(cfg)
    rig.quote(0, 1, 69900, 70100, 10, 10)
    assert rig.adapter.send(OrderIntent("m", "005930", "NXT", "buy", 3, "mid", 12345)) == 0
    assert rig.emu.server.orders[1].price == 0  # sent with price 0, hoga 29
    rig.run_ms(500)
    assert rig.rec.kinds("m") == ["OrderAck", "OrderAccepted"]
    rig.quote(0, 1, 69900, 70100, 10, 10)
    rig.run_ms(500)
    fill = rig.rec.of("m")[-1]
    assert isinstance(fill, OrderFilled) and fill.price == 70000 and fill.qty == 3
    # a midpoint order is an NXT order style only
    assert rig.adapter.send(OrderIntent("k", "005930", "KRX", "buy", 1, "mid", 0)) == -300


@pytest.mark.parametrize("bid, ask, mid", [
    (70_000, 70_100, 70_050),       # a one-tick spread: the half tick (a recorded 중간가 print: 313,750
                                    # inside 313,500 / 314,000, ../shared/data/krx_realtime_hoga_ops_2026)
    (1_001, 1_002, 1_001),          # half a won does not exist: down to the won
])
def test_a_midpoint_order_fills_at_the_exact_mid_off_the_tick_grid(bid, ask, mid):
    rig = make_rig(make_config(fill_odds={"mid_fill_rate_per_s": 1000.0}))
    rig.quote(0, 1, bid, ask, 10, 10)
    assert rig.adapter.send(OrderIntent("m", "005930", "NXT", "buy", 2, "mid", 0)) == 0
    rig.run_ms(500)
    rig.quote(0, 1, bid, ask, 10, 10)
    rig.run_ms(500)
    fill = rig.rec.of("m")[-1]
    assert isinstance(fill, OrderFilled) and (fill.price, fill.qty) == (mid, 2)


def test_vi_stops_matching_on_both_venues_while_active():
    cfg = make_config(faults={"vi": [{"code": "005930", "at": "10:00:05", "duration_s": 120}]})
    rig = make_rig(cfg)
    rig.quote(0, 1, 69900, 70100, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "NXT", "buy", 2, "limit", 70000))
    rig.run(rig.clock.now_ns() + 5 * S)
    assert [(v.code, v.active) for v in rig.rec.vis] == [("005930", True)]
    rig.quote(0, 1, 69800, 69900, 10, 10)  # would cross, but VI
    rig.adapter.send(OrderIntent("i", "005930", "KRX", "buy", 2, "ioc_limit", 70000))
    rig.quote(0, 0, 69800, 69900, 10, 10)
    rig.run_ms(1000)
    assert rig.rec.kinds("b") == ["OrderAck", "OrderAccepted"]
    assert rig.rec.kinds("i")[-1] == "OrderCancelled"
    rig.run(rig.clock.now_ns() + 120 * S)
    assert [(v.code, v.active) for v in rig.rec.vis][-1] == ("005930", False)
    assert rig.rec.outcome()["b"][:2] == ("filled", 2)


def test_session_signals_and_orders_outside_continuous_trading():
    rig = make_rig(start="08:55:00")
    rig.quote(0, 0, 69900, 70000, 10, 10)
    rig.adapter.send(OrderIntent("early", "005930", "KRX", "buy", 1, "limit", 69900))
    rig.run_ms(500)
    assert "장시작전" in rig.rec.of("early")[0].message
    rig.run(rig.clock.now_ns() + 6 * 60 * S)  # 09:01:00
    assert [(s.venue, s.code215) for s in rig.rec.sessions] == [("KRX", "3"), ("NXT", "R")]
    rig.run(kst_hms := rig.emu.server.at_time("15:20:01"))
    assert [s.code215 for s in rig.rec.sessions][-2:] == ["2", "S"]
    rig.adapter.send(OrderIntent("late", "005930", "KRX", "buy", 1, "limit", 69900))
    rig.run(kst_hms + S)
    assert "장종료" in rig.rec.of("late")[0].message


def test_krx_holds_resting_orders_through_the_closing_auction_and_expires_the_rest():
    rig = make_rig(start="15:19:00")
    rig.quote(0, 0, 69800, 70000, 10, 10)
    rig.adapter.send(OrderIntent("reached", "005930", "KRX", "buy", 2, "limit", 69900))
    rig.adapter.send(OrderIntent("below", "005930", "KRX", "buy", 1, "limit", 69000))
    rig.run(rig.emu.server.at_time("15:20:30"))
    rig.quote(0, 0, 69800, 69900, 10, 10)          # during the auction: nothing matches
    rig.run(rig.emu.server.at_time("15:29:59"))
    assert rig.rec.kinds("reached") == ["OrderAck", "OrderAccepted"]
    assert rig.rec.kinds("below") == ["OrderAck", "OrderAccepted"]
    rig.run(rig.emu.server.at_time("15:30:01"))     # the auction's end: matched once, the rest expires
    out = rig.rec.outcome()
    assert out["reached"][:3] == ("filled", 2, 2 * 69900)
    assert out["below"][0] == "cancelled" and out["below"][5] == 1
    assert rig.emu.server.open_orders() == [] and rig.emu.server.account.reserved_cash == 0


def test_nxt_orders_stay_live_after_1520_and_trade_in_the_after_market():
    rig = make_rig(start="15:19:00")
    rig.quote(0, 1, 68900, 69100, 10, 10)
    rig.adapter.send(OrderIntent("rest", "005930", "NXT", "buy", 1, "limit", 69000))
    rig.run(rig.emu.server.at_time("15:25:00"))
    rig.quote(0, 1, 68900, 69000, 10, 10)          # no trading between 15:20 and 15:40
    rig.run(rig.emu.server.at_time("15:39:59"))
    assert rig.rec.kinds("rest") == ["OrderAck", "OrderAccepted"]
    assert [o.venue for o in rig.emu.server.open_orders()] == ["NXT"]
    rig.run(rig.emu.server.at_time("15:40:01"))     # the after-market opens on the standing book
    assert rig.rec.outcome()["rest"][:3] == ("filled", 1, 69000)


def test_the_market_wide_session_signal_arrives_without_a_registration():
    rig = make_rig(start="08:59:00", subscribe=False)
    rig.run(rig.emu.server.at_time("09:00:31"))
    assert [(s.venue, s.code215) for s in rig.rec.sessions] == [("KRX", "3"), ("NXT", "R")]
    assert {s.raw["key"] for s in rig.rec.sessions} == {"09"}    # the key koapy saw
    assert rig.emu.registered_screens() == {}


def test_disconnect_and_reconnect():
    cfg = make_config(faults={"disconnect_at": "10:00:10", "reconnect_after_s": 30})
    rig = make_rig(cfg)
    rig.run(rig.emu.server.at_time("10:00:11"))
    assert rig.rec.connections[-1].connected is False
    assert rig.rec.connections[-1].err_code == E.OP_ERR_SOCKET_CLOSED
    rig.quote(0, 0, 69900, 70000, 10, 10)
    assert rig.adapter.send(OrderIntent("x", "005930", "KRX", "buy", 1, "limit", 69900)) == \
        E.OP_ERR_SOCKET_CLOSED
    rig.adapter.connect()
    rig.run_ms(1000)
    assert rig.rec.connections[-1].err_code == E.OP_ERR_CONNECT
    rig.run(rig.emu.server.at_time("10:00:45"))
    n = len(rig.rec.quotes)
    rig.adapter.connect()
    rig.run_ms(1000)
    assert rig.rec.connections[-1].connected
    rig.quote(0, 0, 69900, 70000, 10, 10)  # registrations were restored on login
    rig.run_ms(500)
    assert len(rig.rec.quotes) == n + 1


def test_fee_and_tax_truncation():
    from kxrules.broker.emulator import default_fee_fn
    from kxrules.broker.emulator.config import Fees

    mock = default_fee_fn(Fees(commission_rate=0.0035, tax_rate={"KOSPI": 0.0018}))
    assert mock("KRX", "buy", 77_000, 1, "KOSPI") == (260, 0)  # the koapy mock capture
    assert mock("KRX", "sell", 1486, 1, "KOSPI")[1] == 2  # the 2024 capture: 939 = 2
    fees = default_fee_fn(Fees())
    assert fees("NXT", "sell", 158_000, 10, "KOSDAQ") == (230, 3160)


def test_chejan_strings_look_like_the_capture():
    rig = make_rig(make_config(holdings={"005930": 3}))
    seen = []
    as_text = []            # a FID asked as text (a dynamicCall may pass one) reads the same string
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: seen.append(
        (g, {int(f): rig.emu.GetChejanData(int(f)) for f in fl.split(";")})))
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: as_text.append(
        {int(f): rig.emu.GetChejanData(f) for f in fl.split(";")}))
    unlisted = []           # a FID the record does not carry, or junk, reads "" as the control's does
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: unlisted.append(
        (rig.emu.GetChejanData(123456), rig.emu.GetChejanData(" 9203 "), rig.emu.GetChejanData("x"))))
    assert rig.emu.GetChejanData(9203) == ""          # outside an event
    rig.quote(0, 0, 69900, 70000, 10, 10)
    rig.adapter.send(OrderIntent("s", "005930", "KRX", "sell", 1, "market", 0))
    rig.run_ms(500)
    assert as_text == [r for _, r in seen]
    assert [u[0] for u in unlisted] == [""] * 4 and [u[2] for u in unlisted] == [""] * 4
    assert unlisted[0][1] == "0000001" and unlisted[1][1] == ""      # a balance record has no 9203
    assert rig.emu.GetChejanData(9203) == ""          # after the events
    assert [(g, r.get(913)) for g, r in seen] == [("0", "접수"), ("1", None), ("0", "체결"),
                                                  ("1", None)]
    acc, bal1, fill, bal2 = (r for _, r in seen)
    assert acc[9001] == "A005930" and acc[9203] == "0000001" and acc[904] == "0000000"
    assert acc[905] == "-매도" and acc[906] == "시장가" and acc[907] == "1" and acc[910] == ""
    assert fill[910] == "69900" and fill[911] == "1" and fill[902] == "0" and fill[939] == "139"
    assert (bal1[930], bal1[933]) == ("3", "2") and (bal2[930], bal2[933]) == ("2", "2")
    assert rig.emu.GetChejanData(9203) == ""  # only inside the event


def test_cancel_chejan_uses_its_own_number_with_904_original():
    rig = make_rig()
    seen = []
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: seen.append(
        {int(f): rig.emu.GetChejanData(int(f)) for f in fl.split(";")}))
    rig.quote(0, 0, 69900, 70000, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 2, "limit", 69000))
    rig.run_ms(300)
    rig.adapter.cancel(CancelIntent("c", "b", "005930", "KRX", "buy", 0))
    rig.run_ms(500)
    st = [(r[9203], r[913], r[904], r[905]) for r in seen if 913 in r]
    assert st == [("0000001", "접수", "0000000", "+매수"), ("0000002", "접수", "0000001", "매수취소"),
                  ("0000002", "확인", "0000001", "매수취소"), ("0000001", "확인", "0000001", "매수취소")]
    assert rig.rec.kinds("b") == ["OrderAck", "OrderAccepted", "OrderCancelled"]
    assert rig.rec.kinds("c") == ["OrderAck"]
    assert rig.rec.of("b")[-1].cancelled_qty == 2
    assert rig.emu.server.account.reserved_cash == 0


def test_cancel_after_fill_is_refused():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 2, "limit", 70000))
    rig.run_ms(500)
    assert rig.rec.outcome()["b"][:2] == ("filled", 2)
    assert rig.adapter.cancel(CancelIntent("c", "b", "005930", "KRX", "buy", 0)) == -300
    assert rig.rec.of("c")[0].message == "the order is already done"


def test_a_cancel_takes_off_the_remainder_of_a_partly_filled_order():
    rig = make_rig()
    seen = []
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: seen.append(
        {int(f): rig.emu.GetChejanData(int(f)) for f in fl.split(";")}))
    rig.quote(0, 0, 69800, 70000, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 5, "limit", 69900))
    rig.run_ms(300)
    rig.quote(0, 0, 69800, 69900, 10, 2)           # 2 of 5 fill
    rig.run_ms(300)
    assert rig.rec.outcome()["b"][:2] == ("live", 2)
    rig.adapter.cancel(CancelIntent("c", "b", "005930", "KRX", "buy", 0))
    rig.run_ms(500)
    sent = [r for r in seen if r.get(9203) == "0000002"]
    assert [(r[913], r[900]) for r in sent] == [("접수", "3"), ("확인", "3")]    # the remainder, as sent
    state, filled, value, _, _, cancelled = rig.rec.outcome()["b"]
    assert (state, filled, value, cancelled) == ("cancelled", 2, 2 * 69900, 3)
    assert rig.emu.server.account.reserved_cash == 0


def test_a_cancel_for_more_than_the_brokers_remainder_is_refused_and_a_partial_cancel_leaves_the_rest():
    from kxrules.broker.emulator import formats as fm

    rig = make_rig()
    srv = rig.emu.server
    rig.quote(0, 0, 69800, 70000, 10, 10)
    rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 5, "limit", 69900))
    rig.run_ms(300)
    no = rig.adapter.order_no("b")
    rig.quote(0, 0, 69800, 69900, 10, 1)           # 1 fills; its Chejan is 10 ms away
    msgs = []
    rig.emu.OnReceiveMsg.connect(lambda scr, rq, tr, msg: msgs.append((rq, msg)))
    assert rig.emu.SendOrder("x5", "0101", "8012345611", 3, "005930", 5, 0, "00", no) == 0
    assert rig.emu.SendOrder("x2", "0101", "8012345611", 3, "005930", 2, 0, "00", no) == 0
    rig.run_ms(500)
    assert ("x5", fm.MSG_CANCEL_EXCEEDS) in msgs          # 5 > 4 left: 00Z924
    (o,) = srv.open_orders()
    assert (o.leaves, o.cum_qty) == (2, 1)               # 2 of the 4 cancelled, 2 rest on
    assert srv.account.reserved_cash == 2 * 69900


def test_account_password_window_when_needed():
    rig = make_rig(make_config(require_account_password=True))
    rig.quote(0, 0, 69900, 70000, 10, 10)
    assert rig.adapter.send(OrderIntent("a", "005930", "KRX", "buy", 1, "limit", 69900)) == \
        E.OP_ERR_ORD_WRONG_ACCTNO
    assert rig.emu.calls["KOA_Functions:ShowAccountWindow"] == 1
    assert rig.adapter.send(OrderIntent("b", "005930", "KRX", "buy", 1, "limit", 69900)) == 0


def test_price_rules_of_the_emulated_broker():
    rig = make_rig()
    rig.quote(0, 0, 69900, 70000, 10, 10)
    emu = rig.emu
    # a market order with a price, a limit off the tick grid
    assert emu.SendOrder("m", "0101", "8012345611", 1, "005930", 1, 70000, "03", "") == 0
    assert emu.SendOrder("t", "0101", "8012345611", 1, "005930", 1, 70050, "00", "") == 0
    assert emu.SendOrder("x", "0101", "8012345611", 99, "005930", 1, 70000, "00", "") == -300
    assert emu.SendOrder("y", "0101", "8012345611", 1, "999999", 1, 70000, "00", "") == -500
    assert emu.SendOrder("z", "0101", "1111111111", 1, "005930", 1, 70000, "00", "") == -302
    msgs = []
    emu.OnReceiveMsg.connect(lambda scr, rq, tr, msg: msgs.append((rq, msg)))
    rig.run_ms(500)
    assert dict(msgs) == {"m": "[00Z237] 모의투자 단가를 입력하지 않는 호가입니다.",
                          "t": "[EM0003] 모의투자 호가단위가 맞지 않습니다"}


def test_polling_the_connection_state_reports_a_silent_drop_once():
    rig = make_rig()
    rig.emu.connected = False  # the control dropped without an event
    assert rig.adapter.check_connection() is False
    assert rig.adapter.check_connection() is False
    assert [c.connected for c in rig.rec.connections] == [True, False]


def test_chejan_fid_lists_are_the_recorded_ones():
    from kxrules.broker.fids import CHEJAN_BALANCE_FIDS, CHEJAN_ORDER_FIDS

    rig = make_rig(make_config(holdings={"005930": 3}))
    lists = []
    rig.emu.OnReceiveChejanData.connect(lambda g, n, fl: lists.append((g, n, fl)))
    rig.quote(0, 0, 69900, 70000, 10, 10)
    rig.adapter.send(OrderIntent("s", "005930", "KRX", "sell", 1, "limit", 69900))
    rig.run_ms(500)
    for g, n, fl in lists:
        fids = tuple(int(f) for f in fl.split(";"))
        assert fids == (CHEJAN_ORDER_FIDS if g == "0" else CHEJAN_BALANCE_FIDS) and n == len(fids)


def test_which_styles_go_with_price_zero_is_the_venue_maps_word():
    """The emulated broker refuses a price where the venue map says price 0 and asks for one where
    it does not: the map's price_zero, not a list in the emulator, decides."""
    from kxrules.broker.emulator import KiwoomEmulator
    from kxrules.broker.emulator import formats as fm
    from kxrules.broker.venues import load_venue_map_file

    shipped = load_venue_map_file()
    # a map in which KRX's IOC market order is sent with a price (as if the broker wanted one)
    krx = shipped.venues["KRX"].model_copy(update={"price_zero": ("market",)})
    priced_ioc = shipped.model_copy(update={"venues": {**shipped.venues, "KRX": krx}})
    outcomes = {}
    for name, venues in (("shipped", shipped), ("priced_ioc", priced_ioc)):
        rig = make_rig()
        emu = KiwoomEmulator(make_config(), rig.clock, ["005930"], {"005930": "KOSPI"}, venues=venues,
                             ref_prices={"005930": 70_000})
        messages: list[str] = []
        emu.OnReceiveMsg.connect(lambda screen, rqname, trcode, msg: messages.append(msg))
        emu.CommConnect()
        rig.run_ms(1_000)
        for price in (0, 70_000):
            assert emu.SendOrder("probe", "5000", "8012345611", venues.order_type("KRX", "buy"), "005930",
                                 1, price, venues.hoga("KRX", "ioc_market"), "") == E.OP_ERR_NONE
            rig.run_ms(1_000)
        outcomes[name] = messages
    assert fm.MSG_PRICE_NOT_ALLOWED in outcomes["shipped"] and fm.MSG_NO_PRICE not in outcomes["shipped"]
    assert fm.MSG_NO_PRICE in outcomes["priced_ioc"] and fm.MSG_PRICE_NOT_ALLOWED not in outcomes["priced_ioc"]


def test_the_fast_path_is_ready_only_while_every_quote_is_registered():
    from kxrules.broker.emulator import fastpath

    rig = make_rig(make_config(faults={"disconnect_at": "10:00:10", "reconnect_after_s": 1}), login=False)
    emu, keys, hoga = rig.emu, "005930;000660;005930_NX;000660_NX", "41;51;61;71"
    emu.CommConnect()
    rig.run_ms(1000)
    assert not fastpath.ready(emu)                       # logged in, nothing registered
    emu.SetRealReg("5101", keys, hoga, "0")
    assert fastpath.ready(emu)
    emu.SetRealRemove("5101", "000660_NX")
    assert not fastpath.ready(emu)
    emu.SetRealReg("5101", "000660_NX", hoga, "1")
    assert fastpath.ready(emu)
    rig.run(emu.server.at_time("10:00:11"))              # the connection drops: registrations are gone
    assert not fastpath.ready(emu)
    emu.CommConnect()                                    # logged in again, nothing registered yet
    rig.run_ms(1000)
    assert emu.connected and not fastpath.ready(emu)
    emu.SetRealReg("5101", keys, hoga, "0")
    assert fastpath.ready(emu)
