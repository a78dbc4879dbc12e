"""The synthetic market model as the generator uses it: its schema lives with the other
workspace files' (``config/schema/market.py``); here are the generator's step and the loader."""
from __future__ import annotations

from pathlib import Path

from ..config.model_file import load_model_file
from ..config.schema.market import CHUNK_MS, SyntheticMarketConfig  # noqa: F401  (the generator's names)


def default_market_path(workspace: Path | None = None) -> Path:
    from ..config.workspace import find_workspace

    return (workspace or find_workspace()) / "config" / "sim" / "market.yaml"


def load_market_config(path: str | Path | None = None) -> SyntheticMarketConfig:
    """Load and check a market model; problems raise ``ValueError`` with ``file:line:col``."""
    p = Path(path) if path is not None else default_market_path()
    return load_model_file(p, SyntheticMarketConfig, "the market model")
