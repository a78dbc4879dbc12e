"""A replay file is checked whole before a simulated run starts (and before anything is recorded).

``check_replay`` streams the file once (:func:`kxrules.marketdata.quote_format.scan_quote_file`)
and raises :class:`ReplayError` (a ``TradeError``: exit code 2 in ``kxrules trade``) naming the
file, the first row (counted from 1, the file's first data row) and the column of every kind of
problem: unreadable or empty file, wrong columns or types, nulls, unsorted ``ts_ns``, times off
the run date, unknown venues, codes outside the profile's universe (or no row for it at all),
negative or absurd prices and sizes, a crossed or locked book on one venue, prices off the tick
grid. A DuckDB source without the table it needs is explained with the tables it does have.
A file checked clean is remembered (``replay_verdicts``): the same file, universe and date are
not checked again.
"""
from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

from .. import seoul
from ..marketdata.quote_format import QUOTE_COLUMNS, _grid_kernels, _split_source, scan_quote_file
from . import replay_verdicts
from .errors import TradeError

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile

MAX_LINES = 20          # problems listed before "... and N more"


class ReplayError(TradeError):
    """The replay source cannot be traded; the message names file, row and column."""


def replay_source_path(path: str | Path) -> Path:
    """The file a replay source names (``x.duckdb::table`` -> ``x.duckdb``)."""
    return _split_source(path, None)[0]


def check_replay(path: str | Path, profile: CompiledProfile) -> None:
    """Raise :class:`ReplayError` unless ``path`` is a clean quote file for ``profile``'s universe
    on its run date. Streams; memory stays at one chunk of rows whatever the file's size."""
    p, table = _split_source(path, None)
    name = f"{p}::{table}" if table else str(p)
    if not p.exists():
        raise ReplayError(f"replay file not found: {p}")
    if p.is_dir():
        raise ReplayError(f"replay file {p} is a directory, not a quote file")
    if table is not None:
        _check_duckdb_table(p, table, explicit="::" in str(path))

    start = seoul.midnight_ns(profile.run_date)
    scan = scan_quote_file(path, codes=profile.codes, ts_range=(start, start + 86_400 * seoul.NS_PER_S),
                           ts_range_label=f"the run date {profile.run_date.isoformat()} (Seoul)")
    if scan.ok:
        return
    lines = [f"  {name}: {problem.text()}" for problem in scan.problems[:MAX_LINES]]
    if len(scan.problems) > MAX_LINES:
        lines.append(f"  ... and {len(scan.problems) - MAX_LINES} more")
    hints = []
    if any(pr.what.startswith("ts_ns outside") for pr in scan.problems):
        hints.append("replay one Seoul trading day; --date names it (default: the day of the first row)")
    if any(pr.column == "code" and "universe" in pr.what for pr in scan.problems):
        hints.append(f"the profile {profile.name} trades {len(profile.codes)} symbol(s); "
                     "--universe FILE trades another universe CSV")
    tail = "".join(f"\n  hint: {h}" for h in hints)
    raise ReplayError(f"replay {name} cannot be traded: {len(scan.problems)} problem(s) "
                      f"(rows are numbered from 1, the file's first row); nothing was recorded:\n"
                      + "\n".join(lines) + tail)


def check_replay_once(path: str | Path, profile: CompiledProfile) -> None:
    """``check_replay``, unless this file was checked clean for this universe and date before;
    a clean verdict is remembered (by the fingerprint taken before the check: a file changed
    meanwhile is not the one remembered)."""
    print_ = _fingerprint(path, profile)
    if replay_verdicts.known_clean(Path(path), print_):
        return
    check_replay(path, profile)
    replay_verdicts.remember_clean(Path(path), print_)


def _fingerprint(path: str | Path, profile: CompiledProfile) -> str | None:
    """None for a DuckDB source (always checked) or a file that cannot be read."""
    p, table = _split_source(path, None)
    return None if table is not None else replay_verdicts.fingerprint(p, profile.codes, profile.run_date)


def start_check(path: str | Path, profile: CompiledProfile) -> Future[None]:
    """``check_replay_once`` on a helper thread, so reading the file overlaps the session's
    imports and kernel loading (decoding Parquet and the compiled row tests release the GIL). The
    thread only reads the file; ``Future.result()`` (``require_checked``) raises what the check
    raised. A file remembered clean needs no thread."""
    if replay_verdicts.known_clean(Path(path), _fingerprint(path, profile)):
        done: Future[None] = Future()
        done.set_result(None)
        return done
    # what the check imports is imported here: importing numba (or duckdb) on two threads at
    # once can hand one of them a half-initialised module
    _grid_kernels()
    if _split_source(path, None)[1] is not None:
        import duckdb  # noqa: F401
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kxrules-check")
    try:
        return pool.submit(check_replay_once, path, profile)
    finally:
        pool.shutdown(wait=False)


def require_checked(path: str | Path, profile: CompiledProfile, started: Future[None] | None) -> None:
    """The replay check's verdict: the one ``start_check`` began, else a check run now."""
    if started is not None:
        started.result()
    else:
        check_replay_once(path, profile)


def _check_duckdb_table(p: Path, table: str, *, explicit: bool) -> None:
    """The DuckDB file must open and hold ``table`` as a quote table, not a whole recording."""
    import duckdb

    try:
        con = duckdb.connect(str(p), read_only=True)
    except Exception as exc:  # noqa: BLE001 - garbage, a lock, a newer format: all exit 2
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ReplayError(f"replay {p}: cannot open it as a DuckDB database: {first}") from None
    try:
        tables = [r[0] for r in con.execute(
            "SELECT table_name FROM information_schema.tables ORDER BY table_name").fetchall()]
        syntax = f"name a table as {p}::TABLE"
        if table not in tables:
            have = f"its tables: {', '.join(tables)}" if tables else "it holds no tables"
            said = f"table {table!r}" if explicit else f"table {table!r} (the default when no table is named)"
            raise ReplayError(f"replay {p}: no {said}; {have}; {syntax}")
        quoted = '"' + table.replace('"', '""') + '"'
        columns = [r[0] for r in con.execute(f"DESCRIBE {quoted}").fetchall()]
        if "run_id" in columns:
            runs = [r[0] for r in con.execute(
                f"SELECT DISTINCT run_id FROM {quoted} ORDER BY run_id LIMIT 11").fetchall()]
            where = f"replay {p}::{table}: column run_id: this is a kxrules recording"
            if not runs:
                raise ReplayError(f"{where}, and its {table} table holds no rows (a simulated run "
                                  "records quotes only with --record-quotes)")
            listed = ", ".join(str(r) for r in runs[:10]) + (", ..." if len(runs) > 10 else "")
            cols = ", ".join(QUOTE_COLUMNS)
            raise ReplayError(
                f"{where} (runs {listed}), not one day's quotes; export one run first, e.g. "
                f"COPY (SELECT {cols} FROM {table} WHERE run_id = {runs[0]} ORDER BY ts_ns) TO 'day.parquet'")
    finally:
        con.close()
