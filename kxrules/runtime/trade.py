"""`kxrules trade` as a library: choose the host and the broker, then run the one session lifecycle.

The same Engine runs in both worlds; only the clock, the control and the event loop differ
(``session.SessionHost``):
- ``sim``: VirtualClock + the Kiwoom emulator fed by a replay file or a synthetic day
  (``sim_host``);
- ``kiwoom_rest``: Kiwoom's REST API (or, with ``emulator``, the REST emulator on loopback) on an
  asyncio loop (``rest_host``);
- ``kiwoom``: the real OpenAPI+ control inside pykiwoom's Qt loop (Windows only, ``live``). Asking
  for it elsewhere fails with a clear message; it never falls back to the emulator.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from pathlib import Path

from ..broker.server import ServerUndeclared, expected_server
from .alerts import run_with_alerts
from .errors import TradeError
from .session import EXIT_ABNORMAL, EXIT_OK, EXIT_USAGE, TradeOptions, TradeResult, run_session
from ..broker.emulator.build import fee_fn_for
from .sim_host import EmulatorHost
from .sources import QuoteSourceSpec, synthetic_day

if TYPE_CHECKING:
    from ..config.compile import CompiledProfile

# the names callers have always imported from here
__all__ = ["EXIT_ABNORMAL", "EXIT_OK", "EXIT_USAGE", "TradeError", "TradeOptions", "TradeResult", "fee_fn_for",
           "run_simulation", "run_trade"]


def run_trade(profile: CompiledProfile, options: TradeOptions) -> TradeResult:
    """Any broker's session; Slack gets its alerts and the end-of-run lines when the profile asks."""
    return run_with_alerts(profile, options, lambda: _run_trade(profile, options))


def _run_trade(profile: CompiledProfile, options: TradeOptions) -> TradeResult:
    try:        # a live broker needs the profile to say paper or real; nothing has started yet
        expected_server(profile.profile.server, options.broker)
    except ServerUndeclared as exc:
        raise TradeError(str(exc)) from None
    if options.broker == "kiwoom_rest":
        from .rest_host import run_rest     # the REST API (or its emulator): any OS, 64-bit
        return run_rest(profile, options)
    if options.broker == "kiwoom":
        # imported only here (and for --gateway): the wire's msgpack and the host cost a
        # replay's start-up ≈ 60 ms
        from .gateway_host import GatewayHost, gateway_plan

        plan = gateway_plan(profile, options)
        if plan is not None:            # the control in a gateway process
            return run_session(profile, options, GatewayHost(profile, options, plan))
        from ..broker.kiwoom.control import require_real_control

        require_real_control()          # raises BrokerUnavailable off Windows / without pykiwoom
        from .live import run_live      # pragma: no cover - needs the Windows COM control
        return run_live(profile, options)
    return run_simulation(profile, options)


def run_simulation(profile: CompiledProfile, options: TradeOptions) -> TradeResult:
    if options.gateway is not None:
        from .gateway_host import GatewayHost, gateway_plan

        plan = gateway_plan(profile, options)
        assert plan is not None, "--gateway names one"
        return run_session(profile, options, GatewayHost(profile, options, plan))
    return run_session(profile, options, EmulatorHost(profile, options, quote_source(profile, options)))


def quote_source(profile: CompiledProfile, options: TradeOptions) -> QuoteSourceSpec:
    """The market data a simulated session replays: the checked replay file, or a synthetic day."""
    if profile.emulator is None:
        raise TradeError(f"profile {profile.name} names no emulator file (files.emulator)")
    data_dir = Path(options.data_dir or profile.data_dir)
    if options.replay is not None:
        from .replay_check import require_checked

        require_checked(options.replay, profile, options.replay_check)   # before anything is recorded
        return QuoteSourceSpec(options.replay, "replay")
    seed = options.synthetic_seed if options.synthetic_seed is not None else profile.emulator.seed
    return synthetic_day(profile, profile.run_date, seed, data_dir / "synthetic", until_s=options.until)
