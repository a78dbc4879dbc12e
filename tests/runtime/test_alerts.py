"""Slack alerts: the profile's kinds reach the webhook in the seeds' short format, storms collapse,
429 and 5xx are retried, failures are harmless, and the webhook URL (a secret) is never recorded."""
from __future__ import annotations

import json
import logging
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import get_args

import pytest

from kxrules.config.schema.profile import SLACK_EVENTS
from kxrules.runtime.alerts import LABELS, SlackNotifier, format_alert
from kxrules.runtime.trade import run_trade

from ..engine.scenario import Quotes, run

CODE = "005930"
S = 1_000_000_000


class Webhook:
    """A local incoming webhook: answers each POST with the next scripted (status, headers), then
    200; keeps (wall time, path, text) of every request it saw."""

    def __init__(self, script: list[tuple[int, dict]] | None = None):
        self.script = list(script or [])
        self.seen: list[tuple[float, str, str]] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert self.headers["Content-Type"].startswith("application/json")
                hook.seen.append((time.monotonic(), self.path, body["text"]))
                status, headers = hook.script.pop(0) if hook.script else (200, {})
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(b"ok" if status == 200 else b"rate_limited")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/services/T0/B0/s3cr3t-token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def texts(self) -> list[str]:
        return [t for _, _, t in self.seen]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook():
    h = Webhook()
    yield h
    h.close()


def test_every_send_on_name_has_a_label_and_a_format():
    assert set(get_args(SLACK_EVENTS)) == set(LABELS)


def test_messages_are_in_the_seeds_short_format():
    assert format_alert("buy_fill", "", (CODE, "KRX", 1, 72_300, 12, "entry")) == \
        "BUY_FILL 005930@KRX qty 1 px 72,300 (pair 12)"
    assert format_alert("sell_fill", "", (CODE, "NXT", 1, 72_400, None, "flatten")) == \
        "SELL_FILL 005930@NXT qty 1 px 72,400 (flatten)"
    assert format_alert("pair_done", "", (CODE, 3, 174, 100_000)) == "PAIR_DONE 005930 net +17.4 bps (+₩174) (pair 3)"
    assert format_alert("pair_done", "", (CODE, 4, -324, 100_000)) == "PAIR_DONE 005930 net -32.4 bps (-₩324) (pair 4)"
    assert format_alert("auto_pause_on", "…", (0.8, 5000)) == "AUTO-PAUSE ON (≥80% for 5s)"
    assert format_alert("auto_pause_off", "…", (0.8, 5000)) == "AUTO-PAUSE OFF"
    assert format_alert("hedge_timeout", "…", (CODE, 4, 1000)) == \
        "HEDGE TIMEOUT: Timeout 1000 ms → cancel→IOC sent (005930, pair 4)"
    assert format_alert("reject_spike", "…", (CODE, 3, 60.0, 200)) == \
        "REJECT SPIKE: 3 rejects/60s on 005930 → symbol cooldown 200 ms"
    assert format_alert("kill_switch", "disarmed: 4 rejects within a minute (limit 3)", ()) == \
        "KILL SWITCH: disarmed: 4 rejects within a minute (limit 3)"
    assert format_alert("symbol_muted", "…", (CODE, "삼성전자", "거래정지")) == "MUTED 005930 삼성전자: 거래정지"


def test_only_the_declared_kinds_are_posted(hook):
    slack = SlackNotifier(hook.url, {"pair_done", "hedge_timeout"})
    slack("buy_fill", 1 * S, "", (CODE, "KRX", 1, 100_000, 1, "entry"))        # not declared: dropped
    slack("pair_done", 2 * S, "", (CODE, 1, 174, 100_000))
    slack("hedge_timeout", 3 * S, "pair 2 005930: 1 share(s) still unhedged", (CODE, 2, 800))
    slack.close()
    assert hook.texts() == ["PAIR_DONE 005930 net +17.4 bps (+₩174) (pair 1)",
                            "HEDGE TIMEOUT: Timeout 800 ms → cancel→IOC sent (005930, pair 2)"]
    assert hook.seen[0][1] == "/services/T0/B0/s3cr3t-token"
    assert slack.sent == 2 and slack.failed == 0


