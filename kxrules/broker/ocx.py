"""The OpenAPI+ control surface (``OcxLike``): methods and events by their own names.

Events are exposed the way ``QAxWidget`` exposes them, as attributes with ``connect(handler)``;
the real control hands over the Qt signals, the emulator uses :class:`Signal`. Handler signatures
(the control's own):

- ``OnEventConnect(nErrCode: int)``
- ``OnReceiveTrData(sScrNo, sRQName, sTrCode, sRecordName, sPrevNext, nDataLength, sErrorCode,
  sMessage, sSplmMsg)``
- ``OnReceiveRealData(sRealKey, sRealType, sRealData)``
- ``OnReceiveMsg(sScrNo, sRQName, sTrCode, sMsg)``
- ``OnReceiveChejanData(sGubun, nItemCnt, sFIdList)``

Data getters (``GetCommData``, ``GetCommRealData``, ``GetChejanData``) answer for the event being
delivered, as the control does.
"""
from __future__ import annotations

from typing import Any, Callable, Protocol, runtime_checkable

class Signal:
    """A minimal Qt-signal look-alike: ``connect``, ``disconnect``, ``emit`` (synchronous)."""

    __slots__ = ("_handlers",)

    def __init__(self) -> None:
        self._handlers: list[Callable[..., Any]] = []

    def connect(self, fn: Callable[..., Any]) -> None:
        self._handlers.append(fn)

    def disconnect(self, fn: Callable[..., Any] | None = None) -> None:
        if fn is None:
            self._handlers.clear()
        else:
            self._handlers.remove(fn)

    def emit(self, *args: Any) -> None:
        for fn in tuple(self._handlers):
            fn(*args)

    def __len__(self) -> int:
        return len(self._handlers)


class EventSource(Protocol):
    def connect(self, fn: Callable[..., Any]) -> Any: ...


@runtime_checkable
class OcxLike(Protocol):
    @property
    def OnEventConnect(self) -> EventSource: ...

    @property
    def OnReceiveTrData(self) -> EventSource: ...

    @property
    def OnReceiveRealData(self) -> EventSource: ...

    @property
    def OnReceiveMsg(self) -> EventSource: ...

    @property
    def OnReceiveChejanData(self) -> EventSource: ...

    def CommConnect(self) -> int: ...

    def GetConnectState(self) -> int: ...

    def GetLoginInfo(self, tag: str) -> str: ...

    def KOA_Functions(self, name: str, param: str) -> str: ...

    def GetMasterStockState(self, code: str) -> str: ...

    def GetMasterConstruction(self, code: str) -> str: ...

    def SetRealReg(self, screen: str, codes: str, fids: str, opt: str) -> int: ...

    def SetRealRemove(self, screen: str, code: str) -> None: ...

    def DisconnectRealData(self, screen: str) -> None: ...

    def GetCommRealData(self, code: str, fid: int) -> str: ...

    def SendOrder(self, rqname: str, screen: str, account: str, order_type: int, code: str,
                  qty: int, price: int, hoga: str, orig_order_no: str) -> int: ...

    def SetInputValue(self, item: str, value: str) -> None: ...

    def CommRqData(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int: ...

    def GetCommData(self, trcode: str, rqname: str, index: int, item: str) -> str: ...

    def GetRepeatCnt(self, trcode: str, rqname: str) -> int: ...

    def GetChejanData(self, fid: int) -> str: ...


def split_list(s: str) -> list[str]:
    """``"a;b;"`` -> ``["a", "b"]`` (the control's ``;``-separated lists, trailing ``;`` allowed)."""
    return [p for p in s.split(";") if p]
