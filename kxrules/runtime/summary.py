"""The end-of-run paragraph: what the operator reads first (and cron mails)."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from collections import Counter
from dataclasses import asdict, dataclass, field

import numpy as np

from ..broker.server import describe
from ..seoul import NS_PER_MS

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile
    from ..engine.engine import Engine

WINDOW_NS = 1_000 * NS_PER_MS


def max_calls_in_window(sent_ns: list[int], window_ns: int = WINDOW_NS) -> int:
    """Largest number of calls inside any window of ``window_ns`` (half-open, sliding)."""
    times = np.sort(np.asarray(sent_ns, dtype=np.int64))
    if times.size == 0:
        return 0
    ends = np.searchsorted(times, times + window_ns, side="left")
    return int((ends - np.arange(times.size)).max())


@dataclass
class RunSummary:
    run_id: int
    profile: str
    source: str
    quotes: int
    signals: int
    refused: dict[str, Any]
    pairs: int
    pairs_done: int
    pairs_by_state: dict[str, Any]
    fills: int
    gross_krw: int
    fees_krw: int
    tax_krw: int
    net_krw: int
    rejects: int
    ack_timeouts: int
    max_orders_per_s: int
    unhedged_ms_p50: float | None
    unhedged_ms_p95: float | None
    unhedged_ms_max: float | None
    ioc_hedges: int
    positions_left: dict[str, Any] = field(default_factory=dict)   # by the broker's account when it answered
    killed: str | None = None
    flat: bool = True                  # the broker's account, asked after the last order, holds nothing of ours
    ended_normally: bool = True
    broker_confirmed: bool = False     # that last question was answered
    position_breaks: list[str] = field(default_factory=list)   # codes whose position broke (see events)
    unresolved_breaks: list[str] = field(default_factory=list)
    pairs_abandoned: int = 0
    adjusted_krw: int = 0              # estimated cash of fills we never received (in net_krw)
    server: str | None = None          # paper | real | sim (the emulator, unchecked); None: no login
    muted: dict[str, Any] = field(default_factory=dict)   # code -> why it was muted (the broker's master data …)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def paragraph(self) -> str:
        states = ", ".join(f"{n} {s.lower()}" for s, n in sorted(self.pairs_by_state.items()))
        unhedged = ("no pair held a position" if self.unhedged_ms_max is None else
                    f"time unhedged p50 {self.unhedged_ms_p50:,.0f} ms / p95 {self.unhedged_ms_p95:,.0f} ms / "
                    f"max {self.unhedged_ms_max:,.0f} ms")
        if self.flat:
            flat = "flat on every symbol (the broker's account agrees)"
        elif self.positions_left:
            flat = "NOT FLAT by the broker's account: " + ", ".join(
                f"{c} {q:+d}" for c, q in self.positions_left.items())
        else:
            flat = "NOT CONFIRMED flat: the broker's account did not answer after the last order"
        if self.position_breaks:
            flat += (f"; {len(self.position_breaks)} position break(s) on {', '.join(sorted(set(self.position_breaks)))}"
                     + (f", still open on {', '.join(self.unresolved_breaks)}" if self.unresolved_breaks
                        else ", each settled by the broker's numbers"))
        if self.pairs_abandoned:
            flat += f"; {self.pairs_abandoned} pair(s) abandoned to the safety net"
        refused = sum(self.refused.values())
        return (f"Run {self.run_id} ({self.profile}, {self.source}, server {describe(self.server)}): "
                f"{self.quotes:,} quotes, "
                f"{self.signals:,} signals ({refused:,} refused), {self.pairs:,} pairs "
                f"({states or 'none'}), {self.fills:,} fills. Net PnL ₩{self.net_krw:,} = gross "
                f"₩{self.gross_krw:,} - fees ₩{self.fees_krw:,} - tax ₩{self.tax_krw:,}"
                + (f" {'+' if self.adjusted_krw >= 0 else '-'} ₩{abs(self.adjusted_krw):,} estimated for fills "
                   f"never received (positions adjusted to the broker's)" if self.adjusted_krw else "") + ". "
                f"{self.rejects:,} rejects, {self.ack_timeouts:,} ack timeouts, {self.ioc_hedges:,} IOC hedges, "
                f"max {self.max_orders_per_s} order calls in any second; {unhedged}; {flat}."
                + (f" Disarmed early: {self.killed}." if self.killed and not self.ended_normally else "")
                + (" Muted: " + ", ".join(f"{c} ({r})" for c, r in self.muted.items()) + "." if self.muted else ""))


def summarise(engine: Engine, profile: CompiledProfile, source: str, run_id: int) -> RunSummary:
    ex, truth = engine.execution, engine.truth
    assert ex is not None and truth is not None, "summarise an attached engine"
    done = ex.pairs_done
    unhedged = [p.unhedged_ms for p in done if p.unhedged_ms is not None]
    sent = [o.sent_ns for o in ex.orders.values() if o.sent_ns]
    fills = sum(o.fills for o in ex.orders.values())
    confirmed = bool(truth.known and truth.confirmed_since(ex.last_activity_ns))
    left = truth.positions_left()
    open_breaks = truth.open_breaks or truth.disagreeing()
    live = sum(len(v) for v in ex.active.values())
    orders = list(ex.orders.values())
    gross = sum(o.value if o.side == "sell" else -o.value for o in orders)
    fees = sum(o.fees for o in orders)
    tax = sum(o.tax for o in orders)
    killed = engine.guard.killed
    risk_kill = killed is not None and bool(killed) and not killed.startswith(("end of market data", "wind-down"))
    return RunSummary(
        run_id=run_id, profile=profile.name, source=source, quotes=engine.stats["quotes"],
        signals=engine.stats["signals"], refused=dict(engine.stats["refused"]), pairs=len(done) + live,
        pairs_done=sum(1 for p in done if p.state == "PAIRED_DONE"),
        pairs_by_state=dict(Counter(p.state for p in done)) | ({"LIVE": live} if live else {}),
        fills=fills, gross_krw=gross, fees_krw=fees, tax_krw=tax, net_krw=gross - fees - tax + truth.adjusted_krw,
        rejects=ex.counters["rejects"], ack_timeouts=ex.counters["ack_timeouts"],
        max_orders_per_s=max_calls_in_window(sent),
        unhedged_ms_p50=float(np.percentile(unhedged, 50)) if unhedged else None,
        unhedged_ms_p95=float(np.percentile(unhedged, 95)) if unhedged else None,
        unhedged_ms_max=float(max(unhedged)) if unhedged else None,
        ioc_hedges=sum(1 for p in done if p.used_ioc), positions_left=left, killed=killed,
        flat=confirmed and not left and not open_breaks, ended_normally=not risk_kill and live == 0,
        broker_confirmed=confirmed, adjusted_krw=truth.adjusted_krw, position_breaks=[b["code"] for b in truth.breaks],
        unresolved_breaks=open_breaks, pairs_abandoned=ex.counters["abandoned"],
        server=engine.server,
        muted={profile.codes[sym]: reason for sym, reason in sorted(engine.guard.mute_reasons.items())},
    )
