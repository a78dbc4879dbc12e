"""Replay files already checked clean, remembered by the file's identity.

Replaying the same day again (a what-if with other ``--set`` values, a reproduced sweep cell, a
benchmark) then skips the whole-file check: ≈ 0.5 s of reading and testing 14 M rows that a cold
``trade --replay`` otherwise waits for before it starts.

A verdict holds only for the same bytes checked by the same rules: the fingerprint covers the
file's resolved path, device and inode, size, modification and change times (ns; any write or
replacement moves them) and a hash of its last 64 KiB (a Parquet footer: row groups, sizes,
statistics); the profile's universe and run date; and the source of the check itself (a new
kxrules re-checks). Only clean verdicts are kept: a file with problems is checked, and its
problems reported, every time. DuckDB sources are always checked (they change in place).

Kept in ``$KXRULES_CACHE_DIR`` (default: the user's cache directory; ``off`` keeps nothing). A
cache that cannot be read or written only means checking again.
"""
from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path

CACHE_ENV = "KXRULES_CACHE_DIR"
FILE_NAME = "replay-checks.json"
MAX_ENTRIES = 512                 # files remembered; the least recently checked go first
TAIL_BYTES = 64 * 1024


def cache_file() -> Path | None:
    """Where verdicts are kept, or None when the user turned it off."""
    chosen = os.environ.get(CACHE_ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off") else Path(chosen) / FILE_NAME
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "kxrules" / FILE_NAME


@functools.cache
def _checker_digest() -> bytes:
    """The code whose rules a verdict records (the check and the row tests), read once a process."""
    from ..marketdata import grid_jit, quote_format
    from . import replay_check

    return hashlib.sha256(b"".join(Path(m.__file__ or "").read_bytes()
                                   for m in (replay_check, quote_format, grid_jit))).digest()


def fingerprint(path: Path, codes: Iterable[str], run_date: dt.date) -> str | None:
    """What a clean verdict for this file, universe and date is remembered by (None: the file
    cannot be read now; the check will say why)."""
    try:
        resolved = path.resolve()
        st = resolved.stat()
        with resolved.open("rb") as f:
            f.seek(max(0, st.st_size - TAIL_BYTES))
            tail = f.read()
    except OSError:
        return None
    h = hashlib.sha256()
    for part in (str(resolved), st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns,
                 ",".join(sorted(codes)), run_date.isoformat()):
        h.update(str(part).encode() + b"\0")
    h.update(hashlib.sha256(tail).digest())
    h.update(_checker_digest())
    return h.hexdigest()


def _read(file: Path) -> dict[str, str]:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def known_clean(path: Path, print_: str | None) -> bool:
    """``path`` was checked clean with exactly this fingerprint."""
    file = cache_file()
    return file is not None and print_ is not None and _read(file).get(str(path.resolve())) == print_


def remember_clean(path: Path, print_: str | None) -> None:
    """Keep the clean verdict (written whole, then renamed: a reader never sees half a file)."""
    file = cache_file()
    if file is None or print_ is None:
        return
    try:
        kept = _read(file)
        key = str(path.resolve())
        kept.pop(key, None)
        kept[key] = print_
        while len(kept) > MAX_ENTRIES:
            kept.pop(next(iter(kept)))
        file.parent.mkdir(parents=True, exist_ok=True)
    except OSError:
        return                     # a read-only home: the next run checks again
    tmp = file.with_name(f"{file.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(kept, indent=0), encoding="utf-8")
        os.replace(tmp, file)
    except OSError:                # a full disk: the same
        tmp.unlink(missing_ok=True)
