"""Statistics of a Result, each checked against a small scenario worked out by hand.

The scenarios, and the hand-worked balances and NAV they rest on, are in
:mod:`results_scenario`.
"""
from __future__ import annotations

import dataclasses
import io
import warnings

import numpy as np
import pandas as pd
import pytest

from mmsim.contracts import BINANCE_BTCUSDT
from mmsim.results import Result
from mmsim.stats import STAT_NAMES, drawdown, equity_curve, fill_spread, pnl_decomposition
from results_scenario import empty_orders, make_inverse_result, make_nav_result, t, time_index


@pytest.fixture
def inverse():
    return make_inverse_result()


def test_equity_curve_recovers_mark_and_equity(inverse):
    curve = equity_curve(inverse)
    # M = (nav + q)/(B + q/E): 04:00 (8399.05 - 1000)/(1.02488125 - 0.1) = 7399.05/0.92488125 = 8000
    np.testing.assert_allclose(curve["mark"], [10000, 10000, 12500, 12500, 8000], rtol=1e-12)
    np.testing.assert_allclose(
        curve["equity"], [1.0, 1.02503125, 1.04503125, 1.00488125, 1.04988125], rtol=1e-12
    )
    np.testing.assert_array_equal(curve["position"], [0, 1000, 1000, -1000, -1000])


def test_fill_spread_inverse(inverse):
    # buy 1000 @ 8000, mid 10000: 1000 x (1/8000 - 1/10000) = 0.025 BTC
    # sell 2000 @ 10000, mid 12500: -2000 x (1/10000 - 1/12500) = -0.04 BTC
    np.testing.assert_allclose(fill_spread(inverse), [0.025, -0.04], rtol=1e-12)


def test_pnl_decomposition_sums_and_matches_hand_values(inverse):
    d = pnl_decomposition(inverse)
    # total = equity - 1; spread cumulative 0, .025, .025, -.015, -.015;
    # fees (rebate positive) 0, .00003125, .00003125, -.00011875, -.00011875
    np.testing.assert_allclose(
        d["total"], [0, 0.02503125, 0.04503125, 0.00488125, 0.04988125], atol=1e-15)
    np.testing.assert_allclose(d["spread"], [0, 0.025, 0.025, -0.015, -0.015], atol=1e-15)
    np.testing.assert_allclose(
        d["fees"], [0, 0.00003125, 0.00003125, -0.00011875, -0.00011875], atol=1e-15)
    # inventory = revaluation of q between marks:
    # 01:00->02:00 1000 (1/10000 - 1/12500) = 0.02; 03:00->04:00 -1000 (1/12500 - 1/8000) = 0.045
    np.testing.assert_allclose(d["inventory"], [0, 0, 0.02, 0.02, 0.065], atol=1e-14)
    np.testing.assert_allclose(d["spread"] + d["inventory"] + d["fees"], d["total"], atol=1e-16)


