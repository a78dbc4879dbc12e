"""One vectorised pass of the compiled rules over the dirty, armed, not-cooling symbols.

Both directions are looked at together on the (venue, symbol) book arrays: direction d buys on
venue d at its ask and sells on the other venue at its bid. Only candidates whose sell bid is
above the buy ask (without a price gap no trade can make money) are gathered, costed with the
cost tables and run through every compiled kernel; survivors come out as one columnar
:class:`SignalBatch`, ordered deterministically (largest net edge, then symbol, then direction).
A gap the rules refuse cools its symbol for cooldown_ms so a flickering edge does not thrash.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any, Callable

import numpy as np

from .. import compiled
from ..money.fees import CostModel
from ..rules.expr import CompiledExpr, raw_kernel
from ..money.ticks import TICK_BANDS, TOP_TICK
from ..rules.program import compile_programs
from ..rules.variables import CostTables, ParameterTable, rule_variables, variable_slots
from ..seoul import NS_PER_MS
from .crossing import direction_crossed
from .gates import Gates
from .quotebook import QuoteBook

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile


@dataclass(slots=True)
class Signal:
    """One admitted-or-refused candidate (built only for rows admission looks at)."""

    sym: int
    buy_venue: int
    sell_venue: int
    buy_price: int
    sell_price: int
    buy_qty_visible: int
    sell_qty_visible: int
    qty: int
    gross_edge_krw: int
    cost_krw: int
    net_edge_krw: int
    quote_ts_ns: int          # when the quote that made the symbol dirty arrived (tick->signal)

    @classmethod
    def from_row(cls, row: list[int]) -> "Signal":
        """From one row of a SignalBatch (``COLUMNS`` order) as Python ints."""
        sym, bv, qts, bp, sp, bq, sq, qty, gross, cost, net = row
        return cls(sym, bv, 1 - bv, bp, sp, bq, sq, qty, gross, cost, net, qts)


VALUE_COLUMNS = ("buy_price", "sell_price", "buy_qty_visible", "sell_qty_visible", "qty",
                 "gross_edge_krw", "cost_krw", "net_edge_krw")
COLUMNS = ("sym", "buy_venue", "quote_ts_ns") + VALUE_COLUMNS
_COLUMN_INDEX = {name: i for i, name in enumerate(COLUMNS)}


class SignalBatch:
    """Signals of one batch, in admission order, as one (k, 11) int64 matrix; every name of
    ``COLUMNS`` reads as a column view (``batch.sym``, ``batch.net_edge_krw``, ...)."""

    __slots__ = ("rows",)

    def __init__(self, rows: np.ndarray):
        self.rows = rows

    def __len__(self) -> int:
        return len(self.rows)

    def __getattr__(self, name: str) -> np.ndarray:
        try:
            return self.rows[:, _COLUMN_INDEX[name]]
        except KeyError:
            raise AttributeError(name) from None


def load_compiled() -> ModuleType | None:
    """The decision kernels module, or None (see ``kxrules.compiled``)."""
    return compiled.load("kxrules.engine.decide_jit")


class RuleEvaluator:
    """Evaluates a batch with the compiled kernel when available, else with numpy; both give
    the same signals (tested), the numpy one being the reference and the portable fallback."""

    def __init__(self, book: QuoteBook, cost: CostModel, kernels: tuple[CompiledExpr, ...],
                 params: dict[str, np.ndarray], market_idx: np.ndarray,
                 liquidity: tuple[str | Mapping[str, str], str | Mapping[str, str]] = ("taker", "taker"),
                 miss_cooldown_ms: int = 0, compiled: bool = True):
        self.book = book
        self.kernels = tuple(raw_kernel(k) for k in kernels)
        self.n = book.n
        self.tables = CostTables(cost, market_idx, *liquidity)      # (buy leg, sell leg)
        self.params = ParameterTable(params)
        self.miss_cooldown_ns = int(miss_cooldown_ms) * NS_PER_MS
        # symbol muted until this time (cooldown after a miss/reject/back-off), ns
        self.next_eligible_ns = np.zeros(self.n, dtype=np.int64)
        self.sellable = np.zeros((2, self.n), dtype=np.int64)   # per venue, shares we may sell
        self._flat = tuple(a.reshape(-1) for a in (book.bid, book.ask, book.bid_qty, book.ask_qty))
        self._sellable_flat = self.sellable.reshape(-1)
        jit = load_compiled() if compiled else None
        self._decide: Callable[..., tuple[int, int]] | None = jit.decide if jit is not None else None
        # the symbols the last evaluate() cooled (a refused gap), ascending: each needs its wake-up
        self.cooled: list[int] = []
        self._cooled = np.zeros(self.n, dtype=np.int64)
        if jit is not None:
            book.use_compiled(jit)
            programs = compile_programs(kernels, variable_slots())
            t = self.tables
            ticks = [(b, t_) for b, t_ in TICK_BANDS] + [(np.iinfo(np.int64).max, TOP_TICK)]
            # the kernel's constant inputs, packed into few arrays (each argument costs a dispatch)
            self._model = (t.rates, np.stack([t.divisor, t.unit, t.on_sell.astype(np.int64), t.mode]),
                           np.hstack([self.params.ints.astype(np.float64), self.params.floats]),
                           programs.code, programs.consts, np.stack([programs.start, programs.length], axis=1),
                           np.array(ticks, dtype=np.int64))
            self._scratch = np.zeros((jit.N_MARKET + programs.max_stack + 1, 2 * self.n))
            self._out = np.zeros((2 * self.n, len(COLUMNS)), dtype=np.int64)
            self._compile_now(jit)

    def _compile_now(self, jit: Any) -> None:
        """numba compiles a kernel at its first call: make that now, at start-up, and not at the
        day's first crossing quote (seconds on a fresh install, while a live market moves on).
        The calls see copies of the book and no dirty symbol, so they change nothing."""
        book = self.book
        top, changed, since = book.top.copy(), book.changed_ns.copy(), book.dirty_since.copy()
        clean = np.zeros_like(book.dirty)
        jit.decide(top, changed, clean, since, *Gates.all_open(self.n), self.next_eligible_ns.copy(),
                   self.sellable.copy(), 0,
                   self.miss_cooldown_ns, *self._model, self._scratch, self._out, self._cooled.copy())
        none = np.zeros(0, dtype=np.int64)
        jit.apply_quotes(top, changed, clean.copy(), since, none, none, none, none, none, none, none)
        jit.overwrite_quotes(top, changed, none, none, none, none, none, none, none)

    @property
    def compiled(self) -> bool:
        return self._decide is not None

    def cool(self, sym: int, until_ns: int) -> None:
        if until_ns > self.next_eligible_ns[sym]:
            self.next_eligible_ns[sym] = until_ns

    def evaluate(self, now_ns: int, gates: Gates) -> SignalBatch | None:
        """Signals of the dirty symbols ``gates`` let trade (and that no miss is cooling).
        ``cooled`` then lists the symbols whose cooldown a refused gap started or extended."""
        if self.cooled:
            self.cooled = []
        if not self.book.any_dirty:
            return None
        if self._decide is not None:
            return self._evaluate_compiled(now_ns, gates)
        return self._evaluate_numpy(now_ns, gates.eligible())

    def _evaluate_compiled(self, now_ns: int, gates: Gates) -> SignalBatch | None:
        book, decide = self.book, self._decide
        assert decide is not None, "evaluate() chose the compiled path"
        book.any_dirty = False
        k, n_cooled = decide(book.top, book.changed_ns, book.dirty, book.dirty_since, *gates, self.next_eligible_ns,
                             self.sellable, now_ns, self.miss_cooldown_ns, *self._model, self._scratch, self._out,
                             self._cooled)
        if n_cooled:
            self.cooled = self._cooled[:n_cooled].tolist()
        if k == 0:
            return None
        return SignalBatch(self._out[:k].copy())      # the buffer is reused by the next batch

    def _evaluate_numpy(self, now_ns: int, eligible: np.ndarray) -> SignalBatch | None:
        book = self.book
        look = book.dirty & eligible & (self.next_eligible_ns <= now_ns)
        book.dirty[:] = False
        book.any_dirty = False
        bid, ask = book.bid, book.ask
        crossed = direction_crossed(bid, ask, bid[::-1], ask[::-1]) & look     # (direction, symbol)
        direction, sym = np.nonzero(crossed)
        if sym.size == 0:
            return None
        n = self.n
        fb, fa, fbq, faq = self._flat
        buy_at = direction * n + sym
        sell_at = (1 - direction) * n + sym
        k = sym.size
        with np.errstate(all="ignore"):
            env = rule_variables(self.tables, self.params, direction, sym, fa[buy_at], faq[buy_at],
                                 fb[sell_at], fbq[sell_at], self._sellable_flat[sell_at],
                                 (now_ns - book.changed_ns[direction, sym]) / 1e6,
                                 (now_ns - book.changed_ns[1 - direction, sym]) / 1e6)
            ok = np.ones(k, dtype=bool)
            for kern in self.kernels:
                ok &= kern(env)
        if self.miss_cooldown_ns and not ok.all():
            missed = sym[~ok]
            until = now_ns + self.miss_cooldown_ns
            self.cooled = np.unique(missed[self.next_eligible_ns[missed] < until]).tolist()
            self.next_eligible_ns[missed] = np.maximum(self.next_eligible_ns[missed], until)
        hit = np.flatnonzero(ok)
        if hit.size == 0:
            return None
        if hit.size > 1:
            order = hit[np.lexsort((direction[hit], sym[hit], -env["net_edge_krw"][hit]))]
        else:
            order = hit
        s = sym[order]
        return SignalBatch(np.stack([s, direction[order], book.dirty_since[s]]
                                    + [env[name][order] for name in ("buy_ask", "sell_bid", "buy_ask_qty",
                                                                     "sell_bid_qty", "slice_qty", "gross_edge_krw",
                                                                     "cost_krw", "net_edge_krw")], axis=1))


def compile_kernels(profile: CompiledProfile) -> None:
    """Compile the rule kernels for ``profile`` now (a throwaway evaluator): a session does it
    before it reaches the broker, so that a wall-time market never waits for the compiler."""
    RuleEvaluator(QuoteBook(len(profile.codes)), profile.cost, profile.rules, profile.params, profile.market_idx)
