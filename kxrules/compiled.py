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
        kernels = importlib.import_module(module)
    except ImportError:
        return None
    _load_cached_kernels_lightly(module)
    return kernels


_LIGHT: set[str] = set()        # the modules loaded here: their cached kernels load lightly


def _load_cached_kernels_lightly(module: str) -> None:
    """Before loading a cached kernel, numba refreshes its whole compiler: it imports some forty
    modules of lowering rules (about 0.1 s, a cold ``trade --replay``'s largest start-up item
    after the imports), though the kernel's machine code needs only numba's runtime (NRT) set up
    (numba#2198). kxrules' kernels use no ``objmode``, the one case that needs the rules at load
    (numba#9806), so a cache hit of a module loaded here sets up the runtime only; any other
    module's kernels (a user's own, in the same process) load numba's way. A miss compiles, and
    compiling refreshes the compiler itself. Left alone if numba's cache no longer has this shape."""
    from numba.core import caching
    from numba.core.runtime import nrt

    _LIGHT.add(module)
    cache = caching.Cache
    if getattr(cache.load_overload, "_kxrules_light", False):
        return
    if not all(hasattr(cache, name) for name in ("_load_overload", "_guard_against_spurious_io_errors")) \
            or not hasattr(nrt.rtsys, "initialize"):
        return
    numbas_own = cache.load_overload

    def load_overload(self: Any, sig: Any, target_context: Any) -> Any:
        if getattr(getattr(self, "_py_func", None), "__module__", None) not in _LIGHT:
            return numbas_own(self, sig, target_context)
        nrt.rtsys.initialize(target_context)
        with self._guard_against_spurious_io_errors():
            return self._load_overload(sig, target_context)
        return None     # the guard swallowed a spurious I/O error, as numba's own load does

    load_overload._kxrules_light = True     # type: ignore[attr-defined]
    setattr(cache, "load_overload", load_overload)
