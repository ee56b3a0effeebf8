"""Synthetic BitMEX-like TAQ streams: schema, determinism and market microstructure rules."""

import numpy as np
import pandas as pd
import pytest

from mmsim.data.schema import TAQ_COLUMNS, validate_taq
from mmsim.data.synthetic import synthetic_taq


@pytest.fixture(scope="module")
def day():
    return synthetic_taq(duration="1D", seed=7)


def _trades(df):
    return df[df["amount"] != 0]


def test_needs_exactly_one_of_n_rows_and_duration():
    with pytest.raises(ValueError, match="exactly one of n_rows and duration"):
        synthetic_taq()
    with pytest.raises(ValueError, match="exactly one of n_rows and duration"):
        synthetic_taq(10, duration="1D")


@pytest.mark.parametrize("n", [0, 1, 2, 7, 1000, 12345])
def test_n_rows_gives_exactly_that_many_rows(n):
    df = synthetic_taq(n, seed=3)
    assert len(df) == n
    assert list(df.columns) == list(TAQ_COLUMNS)


def test_duration_covers_the_span_at_the_default_rate(day):
    start = pd.Timestamp("2019-04-01", tz="UTC")
    assert day.index[0] >= start
    assert day.index[-1] < start + pd.Timedelta("1D")
    # ~3.5 million rows per 30 days: Poisson count, mean 116,667 a day.
    assert abs(len(day) - 3.5e6 / 30) < 5 * np.sqrt(3.5e6 / 30)


