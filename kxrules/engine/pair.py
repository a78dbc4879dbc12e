"""One pair attempt as a `transitions` model, driven by the compiled YAML machine.

The machine (one shared ``transitions.Machine``, one model per live pair) decides *what* happens;
the methods named in the YAML registry (machine/spec.py ACTIONS, CONDITIONS) do it by calling
the engine's execution services. State timers run on the engine Clock (never threads): entering
a state with a timer schedules its trigger, guarded by a token so a stale timer is a no-op.
"""
from __future__ import annotations

from collections import deque
import logging
from typing import TYPE_CHECKING, Any, Callable, NamedTuple, cast

from transitions import Machine
from transitions.core import EventData, listify

from ..machine.spec import ABANDONED, ACTIONS, CONDITIONS
from ..clock import NS_PER_MS

_LOGGER = logging.getLogger("transitions.core")    # where transitions logs a failed finalize

if TYPE_CHECKING:
    from ..clock import TimerHandle
    from .evaluator import Signal
    from .execution import Execution


class Pair:
    """State and quantities of one attempt. Quantities are shares; values are KRW."""

    # set on the model by transitions' Machine.add_model (annotated here, never assigned: the
    # machine skips attributes a model already has)
    state: str
    trigger: Callable[[str], bool]

    def __init__(self, pair_id: int, code: str, signal: "Signal", entry_side: str, ex: "Execution") -> None:
        self.begin(pair_id, code, signal, entry_side, ex)

    @classmethod
    def spare(cls) -> "Pair":
        """A model not started yet, to be registered with the machine ahead of need (``begin``
        starts it): registering binds some 40 methods, too slow for the quote-to-order path."""
        return cls.__new__(cls)

    def begin(self, pair_id: int, code: str, signal: "Signal", entry_side: str, ex: "Execution") -> None:
        self.pair_id = pair_id
        self.code = code
        self.sym = signal.sym
        self.signal = signal
        self.qty = signal.qty
        self.entry_side = entry_side
        self.ex = ex
        self.entry_id: str | None = None
        self.entry_filled = 0
        self.entry_done = False
        self.hedge_ids: list[str] = []
        self.hedged = 0
        self.buy_value = 0
        self.sell_value = 0
        self.fees = 0
        self.tax = 0
        self.started_ns = ex.clock.now_ns()
        self.ended_ns: int | None = None
        self.first_fill_ns: int | None = None
        self.flat_ns: int | None = None
        self.used_ioc = False
        self.unresolved = False
        self.orders_sent = 0              # every order of this pair (entry, hedges, cancels): budgeted
        self.abandoned_because: str | None = None
        self.alerted_unhedged = False
        self.gross_krw = self.net_krw = 0
        self._timer: TimerHandle | None = None
        self._events: deque[str] = deque()   # triggers raised and not processed yet, in order
        self._moved = False                  # the event being processed changed state
        self._source = ""

    # -- driving the machine --------------------------------------------------------------
    def fire(self, trigger: str) -> None:
        """Raise an engine event or timer trigger on this pair (queued, never re-entrant)."""
        self._events.append(trigger)
        self.trigger(trigger)          # added by transitions

    def before_change(self) -> None:
        self._source = self.state

    def after_change(self) -> None:
        ex = self.ex
        ex.record_transition(self, self._events[0], self._source, self.state)
        self._moved = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.state == ABANDONED:
            ex.pair_finished(self)
            return
        spec = ex.state_specs[self.state]
        if spec.final:
            ex.pair_finished(self)
            return
        if spec.timer is not None:
            after = spec.timer.after_ms
            ms = ex.param(after, self.sym) if isinstance(after, str) else after
            self._timer = ex.clock.call_later(ms, self._on_timer, self.state, spec.timer.trigger)

    def finalize(self) -> None:
        """After every processed event (the machine's finalize_event, in raising order): one that
        changed nothing and that the state has no transition for is recorded as ignored, never
        dropped silently (a failed condition is handled, not ignored)."""
        trigger = self._events.popleft()
        moved, self._moved = self._moved, False
        if not moved and (self.state, trigger) not in self.ex.handled:
            self.ex.event_ignored(self, trigger)

    def _on_timer(self, state: str, trigger: str) -> None:
        self._timer = None
        if self.state == state and self.ended_ns is None:
            self.fire(trigger)

    # -- position ------------------------------------------------------------------------
    @property
    def unhedged_ms(self) -> float | None:
        """How long the pair held a position: first fill to flat (or to its end if never flat)."""
        if self.first_fill_ns is None:
            return None
        end = self.flat_ns or self.ended_ns
        assert end is not None, "a pair with a fill is flat or ended when its unhedged time is read"
        return (end - self.first_fill_ns) / NS_PER_MS

    @property
    def unhedged(self) -> int:
        return self.entry_filled - self.hedged

    # -- conditions (registry: machine/spec.py CONDITIONS) ----------------------------------
    def hedge_complete(self) -> bool:
        return self.entry_done and self.hedged >= self.entry_filled

    def entry_partial(self) -> bool:
        return self.entry_filled < self.qty

    # -- actions (registry: machine/spec.py ACTIONS) ----------------------------------------
    def send_entry(self) -> None:
        self.ex.send_entry(self)

    def send_hedge(self) -> None:
        self.ex.send_hedge(self, escalate=False)

    def send_hedge_ioc(self) -> None:
        self.used_ioc = True
        self.ex.send_hedge(self, escalate=True)

    def cancel_entry(self) -> None:
        self.ex.cancel_live(self, [self.entry_id] if self.entry_id else [])

    def cancel_hedge(self) -> None:
        self.ex.cancel_live(self, self.hedge_ids)

    def arm_cooldown(self) -> None:
        self.ex.cool(self.sym, self.ex.cooldown_ms)

    def arm_reject_cooldown(self) -> None:
        self.ex.cool(self.sym, self.ex.reject_cooldown_ms)

    def book_pnl(self) -> None:
        self.flat_ns = self.ex.clock.now_ns()
        self.gross_krw = self.sell_value - self.buy_value
        self.net_krw = self.gross_krw - self.fees - self.tax

    def flag_unresolved(self) -> None:
        self.unresolved = True
        self.ex.alert("order_unresolved", f"pair {self.pair_id} {self.code}: entry outcome unknown after cancel timeout")

    def alert_unhedged(self) -> None:
        if not self.alerted_unhedged:          # once per pair, not once per retry
            self.alerted_unhedged = True
            self.ex.alert("still_unhedged", f"pair {self.pair_id} {self.code}: {self.unhedged} share(s) still "
                                            f"unhedged after the escalation")

    def alert_hedge_timeout(self) -> None:
        t_hedge_ms = self.ex.param("t_hedge_ms", self.sym)
        self.ex.alert("hedge_timeout", f"pair {self.pair_id} {self.code}: hedge not filled in {t_hedge_ms} ms; "
                                       f"cancel, then {self.unhedged} share(s) by the escalation",
                      (self.code, self.pair_id, t_hedge_ms))


