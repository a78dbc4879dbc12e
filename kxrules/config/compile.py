"""Build the immutable :class:`CompiledProfile` the engine runs on, or explain why not.

``compile_profile`` = load (schema) → lint (cross-file checks) → compile. A profile with any
error never compiles, so the engine cannot start on a config `validate` would reject.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..machine.spec import machine_kwargs
from ..market import MARKETS
from ..money.fees import CostModel
from ..rules.expr import CompiledExpr
from .checks import CheckResult, run_checks
from .checks.economics import Economics
from .diagnostics import ConfigError, Diagnostics
from .load import LoadedWorkspace, load_workspace
from .params import parameter_arrays
from .schema.emulator import EmulatorConfig
from .schema.machine import MachineFile
from .schema.market import SyntheticMarketConfig
from .schema.profile import ProfileFile
from .schema.sessions import CalendarFile, SessionsFile
from .schema.strategy import EdgeFile, RiskFile, ThrottleFile
from .schema.venues import VenueMapConfig
from .universe import Symbol


@dataclass(frozen=True)
class CompiledProfile:
    name: str
    workspace: Path
    run_date: dt.date
    broker: str
    data_dir: Path
    symbols: tuple[Symbol, ...]
    codes: tuple[str, ...]
    market_idx: np.ndarray                 # index into market.MARKETS per symbol
    ref_price: np.ndarray
    params: dict[str, np.ndarray]          # per-symbol parameter arrays (after overrides)
    cost: CostModel
    rules: tuple[CompiledExpr, ...]
    rule_names: tuple[str, ...]
    machine: MachineFile
    machine_kwargs: dict
    sessions: SessionsFile
    calendar: CalendarFile
    edge: EdgeFile
    throttle: ThrottleFile
    risk: RiskFile
    venues: VenueMapConfig
    emulator: EmulatorConfig | None
    market: SyntheticMarketConfig | None
    profile: ProfileFile
    economics: Economics | None
    config_hash: str
    snapshot: dict = field(repr=False)     # every loaded file as plain data (for the run record)

    def index_of(self, code: str) -> int:
        return self.codes.index(code)


def _snapshot(ws: LoadedWorkspace) -> dict:
    files = {k: doc.data for k, doc in sorted(ws.docs.items())}
    files["universe"] = [[s.code, s.name, s.market, s.ref_price] for s in ws.universe]
    return {"profile": ws.profile_source.data, "files": files}


def config_hash(snapshot: dict) -> str:
    text = json.dumps(snapshot, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def check_workspace(root: Path, profile: str, run_date: dt.date, diags: Diagnostics,
                    file_overrides: dict[str, Path] | None = None
                    ) -> tuple[LoadedWorkspace | None, CheckResult | None]:
    ws = load_workspace(root, profile, diags, file_overrides)
    if ws is None:
        return None, None
    return ws, run_checks(ws, diags, run_date)


def compile_profile(root: Path, profile: str, run_date: dt.date | None, diags: Diagnostics | None = None,
                    file_overrides: dict[str, Path] | None = None, *, today: dt.date | None = None
                    ) -> CompiledProfile:
    """Load, lint and compile; raises :class:`ConfigError` carrying diagnostics on any error.
    ``run_date=None``: ``today`` if the profile's calendar trades then, else its next trading day."""
    diags = diags or Diagnostics(root)
    ws = load_workspace(root, profile, diags, file_overrides)
    if ws is None:
        raise ConfigError(diags)
    if run_date is None:
        calendar = ws.models.get("calendar")
        run_date = calendar.next_trading_day(today) if calendar else today
    checked = run_checks(ws, diags, run_date)
    if diags.has_errors():
        raise ConfigError(diags)
    kernels = checked.kernels or []
    codes = [s.code for s in ws.universe]
    overrides = ws.models.get("overrides")
    edge = ws.models["edge"]
    snap = _snapshot(ws)
    return CompiledProfile(
        name=ws.profile.name,
        workspace=root,
        run_date=run_date,
        broker=ws.profile.broker,
        data_dir=(root / ws.profile.data_dir),
        symbols=tuple(ws.universe),
        codes=tuple(codes),
        market_idx=np.array([MARKETS.index(s.market) for s in ws.universe], dtype=np.int64),
        ref_price=np.array([s.ref_price for s in ws.universe], dtype=np.int64),
        params=parameter_arrays(edge.parameters, overrides.symbols if overrides else {}, codes),
        cost=CostModel(ws.models["fees"], ws.models["tax"], run_date),
        rules=tuple(kernels),
        rule_names=tuple(r.name for r in edge.rules),
        machine=ws.models["machine"],
        machine_kwargs=machine_kwargs(ws.models["machine"]),
        sessions=ws.models["sessions"],
        calendar=ws.models["calendar"],
        edge=edge,
        throttle=ws.models["throttle"],
        risk=ws.models["risk"],
        venues=ws.models.get("venues"),
        emulator=ws.models.get("emulator"),
        market=ws.models.get("market"),
        profile=ws.profile,
        economics=checked.economics,
        config_hash=config_hash(snap),
        snapshot=snap,
    )
