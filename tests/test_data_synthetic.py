"""Synthetic BitMEX-like TAQ streams: schema, determinism, microstructure rules and a price
moved by its order flow."""

import numpy as np
import pandas as pd
import pytest

from mmsim.data.schema import TAQ_COLUMNS, validate_taq
from mmsim.data.synthetic import sign_autocorrelation, synthetic_taq


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


# ---- order flow drives the price --------------------------------------------------------
# Defaults of synthetic_taq: persistence p = 0.9, noise eta = 0.2, fade beta = 0.8.

def _book(df):
    """Columns as arrays, the mid, and the queue each row leaves behind its own trade."""
    price, amount, bid, bid_amt, ask, ask_amt = df.to_numpy().T
    left_bid = bid_amt - np.where(amount < 0, -amount, 0.0)
    left_ask = ask_amt - np.where(amount > 0, amount, 0.0)
    return amount, bid, ask, left_bid, left_ask, (bid + ask) / 2


def _moves(mid):
    """Rows (as np.diff indices) where the mid changes, and the signs of those changes."""
    dm = np.diff(mid)
    changed = np.flatnonzero(dm)
    return changed, np.sign(dm[changed])


def test_sign_autocorrelation_formula():
    assert sign_autocorrelation(0.9, 0.2) == pytest.approx(0.8**2 * 0.8)
    assert sign_autocorrelation(0.9, 0.2, lag=3) == pytest.approx(0.64 * 0.8**3)
    assert sign_autocorrelation(0.5, 0.0) == 0.0
    assert sign_autocorrelation(0.0, 0.0) == -1.0  # a regime that always flips alternates


def test_trade_signs_are_persistent_as_the_parameters_say(day):
    signs = np.sign(_trades(day)["amount"].to_numpy())
    n = len(signs)
    assert n > 40000
    # The sampling error of a lag-l autocorrelation of n ~ 47,000 signs is ~0.01: allow 0.03.
    for lag in (1, 2, 5):
        observed = np.corrcoef(signs[lag:], signs[:-lag])[0, 1]
        assert observed == pytest.approx(sign_autocorrelation(0.9, 0.2, lag), abs=0.03)
    # Fair-coin signs (noise = 1) carry no memory.
    coins = np.sign(_trades(synthetic_taq(duration="12h", seed=7, noise=1.0))["amount"].to_numpy())
    assert abs(np.corrcoef(coins[1:], coins[:-1])[0, 1]) < 0.03


def test_the_touch_queue_only_shrinks_until_it_is_gone(day):
    amount, bid, ask, left_bid, left_ask, _ = _book(day)
    quote = np.flatnonzero(amount == 0)[1:]
    still = (bid[quote] == bid[quote - 1]) & (ask[quote] == ask[quote - 1])
    # A quote row that moves nothing shows what the row before left, less cancellations.
    assert (day["bid_amount"].to_numpy()[quote][still] <= left_bid[quote - 1][still]).all()
    assert (day["ask_amount"].to_numpy()[quote][still] <= left_ask[quote - 1][still]).all()
    # A level that moves on a quote row is replaced by a fresh one: the opposite side refills
    # towards it and never moves away (rows right after a sweep show two events at once).
    dbid, dask = np.diff(bid), np.diff(ask)
    single = ~((amount > 0) & (amount >= day["ask_amount"].to_numpy())
               | (amount < 0) & (-amount >= day["bid_amount"].to_numpy()))[:-1]
    assert not ((dbid < 0) & (dask > 0) & single).any()
    # With a one-tick spread after a one-tick fall, sellers take over the vacated bid level.
    one = (dbid == -0.5) & ((ask - bid)[1:] == 0.5) & single
    assert one.sum() > 1000
    np.testing.assert_array_equal(ask[1:][one], bid[:-1][one])


def test_without_cancellations_only_aggressive_volume_moves_the_touch():
    # daily_vol = 0 sets the cancellations to zero; no news either. Every fall of the bid is
    # then caused by sells that left less than the smallest shown queue (1e4) on it, or swept
    # it, on the row just before; every rise of the ask likewise by buys.
    df = synthetic_taq(duration="1D", seed=3, daily_vol=0.0, news_rate=0.0)
    amount, bid, ask, left_bid, left_ask, _ = _book(df)
    fall = np.flatnonzero(np.diff(bid) < 0)
    rise = np.flatnonzero(np.diff(ask) > 0)
    assert len(fall) > 50 and len(rise) > 50
    assert (amount[fall] != 0).all() and (left_bid[fall] < 1e4).all()
    assert (amount[rise] != 0).all() and (left_ask[rise] < 1e4).all()
    quote = np.flatnonzero(amount == 0)[1:]
    still = (bid[quote] == bid[quote - 1]) & (ask[quote] == ask[quote - 1])
    np.testing.assert_array_equal(df["bid_amount"].to_numpy()[quote][still],
                                  left_bid[quote - 1][still])


def test_order_flow_and_price_moves_go_together(day):
    _, _, _, _, _, mid = _book(day)
    minute = pd.Series(mid, day.index).resample("1min").last().ffill()
    ret = np.log(minute).diff()
    imbalance = np.sign(day["amount"]).resample("1min").sum()
    assert ret.corr(imbalance) > 0.4


