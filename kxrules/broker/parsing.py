"""Strings from the control -> ints and small records. Junk raises ``ValueError`` (callers count
and drop it); nothing here crashes on a bad string otherwise.

Conventions (domain note §4/§5): price-type fields carry ``+``/``-`` against the previous close,
clients take ``abs(int(x))``; ``"-0"`` is an empty level; FID 910 체결가 is unsigned; FID 9001
carries an ``A`` prefix in Chejan (``A005930``); order numbers are zero-padded (``0008048``) and
``0000000`` in FID 904 means "no original order".
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .. import seoul
from . import fids as F


def to_int(s: str) -> int:
    """Strict-enough int: ``int()`` but no ``_`` separators and no empty strings."""
    v = int(s)
    if "_" in s:
        raise ValueError(f"not a number: {s!r}")
    return v


def parse_price(s: str) -> int:
    """Signed price string -> KRW (``"+6500"`` -> 6500, ``"-0"`` -> 0)."""
    return abs(to_int(s))


def parse_qty(s: str) -> int:
    """Unsigned quantity; a negative value is junk."""
    v = to_int(s)
    if v < 0:
        raise ValueError(f"negative quantity: {s!r}")
    return v


def parse_int_or(s: str, default: int = 0) -> int:
    """Lenient int for optional fields: empty -> default; junk still raises."""
    s = s.strip()
    return default if s == "" else to_int(s)


def strip_code(s: str) -> str:
    """``"A005930"`` / ``" 005930 "`` -> ``"005930"``."""
    s = s.strip()
    if len(s) == 7 and s[0] == "A":
        return s[1:]
    return s


def norm_order_no(s: str) -> str:
    """Order-number key: digits without leading zeros; ``""`` for empty or ``0000000``."""
    s = s.strip()
    if not s:
        return ""
    if not s.isdigit():
        raise ValueError(f"bad order number: {s!r}")
    return s.lstrip("0")


def hhmmss(ts_ns: int) -> str:
    """Epoch ns -> KST ``HHMMSS`` (FID 20/21/908 format)."""
    sec = seoul.seconds_of_day(ts_ns)
    return f"{sec // 3600:02d}{sec // 60 % 60:02d}{sec % 60:02d}"


@dataclass(slots=True)
class ChejanOrder:
    """A gubun-0 주문체결 record with the fields the adapter uses."""

    order_no: str  # normalised (no leading zeros)
    order_no_raw: str
    status: str  # 913
    code: str
    side: str  # 'buy' | 'sell' (907: 1 매도, 2 매수)
    kind: str  # 905 as sent (+매수, -매도, 매수취소, ...)
    is_cancel: bool
    is_modify: bool
    order_qty: int  # 900
    unfilled: int  # 902
    orig_no: str  # 904, normalised ("" for none)
    exec_no: str  # 909
    exec_price: int  # 914 (unit) or 910
    exec_qty: int  # 915 (unit fill qty), 0 if absent
    cum_qty: int  # 911
    fee: int  # 938
    tax: int  # 939
    screen: str  # 920
    reject_reason: str  # 919


def parse_chejan_order(get: Callable[[int], str]) -> ChejanOrder:
    raw_no = get(F.ORDER_NO).strip()
    status = get(F.ORDER_STATUS).strip()
    kind = get(F.ORDER_KIND).strip()
    side_s = get(F.SIDE_GUBUN).strip()
    if side_s == "1":
        side = "sell"
    elif side_s == "2":
        side = "buy"
    elif "매도" in kind:
        side = "sell"
    elif "매수" in kind:
        side = "buy"
    else:
        raise ValueError(f"no side in 907={side_s!r} 905={kind!r}")
    if not status:
        raise ValueError("empty 913 status")
    order_no = norm_order_no(raw_no)
    if not order_no:
        raise ValueError("empty order number")
    unit_price = parse_int_or(get(F.UNIT_EXEC_PRICE))
    return ChejanOrder(
        order_no=order_no,
        order_no_raw=raw_no,
        status=status,
        code=strip_code(get(F.CODE)),
        side=side,
        kind=kind,
        is_cancel="취소" in kind,
        is_modify="정정" in kind,
        order_qty=parse_qty(get(F.ORDER_QTY).strip() or "0"),
        unfilled=parse_qty(get(F.UNFILLED_QTY).strip() or "0"),
        orig_no=norm_order_no(get(F.ORIG_ORDER_NO)),
        exec_no=get(F.EXEC_NO).strip(),
        exec_price=abs(unit_price) or abs(parse_int_or(get(F.EXEC_PRICE))),
        exec_qty=abs(parse_int_or(get(F.UNIT_EXEC_QTY))),
        cum_qty=abs(parse_int_or(get(F.EXEC_QTY))),
        fee=abs(parse_int_or(get(F.FEE))),
        tax=abs(parse_int_or(get(F.TAX))),
        screen=get(F.SCREEN_NO).strip(),
        reject_reason=get(F.REJECT_REASON).strip(),
    )


@dataclass(slots=True)
class ChejanBalance:
    code: str
    holding_qty: int
    orderable_qty: int
    avg_price: int


def parse_chejan_balance(get: Callable[[int], str]) -> ChejanBalance:
    code = strip_code(get(F.CODE))
    if not code:
        raise ValueError("balance without a code")
    return ChejanBalance(
        code=code,
        holding_qty=parse_qty(get(F.HOLDING_QTY).strip() or "0"),
        orderable_qty=parse_qty(get(F.ORDERABLE_QTY).strip() or "0"),
        avg_price=abs(parse_int_or(get(F.AVG_PRICE))),
    )


def session_venue(code215: str) -> str:
    """FID 215 value -> venue: digits are KRX codes, letters P..W are NXT (REST guide)."""
    c = code215.strip()
    return "NXT" if c[:1] in ("P", "Q", "R", "S", "T", "U", "V", "W") else "KRX"
