"""`kxrules doctor`: is this machine set up to trade, and if not, what to fix.

One line per check: ``OK``, ``FIX`` (with what to do) or ``SKIP`` (does not apply here, and why).
The roles differ by bitness on Windows: the OpenAPI+ control is a 32-bit COM object, hosted by
``kxrules gateway`` in a 32-bit Python; the engine (DuckDB, pyarrow, numba: 64-bit only) runs in
a 64-bit Python, on Windows or on Linux beside it. A Python is checked for the role it can play
(``--role`` overrides). Secrets are checked for presence only; their values are never printed.

Everything the checks look at comes through :class:`Machine`, so the Windows checks are tested
on Linux with a fake registry, fake imports and a fake network.
"""
from __future__ import annotations

import os
import socket
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..broker.kiwoom.control import PROG_ID
from ..broker.kiwoom.imports import CONTROL_MODULES, Importer, import_problem
from ..broker.server import LIVE_SERVERS, describe

OK, FIX, SKIP = "OK", "FIX", "SKIP"
CONTROL, ENGINE = "control", "engine"
NOT_WINDOWS = "not Windows: the real control cannot run here; use --broker sim or the gateway"
ENGINE_MODULES = ("duckdb", "pyarrow", "msgpack")
GATEWAY_SECRET_ENV = "KXRULES_GATEWAY_SECRET"      # the gateway's default (kxrules/gateway/wire.py)
MIN_SECRET_CHARS = 16
MIN_PYTHON = (3, 11)
CONNECT_TIMEOUT_S = 2.0


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    status: str         # OK | FIX | SKIP
    message: str

    def line(self) -> str:
        return f"{self.status:<4} {self.name}: {self.message}"


def _registered_control(prog_id: str) -> str | None:
    """The control's server file registered for ``prog_id`` (the registry view of this Python's
    bitness, which is the one COM uses for it), or None when it is not registered."""
    if sys.platform != "win32":     # as the import would (and mypy, checking for Linux, skips the rest)
        raise ModuleNotFoundError("No module named 'winreg'")
    import winreg

    try:
        with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, prog_id + r"\CLSID") as key:
            clsid = winreg.QueryValue(key, None)
        with winreg.OpenKey(winreg.HKEY_CLASSES_ROOT, rf"CLSID\{clsid}\InprocServer32") as key:
            return winreg.QueryValue(key, None) or clsid
    except OSError:
        return None


def _tcp_connect(host: str, port: int, timeout: float) -> None:
    with socket.create_connection((host, port), timeout=timeout):
        pass


@dataclass
class Machine:
    """What the checks may look at; the defaults are this process's machine."""
    platform: str = sys.platform
    pointer_bits: int = 8 * struct.calcsize("P")
    python: tuple[int, int, int] = tuple(sys.version_info[:3])  # type: ignore[assignment]
    os_name: str = ""
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    importer: Importer | None = None
    registry: Callable[[str], str | None] = _registered_control
    connect: Callable[[str, int, float], None] = _tcp_connect
    file_exists: Callable[[str], bool] = lambda p: Path(p).exists()

    @property
    def windows(self) -> bool:
        return self.platform == "win32"

    def describe_os(self) -> str:
        if self.os_name:
            return self.os_name
        import platform

        return f"{platform.system()} {platform.release()}".strip() or self.platform


@dataclass(frozen=True, slots=True)
class Gateway:
    host: str
    port: int
    secret_env: str = GATEWAY_SECRET_ENV
    source: str = "profile"


# -- the checks -------------------------------------------------------------------------------------
def check_os(m: Machine) -> Check:
    if m.windows:
        return Check("os", OK, m.describe_os())
    return Check("os", OK, f"{m.describe_os()}: the engine runs here; {NOT_WINDOWS}")


def check_python(m: Machine, role: str) -> Check:
    version = ".".join(map(str, m.python))
    if tuple(m.python[:2]) < MIN_PYTHON:
        return Check("python", FIX, f"{version} is too old: install CPython 3.11 or newer")
    if not m.windows:
        return Check("python", OK, f"{version}, {m.pointer_bits}-bit")
    if role == CONTROL and m.pointer_bits != 32:
        return Check("python", FIX, f"{version} is {m.pointer_bits}-bit, the OpenAPI+ control needs a 32-bit "
                                    "Python: install CPython 3.11 for Windows (32-bit) for `kxrules gateway`")
    if role == ENGINE and m.pointer_bits != 64:
        return Check("python", FIX, f"{version} is {m.pointer_bits}-bit, the engine needs a 64-bit Python "
                                    "(duckdb and pyarrow have no 32-bit wheels): install CPython 3.11 (64-bit)")
    what = "hosts the control (kxrules gateway)" if role == CONTROL else "runs the engine"
    return Check("python", OK, f"{version}, {m.pointer_bits}-bit: {what}")


