"""The compiled decision kernel and the numpy evaluator raise the same signals, in the same
order, and leave the same cooldowns and dirty flags (the numpy path is the reference)."""
from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from kxrules.config.compile import compile_profile
from kxrules.engine.engine import leg_liquidity
from kxrules.engine.evaluator import RuleEvaluator, load_compiled
from kxrules.engine.gates import Gates
from kxrules.engine.quotebook import QuoteBook
from kxrules.money.ticks import tick_sizes
from kxrules.rules.expr import compile_expr
from kxrules.rules.variables import known_names

from .scenario import REPO

pytestmark = pytest.mark.skipif(load_compiled() is None, reason="the compiled kernel is unavailable (numba missing or KXRULES_NO_JIT)")
COLUMNS = ("sym", "buy_venue", "buy_price", "sell_price", "buy_qty_visible", "sell_qty_visible", "qty",
           "gross_edge_krw", "cost_krw", "net_edge_krw", "quote_ts_ns")


@pytest.fixture(scope="module")
def profile():
    return compile_profile(REPO, "pilot", dt.date(2026, 11, 23))


def _pair(profile, rules=None):
    books = [QuoteBook(len(profile.codes)) for _ in range(2)]
    evs = [RuleEvaluator(b, profile.cost, rules or profile.rules, profile.params, profile.market_idx,
                         miss_cooldown_ms=150, compiled=c) for b, c in zip(books, (True, False))]
    assert evs[0].compiled and not evs[1].compiled
    return books, evs


