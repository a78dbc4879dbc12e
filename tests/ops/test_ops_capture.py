"""The engine's thread only copies (``Capturer``) and sends the copy to the view's process over
the link; the view renders from the copy alone: a capture taken mid-pair and rendered after the
run has ended still shows that instant (the gap's prices, the live pair, the entry's order in the
feed), its arrays are read-only copies, the last capture crosses the link, and the board renders
only when a viewer asks, once per capture."""
from __future__ import annotations

import json
import os
import re

import numpy as np
import pytest

from kxrules.engine.controls import OperatorControls
from kxrules.engine.engine import Engine
from kxrules.ops.board import Board
from kxrules.ops.capture import Capturer, FeedTap
from kxrules.ops.link import EngineLink, ViewLink, map_region, new_region
from kxrules.ops.pump import OpsPump
from kxrules.ops.snapshot import SnapshotRenderer, ViewProfile
from kxrules.ops.view import cost_line

from ..engine.scenario import MS, Quotes, at, run
from ..engine.test_limits import CODE, gap


@pytest.fixture
def view(monkeypatch):
    """The ops view's engine side on the scenario's engine: the pump from the start, and a capture
    every 10 ms of 09:05:00-09:05:01 (each with the engine's own book at that instant)."""
    held: dict = {"captures": []}
    attach = Engine.attach

    def attach_with_view(self, adapter):
        ex = attach(self, adapter)
        tap = FeedTap()
        self.recorder.tap = tap
        capturer = Capturer(self, tap)
        region, handle = new_region()
        link = EngineLink(region)
        held.update(view_end=ViewLink(map_region(handle)))
        os.close(handle)
        pump = OpsPump(self, link, capturer, OperatorControls(self))
        held.update(engine=self, link=link, pump=pump)

        def take():
            held["captures"].append((capturer.capture(), self.book.top.copy()))
        for t in range(at("09:05:00"), at("09:05:01"), 10 * MS):
            self.clock.call_at(t, take)
        pump.start()
        return ex
    monkeypatch.setattr(Engine, "attach", attach_with_view)
    return held


def test_a_capture_rendered_after_the_run_shows_its_instant(tmp_path, view):
    q = Quotes().steady(CODE, 99_900, 100_000, end="09:07:00")
    gap(q, "09:05:00")
    _, con = run(tmp_path, q, until="09:07:00")
    engine, link, pump = view["engine"], view["link"], view["pump"]
    pump.stop("stopped: test")

    cap, book_then = next((c, top) for c, top in view["captures"]
                          if c.live_pairs and any(table == "order_events" for table, _, _ in c.feed))
    assert np.array_equal(cap.top, book_then)
    assert not np.shares_memory(cap.top, engine.book.top) and not cap.top.flags.writeable
    assert not cap.changed_ns.flags.writeable and not cap.cooling.flags.writeable
    # the engine moved on
    assert engine.clock.now_ns() > cap.now_ns + 60_000 * MS and not any(engine.execution.active.values())
    engine.book.top[...] = 0                                # and whatever it does to its state now
    engine.guard.vi[:] = True
    engine.execution.position[0] = 7

    doc = json.loads(SnapshotRenderer(ViewProfile.of(engine.profile)).render(cap))   # after the run: from the copy
    assert doc["now_ns"] == cap.now_ns and doc["t"].startswith("09:05:00.")
    symbols = doc["symbols"]
    assert symbols["code"] == [CODE] and symbols["name"] == ["삼성전자"]
    assert (symbols["ask"][0], symbols["bid"][1]) == ([100_000], [100_400])     # the gap, as it was
    assert symbols["gap_ticks"] == [4] and symbols["direction"] == ["KRX→NXT"]
    assert symbols["net_edge_krw"][0] is not None and symbols["live_pairs"] == [1]
    assert symbols["state"] != ["VI"] and symbols["position"] != [7]
    (pair,) = doc["pairs"]
    live = cap.live_pairs[0]
    assert (pair["pair_id"], pair["state"], pair["buy"], pair["sell"]) == (live.pair_id, live.state, "KRX", "NXT")
    orders = [f["text"] for f in doc["feed"] if f["kind"] == "order"]
    assert orders and all(re.fullmatch(r"\w+(?: \(late\))?: entry buy KRX \d+@100,000.*", t) for t in orders), orders

    # the pump: ticks on the engine's clock, captures at its bounded rate, the last one at stop
    assert pump.ticks > 1 and 1 <= pump.captures <= pump.ticks + 1 and pump.engine_ns > 0
    # what the view's process reads: the last capture
    seq, last = view["view_end"].latest()
    assert seq == pump.captures == link.seq
    board = Board(SnapshotRenderer(ViewProfile.of(engine.profile)).render)
    board.publish(last)
    final = json.loads(board.latest()[1])
    assert final["top"]["ended"] and final["top"]["result"] == "stopped: test" and final["pairs"] == []
    assert final["top"]["pairs_done"] == con.execute("SELECT count(*) FROM pairs").fetchone()[0] >= 1
    assert re.fullmatch(r"ops view: engine thread [\d.]+ ms in \d+ ticks, \d+ captures \([\d.]+% of [\d.]+ s\); "
                        r"\d+ kB shared with the view's process", cost_line(pump, link))
    con.close()


def test_the_board_renders_only_when_asked_and_once_per_capture():
    rendered: list[str] = []

    def render(capture: str) -> bytes:
        rendered.append(capture)
        return capture.encode()
    board = Board(render)
    for name in ("first", "second", "third"):
        board.publish(name)
    assert rendered == []                                   # no viewer, no rendering
    assert board.latest() == (3, b"third") and board.latest() == (3, b"third")
    board.publish("fourth")
    assert board.latest() == (4, b"fourth")
    assert rendered == ["third", "fourth"] and board.renders == 2
