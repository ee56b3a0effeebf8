"""Invalid actions and inputs give clear errors; a failing strategy hands back its results."""
import math

import pandas as pd
import pytest

import mmsim
from helpers import NOFEE, at, quote, run, signals, taq, Script

ROWS = [quote(0, 100.0, 10, 100.5, 10), quote(5, 100.0, 10, 100.5, 10)]


@pytest.mark.parametrize("action, message", [
    (lambda c: c.limit(100.0, 0), "limit: amount must be a non-zero finite number"),
    (lambda c: c.limit(100.0, math.nan), "limit: amount must be a non-zero finite number"),
    (lambda c: c.market(math.inf), "market: amount must be a non-zero finite number"),
    (lambda c: c.limit(math.nan, 1), "limit: price must be a positive finite number, got nan"),
    (lambda c: c.limit(100.3, 1), "limit: price 100.3 is off the tick grid (tick_size 0.5); "
                                  "nearest on-grid price is 100.5"),
    (lambda c: c.limit(100.0, 1.5), "limit: amount 1.5 is off the lot grid (lot_size 1.0)"),
    (lambda c: c.follow(-1, 1), "follow: level must be a whole number of ticks >= 0, got -1"),
    (lambda c: c.follow(0.5, 1), "follow: level must be a whole number of ticks >= 0, got 0.5"),
    (lambda c: c.cancel(99), "cancel: unknown order id 99"),
])
def test_invalid_actions_raise_at_once(action, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1, 2], lambda c: c.limit(100.0, 1), action)
    assert message in str(err.value.__cause__)
    assert isinstance(err.value.__cause__, ValueError)
    assert "raised at 2019-04-01 00:00:02+00:00" in str(err.value)
    # the result so far: the first call's order and both balance rows
    assert err.value.result.orders["order_id"].tolist() == [1]
    assert list(err.value.result.balances.index) == [at(1), at(2)]


def test_cancelling_a_filled_order_is_a_noop_shown_in_the_orders_table():
    rows = [quote(0, 100.0, 10, 100.5, 10), (1.7, 99.0, -5.0, 100.0, 10, 100.5, 10),
            quote(3, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1, 2, 2.5], lambda c: c.limit(100.0, 1), lambda c: c.cancel(1),
                 lambda c: c.cancel(1))
    order = res.orders.iloc[0]
    assert (order["status"], order["reason"], order["closed"]) == ("filled", "", at(1.7))
    assert order["cancel_sent"] == at(2)


def test_strategy_error_carries_partial_result_and_time():
    class Boom(mmsim.Strategy):
        def __init__(self):
            self.n = 0

        def on_signal(self, ctx):
            self.n += 1
            if self.n == 3:
                raise ZeroDivisionError("no edge")
            ctx.limit(ctx.bid_price, 1)

    with pytest.raises(mmsim.StrategyError, match=r"Boom raised at 2019-04-01 00:00:03\+00:00: "
                                                  r"ZeroDivisionError: no edge") as err:
        mmsim.backtest(taq(ROWS), signals(1, 2, 3, 4), Boom(), contract=NOFEE)
    assert err.value.time == at(3)
    assert err.value.result.orders["order_id"].tolist() == [1, 2]
    assert len(err.value.result.balances) == 3


def test_taq_missing_column():
    frame = taq(ROWS).drop(columns="ask_amount")
    with pytest.raises(mmsim.SchemaError, match=r"missing column\(s\) \['ask_amount'\]"):
        mmsim.backtest(frame, signals(1), Script(), contract=NOFEE)


def test_taq_unsorted_times_name_the_row():
    frame = taq([quote(0, 100.0, 1, 100.5, 1), quote(2, 100.0, 1, 100.5, 1),
                 quote(1, 100.0, 1, 100.5, 1)])
    with pytest.raises(mmsim.SchemaError, match="row 2 .* comes before row 1"):
        mmsim.backtest(frame, signals(1), Script(), contract=NOFEE)


