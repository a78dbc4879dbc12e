"""The vectorised core of the synthetic day: tick coordinates, random processes, one chunk.

See :mod:`kxrules.marketdata.synthetic` for the model; this module turns it into numpy work on one
chunk (normally a minute) of all symbols at a time, carrying the state a chunk hands to the next:
the latent price tail (for venue lags), the AR(1) knots and each venue's last quote.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Sequence

import numpy as np

from ..money.ticks import TICK_BANDS, TOP_TICK
from .sim_config import SyntheticMarketConfig

if TYPE_CHECKING:
    from .synthetic import SymbolParams

NS = 1_000_000_000
MS = 1_000_000
V = 2  # venues: 0 = KRX, 1 = NXT
_C_SIDE = np.uint64(0x9E3779B97F4A7C15)
_C_LEVEL = np.uint64(0xD1B54A32D192ED03)


# --------------------------------------------------------------------------- tick coordinate

_LOWER = np.array([0] + [b for b, _ in TICK_BANDS], dtype=np.int64)
_TICK = np.array([t for _, t in TICK_BANDS] + [TOP_TICK], dtype=np.int64)
_OFFSET = np.concatenate([[0], np.cumsum(np.diff(_LOWER) // _TICK[:-1])]).astype(np.int64)


def price_to_coord(price: np.ndarray) -> np.ndarray:
    """Continuous tick coordinate of a (float) price: grid prices map to consecutive integers."""
    k = np.searchsorted(_LOWER, price, side="right") - 1
    return _OFFSET[k] + (price - _LOWER[k]) / _TICK[k]


def price_to_index(price: np.ndarray) -> np.ndarray:
    """Grid index of the highest grid price <= ``price`` (int64)."""
    price = np.asarray(price, dtype=np.int64)
    k = np.searchsorted(_LOWER, price, side="right") - 1
    return _OFFSET[k] + (price - _LOWER[k]) // _TICK[k]


def _index_to_price(idx: np.ndarray) -> np.ndarray:
    k = np.searchsorted(_OFFSET, idx, side="right") - 1
    return _LOWER[k] + (idx - _OFFSET[k]) * _TICK[k]


_PRICE_OF_INDEX = _index_to_price(np.arange(1 << 15, dtype=np.int64))  # up to ~25M KRW


def index_to_price(idx: np.ndarray) -> np.ndarray:
    """Grid price of a grid index (inverse of :func:`price_to_index` on the grid)."""
    idx = np.asarray(idx, dtype=np.int64)
    if idx.size and 0 <= idx.min() and idx.max() < _PRICE_OF_INDEX.shape[0]:
        return _PRICE_OF_INDEX[idx]
    return _index_to_price(idx)


# --------------------------------------------------------------------------- processes


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


_NORMAL_BITS = 16
_NORMAL_TABLE: np.ndarray | None = None


def _normal_table() -> np.ndarray:
    """N(0,1) quantiles at (i + 0.5) / 2**16: a hash picks one (a gather, no log/cos)."""
    global _NORMAL_TABLE
    if _NORMAL_TABLE is None:
        from statistics import NormalDist

        inv = NormalDist().inv_cdf
        n = 1 << _NORMAL_BITS
        _NORMAL_TABLE = np.array([inv((i + 0.5) / n) for i in range(n)], dtype=np.float64)
    return _NORMAL_TABLE


def _hash_normal(key: np.ndarray) -> np.ndarray:
    """A standard normal that is a fixed function of ``key`` (16-bit quantile resolution)."""
    return _normal_table()[(_mix64(key) >> np.uint64(64 - _NORMAL_BITS)).astype(np.intp)]


def _hash_uniform(key: np.ndarray) -> np.ndarray:
    return ((_mix64(key) >> np.uint64(11)).astype(np.float64) + 0.5) / 9007199254740992.0


class _Knots:
    """Stationary AR(1) N(0,1) processes sampled every ``knot_ns``, linear in between."""

    def __init__(self, n: int, knot_ms: int, tau_s: float, rng: np.random.Generator):
        self.knot_ns = knot_ms * MS
        self.rho = float(np.exp(-knot_ms / (tau_s * 1000.0)))
        self.state = rng.standard_normal(n)
        self.grid: np.ndarray | None = None

    def advance(self, span_ns: int, rng: np.random.Generator) -> None:
        nk = -(-span_ns // self.knot_ns)
        eps = rng.standard_normal((nk, self.state.shape[0])) * np.sqrt(1.0 - self.rho ** 2)
        grid = np.empty((nk + 1, self.state.shape[0]))
        grid[0] = self.state
        for j in range(nk):
            grid[j + 1] = self.rho * grid[j] + eps[j]
        self.grid = grid
        self.state = grid[nk] if span_ns % self.knot_ns == 0 else grid[span_ns // self.knot_ns]

    def weights(self, t_off: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(flat offset of the knot before, weight of the knot after) for chunk offsets."""
        q = t_off / self.knot_ns
        j = np.minimum(q.astype(np.int64), self.grid.shape[0] - 2)
        return j * self.grid.shape[1], q - j

    def at(self, w: tuple[np.ndarray, np.ndarray], which: np.ndarray | int) -> np.ndarray:
        base, f = w
        flat = self.grid.reshape(-1)
        i = base + which
        lo = flat[i]
        return lo + (flat[i + self.grid.shape[1]] - lo) * f


