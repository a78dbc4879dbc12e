"""WebSocket messages of the REST API -> ints and small records (the real frames in
``tests/broker/fixtures/rest/`` are parsed by these). Junk raises ``ValueError``; the adapter counts
and drops it.

A message is ``{"trnm": "REAL", "data": [{"type", "name", "item", "values": {"41": "+6500", ...}}]}``;
``values`` holds the same FIDs, as strings, that the OpenAPI+ control's real data and Chejan carry
(official ``kiwoom/core/fid.py``), so the OCX parsers serve for ``00`` 주문체결 and ``04`` 잔고.
"""
from __future__ import annotations

import json
from typing import Any, Callable

from .. import fids as F
from ..parsing import (ChejanBalance, ChejanOrder, parse_chejan_balance, parse_chejan_order,
                       strip_code, to_int)


def decode(text: str | bytes) -> dict[str, Any]:
    msg = json.loads(text)
    if not isinstance(msg, dict):
        raise ValueError("a WebSocket message is a JSON object")
    return msg


def getter(values: dict[str, str]) -> Callable[[int], str]:
    def get(fid: int) -> str:
        v = values.get(str(fid), "")
        return v if isinstance(v, str) else str(v)
    return get


def top_of_book(values: dict[str, str]) -> tuple[int, int, int, int]:
    """0D 호가잔량 -> (bid, ask, bid_qty, ask_qty); prices carry a sign against the close."""
    bid = abs(to_int(values["51"]))
    ask = abs(to_int(values["41"]))
    bid_qty = to_int(values["71"])
    ask_qty = to_int(values["61"])
    if bid_qty < 0 or ask_qty < 0:
        raise ValueError("negative size")
    return bid, ask, bid_qty, ask_qty


def last_trade(values: dict[str, str]) -> tuple[int, int]:
    """0B 주식체결 -> (price, signed qty)."""
    return abs(to_int(values[str(F.LAST_PRICE)])), to_int(values[str(F.TRADE_QTY)])


def session_code(values: dict[str, str]) -> str:
    code = str(values.get(str(F.SESSION_CODE), "")).strip()
    if len(code) != 1:
        raise ValueError(f"bad 215 {code!r}")
    return code


def vi_state(values: dict[str, str], item: str) -> tuple[str, bool]:
    """1h VI발동/해제 -> (6-digit code, active); 9001 may carry an A/Q prefix or a suffix."""
    flag = str(values.get(str(F.VI_GUBUN), "")).strip()
    code = strip_code(str(values.get(str(F.CODE), "")) or item).split("_")[0]
    if code[:1] in ("A", "Q") and len(code) == 7:
        code = code[1:]
    if flag not in ("1", "2") or not code:
        raise ValueError(f"bad VI frame 9068={flag!r}")
    return code, flag == "1"


def order_event(values: dict[str, str]) -> ChejanOrder:
    return parse_chejan_order(getter(values))


def balance_event(values: dict[str, str]) -> ChejanBalance:
    return parse_chejan_balance(getter(values))
