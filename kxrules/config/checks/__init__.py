"""Cross-file lint of a loaded workspace. Each module checks one area and adds diagnostics."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from ...rules.expr import CompiledExpr

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from . import (economics, eligibility, machine, money, risk, rules, screens, secrets, server, sessions,
               throttle, universe, venues)


@dataclass(slots=True)
class CheckResult:
    kernels: list[CompiledExpr] | None        # the compiled rules (None if any failed)
    economics: economics.Economics | None     # None when money or rule files have errors


def run_checks(ws: LoadedWorkspace, diags: Diagnostics, run_date: dt.date) -> CheckResult:
    """Run every check, keeping what later stages reuse (compiled rules, economics)."""
    sessions.check(ws, diags, run_date)
    throttle.check(ws, diags)
    screens.check(ws, diags)
    venues.check(ws, diags)
    universe.check(ws, diags)
    eligibility.check(ws, diags, run_date)
    money.check(ws, diags, run_date)
    kernels = rules.check(ws, diags)
    machine.check(ws, diags)
    risk.check(ws, diags)
    secrets.check(ws, diags)
    server.check(ws, diags)
    return CheckResult(kernels, economics.check(ws, diags, run_date, kernels))
