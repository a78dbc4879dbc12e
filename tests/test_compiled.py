"""Cached kernels load without numba's compiler registries, and still run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kxrules import compiled

pytestmark = pytest.mark.skipif(compiled.load("kxrules.marketdata.grid_jit") is None,
                                reason="numba missing or KXRULES_NO_JIT")

# allocates (numba's runtime must be set up, or the loaded kernel crashes the process)
KERNELS = '''
import numpy as np
from numba import njit

@njit(cache=True)
def running_total(x):
    out = np.empty_like(x)
    total = 0
    for i in range(x.size):
        total += x[i]
        out[i] = total
    return out
'''

RUN = textwrap.dedent("""
    import json, sys
    from kxrules import compiled
    import numpy as np
    kernels = compiled.load("tiny_kernels")
    out = kernels.running_total(np.arange(1, 6, dtype=np.int64))
    light = {"out": out.tolist(), "cache_hits": sum(kernels.running_total.stats.cache_hits.values()),
             "registries_loaded": "numba.np.linalg" in sys.modules}
    import other_kernels                 # not kxrules': loaded numba's way
    other = {"out": other_kernels.running_total(np.arange(1, 4, dtype=np.int64)).tolist(),
             "registries_loaded": "numba.np.linalg" in sys.modules}
    print(json.dumps({"light": light, "other": other}))
""")


def _run(tmp_path: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path]),
           "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache")}
    env.pop("KXRULES_NO_JIT", None)
    proc = subprocess.run([sys.executable, "-c", RUN], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_a_cached_kernel_loads_without_the_compilers_registries_and_runs(tmp_path):
    (tmp_path / "tiny_kernels.py").write_text(KERNELS)
    (tmp_path / "other_kernels.py").write_text(KERNELS)
    first = _run(tmp_path)                   # compiles (and refreshes the compiler) and caches
    assert first["light"] == {"out": [1, 3, 6, 10, 15], "cache_hits": 0, "registries_loaded": True}
    second = _run(tmp_path)                  # a cold start-up with the kernels cached
    assert second["light"] == {"out": [1, 3, 6, 10, 15], "cache_hits": 1, "registries_loaded": False}
    # a cached kernel of a module kxrules did not load: numba's own load, which refreshes
    assert second["other"] == {"out": [1, 3, 6], "registries_loaded": True}


def test_no_kernel_uses_objmode():
    """A kernel with an ``objmode`` block needs the compiler's registries when it is loaded from
    the cache (numba#9806): the light loads above would then be wrong for it."""
    root = Path(compiled.__file__).parent
    users = [str(p.relative_to(root)) for p in root.rglob("*.py")
             if p.name != "compiled.py" and "objmode" in p.read_text(encoding="utf-8")]
    assert users == []
