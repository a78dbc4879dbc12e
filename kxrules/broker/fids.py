"""FID numbers, real-type names and the FID order in which the control lays out each real type.

The orders are the KOA tables (koapy ``realtype_by_desc.json``); the emulator builds
``sRealData`` in these orders and answers ``GetCommRealData`` from the same record. The Chejan
lists are the ones recorded from a real session (koapy tutorial, 2022; the 2024 capture uses the
same gubun-0 list).
"""
from __future__ import annotations

# --- real-type names (sRealType as the control sends it) ---
RT_HOGA = "주식호가잔량"  # 0D
RT_TRADE = "주식체결"  # 0B
RT_SESSION = "장시작시간"  # 0s
RT_VI = "VI발동/해제"  # 1h

# --- market data ---
HOGA_TIME = 21
ASK1, BID1 = 41, 51
ASK1_QTY, BID1_QTY = 61, 71
ASK_TOTAL, BID_TOTAL = 121, 125
TRADE_TIME = 20
LAST_PRICE = 10
CHANGE = 11
CHANGE_RATE = 12
BEST_ASK, BEST_BID = 27, 28
TRADE_QTY = 15  # signed: + buyer-initiated, - seller-initiated [3p]
CUM_VOLUME = 13
SIGN = 25
SESSION_CODE = 215  # 장운영구분
SESSION_REMAIN = 214
EXCHANGE_GUBUN = 9081  # REST-only 거래소구분

# --- VI ---
CODE = 9001
NAME = 302
VI_GUBUN = 9068  # 1 발동, 2 해제 [3p]
VI_TRIGGER_PRICE = 1221
VI_MATCH_TIME = 1223
VI_RELEASE_TIME = 1224
VI_KIND = 1225
VI_DIRECTION = 9069

# --- Chejan gubun 0 (주문체결) ---
ACCOUNT = 9201
ORDER_NO = 9203
ORDER_STATUS = 913  # 접수 / 체결 / 확인 (/ 거부 [unconfirmed])
ORDER_QTY = 900
ORDER_PRICE = 901
UNFILLED_QTY = 902
CUM_AMOUNT = 903
ORIG_ORDER_NO = 904
ORDER_KIND = 905  # +매수, -매도, 매수취소, 매도취소, +매수정정, -매도정정
TRADE_KIND = 906  # 보통 / 시장가 / ...
SIDE_GUBUN = 907  # 1 매도, 2 매수
ORDER_TIME = 908  # HHMMSS
EXEC_NO = 909
EXEC_PRICE = 910  # unsigned
EXEC_QTY = 911  # cumulative for the order
UNIT_EXEC_PRICE = 914
UNIT_EXEC_QTY = 915
FEE = 938  # 당일매매수수료
TAX = 939  # 당일매매세금
REJECT_REASON = 919
SCREEN_NO = 920

# --- Chejan gubun 1 (잔고) ---
HOLDING_QTY = 930
AVG_PRICE = 931
TOTAL_BUY_AMOUNT = 932
ORDERABLE_QTY = 933
NET_BUY_QTY = 945
BAL_SIDE = 946

HOGA_FIDS: tuple[int, ...] = (
    21, 41, 61, 81, 51, 71, 91, 42, 62, 82, 52, 72, 92, 43, 63, 83, 53, 73, 93,
    44, 64, 84, 54, 74, 94, 45, 65, 85, 55, 75, 95, 46, 66, 86, 56, 76, 96,
    47, 67, 87, 57, 77, 97, 48, 68, 88, 58, 78, 98, 49, 69, 89, 59, 79, 99,
    50, 70, 90, 60, 80, 100, 121, 122, 125, 126, 23, 24, 128, 129, 138, 139,
    200, 201, 238, 291, 292, 293, 294, 295, 621, 631, 622, 632, 623, 633, 624, 634,
    625, 635, 626, 636, 627, 637, 628, 638, 629, 639, 630, 640, 13, 299, 215, 216,
)
TRADE_FIDS: tuple[int, ...] = (
    20, 10, 11, 12, 27, 28, 15, 13, 14, 16, 17, 18, 25, 26, 29, 30, 31, 32, 228, 311,
    290, 691, 822, 567, 568, 851, 1890, 1891, 1892, 1030, 1031, 1032, 1071, 1072,
    1313, 1315, 1316, 1314, 1497, 1498, 620, 732,
)
SESSION_FIDS: tuple[int, ...] = (215, 20, 214)
VI_FIDS: tuple[int, ...] = (
    9001, 302, 13, 14, 9068, 9008, 9075, 1221, 1223, 1224, 1225, 1236, 1237, 1238, 1239,
    1489, 1490, 9069, 1279,
)

