"""Invariants that hold for any market and any strategy, checked on seeded random runs."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import NOFEE, T0

XBT = mmsim.BITMEX_XBTUSD


def random_market(seed, n=3000):
    """A small random TAQ stream on the 0.5 grid: quote moves, sizes, prints at and through."""
    rng = np.random.default_rng(seed)
    mid_ticks = 8000 + np.cumsum(rng.choice([-1, 0, 0, 0, 1], size=n))
    bid = mid_ticks * 0.5
    ask = bid + 0.5 * rng.choice([1, 1, 1, 2], size=n)
    is_trade = rng.random(n) < 0.4
    side = rng.choice([-1.0, 1.0], size=n)
    size = np.floor(rng.pareto(1.5, size=n) * 50 + 1)
    through = rng.random(n) < 0.1
    price = np.where(side > 0, ask + 0.5 * through, bid - 0.5 * through)
    time = T0 + pd.to_timedelta(np.cumsum(rng.exponential(0.2, size=n)), unit="s")
    return pd.DataFrame(
        {"price": np.where(is_trade, price, np.nan), "amount": np.where(is_trade, side * size, 0.0),
         "bid_price": bid, "bid_amount": np.floor(rng.uniform(1, 400, n)),
         "ask_price": ask, "ask_amount": np.floor(rng.uniform(1, 400, n))},
        index=pd.DatetimeIndex(time, name="time"),
    )


class Random(mmsim.Strategy):
    """Random limits, market orders, follows and cancels."""

    def on_signal(self, ctx):
        rng = ctx.rng
        for oid in ctx.orders["order_id"].tolist():
            if rng.random() < 0.3:
                ctx.cancel(oid)
        for _ in range(int(rng.integers(0, 3))):
            kind = rng.random()
            amount = float(rng.integers(1, 60)) * (1 if rng.random() < 0.5 else -1)
            if kind < 0.7:
                offset = 0.5 * int(rng.integers(-2, 3))
                ref = ctx.bid_price if amount > 0 else ctx.ask_price
                ctx.limit(ref + offset, amount, post_only=bool(rng.random() < 0.2))
            elif kind < 0.85:
                ctx.market(amount)
            else:
                ctx.follow(int(rng.integers(0, 3)), amount)


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("contract", [NOFEE, XBT], ids=["nofee", "xbtusd"])
def test_invariants(seed, contract):
    taq = random_market(seed)
    signals = pd.DataFrame(index=pd.date_range(taq.index[0], taq.index[-1], freq="2s", name="time"))
    res = mmsim.backtest(taq, signals, Random(), contract=contract, latency=0.3,
                         cancel_latency=0.1, queue_position=0.5, seed=seed)
    fills, orders = res.fills, res.orders.set_index("order_id")
    assert len(fills) > 50
    # Position is the running sum of fills; balance moves only by realised PnL and fees.
    np.testing.assert_array_equal(res.positions["amount"].to_numpy(), fills["amount"].cumsum().to_numpy())
    assert res.balances["total"].iloc[-1] == pytest.approx(
        1.0 + fills["realized"].sum() - fills["fee"].sum(), abs=1e-12)
    # Each order's fills add up to its filled amount, never beyond its amount, same sign.
    per_order = fills.groupby("order_id")["amount"].sum()
    np.testing.assert_allclose(orders.loc[per_order.index, "filled"], per_order, atol=1e-9)
    assert (orders["filled"].abs() <= orders["amount"].abs()).all()
    assert (np.sign(orders.loc[per_order.index, "amount"]) == np.sign(per_order)).all()
    done = orders[orders["status"] == "filled"]
    assert (done["filled"] == done["amount"]).all()
    # Fills happen while the order is live: not before it went live, not after it closed.
    when = fills.reset_index().set_index("order_id")
    live = orders.loc[when.index, "live"].to_numpy()
    closed = orders.loc[when.index, "closed"].to_numpy()
    t = when["time"].to_numpy()
    assert (t >= live).all()
    assert ((t <= closed) | pd.isna(closed)).all()
    # Maker fills happen at the order's price; rejected orders never fill.
    maker = when[when["liquidity"] == "maker"]
    limits = orders.loc[maker.index]
    is_limit = (limits["type"] == "limit").to_numpy()
    np.testing.assert_array_equal(maker["price"].to_numpy()[is_limit], limits["price"].to_numpy()[is_limit])
    assert not orders.loc[orders["status"] == "rejected"].index.isin(fills["order_id"]).any()
    # Every signal and every fill wrote one balance row.
    assert len(res.balances) == len(signals) + len(fills)
    # Post-only orders never take liquidity.
    post_only_takers = fills["order_id"].isin(orders.index[orders["reason"] == "post_only"])
    assert not post_only_takers.any()


@pytest.mark.parametrize("seed", [4, 5])
def test_one_print_never_fills_more_than_its_volume_at_its_price(seed):
    taq = random_market(seed)
    signals = pd.DataFrame(index=pd.date_range(taq.index[0], taq.index[-1], freq="2s", name="time"))
    res = mmsim.backtest(taq, signals, Random(), contract=NOFEE, latency=0.3, seed=seed)
    # Fills on TAQ rows (orders going live between rows fill at other times).
    fills = res.fills.join(taq.add_suffix("_row"), how="inner")
    # Maker fills at the print's own price on a row whose quote does not cross them:
    # the queue-consumption path (rule 4), which shares the print's volume.
    at_print = fills[(fills["liquidity"] == "maker") & (fills["price"] == fills["price_row"])
                     & (fills["amount"] * fills["amount_row"] < 0)
                     & np.where(fills["amount"] > 0, fills["ask_price_row"] > fills["price"],
                                fills["bid_price_row"] < fills["price"])]
    assert len(at_print) > 10
    per_print = at_print.groupby(level="time").agg(filled=("amount", lambda a: a.abs().sum()),
                                                   volume=("amount_row", lambda a: a.abs().iloc[0]))
    assert (per_print["filled"] <= per_print["volume"]).all()
