"""The day library: recorded days listed, exported one checked Parquet file per day."""
from __future__ import annotations

import duckdb
import pyarrow.parquet as pq
from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.research.days import check_day_file, day_path, library_days, recorded_days

from .conftest import DAYS, REPO


def test_recorded_days_are_listed_with_their_row_counts(recorded):
    days = recorded_days(recorded.data_dir)
    assert [d.run_date for d in days] == list(DAYS)
    assert all(d.venues == 2 and d.codes == 10 and d.rows > 1_000 for d in days)
    r = CliRunner().invoke(app, ["days", "--data-dir", str(recorded.data_dir)])
    assert r.exit_code == 0, r.output
    assert "2026-11-23" in r.stdout and f"{days[0].rows:,}" in r.stdout


def test_export_writes_one_sorted_file_per_day_equal_to_the_recording(recorded):
    lib = library_days(recorded.library)
    assert [d.date for d in lib] == list(DAYS)
    assert [d.path for d in lib] == [day_path(recorded.library, d) for d in DAYS]
    con = duckdb.connect(str(recorded.data_dir / "kxrules.duckdb"), read_only=True)
    for day, rec in zip(lib, recorded_days(recorded.data_dir)):
        table = pq.read_table(day.path)
        assert table.num_rows == day.rows == rec.rows
        ts = table.column("ts_ns").to_numpy()
        assert (ts[1:] >= ts[:-1]).all()
        assert con.execute("SELECT sum(bid1) + sum(ask1) FROM quotes WHERE run_id = ?", [rec.run_id]).fetchone()[0] \
            == sum(table.column("bid1").to_pylist()) + sum(table.column("ask1").to_pylist())
    con.close()
    r = CliRunner().invoke(app, ["days", "--data-dir", str(recorded.library)])
    assert r.exit_code == 0 and "2 day(s)" in r.stdout


def test_an_exported_day_is_cheap_to_read_back(recorded):
    """Each sweep run decodes its day again: LZ4, in Parquet v2 (whose delta encodings DuckDB
    picks for a busy day's time stamps; this small day's repeat enough to be a dictionary)."""
    from ..marketdata.test_quote_format import parquet_layout

    path = day_path(recorded.library, DAYS[0])
    layout = parquet_layout(path)
    assert {c for codecs, _ in layout.values() for c in codecs} == {"LZ4_RAW"}
    assert duckdb.sql(f"SELECT format_version FROM parquet_file_metadata('{path}')").fetchall() == [(2,)]


def test_an_exported_day_is_a_clean_replay(recorded):
    from kxrules.config.compile import compile_profile
    from kxrules.runtime.replay_check import check_replay

    profile = compile_profile(REPO, "sim", DAYS[0], file_overrides={"universe": recorded.universe})
    check_replay(day_path(recorded.library, DAYS[0]), profile)      # raises on any problem


def test_a_day_with_one_venue_is_refused(recorded, tmp_path):
    one_venue = tmp_path / "krx_only.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{day_path(recorded.library, DAYS[0])}', hive_partitioning = false) WHERE venue = 'KRX') "
               f"TO '{one_venue}' (FORMAT PARQUET)")
    problems = check_day_file(one_venue, DAYS[0], None)
    assert problems and "both KRX and NXT" in problems[0]
    unsorted = tmp_path / "unsorted.parquet"
    duckdb.sql(f"COPY (SELECT * FROM read_parquet('{day_path(recorded.library, DAYS[0])}', hive_partitioning = false) ORDER BY ts_ns DESC) "
               f"TO '{unsorted}' (FORMAT PARQUET)")
    assert any("sorted" in p for p in check_day_file(unsorted, DAYS[0], None))


def test_export_cli_reports_rows_and_exit_code(recorded, tmp_path):
    r = CliRunner().invoke(app, ["days", "export", "--data-dir", str(recorded.data_dir), "--out", str(tmp_path / "lib")])
    assert r.exit_code == 0, r.output
    assert "2 day(s) exported" in r.stdout
    assert (tmp_path / "lib" / "date=2026-11-24" / "quotes.parquet").is_file()
