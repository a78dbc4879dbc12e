"""The real Kiwoom OpenAPI+ control, the way pykiwoom hosts it: a ``QAxWidget`` for
``KHOPENAPI.KHOpenAPICtrl.1`` inside the process's ``QApplication``, methods through
``dynamicCall``, events as the widget's Qt signals (which already have ``connect``).

Login flow (driven by :class:`~kxrules.broker.adapter.KiwoomAdapter`): ``CommConnect()`` opens
the login window or auto-logs-in -> ``OnEventConnect(0)`` -> ``GetLoginInfo("ACCNO")`` -> if the
venue map says so, ``KOA_Functions("ShowAccountWindow", "")`` for the account password.

pykiwoom / PyQt5 are imported only by :func:`require_real_control` and
:func:`open_kiwoom_control`; on any other system, or when they do not import (for any reason:
numpy 2 under pandas 2.0.3 raises ValueError), it raises :class:`BrokerUnavailable` naming the
fix or the emulator (``--broker sim``). :class:`KiwoomControl` itself only wraps an object with
``dynamicCall`` and signals, so it is tested with a fake.
"""
from __future__ import annotations

import struct
import sys
from typing import Any

from ..errors import BrokerUnavailable
from .imports import Importer, control_import_problems

PROG_ID = "KHOPENAPI.KHOpenAPICtrl.1"
UNAVAILABLE_HINT = ("Run the Kiwoom emulator instead: --broker sim (same adapter and order "
                    "flow; latencies, fills and faults from config/sim/default.yaml).")


def check_available(platform: str | None = None, pointer_bytes: int | None = None) -> None:
    """Raise :class:`BrokerUnavailable` unless this is a 32-bit Windows Python."""
    platform = sys.platform if platform is None else platform
    if platform != "win32":
        raise BrokerUnavailable(
            f"--broker kiwoom needs the Kiwoom OpenAPI+ control, a 32-bit Windows COM object; "
            f"this system is {platform!r}. {UNAVAILABLE_HINT}")
    bits = 8 * (struct.calcsize("P") if pointer_bytes is None else pointer_bytes)
    if bits != 32:
        raise BrokerUnavailable(
            f"--broker kiwoom needs a 32-bit Python for the OpenAPI+ control; this one is "
            f"{bits}-bit. {UNAVAILABLE_HINT}")


def require_real_control(platform: str | None = None, pointer_bytes: int | None = None,
                         importer: Importer | None = None) -> None:
    """Raise :class:`BrokerUnavailable` unless the real control can be created here: a 32-bit
    Windows Python in which pykiwoom and PyQt5's QAxContainer import. Any import failure counts,
    not only ImportError, and the message names its fix."""
    check_available(platform, pointer_bytes)
    problems = control_import_problems(importer)
    if problems:
        raise BrokerUnavailable(
            "--broker kiwoom cannot create the OpenAPI+ control: "
            + "; ".join(p.sentence() for p in problems) + f". {UNAVAILABLE_HINT}")


def open_kiwoom_control() -> "KiwoomControl":
    """Create the control inside the Qt application (creating the application if needed)."""
    require_real_control()
    from PyQt5.QAxContainer import QAxWidget  # pragma: no cover - Windows only
    from PyQt5.QtWidgets import QApplication  # pragma: no cover
    app = QApplication.instance() or QApplication(sys.argv)  # pragma: no cover
    widget = QAxWidget(PROG_ID)  # pragma: no cover
    return KiwoomControl(widget, app)  # pragma: no cover


class KiwoomControl:
    """``OcxLike`` over a QAxWidget (or anything with ``dynamicCall`` and the five signals)."""

    def __init__(self, widget: Any, app: Any = None):
        self.widget = widget
        self.app = app
        self.OnEventConnect = widget.OnEventConnect
        self.OnReceiveTrData = widget.OnReceiveTrData
        self.OnReceiveRealData = widget.OnReceiveRealData
        self.OnReceiveMsg = widget.OnReceiveMsg
        self.OnReceiveChejanData = widget.OnReceiveChejanData
        self._call = widget.dynamicCall

    def CommConnect(self) -> int:
        return int(self._call("CommConnect()"))

    def GetConnectState(self) -> int:
        return int(self._call("GetConnectState()"))

    def GetLoginInfo(self, tag: str) -> str:
        return str(self._call("GetLoginInfo(QString)", tag))

    def KOA_Functions(self, name: str, param: str) -> str:
        return str(self._call("KOA_Functions(QString, QString)", name, param))

    def GetMasterStockState(self, code: str) -> str:
        return str(self._call("GetMasterStockState(QString)", code))

    def GetMasterConstruction(self, code: str) -> str:
        return str(self._call("GetMasterConstruction(QString)", code))

    def SetRealReg(self, screen: str, codes: str, fids: str, opt: str) -> int:
        return int(self._call("SetRealReg(QString, QString, QString, QString)",
                              screen, codes, fids, opt))

    def SetRealRemove(self, screen: str, code: str) -> None:
        self._call("SetRealRemove(QString, QString)", screen, code)

    def DisconnectRealData(self, screen: str) -> None:
        self._call("DisconnectRealData(QString)", screen)

    def GetCommRealData(self, code: str, fid: int) -> str:
        return str(self._call("GetCommRealData(QString, int)", code, int(fid)))

    def SendOrder(self, rqname: str, screen: str, account: str, order_type: int, code: str,
                  qty: int, price: int, hoga: str, orig_order_no: str) -> int:
        return int(self._call(
            "SendOrder(QString, QString, QString, int, QString, int, int, QString, QString)",
            [rqname, screen, account, int(order_type), code, int(qty), int(price), hoga,
             orig_order_no]))

    def SetInputValue(self, item: str, value: str) -> None:
        self._call("SetInputValue(QString, QString)", item, value)

    def CommRqData(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int:
        return int(self._call("CommRqData(QString, QString, int, QString)",
                              rqname, trcode, int(prev_next), screen))

    def GetCommData(self, trcode: str, rqname: str, index: int, item: str) -> str:
        return str(self._call("GetCommData(QString, QString, int, QString)",
                              trcode, rqname, int(index), item))

    def GetRepeatCnt(self, trcode: str, rqname: str) -> int:
        return int(self._call("GetRepeatCnt(QString, QString)", trcode, rqname))

    def GetChejanData(self, fid: int) -> str:
        return str(self._call("GetChejanData(int)", int(fid)))
