"""The pair machine's graph proofs (KX901-KX909), located in rules/pair_machine.yaml."""
from __future__ import annotations

import pytest

from kxrules.config.schema.machine import MachineFile
from kxrules.config.schema.strategy import PARAMETER_NAMES
from kxrules.machine.spec import ACTIONS, CONDITIONS, ENGINE_EVENTS, analyse, machine_kwargs, mermaid

M = "rules/pair_machine.yaml"
HEDGE_DONE = ("  - {trigger: hedge_filled, source: [HEDGE_POST_SENT, CANCEL_POST_SENT, HEDGE_IOC_SENT], "
              "dest: PAIRED_DONE, conditions: [hedge_complete], after: [book_pnl]}")


def _codes(found):
    return {c for *_, c in found}


def test_shipped_machine_has_no_issues(ws):
    ws.check()
    spec = ws.loaded.models["machine"]
    assert analyse(spec, PARAMETER_NAMES, inventory="none") == []
    assert analyse(spec, PARAMETER_NAMES, inventory="holdings") == []


def test_unknown_dest_state_is_KX901(ws):
    ws.replace(M, "dest: PAIRED_DONE, conditions", "dest: PAIRED_DON, conditions")
    line, col = ws.find(M, "PAIRED_DON,")
    assert ws.check() == {(M, line, col, "KX901")}


def test_unknown_source_state_is_KX901(ws):
    ws.replace(M, "{trigger: stale, source: CANDIDATE,", "{trigger: stale, source: CANDIDAT,")
    line, col = ws.find(M, "CANDIDAT,")
    assert (M, line, col, "KX901") in ws.check()


def test_unknown_initial_state_is_KX901(ws):
    ws.replace(M, "initial: CANDIDATE", "initial: START")
    line, col = ws.find(M, "START")
    assert ws.check() == {(M, line, col, "KX901")}


def test_unreachable_state_is_KX902(ws):
    ws.replace(M, "  - {name: PAIRED_DONE, final: true}",
               "  - name: ORPHAN\n    timer: {after_ms: 100, trigger: stale}\n  - {name: PAIRED_DONE, final: true}")
    ws.append(M, "  - {trigger: send, source: ORPHAN, dest: ENTRY_MISSED}\n"
                 "  - {trigger: stale, source: ORPHAN, dest: ENTRY_MISSED}\n")
    line, col = ws.find(M, "ORPHAN")
    assert ws.check() == {(M, line, col, "KX902")}


def test_state_that_leaves_only_on_its_timer_is_KX903(ws):
    # ENTRY_CANCEL_SENT loses its entry outcomes: only cancel_timeout leads out
    for trig in ("entry_rejected", "entry_filled", "entry_expired"):
        ws.replace(M, f"{{trigger: {trig}, source: [ENTRY_TAKE_SENT, ENTRY_CANCEL_SENT]",
                   f"{{trigger: {trig}, source: [ENTRY_TAKE_SENT]")
    line, col = ws.find(M, "ENTRY_CANCEL_SENT", after="states:")
    assert ws.check() == {(M, line, col, "KX903")}


def test_state_whose_only_event_loops_back_is_KX903(ws):
    ws.replace(M, "{trigger: hedge_filled, source: [HEDGE_POST_SENT, CANCEL_POST_SENT, HEDGE_IOC_SENT]",
               "{trigger: hedge_filled, source: [HEDGE_POST_SENT, CANCEL_POST_SENT]")
    ws.append(M, "  - {trigger: hedge_filled, source: HEDGE_IOC_SENT, dest: HEDGE_IOC_SENT}\n")
    line, col = ws.find(M, "HEDGE_IOC_SENT", after="states:")
    found = ws.check()
    assert (M, line, col, "KX903") in found
    assert _codes(found) == {"KX903", "KX905"}          # and it can no longer finish


def test_state_without_a_timer_is_KX904(ws):
    ws.replace(M, "  - name: ENTRY_TAKE_SENT\n    timer: {after_ms: 1000, trigger: entry_timeout}\n",
               "  - name: ENTRY_TAKE_SENT\n")
    line, col = ws.find(M, "ENTRY_TAKE_SENT", after="states:")
    found = ws.check()
    assert (M, line, col, "KX904") in found
    # entry_timeout is now nobody's timer: the transition using it names an unknown trigger
    line, col = ws.find(M, "entry_timeout", after="transitions:")
    assert (M, line, col, "KX906") in found
    assert _codes(found) == {"KX904", "KX906"}


