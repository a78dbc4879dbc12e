"""`kxrules validate`: lint a profile and every file it names before market open."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, parse_date, workspace_root

READ_FAILURES = {"KX001", "KX201", "KX202", "KX203"}


class OutputFormat(str, Enum):
    text = "text"
    json = "json"


def validate(
    target: Annotated[Optional[str], typer.Argument(
        help="Profile name (config/profiles/NAME.yaml) or path to a profile YAML. "
             "Omit to check every profile in the workspace.", show_default=False)] = None,
    profile: Annotated[Optional[str], typer.Option("--profile", "-p", help="Profile name or path.")] = None,
    output: Annotated[OutputFormat, typer.Option("--format", "-f", help="text, or json for CI.")] = OutputFormat.text,
    date: Annotated[Optional[str], typer.Option("--date", help="Run date YYYY-MM-DD (default: today in Seoul).")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root (default: nearest with config/profiles).")] = None,
    economics: Annotated[bool, typer.Option("--economics", help="Also print the break-even table per symbol.")] = False,
    machine: Annotated[bool, typer.Option("--machine", help="Also list the engine events each pair-machine state "
                                                            "ignores (a note: recorded and alerted if one comes).")] = False,
) -> None:
    """Lint a profile before market open: schema, sessions, throttle, screens, universe, fees and tax, rules, the pair machine, secrets and each symbol's economics.

    Exit codes: 0 clean (warnings allowed), 1 errors, 2 files unreadable or bad usage."""
    import json

    from ..config.compile import check_workspace
    from ..config.diagnostics import Diagnostics
    from ..config.profiles import available_profiles
    from ..machine.spec import ignored_events

    if target and profile:
        fail("give the profile either as an argument or with --profile, not both")
    run_date = parse_date(date)
    root = workspace_root(workspace)
    chosen = target or profile
    names = [chosen] if chosen else available_profiles(root)
    if not names:
        fail(f"no profiles found under {root}/config/profiles")

    diags = Diagnostics(root)
    tables = {}
    ignored: dict[str, dict[str, list[str]]] = {}
    for name in names:
        ws, checked = check_workspace(root, name, run_date, diags)
        if machine and ws is not None and ws.models.get("machine") is not None:
            ignored[ws.profile.name] = ignored_events(ws.models["machine"])
        if ws is not None and checked is not None and checked.economics is not None:
            tables[ws.profile.name] = checked.economics

    if not (target or profile):          # the whole workspace: its sweep files too
        from ..research.spec import load_sweep, sweep_files

        for path in sweep_files(root):
            load_sweep(path, root, diags)

    if output is OutputFormat.json:
        doc = json.loads(diags.to_json())
        doc["profiles"] = names
        doc["run_date"] = run_date.isoformat()
        doc["economics"] = {k: v.as_json() for k, v in tables.items()}
        if machine:
            doc["ignored_events"] = ignored
        typer.echo(json.dumps(doc, ensure_ascii=False, indent=2))
    else:
        for d in diags.items:
            typer.echo(d.format())
        if economics:
            for name, table in tables.items():
                typer.echo(render_economics(name, table))
        for name, states in ignored.items():
            for state, events in states.items():
                if events:
                    typer.echo(f"note: {name}: pair machine state {state} ignores {', '.join(events)} "
                               f"(recorded and alerted if one comes)")
        n_err, n_warn = len(diags.errors), len(diags.warnings)
        status = "ok" if not n_err else "FAILED"
        typer.echo(f"{status}: {', '.join(names)} on {run_date}: {n_err} error(s), {n_warn} warning(s)")
    if any(d.code in READ_FAILURES for d in diags.errors):
        raise typer.Exit(2)
    raise typer.Exit(1 if diags.errors else 0)


def render_economics(name: str, table) -> str:
    head = (f"{'code':<7}{'name':<14}{'market':<7}{'ref':>10}{'tick':>6}{'slice':>6}"
            f"{'cost@1t':>9}{'b/e ticks':>10}{'rule ticks':>11}{'rule net':>10}")
    lines = [f"economics for profile {name} on {table.run_date} (worst direction, KRW):", head]
    for r in table.rows:
        rule = "-" if r.rule_min_ticks is None else str(r.rule_min_ticks)
        net = "-" if r.rule_net_krw is None else f"{r.rule_net_krw:,}"
        lines.append(f"{r.code:<7}{r.name[:12]:<14}{r.market:<7}{r.ref_price:>10,}{r.tick:>6}"
                     f"{r.slice_qty:>6}{r.cost_krw_1tick:>9,}{r.break_even_ticks:>10}{rule:>11}{net:>10}")
    return "\n".join(lines)