def test_stats_inverse_scenario(inverse):
    s = inverse.stats(freq="1h", size_limit=1000)
    assert list(s.index) == list(STAT_NAMES)
    # every statistic is a float: times in seconds since the epoch, durations in seconds
    assert s.dtype == np.float64
    assert s["start"] == t("00:00").value / 1e9 == 1704067200.0
    assert s["end"] == 1704067200.0 + 4 * 3600
    assert s["duration"] == 4 * 3600.0
    assert s["pnl"] == pytest.approx(0.04988125, abs=1e-14)
    assert s["pnl_usd"] == pytest.approx(8399.05 - 10000)
    assert s["return"] == pytest.approx(-0.160095)
    # PnL decomposition: spread -0.015, inventory 0.065, fees -0.00011875, summing to pnl
    assert s["spread_pnl"] == pytest.approx(-0.015, abs=1e-15)
    assert s["inventory_pnl"] == pytest.approx(0.065, abs=1e-14)
    assert s["fee_pnl"] == pytest.approx(-0.00011875, abs=1e-16)
    assert s["spread_pnl"] + s["inventory_pnl"] + s["fee_pnl"] == pytest.approx(s["pnl"], abs=1e-16)
    # orders: 4, two with fills, one cancelled
    assert s["orders"] == 4 and s["fills"] == 2
    assert s["fill_ratio"] == 0.5 and s["cancel_ratio"] == 0.25
    # volume 1000 + 2000 contracts of 1 USD; turnover 3000 / 10000; maker 1000 of 3000
    assert s["volume"] == 3000.0 and s["volume_usd"] == 3000.0
    assert s["turnover"] == pytest.approx(0.3)
    assert s["maker_share"] == pytest.approx(1 / 3)
    assert s["fees_paid"] == pytest.approx(0.00015)
    assert s["rebates_earned"] == pytest.approx(0.00003125)
    # side x (mid - price): +1 x (10000 - 8000) = 2000, -1 x (12500 - 10000) = -2500 -> mean -250
    assert s["spread_per_fill"] == pytest.approx(-250.0)
    # position: 0 for 1 h, 1000 for 2 h, -1000 for 1 h over 4 h
    assert s["inventory_mean"] == pytest.approx((2 * 1000 - 1000) / 4)  # 250
    assert s["inventory_abs_mean"] == pytest.approx((2 * 1000 + 1000) / 4)  # 750
    assert s["inventory_max_abs"] == 1000.0
    assert s["time_at_limit"] == pytest.approx(3 / 4)
    # order sizes 1000, 2000, 500, 300 -> 950; durations of closed orders 3600, 3600, 1800
    assert s["order_size_mean"] == pytest.approx(950.0)
    assert s["order_duration_mean"] == pytest.approx(3000.0)
    assert s["filled_duration_mean"] == pytest.approx(3600.0)
    assert s["slippage_mean"] == pytest.approx(1.5 / 4)
    # drawdown: peak 13062.890625 at 02:00, trough 8399.05 at 04:00, never recovered
    assert s["max_drawdown"] == pytest.approx(13062.890625 - 8399.05)
    assert s["max_drawdown_pct"] == pytest.approx(1 - 8399.05 / 13062.890625)
    assert s["max_drawdown_duration"] == 2 * 3600.0


def test_time_at_limit_is_nan_without_limit(inverse):
    assert np.isnan(inverse.stats()["time_at_limit"])


def test_sharpe_sortino_drawdown_calmar_from_nav():
    r = make_nav_result()  # NAV 100, 110, 99, 110, 121 hourly
    s = r.stats(freq="1h")
    # Each hour's change of NAV on the starting 100.
    returns = np.array([0.1, -0.11, 0.11, 0.11])
    periods = 365 * 24  # hourly periods in a year
    sharpe = returns.mean() / returns.std(ddof=1) * np.sqrt(periods)
    downside = np.sqrt(np.mean(np.minimum(returns, 0) ** 2))  # sqrt(0.0121 / 4) = 0.055
    assert downside == pytest.approx(0.055)
    assert s["sharpe"] == pytest.approx(sharpe, rel=1e-12)
    assert s["sortino"] == pytest.approx(returns.mean() / 0.055 * np.sqrt(periods), rel=1e-12)
    assert s["return"] == pytest.approx(0.21)
    # Four hours are too short to annualise: n/a, and so is the Calmar ratio.
    assert np.isnan(s["annual_return"]) and np.isnan(s["calmar"])
    assert s.attrs["n/a"]["annual_return"] == (
        "the run spans 4 h, under the 1 d needed to annualise")
    assert s.attrs["n/a"]["calmar"] == "the annual return is n/a"
    # peak 110 at 01:00, trough 99 at 02:00, back to 110 at 03:00
    assert s["max_drawdown"] == pytest.approx(11.0)
    assert s["max_drawdown_pct"] == pytest.approx(0.1)
    assert s["max_drawdown_duration"] == 7200.0
    # no orders or fills: ratios undefined, with the reason
    assert s["orders"] == 0 and s["fills"] == 0
    assert np.isnan(s["fill_ratio"]) and np.isnan(s["maker_share"])
    assert s.attrs["n/a"]["fill_ratio"] == "no orders"
    assert s.attrs["n/a"]["maker_share"] == "no fills"
    assert s["pnl"] == pytest.approx(21.0)  # linear: equity = nav


