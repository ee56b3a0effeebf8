"""OHLCV bars, fix_features and volatility: values computed by hand on a few rows."""
import numpy as np
import pandas as pd
import pytest

from mmsim.data.bars import OHLCV_COLUMNS, fix_features, ohlcv, volatility, volatility_signals
from mmsim.data.schema import SchemaError

NAN = np.nan


def at(hms):
    return pd.Timestamp(f"2019-02-12 17:{hms}", tz="UTC")


@pytest.fixture
def taq():
    """Trades in three one-minute bars with an empty one between, and quote-only rows."""
    rows = [
        ("30:05", NAN, 0.0),        # quote-only row: ignored
        ("30:10", 3580.0, 100.0),
        ("30:20", 3579.5, -50.0),
        ("30:40", 3580.5, 250.0),
        ("30:59.999", 3580.0, -100.0),
        ("31:00", 3581.0, 10.0),    # exactly on the edge: the next bar
        ("33:30", 3578.0, -40.0),
        ("33:31", NAN, 0.0),
    ]
    index = pd.DatetimeIndex([at(t) for t in (r[0] for r in rows)], name="time")
    return pd.DataFrame({"price": [r[1] for r in rows], "amount": [r[2] for r in rows],
                         "bid_price": 3579.5, "bid_amount": 1e5, "ask_price": 3580.0,
                         "ask_amount": 1e5}, index=index)


def test_ohlcv_by_hand(taq):
    bars = ohlcv(taq, "1min")
    assert list(bars.columns) == list(OHLCV_COLUMNS)
    assert list(bars.index) == [at("31:00"), at("32:00"), at("33:00"), at("34:00")]
    assert bars.index.name == "time"
    first = bars.loc[at("31:00")]
    # [17:30, 17:31): 100 @ 3580 buy, 50 @ 3579.5 sell, 250 @ 3580.5 buy, 100 @ 3580 sell
    assert (first["open"], first["high"], first["low"], first["close"]) == (3580.0, 3580.5, 3579.5, 3580.0)
    assert first["volume"] == 500.0
    assert first["volume_buy"] == 350.0
    assert first["volume_sell"] == -150.0
    assert (first["count"], first["count_buy"], first["count_sell"]) == (4.0, 2.0, -2.0)
    assert first["vwap"] == pytest.approx((100 * 3580 + 50 * 3579.5 + 250 * 3580.5 + 100 * 3580) / 500)
    assert first["twap"] == pytest.approx((3580 + 3579.5 + 3580.5 + 3580) / 4)
    second = bars.loc[at("32:00")]
    assert (second["open"], second["close"], second["volume"], second["count_sell"]) == \
        (3581.0, 3581.0, 10.0, 0.0)
    assert bars.loc[at("33:00")].isna().all()  # no trade: every column NaN
    last = bars.loc[at("34:00")]
    assert (last["close"], last["volume_sell"], last["count_sell"], last["vwap"]) == \
        (3578.0, -40.0, -1.0, 3578.0)


def test_ohlcv_from_trades_with_size_and_side(taq):
    only = taq[taq["amount"] != 0]
    trades = only[["price"]].assign(size=only["amount"].abs(),
                                    side=np.where(only["amount"] > 0, "Buy", "Sell"))
    pd.testing.assert_frame_equal(ohlcv(trades, "1min"), ohlcv(taq, "1min"))


def test_ohlcv_longer_bars_and_notebook_spelling(taq):
    bars = ohlcv(taq, "15m")
    assert list(bars.index) == [at("45:00")]
    assert bars["count"].iloc[0] == 6 and bars["volume"].iloc[0] == 550


def test_ohlcv_errors(taq):
    with pytest.raises(TypeError, match="^expected a DataFrame of trades or TAQ, got Series$"):
        ohlcv(taq["price"], "1min")
    with pytest.raises(SchemaError, match="DatetimeIndex"):
        ohlcv(taq.reset_index(), "1min")
    with pytest.raises(SchemaError, match=r"^trades need a 'price' column; got \['amount', "
                                          r"'bid_price', 'bid_amount', 'ask_price', 'ask_amount'\]$"):
        ohlcv(taq.drop(columns=["price"]), "1min")
    with pytest.raises(SchemaError, match="signed 'amount' column"):
        ohlcv(taq.drop(columns=["amount"]), "1min")
    with pytest.raises(ValueError, match=r"^bar must be a positive time span, got '0s'$"):
        ohlcv(taq, "0s")
    trades = taq.loc[taq["amount"] != 0, ["price"]].assign(size=1.0, side="Buy")
    trades.iloc[1, trades.columns.get_loc("side")] = "Short"
    with pytest.raises(SchemaError, match="'side' must be Buy or Sell, got 'Short' at row 1"):
        ohlcv(trades, "1min")


def test_fix_features_by_hand(taq):
    bars = ohlcv(taq, "1min")
    bars.loc[at("34:00"), "vwap"] = np.inf
    bars["extra"] = [1.0, NAN, NAN, 4.0]
    before = bars.copy()
    fixed = fix_features(bars)
    pd.testing.assert_frame_equal(bars, before)  # no in-place surprise
    gap = fixed.loc[at("33:00")]
    # Prices carry the previous bar's values; volumes and counts are 0.
    assert (gap["open"], gap["high"], gap["low"], gap["close"]) == (3581.0, 3581.0, 3581.0, 3581.0)
    assert (gap["vwap"], gap["twap"]) == (3581.0, 3581.0)
    assert (gap[["volume", "volume_buy", "volume_sell", "count", "count_buy", "count_sell"]] == 0).all()
    # inf became NaN first, then was carried forward.
    assert fixed.loc[at("34:00"), "vwap"] == 3581.0
    # A column fix_features was not told about is left alone.
    pd.testing.assert_series_equal(fixed["extra"], bars["extra"])
    everything = fix_features(bars, rest="zero")
    assert list(everything["extra"]) == [1.0, 0.0, 0.0, 4.0]


