"""Nobody else gets in: the secret on every request and the stream (401), commands only as
same-origin POSTs with the CSRF token (403), a CSP without inline script, no secret in logs."""
from __future__ import annotations

import json
import logging

import pytest
from starlette.testclient import TestClient

from kxrules.engine.controls import Command
from kxrules.ops.board import Board
from kxrules.ops.link import EngineGone
from kxrules.ops.server import COOKIE, CSRF_HEADER, HEADER, build_app, csrf_token

SECRET = "s3cret-for-this-run"


@pytest.fixture
def sent() -> list[Command]:
    """The commands the view sent to the engine."""
    return []


@pytest.fixture
def board(sent):
    b = Board(send_command=sent.append)
    b.publish(json.dumps({"t": "09:00:00.000"}).encode())
    b.closed = True                 # the stream sends the latest snapshot and ends
    return b


@pytest.fixture
def client(board):
    return TestClient(build_app(board, SECRET), base_url="http://127.0.0.1:8765")


@pytest.mark.parametrize("path", ["/", "/static/ops.js", "/static/ops.css", "/api/snapshot", "/api/stream"])
def test_every_request_needs_the_secret(client, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={HEADER: "wrong"}).status_code == 401
    client.cookies.set(COOKIE, "wrong")
    assert client.get(path).status_code == 401
    client.cookies.clear()
    assert client.get(path, headers={HEADER: SECRET}).status_code == 200


def test_the_url_secret_becomes_a_strict_cookie_and_leaves_the_address_bar(client, board):
    assert client.get("/?k=nope", follow_redirects=False).status_code == 401
    r = client.get(f"/?k={SECRET}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    cookie = r.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()
    page = client.get("/")              # the cookie now
    assert page.status_code == 200 and "kxrules ops" in page.text
    assert csrf_token(SECRET) in page.text and SECRET not in page.text
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "default-src 'none'" in csp
    assert "<script>" not in page.text          # no inline script: the CSP would block it
    stream = client.get("/api/stream")
    assert stream.status_code == 200 and stream.text.startswith("data: {")


def _post(client, body, **headers):
    client.cookies.set(COOKIE, SECRET)
    return client.post("/api/command", content=json.dumps(body), headers=headers)


def test_a_same_origin_post_with_the_token_is_sent(client, board, sent):
    board.closed = False                                # the engine's session runs
    r = _post(client, {"command": "mute", "code": "005930"},
              **{CSRF_HEADER: csrf_token(SECRET), "origin": "http://127.0.0.1:8765", "sec-fetch-site": "same-origin"})
    assert r.status_code == 202
    (cmd,) = sent
    assert (cmd.command, cmd.code) == ("mute", "005930") and cmd.who.startswith("ops view ")


def test_cross_site_and_tokenless_posts_are_refused(client, board, sent):
    board.closed = False
    token = {CSRF_HEADER: csrf_token(SECRET)}
    # the browser carries the cookie (SameSite aside) but the request comes from another site
    assert _post(client, {"command": "emergency_stop"}, **token, origin="http://evil.example").status_code == 403
    assert _post(client, {"command": "emergency_stop"}, **token, **{"sec-fetch-site": "cross-site"}).status_code == 403
    assert _post(client, {"command": "emergency_stop"}).status_code == 403                       # no token
    assert _post(client, {"command": "emergency_stop"}, **{CSRF_HEADER: "0" * 64}).status_code == 403
    client.cookies.clear()
    assert client.post("/api/command", content="{}", headers=token).status_code == 401          # no secret
    assert client.get("/api/command").status_code == 405                                        # POST only
    assert _post(client, {"command": "mute"}, **token).status_code == 400                        # no symbol
    assert _post(client, {"command": "rm -rf"}, **token).status_code == 400
    assert sent == []


def test_a_command_after_the_engine_ended_or_while_it_takes_none_is_a_clear_503(client, board, sent):
    r = _post(client, {"command": "arm"}, **{CSRF_HEADER: csrf_token(SECRET)})        # the session has ended
    assert r.status_code == 503 and "session has ended" in r.text and sent == []

    def ring_full(cmd):
        raise EngineGone("ops view: the engine is not taking commands")
    running = Board(send_command=ring_full)
    client = TestClient(build_app(running, SECRET), base_url="http://127.0.0.1:8765")
    r = _post(client, {"command": "arm"}, **{CSRF_HEADER: csrf_token(SECRET)})
    assert r.status_code == 503 and "not taking commands" in r.text


def test_a_command_is_recorded_not_the_secret(tmp_path, caplog):
    """The secret reaches neither the log nor the recording: the recorder gets the command only."""
    from kxrules.storage.recorder import Recorder

    rec = Recorder(tmp_path, ("005930",), durable=True)
    rec.start_run(profile="p", broker="sim", mode="simulation", seed=None, source="s", run_date=None,
                  config_hash="h", config={})
    cmd = Command("mute", "005930", who="ops view 127.0.0.1", received_ns=5)
    with caplog.at_level(logging.DEBUG):
        rec.operator_command(7, cmd.who, cmd.command, cmd.code, True, "muted", cmd.received_ns)
    rows = rec.con.execute("SELECT ts_ns, received_ns, who, command, code, done, outcome FROM operator_commands").fetchall()
    assert rows == [(7, 5, "ops view 127.0.0.1", "mute", "005930", True, "muted")]
    assert SECRET not in caplog.text
    rec.close()


def test_a_taken_port_is_a_usage_error_before_anything_is_recorded(tmp_path):
    """`--ops-port` on a port another process holds: exit 2 naming it, no run recorded."""
    import socket
    from pathlib import Path

    from typer.testing import CliRunner

    from kxrules.cli.app import app

    repo = Path(__file__).resolve().parents[2]
    (tmp_path / "u.csv").write_text("code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n", encoding="utf-8")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        r = CliRunner().invoke(app, [
            "trade", "-p", "pilot", "--broker", "sim", "--synthetic", "--date", "2026-11-23", "--until", "09:00:05",
            "--universe", str(tmp_path / "u.csv"), "--data-dir", str(tmp_path / "data"), "--workspace", str(repo),
            "--ops-port", str(port), "--quiet"])
    assert r.exit_code == 2, r.output
    assert f"ops view: cannot listen on 127.0.0.1:{port}" in r.output
    import duckdb

    con = duckdb.connect(str(tmp_path / "data" / "kxrules.duckdb"), read_only=True)
    assert con.execute("SELECT count(*) FROM runs").fetchone()[0] == 0
