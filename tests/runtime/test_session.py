"""The one session lifecycle: a fake host drives it end to end; the exit-code rule and the
wind-down exist once; both replay hosts and the live host plug into it; live.py and trade.py do
not import each other when loaded."""
from __future__ import annotations

import ast
import json
import signal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

import kxrules.runtime as runtime_pkg
from kxrules.config.compile import compile_profile
from kxrules.broker.events import AccountPage
from kxrules.clock import VirtualClock
from kxrules.runtime import session as session_mod
from kxrules.runtime.fast import FastReplay
from kxrules.runtime.live import FIRST_WAIT_NS, HOUSEKEEPING_MS, QtLoop
from kxrules.runtime.session import (END_OF_DATA, INTERRUPT, SECOND_WAIT_NS, UNTIL, Session, TradeOptions, Wait,
                                     wind_down)
from kxrules.runtime.simulation import SimulationHost
from kxrules.runtime.trade import run_simulation
from kxrules.seoul import epoch_ns

from ..engine.scenario import DAY, DETERMINISTIC_EMULATOR, REPO, Quotes

RUNTIME = Path(runtime_pkg.__file__).parent
CODE = "005930"


# -- a fake host --------------------------------------------------------------------------------
class FakeAdapter:
    """Answers the account TRs at once: the broker holds nothing."""

    def __init__(self, engine) -> None:
        self.engine = engine
        self.calls: list[str] = []

    def request_account(self, kind: str, *, more: bool = False) -> int:
        self.engine.on_account(AccountPage(kind, []))
        return 0

    def connect(self) -> None:
        self.calls.append("connect")

    def subscribe_quotes(self) -> None:
        self.calls.append("subscribe")

    def check_connection(self) -> None:
        pass

    def close(self) -> None:
        self.calls.append("close")


class FakeLoop:
    """Trades nothing; raises the signals, fails the recording or leaves a position it is told to,
    then walks the wind-down's waits as a replay host does."""

    def __init__(self, engine, *, signals: int = 0, fail_recording: bool = False, leave: int = 0) -> None:
        self.engine = engine
        self.signals = signals
        self.fail_recording = fail_recording
        self.leave = leave
        self.interrupted = self.hurried = False
        self.waits: list[Wait] = []

    def run(self, wind_down) -> None:
        for _ in range(self.signals):
            signal.raise_signal(signal.SIGINT)
        if self.fail_recording:
            self.engine.recorder._fail("writing orders", duckdb.IOException("No space left on device"))
        for wait in wind_down(INTERRUPT if self.interrupted else END_OF_DATA):
            self.waits.append(wait)
            assert wait.done()
        self.engine.execution.position[0] += self.leave      # as if a fill came too late to flatten

    def interrupt(self) -> None:
        self.interrupted = True

    def hurry(self) -> None:
        self.hurried = True


class FakeHost:
    broker, mode, source, summary_source, seed, durable, record_quotes = (
        "fake", "simulation", "fake source", "fake source", None, False, None)

    def __init__(self, **loop) -> None:
        self.loop_kw = loop
        self.loop: FakeLoop | None = None

    def open_broker(self):
        return VirtualClock(epoch_ns(DAY, 9 * 3600)), None

    def make_adapter(self, control, clock, engine) -> FakeAdapter:
        return FakeAdapter(engine)

    def make_loop(self, control, clock, engine, adapter) -> FakeLoop:
        self.loop = FakeLoop(engine, **self.loop_kw)
        return self.loop


@pytest.fixture(scope="module")
def profile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("profile")
    uni = tmp / "universe.csv"
    uni.write_text("code,name,market,ref_price\n005930,삼성전자,KOSPI,100000\n", encoding="utf-8")
    emu = tmp / "emulator.yaml"
    emu.write_text(json.dumps(DETERMINISTIC_EMULATOR), encoding="utf-8")
    return compile_profile(REPO, "pilot", DAY, file_overrides={"universe": uni, "emulator": emu})


def _session(profile, tmp_path, **loop) -> tuple[Session, FakeHost]:
    host = FakeHost(**loop)
    return Session(profile, TradeOptions(broker="sim", data_dir=tmp_path / "d"), host), host


def _recorded(result) -> tuple:
    con = duckdb.connect(str(result.db_path), read_only=True)
    try:
        return con.execute("SELECT broker, status, exit_code FROM runs WHERE run_id = ?", [result.run_id]).fetchone()
    finally:
        con.close()


def test_flat_at_the_end_of_the_data_exits_0_and_is_recorded(profile, tmp_path):
    session, host = _session(profile, tmp_path)
    result = session.run()
    assert result.exit_code == 0 and result.summary.flat and result.summary.ended_normally
    assert session.engine.guard.killed == "end of market data" and session.engine.stopping
    assert [w.limit_ns for w in host.loop.waits] == [None]            # idle at once: one wait
    assert session.adapter.calls == ["connect", "subscribe", "close"]
    assert _recorded(result) == ("fake", "ok", 0) and result.notes == []


