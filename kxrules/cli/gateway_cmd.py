"""`kxrules gateway`: serve the broker (the emulator, or the OpenAPI+ control) to an engine process."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, today_in_seoul, workspace_root


def gateway(
    emulator: Annotated[bool, typer.Option("--emulator", help="Serve the Kiwoom emulator (its broker state lives in this process), in lockstep with the engine's virtual clock.")] = False,
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name or path (its universe, emulator file and fee tables).")] = "sim",
    replay: Annotated[Optional[Path], typer.Option("--replay", help="Market data: a quote file in the replay format.")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the synthetic day (when no --replay) and of the emulator.")] = None,
    until: Annotated[Optional[str], typer.Option("--until", help="Synthetic day: generate up to this Seoul time, HH:MM:SS.")] = None,
    date: Annotated[Optional[str], typer.Option("--date", help="Run date YYYY-MM-DD.")] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on (loopback unless you say otherwise).")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on (0: any free port, printed).")] = 0,
    port_file: Annotated[Optional[Path], typer.Option("--port-file", help="Also write the port to this file once listening.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Where a synthetic day is written.")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
) -> None:
    """Serve one engine session over loopback TCP; the engine runs `kxrules trade --gateway HOST:PORT`.

    Both sides read the secret from $KXRULES_GATEWAY_SECRET; a connection that cannot prove it knows
    it is refused. Exit codes: 0 a session was served to its end, 1 the engine went away, 2 usage."""
    from ..config.compile import compile_profile
    from ..config.diagnostics import ConfigError
    from ..gateway.wire import WireError, listen, secret_from_env

    if not emulator:
        fail("only --emulator is served yet: the OpenAPI+ control behind the gateway is not built")
    try:
        secret = secret_from_env()
    except WireError as exc:
        fail(str(exc))
    from ..runtime.session import TradeError, TradeOptions
    from ..runtime.trade import quote_source
    from ..seoul import parse_hms
    from .common import parse_date

    root = workspace_root(workspace)
    try:
        compiled = compile_profile(root, profile, parse_date(date) if date else None, today=today_in_seoul())
    except ConfigError as exc:
        for d in exc.diagnostics.errors:
            typer.echo(d.format(), err=True)
        fail(f"profile {profile} has {len(exc.diagnostics.errors)} error(s)")
    options = TradeOptions(broker="sim", replay=replay, synthetic_seed=seed, data_dir=data_dir,
                           until=parse_hms(until) if until else None)
    try:
        quotes = quote_source(compiled, options)
    except TradeError as exc:
        fail(str(exc))
    from ..gateway.emulated import emulated_gateway
    from ..gateway.serve import serve_one

    served = emulated_gateway(compiled, quotes.path, quotes.seed if quotes.seed is not None else seed,
                              quotes.describe())
    listener = listen(host, port)
    bound = listener.getsockname()[1]
    typer.echo(f"gateway listening on {host}:{bound} (emulator, {quotes.describe()})")
    if port_file is not None:
        port_file.write_text(str(bound), encoding="utf-8")
    ok = serve_one(listener, secret, served.handle)
    listener.close()
    raise typer.Exit(0 if ok else 1)
