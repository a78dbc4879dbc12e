"""The limits of ``rules/risk.yaml`` that watch one symbol or the whole day, beside admission.

- **Max unhedged time**: a pair that still holds shares ``max_unhedged_ms`` after its first entry
  fill is alerted once, its hedge is escalated at once (the state's own timer trigger, as the
  YAML declares it), its symbol is frozen for the session, and the engine disarms when
  ``disarm_on_max_unhedged`` says so.
- **Rejects per symbol**: ``reject_spike_per_symbol`` broker refusals inside the window raise one
  ``reject_spike`` alert per episode; ``reject_freeze_consecutive`` in a row (no fill or cancel
  between) or ``reject_freeze_count`` inside the window freeze the symbol for ``reject_freeze_ms``.
- **Daily caps**: pairs started per symbol, and the entry notional (price x quantity at admission,
  integer KRW) per symbol and over the day. Reaching one refuses further signals and alerts once.

Everything runs on the engine clock; an episode's alert is raised once, never per retry.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Callable, Sequence

from ..seoul import NS_PER_MS

if TYPE_CHECKING:
    from ..clock import Clock
    from ..config.schema.strategy import RiskFile
    from .broker_truth import BrokerTruth
    from .evaluator import Signal
    from .execution import Execution
    from .pair import Pair

Alert = Callable[..., None]         # (kind, message, facts=())


class RiskLimits:
    def __init__(self, risk: RiskFile, codes: Sequence[str], clock: Clock, ex: "Execution", truth: "BrokerTruth", *,
                 alert: Alert, kill: Callable[[str], None]) -> None:
        self.risk = risk
        self.codes = codes
        self.clock = clock
        self.ex = ex
        self.truth = truth
        self.alert = alert
        self.kill = kill
        n = len(codes)
        self.window_ns = risk.reject_freeze_window_ms * NS_PER_MS
        self._rejects: list[deque[int]] = [deque() for _ in range(n)]
        self._in_a_row = [0] * n
        self._spiking = [False] * n             # a reject-spike episode is open (alerted)
        self.pairs_started = [0] * n
        self.notional = [0] * n                 # entry notional admitted today, KRW
        self.notional_today = 0
        self._capped: set[tuple[str, int]] = set()     # (limit, sym) already alerted
        self.counters = {"max_unhedged": 0, "reject_freezes": 0, "reject_spikes": 0}

    # -- admission ----------------------------------------------------------------------------
    def refusal(self, sig: "Signal") -> str | None:
        """Why the day's caps refuse this signal (None: they admit it)."""
        sym, risk = sig.sym, self.risk
        if self.pairs_started[sym] >= risk.max_pairs_per_symbol_per_day:
            self._capped_once("max_pairs_per_symbol_per_day", sym,
                              f"{self.codes[sym]}: {self.pairs_started[sym]} pairs today "
                              f"(limit {risk.max_pairs_per_symbol_per_day}); no more on this symbol")
            return "max_pairs_per_symbol_per_day"
        value = entry_notional(sig, self.ex.legs.entry.side)
        if self.notional[sym] + value > risk.max_notional_per_symbol_krw:
            self._capped_once("max_notional_per_symbol_krw", sym,
                              f"{self.codes[sym]}: entry notional ₩{self.notional[sym]:,} + ₩{value:,} would pass "
                              f"₩{risk.max_notional_per_symbol_krw:,} today")
            return "max_notional_per_symbol_krw"
        if self.notional_today + value > risk.max_notional_per_day_krw:
            self._capped_once("max_notional_per_day_krw", -1,
                              f"entry notional ₩{self.notional_today:,} + ₩{value:,} ({self.codes[sym]}) would "
                              f"pass ₩{risk.max_notional_per_day_krw:,} today")
            return "max_notional_per_day_krw"
        return None

    def started(self, sig: "Signal") -> None:
        value = entry_notional(sig, self.ex.legs.entry.side)
        self.pairs_started[sig.sym] += 1
        self.notional[sig.sym] += value
        self.notional_today += value

    def _capped_once(self, limit: str, sym: int, message: str) -> None:
        if (limit, sym) not in self._capped:
            self._capped.add((limit, sym))
            self.alert("limit_reached", f"{limit}: {message}")

    # -- rejects per symbol -------------------------------------------------------------------
    def on_reject(self, sym: int) -> None:
        """A broker refusal of one of our orders on ``sym``."""
        now = self.clock.now_ns()
        times = self._rejects[sym]
        while times and now - times[0] >= self.window_ns:
            times.popleft()
        if not times:
            self._spiking[sym] = False          # the window emptied: a new episode may alert again
        times.append(now)
        self._in_a_row[sym] += 1
        risk, code = self.risk, self.codes[sym]
        window_s = risk.reject_freeze_window_ms / 1000
        if len(times) >= risk.reject_spike_per_symbol and not self._spiking[sym]:
            self._spiking[sym] = True
            self.counters["reject_spikes"] += 1
            self.alert("reject_spike", f"{code}: {len(times)} rejects within {window_s:g} s",
                       (code, len(times), window_s, self.ex.reject_cooldown_ms))
        if self._in_a_row[sym] >= risk.reject_freeze_consecutive or len(times) >= risk.reject_freeze_count:
            if not self.truth.frozen[sym]:
                self.counters["reject_freezes"] += 1
                self.alert("reject_freeze", f"{code}: {self._in_a_row[sym]} rejects in a row, {len(times)} within "
                                            f"{window_s:g} s; no new pairs for {risk.reject_freeze_ms / 1000:g} s")
            self.truth.freeze(sym, "rejects", for_ms=risk.reject_freeze_ms)
            self._in_a_row[sym] = 0

    def on_order_went_through(self, sym: int) -> None:
        """An order of ``sym`` filled or was cancelled: the run of rejects is broken."""
        self._in_a_row[sym] = 0

    # -- max unhedged time ----------------------------------------------------------------------
    def on_first_fill(self, pair: "Pair") -> None:
        self.clock.call_later(self.risk.max_unhedged_ms, self._unhedged_too_long, pair)

    def _unhedged_too_long(self, pair: "Pair") -> None:
        if pair.ended_ns is not None or pair.unhedged <= 0:
            return
        risk = self.risk
        self.counters["max_unhedged"] += 1
        self.alert("max_unhedged", f"pair {pair.pair_id} {pair.code}: {pair.unhedged} share(s) unhedged for "
                                   f"{risk.max_unhedged_ms} ms; escalating the hedge, symbol frozen"
                                   + ("; disarming" if risk.disarm_on_max_unhedged else ""))
        self.truth.freeze(pair.sym, "max_unhedged_ms")
        if risk.disarm_on_max_unhedged:
            self.kill(f"pair {pair.pair_id} {pair.code} unhedged for {risk.max_unhedged_ms} ms")
        timer = self.ex.state_specs[pair.state].timer
        if timer is not None:
            pair.fire(timer.trigger)            # the state's own escalation, now rather than later


def entry_notional(sig: "Signal", entry_side: str) -> int:
    """What the entry commits, KRW: the price its side takes times the slice."""
    return (sig.buy_price if entry_side == "buy" else sig.sell_price) * sig.qty
