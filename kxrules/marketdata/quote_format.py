"""The one replay quote format (docs/guide.md: the quote format), its validator and a fast streaming reader.

A quote file is Parquet (or a DuckDB table) with one row per top-of-book update::

    ts_ns BIGINT     epoch nanoseconds, UTC (KST = UTC+9, no DST)
    code  VARCHAR    6-character KRX code, e.g. '005930'
    venue VARCHAR    'KRX' | 'NXT'
    bid1, ask1, bid1_qty, ask1_qty BIGINT   (0 = empty level)

sorted by ``ts_ns``. Live recording writes the same shape, so a recorded day replays like a
synthetic one. The reader never holds a whole day: it streams record batches and turns each into
int64 numpy columns with the code mapped to an index of the caller's code list. The writer is in
:mod:`kxrules.marketdata.quote_writer`.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from types import ModuleType
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ..market import VENUES  # noqa: F401  (venue_idx 0 and 1; re-exported for the writer)
from ..money.ticks import tick_sizes

QUOTE_COLUMNS: tuple[str, ...] = (
    "ts_ns", "code", "venue", "bid1", "ask1", "bid1_qty", "ask1_qty",
)
QUOTE_SCHEMA = pa.schema([
    pa.field("ts_ns", pa.int64(), nullable=False),
    pa.field("code", pa.string(), nullable=False),
    pa.field("venue", pa.string(), nullable=False),
    pa.field("bid1", pa.int64(), nullable=False),
    pa.field("ask1", pa.int64(), nullable=False),
    pa.field("bid1_qty", pa.int64(), nullable=False),
    pa.field("ask1_qty", pa.int64(), nullable=False),
])
CODES_METADATA_KEY = b"kxrules.codes"  # JSON list of the codes a writer put in the file

# Bounds of a sane quote. The replay book packs a price and a size into 32 bits each, and the
# rules multiply price x slice_qty (<= 1,000) x fee rate (<= 5%, 5e8) in int64: 15,000,000 is the
# universe's reference-price bound (10,000,000) plus the 30% daily limit, with room to spare.
MAX_PRICE_KRW = 15_000_000
MAX_SIZE = 2**31 - 1
_MAX_EXAMPLES = 20  # problems reported per file before "... and more"


@dataclass(slots=True)
class QuoteBatch:
    """One streamed chunk of quotes; every array is int64 and has the same length."""

    ts_ns: np.ndarray
    code_idx: np.ndarray  # index into the code list given to the reader
    venue_idx: np.ndarray  # 0 = KRX, 1 = NXT
    bid: np.ndarray
    ask: np.ndarray
    bid_qty: np.ndarray
    ask_qty: np.ndarray

    def __len__(self) -> int:
        return int(self.ts_ns.shape[0])


# --------------------------------------------------------------------------- sources


def _split_source(path: str | Path, table: str | None) -> tuple[Path, str | None]:
    """``x.parquet`` -> Parquet; ``x.duckdb`` / ``x.db`` or ``x.duckdb::table`` -> DuckDB."""
    text = str(path)
    if table is None and "::" in text:
        text, table = text.rsplit("::", 1)
    p = Path(text)
    if table is None and p.suffix.lower() in (".duckdb", ".db", ".ddb"):
        table = "quotes"
    return p, table


def _is_string_type(t: pa.DataType) -> bool:
    if pa.types.is_dictionary(t):
        t = t.value_type
    return pa.types.is_string(t) or pa.types.is_large_string(t)


def _record_batches(path: Path, table: str | None, batch_rows: int,
                    columns: Sequence[str]) -> tuple[pa.Schema, Iterator[pa.RecordBatch]]:
    """Stream record batches with ``code``/``venue`` dictionary-encoded where the source allows."""
    if table is None:
        # pre_buffer=False: the default pre-buffering reads ahead the whole file (~400 MB for a
        # 200-symbol day); without it memory stays at a row group and reading is faster.
        pf = pq.ParquetFile(path, read_dictionary=[c for c in ("code", "venue") if c in columns],
                            pre_buffer=False)
        schema = pf.schema_arrow
        present = [c for c in columns if c in schema.names]
        return schema, pf.iter_batches(batch_size=batch_rows, columns=present, use_threads=True)
    import duckdb

    if not path.exists():
        raise FileNotFoundError(f"DuckDB file not found: {path}")
    con = duckdb.connect(str(path), read_only=True)
    quoted = '"' + table.replace('"', '""') + '"'
    cols = [r[0] for r in con.execute(f"DESCRIBE {quoted}").fetchall()]
    present = [c for c in columns if c in cols]
    sel = ", ".join(f'"{c}"' for c in present)
    query = f"SELECT {sel} FROM {quoted}"  # DuckDB keeps insertion order by default
    rel = con.sql(query)
    if hasattr(rel, "to_arrow_reader"):  # duckdb >= 1.4
        reader = rel.to_arrow_reader(batch_rows)
    else:
        reader = con.execute(query).fetch_record_batch(batch_rows)

    def gen() -> Iterator[pa.RecordBatch]:
        try:
            yield from reader
        finally:
            con.close()

    return reader.schema, gen()


# --------------------------------------------------------------------------- codes


def _dictionary_of(col: pa.Array | pa.ChunkedArray) -> tuple[np.ndarray, list[str]]:
    """(indices as intp, dictionary values as str) for a string or dictionary column."""
    if isinstance(col, pa.ChunkedArray):
        col = col.combine_chunks()
    if col.null_count:  # nulls never match a code; validate_quote_file reports them
        if pa.types.is_dictionary(col.type):
            col = col.cast(col.type.value_type)
        col = col.fill_null("")
    if not pa.types.is_dictionary(col.type):
        col = col.dictionary_encode()
    idx = col.indices.to_numpy(zero_copy_only=False).astype(np.intp, copy=False)
    return idx, col.dictionary.to_pylist()


def quote_file_codes(path: str | Path, *, table: str | None = None) -> list[str]:
    """Every code in a quote file, sorted. Uses the writer's metadata when present."""
    p, table = _split_source(path, table)
    if table is None:
        meta = pq.read_schema(p).metadata or {}
        if CODES_METADATA_KEY in meta:
            return sorted(json.loads(meta[CODES_METADATA_KEY]))
    seen: set[str] = set()
    _, batches = _record_batches(p, table, 1 << 20, ["code"])
    for rb in batches:
        idx, values = _dictionary_of(rb.column(0))
        used = np.unique(idx)
        seen.update(values[i] for i in used if values[i])
    return sorted(seen)


