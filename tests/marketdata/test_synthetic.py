"""The synthetic day: grid, sessions, determinism, and statistics against the declared model."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from kxrules.marketdata.quote_format import iter_quote_batches, validate_quote_file
from kxrules.marketdata.sim_config import SyntheticMarketConfig, load_market_config
from kxrules.marketdata.synthetic import (
    Universe,
    generate_day,
    index_to_price,
    iter_day_arrays,
    price_to_coord,
    price_to_index,
    select_universe,
    symbol_params,
)
from kxrules.money.ticks import tick_sizes, ticks_up

REPO = Path(__file__).resolve().parents[2]
MARKET = REPO / "config" / "sim" / "market.yaml"
DAY0 = 1_795_359_600_000_000_000  # 2026-11-23 00:00 KST in epoch ns
NS, MS = 1_000_000_000, 1_000_000


def hms(text: str) -> int:
    h, m, s = (int(x) for x in text.split(":"))
    return DAY0 + (h * 3600 + m * 60 + s) * NS


@pytest.fixture(scope="module")
def cfg() -> SyntheticMarketConfig:
    return load_market_config(MARKET)


def _day(cfg, **kw) -> dict[str, np.ndarray]:
    kw.setdefault("workspace", REPO)
    chunks = [c for c, _ in iter_day_arrays(config=cfg, **kw)]
    names = ("ts", "s", "v", "bid", "ask", "bq", "aq")
    return {n: np.concatenate([c[i] for c in chunks]) for i, n in enumerate(names)}


def _gap_onsets(d: dict[str, np.ndarray], n_sym: int) -> list[tuple[int, int, int]]:
    """(symbol, ticks, crossing size) each time a symbol's venues go from not crossed to crossed."""
    bid = np.zeros((n_sym, 2), dtype=np.int64)
    ask = np.zeros((n_sym, 2), dtype=np.int64)
    bq = np.zeros((n_sym, 2), dtype=np.int64)
    aq = np.zeros((n_sym, 2), dtype=np.int64)
    crossed = np.zeros(n_sym, dtype=bool)
    out = []
    for s, v, b, a, q1, q2 in zip(d["s"].tolist(), d["v"].tolist(), d["bid"].tolist(),
                                  d["ask"].tolist(), d["bq"].tolist(), d["aq"].tolist()):
        bid[s, v], ask[s, v], bq[s, v], aq[s, v] = b, a, q1, q2
        if bid[s, 0] == 0 or bid[s, 1] == 0:
            continue
        if bid[s, 0] > ask[s, 1]:
            hi, lo = 0, 1
        elif bid[s, 1] > ask[s, 0]:
            hi, lo = 1, 0
        else:
            crossed[s] = False
            continue
        if not crossed[s]:
            ticks = int(price_to_index(bid[s, hi]) - price_to_index(ask[s, lo]))
            out.append((s, ticks, min(bq[s, hi], aq[s, lo])))
        crossed[s] = True
    return out


# --------------------------------------------------------------------------- grid


def test_tick_coordinate_matches_the_tick_table() -> None:
    prices = [1, 1_999, 2_000, 2_005, 4_995, 5_000, 19_990, 20_000, 49_950, 50_000, 199_900,
              200_000, 200_500, 499_500, 500_000, 501_000, 2_831_000]
    idx = price_to_index(np.array(prices))
    np.testing.assert_array_equal(index_to_price(idx), prices)
    np.testing.assert_array_equal(index_to_price(idx + 1), [ticks_up(p) for p in prices])
    np.testing.assert_allclose(price_to_coord(np.array(prices, dtype=float)), idx)
    # Off-grid prices snap down; the coordinate is continuous across a band edge.
    assert index_to_price(price_to_index(np.array([200_499])))[0] == 200_000
    assert price_to_coord(np.array([199_950.0]))[0] == pytest.approx(price_to_index(199_900) + 0.5)


# --------------------------------------------------------------------------- config


def test_shipped_market_model_loads(cfg: SyntheticMarketConfig) -> None:
    assert cfg.venues.KRX.updates_per_s == pytest.approx(4.5)
    assert cfg.venues.NXT.updates_per_s == pytest.approx(3.0)
    assert cfg.venues.NXT.windows() == [(9 * 3600 + 30, 15 * 3600 + 20 * 60)]
    assert cfg.venues.KRX.windows() == [(9 * 3600, 15 * 3600 + 30 * 60)]
    assert SyntheticMarketConfig.model_config["extra"] == "forbid"
    with pytest.raises(Exception):
        cfg.latent.step_ms = 50  # frozen


