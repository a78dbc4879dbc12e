"""Per-symbol parameter arrays: rules/edge.yaml defaults refined by per-symbol overrides."""
from __future__ import annotations

import numpy as np

from .schema.parameters import INT_PARAMETERS
from .schema.strategy import PARAMETER_NAMES, Parameters


def parameter_arrays(defaults: Parameters, overrides: dict[str, dict[str, float]],
                     codes: list[str]) -> dict[str, np.ndarray]:
    """One numpy array per parameter, indexed like ``codes`` (int64 or float64)."""
    out: dict[str, np.ndarray] = {}
    for name in PARAMETER_NAMES:
        dtype = np.int64 if name in INT_PARAMETERS else np.float64
        base = getattr(defaults, name)
        out[name] = np.array([overrides.get(c, {}).get(name, base) for c in codes], dtype=dtype)
    return out
