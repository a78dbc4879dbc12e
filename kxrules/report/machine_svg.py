"""The compiled pair state machine drawn as inline SVG: a small layered (Sugiyama-style) layout,
top to bottom, with no JavaScript and no graph library.

1. cycles are broken by reversing the back edges of a depth-first walk from the initial state;
2. states are layered by their longest path from the initial state;
3. an edge spanning several layers gets invisible waypoints in the layers between, so it runs
   between the states instead of through them;
4. each layer is ordered by the barycenter of its neighbours (sweeps down and up), then placed
   left to right, nudged toward its neighbours' mean x;
5. edges between the same two states are merged (their triggers listed); labels are placed
   greedily where they overlap no state and no other label. An edge the run took is drawn
   heavier and labelled with how many times it fired.
"""
from __future__ import annotations

import math
from collections import defaultdict

from markupsafe import Markup, escape

NODE_W, NODE_H, DUMMY_W = 176, 40, 24
H_GAP, LAYER_GAP, MARGIN = 34, 74, 20
CHAR_W, LABEL_H = 5.9, 12


def draw(machine, counts: dict[tuple[str, str, str], int] | None = None) -> Markup:
    counts = counts or {}
    states = [s.name for s in machine.states]
    finals = {s.name for s in machine.states if s.final}
    timers = {s.name: s.timer for s in machine.states if s.timer}
    merged: dict[tuple[str, str], list[str]] = defaultdict(list)
    for t in machine.transitions:
        for src in t.sources:
            if src in states and t.dest in states and t.trigger not in merged[(src, t.dest)]:
                merged[(src, t.dest)].append(t.trigger)
    subs = {name: _subtitle(timers.get(name), name in finals) for name in states}
    widths = {name: max(NODE_W, len(name) * 7.4 + 20, len(subs[name]) * 5.7 + 16) for name in states}
    layer = _layers(machine.initial, states, list(merged))
    chains, layers = _waypoints(states, layer, list(merged))
    _order(layers, chains)
    pos = _place(layers, chains, widths)
    boxes = [(x, y, x + w, y + NODE_H) for n, (x, y, w) in pos.items() if not n.startswith("~")]
    out: list[str] = []
    labels: list[str] = []
    for (src, dst), triggers in merged.items():
        n = sum(counts.get((src, dst, trig), 0) for trig in triggers)
        text = ", ".join(triggers) + (f" ×{n:,}" if n else "")
        used = " used" if n else ""
        stroke = f' style="stroke-width:{1.2 + min(3.5, math.log10(n + 1) * 1.6):.2f}"' if n else ""
        if src == dst:
            x, y, w = pos[src]
            path = (f"M{x + w:.1f},{y + 12:.1f} C{x + w + 34:.1f},{y + 2:.1f} {x + w + 34:.1f},{y + NODE_H - 2:.1f} "
                    f"{x + w + 2:.1f},{y + NODE_H - 12:.1f}")
            candidates = [(x + w + 38, y + NODE_H / 2 + 4, "start")]
        else:
            pts = _route(chains[(src, dst)], pos)
            path = _smooth(pts)
            candidates = _label_spots(pts)
        out.append(f'<path class="edge{used}" d="{path}" marker-end="url(#arrow)"{stroke}>'
                   f'<title>{escape(src)} → {escape(dst)}: {escape(text)}</title></path>')
        lx, ly, anchor = _free_spot(candidates, len(text) * CHAR_W, boxes)
        labels.append(f'<text class="elabel{used}" x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}">'
                      f'{escape(text)}</text>')
    for name in states:
        x, y, w = pos[name]
        css = "node final" if name in finals else "node"
        if name == machine.initial:
            css += " initial"
        sub = subs[name]
        inner = (f'<rect class="inner" x="{x + 3:.1f}" y="{y + 3:.1f}" width="{w - 6}" height="{NODE_H - 6}" rx="5"/>'
                 if name in finals else "")
        out.append(f'<g class="{css}"><rect x="{x:.1f}" y="{y:.1f}" width="{w}" height="{NODE_H}" rx="7"/>{inner}'
                   f'<text class="nname" x="{x + w / 2:.1f}" y="{y + 17:.1f}" text-anchor="middle">{escape(name)}</text>'
                   f'<text class="nsub" x="{x + w / 2:.1f}" y="{y + 31:.1f}" text-anchor="middle">{escape(sub)}</text>'
                   f'<title>{escape(name)}</title></g>')
    out.extend(labels)
    out.append("</svg>")
    width = max(b[2] for b in boxes) + MARGIN           # boxes now hold the labels too
    height = max(b[3] for b in boxes) + MARGIN
    head = (f'<svg class="machine" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" '
            f'xmlns="http://www.w3.org/2000/svg" role="img" aria-label="pair state machine">'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="9" markerHeight="9" '
            'markerUnits="userSpaceOnUse" orient="auto-start-reverse">'
            '<path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>')
    return Markup(head + "".join(out))