def test_timer_trigger_without_a_transition_is_KX904(ws):
    ws.replace(M, "timer: {after_ms: 50, trigger: stale}", "timer: {after_ms: 50, trigger: stall}")
    line, col = ws.find(M, "stall")
    found = ws.check()
    assert (M, line, col, "KX904") in found
    assert _codes(found) == {"KX904", "KX906"}


def test_states_that_cannot_reach_a_final_state_are_KX905(ws):
    ws.replace(M, "  - {name: PAIRED_DONE, final: true}",
               "  - name: LIMBO_A\n    timer: {after_ms: 100, trigger: limbo}\n"
               "  - name: LIMBO_B\n    timer: {after_ms: 100, trigger: limbo}\n"
               "  - {name: PAIRED_DONE, final: true}")
    ws.append(M, "  - {trigger: hedge_rejected, source: ENTRY_CANCEL_SENT, dest: LIMBO_A}\n"
                 "  - {trigger: hedge_rejected, source: LIMBO_A, dest: LIMBO_B}\n"
                 "  - {trigger: hedge_rejected, source: LIMBO_B, dest: LIMBO_A}\n"
                 "  - {trigger: limbo, source: [LIMBO_A, LIMBO_B], dest: LIMBO_A}\n")
    a = ws.find(M, "LIMBO_A")
    b = ws.find(M, "LIMBO_B")
    assert ws.check() == {(M, *a, "KX905"), (M, *b, "KX905")}


def test_machine_without_a_final_state_is_KX905(ws):
    for name in ("PAIRED_DONE", "ENTRY_REJECTED", "ENTRY_MISSED"):
        ws.replace(M, f"{{name: {name}, final: true}}", f"{{name: {name}, timer: {{after_ms: 5, trigger: stale}}}}")
    found = ws.check()
    line, col = ws.find(M, "- name: CANDIDATE")
    assert (M, line, col, "KX905") in found
    assert "no final state declared" in ws.messages("KX905")


@pytest.mark.parametrize("old, new, needle", [
    ("after: [send_entry]", "after: [send_entyr]", "send_entyr"),
    ("conditions: [hedge_complete]", "conditions: [hedge_completed]", "hedge_completed"),
    ("{trigger: entry_filled, source", "{trigger: entry_fill, source", "entry_fill,"),
])
def test_name_not_in_the_registry_is_KX906(ws, old, new, needle):
    ws.replace(M, old, new)
    line, col = ws.find(M, needle)
    found = ws.check()
    assert (M, line, col, "KX906") in found
    assert "KX906" in _codes(found)


def test_unknown_condition_under_unless_is_KX906(ws):
    ws.replace(M, "{trigger: stale, source: CANDIDATE, dest: ENTRY_MISSED,",
               "{trigger: stale, source: CANDIDATE, dest: ENTRY_MISSED, unless: [quote_fresh],")
    line, col = ws.find(M, "quote_fresh")
    assert ws.check() == {(M, line, col, "KX906")}
    assert "known: hedge_complete, entry_partial" in ws.messages("KX906")[0]


def test_sell_first_entry_without_inventory_is_KX907(ws):
    ws.replace(M, "entry: {side: buy,", "entry: {side: sell,")
    line, col = ws.find(M, "sell", after="entry: {side: ")
    assert ws.check() == {(M, line, col, "KX907")}


def test_sell_first_entry_is_allowed_with_holdings(ws):
    ws.replace(M, "entry: {side: buy,", "entry: {side: sell,")
    ws.replace("rules/risk.yaml", "inventory: none", "inventory: holdings")
    assert ws.check() == set()


def test_final_state_reached_holding_shares_is_KX908(ws):
    ws.replace(M, HEDGE_DONE, HEDGE_DONE.replace("conditions: [hedge_complete], ", ""))
    line, col = ws.find(M, "PAIRED_DONE", after="states:")
    assert ws.check() == {(M, line, col, "KX908")}


