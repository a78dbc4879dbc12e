"""A replay file checked clean is remembered: the same file, universe and date are not read
again; any change to the file, another universe or date, or another check means checking again,
and a file with problems is checked (and refused) every time."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from kxrules.config.compile import compile_profile
from kxrules.runtime import replay_check, replay_verdicts
from kxrules.runtime.replay_check import ReplayError, check_replay_once, require_checked, start_check

from .test_replay_validation import DAY, REPO, edited, good_rows, table, trade


@pytest.fixture
def checks(monkeypatch, tmp_path):
    """Verdicts kept in this test's directory; counts the whole-file checks that really ran."""
    monkeypatch.setenv(replay_verdicts.CACHE_ENV, str(tmp_path / "cache"))
    ran: list[Path] = []
    real = replay_check.check_replay

    def counting(path, profile):
        ran.append(Path(path))
        real(path, profile)

    monkeypatch.setattr(replay_check, "check_replay", counting)
    return ran


@pytest.fixture
def day(tmp_path) -> Path:
    p = tmp_path / "day.parquet"
    pq.write_table(table(good_rows()), p)
    return p


@pytest.fixture
def profile(tmp_path):
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n000660,SK하이닉스,KOSPI,1425000\n",
                   encoding="utf-8")
    return compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni})


def test_a_clean_file_is_checked_once(checks, day, profile):
    check_replay_once(day, profile)
    check_replay_once(day, profile)
    assert checks == [day]
    done = start_check(day, profile)
    assert done.done(), "a file remembered clean needs no check thread"
    require_checked(day, profile, done)
    assert checks == [day]


def test_a_changed_file_is_checked_again_and_its_problem_reported(checks, day, profile):
    check_replay_once(day, profile)
    before = day.stat()
    pq.write_table(table(edited(bid1={2: 99_950})), day)     # off the tick grid; same path
    os.utime(day, ns=(before.st_atime_ns, before.st_mtime_ns))  # even with the old modification time
    with pytest.raises(ReplayError, match="row 3"):
        check_replay_once(day, profile)
    with pytest.raises(ReplayError, match="row 3"):             # and every time after
        require_checked(day, profile, start_check(day, profile))
    assert checks == [day, day, day]


def test_another_universe_date_or_check_is_checked_again(checks, day, profile, monkeypatch):
    check_replay_once(day, profile)
    with pytest.raises(ReplayError, match="not in the profile's universe"):
        check_replay_once(day, dataclasses.replace(profile, codes=profile.codes[:1]))
    with pytest.raises(ReplayError, match="ts_ns outside"):
        check_replay_once(day, dataclasses.replace(profile, run_date=DAY.replace(day=24)))
    monkeypatch.setattr(replay_verdicts, "_checker_digest", lambda: b"a newer check")
    check_replay_once(day, profile)
    assert checks == [day] * 4


def test_nothing_is_kept_when_turned_off_or_unwritable(checks, day, profile, monkeypatch, tmp_path):
    monkeypatch.setenv(replay_verdicts.CACHE_ENV, "off")
    check_replay_once(day, profile)
    check_replay_once(day, profile)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv(replay_verdicts.CACHE_ENV, str(blocker / "cache"))
    check_replay_once(day, profile)
    check_replay_once(day, profile)
    assert len(checks) == 4


def test_the_cache_keeps_the_most_recent_files(checks, tmp_path, profile, monkeypatch):
    monkeypatch.setattr(replay_verdicts, "MAX_ENTRIES", 2)
    days = []
    for i in range(3):
        p = tmp_path / f"day{i}.parquet"
        pq.write_table(table(good_rows()), p)
        days.append(p)
        check_replay_once(p, profile)
    for p in days[1:]:
        check_replay_once(p, profile)
    check_replay_once(days[0], profile)                          # dropped: the oldest
    assert checks == days + [days[0]]


def test_trade_replays_a_remembered_day_without_reading_it_twice(checks, day, tmp_path):
    uni = tmp_path / "universe.csv"
    uni.write_text("code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n000660,SK하이닉스,KOSPI,1425000\n",
                   encoding="utf-8")
    first, _ = trade(tmp_path / "a", uni, str(day))
    second, _ = trade(tmp_path / "b", uni, str(day))
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert checks == [day]
