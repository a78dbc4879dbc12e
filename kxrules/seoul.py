"""Seoul wall time <-> epoch nanoseconds, in one place.

Every timestamp in kxrules is epoch nanoseconds (UTC); the markets run on Korea Standard Time,
UTC+9 with no daylight saving, so a fixed offset is exact. Config, engine, emulator, market data
and the report all convert through these functions.
"""
from __future__ import annotations

import datetime as dt
import re

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
DAY_S = 86_400
DAY_NS = DAY_S * NS_PER_S
KST_OFFSET_S = 9 * 3600
KST_OFFSET_NS = KST_OFFSET_S * NS_PER_S

_HMS = re.compile(r"^(\d{2}):(\d{2}):(\d{2})$")


def parse_hms(text: object) -> int:
    """``"HH:MM:SS"`` -> seconds after midnight; ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError('time of day must be a quoted "HH:MM:SS" string')
    m = _HMS.match(text.strip())
    if not m:
        raise ValueError(f'time of day must be "HH:MM:SS", got {text!r}')
    h, mi, s = (int(x) for x in m.groups())
    if h > 23 or mi > 59 or s > 59:
        raise ValueError(f"time of day {text!r} is not a valid time")
    return h * 3600 + mi * 60 + s


def fmt_hms(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def midnight_ns(day: dt.date) -> int:
    """Epoch ns of 00:00 in Seoul on ``day``."""
    utc = dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)
    return int(utc.timestamp()) * NS_PER_S - KST_OFFSET_NS


def epoch_ns(day: dt.date, seconds_of_day: int) -> int:
    """Epoch ns of a Seoul wall time on ``day``."""
    return midnight_ns(day) + seconds_of_day * NS_PER_S


def midnight_of(ts_ns: int) -> int:
    """Epoch ns of the Seoul midnight that starts the day ``ts_ns`` falls in."""
    return ts_ns - (ts_ns + KST_OFFSET_NS) % DAY_NS


def seconds_of_day(ts_ns: int) -> int:
    """Whole seconds after Seoul midnight."""
    return (ts_ns + KST_OFFSET_NS) % DAY_NS // NS_PER_S


def date_of(ts_ns: int) -> dt.date:
    """The Seoul calendar date of an epoch-ns time."""
    return dt.datetime.fromtimestamp((ts_ns + KST_OFFSET_NS) // NS_PER_S, dt.timezone.utc).date()
