"""The fast replay host's crossing flags: the compiled pass and the numpy one agree on every
quote's changed/crossed flags and leave the same shadow book, chunk after chunk."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from kxrules import compiled
from kxrules.runtime.fast import FastReplay

jit = compiled.load("kxrules.runtime.shadow_jit")
pytestmark = pytest.mark.skipif(jit is None, reason="numba is not installed or KXRULES_NO_JIT is set")


def _host(n: int) -> SimpleNamespace:
    return SimpleNamespace(n_syms=n, small=2 * n < 1 << 16, shadow_px=np.zeros((2, n), np.int64),
                           shadow_sz=np.zeros((2, n), np.int64))


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_shadow_agree(seed):
    rng = np.random.default_rng(seed)
    n = 7
    ref, twin = _host(n), _host(n)
    seen = np.zeros((2, 2), dtype=bool)           # (changed, crossed) x (False, True) seen somewhere
    for _ in range(30):
        rows = int(rng.integers(1, 400))
        sym = rng.integers(0, n, rows)
        venue = rng.integers(0, 2, rows)
        # few price levels and sizes, so repeats (unchanged quotes) and crosses both happen
        bid = rng.integers(0, 4, rows) * 10
        ask = np.where(bid > 0, bid + rng.integers(-1, 3, rows) * 10, rng.integers(0, 2, rows) * 10)
        bq = rng.integers(0, 3, rows)
        aq = rng.integers(0, 3, rows)
        expected = FastReplay._shadow(ref, sym, venue, bid, ask, bq, aq)
        got = jit.shadow_flags(twin.shadow_px, twin.shadow_sz, sym, venue, bid, ask, bq, aq)
        assert got[0].tolist() == expected[0].tolist()
        assert got[1].tolist() == expected[1].tolist()
        assert twin.shadow_px.tolist() == ref.shadow_px.tolist()
        assert twin.shadow_sz.tolist() == ref.shadow_sz.tolist()
        for f, flags in enumerate(expected):
            seen[f, flags.astype(int)] = True
    assert seen.all()
