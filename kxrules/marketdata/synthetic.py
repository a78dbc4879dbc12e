"""Synthetic KRX/NXT trading days in the replay quote format (``kxrules simdata``).

Model (all parameters in ``config/sim/market.yaml``, see :mod:`.sim_config`):

* one latent log-price per symbol, a random walk on a ``step_ms`` time grid starting at the
  reference price, clipped inside the daily price limits;
* each venue quotes around the latent as it was ``lag_ms`` ago, plus its own slowly varying offset
  (an AR(1) in ticks). The latent is mapped to a continuous *tick coordinate* (consecutive grid
  prices are consecutive integers, so the 100 -> 500 KRW step at 200,000 is one unit like any
  other); the bid is the grid price ``floor(x - (spread - 1) / 2)`` and the ask is ``spread`` grid
  steps above it. Prices are therefore always on the grid and bid < ask;
* update times per (symbol, venue) are Poisson with the declared rates x per-symbol factor x
  intraday profile x ``rate_multiplier``;
* sizes: lognormal around a per-symbol, per-venue median; each price level keeps its own size
  (a hash of the level), drifting slowly (AR(1)), with a little per-update jitter;
* cross-venue gaps: at a declared rate per symbol-minute one venue's quote jumps so that its bid is
  ``k`` ticks above the other's ask (or its ask ``k`` below the other's bid), with small sizes, for
  a lognormal duration; its updates in between repeat the gap quote, and at the end it snaps back.

Work is done one minute of all symbols at a time, vectorised with numpy; each chunk is sorted by
(ts, code index, venue) and appended to Parquet, so memory stays bounded. Regular updates fall on
even nanoseconds and gap events on odd ones, so a gap never ties with an update it overrides.
Per-chunk random streams are seeded from (seed, chunk start): same inputs -> identical file.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from ..config.workspace import find_workspace, universe_path
from .daygen import DayGenerator, index_to_price, price_to_coord, price_to_index
from .quote_writer import QuoteWriter
from .. import seoul
from ..seoul import fmt_hms, parse_hms
from .sim_config import CHUNK_MS, SyntheticMarketConfig, load_market_config

DEFAULT_DATE = dt.date(2026, 11, 23)  # a Monday
NS = 1_000_000_000
MS = 1_000_000

__all__ = [
    "DEFAULT_DATE", "Universe", "SymbolParams", "GenerateResult", "read_universe_csv",
    "select_universe", "symbol_params", "day_window", "iter_day_arrays",
    "generate_day", "expected_updates_per_symbol_s", "rate_multiplier_for",
    "price_to_coord", "index_to_price", "price_to_index", "SyntheticMarketConfig",
    "load_market_config",
]

# --------------------------------------------------------------------------- universe


@dataclass(frozen=True, slots=True)
class Universe:
    codes: tuple[str, ...]
    names: tuple[str, ...]
    markets: tuple[str, ...]
    ref_prices: tuple[int, ...]
    label: str = ""

    def __len__(self) -> int:
        return len(self.codes)

    def head(self, n: int) -> "Universe":
        return Universe(self.codes[:n], self.names[:n], self.markets[:n], self.ref_prices[:n],
                        self.label)


def read_universe_csv(path: str | Path) -> Universe:
    """A universe CSV, read and checked exactly as ``kxrules validate`` reads it."""
    from ..config.diagnostics import Diagnostics
    from ..config.universe import load_universe

    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"universe file not found: {p}")
    diags = Diagnostics(p.parent)
    symbols = load_universe(p, diags)
    if diags.errors or not symbols:
        first = diags.errors[0].format() if diags.errors else f"{p}: universe lists no symbols"
        raise ValueError(first)
    return Universe(tuple(s.code for s in symbols), tuple(s.name for s in symbols),
                    tuple(s.market for s in symbols), tuple(s.ref_price for s in symbols), p.stem)


def select_universe(universe: str | Path = "pilot", symbols: int | None = None,
                    workspace: Path | None = None) -> Universe:
    """The first ``symbols`` codes of a universe (name or path).

    If the default ``pilot`` universe is too small, it is topped up with further codes from
    ``nxt_eligible`` (pilot codes first, then the rest in file order).
    """
    ws = workspace or find_workspace()
    uni = read_universe_csv(universe_path(str(universe), ws))
    if symbols is None:
        return uni
    if symbols <= 0:
        raise ValueError("--symbols must be positive")
    if symbols <= len(uni):
        return uni.head(symbols)
    if str(universe) != "pilot":
        raise ValueError(f"universe {uni.label} has only {len(uni)} symbols, {symbols} asked")
    extra = read_universe_csv(universe_path("nxt_eligible", ws))
    have = set(uni.codes)
    keep = [i for i, c in enumerate(extra.codes) if c not in have]
    if len(uni) + len(keep) < symbols:
        raise ValueError(f"only {len(uni) + len(keep)} symbols in pilot + nxt_eligible, "
                         f"{symbols} asked")
    keep = keep[: symbols - len(uni)]
    pick = lambda a, b: tuple(a) + tuple(b[i] for i in keep)  # noqa: E731
    return Universe(pick(uni.codes, extra.codes), pick(uni.names, extra.names),
                    pick(uni.markets, extra.markets), pick(uni.ref_prices, extra.ref_prices),
                    f"pilot+nxt_eligible[{symbols}]")


# --------------------------------------------------------------------------- per-symbol draws


@dataclass(frozen=True, slots=True)
class SymbolParams:
    """Per-symbol draws (stable per code and seed, whatever else is in the universe)."""

    ref_price: np.ndarray  # (S,) int64
    rate_factor: np.ndarray  # (S,) on both venues' update rates
    vol_per_sqrt_min: np.ndarray  # (S,) log-price sd per sqrt(minute)
    median_qty: np.ndarray  # (S, 2) median top size in shares per venue
    gap_per_min: np.ndarray  # (S,) gap onsets per minute
    lower_idx: np.ndarray  # (S,) grid index of the lower price limit
    upper_idx: np.ndarray  # (S,) grid index of the upper price limit
    key: np.ndarray  # (S,) uint64 hash key for per-level sizes


def symbol_params(cfg: SyntheticMarketConfig, universe: Universe, seed: int) -> SymbolParams:
    S = len(universe)
    z = np.empty((S, 5))
    for i, code in enumerate(universe.codes):
        z[i] = np.random.default_rng([seed, 7, zlib.crc32(code.encode())]).standard_normal(5)
    ref = np.array(universe.ref_prices, dtype=np.int64)
    sz = cfg.sizes
    liq = np.exp(sz.liquidity_symbol_sigma * z[:, 2])
    for i, code in enumerate(universe.codes):
        if code in sz.liquidity_overrides:
            liq[i] = sz.liquidity_overrides[code]
    median = sz.median_shares_at_100k * (ref / 100_000.0) ** (-sz.price_elasticity) * liq
    scale = np.array([cfg.venues.KRX.size_scale, cfg.venues.NXT.size_scale])
    limit = cfg.latent.price_limit_pct / 100.0
    ref_idx = price_to_index(ref)
    tick = index_to_price(ref_idx + 1) - ref
    amount = (np.floor(ref * limit / tick) * tick).astype(np.int64)
    key = np.array([int.from_bytes(hashlib.blake2b(f"{seed}:{c}".encode(), digest_size=8).digest(),
                                   "little") for c in universe.codes], dtype=np.uint64)
    return SymbolParams(
        ref_price=ref,
        rate_factor=np.exp(cfg.activity.rate_symbol_sigma * z[:, 0]),
        vol_per_sqrt_min=cfg.latent.vol_bp_per_sqrt_min * 1e-4
        * np.exp(cfg.latent.vol_symbol_sigma * z[:, 1]),
        median_qty=median[:, None] * scale[None, :],
        gap_per_min=cfg.gaps.per_symbol_minute * np.exp(cfg.gaps.symbol_sigma * z[:, 3]),
        lower_idx=np.maximum(np.ceil(price_to_coord((ref - amount).astype(np.float64))), 1
                             ).astype(np.int64),
        upper_idx=price_to_index(ref + amount),
        key=key,
    )


# --------------------------------------------------------------------------- the day


def day_window(cfg: SyntheticMarketConfig, start: str | None = None,
               minutes: float | None = None) -> tuple[int, int]:
    """(start, end) of the generated span in ns after midnight KST."""
    wins = cfg.venues.KRX.windows() + cfg.venues.NXT.windows()
    if not wins:
        raise ValueError("no enabled session in the market model")
    first, last = min(w[0] for w in wins), max(w[1] for w in wins)
    s = parse_hms(start) if start is not None else first
    end = last if minutes is None else min(last, s + minutes * 60)
    if minutes is not None and minutes <= 0:
        raise ValueError("minutes must be positive")
    if end <= s:
        raise ValueError(f"start {fmt_hms(s)} is at or after the last session close {fmt_hms(last)}")
    return s * NS, int(round(end * NS))




# --------------------------------------------------------------------------- driver


@dataclass(frozen=True, slots=True)
class GenerateResult:
    path: Path
    rows: int
    symbols: int
    bytes: int
    seconds: float
    start_ns: int  # epoch ns of the span's first instant
    end_ns: int


def _day_epoch_ns(date: dt.date | str) -> int:
    return seoul.midnight_ns(dt.date.fromisoformat(date) if isinstance(date, str) else date)


def _resolve_config(config: SyntheticMarketConfig | str | Path | None,
                    workspace: Path | None) -> SyntheticMarketConfig:
    if isinstance(config, SyntheticMarketConfig):
        return config
    if config is None:
        return load_market_config((workspace or find_workspace()) / "config" / "sim" / "market.yaml")
    return load_market_config(config)


def expected_updates_per_symbol_s(
    cfg: SyntheticMarketConfig, params: SymbolParams, start: str | None = None,
    minutes: float | None = None, rate_multiplier: float = 1.0,
) -> float:
    """Mean top-of-book updates per symbol-second (both venues) the model produces over a span,
    counting each venue's open time and the intraday profile exactly as the generator does."""
    t0, t1 = day_window(cfg, start, minutes)
    venues = (cfg.venues.KRX, cfg.venues.NXT)
    total = 0.0
    c0 = t0
    while c0 < t1:
        c1 = min(c0 + CHUNK_MS * MS, t1)
        f = cfg.intraday_factor((c0 + c1) / 2 / NS)
        for vm in venues:
            open_ns = sum(max(0, min(b * NS, c1) - max(a * NS, c0)) for a, b in vm.windows())
            total += vm.updates_per_s * f * open_ns / NS
        c0 = c1
    return total * float(np.mean(params.rate_factor)) * rate_multiplier / ((t1 - t0) / NS)


