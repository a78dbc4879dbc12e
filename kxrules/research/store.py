"""The sweep results: one DuckDB file, one row per (sweep, run key), written by the parent only.

A row is committed as soon as its run finishes, so an interrupted sweep keeps every finished
run and a resumed one skips their keys (``done_keys``). A search also records its trials
(``sweep_trials``: the setting Optuna proposed, its value over the days, feasible or not).
"""
from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from .metrics import METRIC_COLUMNS

DB_NAME = "sweeps.duckdb"

RUN_COLUMNS: dict[str, str] = {
    "sweep_id": "VARCHAR", "run_key": "VARCHAR", "setting": "VARCHAR", "setting_json": "VARCHAR",
    "day": "VARCHAR", "day_date": "DATE", "config_hash": "VARCHAR",
    **METRIC_COLUMNS,
    "wall_s": "DOUBLE", "worker": "VARCHAR", "finished_at": "TIMESTAMP", "command": "VARCHAR",
}
TRIAL_COLUMNS: dict[str, str] = {
    "sweep_id": "VARCHAR", "trial": "INTEGER", "setting": "VARCHAR", "setting_json": "VARCHAR",
    "state": "VARCHAR", "value": "DOUBLE", "feasible": "BOOLEAN",
}


class SweepStore:
    def __init__(self, path: Path):
        import duckdb

        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(str(self.path))
        self.con.execute("CREATE TABLE IF NOT EXISTS sweeps (sweep_id VARCHAR PRIMARY KEY, file VARCHAR, "
                         "profile VARCHAR, spec_json VARCHAR, created_at TIMESTAMP, updated_at TIMESTAMP)")
        cols = ", ".join(f"{k} {v}" for k, v in RUN_COLUMNS.items())
        self.con.execute(f"CREATE TABLE IF NOT EXISTS sweep_runs ({cols}, PRIMARY KEY (sweep_id, run_key))")
        cols = ", ".join(f"{k} {v}" for k, v in TRIAL_COLUMNS.items())
        self.con.execute(f"CREATE TABLE IF NOT EXISTS sweep_trials ({cols}, PRIMARY KEY (sweep_id, trial))")

    def begin(self, sweep_id: str, file: Path, profile: str, spec: dict) -> None:
        now = dt.datetime.now()
        self.con.execute("INSERT INTO sweeps VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sweep_id) DO UPDATE SET "
                         "file = excluded.file, profile = excluded.profile, spec_json = excluded.spec_json, "
                         "updated_at = excluded.updated_at",
                         [sweep_id, str(file), profile, json.dumps(spec, default=str), now, now])

    def done_keys(self, sweep_id: str) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT run_key FROM sweep_runs WHERE sweep_id = ?",
                                               [sweep_id]).fetchall()}

    def add(self, row: dict[str, Any]) -> None:
        names = list(RUN_COLUMNS)
        self.con.execute(f"INSERT INTO sweep_runs ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
                         [row.get(n) for n in names])

    def set_trial(self, trial: dict[str, Any]) -> None:
        """Insert or replace one trial (a resumed search tells its trials again, to the same values)."""
        names = list(TRIAL_COLUMNS)
        updates = ", ".join(f"{n} = excluded.{n}" for n in names[2:])
        self.con.execute(f"INSERT INTO sweep_trials ({', '.join(names)}) VALUES ({', '.join('?' * len(names))}) "
                         f"ON CONFLICT (sweep_id, trial) DO UPDATE SET {updates}", [trial.get(n) for n in names])

    def clear_trials(self, sweep_id: str) -> None:
        """Before a search (re)tells its trials: a changed seed or space leaves no stale trial."""
        self.con.execute("DELETE FROM sweep_trials WHERE sweep_id = ?", [sweep_id])

    def trials(self, sweep_id: str) -> list[dict[str, Any]]:
        cur = self.con.execute("SELECT * FROM sweep_trials WHERE sweep_id = ? ORDER BY trial", [sweep_id])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def rows(self, sweep_id: str, keys: set[str] | None = None) -> list[dict[str, Any]]:
        """The sweep's rows (only those of ``keys`` when given), by setting then day."""
        where, args = ("sweep_id = ?", [sweep_id]) if keys is None else \
            ("sweep_id = ? AND list_contains(?, run_key)", [sweep_id, sorted(keys)])
        cur = self.con.execute(f"SELECT * FROM sweep_runs WHERE {where} ORDER BY setting, day_date, day", args)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r)) for r in cur.fetchall()]

    def close(self) -> None:
        self.con.close()
