"""Every rule expression parses, names known variables and yields a boolean."""
from __future__ import annotations

from ...rules.expr import CompiledExpr, ExprError, compile_expr
from ...rules.variables import known_names
from ..diagnostics import Diagnostics, Position
from ..load import LoadedWorkspace


def expression_position(ws: LoadedWorkspace, loc: tuple, err: ExprError, source: str = "") -> tuple:
    """Map an error's offset inside the expression to the YAML file's line and column.

    Literal block scalars (``|``) keep the text's lines. Every other style folds: plain and
    quoted scalars and ``>`` blocks join their lines with one space (a blank line becomes a
    newline), so the offset is walked through the file's lines to find where it really lies.
    """
    path, pos = ws.locate("edge", loc)
    lines = ws.docs["edge"].path.read_text(encoding="utf-8").splitlines()
    if pos is None or not 0 < pos.line <= len(lines):
        return path, pos
    text_line = lines[pos.line - 1]
    start_col = pos.col
    indicator = text_line[start_col - 1:start_col]
    if indicator in (">", "|"):
        # block scalar: the text starts on the next line at its indentation
        body = lines[pos.line:]
        first = next((ln for ln in body if ln.strip()), "")
        indent = len(first) - len(first.lstrip())
        if indicator == "|":
            return path, Position(pos.line + 1 + err.line, indent + 1 + err.col)
        segments_from, first_col = pos.line + 1, indent + 1
    else:
        if indicator in ("'", '"'):
            start_col += 1                  # quoted scalar: the text starts after the quote
        segments_from, first_col = pos.line, start_col
    src_lines = source.split("\n") if source else [""]
    offset = sum(len(ln) + 1 for ln in src_lines[:err.line]) + err.col
    # walk the folded lines: (file line, column where its text starts, its text)
    segments: list[tuple[int, int, str, int]] = []   # + blank lines before it
    blanks = 0
    for n in range(segments_from, len(lines) + 1):
        raw = lines[n - 1]
        if n == segments_from:
            text = raw[first_col - 1:].rstrip()
            segments.append((n, first_col, text, 0))
            continue
        if not raw.strip():
            blanks += 1
            continue
        stripped = raw.lstrip()
        segments.append((n, len(raw) - len(stripped) + 1, stripped.rstrip(), blanks))
        blanks = 0
    at = 0
    for i, (n, col, text, _) in enumerate(segments):
        if i > 0:
            at += max(1, segments[i][3])
        if offset <= at + len(text) or i == len(segments) - 1:
            return path, Position(n, col + max(0, offset - at))
        at += len(text)
    return path, Position(pos.line, start_col + err.col)


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
            path, pos = expression_position(ws, ("rules", i, "when"), err, rule.when)
            diags.add(path, pos, err.code, f"rule '{rule.name}': {err.message}")
            ok = False
    return kernels if ok else None
