"""Open a recording read-only and pick the run a report is about.

A run that is still writing holds DuckDB's lock on the file: the report then reads a private copy
(file and WAL) so it never waits on, or disturbs, the writer.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..broker.server import describe
from ..storage.recorder import DB_NAME
from ..storage.schema import ADDED_TABLES, TABLES


class ReportError(Exception):
    """A usage problem: no such data directory, recording or run (the CLI exits 2)."""


@dataclass
class RunInfo:
    run_id: int
    profile: str
    broker: str
    mode: str | None
    sim_seed: int | None
    source: str | None
    run_date: dt.date
    started_at: dt.datetime | None
    ended_at: dt.datetime | None
    config_hash: str | None
    status: str | None
    exit_code: int | None
    config: dict[str, Any] = field(repr=False)
    summary: dict[str, Any] | None = field(repr=False)
    all_runs: list[int] = field(default_factory=list)
    server: str | None = None           # runs.server; recordings before it have none

    @property
    def server_text(self) -> str:
        """'paper (모의투자)', 'real (실거래)', 'sim (emulator)', or why it is not known."""
        return "not recorded" if self.server is None else describe(self.server)

    @property
    def files(self) -> dict[str, Any]:
        return self.config.get("files") or {}

    @property
    def profile_data(self) -> dict[str, Any]:
        return self.config.get("profile") or {}

    @property
    def ended_normally(self) -> bool:
        return self.status == "ok"

    @property
    def incomplete(self) -> str | None:
        """Why this run's data is incomplete (a sentence for the banner), or None."""
        if self.status == "killed":
            lead = ("This run's process was killed (or the machine stopped) before it could record its end; "
                    "a later run found it unfinished and marked it killed (no end time is known).")
        elif self.status == "running":
            lead = ("This run has not recorded its end: it is still running, or its process died and no "
                    "later run has opened this recording since.")
        elif self.status == "recording_failed":
            return ("Recording failed at the end of this run: rows held in memory could not be written, so "
                    "its data is incomplete (the trade command printed what was lost and the run's summary).")
        else:
            return None
        if self.mode == "live":
            what = ("Orders, order events, fills, alerts and events were committed as they happened; signals, "
                    "pairs, transitions, quotes and telemetry since the last bulk write are missing, and an "
                    "order's final status may be older than what happened.")
        else:
            what = ("A simulated run writes its rows in bulk (every 50,000 and at the end): what was not "
                    "written yet is missing, possibly everything but this run's row.")
        return f"{lead} Its data is incomplete. {what}"


class Recording:
    """A read-only DuckDB connection on a data directory's recording (context manager)."""

    def __init__(self, data_dir: Path):
        import duckdb

        self.data_dir = Path(data_dir)
        if not self.data_dir.is_dir():
            raise ReportError(f"data directory not found: {self.data_dir}")
        path = self.data_dir / DB_NAME
        if not path.is_file():
            raise ReportError(f"no recording in {self.data_dir} (expected {DB_NAME}; "
                              f"`kxrules trade --data-dir {self.data_dir}` writes one)")
        self._tmp: tempfile.TemporaryDirectory | None = None
        try:
            self.con = duckdb.connect(str(path), read_only=True)
        except (duckdb.IOException, duckdb.ConnectionException) as exc:
            text = str(exc).lower()
            if "lock" not in text and "configuration" not in text:
                raise ReportError(f"cannot open {path}: {exc}") from exc
            self.con = self._open_copy(path)       # a writer holds it: read a private copy
        except duckdb.Error as exc:
            raise ReportError(f"cannot open {path}: {exc}") from exc
        tables = {r[0] for r in self.con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        if "runs" not in tables:
            self.close()
            raise ReportError(f"{path} is not a kxrules recording (no runs table)")
        missing = sorted(set(TABLES) - tables - ADDED_TABLES)
        if missing:
            self.close()
            raise ReportError(f"{path} lacks the tables {', '.join(missing)} (a recording from another "
                              f"kxrules version?)")

    def _open_copy(self, path: Path):
        import duckdb

        self._tmp = tempfile.TemporaryDirectory(prefix="kxrules-report-")
        copy = Path(self._tmp.name) / DB_NAME
        shutil.copy2(path, copy)
        wal = path.with_name(path.name + ".wal")
        if wal.exists():
            shutil.copy2(wal, copy.with_name(copy.name + ".wal"))
        return duckdb.connect(str(copy), read_only=False)

    def close(self) -> None:
        self.con.close()
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> "Recording":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def run_ids(self) -> list[int]:
        return [int(r[0]) for r in self.con.execute("SELECT run_id FROM runs ORDER BY run_id").fetchall()]

    def resolve(self, run: str | int | None) -> RunInfo:
        ids = self.run_ids()
        if not ids:
            raise ReportError(f"the recording in {self.data_dir} holds no run")
        if run in (None, "", "latest"):
            run_id = ids[-1]
        else:
            try:
                run_id = int(run)
            except (TypeError, ValueError):
                raise ReportError(f"--run must be 'latest' or a run id, got {run!r}") from None
            if run_id not in ids:
                shown = ", ".join(map(str, ids[-10:]))
                raise ReportError(f"run {run_id} is not in {self.data_dir} (runs: {shown})")
        cur = self.con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        names = [d[0] for d in cur.description]
        row = dict(zip(names, cur.fetchall()[0]))
        config = _json(row.get("config_json")) or {}
        run_date = row.get("run_date")
        if run_date is None and row.get("started_at") is not None:
            run_date = row["started_at"].date()
        return RunInfo(
            run_id=run_id, profile=row.get("profile") or "?", broker=row.get("broker") or "?",
            mode=row.get("mode"), sim_seed=row.get("sim_seed"), source=row.get("source"),
            run_date=run_date, started_at=row.get("started_at"), ended_at=row.get("ended_at"),
            config_hash=row.get("config_hash"), status=row.get("status"), exit_code=row.get("exit_code"),
            config=config, summary=_json(row.get("summary_json")), all_runs=ids, server=row.get("server"),
        )


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None
