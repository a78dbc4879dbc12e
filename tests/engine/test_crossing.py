"""No signal without a cross: a book in which no venue's bid is above the other venue's ask (or a
quote is missing) never produces a signal, whatever the rules and their parameters, on either
evaluator path. And the one crossing predicate means the same on numpy arrays and scalars."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kxrules.config.compile import compile_profile
from kxrules.engine.crossing import direction_crossed, symbol_crossed
from kxrules.engine.evaluator import RuleEvaluator, load_compiled
from kxrules.engine.gates import Gates
from kxrules.engine.quotebook import QuoteBook
from kxrules.rules.expr import compile_expr
from kxrules.rules.variables import known_names

from .scenario import REPO

PATHS = [False] + ([True] if load_compiled() is not None else [])
# rules that admit (nearly) anything, so only the crossing test can stop a signal
PERMISSIVE_RULES = (
    None,                                                    # the shipped rules
    ("sell_bid > 0 or sell_bid <= 0",),
    ("net_edge_krw < 0 or net_edge_krw >= 0", "edge_buffer_ticks >= 0"),
    ("not (buy_ask_qty < 0)", "sellable_qty >= 0 or slice_qty > 0"),
)
PRICE = st.integers(min_value=1, max_value=3_000_000)


@pytest.fixture(scope="module")
def profile():
    return compile_profile(REPO, "pilot", dt.date(2026, 11, 23))


@st.composite
def uncrossed_quote(draw) -> tuple[int, int, int, int]:
    """(bid0, ask0, bid1, ask1) with bid1 <= ask0 and bid0 <= ask1, or a side missing (0)."""
    ask0, ask1 = draw(PRICE), draw(PRICE)
    bid0 = draw(st.integers(min_value=0, max_value=ask1))
    bid1 = draw(st.integers(min_value=0, max_value=ask0))
    quote = [bid0, ask0, bid1, ask1]
    for i in draw(st.sets(st.integers(0, 3), max_size=2)):
        quote[i] = 0                                  # a missing quote may hide any cross
        if i in (1, 3):                               # with an ask missing, the other bid is free
            quote[2 if i == 1 else 0] = draw(PRICE)
    return tuple(quote)


@st.composite
def parameters(draw, n: int) -> dict[str, np.ndarray]:
    """Per-symbol parameters anywhere inside the schema's bounds."""
    ints = lambda lo, hi: np.array(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n)), dtype=np.int64)
    floats = np.array(draw(st.lists(st.floats(0, 100), min_size=n, max_size=n)), dtype=np.float64)
    return {"slice_qty": ints(1, 1_000), "edge_buffer_ticks": floats, "min_visible_qty": ints(1, 1_000_000),
            "t_hedge_ms": ints(50, 60_000), "max_outstanding_pairs": ints(1, 10)}


@pytest.mark.parametrize("compiled", PATHS, ids=lambda c: "compiled" if c else "numpy")
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_a_book_that_does_not_cross_never_signals(profile, compiled, data):
    n = len(profile.codes)
    quotes = np.array(data.draw(st.lists(uncrossed_quote(), min_size=n, max_size=n)), dtype=np.int64)
    sizes = np.array(data.draw(st.lists(st.integers(0, 10**6), min_size=4 * n, max_size=4 * n)),
                     dtype=np.int64).reshape(4, n)
    rules = PERMISSIVE_RULES[data.draw(st.integers(0, len(PERMISSIVE_RULES) - 1))]
    kernels = tuple(compile_expr(src, known_names()) for src in rules) if rules else profile.rules
    book = QuoteBook(n)
    ev = RuleEvaluator(book, profile.cost, kernels, data.draw(parameters(n)), profile.market_idx,
                       compiled=compiled)
    ev.sellable[:, :] = sizes[:2]
    sym = np.r_[np.arange(n), np.arange(n)]
    venue = np.r_[np.zeros(n, np.int64), np.ones(n, np.int64)]
    bid = np.r_[quotes[:, 0], quotes[:, 2]]
    ask = np.r_[quotes[:, 1], quotes[:, 3]]
    book.update_batch(sym, venue, bid, ask, np.r_[sizes[2], sizes[3]], np.r_[sizes[3], sizes[2]],
                      np.full(2 * n, 1, np.int64))
    assert ev.evaluate(10, Gates.all_open(n)) is None


def test_a_crossed_book_does_signal_under_permissive_rules(profile):
    """The property above is not vacuous: the same set-up signals once one symbol crosses."""
    n = len(profile.codes)
    for compiled in PATHS:
        book = QuoteBook(n)
        ev = RuleEvaluator(book, profile.cost, (compile_expr(PERMISSIVE_RULES[1][0], known_names()),),
                           profile.params, profile.market_idx, compiled=compiled)
        book.update_batch(np.array([3, 3]), np.array([0, 1]), np.array([10_000, 10_100]),
                          np.array([10_050, 10_150]), np.array([5, 5]), np.array([5, 5]), np.array([1, 1]))
        batch = ev.evaluate(10, Gates.all_open(n))
        assert batch is not None and batch.sym.tolist() == [3] and batch.buy_venue.tolist() == [0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-1, 50), min_size=4, max_size=4))
def test_the_predicate_reads_the_same_on_scalars_and_arrays(q):
    b0, a0, b1, a1 = q
    expected = (min(q) > 0) and (b1 > a0 or b0 > a1)
    assert bool(symbol_crossed(b0, a0, b1, a1)) == expected
    arr = [np.array([x, 1]) for x in q]
    assert bool(symbol_crossed(*arr)[0]) == expected
    assert bool(direction_crossed(b0, a0, b1, a1)) == (min(q) > 0 and b1 > a0)
