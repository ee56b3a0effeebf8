"""A streamed replay equals the in-memory one bit for bit (DESIGN "Streaming and sweeps").

The engine pulls TAQ chunks as it needs them and keeps, of the rows it has replayed, only
those it may still read; nothing it records may depend on where the chunks split: not orders
in flight across a boundary, not a boundary inside a group of rows sharing one timestamp."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import BINANCE_DIR
from mmsim.data.synthetic import synthetic_funding, synthetic_taq
from mmsim.latency import Lognormal

TABLES = ("orders", "fills", "balances", "positions", "funding")


class Requote(mmsim.Strategy):
    """Cancel everything and quote a bid and an ask at the touch; on a fill, lean with a
    market order, so that market orders, cancels in flight and liquidation checks all occur."""

    def on_signal(self, ctx):
        for order in ctx.orders:
            ctx.cancel(int(order["order_id"]))
        if np.isfinite(ctx.bid_price) and np.isfinite(ctx.ask_price):
            # Sizes read the last trade and the displayed sizes the strategy sees, so that
            # the recorded orders show which rows it saw.
            last = 0 if np.isnan(ctx.price) else int(ctx.price * 2) % 7
            size = 100 + last + int(ctx.bid_amount) % 5
            ctx.limit(ctx.bid_price, size)
            ctx.limit(ctx.ask_price, -size)

    def on_fill(self, ctx, fill):
        if abs(ctx.position) > 300:
            ctx.market(-np.sign(ctx.position) * 100)


def chunks(frame, size):
    """``frame`` in consecutive slices of ``size`` rows."""
    for k in range(0, len(frame), size):
        yield frame.iloc[k:k + size]


def signals_every(taq, freq):
    index = pd.date_range(taq.index[0].ceil(freq), taq.index[-1], freq=freq, name="time")
    return pd.DataFrame({"x": np.arange(len(index), dtype=float)}, index=index)


def assert_same(a, b):
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True,
                                      obj=name)
    assert a.params == b.params


def run(taq, signals, **kwargs):
    kwargs = {"latency": 0.3, "feed_latency": Lognormal(0.05, 1.0, seed=1), **kwargs}
    return mmsim.backtest(taq, signals, Requote(), **kwargs)


@pytest.fixture(scope="module")
def synthetic():
    taq = synthetic_taq(n_rows=30_000, seed=3)
    funding = synthetic_funding(taq, seed=1, interval="20min", mean=0.001)
    return taq, signals_every(taq, "10s"), funding


@pytest.mark.parametrize("size", [7, 1000, 1_000_000])
def test_streamed_equals_in_memory(synthetic, size):
    taq, signals, funding = synthetic
    whole = run(taq, signals, funding=funding)
    assert len(whole.fills) > 500 and len(whole.funding) >= 5
    assert (whole.orders["type"] == "market").sum() > 10
    assert_same(whole, run(chunks(taq, size), signals, funding=funding))


def test_one_row_chunks_equal_in_memory(synthetic):
    taq, signals, funding = synthetic
    taq = taq.iloc[:3000]
    signals = signals[signals.index <= taq.index[-1]]
    whole = run(taq, signals, funding=funding)
    assert len(whole.fills) > 50
    assert_same(whole, run(chunks(taq, 1), signals, funding=funding))


def test_boundaries_inside_same_timestamp_groups_and_under_orders_in_flight(synthetic):
    taq, signals, _ = synthetic
    # Times on a 100 ms grid: many rows share one.
    taq = taq.set_axis(taq.index.floor("100ms"))
    times = taq.index.asi8
    inside = np.flatnonzero(times[1:-1] == times[:-2]) + 1    # row k shares row k-1's time
    # Split at every fourth such row: each boundary falls inside a group of one timestamp.
    cuts = inside[::4]
    assert len(cuts) > 200
    pieces = np.split(np.arange(len(taq)), cuts)
    whole = run(taq, signals)
    # Orders in flight at a boundary: sent before it, live (or rejected) after it.
    sent = whole.orders["live"].notna()
    created = whole.orders.index.as_unit("ns").asi8[sent]
    live = pd.DatetimeIndex(whole.orders["live"][sent]).as_unit("ns").asi8
    bounds = times[cuts]
    assert ((created[:, None] < bounds) & (bounds <= live[:, None])).any()
    assert_same(whole, run((taq.iloc[p] for p in pieces), signals))


def test_start_end_and_margin_stream_as_in_memory(synthetic):
    taq, signals, _ = synthetic
    start, end = taq.index[5000], taq.index[20000]
    kwargs = dict(start=start, end=end, balance=0.002)     # small: margin refuses orders
    whole = run(taq, signals, **kwargs)
    assert (whole.orders["reason"] == "margin").sum() > 10
    assert_same(whole, run(chunks(taq, 999), signals, **kwargs))


def test_the_real_btcusd_perp_capture_streams_as_in_memory(shared):
    folder = shared(*BINANCE_DIR)
    from mmsim.data import binance

    taq = binance.to_taq(folder / "btcusd_perp_trades.csv.gz",
                         folder / "btcusd_perp_quotes.csv.gz", local_time=True)
    signals = signals_every(taq, "5s")
    kwargs = dict(contract=mmsim.BINANCE_BTCUSD_PERP, latency=0.02,
                  feed_latency=Lognormal(0.002, 1.0, seed=2))

    class Small(Requote):
        def on_signal(self, ctx):
            for order in ctx.orders:
                ctx.cancel(int(order["order_id"]))
            if np.isfinite(ctx.bid_price) and np.isfinite(ctx.ask_price):
                ctx.limit(ctx.bid_price, 1)
                ctx.limit(ctx.ask_price, -1)

        def on_fill(self, ctx, fill):
            pass

    whole = mmsim.backtest(taq, signals, Small(), **kwargs)
    assert len(whole.fills) > 20
    for size in (7, 1000):
        assert_same(whole, mmsim.backtest(chunks(taq, size), signals, Small(), **kwargs))


def test_a_chunk_out_of_time_order_stops_the_run_and_keeps_the_result(synthetic):
    taq, signals, _ = synthetic
    bad = [taq.iloc[:10_000], taq.iloc[20_000:25_000], taq.iloc[10_000:20_000]]
    with pytest.raises(mmsim.StreamError, match=(
            r"^the streamed taq failed at .*: SchemaError: taq chunk 2 \(from row 15000\) "
            r"starts at .*, before the last row of the chunk before it .*; chunks must come "
            r"in time order$")) as err:
        run(iter(bad), signals)
    partial = err.value.result
    assert len(partial.balances) and partial.params["rows"] == 15_000
    whole = run(pd.concat(bad[:2]), signals)
    # What was recorded before the failure is the in-memory run's of the rows it read.
    cut = partial.balances.index[-1]
    pd.testing.assert_frame_equal(partial.balances, whole.balances[whole.balances.index <= cut])


def test_stream_input_errors_are_named(synthetic):
    taq, signals, _ = synthetic
    with pytest.raises(mmsim.StreamError, match=r"TypeError: taq chunk 1 \(from row 100\) is a "
                                                r"list; a streamed taq yields TAQ DataFrames$"):
        run(iter([taq.iloc[:100], [1, 2]]), signals)
    with_mark = taq.assign(mark_price=taq["bid_price"])
    with pytest.raises(mmsim.StreamError, match=r"taq chunk 1 \(from row 100\) has the column "
                                                r"'mark_price' the first chunk lacked"):
        run(iter([taq.iloc[:100], with_mark.iloc[100:200]]), signals)

    def failing():
        yield taq.iloc[:100]
        raise OSError("disk gone")
    with pytest.raises(mmsim.StreamError, match=r"OSError: disk gone$") as err:
        run(failing(), signals)
    assert isinstance(err.value.__cause__, OSError)
    # The first chunk is checked before the run: a plain schema error.
    broken = taq.iloc[:100].copy()
    broken.iloc[3, broken.columns.get_loc("bid_amount")] = -1.0
    with pytest.raises(mmsim.SchemaError, match=r"^taq chunk 0 \(from row 0\): "):
        run(iter([broken]), signals)
    with pytest.raises(TypeError, match="a streamed taq needs a signals DataFrame"):
        run(iter([taq]), None)
    with pytest.raises(TypeError, match=r"taq must be a TAQ DataFrame, an Aligned or an "
                                        r"iterable of TAQ DataFrames"):
        run(42, signals)


def test_an_empty_stream_is_an_empty_run(synthetic):
    _, signals, _ = synthetic
    with pytest.warns(mmsim.EmptyResultWarning):
        result = run(iter([]), signals)
    assert len(result.balances) == 0 and result.params["rows"] == 0


def test_a_read_taq_stream_of_daily_files_replays_as_in_memory(tmp_path):
    # Three days in daily Parquet files, read back in chunks of 5,000 rows with a time range.
    taq = synthetic_taq(duration="3D", seed=4).iloc[::20]
    signals = signals_every(taq, "5min")
    mmsim.write_taq(taq, tmp_path / "days", by_day=True)
    start, end = "2019-04-01 12:00", "2019-04-03 06:00"
    stream = mmsim.read_taq(tmp_path / "days", start, end, stream=True, batch_rows=5_000)
    whole = run(mmsim.read_taq(tmp_path / "days", start, end), signals)
    assert len(whole.fills) > 100
    assert_same(whole, run(stream, signals))
