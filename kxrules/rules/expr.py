"""Safe rule-expression compiler.

Risk owners write edge rules in YAML as small expressions such as::

    net_edge_ticks >= edge_buffer_ticks and min(buy_ask_qty, sell_bid_qty) >= slice_qty

:func:`compile_expr` parses such a text with :func:`ast.parse` (``mode="eval"``, which only
*parses*), checks the tree against a strict whitelist, type-checks it and turns it ONCE into a
tree of closures over numpy ufuncs.  :meth:`CompiledExpr.evaluate` then runs the closures over
arrays of symbols.  Nothing written by a YAML author is ever ``eval``-ed, ``exec``-ed or
``compile``-d to a code object.

Safety properties
-----------------
* Hard limits before and after parsing: at most ``MAX_SOURCE_CHARS`` characters, at most
  ``MAX_DEPTH`` nested expression levels and ``MAX_NODES`` expression nodes.  Every exception
  raised by the parser (SyntaxError, RecursionError, MemoryError, ValueError, ...) becomes a
  KX801 :class:`ExprError`.
* The whitelist walk only descends into whitelisted node kinds, so nothing else of the tree is
  ever inspected, let alone executed.
* ``**`` only accepts an integer literal exponent ``0..8``; integer literals must fit int64;
  constant sub-expressions are folded at compile time with exact overflow checks.

Runtime semantics (fail-closed)
-------------------------------
* Evaluation runs under ``np.errstate(all="ignore")``: it never raises or warns on numeric
  problems.
* ``/``, ``//`` and ``%`` by a zero element (of a non-constant divisor) yield NaN, never
  ``inf`` or ``0``, and every comparison involving NaN is False -- including ``!=`` -- so a
  missing or zero input can never make a rule admit a trade.  Consequently ``//`` and ``%``
  with a non-constant divisor return float64; with a constant (non-zero) divisor they keep the
  integer dtype.  Division or modulo by a constant zero is rejected at compile time (KX803).
* ``min``/``max``/``abs`` propagate NaN (``np.minimum``/``np.maximum``/``np.absolute``).
* int64 arithmetic on arrays wraps on overflow, as numpy does.
"""
from __future__ import annotations

import ast
import difflib
import math
import operator
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

__all__ = [
    "BOOL",
    "NUM",
    "CompiledExpr",
    "ExprError",
    "MAX_DEPTH",
    "MAX_NODES",
    "MAX_POW_EXPONENT",
    "MAX_SOURCE_CHARS",
    "compile_expr",
]

NUM, BOOL = "num", "bool"

MAX_SOURCE_CHARS = 2_000
MAX_DEPTH = 50  # nesting levels of expression nodes (the whole expression is level 1)
MAX_NODES = 500  # expression nodes
MAX_POW_EXPONENT = 8

_INT64_MIN = -(2**63)
_INT64_MAX = 2**63 - 1

_KIND_WORD = {NUM: "a number", BOOL: "a boolean"}