def test_hedge_complete_under_unless_does_not_flatten_KX908(ws):
    ws.replace(M, HEDGE_DONE, HEDGE_DONE.replace("conditions: [hedge_complete]", "unless: [hedge_complete]"))
    line, col = ws.find(M, "PAIRED_DONE", after="states:")
    assert ws.check() == {(M, line, col, "KX908")}


def test_escape_hatch_to_a_final_state_after_the_entry_filled_is_KX908(ws):
    ws.append(M, "  - {trigger: hedge_rejected, source: HEDGE_IOC_SENT, dest: ENTRY_REJECTED}\n")
    line, col = ws.find(M, "ENTRY_REJECTED", after="states:")
    assert (M, line, col, "KX908") in ws.check()


def test_timer_naming_an_unknown_parameter_is_KX909(ws):
    ws.replace(M, "after_ms: t_hedge_ms,", "after_ms: t_hedge_msec,")
    line, col = ws.find(M, "t_hedge_msec")
    assert ws.check() == {(M, line, col, "KX909")}


def test_non_positive_timer_is_KX104(ws):
    ws.replace(M, "timer: {after_ms: 50, trigger: stale}", "timer: {after_ms: 0, trigger: stale}")
    line, col = ws.find(M, "0, trigger: stale")
    assert ws.check() == {(M, line, col, "KX104")}


def test_boolean_timer_is_KX103_not_one_millisecond(ws):
    ws.replace(M, "timer: {after_ms: 50, trigger: stale}", "timer: {after_ms: true, trigger: stale}")
    line, col = ws.find(M, "true, trigger: stale")
    assert ws.check() == {(M, line, col, "KX103")}


def test_transition_leaving_a_final_state_is_KX104(ws):
    ws.append(M, "  - {trigger: send, source: ENTRY_MISSED, dest: CANDIDATE}\n")
    line, col = ws.find(M, "ENTRY_MISSED, dest: CANDIDATE")
    assert (M, line, col, "KX104") in ws.check()


def test_state_declared_twice_is_KX104(ws):
    ws.replace(M, "  - {name: ENTRY_MISSED, final: true}",
               "  - {name: ENTRY_MISSED, final: true}\n  - {name: PAIRED_DONE, final: true}")
    line, col = ws.find(M, "PAIRED_DONE", after="{name: ENTRY_MISSED")
    assert (M, line, col, "KX104") in ws.check()


# --- what the engine builds from the spec ----------------------------------------------------

def test_machine_kwargs_build_a_transitions_machine(ws):
    from transitions import Machine

    ws.check()
    spec: MachineFile = ws.loaded.models["machine"]
    kwargs = machine_kwargs(spec)
    assert kwargs["initial"] == "CANDIDATE" and kwargs["auto_transitions"] is False

    class Pair:
        def hedge_complete(self):
            return True

    for name in ACTIONS:
        setattr(Pair, name, lambda self: None)
    pair = Pair()
    Machine(model=pair, **kwargs)
    assert pair.state == "CANDIDATE"
    pair.send()
    pair.entry_filled()
    assert pair.state == "HEDGE_POST_SENT"
    pair.hedge_timeout()
    pair.hedge_filled()
    assert pair.state == "PAIRED_DONE"


def test_mermaid_lists_every_transition_and_final_state(ws):
    ws.check()
    spec = ws.loaded.models["machine"]
    text = mermaid(spec)
    assert text.startswith("stateDiagram-v2\n    [*] --> CANDIDATE")
    assert "HEDGE_POST_SENT --> PAIRED_DONE: hedge_filled [hedge_complete]" in text
    for s in spec.states:
        if s.final:
            assert f"{s.name} --> [*]" in text


def test_registries_are_disjoint_and_documented():
    assert not set(ENGINE_EVENTS) & set(ACTIONS)
    assert not set(CONDITIONS) & set(ACTIONS)
    assert all(ENGINE_EVENTS.values()) and all(ACTIONS.values()) and all(CONDITIONS.values())


# --- what the machine needs from other files -------------------------------------------------

