"""Every rule expression parses, names known variables and yields a boolean."""
from __future__ import annotations

from ...rules.expr import CompiledExpr, ExprError, compile_expr
from ...rules.variables import known_names
from ..diagnostics import Diagnostics, Position
from ..load import LoadedWorkspace


def expression_position(ws: LoadedWorkspace, loc: tuple, err: ExprError) -> tuple:
    """Map an error's offset inside the expression to the YAML file's line and column."""
    path, pos = ws.locate("edge", loc)
    lines = ws.docs["edge"].path.read_text(encoding="utf-8").splitlines()
    text_line = lines[pos.line - 1]
    start_col = pos.col
    indicator = text_line[start_col - 1:start_col]
    if indicator in (">", "|"):
        # block scalar: the text starts on the next line at its indentation
        body = [ln for ln in lines[pos.line:]]
        indent = len(body[0]) - len(body[0].lstrip()) if body else 0
        if indicator == "|":
            return path, Position(pos.line + 1 + err.line, indent + 1 + err.col)
        offset = err.col                    # folded: lines were joined with single spaces
        for i, ln in enumerate(body):
            width = len(ln.strip()) + 1
            if offset < width or i == len(body) - 1:
                return path, Position(pos.line + 1 + i, indent + 1 + offset)
            offset -= width
    if indicator in ("'", '"'):
        start_col += 1                      # quoted scalar: the text starts after the quote
    if err.line == 0:
        return path, Position(pos.line, start_col + err.col)
    return path, Position(pos.line + err.line, err.col + 1)


def check(ws: LoadedWorkspace, diags: Diagnostics) -> list[CompiledExpr] | None:
    edge = ws.models.get("edge")
    if edge is None:
        return None
    names = known_names()
    kernels: list[CompiledExpr] = []
    ok = True
    for i, rule in enumerate(edge.rules):
        try:
            kernels.append(compile_expr(rule.when, names))
        except ExprError as err:
            path, pos = expression_position(ws, ("rules", i, "when"), err)
            diags.add(path, pos, err.code, f"rule '{rule.name}': {err.message}")
            ok = False
    return kernels if ok else None
