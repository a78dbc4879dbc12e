"""A scripted OcxLike for replaying recorded strings through the adapter, event by event."""
from __future__ import annotations

from typing import Any

from kxrules.broker.ocx import Signal


class ScriptedOcx:
    """Records calls; the test decides which events arrive, in which order, with which strings."""

    def __init__(self, account: str = "8012345611", send_result: int = 0):
        self.OnEventConnect = Signal()
        self.OnReceiveTrData = Signal()
        self.OnReceiveRealData = Signal()
        self.OnReceiveMsg = Signal()
        self.OnReceiveChejanData = Signal()
        self.account = account
        self.send_result = send_result
        self.sent: list[tuple] = []
        self.realreg: list[tuple] = []
        self.koa: list[tuple[str, str]] = []
        self._real: tuple[str, dict[int, str]] | None = None
        self._chejan: dict[int, str] | None = None
        self._tr: dict[str, str] | None = None

    # methods
    def CommConnect(self) -> int:
        return 0

    def GetConnectState(self) -> int:
        return 1

    def GetLoginInfo(self, tag: str) -> str:
        return self.account + ";" if tag in ("ACCNO", "ACCLIST") else ""

    def KOA_Functions(self, name: str, param: str) -> str:
        self.koa.append((name, param))
        return "1" if name == "GetServerGubun" else ""

    def GetMasterStockState(self, code: str) -> str:
        return "증거금20%|담보대출|신용가능"

    def GetMasterConstruction(self, code: str) -> str:
        return "정상"

    def SetRealReg(self, screen, codes, fids, opt) -> int:
        self.realreg.append((screen, codes, fids, opt))
        return 0

    def SetRealRemove(self, screen, code) -> None:
        pass

    def DisconnectRealData(self, screen) -> None:
        pass

    def GetCommRealData(self, code: str, fid: int) -> str:
        if self._real is None or self._real[0] != code:
            return ""
        return self._real[1].get(int(fid), "")

    def SendOrder(self, *args: Any) -> int:
        self.sent.append(args)
        return self.send_result

    def SetInputValue(self, item, value) -> None:
        pass

    def CommRqData(self, *args) -> int:
        return 0

    def GetCommData(self, trcode, rqname, index, item) -> str:
        return "" if self._tr is None else self._tr.get(item.strip(), "")

    def GetChejanData(self, fid: int) -> str:
        return "" if self._chejan is None else self._chejan.get(int(fid), "")

    # scripted events
    def login(self, err: int = 0) -> None:
        self.OnEventConnect.emit(err)

    def real(self, key: str, rtype: str, values: dict) -> None:
        self._real = (key, {int(k): v for k, v in values.items()})
        try:
            self.OnReceiveRealData.emit(key, rtype, "")
        finally:
            self._real = None

    def tr(self, rqname: str, order_no: str, trcode: str = "KOA_NORMAL_BUY_KP_ORD",
           screen: str = "0101") -> None:
        self._tr = {"주문번호": order_no}
        try:
            self.OnReceiveTrData.emit(screen, rqname, trcode, "", "", 0, "", "", "")
        finally:
            self._tr = None

    def msg(self, rqname: str, text: str, screen: str = "0101") -> None:
        self.OnReceiveMsg.emit(screen, rqname, "KOA_NORMAL_BUY_KP_ORD", text)

    def chejan(self, gubun: str, values: dict) -> None:
        rec = {int(k): v for k, v in values.items() if str(k).isdigit()}
        self._chejan = rec
        try:
            self.OnReceiveChejanData.emit(gubun, len(rec), ";".join(str(k) for k in rec))
        finally:
            self._chejan = None
