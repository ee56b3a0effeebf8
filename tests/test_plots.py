"""Charts of a Result: the data each one draws, checked against the hand-worked scenario."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from mmsim.plots import KINDS, chart_data  # noqa: E402
from results_scenario import make_inverse_result, make_nav_result  # noqa: E402


@pytest.fixture
def inverse():
    return make_inverse_result()


def _lines(fig):
    """label -> y data of every line on every Axes of ``fig``."""
    return {
        line.get_label(): np.asarray(line.get_ydata(), dtype=float)
        for ax in fig.axes for line in ax.get_lines()
    }


def test_balance_and_nav(inverse):
    fig = inverse.plot("balance")
    assert isinstance(fig, Figure)
    assert len(fig.axes) == 2  # the chart and its twin axis for NAV
    lines = _lines(fig)
    np.testing.assert_array_equal(lines["balance"], inverse.balances["total"])
    np.testing.assert_array_equal(lines["nav"], inverse.balances["nav"])
    assert fig.axes[0].get_title() == "Balance and NAV"


def test_balance_against_recovered_price(inverse):
    lines = _lines(inverse.plot("price"))
    # mark recovered from the NAV: 10000, 10000, 12500, 12500, 8000 (see results_scenario)
    np.testing.assert_allclose(lines["price"], [10000, 10000, 12500, 12500, 8000], rtol=1e-12)


def test_balance_against_given_price(inverse):
    close = pd.Series([1.0, 2.0], index=inverse.balances.index[:2], name="close")
    np.testing.assert_array_equal(_lines(inverse.plot("price", price=close))["price"], [1.0, 2.0])


def test_position_and_entry_price(inverse):
    lines = _lines(inverse.plot("position"))
    np.testing.assert_array_equal(lines["position"], [1000, -1000])
    np.testing.assert_array_equal(lines["entry price"], [8000, 10000])


def test_orders_hourly_means(inverse):
    lines = _lines(inverse.plot("orders"))
    # hourly bins 00:00 (order 1), 01:00 (none), 02:00 (orders 2, 3), 03:00 (order 4)
    # slippage 0, -, (1.5 + 0)/2, 0; open duration 3600, -, (3600 + 1800)/2, NaN (open)
    np.testing.assert_array_equal(lines["slippage"], [0.0, np.nan, 0.75, 0.0])
    np.testing.assert_array_equal(lines["open duration"], [3600.0, np.nan, 2700.0, np.nan])


def test_inventory_histogram_is_time_weighted(inverse):
    fig = inverse.plot("inventory")
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    # 3 bins over [-1000, 1000]: -1000 held 1 h, 0 held 1 h, 1000 held 2 h
    assert heights == [1.0, 1.0, 2.0]


def test_pnl_decomposition_lines(inverse):
    lines = _lines(inverse.plot("pnl"))
    assert set(lines) == {"total", "spread", "inventory", "fees"}
    final = {k: v[-1] for k, v in lines.items()}
    assert final["total"] == pytest.approx(0.04988125, abs=1e-15)
    assert final["spread"] == pytest.approx(-0.015, abs=1e-15)
    assert final["inventory"] == pytest.approx(0.065, abs=1e-15)
    assert final["fees"] == pytest.approx(-0.00011875, abs=1e-15)


def test_all_charts_on_one_figure(inverse):
    fig = inverse.plot()
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert titles == [
        "Balance and NAV", "Balance vs. Price", "Position and Entry Price",
        "Mean Slippage and Open Duration - Hourly", "Inventory Distribution (time-weighted)",
        "Cumulative PnL Decomposition", "Equity and Margin Used",
    ]


def test_long_series_are_thinned(inverse):
    # 10001 balance rows one second apart: with max_points 100, steps of 1 s, 5 s, 15 s, 1 min
    # and 5 min are tried; 10000 s / 5 min = 33.3 <= 100, so 34 five-minute bins remain.
    idx = pd.date_range("2024-01-01", periods=10001, freq="1s", tz="UTC", name="time")
    values = np.arange(10001, dtype=float)
    inverse.balances = pd.DataFrame({"total": values, "available": values, "nav": values}, index=idx)
    chart = chart_data(inverse, "balance", max_points=100)
    assert len(chart.left) == 34
    # last value of each 5-minute bin: 299, 599, ..., then the final row 10000
    assert chart.left["balance"].iloc[0] == 299.0 and chart.left["balance"].iloc[-1] == 10000.0


def test_unknown_kind(inverse):
    with pytest.raises(ValueError, match="kind must be one of"):
        inverse.plot("candles")
    with pytest.raises(ValueError, match="max_points"):
        chart_data(inverse, "balance", max_points=1)
    assert KINDS == ("balance", "price", "position", "orders", "inventory", "pnl", "margin")


def test_charts_of_a_run_without_trades():
    # no orders, fills or positions: the charts still draw, flat at position 0
    r = make_nav_result()
    fig = r.plot()
    assert len([ax for ax in fig.axes if ax.get_title()]) == 7
    np.testing.assert_array_equal(_lines(r.plot("balance"))["nav"], [100, 110, 99, 110, 121])
    # the whole 4 h span at position 0
    assert [p.get_height() for p in r.plot("inventory").axes[0].patches] == [4.0]


def test_margin_chart_shows_equity_and_the_margin_it_holds():
    # 1 BTC, a 1000-contract bid resting at 100x: 1% x 1000 / 100.25 BTC is held.
    import mmsim
    from helpers import quote, run
    from test_engine_margin import INV
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(9, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1, 2], lambda c: c.limit(99.0, 1000), lambda c: None, contract=INV,
                 balance=1.0)
    chart = chart_data(res, "margin")
    assert chart.left["equity"].tolist() == [1.0, 1.0]
    assert chart.left["margin used"].tolist() == [0.0, 1.0 - (1.0 - 0.01 * 1000 / 100.25)]
