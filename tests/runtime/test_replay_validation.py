"""`kxrules trade --replay FILE` checks the whole file first: a bad file exits 2 naming the file,
the row (counted from 1, the file's first row) and the column, and nothing is recorded."""
from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.config.compile import compile_profile
from kxrules.runtime.replay_check import ReplayError, check_replay
from kxrules.runtime.trade import TradeError, TradeOptions, run_simulation
from kxrules.seoul import epoch_ns

REPO = Path(__file__).resolve().parents[2]
DAY = dt.date(2026, 11, 23)                    # a Monday, a KRX trading day
T0 = epoch_ns(DAY, 10 * 3600)                  # 10:00:00 KST
MS = 1_000_000
UNIVERSE = "code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n000660,SK하이닉스,KOSPI,1425000\n"
runner = CliRunner()


def good_rows(n: int = 12) -> dict[str, list]:
    """A clean little book: both venues of two symbols, one-tick spreads, sorted."""
    rows: dict[str, list] = {k: [] for k in ("ts_ns", "code", "venue", "bid1", "ask1", "bid1_qty", "ask1_qty")}
    for i in range(n):
        code, bid, tick = (("005930", 100_000, 100), ("000660", 1_425_000, 1_000))[i % 2]
        for k, v in (("ts_ns", T0 + i * 10 * MS), ("code", code), ("venue", ("KRX", "NXT")[(i // 2) % 2]),
                     ("bid1", bid), ("ask1", bid + tick), ("bid1_qty", 500 + i), ("ask1_qty", 700 + i)):
            rows[k].append(v)
    return rows


TYPES = {"ts_ns": pa.int64(), "code": pa.string(), "venue": pa.string(), "bid1": pa.int64(),
         "ask1": pa.int64(), "bid1_qty": pa.int64(), "ask1_qty": pa.int64()}


def table(rows: dict[str, list], types: dict | None = None) -> pa.Table:
    types = {**TYPES, **(types or {})}
    return pa.table({k: pa.array(v, types.get(k)) for k, v in rows.items()})


def edited(**cells) -> dict[str, list]:
    """Good rows with some cells changed: ``bid1={2: 99_950}`` sets row index 2 (0-based) of bid1."""
    rows = good_rows()
    for col, changes in cells.items():
        for i, v in changes.items():
            rows[col][i] = v
    return rows


@pytest.fixture
def env(tmp_path: Path):
    uni = tmp_path / "universe.csv"
    uni.write_text(UNIVERSE, encoding="utf-8")
    return tmp_path, uni


def trade(tmp_path: Path, uni: Path, replay: str, *extra: str):
    data = tmp_path / "data"
    r = runner.invoke(app, ["trade", "--workspace", str(REPO), "--profile", "pilot", "--broker", "sim",
                            "--replay", replay, "--universe", str(uni), "--data-dir", str(data),
                            "--speed", "max", "--quiet", *extra])
    return r, data


def assert_refused(r, data: Path, source: str, *needles: str) -> str:
    """Exit 2, the message names the source and each needle; no recording exists."""
    assert r.exit_code == 2, r.output
    err = r.stderr
    assert source in err, err
    for needle in needles:
        assert needle in err, f"{needle!r} not in:\n{err}"
    assert not (data / "kxrules.duckdb").exists(), "a refused replay must not be recorded"
    return err


def write(tmp_path: Path, t: pa.Table, name: str = "q.parquet") -> Path:
    path = tmp_path / name
    pq.write_table(t, path)
    return path


# --- row problems: the message names file, row (from 1) and column -----------------------------

ROW_CASES = [
    # (cells to change (0-based row index), needles in the message)
    (dict(ts_ns={3: T0 + 5 * MS}), ["row 4, column ts_ns: ts_ns not sorted"]),
    (dict(bid1={2: 100_100}), ["row 3, column bid1, ask1: bid1 >= ask1", "bid1 100100 >= ask1 100100"]),
    (dict(bid1={4: 100_300}), ["row 5, column bid1, ask1: bid1 >= ask1", "bid1 100300 >= ask1 100100"]),
    (dict(bid1={6: 100_050}), ["row 7, column bid1: price not on the tick grid", "100050, tick 100"]),
    (dict(ask1={1: 1_425_500}), ["row 2, column ask1: price not on the tick grid", "1425500, tick 1000"]),
    (dict(bid1={5: None}), ["row 6, column bid1: null bid1"]),
    (dict(code={2: None}), ["row 3, column code: null code"]),
    (dict(ts_ns={0: None}), ["row 1, column ts_ns: null ts_ns"]),
    (dict(venue={3: "SOR"}), ["row 4, column venue: venue not 'KRX' or 'NXT'", "'SOR'"]),
    (dict(venue={3: "krx"}), ["row 4, column venue: venue not 'KRX' or 'NXT'", "'krx'"]),
    (dict(code={7: "035420"}), ["row 8, column code: code not in the profile's universe", "'035420'",
                                "--universe"]),
    (dict(code={1: "5930"}), ["row 2, column code: code is not 6 characters", "'5930'"]),
    (dict(bid1_qty={9: -5}), ["row 10, column bid1_qty: negative size"]),
    (dict(ask1={2: -100_100}), ["row 3, column ask1: negative price"]),
    (dict(bid1={4: 0}), ["row 5, column bid1_qty: size on an empty level"]),
    (dict(ask1={10: 200_000_000}), ["row 11, column ask1: price above 15,000,000 KRW"]),
    (dict(ask1_qty={11: 2**40}), ["row 12, column ask1_qty: size above 2,147,483,647 shares"]),
    (dict(ts_ns={11: T0 + 86_400 * 10**9}), ["row 12, column ts_ns: ts_ns outside the run date 2026-11-23",
                                             "2026-11-24"]),
]


@pytest.mark.parametrize("cells, needles", ROW_CASES, ids=lambda v: str(v)[:40] if isinstance(v, dict) else "")
def test_bad_row_exits_2_naming_file_row_and_column(env, cells, needles):
    tmp_path, uni = env
    path = write(tmp_path, table(edited(**cells)))
    r, data = trade(tmp_path, uni, str(path))
    err = assert_refused(r, data, str(path), *needles)
    assert "rows are numbered from 1" in err and "nothing was recorded" in err


def test_every_kind_of_problem_is_listed_with_its_count(env):
    tmp_path, uni = env
    rows = edited(bid1={2: 100_050, 4: 100_050, 6: 100_150}, venue={5: "SOR"})
    path = write(tmp_path, table(rows))
    r, data = trade(tmp_path, uni, str(path))
    err = assert_refused(r, data, str(path))
    assert "row 3, column bid1: price not on the tick grid (e.g. 100050, tick 100); 3 rows in all" in err
    assert "row 6, column venue: venue not 'KRX' or 'NXT'" in err
    assert err.index("row 3, column bid1") < err.index("row 6, column venue")   # in file order


def test_no_row_in_the_universe_is_an_error_not_an_empty_day(env):
    tmp_path, uni = env
    rows = good_rows()
    rows["code"] = ["035420"] * len(rows["code"])          # NAVER only; the universe lacks it
    rows["bid1"], rows["ask1"] = [214_000] * 12, [214_500] * 12
    path = write(tmp_path, table(rows))
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "column code: none of the 12 rows is for a symbol of the profile's universe",
                   "row 1, column code: code not in the profile's universe")


def test_a_date_other_than_the_files_day_is_refused(env):
    tmp_path, uni = env
    path = write(tmp_path, table(good_rows()))
    r, data = trade(tmp_path, uni, str(path), "--date", "2026-11-24")
    assert_refused(r, data, str(path), "row 1, column ts_ns: ts_ns outside the run date 2026-11-24",
                   "2026-11-23 10:00:00 KST", "--date")


# --- whole-file problems: schema, empty, unreadable ----------------------------------------------

@pytest.mark.parametrize("column, typ, needle", [
    ("bid1", pa.float64(), "column bid1: column 'bid1' is double, expected int64"),
    ("ts_ns", pa.string(), "column ts_ns: column 'ts_ns' is string, expected int64"),
    ("code", pa.int64(), "column code: column 'code' is int64, expected string"),
    ("ask1_qty", pa.int32(), "column ask1_qty: column 'ask1_qty' is int32, expected int64"),
])
def test_wrong_column_type_names_the_column(env, column, typ, needle):
    tmp_path, uni = env
    rows = good_rows()
    rows[column] = [int(v) if typ == pa.int64() else (str(v) if typ == pa.string() else v) for v in rows[column]]
    path = write(tmp_path, table(rows, {column: typ}))
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), needle)


