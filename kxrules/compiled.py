"""Where numba is installed (64-bit research machines), the hot loops run compiled.

The live control needs 32-bit Windows Python, where numba has no wheels, and KXRULES_NO_JIT
forces the portable numpy code anywhere; each compiled loop has a numpy twin that tests hold
to identical results.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType


def load(module: str) -> ModuleType | None:
    """The numba kernels module ``module``, or None when numba is missing or KXRULES_NO_JIT is set."""
    if os.environ.get("KXRULES_NO_JIT"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