assert set(ACTIONS) <= set(dir(Pair)), "every registered action needs a Pair method"
assert set(CONDITIONS) <= set(dir(Pair)), "every registered condition needs a Pair method"


# the machine below does not look for them (a state's callbacks are the YAML's, never a model's)
assert not [n for n in dir(Pair) if n.startswith(("on_enter_", "on_exit_"))], "no dynamic state callbacks on Pair"


class PairMachine(Machine):
    """A ``transitions.Machine`` whose models are driven only by name (``Pair.fire`` calls
    ``model.trigger(name)``): registering a model binds none of the per-trigger, ``may_<trigger>``
    and ``is_<state>`` convenience methods. They were 37 bound partials per pair, most of a
    replay's cyclic garbage (~105 k objects for 950 pairs, walked by every full collection).

    The machine declared to ``transitions`` stays the source of truth; what it decides for each
    (state, trigger) it has transitions for is read once into a table of routes, and an event on
    such a pair is run from the table: the same queue (machine-wide, one event at a time, in
    raising order), callbacks in the same order, the same state changes and finalize. The generic
    machinery (an event data object, partials, chained callback lists, a logger call at each
    step) cost ~15 us an event, ~4% of a replay. An event with no transition from the model's
    state, and an unknown trigger, still take ``transitions``' own path (it warns or raises).
    ``tests/engine/test_pair_dispatch.py`` holds the table to ``transitions`` on every declared
    (state, trigger)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._routes = self._compile_routes()

    def _compile_routes(self) -> dict[tuple[str, str], tuple[_Route, ...]]:
        """Per (state, trigger), its transitions in the order ``transitions`` tries them."""
        unsupported = [name for name, value in (
            ("queued=False", not self.has_queue), ("send_event", self.send_event),
            ("prepare_event", self.prepare_event), ("on_exception", self.on_exception),
            ("on_final", self.on_final),
            ("state callbacks", any(s.on_enter or s.on_exit for s in self.states.values())),
            ("transition prepare callbacks", any(t.prepare for e in self.events.values()
                                                 for ts in e.transitions.values() for t in ts)),
            ("callbacks that are not names", not all(isinstance(f, str) for f in self._callback_names())),
        ) if value]
        if unsupported:
            raise ValueError(f"PairMachine's dispatch does not implement: {', '.join(unsupported)}")
        routes: dict[tuple[str, str], tuple[_Route, ...]] = {}
        for trigger, event in self.events.items():
            for source, transitions in event.transitions.items():
                routes[(source, trigger)] = tuple(
                    _Route(None if t.dest is None else cast(str, self.get_state(t.dest).value),
                           tuple((cast(str, c.func), c.target) for c in t.conditions),
                           cast("tuple[str, ...]", (*self.before_state_change, *t.before)),
                           cast("tuple[str, ...]", (*t.after, *self.after_state_change)))
                    for t in transitions)
        return routes

    def _callback_names(self) -> list[Any]:
        names: list[Any] = [*self.before_state_change, *self.after_state_change, *self.finalize_event]
        for event in self.events.values():
            for transitions in event.transitions.values():
                for t in transitions:
                    names += [*t.before, *t.after, *(c.func for c in t.conditions)]
        return names

    def _add_trigger_to_model(self, trigger: str, model: Any) -> None:
        pass

    def _add_model_to_state(self, state: Any, model: Any) -> None:
        pass

    def _get_trigger(self, model: Any, trigger_name: str, *args: Any, **kwargs: Any) -> bool:
        """``model.trigger(name)``: queue the event and, unless one is being processed, process
        the queue (``Machine._process`` with ``queued=True``)."""
        if args or kwargs:
            raise TypeError("a pair's events carry no arguments")
        if trigger_name not in self.events:
            return bool(super()._get_trigger(model, trigger_name))
        queue = self._queue()
        queue.append((model, trigger_name))
        if len(queue) > 1:
            return True
        while queue:
            try:
                self._run(*queue[0])
            except BaseException:
                queue.clear()
                raise
            queue.popleft()
        return True

    def _run(self, model: Any, trigger: str) -> None:
        """One event (``Event._trigger``, ``Event._process``, ``Transition.execute``)."""
        routes = self._routes.get((getattr(model, self.model_attribute), trigger))
        if routes is None:
            event = self.events[trigger]
            event._trigger(EventData(None, event, self, model, args=(), kwargs={}))
            return
        try:
            for route in routes:
                if all(_call(model, name) == target for name, target in route.conditions):
                    for name in route.before:
                        _call(model, name)
                    if route.dest is not None:
                        setattr(model, self.model_attribute, route.dest)
                    for name in route.after:
                        _call(model, name)
                    break
        finally:
            try:
                for finalize in self.finalize_event:
                    _call(model, cast(str, finalize))
            except BaseException as err:          # as transitions does: logged, not raised
                _LOGGER.error("%sWhile executing finalize callbacks a %s occurred: %s.",
                              self.name, type(err).__name__, str(err))

    def _queue(self) -> deque[tuple[Any, str]]:
        """The machine's queue, of (model, trigger) here (of partials in ``transitions``)."""
        return cast("deque[tuple[Any, str]]", self._transition_queue)

    def remove_model(self, model: Any) -> None:
        """``Machine.remove_model``: the removed models' queued events are dropped, the one being
        processed is kept. Rebuilt as transitions rebuilds it (the head, then every entry of a
        model that stays: the head again if its model stays, which never happens here, a pair
        ends inside its own event), in place: the loop in ``_get_trigger`` holds the queue."""
        models = listify(model)
        for mod in models:
            self.models.remove(mod)
        queue = self._queue()
        if queue:
            kept = [queue[0], *(e for e in queue if e[0] not in models)]
            queue.clear()
            queue.extend(kept)


class _Route(NamedTuple):
    dest: str | None                          # None: an internal transition (no state change)
    conditions: tuple[tuple[str, bool], ...]  # (name, the value it must return)
    before: tuple[str, ...]                   # the machine's before_state_change, then the transition's
    after: tuple[str, ...]                    # the transition's after, then the machine's after_state_change


def _call(model: Any, name: str) -> Any:
    """A callback named on the model (``Machine.resolve_callable``: an attribute that is not
    callable is its value)."""
    func = getattr(model, name)
    return func() if callable(func) else func


def build_machine(kwargs: dict[str, Any]) -> Machine:
    """The shared machine: models are added per pair and removed when the pair ends."""
    return PairMachine(model=None, queued=True, before_state_change="before_change",
                       after_state_change="after_change", finalize_event="finalize", **kwargs)
