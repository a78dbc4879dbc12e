"""The engine: one thread, one clock. Quotes in → batch → rules → admission → pairs → orders.

It implements the broker adapter's listener. A quote that changes a top of book and leaves its
symbol crossed marks it dirty and wakes the engine: one batch runs as soon as the engine is idle
(a timer due now, which runs after the events already queued for this instant), so a burst of
quotes is evaluated once and a lone quote at once. ``batch_interval_ms`` bounds the coalescing: a
batch pending that long runs inside the next quote's callback. Each batch evaluates the compiled
rules over the dirty, armed, not-cooling symbols; admission applies the risk caps and the order
budget; admitted signals start a pair on the compiled state machine.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from ..broker.events import (AccountPage, BalanceUpdate, BrokerAdapter, ConnectionEvent, MasterStateEvent,
                             OrderCancelled, OrderEvent, OrderFilled, OrderRejected, SessionEvent, ViEvent)
from ..broker.server import LIVE_SERVERS, SIM, mismatch
from ..money.fees import liquidity_of
from ..seoul import NS_PER_MS
from .broker_truth import BrokerTruth, QueryThrottle
from .evaluator import RuleEvaluator, Signal, SignalBatch
from .gates import Gates
from .execution import AlertSink, Execution
from .guard import SessionGuard
from .limits import RiskLimits
from .quotebook import QuoteBook
from .telemetry import Telemetry
from .throttle import OrderThrottle

if TYPE_CHECKING:
    from ..clock import Clock, TimerHandle
    from ..config.compile import CompiledProfile
    from ..config.schema.machine import Legs
    from ..storage.recorder import Recorder
    from ..storage.resume import ResumePoint

NS_PER_MIN = 60_000 * NS_PER_MS


def leg_liquidity(legs: Legs) -> tuple[dict[str, str], dict[str, str]]:
    """(buy leg, sell leg) fee schedules per venue: the rules cost each leg as the order style
    it sends at that venue will pay."""
    entry = {v: liquidity_of(s) for v, s in legs.entry.styles().items()}
    hedge = {v: liquidity_of(s) for v, s in legs.hedge.styles().items()}
    return (entry, hedge) if legs.entry.side == "buy" else (hedge, entry)


class Engine:
    def __init__(self, profile: CompiledProfile, clock: Clock, recorder: Recorder, telemetry: Telemetry, *,
                 on_alert: AlertSink | None = None) -> None:
        self.profile = profile
        self.clock = clock
        self.recorder = recorder
        self.telemetry = telemetry
        self.on_alert = on_alert
        n = len(profile.codes)
        self.index = {c: i for i, c in enumerate(profile.codes)}
        self.book = QuoteBook(n)
        self.evaluator = RuleEvaluator(self.book, profile.cost, profile.rules, profile.params, profile.market_idx,
                                       leg_liquidity(profile.machine.legs),
                                       miss_cooldown_ms=profile.edge.cooldown_ms)
        self.guard = SessionGuard(profile.sessions, profile.calendar, profile.run_date, n)
        self.throttle = OrderThrottle.from_config(profile.throttle)
        self.throttle.on_pause_change = self._pause_changed
        self.batch_ns = round(profile.edge.batch_interval_ms * NS_PER_MS)
        self.max_pairs = np.minimum(profile.params["max_outstanding_pairs"],
                                    profile.risk.max_outstanding_pairs_per_symbol)
        self.record_quotes = profile.profile.recording.quotes
        self.execution: Execution | None = None
        self.truth: BrokerTruth | None = None
        self.limits: RiskLimits | None = None
        # what keeps each symbol from new pairs now, built by attach() (the arrays are their owners'
        # own, read at each batch); a miss's cooldown is the evaluator's next_eligible_ns
        self.gates: Gates | None = None
        self._batch_timer: TimerHandle | None = None
        self._batch_woken_ns = 0            # when the pending batch was asked for
        # the fast replay brings the book up to a batch's time before it runs (None: the book is
        # always current, as on the faithful path and live)
        self.sync_book: Callable[[int], bool] | None = None
        self._reject_times: list[int] = []
        self._reconnect_timer: TimerHandle | None = None
        self.reconnect_ms = profile.risk.timings.reconnect_ms
        self.stopping = False
        # paper or real: what the profile declares (None: the emulator, not checked) and where this
        # run trades: the broker's login answer, or "sim" for an emulator nothing was declared for
        declared = profile.profile.server
        self.expected_server: str | None = declared if declared in LIVE_SERVERS else None
        self.server: str | None = None
        self.stats: dict[str, Any] = {"quotes": 0, "batches": 0, "signals": 0, "admitted": 0, "refused": {}}

    def attach(self, adapter: BrokerAdapter) -> Execution:
        self.execution = Execution(self.profile, self.clock, adapter, self.throttle, self.recorder,
                                   self.telemetry, on_alert=self.on_alert)
        self.execution.evaluator = self.evaluator
        queries = self.profile.throttle.queries
        self.truth = BrokerTruth(self.execution, self.clock, self.recorder,
                                 settle_ms=self.profile.risk.position_settle_ms,
                                 queries=QueryThrottle.from_config(queries), timeout_ms=queries.timeout_ms,
                                 alert=self._alert, on_known=self._account_known, on_refuse=self.kill,
                                 deliver=self.on_order_event)
        self.execution.truth = self.truth
        guard = self.guard
        self.gates = Gates(guard.muted, guard.operator_muted, self.truth.frozen, self.execution.live_count,
                            self.max_pairs)
        self.limits = RiskLimits(self.profile.risk, self.profile.codes, self.clock, self.execution, self.truth,
                                 alert=self._alert, kill=self.kill)
        self.execution.on_first_fill = self.limits.on_first_fill
        # every way a symbol becomes eligible again re-evaluates its standing book
        self.execution.on_cooled = self._eligible_at
        self.execution.on_clip_done = self._eligible_now
        self.truth.on_thaw = self._eligible_now
        self.clock.call_at(self.guard.window_start_ns, self._eligible_now, None)     # arming
        self.clock.call_at(self.guard.window_end_ns, self._window_closed)
        return self.execution

    def _window_closed(self) -> None:
        """The guard window's end: no new pairs (``guard.armed``), and nothing of ours rests past
        it. NXT keeps orders live into its after-market and KRX holds them for its closing
        auction, so a resting hedge would trade there, unwatched: cancel it now, while the
        pair's machine can still escalate before the venues close."""
        ex = self.execution
        if ex is None or self.stopping:
            return
        cancelled = ex.cancel_resting()
        self.recorder.window_closed(self.clock.now_ns(), cancelled)

    def resume(self, point: ResumePoint) -> None:
        """Take over from an engine that died (``trade --resume``; storage/resume.py): its belief,
        its unfinished orders and the day's account baseline. The first answer from the broker's
        account then adopts what came while no engine ran, or refuses to arm."""
        ex, truth = self.execution, self.truth
        assert ex is not None and truth is not None, "attach() first"
        codes = self.profile.codes
        ex.position = [int(point.positions.get(c, 0)) for c in codes]
        ex.last_price = [int(point.last_price.get(c, 0)) for c in codes]
        ex._seq = max(ex._seq, point.last_seq)
        ex.adopt_orders(point.orders)
        truth.resume(point.baseline, point.day_orders)
        self.recorder.position_event(self.clock.now_ns(), "resumed", None, {
            "from_run": point.run_id, "status": point.status, "positions": point.positions,
            "baseline": point.baseline, "orders": [o.client_id for o in point.orders]})
        self._alert("resumed", f"resuming after run {point.run_id} ({point.status}): "
                               f"{len(point.orders)} unfinished order(s), positions "
                               f"{point.positions or 'none'}; the broker's account decides before arming")

    def _account_known(self) -> None:
        self.guard.account_known = True
        self._eligible_now(None)

    # -- every edge seen: a symbol that becomes eligible is evaluated against its standing book ------
    def _eligible_now(self, sym: int | None) -> None:
        """``sym`` (None: every symbol) may trade again: look at its book in the next batch."""
        if self.stopping:
            return
        self.book.touch(np.arange(self.book.n) if sym is None else sym, self.clock.now_ns())
        self.wake()

    def rearm(self, sym: int | None = None) -> None:
        """The operator armed the engine (None) or unmuted ``sym``: look at the standing books."""
        self._eligible_now(sym)

    def _eligible_at(self, sym: int, until_ns: int) -> None:
        """A cooldown ends at ``until_ns``: evaluate the symbol then."""
        self.clock.call_at(until_ns, self._cooldown_over, sym, until_ns)

    def _cooldown_over(self, sym: int, until_ns: int) -> None:
        if self.evaluator.next_eligible_ns[sym] <= until_ns:      # not extended since
            self._eligible_now(sym)

    def _pause_changed(self, paused: bool, now_ns: int) -> None:
        self.recorder.auto_pause(now_ns, paused)
        if not paused:
            self._eligible_now(None)          # entries resume: every standing gap is looked at
        t = self.throttle
        hot, sustain_ms = t.pause_utilisation, t.pause_sustain_ns // NS_PER_MS
        self._alert("auto_pause_on" if paused else "auto_pause_off",
                    f"order budget at or above {hot:.0%} for {sustain_ms / 1000:g} s: new entries paused" if paused
                    else f"order budget back below {hot:.0%}: entries resume", (hot, sustain_ms))

    def _alert(self, kind: str, message: str, facts: tuple[Any, ...] = ()) -> None:
        """A red flag: recorded, and handed to the operator's channel (``on_alert(kind, ts_ns,
        message, facts)``: the channel formats it off this thread)."""
        now = self.clock.now_ns()
        self.recorder.alert(now, kind, message)
        if self.on_alert:
            self.on_alert(kind, now, message, facts)

    def alert(self, kind: str, message: str) -> None:
        """News from the host (a gateway restarted): recorded and sent like the engine's own."""
        self._alert(kind, message)

    # -- market data (hot path) ------------------------------------------------------------------
    def on_quote(self, sym: int, venue: int, bid: int, ask: int, bid_qty: int, ask_qty: int, ts_ns: int) -> None:
        self.stats["quotes"] += 1
        if self.book.update(sym, venue, bid, ask, bid_qty, ask_qty, ts_ns):
            if self.record_quotes:
                self.recorder.quote(ts_ns, sym, venue, bid, ask, bid_qty, ask_qty)
            if self.book.any_dirty:
                self.wake()

    def wake(self) -> None:
        """Evaluate as soon as the engine is idle; a batch asked for ``batch_interval_ms`` ago and
        still waiting behind a stream of events runs now (the bound on coalescing)."""
        now = self.clock.now_ns()
        if self._batch_timer is None:
            self._batch_timer = self.clock.call_at(now, self.run_batch)
            self._batch_woken_ns = now
        elif now - self._batch_woken_ns >= self.batch_ns:
            self._batch_timer.cancel()
            self.run_batch()

    def run_batch_idle(self) -> None:
        """``wake()`` from a host whose clock has just run everything due by now: the batch
        ``wake()`` would schedule for now is the next thing to run, so it runs at once (without
        a timer: the fast replay's windows)."""
        if self._batch_timer is None:
            self.run_batch()
        else:
            self.wake()

    def run_batch(self) -> SignalBatch | None:
        now = self.clock.now_ns()
        if self.sync_book is not None:
            self.sync_book(now)
        self._batch_timer = None
        self.stats["batches"] += 1
        gates = self.gates
        if gates is None or not self.guard.armed(now):
            self.book.take_dirty()
            return None
        batch = self.evaluator.evaluate(now, gates)
        for sym in self.evaluator.cooled:                                         # a miss cooled it
            self._eligible_at(sym, int(self.evaluator.next_eligible_ns[sym]))
        if batch is not None:
            self._admit(batch, now)
        return batch

    # -- admission -----------------------------------------------------------------------------
    def refusal(self, sig: Signal, now: int) -> str | None:
        ex, limits = self.execution, self.limits
        assert ex is not None and limits is not None, "attach() first"
        risk = self.profile.risk
        live = ex.active.get(sig.sym, [])
        if len(live) >= self.max_pairs[sig.sym]:     # an earlier signal of this batch took the slot
            return "max_outstanding_pairs"
        if not live and ex.busy_symbols() >= risk.max_active_symbols:
            return "max_active_symbols"
        if sig.sym in ex.flattening:
            return "flattening"
        capped = limits.refusal(sig)
        if capped is not None:
            return capped
        if ex.legs.entry.side == "sell" and self.evaluator.sellable[sig.sell_venue, sig.sym] < sig.qty:
            return "sellable_qty"
        if not self.throttle.may_start_pair(now):        # re-evaluates the auto-pause first
            return "auto_pause" if self.throttle.paused else "throttle"
        return None

    def _admit(self, batch: SignalBatch, now: int) -> None:
        """Admission in signal order; every signal is recorded with its pair or its refusal."""
        ex, limits = self.execution, self.limits
        assert ex is not None and limits is not None, "attach() first"
        n = len(batch)
        self.stats["signals"] += n
        refused = self.stats["refused"]
        reasons: list[str | None] = [None] * n
        pair_ids: list[int | None] = [None] * n
        rows = batch.rows.tolist()          # one conversion serves admission and the recorder
        for i, row in enumerate(rows):
            sig = Signal.from_row(row)
            reason = self.refusal(sig, now)
            if reason is None:
                limits.started(sig)
                pair_ids[i] = ex.start_pair(sig).pair_id
                self.stats["admitted"] += 1
            else:
                refused[reason] = refused.get(reason, 0) + 1
                reasons[i] = reason
        self.telemetry.signals(now, batch.quote_ts_ns)
        self.recorder.signals(now, rows, reasons, pair_ids)

    # -- broker events -------------------------------------------------------------------------
    def on_order_event(self, ev: OrderEvent) -> None:
        ex, limits = self.execution, self.limits
        assert ex is not None and limits is not None, "attach() first"
        rec = ex.orders.get(ev.client_id)
        ex.on_order_event(ev)
        if isinstance(ev, OrderRejected) and ev.stage != "send":
            self._note_reject(self.clock.now_ns())     # broker refusals, not our own send errors
        # per symbol: refusals of orders (a cancel refused because its order filled is no sign)
        if rec is not None and rec.role != "cancel":
            if isinstance(ev, OrderRejected) and ev.stage != "send":
                limits.on_reject(rec.sym)
            elif isinstance(ev, (OrderFilled, OrderCancelled)):
                limits.on_order_went_through(rec.sym)
        self._check_loss(ex)

    def _note_reject(self, now: int) -> None:
        """The reject-storm kill switch: all symbols together (one symbol's spike: limits.py)."""
        self._reject_times = [t for t in self._reject_times if now - t < NS_PER_MIN] + [now]
        limit = self.profile.risk.max_rejects_per_minute
        if len(self._reject_times) > limit:
            self.kill(f"{len(self._reject_times)} rejects within a minute (limit {limit})")

    def _check_loss(self, ex: Execution) -> None:
        net = ex.realised_krw
        if net < -self.profile.risk.max_daily_loss_krw:
            self.kill(f"session net PnL ₩{net:,} below -₩{self.profile.risk.max_daily_loss_krw:,}")

    def on_balance(self, ev: BalanceUpdate) -> None:
        self.recorder.balance(ev)
        if self.truth is not None:
            self.truth.on_balance(ev)

    def on_account(self, page: AccountPage) -> None:
        if self.truth is not None:
            self.truth.on_account(page)

    def on_session(self, ev: SessionEvent) -> None:
        changed = self.guard.on_fid215(ev.code215)
        self.recorder.session_event(ev, changed)
        if changed is not None and changed[1] == "open":
            self._eligible_now(None)          # a venue (re)opened: standing gaps may trade now

    def on_vi(self, ev: ViEvent) -> None:
        sym = self.index.get(ev.code)
        if sym is None:
            return
        self.guard.on_vi(sym, ev.active)
        if not ev.active:
            self._eligible_now(sym)
        self.recorder.vi_event(ev)
        if ev.active:
            self._alert("vi", f"VI on {ev.code}: muted on both venues")

    def on_master_state(self, ev: MasterStateEvent) -> None:
        """At login, the broker's master data for a code: a restricted name (거래정지, 정리매매,
        관리종목, 투자위험/경고) is muted for the day, with the reason recorded and alerted once."""
        sym = self.index.get(ev.code)
        if sym is None or not ev.restrictions:
            return
        reason = "/".join(ev.restrictions)
        if self.mute(sym, reason, source="broker master data"):
            name = self.profile.symbols[sym].name
            self._alert("symbol_muted", f"{ev.code} {name}: {reason} by the broker's master data; muted for the "
                                        f"day", (ev.code, name, reason))

    def mute(self, sym: int, reason: str, *, source: str) -> bool:
        """No new pairs on ``sym`` (live pairs finish as their machine says); recorded as a
        ``symbol_muted`` event with its reason and source. False if it was already muted."""
        if not self.guard.mute(sym, reason):
            return False
        self.recorder.mute_event(self.clock.now_ns(), "symbol_muted", self.profile.codes[sym],
                                     {"reason": reason, "source": source})
        return True

    def unmute(self, sym: int, *, source: str) -> bool:
        """Lift a mute with a reason; recorded as ``symbol_unmuted``."""
        reason = self.guard.mute_reasons.get(sym)
        if not self.guard.unmute(sym):
            return False
        self.recorder.mute_event(self.clock.now_ns(), "symbol_unmuted", self.profile.codes[sym],
                                     {"reason": reason, "source": source})
        self._eligible_now(sym)
        return True

    def on_connection(self, ev: ConnectionEvent) -> None:
        was = self.guard.connected
        self.guard.connected = ev.connected
        self.recorder.connection_event(ev)
        if ev.connected:
            self._check_server(ev)
        ex, truth = self.execution, self.truth
        if ex is not None and truth is not None:
            ex.set_connected(ev.connected)
            truth.on_connected(ev.connected)
        if not ev.connected:
            if was:
                self._alert("disconnect", f"broker disconnected (code {ev.err_code}): disarmed")
                # quotes stop and go stale: trade nothing until both venues quote again
                for arr in (self.book.bid, self.book.ask, self.book.bid_qty, self.book.ask_qty):
                    arr[:] = 0
            if self._reconnect_timer is None and not self.stopping:
                self._reconnect_timer = self.clock.call_later(self.reconnect_ms, self._reconnect)
        elif ex is not None:
            for sym in range(len(self.profile.codes)):
                ex.check_flat(sym)

    def _check_server(self, ev: ConnectionEvent) -> None:
        """Arm only on the server the profile declares: a mismatch disarms for the whole run (the
        kill switch makes the exit 1) and says why, once."""
        server = ev.server if self.expected_server is not None else SIM
        if server is not None and server != self.server:
            self.server = server
            self.recorder.run_server(server)
        if self.expected_server is None or ev.server == self.expected_server:
            self.guard.server_ok = True
            return
        self.guard.server_ok = False
        if self.guard.killed is None:
            reason = mismatch(self.expected_server, ev.server, ev.raw.get("server_gubun"))
            self._alert("server_mismatch", reason)
            self.kill(reason)

    def _reconnect(self) -> None:
        self._reconnect_timer = None
        if not self.guard.connected and not self.stopping and self.execution is not None:
            self.execution.adapter.connect()

    # -- operator controls ---------------------------------------------------------------------
    def kill(self, reason: str, *, trip: bool = True) -> None:
        """Disarm for the rest of the run. ``trip=False``: the day's normal end (the market data
        or the session is over): recorded like a trip, but no red flag for the operator's channel."""
        if self.guard.killed is None:
            self.guard.kill(reason)
            if trip:
                self._alert("kill_switch", f"disarmed: {reason}")
            else:
                self.recorder.alert(self.clock.now_ns(), "kill_switch", f"disarmed: {reason}")

    def wind_down(self, reason: str = "wind-down requested") -> None:
        """Disarm, cancel what rests, and let the pairs' machines flatten what is held."""
        self.kill(reason, trip=False)
        ex = self.execution
        if ex is None:
            return
        for pairs in list(ex.active.values()):
            for pair in list(pairs):
                # expedite the state's own timer: the YAML says how each state escalates
                timer = ex.state_specs[pair.state].timer
                if timer is not None:
                    pair.fire(timer.trigger)
        for sym in range(len(self.profile.codes)):
            ex.check_flat(sym)

    def idle(self) -> bool:
        """Nothing in flight (no live pair, no live order, no pending urgent send) and the broker
        asked since the last fill or order outcome: the end of a run rests on the broker's
        account, not on our bookkeeping. Asks it when that answer is missing."""
        ex, truth = self.execution, self.truth
        if ex is None or truth is None:
            return True
        if any(ex.active.values()) or ex.has_live_orders() or ex.pending_urgent or ex.flatten_retry:
            return False
        if not truth.busy:
            if truth.confirmed_since(ex.last_activity_ns):
                return True
            truth.request("final")             # paced; refused while disconnected
        return truth.confirmed_since(ex.last_activity_ns) and not truth.busy
