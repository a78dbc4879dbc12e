"""The gateway's wire: who may connect, what passes, and what the gateway process imports."""
from __future__ import annotations

import socket
import subprocess
import sys
import threading

import pytest

from kxrules.broker.ocx import Signal
from kxrules.gateway.remote import RemoteControl
from kxrules.gateway.serve import serve_one
from kxrules.gateway.wire import Connection, WireError, connect, listen, pack

SECRET = b"the-gateway-secret-for-tests"


def serving(handle, logs: list[str]):
    listener = listen()
    port = listener.getsockname()[1]
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(serve_one(listener, SECRET, handle, log=logs.append)),
                              daemon=True)
    thread.start()
    return port, thread, result


def echo(frame: dict) -> list[dict]:
    return [{"t": "ret", "id": frame.get("id"), "r": frame.get("a")}]


def test_a_connection_without_the_secret_is_refused_and_the_gateway_keeps_serving():
    logs: list[str] = []
    port, thread, result = serving(echo, logs)
    with pytest.raises(WireError, match="refused the connection: authentication failed"):
        connect("127.0.0.1", port, b"not-the-secret-at-all")
    raw = socket.create_connection(("127.0.0.1", port))       # no handshake: a call straight away
    raw.sendall(pack({"t": "call", "id": 1, "m": "SendOrder", "a": []}))
    raw.settimeout(5)
    hello = Connection(raw).recv()                              # the challenge, then nothing more
    assert "challenge" in hello and "r" not in hello
    raw.close()
    conn = connect("127.0.0.1", port, SECRET)                   # the right secret is served
    conn.send({"t": "call", "id": 7, "m": "GetConnectState", "a": [1, "x"]})
    assert conn.recv() == {"t": "ret", "id": 7, "r": [1, "x"]}
    conn.send({"t": "bye"})
    assert conn.recv() == {"t": "bye"}
    thread.join(5)
    assert result == [True]
    assert sum("refused" in line for line in logs) == 2
    assert not any(SECRET.decode() in line for line in logs)


def test_the_secret_never_goes_over_the_wire():
    seen = bytearray()
    listener = listen()
    port = listener.getsockname()[1]

    def gateway():
        sock, _ = listener.accept()
        conn = Connection(sock)
        from kxrules.gateway.wire import handshake_server
        handshake_server(conn, SECRET)
        seen.extend(conn._buf)
        conn.close()
    t = threading.Thread(target=gateway, daemon=True)
    t.start()
    conn = connect("127.0.0.1", port, SECRET)
    t.join(5)
    conn.close()
    assert SECRET not in bytes(seen)


class FakeConn:
    """Replies to a call with an event first, then the return value."""

    def __init__(self):
        self.sent: list[dict] = []

    def send(self, frame):
        self.sent.append(frame)

    def recv(self):
        if len(self.sent) == 1:
            self.sent.append({})
            return {"t": "events", "ev": [["M", "0101", "rq", "tr", "held message"]]}
        return {"t": "ret", "id": self.sent[0]["id"], "r": 0}


def test_an_event_that_comes_during_a_call_is_delivered_after_it_returns():
    control = RemoteControl(FakeConn())     # type: ignore[arg-type]
    seen: list[str] = []
    control.OnReceiveMsg.connect(lambda *a: seen.append(a[3]))
    assert control.SendOrder("rq", "0101", "123", 1, "005930", 1, 0, "03", "") == 0
    assert seen == []                                   # not re-entered inside the call
    control.deliver([])
    assert seen == ["held message"]


def test_getters_answer_only_inside_their_event():
    control = RemoteControl(FakeConn())     # type: ignore[arg-type]
    got: list[str] = []
    control.OnReceiveRealData.connect(lambda key, rtype, data: got.append(control.GetCommRealData(key, 41)))
    control.OnReceiveChejanData.connect(lambda g, n, fids: got.append(control.GetChejanData(9203)))
    control.deliver([["R", "005930", "주식호가잔량", ["+70100", "+70000", "10", "20"], ""],
                     ["J", "0", {9203: "0000123", 913: "접수"}]])
    assert got == ["+70100", "0000123"]
    assert control.GetCommRealData("005930", 41) == "" and control.GetChejanData(9203) == ""


def test_the_gateway_modules_import_without_duckdb_pyarrow_or_numba():
    code = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('duckdb', 'pyarrow', 'numba', 'pandas'):
            raise ImportError(f'{name} cannot be installed on 32-bit Windows')
sys.meta_path.insert(0, Block())
import kxrules.gateway.wire, kxrules.gateway.capture, kxrules.gateway.remote, kxrules.gateway.serve
import kxrules.gateway.lockstep
print('ok')
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