def test_not_flat_exits_1(profile, tmp_path):
    session, _ = _session(profile, tmp_path, leave=3)
    result = session.run()
    assert not result.summary.flat and result.exit_code == 1
    assert _recorded(result) == ("fake", "abnormal", 1)


def test_interrupted_and_flat_exits_0_and_restores_the_handlers(profile, tmp_path):
    session, host = _session(profile, tmp_path, signals=1)
    result = session.run()
    assert host.loop.interrupted and not host.loop.hurried
    assert session.engine.guard.killed == "wind-down requested"
    assert result.exit_code == 0 and result.summary.flat
    assert result.notes == ["interrupted by the operator (SIGINT): disarmed, flattening, recording"]
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler


def test_a_second_interrupt_hurries_the_loop(profile, tmp_path):
    session, host = _session(profile, tmp_path, signals=2)
    result = session.run()
    assert host.loop.hurried and result.exit_code == 0
    assert any(n.startswith("interrupted again") for n in result.notes)


def test_interrupted_but_not_flat_exits_1(profile, tmp_path):
    session, _ = _session(profile, tmp_path, signals=1, leave=2)
    assert session.run().exit_code == 1


def test_a_recording_failure_kills_winds_down_and_exits_1(profile, tmp_path):
    session, host = _session(profile, tmp_path, fail_recording=True)
    result = session.run()
    assert host.loop.interrupted                                    # the trading stopped
    assert session.engine.guard.killed.startswith("recording failed: writing orders")
    assert result.summary.flat and result.exit_code == 1
    assert result.errors[0] == "recording failed: writing orders: No space left on device; disarmed and flattened"
    assert _recorded(result)[1:] == ("abnormal", 1)


# -- the rules written once -----------------------------------------------------------------------
@pytest.mark.parametrize("flat, normal, operator, failed, code", [
    (True, True, False, False, 0), (False, True, False, False, 1), (True, False, False, False, 1),
    (True, False, True, False, 0), (False, False, True, False, 1), (True, True, False, True, 1),
    (True, True, True, True, 1)])
def test_the_exit_code_rule(flat, normal, operator, failed, code):
    summary = SimpleNamespace(flat=flat, ended_normally=normal)
    assert session_mod.exit_code(summary, stopped_by_operator=operator, recording_failed=failed) == code


def test_the_wind_down_asks_again_when_still_busy():
    busy = {"now": True}
    calls: list[str] = []
    engine = SimpleNamespace(kill=lambda reason, trip=True: calls.append(f"kill {reason}"),
                             wind_down=lambda: calls.append("wind_down"),
                             idle=lambda: not busy["now"])
    waits = list(wind_down(engine, END_OF_DATA))
    assert calls == ["kill end of market data", "wind_down"]
    assert [w.limit_ns for w in waits] == [None, SECOND_WAIT_NS]
    assert all(w.done == engine.idle for w in waits)
    calls.clear()
    busy["now"] = False
    assert [w.limit_ns for w in wind_down(engine, UNTIL)] == [None] and calls == ["wind_down"]


