"""``kxrules report --sweep ID``: one self-contained HTML page of a sweep's results.

Settings ranked by the objective (constraints must hold on every day; a search's with the trials
that proposed them), a heatmap over two parameters (a search's values binned into ranges), each setting's per-day spread (robust or lucky?), net PnL against unhedged p95 per
run, and the exact ``kxrules trade`` command of every cell. Inline CSS and SVG, no script, no
network (the page's Content Security Policy forbids both); rendered with the workspace's
``reports/sweep.html.j2`` (autoescape on).
"""
from __future__ import annotations

import datetime as dt
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from markupsafe import Markup, escape

from .objective import Ranked, aggregate, rank
from .spec import Objective

TEMPLATE = "sweep.html.j2"


class SweepReportError(Exception):
    """No results file, or no such sweep in it."""


@dataclass
class SweepReport:
    sweep_id: str
    file: str
    profile: str
    objective: Objective
    metric: str
    rows: list[dict[str, Any]]
    ranked: list[Ranked]
    params: list[str]                       # the parameters varied
    days: list[str]
    search: dict[str, Any] | None = None    # a search's section of the sweep file
    trials: dict[str, list[int]] = field(default_factory=dict)     # setting -> the trials that proposed it
    heatmap: Markup | None = None
    spread: Markup | None = None
    scatter: Markup | None = None
    generated: str = field(default_factory=lambda: dt.datetime.now().strftime("%Y-%m-%d %H:%M"))


def load(db: Path, sweep_id: str) -> SweepReport:
    import duckdb

    if not Path(db).is_file():
        raise SweepReportError(f"no sweep results at {db} (kxrules sweep FILE writes them; --db names another file)")
    con = duckdb.connect(str(db), read_only=True)
    try:
        head = con.execute("SELECT file, profile, spec_json FROM sweeps WHERE sweep_id = ?", [sweep_id]).fetchone()
        if head is None:
            have = [r[0] for r in con.execute("SELECT sweep_id FROM sweeps ORDER BY 1").fetchall()]
            raise SweepReportError(f"no sweep {sweep_id!r} in {db}; it holds: {', '.join(have) or 'none'}")
        cur = con.execute("SELECT * FROM sweep_runs WHERE sweep_id = ? ORDER BY setting, day_date, day", [sweep_id])
        names = [d[0] for d in cur.description]
        rows = [dict(zip(names, r)) for r in cur.fetchall()]
        trials = con.execute("SELECT setting, trial FROM sweep_trials WHERE sweep_id = ? ORDER BY trial",
                             [sweep_id]).fetchall() if _has_table(con, "sweep_trials") else []
    finally:
        con.close()
    spec = json.loads(head[2])
    objective = Objective.model_validate(spec.get("objective") or {"maximize": "net_krw"})
    metric = objective.metric
    for r in rows:
        r["params"] = json.loads(r["setting_json"])["params"]
    params = sorted({k for r in rows for k in r["params"]})
    rep = SweepReport(sweep_id, head[0], head[1], objective, metric, rows, rank(rows, objective), params,
                      sorted({str(r["day_date"]) for r in rows}), spec.get("search"))
    for setting, trial in trials:
        rep.trials.setdefault(setting, []).append(trial)
    if rows:
        rep.heatmap = heatmap(rows, params, objective) if len(params) >= 2 else None
        rep.spread = spread(rep.ranked, rows)
        bound = objective.constraints.get("unhedged_p95_ms")
        rep.scatter = scatter(rows, bound.max if bound else None)
    return rep


def _has_table(con, name: str) -> bool:
    """Results written before searches existed have no trials table."""
    return bool(con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [name]).fetchone()[0])


def render(rep: SweepReport, out: Path, workspace: Path | None) -> Path:
    from ..report.render import environment, template_dirs

    env = environment(template_dirs(workspace))
    html = env.get_template(TEMPLATE).render(s=rep)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


# -- SVG (every text escaped here; the template inserts these as markup) ---------------------------
def _color(v: float | None, lo: float, hi: float) -> str:
    """Red below zero, green above, white at zero (scaled to the largest magnitude)."""
    if v is None:
        return "#eee"
    m = max(abs(lo), abs(hi)) or 1.0
    f = min(1.0, abs(v) / m)
    other = int(255 - 150 * f)
    return f"rgb({other},{255},{other})" if v >= 0 else f"rgb(255,{other},{other})"


