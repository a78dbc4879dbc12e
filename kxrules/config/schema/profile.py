"""config/profiles/*.yaml: which files a run uses, and the operator's settings."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from .common import Strict
from .rest import RestBroker

#: which Kiwoom server a profile means: paper (모의투자), real (실거래), or sim (the emulator)
Server = Literal["paper", "real", "sim"]
LIVE_SERVERS = ("paper", "real")
SIM_SERVER = "sim"

SLACK_EVENTS = Literal["buy_fill", "sell_fill", "pair_done", "auto_pause_on", "auto_pause_off",
                       "hedge_timeout", "reject_spike", "kill_switch", "position_break", "residual_position",
                       "disconnect", "symbol_muted", "run_end",
                       "gateway_lost", "gateway_restart", "gateway_back", "gateway_gave_up"]


class ProfileFiles(Strict):
    sessions: str
    calendar: str
    fees: str
    tax: str
    edge: str
    throttle: str
    risk: str
    machine: str
    venues: str
    universe: str
    overrides: str | None = None
    emulator: str | None = None
    market: str | None = None
    rest_venues: str | None = None     # broker kiwoom_rest: dmst_stex_tp / trde_tp, REST limits


class Account(Strict):
    number_env: str = "KXRULES_ACCOUNT"
    password_env: str = "KXRULES_ACCOUNT_PASSWORD"


class SlackStorms(Strict):
    """Per kind, at most ``max_per_window`` messages within ``window_s`` (engine time); the rest
    become one "… and N more" line."""
    window_s: int = Field(default=60, ge=1, le=3600)
    max_per_window: int = Field(default=5, ge=1, le=100)


class Slack(Strict):
    enabled: bool = False
    webhook_env: str = "KXRULES_SLACK_WEBHOOK"
    send_on: list[SLACK_EVENTS] = []
    storms: SlackStorms = SlackStorms()


class Alerts(Strict):
    slack: Slack = Slack()


class SloMs(Strict):
    tick_to_signal: float = Field(default=25, gt=0)
    signal_to_send: float = Field(default=15, gt=0)
    quote_to_send: float = Field(default=1, gt=0)     # the engine's own: adapter → SendOrder
    send_to_ack: float = Field(default=150, gt=0)


class Telemetry(Strict):
    slo_ms: SloMs = SloMs()
    reject_rate_5m: float = Field(default=0.005, ge=0, le=1)
    timeout_rate_5m: float = Field(default=0.002, ge=0, le=1)
    unhedged_p95_ms: float = Field(default=1000, gt=0)


class Recording(Strict):
    quotes: bool = True


class Ops(Strict):
    """The operator's live web view (``kxrules trade --ops-port``)."""
    port: int = Field(default=0, ge=0, le=65535)        # 0: off
    bind: str = "127.0.0.1"                              # loopback; a remote bind is asked for on the CLI
    secret_env: str = "KXRULES_OPS_SECRET"               # unset: a random secret per run


class GatewayRestarts(Strict):
    max: int = Field(default=5, ge=0, le=100)             # restarts in one session, then give up
    backoff_ms: int = Field(default=2_000, ge=0, le=600_000)        # before the first restart
    backoff_max_ms: int = Field(default=60_000, ge=0, le=3_600_000)  # doubling up to this


class Gateway(Strict):
    """The gateway process that hosts the OpenAPI+ control (``kxrules gateway``, 32-bit Python).
    With ``python`` set, ``kxrules trade`` starts it (and restarts it when it dies); otherwise it
    connects to one the operator runs."""
    host: str = "127.0.0.1"                  # loopback unless the gateway runs on another machine
    port: int = Field(default=8765, ge=0, le=65535)    # 0: any free port (a gateway this run starts)
    secret_env: str = "KXRULES_GATEWAY_SECRET"
    python: str | None = None                # the 32-bit interpreter that runs `-m kxrules gateway`
    args: list[str] = []                     # more `kxrules gateway` options
    start_timeout_s: float = Field(default=60, gt=0, le=600)   # login window, auto-login: be patient
    restarts: GatewayRestarts = GatewayRestarts()


class ProfileFile(Strict):
    name: str = Field(min_length=1)
    description: str = ""
    extends: str | None = None
    broker: Literal["kiwoom", "sim", "kiwoom_rest"] = "kiwoom"
    # which Kiwoom server the profile means: paper (모의투자) or real (실거래); sim = the emulator.
    # No default: a live broker's profile must say it (checks/server.py).
    server: Server | None = None
    files: ProfileFiles
    account: Account = Account()
    data_dir: str = "data"
    alerts: Alerts = Alerts()
    telemetry: Telemetry = Telemetry()
    recording: Recording = Recording()
    rest: RestBroker = RestBroker()
    ops: Ops = Ops()
    gateway: Gateway | None = None           # broker kiwoom: the control runs in a gateway process