def test_bad_market_model_is_located(tmp_path: Path) -> None:
    text = MARKET.read_text(encoding="utf-8").replace("  step_ms: 100", "  stepms: 100")
    (tmp_path / "m.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=r"m\.yaml:\d+:3: latent\.stepms: Extra inputs"):
        load_market_config(tmp_path / "m.yaml")


# --------------------------------------------------------------------------- universe


def test_universe_selection_tops_up_pilot_from_nxt_eligible() -> None:
    pilot = select_universe("pilot", None, REPO)
    assert len(pilot) == 50 and "005930" in pilot.codes
    big = select_universe("pilot", 60, REPO)
    assert big.codes[:50] == pilot.codes and len(set(big.codes)) == 60
    assert select_universe("nxt_eligible", 3, REPO).codes == ("000070", "000080", "000100")
    with pytest.raises(ValueError):
        select_universe("pilot", 10_000, REPO)
    with pytest.raises(FileNotFoundError):
        select_universe("no_such_universe", None, REPO)


# --------------------------------------------------------------------------- determinism


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path, cfg) -> None:
    def run(name: str, seed: int) -> str:
        generate_day(tmp_path / name, symbols=5, seed=seed, config=cfg, start="09:59:30",
                     minutes=2, workspace=REPO)
        return hashlib.sha256((tmp_path / name).read_bytes()).hexdigest()

    assert run("a.parquet", 7) == run("b.parquet", 7)
    assert run("c.parquet", 8) != run("a.parquet", 7)
    assert validate_quote_file(tmp_path / "a.parquet") == []
    meta = pq.read_schema(tmp_path / "a.parquet").metadata
    assert b"kxrules.generator" in meta and b"kxrules.codes" in meta


# --------------------------------------------------------------------------- statistics


@pytest.fixture(scope="module")
def sample(cfg):
    """20 symbols x 10 minutes at intraday factor 1 (10:00-10:10)."""
    uni = select_universe("pilot", 20, REPO)
    return uni, symbol_params(cfg, uni, 11), _day(cfg, universe=uni, seed=11, start="10:00:00",
                                                  minutes=10)


def test_every_row_is_a_valid_quote(sample) -> None:
    uni, p, d = sample
    assert (np.diff(d["ts"]) >= 0).all()
    key = (d["ts"] - d["ts"][0]) * 4096 + d["s"] * 2 + d["v"]  # ties ordered by code index, then venue
    assert (np.diff(key) > 0).all()
    for px in (d["bid"], d["ask"]):
        assert (px > 0).all() and (px % tick_sizes(px) == 0).all()
    assert (d["bid"] < d["ask"]).all()
    assert (d["bq"] >= 1).all() and (d["aq"] >= 1).all()
    lo, hi = index_to_price(p.lower_idx), index_to_price(p.upper_idx)
    assert (d["bid"] >= lo[d["s"]]).all() and (d["ask"] <= hi[d["s"]]).all()
    assert d["ts"].min() >= hms("10:00:00") and d["ts"].max() < hms("10:10:00")


def test_update_rates_match_the_declared_rates(sample, cfg) -> None:
    uni, p, d = sample
    assert cfg.intraday_factor(10 * 3600 + 300) == 1.0
    for v, venue in enumerate((cfg.venues.KRX, cfg.venues.NXT)):
        expected = venue.updates_per_s * p.rate_factor.sum() * 600  # updates in 10 minutes
        got = int((d["v"] == v).sum())
        # Poisson noise is ~1 %; the few gap onsets add < 1 %.
        assert abs(got - expected) < 0.05 * expected, (v, got, expected)
        per_symbol = np.bincount(d["s"][d["v"] == v], minlength=len(uni)) / 600
        assert np.median(per_symbol) == pytest.approx(venue.updates_per_s, rel=0.35)


def test_spread_distribution(sample, cfg) -> None:
    _, _, d = sample
    spread = price_to_index(d["ask"]) - price_to_index(d["bid"])
    for v, venue in enumerate((cfg.venues.KRX, cfg.venues.NXT)):
        sp = spread[d["v"] == v]
        for ticks, share in venue.spread_ticks.items():
            assert np.mean(sp == ticks) == pytest.approx(share, abs=0.03), (v, ticks)
        assert sp.max() <= max(venue.spread_ticks)


def test_cross_venue_gaps(sample, cfg) -> None:
    uni, p, d = sample
    onsets = _gap_onsets(d, len(uni))
    expected = p.gap_per_min.sum() * 10
    assert abs(len(onsets) - expected) < 4 * np.sqrt(expected) + 5, (len(onsets), expected)
    ticks = np.array([t for _, t, _ in onsets])
    assert ticks.min() >= 1 and ticks.max() <= max(cfg.gaps.ticks) + 2
    assert 0.3 < np.mean(ticks == 1) < 0.8 and (ticks >= 2).sum() >= 10
    # Thin books during a gap: the crossing size is far below the usual top size.
    usual = np.median(np.minimum(d["bq"], d["aq"]))
    assert np.median([q for _, _, q in onsets]) < 0.2 * usual


