"""``mmsim.align``: the cut to [start, end) and the arrays handed to the engine."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import NOFEE, Script, at, quote, signals, taq

ROWS = [quote(s, 100.0, 1, 100.5, 1) for s in (0, 1, 2, 3, 4)]


def ns(seconds):
    return at(seconds).value


def test_start_is_inclusive_and_end_exclusive():
    data = mmsim.align(taq(ROWS), signals(0.5, 1, 2.5, 4), start=at(1), end=at(3))
    assert data.time.tolist() == [ns(1), ns(2)]
    # Signals in [start, end) and not after the last kept row (2 s): 1 s only.
    assert data.signal_time.tolist() == [ns(1)]


def test_signals_before_the_data_are_kept_and_after_it_dropped():
    data = mmsim.align(taq(ROWS[1:]), signals(0.5, 2, 4, 9))
    assert data.signal_time.tolist() == [ns(0.5), ns(2), ns(4)]


def test_arrays_are_contiguous_views_of_float64_columns():
    frame = taq(ROWS)
    frame.index = frame.index.as_unit("ns")     # the schema's unit: nothing to convert
    data = mmsim.align(frame, signals(1, sigma=[0.3]))
    assert data.columns == ("sigma",)
    assert data.signals.tolist() == [[0.3]]
    assert data.bid_price.flags.c_contiguous and data.bid_price.dtype == np.float64
    assert np.shares_memory(data.bid_price, frame["bid_price"].to_numpy())
    assert data.nbytes == 5 * 8 * 7


def test_naive_bounds_are_utc_and_must_be_ordered():
    data = mmsim.align(taq(ROWS), signals(1), start="2019-04-01 00:00:02")
    assert data.time.tolist() == [ns(2), ns(3), ns(4)]
    with pytest.raises(mmsim.SchemaError, match=r"end \(2019-04-01\) must be after start"):
        mmsim.align(taq(ROWS), signals(1), start="2019-04-01 00:00:02", end="2019-04-01")
    with pytest.raises(mmsim.SchemaError, match="start must be a time"):
        mmsim.align(taq(ROWS), signals(1), start="yesterday-ish")


def test_timezone_aware_bounds_are_converted():
    start = pd.Timestamp("2019-04-01 03:00:03", tz="Etc/GMT-3")   # UTC+3: 00:00:03 UTC
    data = mmsim.align(taq(ROWS), signals(3), start=start)
    assert data.time.tolist() == [ns(3), ns(4)]


@pytest.mark.parametrize("bound", ["start", "end"])
def test_a_nat_bound_is_named(bound):
    with pytest.raises(mmsim.SchemaError, match=rf"^{bound} must be a time, got NaT$"):
        mmsim.align(taq(ROWS), signals(1), **{bound: pd.NaT})


def test_an_aligned_field_that_is_not_an_array_is_named():
    data = mmsim.align(taq(ROWS), signals(1))
    with pytest.raises(mmsim.SchemaError, match=r"^Aligned.bid_price must be a NumPy array, "
                                                r"got list$"):
        mmsim.backtest(data._replace(bid_price=data.bid_price.tolist()), None, Script(),
                       contract=NOFEE)


def test_aligned_signal_columns_must_be_distinct():
    data = mmsim.align(taq(ROWS), signals(1, a=[1.0], b=[2.0]))
    assert data.columns == ("a", "b")
    with pytest.raises(mmsim.SchemaError, match=r"^Aligned.columns has duplicate names "
                                                r"\['a', 'a'\]$"):
        mmsim.backtest(data._replace(columns=("a", "a")), None, Script(), contract=NOFEE)
