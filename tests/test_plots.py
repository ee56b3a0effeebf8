"""Charts of a Result: the data each one draws, checked against the hand-worked scenario."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402

from mmsim.plots import KINDS, chart_data  # noqa: E402
from results_scenario import make_inverse_result, make_nav_result, t  # noqa: E402


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


def test_orders_means_per_bucket_chosen_from_the_span(inverse):
    fig = inverse.plot("orders")
    lines = _lines(fig)
    # 4 h span: the smallest step giving at most 48 buckets is 5 min (1 s .. 1 min give more),
    # 37 buckets from 00:00 to 03:00. 00:00 order 1; 02:00 orders 2, 3; 03:00 order 4:
    # slippage 0, (1.5 + 0)/2, 0; open duration 3600, (3600 + 1800)/2, NaN (still open).
    assert fig.axes[0].get_title() == "Mean Slippage and Open Duration per 5 min"
    expected_slip = np.full(37, np.nan)
    expected_open = np.full(37, np.nan)
    expected_slip[[0, 24, 36]] = [0.0, 0.75, 0.0]
    expected_open[[0, 24]] = [3600.0, 2700.0]
    np.testing.assert_array_equal(lines["slippage"], expected_slip)
    np.testing.assert_array_equal(lines["open duration"], expected_open)


def test_a_six_minute_run_gets_short_buckets_and_its_own_time_axis():
    from matplotlib.dates import date2num

    r = make_nav_result(tuple(100.0 + i for i in range(7)), step="1min")   # 00:00 .. 00:06
    r.orders = make_inverse_result().orders.iloc[:1].set_axis(r.balances.index[:1])
    fig = r.plot("orders")
    ax = fig.axes[0]
    # 360 s: 1 s and 5 s give 360 and 72 buckets, 15 s gives 24 <= 48
    assert ax.get_title() == "Mean Slippage and Open Duration per 15 s"
    # the x axis spans the run, not the years a locator makes of a single point
    start, end = r.balances.index[0], r.balances.index[-1]
    assert ax.get_xlim() == (date2num(start.tz_convert(None)), date2num(end.tz_convert(None)))
    # held for 6 minutes at position 0: counted in minutes
    inv = r.plot("inventory").axes[0]
    assert inv.get_ylabel() == "minutes held"
    assert [p.get_height() for p in inv.patches] == [6.0]


def test_twin_axes_print_plain_numbers():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    # a NAV near 61,816 that moves by tenths: no "+6.1816e4" offset above the axis
    r = make_nav_result((61816.5, 61816.7, 61816.6, 61816.9))
    fig = r.plot("balance")
    FigureCanvasAgg(fig).draw()
    for ax in fig.axes:
        assert ax.yaxis.get_offset_text().get_text() == ""
    labels = [t.get_text() for t in fig.axes[1].get_yticklabels()]
    assert all(float(x.replace(",", "").replace("\u2212", "-")) > 61816 for x in labels)


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
        "Quotes and Fills", "Balance and NAV", "Drawdown from the NAV Peak",
        "Cumulative PnL Decomposition", "PnL per Day (UTC)", "Position and Entry Price",
        "Balance vs. Price", "Mean Slippage and Open Duration per 5 min",
        "Inventory Distribution (time-weighted)", "Equity and Margin Used",
    ]


def test_long_series_are_thinned_to_their_envelope(inverse):
    # 10001 balance rows one second apart, max_points 100: 25 buckets of 400 s (the last one
    # also holds the final row). A rising series keeps each bucket's first and last row.
    idx = pd.date_range("2024-01-01", periods=10001, freq="1s", tz="UTC", name="time")
    values = np.arange(10001, dtype=float)
    inverse.balances = pd.DataFrame({"total": values, "available": values, "nav": values}, index=idx)
    chart = chart_data(inverse, "balance", max_points=100)
    kept = [v for k in range(25) for v in (400.0 * k, 400.0 * k + 399.0)]
    kept[-1] = 10000.0
    assert chart.left["balance"].tolist() == kept
    # a one-second spike survives thinning, as the highest value of its bucket
    spiky = values.copy()
    spiky[5123] = 1e6
    inverse.balances = pd.DataFrame({"total": spiky, "available": spiky, "nav": spiky}, index=idx)
    thinned = chart_data(inverse, "balance", max_points=100).left["balance"]
    assert thinned.max() == 1e6 and thinned.idxmax() == idx[5123]


def test_drawdown_and_daily_pnl(inverse):
    drawdown = chart_data(inverse, "drawdown")
    # NAV 10000, 10250.3125, 13062.890625 (peak), 12561.015625, 8399.05: % below the peak
    np.testing.assert_allclose(
        drawdown.left["drawdown"],
        [0, 0, 0, (12561.015625 / 13062.890625 - 1) * 100, (8399.05 / 13062.890625 - 1) * 100],
        rtol=1e-12, atol=1e-12)
    daily = chart_data(inverse, "daily_pnl")
    # one UTC day: the whole PnL, 1.04988125 - 1 BTC
    assert daily.left.index.tolist() == [pd.Timestamp("2024-01-01", tz="UTC")]
    assert daily.left["PnL"].tolist() == pytest.approx([0.04988125], abs=1e-15)
    assert daily.left_label == "PnL (BTC)"


def test_unknown_kind(inverse):
    with pytest.raises(ValueError, match="kind must be one of"):
        inverse.plot("candles")
    with pytest.raises(ValueError, match=r"^max_points must be an integer >= 8, got 7$"):
        chart_data(inverse, "balance", max_points=7)
    with pytest.raises(ValueError, match=r"^start and end select a window of the 'quotes' "
                                         r"chart, not of 'balance'$"):
        inverse.plot("balance", start="2024-01-01 01:00")
    with pytest.raises(ValueError, match=r"^end \(2024-01-01 01:00\) must be after start "):
        chart_data(inverse, "quotes", start="2024-01-01 02:00", end="2024-01-01 01:00")
    assert KINDS == ("quotes", "balance", "drawdown", "pnl", "daily_pnl", "position", "price",
                     "orders", "inventory", "margin")


def test_charts_of_a_run_without_trades():
    # no orders, fills or positions: the charts still draw, flat at position 0
    r = make_nav_result()
    fig = r.plot()
    assert len([ax for ax in fig.axes if ax.get_title()]) == 10
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


def _segments(chart):
    return {seg.label: [(str(a.time())[:5], str(b.time())[:5], p) for a, b, p in
                        seg.frame[["start", "end", "price"]].itertuples(index=False)]
            for seg in chart.segments}


def test_quotes_chart_of_the_hand_worked_run(inverse):
    chart = chart_data(inverse, "quotes")
    # limit orders from live to closed (order 4 is still open: to the last balance row);
    # the market order 2 rests nowhere
    assert _segments(chart) == {"our bids": [("00:00", "01:00", 8000.0), ("02:00", "02:30", 7000.0)],
                                "our asks": [("03:00", "04:00", 13000.0)]}
    markers = {m.label: m.frame for m in chart.markers}
    assert markers["buys"].to_dict("list") == {"price": [8000.0], "amount": [1000.0]}
    assert markers["sells"].to_dict("list") == {"price": [10000.0], "amount": [2000.0]}
    # without the TAQ the market is the mid at our balance rows (the recovered mark)
    np.testing.assert_allclose(chart.left["mid"], [10000, 10000, 12500, 12500, 8000], rtol=1e-12)
    assert chart.style == "step" and chart.note.startswith("Market: the mid at our signals")
    # a window clips the orders to it
    window = chart_data(inverse, "quotes", start="2024-01-01 00:30", end="2024-01-01 03:30")
    assert _segments(window) == {"our bids": [("00:30", "01:00", 8000.0), ("02:00", "02:30", 7000.0)],
                                 "our asks": [("03:00", "03:30", 13000.0)]}
    assert window.left.index.tolist() == [t("01:00"), t("02:00"), t("03:00")]


def test_quotes_chart_draws_the_market_from_the_taq():
    from helpers import at, quote, run, taq

    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 100.0, 12, 100.5, 10),   # size only
            (2, 100.5, 3.0, 100.0, 12, 100.5, 10), quote(3, 99.5, 10, 100.0, 10),
            (4, 99.5, -20.0, 99.5, 10, 100.0, 10), quote(5, 99.5, 10, 100.0, 10)]
    res, _ = run(rows, [0.5], lambda c: c.limit(99.5, 5))
    chart = chart_data(res, "quotes", taq=taq(rows))
    # the bid and ask change at 0 s and 3 s only: rows where neither moved are left out
    assert chart.left.index.tolist() == [at(0), at(3)]
    assert chart.left.to_dict("list") == {"bid": [100.0, 99.5], "ask": [100.5, 100.0]}
    markers = {m.label: m.frame for m in chart.markers}
    assert markers["trades"]["price"].tolist() == [100.5, 99.5]
    # the bid at 99.5, sent at 0.5 s, live 0.5 s later, filled by the sell print at 4 s
    assert markers["buys"].index.tolist() == [at(4)] and markers["buys"]["amount"].tolist() == [5.0]
    (bids,) = [seg.frame for seg in chart.segments if seg.label == "our bids"]
    assert bids.to_dict("list") == {"start": [at(1)], "end": [at(4)], "price": [99.5]}
    assert chart.note == "Market: best bid and ask, trades."


def test_quotes_chart_of_a_long_run_shows_each_buckets_best_quote():
    # 40 one-second bids, at 100 + (i mod 7), and 40 fills of 1 + i: with max_points 8 they
    # are thinned into 2 buckets of 20 s.
    times = pd.date_range("2024-01-01", periods=41, freq="1s", tz="UTC", name="time")
    n = 40
    orders = pd.DataFrame({"type": ["limit"] * n, "side": np.ones(n, dtype=np.int64),
                           "price": 100.0 + np.arange(n) % 7, "live": times[:n],
                           "closed": times[1:]}, index=times[:n])
    fills = pd.DataFrame({"price": 100.0 + np.arange(n) % 7, "amount": 1.0 + np.arange(n)},
                         index=times[:n])
    base = make_nav_result(tuple(100.0 for _ in range(41)), step="1s")
    r = base.__class__(orders, fills, base.balances, base.positions, base.contract, {})
    chart = chart_data(r, "quotes", max_points=8)
    # bucket 0 holds orders 0..19 (best 106), bucket 1 orders 20..39 (best 106 too, at i=20+6)
    assert _segments(chart)["our bids"] == [("00:00", "00:00", 106.0), ("00:00", "00:00", 106.0)]
    (seg,) = [s for s in chart.segments if s.label == "our bids"]
    assert seg.frame["start"].tolist() == [times[0], times[20]]
    buys = {m.label: m.frame for m in chart.markers}["buys"]
    a = 1.0 + np.arange(n)
    p = 100.0 + np.arange(n) % 7
    assert buys["amount"].tolist() == [a[:20].sum(), a[20:].sum()]
    np.testing.assert_allclose(buys["price"], [(a[:20] * p[:20]).sum() / a[:20].sum(),
                                               (a[20:] * p[20:]).sum() / a[20:].sum()], rtol=1e-15)
    assert buys.index.tolist() == [times[0], times[20]]
    assert "Thinned for the page (market, orders, fills): 2 buckets of 20 s" in chart.note
    assert 'result.plot("quotes", taq=taq, start=..., end=...)' in chart.note
