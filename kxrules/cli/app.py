"""The `kxrules` command. Heavy imports (numpy, duckdb, …) happen inside each command so that
`kxrules --help` stays fast."""
from __future__ import annotations

from typing import Annotated

import typer

from .. import __version__
from .doctor_cmd import doctor
from .gateway_cmd import gateway
from .days_cmd import days_app
from .init_cmd import init
from .report_cmd import report
from .simdata_cmd import simdata
from .sweep_cmd import sweep
from .trade_cmd import trade
from .validate_cmd import validate

app = typer.Typer(
    name="kxrules",
    help="Declarative KRX/NXT arbitrage on Kiwoom OpenAPI+: validate configs, trade, replay, report.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kxrules {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    """Declarative KRX/NXT arbitrage on Kiwoom OpenAPI+."""


app.command("validate")(validate)
app.command("trade")(trade)
app.command("report")(report)
app.command("simdata")(simdata)
app.command("init")(init)
app.command("gateway")(gateway)
app.command("doctor")(doctor)
app.add_typer(days_app, name="days")
app.command("sweep")(sweep)


def main() -> None:
    """Entry point: no traceback reaches an operator unless KXRULES_DEBUG is set."""
    import gc
    import os
    import sys

    # kxrules makes no BLAS calls: numpy's OpenBLAS would start a thread that spins on the second
    # core through start-up (0.14 s of CPU) while the replay's helpers need that core
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # noqa: BLE001 - the last line of defence for operators
        if os.environ.get("KXRULES_DEBUG"):
            raise
        print(f"kxrules: internal error: {type(exc).__name__}: {exc} "
              f"(set KXRULES_DEBUG=1 for the traceback)", file=sys.stderr)
        sys.exit(1)
    finally:
        # The process ends now: the interpreter's last collection would walk every object left
        # (≈ 0.2 s after a replay); frozen, they are left to the OS. Files, exit handlers and
        # threads are still closed and run as usual.
        gc.freeze()
