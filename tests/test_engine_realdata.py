"""A two-sided quoter on the real Binance BTCUSD_PERP capture (inverse, 100 USD contracts)."""

import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import BINANCE_DIR



@pytest.fixture(scope="module")
def perp_taq(shared):
    from mmsim.data import binance

    return binance.to_taq(shared(*BINANCE_DIR, "btcusd_perp_trades.csv.gz"),
                          shared(*BINANCE_DIR, "btcusd_perp_quotes.csv.gz"))


class TwoSided(mmsim.Strategy):
    """Cancel everything, then bid 2 contracts at the best bid and offer 2 at the best ask."""

    def on_signal(self, ctx):
        for oid in ctx.orders["order_id"].tolist():
            ctx.cancel(oid)
        ctx.limit(ctx.bid_price, 2)
        ctx.limit(ctx.ask_price, -2)


def test_two_sided_quoter_conserves_balance(perp_taq):
    signals = pd.DataFrame(
        index=pd.date_range(perp_taq.index[0].ceil("5s"), perp_taq.index[-1], freq="5s", name="time"))
    result = mmsim.backtest(perp_taq, signals, TwoSided(), contract=mmsim.BINANCE_BTCUSD_PERP,
                            balance=0.1, latency=0.05)
    fills = result.fills
    assert len(fills) > 20
    # Conservation: the balance moves only by realised PnL and fees.
    final = result.balances["total"].iloc[-1]
    assert final == pytest.approx(0.1 + fills["realized"].sum() - fills["fee"].sum(), abs=1e-12)
    # The position is the running sum of the fills, and every fill is on the 0.1 tick grid.
    assert np.array_equal(result.positions["amount"].to_numpy(), fills["amount"].cumsum().to_numpy())
    ticks = fills["price"].to_numpy() / 0.1
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    # Fees: maker fills pay |q| x 100 / price x 0.0002 BTC, taker fills x 0.0005.
    rate = np.where(fills["liquidity"] == "maker", 0.0002, 0.0005)
    expected = np.abs(fills["amount"]) * 100.0 / fills["price"] * rate
    assert np.allclose(fills["fee"].to_numpy(), expected.to_numpy(), rtol=1e-12, atol=0)
    # Every signal recorded a balance row; orders that filled are closed with their size done.
    assert len(result.balances) == len(signals) + len(fills)
    filled = result.orders[result.orders["status"] == "filled"]
    assert (filled["filled"] == filled["amount"]).all()
