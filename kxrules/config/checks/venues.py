"""The venue maps must carry what the pair machine sends: both arbitrage venues enabled, and an
order code on each venue for the style each of the machine's legs sends there (sHogaGb in the
OpenAPI+ map, trde_tp in the REST map). A leg names one style, or one per venue
(``style: {KRX: limit, NXT: mid}``): the error points at the style that venue lacks."""
from __future__ import annotations

from ...market import VENUES
from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace

LEGS = ("entry", "hedge", "escalation")


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    venues, machine, rest = ws.models.get("venues"), ws.models.get("machine"), ws.models.get("rest_venues")
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
        # entry buys on one venue and hedges on the other: each leg may go to either
        for leg in LEGS:
            style_spec = getattr(machine.legs, leg).style
            style = getattr(machine.legs, leg).style_at(name)
            maps = [(_shown(ws, "venues"), "hoga", spec.hoga)]
            if rest is not None and name in rest.venues:
                maps.append((_shown(ws, "rest_venues"), "trde_tp", rest.venues[name].trde_tp))
            for path, what, codes in maps:
                if style in codes:
                    continue
                per_venue = not isinstance(style_spec, str)
                where = ("legs", leg, "style", name) if per_venue else ("legs", leg, "style")
                hint = "" if per_venue else (f"; a leg may name a style per venue, e.g. "
                                             f"style: {{{', '.join(f'{v}: ...' for v in VENUES)}}}")
                diags.add(*ws.locate("machine", where, key_pos=per_venue), "KX505",
                          f"legs.{leg}.style: {name} has no '{style}' order ({what} in {path}: "
                          f"{', '.join(codes)}){hint}")
                break


def _shown(ws: LoadedWorkspace, key: str) -> str:
    path = ws.paths.get(key)
    if path is None:
        return key
    return str(path.relative_to(ws.root)) if path.is_relative_to(ws.root) else str(path)