class _Lookup:
    """Maps a batch's dictionary (few hundred strings) to int64 indices through a lookup array."""

    def __init__(self, names: Sequence[str]):
        self._pos = {n: i for i, n in enumerate(names)}
        self._last_values: list[str] | None = None
        self._last_lut: np.ndarray | None = None
        self._all_known = False

    def map(self, col: pa.Array) -> tuple[np.ndarray, bool]:
        """(the index of each row's name, -1 for a name not listed; whether the batch's
        dictionary names only listed ones, so that no row is -1)."""
        idx, values = _dictionary_of(col)
        if values != self._last_values:
            self._last_values = values
            self._last_lut = np.fromiter((self._pos.get(v, -1) for v in values),
                                         dtype=np.int64, count=len(values))
            self._all_known = all(v in self._pos for v in values)
        if len(values) == 0:
            return np.full(idx.shape[0], -1, dtype=np.int64), idx.shape[0] == 0
        return self._last_lut[idx], self._all_known


def _int64(col: pa.Array) -> np.ndarray:
    if col.null_count:
        col = col.fill_null(0)
    arr = col.to_numpy(zero_copy_only=False)
    return arr.astype(np.int64, copy=False)


# --------------------------------------------------------------------------- reader


def iter_quote_batches(
    path: str | Path,
    batch_rows: int = 65536,
    codes: Sequence[str] | None = None,
    *,
    table: str | None = None,
) -> Iterator[QuoteBatch]:
    """Stream a quote file as :class:`QuoteBatch` chunks of at most ``batch_rows`` rows.

    ``codes`` fixes the meaning of ``code_idx`` (position in that list); rows for other codes and
    rows with an unknown venue are dropped. ``codes=None`` means every code in the file, sorted
    (see :func:`quote_file_codes`). ``path`` may also name a DuckDB file (``.duckdb``/``.db``;
    table ``quotes`` unless ``table`` or ``file.duckdb::table`` says otherwise).
    """
    if batch_rows <= 0:
        raise ValueError("batch_rows must be positive")
    p, table = _split_source(path, table)
    if codes is None:
        codes = quote_file_codes(p, table=table)
    code_lut, venue_lut = _Lookup(list(codes)), _Lookup(VENUES)
    schema, batches = _record_batches(p, table, batch_rows, QUOTE_COLUMNS)
    missing = [c for c in QUOTE_COLUMNS if c not in schema.names]
    if missing:
        raise ValueError(f"{path}: not a quote file, missing column(s) {', '.join(missing)}")
    for rb in batches:
        if rb.num_rows == 0:
            continue
        code_idx, codes_known = code_lut.map(rb.column("code"))
        venue_idx, venues_known = venue_lut.map(rb.column("venue"))
        cols = [_int64(rb.column(c)) for c in ("ts_ns", "bid1", "ask1", "bid1_qty", "ask1_qty")]
        # (when every name is known no row is dropped: the mask is skipped, and with it four
        # passes over the batch that let go of the GIL, each a wait for the replay's thread
        # when this runs on the prefetch thread)
        keep = None if codes_known and venues_known else (code_idx >= 0) & (venue_idx >= 0)
        if keep is not None and not keep.all():
            if not keep.any():
                continue
            code_idx, venue_idx = code_idx[keep], venue_idx[keep]
            cols = [c[keep] for c in cols]
        ts, bid, ask, bq, aq = cols
        yield QuoteBatch(ts, code_idx, venue_idx, bid, ask, bq, aq)