def test_fix_features_methods(taq):
    signals = pd.DataFrame({"sigma": [NAN, 0.1, NAN, 0.3], "inv": [NAN, 1, NAN, -np.inf],
                            "name": list("abcd")},
                           index=pd.date_range("2019-02-01", periods=4, freq="1min", name="time"))
    fixed = fix_features(signals, {"sigma": "ffill", "inv": "bfill"})
    # the notebook: ffill, and what cannot be filled becomes 0
    assert list(fixed["sigma"]) == [0.0, 0.1, 0.1, 0.3]
    assert list(fixed["inv"]) == [1.0, 1.0, 0.0, 0.0]
    assert list(fixed["name"]) == list("abcd")
    assert list(fix_features(signals, {"sigma": 5})["sigma"]) == [5.0, 0.1, 5.0, 0.3]
    assert list(fix_features(signals, {"sigma": "zero"})["sigma"]) == [0.0, 0.1, 0.0, 0.3]
    with pytest.raises(KeyError, match=r"no column\(s\) \['close'\]"):
        fix_features(signals, {"close": "ffill"})
    with pytest.raises(ValueError, match="unknown method 'pad' for column 'sigma'"):
        fix_features(signals, {"sigma": "pad"})
    with pytest.raises(ValueError, match="column 'name' is not numeric"):
        fix_features(signals, {"name": "ffill"})
    assert list(fix_features(signals, {}, rest="zero")["name"]) == list("abcd")
    with pytest.raises(TypeError, match="^expected a DataFrame, got ndarray$"):
        fix_features(signals[["sigma"]].to_numpy(), {"sigma": "ffill"})


def test_volatility_by_hand():
    close = [100.0, 101.0, 99.0, 99.0, 102.0]
    bars = pd.DataFrame({"close": close},
                        index=pd.date_range("2019-02-01 00:01", periods=5, freq="1min", name="time"))
    out = volatility(bars, [2, 3])
    r = np.log(np.array(close[1:]) / np.array(close[:-1]))
    # window 2 at bar 3: returns r1, r2 -> population std x sqrt(2)
    assert np.isnan(out["volatility_2"].iloc[0])
    assert out["volatility_2"].iloc[1] == 0.0  # one return: std 0
    assert out["volatility_2"].iloc[2] == pytest.approx(np.std(r[0:2]) * np.sqrt(2), rel=1e-12)
    assert out["volatility_2"].iloc[4] == pytest.approx(np.std(r[2:4]) * np.sqrt(2), rel=1e-12)
    assert out["volatility_3"].iloc[4] == pytest.approx(np.std(r[1:4]) * np.sqrt(3), rel=1e-12)
    assert list(out.columns) == ["close", "volatility_2", "volatility_3"]
    assert "volatility_2" not in bars.columns


def test_volatility_matches_the_notebooks_lambda():
    rng = np.random.default_rng(3)
    close = pd.Series(5000 * np.exp(np.cumsum(rng.normal(0, 1e-3, 500))))
    close.iloc[100:130] = close.iloc[99]  # a flat stretch, as after fix_features
    bars = pd.DataFrame({"close": close.to_numpy()},
                        index=pd.date_range("2019-02-01", periods=500, freq="1min", name="time"))
    w = 60
    # The notebook's definition, per-window lambda and all:
    log_change = np.log(bars["close"] / bars["close"].shift(1))
    expected = log_change.rolling(w, min_periods=1).apply(lambda d: np.nanstd(d) * np.sqrt(w), raw=True)
    got = volatility(bars, [w])[f"volatility_{w}"]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)
    with pytest.raises(ValueError, match="windows must be >= 1"):
        volatility(bars, [0])
    with pytest.raises(KeyError, match="no column 'close'"):
        volatility(bars.rename(columns={"close": "c"}), [3])


def test_the_notebooks_data_steps(taq):
    """OHLCV from trades, fix_features, sigma with window 60, the signals frame, align."""
    bars = fix_features(ohlcv(taq, "1min"))
    bars = volatility(bars, [60])
    bars["sigma"] = bars["volatility_60"]
    signals = fix_features(bars[["sigma"]], {"sigma": "ffill"})
    # bars 17:31 3580, 17:32 3581, 17:33 3581 (carried), 17:34 3578
    r = np.log([3581 / 3580, 1.0, 3578 / 3581])
    expected = [0.0, 0.0, np.std(r[:2]) * np.sqrt(60), np.std(r) * np.sqrt(60)]
    np.testing.assert_allclose(signals["sigma"], expected, rtol=1e-12)
    assert signals["sigma"].dtype == np.float64 and not signals.isna().any().any()
    from mmsim.data.align import align
    from mmsim.data.schema import validate_taq

    aligned = align(validate_taq(taq, clean=False), signals)
    # The bar closing at 17:34 comes after the last TAQ row (17:33:31): align drops it.
    np.testing.assert_array_equal(aligned.signal_time, signals.index[:3].as_unit("ns").asi8)
    np.testing.assert_array_equal(aligned.signals[:, 0], signals["sigma"].to_numpy()[:3])
    assert len(aligned.time) == len(taq)
    # volatility_signals does the same steps in one call.
    pd.testing.assert_frame_equal(volatility_signals(taq, "1min", 60), signals)
