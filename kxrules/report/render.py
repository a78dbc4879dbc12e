"""Render a :class:`ReportData` through the workspace's Jinja templates (``reports/``) into one
self-contained HTML file, and into the plain-text summary printed on stdout.

Autoescape is on for every template: data (symbol names, server messages, config strings) is
escaped wherever it meets markup; only the SVG built by :mod:`kxrules.report.svg` (which escapes
its own text) and the workspace's CSS are inserted as markup. The page carries a Content Security
Policy that forbids scripts and any network fetch, so even a template edited carelessly cannot
make the report call home.
"""
from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

from markupsafe import Markup

from .build import ReportData
from .source import ReportError

TEMPLATE = "report.html.j2"


def template_dirs(workspace: Path | None) -> list[Path]:
    """The workspace's reports/ first, then the shipped one (a workspace may override one file)."""
    from ..config.workspace import bundled_workspace

    dirs = []
    if workspace is not None and (Path(workspace) / "reports").is_dir():
        dirs.append(Path(workspace) / "reports")
    shipped = bundled_workspace() / "reports"
    if shipped.is_dir() and shipped not in dirs:
        dirs.append(shipped)
    if not any((d / TEMPLATE).is_file() for d in dirs):
        raise ReportError(f"no {TEMPLATE} in {', '.join(map(str, dirs)) or 'any reports/ directory'}")
    return dirs


def environment(dirs: list[Path]):
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader([str(d) for d in dirs], encoding="utf-8"),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters.update(krw=krw, num=num, pct=pct, bps=bps, ms=ms, hms=hms, signed=signed)

    def inline(name: str) -> Markup:
        """A file of reports/ (CSS) pasted into the page. Every '<' becomes the CSS escape
        ``\\3c `` (valid inside CSS strings, meaningless elsewhere), so the text can never close
        the <style> element it sits in nor open another."""
        source, _, _ = env.loader.get_source(env, name)
        return Markup(source.replace("<", "\\3c "))

    env.globals["inline"] = inline
    return env


def render_html(data: ReportData, workspace: Path | None = None) -> str:
    import jinja2

    env = environment(template_dirs(workspace))
    try:
        return env.get_template(TEMPLATE).render(d=data, r=data.run, t=data.totals, v=data.view)
    except jinja2.TemplateSyntaxError as exc:
        raise ReportError(f"{exc.filename or exc.name}:{exc.lineno}: template syntax error: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise ReportError(f"{_where(exc)}report template error: {exc}") from exc
    except (TypeError, ValueError, KeyError, AttributeError, ZeroDivisionError) as exc:
        where = _where(exc)
        if not where:
            raise                   # not the template's doing: a bug, let it surface
        raise ReportError(f"{where}report template error: {type(exc).__name__}: {exc}") from exc


def _where(exc: BaseException) -> str:
    """``file:line: `` of the innermost template frame (Jinja rewrites tracebacks to point there)."""
    tb, where = exc.__traceback__, ""
    while tb is not None:
        name = tb.tb_frame.f_code.co_filename
        if name.endswith((".j2", ".html", ".css")):
            where = f"{name}:{tb.tb_lineno}: "
        tb = tb.tb_next
    return where


def write(data: ReportData, out: Path, workspace: Path | None = None) -> Path:
    html = render_html(data, workspace)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out


# -- formatting filters -----------------------------------------------------------------------
def _missing(x) -> bool:
    from jinja2 import Undefined

    if isinstance(x, Undefined):
        str(x)              # StrictUndefined raises the template error that names the value
        return True
    return x is None or (isinstance(x, float) and math.isnan(x))


def krw(x, sign: bool = False) -> str:
    if _missing(x):
        return "–"
    x = int(round(x))
    return f"{'+' if sign and x > 0 else '-' if x < 0 else ''}₩{abs(x):,}"


def signed(x) -> str:
    return krw(x, sign=True)


def num(x, digits: int = 0) -> str:
    if _missing(x):
        return "–"
    return f"{x:,.{digits}f}"


def pct(x, digits: int = 1) -> str:
    return "–" if _missing(x) else f"{x * 100:,.{digits}f}%"


def bps(x, digits: int = 1) -> str:
    return "–" if _missing(x) else f"{x:+,.{digits}f} bps"


def ms(x, digits: int | None = None, unit: bool = True) -> str:
    if _missing(x):
        return "–"
    if digits is None:
        digits = 0 if abs(x) >= 100 else 1 if abs(x) >= 10 else 2
    return f"{x:,.{digits}f}" + (" ms" if unit else "")


def hms(t, millis: bool = False) -> str:
    """Seoul seconds of day (float) or a datetime → HH:MM:SS[.mmm]."""
    if _missing(t):
        return "–"
    if isinstance(t, dt.datetime):
        return t.strftime("%Y-%m-%d %H:%M:%S")
    whole = int(t) % 86400
    out = f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}"
    return out + (f".{int(round((t - int(t)) * 1000)) % 1000:03d}" if millis else "")


