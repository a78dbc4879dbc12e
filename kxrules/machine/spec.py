"""The pair machine as declared data: registry of names, graph proofs, and `transitions` kwargs.

The YAML may only name actions and conditions that exist here; the engine implements each of
them (the methods of ``engine/pair.py``'s ``Pair``). Graph analysis proves, before any run, that every state is
reachable, every non-final state can leave on an event and has a timer, every state can reach a
final state, and no final state can be reached while a position is open.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from ..config.schema.machine import MachineFile

# Events the engine raises on a pair (besides the timers each state declares).
ENGINE_EVENTS: dict[str, str] = {
    "send": "risk and throttle admitted the pair: send the entry",
    "entry_rejected": "the entry order was refused (send error, empty 주문번호, broker reject)",
    "entry_filled": "the entry order is done and filled at least one share",
    "entry_expired": "the entry order is done with nothing filled (IOC cancelled)",
    "hedge_filled": "a hedge order filled (partly or fully)",
    "hedge_rejected": "a hedge order was refused",
    "hedge_expired": "a hedge order ended (cancel confirmed / IOC remainder) with shares still to sell",
}
OPENING_EVENTS = frozenset({"entry_filled"})   # after these the pair holds a position

ACTIONS: dict[str, str] = {
    "send_entry": "send the entry leg (legs.entry) on the cheap venue",
    "send_hedge": "send the hedge leg (legs.hedge) for exactly the quantity filled so far",
    "send_hedge_ioc": "send the escalation leg (legs.escalation) for the unhedged remainder",
    "cancel_entry": "cancel the resting entry order",
    "cancel_hedge": "cancel the resting hedge order",
    "arm_cooldown": "mute the symbol for cooldown_ms",
    "arm_reject_cooldown": "mute the symbol for reject_cooldown_ms",
    "book_pnl": "book the pair's gross and net PnL",
    "flag_unresolved": "record that an order's outcome is unknown (reconcile later)",
    "alert_unhedged": "raise the unhedged-position alert (the escalation itself failed)",
    "alert_hedge_timeout": "raise the hedge-timeout alert: t_hedge passed, cancel then escalate",
}
CONDITIONS: dict[str, str] = {
    "hedge_complete": "the hedge has sold every share the entry bought",
    "entry_partial": "the entry filled fewer shares than the slice",
}
FLATTENING_CONDITIONS = frozenset({"hedge_complete"})

# The engine's own way out of any state, not declared in the YAML so that no edit can remove it:
# a pair past its order budget, or on a symbol whose position broke, is ended here and what it
# held goes to the safety net (which sells only what the broker says is there).
ABANDONED = "ABANDONED"
ABANDON = "abandon"


@dataclass(frozen=True, slots=True)
class MachineIssue:
    code: str
    message: str
    loc: tuple            # location inside the machine YAML


def analyse(spec: MachineFile, parameter_names: tuple[str, ...], *, inventory: str = "none") -> list[MachineIssue]:
    issues: list[MachineIssue] = []
    names = [s.name for s in spec.states]
    index = {n: i for i, n in enumerate(names)}
    finals = {s.name for s in spec.states if s.final}
    for i, n in enumerate(names):
        if n == ABANDONED:
            issues.append(MachineIssue("KX104", f"state name '{n}' is reserved for the engine's own exit "
                                                f"(a pair past its order budget or on a broken position)",
                                       ("states", i, "name")))
        if names.index(n) != i:
            issues.append(MachineIssue("KX104", f"state '{n}' declared twice", ("states", i, "name")))
    if spec.initial not in index:
        issues.append(MachineIssue("KX901", f"initial state '{spec.initial}' is not declared", ("initial",)))

    timer_triggers = {s.timer.trigger for s in spec.states if s.timer}
    edges: dict[str, list[tuple[str, int]]] = {n: [] for n in names}
    for t_i, t in enumerate(spec.transitions):
        for src in t.sources:
            if src not in index:
                issues.append(MachineIssue("KX901", f"transition '{t.trigger}': unknown source state '{src}'",
                                           ("transitions", t_i, "source")))
            else:
                edges[src].append((t.dest, t_i))
        if t.dest not in index:
            issues.append(MachineIssue("KX901", f"transition '{t.trigger}': unknown dest state '{t.dest}'",
                                       ("transitions", t_i, "dest")))
        if t.trigger not in ENGINE_EVENTS and t.trigger not in timer_triggers:
            issues.append(MachineIssue(
                "KX906", f"trigger '{t.trigger}' is neither an engine event ({', '.join(ENGINE_EVENTS)}) "
                         f"nor a state timer's trigger", ("transitions", t_i, "trigger")))
        for field in ("conditions", "unless"):
            for c_i, c in enumerate(getattr(t, field)):
                if c not in CONDITIONS:
                    issues.append(MachineIssue("KX906", f"unknown condition '{c}' (known: {', '.join(CONDITIONS)})",
                                               ("transitions", t_i, field, c_i)))
        for a_i, a in enumerate(t.after):
            if a not in ACTIONS:
                issues.append(MachineIssue("KX906", f"unknown action '{a}' (known: {', '.join(ACTIONS)})",
                                           ("transitions", t_i, "after", a_i)))
        if t.sources and any(s in finals for s in t.sources):
            issues.append(MachineIssue("KX104", f"transition '{t.trigger}' leaves final state", ("transitions", t_i, "source")))

    for s_i, s in enumerate(spec.states):
        if s.timer and isinstance(s.timer.after_ms, str) and s.timer.after_ms not in parameter_names:
            issues.append(MachineIssue("KX909", f"timer of {s.name}: '{s.timer.after_ms}' is not a parameter "
                                                f"(known: {', '.join(parameter_names)})",
                                       ("states", s_i, "timer", "after_ms")))
        if s.timer and isinstance(s.timer.after_ms, int) and s.timer.after_ms <= 0:
            issues.append(MachineIssue("KX104", f"timer of {s.name} must be > 0 ms", ("states", s_i, "timer", "after_ms")))
    if any(i.code == "KX901" for i in issues):
        return issues

    # reachability from the initial state
    seen = {spec.initial}
    queue = deque([spec.initial])
    while queue:
        for dest, _ in edges[queue.popleft()]:
            if dest not in seen:
                seen.add(dest)
                queue.append(dest)
    for s_i, s in enumerate(spec.states):
        if s.name not in seen:
            issues.append(MachineIssue("KX902", f"state {s.name} cannot be reached from {spec.initial}", ("states", s_i, "name")))

    # ways out: an engine event to another state, and a timer
    for s_i, s in enumerate(spec.states):
        if s.final:
            continue
        outgoing = [spec.transitions[t_i] for _, t_i in edges[s.name]]
        if not any(t.trigger in ENGINE_EVENTS and t.dest != s.name for t in outgoing):
            issues.append(MachineIssue("KX903", f"state {s.name} has no event that leaves it", ("states", s_i, "name")))
        if s.timer is None:
            issues.append(MachineIssue("KX904", f"state {s.name} has no timer: it could wait forever", ("states", s_i, "name")))
        elif not any(t.trigger == s.timer.trigger for t in outgoing):
            issues.append(MachineIssue("KX904", f"timer trigger '{s.timer.trigger}' of {s.name} has no transition from it",
                                       ("states", s_i, "timer", "trigger")))

    # every state can reach a final state
    reverse: dict[str, set[str]] = {n: set() for n in names}
    for src, outs in edges.items():
        for dest, _ in outs:
            reverse[dest].add(src)
    can_finish = set(finals)
    queue = deque(finals)
    while queue:
        for src in reverse[queue.popleft()]:
            if src not in can_finish:
                can_finish.add(src)
                queue.append(src)
    if not finals:
        issues.append(MachineIssue("KX905", "no final state declared", ("states",)))
    for s_i, s in enumerate(spec.states):
        if s.name in seen and s.name not in can_finish:
            issues.append(MachineIssue("KX905", f"from {s.name} no path reaches a final (flat) state", ("states", s_i, "name")))

    # exposure: which states may hold an open position; finals must be flat
    exposure: dict[str, set[str]] = {n: set() for n in names}
    exposure[spec.initial].add("flat")
    changed = True
    while changed:
        changed = False
        for t in spec.transitions:
            for src in t.sources:
                for e in list(exposure[src]):
                    if t.trigger in OPENING_EVENTS:
                        out = "open"
                    elif FLATTENING_CONDITIONS & set(t.conditions):
                        out = "flat"
                    else:
                        out = e
                    if out not in exposure[t.dest]:
                        exposure[t.dest].add(out)
                        changed = True
    for s_i, s in enumerate(spec.states):
        if s.final and "open" in exposure[s.name]:
            issues.append(MachineIssue("KX908", f"final state {s.name} can be reached holding the entry's shares "
                                                f"(guard the transition with 'hedge_complete')", ("states", s_i, "name")))

    if inventory == "none" and spec.legs.entry.side != "buy":
        issues.append(MachineIssue("KX907", "legs.entry.side must be 'buy': the profile holds no inventory "
                                            "(risk.inventory: none) and a cash account cannot sell first",
                                   ("legs", "entry", "side")))
    return issues


def handled_events(spec: MachineFile) -> frozenset[tuple[str, str]]:
    """(state, trigger) pairs the machine has a transition for (the engine's own ABANDON included)."""
    pairs = {(src, t.trigger) for t in spec.transitions for src in t.sources}
    pairs |= {(s.name, ABANDON) for s in spec.states if not s.final}
    return frozenset(pairs)


def ignored_events(spec: MachineFile) -> dict[str, list[str]]:
    """Per live state, the engine events it has no transition for: if one comes, the engine records
    it as ignored (a transition row, a counter, an alert once per state and event)."""
    handled = handled_events(spec)
    return {s.name: [e for e in ENGINE_EVENTS if (s.name, e) not in handled]
            for s in spec.states if not s.final}


def machine_kwargs(spec: MachineFile) -> dict:
    """Keyword arguments for ``transitions.Machine`` (no models; timers are run by the engine)."""
    live_states = [s.name for s in spec.states if not s.final]
    return {
        "states": [s.name for s in spec.states] + [ABANDONED],
        "initial": spec.initial,
        "transitions": [
            {"trigger": t.trigger, "source": t.sources, "dest": t.dest,
             "conditions": list(t.conditions), "unless": list(t.unless), "after": list(t.after)}
            for t in spec.transitions
        ] + [{"trigger": ABANDON, "source": live_states, "dest": ABANDONED}],
        "auto_transitions": False,
        "ignore_invalid_triggers": True,
    }


def mermaid(spec: MachineFile) -> str:
    """The machine as mermaid stateDiagram-v2 text (for the report)."""
    lines = ["stateDiagram-v2", f"    [*] --> {spec.initial}"]
    for t in spec.transitions:
        label = t.trigger + (f" [{', '.join(t.conditions)}]" if t.conditions else "")
        for src in t.sources:
            lines.append(f"    {src} --> {t.dest}: {label}")
    for s in spec.states:
        if s.final:
            lines.append(f"    {s.name} --> [*]")
    return "\n".join(lines)
