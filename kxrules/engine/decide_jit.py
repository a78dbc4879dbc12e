"""The decision batch as one compiled pass (numba), for 64-bit research machines.

Semantically identical to :meth:`RuleEvaluator._evaluate_numpy` (tests compare them): for every
dirty, eligible, not-cooling symbol with both venues two-sided, each direction whose sell bid is
above the buy ask is costed with the same integer cost tables and run through the rules' postfix
programs (``rules/program.py``). Importing this module imports numba: the evaluator does so only
when numba is installed (it is not on 32-bit Windows, where the live control runs; the numpy path
serves there).
"""
from __future__ import annotations

import numpy as np
from numba import njit

from ..rules import program as P

# slots of the per-candidate value vector (rules.variables decides which names map where)
N_MARKET = 10


@njit(cache=True, error_model="numpy")
def _run_program(code, consts, start, length, vals, stack):
    sp = 0
    for i in range(start, start + length):
        op = code[i, 0]
        arg = code[i, 1]
        if op == P.VAR:
            stack[sp] = vals[arg]
            sp += 1
        elif op == P.CONST:
            stack[sp] = consts[arg]
            sp += 1
        elif op == P.NEG:
            stack[sp - 1] = -stack[sp - 1]
        elif op == P.POS:
            pass
        elif op == P.NOT:
            stack[sp - 1] = 0.0 if stack[sp - 1] != 0.0 else 1.0
        elif op == P.ABS:
            stack[sp - 1] = abs(stack[sp - 1])
        elif op == P.POW:
            stack[sp - 1] = stack[sp - 1] ** arg
        elif op == P.AND or op == P.OR or op == P.MIN or op == P.MAX:
            base = sp - arg
            acc = stack[base]
            for j in range(base + 1, sp):
                x = stack[j]
                if op == P.AND:
                    acc = 1.0 if (acc != 0.0 and x != 0.0) else 0.0
                elif op == P.OR:
                    acc = 1.0 if (acc != 0.0 or x != 0.0) else 0.0
                elif acc != acc or x != x:
                    acc = np.nan
                elif op == P.MIN:
                    acc = x if x < acc else acc
                else:
                    acc = x if x > acc else acc
            if op == P.AND or op == P.OR:
                acc = 1.0 if acc != 0.0 else 0.0
            stack[base] = acc
            sp = base + 1
        else:
            b = stack[sp - 1]
            a = stack[sp - 2]
            sp -= 1
            if op == P.ADD:
                r = a + b
            elif op == P.SUB:
                r = a - b
            elif op == P.MUL:
                r = a * b
            elif op == P.DIV:
                r = np.nan if b == 0.0 else a / b
            elif op == P.FLOORDIV:
                r = np.nan if b == 0.0 else a // b
            elif op == P.MOD:
                r = np.nan if b == 0.0 else a % b
            elif op == P.LT:
                r = 1.0 if a < b else 0.0
            elif op == P.LE:
                r = 1.0 if a <= b else 0.0
            elif op == P.GT:
                r = 1.0 if a > b else 0.0
            elif op == P.GE:
                r = 1.0 if a >= b else 0.0
            elif op == P.EQ:
                r = 1.0 if a == b else 0.0
            else:  # NE, fail-closed on NaN
                r = 1.0 if (a < b or a > b) else 0.0
            stack[sp - 1] = r
    return stack[0]


@njit(cache=True)
def _tick(price, bounds, ticks):
    for i in range(bounds.shape[0]):
        if price < bounds[i]:
            return ticks[i]
    return ticks[bounds.shape[0]]


