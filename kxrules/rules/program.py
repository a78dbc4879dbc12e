"""Rule expressions as postfix programs for the compiled decision kernel.

The expression has already passed :func:`kxrules.rules.expr.compile_expr` (whitelist, names,
types). Here its AST is flattened into ``(opcode, argument)`` pairs over a float64 stack:
variables by slot, constants by index. Nothing is ever ``eval``ed: the kernel interprets these
numbers. Semantics follow the numpy kernels exactly (``expr.py``'s fail-closed rules): ``/``,
``//`` and ``%`` by zero give NaN, every comparison with NaN is False (``!=`` included),
``min``/``max``/``abs`` propagate NaN. Integers are exact in float64 below 2**53, far above any
price, size or amount a rule sees.
"""
from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from .expr import CompiledExpr

(VAR, CONST, ADD, SUB, MUL, DIV, FLOORDIV, MOD, POW, NEG, POS, LT, LE, GT, GE, EQ, NE, AND, OR, NOT,
 MIN, MAX, ABS) = range(23)

_BIN = {ast.Add: ADD, ast.Sub: SUB, ast.Mult: MUL, ast.Div: DIV, ast.FloorDiv: FLOORDIV, ast.Mod: MOD}
_CMP = {ast.Lt: LT, ast.LtE: LE, ast.Gt: GT, ast.GtE: GE, ast.Eq: EQ, ast.NotEq: NE}


@dataclass(frozen=True)
class Programs:
    """Several rules packed for the kernel: rule i is ``code[start[i] : start[i] + length[i]]``."""

    code: np.ndarray        # (m, 2) int64: opcode, argument
    consts: np.ndarray      # float64
    start: np.ndarray       # int64 per rule
    length: np.ndarray      # int64 per rule
    max_stack: int


def compile_programs(exprs: tuple[CompiledExpr, ...], slots: dict[str, int]) -> Programs:
    code: list[tuple[int, int]] = []
    consts: list[float] = []
    start, length = [], []
    for expr in exprs:
        tree = ast.parse("(\n" + expr.source + "\n)", mode="eval")
        first = len(code)
        _emit(tree.body, code, consts, slots)
        start.append(first)
        length.append(len(code) - first)
    depth = max((_stack_depth(code[s:s + n]) for s, n in zip(start, length)), default=1)
    return Programs(np.array(code or [(CONST, 0)], dtype=np.int64).reshape(-1, 2),
                    np.array(consts or [0.0], dtype=np.float64),
                    np.array(start, dtype=np.int64), np.array(length, dtype=np.int64), max(depth, 1))


def _emit(node: ast.AST, code: list, consts: list, slots: dict[str, int]) -> None:
    if isinstance(node, ast.Name):
        code.append((VAR, slots[node.id]))
    elif isinstance(node, ast.Constant):
        consts.append(float(node.value))
        code.append((CONST, len(consts) - 1))
    elif isinstance(node, ast.BoolOp):
        for value in node.values:
            _emit(value, code, consts, slots)
        code.append((AND if isinstance(node.op, ast.And) else OR, len(node.values)))
    elif isinstance(node, ast.UnaryOp):
        _emit(node.operand, code, consts, slots)
        op = {ast.Not: NOT, ast.USub: NEG, ast.UAdd: POS}[type(node.op)]
        code.append((op, 0))
    elif isinstance(node, ast.BinOp):
        _emit(node.left, code, consts, slots)
        if isinstance(node.op, ast.Pow):
            code.append((POW, int(_constant(node.right))))
        else:
            _emit(node.right, code, consts, slots)
            code.append((_BIN[type(node.op)], 0))
    elif isinstance(node, ast.Compare):
        left = node.left
        for op, right in zip(node.ops, node.comparators):
            _emit(left, code, consts, slots)
            _emit(right, code, consts, slots)
            code.append((_CMP[type(op)], 0))
            left = right
        if len(node.ops) > 1:
            code.append((AND, len(node.ops)))
    elif isinstance(node, ast.Call):
        for arg in node.args:
            _emit(arg, code, consts, slots)
        name = node.func.id
        code.append(({"min": MIN, "max": MAX, "abs": ABS}[name], len(node.args)))
    else:   # compile_expr's whitelist makes this unreachable
        raise ValueError(f"unsupported node {type(node).__name__}")


def _constant(node: ast.AST) -> float:
    """The value of a constant exponent (a literal, possibly signed)."""
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant):
        return -node.operand.value if isinstance(node.op, ast.USub) else node.operand.value
    raise ValueError("exponent must be a literal")


def _stack_depth(code: list[tuple[int, int]]) -> int:
    depth = peak = 0
    for op, arg in code:
        if op in (VAR, CONST):
            depth += 1
        elif op in (AND, OR, MIN, MAX):
            depth -= arg - 1
        elif op in (ADD, SUB, MUL, DIV, FLOORDIV, MOD, LT, LE, GT, GE, EQ, NE):
            depth -= 1
        peak = max(peak, depth)
    return peak