def _windows_in(wins: Sequence[tuple[int, int]], c0: int, c1: int) -> list[tuple[int, int]]:
    out = []
    for a, b in wins:
        lo, hi = max(a, c0), min(b, c1)
        if hi > lo:
            out.append((lo - c0, hi - c0))
    return out


def _intersect(a: list[tuple[int, int]], b: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for x0, x1 in a:
        for y0, y1 in b:
            lo, hi = max(x0, y0), min(x1, y1)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def _uniform_in(rng: np.random.Generator, ivs: list[tuple[int, int]], n: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """n uniform integer times in a union of intervals, and the end of each one's interval."""
    lens = np.array([b - a for a, b in ivs], dtype=np.int64)
    cum = np.concatenate([[0], np.cumsum(lens)])
    u = (rng.random(n) * cum[-1]).astype(np.int64)
    k = np.searchsorted(cum, u, side="right") - 1
    starts = np.array([a for a, _ in ivs], dtype=np.int64)
    ends = np.array([b for _, b in ivs], dtype=np.int64)
    return starts[k] + (u - cum[k]), ends[k]


def _pick(dist: dict[int, float], u: np.ndarray) -> np.ndarray:
    """Values of a discrete distribution at uniforms ``u`` (inverse CDF)."""
    keys = np.array(sorted(dist), dtype=np.int64)
    cum = np.cumsum([dist[k] for k in sorted(dist)])
    return keys[np.minimum(np.searchsorted(cum, u * cum[-1], side="right"), len(keys) - 1)]


def _draw(rng: np.random.Generator, dist: dict[int, float], n: int) -> np.ndarray:
    return _pick(dist, rng.random(n))


# --------------------------------------------------------------------------- one chunk


class DayGenerator:
    """Generates consecutive chunks of a day; call :meth:`chunk` with increasing, adjacent spans.

    Regular update times are even nanoseconds and gap events odd ones, so a gap's onset or end
    never ties with a regular update of the same venue.
    """

    def __init__(self, cfg: SyntheticMarketConfig, params: "SymbolParams", seed: int,
                 start_ns: int, rate_multiplier: float = 1.0):
        self.cfg, self.p, self.seed = cfg, params, seed
        venues = (cfg.venues.KRX, cfg.venues.NXT)
        S = self.S = int(params.ref_price.shape[0])
        self.win = [[(a * NS, b * NS) for a, b in vm.windows()] for vm in venues]
        self.base_rate = np.array([vm.updates_per_s for vm in venues]) * rate_multiplier
        self.lag_ns = np.array([int(round(vm.lag_ms * MS)) for vm in venues], dtype=np.int64)
        self.noise_sd = [vm.noise_ticks for vm in venues]
        self.spreads = [vm.spread_ticks for vm in venues]
        self.spread_hold_ns = [vm.spread_hold_ms * MS for vm in venues]
        self.dt_ns = cfg.latent.step_ms * MS
        self.P = int(math.ceil(self.lag_ns.max() / self.dt_ns)) + 1  # grid points kept behind
        rng = np.random.default_rng([seed, 11, start_ns // MS])
        log_ref = np.log(params.ref_price.astype(np.float64))
        self.tail = np.repeat(log_ref[:, None], self.P + 1, axis=1)
        self.log_lo = np.log(index_to_price(params.lower_idx).astype(np.float64))
        self.log_hi = np.log(index_to_price(params.upper_idx + 1).astype(np.float64)) - 1e-9
        self.noise = [_Knots(S, vm.noise_knot_ms, vm.noise_tau_s, rng) for vm in venues]
        sz = cfg.sizes
        self.slow = _Knots(S * V * 2, sz.slow_knot_ms, sz.slow_tau_s, rng)
        # Per (venue, symbol) arrays are indexed by the group g = venue * S + symbol.
        self.log_median = np.log(params.median_qty)  # (S, V)
        self.log_median_g = self.log_median.T.reshape(-1)
        self.last_bid = np.zeros(S * V, dtype=np.int64)  # grid indices of each venue's last quote
        self.last_ask = np.zeros(S * V, dtype=np.int64)
        self.has_quote = np.zeros(S * V, dtype=bool)
        self.sbits = max(1, int(S - 1).bit_length())
        # hash keys per (symbol, venue, side) for level sizes and per (symbol, venue) for spreads
        g = np.arange(S * V, dtype=np.uint64)
        base = np.tile(params.key, V)
        self.size_key = [base + (g * np.uint64(2) + np.uint64(side)) * _C_SIDE for side in (0, 1)]
        self.spread_key = _mix64(base ^ (g * _C_LEVEL + np.uint64(0x5DEECE66D)))

    # ---------------------------------------------------------------- pieces

    def _latent(self, rng: np.random.Generator, span: int) -> np.ndarray:
        n = -(-span // self.dt_ns)
        sd = self.p.vol_per_sqrt_min * math.sqrt(self.dt_ns / (60 * NS))
        steps = rng.standard_normal((self.S, n))
        steps *= sd[:, None]
        walk = np.cumsum(steps, axis=1)
        walk += self.tail[:, -1:]
        np.clip(walk, self.log_lo[:, None], self.log_hi[:, None], out=walk)
        grid = np.concatenate([self.tail, walk], axis=1)  # column j <-> c0 + (j - P) * dt
        self.tail = grid[:, -(self.P + 1):]
        return grid

    def _model_quotes(self, grid: np.ndarray, c0: int, s: np.ndarray, t: np.ndarray,
                      g: np.ndarray, bounds: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """Bid/ask grid indices for events (s, t) of group g = venue * S + s, venue-major:
        latent(t - lag) + the venue's offset, then the venue's spread."""
        n = s.shape[0]
        x = np.empty(n)
        sp = np.empty(n, dtype=np.int64)
        flat, w = grid.reshape(-1), grid.shape[1]
        for vv in range(V):
            lo, hi = bounds[vv], bounds[vv + 1]
            if hi <= lo:
                continue
            sv, tv = s[lo:hi], t[lo:hi]
            q = (tv - self.lag_ns[vv]) / self.dt_ns + self.P
            j = np.clip(q.astype(np.int64), 0, w - 2)
            f = q - j
            base = sv * w + j
            lat = flat[base]
            lat += (flat[base + 1] - lat) * f
            xv = price_to_coord(np.exp(lat))
            if self.noise_sd[vv]:
                kn = self.noise[vv]
                xv += self.noise_sd[vv] * kn.at(kn.weights(tv), sv)
            x[lo:hi] = xv
            # A drawn spread holds for spread_hold_ms (hash of symbol, venue, time bucket).
            bucket = ((tv + c0) // self.spread_hold_ns[vv]).astype(np.uint64)
            sp[lo:hi] = _pick(self.spreads[vv],
                              _hash_uniform(self.spread_key[g[lo:hi]] + bucket * _C_SIDE))
        x -= (sp - 1) * 0.5
        bid = np.floor(x).astype(np.int64)
        bid = np.clip(bid, self.p.lower_idx[s], self.p.upper_idx[s] - sp)
        return bid, bid + sp

    def _sizes(self, rng: np.random.Generator, g: np.ndarray, t: np.ndarray,
               bid: np.ndarray, ask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sz = self.cfg.sizes
        mu = self.log_median_g[g]
        eps = rng.standard_normal((2, g.shape[0]))
        if sz.slow_sigma:
            w = self.slow.weights(t)
            w = (w[0] + g * 2, w[1])
        out = []
        for side, level in ((0, bid), (1, ask)):
            z = _hash_normal(self.size_key[side][g] + level.astype(np.uint64) * _C_LEVEL)
            z *= sz.level_sigma
            z += mu
            eps[side] *= sz.update_sigma
            z += eps[side]
            if sz.slow_sigma:
                z += sz.slow_sigma * self.slow.at(w, side)
            q = np.exp(z)
            q += 0.5
            out.append(np.maximum(q.astype(np.int64), 1))
        return out[0], out[1]

    def _gap_sizes(self, rng: np.random.Generator, s: np.ndarray, v: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
        gp = self.cfg.gaps
        mu = self.log_median[s, v] + math.log(gp.size_fraction)  # (S, V) indexing
        z = mu[None, :] + gp.size_sigma * rng.standard_normal((2, s.shape[0]))
        q = np.maximum(np.rint(np.exp(z)), 1).astype(np.int64)
        return q[0], q[1]

    def _sample_gaps(self, rng: np.random.Generator, overlap: list[tuple[int, int]]) -> dict:
        gp = self.cfg.gaps
        minutes = sum(b - a for a, b in overlap) / (60 * NS)
        cnt = rng.poisson(self.p.gap_per_min * minutes)
        n = int(cnt.sum())
        s = np.repeat(np.arange(self.S, dtype=np.int64), cnt)
        t0, iv_end = _uniform_in(rng, overlap, n)
        t0 |= 1
        d = gp.duration
        dur_ms = np.clip(d.median_ms * np.exp(d.sigma * rng.standard_normal(n)), d.min_ms, d.max_ms)
        end = np.minimum(t0 + np.rint(dur_ms * MS).astype(np.int64), iv_end - 1) | 1
        a = (rng.random(n) < gp.nxt_moves_share).astype(np.int64)  # the venue that jumps
        up = rng.random(n) < 0.5
        k = _draw(rng, gp.ticks, n)
        # Gaps of one symbol must not overlap: keep the earliest of any overlapping ones.
        order = np.lexsort((t0, s))
        keep = np.zeros(n, dtype=bool)
        last_s, last_end = -1, -1
        for i in order.tolist():
            if s[i] != last_s or t0[i] > last_end:
                if end[i] > t0[i] and end[i] < iv_end[i]:
                    keep[i] = True
                    last_s, last_end = int(s[i]), int(end[i])
        ix = order[keep[order]]
        return {"s": s[ix], "t0": t0[ix], "end": end[ix], "a": a[ix], "up": up[ix], "k": k[ix]}

    # ---------------------------------------------------------------- chunk

    def chunk(self, c0: int, c1: int) -> tuple[np.ndarray, ...]:
        """Events in [c0, c1) (ns after midnight KST), sorted by (ts, code_idx, venue):
        ts, code_idx, venue_idx, bid, ask, bid_qty, ask_qty (prices in KRW)."""
        rng = np.random.default_rng([self.seed, 13, c0 // MS])
        span = c1 - c0
        span1 = span + 1
        S = self.S
        grid = self._latent(rng, span)
        for kn in self.noise:
            kn.advance(span, rng)
        self.slow.advance(span, rng)

        factor = self.cfg.intraday_factor((c0 + c1) / 2 / NS)
        ivs = [_windows_in(w, c0, c1) for w in self.win]
        keys = []  # (venue*S + symbol) * span1 + t: sorted, events run by venue, symbol, time
        for vv in range(V):
            if not ivs[vv]:
                continue
            open_s = sum(b - a for a, b in ivs[vv]) / NS
            cnt = rng.poisson(self.base_rate[vv] * self.p.rate_factor * factor * open_s)
            grp = np.repeat(np.arange(S, dtype=np.int64) + vv * S, cnt)
            t = _uniform_in(rng, ivs[vv], grp.shape[0])[0] & ~np.int64(1)  # even ns
            keys.append(grp * span1 + t)

        overlap = _intersect(ivs[0], ivs[1])
        gaps = None
        if overlap and self.cfg.gaps.per_symbol_minute > 0:
            gaps = self._sample_gaps(rng, overlap)
            if gaps["s"].shape[0]:  # the jumping venue snaps back with a model quote at the end
                keys.append((gaps["a"] * S + gaps["s"]) * span1 + gaps["end"])
            else:
                gaps = None

        K = np.sort(np.concatenate(keys)) if keys else np.zeros(0, dtype=np.int64)
        g, t = np.divmod(K, span1)
        v, s = np.divmod(g, S)
        bounds = [0, int(np.searchsorted(K, S * span1)), K.shape[0]]
        bid, ask = self._model_quotes(grid, c0, s, t, g, bounds)
        bq, aq = self._sizes(rng, g, t, bid, ask)
        if gaps is not None:
            s, v, t, bid, ask, bq, aq = self._apply_gaps(rng, gaps, K, span1,
                                                         s, v, t, bid, ask, bq, aq)

        order = np.argsort((t << (self.sbits + 1)) | (s << 1) | v)
        s, v, t, bid, ask, bq, aq = (x[order] for x in (s, v, t, bid, ask, bq, aq))
        if s.shape[0]:
            g = v * S + s
            last = np.full(S * V, -1, dtype=np.int64)
            np.maximum.at(last, g, np.arange(g.shape[0], dtype=np.int64))
            seen = last >= 0
            self.last_bid[seen] = bid[last[seen]]
            self.last_ask[seen] = ask[last[seen]]
            self.has_quote |= seen
        return t + c0, s, v, index_to_price(bid), index_to_price(ask), bq, aq

    def _apply_gaps(self, rng, gaps, K, span1, s, v, t, bid, ask, bq, aq):
        gs, t0, end, a, up, k = (gaps[x] for x in ("s", "t0", "end", "a", "up", "k"))
        # The other venue's quote in force at t0 (this chunk's events, else the carried one).
        gb = (1 - a) * self.S + gs
        pos = np.searchsorted(K, gb * span1 + t0, side="right") - 1
        posc = np.maximum(pos, 0)
        here = (pos >= 0) & (K[posc] // span1 == gb)  # K holds at least the closing events
        o_bid = np.where(here, bid[posc], self.last_bid[gb])
        o_ask = np.where(here, ask[posc], self.last_ask[gb])
        have = here | self.has_quote[gb]
        g_bid = np.where(up, o_ask + k, o_bid - k - 1)
        g_ask = g_bid + 1
        ok = have & (g_ask <= self.p.upper_idx[gs]) & (g_bid >= self.p.lower_idx[gs])
        gs, t0, end, a, g_bid, g_ask = (x[ok] for x in (gs, t0, end, a, g_bid, g_ask))
        ng = gs.shape[0]
        if ng == 0:
            return s, v, t, bid, ask, bq, aq
        # The jumping venue's own updates during the gap repeat the gap quote.
        ga = a * self.S + gs
        lo = np.searchsorted(K, ga * span1 + t0, side="right")
        hi = np.searchsorted(K, ga * span1 + end, side="left")
        lens = np.maximum(hi - lo, 0)
        total = int(lens.sum())
        if total:
            gid = np.repeat(np.arange(ng), lens)
            first = np.cumsum(lens) - lens
            idx = lo[gid] + (np.arange(total) - first[gid])
            bid[idx], ask[idx] = g_bid[gid], g_ask[gid]
            bq[idx], aq[idx] = self._gap_sizes(rng, s[idx], v[idx])
        on_bq, on_aq = self._gap_sizes(rng, gs, a)
        return (np.concatenate([s, gs]), np.concatenate([v, a]), np.concatenate([t, t0]),
                np.concatenate([bid, g_bid]), np.concatenate([ask, g_ask]),
                np.concatenate([bq, on_bq]), np.concatenate([aq, on_aq]))