# --------------------------------------------------------------------------- validator


@dataclass(slots=True)
class QuoteProblem:
    """One kind of problem in a quote file: where it first occurs and how often.

    ``row`` counts data rows from 1 (the first row of the file is row 1; Parquet and DuckDB have
    no header row); ``None`` means the whole file (schema, unreadable, empty)."""

    what: str
    column: str | None = None
    row: int | None = None
    count: int = 0
    example: str | None = None

    def text(self) -> str:
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column}")
        head = ", ".join(where)
        out = f"{head}: {self.what}" if head else self.what
        if self.example is not None:
            out += f" (e.g. {self.example})"
        if self.count > 1:
            out += f"; {self.count:,} rows in all"
        return out


@dataclass(slots=True)
class QuoteScan:
    """What :func:`scan_quote_file` found: the problems, and counts about the rows."""

    problems: list[QuoteProblem]
    rows: int = 0
    universe_rows: int = 0        # rows whose code is in the ``codes`` given (all rows if none)
    first_ts: int | None = None
    last_ts: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


class _Findings:
    def __init__(self) -> None:
        self.found: dict[tuple[str, str | None], QuoteProblem] = {}

    def add(self, what: str, column: str | None, mask: np.ndarray, row0: int,
            example=None) -> None:
        """Record the rows of ``mask``; ``example(i)`` renders the value at batch index i."""
        n = int(np.count_nonzero(mask))
        if n:
            self.add_counted(what, column, n, int(np.flatnonzero(mask)[0]), row0, example)

    def add_counted(self, what: str, column: str | None, n: int, first: int, row0: int, example=None) -> None:
        """Record ``n`` rows of a batch, the first at batch index ``first``."""
        p = self.found.get((what, column))
        if p is None:
            p = self.found[(what, column)] = QuoteProblem(
                what, column, row0 + first + 1, 0, example(first) if example is not None else None)
        p.count += n

    @property
    def total(self) -> int:
        return sum(p.count for p in self.found.values())

    def problems(self) -> list[QuoteProblem]:
        def order(p: QuoteProblem) -> tuple[int, int]:
            first = (p.column or "").split(",")[0]
            return (p.row or 0, QUOTE_COLUMNS.index(first) if first in QUOTE_COLUMNS else 99)
        return sorted(self.found.values(), key=order)


