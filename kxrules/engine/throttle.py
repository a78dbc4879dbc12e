"""Kiwoom's order budget: never more than ``capacity`` order calls in any sliding window.

Every SendOrder (new, cancel, modify) takes a slot for ``window_ms`` (+ a safety margin).
Entries may not dip into the reserve kept for cancels and hedges; a new pair may only start with
``min_free_to_start`` slots free; entries pause automatically when utilisation stays at or above
the threshold for ``sustain_ms`` (hedges and cancels go on). "Stays" is measured as the average
over the sustain period (e.g. ≥ 20 calls in the last 5 s for 80% of 5 per second), which a burst
refilling an emptied window cannot fake or reset.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable

from ..seoul import NS_PER_MS

if TYPE_CHECKING:
    from ..config.schema.strategy import ThrottleFile



class OrderThrottle:
    def __init__(self, capacity: int, window_ms: int, reserve: int, min_free_to_start: int,
                 *, safety_margin_ms: int = 0, pause_enabled: bool = True,
                 pause_utilisation: float = 0.8, pause_sustain_ms: int = 5000):
        self.capacity = capacity
        self.window_ns = (window_ms + safety_margin_ms) * NS_PER_MS
        self.reserve = reserve
        self.min_free_to_start = min_free_to_start
        self.pause_enabled = pause_enabled
        self.pause_utilisation = pause_utilisation
        self.pause_sustain_ns = pause_sustain_ms * NS_PER_MS
        self._sent: deque[int] = deque()
        self._recent: deque[int] = deque()          # calls within the sustain period
        self._hot_calls = pause_utilisation * capacity * pause_sustain_ms / window_ms
        self.paused = False
        self.max_in_window = 0
        self.on_pause_change: Callable[[bool, int], None] | None = None     # set by the engine

    @classmethod
    def from_config(cls, throttle: ThrottleFile) -> "OrderThrottle":
        o, ap = throttle.orders, throttle.auto_pause
        return cls(o.capacity, o.window_ms, o.reserve_for_hedge, o.min_free_to_start,
                   safety_margin_ms=o.safety_margin_ms, pause_enabled=ap.enabled,
                   pause_utilisation=ap.utilisation, pause_sustain_ms=ap.sustain_ms)

    def _prune(self, now_ns: int) -> None:
        sent = self._sent
        horizon = now_ns - self.window_ns
        while sent and sent[0] <= horizon:
            sent.popleft()

    def used(self, now_ns: int) -> int:
        self._prune(now_ns)
        return len(self._sent)

    def free(self, now_ns: int) -> int:
        return self.capacity - self.used(now_ns)

    def may_send(self, now_ns: int, *, urgent: bool) -> bool:
        """Urgent calls (cancel, hedge) may use every slot; entries must leave the reserve."""
        free = self.free(now_ns)
        return free >= 1 if urgent else free > self.reserve

    def may_start_pair(self, now_ns: int) -> bool:
        self.update_pause(now_ns)
        return not self.paused and self.free(now_ns) >= self.min_free_to_start

    def record(self, now_ns: int) -> None:
        self._prune(now_ns)
        self._sent.append(now_ns)
        self._recent.append(now_ns)
        if len(self._sent) > self.max_in_window:
            self.max_in_window = len(self._sent)
        self.update_pause(now_ns)

    def next_slot_ns(self, now_ns: int) -> int:
        """Earliest time a slot frees up (now if one is free)."""
        self._prune(now_ns)
        if len(self._sent) < self.capacity:
            return now_ns
        return self._sent[0] + self.window_ns + 1

    def update_pause(self, now_ns: int) -> bool | None:
        """Re-evaluate auto-pause; returns True/False when it switched on/off, else None."""
        if not self.pause_enabled:
            return None
        recent = self._recent
        horizon = now_ns - self.pause_sustain_ns
        while recent and recent[0] <= horizon:
            recent.popleft()
        hot = len(recent) >= self._hot_calls
        if hot == self.paused:
            return None
        self.paused = hot
        if self.on_pause_change is not None:
            self.on_pause_change(hot, now_ns)
        return hot
