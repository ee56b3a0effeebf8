"""Tests for mmsim.estimators: volatility, trade intensity and fill-rate tracking."""
import math

import numpy as np
import pandas as pd
import pytest

from mmsim.estimators import (
    EWMAVolatility,
    FillRate,
    RollingVolatility,
    TradeIntensity,
    trade_depths,
)

S = 1_000_000_000  # one second in ns


def test_rolling_volatility_by_hand():
    # Prices 100, 101, 100, 102 at 0, 1, 2, 4 s; differences 1, -1, 2 over 1, 1, 2 s.
    # Window 2: (1 + 4) / (1 + 2) = 5/3 per second.
    vol = RollingVolatility(2, returns="diff")
    assert math.isnan(vol.update(0, 100.0))
    assert vol.update(1 * S, 101.0) == pytest.approx(1.0)  # 1 / 1
    assert vol.update(2 * S, 100.0) == pytest.approx(1.0)  # (1 + 1) / 2
    assert vol.update(4 * S, 102.0) == pytest.approx(math.sqrt(5 / 3))
    assert vol.count == 2
    # Per minute: variance 5/3 per second x 60.
    vol_min = RollingVolatility(2, unit="1min", returns="diff")
    for t, p in ((0, 100.0), (1, 101.0), (2, 100.0), (4, 102.0)):
        vol_min.update(t * S, p)
    assert vol_min.sigma == pytest.approx(math.sqrt(5 / 3 * 60))


def test_rolling_volatility_matches_pandas_on_irregular_log_prices():
    rng = np.random.default_rng(0)
    n, w = 3000, 50
    times = np.cumsum(rng.integers(1, 5000, n)) * 1_000_000  # irregular ms steps, in ns
    prices = 100 * np.exp(np.cumsum(rng.normal(0, 1e-3, n)))
    vol = RollingVolatility(w, unit="1s")
    got = np.array([vol.update(int(t), p) for t, p in zip(times, prices)])
    r2 = pd.Series(np.log(prices)).diff() ** 2
    dt = pd.Series(times).diff() / S
    expected = np.sqrt(r2.rolling(w, min_periods=1).sum() / dt.rolling(w, min_periods=1).sum())
    np.testing.assert_allclose(got[1:], expected[1:], rtol=1e-9)