def test_missing_and_extra_columns(env):
    tmp_path, uni = env
    path = write(tmp_path, table(good_rows()).drop_columns(["ask1_qty"]).append_column("note", pa.array(["x"] * 12)))
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "column ask1_qty: missing column 'ask1_qty'", "unexpected column(s): note")


def test_file_with_no_rows(env):
    tmp_path, uni = env
    path = write(tmp_path, table({k: [] for k in TYPES}))
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "the file has no rows")


@pytest.mark.parametrize("content", [b"", b"PAR1 this is not parquet at all", b"ts_ns,code\n1,005930\n",
                                     bytes(range(256)) * 40])
def test_unreadable_file(env, content):
    tmp_path, uni = env
    path = tmp_path / "junk.parquet"
    path.write_bytes(content)
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), f"cannot read {path}")


def test_directory_and_missing_file(env):
    tmp_path, uni = env
    r, data = trade(tmp_path, uni, str(tmp_path))
    assert_refused(r, data, str(tmp_path), "is a directory")
    r, data = trade(tmp_path, uni, str(tmp_path / "nope.parquet"))
    assert_refused(r, data, "nope.parquet", "file not found")


# --- DuckDB sources ---------------------------------------------------------------------------

def duck(tmp_path: Path, name: str, **tables: pa.Table) -> Path:
    path = tmp_path / name
    con = duckdb.connect(str(path))
    for tname, t in tables.items():
        con.register("src", t)
        con.execute(f'CREATE TABLE "{tname}" AS SELECT * FROM src')
        con.unregister("src")
    con.close()
    return path