def rate_multiplier_for(target_per_symbol_s: float, *, universe: Universe | str | Path = "pilot",
                        symbols: int | None = None, seed: int = 0,
                        config: SyntheticMarketConfig | str | Path | None = None,
                        start: str | None = None, minutes: float | None = None,
                        workspace: Path | None = None) -> float:
    """The ``rate_multiplier`` that gives ``target_per_symbol_s`` updates per symbol-second
    (both venues together, averaged over the span and the symbols)."""
    cfg = _resolve_config(config, workspace)
    uni = _resolve_universe(universe, symbols, workspace)
    return target_per_symbol_s / expected_updates_per_symbol_s(
        cfg, symbol_params(cfg, uni, seed), start, minutes)


def iter_day_arrays(
    *,
    universe: Universe | str | Path = "pilot",
    symbols: int | None = None,
    date: dt.date | str = DEFAULT_DATE,
    seed: int = 0,
    config: SyntheticMarketConfig | str | Path | None = None,
    start: str | None = None,
    minutes: float | None = None,
    rate_multiplier: float = 1.0,
    workspace: Path | None = None,
) -> Iterator[tuple[tuple[np.ndarray, ...], float]]:
    """Yield the day chunk by chunk as ((ts_ns, code_idx, venue_idx, bid, ask, bid_qty,
    ask_qty), fraction done); ``code_idx`` indexes the selected universe. Nothing is written."""
    cfg = _resolve_config(config, workspace)
    uni = _resolve_universe(universe, symbols, workspace)
    if rate_multiplier <= 0:
        raise ValueError("rate_multiplier must be positive")
    t0, t1 = day_window(cfg, start, minutes)
    gen = DayGenerator(cfg, symbol_params(cfg, uni, seed), seed, t0, rate_multiplier)
    base = _day_epoch_ns(date)
    c0 = t0
    while c0 < t1:
        c1 = min(c0 + CHUNK_MS * MS, t1)
        ts, *rest = gen.chunk(c0, c1)
        yield (ts + base, *rest), (c1 - t0) / (t1 - t0)
        c0 = c1


