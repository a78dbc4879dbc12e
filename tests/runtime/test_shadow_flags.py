"""The fast replay's shadow pass and its delivery into the engine's book: the compiled passes and
their numpy twins give the same flags, crossing rows and shadow book chunk after chunk, and put
the same quotes into the book with the same dirty marks (none on a symbol the gates close), run
after run."""
from __future__ import annotations

from collections import deque
from types import SimpleNamespace

import numpy as np
import pytest

from kxrules import compiled
from kxrules.engine.gates import Gates
from kxrules.engine.quotebook import QuoteBook
from kxrules.marketdata.quote_format import QuoteBatch
from kxrules.runtime.fast import NOTHING_DUE, FastReplay, _Run
from kxrules.runtime.shadow import CHANGED, CROSSING, ShadowBook

jit = compiled.load("kxrules.runtime.shadow_jit")
pytestmark = pytest.mark.skipif(jit is None, reason="numba is not installed or KXRULES_NO_JIT is set")
N = 7


def _chunks(seed: int, count: int = 30):
    """Random chunks with few price levels and sizes, so that repeats (unchanged quotes) and
    crosses both happen, and with their delivery times."""
    rng = np.random.default_rng(seed)
    t = 0
    for _ in range(count):
        rows = int(rng.integers(1, 400))
        sym = rng.integers(0, N, rows)
        venue = rng.integers(0, 2, rows)
        bid = rng.integers(0, 4, rows) * 10
        ask = np.where(bid > 0, bid + rng.integers(-1, 3, rows) * 10, rng.integers(0, 2, rows) * 10)
        bq = rng.integers(0, 3, rows)
        aq = rng.integers(0, 3, rows)
        d = t + np.cumsum(rng.integers(0, 3, rows))
        t = int(d[-1])
        yield QuoteBatch(d.copy(), sym, venue, bid, ask, bq, aq), d


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_shadow_passes_agree(seed):
    compiled_book, numpy_book = ShadowBook(N), ShadowBook(N, use_jit=False)
    seen = set()
    for batch, _ in _chunks(seed):
        got, want = compiled_book.mark(batch), numpy_book.mark(batch)
        assert got.flags.tolist() == want.flags.tolist()
        assert got.hot.tolist() == want.hot.tolist() == np.flatnonzero(want.flags & CROSSING).tolist()
        assert compiled_book.px.tolist() == numpy_book.px.tolist()
        assert compiled_book.sz.tolist() == numpy_book.sz.tolist()
        seen.update(want.flags.tolist())
    assert seen == {0, CHANGED, CHANGED | CROSSING}


def _host(use_jit: bool, gates: Gates, cooling: np.ndarray) -> SimpleNamespace:
    engine = SimpleNamespace(book=QuoteBook(N), gates=gates,
                             evaluator=SimpleNamespace(next_eligible_ns=cooling))
    host = SimpleNamespace(runs=deque(), engine=engine, _jit=jit if use_jit else None, _next_due=NOTHING_DUE)
    host._deliver = lambda now, g: FastReplay._deliver(host, now, g)
    host._queue = lambda run: FastReplay._queue(host, run)
    return host


def _gates(rng: np.random.Generator) -> tuple[Gates, np.ndarray]:
    """Gates that close some symbols: muted, frozen, at their cap of live pairs, or cooling."""
    muted, operator_muted, frozen = (rng.random(N) < 0.15 for _ in range(3))
    live = rng.integers(0, 2, N)
    return Gates(muted, operator_muted, frozen, live, np.ones(N, dtype=np.int64)), np.zeros(N, dtype=np.int64)


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_deliveries_agree(seed):
    """Runs queue up and are delivered by windows that end inside a run, at its end, or past
    several runs; both ways leave the same book, marks and heads."""
    rng = np.random.default_rng(100 + seed)
    gates, cooling = _gates(rng)
    hosts = [_host(True, gates, cooling), _host(False, gates, cooling)]
    shadow = ShadowBook(N)
    marked, mid_run = set(), 0
    for batch, d in _chunks(seed):
        chunk = shadow.mark(batch)
        cols = (batch.code_idx, batch.venue_idx, batch.bid, batch.ask, batch.bid_qty, batch.ask_qty)
        for host in hosts:
            host._queue(_Run(cols, d, chunk.flags))
        if rng.random() < 0.6:
            now = int(d[0] + rng.integers(-5, int(d[-1] - d[0]) + 5))
            cooling[:] = np.where(rng.random(N) < 0.2, now + rng.integers(-1, 2, N), 0)
            results = [FastReplay._sync(host, now) for host in hosts]
            assert results[0] == results[1]
            marked.add(results[0])
            mid_run += bool(hosts[0].runs) and hosts[0].runs[0].head > 0
            a, b = (h.engine.book for h in hosts)
            assert a.top.tolist() == b.top.tolist()
            assert a.changed_ns.tolist() == b.changed_ns.tolist()
            assert a.dirty.tolist() == b.dirty.tolist()
            assert a.dirty_since[a.dirty].tolist() == b.dirty_since[b.dirty].tolist()
            assert [(r.head, r.tail) for r in hosts[0].runs] == [(r.head, r.tail) for r in hosts[1].runs]
            for h in hosts:                        # the engine's batch takes the marks
                h.engine.book.dirty[:] = False
    assert True in marked and mid_run > 0


def test_a_crossing_quote_marks_only_a_symbol_the_gates_leave_open():
    """A closed symbol's crossing quote goes into the book unmarked (no batch for it)."""
    gates, cooling = _gates(np.random.default_rng(0))
    gates.muted[:] = gates.operator_muted[:] = gates.frozen[:] = False
    gates.live[:] = 0
    gates.muted[1] = True
    cooling[2] = 11                          # cooling until after the delivery below
    shadow = ShadowBook(N)
    sym = np.array([0, 0, 1, 1, 2, 2])
    venue = np.array([0, 1, 0, 1, 0, 1])
    bid, ask = np.array([100, 120] * 3), np.array([110, 130] * 3)      # venue 1's bid above venue 0's ask
    d = np.arange(6) + 5
    size = np.ones(6, dtype=np.int64)
    chunk = shadow.mark(QuoteBatch(d, sym, venue, bid, ask, size, size))
    assert chunk.hot.tolist() == [1, 3, 5]
    for use_jit in (True, False):
        host = _host(use_jit, gates, cooling)
        host._queue(_Run((sym, venue, bid, ask, size, size), d, chunk.flags))
        assert FastReplay._sync(host, 10) is True
        book = host.engine.book
        assert book.dirty.tolist() == [True] + [False] * (N - 1)
        assert book.bid[1].tolist()[:3] == [120, 120, 120]         # every quote is in the book