def test_leg_style_without_a_hoga_code_on_a_traded_venue_is_KX505(ws):
    # the NXT midpoint order (hoga 29) is not in KRX's map, where the hedge may have to go
    ws.replace(M, "hedge: {style: limit}", "hedge: {style: mid}")
    line, col = ws.find(M, "mid}", after="  hedge: {style: ")
    assert ws.check() == {(M, line, col, "KX505")}
    (message,) = ws.messages("KX505")
    assert message.startswith("legs.hedge.style: KRX has no 'mid' order (hoga in config/venues/kiwoom.yaml: limit")
    assert "style: {KRX: ..., NXT: ...}" in message            # the per-venue form is suggested


def test_a_leg_may_name_its_style_per_venue(ws):
    ws.replace(M, "hedge: {style: limit}", "hedge: {style: {KRX: limit, NXT: mid}}")
    assert ws.check() == set()
    legs = ws.loaded.models["machine"].legs
    assert legs.hedge.styles() == {"KRX": "limit", "NXT": "mid"}
    assert legs.entry.styles() == {"KRX": "ioc_limit", "NXT": "ioc_limit"}   # the scalar form: both venues


def test_a_per_venue_style_a_venue_lacks_is_KX505_at_that_venue(ws):
    ws.replace(M, "hedge: {style: limit}", "hedge: {style: {KRX: mid, NXT: mid}}")
    line, col = ws.find(M, "KRX: mid")
    assert ws.check() == {(M, line, col, "KX505")}
    assert ws.messages("KX505")[0].startswith("legs.hedge.style: KRX has no 'mid' order")


def test_a_style_the_rest_map_lacks_is_KX505(ws):
    ws.replace("config/venues/kiwoom_rest.yaml", ', mid: "29"}', "}")
    ws.replace(M, "hedge: {style: limit}", "hedge: {style: {KRX: limit, NXT: mid}}")
    line, col = ws.find(M, "NXT: mid")
    assert ws.check() == {(M, line, col, "KX505")}
    assert "trde_tp in config/venues/kiwoom_rest.yaml" in ws.messages("KX505")[0]


@pytest.mark.parametrize("style, where, code, text", [
    ("{KRX: limit}", "{KRX", "KX102", "missing required key 'legs.hedge.style.NXT'"),
    ("{KRX: limit, NXT: midd}", "midd", "KX104", "legs.hedge.style.NXT: Input should be 'limit'"),
    ("{KRX: limit, NXT: mid, SOR: limit}", "SOR", "KX101", "unknown key 'legs.hedge.style.SOR'"),
    ("midd", "midd", "KX104", "legs.hedge.style: Input should be 'limit'"),
])
def test_a_malformed_leg_style_is_one_located_error(ws, style, where, code, text):
    ws.replace(M, "hedge: {style: limit}", f"hedge: {{style: {style}}}")
    line, col = ws.find(M, where, after="  hedge: ")
    assert ws.check() == {(M, line, col, code)}
    (message,) = ws.messages(code)
    assert message.startswith(text), message


def test_disabled_traded_venue_is_KX505(ws):
    v = "config/venues/kiwoom.yaml"
    ws.replace(v, "  NXT:\n    enabled: true", "  NXT:\n    enabled: false")
    line, col = ws.find(v, "false", after="  NXT:")
    assert ws.check() == {(v, line, col, "KX505")}


def test_unhedged_limit_not_above_the_hedge_timer_is_KX953(ws):
    r = "rules/risk.yaml"
    ws.replace(r, "max_unhedged_ms: 3000", "max_unhedged_ms: 1000")     # t_hedge_ms is 1000 by default
    line, col = ws.find(r, "1000", after="max_unhedged_ms: ")
    assert ws.check() == {(r, line, col, "KX953")}
    ws.replace(r, "max_unhedged_ms: 1000", "max_unhedged_ms: 1001")
    assert ws.check() == set()


def test_hedge_timer_override_above_the_unhedged_limit_is_KX953(ws):
    ws.replace("config/overrides/pilot.yaml", "t_hedge_ms: 800", "t_hedge_ms: 5000")
    r = "rules/risk.yaml"
    line, col = ws.find(r, "3000")
    assert ws.check() == {(r, line, col, "KX953")}
    assert "(005930)" in ws.messages("KX953")[0]
