"""The CLI's "today" is the Seoul date, without needing a time-zone database."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time

from kxrules.cli import common


def test_today_turns_at_seoul_midnight(monkeypatch):
    # 2026-11-22 14:59:59 UTC is 23:59:59 in Seoul; one second later it is the 23rd there
    last = int(dt.datetime(2026, 11, 22, 14, 59, 59, tzinfo=dt.timezone.utc).timestamp()) * 1_000_000_000
    monkeypatch.setattr(time, "time_ns", lambda: last)
    assert common.today_in_seoul() == dt.date(2026, 11, 22)
    monkeypatch.setattr(time, "time_ns", lambda: last + 1_000_000_000)
    assert common.today_in_seoul() == dt.date(2026, 11, 23)


def test_the_cli_starts_without_a_time_zone_database():
    # as on a Windows Python without the tzdata package: zoneinfo finds no zone at all
    code = ("import sys, zoneinfo\n"
            "class NoZone(zoneinfo.ZoneInfo):\n"
            "    def __new__(cls, key): raise zoneinfo.ZoneInfoNotFoundError(key)\n"
            "zoneinfo.ZoneInfo = NoZone\n"
            "from kxrules.cli import common\n"
            "print(common.today_in_seoul())\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    dt.date.fromisoformat(out.stdout.strip())
