"""Which days the exchange trades, by the shipped KRX calendar (the engine arms only on those,
and `trade` without --date runs on the next one)."""
from __future__ import annotations

import datetime as dt

from kxrules.config.diagnostics import Diagnostics
from kxrules.config.schema.sessions import CalendarFile
from kxrules.config.yaml_loader import load_yaml

from ..engine.scenario import REPO


def _calendar() -> CalendarFile:
    return CalendarFile.model_validate(load_yaml(REPO / "sessions/krx_calendar_2026.yaml", Diagnostics(REPO)).data)


def test_weekends_and_holidays_do_not_trade_and_the_next_day_is_found():
    cal = _calendar()
    christmas = dt.date(2026, 12, 25)                 # a Friday and a KRX holiday
    assert any(h.date == christmas for h in cal.holidays)
    assert not cal.is_trading_day(christmas)
    assert not cal.is_trading_day(dt.date(2026, 12, 26))
    assert cal.next_trading_day(christmas) == dt.date(2026, 12, 28)     # Monday
    assert cal.next_trading_day(dt.date(2026, 11, 23)) == dt.date(2026, 11, 23)


# Every weekday public holiday and late open of each year the file covers, from the sources named
# at the top of sessions/krx_calendar_2026.yaml (공휴일에 관한 법률 제2조·제3조, the 2026 제헌절
# amendment, 교육부's 수능 dates, KRX's closing days). A year added to the file must be added here.
PUBLIC_HOLIDAYS = {
    2026: ["01-01", "02-16", "02-17", "02-18", "03-02", "05-01", "05-05", "05-25", "06-03", "07-17",
           "08-17", "09-24", "09-25", "10-05", "10-09", "12-25", "12-31"],
    2027: ["01-01", "02-08", "02-09", "03-01", "05-05", "05-13", "07-19", "08-16", "09-14", "09-15",
           "09-16", "10-04", "10-11", "12-27", "12-31"],
}
LATE_OPENS = {2026: ["01-02", "11-19"], 2027: ["01-04", "11-18"]}


def test_each_year_in_the_calendar_has_every_listed_holiday_and_late_open():
    cal = _calendar()
    assert sorted(cal.years) == sorted(PUBLIC_HOLIDAYS) == sorted(LATE_OPENS)
    for year in cal.years:
        for md in PUBLIC_HOLIDAYS[year]:
            day = dt.date.fromisoformat(f"{year}-{md}")
            assert day.weekday() < 5 and not cal.is_trading_day(day), day
        late = {x.date for x in cal.late_open}
        for md in LATE_OPENS[year]:
            day = dt.date.fromisoformat(f"{year}-{md}")
            assert day in late and cal.is_trading_day(day), day
    holidays = {h.date for h in cal.holidays}
    listed = {dt.date.fromisoformat(f"{y}-{md}") for y, mds in PUBLIC_HOLIDAYS.items() for md in mds}
    assert holidays == listed                      # nothing in the file the sources do not name


def test_the_constitution_day_and_the_2027_exam_day():
    cal = _calendar()
    assert not cal.is_trading_day(dt.date(2026, 7, 17))            # 제헌절, a Friday
    assert not cal.is_trading_day(dt.date(2027, 7, 19))            # its substitute (17th is a Saturday)
    exam = next(x for x in cal.late_open if x.date == dt.date(2027, 11, 18))
    assert (exam.open_delay_minutes, exam.close_delay_minutes) == (60, 60)
