"""The real control: unavailable off Windows with a pointer to the emulator; the wrapper's calls."""
from __future__ import annotations

import sys

import pytest

from kxrules.broker import KiwoomAdapter
from kxrules.broker.errors import BrokerUnavailable
from kxrules.broker.events import OrderIntent
from kxrules.broker.kiwoom import (KiwoomControl, check_available, open_kiwoom_control,
                                   require_real_control)
from kxrules.broker.ocx import OcxLike, Signal
from kxrules.clock import VirtualClock

from .helpers import VENUES, Recorder, kst


@pytest.mark.skipif(sys.platform == "win32", reason="checks the non-Windows path")
def test_real_control_off_windows_names_the_emulator():
    with pytest.raises(BrokerUnavailable) as e:
        open_kiwoom_control()
    assert "--broker sim" in str(e.value) and e.value.exit_code == 2
    with pytest.raises(BrokerUnavailable, match="--broker sim"):
        require_real_control()


def test_64_bit_windows_python_is_refused_too():
    with pytest.raises(BrokerUnavailable, match="32-bit"):
        check_available("win32", pointer_bytes=8)
    check_available("win32", pointer_bytes=4)


class FakeWidget:
    """What QAxWidget offers: dynamicCall and the control's signals."""

    def __init__(self):
        self.calls = []
        for name in ("OnEventConnect", "OnReceiveTrData", "OnReceiveRealData", "OnReceiveMsg",
                     "OnReceiveChejanData"):
            setattr(self, name, Signal())

    def dynamicCall(self, sig, *args):
        self.calls.append((sig, args))
        if sig.startswith("GetLoginInfo"):
            return "8012345611;"
        return 0 if sig.startswith(("SendOrder", "SetRealReg", "CommConnect", "GetConnectState")) else ""


def test_control_wrapper_uses_the_documented_call_signatures():
    w = FakeWidget()
    ctl = KiwoomControl(w)
    assert isinstance(ctl, OcxLike)
    clock = VirtualClock(kst("10:00:00"))
    ad = KiwoomAdapter(ctl, VENUES, clock, Recorder(), ["005930"])
    ad.connect()
    w.OnEventConnect.emit(0)
    ad.subscribe_quotes()
    ad.send(OrderIntent("b", "005930", "NXT", "buy", 2, "limit", 70000))
    sigs = [c[0] for c in w.calls]
    # asks whether a login is already up (an engine restarted beside a running control), then logs in
    assert sigs[:2] == ["GetConnectState()", "CommConnect()"] and "GetLoginInfo(QString)" in sigs
    assert ("SetRealReg(QString, QString, QString, QString)",
            ("5101", "005930", "21;41;51;61;71;20;10;15;27;28", "0")) in w.calls
    assert w.calls[-1] == (
        "SendOrder(QString, QString, QString, int, QString, int, int, QString, QString)",
        (["b", "0101", "8012345611", 21, "005930", 2, 70000, "00", ""],))
    ctl.GetChejanData(9203)
    ctl.GetCommRealData("005930_NX", 41)
    assert w.calls[-2:] == [("GetChejanData(int)", (9203,)),
                            ("GetCommRealData(QString, int)", ("005930_NX", 41))]


# -- require_real_control: the platform, the bitness, and that the control's packages import ----
def _importer(failures: dict[str, BaseException]):
    def load(name: str):
        if name in failures:
            raise failures[name]
        return object()
    return load


def test_require_real_control_passes_when_everything_imports():
    require_real_control("win32", pointer_bytes=4, importer=_importer({}))


def test_numpy_2_under_pandas_2_0_3_names_the_numpy_pin():
    err = ValueError("numpy.dtype size changed, may indicate binary incompatibility. "
                     "Expected 96 from C header, got 88 from PyObject")
    with pytest.raises(BrokerUnavailable) as e:
        require_real_control("win32", pointer_bytes=4, importer=_importer({"pykiwoom": err}))
    msg = str(e.value)
    assert "pykiwoom does not import (ValueError: numpy.dtype size changed" in msg
    assert "pip install 'numpy<2'" in msg and "--broker sim" in msg and e.value.exit_code == 2


def test_missing_pykiwoom_names_the_gateway_extra():
    with pytest.raises(BrokerUnavailable, match=r'pip install "kxrules\[gateway\]"'):
        require_real_control("win32", pointer_bytes=4,
                             importer=_importer({"pykiwoom": ModuleNotFoundError("No module named 'pykiwoom'")}))


def test_a_dll_of_the_wrong_bitness_names_a_reinstall():
    err = ImportError("DLL load failed while importing QtCore: %1 is not a valid Win32 application.")
    with pytest.raises(BrokerUnavailable) as e:
        require_real_control("win32", pointer_bytes=4, importer=_importer({"PyQt5.QAxContainer": err}))
    assert "PyQt5.QAxContainer does not import" in str(e.value) and "--force-reinstall" in str(e.value)


@pytest.mark.parametrize("exc", [RuntimeError("boom"), OSError("access denied"), AttributeError("x")])
def test_any_import_failure_is_reported_with_a_fix(exc):
    with pytest.raises(BrokerUnavailable) as e:
        require_real_control("win32", pointer_bytes=4, importer=_importer({"pykiwoom": exc}))
    assert f"{type(exc).__name__}: {exc}" in str(e.value) and "fix:" in str(e.value)


def test_bitness_is_checked_before_imports():
    calls = []
    with pytest.raises(BrokerUnavailable, match="32-bit"):
        require_real_control("win32", pointer_bytes=8, importer=lambda name: calls.append(name))
    assert calls == []


def test_monkeypatched_import_of_pykiwoom_is_caught(monkeypatch):
    import importlib

    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "pykiwoom":
            raise ValueError("numpy.dtype size changed")
        if name == "PyQt5.QAxContainer":
            return object()
        return real(name, *a, **k)
    monkeypatch.setattr(importlib, "import_module", fake)
    with pytest.raises(BrokerUnavailable, match="numpy<2"):
        require_real_control("win32", pointer_bytes=4)
