"""Paper or real: which Kiwoom server a profile means, and which one the broker logged in to.

OpenAPI+ answers ``GetLoginInfo("GetServerGubun")`` after login with "1" for the mock server
(모의투자) and anything else for the real one (실거래), as KOA Studio documents it ("1 : 모의투자,
나머지 : 실거래서버"); koapy asks ``KOA_Functions("GetServerGubun", "")``. Reading anything but
"1" as real is the safe direction: a profile that declares paper then refuses to arm.

A profile declares ``server: paper | real`` for a live broker (no default: an operator must never
trade real money by accident); ``sim`` (or nothing) on a simulation profile means the emulator,
which is neither, and its answer is then not checked.
"""
from __future__ import annotations

from ..config.schema.profile import LIVE_SERVERS, SIM_SERVER, Server

__all__ = ["LIVE_SERVERS", "SIM_SERVER", "Server", "describe", "expected_server", "mismatch",  # the names, once
           "server_of_gubun"]

PAPER, REAL = LIVE_SERVERS
SIM = SIM_SERVER
KOREAN = {PAPER: "모의투자", REAL: "실거래", SIM: "emulator"}
GUBUN_PAPER = "1"


class ServerUndeclared(Exception):
    """A live broker was asked for without the profile saying paper or real (exit 2)."""


def server_of_gubun(gubun: str | None) -> str:
    """GetServerGubun's answer as a server name: "1" is paper, anything else real."""
    return PAPER if (gubun or "").strip() == GUBUN_PAPER else REAL


def describe(server: str | None) -> str:
    """'paper (모의투자)', 'real (실거래)', or 'unknown' before a login."""
    return f"{server} ({KOREAN[server]})" if server in KOREAN else "unknown"


def expected_server(declared: str | None, broker: str) -> str | None:
    """The server the broker must report, or None when nothing is checked (the emulator with no
    paper/real declared). Raises :class:`ServerUndeclared` for a live broker without one."""
    if declared in LIVE_SERVERS:
        return declared
    if broker == "sim":
        return None
    said = "declares server: sim (the emulator)" if declared == SIM else "does not declare a server"
    raise ServerUndeclared(
        f"--broker {broker} trades on a Kiwoom server, but the profile {said}: add "
        f"`server: paper` (모의투자) or `server: real` (실거래) to it")


def mismatch(expected: str, reported: str | None, gubun: str | None) -> str:
    return (f"server mismatch: the profile declares {describe(expected)} but the broker logged in to "
            f"{describe(reported)} (GetServerGubun={gubun!r}); never armed")
