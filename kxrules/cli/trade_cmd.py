"""`kxrules trade`: run the engine against the Kiwoom emulator or the real control."""
from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..runtime.heap import no_collections_until_the_session
from .common import fail, is_tty, today_in_seoul, workspace_root


class Broker(str, Enum):
    sim = "sim"
    kiwoom = "kiwoom"
    kiwoom_rest = "kiwoom_rest"


@no_collections_until_the_session
def trade(
    profile: Annotated[str, typer.Option("--profile", "-p", help="Profile name or path.")] = "pilot",
    broker: Annotated[Optional[Broker], typer.Option("--broker", help="sim (the built-in Kiwoom emulator), kiwoom (the real OpenAPI+ control, Windows) or kiwoom_rest (Kiwoom's REST API, any OS). Default: the profile's.")] = None,
    replay: Annotated[Optional[Path], typer.Option("--replay", help="Replay a quote file (Parquet, or FILE.duckdb::TABLE; the replay format) into the emulator. It is checked whole first: exit 2 naming file, row and column.", rich_help_panel="Simulation")] = None,
    synthetic: Annotated[bool, typer.Option("--synthetic", help="Generate a synthetic trading day and trade it.", rich_help_panel="Simulation")] = False,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Seed of the synthetic day and the emulator.", rich_help_panel="Simulation")] = None,
    speed: Annotated[str, typer.Option("--speed", help="'max' (as fast as possible) or N (N x wall time).", rich_help_panel="Simulation")] = "max",
    until: Annotated[Optional[str], typer.Option("--until", help="Stop at this Seoul time, HH:MM:SS.")] = None,
    universe: Annotated[Optional[Path], typer.Option("--universe", help="Trade this universe CSV instead of the profile's.")] = None,
    data_dir: Annotated[Optional[Path], typer.Option("--data-dir", help="Where the DuckDB recording goes (default: the profile's data_dir).")] = None,
    record_quotes: Annotated[bool, typer.Option("--record-quotes", help="Also record every top-of-book change of a simulated run (live runs follow the profile's recording.quotes).", rich_help_panel="Simulation")] = False,
    path: Annotated[str, typer.Option("--path", help="Replay path: 'fast' (columnar quotes into the book; same orders and fills) or 'faithful' (every quote as a real-data string through the adapter). --speed N always uses faithful.", rich_help_panel="Simulation")] = "fast",
    date: Annotated[Optional[str], typer.Option("--date", help="Run date YYYY-MM-DD for synthetic days (default: today or the next trading day).", rich_help_panel="Simulation")] = None,
    emulator: Annotated[bool, typer.Option("--emulator", help="With --broker kiwoom_rest: trade against the REST emulator on loopback (real HTTP and WebSocket), fed by --replay or a synthetic day; --speed N runs its clock N x wall time ('max' = 10).", rich_help_panel="Simulation")] = False,
    set_: Annotated[Optional[list[str]], typer.Option("--set", help="Trade with another value of a rules/edge.yaml parameter: NAME=VALUE (every symbol) or CODE.NAME=VALUE (one symbol); repeatable. Same bounds as the YAML; a sweep row's exact command uses it.")] = None,
    workspace: Annotated[Optional[Path], typer.Option("--workspace", "-w", help="Workspace root.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No status line.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Take over from the data directory's last run, which died: its orders, its belief and the day's account baseline; the broker's account decides before arming.")] = False,
    ops_port: Annotated[Optional[int], typer.Option("--ops-port", help="Serve the operator's live web view on this port (0 = off; default: the profile's ops.port). Prints its URL with a per-run secret (or $KXRULES_OPS_SECRET, the profile's ops.secret_env).", rich_help_panel="Ops view")] = None,
    ops_bind: Annotated[Optional[str], typer.Option("--ops-bind", help="Address the ops view listens on (default: the profile's ops.bind, 127.0.0.1). Anything but loopback is reachable from the network over unencrypted HTTP.", rich_help_panel="Ops view")] = None,
    gateway: Annotated[Optional[str], typer.Option("--gateway", help="HOST:PORT of a running `kxrules gateway` that serves the broker (secret in $KXRULES_GATEWAY_SECRET).")] = None,
) -> None:
    """Log in, arm inside the KRX/NXT overlap, trade tiny slices when the rules say so, hedge, end flat, and record everything in DuckDB.

    Exit codes: 0 ok, 1 the run ended abnormally (e.g. left a position, recording failed), 2 config or usage error (including a data directory another process holds).
    SIGTERM acts like Ctrl-C; a second Ctrl-C stops waiting for the wind-down."""
    import time

    from ..config.compile import compile_profile
    from ..config.diagnostics import ConfigError
    from ..seoul import parse_hms

    if replay is not None and synthetic:
        fail("choose either --replay FILE or --synthetic, not both")
    if path not in ("fast", "faithful"):
        fail(f"--path must be 'fast' or 'faithful', got {path!r}")
    try:
        speed_value = None if speed == "max" else float(speed)
        if speed_value is not None and speed_value <= 0:
            raise ValueError
    except ValueError:
        fail(f"--speed must be 'max' or a positive number, got {speed!r}")
    until_s = None
    if until:
        try:
            until_s = parse_hms(until)
        except ValueError:
            fail(f"--until must be HH:MM:SS, got {until!r}")
    if universe is not None and not universe.exists():
        fail(f"--universe: file not found: {universe}")
    if replay is not None:
        from ..runtime.replay_check import replay_source_path

        if not replay_source_path(replay).exists():       # x.duckdb::table names x.duckdb
            fail(f"--replay: file not found: {replay_source_path(replay)}")

    root = workspace_root(workspace)
    run_date = _run_date(date, replay)          # None: today or the calendar's next trading day
    overrides = {"universe": universe} if universe else None
    try:
        compiled = compile_profile(root, profile, run_date, file_overrides=overrides, today=today_in_seoul())
    except ConfigError as exc:
        for d in exc.diagnostics.errors:
            typer.echo(d.format(), err=True)
        fail(f"profile {profile} has {len(exc.diagnostics.errors)} error(s); run `kxrules validate -p {profile}`")
    if set_:
        from ..research.settings import SettingError, apply_setting, parse_set_options

        try:
            compiled = apply_setting(compiled, parse_set_options(set_))
        except SettingError as exc:
            fail(str(exc))
    chosen = (broker.value if broker else compiled.broker)
    if gateway is not None and (replay is not None or synthetic):
        fail("with --gateway the gateway serves the market data: give --replay/--synthetic to `kxrules gateway`")
    if chosen == "sim" and replay is None and not synthetic:
        synthetic = True
    if emulator and chosen != "kiwoom_rest":
        fail("--emulator goes with --broker kiwoom_rest (the sim broker always is an emulator)")
    replay_check = None
    if replay is not None and (chosen == "sim" or emulator):
        from ..runtime.replay_check import start_check

        replay_check = start_check(replay, compiled)    # reads the file while the session's modules load
    from ..runtime.trade import TradeError, TradeOptions, run_trade

    status = None
    if is_tty() and not quiet:
        last = [0.0]

        def status(line: str) -> None:
            now = time.monotonic()
            if now - last[0] >= 0.25:
                last[0] = now
                typer.echo("\r" + line[:150].ljust(150), nl=False)

    options = TradeOptions(broker=chosen, replay=replay, synthetic_seed=seed, speed=speed_value,
                           until=until_s, data_dir=data_dir, status=status, replay_path=path,
                           record_quotes=record_quotes, gateway=gateway, resume=resume, emulator=emulator,
                           ops=_ops_options(compiled.profile.ops, ops_port, ops_bind, status is not None),
                           replay_check=replay_check)
    from ..broker.errors import BrokerUnavailable

    try:
        result = run_trade(compiled, options)
    except BrokerUnavailable as exc:
        fail(str(exc))
    except TradeError as exc:
        fail(str(exc))
    if status is not None:
        typer.echo("")
    for note in result.notes:
        typer.echo(f"note: {note}")
    typer.echo(result.summary.paragraph())
    if result.recorded:
        typer.echo(f"recorded as run {result.run_id} in {result.db_path}")
    for line in result.errors:          # a recording failure: what happened, what was lost
        typer.echo(f"kxrules: {line}", err=True)
    raise typer.Exit(result.exit_code)


def _ops_options(profile_ops, port: int | None, bind: str | None, status_line: bool):
    """The live web view's options (None: off) from the profile's ``ops:`` and the command line."""
    port = profile_ops.port if port is None else port
    if not 0 <= port <= 65535:
        fail(f"--ops-port must be 0 (off) or a port number, got {port}")
    if port == 0:
        return None
    from ..ops.view import OpsOptions

    def announce(line: str) -> None:
        typer.echo(("\n" if status_line else "") + line)
    return OpsOptions(port=port, bind=bind or profile_ops.bind, secret_env=profile_ops.secret_env, announce=announce)


def _run_date(date: str | None, replay: Path | None):
    from .common import parse_date

    if date:
        return parse_date(date)
    if replay is not None:
        from ..runtime.sources import replay_date

        day = replay_date(replay)
        if day is not None:
            return day
    return None
