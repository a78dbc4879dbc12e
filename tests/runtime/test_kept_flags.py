"""A process that keeps days' shadow flags (a sweep worker) marks a day once: later reads of it
get the same flags without the shadow pass; a changed file, a read cut short and the byte budget
are honoured."""
from __future__ import annotations

import os

import numpy as np
import pytest

from kxrules.marketdata.quote_writer import QuoteWriter
from kxrules.runtime import kept_flags
from kxrules.runtime.shadow import ShadowBook, shadowed_chunks

CODES = ["005930", "000660", "035420"]
CHUNK = 100                  # rows a chunk: the files below are 8 chunks (more than the read-ahead)


def _day(path, seed: int, rows: int = 8 * CHUNK):
    rng = np.random.default_rng(seed)
    bid = rng.integers(99, 102, rows) * 100
    with QuoteWriter(path, codes=CODES) as w:
        w.write_arrays(np.arange(rows, dtype=np.int64) * 1000, rng.integers(0, 3, rows), rng.integers(0, 2, rows),
                       bid, bid + rng.integers(-1, 3, rows) * 100, rng.integers(1, 5, rows), rng.integers(1, 5, rows))
    return path


def _read(path):
    chunks = list(shadowed_chunks(path, CODES, CHUNK))
    return [c.flags.tolist() for c in chunks], [c.hot.tolist() for c in chunks]


@pytest.fixture
def marks(monkeypatch):
    """Counts the shadow pass's chunks; the process keeps flags (1 MB) for the test only."""
    calls = [0]
    mark = ShadowBook.mark

    def counted(self, batch):
        calls[0] += 1
        return mark(self, batch)

    monkeypatch.setattr(ShadowBook, "mark", counted)
    kept_flags.keep_flags(1 << 20)
    yield calls
    kept_flags.keep_flags(0)


def test_a_day_read_whole_is_not_marked_again_and_reads_the_same(tmp_path, marks):
    day = _day(tmp_path / "day.parquet", seed=1)
    first = _read(day)
    assert marks[0] == 8 and any(any(h) for h in first[1])          # some rows cross
    assert _read(day) == first and marks[0] == 8
    kept_flags.keep_flags(0)                                          # a process that keeps none
    assert _read(day) == first and marks[0] == 16


def test_a_changed_file_is_marked_again(tmp_path, marks):
    day = _day(tmp_path / "day.parquet", seed=1)
    _read(day)
    _day(day, seed=2)
    st = day.stat()
    os.utime(day, ns=(st.st_atime_ns, st.st_mtime_ns + 1))        # even within the clock's grain
    fresh = _read(day)
    assert marks[0] == 16
    kept_flags.keep_flags(0)
    assert _read(day) == fresh


def test_a_read_cut_short_keeps_nothing(tmp_path, marks):
    day = _day(tmp_path / "day.parquet", seed=1)
    chunks = shadowed_chunks(day, CODES, CHUNK)
    next(chunks)
    chunks.close()                                                    # a run stopped by --until
    assert kept_flags.kept(kept_flags.day_key(day, CODES, CHUNK)) is None
    _read(day)
    assert marks[0] > 8                                               # marked again, whole


def test_the_budget_drops_the_least_recently_used_day(tmp_path, marks):
    days = [_day(tmp_path / f"day{i}.parquet", seed=i) for i in range(3)]
    keys = [kept_flags.day_key(day, CODES, CHUNK) for day in days]
    sizes = []
    for day, key in zip(days, keys):
        _read(day)
        sizes.append(sum(f.nbytes + h.nbytes for f, h in kept_flags.kept(key)))
    kept_flags.keep_flags(0)
    kept_flags.keep_flags(2 * max(sizes))                             # room for two of the days
    for day in days[:2]:
        _read(day)
    _read(days[0])                                                    # day 0 used last: day 1 goes first
    _read(days[2])
    assert [kept_flags.kept(k) is not None for k in keys] == [True, False, True]
