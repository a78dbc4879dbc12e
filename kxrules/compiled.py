"""Where numba is installed (64-bit research machines), the hot loops run compiled.

The live control needs 32-bit Windows Python, where numba has no wheels, and KXRULES_NO_JIT
forces the portable numpy code anywhere; each compiled loop has a numpy twin that tests hold
to identical results.
"""
from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any, Callable, TypeVar

Fn = TypeVar("Fn", bound=Callable[..., Any])


def jitable(fn: Fn) -> Fn:
    """``fn`` unchanged for numpy code and, where numba is installed, also callable from the
    compiled kernels (numba's ``register_jitable`` returns the plain function and compiles it
    into each kernel that calls it). A kernel's cache does not track the file of ``fn``: a
    changed ``fn`` needs the kernels' ``__pycache__`` cleared, as with any global they read.
    Registered even under KXRULES_NO_JIT (it changes nothing for numpy callers), so a kernels
    module loaded later in the same process still finds ``fn`` compilable."""
    try:
        from numba.extending import register_jitable
    except ImportError:
        return fn
    jitted: Fn = register_jitable(fn)
    return jitted


def load(module: str) -> ModuleType | None:
    """The numba kernels module ``module``, or None when numba is missing or KXRULES_NO_JIT is set."""
    if os.environ.get("KXRULES_NO_JIT"):
        return None
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
