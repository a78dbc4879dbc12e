"""A day's shadow flags worked out once per process and handed out again to later runs of it.

A sweep worker replays the same day under many settings. Which quotes change a top and which
leave their symbol crossed follows from the quotes alone (``shadow``), so after a day's first
complete run the worker keeps its flags (one byte a quote, and the crossing quotes' positions)
and later runs of that day skip the shadow pass: ≈ 0.1 s of the read-ahead thread's CPU a run
for a 14 M-quote hour, which two workers on two cores share with the replays. Kept up to a byte
budget, the least recently used day dropped first; only in processes that replay many runs
(``research.worker.SweepWorker``), never in one ``trade --replay``. A day is known by its file
(path, inode, size, modification time), the symbols and the chunk size.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..arrays import I64, U8

DayKey = tuple[Any, ...]
DayFlags = list[tuple[U8, I64]]       # per chunk: flags, crossing positions

_budget = 0
_days: OrderedDict[DayKey, DayFlags] = OrderedDict()
_bytes = 0
_lock = threading.Lock()              # a day is stored from the read-ahead thread, at its end


def keep_flags(budget_bytes: int) -> None:
    """From now on, this process keeps days' flags up to ``budget_bytes`` (0: off, and forget)."""
    global _budget, _bytes
    with _lock:
        _budget = budget_bytes
        if not budget_bytes:
            _days.clear()
            _bytes = 0


def day_key(path: Path, codes: Sequence[str], chunk_rows: int) -> DayKey | None:
    """The key of a day's flags, or None when this process keeps none (or the file is gone)."""
    if not _budget:
        return None
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (str(Path(path).resolve()), st.st_ino, st.st_size, st.st_mtime_ns, tuple(codes), chunk_rows)


def kept(key: DayKey) -> DayFlags | None:
    with _lock:
        flags = _days.get(key)
        if flags is not None:
            _days.move_to_end(key)
        return flags


def keep(key: DayKey, flags: DayFlags) -> None:
    """Keep a whole day's flags, dropping the least recently used days to stay in the budget."""
    global _bytes
    size = _size(flags)
    with _lock:
        if key in _days or size > _budget:
            return
        while _days and _bytes + size > _budget:
            _bytes -= _size(_days.popitem(last=False)[1])
        _days[key] = flags
        _bytes += size


def _size(flags: DayFlags) -> int:
    return sum(f.nbytes + h.nbytes for f, h in flags)
