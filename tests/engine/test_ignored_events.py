"""An event the pair machine has no transition for in the pair's state is recorded as ignored
(a transition row marked ignored, a counter, an alert once per state and event), never dropped
silently; `kxrules validate --machine` lists what each state ignores."""
from __future__ import annotations


from kxrules.clock import VirtualClock
from kxrules.config.compile import compile_profile
from kxrules.engine.evaluator import Signal
from kxrules.engine.pair import Pair, build_machine
from kxrules.machine.spec import handled_events, ignored_events

from .scenario import DAY, REPO


class Services:
    """The execution services a pair calls, recording what the machine asks of them."""

    def __init__(self, profile):
        self.clock = VirtualClock()
        self.state_specs = {s.name: s for s in profile.machine.states}
        self.handled = handled_events(profile.machine)
        self.rows: list[tuple] = []
        self.ignored: list[tuple[str, str]] = []
        self.reroute: str | None = None          # an event an action raises from inside a transition

    def param(self, name, sym):
        return 800

    def record_transition(self, pair, trigger, source, dest):
        self.rows.append((trigger, source, dest))

    def event_ignored(self, pair, trigger):
        self.ignored.append((pair.state, trigger))

    def send_entry(self, pair):
        if self.reroute:
            pair.fire(self.reroute)

    def __getattr__(self, name):               # every other service: nothing to do here
        return lambda *args, **kwargs: None


def pair_on(profile) -> tuple[Pair, Services]:
    ex = Services(profile)
    machine = build_machine(profile.machine_kwargs)
    signal = Signal(0, 0, 1, 100_000, 100_400, 50, 50, 1, 400, 226, 174, 0)
    pair = Pair(1, "005930", signal, "buy", ex)
    machine.add_model(pair)
    return pair, ex


def test_an_unhandled_event_is_recorded_and_a_failed_condition_is_not():
    profile = compile_profile(REPO, "pilot", DAY)
    pair, ex = pair_on(profile)
    pair.fire("send")
    pair.fire("hedge_filled")                  # ENTRY_TAKE_SENT has no transition for it
    assert ex.ignored == [("ENTRY_TAKE_SENT", "hedge_filled")]
    pair.entry_filled = pair.entry_done = 1
    pair.fire("entry_filled")
    pair.fire("hedge_filled")                  # handled, but the hedge is not complete: no move, not ignored
    assert ex.ignored == [("ENTRY_TAKE_SENT", "hedge_filled")]
    assert ex.rows == [("send", "CANDIDATE", "ENTRY_TAKE_SENT"), ("entry_filled", "ENTRY_TAKE_SENT", "HEDGE_POST_SENT")]


def test_an_event_raised_inside_a_transition_is_recorded_under_its_own_name():
    profile = compile_profile(REPO, "pilot", DAY)
    pair, ex = pair_on(profile)
    ex.reroute = "entry_rejected"              # e.g. the send refused at once
    pair.fire("send")
    assert ex.rows == [("send", "CANDIDATE", "ENTRY_TAKE_SENT"),
                       ("entry_rejected", "ENTRY_TAKE_SENT", "ENTRY_REJECTED")]
    assert ex.ignored == []


def test_the_shipped_machine_ignores_hedge_events_before_the_entry_filled():
    profile = compile_profile(REPO, "pilot", DAY)
    ignored = ignored_events(profile.machine)
    assert ignored["ENTRY_TAKE_SENT"] == ["send", "hedge_filled", "hedge_rejected", "hedge_expired"]
    assert "hedge_filled" not in ignored["HEDGE_IOC_SENT"]
