"""Micro-batch decision latency: apply a batch of quote updates, evaluate the compiled rules for
both directions over the dirty symbols, emit signals. Prints one JSON line per case.

    python bench/decision.py [--iterations 2000]

A 'realistic' case crosses 2% of the updated symbols (a price gap the rules must cost out);
the 'all_crossed' case crosses every dirty symbol (the worst case: the full cost model runs on all).
The timed region is QuoteBook.update_batch plus RuleEvaluator.evaluate, as the engine calls them.
The batches are built before timing and cycled 16 at a time: a batch's quotes arrived within the
last 10 ms, so they sit in the last-level cache, not in L1 (one batch) and not in DRAM.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine, workspace_for  # noqa: E402

from kxrules.config.compile import compile_profile  # noqa: E402
from kxrules.engine.evaluator import RuleEvaluator  # noqa: E402
from kxrules.engine.gates import Gates  # noqa: E402
from kxrules.engine.quotebook import QuoteBook  # noqa: E402
from kxrules.money.ticks import tick_sizes  # noqa: E402

DAY = dt.date(2026, 11, 23)


def make_batches(profile, dirty_share: float, crossed_share: float, count: int, seed: int) -> list[tuple]:
    """``count`` distinct quote batches (sym, venue, bid, ask, bid_qty, ask_qty), made before
    timing: building them with numpy is not part of the decision and would flush the caches."""
    n = len(profile.codes)
    rng = np.random.default_rng(seed)
    ref = profile.ref_price
    tick = tick_sizes(ref)
    k = max(1, int(round(n * dirty_share)))
    batches = []
    for it in range(count):
        idx = rng.choice(n, size=k, replace=False)
        cross = rng.random(k) < crossed_share
        jitter = rng.integers(0, 3, size=k) * tick[idx]
        bid = ref[idx] - tick[idx] + jitter
        ask = bid + tick[idx]
        qty = rng.integers(100, 5000, size=k)
        nxt_bid = np.where(cross, ask + 4 * tick[idx], bid)
        nxt_ask = nxt_bid + tick[idx]
        q = np.concatenate((qty, qty + it % 2))
        batches.append((np.concatenate((idx, idx)), np.repeat(np.arange(2, dtype=np.int64), k),
                        np.concatenate((bid, nxt_bid)), np.concatenate((ask, nxt_ask)), q, q.copy()))
    return batches


def run_case(profile, dirty_share: float, crossed_share: float, iterations: int, seed: int = 1) -> dict:
    n = len(profile.codes)
    book = QuoteBook(n)
    ev = RuleEvaluator(book, profile.cost, profile.rules, profile.params, profile.market_idx)
    gates = Gates.all_open(n)
    batches = make_batches(profile, dirty_share, crossed_share, 16, seed)
    times = np.zeros(iterations, dtype=np.int64)
    signals = 0
    now = 0
    for it in range(iterations + 50):
        sym, venue, bid, ask, bid_qty, ask_qty = batches[it % len(batches)]
        now += 10_000_000
        ts = np.full(len(sym), now, dtype=np.int64)
        t0 = time.perf_counter_ns()
        book.update_batch(sym, venue, bid, ask, bid_qty, ask_qty, ts)
        out = ev.evaluate(now, gates)
        t1 = time.perf_counter_ns()
        ev.next_eligible_ns[:] = 0            # keep every symbol eligible for the next batch
        if it >= 50:                          # warm-up excluded
            times[it - 50] = t1 - t0
            signals += len(out) if out is not None else 0
    us = times / 1000
    return {"symbols": n, "dirty_share": dirty_share, "crossed_share": crossed_share,
            "p50_us": round(float(np.percentile(us, 50)), 1), "p99_us": round(float(np.percentile(us, 99)), 1),
            "signals_per_batch": round(signals / iterations, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--iterations", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for n in (200, 2000):
            ws = workspace_for(Path(tmp), n)
            profile = compile_profile(ws, "pilot", DAY)
            for dirty in (0.10, 0.50, 1.00):
                for case, crossed in (("realistic", 0.02), ("all_crossed", 1.0)):
                    res = run_case(profile, dirty, crossed, args.iterations)
                    res.update(bench="decision", case=case, machine=machine(),
                               python=platform.python_version())
                    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
