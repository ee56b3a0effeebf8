"""A million random actions through one run, extreme values included: the run ends cleanly,
every bad action is refused with an error naming the action, and the books still balance."""
import math
import random

import numpy as np
import pandas as pd

import mmsim
from helpers import T0
from test_engine_invariants import random_market

LINEAR = mmsim.Contract(inverse=False, tick_size=0.5, lot_size=0.001, contract_size=1.0,
                        maker_fee=-0.0001, taker_fee=0.0005)

# Values a careless or hostile strategy might pass, good ones among them.
NUMBERS = [0.0, -0.0, 1e-320, 1e-7, 0.001, 0.0015, 1.0, 3.0, -2.0, 0.1 * 3, 1e6, 2.0**53,
           2.0**63, -2.0**63, 1e19, 1e306, 1e308, -1e308, math.inf, -math.inf, math.nan,
           np.float32(0.5), np.int64(2), 2**63, -(2**64), 10**30]
JUNK = [None, "1", b"2", [1], {}, object(), 1 + 2j]
LEVELS = [0, 1, 2, 5, -1, 0.5, 2**53, 2**63, 10**30, math.nan, math.inf, np.int8(3)]


class Fuzzer(mmsim.Strategy):
    """``per_call`` random actions at each signal; records what was refused and why."""

    def __init__(self, per_call, seed=0):
        self.per_call = per_call
        self.rnd = random.Random(seed)
        self.actions = 0
        self.refused = 0
        self.unnamed = []           # refusals whose message does not name the action

    def value(self):
        r = self.rnd.random()
        if r < 0.1:
            return self.rnd.choice(JUNK)
        return self.rnd.choice(NUMBERS)

    def on_signal(self, ctx):
        rnd = self.rnd
        sent = ctx.orders["order_id"].tolist()
        bid = ctx.bid_price
        for _ in range(self.per_call):
            kind = rnd.randrange(4)
            self.actions += 1
            try:
                if kind == 0:
                    name = "limit"
                    good = rnd.random() < 0.5 and bid == bid
                    price = bid - 0.5 * rnd.randrange(-2, 6) if good else self.value()
                    amount = rnd.choice((0.002, -0.002, 1.0, -1.0)) if good else self.value()
                    ctx.limit(price, amount, post_only=rnd.random() < 0.3)
                elif kind == 1:
                    name = "market"
                    ctx.market(rnd.choice((0.001, -0.001)) if rnd.random() < 0.05 else self.value())
                elif kind == 2:
                    name = "follow"
                    ctx.follow(rnd.choice(LEVELS), rnd.choice((0.001, -0.001, math.nan, 0.0)))
                else:
                    name = "cancel"
                    pool = sent or [1]
                    oid = rnd.choice(pool) if rnd.random() < 0.7 else rnd.choice(
                        [0, -1, 2**63, 10**30, 1.5, "1", None, True, np.int64(1)])
                    ctx.cancel(oid)
            except (ValueError, TypeError) as exc:
                self.refused += 1
                if not str(exc).startswith(f"{name}:"):
                    self.unnamed.append((name, repr(exc)))
        # Keep the book small: the next call starts by cancelling what works.
        for oid in ctx.orders["order_id"].tolist():
            ctx.cancel(oid)


def test_a_million_random_actions_end_cleanly():
    taq = random_market(seed=7, n=4000)
    times = pd.date_range(taq.index[0] + pd.Timedelta(seconds=1), taq.index[-1], periods=1000,
                          name="time")
    sig = pd.DataFrame({"x": np.zeros(len(times))}, index=times)
    fuzzer = Fuzzer(per_call=1000, seed=3)
    result = mmsim.backtest(taq, sig, fuzzer, contract=LINEAR, balance=1e6, latency=0.05)
    assert fuzzer.actions == 1_000_000
    assert fuzzer.unnamed == []
    assert 0 < fuzzer.refused < fuzzer.actions
    # The books balance: position is the sum of fills, balance is start + realised - fees.
    fills = result.fills
    assert len(fills) > 0
    # (counted in whole lots: a float cumsum over 10^5 fills of up to 1e9 drifts by lots)
    lots = np.round(fills["amount"].to_numpy() / 0.001).astype(np.int64)
    assert np.array_equal(np.cumsum(lots),
                          np.round(fills["position"].to_numpy() / 0.001).astype(np.int64))
    final = result.balances["total"].iloc[-1]
    assert math.isclose(final, 1e6 + fills["realized"].sum() - fills["fee"].sum(), rel_tol=1e-12)
    assert np.isfinite(result.balances[["total", "available", "nav"]].to_numpy()).all()
    # Every amount that was accepted lies on the lot grid.
    lots = result.orders["amount"].to_numpy() / 0.001
    assert np.array_equal(lots, np.round(lots))
    # ... and every price that was accepted is a positive whole number of ticks.
    prices = result.orders["price"].dropna().to_numpy()
    assert (prices >= 0.5).all() and np.array_equal(prices / 0.5, np.round(prices / 0.5))
    assert result.orders.index.min() >= T0
