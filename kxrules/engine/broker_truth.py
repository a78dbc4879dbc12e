"""Broker truth: the broker's account, not the engine's bookkeeping, says what is held.

Per symbol the engine believes a position (its own fills, ``Execution.position``) and the broker
reports one (balance Chejan, and the holdings TR opw00018), relative to what the account held
when the run started (the first holdings reply, taken before arming). A difference may last a
declared settling window (a balance can precede its fill; events reorder); one that outlives it
is a *position break*: recorded, alerted once, the symbol frozen for the rest of the session, its
pairs handed to the safety net, and the broker asked (holdings + open orders). When the reply
comes and the symbol has no order in flight, the broker's number is adopted and the safety net
flattens what the broker holds (never selling what it does not).

Queries are paced by the ``queries`` budget of ``rules/throttle.yaml`` (Kiwoom's TR limits),
coalesced (one reconciliation at a time, whatever the number of reasons), retried after a
declared timeout, and never sent in a tight loop. The engine asks at start (arming waits for the
answer), after a reconnect, on a suspected break and at the end of the run: the summary and the
exit code say flat only when that last answer agrees.

A round after a position break, and a resumed run's first (``trade --resume``), also ask for the
day's orders with fills (opt10076 / ka10076), so that fills the engine never heard (a Chejan lost
with a connection, an engine that died) are caught up from the broker's running totals, recorded as fills at their
price, before anything is adopted at an estimate.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..broker.errors import OP_ERR_SISE_OVERFLOW
from ..broker.events import AccountPage, BalanceUpdate, ExecutionRow, HoldingRow, OrderEvent, OpenOrderRow
from ..broker.parsing import norm_order_no
from ..seoul import NS_PER_MS

if TYPE_CHECKING:
    from ..clock import Clock, TimerHandle
    from ..config.schema.strategy import QueryBudget
    from ..storage.recorder import Recorder
    from ..storage.resume import DayOrder
    from .execution import Execution

RETRY_REFUSED_MS = 1000          # a refused request (-200, not connected) is asked again after this


class QueryThrottle:
    """At most ``capacity`` calls in every declared sliding window (Kiwoom's TR limits)."""

    def __init__(self, windows: list[tuple[int, int]]):
        self.windows = sorted((cap, ms * NS_PER_MS) for cap, ms in windows)
        self._longest = max(w for _, w in self.windows)
        self._sent: deque[int] = deque()

    @classmethod
    def from_config(cls, queries: QueryBudget) -> "QueryThrottle":
        return cls([(queries.capacity, queries.window_ms),
                    *((w.capacity, w.window_ms) for w in queries.longer)])

    def next_slot_ns(self, now_ns: int) -> int:
        """Earliest time every window has room (now if it has)."""
        sent = self._sent
        while sent and sent[0] <= now_ns - self._longest:
            sent.popleft()
        at = now_ns
        for cap, window in self.windows:
            inside = [t for t in sent if t > now_ns - window]
            if len(inside) >= cap:
                at = max(at, inside[-cap] + window + 1)
        return at

    def record(self, now_ns: int) -> None:
        self._sent.append(now_ns)


class BrokerTruth:
    def __init__(self, ex: "Execution", clock: Clock, recorder: Recorder, *, settle_ms: int,
                 queries: QueryThrottle, timeout_ms: int,
                 alert: Callable[[str, str], None], on_known: Callable[[], None] = lambda: None,
                 on_refuse: Callable[[str], None] = lambda why: None,
                 deliver: Callable[[OrderEvent], None] | None = None) -> None:
        self.ex = ex
        self.clock = clock
        self.recorder = recorder
        self.codes = ex.profile.codes
        self.index = {c: i for i, c in enumerate(self.codes)}
        n = len(self.codes)
        self.settle_ns = settle_ms * NS_PER_MS
        self.queries = queries
        self.timeout_ms = timeout_ms
        self.alert = alert
        self.on_known = on_known
        self.on_refuse = on_refuse              # the run must not arm (engine.kill)
        # a fill caught up goes where the broker's fills go (the engine: its limits see it too)
        self.deliver = deliver or ex.on_order_event
        self.known = False                     # a complete holdings reply has come
        self.baseline = [0] * n                # held when the run started
        self.held = [0] * n                    # broker's 보유수량, latest
        self.orderable = [0] * n               # broker's 주문가능수량, latest
        self.avg_price = [0] * n               # broker's 매입단가: values shares that appeared
        self.adjusted_krw = 0                  # estimated cash of the fills we never received
        self.frozen = np.zeros(n, dtype=bool)
        self._frozen_for_good: set[int] = set()      # frozen for the rest of the session
        self._thaw_at: dict[int, int] = {}           # timed freezes: when each thaws (ns)
        self.operator_frozen: set[int] = set()       # frozen by the operator until they unfreeze
        self.on_thaw: Callable[[int], None] | None = None
        self.breaks: list[dict[str, Any]] = []           # every break episode, for the summary
        self._open_breaks: dict[int, dict[str, Any]] = {}
        self._settle: dict[int, TimerHandle] = {}
        self._reasons: set[str] = set()        # why to ask (again): gathered until a round starts
        self._answering: set[str] = set()      # the reasons the round in progress answers
        self._balance_ns = [0] * n             # when each symbol's balance Chejan last came
        self._holdings_ns = 0                  # when the round's holdings reply came
        self._step: str | None = None          # "holdings" | "open_orders" | "executions" while asking
        self._pages: list[Any] = []              # the rows of the reply being read (AccountPage.rows)
        self._holdings: list[HoldingRow] = []
        self._open_orders: list[OpenOrderRow] = []
        self.day_orders: dict[str, DayOrder] = {}    # trade --resume: the day's numbered orders
        self._started_ns = 0
        self._timer: TimerHandle | None = None     # pacing or timeout timer
        self.asked_ns: int | None = None       # when the last completed reconciliation started asking
        self._preset_baseline: list[int] | None = None   # trade --resume: the day's, from the recording
        self.resuming = False                  # the first reconciliation of a resumed run is ahead
        self.counters = {"queries": 0, "refused": 0, "timeouts": 0, "over_limit": 0, "reconciliations": 0,
                         "adjustments": 0, "unknown_open_orders": 0, "fills_caught_up": 0}
        self._alerted_foreign: set[str] = set()

    def resume(self, baseline: dict[str, int], day_orders: dict[str, DayOrder]) -> None:
        """An engine restarted mid-day: the account's start is the day's, not what it holds now;
        ``day_orders`` (by the broker's number) are matched against the executions TR."""
        self._preset_baseline = [int(baseline.get(c, 0)) for c in self.codes]
        self.day_orders = {norm_order_no(no): o for no, o in day_orders.items()}
        self.resuming = True

    # -- what the broker holds, relative to the start --------------------------------------
    def broker_position(self, sym: int) -> int:
        return self.held[sym] - self.baseline[sym]

    def sellable(self, sym: int) -> int | None:
        """Shares the broker lets us sell now, above the start holdings (None: not known yet)."""
        if not self.known:
            return None
        return max(0, min(self.orderable[sym], self.held[sym] - self.baseline[sym]))

    def disagreeing(self) -> list[str]:
        """Codes whose position ours and the broker's differ now."""
        return [c for i, c in enumerate(self.codes) if self.differs(i)]

    def differs(self, sym: int) -> bool:
        return self.known and self.broker_position(sym) != self.ex.position[sym]

    # -- watching ---------------------------------------------------------------------------
    def on_balance(self, ev: BalanceUpdate) -> None:
        sym = self.index.get(ev.code)
        if sym is None:
            return
        self.held[sym], self.orderable[sym] = ev.holding_qty, ev.orderable_qty
        self.avg_price[sym] = ev.avg_price or self.avg_price[sym]
        self._balance_ns[sym] = self.clock.now_ns()
        self.watch(sym)
        self.ex.check_flat(sym)                      # what may be sold has changed

    def confirmed_since(self, t_ns: int) -> bool:
        """A complete reconciliation asked the broker after ``t_ns``."""
        return self.asked_ns is not None and self.asked_ns > t_ns

    def watch(self, sym: int) -> None:
        """After a fill or a balance: a difference starts the settling window; agreement ends it."""
        if not self.known:
            return
        if self.differs(sym):
            if sym not in self._settle:
                self._settle[sym] = self.clock.call_later(self.settle_ns / NS_PER_MS, self._settled, sym)
            return
        timer = self._settle.pop(sym, None)
        if timer is not None:
            timer.cancel()
        episode = self._open_breaks.pop(sym, None)
        if episode is not None:
            episode["resolved_ns"] = self.clock.now_ns()
            self.recorder.position_event(self.clock.now_ns(), "position_break_resolved", self.codes[sym],
                                         {"position": self.ex.position[sym]})

    def _settled(self, sym: int) -> None:
        self._settle.pop(sym, None)
        if self.differs(sym):
            self.position_break(sym, "balance")

    def position_break(self, sym: int, source: str) -> None:
        """Ours and the broker's numbers disagree past the settling window."""
        code = self.codes[sym]
        if sym not in self._open_breaks:
            episode: dict[str, Any] = {"code": code, "at_ns": self.clock.now_ns(), "engine": self.ex.position[sym],
                       "broker": self.broker_position(sym), "source": source, "resolved_ns": None}
            self._open_breaks[sym] = episode
            self.breaks.append(episode)
            self.recorder.position_event(episode["at_ns"], "position_break", code, dict(episode))
            self.alert("position_break",
                       f"{code}: engine believes {episode['engine']:+d}, broker reports "
                       f"{episode['broker']:+d} ({source}); symbol frozen, asking the broker")
            self.freeze(sym, "position break")
            self.ex.abandon_symbol(sym, "position break")
        self.request("break")

    def freeze(self, sym: int, reason: str, *, for_ms: int | None = None) -> None:
        """No new pairs on ``sym``: for the rest of the session, or ``for_ms`` (a timed freeze
        thaws on the engine clock unless a lasting freeze came meanwhile)."""
        if for_ms is None:
            self._frozen_for_good.add(sym)
        elif sym not in self._frozen_for_good:
            until = self.clock.now_ns() + for_ms * NS_PER_MS
            if until > self._thaw_at.get(sym, 0):
                self._thaw_at[sym] = until
                self.clock.call_at(until, self._thaw, sym, until)
        if not self.frozen[sym]:
            self.frozen[sym] = True
            detail = {"reason": reason} if for_ms is None else {"reason": reason, "for_ms": for_ms}
            self.recorder.position_event(self.clock.now_ns(), "symbol_frozen", self.codes[sym], detail)

    def _thaw(self, sym: int, until: int) -> None:
        if self._thaw_at.get(sym) != until or sym in self._frozen_for_good:
            return                                  # extended since, or frozen for good
        del self._thaw_at[sym]
        if sym not in self.operator_frozen:         # the operator's freeze outlasts a timed one
            self._unfreeze(sym)

    def _unfreeze(self, sym: int) -> None:
        self.frozen[sym] = False
        self.recorder.position_event(self.clock.now_ns(), "symbol_unfrozen", self.codes[sym], {})
        if self.on_thaw is not None:
            self.on_thaw(sym)

    def freeze_by_operator(self, sym: int) -> None:
        """The operator's freeze: no new pairs on ``sym`` (live pairs go on) until they unfreeze."""
        self.operator_frozen.add(sym)
        if not self.frozen[sym]:
            self.frozen[sym] = True
            self.recorder.position_event(self.clock.now_ns(), "symbol_frozen", self.codes[sym],
                                         {"reason": "operator"})

    def unfreeze_by_operator(self, sym: int) -> str | None:
        """Lift the operator's freeze; returns why the symbol stays frozen (a position break for
        the session, a reject freeze until it thaws), or None when it trades again."""
        self.operator_frozen.discard(sym)
        if sym in self._frozen_for_good:
            return "frozen for the session by the engine (a position break or max unhedged time)"
        if sym in self._thaw_at:
            return "a timed freeze of the engine holds it until it thaws"
        if self.frozen[sym]:
            self._unfreeze(sym)
        return None

    @property
    def open_breaks(self) -> list[str]:
        return [self.codes[s] for s in sorted(self._open_breaks)]

    # -- asking the broker --------------------------------------------------------------------
    def request(self, reason: str) -> None:
        """Ask for holdings + open orders (coalesced: one reconciliation at a time)."""
        self._reasons.add(reason)
        if self._step is None and self._timer is None:
            self._next_call("holdings", more=False)

    @property
    def busy(self) -> bool:
        """Asking, about to ask, or watching a difference settle."""
        return self._step is not None or self._timer is not None or bool(self._reasons) or bool(self._settle)

    def _next_call(self, kind: str, *, more: bool) -> None:
        now = self.clock.now_ns()
        at = self.queries.next_slot_ns(now)
        if at > now:
            self._timer = self.clock.call_at(at, self._paced, kind, more)
            return
        self._call(kind, more, now)

    def _paced(self, kind: str, more: bool) -> None:
        self._timer = None
        self._next_call(kind, more=more)

    def _call(self, kind: str, more: bool, now: int) -> None:
        if not more:
            self._pages = []
            if kind == "holdings":
                self._started_ns = now
                self._answering, self._reasons = self._reasons, set()
        self._step = kind
        self.queries.record(now)
        self.counters["queries"] += 1
        self._timer = self.clock.call_later(self.timeout_ms, self._timed_out, kind)
        rc = self.ex.adapter.request_account(kind, more=more)
        if rc != 0 and self._step == kind and self._timer is not None:
            self._refused(kind, rc)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _refused(self, kind: str, rc: int = 0) -> None:
        self.counters["refused"] += 1
        if rc == OP_ERR_SISE_OVERFLOW:
            self.counters["over_limit"] += 1           # our pacing let one too many through
        self._cancel_timer()
        self._step = None
        if self.ex.connected:
            self._timer = self.clock.call_later(RETRY_REFUSED_MS, self._paced, "holdings", False)

    def _timed_out(self, kind: str) -> None:
        self._timer = None
        self._step = None
        self.counters["timeouts"] += 1
        self.recorder.position_event(self.clock.now_ns(), "query_timeout", None, {"tr": kind})
        if self.ex.connected:
            self._next_call("holdings", more=False)

    def on_connected(self, connected: bool) -> None:
        if connected:
            self.request("login")
        else:
            self._cancel_timer()
            self._step = None

    def on_account(self, page: AccountPage) -> None:
        if page.kind != self._step:
            return                                   # a late reply to a request given up on
        if page.rc != 0:
            self._refused(page.kind, page.rc)
            return
        self._cancel_timer()
        self._pages.extend(page.rows)
        if page.more:
            self._next_call(page.kind, more=True)
        elif page.kind == "holdings":
            self._holdings = self._pages
            self._holdings_ns = self.clock.now_ns()
            self._next_call("open_orders", more=False)
        elif page.kind == "open_orders" and (self.resuming or self._open_breaks):
            # fills may have gone unheard: ask for the day's orders with fills too (a third TR
            # only then: Kiwoom's longer query windows would run dry with it in every round)
            self._open_orders = self._pages
            self._next_call("executions", more=False)
        else:
            self._step = None
            if page.kind == "executions":
                self._reconcile(self._holdings, self._open_orders, self._pages)
            else:
                self._reconcile(self._holdings, self._pages, [])

    # -- reconciling --------------------------------------------------------------------------
    def _reconcile(self, holdings: list[HoldingRow], open_orders: list[OpenOrderRow],
                   executions: list[ExecutionRow]) -> None:
        now = self.clock.now_ns()
        reasons, self._answering = self._answering, set()
        self.counters["reconciliations"] += 1
        held = [0] * len(self.codes)
        orderable = [0] * len(self.codes)
        for row in holdings:
            sym = self.index.get(row.code)
            if sym is not None:
                held[sym], orderable[sym] = row.qty, row.orderable
                self.avg_price[sym] = row.avg_price or self.avg_price[sym]
        if not self.known:
            self.known = True
            self.baseline = list(held) if self._preset_baseline is None else list(self._preset_baseline)
            self.recorder.position_event(now, "account_baseline", None, {
                "holdings": {self.codes[i]: q for i, q in enumerate(self.baseline) if q},
                "resumed": self._preset_baseline is not None})
            self.on_known()
        for sym in range(len(self.codes)):
            if self.known and self._balance_ns[sym] > self._holdings_ns:
                held[sym], orderable[sym] = self.held[sym], self.orderable[sym]   # a newer balance
        self.held, self.orderable = held, orderable
        self._catch_up(executions)
        self._settle_orders(open_orders)
        adjusted = self._resumed(open_orders) if self.resuming else {}
        for sym in range(len(self.codes)):
            if not self.differs(sym):
                self.watch(sym)
                continue
            if sym not in self._open_breaks and sym not in self._settle:
                self._settle[sym] = self.clock.call_later(self.settle_ns / NS_PER_MS, self._settled, sym)
                continue
            if sym in self._open_breaks and not self.ex.orders_in_flight(sym):
                adjusted[self.codes[sym]] = self.adopt(sym)
        self.asked_ns = self._started_ns
        self.recorder.position_event(now, "reconciled", None, {
            "reasons": sorted(reasons), "adjusted": adjusted,
            "open_orders": len(open_orders),
            "broker": {self.codes[i]: self.broker_position(i) for i in range(len(self.codes))
                       if self.broker_position(i)}})
        if self._open_breaks:
            self.request("break")                    # orders still in flight: look again, paced
        elif self._reasons:
            self.request(next(iter(self._reasons)))  # asked for while this round was under way
        for sym in range(len(self.codes)):
            self.ex.check_flat(sym)                  # the safety net acts on what the broker said

    def _settle_orders(self, open_orders: list[OpenOrderRow]) -> None:
        """Orders we could not account for, against the broker's open orders."""
        open_ids = {row.client_id for row in open_orders if row.client_id}
        for row in open_orders:
            if row.client_id is None and row.order_no not in self._alerted_foreign:
                self._alerted_foreign.add(row.order_no)
                self.counters["unknown_open_orders"] += 1
                self.alert("unknown_open_order",
                           f"order {row.order_no} ({row.code} {row.side} {row.leaves}/{row.qty}) "
                           f"is open at the broker but not ours: check other terminals")
        horizon = self._started_ns - self.settle_ns
        for sym in sorted({rec.sym for rec in self.ex.unaccounted(open_ids, horizon)}):
            if self.differs(sym):
                # an order ended unseen (its Chejan lost, say with a gateway) and the account
                # moved: what it did is in the holdings, now; no settling window brings more
                self.position_break(sym, "orders ended unseen")
        self.ex.settle_unaccounted(open_ids, horizon)

    def _catch_up(self, executions: list[ExecutionRow]) -> None:
        """Fills of our orders the engine never heard, from the broker's running totals: this
        run's orders, and (``trade --resume``) the day's orders of the runs before."""
        caught: dict[str, int] = {}
        ours = self.ex.numbered_orders()
        known = {**{no: o.client_id for no, o in self.day_orders.items()}, **ours}
        ours.update(self.ex.learn_numbers([row for row in executions if row.order_no not in known], known))
        for row in executions:
            day = self.day_orders.get(row.order_no)
            client_id = ours.get(row.order_no) or (day.client_id if day is not None else None)
            if client_id is None:
                continue                             # not ours (another terminal's order)
            qty = self.ex.catch_up(row, client_id, day, self.deliver)
            if qty:
                caught[client_id] = qty
        if caught:
            self.counters["fills_caught_up"] += len(caught)
            self.recorder.position_event(self.clock.now_ns(), "fills_caught_up", None, {"orders": caught})

    def _resumed(self, open_orders: list[OpenOrderRow]) -> dict[str, int]:
        """The first answer after ``--resume``: what the dead engine's records cannot explain
        stops the run from arming; differences it can (fills that came while no engine was
        there) are adopted at once; its orders still open are cancelled."""
        self.resuming = False
        short = [c for i, c in enumerate(self.codes) if self.held[i] < self.baseline[i]]
        foreign = sorted({row.code for row in open_orders if row.client_id is None and row.code in self.index})
        for i, c in enumerate(self.codes):
            if c in short:
                self.baseline[i] = self.held[i]     # not ours to buy back: the run will not arm
                self.freeze(i, "resume: the account holds less than the day began with")
        if short or foreign:
            why = "; ".join(filter(None, [
                f"the account holds less than the day began with in {', '.join(short)}" if short else "",
                f"open orders that are not ours in {', '.join(foreign)}" if foreign else ""]))
            self.recorder.position_event(self.clock.now_ns(), "resume_refused", None, {"why": why})
            self.on_refuse(f"resume refused: {why}")
        adjusted = {}
        for sym in range(len(self.codes)):
            if self.differs(sym) and not self.ex.orders_in_flight(sym):
                adjusted[self.codes[sym]] = self.adopt(sym, "while no engine was running")
        self.ex.cancel_adopted()
        return adjusted

    def adopt(self, sym: int, reason: str = "position break") -> int:
        """The broker's number becomes the engine's: record the adjustment, flatten by it. The
        fills we never received are valued (an estimate): shares that appeared at the broker's
        average price, shares that vanished at our last fill price."""
        theirs, ours = self.broker_position(sym), self.ex.position[sym]
        delta = theirs - ours
        last = self.ex.last_price[sym]
        mark = (self.avg_price[sym] or last) if delta > 0 else (last or self.avg_price[sym])
        cash = -delta * mark
        self.counters["adjustments"] += 1
        self.adjusted_krw += cash
        self.recorder.position_event(self.clock.now_ns(), "position_adjusted", self.codes[sym],
                                     {"engine": ours, "broker": theirs, "mark_price": mark,
                                      "estimated_cash_krw": cash, "reason": reason})
        self.ex.adopt_position(sym, theirs, cash)
        self.watch(sym)
        return theirs - ours

    # -- the end --------------------------------------------------------------------------------
    def positions_left(self) -> dict[str, int]:
        """Non-zero positions per code, by the broker's account (the engine's where unknown)."""
        if not self.known:
            return {self.codes[i]: q for i, q in enumerate(self.ex.position) if q}
        return {self.codes[i]: self.broker_position(i) for i in range(len(self.codes))
                if self.broker_position(i)}
