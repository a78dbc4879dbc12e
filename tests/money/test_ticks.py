"""The KRX/NXT tick table: band edges, stepping across bands, the vectorised form."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kxrules.money.ticks import on_grid, round_to_tick, tick_size, tick_sizes, ticks_down, ticks_up

EDGES = [
    (1, 1), (1_999, 1), (2_000, 5), (4_995, 5), (4_999, 5), (5_000, 10), (19_990, 10),
    (20_000, 50), (49_950, 50), (50_000, 100), (199_900, 100), (199_999, 100), (200_000, 500),
    (200_500, 500), (499_500, 500), (500_000, 1_000), (2_831_000, 1_000),
]


@pytest.mark.parametrize("price, tick", EDGES)
def test_tick_size_at_band_edges(price, tick):
    assert tick_size(price) == tick


def test_tick_sizes_matches_tick_size_at_band_edges():
    prices = np.array([p for p, _ in EDGES], dtype=np.int64)
    assert tick_sizes(prices).tolist() == [t for _, t in EDGES]


@given(st.lists(st.integers(min_value=1, max_value=5_000_000), min_size=1, max_size=200))
@settings(max_examples=100, deadline=None)
def test_tick_sizes_equals_tick_size_elementwise(prices):
    arr = np.array(prices, dtype=np.int64)
    assert tick_sizes(arr).tolist() == [tick_size(p) for p in prices]


@pytest.mark.parametrize("price, n, up", [
    (1_998, 1, 1_999), (1_999, 1, 2_000), (2_000, 1, 2_005), (4_995, 1, 5_000),
    (199_800, 1, 199_900), (199_900, 1, 200_000), (200_000, 1, 200_500), (199_800, 3, 200_500),
    (499_500, 1, 500_000), (500_000, 1, 501_000), (49_950, 2, 50_100),
])
def test_ticks_up_crosses_bands(price, n, up):
    assert ticks_up(price, n) == up


@pytest.mark.parametrize("price, n, down", [
    (2_000, 1, 1_999), (2_005, 1, 2_000), (5_000, 1, 4_995), (200_000, 1, 199_900),
    (200_500, 1, 200_000), (200_500, 3, 199_800), (500_000, 1, 499_500), (501_000, 1, 500_000),
    (50_100, 2, 49_950),
])
def test_ticks_down_crosses_bands(price, n, down):
    assert ticks_down(price, n) == down


def test_zero_ticks_is_the_same_price():
    assert ticks_up(239_500, 0) == ticks_down(239_500, 0) == 239_500


@st.composite
def grid_prices(draw):
    p = draw(st.integers(min_value=2, max_value=3_000_000))
    return round_to_tick(p)


@given(grid_prices(), st.integers(min_value=0, max_value=30))
@settings(max_examples=150, deadline=None)
def test_ticks_up_then_down_returns_on_the_grid(price, n):
    up = ticks_up(price, n)
    assert on_grid(up)
    assert ticks_down(up, n) == price


@pytest.mark.parametrize("price, down, up", [
    (199_950, 199_900, 200_000), (200_001, 200_000, 200_500), (1_999, 1_999, 1_999),
    (2_003, 2_000, 2_005), (239_510, 239_500, 240_000), (499_999, 499_500, 500_000),
])
def test_round_to_tick(price, down, up):
    assert round_to_tick(price) == down
    assert round_to_tick(price, up=True) == up


@pytest.mark.parametrize("price, ok", [
    (239_500, True), (239_510, False), (0, False), (-500, False), (200_100, False), (200_500, True),
    (1_999, True), (2_001, False),
])
def test_on_grid(price, ok):
    assert on_grid(price) is ok
