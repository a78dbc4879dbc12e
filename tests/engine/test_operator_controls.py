"""The operator's controls (the ops view's buttons) act on the engine's clock: each scenario
queues commands at set times of the engine's clock, as the ops pump hands them over, and asserts
what the engine did and what it recorded (operator_commands)."""
from __future__ import annotations

import pytest

from kxrules.engine.controls import Command, OperatorControls
from kxrules.engine.engine import Engine

from ..report.helpers import render
from .scenario import Quotes, at, rows, run
from .test_limits import CODE, OTHER, TWO, gap


@pytest.fixture
def commands(monkeypatch):
    """``commands.append((HH:MM:SS, Command))`` before ``run``: applied at that engine time."""
    script: list[tuple[str, Command]] = []
    attach = Engine.attach

    def attach_and_schedule(self, adapter):
        ex = attach(self, adapter)
        controls = OperatorControls(self)
        for when, cmd in script:
            self.clock.call_at(at(when), controls.apply, cmd)
        return ex
    monkeypatch.setattr(Engine, "attach", attach_and_schedule)
    return script


def market() -> Quotes:
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:12:00").steady(OTHER, 99_900, 100_000, end="09:12:00")
    for start in ("09:05:00", "09:07:00", "09:09:00", "09:11:00"):
        gap(q, start)
        gap(q, start, code=OTHER)
    return q


def pairs_by_minute(con, code: str) -> list[int]:
    return [m for (m,) in rows(con, """SELECT DISTINCT (started_ns - ?) // 60000000000 FROM pairs
                                       WHERE code = ? ORDER BY 1""", at("09:00:00"), code)]


def recorded(con) -> list[tuple]:
    return rows(con, "SELECT command, code, done, outcome FROM operator_commands ORDER BY ts_ns")


def test_freeze_stops_new_pairs_on_the_symbol_until_unfrozen(tmp_path, commands):
    commands += [("09:06:00", Command("freeze", CODE)), ("09:10:00", Command("unfreeze", CODE))]
    result, con = run(tmp_path, market(), universe=TWO)
    assert pairs_by_minute(con, CODE) == [5, 11]          # not 7, 9: frozen
    assert pairs_by_minute(con, OTHER) == [5, 7, 9, 11]   # the other symbol trades on
    assert [r[:3] for r in recorded(con)] == [("freeze", CODE, True), ("unfreeze", CODE, True)]
    assert result.summary.flat


def test_mute_silences_the_symbol_and_disarm_stops_every_new_pair_until_armed(tmp_path, commands):
    commands += [("09:06:00", Command("mute", CODE)), ("09:08:00", Command("disarm")),
                 ("09:10:00", Command("arm")), ("09:10:30", Command("unmute", CODE))]
    result, con = run(tmp_path, market(), universe=TWO)
    assert pairs_by_minute(con, OTHER) == [5, 7, 11]      # disarmed at 09:09
    assert pairs_by_minute(con, CODE) == [5, 11]
    assert rows(con, "SELECT count(*) FROM signals WHERE code = ? AND ts_ns BETWEEN ? AND ?",
                CODE, at("09:06:00"), at("09:10:30"))[0][0] == 0     # muted: not even evaluated
    assert [r[0] for r in recorded(con)] == ["mute", "disarm", "arm", "unmute"]


def test_arm_after_the_emergency_stop_is_refused_and_unknown_symbols_too(tmp_path, commands):
    commands += [("09:06:00", Command("emergency_stop")), ("09:08:00", Command("arm")),
                 ("09:08:01", Command("mute", "999999"))]
    result, con = run(tmp_path, market(), universe=TWO)
    assert pairs_by_minute(con, CODE) == [5] and pairs_by_minute(con, OTHER) == [5]
    assert recorded(con) == [
        ("emergency_stop", None, True, "disarmed for the rest of the run; resting orders cancelled; flattening"),
        ("arm", None, False, "cannot arm: disarmed for the rest of the run (emergency stop by the operator)"),
        ("mute", "999999", False, "unknown symbol '999999'")]
    assert result.summary.flat and result.exit_code == 0
    con.close()
    # the report lists them: who, when, what, what came of it
    html = render(tmp_path / "data", tmp_path / "report.html").html
    section = html[html.index('id="operator-commands"'):]
    assert "emergency_stop" in section and "refused: cannot arm" in section and "unknown symbol" in section