def _subtitle(timer, final: bool) -> str:
    if timer is None:
        return "final" if final else ""
    after = f"{timer.after_ms:,} ms" if isinstance(timer.after_ms, (int, float)) else str(timer.after_ms)
    return f"after {after} → {timer.trigger}"


def _layers(initial: str, states: list[str], edges: list[tuple[str, str]]) -> dict[str, int]:
    succ: dict[str, list[str]] = defaultdict(list)
    for a, b in edges:
        if a != b:
            succ[a].append(b)
    # depth-first from the initial state (then any unvisited state): back edges close cycles
    back: set[tuple[str, str]] = set()
    colour: dict[str, int] = {}
    for root in [initial] + states:
        if root in colour or root not in states:
            continue
        stack = [(root, iter(succ[root]))]
        colour[root] = 1
        while stack:
            node, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                colour[node] = 2
                stack.pop()
            elif colour.get(nxt) == 1:
                back.add((node, nxt))
            elif nxt not in colour:
                colour[nxt] = 1
                stack.append((nxt, iter(succ[nxt])))
    dag = [(b, a) if (a, b) in back else (a, b) for a, b in edges if a != b]
    layer = {s: 0 for s in states}
    for _ in range(len(states)):          # longest path (Bellman-Ford style; the graph is small)
        changed = False
        for a, b in dag:
            if layer[b] < layer[a] + 1:
                layer[b] = layer[a] + 1
                changed = True
        if not changed:
            break
    return layer


def _waypoints(states, layer, edges):
    """Each edge's chain of nodes, with one waypoint (``~k``) per layer it crosses."""
    layers: list[list[str]] = [[] for _ in range(max(layer.values()) + 1)]
    for s in states:
        layers[layer[s]].append(s)
    chains: dict[tuple[str, str], list[str]] = {}
    k = 0
    for a, b in edges:
        if a == b:
            continue
        la, lb = layer[a], layer[b]
        step = 1 if lb > la else -1
        chain = [a]
        for li in range(la + step, lb, step):
            k += 1
            layers[li].append(f"~{k}")
            chain.append(f"~{k}")
        chain.append(b)
        chains[(a, b)] = chain
    return chains, layers


def _neighbours(chains) -> dict[str, list[str]]:
    nb: dict[str, list[str]] = defaultdict(list)
    for chain in chains.values():
        for u, v in zip(chain, chain[1:]):
            nb[u].append(v)
            nb[v].append(u)
    return nb


def _order(layers: list[list[str]], chains) -> None:
    nb = _neighbours(chains)
    index = {n: li for li, lay in enumerate(layers) for n in lay}
    for sweep in range(6):
        seq = range(1, len(layers)) if sweep % 2 == 0 else range(len(layers) - 2, -1, -1)
        ref = -1 if sweep % 2 == 0 else 1
        for li in seq:
            rank = {n: i for i, n in enumerate(layers[li + ref])}
            here = {n: i for i, n in enumerate(layers[li])}

            def key(n: str, li=li, rank=rank, here=here) -> float:
                r = [rank[m] for m in nb[n] if m in rank and index[m] == li + ref]
                return sum(r) / len(r) if r else here[n]
            layers[li].sort(key=key)