def test_annual_return_and_calmar_of_a_run_of_days():
    # NAV 100, 90, 121 a day apart: 21 % over 2 days, a 10 % drawdown.
    s = make_nav_result((100.0, 90.0, 121.0), step="1D").stats(freq="1D")
    annual = 1.21 ** (365 / 2) - 1
    assert s["annual_return"] == pytest.approx(annual, rel=1e-9)
    assert s["max_drawdown_pct"] == pytest.approx(0.1)
    assert s["calmar"] == pytest.approx(annual / 0.1, rel=1e-9)
    # Returns -0.1, 0.31: Sharpe (0.105 / std) sqrt(365).
    returns = np.array([-0.1, 0.31])
    assert s["sharpe"] == pytest.approx(
        returns.mean() / returns.std(ddof=1) * np.sqrt(365), rel=1e-12)
    assert "annual_return" not in s.attrs["n/a"] and "sharpe" not in s.attrs["n/a"]


def test_sharpe_sampling_two_hours():
    # Sampled every 2 h: NAV 100, 99, 121 -> changes -1, 22 on the starting 100.
    s = make_nav_result().stats(freq="2h")
    returns = np.array([-0.01, 0.22])
    expected = returns.mean() / returns.std(ddof=1) * np.sqrt(365 * 12)
    assert s["sharpe"] == pytest.approx(expected, rel=1e-12)


def test_sharpe_needs_two_sampled_returns():
    # Two hours sampled every 2 h: a single return, no Sharpe or Sortino.
    s = make_nav_result((100.0, 110.0, 99.0)).stats(freq="2h")
    assert np.isnan(s["sharpe"]) and np.isnan(s["sortino"])
    assert s.attrs["n/a"]["sharpe"] == (
        "1 NAV return(s) sampled every 2 h over 2 h; at least 2 are needed (pass a shorter "
        "freq)")
    # A NAV that never falls has no downside deviation; one that never moves no Sharpe.
    s = make_nav_result((100.0, 101.0, 103.0)).stats()
    assert s.attrs["n/a"]["sortino"] == "no sampled NAV return is negative"
    s = make_nav_result((100.0, 100.0, 100.0)).stats()
    assert s.attrs["n/a"]["sharpe"] == "the sampled NAV returns do not vary"


def test_a_nav_through_zero_gives_finite_statistics_without_warnings():
    # Margin off: the NAV goes 100 -> 50 -> -40 -> -20 over 3 days. Changes on the start:
    # -0.5, -0.9, +0.2 (a ratio of consecutive NAVs would read -1.8 and -0.5 there).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = make_nav_result((100.0, 50.0, -40.0, -20.0), step="1D").stats(freq="1D")
    returns = np.array([-0.5, -0.9, 0.2])
    assert s["sharpe"] == pytest.approx(
        returns.mean() / returns.std(ddof=1) * np.sqrt(365), rel=1e-12)
    assert s["return"] == pytest.approx(-1.2)
    assert s["annual_return"] == -1.0       # everything lost
    assert s["max_drawdown"] == pytest.approx(140.0)
    assert s["max_drawdown_pct"] == pytest.approx(1.4)
    assert s["calmar"] == pytest.approx(-1.0 / 1.4)
    assert s["pnl"] == pytest.approx(-120.0)


def test_drawdown_unrecovered_and_flat():
    idx = pd.date_range("2024-01-01", periods=5, freq="1min", tz="UTC")
    # peak 5 at minute 1, falls to 2 and never recovers: 3 absolute, 60 %, 3 minutes
    absolute, fraction, duration = drawdown(pd.Series([4.0, 5.0, 3.0, 2.0, 4.0], index=idx))
    assert (absolute, fraction) == (3.0, pytest.approx(0.6))
    assert duration == pd.Timedelta(minutes=3)
    # rising: no drawdown at all
    assert drawdown(pd.Series([1.0, 2.0, 2.0, 3.0, 4.0], index=idx)) == (0.0, 0.0, pd.Timedelta(0))
    with pytest.raises(ValueError, match="nav is empty"):
        drawdown(pd.Series([], index=idx[:0], dtype=float))


