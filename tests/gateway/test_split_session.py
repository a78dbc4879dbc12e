"""A session split across two processes: the emulator behind `kxrules gateway --emulator`, the
engine here. The same seed and market data give the same orders and fills as in one process."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from ruamel.yaml import YAML

from kxrules.config.compile import compile_profile
from kxrules.runtime.trade import TradeOptions, run_simulation

from ..engine.test_broker_truth_property import UNIVERSE, gappy_market
from ..engine.scenario import DAY

SECRET = "split-session-test-secret-0123"
ORDER_COLS = ("client_id, role, code, venue, side, qty, style, price, sent_ns, ack_ns, status, filled_qty, "
              "avg_price, order_no")


def workspace(tmp: Path, faults: dict) -> Path:
    """A fresh workspace trading three symbols on an emulator with ``faults``."""
    root = tmp / "ws"
    subprocess.run([sys.executable, "-m", "kxrules", "init", str(root)], check=True, capture_output=True)
    (root / "config/universe/pilot.csv").write_text(
        "code,name,market,ref_price\n" + "".join(f"{c},{n},{m},{p}\n" for c, n, m, p in UNIVERSE), encoding="utf-8")
    yaml = YAML()
    path = root / "config/sim/default.yaml"
    emu = yaml.load(path.read_text(encoding="utf-8"))
    for key, value in faults.items():
        emu["faults"][key] = value
    with path.open("w", encoding="utf-8") as fh:
        yaml.dump(emu, fh)
    # the fault mix should reach a position break: a pair unhedged past max_unhedged_ms would
    # freeze 005930 before it (that limit is tested in tests/engine/test_limits.py)
    risk = root / "rules/risk.yaml"
    risk.write_text(risk.read_text(encoding="utf-8").replace("max_unhedged_ms: 3000 ", "max_unhedged_ms: 600000 "),
                    encoding="utf-8")
    return root


def recorded(db: Path) -> tuple[list, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return (con.execute(f"SELECT {ORDER_COLS} FROM orders ORDER BY client_id").fetchall(),
                con.execute("SELECT ts_ns, client_id, price, qty, fee_krw, tax_krw FROM fills ORDER BY ts_ns, client_id").fetchall())
    finally:
        con.close()


def start_gateway(root: Path, quotes: Path, tmp: Path, *options: str) -> tuple[subprocess.Popen, int]:
    """`kxrules gateway --emulator OPTIONS` serving ``quotes``; returns the process and its port."""
    port_file = tmp / "port"
    env = {**os.environ, "KXRULES_GATEWAY_SECRET": SECRET}
    proc = subprocess.Popen([sys.executable, "-m", "kxrules", "gateway", "--emulator", *options, "-w", str(root),
                             "-p", "sim", "--replay", str(quotes), "--date", DAY.isoformat(),
                             "--port-file", str(port_file)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not port_file.exists() or not port_file.read_text():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"the gateway did not start: {proc.communicate()}")
        time.sleep(0.05)
    return proc, int(port_file.read_text())


@pytest.mark.parametrize("faults", [
    {},
    {"reject_rate": 0.03, "tr_ack_drop_rate": 0.03, "tr_ack_late_rate": 0.1, "duplicate_chejan_rate": 0.1,
     "chejan_drop_rate": 0.03, "query_drop_rate": 0.1},
], ids=["clean", "faults"])
def test_a_split_session_trades_exactly_as_one_process(tmp_path, monkeypatch, faults):
    root = workspace(tmp_path, faults)
    quotes = gappy_market(11).write(tmp_path / "quotes.parquet")
    profile = compile_profile(root, "sim", DAY)
    alone = run_simulation(profile, TradeOptions(broker="sim", replay=quotes, replay_path="faithful",
                                                 data_dir=tmp_path / "alone"))
    proc, port = start_gateway(root, quotes, tmp_path)
    monkeypatch.setenv("KXRULES_GATEWAY_SECRET", SECRET)
    try:
        split = run_simulation(profile, TradeOptions(broker="sim", gateway=f"127.0.0.1:{port}",
                                                     data_dir=tmp_path / "split"))
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    orders, fills = recorded(alone.db_path)
    assert len(orders) > 20 and len(fills) > 10, "the session should trade"
    if faults:
        assert alone.summary.rejects > 0 and alone.summary.position_breaks, "the faults should bite"
    assert recorded(split.db_path) == (orders, fills)
    assert split.summary.paragraph().split("): ", 1)[1] == alone.summary.paragraph().split("): ", 1)[1]
    assert split.exit_code == alone.exit_code
