"""The REST broker's master data (종목정보: ka10099 per market, ka10100 per code) read at start-up,
mapped to the same restrictions as OpenAPI+'s GetMasterStockState / GetMasterConstruction."""
from __future__ import annotations

import json
from pathlib import Path

from kxrules.broker.emulator.config import EmulatorConfig, MasterState
from kxrules.broker.master import UNREAD, rest_restrictions, restrictions
from kxrules.broker.rest.emulator import app as emulator_app

from .rest_sockets import rig

FIXTURE = Path(__file__).parent / "fixtures" / "rest" / "ka10099_stkinfo_list.json"


def _rows() -> list[dict]:
    return json.loads(FIXTURE.read_text(encoding="utf-8"))["list"]


def test_each_documented_restriction_in_a_stock_list_row_is_read():
    got = {r["code"]: rest_restrictions(r) for r in _rows()}
    assert got == {"005930": (), "000660": ("거래정지",), "068270": ("관리종목",), "035420": ("투자경고",),
                   "051910": ("정리매매",), "005380": ()}          # 3 단기과열 is no restriction


def test_the_emulator_serves_the_documented_fields_and_the_same_restrictions_as_openapi():
    master = {"000660": MasterState(state="증거금100%|거래정지"), "005930": MasterState(construction="투자위험")}
    with rig(config=EmulatorConfig(seed=7, master=master)) as r:
        served = r.emu.call(lambda: {c: emulator_app.stock_info_row(r.emu.server, c) for c in ("005930", "000660")})
    assert all(set(row) == set(_rows()[0]) for row in served.values())     # Kiwoom's field names
    for code, row in served.items():           # what OpenAPI+'s two calls say of the same master data
        assert rest_restrictions(row) == restrictions(master[code].state, master[code].construction)
    assert served["005930"]["orderWarning"] == "4" and served["000660"]["state"] == "증거금100%|거래정지"


def _masters(r) -> list:
    got: list = []
    r.listener.on_master_state = got.append
    return got


def test_master_states_are_read_over_http_before_the_login_is_reported(monkeypatch):
    monkeypatch.setattr(emulator_app, "STOCK_ROWS_PER_PAGE", 1)        # two pages of ka10099
    master = {"000660": MasterState(state="증거금100%|거래정지")}
    with rig(config=EmulatorConfig(seed=7, master=master), speed=10) as r:
        got = _masters(r)
        r.adapter.connect()
        assert r.run_until(lambda: r.adapter.connected)
        assert [(m.code, m.restrictions) for m in got] == [("005930", ()), ("000660", ("거래정지",))]
        assert got[1].raw == {"state": "증거금100%|거래정지", "auditInfo": "정상", "orderWarning": "0", "nxtEnable": "Y"}
        assert r.listener.conn[0].connected and got[-1].ts_ns <= r.listener.conn[0].ts_ns


def test_a_code_whose_master_data_cannot_be_read_is_reported_unread():
    with rig(speed=20) as r:
        got = _masters(r)
        r.emu.call(lambda: setattr(r.emu.app.state.faults, "rate_limit_next", 1_000))   # every TR: 1700
        r.adapter.connect()
        assert r.run_until(lambda: len(got) == 2, timeout_s=10)
        assert [(m.code, m.restrictions) for m in got] == [("005930", (UNREAD,)), ("000660", (UNREAD,))]
        assert r.adapter.counters["master_unread"] == 2 and r.adapter.counters["master_retry"] >= 2
