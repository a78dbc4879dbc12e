"""The emulator a compiled profile describes: one construction for every host that runs it
(in process, or behind the gateway)."""
from __future__ import annotations

from typing import Any

from kxrules.clock import Clock
from ... import seoul
from ...money.fees import CostModel, liquidity_of
from .config import FeeFn
from .control import KiwoomEmulator

SESSION_START_S = 8 * 3600 + 50 * 60     # the virtual clock starts before the login, as a live day does


def fee_fn_for(cost: CostModel) -> FeeFn:
    """The emulated broker charges exactly what the fee and tax tables say (FIDs 938/939), on the
    schedule each order's style pays: a midpoint order rests (maker), all else takes."""
    def fee_fn(venue: str, side: str, price: int, qty: int, market: str, style: str = "limit") -> tuple[int, int]:
        return cost.fee(venue, side, price, qty, liquidity_of(style)), cost.tax(market, side, price, qty)
    return fee_fn


def session_start_ns(profile: Any) -> int:
    return seoul.epoch_ns(profile.run_date, SESSION_START_S)


def emulator_for(profile: Any, clock: Clock, seed: int | None) -> KiwoomEmulator:
    return KiwoomEmulator(
        profile.emulator, clock, list(profile.codes),
        markets={s.code: s.market for s in profile.symbols},
        names={s.code: s.name for s in profile.symbols},
        ref_prices={s.code: s.ref_price for s in profile.symbols},
        fee_fn=fee_fn_for(profile.cost), venues=profile.venues,
        midnight_ns=seoul.midnight_ns(profile.run_date),
        seed=seed if seed is not None else profile.emulator.seed,
    )
