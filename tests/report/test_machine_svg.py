"""The pair machine drawing: every state and transition drawn, the run's counts shown, cycles and
unreachable states laid out, names escaped."""
from __future__ import annotations

import json
import re

from kxrules.config.schema.machine import MachineFile
from kxrules.report import machine_svg


def _shipped(recording) -> MachineFile:
    con = recording.con()
    config = json.loads(con.execute("SELECT config_json FROM runs WHERE run_id = 1").fetchone()[0])
    return MachineFile.model_validate(config["files"]["machine"])


def _nodes(svg: str) -> dict[str, tuple[float, float]]:
    return {name: (float(x), float(y)) for x, y, name in
            re.findall(r'<g class="node[^"]*"><rect x="([\d.]+)" y="([\d.]+)".*?<title>([^<]+)</title></g>', svg)}


def test_shipped_machine_draws_every_state_and_transition(recording):
    machine = _shipped(recording)
    svg = str(machine_svg.draw(machine, {("CANDIDATE", "ENTRY_TAKE_SENT", "send"): 37}))
    nodes = _nodes(svg)
    assert set(nodes) == {s.name for s in machine.states}
    for t in machine.transitions:
        for src in t.sources:
            assert re.search(rf"<title>{src} → {t.dest}: [^<]*{t.trigger}", svg), (src, t.dest, t.trigger)
    assert "send ×37" in svg and 'class="edge used"' in svg
    assert svg.count('class="node final"') == sum(s.final for s in machine.states)
    # layered top to bottom: the initial state is above every other, the completed pair below the hedge
    top = nodes[machine.initial][1]
    assert all(y > top for n, (_, y) in nodes.items() if n != machine.initial)
    assert nodes["PAIRED_DONE"][1] > nodes["HEDGE_POST_SENT"][1]
    # no two states overlap
    boxes = list(nodes.values())
    for i, (x1, y1) in enumerate(boxes):
        for x2, y2 in boxes[i + 1:]:
            assert abs(y1 - y2) > 1 or abs(x1 - x2) >= machine_svg.NODE_W, "overlapping states"


def test_cycles_unreachable_states_and_hostile_names():
    machine = MachineFile.model_validate({
        "name": "odd", "initial": "A",
        "states": [{"name": "A", "timer": {"after_ms": "t_hedge_ms", "trigger": "go"}},
                   {"name": "B"}, {"name": "<script>x</script>"}, {"name": "LOST"}, {"name": "DONE", "final": True}],
        "transitions": [{"trigger": "go", "source": "A", "dest": "B"},
                        {"trigger": "back", "source": "B", "dest": "A"},
                        {"trigger": "again", "source": "B", "dest": "B"},
                        {"trigger": "skip", "source": ["A", "B"], "dest": "<script>x</script>"},
                        {"trigger": "end", "source": "<script>x</script>", "dest": "DONE"},
                        {"trigger": "jump", "source": "A", "dest": "DONE"}]})
    svg = str(machine_svg.draw(machine))
    assert "<script" not in svg and "&lt;script&gt;x&lt;/script&gt;" in svg
    assert "after t_hedge_ms → go" in svg
    nodes = _nodes(svg)
    assert len(nodes) == 5 and "LOST" in nodes
    assert svg.count('marker-end="url(#arrow)"') == 7          # A→B, B→A, B→B, A→x, B→x, x→DONE, A→DONE
