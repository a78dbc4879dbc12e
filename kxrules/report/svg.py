"""Inline SVG charts (no JavaScript, no library): time series with bands and shaded periods,
SLO bars and pair-timeline strips. Colours live in the template's CSS (classes), every text
that comes from data is escaped here, and every element with a value carries a ``<title>``
tooltip. The output is :class:`markupsafe.Markup`, so the templates insert it as is."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Sequence

from markupsafe import Markup, escape

W, H = 960, 230
PAD_L, PAD_R, PAD_T, PAD_B = 64, 16, 12, 26


@dataclass
class Series:
    points: Sequence[tuple[float, float]]
    kind: str = "line"             # line | step | bars | dots
    css: str = "s1"
    label: str = ""
    width_s: float = 0.0           # bars: width in seconds


@dataclass
class TimeChart:
    x0: float
    x1: float
    y0: float
    y1: float
    yfmt: Callable[[float], str] = lambda v: f"{v:,.0f}"
    title: str = ""
    height: int = H
    series: list[Series] = field(default_factory=list)
    hlines: list[tuple[float, str, str]] = field(default_factory=list)     # value, css, label
    hbands: list[tuple[float, float, str, str]] = field(default_factory=list)   # y from, to, css, label
    periods: list[tuple[float, float, str, str]] = field(default_factory=list)  # x from, to, css, label
    ticks: list[tuple[float, str]] = field(default_factory=list)    # x marks at the bottom

    def sx(self, t: float) -> float:
        return PAD_L + (t - self.x0) / max(self.x1 - self.x0, 1e-9) * (W - PAD_L - PAD_R)

    def sy(self, v: float) -> float:
        h = self.height - PAD_T - PAD_B
        return PAD_T + h - (v - self.y0) / max(self.y1 - self.y0, 1e-12) * h

    def render(self) -> Markup:
        out = [f'<svg class="chart" viewBox="0 0 {W} {self.height}" role="img" aria-label="{escape(self.title)}" '
               f'xmlns="http://www.w3.org/2000/svg">', f"<title>{escape(self.title)}</title>"]
        top, bottom = self.sy(self.y1), self.sy(self.y0)
        for a, b, css, label in self.hbands:
            ya, yb = self.sy(min(max(b, self.y0), self.y1)), self.sy(min(max(a, self.y0), self.y1))
            out.append(f'<rect class="{css}" x="{PAD_L}" y="{ya:.1f}" width="{W - PAD_L - PAD_R}" '
                       f'height="{max(yb - ya, 0):.1f}"><title>{escape(label)}</title></rect>')
        for a, b, css, label in self.periods:
            xa, xb = self.sx(max(a, self.x0)), self.sx(min(b if b is not None else self.x1, self.x1))
            out.append(f'<rect class="{css}" x="{xa:.1f}" y="{top:.1f}" width="{max(xb - xa, 1.5):.1f}" '
                       f'height="{bottom - top:.1f}"><title>{escape(label)}</title></rect>')
        out.extend(self._axes())
        for i, (v, css, label) in enumerate(self.hlines):
            if self.y0 <= v <= self.y1:
                y = self.sy(v)
                out.append(f'<line class="{css}" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}">'
                           f'<title>{escape(label)}</title></line>')
                x, anchor = (W - PAD_R - 2, "end") if i % 2 == 0 else (PAD_L + 4, "start")
                out.append(f'<text class="hlabel" x="{x}" y="{y - 3:.1f}" text-anchor="{anchor}">'
                           f'{escape(label)}</text>')
        for s in self.series:
            out.append(self._series(s))
        for t, label in self.ticks:
            x = self.sx(t)
            out.append(f'<line class="mark" x1="{x:.1f}" x2="{x:.1f}" y1="{bottom:.1f}" y2="{bottom - 6:.1f}">'
                       f'<title>{escape(label)}</title></line>')
        out.append("</svg>")
        return Markup("".join(out))

    def _axes(self) -> list[str]:
        out = []
        bottom = self.sy(self.y0)
        for v in nice_ticks(self.y0, self.y1, 4):
            y = self.sy(v)
            out.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y:.1f}" y2="{y:.1f}"/>'
                       f'<text class="axis" x="{PAD_L - 6}" y="{y + 4:.1f}" text-anchor="end">'
                       f'{escape(self.yfmt(v))}</text>')
        for t in time_ticks(self.x0, self.x1):
            x = self.sx(t)
            out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{PAD_T}" y2="{bottom:.1f}"/>'
                       f'<text class="axis" x="{x:.1f}" y="{bottom + 16:.1f}" text-anchor="middle">'
                       f'{hhmm(t)}</text>')
        out.append(f'<line class="axisline" x1="{PAD_L}" x2="{W - PAD_R}" y1="{bottom:.1f}" y2="{bottom:.1f}"/>')
        return out

    def _series(self, s: Series) -> str:
        pts = [(t, v) for t, v in s.points if v is not None]
        if not pts:
            return ""
        clip = lambda v: min(max(v, self.y0), self.y1)  # noqa: E731
        if s.kind == "bars":
            base = self.sy(max(self.y0, 0))
            w = max(self.sx(self.x0 + s.width_s) - self.sx(self.x0) - 0.3, 0.8)
            parts = []
            for t, v in pts:
                y = self.sy(clip(v))
                parts.append(f'<rect x="{self.sx(t):.1f}" y="{min(y, base):.1f}" width="{w:.1f}" '
                             f'height="{max(abs(base - y), 0.8):.1f}"><title>{hhmm(t, True)} '
                             f'{escape(s.label)} {escape(self.yfmt(v))}</title></rect>')
            return f'<g class="bars {s.css}">{"".join(parts)}</g>'
        if s.kind == "dots":
            parts = [f'<circle cx="{self.sx(t):.1f}" cy="{self.sy(clip(v)):.1f}" r="2.5"><title>{hhmm(t, True)} '
                     f'{escape(s.label)} {escape(self.yfmt(v))}</title></circle>' for t, v in pts]
            return f'<g class="dots {s.css}">{"".join(parts)}</g>'
        d = []
        prev = None
        for t, v in pts:
            x, y = self.sx(t), self.sy(clip(v))
            if prev is None:
                d.append(f"M{x:.1f},{y:.1f}")
            elif s.kind == "step":
                d.append(f"H{x:.1f}V{y:.1f}")
            else:
                d.append(f"L{x:.1f},{y:.1f}")
            prev = (x, y)
        if s.kind == "step":
            d.append(f"H{self.sx(self.x1):.1f}")
        return (f'<path class="{s.kind} {s.css}" d="{"".join(d)}"><title>{escape(s.label)}</title></path>')


def nice_ticks(lo: float, hi: float, n: int = 4) -> list[float]:
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    out, v = [], first
    while v <= hi + step * 1e-9:
        out.append(round(v, 10))
        v += step
    return out


def nice_range(values: Sequence[float], *, include_zero: bool = True, pad: float = 0.08) -> tuple[float, float]:
    vals = [v for v in values if v is not None]
    if include_zero:
        vals = vals + [0.0]
    if not vals:
        return 0.0, 1.0
    lo, hi = min(vals), max(vals)
    if hi == lo:
        hi = lo + (abs(lo) or 1.0)
    span = hi - lo
    return (lo - span * pad if lo < 0 else lo), hi + span * pad


def time_ticks(x0: float, x1: float, n: int = 8) -> list[float]:
    span = x1 - x0
    step = next((s for s in (60, 120, 300, 600, 900, 1800, 3600, 7200) if span / s <= n), 7200)
    if span / 60 < 2:
        step = next((s for s in (5, 10, 15, 30, 60) if span / s <= n), 60)
    first = math.ceil(x0 / step) * step
    return [first + i * step for i in range(int((x1 - first) // step) + 1)]


def hhmm(t: float, seconds: bool = False) -> str:
    t = int(t) % 86400
    return f"{t // 3600:02d}:{t % 3600 // 60:02d}" + (f":{t % 60:02d}" if seconds else "")


def slo_bar(tile: dict, width: int = 280, height: int = 46) -> Markup:
    """p50/p95/p99 marks and the target on one horizontal scale."""
    vals = [tile.get(k) for k in ("p50", "p95", "p99")]
    target = tile.get("target")
    if tile.get("n", 0) == 0:
        return Markup(f'<svg class="slo" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
                      f'<text class="axis" x="4" y="26">no samples</text></svg>')
    hi = max([v for v in vals if v is not None] + [target or 0]) * 1.15 or 1.0
    sx = lambda v: 6 + v / hi * (width - 12)  # noqa: E731
    out = [f'<svg class="slo" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="{escape(tile["label"])}">',
           f'<rect class="track" x="6" y="16" width="{width - 12}" height="10" rx="3"/>',
           f'<rect class="fill {escape(tile["status"])}" x="6" y="16" width="{max(sx(vals[1]) - 6, 1):.1f}" '
           f'height="10" rx="3"><title>p95 {vals[1]:,.2f} ms</title></rect>']
    last_label = -1e9
    for name, v in zip(("p50", "p95", "p99"), vals):
        x = sx(v)
        out.append(f'<line class="pmark" x1="{x:.1f}" x2="{x:.1f}" y1="12" y2="30"><title>{name} {v:,.2f} ms'
                   f'</title></line>')
        if x - last_label >= 24:              # close marks share the first one's label
            out.append(f'<text class="axis" x="{max(x, 12):.1f}" y="42" text-anchor="middle">{name}</text>')
            last_label = x
    if target is not None:
        x = sx(target)
        out.append(f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="4" y2="34"><title>target {target:,.0f} ms'
                   f'</title></line><text class="axis" x="{x:.1f}" y="10" text-anchor="middle">target</text>')
    out.append("</svg>")
    return Markup("".join(out))


def pair_strip(steps: list[dict], end_ms: float | None = None, width: int = W, height: int = 34) -> Markup:
    """A pair's states as consecutive segments on a millisecond scale (from its first transition)."""
    if not steps:
        return Markup("")
    marks = [(s["dt_ms"], s["dest"], s["trigger"]) for s in steps]
    total = max(end_ms or 0.0, marks[-1][0], 1.0) * 1.02
    sx = lambda v: 4 + v / total * (width - 8)  # noqa: E731
    out = [f'<svg class="strip" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
           f'aria-label="pair timeline">']
    for i, (t, state, trig) in enumerate(marks):
        t_next = marks[i + 1][0] if i + 1 < len(marks) else total
        x, x2 = sx(t), sx(t_next)
        css = "st-" + escape(state.lower())
        out.append(f'<rect class="seg {css}" x="{x:.1f}" y="4" width="{max(x2 - x, 2):.1f}" height="16">'
                   f'<title>{escape(state)} from +{t:,.1f} ms ({escape(trig)})</title></rect>')
        if x2 - x > len(state) * 6.4 + 6:
            out.append(f'<text class="seglabel" x="{x + 3:.1f}" y="15.5">{escape(state)}</text>')
    for v in nice_ticks(0, total, 6):
        out.append(f'<text class="axis" x="{min(max(sx(v), 18), width - 24):.1f}" y="{height - 2}" '
                   f'text-anchor="middle">{v:,.0f} ms</text>')
    out.append("</svg>")
    return Markup("".join(out))
