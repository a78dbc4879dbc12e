"""The venue map must carry what the pair machine sends: both arbitrage venues enabled, and a
hoga code (sHogaGb) on each of them for every order style the machine's legs use."""
from __future__ import annotations

from ...market import VENUES
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    venues, machine = ws.models.get("venues"), ws.models.get("machine")
    if venues is None:
        return
    for name in VENUES:
        spec = venues.venues.get(name)
        if spec is None:
            diags.add(*ws.locate("venues", ("venues",), key_pos=True), "KX505",
                      f"venues.{name} is missing: the pair machine trades on KRX and NXT")
            continue
        if not spec.enabled:
            diags.add(*ws.locate("venues", ("venues", name, "enabled")), "KX505",
                      f"venues.{name} is disabled: the pair machine trades on KRX and NXT")
            continue
        if machine is None:
            continue
        # entry buys on one venue and hedges on the other: every leg style may go to either
        legs = (("entry", machine.legs.entry.style), ("hedge", machine.legs.hedge.style),
                ("escalation", machine.legs.escalation.style))
        for leg, style in legs:
            if style not in spec.hoga:
                diags.add(*ws.locate("venues", ("venues", name, "hoga")), "KX505",
                          f"venues.{name}.hoga has no code for '{style}', the style of the machine's "
                          f"{leg} leg (known: {', '.join(spec.hoga)})")