def test_a_storm_is_collapsed_per_kind_within_the_window_of_engine_time(hook):
    slack = SlackNotifier(hook.url, {"reject_spike", "kill_switch"}, window_s=60, max_per_window=3)
    for i in range(40):                                       # 40 in 20 s: 3 posted, 37 held
        slack("reject_spike", 10 * S + i * S // 2, "", (f"{i:06d}", 3, 60.0, 200))
    slack("kill_switch", 30 * S, "disarmed: 43 rejects within a minute (limit 40)")
    slack("reject_spike", 71 * S, "", ("000099", 3, 60.0, 200))   # the window has closed: a new one
    slack.close()
    assert hook.texts() == [
        "REJECT SPIKE: 3 rejects/60s on 000000 → symbol cooldown 200 ms",
        "REJECT SPIKE: 3 rejects/60s on 000001 → symbol cooldown 200 ms",
        "REJECT SPIKE: 3 rejects/60s on 000002 → symbol cooldown 200 ms",
        "KILL SWITCH: disarmed: 43 rejects within a minute (limit 40)",
        "REJECT SPIKE … and 37 more within 60 s",
        "REJECT SPIKE: 3 rejects/60s on 000099 → symbol cooldown 200 ms"]
    assert slack.collapsed == 37


def test_a_429_is_retried_after_its_retry_after_and_a_5xx_with_back_off():
    hook = Webhook([(429, {"Retry-After": "1"}), (200, {}), (503, {}), (502, {})])
    try:
        slack = SlackNotifier(hook.url, {"kill_switch", "disconnect"}, backoff_s=0.1)
        slack("kill_switch", 1 * S, "disarmed: recording failed: disk full")
        slack("disconnect", 2 * S, "broker disconnected (code -106): disarmed")
        slack.close()
    finally:
        hook.close()
    texts = hook.texts()
    assert texts == ["KILL SWITCH: disarmed: recording failed: disk full"] * 2 + \
                    ["DISCONNECT: broker disconnected (code -106): disarmed"] * 3
    assert hook.seen[1][0] - hook.seen[0][0] >= 1.0            # waited for Retry-After
    assert slack.sent == 2 and slack.failed == 0


def test_a_webhook_that_keeps_failing_is_counted_not_raised():
    hook = Webhook([(500, {})] * 10)
    try:
        slack = SlackNotifier(hook.url, {"kill_switch"}, backoff_s=0.01)
        slack("kill_switch", 1 * S, "disarmed")
        slack.close()
    finally:
        hook.close()
    assert len(hook.seen) == 4 and slack.failed == 1 and slack.sent == 0    # 1 try + 3 retries
    unreachable = SlackNotifier("http://127.0.0.1:9/nothing-listens", {"kill_switch"}, timeout_s=0.5,
                                backoff_s=0.01)
    unreachable("kill_switch", 1 * S, "disarmed")
    unreachable.close()
    assert unreachable.failed == 1 and unreachable.sent == 0


def test_no_webhook_variable_means_no_notifier(monkeypatch):
    from types import SimpleNamespace

    monkeypatch.delenv("KXRULES_SLACK_WEBHOOK", raising=False)
    slack_cfg = SimpleNamespace(enabled=True, webhook_env="KXRULES_SLACK_WEBHOOK", send_on=["pair_done"],
                                storms=SimpleNamespace(window_s=60, max_per_window=5))
    profile = SimpleNamespace(name="pilot", profile=SimpleNamespace(alerts=SimpleNamespace(slack=slack_cfg)))
    assert SlackNotifier.from_profile(profile) is None
    monkeypatch.setenv("KXRULES_SLACK_WEBHOOK", "http://127.0.0.1:9/x")
    assert SlackNotifier.from_profile(profile) is not None


# -- a scripted session through `trade`'s own path ----------------------------------------------------
SLACKED = """\
name: slacked
extends: pilot
broker: sim
alerts:
  slack:
    enabled: true
    webhook_env: KXRULES_TEST_SLACK_WEBHOOK
    send_on: [buy_fill, sell_fill, pair_done, auto_pause_on, auto_pause_off, hedge_timeout, reject_spike,
              kill_switch, position_break, residual_position, disconnect, symbol_muted, run_end]
    storms: {window_s: 60, max_per_window: 2}
"""


def test_a_scripted_session_posts_exactly_its_alerts(tmp_path, monkeypatch, caplog):
    # three clean pairs within 10 s (a storm: 2 of each kind posted, the third folded), then a
    # pair whose hedge times out after the window closed; the first post meets a 429.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:12:00")
    for t in ("09:10:00", "09:10:05", "09:10:10"):
        q.hold(CODE, "NXT", f"{t}.000", f"{t}.300", 100_400, 100_500)
        q.hold(CODE, "NXT", f"{t}.300", f"{t}.900", 99_900, 100_000, 1000, 1000)
    q.hold(CODE, "NXT", "09:11:30.000", "09:11:30.030", 100_400, 100_500)
    q.hold(CODE, "NXT", "09:11:30.030", "09:11:31.000", 99_900, 100_000, 1000, 1000)
    hook = Webhook([(429, {"Retry-After": "1"})])
    profile = tmp_path / "slacked.yaml"
    profile.write_text(SLACKED, encoding="utf-8")
    monkeypatch.setenv("KXRULES_TEST_SLACK_WEBHOOK", hook.url)
    caplog.set_level(logging.DEBUG)
    try:
        result, con = run(tmp_path, q, profile=str(profile), runner=run_trade)
    finally:
        hook.close()
    texts = hook.texts()
    assert texts[0] == texts[1]                        # the 429, then the same message again
    assert hook.seen[1][0] - hook.seen[0][0] >= 1.0
    assert texts[1:-1] == [
        "BUY_FILL 005930@KRX qty 1 px 100,000 (pair 1)",
        "SELL_FILL 005930@NXT qty 1 px 100,400 (pair 1)",
        "PAIR_DONE 005930 net +17.4 bps (+₩174) (pair 1)",
        "BUY_FILL 005930@KRX qty 1 px 100,000 (pair 2)",
        "SELL_FILL 005930@NXT qty 1 px 100,400 (pair 2)",
        "PAIR_DONE 005930 net +17.4 bps (+₩174) (pair 2)",
        "BUY_FILL … and 1 more within 60 s",
        "SELL_FILL … and 1 more within 60 s",
        "PAIR_DONE … and 1 more within 60 s",
        "BUY_FILL 005930@KRX qty 1 px 100,000 (pair 4)",
        "HEDGE TIMEOUT: Timeout 800 ms → cancel→IOC sent (005930, pair 4)",
        "SELL_FILL 005930@NXT qty 1 px 99,900 (pair 4)",
        "PAIR_DONE 005930 net -32.4 bps (-₩324) (pair 4)",
    ]
    assert texts[-1] == "RUN END: " + result.summary.paragraph()
    assert result.exit_code == 0 and result.summary.flat and result.summary.pairs_done == 4
    # the webhook URL is a secret: nowhere in the recording or the logs
    con.close()
    assert b"s3cr3t-token" not in result.db_path.read_bytes()
    assert "s3cr3t-token" not in caplog.text
