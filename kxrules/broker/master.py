"""A code's restrictions in the broker's master data: the names the engine will not trade.

OpenAPI+ answers ``GetMasterStockState(code)`` with ``|``-separated flags (``증거금100%|거래정지``,
``관리종목``, ``정리매매`` …) and ``GetMasterConstruction(code)`` with the 감리구분 (정상, 투자주의,
투자경고, 투자위험, 투자주의환기종목). The REST API's 종목정보 조회 (ka10100) answers ``state`` in
the same ``|`` form, ``auditInfo`` (the 감리구분) and ``orderWarning`` as a code (0 none, 1 ETF
투자주의요망, 2 정리매매, 3 단기과열, 4 투자위험, 5 투자경고); 종목정보 리스트 (ka10099) has the same
fields per row. A code the REST broker's master data does not answer for is ``UNREAD``.
"""
from __future__ import annotations

#: the restrictions that mute a symbol, most severe first (the first found is the reason shown)
RESTRICTIONS = ("거래정지", "정리매매", "관리종목", "투자위험", "투자경고")
#: ka10100 ``orderWarning`` codes that are restrictions (3 단기과열 is not one of them)
ORDER_WARNING = {"2": "정리매매", "4": "투자위험", "5": "투자경고"}
#: the reason a code is muted with when its master data could not be read (never traded unread)
UNREAD = "종목정보 미확인"


def restrictions(*texts: str) -> tuple[str, ...]:
    """The restrictions named anywhere in the master texts, in ``RESTRICTIONS`` order."""
    flags = [flag.strip() for text in texts for flag in (text or "").split("|")]
    return tuple(r for r in RESTRICTIONS if any(r in flag for flag in flags))


def rest_restrictions(row: dict[str, object]) -> tuple[str, ...]:
    """The restrictions of one ka10100 answer or ka10099 row (``state``, ``auditInfo``,
    ``orderWarning``), in ``RESTRICTIONS`` order."""
    warning = ORDER_WARNING.get(str(row.get("orderWarning", "")).strip(), "")
    return restrictions(str(row.get("state", "")), str(row.get("auditInfo", "")), warning)
