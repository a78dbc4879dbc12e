"""``KiwoomEmulator``: an ``OcxLike`` that behaves like the OpenAPI+ control (docs/architecture.md).

What it reproduces: login first (every call before ``OnEventConnect(0)`` fails with -106 or
``""``); ``GetLoginInfo("ACCNO")`` with a trailing ``;``; ``SetRealReg`` limits (≤100 codes, ≤100
FIDs, 4-digit screens, ≤200 screens, ``"0"`` replace / ``"1"`` add); real data as signed strings
delivered after a latency draw, in feed order (장시작시간 to every logged-in control, registered or
not); ``SendOrder`` returning only the call result and
-308 past 5 orders (cancels included) in any second; acks, messages and Chejan in the formats of
the real captures with the declared event-order variations; data getters valid only during the
event they belong to.

Account TRs through ``SetInputValue`` / ``CommRqData`` / ``OnReceiveTrData`` / ``GetRepeatCnt`` /
``GetCommData``: opw00018 계좌평가잔고내역 (holdings), opt10075 실시간미체결 (open orders) and
opt10076 실시간체결 (orders with fills), 20 rows a reply with ``prev_next = "2"`` for more, -200 past
the declared query limits.

Emulator choices (no public source): a dropped session fires ``OnEventConnect(-106)``;
``CommConnect`` before ``reconnect_after_s`` fails with -101; modify orders and other TRs are
not implemented (-300 / -201).
"""
from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from kxrules.clock import Clock
from .. import errors as E
from .. import fids as F
from ..ocx import Signal, split_list
from ..venues import VenueMapConfig, load_venue_map_file
from . import formats as fm
from .config import EmulatorConfig, FeeFn, MasterState
from .delivery import RealDataQueue
from .server import EmulatedServer

MAX_CODES = 100
MAX_FIDS = 100
MAX_SCREENS = 200
SESSION_KEY = "09"      # 장시작시간 arrives market-wide, registered or not, with this key (koapy saw it)
_NO_DEFAULTS: dict[int, str] = {}
# a Chejan record's FID list per distinct key set (formats.py builds a few fixed forms)
_FID_LISTS: dict[tuple[int, ...], str] = {}
_FID_LISTS_MAX = 64


class _ChejanLookup(dict[int, str]):
    """A Chejan record read as GetChejanData reads it: a FID given as text is looked up by its
    number; a FID the record does not carry is ""."""
    __slots__ = ()

    def __missing__(self, fid: int | str) -> str:
        if isinstance(fid, str) and fid.strip().isdigit():
            return self.get(int(fid), "")
        return ""


def _fid_list(rec: dict[int, str]) -> str:
    """``"9201;9203;..."``: the record's FIDs in order, as OnReceiveChejanData lists them."""
    key = tuple(rec)
    text = _FID_LISTS.get(key)
    if text is None:
        text = ";".join(map(str, key))
        if len(_FID_LISTS) < _FID_LISTS_MAX:
            _FID_LISTS[key] = text
    return text


_CLEAN = MasterState()
_TEMPLATES: dict[str, tuple[list[str], dict[int, int]]] = {
    rtype: ([fm.DEFAULTS.get(rtype, _NO_DEFAULTS).get(f, "") for f in fids],
            {f: i for i, f in enumerate(fids)})
    for rtype, fids in F.REAL_TYPE_FIDS.items()}


