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
    with pytest.warns(mmsim.DataWarning, match="^1 signal row"):  # 2.5 s
        data = mmsim.align(taq(ROWS), signals(0.5, 1, 2.5, 4), start=at(1), end=at(3))
    assert data.time.tolist() == [ns(1), ns(2)]
    # Signals in [start, end) and not after the last kept row (2 s): 1 s only.
    assert data.signal_time.tolist() == [ns(1)]


def test_signals_before_the_data_are_kept_and_after_it_dropped():
    with pytest.warns(mmsim.DataWarning) as caught:
        data = mmsim.align(taq(ROWS[1:]), signals(0.5, 2, 4, 9))
    assert [str(w.message)[:30] for w in caught] == ["1 signal row(s) after the last",
                                                     "1 signal row(s) before the fir"]
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


def _messages(caught):
    return [str(w.message) for w in caught if issubclass(w.category, mmsim.DataWarning)]


def _naive(name):
    return (f"{name} has a time index without a timezone; its times are taken as UTC (set the "
            f"zone with {name}.index = {name}.index.tz_localize(...) to say otherwise)")


def test_a_naive_index_is_taken_as_utc_with_one_warning_per_frame():
    frame, calls = taq(ROWS), signals(1, 2)
    with pytest.warns(mmsim.DataWarning) as caught:
        naive = mmsim.align(frame.tz_localize(None), calls.tz_localize(None))
    assert _messages(caught) == [_naive("taq"), _naive("signals")]
    aware = mmsim.align(frame, calls)
    assert naive.time.tolist() == aware.time.tolist()
    assert naive.signal_time.tolist() == aware.signal_time.tolist() == [ns(1), ns(2)]


def test_a_naive_stream_warns_once_not_once_per_chunk():
    frame = taq(ROWS).tz_localize(None)
    chunks = [frame.iloc[:2], frame.iloc[2:4], frame.iloc[4:]]
    with pytest.warns(mmsim.DataWarning) as caught:
        result = mmsim.backtest(chunks, signals(1, 3), Script(), contract=NOFEE)
    assert _messages(caught) == [_naive("taq")]
    assert result.params["signals"] == 2


def test_signals_dropped_after_the_last_row_and_blind_before_the_first_quote_are_counted():
    nan = float("nan")
    # A trade at 0 s before any quote; the first quote comes at 2 s, the last row at 4 s.
    rows = [(0, 100.0, 1.0, nan, nan, nan, nan)] + ROWS[2:]
    with pytest.warns(mmsim.DataWarning) as caught:
        data = mmsim.align(taq(rows), signals(0, 1, 1.5, 2, 4, 5, 6))
    assert _messages(caught) == [
        "2 signal row(s) after the last taq row (2019-04-01 00:00:04+00:00) dropped: there is "
        "no market data left to act on",
        "3 signal row(s) before the first quote (2019-04-01 00:00:02+00:00) see NaN bid and "
        "ask prices",
    ]
    assert data.signal_time.tolist() == [ns(s) for s in (0, 1, 1.5, 2, 4)]


def test_the_counts_are_of_the_span_only():
    # [1 s, 3 s): rows 1 and 2; of the signals 0.5 (before start) and 3.5 (at or after end)
    # are outside the span, 2.5 is inside it but after its last row.
    with pytest.warns(mmsim.DataWarning) as caught:
        mmsim.align(taq(ROWS), signals(0.5, 1, 2.5, 3.5), start=at(1), end=at(3))
    assert _messages(caught) == [
        "1 signal row(s) after the last taq row (2019-04-01 00:00:02+00:00) dropped: there is "
        "no market data left to act on"]


def test_data_that_fits_gives_no_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mmsim.align(taq(ROWS), signals(0, 2, 4))


def test_cut_takes_the_span_of_a_frame_also_with_a_naive_index():
    from mmsim.data.align import cut

    frame = taq(ROWS)
    assert cut(frame) is frame
    for data in (frame, frame.tz_localize(None)):
        part = cut(data, "2019-04-01 00:00:01", at(3))
        assert part.index.tolist() == data.index[1:3].tolist()
    assert len(cut(frame, at(9))) == 0
    with pytest.raises(mmsim.SchemaError, match=r"^end \(2019-04-01 00:00:01\) must be after "
                                                r"start \(2019-04-01 00:00:01\)$"):
        cut(frame, "2019-04-01 00:00:01", "2019-04-01 00:00:01")