def _num(v: float | None) -> str:
    if v is None:
        return "–"
    return f"{v:,.0f}" if abs(v) >= 100 or float(v).is_integer() else f"{v:,.2f}"


MAX_AXIS = 8        # distinct values an axis shows one by one; a search's more are put in ranges


def _axis(values: set) -> tuple[list, list[str], Any]:
    """An axis's cells: (keys, labels, key of a value). A grid's values each get a cell; a search's
    many values are binned into MAX_AXIS equal ranges (labelled ``lo–hi``)."""
    xs = sorted(values)
    if len(xs) <= MAX_AXIS:
        return xs, [_num(x) for x in xs], lambda v: v
    lo, hi = xs[0], xs[-1]
    width = (hi - lo) / MAX_AXIS

    def key(v: float) -> int:
        return min(MAX_AXIS - 1, int((v - lo) / width))

    used = sorted({key(x) for x in xs})
    return used, [f"{_num(lo + width * k)}–{_num(lo + width * (k + 1))}" for k in used], key


def heatmap(rows: list[dict], params: list[str], objective: Objective) -> Markup:
    """The objective over the first two parameters (the best over any others), per cell; a cell
    of a search's axis is a range of values (the best setting inside it)."""
    metric = objective.metric
    px, py = params[0], params[1]
    xs, x_labels, x_key = _axis({r["params"][px] for r in rows if px in r["params"]})
    ys, y_labels, y_key = _axis({r["params"][py] for r in rows if py in r["params"]})
    by_setting: dict[str, list[dict]] = {}
    for r in rows:
        by_setting.setdefault(r["setting"], []).append(r)
    cells: dict[tuple, float] = {}
    for rs in by_setting.values():
        p = rs[0]["params"]
        v = aggregate([r.get(metric) for r in rs], metric)
        if v is None or px not in p or py not in p:
            continue
        k = (x_key(p[px]), y_key(p[py]))
        if k not in cells or (v > cells[k] if objective.maximize else v < cells[k]):
            cells[k] = v
    cw, ch, left, top = 110, 40, 120, 30
    w, h = left + cw * len(xs) + 10, top + ch * len(ys) + 40
    lo, hi = (min(cells.values()), max(cells.values())) if cells else (0, 0)
    out = [f'<svg class="chart heat" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
           f'aria-label="{escape(metric)} by {escape(px)} and {escape(py)}">']
    out.append(f'<text x="{left + cw * len(xs) / 2}" y="{h - 6}" text-anchor="middle" class="axis">{escape(px)}</text>')
    out.append(f'<text x="10" y="{top - 12}" class="axis">{escape(py)}</text>')
    out.append('<g class="cells">')
    for j, y in enumerate(ys):
        out.append(f'<text x="{left - 8}" y="{top + ch * j + ch / 2 + 4}" text-anchor="end">{escape(y_labels[j])}</text>')
        for i, x in enumerate(xs):
            v = cells.get((x, y))
            out.append(f'<rect x="{left + cw * i}" y="{top + ch * j}" width="{cw - 2}" height="{ch - 2}" '
                       f'fill="{_color(v, lo, hi)}"><title>{escape(px)}={escape(x_labels[i])} '
                       f'{escape(py)}={escape(y_labels[j])}: {escape(_num(v))}</title></rect>')
            out.append(f'<text x="{left + cw * i + cw / 2}" y="{top + ch * j + ch / 2 + 4}" text-anchor="middle">'
                       f'{escape(_num(v))}</text>')
    out.append('</g>')
    for i, label in enumerate(x_labels):
        out.append(f'<text x="{left + cw * i + cw / 2}" y="{top + ch * len(ys) + 16}" text-anchor="middle">{escape(label)}</text>')
    out.append('</svg>')
    return Markup("".join(out))


