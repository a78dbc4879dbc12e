"""Market data: the replay quote format, its streaming reader, and the synthetic day generator.

Attributes are imported lazily so that ``import kxrules.marketdata`` stays cheap (the CLI starts
fast); ``from kxrules.marketdata import iter_quote_batches`` works as usual.
"""
from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "QUOTE_SCHEMA": "quote_format",
    "QUOTE_COLUMNS": "quote_format",
    "VENUES": "quote_format",
    "QuoteBatch": "quote_format",
    "QuoteWriter": "quote_writer",
    "iter_quote_batches": "quote_format",
    "quote_file_codes": "quote_format",
    "quote_table": "quote_writer",
    "validate_quote_file": "quote_format",
    "SyntheticMarketConfig": "sim_config",
    "load_market_config": "sim_config",
    "GenerateResult": "synthetic",
    "Universe": "synthetic",
    "generate_day": "synthetic",
    "rate_multiplier_for": "synthetic",
    "select_universe": "synthetic",
    "symbol_params": "synthetic",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    mod = _EXPORTS.get(name)
    if mod is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value