class ExprError(Exception):
    """A rule expression problem located at ``line``/``col`` (0-based, characters) of its text.

    ``code`` is KX801 (parse error), KX802 (unknown name), KX803 (forbidden construct) or
    KX804 (wrong result or operand type).
    """

    def __init__(self, code: str, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(code, message, line, col)
        self.code = code
        self.message = message
        self.line = line
        self.col = col

    def __str__(self) -> str:
        return f"{self.code} at {self.line}:{self.col}: {self.message}"


# --------------------------------------------------------------------------------------------
# Positions
# --------------------------------------------------------------------------------------------

# The source is parsed wrapped as "(\n" + source + "\n)" so that it may span several lines
# (YAML block scalars) and carry leading/trailing whitespace.  Source line i is wrapped line
# i + 2 (1-based, as ast reports it); columns are unchanged.
_PREFIX = "(\n"
_SUFFIX = "\n)"
_LINE_SHIFT = 2
_NEWLINE = re.compile(r"\r\n|\r|\n")  # what CPython's tokenizer treats as a line break


class _Locator:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines = _NEWLINE.split(source)
        self.starts = [0]
        for m in _NEWLINE.finditer(source):
            self.starts.append(m.end())

    def end(self) -> tuple[int, int]:
        """The position just after the last non-blank character (for 'unexpected end')."""
        stripped = self.source.rstrip()
        return self.index(len(stripped)) if stripped else (0, 0)

    def index(self, i: int) -> tuple[int, int]:
        """Position of the character at string index ``i`` of the source."""
        i = max(0, min(i, len(self.source)))
        line = 0
        for k, start in enumerate(self.starts):
            if start <= i:
                line = k
            else:
                break
        col = min(i - self.starts[line], len(self.lines[line]))
        return line, col

    def wrapped_index(self, i: int) -> tuple[int, int]:
        return self.index(i - len(_PREFIX))

    def chars(self, wrapped_lineno: int | None, char_col: int | None) -> tuple[int, int]:
        """Wrapped 1-based line + 0-based character column -> source position (clamped)."""
        if wrapped_lineno is None:
            return 0, 0
        line = wrapped_lineno - _LINE_SHIFT
        if line < 0:
            return 0, 0
        if line >= len(self.lines):
            return self.end()
        col = max(0, char_col or 0)
        return line, min(col, len(self.lines[line]))

    def node(self, node: ast.AST) -> tuple[int, int]:
        """ast positions count UTF-8 bytes within the line: convert them to characters."""
        lineno = getattr(node, "lineno", None)
        byte_col = getattr(node, "col_offset", None)
        if lineno is None or byte_col is None:
            return 0, 0
        line = lineno - _LINE_SHIFT
        if 0 <= line < len(self.lines):
            text = self.lines[line]
            col = len(text.encode("utf-8")[:byte_col].decode("utf-8", errors="ignore"))
            return line, col
        return self.chars(lineno, 0)


def _err(loc: _Locator, code: str, message: str, node: ast.AST) -> ExprError:
    line, col = loc.node(node)
    return ExprError(code, message, line, col)


def _snippet(loc: _Locator, node: ast.AST) -> str:
    try:
        text = ast.get_source_segment(_PREFIX + loc.source + _SUFFIX, node) or ""
    except Exception:  # pragma: no cover - defensive, positions come from the parser
        text = ""
    text = " ".join(text.split())
    return text if len(text) <= 40 else text[:37] + "..."


# --------------------------------------------------------------------------------------------
# Whitelist
# --------------------------------------------------------------------------------------------

_FORBIDDEN_NODES: dict[type, str] = {
    ast.Attribute: "attribute access ('.')",
    ast.Subscript: "subscript ('[...]')",
    ast.Slice: "slice",
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.IfExp: "conditional expression ('x if c else y')",
    ast.NamedExpr: "assignment expression (':=')",
    ast.Starred: "starred expression ('*x')",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield from",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.JoinedStr: "f-string",
    ast.FormattedValue: "f-string",
}

_FORBIDDEN_OPS: dict[type, str] = {
    ast.BitAnd: "bitwise '&' (use 'and')",
    ast.BitOr: "bitwise '|' (use 'or')",
    ast.BitXor: "bitwise '^'",
    ast.LShift: "shift '<<'",
    ast.RShift: "shift '>>'",
    ast.MatMult: "matrix product '@'",
    ast.Invert: "bitwise '~' (use 'not')",
    ast.Is: "identity test 'is'",
    ast.IsNot: "identity test 'is not'",
    ast.In: "membership test 'in'",
    ast.NotIn: "membership test 'not in'",
}

_FUNCTIONS = ("min", "max", "abs")

_BIN_SYMBOL = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.Pow: "**",
}
_CMP_SYMBOL = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
}


def _forbidden(loc: _Locator, what: str, node: ast.AST) -> ExprError:
    return _err(loc, "KX803", f"forbidden construct: {what}", node)


