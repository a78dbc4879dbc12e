"""One setting of a sweep: values for rules/edge.yaml parameters, globally and per symbol.

A setting is applied to an already compiled profile (compiling once per worker, not per run):
the defaults of ``rules/edge.yaml`` are replaced, the profile's own per-symbol overrides still
refine them, and the setting's per-symbol values refine those. The run record (snapshot, config
hash) says what was traded, so a sweep row and ``kxrules trade --set ...`` record the same config.
"""
from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from typing import Any

from pydantic import ValidationError

from ..config.compile import CompiledProfile, config_hash
from ..config.params import INT_PARAMETERS, parameter_arrays
from ..config.schema.strategy import PARAMETER_NAMES, Parameters

Number = int | float


class SettingError(ValueError):
    """A setting names an unknown parameter or a value outside the parameter's bounds."""


@dataclasses.dataclass(frozen=True)
class Setting:
    params: dict[str, Number] = dataclasses.field(default_factory=dict)          # global defaults
    symbols: dict[str, dict[str, Number]] = dataclasses.field(default_factory=dict)  # code -> values

    def as_json(self) -> dict[str, Any]:
        return {"params": dict(sorted(self.params.items())),
                "symbols": {c: dict(sorted(v.items())) for c, v in sorted(self.symbols.items())}}

    def label(self) -> str:
        """Short and readable: ``edge_buffer_ticks=2 t_hedge_ms=600``."""
        parts = [f"{k}={_fmt(v)}" for k, v in sorted(self.params.items())]
        parts += [f"{c}.{k}={_fmt(v)}" for c, vals in sorted(self.symbols.items()) for k, v in sorted(vals.items())]
        return " ".join(parts) or "(profile as is)"

    def set_args(self) -> list[str]:
        """The ``--set`` options of ``kxrules trade`` that reproduce this setting."""
        return [a for part in self.label().split(" ") if "=" in part for a in ("--set", part)]


def _fmt(v: Number) -> str:
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


def parse_set_options(items: list[str]) -> Setting:
    """``NAME=VALUE`` (every symbol) or ``CODE.NAME=VALUE`` (one symbol), as ``kxrules trade --set``."""
    params: dict[str, Number] = {}
    symbols: dict[str, dict[str, Number]] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key or not raw:
            raise SettingError(f"--set {item!r}: write NAME=VALUE or CODE.NAME=VALUE")
        try:
            value: Number = int(raw)
        except ValueError:
            try:
                value = float(raw)
            except ValueError:
                raise SettingError(f"--set {item!r}: {raw!r} is not a number") from None
        code, dot, name = key.rpartition(".")
        target = symbols.setdefault(code, {}) if dot else params
        target[name] = value
    return Setting(params, symbols)


def checked_values(values: dict[str, Number], where: str) -> dict[str, Number]:
    """The values with integer parameters as int, the rest as float; raises SettingError naming ``where``."""
    unknown = sorted(set(values) - set(PARAMETER_NAMES))
    if unknown:
        raise SettingError(f"{where}: unknown parameter {', '.join(unknown)} "
                           f"(parameters: {', '.join(PARAMETER_NAMES)})")
    try:
        Parameters.model_validate(values)       # the bounds rules/edge.yaml and overrides have
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        raise SettingError(f"{where}: {'.'.join(map(str, err['loc']))}: {err['msg']}") from None
    # one type per parameter, so `--set edge_buffer_ticks=1` and a sweep's 1.0 record the same config
    return {k: (int(v) if k in INT_PARAMETERS else float(v)) for k, v in values.items()}


def apply_setting(profile: CompiledProfile, setting: Setting) -> CompiledProfile:
    """``profile`` with the setting's parameter values (validated with the same bounds)."""
    if not setting.params and not setting.symbols:
        return profile
    params = checked_values(setting.params, "setting")
    symbols = {c: checked_values(v, f"setting for {c}") for c, v in setting.symbols.items()}
    unknown = sorted(set(symbols) - set(profile.codes))
    if unknown:
        raise SettingError(f"setting names symbols outside the universe: {', '.join(unknown)}")
    defaults = profile.edge.parameters.model_copy(update=params)
    snapshot = copy.deepcopy(profile.snapshot)
    files = snapshot["files"]
    files.setdefault("edge", {}).setdefault("parameters", {}).update(params)
    overrides = files.get("overrides") or {}
    merged = {c: dict(v) for c, v in (overrides.get("symbols") or {}).items()}
    for code, vals in symbols.items():
        merged.setdefault(code, {}).update(vals)
    files["overrides"] = {**overrides, "symbols": merged}
    _check_risk(profile, defaults, merged)
    return dataclasses.replace(
        profile,
        params=parameter_arrays(defaults, merged, list(profile.codes)),
        edge=profile.edge.model_copy(update={"parameters": defaults}),
        snapshot=snapshot,
        config_hash=config_hash(snapshot),
    )


def _check_risk(profile: CompiledProfile, defaults: Parameters, merged: dict) -> None:
    """The one cross-file check a parameter can break (checks/risk.py, KX953)."""
    longest = max([int(merged.get(c, {}).get("t_hedge_ms", defaults.t_hedge_ms)) for c in profile.codes]
                  or [defaults.t_hedge_ms])
    if profile.risk.max_unhedged_ms <= longest:
        raise SettingError(f"t_hedge_ms {longest} >= risk.max_unhedged_ms {profile.risk.max_unhedged_ms}: "
                           "every hedge that waits its full time would disarm the engine")


def run_key(*parts: Any) -> str:
    """A stable hash of what decides a run's result (a resumed sweep skips keys it has)."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
