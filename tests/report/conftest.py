"""One recording shared by the report tests, made once per session (about 12 s):

- run 1: a seeded emulator session (seed 7, 09:00-09:06) on a workspace copy whose emulator
  rejects and drops more orders than the shipped one, so rejects and ack timeouts occur;
- run 2: a session that stops at 09:00:20, before the armed window opens: it trades nothing;
- run 3: a run that "crashed" mid-pair: run 1's rows up to a moment when a pair held its entry
  but had not hedged, with the run left in status ``running`` (no end, no summary), as a process
  killed at that moment would leave it.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app as kxrules_app

from .helpers import DB, REPO

TS_COLUMN = {"signals": "ts_ns", "pairs": "ended_ns", "orders": "sent_ns", "order_events": "ts_ns",
             "fills": "ts_ns", "transitions": "ts_ns", "quotes": "ts_ns", "telemetry": "ts_ns",
             "events": "ts_ns", "alerts": "ts_ns"}


@dataclass
class Recording:
    data_dir: Path
    workspace: Path
    traded: int = 1
    empty: int = 2
    crashed: int = 3

    def con(self):
        return duckdb.connect(str(self.data_dir / DB), read_only=True)


def _trade(ws: Path, data_dir: Path, seed: int, until: str) -> None:
    result = CliRunner().invoke(kxrules_app, [
        "trade", "--profile", "pilot", "--broker", "sim", "--synthetic", "--seed", str(seed), "--speed", "max",
        "--date", "2026-11-23", "--until", until, "--data-dir", str(data_dir), "--workspace", str(ws), "--quiet"])
    assert result.exit_code in (0, 1), result.output


def _crash_copy(con, source: int, target: int) -> None:
    """Copy run ``source`` up to a moment inside a pair's hedge into run ``target``, unfinished."""
    row = con.execute("""SELECT first_fill_ns + (coalesce(flat_ns, ended_ns) - first_fill_ns) // 2 FROM pairs
                         WHERE run_id = ? AND first_fill_ns IS NOT NULL ORDER BY unhedged_ms DESC LIMIT 1""",
                      [source]).fetchone()
    assert row is not None and row[0] is not None, f"run {source} held no position: nothing to crash inside"
    cut = row[0]
    con.execute("""INSERT INTO runs (run_id, profile, broker, mode, sim_seed, source, run_date, started_at,
                                     config_hash, config_json, status, schema_version)
                   SELECT ?, profile, broker, mode, sim_seed, source, run_date, started_at, config_hash,
                          config_json, 'running', schema_version FROM runs WHERE run_id = ?""", [target, source])
    for table, ts in TS_COLUMN.items():
        con.execute(f"INSERT INTO {table} SELECT ? AS run_id, * EXCLUDE (run_id) FROM {table} "
                    f"WHERE run_id = ? AND {ts} <= ?", [target, source, cut])


@pytest.fixture(scope="session")
def recording(tmp_path_factory) -> Recording:
    root = tmp_path_factory.mktemp("report")
    ws = root / "ws"
    for sub in ("rules", "sessions", "config", "reports"):
        shutil.copytree(REPO / sub, ws / sub, ignore=shutil.ignore_patterns("__pycache__"))
    sim = ws / "config" / "sim" / "default.yaml"
    text = sim.read_text(encoding="utf-8")
    for old, new in (("reject_rate: 0.002", "reject_rate: 0.15"), ("tr_ack_drop_rate: 0.001", "tr_ack_drop_rate: 0.08")):
        assert old in text
        text = text.replace(old, new, 1)
    sim.write_text(text, encoding="utf-8")
    data = root / "data"
    _trade(ws, data, 7, "09:06:00")
    _trade(ws, data, 11, "09:00:20")
    con = duckdb.connect(str(data / DB))
    _crash_copy(con, 1, 3)
    con.close()
    return Recording(data, ws)