def _source_name(p: Path, table: str | None) -> str:
    return f"{p}::{table}" if table else str(p)


def scan_quote_file(
    path: str | Path, *, table: str | None = None, check_grid: bool = True,
    codes: Sequence[str] | None = None, ts_range: tuple[int, int] | None = None,
    ts_range_label: str = "the run date", batch_rows: int = 1 << 18,
) -> QuoteScan:
    """Check a quote file without loading it whole; every problem names its column and first row.

    Checks: readable; schema (columns and types); at least one row; no nulls; ``ts_ns`` sorted
    (and inside ``ts_range`` = [start, end) epoch ns when given); venue is KRX/NXT; code is 6
    characters (and one of ``codes`` when given; then at least one row must be for those codes);
    prices and sizes neither negative nor above MAX_PRICE_KRW / MAX_SIZE; a price of 0 marks an
    empty level (its size must be 0); when both prices of a row are set, bid < ask; prices on
    the KRX tick grid (``check_grid``).
    """
    p, table = _split_source(path, table)
    name = _source_name(p, table)
    try:
        schema, batches = _record_batches(p, table, batch_rows, QUOTE_COLUMNS)
    except FileNotFoundError:
        return QuoteScan([QuoteProblem(f"file not found: {p}")])
    except Exception as exc:  # noqa: BLE001 - any reader error is a finding, not a crash
        return QuoteScan([QuoteProblem(f"cannot read {name}: {_first_line(exc)}")])
    problems = [QuoteProblem(text, column) for text, column in _schema_problems_by_column(schema)]
    if problems:
        _close(batches)
        return QuoteScan(problems)

    universe = None if codes is None else frozenset(codes)
    found = _Findings()
    scan = QuoteScan([])
    row0 = 0
    last_ts: int | None = None
    try:
        for rb in batches:
            n = rb.num_rows
            if n == 0:
                continue
            for col_name in QUOTE_COLUMNS:
                col = rb.column(col_name)
                if col.null_count:
                    found.add(f"null {col_name}", col_name, col.is_null().to_numpy(zero_copy_only=False), row0)
            ts = _int64(rb.column("ts_ns"))
            if scan.first_ts is None:
                scan.first_ts = int(ts[0])
            bid, ask = _int64(rb.column("bid1")), _int64(rb.column("ask1"))
            bq, aq = _int64(rb.column("bid1_qty")), _int64(rb.column("ask1_qty"))
            prev_ts = int(ts[0]) if last_ts is None else last_ts
            counts, firsts = _row_problems(ts, bid, ask, bq, aq, prev_ts, ts_range, check_grid)
            last_ts = int(ts[-1])
            cols = {"ts_ns": ts, "bid1": bid, "ask1": ask, "bid1_qty": bq, "ask1_qty": aq}

            def report(tests: range) -> None:
                for k in tests:
                    if counts[k]:
                        what, column, example = ROW_TESTS[k]
                        found.add_counted(what.replace("{range}", ts_range_label), column, int(counts[k]),
                                          int(firsts[k]), row0, lambda i: example(cols, i, prev_ts))
            report(range(0, 2))             # ts_ns first, as the columns come

            vidx, vvals = _dictionary_of(rb.column("venue"))
            bad_v = np.array([v not in VENUES for v in vvals], dtype=bool)
            if bad_v.any():
                found.add(f"venue not {' or '.join(map(repr, VENUES))}", "venue", bad_v[vidx], row0,
                          lambda i: repr(vvals[vidx[i]]))
            cidx, cvals = _dictionary_of(rb.column("code"))
            bad_len = np.array([len(c) != 6 for c in cvals], dtype=bool)
            if bad_len.any():
                found.add("code is not 6 characters", "code", bad_len[cidx], row0,
                          lambda i: repr(cvals[cidx[i]]))
            if universe is None:
                scan.universe_rows += n
            else:
                outside = np.array([len(c) == 6 and c not in universe for c in cvals], dtype=bool)
                inside = np.array([c in universe for c in cvals], dtype=bool)
                scan.universe_rows += int(np.count_nonzero(inside[cidx])) if not inside.all() else n
                if outside.any():
                    found.add("code not in the profile's universe", "code", outside[cidx], row0,
                              lambda i: repr(cvals[cidx[i]]))
            report(range(2, len(ROW_TESTS)))
            row0 += n
            if found.total > 10**7:
                break
    except Exception as exc:  # noqa: BLE001
        scan.problems = found.problems() + [
            QuoteProblem(f"cannot read rows after row {row0}: {_first_line(exc)}")]
        scan.rows = row0
        return scan
    finally:
        _close(batches)
    scan.rows, scan.last_ts = row0, last_ts
    scan.problems = found.problems()
    if row0 == 0:
        scan.problems.append(QuoteProblem("the file has no rows"))
    elif universe is not None and scan.universe_rows == 0:
        scan.problems.append(QuoteProblem(
            f"none of the {row0:,} rows is for a symbol of the profile's universe "
            f"({len(universe)} symbol(s))", "code"))
    return scan