@pytest.mark.parametrize("first", [4095, 4096, 12_288, None])
def test_the_first_quote_is_found_past_the_first_blocks(first):
    # 20,000 rows one ms apart, prints only until row ``first`` (None: never a quote); one
    # signal a second. The signals at or before the first quote's time are blind.
    nan = float("nan")
    n = 20_000
    quoted = np.arange(n) >= (n if first is None else first)
    frame = pd.DataFrame({
        "price": np.where(quoted, nan, 100.0), "amount": np.where(quoted, 0.0, 1.0),
        "bid_price": np.where(quoted, 100.0, nan), "bid_amount": np.where(quoted, 1.0, nan),
        "ask_price": np.where(quoted, 100.5, nan), "ask_amount": np.where(quoted, 1.0, nan),
    }, index=pd.DatetimeIndex([at(k / 1000) for k in range(n)], name="time"))
    with pytest.warns(mmsim.DataWarning) as caught:
        mmsim.align(frame, signals(0, 4, 4.095, 4.0965, 12.287, 12.288, 19.999))
    if first is None:
        expected = "7 signal row(s) before the first quote see NaN bid and ask prices"
    else:
        blind = {4095: 2, 4096: 3, 12_288: 5}[first]
        expected = (f"{blind} signal row(s) before the first quote ({at(first / 1000)}) see NaN "
                    f"bid and ask prices")
    assert _messages(caught) == [expected]


# -- what align checked is not checked again ------------------------------------------------

def test_align_marks_the_arrays_it_checked_and_the_mark_follows_them_only():
    from mmsim.data.align import Aligned, cut, is_checked

    data = mmsim.align(taq(ROWS), signals(1, 2), contract=NOFEE)
    assert is_checked(data) and data.checked.tick_size == NOFEE.tick_size
    assert mmsim.align(taq(ROWS), signals(1, 2)).checked.tick_size == 0.0
    part = cut(data, at(1), at(3))
    assert is_checked(part) and part.checked.tick_size == NOFEE.tick_size
    # Arrays swapped in are not what was checked, whatever they hold.
    for name in ("time", "bid_price", "signals", "signal_time"):
        assert not is_checked(data._replace(**{name: getattr(data, name).copy()}))
    by_hand = Aligned(*data[:10])
    assert by_hand.checked is None and not is_checked(by_hand)
    assert not is_checked(cut(by_hand, at(1), at(3)))
    assert repr(data.checked) == "Checked(...)"


def test_a_checked_aligned_is_replayed_without_checking_its_values_again(monkeypatch):
    # Each check raises here: the run on arrays align checked for this tick size calls none;
    # on another tick size the prices are checked; on arrays swapped in, everything is.
    import mmsim.data.align as align_module
    import mmsim.engine as engine_module

    def refused(*args, **kwargs):
        raise AssertionError("checked again")

    data = mmsim.align(taq(ROWS), signals(1, 2), contract=NOFEE)
    monkeypatch.setattr(engine_module, "check_prices", refused)
    monkeypatch.setattr(align_module, "_sorted", refused)
    assert len(mmsim.backtest(data, None, Script(), contract=NOFEE).balances) == 2
    other = mmsim.Contract(inverse=True, tick_size=0.25, lot_size=1.0, contract_size=1.0,
                           maker_fee=0.0, taker_fee=0.0)
    with pytest.raises(AssertionError, match="checked again"):
        mmsim.backtest(data, None, Script(), contract=other)
    with pytest.raises(AssertionError, match="checked again"):
        mmsim.backtest(data._replace(time=data.time.copy()), None, Script(), contract=NOFEE)


def test_the_check_mark_survives_pickling_and_shared_memory():
    import pickle

    from mmsim.data.align import is_checked
    from mmsim.sweep.shared import attach, share

    data = mmsim.align(taq(ROWS), signals(1, 2), contract=NOFEE)
    back = pickle.loads(pickle.dumps(data))
    assert is_checked(back) and back.checked.tick_size == NOFEE.tick_size
    block, layout = share(data)
    try:
        mapped, shared = attach(block.name, layout)
        assert is_checked(shared) and shared.checked.tick_size == NOFEE.tick_size
        assert np.array_equal(shared.bid_price, data.bid_price)
        layout["tick_size"] = None
        assert not is_checked(attach(block.name, layout)[1])
        del shared
        mapped.close()
    finally:
        block.close()
        block.unlink()
