"""ctx.quote: one call that holds a bid and an ask (keep the match, cancel the rest, send the
missing), worked by hand and checked against the same rule written with cancel and limit."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import quote, run
from mmsim.data.synthetic import synthetic_taq

ROWS = [quote(0, 100.0, 10, 100.5, 10), quote(99, 100.0, 10, 100.5, 10)]


def test_keep_cancel_and_send_by_hand():
    steps = [
        lambda c: c.quote(100.0, 5, 100.5, 5),          # sends 1 (bid) and 2 (ask)
        lambda c: c.quote(100.0, 5, 100.5, 5),          # both match: nothing sent
        lambda c: c.quote(99.5, 5, 100.5, 5),           # bid moves: cancel 1, send 3
        lambda c: c.quote(99.5, 5, float("nan"), 5),    # no ask: cancel 2
        lambda c: c.quote(99.5, 6, 101.0, 0),           # bid size changes: cancel 3, send 4
    ]
    res, strategy = run(ROWS, [1, 2, 3, 4, 5], *steps, latency=0.1)
    assert strategy.ids == [1, 2, 1, 2, 3, 2, 3, 0, 4, 0]
    orders = res.orders.set_index("order_id")
    assert orders["side"].tolist() == [1, -1, 1, 1]
    assert orders["price"].tolist() == [100.0, 100.5, 99.5, 99.5]
    assert orders["amount"].tolist() == [5.0, -5.0, 5.0, 6.0]
    assert orders["status"].astype(str).tolist() == ["cancelled", "cancelled", "cancelled", "live"]
    sent = pd.Timestamp("2019-04-01", tz="UTC") + pd.to_timedelta([3, 4, 5], unit="s")
    assert orders.loc[[1, 2, 3], "cancel_sent"].tolist() == sent.tolist()


def test_orders_it_does_not_manage_and_cancels_on_their_way():
    steps = [
        lambda c: [c.follow(1, 5), c.limit(100.0, 5), c.limit(100.0, 5)],   # 1, 2, 3
        lambda c: c.cancel(2),
        # 2 is being cancelled: 3 matches and is kept; the follow order stays.
        lambda c: c.quote(100.0, 5, float("nan"), 0),
        # post_only differs: 3 no longer matches.
        lambda c: c.quote(100.0, 5, float("nan"), 0, post_only=True),
    ]
    res, strategy = run(ROWS, [1, 2, 3, 4], *steps, latency=0.1)
    assert strategy.ids == [1, 2, 3, 3, 0, 4, 0]
    orders = res.orders.set_index("order_id")
    assert orders["status"].astype(str).tolist() == ["live", "cancelled", "cancelled", "live"]
    assert bool(orders.loc[4, "post_only"])


class ByHand(mmsim.Strategy):
    """The quote rule written with orders, cancel and limit."""

    def targets(self, ctx):
        bid, ask = ctx.bid_price, ctx.ask_price
        size = 100.0 + int(ctx.bid_amount) % 3
        return bid - 0.5 * (int(ctx.time // 10**9) % 2), size, ask, size

    def on_signal(self, ctx):
        bp, bs, ap, as_ = self.targets(ctx)
        if np.isnan(bp) or np.isnan(ap):
            return
        keep = {1: None, -1: None}
        for oid, side, price, amount, typ, cancelling in zip(
                ctx.orders["order_id"].tolist(), ctx.orders["side"].tolist(),
                ctx.orders["price"].tolist(), ctx.orders["amount"].tolist(),
                ctx.orders["type"].tolist(), ctx.orders["cancelling"].tolist()):
            if cancelling:
                continue
            target = (bp, bs) if side > 0 else (ap, -as_)
            if keep[side] is None and (price, amount) == target:
                keep[side] = oid
            else:
                ctx.cancel(oid)
        if keep[1] is None:
            ctx.limit(bp, bs)
        if keep[-1] is None:
            ctx.limit(ap, -as_)


class WithQuote(ByHand):
    def on_signal(self, ctx):
        bp, bs, ap, as_ = self.targets(ctx)
        if np.isnan(bp) or np.isnan(ap):
            return
        ctx.quote(bp, bs, ap, as_)


def test_quote_equals_the_rule_written_by_hand():
    taq = synthetic_taq(n_rows=30_000, seed=6)
    index = pd.date_range(taq.index[0].ceil("5s"), taq.index[-1], freq="5s", name="time")
    signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)
    by_hand = mmsim.backtest(taq, signals, ByHand(), latency=0.3)
    quoted = mmsim.backtest(taq, signals, WithQuote(), latency=0.3)
    assert len(by_hand.fills) > 200 and (by_hand.orders["status"] == "cancelled").sum() > 200
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(by_hand, name), getattr(quoted, name), obj=name)


@pytest.mark.parametrize("args, error, message", [
    ((100.0, -1, 100.5, 1), ValueError, r"^quote: bid_amount must be a size >= 0 \(the side "
                                        r"is given by its place\), got -1$"),
    ((100.0, 1, 100.5, float("nan")), ValueError, r"^quote: ask_amount must be a size >= 0"),
    ((100.2, 1, 100.5, 1), ValueError, r"^quote: price 100.2 is off the tick grid"),
    ((100.0, 1.5, 100.5, 1), ValueError, r"^quote: amount 1.5 is off the lot grid"),
    ((100.0, "1", 100.5, 1), TypeError, r"^quote: bid price and amount must be numbers, "
                                        r"got 100.0 and '1'$"),
])
def test_bad_quotes_are_named(args, error, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], lambda c: c.quote(*args))
    assert isinstance(err.value.__cause__, error)
    with pytest.raises(error, match=message):
        raise err.value.__cause__


def test_glft_quotes_in_one_call_as_its_own_rule_does():
    # delta_price 0 goes through ctx.quote; a tolerance below a tick through the loop of
    # orders, cancel and limit: the same orders and fills.
    from mmsim.strategies import GLFT

    taq = synthetic_taq(n_rows=60_000, seed=2)
    index = pd.date_range(taq.index[0].ceil("5s"), taq.index[-1], freq="5s", name="time")
    signals = pd.DataFrame({"sigma": np.full(len(index), 2.0)}, index=index)
    quoted = mmsim.backtest(taq, signals, GLFT(100, 0.1, 140, 1.5, 300), latency=0.3)
    looped = mmsim.backtest(taq, signals, GLFT(100, 0.1, 140, 1.5, 300, delta_price=1e-12),
                            latency=0.3)
    assert len(quoted.fills) > 1000
    for name in ("orders", "fills", "balances"):
        pd.testing.assert_frame_equal(getattr(quoted, name), getattr(looped, name), obj=name)
