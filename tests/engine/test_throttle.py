"""The order budget: never more than 5 calls in any 1,000 ms, the reserve stays for hedges."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.engine.throttle import OrderThrottle
from kxrules.runtime.summary import max_calls_in_window

MS = 1_000_000


def _throttle(**kw) -> OrderThrottle:
    args = dict(capacity=5, window_ms=1000, reserve=2, min_free_to_start=4, safety_margin_ms=0)
    args.update(kw)
    return OrderThrottle(**args)


# a storm: (gap to the previous request in ms, urgent?) pairs
storms = st.lists(st.tuples(st.integers(min_value=0, max_value=400), st.booleans()), min_size=1, max_size=300)


@settings(max_examples=300, deadline=None)
@given(storms)
def test_no_window_of_one_second_ever_holds_more_than_capacity(storm):
    t = _throttle()
    now, sent = 0, []
    for gap, urgent in storm:
        now += gap * MS
        if t.may_send(now, urgent=urgent):
            t.record(now)
            sent.append(now)
    assert max_calls_in_window(sent, 1000 * MS) <= 5


@settings(max_examples=300, deadline=None)
@given(storms)
def test_entries_never_consume_the_reserved_slots(storm):
    t = _throttle()
    now = 0
    entries: list[int] = []
    for gap, urgent in storm:
        now += gap * MS
        if not urgent and t.may_send(now, urgent=False):
            # at the moment an entry is sent, more than the reserve is still free
            assert t.free(now) > t.reserve
            t.record(now)
            entries.append(now)
        elif urgent and t.may_send(now, urgent=True):
            t.record(now)
    # entries alone can never fill the window beyond capacity - reserve
    assert max_calls_in_window(entries, 1000 * MS) <= 5 - 2


@settings(max_examples=200, deadline=None)
@given(storms)
def test_a_pair_starts_only_with_both_legs_and_the_reserve_free(storm):
    t = _throttle()
    now = 0
    for gap, urgent in storm:
        now += gap * MS
        if t.may_start_pair(now):
            assert t.free(now) >= 4
        if t.may_send(now, urgent=urgent):
            t.record(now)


def test_sixth_call_inside_one_second_is_refused_and_allowed_after_the_window():
    t = _throttle()
    for i in range(5):
        assert t.may_send(i * 10 * MS, urgent=True)
        t.record(i * 10 * MS)
    assert not t.may_send(999 * MS, urgent=True)
    assert t.next_slot_ns(999 * MS) == 1000 * MS + 1
    assert t.may_send(1000 * MS + 1, urgent=True)


def test_safety_margin_widens_the_window():
    t = _throttle(safety_margin_ms=10)
    for i in range(5):
        t.record(i * MS)
    assert not t.may_send(1005 * MS, urgent=True)   # the broker would allow it; we stay clear
    assert t.may_send(1011 * MS, urgent=True)


def test_auto_pause_after_five_seconds_at_eighty_percent_and_resumes_when_cool():
    t = _throttle(reserve=0, min_free_to_start=1, pause_sustain_ms=5000)
    now = 0
    for _ in range(19):                  # 4 calls per second (80% of 5/s) for 4.75 s: not yet
        t.record(now)
        now += 250 * MS
    assert not t.paused
    t.record(now)                        # the 20th call within 5 s: sustained 80%
    assert t.paused
    assert not t.may_start_pair(now + 1 * MS)
    assert t.update_pause(now + 2_000 * MS) is False     # the rate fell below 80%: pause lifts
    assert not t.paused


def test_pause_does_not_stop_hedges():
    t = _throttle(reserve=0, min_free_to_start=1, pause_sustain_ms=5000)
    for i in range(20):
        t.record(i * 250 * MS)
    assert t.paused
    later = 19 * 250 * MS + 600 * MS        # two slots have left the 1 s window
    assert t.may_send(later, urgent=True)


def test_pause_switches_are_reported_once_each_way():
    t = _throttle(reserve=0, min_free_to_start=1, pause_sustain_ms=5000)
    seen = []
    t.on_pause_change = lambda on, now: seen.append((on, now))
    for i in range(25):
        t.record(i * 250 * MS)
    t.update_pause(30_000 * MS)
    assert [on for on, _ in seen] == [True, False]