def test_gap_durations(cfg) -> None:
    """A gap lasts tens to hundreds of ms: measure from onset to the first uncrossed update."""
    uni = select_universe("pilot", 10, REPO)
    rich = cfg.model_copy(update={"gaps": cfg.gaps.model_copy(update={"per_symbol_minute": 6.0})})
    d = _day(rich, universe=uni, seed=3, start="11:00:00", minutes=3)
    bid = np.zeros((10, 2), np.int64)
    ask = np.zeros((10, 2), np.int64)
    since = np.full(10, -1, np.int64)
    lengths = []
    for ts, s, v, b, a in zip(*(d[k].tolist() for k in ("ts", "s", "v", "bid", "ask"))):
        bid[s, v], ask[s, v] = b, a
        x = bid[s, 0] and bid[s, 1] and (bid[s, 0] > ask[s, 1] or bid[s, 1] > ask[s, 0])
        if x and since[s] < 0:
            since[s] = ts
        elif not x and since[s] >= 0:
            lengths.append((ts - since[s]) / MS)
            since[s] = -1
    lengths = np.array(lengths)
    assert len(lengths) > 100
    dur = cfg.gaps.duration
    assert np.median(lengths) == pytest.approx(dur.median_ms, rel=0.35)
    assert lengths.min() >= dur.min_ms * 0.5 and np.percentile(lengths, 95) <= dur.max_ms * 1.1


# --------------------------------------------------------------------------- sessions


def test_nxt_quotes_only_in_its_main_market(cfg) -> None:
    uni = select_universe("pilot", 8, REPO)
    opening = _day(cfg, universe=uni, seed=1, start="09:00:00", minutes=2)
    nxt = opening["ts"][opening["v"] == 1]
    krx = opening["ts"][opening["v"] == 0]
    assert krx.min() < hms("09:00:05") and nxt.min() >= hms("09:00:30") and nxt.size > 100
    closing = _day(cfg, universe=uni, seed=1, start="15:19:00", minutes=15)
    nxt = closing["ts"][closing["v"] == 1]
    krx = closing["ts"][closing["v"] == 0]
    assert nxt.max() < hms("15:20:00") and nxt.size > 50
    assert krx.max() < hms("15:30:00") and krx.max() > hms("15:29:50")
    assert closing["ts"].max() < hms("15:30:00")


def test_nxt_pre_market_can_be_switched_on(cfg) -> None:
    nxt = cfg.venues.NXT
    sessions = [s.model_copy(update={"enabled": True}) if s.name == "pre" else s
                for s in nxt.sessions]
    pre = cfg.model_copy(update={"venues": cfg.venues.model_copy(
        update={"NXT": nxt.model_copy(update={"sessions": sessions})})})
    d = _day(pre, universe=select_universe("pilot", 4, REPO), seed=2, minutes=3)
    assert d["ts"].min() >= hms("08:00:00") and d["ts"].max() < hms("08:03:00")
    assert (d["v"] == 1).all() and d["ts"].size > 100
    assert (d["bid"] < d["ask"]).all()


# --------------------------------------------------------------------------- edges


def test_band_edges_and_price_limits(cfg) -> None:
    """Symbols sitting on tick-band edges, with a wild volatility: still on the grid."""
    refs = (1_999, 4_995, 19_990, 49_950, 199_900, 200_000, 499_500, 2_000)
    uni = Universe(tuple(f"90000{i}" for i in range(len(refs))), ("x",) * len(refs),
                   ("KOSPI",) * len(refs), refs, "edges")
    wild = cfg.model_copy(update={"latent": cfg.latent.model_copy(
        update={"vol_bp_per_sqrt_min": 150.0})})
    d = _day(wild, universe=uni, seed=4, start="13:00:00", minutes=4)
    for px in (d["bid"], d["ask"]):
        assert (px % tick_sizes(px) == 0).all()
    assert (d["bid"] < d["ask"]).all()
    np.testing.assert_array_equal(price_to_index(d["ask"]) - price_to_index(d["bid"]) >= 1, True)
    s200 = d["s"] == refs.index(199_900)
    assert (d["bid"][s200] < 200_000).any() and (d["ask"][s200] > 200_000).any()
    # The price limit holds: +-30 % of the reference.
    p = symbol_params(wild, uni, 4)
    lo, hi = index_to_price(p.lower_idx), index_to_price(p.upper_idx)
    assert (hi <= np.array(refs) * 1.3).all() and (lo >= np.array(refs) * 0.7).all()
    assert (d["bid"] >= lo[d["s"]]).all() and (d["ask"] <= hi[d["s"]]).all()


def test_rate_multiplier_and_file_round_trip(tmp_path: Path, cfg) -> None:
    out = tmp_path / "fast.parquet"
    res = generate_day(out, symbols=6, seed=5, config=cfg, start="10:30:00", minutes=1,
                       rate_multiplier=2.5, workspace=REPO)
    uni = select_universe("pilot", 6, REPO)
    p = symbol_params(cfg, uni, 5)
    expected = 2.5 * 60 * (cfg.venues.KRX.updates_per_s + cfg.venues.NXT.updates_per_s) \
        * p.rate_factor.sum()
    assert abs(res.rows - expected) < 0.1 * expected
    assert res.symbols == 6 and res.bytes == out.stat().st_size
    batches = list(iter_quote_batches(out, batch_rows=1000, codes=list(uni.codes)))
    assert sum(len(b) for b in batches) == res.rows
    assert batches[0].ts_ns[0] >= res.start_ns and batches[-1].ts_ns[-1] < res.end_ns
    assert not (tmp_path / "fast.parquet.partial").exists()
