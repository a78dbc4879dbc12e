"""The pair machine: graph proofs from machine/spec.py, reported at their YAML positions."""
from __future__ import annotations

from ...machine.spec import analyse
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from ..schema.strategy import PARAMETER_NAMES


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    spec = ws.models.get("machine")
    if spec is None:
        return
    risk = ws.models.get("risk")
    inventory = risk.inventory if risk is not None else "none"
    for issue in analyse(spec, PARAMETER_NAMES, inventory=inventory):
        diags.add(*ws.locate("machine", issue.loc), issue.code, issue.message)
