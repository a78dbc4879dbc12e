"""The day library: the quotes a data directory recorded, listed and exported one file per day.

A run records quotes (``recording.quotes`` live, ``--record-quotes`` in simulation) into the
``quotes`` table of ``<data_dir>/kxrules.duckdb`` in the replay format, tagged with its run id.
``export_days`` writes each Seoul trading day to ``OUT/date=YYYY-MM-DD/quotes.parquet``:
a Hive-style partition, so a sweep (or DuckDB, pyarrow, Spark) picks a date range from the
directory names without opening a file, and a day can be added or replaced on its own. Each
file is checked the way ``kxrules trade --replay`` checks its input (sorted, on the tick grid,
codes of the run's universe, inside the day), and must hold both venues.
"""
from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .. import seoul
from ..market import VENUES
from ..marketdata.quote_format import QUOTE_COLUMNS, scan_quote_file
from ..storage.recorder import DB_NAME

DAY_FILE = "quotes.parquet"
PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True)
class RecordedDay:
    run_id: int
    run_date: dt.date
    profile: str
    source: str
    status: str
    rows: int
    codes: int
    venues: int
    first_ns: int
    last_ns: int


@dataclass(frozen=True)
class LibraryDay:
    date: dt.date
    path: Path
    rows: int


@dataclass
class ExportedDay:
    day: RecordedDay
    path: Path
    rows: int
    problems: list[str]
    skipped_runs: list[int]


def _connect(data_dir: Path):
    import duckdb

    path = Path(data_dir) / DB_NAME
    if not path.exists():
        raise FileNotFoundError(f"no recording in {data_dir} ({DB_NAME} not found)")
    return duckdb.connect(str(path), read_only=True)


def recorded_days(data_dir: Path) -> list[RecordedDay]:
    """Every run of the recording that holds quotes, by date then run."""
    con = _connect(data_dir)
    try:
        rows = con.execute(
            """SELECT r.run_id, r.run_date, r.profile, r.source, r.status, q.n, q.codes, q.venues, q.t0, q.t1
               FROM runs r JOIN (SELECT run_id, count(*) AS n, count(DISTINCT code) AS codes,
                                        count(DISTINCT venue) AS venues, min(ts_ns) AS t0, max(ts_ns) AS t1
                                 FROM quotes GROUP BY run_id) q USING (run_id)
               ORDER BY r.run_date, r.run_id""").fetchall()
    finally:
        con.close()
    return [RecordedDay(int(r[0]), r[1], r[2], r[3], r[4], int(r[5]), int(r[6]), int(r[7]), int(r[8]), int(r[9]))
            for r in rows]


def chosen_runs(days: list[RecordedDay]) -> dict[dt.date, tuple[RecordedDay, list[int]]]:
    """One run per date: the latest that ended (not ``running``/``killed``), else the latest;
    with the runs left out."""
    by_date: dict[dt.date, list[RecordedDay]] = {}
    for d in days:
        by_date.setdefault(d.run_date, []).append(d)
    out = {}
    for date, runs in by_date.items():
        ended = [r for r in runs if r.status not in ("running", "killed")]
        pick = (ended or runs)[-1]
        out[date] = (pick, [r.run_id for r in runs if r is not pick])
    return out


def day_path(out: Path, date: dt.date) -> Path:
    return Path(out) / f"date={date.isoformat()}" / DAY_FILE


def export_days(data_dir: Path, out: Path, *, dates: set[dt.date] | None = None) -> list[ExportedDay]:
    """Write one Parquet file per recorded day (replacing an older export of that day) and check
    it; a day that fails its check is removed again and reported with its problems."""
    chosen = chosen_runs(recorded_days(data_dir))
    con = _connect(data_dir)
    results = []
    try:
        for date, (day, skipped) in sorted(chosen.items()):
            if dates is not None and date not in dates:
                continue
            target = day_path(out, date)
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(target.name + ".part")
            cols = ", ".join(QUOTE_COLUMNS)
            # rowid keeps the recorded order among equal time stamps (ORDER BY alone is not stable);
            # Parquet v2 delta-encodes the time stamps, and with it LZ4 is 3% larger than zstd
            # and 44% cheaper to read back (every sweep run decodes its day again)
            con.execute(f"COPY (SELECT {cols} FROM quotes WHERE run_id = {day.run_id} ORDER BY ts_ns, rowid) "
                        f"TO '{_sql_str(tmp)}' (FORMAT PARQUET, COMPRESSION LZ4, PARQUET_VERSION V2, "
                        f"ROW_GROUP_SIZE 262144)")
            codes = _run_codes(con, day.run_id)
            problems = check_day_file(tmp, date, codes)
            if problems:
                tmp.unlink(missing_ok=True)
            else:
                tmp.replace(target)
            results.append(ExportedDay(day, target, day.rows, problems, skipped))
    finally:
        con.close()
    return results


def _sql_str(path: Path) -> str:
    return str(path).replace("'", "''")


def _run_codes(con, run_id: int) -> list[str] | None:
    """The universe the run traded (from its recorded config), or None when it cannot be read."""
    raw = con.execute("SELECT config_json FROM runs WHERE run_id = ?", [run_id]).fetchone()
    try:
        universe = json.loads(raw[0])["files"]["universe"]
        return [row[0] for row in universe]
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def check_day_file(path: Path, date: dt.date, codes: list[str] | None) -> list[str]:
    """What ``trade --replay`` would refuse in this file (plus: both venues present)."""
    start = seoul.midnight_ns(date)
    scan = scan_quote_file(path, codes=codes, ts_range=(start, start + 86_400 * seoul.NS_PER_S),
                           ts_range_label=f"the day {date.isoformat()} (Seoul)")
    problems = [p.text() for p in scan.problems]
    if scan.ok:
        import duckdb

        venues = {r[0] for r in duckdb.sql(f"SELECT DISTINCT venue FROM read_parquet('{_sql_str(path)}', hive_partitioning = false)").fetchall()}
        if venues != set(VENUES):
            problems.append(f"column venue: only {', '.join(sorted(venues)) or 'no venue'} present; "
                            f"a day needs both {' and '.join(VENUES)}")
    return problems


def library_days(root: Path, start: dt.date | None = None, end: dt.date | None = None) -> list[LibraryDay]:
    """The exported days under ``root`` (``date=YYYY-MM-DD/quotes.parquet``), optionally in
    [start, end]; row counts from the Parquet footers (no data read)."""
    import pyarrow.parquet as pq

    out = []
    for sub in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        m = PARTITION.match(sub.name)
        f = sub / DAY_FILE
        if not m or not f.is_file():
            continue
        date = dt.date.fromisoformat(m.group(1))
        if (start and date < start) or (end and date > end):
            continue
        out.append(LibraryDay(date, f, pq.ParquetFile(f).metadata.num_rows))
    return out
