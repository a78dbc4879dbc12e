"""The compiled kernel's postfix interpreter agrees with the numpy kernels, value for value."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.rules.expr import BOOL, NUM, compile_expr
from kxrules.rules.program import compile_programs

decide_jit = pytest.importorskip("kxrules.engine.decide_jit", reason="numba is not installed")

NAMES = ("a", "b", "c", "d")
SLOTS = {n: i for i, n in enumerate(NAMES)}
KINDS = {n: NUM for n in NAMES}

num_leaf = st.one_of(st.sampled_from(NAMES), st.integers(-5, 5).map(str), st.sampled_from(["0.5", "2.5"]))


def num_expr(depth: int):
    if depth == 0:
        return num_leaf
    sub = num_expr(depth - 1)
    return st.one_of(
        num_leaf,
        st.tuples(sub, st.sampled_from(["+", "-", "*", "/", "//", "%"]), sub).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
        st.tuples(sub, st.integers(0, 3)).map(lambda t: f"({t[0]}) ** {t[1]}"),
        sub.map(lambda e: f"-({e})"),
        st.tuples(st.sampled_from(["min", "max"]), sub, sub).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        sub.map(lambda e: f"abs({e})"),
    )


def bool_expr(depth: int):
    cmp = st.tuples(num_expr(depth), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), num_expr(depth)).map(
        lambda t: f"{t[0]} {t[1]} {t[2]}")
    chain = st.tuples(num_expr(1), num_expr(1), num_expr(1)).map(lambda t: f"{t[0]} <= {t[1]} < {t[2]}")
    leaf = st.one_of(cmp, chain)
    return st.one_of(
        leaf,
        st.tuples(leaf, st.sampled_from(["and", "or"]), leaf).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
        leaf.map(lambda e: f"not ({e})"),
    )


values = st.tuples(*[st.one_of(st.integers(-3, 3), st.integers(-10**6, 10**6), st.sampled_from([0, 1, 100, 0.5]))
                     for _ in NAMES])


def interpret(source: str, vals) -> float:
    """The value of ``source`` for one candidate whose market slots 0..3 hold ``vals``."""
    expr = compile_expr(source, KINDS, expect=None)
    prog = compile_programs((expr,), SLOTS)
    market = np.zeros((decide_jit.N_MARKET, 1))
    market[:len(vals), 0] = vals
    stack = np.empty((prog.max_stack + 1, 1))
    no_params, cand_sym = np.zeros((1, 0)), np.zeros(1, dtype=np.int64)
    return float(decide_jit._run_program(prog.code, prog.consts, int(prog.start[0]), int(prog.length[0]),
                                         market, no_params, cand_sym, 1, stack)[0])


@settings(max_examples=400, deadline=None, derandomize=True)
@given(bool_expr(2), values)
def test_boolean_rules_agree(source, vals):
    expr = compile_expr(source, KINDS)
    env = {n: np.array([v]) for n, v in zip(NAMES, vals)}
    expected = bool(expr.evaluate(env, 1)[0])
    assert (interpret(source, vals) != 0.0) == expected, source


@settings(max_examples=300, deadline=None, derandomize=True)
@given(num_expr(2), values)
def test_numeric_expressions_agree(source, vals):
    expr = compile_expr(source, KINDS, expect=NUM)
    env = {n: np.array([v]) for n, v in zip(NAMES, vals)}
    expected = float(expr.evaluate(env, 1)[0])
    got = interpret(source, vals)
    if math.isnan(expected):
        assert math.isnan(got), source
    else:
        assert got == pytest.approx(expected, rel=1e-12, abs=1e-9), source


def test_the_shipped_rules_compile_to_programs():
    from kxrules.rules.variables import known_names, variable_slots

    for source in ("net_edge_ticks >= edge_buffer_ticks",
                   "min(buy_ask_qty, sell_bid_qty) >= max(slice_qty, min_visible_qty)"):
        prog = compile_programs((compile_expr(source, known_names()),), variable_slots())
        assert prog.length[0] > 0 and prog.max_stack >= 2
    assert BOOL == "bool"
