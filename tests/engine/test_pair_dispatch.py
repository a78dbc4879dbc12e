"""The pair machine's own dispatch (``PairMachine``: routes read once from the declared
``transitions`` machine) does what ``transitions.Machine`` itself does: on every declared state
and trigger, with every outcome of the conditions, the same callbacks in the same order, the
same states, the same return value; events raised from inside an event queue the same way, a
model removed mid-event loses its queued events the same way, and an error unwinds the same way."""
from __future__ import annotations

import itertools
from typing import Any

import pytest
from transitions import Machine

from kxrules.config.compile import compile_profile
from kxrules.engine.pair import PairMachine, build_machine
from kxrules.machine.spec import ACTIONS, CONDITIONS

from .scenario import DAY, REPO

MACHINE_CALLBACKS = dict(before_state_change="before_change", after_state_change="after_change",
                         finalize_event="finalize")


def reference_machine(kwargs: dict[str, Any]) -> Machine:
    """What ``build_machine`` builds, as plain ``transitions`` dispatches it."""
    return Machine(model=None, queued=True, **MACHINE_CALLBACKS, **kwargs)


class Model:
    """Records every callback (with the state it saw); conditions answer from ``answers``;
    ``script`` maps an action to what it does besides recording: fire (model, trigger),
    ``("remove",)`` (its model leaves the machine), ``("remove", model)`` or ``("raise",)``."""

    def __init__(self, name: str, log: list[tuple], answers: dict[str, bool],
                 script: dict[str, list[tuple]] | None = None) -> None:
        self.name = name
        self.log = log
        self.answers = answers
        self.script = script or {}
        self.machine: Machine | None = None

    def fire(self, trigger: str) -> bool:
        return bool(self.trigger(trigger))       # set by the machine

    def _called(self, what: str) -> None:
        self.log.append((self.name, what, self.state))
        for step in self.script.get(what, ()):
            if step[0] == "remove":
                assert self.machine is not None
                self.machine.remove_model(step[1] if len(step) > 1 else self)
            elif step[0] == "raise":
                raise RuntimeError(f"{what} failed")
            else:
                model, trigger = step
                self.log.append((self.name, "fired", trigger, model.fire(trigger)))

    def __getattr__(self, name: str) -> Any:
        if name in CONDITIONS or name.startswith("cond_"):
            def condition() -> bool:
                self._called(name)
                return self.answers.get(name, True)
            return condition
        if name in ACTIONS or name.startswith("act_") or name in MACHINE_CALLBACKS.values():
            return lambda: self._called(name)
        raise AttributeError(name)


def shipped_kwargs() -> dict[str, Any]:
    return compile_profile(REPO, "pilot", DAY).machine_kwargs


# a machine with what the shipped one lacks: two transitions for one (state, trigger) tried in
# order, an ``unless``, a transition without a state change
SMALL = {
    "states": ["A", "B", "C"],
    "initial": "A",
    "transitions": [
        {"trigger": "go", "source": "A", "dest": "B", "conditions": ["cond_x"], "after": ["act_1"]},
        {"trigger": "go", "source": "A", "dest": "C", "unless": ["cond_y"], "after": ["act_2", "act_1"]},
        {"trigger": "stay", "source": ["A", "B"], "dest": None, "after": ["act_3"]},
        {"trigger": "back", "source": ["B", "C"], "dest": "A", "conditions": ["cond_x", "cond_y"]},
    ],
    "auto_transitions": False,
    "ignore_invalid_triggers": True,
}


def condition_names(kwargs: dict[str, Any]) -> list[str]:
    return sorted({c for t in kwargs["transitions"] for c in [*t.get("conditions", []), *t.get("unless", [])]})


def play(machine: Machine, state: str, triggers: list[str], answers: dict[str, bool],
         script_of: dict[str, dict[str, list[tuple]]] | None = None) -> tuple[list[tuple], dict[str, str]]:
    """Models ``m`` and ``n`` put in ``state``; ``m`` gets ``triggers``; the log and the states."""
    log: list[tuple] = []
    models = {name: Model(name, log, answers) for name in ("m", "n")}
    for name, model in models.items():
        machine.add_model(model)
        machine.set_state(state, model)
        model.machine = machine
        model.script = {what: [(models[s[0]], s[1]) if s[0] in models else
                               (s[0], *(models[n] for n in s[1:])) if s[0] == "remove" else s for s in steps]
                        for what, steps in (script_of or {}).get(name, {}).items()}
    for trigger in triggers:
        try:
            log.append(("m", "result", trigger, models["m"].fire(trigger)))
        except RuntimeError as err:
            log.append(("m", "error", str(err), len(machine._transition_queue)))
    return log, {name: model.state for name, model in models.items()}