def test_linear_decomposition():
    # Linear BTCUSDT: buy 2 BTC @ 100 (mid 101, maker fee 0.02 %: 2 x 100 x 0.0002 = 0.04),
    # then the mark moves to 105. Balance 1000 - 0.04 = 999.96.
    # nav at the fill (mark 101): 999.96 + 2 x (101 - 100) = 1001.96; at the end: 999.96 + 10
    idx = time_index(["00:00", "01:00", "02:00"])
    balances = pd.DataFrame(
        {"total": [1000.0, 999.96, 999.96], "available": [1000.0, 999.96, 999.96],
         "nav": [1000.0, 1001.96, 1009.96]}, index=idx)
    fills = pd.DataFrame(
        {"order_id": np.array([1], dtype=np.int64), "price": [100.0], "amount": [2.0],
         "fee": [0.04], "liquidity": ["maker"], "mid": [101.0], "realized": [0.0],
         "position": [2.0]}, index=idx[1:2])
    positions = pd.DataFrame({"amount": [2.0], "weighted_price": [100.0]}, index=idx[1:2])
    r = Result(empty_orders(), fills, balances, positions, BINANCE_BTCUSDT, {})
    curve = equity_curve(r)
    # M = E + (nav - B)/q: 100 + 2/2 = 101 at 01:00, 100 + 10/2 = 105 at 02:00; flat at 00:00
    np.testing.assert_allclose(curve["mark"].iloc[1:], [101.0, 105.0])
    assert np.isnan(curve["mark"].iloc[0])
    s = r.stats()
    assert s["pnl"] == pytest.approx(9.96)
    assert s["spread_pnl"] == pytest.approx(2.0)  # 2 x (101 - 100)
    assert s["fee_pnl"] == pytest.approx(-0.04)
    assert s["inventory_pnl"] == pytest.approx(8.0)  # 2 x (105 - 101)
    assert s["volume_usd"] == pytest.approx(200.0)  # 2 BTC x 100
    assert s["fees_paid"] == pytest.approx(0.04) and s["rebates_earned"] == 0.0


def test_summary_prints_notebook_lines(inverse):
    buf = io.StringIO()
    text = inverse.summary(size_limit=1000, file=buf)
    assert buf.getvalue() == text + "\n"
    lines = dict(
        (label.strip(), value.strip())
        for label, value in (line.split(":", 1) for line in text.splitlines() if line)
    )
    assert lines["Number of orders"] == "4"
    assert lines["Percentage cancelled"] == "25.00%"
    assert lines["Avg Order Size"] == "$950.00"
    assert lines["Avg Slippage"] == "$0.38"  # 0.375 rounds half to even at 2 decimals
    assert lines["Avg Order Duration"] == "3000.00s"
    assert lines["Avg Order (Filled) Duration"] == "3600.00s"
    assert lines["Maker share"] == "33.33%"
    assert lines["Time at size limit"] == "75.00%"
    # hourly NAV 10000 -> 10250.3125 -> 13062.890625 -> 12561.015625 -> 8399.05; the changes
    # on 10000: mean / std(ddof 1) x sqrt(24 x 365) = -13.0009...
    returns = np.diff([10000, 10250.3125, 13062.890625, 12561.015625, 8399.05]) / 10000
    assert returns.mean() / returns.std(ddof=1) * np.sqrt(24 * 365) == pytest.approx(-13.0009655)
    assert lines["Sharpe"] == "-13.00"
    # the statistics carry their units: BTC settles XBTUSD, its NAV is in USD
    assert lines["PnL"] == "0.04988125 BTC"
    assert lines["Rebates earned"] == "0.00003125 BTC"
    assert lines["PnL (NAV)"] == "-1,600.95 USD"
    assert lines["Volume"] == "3,000 contracts"
    assert lines["Spread per fill"] == "-250 USD"
    assert lines["Period"] == "2024-01-01 00:00:00 UTC .. 2024-01-01 04:00:00 UTC (4 h)"
    assert lines["Max drawdown"] == "35.70% (4,663.84 USD, 2 h)"
    assert lines["Annualised return"] == "n/a (the run spans 4 h, under the 1 d needed to annualise)"


def test_bad_arguments(inverse):
    with pytest.raises(ValueError, match="freq"):
        inverse.stats(freq="soon")
    with pytest.raises(ValueError, match="freq must be a positive"):
        inverse.stats(freq="0h")
    with pytest.raises(ValueError, match="size_limit"):
        inverse.stats(size_limit=-5)
    with pytest.raises(ValueError, match="size_limit must be a positive number"):
        inverse.stats(size_limit="5")