def spread(ranked: list[Ranked], rows: list[dict], top: int = 30) -> Markup:
    """One line per setting (ranked order): a dot per day's net KRW, the median marked."""
    shown = ranked[:top]
    nets = [r["net_krw"] for r in rows if r["setting"] in {x.setting for x in shown}]
    lo, hi = min(nets + [0]), max(nets + [0])
    span = (hi - lo) or 1
    left, width, lh, top_pad = 330, 520, 22, 24
    w, h = left + width + 20, top_pad + lh * len(shown) + 30

    def sx(v: float) -> float:
        return left + (v - lo) / span * width

    out = [f'<svg class="chart spread" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
           'aria-label="net KRW per day for each setting">']
    out.append(f'<line x1="{sx(0):.1f}" y1="{top_pad - 6}" x2="{sx(0):.1f}" y2="{h - 24}" class="zero"/>')
    out.append('<g class="dots">')
    for i, r in enumerate(shown):
        y = top_pad + lh * i + lh / 2
        day_nets = [x["net_krw"] for x in rows if x["setting"] == r.setting]
        out.append(f'<text x="{left - 8}" y="{y + 4}" text-anchor="end">{escape(r.setting[:48])}</text>')
        out.append(f'<line x1="{sx(min(day_nets)):.1f}" y1="{y}" x2="{sx(max(day_nets)):.1f}" y2="{y}" class="range"/>')
        for v in day_nets:
            out.append(f'<circle cx="{sx(v):.1f}" cy="{y}" r="4"><title>{escape(_num(v))} KRW</title></circle>')
        med = statistics.median(day_nets)
        out.append(f'<rect x="{sx(med) - 1:.1f}" y="{y - 7}" width="2" height="14" class="median"/>')
    out.append('</g>')
    out.append(f'<text x="{sx(lo):.1f}" y="{h - 6}" text-anchor="start">{escape(_num(lo))} KRW</text>')
    out.append(f'<text x="{sx(hi):.1f}" y="{h - 6}" text-anchor="end">{escape(_num(hi))} KRW</text>')
    out.append('</svg>')
    return Markup("".join(out))


def scatter(rows: list[dict], p95_max: float | None) -> Markup:
    """Each run: net KRW against unhedged p95 (ms); the constraint as a vertical line."""
    pts = [(r["unhedged_p95_ms"], r["net_krw"], r["setting"], str(r["day_date"])) for r in rows
           if r["unhedged_p95_ms"] is not None]
    xs = [p[0] for p in pts] + ([p95_max] if p95_max else []) + [0]
    ys = [p[1] for p in pts] + [0]
    x0, x1 = min(xs), max(xs) * 1.05 or 1
    y0, y1 = min(ys), max(ys)
    ys_span = (y1 - y0) or 1
    left, top, width, height = 70, 10, 600, 260
    w, h = left + width + 20, top + height + 40

    def sx(v: float) -> float:
        return left + (v - x0) / ((x1 - x0) or 1) * width

    def sy(v: float) -> float:
        return top + height - (v - y0) / ys_span * height

    out = [f'<svg class="chart scatter" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
           'aria-label="net KRW against unhedged p95 per run">']
    out.append(f'<line x1="{left}" y1="{sy(0):.1f}" x2="{left + width}" y2="{sy(0):.1f}" class="zero"/>')
    if p95_max:
        out.append(f'<line x1="{sx(p95_max):.1f}" y1="{top}" x2="{sx(p95_max):.1f}" y2="{top + height}" class="limit"/>')
        out.append(f'<text x="{sx(p95_max) + 4:.1f}" y="{top + 12}">p95 ≤ {escape(_num(p95_max))} ms</text>')
    out.append('<g class="dots">')
    for x, y, setting, day in pts:
        out.append(f'<circle cx="{sx(x):.1f}" cy="{sy(y):.1f}" r="4"><title>{escape(setting)} on {escape(day)}: '
                   f'{escape(_num(y))} KRW, p95 {escape(_num(x))} ms</title></circle>')
    out.append('</g>')
    out.append(f'<text x="{left + width / 2}" y="{h - 6}" text-anchor="middle" class="axis">unhedged p95 (ms)</text>')
    out.append(f'<text x="{left}" y="{top + height + 16}" text-anchor="start">{escape(_num(x0))}</text>')
    out.append(f'<text x="{left + width}" y="{top + height + 16}" text-anchor="end">{escape(_num(x1))}</text>')
    out.append(f'<text x="{left - 6}" y="{sy(y1) + 4:.1f}" text-anchor="end">{escape(_num(y1))}</text>')
    out.append(f'<text x="{left - 6}" y="{sy(y0) + 4:.1f}" text-anchor="end">{escape(_num(y0))}</text>')
    out.append('</svg>')
    return Markup("".join(out))
