"""The engine's timers and the safety net's venue come from rules/risk.yaml (risk.timings,
risk.flatten_venue), not from code: changing the YAML changes what the engine does."""
from __future__ import annotations

import json

import pytest

from .scenario import MS, Quotes, at, rows, run

CODE = "005930"


def cross_once(q: Quotes, start: str = "09:10:00", ms: int = 30) -> Quotes:
    t0 = at(start)
    return q.hold(CODE, "NXT", t0, t0 + ms * MS, 100_400, 100_500)


@pytest.mark.parametrize("ack_ms", [200, 450])
def test_the_tr_ack_timeout_is_risk_timings_ack_ms(tmp_path, ack_ms):
    q = cross_once(Quotes().steady(CODE, 99_900, 100_000, end="09:10:10"))
    _, con = run(tmp_path, q, emulator={"faults": {"tr_ack_drop_rate": 1.0, "chejan_drop_rate": 1.0}}, risk={"  ack_ms": ack_ms})
    (sent, timed_out, message), = rows(con, """
        SELECT o.sent_ns, e.ts_ns, e.message FROM order_events e JOIN orders o USING (run_id, client_id)
        WHERE e.event = 'ack_timeout' AND o.role = 'entry' ORDER BY o.sent_ns LIMIT 1""")
    assert timed_out - sent == ack_ms * MS
    assert message == f"no TR 주문번호 within {ack_ms} ms"


def test_the_login_retry_interval_is_risk_timings_reconnect_ms(tmp_path):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    faults = {"faults": {"disconnect_at": "09:10:01", "reconnect_after_s": 3}}
    back = {}
    for ms in (5000, 1000):
        (tmp_path / str(ms)).mkdir()
        _, con = run(tmp_path / str(ms), q, emulator=faults, risk={"  reconnect_ms": ms})
        ups = [ts for ts, d in rows(con, "SELECT ts_ns, detail FROM events WHERE kind = 'connection' ORDER BY ts_ns")
               if json.loads(d)["connected"] and ts > at("09:10:01")]
        back[ms] = ups[0]
    assert at("09:10:06") <= back[5000] < at("09:10:06.500")     # first retry 5 s after the drop
    assert at("09:10:04") <= back[1000] < at("09:10:05")         # retried every second until the login works


def test_the_safety_net_sends_to_risk_flatten_venue(tmp_path):
    # the entry's fill arrives 2 s late: the pair has given up, the safety net sells the share
    q = cross_once(Quotes().steady(CODE, 99_900, 100_000, end="09:10:20"))
    for venue in ("KRX", "NXT"):
        (tmp_path / venue).mkdir()
        result, con = run(tmp_path / venue, q, emulator={"latency_ms": {"fill": {"dist": "fixed", "ms": 2000}}},
                          risk={"flatten_venue": venue})
        assert rows(con, "SELECT venue, status FROM orders WHERE role = 'flatten'") == [(venue, "filled")]
        assert result.summary.flat
