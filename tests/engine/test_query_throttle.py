"""The account-TR budget: Kiwoom's 5 per second and the longer windows koapy encodes."""
from __future__ import annotations

from kxrules.engine.broker_truth import QueryThrottle
from kxrules.runtime.summary import max_calls_in_window

S = 1_000_000_000
KIWOOM = [(5, 1000), (5, 18_000), (25, 90_000), (50, 180_000), (1000, 3_600_000)]


def greedy(throttle: QueryThrottle, n: int, start: int = 0) -> list[int]:
    """Ask ``n`` times as early as the throttle allows."""
    sent, now = [], start
    for _ in range(n):
        now = throttle.next_slot_ns(now)
        throttle.record(now)
        sent.append(now)
    return sent


def test_a_burst_of_five_waits_for_the_18_second_window_not_the_one_second_one():
    sent = greedy(QueryThrottle(KIWOOM), 6)
    assert sent[:5] == [0] * 5
    assert sent[5] == 18 * S + 1


def test_greedy_asking_never_breaks_any_declared_window():
    sent = greedy(QueryThrottle(KIWOOM), 120)
    for capacity, window_ms in KIWOOM[:4]:
        assert max_calls_in_window(sent, window_ms * 1_000_000) <= capacity
    # the tightest long window decides the pace: 50 per 180 s
    assert sent[-1] >= 2 * 180 * S


def test_the_budget_comes_from_throttle_yaml():
    from types import SimpleNamespace as NS

    queries = NS(capacity=5, window_ms=1000, longer=[NS(capacity=2, window_ms=10_000)])
    sent = greedy(QueryThrottle.from_config(queries), 3)
    assert sent == [0, 0, 10 * S + 1]