def test_moves_persist_after_sweeps_and_exhausted_levels(day):
    amount, _, _, _, _, mid = _book(day)
    changed, sign = _moves(mid)

    def next_move(rows):
        # The sweep's own move is mid[r + 1] - mid[r]; the next one starts at diff index r + 1.
        k = np.searchsorted(changed, rows + 1)
        return sign[k[k < len(changed)]]

    sell_sweep = np.flatnonzero((amount < 0) & (-amount >= day["bid_amount"].to_numpy()))
    buy_sweep = np.flatnonzero((amount > 0) & (amount >= day["ask_amount"].to_numpy()))
    after_sell, after_buy = next_move(sell_sweep), next_move(buy_sweep)
    assert len(after_sell) > 30 and len(after_buy) > 30
    # The regime that swept the level usually carries on (p = 0.9 a trade) and keeps
    # hitting the same side harder ((1 + beta) / (1 - beta) = 9 times the cancellations).
    assert np.mean(after_sell < 0) > 0.6 and np.mean(after_buy > 0) > 0.6

    # Every mid move, against the same market without informed flow (no fade, signs with
    # no memory): the continuation rate is well above it.
    flat = synthetic_taq(duration="1D", seed=7, fade=0.0, persistence=0.5)
    _, flat_sign = _moves(_book(flat)[-1])
    informed = np.mean(sign[1:] == sign[:-1])
    uninformed = np.mean(flat_sign[1:] == flat_sign[:-1])
    assert informed > 0.6
    assert informed > uninformed + 0.1


def test_a_fill_at_the_touch_is_adversely_selected(day):
    # A resting bid is filled when its level empties (the bid falls below it). A minute later
    # the mid is well below the price it bought at: half a tick at once (the mid of the new
    # touch), then the drift of the flow that emptied the level. Asks mirror it; averaging
    # both sides cancels the day's trend.
    _, bid, ask, _, _, mid = _book(day)
    t = day.index.asi8
    minute = 60 * 10**9

    def loss(rows, fill_price, sign):
        later = np.searchsorted(t, t[rows] + minute)
        ok = later < len(t)
        return np.mean(sign * (mid[later[ok]] - fill_price[ok])) / 0.5  # ticks

    fall = np.flatnonzero(np.diff(bid) < 0) + 1
    rise = np.flatnonzero(np.diff(ask) > 0) + 1
    bought = loss(fall, bid[fall - 1], 1.0)
    sold = loss(rise, ask[rise - 1], -1.0)
    assert (bought + sold) / 2 < -1.5  # measured about -2.2 ticks


def test_daily_vol_sets_the_volatility_through_the_flow():
    vols = []
    for target in (0.015, 0.03):
        df = synthetic_taq(duration="2D", seed=2, daily_vol=target)
        mid = ((df["bid_price"] + df["ask_price"]) / 2).resample("1min").last().ffill()
        vols.append(np.log(mid).diff().std() * np.sqrt(1440))
    assert vols[0] == pytest.approx(0.015, rel=0.25)
    assert vols[1] == pytest.approx(0.03, rel=0.25)


@pytest.mark.parametrize("kwargs, message", [
    ({"persistence": 1.0}, "persistence must be in"),
    ({"noise": 1.5}, "noise must be in"),
    ({"fade": -0.1}, "fade must be in"),
    ({"news_size": 0.5}, "news_size must be at least one tick"),
    ({"news_rate": -1.0}, "news_rate must be >= 0"),
    ({"depth_range": (1e4, 1.5e4)}, "depth_range must satisfy"),
])
def test_flow_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_taq(100, **kwargs)


@pytest.mark.parametrize("kwargs, message", [
    ({"n_rows": 100, "trade_share": 1.0}, r"^trade_share must be in \[0, 1\), got 1.0$"),
    ({"n_rows": 100, "trade_share": -0.1}, r"^trade_share must be in \[0, 1\), got -0.1$"),
    ({"n_rows": 100, "price": 0.0}, r"^price must be positive, got 0.0$"),
    ({"n_rows": 100, "tick_size": -0.5}, r"^tick_size must be positive, got -0.5$"),
    ({"n_rows": 100, "rate": 0}, r"^rate must be positive, got 0$"),
    ({"n_rows": 100, "size_median": float("nan")}, r"^size_median must be positive, got nan$"),
    ({"n_rows": 100, "start": None}, r"^start must be a time such as '2019-04-01', got None$"),
    ({"n_rows": -1}, r"^n_rows must be >= 0, got -1$"),
    ({"n_rows": 2.5}, r"^n_rows must be a whole number, got 2.5$"),
    ({"duration": "0s"}, r"^duration must be a positive time span, got '0s'$"),
    ({"duration": "-1h"}, r"^duration must be a positive time span, got '-1h'$"),
])
def test_market_parameters_are_checked(kwargs, message):
    with pytest.raises(ValueError, match=message):
        synthetic_taq(**kwargs)


def test_chunked_generation_keeps_the_pinned_output():
    # 700,000 rows span several chunks of quote rows and of rows; the digest is that of the
    # output before the depletion and the frame were built by chunks.
    import hashlib

    df = synthetic_taq(700_000, seed=3)
    digest = hashlib.sha256(df.index.asi8.tobytes() + df.to_numpy().tobytes()).hexdigest()
    assert digest == "ee1b8c7ed1f1c5907da8c48fe61d1f4504ac1842cad8da01309e7efffe497914"