def _value(col: str):
    return lambda cols, i, prev_ts: str(cols[col][i])


def _previous(cols, i: int, prev_ts: int) -> int:
    return int(cols["ts_ns"][i - 1]) if i else prev_ts


def _tick_text(col: str):
    return lambda cols, i, prev_ts: f"{cols[col][i]}, tick {tick_sizes(cols[col][i:i + 1])[0]}"


# The per-row tests, in the order the compiled pass (``grid_jit.row_problems``) and its numpy twin
# (``_row_problems_numpy``) count them: (what, column, example(columns, batch index, previous ts)).
ROW_TESTS = (
    ("ts_ns not sorted (smaller than the previous row)", "ts_ns",
     lambda cols, i, prev_ts: f"{cols['ts_ns'][i]} after {_previous(cols, i, prev_ts)}"),
    ("ts_ns outside {range}", "ts_ns", lambda cols, i, prev_ts: _ts_text(int(cols["ts_ns"][i]))),
    ("negative price", "bid1", _value("bid1")),
    ("negative price", "ask1", _value("ask1")),
    ("negative size", "bid1_qty", _value("bid1_qty")),
    ("negative size", "ask1_qty", _value("ask1_qty")),
    ("size on an empty level (price 0, qty > 0)", "bid1_qty", _value("bid1_qty")),
    ("size on an empty level (price 0, qty > 0)", "ask1_qty", _value("ask1_qty")),
    (f"price above {MAX_PRICE_KRW:,} KRW", "bid1", _value("bid1")),
    (f"price above {MAX_PRICE_KRW:,} KRW", "ask1", _value("ask1")),
    (f"size above {MAX_SIZE:,} shares", "bid1_qty", _value("bid1_qty")),
    (f"size above {MAX_SIZE:,} shares", "ask1_qty", _value("ask1_qty")),
    ("bid1 >= ask1 within a venue row (crossed or locked book)", "bid1, ask1",
     lambda cols, i, prev_ts: f"bid1 {cols['bid1'][i]} >= ask1 {cols['ask1'][i]}"),
    ("price not on the tick grid", "bid1", _tick_text("bid1")),
    ("price not on the tick grid", "ask1", _tick_text("ask1")),
)
_NO_RANGE = (-(1 << 63), (1 << 63) - 1)


def _row_problems(ts: np.ndarray, bid: np.ndarray, ask: np.ndarray, bq: np.ndarray, aq: np.ndarray,
                  prev_ts: int, ts_range: tuple[int, int] | None, check_grid: bool) -> tuple[np.ndarray, np.ndarray]:
    """Per test of ``ROW_TESTS``: how many rows of the batch fail it, and the first (-1: none)."""
    lo, hi = ts_range if ts_range is not None else _NO_RANGE
    kernel = _grid_kernels()
    if kernel is None:
        return _row_problems_numpy(ts, bid, ask, bq, aq, prev_ts, lo, hi, check_grid)
    from ..money.ticks import _BOUNDS

    return kernel.row_problems(ts, bid, ask, bq, aq, prev_ts, lo, hi, MAX_PRICE_KRW, MAX_SIZE, check_grid,
                               _BOUNDS, _on_grid_lut())


