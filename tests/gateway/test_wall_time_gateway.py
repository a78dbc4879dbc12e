"""The engine beside a gateway on wall time (the real control's way), with the emulator behind it
sped up: the engine follows the gateway's clock, trades, ends flat by the broker's account; a
gateway killed mid-session is a dropped session, never a crash, and never a claim of flat."""
from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import numpy as np

from kxrules.config.compile import compile_profile
from kxrules.engine.evaluator import compile_kernels
from kxrules.money.ticks import tick_size
from kxrules.runtime.trade import TradeOptions, run_simulation

from ..engine.scenario import DAY, MS, Quotes, at
from .test_split_session import SECRET, start_gateway, recorded, workspace
from ..engine.test_broker_truth_property import UNIVERSE

SPEED = 25
START = "08:59:40"


def early_market(seed: int) -> Quotes:
    """Three symbols from 09:00 to 09:02 with a 4-tick gap every few seconds once NXT is open."""
    rng = np.random.default_rng(seed)
    q = Quotes()
    for code, _, _, ref in UNIVERSE:
        q.steady(code, ref - tick_size(ref), ref, start="09:00:00", end="09:02:00", every_ms=1000)
    t = at("09:00:35")
    while t < at("09:01:45"):
        code, _, _, ref = UNIVERSE[rng.integers(len(UNIVERSE))]
        tick = tick_size(ref)
        q.hold(code, "NXT", t, t + 300 * MS, ref + 4 * tick, ref + 5 * tick)
        t += int(rng.integers(3_000, 6_000)) * MS
    return q


def start(root: Path, quotes: Path, tmp: Path) -> tuple[subprocess.Popen, int]:
    return start_gateway(root, quotes, tmp, "--speed", str(SPEED), "--start", START)


def session(tmp: Path, monkeypatch, *, until: str = "09:02:10"):
    root = workspace(tmp, {})
    quotes = early_market(3).write(tmp / "quotes.parquet")
    profile = compile_profile(root, "sim", DAY)
    compile_kernels(profile)        # before the market's clock starts (a fresh checkout compiles for seconds)
    proc, port = start(root, quotes, tmp)
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    h, m, s = (int(x) for x in until.split(":"))
    return profile, proc, lambda: run_simulation(profile, TradeOptions(
        broker="sim", gateway=f"127.0.0.1:{port}", data_dir=tmp / "data", until=h * 3600 + m * 60 + s))


def test_the_engine_follows_a_wall_time_gateway_and_ends_flat(tmp_path, monkeypatch):
    _, proc, trade = session(tmp_path, monkeypatch)
    try:
        result = trade()
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    orders, fills = recorded(result.db_path)
    assert len(fills) >= 4, "the session should trade"
    assert result.exit_code == 0 and result.summary.flat and result.summary.broker_confirmed
    assert "gateway: the broker's account holds {}" in out
    assert proc.returncode == 0, err


def test_a_gateway_killed_mid_session_is_a_dropped_session_not_a_crash(tmp_path, monkeypatch):
    _, proc, trade = session(tmp_path, monkeypatch)
    killer_at = time.monotonic() + (at("09:01:00") - at(START)) / 1e9 / SPEED
    import threading

    def kill_later() -> None:
        time.sleep(max(0.0, killer_at - time.monotonic()))
        proc.send_signal(signal.SIGKILL)
    threading.Thread(target=kill_later, daemon=True).start()
    try:
        result = trade()
    finally:
        proc.kill()
    s = result.summary
    assert result.exit_code == 1 and not s.flat and not s.broker_confirmed
    assert "NOT CONFIRMED" in s.paragraph() or "NOT FLAT" in s.paragraph()
    import duckdb

    con = duckdb.connect(str(result.db_path), read_only=True)
    kinds = {k for (k,) in con.execute("SELECT kind FROM alerts").fetchall()}
    assert "disconnect" in kinds