def test_taq_index_must_be_a_datetime_index_named_time():
    frame = taq(ROWS)
    with pytest.raises(mmsim.SchemaError, match=r"df.index.name = \"time\""):
        mmsim.backtest(frame.rename_axis("ts"), signals(1), Script(), contract=NOFEE)
    with pytest.raises(mmsim.SchemaError, match="DatetimeIndex named 'time', got RangeIndex"):
        mmsim.backtest(frame.reset_index(drop=True), signals(1), Script(), contract=NOFEE)


def test_signals_with_nan_name_the_column():
    sig = signals(1, 2, sigma=[0.1, math.nan])
    with pytest.raises(mmsim.SchemaError, match="signals column 'sigma' is nan at row 1"):
        mmsim.backtest(taq(ROWS), sig, Script(), contract=NOFEE)


@pytest.mark.parametrize("kwargs, message", [
    ({"latency": -1}, r"^latency must be >= 0, got -1$"),
    ({"cancel_latency": math.nan}, r"^cancel_latency must be finite, got nan"),
    ({"queue_position": -0.5}, r"^queue_position must be >= 0, got -0.5$"),
    ({"balance": math.inf}, r"^balance must be finite, got inf$"),
])
def test_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        mmsim.backtest(taq(ROWS), signals(1), Script(), contract=NOFEE, **kwargs)


def test_non_numeric_parameters_name_themselves():
    with pytest.raises(ValueError, match=r"^latency must be a time span such as '1D' or '90min' "
                                         r"\(a bare number is seconds\), got 'fast'"):
        mmsim.backtest(taq(ROWS), signals(1), Script(), contract=NOFEE, latency="fast")
    with pytest.raises(TypeError, match=r"^feed_latency must be a number of seconds, a duration "
                                        r"such as '5ms' or a latency model"):
        mmsim.backtest(taq(ROWS), signals(1), Script(), contract=NOFEE, feed_latency=[1])


def test_start_and_end_cut_aligned_data_as_they_cut_frames():
    data = mmsim.align(taq(ROWS), signals(1, 2, 3))
    strategy = lambda: Script(lambda ctx: ctx.limit(99.0, 1), lambda ctx: ctx.limit(99.0, 1))
    cut = mmsim.backtest(data, None, strategy(), contract=NOFEE, start=at(2))
    framed = mmsim.backtest(taq(ROWS), signals(1, 2, 3), strategy(), contract=NOFEE, start=at(2))
    assert cut.params["signals"] == framed.params["signals"] == 2
    assert cut.params["rows"] == framed.params["rows"] == 1
    pd.testing.assert_frame_equal(cut.orders, framed.orders)
    assert cut.orders.index.tolist() == [at(2), at(3)]


def test_contract_validation():
    with pytest.raises(ValueError, match=r"Contract.tick_size must be between 1e-12 and 1e\+12, got 0.0"):
        mmsim.Contract(True, 0.0, 1.0, 1.0, 0.0, 0.0)


def test_run_error_catches_both_kinds_of_failed_run():
    assert issubclass(mmsim.RunError, RuntimeError)

    def boom(ctx):
        raise ZeroDivisionError("no edge")

    def progress(rows):
        raise OSError("disk full")

    with pytest.raises(mmsim.RunError, match=r"^strategy Script raised at 2019-04-01 "
                                             r"00:00:01\+00:00: ZeroDivisionError: no edge$") as err:
        mmsim.backtest(taq(ROWS), signals(1), Script(boom), contract=NOFEE)
    assert type(err.value) is mmsim.StrategyError
    with pytest.raises(mmsim.RunError, match=r"^the progress callback raised at 2019-04-01 "
                                             r"00:00:01\+00:00: OSError: disk full$") as err:
        mmsim.backtest(taq(ROWS), signals(1), Script(), contract=NOFEE, progress=progress)
    assert type(err.value) is mmsim.ProgressError
    # Both carry what a RunError promises.
    assert err.value.time == at(1) and len(err.value.result.balances) == 1
