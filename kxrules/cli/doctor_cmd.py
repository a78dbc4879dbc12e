"""`kxrules doctor`: check this machine's set-up for trading and say what to fix."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, workspace_root


class Role(str, Enum):
    control = "control"
    engine = "engine"


def doctor(
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name or path.")] = "pilot",
    role: Annotated[Optional[Role], typer.Option("--role", help="control (the 32-bit Python that hosts the OpenAPI+ control: kxrules gateway) or engine. Default: control in a 32-bit Windows Python, else engine.")] = None,
    gateway: Annotated[Optional[str], typer.Option("--gateway", help="Check this gateway address, HOST:PORT (default: the profile's gateway, if it declares one).")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
) -> None:
    """Check a set-up (Python bitness, OS, the OpenAPI+ control registered, pykiwoom and PyQt5 importable, the account's environment variables, the gateway reachable) and say what to fix, one line per check.

    Exit codes: 0 every check passed (or does not apply here), 1 something to fix, 2 bad usage."""
    from ..config.diagnostics import Diagnostics
    from ..config.load import load_workspace
    from ..runtime.doctor import Machine, exit_code, run_checks

    if gateway is not None:
        host, sep, port = gateway.rpartition(":")
        if not sep or not port.isdigit() or not 0 < int(port) < 65536:
            fail(f"--gateway must be HOST:PORT, got {gateway!r}")
    root = workspace_root(workspace)
    diags = Diagnostics(root)
    ws = load_workspace(root, profile, diags)
    problem = None
    if ws is None:
        problem = (f"profile {profile} cannot be loaded ({len(diags.errors)} error(s)): "
                   f"run `kxrules validate -p {profile}`")
    checks = run_checks(Machine(), ws.profile if ws else None, role=role.value if role else None,
                        gateway=gateway, profile_problem=problem)
    for check in checks:
        typer.echo(check.line())
    raise typer.Exit(exit_code(checks))
