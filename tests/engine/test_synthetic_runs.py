"""Whole runs on synthetic days: reproducible, within Kiwoom's order limit, flat at the end."""
from __future__ import annotations

import duckdb
from typer.testing import CliRunner

from kxrules.cli.app import app

from .scenario import REPO

ORDER_COLS = ("client_id, pair_id, role, code, venue, side, qty, style, price, cancel_of, sent_ns, send_rc, "
              "ack_ns, order_no, status, filled_qty, avg_price, fees_krw, tax_krw, late")
FILL_COLS = "ts_ns, client_id, pair_id, role, code, venue, side, price, qty, exec_id, fee_krw, tax_krw"


def _trade(data_dir, *extra):
    args = ["trade", "--profile", "pilot", "--broker", "sim", "--synthetic", "--seed", "7", "--speed", "max",
            "--date", "2026-11-23", "--until", "09:06:00", "--data-dir", str(data_dir), "--workspace", str(REPO),
            "--quiet", *extra]
    return CliRunner().invoke(app, args)


def test_same_seed_twice_gives_identical_orders_and_fills_within_the_order_limit(tmp_path):
    first = _trade(tmp_path)
    assert first.exit_code == 0, first.output
    second = _trade(tmp_path)
    assert second.exit_code == 0, second.output
    assert "flat on every symbol" in second.output
    con = duckdb.connect(str(tmp_path / "kxrules.duckdb"), read_only=True)
    orders = [con.execute(f"SELECT {ORDER_COLS} FROM orders WHERE run_id = ? ORDER BY client_id", [r]).fetchall()
              for r in (1, 2)]
    fills = [con.execute(f"SELECT {FILL_COLS} FROM fills WHERE run_id = ? ORDER BY ts_ns, client_id", [r]).fetchall()
             for r in (1, 2)]
    assert orders[0] and fills[0], "the synthetic window should trade"
    assert orders[0] == orders[1] and fills[0] == fills[1]
    # Kiwoom's limit held: no -308, never more than 5 order calls in any 1,000 ms
    assert con.execute("SELECT count(*) FROM orders WHERE send_rc = -308").fetchone() == (0,)
    worst = con.execute("""
        SELECT max(n) FROM (
          SELECT (SELECT count(*) FROM orders o2 WHERE o2.run_id = o.run_id
                  AND o2.sent_ns >= o.sent_ns AND o2.sent_ns < o.sent_ns + 1000000000) AS n
          FROM orders o WHERE o.run_id = 1)""").fetchone()[0]
    assert worst <= 5
    pos = con.execute("""SELECT code, sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) FROM fills
                         WHERE run_id = 1 GROUP BY code HAVING sum(CASE side WHEN 'buy' THEN qty ELSE -qty END) <> 0""").fetchall()
    assert pos == []


def test_kiwoom_broker_without_the_gateway_secret_exits_2_naming_it(tmp_path, monkeypatch):
    """The pilot's control runs in its gateway (profile `gateway:`): nothing starts without the
    shared secret, and nothing is traded."""
    monkeypatch.delenv("KXRULES_GATEWAY_SECRET", raising=False)
    result = CliRunner().invoke(app, ["trade", "--profile", "pilot", "--broker", "kiwoom", "--workspace", str(REPO),
                                      "--date", "2026-11-23", "--data-dir", str(tmp_path)])
    assert result.exit_code == 2
    assert "set KXRULES_GATEWAY_SECRET" in result.output and "Traceback" not in result.output


def test_live_host_module_imports_off_windows():
    # the live host is only runnable on Windows, but it must import (and fail cleanly) anywhere
    import kxrules.runtime.live as live

    assert callable(live.run_live)
