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
