"""`validate` flags universe names NXT does not list on the run date (the shipped, dated list)."""
from __future__ import annotations

import datetime as dt

from typer.testing import CliRunner

from kxrules.cli.app import app
from kxrules.config.eligibility import nxt_eligibility

runner = CliRunner()
UNI = "config/universe/pilot.csv"


def validate(ws, date: str):
    return runner.invoke(app, ["validate", "--workspace", str(ws.root), "--profile", "pilot", "--date", date])


def test_the_shipped_list_has_its_dates_and_stretches():
    elig = nxt_eligibility()
    assert elig.known_from == dt.date(2025, 3, 4) and elig.known_through == dt.date(2026, 8, 12)
    assert elig.eligible_on("005930", dt.date(2026, 8, 12))
    assert not elig.eligible_on("005930", dt.date(2025, 3, 21))        # added 2025-03-24
    assert elig.eligible_on("000050", dt.date(2025, 12, 31))            # 경방: on 2025-07-01 … 2026-01-01
    assert not elig.eligible_on("000050", dt.date(2026, 1, 2))


def test_a_name_not_eligible_on_the_run_date_is_an_error_at_its_line(ws):
    ws.replace(UNI, "000500,가온전선,KOSPI,157200", "000050,경방,KOSPI,8000")
    line, col = ws.find(UNI, "000050")
    r = validate(ws, "2026-08-12")
    assert r.exit_code == 1
    assert (f"{UNI}:{line}:{col}: error KX608 000050 경방 is not NXT-eligible on 2026-08-12 (NXT's list; it "
            f"cannot trade on NXT)") in r.stdout
    assert "000050" not in validate(ws, "2025-12-31").stdout            # still on the list that day


def test_after_the_lists_last_date_an_absent_name_is_a_warning(ws):
    ws.replace(UNI, "000500,가온전선,KOSPI,157200", "000050,경방,KOSPI,8000")
    line, col = ws.find(UNI, "000050")
    r = validate(ws, "2026-11-23")
    assert r.exit_code == 0
    assert f"{UNI}:{line}:{col}: warning KX609 000050 경방 is not on NXT's eligible list of 2026-08-12" in r.stdout
    assert r.stdout.splitlines()[-1] == "ok: pilot on 2026-11-23: 0 error(s), 1 warning(s)"
