"""Every strategy backtested on the real Binance BTCUSD_PERP data (skipped when it is absent)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import BINANCE_DIR
from mmsim.estimators import EWMAVolatility
from mmsim.strategies import GLFT, AvellanedaStoikov, MonteCarlo, Symmetric



@pytest.fixture(scope="module")
def binance(shared):
    quotes_path = shared(*BINANCE_DIR, "btcusd_perp_quotes.csv.gz")
    trades_path = shared(*BINANCE_DIR, "btcusd_perp_trades.csv.gz")
    from mmsim.data import binance as converter

    taq = converter.to_taq(trades_path, quotes_path)
    # One signal a second; sigma = std of 1 s log returns of the mid over 60 s (per second).
    mid = (0.5 * (taq["bid_price"] + taq["ask_price"])).resample("1s").last().ffill()
    sigma = np.log(mid / mid.shift(1)).rolling(60, min_periods=2).std().fillna(0.0)
    sig = pd.DataFrame({"sigma": sigma.to_numpy(), "sigma_usd": (sigma * mid).to_numpy()},
                       index=mid.index.rename("time")).iloc[1:]
    return taq, sig


def _with_touch(orders, taq):
    """``orders`` with the best bid and ask in force when each was sent (last TAQ row at or before)."""
    book = taq[["bid_price", "ask_price"]].reset_index()
    return pd.merge_asof(orders.reset_index(), book, on="time")


def _check_account(res):
    fills = res.fills
    # Positions change only by fills: the recorded position is their running sum.
    np.testing.assert_allclose(res.positions["amount"].to_numpy(), np.cumsum(fills["amount"].to_numpy()))
    assert (res.orders["price"].dropna() * 10).sub((res.orders["price"].dropna() * 10).round()).abs().max() < 1e-6


def test_avellaneda_stoikov_on_binance(binance):
    taq, sig = binance
    strat = AvellanedaStoikov(5.0, 0.1, 5.0, -0.4, 1.0, 1.0)
    res = mmsim.backtest(taq, sig, strat, contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.05)
    fills = res.fills
    assert (fills["amount"] > 0).sum() > 0 and (fills["amount"] < 0).sum() > 0
    _check_account(res)
    # Never quoting through the touch: bids at most the best bid at decision time, asks at least the best ask.
    limits = res.orders[res.orders["type"] == "limit"]
    joined = _with_touch(limits, taq)
    buys, sells = joined[joined["amount"] > 0], joined[joined["amount"] < 0]
    assert (buys["price"] <= buys["bid_price"] + 1e-9).all()
    assert (sells["price"] >= sells["ask_price"] - 1e-9).all()
    # 1 BTC x ~61,800 USD at max_size 5 and 100 USD contracts: a full quote is about 618 contracts.
    assert 600 <= limits["amount"].abs().max() <= 630


def test_symmetric_on_binance_quotes_full_size_both_sides(binance):
    taq, sig = binance
    res = mmsim.backtest(taq, sig, Symmetric(5.0, 0.1, 5.0, 1.0, 1.0),
                         contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.05)
    assert len(res.fills) > 0
    _check_account(res)
    nav = res.balances["nav"]
    limits = res.orders
    # Every quote is floor(+-NAV / 100) contracts (bid +, ask -), NAV taken at the signal
    # that sent it: a full max_size unit whatever the inventory.
    nav_at = nav[~nav.index.duplicated(keep="first")].reindex(limits.index).to_numpy()
    side = np.sign(limits["amount"].to_numpy())
    np.testing.assert_array_equal(limits["amount"].to_numpy(), np.floor(side * nav_at / 100.0))


def test_glft_on_binance_stays_within_its_limit(binance):
    taq, sig = binance
    strat = GLFT(order_size=50, gamma=0.05, A=1.0, k=3.0, max_position=150, sigma="sigma_usd")
    res = mmsim.backtest(taq, sig, strat, contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.05)
    assert len(res.fills) > 0
    _check_account(res)
    assert set(res.orders["amount"].abs()) == {50.0}
    assert res.positions["amount"].abs().max() <= 150


def test_monte_carlo_on_binance(binance):
    taq, _ = binance
    index = pd.date_range(taq.index[0].ceil("30s"), taq.index[-1], freq="30s", name="time")
    inv = pd.DataFrame({"inv": np.random.default_rng(42).integers(-5, 5, len(index)).astype(float)}, index=index)
    res = mmsim.backtest(taq, inv, MonteCarlo(5.0, 0.05, 0, -0.05),
                         contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.05)
    assert len(res.fills) > 0
    _check_account(res)
    assert set(res.orders["type"]) <= {"follow_limit", "market"}


def test_live_ewma_sigma_on_binance(binance):
    taq, sig = binance
    est = EWMAVolatility("30s")
    strat = AvellanedaStoikov(5.0, 0.1, 5.0, -0.4, 1.0, 1.0, sigma=est, reference="microprice")
    res = mmsim.backtest(taq, sig, strat, contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.05)
    assert len(res.fills) > 0 and np.isfinite(est.sigma) and est.sigma > 0
    _check_account(res)