def _row_problems_numpy(ts, bid, ask, bq, aq, prev_ts: int, lo: int, hi: int,
                        check_grid: bool) -> tuple[np.ndarray, np.ndarray]:
    prev = np.empty(len(ts), dtype=np.int64)
    prev[0] = prev_ts
    prev[1:] = ts[:-1]
    none = np.zeros(len(ts), dtype=bool)
    masks = (ts < prev, (ts < lo) | (ts >= hi), bid < 0, ask < 0, bq < 0, aq < 0,
             (bid == 0) & (bq > 0), (ask == 0) & (aq > 0), bid > MAX_PRICE_KRW, ask > MAX_PRICE_KRW,
             bq > MAX_SIZE, aq > MAX_SIZE, (bid > 0) & (ask > 0) & (bid >= ask),
             _off_grid_numpy(bid) if check_grid else none, _off_grid_numpy(ask) if check_grid else none)
    counts = np.array([np.count_nonzero(m) for m in masks], dtype=np.int64)
    firsts = np.array([int(np.argmax(m)) if c else -1 for m, c in zip(masks, counts)], dtype=np.int64)
    return counts, firsts


_GRID_JIT: list = []


def _off_grid_numpy(px: np.ndarray) -> np.ndarray:
    pos = px > 0
    return pos & (px % tick_sizes(np.where(pos, px, 1)) != 0)


def _grid_kernels() -> ModuleType | None:
    """The compiled row tests (``grid_jit``), or None (no numba, or KXRULES_NO_JIT)."""
    if not _GRID_JIT:
        from .. import compiled

        _GRID_JIT.append(compiled.load("kxrules.marketdata.grid_jit"))
    return _GRID_JIT[0]


def _on_grid_lut() -> np.ndarray:
    """Every tick divides 1000 (asserted): whether ``p % 1000`` is on the grid, per band."""
    from ..money.ticks import _TICKS

    if len(_GRID_JIT) == 1:
        assert all(1000 % int(t) == 0 for t in _TICKS)
        _GRID_JIT.append(np.array([r % int(t) == 0 for t in _TICKS for r in range(1000)], dtype=np.bool_))
    return _GRID_JIT[1]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _ts_text(ts: int) -> str:
    from ..seoul import date_of, fmt_hms, seconds_of_day

    try:
        return f"{ts} = {date_of(ts).isoformat()} {fmt_hms(seconds_of_day(ts))} KST"
    except (OverflowError, ValueError, OSError):
        return str(ts)


def _close(batches) -> None:
    close = getattr(batches, "close", None)
    if close is not None:
        try:
            close()
        except Exception:  # noqa: BLE001 - closing a reader must not hide the findings
            pass


def _schema_problems_by_column(schema: pa.Schema) -> list[tuple[str, str | None]]:
    out = []
    for field in QUOTE_SCHEMA:
        if field.name not in schema.names:
            out.append((f"missing column {field.name!r}", field.name))
            continue
        actual = schema.field(field.name).type
        if field.type == pa.string():
            if not _is_string_type(actual):
                out.append((f"column {field.name!r} is {actual}, expected string (VARCHAR)", field.name))
        elif actual != field.type:
            out.append((f"column {field.name!r} is {actual}, expected {field.type} (BIGINT)", field.name))
    extra = [n for n in schema.names if n not in QUOTE_COLUMNS]
    if extra:
        out.append((f"unexpected column(s): {', '.join(extra)}", None))
    return out


def validate_quote_file(
    path: str | Path, *, table: str | None = None, check_grid: bool = True,
    batch_rows: int = 1 << 18,
) -> list[str]:
    """Problems found in a quote file (empty list = valid), as text. Streams; never loads the
    whole file. See :func:`scan_quote_file` for the checks; rows are numbered from 1."""
    scan = scan_quote_file(path, table=table, check_grid=check_grid, batch_rows=batch_rows)
    lines = [p.what if p.row is None else p.text() for p in scan.problems]
    if len(lines) > _MAX_EXAMPLES:
        lines = lines[:_MAX_EXAMPLES] + [f"... and {len(lines) - _MAX_EXAMPLES} more"]
    return lines
