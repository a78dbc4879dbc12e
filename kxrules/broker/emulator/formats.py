"""The strings the control sends, built the way the real captures show them.

- Real data: prices signed against the previous close (``+6500`` / ``-425000`` / ``6500`` when
  equal), ``"-0"`` and ``"0"`` for empty levels, FID 21/20 ``HHMMSS`` (KST).
- Chejan gubun 0 / 1: the recorded FID lists, ``A``-prefixed 9001, zero-padded order numbers,
  unsigned 910, 938/939 as the order's running fee and tax.
- Messages: the recorded mock texts where one exists; ``[EMxxxx]`` codes are the emulator's own.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from kxrules.money.ticks import round_to_tick

from .. import fids as F
from ..parsing import hhmmss

if TYPE_CHECKING:
    from .matching import EmuOrder

MSG_OK = {"buy": "[100000] 모의투자 매수주문완료", "sell": "[100000] 모의투자 매도주문완료",
          "cancel": "[100000] 모의투자 취소주문완료"}
MSG_BEFORE_OPEN = "[00Z217] 모의투자 장시작전입니다"
MSG_CLOSED = "[00Z218] 모의투자 장종료 상태입니다"
MSG_PRICE_NOT_ALLOWED = "[00Z237] 모의투자 단가를 입력하지 않는 호가입니다."
MSG_CANCEL_EXCEEDS = "[00Z924] 모의투자 취소수량이 취소가능수량을 초과합니다"
MSG_NOTHING_TO_CANCEL = "[RC4033] 모의투자 정정/취소할 수량이 없습니다"
MSG_NO_PRICE = "[EM0002] 모의투자 주문단가를 입력하십시오"
MSG_OFF_TICK = "[EM0003] 모의투자 호가단위가 맞지 않습니다"
MSG_SELL_EXCEEDS = "[EM0004] 모의투자 매도가능수량이 부족합니다"
MSG_CASH_EXCEEDS = "[EM0005] 모의투자 주문가능금액을 초과합니다"
MSG_FAULT_REJECT = "[EM0001] 모의투자 주문이 거부되었습니다 (emulated fault)"
MSG_VENUE_UNSUPPORTED = "[EM0006] 모의투자 해당 시장에서 지원하지 않는 호가입니다"

TRADE_KIND = {"limit": "보통", "market": "시장가", "ioc_limit": "보통(IOC)",
              "ioc_market": "시장가(IOC)", "mid": "중간가"}

_EMPTY_LEVELS: dict[int, str] = {}
for _lvl in range(10):
    _EMPTY_LEVELS[41 + _lvl] = "-0"
    _EMPTY_LEVELS[51 + _lvl] = "-0"
    _EMPTY_LEVELS[61 + _lvl] = "0"
    _EMPTY_LEVELS[71 + _lvl] = "0"
    _EMPTY_LEVELS[81 + _lvl] = "0"
    _EMPTY_LEVELS[91 + _lvl] = "0"


def signed(price: int, ref: int) -> str:
    if price == 0:
        return "-0"
    if ref <= 0 or price == ref:
        return str(price)
    return f"+{price}" if price > ref else f"-{price}"


def signed_delta(delta: int) -> str:
    return f"+{delta}" if delta > 0 else str(delta)


def order_no_str(n: int) -> str:
    return f"{n:07d}" if n else "0000000"


_EMPTY_LEVELS[122] = _EMPTY_LEVELS[126] = "0"
#: values of FIDs a record does not carry itself, per real type (levels 2-10 are empty)
DEFAULTS: dict[str, dict[int, str]] = {F.RT_HOGA: _EMPTY_LEVELS}


def hoga_record(ts_ns: int, bid: int, ask: int, bid_qty: int, ask_qty: int,
                ref: int) -> dict[int, str]:
    """주식호가잔량 with one level (the emulator only knows the top of book); the other levels
    come from ``DEFAULTS`` (``"-0"`` prices, ``"0"`` sizes)."""
    aq, bq = str(ask_qty), str(bid_qty)
    return {F.HOGA_TIME: hhmmss(ts_ns), F.ASK1: signed(ask, ref), F.BID1: signed(bid, ref),
            F.ASK1_QTY: aq, F.BID1_QTY: bq, F.ASK_TOTAL: aq, F.BID_TOTAL: bq}


def session_record(ts_ns: int, code215: str) -> dict[int, str]:
    return {F.SESSION_CODE: code215, F.TRADE_TIME: hhmmss(ts_ns), F.SESSION_REMAIN: "000000"}


def vi_record(ts_ns: int, code: str, name: str, active: bool, price: int, ref: int,
              market_gubun: str) -> dict[int, str]:
    t = hhmmss(ts_ns)
    return {F.CODE: code, F.NAME: name, F.VI_GUBUN: "1" if active else "2", 9008: market_gubun,
            9075: "1", F.VI_TRIGGER_PRICE: signed(price, ref) if active else "",
            F.VI_MATCH_TIME: t, F.VI_RELEASE_TIME: "" if active else t, F.VI_KIND: "동적",
            F.VI_DIRECTION: "1" if price >= ref else "2"}


def pad_name(name: str) -> str:
    return name + " " * max(0, 40 - len(name))


def chejan_order_record(*, account: str, order_no: int, orig_no: int, code: str, name: str,
                        status: str, side: str, kind: str, style: str, order_qty: int,
                        order_price: int, unfilled: int, cum_qty: int, cum_amount: int,
                        exec_no: str, exec_price: int, exec_qty: int, fee_cum: int,
                        tax_cum: int, screen: str, ts_ns: int, last: int, bid: int, ask: int,
                        ref: int, reject_reason: str = "0") -> dict[int, str]:
    filled = bool(exec_no)
    return {
        9201: account, 9203: order_no_str(order_no), 9205: "", 9001: "A" + code, 912: "JJ",
        913: status, 302: pad_name(name), 900: str(order_qty), 901: str(order_price),
        902: str(unfilled), 903: str(cum_amount), 904: order_no_str(orig_no), 905: kind,
        906: TRADE_KIND.get(style, "") if "취소" not in kind else "",
        907: "1" if side == "sell" else "2", 908: hhmmss(ts_ns), 909: exec_no,
        910: str(exec_price) if filled else "", 911: str(cum_qty) if cum_qty or filled else "",
        10: signed(last, ref), 27: signed(ask, ref), 28: signed(bid, ref),
        914: str(exec_price) if filled else "", 915: str(exec_qty) if filled else "",
        938: str(fee_cum), 939: str(tax_cum), 919: reject_reason, 920: screen, 921: "",
        922: "00", 923: "00000000", 949: "3", 10010: "", 969: "0", 819: "0",
    }


def price_limits(ref: int) -> tuple[int, int]:
    """(lower, upper) daily price limits: ±30% of the reference, snapped inside the grid."""
    if ref <= 0:
        return 0, 0
    return round_to_tick(ref * 7 // 10, up=True), round_to_tick(ref * 13 // 10)


def chejan_balance_record(*, account: str, code: str, name: str, holding: int, avg_price: int,
                          total_cost: int, orderable: int, net_buy_today: int, side: str,
                          realized_today: int, last: int, bid: int, ask: int,
                          ref: int) -> dict[int, str]:
    change = last - ref if (ref and last) else 0
    lower, upper = price_limits(ref)
    return {
        9201: account, 9001: "A" + code, 917: "00", 916: "00000000", 302: pad_name(name),
        10: signed(last, ref), 930: str(holding), 931: str(avg_price), 932: str(total_cost),
        933: str(orderable), 945: str(net_buy_today), 946: "1" if side == "sell" else "2",
        950: str(realized_today), 951: "0", 27: signed(ask, ref), 28: signed(bid, ref),
        307: str(ref), 8019: "0.00", 957: "0", 958: "0", 918: "00000000",
        990: str(realized_today), 991: "0.00", 992: "0", 993: "0.00", 959: "0", 924: "0",
        10010: "", 25: "2" if change > 0 else ("5" if change < 0 else "3"),
        11: signed_delta(change), 12: f"{change * 100 / ref:+.2f}" if ref else "0.00",
        306: signed(lower, ref), 305: signed(upper, ref), 970: "0",
    }


def tr_code(side_or_action: str, market: str) -> str:
    """The order TR names pykiwoom sees (KOSDAQ codes use KQ)."""
    mk = "KQ" if market == "KOSDAQ" else "KP"
    return {"buy": f"KOA_NORMAL_BUY_{mk}_ORD", "sell": f"KOA_NORMAL_SELL_{mk}_ORD",
            "cancel": f"KOA_NORMAL_{mk}_CANCEL"}.get(side_or_action, f"KOA_NORMAL_{mk}_MODIFY")


# --- account TRs (field names as KOA lists them; numbers zero-padded like the control's) ---
TR_HOLDINGS = "opw00018"      # 계좌평가잔고내역요청
TR_OPEN_ORDERS = "opt10075"   # 실시간미체결요청
TR_EXECUTIONS = "opt10076"    # 실시간체결요청
ROWS_PER_PAGE = 20            # rows per reply; more come with prev_next = "2"


def _num(v: int) -> str:
    return f"{v:015d}" if v >= 0 else f"-{-v:014d}"


def holding_row(code: str, name: str, qty: int, orderable: int, avg_price: int,
                last: int) -> dict[str, str]:
    return {"종목번호": "A" + code, "종목명": pad_name(name), "보유수량": _num(qty),
            "매매가능수량": _num(orderable), "매입가": _num(avg_price), "현재가": _num(last),
            "매입금액": _num(avg_price * qty), "평가금액": _num(last * qty)}


def holdings_summary(rows: list[dict[str, str]]) -> dict[str, str]:
    total = sum(int(r["매입금액"]) for r in rows)
    return {"총매입금액": _num(total), "조회건수": f"{len(rows):04d}"}


def execution_row(o: EmuOrder, name: str) -> dict[str, str]:
    """``o``: an EmuOrder of the day with fills. 체결가 is their average, truncated to the won
    as an integer field must be."""
    return {"주문번호": order_no_str(o.order_no), "종목명": pad_name(name), "종목코드": o.code,
            "주문구분": "+매수" if o.side == "buy" else "-매도", "주문가격": _num(o.price),
            "주문수량": _num(o.qty), "체결가": _num(o.cum_amount // o.cum_qty), "체결량": _num(o.cum_qty),
            "미체결수량": _num(o.leaves), "당일매매수수료": _num(o.fee_cum), "당일매매세금": _num(o.tax_cum),
            "주문상태": "체결", "매매구분": TRADE_KIND.get(o.style, "보통"), "원주문번호": order_no_str(0),
            "주문시간": hhmmss(o.created_ns)}


def open_order_row(account: str, o: EmuOrder, name: str) -> dict[str, str]:
    """``o``: an EmuOrder still working at the broker."""
    return {"계좌번호": account, "주문번호": order_no_str(o.order_no), "종목코드": o.code,
            "주문상태": "접수", "종목명": pad_name(name), "주문수량": _num(o.qty),
            "주문가격": _num(o.price), "미체결수량": _num(o.leaves),
            "체결누계금액": _num(o.cum_amount), "원주문번호": order_no_str(0),
            "주문구분": "+매수" if o.side == "buy" else "-매도",
            "매매구분": TRADE_KIND.get(o.style, "보통"),
            "시간": hhmmss(o.created_ns), "체결량": _num(o.cum_qty)}