def _place(layers: list[list[str]], chains, node_w: dict[str, float]) -> dict[str, tuple[float, float, float]]:
    nb = _neighbours(chains)
    widths = {n: (DUMMY_W if n.startswith("~") else node_w[n]) for lay in layers for n in lay}
    total = max(sum(widths[n] for n in lay) + H_GAP * (len(lay) - 1) for lay in layers)
    x: dict[str, float] = {}
    for lay in layers:
        w = sum(widths[n] for n in lay) + H_GAP * (len(lay) - 1)
        cur = MARGIN + (total - w) / 2
        for n in lay:
            x[n] = cur + widths[n] / 2
            cur += widths[n] + H_GAP
    for _ in range(8):                     # pull toward neighbours, keep order and spacing
        for lay in layers:
            want = {n: (sum(x[m] for m in nb[n]) / len(nb[n]) if nb[n] else x[n]) for n in lay}
            for i, n in enumerate(lay):
                lo = x[lay[i - 1]] + (widths[lay[i - 1]] + widths[n]) / 2 + H_GAP if i else MARGIN + widths[n] / 2
                x[n] = max(lo, (x[n] + want[n]) / 2)
            for i in range(len(lay) - 2, -1, -1):
                n, m = lay[i], lay[i + 1]
                x[n] = min(x[n], x[m] - (widths[n] + widths[m]) / 2 - H_GAP)
    shift = MARGIN - min(x[n] - widths[n] / 2 for n in x)
    return {n: (x[n] - widths[n] / 2 + shift, MARGIN + li * (NODE_H + LAYER_GAP), widths[n])
            for li, lay in enumerate(layers) for n in lay}


def _route(chain: list[str], pos) -> list[tuple[float, float]]:
    pts = []
    down = pos[chain[-1]][1] > pos[chain[0]][1]
    for i, n in enumerate(chain):
        x, y, w = pos[n]
        cx = x + w / 2
        if i == 0:
            pts.append((cx, y + NODE_H if down else y))
        elif i == len(chain) - 1:
            pts.append((cx, y if down else y + NODE_H))
        else:
            pts.extend([(cx, y), (cx, y + NODE_H)] if down else [(cx, y + NODE_H), (cx, y)])
    return pts


def _smooth(pts: list[tuple[float, float]]) -> str:
    """Cubic segments with vertical tangents through the waypoints."""
    d = [f"M{pts[0][0]:.1f},{pts[0][1]:.1f}"]
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        if abs(x1 - x0) < 0.5:
            d.append(f"L{x1:.1f},{y1:.1f}")
        else:
            my = (y0 + y1) / 2
            d.append(f"C{x0:.1f},{my:.1f} {x1:.1f},{my:.1f} {x1:.1f},{y1:.1f}")
    return "".join(d)


def _label_spots(pts):
    spots = []
    for (x0, y0), (x1, y1) in zip(pts, pts[1:]):
        for f in (0.5, 0.3, 0.7):
            spots.append(((x0 + x1) / 2 + (x1 - x0) * (f - 0.5) * 0.8 + 6, y0 + (y1 - y0) * f + 4, "start"))
            spots.append(((x0 + x1) / 2 + (x1 - x0) * (f - 0.5) * 0.8 - 6, y0 + (y1 - y0) * f + 4, "end"))
    return spots


def _free_spot(candidates, w: float, boxes: list[tuple[float, float, float, float]]):
    """The first candidate whose label box overlaps nothing placed so far (else the least bad)."""
    best, best_hit = candidates[0], math.inf
    for x, y, anchor in candidates:
        x0 = x if anchor == "start" else x - w
        box = (x0 - 2, y - LABEL_H + 2, x0 + w + 2, y + 3)
        hit = sum(_overlap(box, b) for b in boxes)
        if hit < best_hit:
            best, best_hit = (x, y, anchor), hit
        if hit == 0:
            break
    x, y, anchor = best
    x0 = x if anchor == "start" else x - w
    boxes.append((x0 - 2, y - LABEL_H + 2, x0 + w + 2, y + 3))
    return best


def _overlap(a, b) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0