def test_stats_start_at_the_first_row_with_a_nav():
    from helpers import at, quote, run

    # The signal at 0 s comes before the first quote: its balance row has no NAV.
    result, _ = run([quote(1, 99.5, 10, 100.5, 10), quote(3600, 109.5, 10, 110.5, 10)],
                    [0, 1800, 3600])
    assert np.isnan(result.balances["nav"].iloc[0])
    s = result.stats()
    # flat 1 BTC valued at the mid: 100 USD at 1800 s, 110 USD at 3600 s
    assert s["start"] == at(1800).value / 1e9 and s["duration"] == 1800.0
    assert s["pnl_usd"] == 10.0 and s["return"] == pytest.approx(0.1, rel=1e-15)
    assert s["pnl"] == 0.0 and s["max_drawdown"] == 0.0


def test_a_bare_number_freq_is_seconds():
    # freq=7200 samples every 2 h, as freq="2h" does (see test_sharpe_sampling_two_hours)
    r = make_nav_result()
    with pytest.raises(ValueError, match=r"^freq must be a time span such as '1D' or '90min' "
                                         r"\(a bare number is seconds\), got 'soon'$"):
        r.stats(freq="soon")
    assert r.stats(freq=7200)["sharpe"] == r.stats(freq="2h")["sharpe"]


def test_durations_print_in_the_unit_that_suits_them():
    from mmsim.stats import format_duration

    assert format_duration(0.35) == "350 ms"
    assert format_duration(42.5) == "42.50 s"
    assert format_duration(30.0) == "30 s"
    assert format_duration(642.035) == "10 min 42 s"       # 10:42.035 rounds to 642 s
    assert format_duration(600.0) == "10 min"
    assert format_duration(4 * 3600 + 5 * 60 + 20) == "4 h 05 min"
    assert format_duration(pd.Timedelta(days=2, hours=3, minutes=10)) == "2 d 03 h"
    assert format_duration(86400.0) == "1 d"
    assert format_duration(np.nan) == "n/a" and format_duration(pd.NaT) == "n/a"


def test_values_print_with_the_contract_units():
    from mmsim.contracts import BITMEX_XBTUSD, Contract
    from mmsim.stats import format_value

    assert format_value(1704067200.5, "time", BITMEX_XBTUSD) == "2024-01-01 00:00:00.500 UTC"
    assert format_value(-0.000211351, "settlement", BITMEX_XBTUSD) == "-0.000211351 BTC"
    assert format_value(-34.13921, "quote", BITMEX_XBTUSD) == "-34.14 USD"
    assert format_value(312.0, "amount", BITMEX_XBTUSD) == "312 contracts"
    assert format_value(38284805.0, "amount", BITMEX_XBTUSD) == "38,284,805 contracts"
    # a linear contract of size 1 counts amounts in its base currency and settles in USDT
    assert format_value(0.25, "amount", BINANCE_BTCUSDT) == "0.25 BTC"
    assert format_value(999.96, "settlement", BINANCE_BTCUSDT) == "999.96 USDT"
    assert format_value(0.0067755, "fraction", BINANCE_BTCUSDT) == "0.68%"
    assert format_value(258.0, "count", BINANCE_BTCUSDT) == "258"
    assert format_value(np.nan, "quote", BINANCE_BTCUSDT) == "n/a"
    # a contract that names no currency says which one it means
    bare = Contract(inverse=False, tick_size=0.1, lot_size=1.0, contract_size=1.0,
                    maker_fee=0.0, taker_fee=0.0)
    assert format_value(2.5, "settlement", bare) == "2.5 quote ccy"
    assert format_value(2.0, "amount", bare) == "2 contracts"
    with pytest.raises(ValueError, match="^unit must be one of .*, got 'parsecs'$"):
        format_value(1.0, "parsecs", bare)


def test_a_run_file_names_the_currencies_of_its_contract(tmp_path):
    from mmsim.config import parse_config

    spec = {"data": {"synthetic": {"rows": 100, "seed": 0}},
            "contract": {"inverse": False, "tick_size": 0.1, "lot_size": 0.001,
                         "contract_size": 1, "maker_fee": 0, "taker_fee": 0,
                         "base": "ETH", "quote": "USDC"},
            "strategy": {"name": "AvellanedaStoikov",
                         "params": {"max_size": 5, "gamma": 0.1, "k": 5}}}
    contract = parse_config(spec, base=tmp_path).contract
    assert (contract.base, contract.quote, contract.settlement_currency) == ("ETH", "USDC", "USDC")
    assert contract.amount_unit == "ETH"
    with pytest.raises(TypeError, match=r"^Contract.quote must be a string, got 5$"):
        dataclasses.replace(contract, quote=5)
