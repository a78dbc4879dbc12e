"""The one replay quote format (DESIGN §8), its validator and a fast streaming reader.

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
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

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
VENUES: tuple[str, ...] = ("KRX", "NXT")  # venue_idx 0 and 1
CODES_METADATA_KEY = b"kxrules.codes"  # JSON list of the codes a writer put in the file

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


def _schema_problems(schema: pa.Schema) -> list[str]:
    problems = []
    for field in QUOTE_SCHEMA:
        if field.name not in schema.names:
            problems.append(f"missing column {field.name!r}")
            continue
        actual = schema.field(field.name).type
        if field.type == pa.string():
            if not _is_string_type(actual):
                problems.append(f"column {field.name!r} is {actual}, expected string (VARCHAR)")
        elif actual != field.type:
            problems.append(f"column {field.name!r} is {actual}, expected {field.type} (BIGINT)")
    extra = [n for n in schema.names if n not in QUOTE_COLUMNS]
    if extra:
        problems.append(f"unexpected column(s): {', '.join(extra)}")
    return problems


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

    def map(self, col: pa.Array) -> np.ndarray:
        idx, values = _dictionary_of(col)
        if values != self._last_values:
            self._last_values = values
            self._last_lut = np.fromiter((self._pos.get(v, -1) for v in values),
                                         dtype=np.int64, count=len(values))
        if len(values) == 0:
            return np.full(idx.shape[0], -1, dtype=np.int64)
        return self._last_lut[idx]


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
        code_idx = code_lut.map(rb.column("code"))
        venue_idx = venue_lut.map(rb.column("venue"))
        keep = (code_idx >= 0) & (venue_idx >= 0)
        cols = [_int64(rb.column(c)) for c in ("ts_ns", "bid1", "ask1", "bid1_qty", "ask1_qty")]
        if not keep.all():
            if not keep.any():
                continue
            code_idx, venue_idx = code_idx[keep], venue_idx[keep]
            cols = [c[keep] for c in cols]
        ts, bid, ask, bq, aq = cols
        yield QuoteBatch(ts, code_idx, venue_idx, bid, ask, bq, aq)


# --------------------------------------------------------------------------- validator


class _Findings:
    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.first: dict[str, int] = {}

    def add(self, what: str, mask: np.ndarray, row0: int) -> None:
        n = int(np.count_nonzero(mask))
        if n:
            if what not in self.first:
                self.first[what] = row0 + int(np.flatnonzero(mask)[0])
            self.counts[what] = self.counts.get(what, 0) + n

    def lines(self) -> list[str]:
        return [f"{what}: {self.counts[what]} row(s), first at row {self.first[what]}"
                for what in sorted(self.first, key=self.first.__getitem__)]


def validate_quote_file(
    path: str | Path, *, table: str | None = None, check_grid: bool = True,
    batch_rows: int = 1 << 18,
) -> list[str]:
    """Problems found in a quote file (empty list = valid). Streams; never loads the whole file.

    Checks: schema; ``ts_ns`` sorted; venue is KRX/NXT; code is 6 characters; no nulls; prices
    and sizes not negative; a price of 0 marks an empty level (then its size must be 0); when both
    prices of a row are set, bid < ask; prices on the KRX tick grid (``check_grid``).
    """
    p, table = _split_source(path, table)
    try:
        schema, batches = _record_batches(p, table, batch_rows, QUOTE_COLUMNS)
    except FileNotFoundError:
        return [f"file not found: {p}"]
    except Exception as exc:  # noqa: BLE001 - any reader error is a finding, not a crash
        return [f"cannot read {p}{'::' + table if table else ''}: {str(exc).splitlines()[0]}"]
    problems = _schema_problems(schema)
    if problems:
        return problems

    found = _Findings()
    row0 = 0
    last_ts: int | None = None
    try:
        for rb in batches:
            n = rb.num_rows
            if n == 0:
                continue
            for name in QUOTE_COLUMNS:
                col = rb.column(name)
                if col.null_count:
                    found.add(f"null {name}", col.is_null().to_numpy(zero_copy_only=False), row0)
            ts = _int64(rb.column("ts_ns"))
            prev = np.empty(n, dtype=np.int64)
            prev[0] = ts[0] if last_ts is None else last_ts
            prev[1:] = ts[:-1]
            found.add("ts_ns not sorted (smaller than the previous row)", ts < prev, row0)
            last_ts = int(ts[-1])

            vidx, vvals = _dictionary_of(rb.column("venue"))
            bad_v = np.array([v not in VENUES for v in vvals], dtype=bool)
            if bad_v.any():
                found.add("venue not 'KRX' or 'NXT'", bad_v[vidx], row0)
            cidx, cvals = _dictionary_of(rb.column("code"))
            bad_c = np.array([len(c) != 6 for c in cvals], dtype=bool)
            if bad_c.any():
                found.add("code is not 6 characters", bad_c[cidx], row0)

            bid, ask = _int64(rb.column("bid1")), _int64(rb.column("ask1"))
            bq, aq = _int64(rb.column("bid1_qty")), _int64(rb.column("ask1_qty"))
            found.add("negative bid1 or ask1", (bid < 0) | (ask < 0), row0)
            found.add("negative bid1_qty or ask1_qty", (bq < 0) | (aq < 0), row0)
            found.add("size on an empty level (price 0, qty > 0)",
                      ((bid == 0) & (bq > 0)) | ((ask == 0) & (aq > 0)), row0)
            both = (bid > 0) & (ask > 0)
            found.add("bid1 >= ask1 within a venue row (crossed or locked book)",
                      both & (bid >= ask), row0)
            if check_grid:
                off = np.zeros(n, dtype=bool)
                for px in (bid, ask):
                    pos = px > 0
                    off |= pos & (px % tick_sizes(np.where(pos, px, 1)) != 0)
                found.add("price not on the tick grid", off, row0)
            row0 += n
            if sum(found.counts.values()) > 10**7:
                break
    except Exception as exc:  # noqa: BLE001
        return [*found.lines(), f"cannot read rows after row {row0}: {str(exc).splitlines()[0]}"]
    lines = found.lines()
    if len(lines) > _MAX_EXAMPLES:
        lines = lines[:_MAX_EXAMPLES] + [f"... and {len(lines) - _MAX_EXAMPLES} more"]
    return lines