@njit(cache=True, error_model="numpy")
def decide(bid, ask, bid_qty, ask_qty, sellable, dirty, eligible, next_eligible, now, miss_cool_ns,
           rates, divisor, unit, on_sell, mode, ints, floats, code, consts, starts, lengths, max_stack,
           bounds, ticks, out_dir, out_sym, out_int):
    """Fill the output arrays with the candidates every rule admits; returns how many.

    ``out_int`` columns: buy_ask, sell_bid, buy_qty, sell_qty, slice_qty, gross, cost, net.
    ``vals`` slots: the 10 market variables in rules.variables order, then int, then float params.
    """
    n = bid.shape[1]
    n_cols = rates.shape[2]
    n_ints = ints.shape[1]
    vals = np.empty(N_MARKET + n_ints + floats.shape[1])
    stack = np.empty(max_stack + 1)
    count = 0
    for s in range(n):
        if not dirty[s]:
            continue
        dirty[s] = False
        if not eligible[s] or next_eligible[s] > now:
            continue
        if bid[0, s] <= 0 or bid[1, s] <= 0 or ask[0, s] <= 0 or ask[1, s] <= 0:
            continue
        missed = False
        for d in range(2):
            buy_ask = ask[d, s]
            sell_bid = bid[1 - d, s]
            if sell_bid <= buy_ask:
                continue
            slice_qty = ints[s, 0]
            buy_not = buy_ask * slice_qty
            sell_not = sell_bid * slice_qty
            cost = 0
            for c in range(n_cols):
                r = rates[d, s, c]
                if r == 0:
                    continue
                x = (sell_not if on_sell[c] else buy_not) * r
                div = divisor[c]
                if mode[c] == 0:
                    q = x // div
                elif mode[c] == 1:
                    q = -((-x) // div)
                else:
                    q = (x + div // 2) // div
                cost += q * unit[c]
            tick = _tick(buy_ask, bounds, ticks)
            gross = sell_not - buy_not
            net = gross - cost
            vals[0] = buy_ask
            vals[1] = ask_qty[d, s]
            vals[2] = sell_bid
            vals[3] = bid_qty[1 - d, s]
            vals[4] = tick
            vals[5] = gross
            vals[6] = cost
            vals[7] = net
            vals[8] = net / (tick * slice_qty)
            vals[9] = sellable[1 - d, s]
            for j in range(n_ints):
                vals[N_MARKET + j] = ints[s, j]
            for j in range(floats.shape[1]):
                vals[N_MARKET + n_ints + j] = floats[s, j]
            ok = True
            for k in range(starts.shape[0]):
                if _run_program(code, consts, starts[k], lengths[k], vals, stack) == 0.0:
                    ok = False
                    break
            if not ok:
                missed = True
                continue
            out_dir[count] = d
            out_sym[count] = s
            out_int[count, 0] = buy_ask
            out_int[count, 1] = sell_bid
            out_int[count, 2] = ask_qty[d, s]
            out_int[count, 3] = bid_qty[1 - d, s]
            out_int[count, 4] = slice_qty
            out_int[count, 5] = gross
            out_int[count, 6] = cost
            out_int[count, 7] = net
            count += 1
        if missed and miss_cool_ns > 0:
            until = now + miss_cool_ns
            if until > next_eligible[s]:
                next_eligible[s] = until
    if count > 1:
        # admission order: largest net edge first, then symbol, then direction
        keys = np.empty(count, dtype=np.int64)
        for i in range(count):
            keys[i] = -out_int[i, 7] * (2 * n) + out_sym[i] * 2 + out_dir[i]
        order = np.argsort(keys, kind="mergesort")
        d_sorted = out_dir[:count][order]
        s_sorted = out_sym[:count][order]
        v_sorted = out_int[:count][order]
        out_dir[:count] = d_sorted
        out_sym[:count] = s_sorted
        out_int[:count] = v_sorted
    return count


@njit(cache=True)
def apply_quotes(bid, ask, bid_qty, ask_qty, ts, dirty, dirty_since, sym, venue, b, a, bq, aq, t):
    """QuoteBook.update_batch as a loop: apply in arrival order, dirty on a changed top, and keep
    the time of the first change since the last batch. Returns whether anything changed."""
    any_change = False
    for i in range(sym.shape[0]):
        s = sym[i]
        v = venue[i]
        if bid[v, s] != b[i] or ask[v, s] != a[i] or bid_qty[v, s] != bq[i] or ask_qty[v, s] != aq[i]:
            bid[v, s] = b[i]
            ask[v, s] = a[i]
            bid_qty[v, s] = bq[i]
            ask_qty[v, s] = aq[i]
            if not dirty[s]:
                dirty[s] = True
                dirty_since[s] = t[i]
            any_change = True
        ts[v, s] = t[i]
    return any_change