def _resolve_universe(universe: Universe | str | Path, symbols: int | None,
                      workspace: Path | None) -> Universe:
    if isinstance(universe, Universe):
        if symbols is not None and symbols > len(universe):
            raise ValueError(f"universe {universe.label} has only {len(universe)} symbols, "
                             f"{symbols} asked")
        return universe if symbols is None else universe.head(symbols)
    return select_universe(universe, symbols, workspace)


def generate_day(
    out: str | Path,
    *,
    universe: Universe | str | Path = "pilot",
    symbols: int | None = None,
    date: dt.date | str = DEFAULT_DATE,
    seed: int = 0,
    config: SyntheticMarketConfig | str | Path | None = None,
    start: str | None = None,
    minutes: float | None = None,
    rate_multiplier: float = 1.0,
    workspace: Path | None = None,
    progress: Callable[[float], None] | None = None,
) -> GenerateResult:
    """Generate a synthetic day (or ``minutes`` from ``start``) into a Parquet quote file.

    ``start=None`` is the first enabled session open (09:00:00 by default). ``rate_multiplier``
    scales both venues' update rates (e.g. ~2.7 for 20 updates per symbol-second).
    """
    began = time.perf_counter()
    cfg = _resolve_config(config, workspace)
    uni = _resolve_universe(universe, symbols, workspace)
    d = dt.date.fromisoformat(date) if isinstance(date, str) else date
    t0, t1 = day_window(cfg, start, minutes)
    meta = {"kxrules.generator": json.dumps({
        "kind": "synthetic", "seed": seed, "date": d.isoformat(), "universe": uni.label,
        "start": fmt_hms(t0 // NS), "end_ns_of_day": t1, "rate_multiplier": rate_multiplier,
        "market_config_sha256": hashlib.sha256(cfg.model_dump_json().encode()).hexdigest(),
    }, sort_keys=True)}
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    try:
        with QuoteWriter(tmp, codes=uni.codes, metadata=meta, background=True) as writer:
            for cols, done in iter_day_arrays(universe=uni, date=d, seed=seed, config=cfg,
                                              start=start, minutes=minutes,
                                              rate_multiplier=rate_multiplier):
                writer.write_arrays(*cols)
                if progress is not None:
                    progress(done)
        tmp.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
    base = _day_epoch_ns(d)
    return GenerateResult(out, writer.rows, len(uni), out.stat().st_size,
                          time.perf_counter() - began, base + t0, base + t1)
