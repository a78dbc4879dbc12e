"""Keep glibc from returning memory to the OS between numpy batches (simulation hosts only).

A columnar replay allocates and frees megabyte-sized temporaries thousands of times a second.
glibc serves blocks above its mmap threshold with fresh mmaps and trims the heap top eagerly,
so every batch page-faults its memory back in: a quarter of a full replay's time was kernel time.
Raising the thresholds (the documented mallopt knobs) keeps that memory in the process. No-op
outside glibc.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import sys

M_TRIM_THRESHOLD, M_TOP_PAD, M_MMAP_THRESHOLD = -1, -2, -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024        # glibc's ceiling on 64-bit


def keep_freed_memory() -> bool:
    """Returns True when the allocator was tuned."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX)
    ok &= mallopt(M_TRIM_THRESHOLD, 1 << 30)
    ok &= mallopt(M_TOP_PAD, 64 * 1024 * 1024)
    return bool(ok)
