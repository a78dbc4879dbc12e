"""Slack alerts: the profile's events reach the webhook as JSON, nothing else does, failures are harmless."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

from kxrules.runtime.alerts import SlackNotifier


def _server():
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - http.server's naming
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.headers["Content-Type"], json.loads(body)))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, received


def test_only_the_declared_events_are_posted_as_json():
    srv, received = _server()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/hook"
        slack = SlackNotifier(url, {"pair_done", "hedge_timeout"}, label="kxrules pilot")
        slack("buy_fill", "005930 KRX buy 1 @ ₩100,000")          # not declared: dropped
        slack("pair_done", "pair 1 005930: net ₩174")
        slack("hedge_timeout", "pair 2 005930: 1 share(s) still unhedged")
        slack.close()
    finally:
        srv.shutdown()
    assert [body["text"] for _, body in received] == [
        "[kxrules pilot] pair_done: pair 1 005930: net ₩174",
        "[kxrules pilot] hedge_timeout: pair 2 005930: 1 share(s) still unhedged"]
    assert all(ctype == "application/json" for ctype, _ in received)
    assert slack.sent == 2 and slack.failed == 0


def test_an_unreachable_webhook_is_counted_not_raised():
    slack = SlackNotifier("http://127.0.0.1:9/nothing-listens", {"kill_switch"}, timeout_s=0.5)
    slack("kill_switch", "disarmed")
    slack.close()
    assert slack.failed == 1 and slack.sent == 0


def test_no_webhook_variable_means_no_notifier(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    slack_cfg = SimpleNamespace(enabled=True, webhook_env="KXRULES_SLACK_WEBHOOK", send_on=["pair_done"])
    profile = SimpleNamespace(name="pilot", profile=SimpleNamespace(alerts=SimpleNamespace(slack=slack_cfg)))
    assert SlackNotifier.from_profile(profile) is None
    monkeypatch.setenv("KXRULES_SLACK_WEBHOOK", "http://127.0.0.1:9/x")
    assert SlackNotifier.from_profile(profile) is not None
