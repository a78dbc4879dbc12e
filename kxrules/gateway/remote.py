"""``RemoteControl``: the engine's side of the gateway, an ``OcxLike`` the adapter cannot tell apart.

Calls go over the wire and wait for their return value; events arrive as the records
``capture`` made and are replayed through the same ``Signal``s the emulator uses, with the
getters answering from the shipped values while the event is delivered, exactly as the control
does. An event that arrives while a call waits is held and delivered after the call returns, so
the engine never re-enters itself.
"""
from __future__ import annotations

from collections import deque
from typing import Any, Callable, Protocol

from ..broker.errors import OP_ERR_SOCKET_CLOSED
from ..broker.fids import ADAPTER_REAL_READS, ORDER_TR_ITEMS, TR_ROW_ITEMS
from ..broker.ocx import Signal
from .wire import Connection, WireError


# what each call answers once the gateway is gone: what the control answers when disconnected
_WHEN_GONE: dict[str, Any] = {"GetConnectState": 0, "GetLoginInfo": "", "KOA_Functions": "",
                              **dict.fromkeys(("CommConnect", "SetRealReg", "SendOrder", "CommRqData"),
                                              OP_ERR_SOCKET_CLOSED)}

# the calls of a login (the adapter asks GetConnectState first): when to look for the gateway again
_LOGIN_CALLS = frozenset({"GetConnectState", "CommConnect"})


class Reattach(Protocol):
    """Who finds the gateway again after it went away (``runtime.gateway_supervisor``)."""
    def reconnect(self) -> Connection | None: ...
    def lost(self, why: str) -> None: ...
    def connected_again(self) -> None: ...