REAL_TYPE_FIDS: dict[str, tuple[int, ...]] = {
    RT_HOGA: HOGA_FIDS,
    RT_TRADE: TRADE_FIDS,
    RT_SESSION: SESSION_FIDS,
    RT_VI: VI_FIDS,
}

#: FIDs whose registration makes the control deliver the real type. FIDs shared between types
#: (13, 20, 215 in 0D, ...) are left out so that registering one type does not pull in another.
REAL_TYPE_TRIGGERS: dict[str, frozenset[int]] = {
    RT_HOGA: frozenset(range(41, 81)) | {21, 121, 125},
    RT_TRADE: frozenset({10, 11, 12, 15, 27, 28, 228}),
    RT_SESSION: frozenset({215, 214}),
    RT_VI: frozenset({9068, 1221, 1224, 1225, 9069}),
}
#: The FIDs the adapter reads of each real type: all a gateway needs to ship for the engine.
ADAPTER_REAL_READS: dict[str, tuple[int, ...]] = {
    RT_HOGA: (ASK1, BID1, ASK1_QTY, BID1_QTY),
    RT_TRADE: (LAST_PRICE, TRADE_QTY),
    RT_SESSION: (SESSION_CODE, TRADE_TIME, SESSION_REMAIN),
    RT_VI: (CODE, VI_GUBUN, VI_TRIGGER_PRICE, VI_KIND, VI_RELEASE_TIME),
}
#: What the adapter reads of each TR reply (row items; the order TRs' single item): all a
#: gateway needs to ship. Item names as the control's GetCommData takes them.
TR_ROW_ITEMS: dict[str, tuple[str, ...]] = {
    "opw00018": ("종목번호", "보유수량", "매매가능수량", "매입가"),
    "opt10075": ("주문번호", "종목코드", "주문구분", "주문수량", "주문가격", "미체결수량"),
    "opt10076": ("주문번호", "종목코드", "주문구분", "주문수량", "체결가", "체결량", "당일매매수수료", "당일매매세금"),
}
ORDER_TR_ITEMS: tuple[str, ...] = ("주문번호",)
#: Real types delivered market-wide (not per code): a registration with an empty code list.
MARKET_WIDE_TYPES = frozenset({RT_SESSION, RT_VI})

CHEJAN_ORDER_FIDS: tuple[int, ...] = (
    9201, 9203, 9205, 9001, 912, 913, 302, 900, 901, 902, 903, 904, 905, 906, 907, 908,
    909, 910, 911, 10, 27, 28, 914, 915, 938, 939, 919, 920, 921, 922, 923, 949, 10010,
    969, 819,
)
CHEJAN_BALANCE_FIDS: tuple[int, ...] = (
    9201, 9001, 917, 916, 302, 10, 930, 931, 932, 933, 945, 946, 950, 951, 27, 28, 307,
    8019, 957, 958, 918, 990, 991, 992, 993, 959, 924, 10010, 25, 11, 12, 306, 305, 970,
)

# Order status strings (FID 913) and order kinds (FID 905).
ST_ACCEPTED = "접수"
ST_FILLED = "체결"
ST_CONFIRMED = "확인"
ST_CANCELLED = "취소"
ST_REJECTED = "거부"
