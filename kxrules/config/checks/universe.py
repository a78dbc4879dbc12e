"""Per-symbol overrides must name listed symbols and known parameters, with valid values."""
from __future__ import annotations

import difflib

from pydantic import ValidationError

from ..diagnostics import Diagnostics
from ..load import LoadedWorkspace
from ..schema.strategy import PARAMETER_NAMES, Parameters


def check(ws: LoadedWorkspace, diags: Diagnostics) -> None:
    ov = ws.models.get("overrides")
    if ov is None or not ws.universe:
        return
    listed = {s.code for s in ws.universe}
    for code, params in ov.symbols.items():
        if code not in listed:
            diags.add(*ws.locate("overrides", ("symbols", code), key_pos=True), "KX604",
                      f"override for {code}, which is not in the universe ({ws.paths['universe'].name})")
            continue
        for name, value in params.items():
            if name not in PARAMETER_NAMES:
                hint = difflib.get_close_matches(name, PARAMETER_NAMES, n=1)
                tail = f"; did you mean '{hint[0]}'?" if hint else f" (known: {', '.join(PARAMETER_NAMES)})"
                diags.add(*ws.locate("overrides", ("symbols", code, name), key_pos=True), "KX605",
                          f"{code}: unknown parameter '{name}'{tail}")
                continue
            try:
                Parameters.model_validate({name: value})
            except ValidationError as exc:
                err = exc.errors(include_url=False)[0]
                kind = "KX103" if err["type"].endswith(("_type", "_parsing")) else "KX104"
                diags.add(*ws.locate("overrides", ("symbols", code, name)), kind,
                          f"{code}.{name}: {err['msg']}")