class RemoteControl:
    def __init__(self, conn: Connection, *, on_frame: Callable[[dict], None] | None = None,
                 reattach: Reattach | None = None):
        self.conn = conn
        self.on_frame = on_frame          # frames that are not events (the lockstep host's)
        self.reattach = reattach          # None: a lost gateway stays lost for this session
        self.OnEventConnect = Signal()
        self.OnReceiveTrData = Signal()
        self.OnReceiveRealData = Signal()
        self.OnReceiveMsg = Signal()
        self.OnReceiveChejanData = Signal()
        self.held: deque[list] = deque()
        self._call_id = 0
        self._real: tuple[str, dict[int, str]] | None = None
        self._chejan: dict[int, str] = {}
        self._tr: tuple[str, str, dict[str, str], list[list[str]], tuple[str, ...]] | None = None
        self.events = 0
        self.dead: str | None = None      # why the gateway is gone (calls then fail like a dropped session)

    # -- calls -----------------------------------------------------------------------------------
    def gone(self, why: str) -> None:
        """The gateway is unreachable: the engine sees the session drop (OnEventConnect -106),
        and every call fails as the control's do when disconnected."""
        if self.dead is None:
            self.dead = why
            self.held.append(["C", OP_ERR_SOCKET_CLOSED])
            self.conn.close()
            if self.reattach is not None:
                self.reattach.lost(why)

    def _call(self, method: str, *args: Any) -> Any:
        if self.dead is not None and method in _LOGIN_CALLS and self.reattach is not None:
            conn = self.reattach.reconnect()     # the engine logs in again: find the gateway first
            if conn is not None:
                self.conn, self.dead = conn, None
                self.reattach.connected_again()
        if self.dead is None:
            try:
                return self._exchange(method, args)
            except (WireError, OSError) as exc:
                self.gone(f"{method}: {exc}")
        return _WHEN_GONE.get(method)

    def _exchange(self, method: str, args: tuple) -> Any:
        self._call_id += 1
        self.conn.send({"t": "call", "id": self._call_id, "m": method, "a": list(args)})
        while True:
            frame = self.conn.recv()
            kind = frame.get("t")
            if kind == "ret" and frame.get("id") == self._call_id:
                if "error" in frame:
                    raise WireError(f"{method}: {frame['error']}")
                return frame.get("r")
            if kind == "events":
                self.held.extend(frame["ev"])
            elif self.on_frame is not None:
                self.on_frame(frame)

    def CommConnect(self) -> int:
        return self._call("CommConnect")

    def GetConnectState(self) -> int:
        return self._call("GetConnectState")

    def GetLoginInfo(self, tag: str) -> str:
        return self._call("GetLoginInfo", tag)

    def KOA_Functions(self, name: str, param: str) -> str:
        return self._call("KOA_Functions", name, param)

    def SetRealReg(self, screen: str, codes: str, fids: str, opt: str) -> int:
        return self._call("SetRealReg", screen, codes, fids, opt)

    def SetRealRemove(self, screen: str, code: str) -> None:
        self._call("SetRealRemove", screen, code)

    def DisconnectRealData(self, screen: str) -> None:
        self._call("DisconnectRealData", screen)

    def SendOrder(self, rqname: str, screen: str, account: str, order_type: int, code: str,
                  qty: int, price: int, hoga: str, orig_order_no: str) -> int:
        return self._call("SendOrder", rqname, screen, account, order_type, code, qty, price, hoga,
                          orig_order_no)

    def SetInputValue(self, item: str, value: str) -> None:
        self._call("SetInputValue", item, value)

    def CommRqData(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int:
        return self._call("CommRqData", rqname, trcode, prev_next, screen)

    def close(self) -> None:
        """Tell the gateway the session is over and hang up."""
        if self.dead is not None:
            return
        try:
            self.conn.send({"t": "bye"})
            while self.conn.recv().get("t") != "bye":
                pass
        except (WireError, OSError):
            pass
        self.conn.close()

    # -- getters: the event being delivered -------------------------------------------------------
    def GetCommRealData(self, code: str, fid: int) -> str:
        cur = self._real
        if cur is None or cur[0] != code:
            return ""
        return cur[1].get(int(fid), "")

    def GetChejanData(self, fid: int) -> str:
        return self._chejan.get(int(fid), "")

    def GetRepeatCnt(self, trcode: str, rqname: str) -> int:
        cur = self._tr
        return 0 if cur is None or cur[0] != trcode or cur[1] != rqname else len(cur[3])

    def GetCommData(self, trcode: str, rqname: str, index: int, item: str) -> str:
        cur = self._tr
        if cur is None or cur[0] != trcode or cur[1] != rqname:
            return ""
        item = item.strip()
        rows, items = cur[3], cur[4]
        if item in items and 0 <= index < len(rows):
            return rows[index][items.index(item)]
        return cur[2].get(item, "")

    # -- events ----------------------------------------------------------------------------------
    def deliver(self, records: list) -> None:
        """Replay event records (and any held during a call) through the signals, in order."""
        self.held.extend(records)
        held = self.held
        while held:
            self._deliver_one(held.popleft())

    def _deliver_one(self, rec: list) -> None:
        self.events += 1
        kind = rec[0]
        if kind == "R":
            _, key, rtype, values, data = rec
            fids = ADAPTER_REAL_READS.get(rtype, ())
            self._real = (key, dict(zip(fids, values or ())))
            try:
                self.OnReceiveRealData.emit(key, rtype, data)
            finally:
                self._real = None
        elif kind == "J":
            self._chejan = rec[2]
            try:
                self.OnReceiveChejanData.emit(rec[1], len(rec[2]), ";".join(map(str, rec[2])))
            finally:
                self._chejan = {}
        elif kind == "T":
            _, screen, rqname, trcode, prev_next, single, rows = rec
            self._tr = (trcode, rqname, single, rows, TR_ROW_ITEMS.get(trcode, ORDER_TR_ITEMS))
            try:
                self.OnReceiveTrData.emit(screen, rqname, trcode, "", prev_next, 0, "", "", "")
            finally:
                self._tr = None
        elif kind == "M":
            self.OnReceiveMsg.emit(*rec[1:5])
        elif kind == "C":
            self.OnEventConnect.emit(rec[1])