# -- the plain-text summary (stdout, logs, cron mail) ----------------------------------------
def text_summary(d: ReportData) -> str:
    r, t = d.run, d.totals
    state = "ended normally" if r.ended_normally else f"ENDED ABNORMALLY (status {r.status}, exit {r.exit_code})"
    broker = "Kiwoom emulator" if r.broker == "sim" else r.broker
    lines = [
        f"kxrules report: run {r.run_id}, {r.run_date}, profile {r.profile}, {broker}"
        + (f" (seed {r.sim_seed})" if r.sim_seed is not None else "") + f", server {r.server_text}, {state}",
        f"  signals {t['signals']:,} ({t['refused']:,} refused); pairs started {t['pairs_started']:,}, "
        f"completed {t['pairs_done']:,}, open at end {t['pairs_open']:,}; "
        f"entry fill rate {pct(t['fill_rate'])}",
        f"  gross {krw(t['gross_krw'])} - commission {krw(t['commission_krw'])} - venue fees "
        f"{krw(t['venue_fees_krw'])} - tax {krw(t['tax_krw'])} = net {krw(t['net_krw'])} "
        f"({bps(t['net_bps'])})" if t["commission_krw"] is not None else
        f"  gross {krw(t['gross_krw'])} - fees {krw(t['fees_krw'])} - tax {krw(t['tax_krw'])} = "
        f"net {krw(t['net_krw'])} ({bps(t['net_bps'])})",
        f"  time unhedged p50 {ms(t['unhedged_p50'])} / p95 {ms(t['unhedged_p95'])} / "
        f"max {ms(t['unhedged_max'])}; IOC hedges {t['ioc_pairs']:,}; rejects {t['rejects']:,}, "
        f"ack timeouts {t['ack_timeouts']:,}; max {d.utilisation['max_in_window']} order calls "
        f"in any {d.view.window_ms:,} ms (capacity {d.view.capacity})",
        "  latency " + "; ".join(
            f"{s['label']} p50 {ms(s['p50'])} p95 {ms(s['p95'])} p99 {ms(s['p99'])}"
            + (" BREACH" if s["status"] == "breach" else "") for s in d.slo if s["n"]),
    ]
    if r.incomplete:
        lines.insert(1, f"  DATA INCOMPLETE: {r.incomplete}")
    b = t["broker"]
    if b["known"]:
        lines.append("  broker's account at the end: " + (
            "flat (confirmed)" if b["confirmed"] and not b["positions_left"] else
            "NOT FLAT " + ", ".join(f"{c} {q:+d}" for c, q in b["positions_left"].items()) if b["positions_left"]
            else "NOT CONFIRMED (no answer after the last order)"))
    for x in b["breaks"]:
        lines.append(f"  position break {x['code']} at {hms(x['ts_s'])}: engine {x['engine']:+d}, "
                     f"broker {x['broker']:+d}; symbol frozen")
    for x in b["adjustments"]:
        lines.append(f"  adjusted {x['code']} at {hms(x['ts_s'])} to the broker's {x['broker']:+d} "
                     f"(was {x['engine']:+d}; estimated {krw(x.get('estimated_cash_krw', 0))})")
    if t["positions_left"]:
        lines.append("  NOT FLAT by the recorded fills: " + ", ".join(f"{c} {q:+d}" for c, q in t["positions_left"].items())
                     + f"; valued at the last price the net would be {krw(t['net_marked_krw'])}")
    return "\n".join(line for line in lines if line.strip() != "latency")
