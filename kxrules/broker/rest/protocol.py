"""Kiwoom REST API facts (official repo `Kiwoom-Securities/Kiwoom-REST-API`; domain note §7):
paths, api-ids, error codes, the token's expiry format and the request bodies."""
from __future__ import annotations

import datetime as dt

from ... import seoul

PATH_TOKEN = "/oauth2/token"
PATH_REVOKE = "/oauth2/revoke"
PATH_ORDER = "/api/dostk/ordr"
PATH_ACCOUNT = "/api/dostk/acnt"
PATH_STOCK_INFO = "/api/dostk/stkinfo"
PATH_WEBSOCKET = "/api/dostk/websocket"

HOSTS = {
    "real": ("https://api.kiwoom.com", "wss://api.kiwoom.com:10000"),
    "mock": ("https://mockapi.kiwoom.com", "wss://mockapi.kiwoom.com:10000"),
}

API_BUY, API_SELL, API_MODIFY, API_CANCEL = "kt10000", "kt10001", "kt10002", "kt10003"
API_HOLDINGS, API_OPEN_ORDERS, API_EXECUTIONS = "kt00018", "ka10075", "ka10076"
# 종목정보: ka10099 리스트 (per market, ``list``, pages by cont-yn/next-key), ka10100 조회 (one code)
API_STOCK_LIST, API_STOCK_INFO = "ka10099", "ka10100"
STOCK_LIST = "list"
MARKET_TP = {"KOSPI": "0", "KOSDAQ": "10"}          # ka10099 mrkt_tp
MASTER_FIELDS = ("state", "auditInfo", "orderWarning", "nxtEnable")   # what the engine is told
ACCOUNT_API = {"holdings": API_HOLDINGS, "open_orders": API_OPEN_ORDERS, "executions": API_EXECUTIONS}

# kt00018 계좌평가잔고내역: 조회구분 2 = 개별; ka10075 미체결: all symbols, both sides, all venues
HOLDINGS_BODY = {"qry_tp": "2", "dmst_stex_tp": "KRX"}
OPEN_ORDERS_BODY = {"all_stk_tp": "0", "trde_tp": "0", "stk_cd": "", "stex_tp": "0"}
# ka10076 체결: every symbol (qry_tp 0), both sides (sell_tp 0), all venues (stex_tp 0)
EXECUTIONS_BODY = {"stk_cd": "", "qry_tp": "0", "sell_tp": "0", "ord_no": "", "stex_tp": "0"}
HOLDINGS_LIST, OPEN_ORDERS_LIST, EXECUTIONS_LIST = "acnt_evlt_remn_indv_tot", "oso", "cntr"
ACCOUNT_BODY = {"holdings": HOLDINGS_BODY, "open_orders": OPEN_ORDERS_BODY, "executions": EXECUTIONS_BODY}

# return_code values (kiwoom/core/errors.py)
RC_OK = 0
RC_RATE_LIMIT = 1700
RC_TOKEN_REISSUE = frozenset({8005, 8031, 8103})
RC_BAD_CREDENTIALS = frozenset({8001, 8002, 8011, 8012})
RC_BAD_SYMBOL = frozenset({1901, 1902})
# the adapter's own codes for what never reached the broker's answer (negative: not Kiwoom's)
RC_TRANSPORT = -1          # connection refused, reset, timeout: the outcome is unknown
RC_NOT_LOGGED_IN = -2      # no token (yet)

# WebSocket real-time types
RT_ORDER, RT_BALANCE, RT_TRADE, RT_HOGA = "00", "04", "0B", "0D"
RT_SESSION, RT_VI = "0s", "1h"


def parse_expires_dt(text: str) -> int:
    """``expires_dt`` ``YYYYMMDDHHMMSS`` (KST) -> epoch ns."""
    t = dt.datetime.strptime(text.strip(), "%Y%m%d%H%M%S")
    return seoul.epoch_ns(t.date(), t.hour * 3600 + t.minute * 60 + t.second)


def format_expires_dt(ts_ns: int) -> str:
    day = seoul.date_of(ts_ns)
    s = seoul.seconds_of_day(ts_ns)
    return f"{day:%Y%m%d}{s // 3600:02d}{s // 60 % 60:02d}{s % 60:02d}"


def order_body(venue_code: str, code: str, qty: int, price: int, trde_tp: str) -> dict[str, str]:
    """kt10000 / kt10001 (all values are strings, as in Kiwoom's examples)."""
    return {"dmst_stex_tp": venue_code, "stk_cd": code, "ord_qty": str(qty),
            "ord_uv": str(price) if price else "", "trde_tp": trde_tp, "cond_uv": ""}


def cancel_body(venue_code: str, orig_order_no: str, code: str, qty: int = 0) -> dict[str, str]:
    """kt10003: ``cncl_qty`` "0" cancels the whole remainder."""
    return {"dmst_stex_tp": venue_code, "orig_ord_no": orig_order_no, "stk_cd": code,
            "cncl_qty": str(qty)}
