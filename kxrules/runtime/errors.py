"""The trade command's usage error, in a module of its own: the replay check raises it while the
session's heavy imports are still loading (``replay_check.start_check``)."""
from __future__ import annotations


class TradeError(Exception):
    """A usage or environment problem found before trading started (exit code 2)."""
