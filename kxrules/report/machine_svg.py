"""The compiled pair state machine drawn as inline SVG (a layered, left-to-right layout).

Columns are breadth-first depths from the initial state, with every final state in the last
column; states are ordered inside a column by the mean row of their predecessors (two sweeps of
the barycenter heuristic). Edges between the same two states are merged (their triggers listed);
an edge the run took is drawn heavier and labelled with how many times it fired.
"""
from __future__ import annotations

import math
from collections import defaultdict

from markupsafe import Markup, escape

NODE_W, NODE_H = 168, 40
COL_GAP, ROW_GAP, MARGIN = 64, 36, 24


def draw(machine, counts: dict[tuple[str, str, str], int] | None = None) -> Markup:
    counts = counts or {}
    states = [s.name for s in machine.states]
    finals = {s.name for s in machine.states if s.final}
    timers = {s.name: s.timer for s in machine.states if s.timer}
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in machine.transitions:
        for src in t.sources:
            if t.trigger not in edges[(src, t.dest)]:
                edges[(src, t.dest)].append(t.trigger)
    cols = _columns(machine.initial, states, finals, edges)
    order = _order(cols, edges)
    pos = _positions(order)
    width = max(x for x, _ in pos.values()) + NODE_W + MARGIN
    height = max(y for _, y in pos.values()) + NODE_H + MARGIN + 28
    out = [f'<svg class="machine" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="pair state machine">',
           '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
           'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>']
    labels = []
    for (src, dst), triggers in edges.items():
        if src not in pos or dst not in pos:
            continue
        n = sum(counts.get((src, dst, trig), 0) for trig in triggers)
        path, lx, ly = _edge(pos[src], pos[dst], src == dst)
        used = " used" if n else ""
        stroke = f' style="stroke-width:{1.2 + min(3.5, math.log10(n + 1) * 1.6):.2f}"' if n else ""
        text = ", ".join(triggers) + (f" ×{n:,}" if n else "")
        out.append(f'<path class="edge{used}" d="{path}" marker-end="url(#arrow)"{stroke}>'
                   f'<title>{escape(src)} → {escape(dst)}: {escape(text)}</title></path>')
        labels.append(f'<text class="elabel{used}" x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">{escape(text)}</text>')
    for name in states:
        x, y = pos[name]
        css = "node final" if name in finals else "node"
        if name == machine.initial:
            css += " initial"
        timer = timers.get(name)
        sub = f"after {timer.after_ms} ms → {timer.trigger}" if timer else ("final" if name in finals else "")
        out.append(f'<g class="{css}"><rect x="{x}" y="{y}" width="{NODE_W}" height="{NODE_H}" rx="7"/>'
                   + (f'<rect class="inner" x="{x + 3}" y="{y + 3}" width="{NODE_W - 6}" height="{NODE_H - 6}" rx="5"/>'
                      if name in finals else "")
                   + f'<text class="nname" x="{x + NODE_W / 2}" y="{y + 17}" text-anchor="middle">{escape(name)}</text>'
                   f'<text class="nsub" x="{x + NODE_W / 2}" y="{y + 31}" text-anchor="middle">{escape(sub)}</text>'
                   f'<title>{escape(name)}</title></g>')
    out.extend(labels)
    out.append("</svg>")
    return Markup("".join(out))


def _columns(initial: str, states: list[str], finals: set[str], edges) -> dict[str, int]:
    succ: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        if src != dst:
            succ[src].append(dst)
    depth = {initial: 0} if initial in states else {}
    queue = list(depth)
    while queue:
        s = queue.pop(0)
        for d in succ[s]:
            if d not in depth and d not in finals:
                depth[d] = depth[s] + 1
                queue.append(d)
    last = max(depth.values(), default=0) + 1
    for s in states:
        if s in finals:
            depth[s] = last
        elif s not in depth:
            depth[s] = last - 1 if last > 1 else 1     # unreachable (validate reports it): keep it visible
    return depth


def _order(cols: dict[str, int], edges) -> list[list[str]]:
    n = max(cols.values()) + 1
    layers = [[s for s, c in cols.items() if c == i] for i in range(n)]
    preds: dict[str, list[str]] = defaultdict(list)
    for src, dst in edges:
        if src != dst:
            preds[dst].append(src)
    for _ in range(2):
        rank = {s: i for layer in layers for i, s in enumerate(layer)}
        for layer in layers[1:]:
            def key(s: str) -> float:
                ps = [rank[p] for p in preds[s] if cols[p] < cols[s]]
                return sum(ps) / len(ps) if ps else rank[s]
            layer.sort(key=key)
            rank.update({s: i for i, s in enumerate(layer)})
    return layers


def _positions(layers: list[list[str]]) -> dict[str, tuple[int, int]]:
    tallest = max(len(layer) for layer in layers)
    full = tallest * NODE_H + (tallest - 1) * ROW_GAP
    pos = {}
    for c, layer in enumerate(layers):
        h = len(layer) * NODE_H + (len(layer) - 1) * ROW_GAP
        top = MARGIN + 20 + (full - h) // 2
        for r, s in enumerate(layer):
            pos[s] = (MARGIN + c * (NODE_W + COL_GAP), top + r * (NODE_H + ROW_GAP))
    return pos


def _edge(a: tuple[int, int], b: tuple[int, int], loop: bool) -> tuple[str, float, float]:
    ax, ay = a
    bx, by = b
    if loop:
        x0, x1, y = ax + NODE_W * 0.35, ax + NODE_W * 0.65, ay
        return (f"M{x0:.1f},{y} C{x0 - 10:.1f},{y - 30} {x1 + 10:.1f},{y - 30} {x1:.1f},{y}",
                ax + NODE_W / 2, y - 26)
    if bx > ax:
        x0, y0 = ax + NODE_W, ay + NODE_H / 2
        x1, y1 = bx, by + NODE_H / 2
        dx = (x1 - x0) * 0.5
        c0, c1 = (x0 + dx, y0), (x1 - dx, y1)
    elif bx == ax:
        down = by > ay
        x0, y0 = ax + NODE_W * 0.7, ay + (NODE_H if down else 0)
        x1, y1 = bx + NODE_W * 0.7, by + (0 if down else NODE_H)
        c0, c1 = (x0 + 40, (y0 + y1) / 2), (x1 + 40, (y0 + y1) / 2)
    else:                                        # backwards: arc below both
        x0, y0 = ax + NODE_W / 2, ay + NODE_H
        x1, y1 = bx + NODE_W / 2, by + NODE_H
        low = max(y0, y1) + 40
        c0, c1 = (x0, low), (x1, low)
    # the label sits at the Bézier's midpoint
    lx = (x0 + 3 * c0[0] + 3 * c1[0] + x1) / 8
    ly = (y0 + 3 * c0[1] + 3 * c1[1] + y1) / 8 - 3
    return (f"M{x0:.1f},{y0:.1f} C{c0[0]:.1f},{c0[1]:.1f} {c1[0]:.1f},{c1[1]:.1f} {x1:.1f},{y1:.1f}", lx, ly)
