"""React at once (#13 item 3): a quote that leaves its symbol crossed is evaluated as soon as the
engine is idle, not on a fixed batch grid; quotes delivered together are evaluated together; and
``batch_interval_ms`` bounds how long a batch may wait behind a stream of events. Every edge seen
(#13 item 2): a standing gap is looked at again when a clip frees its slot and when a venue
reopens; after a reconnect only quotes sent since count."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

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
    first = rows(con, "SELECT min(ts_ns) FROM signals")[0][0]
    assert rows(con, "SELECT ts_ns, buy_price, sell_price FROM signals WHERE ts_ns = ?", first) == [
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
    bound = engine.batch_ns
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


def test_a_standing_gap_is_looked_at_again_when_a_traded_clip_frees_its_slot(tmp_path):
    # one quote each, then nothing moves until the gap closes: the second look comes from the
    # first clip's end (the order budget, 2 of 5 calls spent, refuses the second pair)
    q = Quotes().add("09:10:00", CODE, "KRX", 99_900, 100_000).add("09:10:00", CODE, "NXT", 100_400, 100_500)
    q.add("09:10:01", CODE, "NXT", 99_900, 100_000)
    _, con = run(tmp_path, q)
    (ended, state), = rows(con, "SELECT ended_ns, final_state FROM pairs")
    assert state == "PAIRED_DONE"
    assert rows(con, "SELECT ts_ns, refuse_reason FROM signals WHERE NOT admitted") == [(ended, "throttle")]


def test_a_standing_gap_is_traded_when_its_venue_reopens(tmp_path):
    sessions = {"KRX": [{"at": "08:30:00", "code": "0", "matching": False},
                        {"at": "09:00:00", "code": "3", "matching": True},
                        {"at": "09:05:00", "code": "4", "matching": False},
                        {"at": "09:06:00", "code": "3", "matching": True}],
                "NXT": [{"at": "09:00:30", "code": "R", "matching": True}]}
    # refreshes every 700 ms: none at 09:06:00.000, so only the reopening can look at the gap then
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:07:00", every_ms=700)
    q.hold(CODE, "NXT", "09:05:30", "09:07:00", 100_400, 100_500)
    _, con = run(tmp_path, q, emulator={"sessions": sessions}, risk={"max_pairs_per_symbol_per_day": 1})
    assert rows(con, "SELECT started_ns FROM pairs") == [(at("09:06:00") + LATENCY,)]


def test_after_a_reconnect_a_quote_from_before_the_drop_does_not_count(tmp_path):
    # NXT's gap stands from 09:10:00.600 and NXT says nothing after it; KRX shows no size then
    # (a refused gap). The session drops at 09:10:01 for 3 s; after it KRX quotes with size again.
    # The old NXT quote is not a quote of this session: nothing is traded.
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:10:20")
    q.hold(CODE, "NXT", "09:10:00.600", "09:10:20", 100_400, 100_500)
    q.hold(CODE, "KRX", "09:10:00.500", "09:10:01.500", 99_900, 100_000, 1000, 0)
    result, con = run(tmp_path, q, emulator={"faults": {"disconnect_at": "09:10:01", "reconnect_after_s": 3}})
    conn = rows(con, "SELECT detail FROM events WHERE kind = 'connection' ORDER BY ts_ns")
    assert '"connected": true' in conn[-1][0]
    assert rows(con, "SELECT count(*) FROM pairs") == [(0,)]


@pytest.mark.parametrize("krx_requoted, traded", [(None, False), ("09:10:01.900", True)])
def test_a_rule_can_demand_fresh_quotes_with_quote_age_ms(tmp_path, krx_requoted, traded):
    # NXT's gap arrives at 09:10:02; KRX's ask last moved at 09:10:00 (2 s old) unless re-quoted
    q = Quotes().add("09:10:00", CODE, "KRX", 99_900, 100_000).add("09:10:00", CODE, "NXT", 99_900, 100_000)
    if krx_requoted:
        q.add(krx_requoted, CODE, "KRX", 99_900, 100_000, 900, 900)
    q.add("09:10:02", CODE, "NXT", 100_400, 100_500).add("09:10:02.100", CODE, "NXT", 99_900, 100_000)
    _, con = run(tmp_path, q, rules=["buy_quote_age_ms <= 1000 and sell_quote_age_ms <= 1000"])
    assert rows(con, "SELECT count(*) > 0 FROM pairs") == [(traded,)]