def test_rolling_volatility_recovers_a_random_walk_sigma():
    # Random walk with sigma = 2 per second sampled every 0.25 s: the window of 4000 steps
    # estimates sigma within a few percent (relative s.e. about 1/sqrt(2 * 4000) = 1.1 %).
    rng = np.random.default_rng(5)
    n = 4001
    prices = 1000 + np.cumsum(rng.normal(0, 2 * math.sqrt(0.25), n))
    vol = RollingVolatility(4000, returns="diff")
    for i, p in enumerate(prices):
        vol.update(i * S // 4, p)
    assert abs(vol.sigma / 2.0 - 1) < 0.04


def test_ewma_volatility_by_hand():
    # Half-life 1 s. Differences 1 (over 1 s), then 2 (over 2 s, decay 2^-2 = 0.25):
    # S_r = 0.25 * 1 + 4 = 4.25, S_t = 0.25 * 1 + 2 = 2.25, variance 4.25 / 2.25.
    vol = EWMAVolatility("1s", returns="diff")
    vol.update(0, 100.0)
    assert vol.update(S, 101.0) == pytest.approx(1.0)
    assert vol.update(3 * S, 103.0) == pytest.approx(math.sqrt(4.25 / 2.25))


def test_ewma_volatility_matches_pandas_with_times():
    rng = np.random.default_rng(1)
    n = 2000
    times = np.cumsum(rng.integers(1, 3000, n)) * 1_000_000
    prices = 50 * np.exp(np.cumsum(rng.normal(0, 5e-4, n)))
    vol = EWMAVolatility("30s")
    got = np.array([vol.update(int(t), p) for t, p in zip(times, prices)])
    idx = pd.DatetimeIndex(times)
    r2 = pd.Series(np.log(prices)).diff().iloc[1:] ** 2
    dt = (pd.Series(times).diff() / S).iloc[1:]
    # sum w r^2 / sum w dt is the ratio of two adjusted EWMAs with the same weights.
    num = r2.ewm(halflife="30s", times=idx[1:]).mean()
    den = dt.ewm(halflife="30s", times=idx[1:]).mean()
    np.testing.assert_allclose(got[1:], np.sqrt(num / den), rtol=1e-9)


@pytest.mark.parametrize("cls, arg", [(RollingVolatility, 3), (EWMAVolatility, "1s")])
def test_volatility_rejects_bad_input(cls, arg):
    vol = cls(arg)
    vol.update(10 * S, 100.0)
    with pytest.raises(ValueError, match="time must not decrease"):
        vol.update(9 * S, 100.0)
    with pytest.raises(ValueError, match="price"):
        vol.update(11 * S, -1.0)
    with pytest.raises(ValueError, match="returns"):
        cls(arg, returns="pct")
    with pytest.raises(TypeError, match="time"):
        vol.update(1.5, 100.0)


def test_volatility_constructor_errors():
    with pytest.raises(ValueError, match="window"):
        RollingVolatility(0)
    with pytest.raises(ValueError, match="halflife"):
        EWMAVolatility(0)
    with pytest.raises(ValueError, match="unit"):
        RollingVolatility(5, unit="soon")


def _poisson_trades(seed, horizon, A=140.0, k=1.5):
    # Trades arrive at rate A per second; each reaches a depth d ~ Exponential(k) from the mid,
    # so trades reaching delta arrive at rate A exp(-k delta).
    rng = np.random.default_rng(seed)
    n = rng.poisson(A * horizon)
    t = np.sort(rng.uniform(0, horizon, n))
    return (t * S).astype(np.int64), rng.exponential(1 / k, n)


def test_trade_intensity_recovers_A_and_k_within_5_percent():
    times, depths = _poisson_trades(seed=0, horizon=100.0)
    est = TradeIntensity(np.arange(0, 2.01, 0.1), window="101s")
    est.update_many(times, depths)
    A, k = est.fit(now=100 * S)
    # Measured: A = 140.5, k = 1.511.
    assert abs(A / 140 - 1) < 0.05
    assert abs(k / 1.5 - 1) < 0.05


def test_trade_intensity_online_window_matches_batch():
    times, depths = _poisson_trades(seed=3, horizon=60.0)
    online = TradeIntensity(np.arange(0, 2.01, 0.1), window="20s")
    for t, d in zip(times.tolist(), depths.tolist()):
        online.update(t, d)
    online.fit(now=60 * S)
    # The window (40 s, 60 s] holds exactly the trades after 40 s.
    last = times > 40 * S
    assert online.counts()[0] == last.sum()
    assert online.counts()[5] == (last & (depths >= 0.5)).sum()
    batch = TradeIntensity(np.arange(0, 2.01, 0.1), window="20s")
    batch.update_many(times, depths)
    assert online.fit(now=60 * S) == batch.fit(now=60 * S)
    A, k = online.fit(now=60 * S)
    assert abs(A / 140 - 1) < 0.1 and abs(k / 1.5 - 1) < 0.1


def test_trade_intensity_exact_on_a_constructed_sample():
    # 100 trades at depth 0 and 10 at depth 1 over 10 s, grid {0, 1}: counts 110 and 10,
    # lambda(0) = 11, lambda(1) = 1, so A = 11 and k = ln 11.
    est = TradeIntensity([0.0, 1.0], window="1h", min_count=1)
    est.update_many(np.linspace(0, 10 * S, 110).astype(np.int64), np.r_[np.zeros(100), np.ones(10)])
    A, k = est.fit()
    assert A == pytest.approx(11.0)
    assert k == pytest.approx(math.log(11.0))


def test_trade_intensity_needs_data_and_valid_input():
    est = TradeIntensity([0.0, 0.5, 1.0], window="10s")
    assert all(math.isnan(v) for v in est.fit())
    with pytest.raises(ValueError, match="depths"):
        TradeIntensity([1.0, 0.5], window="10s")
    with pytest.raises(ValueError, match="depth"):
        est.update(0, -0.5)
    with pytest.raises(ValueError, match="window"):
        TradeIntensity([0.0, 1.0], window=-1)


def test_trade_depths_uses_the_row_quote():
    idx = pd.DatetimeIndex(["2024-01-01 00:00:00", "2024-01-01 00:00:01", "2024-01-01 00:00:02"], name="time")
    taq = pd.DataFrame(
        {"price": [100.5, np.nan, 99.0], "amount": [3.0, 0.0, -2.0],
         "bid_price": [99.5, 99.5, 99.5], "bid_amount": [1.0, 1.0, 1.0],
         "ask_price": [100.0, 100.5, 100.5], "ask_amount": [1.0, 1.0, 1.0]},
        index=idx,
    )
    # Row 0: |100.5 - 99.75| = 0.75; row 1 is quote-only; row 2: |99.0 - 100.0| = 1.0.
    d = trade_depths(taq)
    assert d.tolist() == [0.75, 1.0]
    assert list(d.index) == [idx[0], idx[2]]


def test_fill_rate_over_a_window():
    fr = FillRate("10s")
    fr.on_order(0, 10)
    fr.on_order(1 * S, -10)
    fr.on_fill(2 * S, 4)
    fr.on_fill(5 * S, -10)
    # 14 of 20 filled; 2 fills over 5 s.
    assert fr.ratio == pytest.approx(14 / 20)
    assert fr.rate == pytest.approx(2 / 5)
    fr.advance(11 * S)  # window (1 s, 11 s]: both orders have left, both fills remain
    assert fr.ordered == 0 and fr.filled == 14 and math.isnan(fr.ratio)
    fr.on_order(13 * S, 5)
    fr.advance(15 * S)  # window (5 s, 15 s]: both fills (2 s, 5 s) have left
    assert fr.filled == 0 and fr.ordered == 5 and fr.ratio == 0.0
    assert fr.rate == 0.0
    with pytest.raises(ValueError, match="amount"):
        fr.on_fill(16 * S, 0)
    with pytest.raises(ValueError, match="time must not decrease"):
        fr.on_order(1 * S, 1)
