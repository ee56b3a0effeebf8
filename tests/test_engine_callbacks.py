"""on_start and on_fill: when they run, what they see, and what they may do."""
import pytest

import mmsim
from helpers import NOFEE, Script, at, quote, signals, taq

ROWS = [
    quote(0, 100.0, 0, 100.5, 10),                # nothing displayed at the bid: queue 0
    (2, 100.0, -5.0, 100.0, 0, 100.5, 10),        # fills our bid of 5 at 2 s
    (3, 101.5, 5.0, 100.0, 0, 100.5, 10),         # through 101: fills the ask sent from on_fill
    quote(4, 100.0, 0, 100.5, 10),
]


def test_on_fill_sees_the_fill_and_its_actions_are_stamped_at_the_fill():
    seen = []

    def hedge(ctx, fill):
        seen.append((ctx.time, int(fill["order_id"]), float(fill["amount"]), float(fill["price"]),
                     int(fill["liquidity"]), ctx.position, ctx.price))
        if fill["amount"] > 0:
            ctx.limit(101.0, -fill["amount"])

    strategy = Script(lambda c: c.limit(100.0, 5), on_fill=hedge)
    result = mmsim.backtest(taq(ROWS), signals(1), strategy, contract=NOFEE, latency=0.5)
    assert seen == [
        (at(2).value, 1, 5.0, 100.0, 0, 5.0, 100.0),
        (at(3).value, 2, -5.0, 101.0, 0, 0.0, 101.5),
    ]
    hedge_order = result.orders.iloc[1]
    assert (hedge_order.name, hedge_order["live"], hedge_order["closed"]) == (at(2), at(2.5), at(3))
    assert result.positions["amount"].tolist() == [5.0, 0.0]


def test_on_start_runs_once_before_the_first_signal():
    calls = []

    class Starter(mmsim.Strategy):
        def on_start(self, ctx):
            calls.append(("start", ctx.time, ctx.bid_price))

        def on_signal(self, ctx):
            calls.append(("signal", ctx.time, ctx.bid_price))

    mmsim.backtest(taq(ROWS), signals(1, 2.5), Starter(), contract=NOFEE)
    assert calls == [("start", at(1).value, 100.0), ("signal", at(1).value, 100.0),
                     ("signal", at(2.5).value, 100.0)]


def test_an_error_in_on_fill_names_the_fill_time_and_keeps_the_fill():
    def boom(ctx, fill):
        raise RuntimeError("hedger down")

    strategy = Script(lambda c: c.limit(100.0, 5), on_fill=boom)
    with pytest.raises(mmsim.StrategyError, match=r"raised at 2019-04-01 00:00:02\+00:00: "
                                                  r"RuntimeError: hedger down") as err:
        mmsim.backtest(taq(ROWS), signals(1), strategy, contract=NOFEE)
    assert err.value.result.fills["amount"].tolist() == [5.0]
    assert err.value.result.orders["status"].tolist() == ["filled"]


def test_on_start_already_sees_the_first_signal_row():
    # The engine sets the signal row before any callback, so ctx[...] always has one to read.
    seen = []

    class Reader(mmsim.Strategy):
        def on_start(self, ctx):
            seen.append(("start", ctx["sigma"], ctx[0], ctx.signal.tolist()))

        def on_signal(self, ctx):
            seen.append(("signal", ctx["sigma"]))

    mmsim.backtest(taq(ROWS), signals(1, 2.5, sigma=[0.25, 0.5]), Reader(), contract=NOFEE)
    assert seen == [("start", 0.25, 0.25, [0.25]), ("signal", 0.25), ("signal", 0.5)]


def test_context_repr_reads_time_quote_account_and_orders():
    from helpers import run

    seen = []

    def step(ctx):
        ctx.limit(100.0, 5)
        seen.append(repr(ctx))

    def later(ctx):
        seen.append(repr(ctx))

    # The order sent at 1 s is counted while in flight; NAV is in the quote currency for an
    # inverse contract: 2 BTC x mid 100.25, then x mid 100.
    run([quote(0, 100.0, 7, 100.5, 9), quote(1.5, 99.5, 3, 100.5, 4), quote(3, 99.5, 3, 100.5, 4)],
        [1, 2], step, later, balance=2.0)
    assert seen == [
        "<Context 2019-04-01T00:00:01+00:00 bid 100 x 7 / ask 100.5 x 9; position 0, "
        "balance 2, nav 200.5, 1 working order>",
        "<Context 2019-04-01T00:00:02+00:00 bid 99.5 x 3 / ask 100.5 x 4; position 0, "
        "balance 2, nav 200, 1 working order>",
    ]
