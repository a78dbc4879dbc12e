"""sessions/*.yaml: venue sessions, the arming guard, FID 215 codes and the holiday calendar."""
from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import Field

from .common import Strict, TimeOfDay, Venue


class SessionSpec(Strict):
    name: str
    start: TimeOfDay
    end: TimeOfDay
    kind: Literal["continuous", "auction"]


class VenueSessions(Strict):
    sessions: list[SessionSpec] = Field(min_length=1)

    def get(self, name: str) -> SessionSpec | None:
        return next((s for s in self.sessions if s.name == name), None)


class Guard(Strict):
    arm_only_in_overlap: bool = True
    start: TimeOfDay
    end: TimeOfDay
    use_fid_215: bool = True


class Fid215Code(Strict):
    code: str = Field(min_length=1, max_length=1)
    venue: str          # KRX or NXT: checks/sessions.py reports any other name as KX303
    label: str
    effect: Literal["open", "close", "none"]


class SessionsFile(Strict):
    timezone: Literal["Asia/Seoul"] = "Asia/Seoul"
    venues: dict[Venue, VenueSessions]
    trade_in: dict[Venue, str]
    guard: Guard
    fid_215: list[Fid215Code]


class Holiday(Strict):
    date: dt.date
    name: str


class LateOpen(Strict):
    date: dt.date
    open_delay_minutes: int = Field(ge=0, le=240)
    close_delay_minutes: int = Field(default=0, ge=0, le=240)
    reason: str = ""


class CalendarFile(Strict):
    calendar: Literal["KRX"] = "KRX"
    years: list[int] = Field(min_length=1)
    holidays: list[Holiday]
    late_open: list[LateOpen] = []

    def is_trading_day(self, day: dt.date) -> bool:
        return day.weekday() < 5 and all(h.date != day for h in self.holidays)

    def next_trading_day(self, start: dt.date) -> dt.date:
        """``start`` if the exchange trades then, else the next day it does (within 30 days)."""
        for k in range(30):
            day = start + dt.timedelta(days=k)
            if self.is_trading_day(day):
                return day
        return start
