"""`kxrules gateway`: serve the broker (the emulator, or the OpenAPI+ control) to an engine process."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, today_in_seoul, workspace_root


def gateway(
    emulator: Annotated[bool, typer.Option("--emulator", help="Serve the Kiwoom emulator (its broker state lives in this process), in lockstep with the engine's virtual clock.")] = False,
    speed: Annotated[Optional[float], typer.Option("--speed", help="With --emulator: run on wall time at N x (the engine follows the gateway's clock) instead of lockstep.")] = None,
    keep_serving: Annotated[bool, typer.Option("--keep-serving", help="Wall time: serve engines one after another (an engine may be restarted against the same broker) until Ctrl-C.")] = False,
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
    from ..gateway.emulated import emulated_gateway, emulated_live_gateway
    from ..gateway.serve import serve_one

    seed_used = quotes.seed if quotes.seed is not None else seed
    listener = listen(host, port)
    bound = listener.getsockname()[1]
    mode = "lockstep" if speed is None else f"wall time x{speed:g}"
    typer.echo(f"gateway listening on {host}:{bound} (emulator, {mode}, {quotes.describe()})")
    if speed is None:
        served = emulated_gateway(compiled, quotes.path, seed_used, quotes.describe())
        if port_file is not None:
            port_file.write_text(str(bound), encoding="utf-8")
        ok = serve_one(listener, secret, served.handle)
        listener.close()
        _say_holdings(served.control)
        raise typer.Exit(0 if ok else 1)
    if speed <= 0:
        fail(f"--speed must be positive, got {speed}")
    live, emulated = emulated_live_gateway(compiled, quotes.path, seed_used, quotes.describe(), speed)
    live.serve(listener, secret, once=not keep_serving)
    if port_file is not None:
        port_file.write_text(str(bound), encoding="utf-8")
    try:
        live.thread.run()
    except KeyboardInterrupt:
        pass
    listener.close()
    _say_holdings(emulated)
    raise typer.Exit(0 if live.served else 1)


def _say_holdings(emulator) -> None:
    """The emulated broker's account at exit: what an operator would check at the real one."""
    import json

    held = {c: h.qty for c, h in sorted(emulator.server.account.holdings.items()) if h.qty}
    typer.echo(f"gateway: the broker's account holds {json.dumps(held)}")