class KiwoomEmulator:
    """The control. ``server`` reuses an existing broker state (crash recovery); ``seed`` and
    ``names`` override the profile's; ``fee_fn(venue, side, price, qty, market, style) -> (fee, tax)``
    replaces the profile's simple fee model."""

    def __init__(self, config: EmulatorConfig, clock: Clock, codes: list[str],
                 markets: dict[str, str], *, venues: VenueMapConfig | None = None,
                 ref_prices: dict[str, int] | None = None, fee_fn: FeeFn | None = None,
                 server: EmulatedServer | None = None, midnight_ns: int | None = None,
                 names: dict[str, str] | None = None, seed: int | None = None):
        self.venues = venues or load_venue_map_file()
        update: dict[str, Any] = {}
        if seed is not None:
            update["seed"] = int(seed)
        if names:
            update["names"] = {**names, **config.names}
        if update:
            config = config.model_copy(update=update)
        self.server = server or EmulatedServer(config, clock, codes, markets,
                                               ref_prices=ref_prices, fee_fn=fee_fn,
                                               midnight_ns=midnight_ns, venues=self.venues)
        self.server.attach(self)
        self.clock = clock
        self.OnEventConnect = Signal()
        self.OnReceiveTrData = Signal()
        self.OnReceiveRealData = Signal()
        self.OnReceiveMsg = Signal()
        self.OnReceiveChejanData = Signal()
        self.connected = False
        self.calls: Counter[str] = Counter()
        self.dropped_real = 0
        self._screens: dict[str, dict[str, set[int]]] = {}
        self._reg: dict[str, set[str]] = {}            # replaced, never changed in place
        self._every_quote_registered: tuple[dict[str, set[str]], bool] | None = None
        self._cur_real: tuple[str, dict[int, str], dict[int, str]] | None = None
        self._cur_tr: tuple[str, str, dict[str, str], list[dict[str, str]]] | None = None
        self._inputs: dict[str, str] = {}
        self._real_data = RealDataQueue(self.server.lat.real_data)
        codes = self.server.codes
        self._keys = {spec.index: [c + spec.real_suffix for c in codes]
                      for spec in self.venues.venues.values() if spec.index in (0, 1)}

    # --- login ---
    def CommConnect(self) -> int:
        self.calls["CommConnect"] += 1
        if self.connected:
            return E.OP_ERR_NONE
        now = self.clock.now_ns()
        rc = self.server.reconnect_ns
        err = E.OP_ERR_CONNECT if rc is None or now < rc else E.OP_ERR_NONE
        self.clock.call_at(now + self.server.lat.login.ns(), self._login_result, err)
        return E.OP_ERR_NONE

    def _login_result(self, err: int) -> None:
        if self.server.control is not self:
            return
        self.connected = err == 0
        self.OnEventConnect.emit(err)

    def drop_connection(self) -> None:
        """The session drops (fault schedule): registrations are gone, events stop."""
        self.connected = False
        self._screens.clear()
        self._reg = {}
        self.OnEventConnect.emit(E.OP_ERR_SOCKET_CLOSED)

    def GetConnectState(self) -> int:
        return 1 if self.connected else 0

    def GetLoginInfo(self, tag: str) -> str:
        if not self.connected:
            return ""
        cfg = self.server.cfg
        return {"ACCOUNT_CNT": "1", "ACCNO": cfg.account + ";", "ACCLIST": cfg.account + ";",
                "USER_ID": cfg.user_id, "USER_NAME": cfg.user_id, "KEY_BSECGB": "0",
                "FIREW_SECGB": "0", "GetServerGubun": cfg.server_gubun}.get(tag, "")

    def KOA_Functions(self, name: str, param: str) -> str:
        self.calls["KOA_Functions:" + name] += 1
        if name == "GetServerGubun":
            return self.server.cfg.server_gubun
        if name == "ShowAccountWindow" and self.connected:
            self.server.password_ok = True
        return ""

    def GetMasterStockState(self, code: str) -> str:
        self.calls["GetMasterStockState"] += 1
        return self._master(code).state

    def GetMasterConstruction(self, code: str) -> str:
        self.calls["GetMasterConstruction"] += 1
        return self._master(code).construction

    def _master(self, code: str) -> MasterState:
        return self.server.cfg.master.get(code) or _CLEAN

    # --- real-time registration ---
    def SetRealReg(self, screen: str, codes: str, fids: str, opt: str) -> int:
        self.calls["SetRealReg"] += 1
        if not self.connected:
            return E.OP_ERR_SOCKET_CLOSED
        if len(screen) != 4 or not screen.isdigit() or screen == "0000" or opt not in ("0", "1"):
            return E.OP_ERR_INPUT
        code_list = split_list(codes)
        fid_list = split_list(fids)
        if len(code_list) > MAX_CODES:
            return E.OP_ERR_OVER_MAX_DATA
        if len(fid_list) > MAX_FIDS:
            return E.OP_ERR_OVER_MAX_FID
        if not all(f.isdigit() for f in fid_list) or not fid_list:
            return E.OP_ERR_INPUT
        if screen not in self._screens and len(self._screens) >= MAX_SCREENS:
            return E.OP_ERR_INPUT
        reg = self._screens.setdefault(screen, {})
        if opt == "0":
            reg.clear()
        fset = {int(f) for f in fid_list}
        for code in code_list or [""]:
            reg.setdefault(code, set()).update(fset)
        self._reindex()
        return E.OP_ERR_NONE

    def SetRealRemove(self, screen: str, code: str) -> None:
        self.calls["SetRealRemove"] += 1
        screens = list(self._screens) if screen == "ALL" else [screen]
        for s in screens:
            reg = self._screens.get(s)
            if reg is None:
                continue
            if code == "ALL":
                reg.clear()
            else:
                reg.pop(code, None)
            if not reg:
                del self._screens[s]
        self._reindex()

    def DisconnectRealData(self, screen: str) -> None:
        self.calls["DisconnectRealData"] += 1
        self._screens.pop(screen, None)
        self._reindex()

    def _reindex(self) -> None:
        reg: dict[str, set[str]] = {}
        for screen in self._screens.values():
            for code, fset in screen.items():
                types = reg.setdefault(code, set())
                for rtype, trig in F.REAL_TYPE_TRIGGERS.items():
                    if fset & trig:
                        types.add(rtype)
        self._reg = reg

    def registered(self, key: str, rtype: str) -> bool:
        if rtype in self._reg.get(key, ()):
            return True
        return rtype in F.MARKET_WIDE_TYPES and rtype in self._reg.get("", ())

    def registered_screens(self) -> dict[str, dict[str, set[int]]]:
        return {s: {c: set(f) for c, f in r.items()} for s, r in self._screens.items()}

    def GetCommRealData(self, code: str, fid: int) -> str:
        cur = self._cur_real
        if cur is None or cur[0] != code:
            return ""
        fid = int(fid)
        v = cur[1].get(fid)
        return cur[2].get(fid, "") if v is None else v

    # --- orders ---
    def SendOrder(self, rqname: str, screen: str, account: str, order_type: int, code: str,
                  qty: int, price: int, hoga: str, orig_order_no: str) -> int:
        self.calls["SendOrder"] += 1
        srv = self.server
        if not self.connected:
            return E.OP_ERR_SOCKET_CLOSED
        if not srv.password_ok:
            return E.OP_ERR_ORD_WRONG_ACCTNO
        if not account:
            return E.OP_ERR_ORD_WRONG_ACCTINFO
        if account != srv.cfg.account:
            return E.OP_ERR_OTHER_ACC_USE
        decoded = self.venues.decode_order_type(int(order_type))
        if code not in srv.sym_of:
            return E.OP_ERR_ORD_SYMCODE_EMPTY
        if decoded is None or qty < 0 or price < 0 or len(screen) != 4:
            return E.OP_ERR_ORD_WRONG_INPUT
        venue, action, side = decoded
        style = ""
        if action == "new":
            hoga_style = self.venues.decode_hoga(venue, hoga)
            if hoga_style is None or qty == 0 or orig_order_no.strip():
                return E.OP_ERR_ORD_WRONG_INPUT
            style = hoga_style
        elif action != "cancel" or not orig_order_no.strip():
            return E.OP_ERR_ORD_WRONG_INPUT
        if not srv.rate_ok(self.clock.now_ns()):
            return E.OP_ERR_ORD_OVERFLOW
        if action == "new":
            srv.submit_new(rqname, screen, venue, side, code, int(qty), int(price), style)
        else:
            srv.submit_cancel(rqname, screen, venue, code, int(qty), orig_order_no)
        return E.OP_ERR_NONE

    def SetInputValue(self, item: str, value: str) -> None:
        self.calls["SetInputValue"] += 1
        self._inputs[item] = value

    def CommRqData(self, rqname: str, trcode: str, prev_next: int, screen: str) -> int:
        """The inputs set since the last request belong to this one (as in the control)."""
        self.calls["CommRqData"] += 1
        inputs, self._inputs = self._inputs, {}
        srv = self.server
        if not self.connected:
            return E.OP_ERR_SOCKET_CLOSED
        if trcode not in (fm.TR_HOLDINGS, fm.TR_OPEN_ORDERS, fm.TR_EXECUTIONS) or len(screen) != 4:
            return E.OP_ERR_RQ_STRUCT_FAIL
        if inputs.get("계좌번호") != srv.cfg.account:
            return E.OP_ERR_RQ_STRING_FAIL
        if not srv.query_rate_ok(self.clock.now_ns()):
            return E.OP_ERR_SISE_OVERFLOW
        srv.submit_query(rqname, screen, trcode, int(prev_next), inputs)
        return E.OP_ERR_NONE

    def GetRepeatCnt(self, trcode: str, rqname: str) -> int:
        cur = self._cur_tr
        return 0 if cur is None or cur[0] != trcode or cur[1] != rqname else len(cur[3])

    def GetCommData(self, trcode: str, rqname: str, index: int, item: str) -> str:
        cur = self._cur_tr
        if cur is None or cur[0] != trcode or cur[1] != rqname:
            return ""
        item = item.strip()
        rows = cur[3]
        if 0 <= index < len(rows) and item in rows[index]:
            return rows[index][item]
        return cur[2].get(item, "")

    def GetChejanData(self, fid: int) -> str:
        """Outside a Chejan event: ``""``. During one, ``emit_chejan`` shadows this method with
        the record's own lookup."""
        return ""

    # --- event emission (the server calls these at delivery time) ---
    def emit_tr(self, screen: str, rqname: str, trcode: str, order_no: str) -> None:
        self.emit_tr_rows(screen, rqname, trcode, "", {"주문번호": order_no}, [])

    def emit_tr_rows(self, screen: str, rqname: str, trcode: str, prev_next: str,
                     single: dict[str, str], rows: list[dict[str, str]]) -> None:
        self._cur_tr = (trcode, rqname, single, rows)
        try:
            self.OnReceiveTrData.emit(screen, rqname, trcode, "", prev_next, 0, "", "", "")
        finally:
            self._cur_tr = None

    def emit_msg(self, screen: str, rqname: str, trcode: str, msg: str) -> None:
        self.OnReceiveMsg.emit(screen, rqname, trcode, msg)

    def emit_chejan(self, gubun: str, rec: dict[int, str]) -> None:
        # while the event runs, GetChejanData is the record's own lookup: a C call, not a Python
        # frame, for each of the ~35 FIDs the adapter reads an event (the method answers "" again after)
        before = self.__dict__.get("GetChejanData")
        self.GetChejanData = _ChejanLookup(rec).__getitem__      # type: ignore[method-assign,assignment]
        try:
            self.OnReceiveChejanData.emit(gubun, len(rec), _fid_list(rec))
        finally:
            if before is None:
                del self.GetChejanData
            else:
                self.GetChejanData = before                      # type: ignore[method-assign]

    def _emit_real(self, key: str, rtype: str, rec: dict[int, str]) -> None:
        """sRealData is the type's FIDs in KOA order, tab-separated (koapy's fast path)."""
        defaults = fm.DEFAULTS.get(rtype, _NO_DEFAULTS)
        tmpl = _TEMPLATES.get(rtype)
        if tmpl is None:
            data = "\t".join(rec.values())
        else:
            fields, index = tmpl
            fields = fields.copy()
            for fid, v in rec.items():
                i = index.get(fid)
                if i is not None:
                    fields[i] = v
            data = "\t".join(fields)
        self._cur_real = (key, rec, defaults)
        try:
            self.OnReceiveRealData.emit(key, rtype, data)
        finally:
            self._cur_real = None

    def _deliver_real(self, key: str, rtype: str, rec: dict[int, str]) -> None:
        if not self.connected or not (rtype == F.RT_SESSION or self.registered(key, rtype)):
            self.dropped_real += 1
            return
        self._emit_real(key, rtype, rec)

    def _schedule_real(self, key: str, rtype: str, rec: dict[int, str]) -> None:
        self.clock.call_at(self._real_data.due(self.clock.now_ns()), self._deliver_real, key, rtype, rec)

    def publish_session(self, code215: str) -> None:
        """장시작시간 is broadcast to every logged-in control: no registration needed."""
        if self.connected:
            self._schedule_real(SESSION_KEY, F.RT_SESSION, fm.session_record(self.clock.now_ns(), code215))

    def publish_vi(self, code: str, active: bool) -> None:
        if not (self.connected and self.registered(code, F.RT_VI)):
            return
        srv = self.server
        last, _, _, ref = srv._marks(code)
        rec = fm.vi_record(self.clock.now_ns(), code, srv.cfg.names.get(code, code), active,
                           last, ref, "1" if srv.markets.get(code) != "KOSDAQ" else "2")
        self._schedule_real(code, F.RT_VI, rec)

    # --- market data in ---
    def feed_quote(self, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int,
                   ts_ns: int) -> None:
        """Update the matcher's book and send 주식호가잔량 to a registered code."""
        self.server.exchange.quote(sym, venue, bid, ask, bid_qty, ask_qty, ts_ns)
        key = self._keys[venue][sym]
        if self.connected and self.registered(key, F.RT_HOGA):
            ref = self.server.ref_price(self.server.codes[sym])
            self._schedule_real(key, F.RT_HOGA,
                                fm.hoga_record(ts_ns, bid, ask, bid_qty, ask_qty, ref))

    def feed_quote_batch(self, sym: np.ndarray, venue: np.ndarray, bid: np.ndarray,
                         ask: np.ndarray, bid_qty: np.ndarray, ask_qty: np.ndarray,
                         ts_ns: np.ndarray) -> None:
        """Fast path: only the matcher's books (queued, applied in time order); no real data."""
        self.server.exchange.push_batch(np.asarray(sym, dtype=np.int64), venue, bid, ask,
                                        bid_qty, ask_qty, ts_ns)

    # --- what the fast replay needs to stand in for per-quote real data ---
    def streams_every_quote(self) -> bool:
        """Connected, and every code's quote key registered on both venues: each quote fed now
        would be delivered (nothing to gate per row)."""
        if not self.connected:
            return False
        # asked once a chunk; the answer holds while ``_reg`` does (every change makes a new one)
        known = self._every_quote_registered
        if known is None or known[0] is not self._reg:
            known = (self._reg, all(self.registered(key, F.RT_HOGA)
                                    for keys in self._keys.values() for key in keys))
            self._every_quote_registered = known
        return known[1]

    def quote_delivery_times(self, ts_ns: np.ndarray) -> np.ndarray:
        """When quotes fed at ``ts_ns`` (ascending) reach the client, as :meth:`feed_quote` would
        deliver them one by one; advances the real-data FIFO. Valid only while
        :meth:`streams_every_quote` and between :meth:`own_real_data_times`."""
        return self._real_data.due_many(ts_ns)

    def own_real_data_times(self) -> np.ndarray:
        """Sorted times at which the control publishes real data of its own (FID 215 signals, VI
        on/off): their latency draws interleave with the quotes', so batches must split there."""
        return np.unique(np.asarray(self.server.publish_times, dtype=np.int64))

    def schedules_disconnect(self) -> bool:
        """The fault schedule drops the session (quotes are then gated per row)."""
        return self.server.cfg.faults.disconnect_at is not None
