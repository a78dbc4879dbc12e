"""The replay quote format: schema, validator, streaming reader, writer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kxrules.marketdata.quote_format import (
    QUOTE_COLUMNS,
    QUOTE_SCHEMA,
    QuoteBatch,
    iter_quote_batches,
    quote_file_codes,
    validate_quote_file,
)
from kxrules.marketdata.quote_writer import QuoteWriter, quote_table

CODES = ["005930", "000660", "035420"]
T0 = 1_795_395_600_000_000_000  # 2026-11-23 10:00:00 KST


def _rows(n: int = 50, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = T0 + np.cumsum(rng.integers(0, 5_000_000, n))  # ties allowed (increment 0)
    code = rng.integers(0, len(CODES), n)
    venue = rng.integers(0, 2, n)
    bid = np.array([239_500, 1_425_000, 214_000])[code]
    ask = bid + np.array([500, 1_000, 500])[code]
    return dict(ts_ns=ts, code_idx=code, venue_idx=venue, bid=bid, ask=ask,
                bid_qty=rng.integers(1, 9_000, n), ask_qty=rng.integers(1, 9_000, n))


def _write(path: Path, rows: dict[str, np.ndarray], **kw) -> Path:
    with QuoteWriter(path, codes=CODES, row_group_rows=16, **kw) as w:
        n = len(rows["ts_ns"])
        for lo in range(0, n, 7):  # several writes, several row groups
            w.write_arrays(*(rows[k][lo:lo + 7] for k in
                             ("ts_ns", "code_idx", "venue_idx", "bid", "ask", "bid_qty", "ask_qty")))
    return path


def _table(**overrides) -> pa.Table:
    r = _rows(10)
    t = quote_table(r["ts_ns"], r["code_idx"], r["venue_idx"], r["bid"], r["ask"], r["bid_qty"],
                    r["ask_qty"], CODES)
    for name, values in overrides.items():
        i = t.schema.get_field_index(name)
        t = t.set_column(i, t.schema.field(i), pa.array(values, t.schema.field(i).type))
    return t


def test_schema_constant() -> None:
    assert tuple(QUOTE_SCHEMA.names) == QUOTE_COLUMNS == (
        "ts_ns", "code", "venue", "bid1", "ask1", "bid1_qty", "ask1_qty")
    assert QUOTE_SCHEMA.field("code").type == pa.string()
    for name in ("ts_ns", "bid1", "ask1", "bid1_qty", "ask1_qty"):
        assert QUOTE_SCHEMA.field(name).type == pa.int64()


@pytest.mark.parametrize("background", [False, True])
def test_writer_produces_the_schema_and_validates(tmp_path: Path, background: bool) -> None:
    path = _write(tmp_path / "q.parquet", _rows(), background=background)
    schema = pq.read_schema(path)
    assert schema.remove_metadata().equals(QUOTE_SCHEMA)
    assert pq.ParquetFile(path).metadata.num_row_groups > 1
    assert validate_quote_file(path) == []
    assert quote_file_codes(path) == sorted(CODES)
    t = pq.read_table(path)
    assert t.num_rows == 50 and t.column("venue").to_pylist()[0] in ("KRX", "NXT")


def parquet_layout(path: Path) -> dict[str, tuple[set[str], set[str]]]:
    """Per column: the codecs and encodings its chunks were written with, as DuckDB reads them."""
    import duckdb

    rows = duckdb.sql(f"SELECT path_in_schema, compression, encodings FROM parquet_metadata('{path}')").fetchall()
    out: dict[str, tuple[set[str], set[str]]] = {}
    for column, codec, encodings in rows:
        codecs, seen = out.setdefault(column, (set(), set()))
        codecs.add(codec)
        seen.update(e.strip() for e in encodings.split(","))
    return out


def test_written_quote_files_are_cheap_to_read_back(tmp_path: Path) -> None:
    """Every replay decodes its whole file again: LZ4 (as portable LZ4_RAW) over delta-encoded
    time stamps and sizes reads back a third cheaper than zstd at the same size."""
    layout = parquet_layout(_write(tmp_path / "q.parquet", _rows()))
    assert {c for codecs, _ in layout.values() for c in codecs} == {"LZ4_RAW"}
    for column in ("ts_ns", "bid1_qty", "ask1_qty"):
        assert "DELTA_BINARY_PACKED" in layout[column][1]


def test_writer_accepts_tables(tmp_path: Path) -> None:
    with QuoteWriter(tmp_path / "t.parquet") as w:
        w.write(_table())
    assert pq.read_table(tmp_path / "t.parquet").equals(_table())


@pytest.mark.parametrize("overrides, problem", [
    (dict(ts_ns=[T0 + 10, T0 + 5] + [T0 + 20] * 8), "ts_ns not sorted"),
    (dict(venue=["KRX", "SOR"] + ["NXT"] * 8), "venue not 'KRX' or 'NXT'"),
    (dict(code=["5930"] + ["005930"] * 9), "code is not 6 characters"),
    (dict(bid1=[-100] + [100_000] * 9, ask1=[100_100] * 10), "row 1, column bid1: negative price"),
    (dict(bid1=[100_100] * 10, ask1=[100_100] * 10), "bid1 >= ask1"),
    (dict(bid1=[100_050] * 10, ask1=[100_200] * 10), "not on the tick grid"),
    (dict(bid1=[0] * 10, ask1=[100_100] * 10, bid1_qty=[5] * 10), "size on an empty level"),
    (dict(bid1_qty=[-1] * 10), "column bid1_qty: negative size"),
])
def test_validator_finds_problems(tmp_path: Path, overrides: dict, problem: str) -> None:
    path = tmp_path / "bad.parquet"
    pq.write_table(_table(**overrides), path)
    problems = validate_quote_file(path)
    assert any(problem in p for p in problems), problems


def test_validator_allows_empty_levels(tmp_path: Path) -> None:
    path = tmp_path / "empty.parquet"
    pq.write_table(_table(bid1=[0] * 10, bid1_qty=[0] * 10), path)
    assert validate_quote_file(path) == []


def test_validator_schema_problems(tmp_path: Path) -> None:
    t = _table()
    pq.write_table(t.drop_columns(["ask1_qty"]), tmp_path / "a.parquet")
    assert validate_quote_file(tmp_path / "a.parquet") == ["missing column 'ask1_qty'"]
    pq.write_table(t.set_column(3, "bid1", t.column("bid1").cast(pa.float64())), tmp_path / "b.parquet")
    assert any("bid1" in p and "double" in p for p in validate_quote_file(tmp_path / "b.parquet"))
    assert validate_quote_file(tmp_path / "missing.parquet")[0].startswith("file not found")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet")
    assert validate_quote_file(tmp_path / "junk.parquet")[0].startswith("cannot read")


def _concat(batches: list[QuoteBatch]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([getattr(b, k) for b in batches])
            for k in ("ts_ns", "code_idx", "venue_idx", "bid", "ask", "bid_qty", "ask_qty")}


def test_reader_small_batches_equal_full_read(tmp_path: Path) -> None:
    rows = _rows(200, seed=3)
    path = _write(tmp_path / "q.parquet", rows)
    codes = ["000660", "005930", "035420"]  # reader order differs from writer order
    small = list(iter_quote_batches(path, batch_rows=7, codes=codes))
    assert all(len(b) <= 7 for b in small) and len(small) >= 200 // 7
    full = list(iter_quote_batches(path, batch_rows=1 << 20, codes=codes))
    a, b = _concat(small), _concat(full)
    for k in a:
        assert a[k].dtype == np.int64
        np.testing.assert_array_equal(a[k], b[k])
    t = pq.read_table(path)
    expect_code = np.array([codes.index(c) for c in t.column("code").to_pylist()])
    np.testing.assert_array_equal(a["code_idx"], expect_code)
    np.testing.assert_array_equal(a["venue_idx"],
                                  [("KRX", "NXT").index(v) for v in t.column("venue").to_pylist()])
    np.testing.assert_array_equal(a["ts_ns"], rows["ts_ns"])
    np.testing.assert_array_equal(a["bid"], rows["bid"])
    np.testing.assert_array_equal(a["ask_qty"], rows["ask_qty"])


def test_reader_drops_other_codes_and_defaults_to_file_codes(tmp_path: Path) -> None:
    rows = _rows(120, seed=4)
    path = _write(tmp_path / "q.parquet", rows)
    got = _concat(list(iter_quote_batches(path, batch_rows=16, codes=["035420", "999999"])))
    keep = rows["code_idx"] == 2
    assert (got["code_idx"] == 0).all() and len(got["ts_ns"]) == keep.sum()
    np.testing.assert_array_equal(got["ts_ns"], rows["ts_ns"][keep])
    # No codes: every code in the file, sorted; also for a file without kxrules metadata.
    plain = tmp_path / "plain.parquet"
    pq.write_table(pq.read_table(path).replace_schema_metadata(None), plain)
    assert quote_file_codes(plain) == sorted(CODES)
    everything = _concat(list(iter_quote_batches(plain, batch_rows=50)))
    assert len(everything["ts_ns"]) == 120
    np.testing.assert_array_equal(
        np.array(sorted(CODES))[everything["code_idx"]], np.array(CODES)[rows["code_idx"]])


def test_reader_reads_duckdb_tables(tmp_path: Path) -> None:
    duckdb = pytest.importorskip("duckdb")
    rows = _rows(90, seed=5)
    path = _write(tmp_path / "q.parquet", rows)
    db = tmp_path / "rec.duckdb"
    con = duckdb.connect(str(db))
    con.execute(f"CREATE TABLE quotes AS SELECT * FROM read_parquet('{path}') ORDER BY ts_ns")
    con.execute("CREATE TABLE other AS SELECT * FROM quotes LIMIT 5")
    con.close()
    a = _concat(list(iter_quote_batches(path, batch_rows=32, codes=CODES)))
    b = _concat(list(iter_quote_batches(db, batch_rows=32, codes=CODES)))
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    assert validate_quote_file(db) == []
    assert len(_concat(list(iter_quote_batches(f"{db}::other", codes=CODES)))["ts_ns"]) == 5
    assert quote_file_codes(db) == sorted(CODES)


def test_validator_reports_nulls_and_reader_drops_them(tmp_path: Path) -> None:
    t = _table()
    t = t.set_column(1, "code", pa.array(["005930", None] + ["005930"] * 8, pa.string()))
    pq.write_table(t, tmp_path / "n.parquet")
    # rows count from 1: the null is in the file's second row
    assert "row 2, column code: null code" in validate_quote_file(tmp_path / "n.parquet")
    got = list(iter_quote_batches(tmp_path / "n.parquet", codes=CODES))
    assert sum(len(b) for b in got) == 9


def test_compiled_grid_check_equals_its_numpy_twin() -> None:
    from kxrules.marketdata.quote_format import _grid_kernels, _off_grid_numpy, _row_problems

    if _grid_kernels() is None:
        pytest.skip("numba is not installed or KXRULES_NO_JIT is set")

    def off_grid(px: np.ndarray) -> list[bool]:      # the compiled pass's grid test (bid1), row by row
        return [bool(_row_problems(px[i:i + 1], px[i:i + 1], px[i:i + 1] + 1, px[i:i + 1] * 0,
                                   px[i:i + 1] * 0, int(px[i]), None, True)[0][13]) for i in range(len(px))]
    rng = np.random.default_rng(5)
    edges = np.array([0, -5, -1000, 1, 1_999, 2_000, 2_003, 2_005, 4_995, 5_000, 5_005, 5_010, 19_990,
                      20_000, 20_010, 20_050, 49_950, 50_000, 50_050, 50_100, 199_900, 200_000, 200_100,
                      200_500, 499_500, 500_000, 500_500, 501_000, 10**12 + 500, 10**12])
    for px in (rng.integers(-10, 3_000_000, 2_000), rng.integers(0, 200, 1_000) * 500, edges):
        assert off_grid(px) == _off_grid_numpy(px).tolist()
    assert off_grid(np.array([2_003, 2_005]).astype(np.int64)) == [True, False]


def test_compiled_row_tests_equal_their_numpy_twin() -> None:
    """The replay check's one compiled pass counts every row test's failures and finds the first
    of each exactly as the numpy masks do (problems sprinkled over clean-looking rows)."""
    from kxrules.marketdata import quote_format as qf

    if qf._grid_kernels() is None:
        pytest.skip("numba is not installed or KXRULES_NO_JIT is set")
    rng = np.random.default_rng(11)
    n = 20_000
    ts = np.cumsum(rng.integers(0, 1_000, n)) + 10**18
    ts[rng.integers(1, n, 30)] -= 5_000                     # unsorted rows
    bid = rng.integers(1, 3_000, n) * 100
    ask = bid + 100
    bq, aq = rng.integers(0, 1_000, n), rng.integers(0, 1_000, n)
    for arr, bad in ((bid, -100), (ask, -100), (bid, 16_000_000), (ask, 16_000_000), (bq, -1), (aq, -1),
                     (bq, 2**31), (aq, 2**31), (bid, 0), (ask, 0), (ask, 2_003), (bid, 4_999)):
        arr[rng.integers(0, n, 25)] = bad
    ask[rng.integers(0, n, 25)] = 50                        # bid >= ask
    lo, hi = int(ts[n // 10]), int(ts[9 * n // 10])
    seen = 0
    for check_grid in (True, False):
        for prev in (int(ts[0]), int(ts[0]) + 10**6):
            got = qf._row_problems(ts, bid, ask, bq, aq, prev, (lo, hi), check_grid)
            want = qf._row_problems_numpy(ts, bid, ask, bq, aq, prev, lo, hi, check_grid)
            assert got[0].tolist() == want[0].tolist()
            assert got[1].tolist() == want[1].tolist()
            seen |= sum(1 << k for k, c in enumerate(want[0]) if c)
    assert seen == (1 << len(qf.ROW_TESTS)) - 1, "every test should fail somewhere"
