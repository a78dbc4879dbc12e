"""The per-symbol parameters by kind, read off their schema (``strategy.Parameters``), so adding a
parameter there is enough: integers stay int64 end to end (money is never a float), the rest
are float64. Order is the schema's (the compiled kernel reads ``slice_qty`` first)."""
from __future__ import annotations

from .strategy import PARAMETER_NAMES, Parameters

INT_PARAMETERS: tuple[str, ...] = tuple(name for name, field in Parameters.model_fields.items()
                                        if field.annotation is int)
FLOAT_PARAMETERS: tuple[str, ...] = tuple(name for name in PARAMETER_NAMES if name not in INT_PARAMETERS)
