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


# -- ctx.cancel_all ------------------------------------------------------------------------

class CancelLoop(mmsim.Strategy):
    """Every 5 s: cancel every working order (of ``side``) by id, then send a bid and an ask
    a tick inside or at the touch, alternating, so that some fill and some are pending when
    cancelled; ``one_call`` does the cancels with ctx.cancel_all."""

    def __init__(self, one_call, side=0):
        self.one_call, self.side, self.k = one_call, side, 0

    def on_signal(self, ctx):
        if self.one_call:
            sent = ctx.cancel_all(self.side)
        else:
            orders = ctx.orders.copy()        # the view would show the cancels sent below
            mine = (orders["side"] == self.side) | (self.side == 0)
            for oid in orders["order_id"][mine].tolist():
                ctx.cancel(oid)
            # ctx.cancel of an order whose cancel is on its way sends nothing.
            sent = int((mine & (orders["cancelling"] == 0)).sum())
            self.on_its_way = getattr(self, "on_its_way", 0) + int(mine.sum()) - sent
        self.sent = getattr(self, "sent", []) + [sent]
        self.k ^= 1
        ctx.limit(ctx.bid_price - 0.5 * self.k, 10)
        ctx.limit(ctx.ask_price + 0.5 * self.k, -10)


@pytest.mark.parametrize("side", [0, 1, -1])
def test_cancel_all_equals_cancelling_each_working_order(side):
    # Adds take 9 s, longer than the 5 s between calls, and cancels 1 s or 6 s: a cancel
    # reaches a still pending order (rejected as unknown), or is still on its way when the
    # next call comes. Both runs draw the same cancel latencies in the same order.
    taq = synthetic_taq(n_rows=20_000, seed=7)
    index = pd.date_range(taq.index[0].ceil("5s"), taq.index[-1], freq="5s", name="time")
    signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)
    by_id, in_one = CancelLoop(False, side), CancelLoop(True, side)
    a, b = (mmsim.backtest(taq, signals, strategy, latency=9.0,
                           cancel_latency=mmsim.latency.Sampled([1.0, 6.0], seed=3))
            for strategy in (by_id, in_one))
    assert by_id.sent == in_one.sent and sum(in_one.sent) > 100
    assert (a.orders["rejected"] > 0).sum() > 20 and len(a.fills) > 20
    assert (a.orders["reason"] == "cancelled").sum() > 100 and by_id.on_its_way > 20
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), obj=name)


def test_cancel_all_by_hand():
    steps = [
        lambda c: [c.limit(99.0, 1), c.limit(98.5, 1), c.limit(101.0, -1)],    # 1, 2, 3
        lambda c: c.cancel_all(-1),                 # 3
        lambda c: [c.cancel(1), c.cancel_all()],    # 1 is on its way: 2 only
        lambda c: c.cancel_all(),                   # nothing works any more
    ]
    res, strategy = run(ROWS, [1, 2, 3, 4], *steps, latency=0.1)
    assert strategy.ids[3:] == [1, None, 1, 0]
    orders = res.orders.set_index("order_id")
    assert orders["status"].astype(str).tolist() == ["cancelled"] * 3
    sent = pd.Timestamp("2019-04-01", tz="UTC") + pd.to_timedelta([3, 3, 2], unit="s")
    assert orders["cancel_sent"].tolist() == sent.tolist()


@pytest.mark.parametrize("side, error, message", [
    (2, ValueError, r"^cancel_all: side must be 0 \(both\), 1 \(buys\) or -1 \(sells\), got 2$"),
    (True, TypeError, r"^cancel_all: side must be an int \(0, 1 or -1\), got True$"),
    (1.0, TypeError, r"^cancel_all: side must be an int \(0, 1 or -1\), got 1.0$"),
])
def test_bad_cancel_all_sides_are_named(side, error, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], lambda c: c.cancel_all(side))
    with pytest.raises(error, match=message):
        raise err.value.__cause__