@pytest.mark.parametrize("kwargs", [shipped_kwargs(), SMALL], ids=["shipped", "small"])
def test_every_state_and_trigger_with_every_condition_outcome(kwargs):
    fast, reference = build_machine(kwargs), reference_machine(kwargs)
    assert isinstance(fast, PairMachine)
    names = condition_names(kwargs)
    triggers = [*reference.events, "no_such_trigger"]
    assert fast._routes, "the dispatch has routes to take"
    covered = 0
    for state in reference.states:
        for outcome in itertools.product((True, False), repeat=len(names)):
            answers = dict(zip(names, outcome))
            for trigger in triggers:
                got = play(fast, state, [trigger], answers)
                assert got == play(reference, state, [trigger], answers), (state, trigger, answers)
                covered += (state, trigger) in fast._routes
    assert covered == len(fast._routes) * 2 ** len(names)


def test_events_raised_inside_an_event_are_queued_across_models_in_raising_order():
    kwargs = shipped_kwargs()
    script = {"m": {"send_entry": [("n", "send"), ("m", "entry_filled"), ("n", "stale")],
                    "send_hedge": [("m", "hedge_filled")]},
              "n": {"send_entry": [("m", "entry_rejected")], "after_change": [("m", "abandon")]}}
    for answers in ({"hedge_complete": True, "entry_partial": False}, {"hedge_complete": False}):
        got = play(build_machine(kwargs), "CANDIDATE", ["send", "hedge_expired"], answers, script)
        assert got == play(reference_machine(kwargs), "CANDIDATE", ["send", "hedge_expired"], answers, script)
        assert len(got[0]) > 20


def test_a_model_removed_inside_its_event_loses_its_queued_events():
    kwargs = shipped_kwargs()
    # m's entry action queues events for m and n, then m ends (a pair finishing inside its event)
    script = {"m": {"send_entry": [("m", "entry_filled"), ("n", "send"), ("m", "stale"), ("remove",)]}}
    got = play(build_machine(kwargs), "CANDIDATE", ["send"], {}, script)
    assert got == play(reference_machine(kwargs), "CANDIDATE", ["send"], {}, script)
    assert ("n", "send_entry", "ENTRY_TAKE_SENT") in got[0]
    assert not [row for row in got[0] if row[0] == "m" and row[1] == "send_hedge"]


@pytest.mark.parametrize("failing", ["send_entry", "before_change", "after_change", "finalize", "hedge_complete"])
def test_an_error_inside_an_event_unwinds_the_same_way(failing):
    kwargs = shipped_kwargs()
    script = {"m": {"send_entry": [("n", "send")], failing: [("raise",)]}}
    triggers = ["send", "entry_filled", "hedge_filled", "send"]
    got = play(build_machine(kwargs), "CANDIDATE", triggers, {}, script)
    assert got == play(reference_machine(kwargs), "CANDIDATE", triggers, {}, script)


def test_a_machine_with_callbacks_the_dispatch_does_not_run_is_refused():
    with pytest.raises(ValueError, match="state callbacks"):
        PairMachine(model=None, queued=True, **{**SMALL, "states": [{"name": "A", "on_enter": "act_1"}, "B", "C"]})
    with pytest.raises(ValueError, match="queued=False"):
        PairMachine(model=None, **SMALL)


def test_another_model_removed_inside_an_event_as_transitions_does():
    kwargs = shipped_kwargs()
    # n ends while m's event runs (the engine never does this: a pair ends inside its own event)
    script = {"m": {"send_entry": [("n", "send"), ("m", "entry_filled"), ("remove", "n")]}}
    got = play(build_machine(kwargs), "CANDIDATE", ["send"], {}, script)
    assert got == play(reference_machine(kwargs), "CANDIDATE", ["send"], {}, script)
    assert not [row for row in got[0] if row[0] == "n" and row[1] == "send_entry"]
