"""React at once (#13 item 3): a quote that leaves its symbol crossed is evaluated as soon as the
engine is idle, not on a fixed batch grid; quotes delivered together are evaluated together; and
``batch_interval_ms`` bounds how long a batch may wait behind a stream of events."""
from __future__ import annotations

from types import SimpleNamespace

from kxrules.clock import WallClock
from kxrules.config.compile import compile_profile
from kxrules.engine.engine import Engine

from .scenario import DAY, MS, REPO, Quotes, at, rows, run

CODE = "005930"
LATENCY = 5 * MS          # the scenario emulator delivers real data 5 ms after its time stamp


def test_a_crossing_quote_is_sent_at_the_instant_it_is_delivered(tmp_path):
    # delivered at 09:10:00.008: the old 10 ms grid sent the entry at .010
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:02")
    q.hold(CODE, "NXT", "09:10:00.003", "09:10:00.300", 100_400, 100_500)
    _, con = run(tmp_path, q)
    (signal_ns,), = rows(con, "SELECT ts_ns FROM signals WHERE admitted")
    (sent_ns,), = rows(con, "SELECT sent_ns FROM orders WHERE role = 'entry'")
    assert signal_ns == sent_ns == at("09:10:00.003") + LATENCY
    # the engine's added latency is recorded: nothing waits in virtual time
    assert rows(con, "SELECT value FROM telemetry WHERE metric = 'quote_to_send_ms'") == [(0.0,)]


def test_quotes_delivered_at_the_same_instant_are_evaluated_once_on_the_book_they_leave(tmp_path):
    # NXT's bid jumps (a cross buying KRX at 100,000) and, in the same instant, KRX's ask drops:
    # evaluated after both, the one signal buys at 99,900
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:02")
    q.hold(CODE, "NXT", "09:10:00.003", "09:10:00.300", 100_400, 100_500)
    q.hold(CODE, "KRX", "09:10:00.003", "09:10:00.300", 99_800, 99_900)
    _, con = run(tmp_path, q)
    assert rows(con, "SELECT ts_ns, buy_price, sell_price FROM signals WHERE ts_ns < ?", at("09:10:00.300")) == [
        (at("09:10:00.003") + LATENCY, 99_900, 100_400)]


def _engine_on_wall_time():
    """An engine on a wall clock whose time the test moves without running timers: the host
    loop stays busy delivering events, as under a burst."""
    profile = compile_profile(REPO, "pilot", DAY)
    wall = [0]
    clock = WallClock(at("09:10:00"), wall_origin_ns=0)
    clock._time_ns = lambda: wall[0]
    engine = Engine(profile, clock, SimpleNamespace(), SimpleNamespace())
    engine.record_quotes = False
    sym = profile.codes.index(CODE)
    engine.on_quote(sym, 0, 99_900, 100_000, 1000, 1000, clock.now_ns())      # KRX
    return engine, clock, wall, sym


def test_an_uncrossed_quote_does_not_wake_the_engine():
    engine, clock, wall, sym = _engine_on_wall_time()
    engine.on_quote(sym, 1, 99_900, 100_000, 1000, 1000, clock.now_ns())      # NXT, same market
    assert clock.next_due_ns() is None and not engine.book.any_dirty


def test_a_batch_waits_behind_a_burst_at_most_batch_interval_ms():
    engine, clock, wall, sym = _engine_on_wall_time()
    bound = engine.profile.edge.batch_interval_ms * MS
    engine.on_quote(sym, 1, 100_400, 100_500, 50, 50, clock.now_ns())         # crossed: wakes
    assert clock.next_due_ns() == clock.now_ns() and engine.stats["batches"] == 0
    wall[0] += bound - 1
    engine.on_quote(sym, 1, 100_400, 100_500, 51, 50, clock.now_ns())         # still coalescing
    assert engine.stats["batches"] == 0
    wall[0] += 1
    engine.on_quote(sym, 1, 100_400, 100_500, 50, 50, clock.now_ns())         # waited the bound: runs
    assert engine.stats["batches"] == 1
    clock.run_due()                                                            # its timer was cancelled
    assert engine.stats["batches"] == 1 and clock.next_due_ns() is None
