"""The gateway's side of the control: read each event's data while the control answers, ship it.

The control's getters (``GetCommRealData``, ``GetChejanData``, ``GetCommData``) answer only
inside the event they belong to, so the handlers read everything the engine's adapter will ask
for right there and hand a compact record to ``emit``. Records are lists, the first element the
event kind:

- ``["C", err]``                                  OnEventConnect
- ``["R", key, real_type, values | None, data]``   OnReceiveRealData: the FIDs of
  ``ADAPTER_REAL_READS[real_type]`` in order (``data``, the raw sRealData, only for other types)
- ``["T", screen, rqname, trcode, prev_next, single, rows]``  OnReceiveTrData
- ``["M", screen, rqname, trcode, msg]``           OnReceiveMsg
- ``["J", gubun, {fid: value}]``                   OnReceiveChejanData: every FID it lists

Nothing here parses a value: the engine's ``KiwoomAdapter`` does, from the same strings.
"""
from __future__ import annotations

from typing import Any, Callable

from ..broker.fids import ADAPTER_REAL_READS, ORDER_TR_ITEMS, TR_ROW_ITEMS
from ..broker.ocx import split_list

Record = list


class ControlCapture:
    """Connects to a control's events and emits one record per event."""

    def __init__(self, control: Any, emit: Callable[[Record], None]):
        self.control = control
        self.emit = emit
        control.OnEventConnect.connect(self._on_connect)
        control.OnReceiveRealData.connect(self._on_real)
        control.OnReceiveTrData.connect(self._on_tr)
        control.OnReceiveMsg.connect(self._on_msg)
        control.OnReceiveChejanData.connect(self._on_chejan)

    def _on_connect(self, err: int) -> None:
        self.emit(["C", int(err)])

    def _on_real(self, key: str, rtype: str, data: str) -> None:
        fids = ADAPTER_REAL_READS.get(rtype)
        if fids is None:
            self.emit(["R", key, rtype, None, data])
            return
        get = self.control.GetCommRealData
        self.emit(["R", key, rtype, [get(key, f) for f in fids], ""])

    def _on_tr(self, screen: str, rqname: str, trcode: str, record: str = "", prev_next: str = "",
               *rest: Any) -> None:
        get = self.control.GetCommData
        items = TR_ROW_ITEMS.get(trcode)
        if items is None:
            single = {item: get(trcode, rqname, 0, item) for item in ORDER_TR_ITEMS}
            rows: list[list[str]] = []
        else:
            single = {}
            rows = [[get(trcode, rqname, i, item) for item in items]
                    for i in range(self.control.GetRepeatCnt(trcode, rqname))]
        self.emit(["T", screen, rqname, trcode, str(prev_next), single, rows])

    def _on_msg(self, screen: str, rqname: str, trcode: str, msg: str) -> None:
        self.emit(["M", screen, rqname, trcode, msg])

    def _on_chejan(self, gubun: str, count: int, fid_list: str) -> None:
        get = self.control.GetChejanData
        self.emit(["J", gubun, {int(f): get(int(f)) for f in split_list(fid_list)}])


#: Calls the engine may make, by the control's own names (nothing else is served).
CALLS = frozenset({"CommConnect", "GetConnectState", "GetLoginInfo", "KOA_Functions", "GetMasterStockState",
                   "GetMasterConstruction", "SetRealReg",
                   "SetRealRemove", "DisconnectRealData", "SendOrder", "SetInputValue", "CommRqData"})
