"""The ops view end to end: `kxrules trade --speed 10 --ops-port P` on the emulator, headless
Chromium on the URL it prints. From the page: the top bar, a row per symbol with live prices on
both venues, a pair in the monitor. Then the operator mutes a symbol (no signal for it from then
on, by DuckDB) and presses the emergency stop (disarmed; the run ends flat by the emulator's
account; no pair started after it)."""
from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import expect

from ..browser import chromium, needs_chromium

REPO = Path(__file__).resolve().parents[2]
CODES = ("007810", "010060", "035420", "068270", "222800", "263750")
pytestmark = needs_chromium


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def workspace(tmp_path):
    """The shipped workspace with a busier synthetic market (more gaps), and six symbols."""
    ws = tmp_path / "ws"
    for part in ("rules", "sessions", "config", "reports"):
        shutil.copytree(REPO / part, ws / part)
    market = ws / "config/sim/market.yaml"
    market.write_text(market.read_text().replace("per_symbol_minute: 0.5", "per_symbol_minute: 6.0"))
    lines = (REPO / "config/universe/pilot.csv").read_text().splitlines()
    keep = [line for line in lines if line.startswith("code,") or line.split(",")[0] in CODES]
    (tmp_path / "u6.csv").write_text("\n".join(keep) + "\n")
    return ws


def test_the_live_view_shows_the_engine_and_its_controls_act(workspace, tmp_path):
    port = free_port()
    data = tmp_path / "data"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("KXRULES_OPS_SECRET", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "kxrules", "trade", "-p", "pilot", "--broker", "sim", "--synthetic", "--seed", "7",
         "--speed", "10", "--date", "2026-11-23", "--until", "09:05:00", "--universe", str(tmp_path / "u6.csv"),
         "--data-dir", str(data), "--workspace", str(workspace), "--ops-port", str(port), "--quiet"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    try:
        first = proc.stdout.readline()
        m = re.fullmatch(rf"ops view: (http://127\.0\.0\.1:{port}/\?k=[\w-]+)\n", first)
        assert m, first
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(m.group(1))
            assert page.url == f"http://127.0.0.1:{port}/"        # the secret left the address bar
            # the top bar
            # (the page's CSP forbids eval: the checks read the DOM, never evaluate a string in it)
            expect(page.locator("#connected")).to_have_text("connected")
            expect(page.locator("#server")).to_have_text("모의투자")
            expect(page.locator("#account")).to_have_text(re.compile(r"^\*+\d\d$"))
            expect(page.locator("#armed")).to_have_text("ARMED", timeout=20_000)
            expect(page.locator("#rate")).to_have_text(re.compile(r"^\d / 5 \(max \d\)$"))
            # a row per symbol, with live prices on both venues and the Korean name
            rows = page.locator("#symbols tbody tr")
            expect(rows).to_have_count(6)
            for code in CODES:
                quotes = page.locator(f'tr[data-code="{code}"] td.n')
                for i in range(4):          # KRX bid, KRX ask, NXT bid, NXT ask: a price and a size
                    expect(quotes.nth(i)).to_have_text(re.compile(r"^[\d,]+ \([\d,]+\)$"))
            assert page.text_content('tr[data-code="035420"] td.name') == "NAVER"
            assert page.text_content('tr[data-code="222800"] td.name') == "심텍"
            first_prices = page.text_content('#symbols tbody')
            # a pair in the monitor (live, or finished)
            page.wait_for_selector("#pairs-box tr[data-pair]", timeout=30_000)
            expect(page.locator("#symbols tbody")).not_to_have_text(first_prices)     # prices move
            # mute a symbol, confirmed in the page
            muted = CODES[2]
            page.click(f'tr[data-code="{muted}"] button[data-command="mute"]')
            assert muted in page.text_content("#confirm-text")
            page.click("#confirm-ok")
            expect(page.locator(f'tr[data-code="{muted}"] td.state')).to_have_text("muted")
            page.wait_for_timeout(4_000)        # 40 s of the market: the other symbols go on trading
            page.click("#estop")
            assert "EMERGENCY STOP" in page.text_content("#confirm-text")
            page.click("#confirm-ok")
            expect(page.locator("#armed")).to_have_text(re.compile("^DISARMED"))
            expect(page.locator("#banner")).to_contain_text("emergency stop")
            expect(page.locator("#feed li.kind-command").first).to_contain_text("emergency_stop")
            page.screenshot(path=str(tmp_path / "ops.png"))
            assert errors == []
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out
    assert "flat on every symbol (the broker's account agrees)" in out

    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    commands = con.execute("SELECT command, code, who, done, ts_ns FROM operator_commands ORDER BY ts_ns").fetchall()
    assert [(c[0], c[1], c[3]) for c in commands] == [("mute", muted, True), ("emergency_stop", None, True)]
    assert all(c[2] == "ops view 127.0.0.1" for c in commands)
    mute_ns, stop_ns = commands[0][4], commands[1][4]
    # the muted symbol: no signal from the mute on, while the others kept signalling until the stop
    assert con.execute("SELECT count(*) FROM signals WHERE code = ? AND ts_ns > ?", [muted, mute_ns]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM signals WHERE code = ? AND ts_ns < ?", [muted, mute_ns]).fetchone()[0] > 0
    assert con.execute("SELECT count(*) FROM signals WHERE admitted AND ts_ns BETWEEN ? AND ?",
                       [mute_ns, stop_ns]).fetchone()[0] > 0
    # the emergency stop: no pair after it, disarmed for the rest of the run, flat by the emulator's account
    assert con.execute("SELECT count(*) FROM pairs WHERE started_ns > ?", [stop_ns]).fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM alerts WHERE kind = 'kill_switch' AND message LIKE '%emergency stop%'"
                       ).fetchone()[0] == 1
    summary = json.loads(con.execute("SELECT summary_json FROM runs").fetchone()[0])
    assert summary["flat"] is True and summary["positions_left"] == {}