def _constant_problem(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        if value > _INT64_MAX:
            return f"integer literal {_short_int(value)} does not fit in 64 bits"
        return None
    if isinstance(value, float):
        return None if math.isfinite(value) else "float literal is not finite"
    if isinstance(value, str):
        return "string literal"
    if isinstance(value, bytes):
        return "bytes literal"
    if value is None:
        return "None"
    if value is Ellipsis:
        return "'...'"
    if isinstance(value, complex):
        return "complex number"
    return f"literal of type {type(value).__name__}"  # pragma: no cover - no other constants


def _short_int(value: int) -> str:
    # str() of a huge int is quadratic and capped by sys.int_info; count digits cheaply instead.
    if value.bit_length() > 200:
        return f"with about {int(value.bit_length() * 0.30103)} digits"
    return str(value)


def _suggest(name: str, candidates: Any) -> str:
    match = difflib.get_close_matches(name, list(candidates), n=1)
    return f"; did you mean '{match[0]}'?" if match else ""


class _Checker:
    """Pass 1: size/depth guards and the structural whitelist (KX803), pre-order."""

    def __init__(self, loc: _Locator) -> None:
        self.loc = loc
        self.count = 0

    def check(self, node: ast.expr, depth: int) -> None:
        loc = self.loc
        if depth > MAX_DEPTH:
            raise _forbidden(loc, f"expression nested more than {MAX_DEPTH} levels deep", node)
        self.count += 1
        if self.count > MAX_NODES:
            raise _forbidden(loc, f"expression has more than {MAX_NODES} parts", node)
        kind = type(node)
        if kind in _FORBIDDEN_NODES:
            what = _FORBIDDEN_NODES[kind]
            if kind is ast.Attribute:
                what = f"attribute access ('.{node.attr}')"  # type: ignore[attr-defined]
            raise _forbidden(loc, what, node)
        if kind is ast.Name:
            assert isinstance(node, ast.Name)
            if node.id.startswith("_"):
                raise _forbidden(loc, f"name '{node.id}' (names starting with '_')", node)
            if not isinstance(node.ctx, ast.Load):
                raise _forbidden(loc, f"assignment to '{node.id}'", node)
            return
        if kind is ast.Constant:
            assert isinstance(node, ast.Constant)
            problem = _constant_problem(node.value)
            if problem:
                raise _forbidden(loc, problem, node)
            return
        if kind is ast.UnaryOp:
            assert isinstance(node, ast.UnaryOp)
            if type(node.op) in _FORBIDDEN_OPS:
                raise _forbidden(loc, _FORBIDDEN_OPS[type(node.op)], node)
            self.check(node.operand, depth + 1)
            return
        if kind is ast.BinOp:
            assert isinstance(node, ast.BinOp)
            if type(node.op) in _FORBIDDEN_OPS:
                raise _forbidden(loc, _FORBIDDEN_OPS[type(node.op)], node)
            self.check(node.left, depth + 1)
            if isinstance(node.op, ast.Pow):
                exp = node.right
                if not (
                    isinstance(exp, ast.Constant)
                    and type(exp.value) is int
                    and 0 <= exp.value <= MAX_POW_EXPONENT
                ):
                    raise _forbidden(
                        loc,
                        f"'**' needs an integer literal exponent from 0 to {MAX_POW_EXPONENT}",
                        exp,
                    )
            self.check(node.right, depth + 1)
            return
        if kind is ast.BoolOp:
            assert isinstance(node, ast.BoolOp)
            for value in node.values:
                self.check(value, depth + 1)
            return
        if kind is ast.Compare:
            assert isinstance(node, ast.Compare)
            for op in node.ops:
                if type(op) in _FORBIDDEN_OPS:
                    raise _forbidden(loc, _FORBIDDEN_OPS[type(op)], node)
            self.check(node.left, depth + 1)
            for comparator in node.comparators:
                self.check(comparator, depth + 1)
            return
        if kind is ast.Call:
            assert isinstance(node, ast.Call)
            self.check_call(node, depth)
            return
        raise _forbidden(loc, type(node).__name__, node)  # pragma: no cover - exhaustive above

    def check_call(self, node: ast.Call, depth: int) -> None:
        loc = self.loc
        func = node.func
        if not isinstance(func, ast.Name):
            if isinstance(func, ast.Attribute):
                raise _forbidden(loc, f"method call ('.{func.attr}(...)')", node)
            what = _FORBIDDEN_NODES.get(type(func), type(func).__name__)
            raise _forbidden(loc, f"call of a computed function ({what})", func)
        if func.id not in _FUNCTIONS:
            raise _forbidden(
                loc,
                f"call to '{func.id}' (only min, max and abs may be called)"
                + _suggest(func.id, _FUNCTIONS),
                func,
            )
        for kw in node.keywords:
            what = "'**' argument unpacking" if kw.arg is None else f"keyword argument '{kw.arg}='"
            raise _forbidden(loc, what, kw)
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                raise _forbidden(loc, "'*' argument unpacking", arg)
        for arg in node.args:
            self.check(arg, depth + 1)
        nargs = len(node.args)
        if func.id == "abs" and nargs != 1:
            raise _forbidden(loc, f"abs() takes exactly 1 argument ({nargs} given)", node)
        if func.id in ("min", "max") and nargs < 2:
            raise _forbidden(
                loc, f"{func.id}() needs at least 2 arguments ({nargs} given)", node
            )


def _check_brackets(loc: _Locator) -> None:
    """Reject sources that close the wrapper's parenthesis, e.g. ``min)(a, b``.

    Runs only on sources that parsed.  Comments are skipped; a quote (which outside a comment
    can only start a string literal, rejected later anyway) stops the scan.
    """
    src = loc.source
    depth = 0
    i, n = 0, len(src)
    while i < n:
        ch = src[i]
        if ch == "#":
            m = _NEWLINE.search(src, i)
            i = m.end() if m else n
            continue
        if ch in "'\"":
            return
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
            if depth < 0:
                line, col = loc.index(i)
                raise ExprError("KX801", f"unmatched '{ch}'", line, col)
        i += 1


# --------------------------------------------------------------------------------------------
# Typing, folding and closure building
# --------------------------------------------------------------------------------------------

Fn = Callable[[Mapping[str, Any]], Any]


@dataclass(slots=True)
class _Node:
    kind: str
    fn: Fn
    const: Any = None  # numpy scalar when the node is a compile-time constant
    is_const: bool = False
    exact: int | None = None  # exact Python value of an integer constant


def _const_node(value: Any) -> _Node:
    if isinstance(value, (bool, np.bool_)):
        v: Any = np.bool_(bool(value))
        kind = BOOL
    elif isinstance(value, (int, np.integer)):
        v = np.int64(int(value))
        kind = NUM
    else:
        v = np.float64(value)
        kind = NUM
    exact = int(v) if isinstance(v, np.int64) else None

    def fn(env: Mapping[str, Any], _v: Any = v) -> Any:
        return _v

    return _Node(kind, fn, v, True, exact)


def _ne(a: Any, b: Any) -> Any:
    """``!=`` that is False when either side is NaN (fail-closed), unlike IEEE ``!=``."""
    return np.logical_or(np.less(a, b), np.greater(a, b))


_NAN = np.float64("nan")


def _nan_if_zero(b: Any) -> Any:
    return np.where(np.equal(b, 0), _NAN, b)


def _safe_div(a: Any, b: Any) -> Any:
    return np.true_divide(a, _nan_if_zero(b))


def _safe_floordiv(a: Any, b: Any) -> Any:
    return np.floor_divide(a, _nan_if_zero(b))


def _safe_mod(a: Any, b: Any) -> Any:
    return np.remainder(a, _nan_if_zero(b))


_BIN_UFUNC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: np.add,
    ast.Sub: np.subtract,
    ast.Mult: np.multiply,
    ast.Div: np.true_divide,
    ast.FloorDiv: np.floor_divide,
    ast.Mod: np.remainder,
    ast.Pow: np.power,
}
_BIN_SAFE: dict[type, Callable[[Any, Any], Any]] = {
    ast.Div: _safe_div,
    ast.FloorDiv: _safe_floordiv,
    ast.Mod: _safe_mod,
}
_BIN_EXACT: dict[type, Callable[[int, int], int]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_CMP_UFUNC: dict[type, Callable[[Any, Any], Any]] = {
    ast.Lt: np.less,
    ast.LtE: np.less_equal,
    ast.Gt: np.greater,
    ast.GtE: np.greater_equal,
    ast.Eq: np.equal,
    ast.NotEq: _ne,
}


def _reduce(ufunc: Callable[[Any, Any], Any], fns: tuple) -> Callable[[Mapping[str, Any]], Any]:
    """One closure applying a binary ufunc across two or more operand closures, left to right."""
    if len(fns) == 2:
        f0, f1 = fns

        def fn(env: Mapping[str, Any]) -> Any:
            return ufunc(f0(env), f1(env))

        return fn

    def fn_n(env: Mapping[str, Any]) -> Any:
        result = ufunc(fns[0](env), fns[1](env))
        for f in fns[2:]:
            result = ufunc(result, f(env))
        return result

    return fn_n


class _Compiler:
    """Pass 2: names (KX802), types (KX804), constant folding, closures."""

    def __init__(self, loc: _Locator, names: Mapping[str, str]) -> None:
        self.loc = loc
        self.names = names
        self.used: set[str] = set()

    # -- helpers -------------------------------------------------------------------------

    def need(self, node: ast.expr, compiled: _Node, kind: str, context: str) -> None:
        if compiled.kind != kind:
            raise _err(
                self.loc,
                "KX804",
                f"{context} needs {_KIND_WORD[kind]}, but '{_snippet(self.loc, node)}' "
                f"is {_KIND_WORD[compiled.kind]}",
                node,
            )

    def fold(self, node: ast.expr, result: _Node, children: list[_Node], exact: Any) -> _Node:
        """Replace ``result`` by a constant when all its inputs are constants.

        ``exact`` computes the exact Python value from the children's exact values (integer
        operations only) so that int64 overflow is caught instead of silently wrapping.
        """
        if not all(c.is_const for c in children):
            return result
        try:
            with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
                value = result.fn({})
        except (FloatingPointError, OverflowError, ZeroDivisionError):
            raise _forbidden(self.loc, "constant expression overflows", node) from None
        folded = _const_node(value)
        if folded.exact is not None and exact is not None:
            if all(c.exact is not None for c in children):
                true_value = exact(*(c.exact for c in children))
                if not _INT64_MIN <= true_value <= _INT64_MAX:
                    raise _forbidden(
                        self.loc, "constant expression overflows 64-bit integers", node
                    )
        return folded

    # -- nodes ---------------------------------------------------------------------------

    def build(self, node: ast.expr) -> _Node:
        # Explicit dispatch table: only node kinds that passed the whitelist have a builder.
        builder = _BUILDERS[type(node)]
        return builder(self, node)

    def c_Name(self, node: ast.Name) -> _Node:
        name = node.id
        if name not in self.names:
            if name in _FUNCTIONS:
                raise _forbidden(
                    self.loc, f"function '{name}' used as a value (call it: {name}(...))", node
                )
            raise _err(
                self.loc,
                "KX802",
                f"unknown name '{name}'" + _suggest(name, self.names.keys()),
                node,
            )
        self.used.add(name)
        return _Node(self.names[name], operator.itemgetter(name))

    def c_Constant(self, node: ast.Constant) -> _Node:
        return _const_node(node.value)

    def c_UnaryOp(self, node: ast.UnaryOp) -> _Node:
        operand = self.build(node.operand)
        if isinstance(node.op, ast.Not):
            self.need(node.operand, operand, BOOL, "'not'")
            ufunc: Callable[[Any], Any] = np.logical_not
            kind, exact = BOOL, None
        else:
            symbol = "-" if isinstance(node.op, ast.USub) else "+"
            self.need(node.operand, operand, NUM, f"unary '{symbol}'")
            ufunc = np.negative if symbol == "-" else np.positive
            kind = NUM
            exact = operator.neg if symbol == "-" else operator.pos

        f = operand.fn

        def fn(env: Mapping[str, Any]) -> Any:
            return ufunc(f(env))

        return self.fold(node, _Node(kind, fn), [operand], exact)

    def c_BinOp(self, node: ast.BinOp) -> _Node:
        op = type(node.op)
        symbol = _BIN_SYMBOL[op]
        left = self.build(node.left)
        self.need(node.left, left, NUM, f"arithmetic '{symbol}'")
        right = self.build(node.right)
        self.need(node.right, right, NUM, f"arithmetic '{symbol}'")
        ufunc = _BIN_UFUNC[op]
        if op in _BIN_SAFE:
            if right.is_const:
                if right.const == 0:
                    what = "division" if op is not ast.Mod else "modulo"
                    raise _forbidden(self.loc, f"{what} by zero", node.right)
            else:
                ufunc = _BIN_SAFE[op]
        lf, rf = left.fn, right.fn

        if right.is_const:
            rv = right.const

            def fn(env: Mapping[str, Any]) -> Any:
                return ufunc(lf(env), rv)

        else:

            def fn(env: Mapping[str, Any]) -> Any:
                return ufunc(lf(env), rf(env))

        return self.fold(node, _Node(NUM, fn), [left, right], _BIN_EXACT.get(op))

    def c_BoolOp(self, node: ast.BoolOp) -> _Node:
        word = "and" if isinstance(node.op, ast.And) else "or"
        ufunc = np.logical_and if word == "and" else np.logical_or
        parts = []
        for value in node.values:
            compiled = self.build(value)
            self.need(value, compiled, BOOL, f"'{word}'")
            parts.append(compiled)
        fn = _reduce(ufunc, tuple(p.fn for p in parts))
        return self.fold(node, _Node(BOOL, fn), parts, None)

    def c_Compare(self, node: ast.Compare) -> _Node:
        operands = [node.left, *node.comparators]
        parts = []
        for i, operand in enumerate(operands):
            compiled = self.build(operand)
            symbol = _CMP_SYMBOL[type(node.ops[max(i - 1, 0)])]
            self.need(operand, compiled, NUM, f"comparison '{symbol}'")
            parts.append(compiled)
        ufuncs = tuple(_CMP_UFUNC[type(op)] for op in node.ops)
        fns = tuple(p.fn for p in parts)
        if len(ufuncs) == 1:
            u = ufuncs[0]
            f0, f1 = fns

            def fn(env: Mapping[str, Any]) -> Any:
                return u(f0(env), f1(env))

        else:

            def fn(env: Mapping[str, Any]) -> Any:
                values = [f(env) for f in fns]  # each operand evaluated once
                result = ufuncs[0](values[0], values[1])
                for k in range(1, len(ufuncs)):
                    result = np.logical_and(result, ufuncs[k](values[k], values[k + 1]))
                return result

        return self.fold(node, _Node(BOOL, fn), parts, None)

    def c_Call(self, node: ast.Call) -> _Node:
        name = node.func.id  # type: ignore[attr-defined]  # checked by pass 1
        parts = []
        for arg in node.args:
            compiled = self.build(arg)
            self.need(arg, compiled, NUM, f"{name}()")
            parts.append(compiled)
        fns = tuple(p.fn for p in parts)
        if name == "abs":
            f0 = fns[0]

            def fn(env: Mapping[str, Any]) -> Any:
                return np.absolute(f0(env))

            exact: Any = abs
        else:
            ufunc = np.minimum if name == "min" else np.maximum
            exact = min if name == "min" else max
            fn = _reduce(ufunc, fns)

        return self.fold(node, _Node(NUM, fn), parts, exact)


_BUILDERS: dict[type, Callable[[_Compiler, Any], _Node]] = {
    ast.Name: _Compiler.c_Name,
    ast.Constant: _Compiler.c_Constant,
    ast.UnaryOp: _Compiler.c_UnaryOp,
    ast.BinOp: _Compiler.c_BinOp,
    ast.BoolOp: _Compiler.c_BoolOp,
    ast.Compare: _Compiler.c_Compare,
    ast.Call: _Compiler.c_Call,
}


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def _coerce(name: str, kind: str, value: Any, n: int) -> np.ndarray:
    """One input -> a 0-d or (n,) array of int64/float64 (NUM) or bool (BOOL)."""
    arr = np.asarray(value)
    if arr.ndim > 1 or (arr.ndim == 1 and arr.shape[0] != n):
        raise ValueError(f"variable '{name}' has shape {arr.shape}; expected ({n},) or a scalar")
    k = arr.dtype.kind
    if kind == BOOL:
        if k != "b":
            raise TypeError(f"variable '{name}' must be boolean, got dtype {arr.dtype}")
        return arr
    if k == "i" or (k == "u" and arr.dtype.itemsize < 8):
        return arr.astype(np.int64, copy=False)
    if k in "uf":
        return arr.astype(np.float64, copy=False)
    raise TypeError(f"variable '{name}' must be numeric (int or float), got dtype {arr.dtype}")


@dataclass(frozen=True)
class CompiledExpr:
    """A compiled rule expression; immutable, thread-safe, cheap to evaluate repeatedly."""

    source: str
    names: frozenset[str]  # variables it reads
    kind: str  # NUM or BOOL
    _fn: Fn = field(repr=False, compare=False)
    _types: Mapping[str, str] = field(repr=False, compare=False)

    def evaluate(self, env: Mapping[str, np.ndarray | int | float | bool], n: int) -> np.ndarray:
        """Evaluate over ``n`` symbols; always returns a new array of length ``n``.

        BOOL -> dtype bool, NUM -> int64 or float64.  Each variable may be a scalar or an array
        of shape ``(n,)``.  Never raises or warns on numeric problems (see module docstring);
        a missing variable raises KeyError, a wrong shape ValueError, a wrong dtype TypeError.
        """
        n = operator.index(n)
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        values: dict[str, np.ndarray] = {}
        for name in self.names:
            if name not in env:
                raise KeyError(f"rule expression needs variable '{name}'")
            values[name] = _coerce(name, self._types[name], env[name], n)
        with np.errstate(all="ignore"):
            out = np.asarray(self._fn(values))
        if out.ndim == 0:
            return np.full(n, out, dtype=out.dtype)
        if any(out is v for v in values.values()):
            out = out.copy()  # never hand back (a view of) the caller's input
        return out


def raw_kernel(expr: CompiledExpr):
    """The compiled closure itself, for a hot path that guarantees its inputs: every variable an
    int64/float64 array of one length, numpy errors already silenced (``np.errstate``). It may
    return a 0-d value for a constant expression; broadcast it yourself."""
    return expr._fn


def compile_expr(source: str, names: Mapping[str, str], *, expect: str | None = BOOL) -> CompiledExpr:
    """Compile ``source`` against ``names`` (variable -> NUM or BOOL).

    Raises :class:`ExprError` for the first problem found: guards and parse errors (KX801),
    then the structural whitelist (KX803), then names (KX802), types and the result kind
    (KX804), and constant problems such as division by zero (KX803).
    """
    if not isinstance(source, str):
        raise TypeError(f"source must be a str, got {type(source).__name__}")
    if expect not in (None, NUM, BOOL):
        raise ValueError(f"expect must be NUM, BOOL or None, got {expect!r}")
    for name, kind in names.items():
        if kind not in (NUM, BOOL):
            raise ValueError(f"name {name!r} has kind {kind!r}; expected {NUM!r} or {BOOL!r}")

    if len(source) > MAX_SOURCE_CHARS:
        # Locate the limit on a bounded prefix only: the input may be arbitrarily large.
        line, col = _Locator(source[: MAX_SOURCE_CHARS + 1]).index(MAX_SOURCE_CHARS)
        raise ExprError(
            "KX801",
            f"expression is too long ({len(source)} characters; the limit is {MAX_SOURCE_CHARS})",
            line,
            col,
        )
    loc = _Locator(source)
    if not source.strip():
        raise ExprError("KX801", "expression is empty", 0, 0)
    if "\x00" in source:
        line, col = loc.index(source.index("\x00"))
        raise ExprError("KX801", "expression contains a null byte", line, col)

    tree = _parse(source, loc)
    body = tree.body

    _Checker(loc).check(body, 1)
    _check_brackets(loc)

    compiler = _Compiler(loc, names)
    root = compiler.build(body)
    if expect is not None and root.kind != expect:
        word = "boolean" if expect == BOOL else "number"
        raise _err(
            loc,
            "KX804",
            f"expression does not yield a {word}: it yields {_KIND_WORD[root.kind]}",
            body,
        )
    return CompiledExpr(
        source=source,
        names=frozenset(compiler.used),
        kind=root.kind,
        _fn=root.fn,
        _types={name: names[name] for name in compiler.used},
    )


def _parse(source: str, loc: _Locator) -> ast.Expression:
    wrapped = _PREFIX + source + _SUFFIX
    try:
        with warnings.catch_warnings():
            # Parser warnings are not printed: a SyntaxWarning (e.g. "1and", which future
            # Pythons reject) becomes a parse error, anything else (escapes in strings, which
            # are rejected later anyway) is ignored.
            warnings.simplefilter("ignore")
            warnings.filterwarnings("error", category=SyntaxWarning)
            tree = ast.parse(wrapped, mode="eval")
    except SyntaxError as exc:
        line, col = loc.chars(exc.lineno, (exc.offset - 1) if exc.offset else 0)
        msg = exc.msg or "invalid syntax"
        # Commas would only build tuples (forbidden): point risk owners at operators instead.
        msg = msg.replace("Perhaps you forgot a comma?", "Perhaps an operator is missing?")
        raise ExprError("KX801", f"syntax error: {msg}", line, col) from None
    except UnicodeError as exc:
        start = getattr(exc, "start", None)
        line, col = loc.wrapped_index(start) if isinstance(start, int) else (0, 0)
        raise ExprError("KX801", "expression contains an invalid character", line, col) from None
    except RecursionError:
        raise ExprError("KX801", "expression is nested too deeply to parse", 0, 0) from None
    except MemoryError:
        raise ExprError("KX801", "expression is too complex to parse", 0, 0) from None
    except Exception as exc:  # ValueError (null bytes) and anything else the parser raises
        raise ExprError("KX801", f"expression does not parse: {exc}", 0, 0) from None
    assert isinstance(tree, ast.Expression)
    return tree