# rules a risk owner might write, over market variables and per-symbol parameters, with the
# edge cases of the fail-closed semantics (division by zero, NaN through min/max, not/or chains)
RULE_SETS = [
    None,
    ("net_edge_krw / (sellable_qty - 1) > 0 or not (buy_ask_qty >= min_visible_qty)",),
    ("max(gross_edge_krw % 7, cost_krw // (sellable_qty - 1)) != 3", "abs(-net_edge_ticks) >= edge_buffer_ticks"),
    ("1 <= sell_bid_qty - buy_ask_qty < 2000 and (slice_qty * 2) ** 2 > 3",
     "min(net_edge_ticks, t_hedge_ms / 1000) >= edge_buffer_ticks or sellable_qty == 2"),
    ("buy_quote_age_ms < 4 and sell_quote_age_ms <= 6.5", "net_edge_krw > 0"),    # fresh quotes only
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("rule_set", range(len(RULE_SETS)))
def test_random_books_give_identical_signals(profile, seed, rule_set):
    rng = np.random.default_rng(seed)
    n = len(profile.codes)
    ref = profile.ref_price
    tick = tick_sizes(ref)
    sources = RULE_SETS[rule_set]
    rules = tuple(compile_expr(src, known_names()) for src in sources) if sources else None
    books, evs = _pair(profile, rules)
    now = 0
    signals = cooled = 0
    for step in range(300):
        now += 10_000_000
        k = int(rng.integers(1, n))
        sym = np.concatenate([rng.choice(n, size=k, replace=False)] * 2)
        venue = np.r_[np.zeros(k, np.int64), np.ones(k, np.int64)]
        gap = rng.integers(-2, 7, size=2 * k) * tick[sym]                 # some crossed, most not
        bid = ref[sym] - tick[sym] + np.where(venue == 1, gap, 0)
        ask = bid + tick[sym] * rng.integers(1, 3, size=2 * k)
        empty = rng.random(2 * k) < 0.02                                   # an empty side now and then
        bid = np.where(empty, 0, bid)
        qty = rng.integers(0, 3000, size=2 * k)
        ts = now - rng.integers(0, 10_000_000, size=2 * k)
        # about one symbol in ten kept out, by each gate in turn
        gates = Gates(rng.random(n) < 0.03, rng.random(n) < 0.03, rng.random(n) < 0.03,
                      rng.integers(0, 3, size=n), np.full(n, 2, dtype=np.int64))
        quiet = step % 7 == 6                 # now and then a quiet window: tops set, nothing dirtied
        for book, ev in zip(books, evs):
            if quiet:
                book.overwrite(sym, venue, bid, ask, qty, qty + 1, ts)
            else:
                book.update_batch(sym, venue, bid, ask, qty, qty + 1, ts)
            ev.sellable[:, :] = step % 3
        cooling_before = evs[1].next_eligible_ns.copy()
        a, b = (ev.evaluate(now, gates) for ev in evs)
        assert (a is None) == (b is None), step
        # each path lists the symbols it cooled: those whose cooldown moved, ascending
        moved = np.flatnonzero(evs[1].next_eligible_ns != cooling_before).tolist()
        assert evs[0].cooled == evs[1].cooled == moved, step
        if a is not None:
            signals += len(a)
            for col in COLUMNS:
                assert getattr(a, col).tolist() == getattr(b, col).tolist(), (step, col)
        assert evs[0].next_eligible_ns.tolist() == evs[1].next_eligible_ns.tolist()
        cooled += int((evs[1].next_eligible_ns > now).sum())
        assert books[0].dirty.tolist() == books[1].dirty.tolist()
        for name in ("bid", "ask", "bid_qty", "ask_qty", "changed_ns"):
            assert getattr(books[0], name).tolist() == getattr(books[1], name).tolist()
    assert signals > 0 and cooled > 0          # the rules both admitted and refused gaps


T, M = "taker", "maker"


@pytest.mark.parametrize("entry_side, entry_style, hedge_style, expected", [
    ("buy", "ioc_limit", "limit", ({"KRX": T, "NXT": T}, {"KRX": T, "NXT": T})),
    ("buy", "ioc_limit", "mid", ({"KRX": T, "NXT": T}, {"KRX": M, "NXT": M})),   # the resting sell hedge pays maker
    ("sell", "ioc_limit", "mid", ({"KRX": M, "NXT": M}, {"KRX": T, "NXT": T})),  # here the hedge is the buy leg
    # per venue: the hedge rests at NXT's midpoint (maker) and is a limit at KRX (taker)
    ("buy", "ioc_limit", {"KRX": "limit", "NXT": "mid"}, ({"KRX": T, "NXT": T}, {"KRX": T, "NXT": M})),
])
def test_each_leg_is_costed_with_the_fee_schedule_its_style_pays(profile, entry_side, entry_style,
                                                                  hedge_style, expected):
    from kxrules.config.schema.machine import EntryLeg, HedgeLeg, Legs

    legs = Legs(entry=EntryLeg(side=entry_side, style=entry_style), hedge=HedgeLeg(style=hedge_style))
    assert leg_liquidity(legs) == expected
    n = len(profile.codes)
    sym = profile.codes.index("005930")
    price, tick = int(profile.ref_price[sym]), int(tick_sizes(profile.ref_price[sym:sym + 1])[0])
    for compiled, buy in ((True, 0), (False, 0), (True, 1), (False, 1)):
        buy_venue, sell_venue = ("KRX", "NXT") if buy == 0 else ("NXT", "KRX")
        book = QuoteBook(n)
        ev = RuleEvaluator(book, profile.cost, (compile_expr("gross_edge_krw > 0", known_names()),),
                           profile.params, profile.market_idx, expected, compiled=compiled)
        # the buy venue offers at price; the other bids 3 ticks above
        book.update_batch(np.array([sym, sym]), np.array([buy, 1 - buy]), np.array([price - tick, price + 3 * tick]),
                          np.array([price, price + 4 * tick]), np.array([500, 500]), np.array([500, 500]),
                          np.array([1, 1]))
        batch = ev.evaluate(10, Gates.all_open(n))
        assert batch.buy_venue.tolist() == [buy]
        qty = int(batch.qty[0])
        market = profile.symbols[sym].market
        cost = (profile.cost.fee(buy_venue, "buy", price, qty, expected[0][buy_venue])
                + profile.cost.fee(sell_venue, "sell", price + 3 * tick, qty, expected[1][sell_venue])
                + profile.cost.tax(market, "sell", price + 3 * tick, qty))
        assert batch.cost_krw.tolist() == [cost], compiled
