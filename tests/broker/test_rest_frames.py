"""The REST adapter's parsing of real WebSocket frames (captured 2026, copied into the tests) and
its order/token handling over httpx's in-process transport (the socket tests are elsewhere)."""
from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from kxrules import seoul
from kxrules.broker.events import AccountPage, OrderAck, OrderIntent, OrderRejected
from kxrules.broker.rest import Credentials, KiwoomRestAdapter
from kxrules.broker.rest import frames as FR
from kxrules.broker.rest import protocol as P
from kxrules.broker.rest.clock import AsyncioClock, Timeline
from kxrules.broker.rest.credentials import Redactor
from kxrules.broker.rest.venues import load_rest_venue_map
from kxrules.broker.venues import load_venue_map_file

FRAMES = Path(__file__).parent / "fixtures" / "rest" / "kiwoom_rest_ws_real_frames_2026.jsonl"


def frames() -> list[dict]:
    return [json.loads(line) for line in FRAMES.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_real_0d_frames_give_the_top_of_book():
    by_item = {f["item"]: f for f in frames() if f["type"] == "0D"}
    assert FR.top_of_book(by_item["000020"]["values"]) == (6490, 6500, 2, 20)
    assert FR.top_of_book(by_item["005380_NX"]["values"]) == (424500, 425000, 24, 273)


def test_real_0b_frame_gives_the_last_trade():
    f = next(f for f in frames() if f["type"] == "0B" and f["item"] == "005930")
    assert FR.last_trade(f["values"]) == (251000, 8)


class Listener:
    def __init__(self):
        self.quotes, self.events, self.accounts, self.conn = [], [], [], []

    def on_quote(self, *args):
        self.quotes.append(args)

    def on_order_event(self, ev):
        self.events.append(ev)

    def on_balance(self, ev):
        self.events.append(ev)

    def on_session(self, ev):
        self.events.append(ev)

    def on_vi(self, ev):
        self.events.append(ev)

    def on_connection(self, ev):
        self.conn.append(ev)

    def on_account(self, ev):
        self.accounts.append(ev)


APPKEY, SECRET = "AppKeyForTests-1234567890abcdef", "SecretForTests-fedcba0987654321"


def make_adapter(loop, handler, codes=("000020", "005380"), server="real"):
    clock = AsyncioClock(loop, Timeline(seoul.epoch_ns(seoul.date_of(0).today(), 9 * 3600 + 600)))
    listener = Listener()
    a = KiwoomRestAdapter(base_url="http://kiwoom.test", ws_url="ws://kiwoom.test",
                          credentials=Credentials(APPKEY, SECRET), rest_venues=load_rest_venue_map(),
                          venues=load_venue_map_file(), clock=clock, listener=listener,
                          codes=list(codes), server=server, transport=httpx.MockTransport(handler))
    return a, listener


def run(loop, a, seconds=0.05):
    loop.run_until_complete(asyncio.sleep(seconds))


@pytest.fixture
def loop():
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_real_frames_reach_the_listener_as_ints(loop):
    a, listener = make_adapter(loop, lambda r: httpx.Response(500))
    for f in frames():
        a._on_real({"type": f["type"], "item": f["item"], "values": f["values"]})
    assert [q[:6] for q in listener.quotes] == [(0, 0, 6490, 6500, 2, 20), (1, 1, 424500, 425000, 24, 273)]
    loop.run_until_complete(a.aclose())


def token_reply(expires_ns, token="tok-1"):
    return {"return_code": 0, "return_msg": "ok", "token": token, "token_type": "bearer",
            "expires_dt": P.format_expires_dt(expires_ns)}


def test_an_order_is_acked_by_the_http_reply_and_sent_with_the_venue_and_trde_tp(loop):
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        if request.url.path == P.PATH_REVOKE:
            return httpx.Response(200, json={"return_code": 0})
        seen.append((request.url.path, request.headers.get("api-id"), body))
        if request.url.path == P.PATH_TOKEN:
            return httpx.Response(200, json=token_reply(a.clock.now_ns() + 3600 * 10**9))
        return httpx.Response(200, json={"return_code": 0, "return_msg": "ok", "ord_no": "0000042",
                                         "dmst_stex_tp": body["dmst_stex_tp"]})

    a, listener = make_adapter(loop, handler)
    assert a.send(OrderIntent("c1", "005380", "NXT", "buy", 1, "mid", 0)) == 0
    run(loop, a)
    assert seen[1][1] == "kt10000" and seen[1][2]["dmst_stex_tp"] == "NXT" and seen[1][2]["trde_tp"] == "29"
    assert seen[1][2]["ord_uv"] == ""
    assert isinstance(listener.events[0], OrderAck) and listener.events[0].order_no == "0000042"
    loop.run_until_complete(a.aclose())


def test_token_refused_mid_session_is_renewed_once_and_the_call_repeated(loop):
    tokens = iter(["tok-1", "tok-2"])
    calls = []

    def handler(request):
        if request.url.path == P.PATH_TOKEN:
            return httpx.Response(200, json=token_reply(a.clock.now_ns() + 3600 * 10**9, next(tokens)))
        calls.append(request.headers["authorization"])
        if request.headers["authorization"] == "Bearer tok-1":
            return httpx.Response(200, json={"return_code": 8005, "return_msg": "Token이 유효하지 않습니다"})
        return httpx.Response(200, json={"return_code": 0, P.HOLDINGS_LIST: [
            {"stk_cd": "A005380", "rmnd_qty": "3", "trde_able_qty": "3", "pur_pric": "425000"}]})

    a, listener = make_adapter(loop, handler)
    a.request_account("holdings")
    run(loop, a)
    assert calls == ["Bearer tok-1", "Bearer tok-2"]
    page = listener.accounts[0]
    assert isinstance(page, AccountPage) and page.rc == 0 and page.rows[0].qty == 3
    loop.run_until_complete(a.aclose())


def test_1700_is_a_send_stage_reject_and_other_codes_tr_rejects(loop):
    def handler(request):
        if request.url.path == P.PATH_TOKEN:
            return httpx.Response(200, json=token_reply(a.clock.now_ns() + 3600 * 10**9))
        code = 1700 if json.loads(request.content)["stk_cd"] == "000020" else 1901
        return httpx.Response(429 if code == 1700 else 200, json={"return_code": code, "return_msg": "no"})

    a, listener = make_adapter(loop, handler)
    a.send(OrderIntent("c1", "000020", "KRX", "buy", 1, "limit", 6500))
    a.send(OrderIntent("c2", "005380", "KRX", "buy", 1, "limit", 425000))
    run(loop, a)
    rej = {e.client_id: e for e in listener.events if isinstance(e, OrderRejected)}
    assert (rej["c1"].stage, rej["c1"].code) == ("send", 1700)
    assert (rej["c2"].stage, rej["c2"].code) == ("tr", 1901)
    loop.run_until_complete(a.aclose())


def test_the_mock_server_refuses_nxt_legs_before_sending(loop):
    a, listener = make_adapter(loop, lambda r: httpx.Response(500), server="mock")
    assert a.send(OrderIntent("c1", "005380", "NXT", "buy", 1, "limit", 425000)) != 0
    ev = listener.events[0]
    assert isinstance(ev, OrderRejected) and ev.stage == "send" and "KRX only" in ev.message
    loop.run_until_complete(a.aclose())


def test_secrets_never_show_in_reprs_or_cleaned_text():
    c = Credentials(APPKEY, SECRET)
    assert APPKEY not in repr(c) and SECRET not in str(c)
    r = Redactor(APPKEY, SECRET)
    r.add("tok-xyz")
    assert r.clean(f"bad {APPKEY} {SECRET} tok-xyz") == "bad *** *** ***"
