"""The fast replay host's shadow pass: the compiled one and the numpy one write the same pending
quotes (delivery time, symbol, venue, top, crossing flag) and leave the same shadow book, chunk
after chunk, with the pending buffer consumed and reused in between."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from kxrules import compiled
from kxrules.runtime.fast import CROSSING, FastReplay, _Pending

jit = compiled.load("kxrules.runtime.shadow_jit")
pytestmark = pytest.mark.skipif(jit is None, reason="numba is not installed or KXRULES_NO_JIT is set")


def _host(n: int) -> SimpleNamespace:
    host = SimpleNamespace(n_syms=n, small=2 * n < 1 << 16, shadow_px=np.zeros((2, n), np.int64),
                           shadow_sz=np.zeros((2, n), np.int64), pending=_Pending())
    host._shadow = lambda *cols: FastReplay._shadow(host, *cols)
    return host


@pytest.mark.parametrize("seed", range(4))
def test_compiled_and_numpy_shadow_passes_agree(seed):
    rng = np.random.default_rng(seed)
    n = 7
    ref, twin = _host(n), _host(n)
    seen = set()                                  # (changed, crossing) seen somewhere
    t = 0
    for _ in range(30):
        rows = int(rng.integers(1, 400))
        sym = rng.integers(0, n, rows)
        venue = rng.integers(0, 2, rows)
        # few price levels and sizes, so repeats (unchanged quotes) and crosses both happen
        bid = rng.integers(0, 4, rows) * 10
        ask = np.where(bid > 0, bid + rng.integers(-1, 3, rows) * 10, rng.integers(0, 2, rows) * 10)
        bq = rng.integers(0, 3, rows)
        aq = rng.integers(0, 3, rows)
        d = t + np.cumsum(rng.integers(0, 3, rows))
        t = int(d[-1])
        for host in (ref, twin):
            host.pending.reserve(rows)
        start = ref.pending.tail
        hot = FastReplay._shadow_pending(ref, sym, venue, bid, ask, bq, aq, d)
        twin.pending.tail, twin_hot = jit.shadow_pending(twin.shadow_px, twin.shadow_sz, sym, venue, bid, ask, bq,
                                                         aq, d, twin.pending.buf, twin.pending.tail)
        got = twin.pending.buf[:, twin.pending.head:twin.pending.tail]
        want = ref.pending.buf[:, ref.pending.head:ref.pending.tail]
        assert got.tolist() == want.tolist()
        assert twin_hot == hot
        assert twin.shadow_px.tolist() == ref.shadow_px.tolist()
        assert twin.shadow_sz.tolist() == ref.shadow_sz.tolist()
        written = ref.pending.tail - start
        seen.update((written < rows, bool(flag)) for flag in want[CROSSING])
        for host in (ref, twin):                  # the engine takes some of them: the buffer is reused
            host.pending.head += (len(host.pending) + 1) // 2
    assert seen == {(False, False), (False, True), (True, False), (True, True)}