def check_control_registered(m: Machine, role: str) -> Check:
    name = "OpenAPI+ control"
    if not m.windows:
        return Check(name, SKIP, NOT_WINDOWS)
    if role != CONTROL:
        return Check(name, SKIP, "checked from the 32-bit Python that runs the gateway (kxrules doctor there)")
    try:
        server = m.registry(PROG_ID)
    except Exception as exc:        # noqa: BLE001 - a registry we cannot read is a finding, not a crash
        return Check(name, FIX, f"cannot read the registry for {PROG_ID} ({type(exc).__name__}: {exc})")
    if server is None:
        return Check(name, FIX, f"{PROG_ID} is not registered: install Kiwoom OpenAPI+ (OpenAPISetup.exe), or "
                                r"register it as administrator: regsvr32 C:\OpenAPI\khopenapi.ocx")
    if server.lower().endswith(".ocx") and not m.file_exists(server):
        return Check(name, FIX, f"{PROG_ID} points at {server}, which is missing: reinstall Kiwoom OpenAPI+")
    return Check(name, OK, f"{PROG_ID} registered ({server})")


def check_modules(m: Machine, role: str) -> list[Check]:
    if role == CONTROL and not m.windows:
        return [Check(module, SKIP, NOT_WINDOWS) for module in CONTROL_MODULES]
    modules = CONTROL_MODULES if role == CONTROL else ENGINE_MODULES
    out = []
    for module in modules:
        problem = import_problem(module, m.importer)
        if problem is None:
            out.append(Check(module, OK, "imports"))
        elif role == ENGINE and m.windows:
            out.append(Check(module, FIX, f"does not import ({problem.error}); fix: pip install \"kxrules[engine]\""))
        else:
            out.append(Check(module, FIX, f"does not import ({problem.error}); fix: {problem.fix}"))
    return out


def check_server(profile: Any) -> Check:
    declared = getattr(profile, "server", None)
    if declared in LIVE_SERVERS:
        return Check("server", OK, f"the profile trades on {describe(declared)}")
    if getattr(profile, "broker", None) == "sim":
        return Check("server", SKIP, "the profile's broker is the emulator")
    return Check("server", FIX, "the profile does not say which Kiwoom server: add `server: paper` (모의투자) "
                                "or `server: real` (실거래)")


def check_env(m: Machine, profile: Any) -> list[Check]:
    """The account's variables (optional at Kiwoom, but a profile that names them means them) and
    the Slack webhook when alerts are on. Only whether each is set is ever shown."""
    account = getattr(profile, "account", None)
    wanted: list[tuple[str, str]] = []
    if account is not None:
        wanted += [(account.number_env, "the account number (unset: the first account of the login)"),
                   (account.password_env, "the account password (unset: Kiwoom's saved password)")]
    slack = getattr(getattr(profile, "alerts", None), "slack", None)
    if slack is not None and slack.enabled:
        wanted.append((slack.webhook_env, "the Slack incoming webhook (alerts.slack is enabled)"))
    out = []
    for name, what in wanted:
        if m.env.get(name):
            out.append(Check(f"${name}", OK, "set"))
        else:
            out.append(Check(f"${name}", FIX, f"not set: set it to {what}"))
    return out


def gateway_of(profile: Any, override: str | None = None) -> Gateway | None:
    """The gateway address: ``--gateway HOST:PORT`` first, else the profile's ``gateway:``
    section (read defensively: older profiles have none)."""
    if override:
        host, _, port = override.rpartition(":")
        return Gateway(host or "127.0.0.1", int(port), source="--gateway")
    section = getattr(profile, "gateway", None)
    if section is None:
        return None
    return Gateway(section.host, section.port, section.secret_env)


def check_gateway(m: Machine, gateway: Gateway | None) -> list[Check]:
    if gateway is None:
        return [Check("gateway", SKIP, "no gateway declared (profile `gateway:` or --gateway HOST:PORT)")]
    where = f"{gateway.host}:{gateway.port}"
    try:
        m.connect(gateway.host, gateway.port, CONNECT_TIMEOUT_S)
        reach = Check("gateway", OK, f"{where} accepts connections ({gateway.source})")
    except OSError as exc:
        reach = Check("gateway", FIX, f"{where} does not answer ({type(exc).__name__}: {exc}): start "
                                      "`kxrules gateway` in the 32-bit Python there, or fix the address")
    secret = m.env.get(gateway.secret_env, "")
    if not secret:
        key = Check(f"${gateway.secret_env}", FIX, "not set: the gateway and the engine must share a secret "
                                                   f"of at least {MIN_SECRET_CHARS} characters")
    elif len(secret) < MIN_SECRET_CHARS:
        key = Check(f"${gateway.secret_env}", FIX, f"set but shorter than {MIN_SECRET_CHARS} characters")
    else:
        key = Check(f"${gateway.secret_env}", OK, "set")
    return [reach, key]


def default_role(m: Machine) -> str:
    return CONTROL if m.windows and m.pointer_bits == 32 else ENGINE


def run_checks(m: Machine, profile: Any | None, *, role: str | None = None,
               gateway: str | None = None, profile_problem: str | None = None) -> list[Check]:
    """Every check, in the order an operator fixes them."""
    role = role or default_role(m)
    checks = [check_os(m), check_python(m, role), check_control_registered(m, role), *check_modules(m, role)]
    if profile is None:
        checks.append(Check("profile", FIX, profile_problem or "no profile"))
    else:
        checks += [check_server(profile), *check_env(m, profile)]
    checks += check_gateway(m, gateway_of(profile, gateway))
    return checks


def exit_code(checks: Iterable[Check]) -> int:
    return 1 if any(c.status == FIX for c in checks) else 0