def test_the_exit_code_rule_and_the_wind_down_are_written_only_in_session_py():
    for path in sorted(RUNTIME.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if path.name in ("session.py", "summary.py"):
            continue
        assert "ended_normally" not in text, f"{path.name} decides an exit code itself"
        assert "EXIT_OK if" not in text and "EXIT_ABNORMAL if" not in text, path.name
        assert '.kill("end of market data")' not in text, f"{path.name} winds down itself"
        assert "import signal" not in text or path.name == "interrupts.py", f"{path.name} handles signals itself"


def _import_time_modules(path: Path) -> set[str]:
    """The kxrules.runtime modules a module imports when it is loaded (statements outside any
    function or class body; relative imports resolved)."""
    found: set[str] = set()

    def visit(nodes) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                continue
            if isinstance(node, ast.ImportFrom):
                base = "kxrules.runtime" if node.level == 1 else ("kxrules" if node.level == 2 else "")
                module = ".".join(p for p in (base, node.module or "") if p)
                found.add(module)
                if node.module is None:
                    found.update(f"{module}.{a.name}" for a in node.names)
            elif isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            visit(ast.iter_child_nodes(node))

    visit(ast.parse(path.read_text(encoding="utf-8")).body)
    return found


def test_live_and_trade_do_not_import_each_other_when_loaded():
    live = _import_time_modules(RUNTIME / "live.py")
    trade = _import_time_modules(RUNTIME / "trade.py")
    assert "kxrules.runtime.session" in live and "kxrules.runtime.session" in trade
    assert "kxrules.runtime.trade" not in live
    assert "kxrules.runtime.live" not in trade
    for name in ("session.py", "sim_host.py", "interrupts.py", "status.py"):     # the lower modules
        below = _import_time_modules(RUNTIME / name)
        assert not {"kxrules.runtime.trade", "kxrules.runtime.live"} & below, name


# -- every host plugs into it ---------------------------------------------------------------------
def _spy_on_sessions(monkeypatch) -> list[Session]:
    seen: list[Session] = []
    finish = Session.finish

    def spying_finish(self):
        seen.append(self)
        return finish(self)
    monkeypatch.setattr(Session, "finish", spying_finish)
    return seen


@pytest.mark.parametrize("path, host", [("fast", FastReplay), ("faithful", SimulationHost)])
def test_both_replay_hosts_run_the_one_lifecycle(profile, tmp_path, monkeypatch, path, host):
    seen = _spy_on_sessions(monkeypatch)
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:01:00")
    result = run_simulation(profile, TradeOptions(broker="sim", replay=q.write(tmp_path / "q.parquet"),
                                                  data_dir=tmp_path / "d", replay_path=path))
    (session,) = seen
    assert isinstance(session.loop.replay, host)
    assert session.stopped_by == END_OF_DATA and result.exit_code == 0
    assert _recorded(result) == ("sim", "ok", 0)


# -- the Qt loop, with a stand-in for the QApplication --------------------------------------------
class FakeQtApp:
    """exec_() runs the virtual clock's timers until quit() (as Qt runs its timers)."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.quit_at: int | None = None

    def exec_(self) -> int:
        while self.quit_at is None and self.clock.next_due_ns() is not None:
            self.clock.run_until(self.clock.next_due_ns())
        return 0

    def quit(self) -> None:
        self.quit_at = self.clock.now_ns()


class FakeEngine:
    def __init__(self, window_end_ns: int, busy_until_ns: int | None = None) -> None:
        self.guard = SimpleNamespace(window_end_ns=window_end_ns, trading_day=True)
        self.busy_until_ns = busy_until_ns
        self.calls: list[tuple[str, int]] = []
        self.clock: VirtualClock | None = None

    def kill(self, reason: str, trip: bool = True) -> None:
        self.calls.append((f"kill {reason}", self.clock.now_ns()))

    def wind_down(self) -> None:
        self.calls.append(("wind_down", self.clock.now_ns()))

    def idle(self) -> bool:
        return self.busy_until_ns is None or self.clock.now_ns() >= self.busy_until_ns


def _qt_loop(window_end_s: int = 10, busy_until_s: int | None = None, until_s: int | None = None):
    clock = VirtualClock(0)
    s = 1_000_000_000
    engine = FakeEngine(window_end_s * s, None if busy_until_s is None else busy_until_s * s)
    engine.clock = clock
    app = FakeQtApp(clock)
    loop = QtLoop(app, clock, engine, FakeAdapter(engine), until_ns=None if until_s is None else until_s * s)
    return loop, app, engine, clock


def test_qt_loop_ends_the_day_at_the_window_end_and_leaves_once_idle():
    loop, app, engine, _ = _qt_loop(window_end_s=10)
    stops: list[str] = []
    loop.run(lambda why: stops.append(why) or wind_down(engine, why))
    assert stops == [END_OF_DATA]
    assert engine.calls == [("kill end of market data", 10_000_000_000)] and app.quit_at == 10_000_000_000


def test_qt_loop_forces_the_wind_down_when_pairs_do_not_finish_in_time():
    loop, app, engine, _ = _qt_loop(window_end_s=10, busy_until_s=100)
    loop.run(lambda why: wind_down(engine, why))
    assert [c for c, _ in engine.calls] == ["kill end of market data", "wind_down"]
    assert engine.calls[1][1] == 10_000_000_000 + FIRST_WAIT_NS
    assert app.quit_at == 100_000_000_000        # idle during the second wait


def test_qt_loop_until_and_interrupts_wind_down_then_a_hurry_leaves_at_once():
    loop, app, engine, clock = _qt_loop(window_end_s=1000, busy_until_s=1000, until_s=20)
    clock.call_at(5_000_000_000, loop.interrupt)                         # Ctrl-C: stop trading
    clock.call_at(6_000_000_000, loop.interrupt)                         # again: force the wind-down
    clock.call_at(7_000_000_000, loop.hurry)                             # and stop waiting
    stops: list[str] = []
    loop.run(lambda why: stops.append(why) or wind_down(engine, why))
    assert stops == [INTERRUPT]
    (first, at_first), (second, at_second) = engine.calls
    assert (first, at_first) == ("wind_down", 5_000_000_000)
    assert second == "wind_down" and 6_000_000_000 <= at_second <= 6_000_000_000 + HOUSEKEEPING_MS * 1_000_000
    assert app.quit_at is not None and 7_000_000_000 <= app.quit_at <= 7_000_000_000 + HOUSEKEEPING_MS * 1_000_000


def test_qt_loop_stops_at_until():
    loop, app, engine, _ = _qt_loop(window_end_s=1000, until_s=20)
    stops: list[str] = []
    loop.run(lambda why: stops.append(why) or wind_down(engine, why))
    assert stops == [UNTIL] and engine.calls == [("wind_down", 20_000_000_000)] and app.quit_at == 20_000_000_000