def test_same_seed_same_frame_other_seed_other_frame():
    a = synthetic_taq(20000, seed=11)
    b = synthetic_taq(20000, seed=11)
    c = synthetic_taq(20000, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert a.index.equals(b.index)
    assert not a["bid_price"].equals(c["bid_price"])


def test_schema(day):
    assert day.index.name == "time"
    assert isinstance(day.index, pd.DatetimeIndex)
    assert str(day.index.dtype) == "datetime64[ns, UTC]"
    assert day.index.is_monotonic_increasing
    assert list(day.columns) == list(TAQ_COLUMNS)
    assert (day.dtypes == np.float64).all()
    validated = validate_taq(day)
    assert list(validated.columns) == list(TAQ_COLUMNS)
    # BitMEX publishes milliseconds; the default resolution floors to them.
    assert (day.index.asi8 % 1_000_000 == 0).all()


def test_every_row_has_a_quote_and_quote_rows_have_no_trade(day):
    assert day[["bid_price", "bid_amount", "ask_price", "ask_amount"]].notna().all().all()
    quotes = day[day["amount"] == 0]
    assert quotes["price"].isna().all()
    assert np.isfinite(_trades(day)["price"]).all()
    assert day["amount"].iloc[0] == 0  # the stream opens with a quote
    share = len(_trades(day)) / len(day)
    assert 0.35 < share < 0.45


def test_quotes_on_the_tick_grid_and_never_crossed(day):
    for col in ("bid_price", "ask_price"):
        ticks = day[col].to_numpy() / 0.5
        np.testing.assert_array_equal(ticks, np.round(ticks))
    spread = (day["ask_price"] - day["bid_price"]).to_numpy()
    assert (spread > 0).all()
    assert (spread >= 0.5).all()
    assert np.mean(spread == 0.5) > 0.85  # one tick most of the time
    assert (spread > 0.5).any()  # but not always


def test_other_tick_size_and_price():
    df = synthetic_taq(5000, seed=1, price=60000.0, tick_size=0.1)
    ticks = df["bid_price"].to_numpy() / 0.1
    np.testing.assert_allclose(ticks, np.round(ticks), atol=1e-6)
    assert 55000 < df["bid_price"].median() < 65000


def test_top_of_book_sizes_are_bitmex_like(day):
    quotes = day[day["amount"] == 0]
    for col in ("bid_amount", "ask_amount"):
        assert quotes[col].min() >= 1e4
        assert quotes[col].max() <= 1e6
        np.testing.assert_array_equal(quotes[col], np.round(quotes[col]))
    assert (day[["bid_amount", "ask_amount"]] > 0).all().all()


def test_trade_sizes_are_whole_and_heavy_tailed(day):
    size = _trades(day)["amount"].abs()
    np.testing.assert_array_equal(size, np.round(size))
    assert size.min() >= 1
    assert size.max() / size.median() > 1000
    assert 0 < np.mean(size > 1e5) < 0.01


def test_sign_conventions(day):
    trades = _trades(day)
    buy = trades[trades["amount"] > 0]
    sell = trades[trades["amount"] < 0]
    assert 0.4 < len(buy) / len(trades) < 0.6
    # Buyer-initiated trades lift the ask, seller-initiated ones hit the bid...
    assert (buy["price"] >= buy["ask_price"]).all()
    assert (sell["price"] <= sell["bid_price"]).all()
    # ...exactly at it unless the size is at least the displayed amount (a sweep).
    buy_sweep = buy["amount"] >= buy["ask_amount"]
    sell_sweep = -sell["amount"] >= sell["bid_amount"]
    assert (buy.loc[~buy_sweep, "price"] == buy.loc[~buy_sweep, "ask_price"]).all()
    assert (sell.loc[~sell_sweep, "price"] == sell.loc[~sell_sweep, "bid_price"]).all()
    # Sweeps are occasional and print a VWAP through the touch (off the grid in general).
    assert 0 < buy_sweep.mean() < 0.02 and 0 < sell_sweep.mean() < 0.02
    through = buy.loc[buy_sweep]
    assert ((through["price"] > through["ask_price"]) | (through["amount"] == through["ask_amount"])).all()
    off_grid = (trades["price"] / 0.5) % 1 != 0
    assert off_grid.any()
    assert (off_grid <= ((trades["amount"] >= trades["ask_amount"]) |
                         (-trades["amount"] >= trades["bid_amount"]))).all()


def test_quote_on_a_row_is_the_one_before_its_trade(day):
    prev, cur = day.iloc[:-1], day.iloc[1:]
    is_trade = cur["amount"].to_numpy() != 0
    prev_trade = prev["amount"].to_numpy()
    quote_cols = ["bid_price", "bid_amount", "ask_price", "ask_amount"]
    p, c = prev[quote_cols].to_numpy(), cur[quote_cols].to_numpy()

    # A trade right after a quote row shows that quote unchanged.
    after_quote = is_trade & (prev_trade == 0)
    assert after_quote.sum() > 1000
    np.testing.assert_array_equal(c[after_quote], p[after_quote])

    # A trade right after a trade that did not sweep: the previous trade ate its side.
    prev_buy_plain = (prev_trade > 0) & (prev_trade < p[:, 3])
    prev_sell_plain = (prev_trade < 0) & (-prev_trade < p[:, 1])
    m = is_trade & prev_buy_plain
    np.testing.assert_array_equal(c[m, 3], p[m, 3] - prev_trade[m])
    np.testing.assert_array_equal(c[m][:, :3], p[m][:, :3])
    m = is_trade & prev_sell_plain
    np.testing.assert_array_equal(c[m, 1], p[m, 1] + prev_trade[m])
    np.testing.assert_array_equal(c[m][:, [0, 2, 3]], p[m][:, [0, 2, 3]])

    # After a sweep the next row's quote has moved past the swept level.
    buy_sweep = (prev_trade > 0) & (prev_trade >= p[:, 3])
    sell_sweep = (prev_trade < 0) & (-prev_trade >= p[:, 1])
    assert buy_sweep.sum() > 10 and sell_sweep.sum() > 10
    assert (c[buy_sweep, 2] > p[buy_sweep, 2]).all()
    assert (c[sell_sweep, 0] < p[sell_sweep, 0]).all()


def test_quote_before_trade_on_a_few_rows_by_hand():
    df = synthetic_taq(400, seed=5)
    rows = df.reset_index()
    checked = 0
    for i in range(1, len(rows)):
        row, prev = rows.iloc[i], rows.iloc[i - 1]
        if row["amount"] == 0 or prev["amount"] != 0:
            continue
        # The quote row before a trade is the quote the trade saw, and the trade is at it.
        assert (row["bid_price"], row["ask_price"]) == (prev["bid_price"], prev["ask_price"])
        assert (row["bid_amount"], row["ask_amount"]) == (prev["bid_amount"], prev["ask_amount"])
        if abs(row["amount"]) < (row["ask_amount"] if row["amount"] > 0 else row["bid_amount"]):
            touch = row["ask_price"] if row["amount"] > 0 else row["bid_price"]
            assert row["price"] == touch
        checked += 1
        if checked == 5:
            break
    assert checked == 5


def test_volatility_clusters_and_matches_daily_vol():
    df = synthetic_taq(duration="5D", seed=2)
    mid = ((df["bid_price"] + df["ask_price"]) / 2).resample("1min").last().ffill()
    r = np.log(mid).diff().dropna()
    daily = r.std() * np.sqrt(1440)
    assert 0.015 < daily < 0.06  # default daily_vol=0.03, plus bid-ask bounce
    assert r.abs().autocorr(1) > 0.1
    # Busy minutes are volatile minutes (the intensity follows the volatility factor).
    counts = df["amount"].resample("1min").size()
    assert np.corrcoef(counts.iloc[1:].to_numpy(), r.abs().to_numpy()[: len(counts) - 1])[0, 1] > 0


def test_no_volatility_clustering_when_vol_of_vol_is_zero():
    df = synthetic_taq(duration="2D", seed=2, vol_of_vol=0.0)
    counts = df["amount"].resample("10min").size()
    # Plain Poisson arrivals: count dispersion close to 1.
    assert counts.var() / counts.mean() < 1.5


def test_a_month_is_about_three_and_a_half_million_rows():
    # BitMEX XBTUSD in 2019: about 5.7 million TAQ rows over 48 days, ~3.5 million a month.
    df = synthetic_taq(duration="30D", seed=0)
    assert 3.4e6 < len(df) < 3.6e6
    assert df.index[-1] - df.index[0] <= pd.Timedelta("30D")
