"""`kxrules gateway`: serve the broker (the emulator, or the OpenAPI+ control) to an engine process."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from .common import fail, today_in_seoul, workspace_root


def gateway(
    emulator: Annotated[bool, typer.Option("--emulator", help="Serve the Kiwoom emulator (its broker state lives in this process), in lockstep with the engine's virtual clock.")] = False,
    relay_to: Annotated[Optional[str], typer.Option("--relay-to", help="Serve the broker of the gateway at HOST:PORT through this process (which may then die while that broker lives on, as the real control's process can).")] = None,
    speed: Annotated[Optional[float], typer.Option("--speed", help="With --emulator: run on wall time at N x (the engine follows the gateway's clock) instead of lockstep.")] = None,
    start: Annotated[Optional[str], typer.Option("--start", help="With --speed: the market's time when the gateway starts, HH:MM:SS (default 08:50:00).")] = None,
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
    """Serve the broker to an engine over loopback TCP: the OpenAPI+ control (32-bit Windows Python),
    or with --emulator the Kiwoom emulator. The engine runs `kxrules trade --gateway HOST:PORT`, or
    `kxrules trade -p PROFILE` with the profile's `gateway:` section (which may start this command).

    Both sides read the secret from $KXRULES_GATEWAY_SECRET; a connection that cannot prove it knows
    it is refused. Exit codes: 0 a session was served to its end, 1 the engine went away, 2 usage,
    3 the control's session dropped (restart the gateway: the control cannot log in again in process)."""
    from ..config.compile import compile_profile
    from ..config.diagnostics import ConfigError
    from ..gateway.wire import WireError, listen, secret_from_env

    try:
        secret = secret_from_env()
    except WireError as exc:
        fail(str(exc))
    if relay_to is not None:
        if emulator:
            fail("--relay-to serves another gateway's broker: leave out --emulator")
        _relay(relay_to, secret, listen(host, port), port_file)
    from ..runtime.errors import TradeError
    from ..runtime.session import TradeOptions
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
    import signal

    if not emulator:
        _serve_control(compiled, host, port, secret, port_file, keep_serving)
    signal.signal(signal.SIGTERM, signal.default_int_handler)      # SIGTERM ends it like Ctrl-C
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
        ok = False
        try:
            while True:
                ok = serve_one(listener, secret, served.handle)
                if not keep_serving:
                    break
        except KeyboardInterrupt:
            ok = True
        listener.close()
        _say_holdings(served.control)
        raise typer.Exit(0 if ok else 1)
    if speed <= 0:
        fail(f"--speed must be positive, got {speed}")
    live, emulated = emulated_live_gateway(compiled, quotes.path, seed_used, quotes.describe(), speed,
                                           parse_hms(start) if start else None)
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


def _announce(listener, port_file: Optional[Path], what: str) -> None:
    host, bound = listener.getsockname()[:2]
    typer.echo(f"gateway listening on {host}:{bound} ({what})")
    if port_file is not None:
        port_file.write_text(str(bound), encoding="utf-8")


def _relay(upstream: str, secret: bytes, listener, port_file: Optional[Path]) -> None:
    from ..gateway.relay import relay_one

    up_host, _, up_port = upstream.rpartition(":")
    if not up_port.isdigit():
        fail(f"--relay-to must be HOST:PORT, got {upstream!r}")
    _announce(listener, port_file, f"relay to {upstream}")
    try:
        ended = relay_one(listener, secret, (up_host or "127.0.0.1", int(up_port)))
    except KeyboardInterrupt:
        ended = True
    listener.close()
    raise typer.Exit(0 if ended else 1)


def _serve_control(compiled, host: str, port: int, secret: bytes, port_file: Optional[Path], keep_serving: bool) -> None:
    """The real OpenAPI+ control on Qt's thread (32-bit Windows Python). Exits 3 when the control's
    session drops: the engine's supervisor starts a new gateway, which logs in again."""
    from ..broker.errors import BrokerUnavailable
    from ..broker.kiwoom.control import open_kiwoom_control
    from ..gateway.live import LiveGateway
    from ..gateway.qt_thread import EXIT_SESSION_DROPPED, WATCH_MS, QtControlThread, SessionWatch

    import signal

    from ..gateway.wire import listen

    try:
        control = open_kiwoom_control()
    except BrokerUnavailable as exc:
        fail(str(exc))
    signal.signal(signal.SIGTERM, signal.default_int_handler)      # pragma: no cover - SIGTERM ends it like Ctrl-C
    listener = listen(host, port)                   # pragma: no cover
    thread = QtControlThread(control.app)           # pragma: no cover - Windows only from here
    info = {"mode": "live", "source": "Kiwoom OpenAPI+", "seed": None, "codes": list(compiled.codes),
            "run_date": compiled.run_date.isoformat(), "config_hash": compiled.config_hash}
    gateway = LiveGateway(control, thread, info)
    dropped: list[str] = []

    def end(reason: str) -> None:
        dropped.append(reason)
        typer.echo(f"gateway: {reason}; exiting so that a new gateway logs in again", err=True)
        thread.stop()
    watch = SessionWatch(control, end)
    thread.every(WATCH_MS, watch.check)
    gateway.serve(listener, secret, once=not keep_serving)
    _announce(listener, port_file, "Kiwoom OpenAPI+ control")
    try:
        thread.run()
    except KeyboardInterrupt:
        pass
    listener.close()
    raise typer.Exit(EXIT_SESSION_DROPPED if dropped else (0 if gateway.served else 1))


def _say_holdings(emulator) -> None:
    """The emulated broker's account at exit: what an operator would check at the real one."""
    import json

    server = emulator.server
    held = {c: h.qty for c, h in sorted(server.account.holdings.items()) if h.qty}
    names = [o.rqname for o in server.orders.values()]
    typer.echo(f"gateway: the broker's account holds {json.dumps(held)}")
    typer.echo(f"gateway: {len(names)} orders taken under {len(set(names))} request names, "
               f"{len(server.fills)} fills")
    filled = {o.rqname: o.cum_qty for o in server.orders.values() if o.cum_qty}
    typer.echo(f"gateway: shares filled per request name {json.dumps(filled, sort_keys=True)}")