def test_duckdb_without_a_table_name_lists_its_tables(env):
    tmp_path, uni = env
    path = duck(tmp_path, "x.duckdb", day1=table(good_rows()), notes=pa.table({"a": [1]}))
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "no table 'quotes' (the default when no table is named)",
                   "its tables: day1, notes", f"{path}::TABLE")


def test_duckdb_names_a_missing_table(env):
    tmp_path, uni = env
    path = duck(tmp_path, "x.duckdb", day1=table(good_rows()))
    r, data = trade(tmp_path, uni, f"{path}::day2")
    assert_refused(r, data, str(path), "no table 'day2'", "its tables: day1")


def test_duckdb_table_rows_are_checked_like_parquet(env):
    tmp_path, uni = env
    path = duck(tmp_path, "x.duckdb", day1=table(edited(ts_ns={5: T0})))
    r, data = trade(tmp_path, uni, f"{path}::day1")
    assert_refused(r, data, f"{path}::day1", "row 6, column ts_ns: ts_ns not sorted")


def test_duckdb_recording_is_explained(env):
    tmp_path, uni = env
    rec = table(good_rows()).append_column("run_id", pa.array([1] * 6 + [2] * 6, pa.int64()))
    path = duck(tmp_path, "rec.duckdb", quotes=rec)
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "column run_id: this is a kxrules recording (runs 1, 2)",
                   "WHERE run_id = 1 ORDER BY ts_ns")


def test_garbage_duckdb_file(env):
    tmp_path, uni = env
    path = tmp_path / "junk.duckdb"
    path.write_bytes(b"definitely not a database" * 100)
    r, data = trade(tmp_path, uni, str(path))
    assert_refused(r, data, str(path), "cannot open it as a DuckDB database")


def test_duckdb_table_replays_with_its_date(env):
    """A good ``x.duckdb::table`` trades (its date comes from its first row, as for Parquet)."""
    tmp_path, uni = env
    path = duck(tmp_path, "x.duckdb", day1=table(good_rows()))
    r, data = trade(tmp_path, uni, f"{path}::day1")
    assert r.exit_code == 0, r.output
    con = duckdb.connect(str(data / "kxrules.duckdb"), read_only=True)
    assert con.execute("SELECT run_date, source FROM runs").fetchall() == [(DAY, f"replay {path}::day1")]


# --- the library refuses too, before the Recorder exists ---------------------------------------

def test_run_simulation_raises_trade_error_before_recording(env):
    tmp_path, uni = env
    compiled = compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni})
    path = write(tmp_path, table(edited(bid1={3: 1_425_000}, ask1={3: 1_424_000})))
    with pytest.raises(TradeError) as info:
        run_simulation(compiled, TradeOptions(broker="sim", replay=path, data_dir=tmp_path / "data"))
    assert isinstance(info.value, ReplayError)
    assert re.search(r"row 4, column bid1, ask1: bid1 >= ask1", str(info.value))
    assert not (tmp_path / "data").exists()
    check_replay(write(tmp_path, table(good_rows()), "ok.parquet"), compiled)   # a clean file passes
