"""Cost in the number of working orders: sending, cancelling and filling many at once.

Each case reports seconds per order in ``extra_info``; the cost per order should stay flat as
the number of orders grows tenfold (linear in orders). Nothing here asserts on time.
"""
import numpy as np
import pandas as pd
import pytest

import mmsim

from conftest import QUICK

T0 = pd.Timestamp("2019-04-01", tz="UTC")
NOFEE = mmsim.Contract(inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                       maker_fee=0.0, taker_fee=0.0)


def market(rows: int, print_price=None, print_size=1.0) -> pd.DataFrame:
    """``rows`` rows one second apart around a 10000.0 / 10000.5 touch; every other row a
    sell print (at ``print_price``, default the bid)."""
    n = np.arange(rows)
    trade = n % 2 == 1
    price = 10000.0 if print_price is None else print_price
    return pd.DataFrame(
        {"price": np.where(trade, price, np.nan), "amount": np.where(trade, -print_size, 0.0),
         "bid_price": 10000.0, "bid_amount": 1000.0, "ask_price": 10000.5, "ask_amount": 1000.0},
        index=pd.DatetimeIndex(T0 + pd.to_timedelta(n, unit="s"), name="time"),
    )


class Ladder(mmsim.Strategy):
    """At the first signal send ``n`` one-lot bids spread over ``levels`` prices below the
    touch; at the second cancel every one of them."""

    def __init__(self, n, levels=1000, top=9999.5):
        self.n, self.levels, self.top = n, levels, top

    def on_signal(self, ctx):
        if len(ctx.orders):
            for oid in ctx.orders["order_id"].tolist():
                ctx.cancel(oid)
            return
        prices = (self.top - 0.5 * (np.arange(self.n) % self.levels)).tolist()
        for price in prices:
            ctx.limit(price, 1.0)


SIZES = (10_000, 100_000) if QUICK else (100_000, 1_000_000)


@pytest.mark.parametrize("n", SIZES)
def test_many_working_orders(benchmark, n):
    """``n`` orders working at once over 100 rows of quotes and prints, then cancelled."""
    taq = market(100)
    sig = pd.DataFrame({"x": [0.0, 0.0]}, index=pd.DatetimeIndex([T0 + pd.Timedelta(seconds=1),
                                                                  T0 + pd.Timedelta(seconds=50)],
                                                                 name="time"))
    result = benchmark.pedantic(lambda: mmsim.backtest(taq, sig, Ladder(n), contract=NOFEE,
                                                       latency=0.1), rounds=3, iterations=1)
    assert len(result.orders) == n and (result.orders["status"] == "cancelled").all()
    benchmark.extra_info.update(orders=n, s_per_order=benchmark.stats.stats.min / n)


@pytest.mark.parametrize("k", (300, 3000))
def test_many_orders_at_one_price(benchmark, k):
    """``k`` of our orders queued at the best bid and 1000 prints there, shared in time
    priority (each print fills the order at the head of our queue)."""
    taq = market(2000, print_size=1.0)
    taq["bid_amount"] = 0.0                       # nothing displayed ahead: prints reach us
    sig = pd.DataFrame({"x": [0.0]}, index=pd.DatetimeIndex([T0], name="time"))

    class Stack(mmsim.Strategy):
        def on_signal(self, ctx):
            for _ in range(k):
                ctx.limit(10000.0, 1.0)

    result = benchmark.pedantic(lambda: mmsim.backtest(taq, sig, Stack(), contract=NOFEE,
                                                       latency=0.1), rounds=3, iterations=1)
    assert len(result.fills) == min(k, 1000)
    assert result.fills["order_id"].tolist() == list(range(1, min(k, 1000) + 1))
    benchmark.extra_info.update(orders=k, prints=1000, s_per_print=benchmark.stats.stats.min / 1000)
