"""Screen numbers (Kiwoom's registration groups): 4 digits, not 0000, unique, ≤200 in all, and
enough market-data screens for every KRX and _NX code at ≤100 codes per screen."""
from __future__ import annotations

import re

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace

MAX_CODES_PER_SCREEN = 100
MAX_SCREENS = 200
_SCREEN = re.compile(r"^\d{4}$")
COUNT_KEYS = frozenset({"codes_per_screen"})   # numbers in `screens:` that are not screens


def _screen_entries(data, loc=()):
    """Every (loc, value) under the venue file's `screens:` section."""
    if isinstance(data, dict):
        for k, v in data.items():
            if k in COUNT_KEYS:
                continue
            yield from _screen_entries(v, loc + (k,))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            yield from _screen_entries(v, loc + (i,))
    else:
        yield loc, data


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    doc = ws.docs.get("venues")
    if doc is None or not isinstance(doc.data, dict) or "screens" not in doc.data:
        return
    screens = doc.data["screens"]
    if not isinstance(screens, (dict, list)):
        return                                        # the schema reports what it should be
    first: dict[str, tuple] = {}
    count = 0
    for loc, value in _screen_entries(screens, ("screens",)):
        text = str(value)
        count += 1
        if not isinstance(value, str) or not _SCREEN.match(text) or text == "0000":
            diags.add(doc.path, doc.position(loc), "KX501", f"screen {value!r} at {'.'.join(map(str, loc))} must be a quoted "
                                       f"4-digit string other than \"0000\"")
            continue
        if text in first:
            diags.add(doc.path, doc.position(loc), "KX502", f"screen {text} is already used at {'.'.join(map(str, first[text]))}")
            continue
        first[text] = loc
    if count > MAX_SCREENS:
        diags.add(doc.path, doc.position(("screens",)), "KX504",
                  f"{count} screens declared; Kiwoom mixes up results beyond {MAX_SCREENS}")
    md = screens.get("market_data") if isinstance(screens, dict) else None
    if isinstance(md, list) and ws.universe:
        registrations = 2 * len(ws.universe)          # each code on KRX and as CODE_NX on NXT
        per_screen = screens.get("codes_per_screen", MAX_CODES_PER_SCREEN)
        if isinstance(per_screen, bool) or not isinstance(per_screen, int) or per_screen <= 0:
            per_screen = MAX_CODES_PER_SCREEN            # the schema reports a bad value
        per_screen = min(per_screen, MAX_CODES_PER_SCREEN)
        capacity = per_screen * len(md)
        if registrations > capacity:
            need = -(-registrations // per_screen)
            diags.add(doc.path, doc.position(("screens", "market_data")), "KX503",
                      f"{len(ws.universe)} symbols need {registrations} real-time registrations "
                      f"(KRX + _NX) but {len(md)} market-data screen(s) hold {capacity}: declare at least {need}")
