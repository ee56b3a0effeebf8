"""Statistics defined for every run (DESIGN "Account", issue "stats that stay sane"): a run
without data, a run too short for its ratios, and a NAV that goes through zero."""
import io
import warnings

import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import quote, run
from mmsim.stats import STAT_NAMES

H = 3600
#: XBTUSD's grid without fees, margined at 100x.
INV = mmsim.Contract(inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                     maker_fee=0.0, taker_fee=0.0, initial_margin=0.01,
                     maintenance_margin=0.005)
NO_ROWS = ("no data: the run recorded no balance rows (no signal fell within the replayed "
           "data; check start and end against the data's span)")


@pytest.fixture
def empty():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(9, 100.0, 10, 100.5, 10)]
    with pytest.warns(mmsim.EmptyResultWarning, match=(
            r"^the run recorded no balance rows: 0 signal row\(s\) and 0 data row\(s\) between "
            r"start=2030-01-01 and end=None; its statistics are n/a$")):
        result, _ = run(rows, [1, 2], lambda c: c.limit(99.0, 1), start="2030-01-01")
    return result


def test_an_empty_run_warns_and_its_statistics_are_n_a(empty):
    assert len(empty.balances) == 0
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stats = empty.stats()
    assert list(stats.index) == list(STAT_NAMES)
    # Counts are 0; every other statistic is n/a and says why.
    counted = {"orders", "fills", "margin_rejections", "volume", "volume_usd", "fees_paid",
               "rebates_earned", "maker_volume_queue", "maker_volume_through",
               "maker_volume_cross"}
    assert {name for name in STAT_NAMES if not pd.isna(stats[name])} == counted
    assert all(stats[name] == 0 for name in counted)
    why = stats.attrs["n/a"]
    assert set(why) == set(STAT_NAMES) - counted
    assert why["sharpe"] == why["start"] == why["time_at_limit"] == NO_ROWS
    assert why["fill_ratio"] == "no orders" and why["maker_share"] == "no fills"


def test_an_empty_run_summary_plot_and_report_say_no_data(empty, tmp_path):
    text = empty.summary(file=io.StringIO())
    assert text.splitlines()[0] == "N" + NO_ROWS[1:]
    lines = dict(line.split(":", 1) for line in text.splitlines()[2:] if ":" in line)
    assert lines["Sharpe"].strip() == "n/a"           # the reason is said once, above
    assert lines["Percentage cancelled"].strip() == "n/a (no orders)"
    assert lines["Period"].strip() == "n/a"
    pytest.importorskip("matplotlib")
    fig = empty.plot()
    (ax,) = fig.axes
    assert [t.get_text() for t in ax.texts] == ["N" + NO_ROWS[1:]]
    pytest.importorskip("plotly")
    page = empty.report(tmp_path / "r.html").read_text()
    assert page.count('<p class="no-data">No data: the run recorded no balance rows') == 2
    assert 'class="chart"' not in page
    assert "<th>sharpe</th><td class=\"value\">n/a</td>" in page
    assert "<th>fill_ratio</th><td class=\"value\">n/a (no orders)</td>" in page


def test_signals_only_before_the_first_quote_are_no_data():
    rows = [quote(5, 100.0, 10, 100.5, 10), quote(9, 100.0, 10, 100.5, 10)]
    result, _ = run(rows, [1, 2], lambda c: None)
    assert len(result.balances) == 2 and result.balances["nav"].isna().all()
    stats = result.stats()
    assert stats.attrs["n/a"]["pnl"] == ("no data: no balance row has a NAV (every signal "
                                         "came before the first quote)")


def test_a_ten_minute_run_reads_n_a_for_its_ratios_with_the_reason():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(300, 101.0, 10, 101.5, 10),
            quote(600, 99.0, 10, 99.5, 10), quote(700, 99.0, 10, 99.5, 10)]
    result, _ = run(rows, [1, 301, 601], lambda c: c.market(10), contract=INV, balance=1.0)
    stats = result.stats()
    assert stats["duration"] == 600.0
    why = stats.attrs["n/a"]
    assert np.isnan(stats["annual_return"]) and np.isnan(stats["sharpe"])
    assert why["annual_return"] == "the run spans 10 min, under the 1 d needed to annualise"
    assert why["sharpe"] == ("1 NAV return(s) sampled every 1 h over 10 min; at least 2 are "
                             "needed (pass a shorter freq)")
    text = result.summary(file=io.StringIO())
    assert ("Annualised return:            n/a (the run spans 10 min, under the 1 d needed to "
            "annualise)") in text.splitlines()
    # Sampled every minute, the ratios are defined.
    assert np.isfinite(result.stats(freq="1min")["sharpe"])


def test_a_negative_equity_without_margin_gives_no_warning_and_no_nan():
    # Margin off: 1 BTC buys 1000 contracts at 100.5; the mid falls to 50.25 and 40.25.
    # NAV (USD) = (1 + 1000 (1/100.5 - 1/M)) M at each mark: negative from the first fall.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(H, 50.0, 10, 50.5, 10),
            quote(2 * H, 40.0, 10, 40.5, 10), quote(3 * H, 40.0, 10, 40.5, 10)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result, _ = run(rows, [1, H + 1, 2 * H + 1], lambda c: c.market(1000), contract=INV,
                        balance=1.0, leverage=None)
        stats = result.stats(freq="1h")
        result.summary(file=io.StringIO())
    nav = [(1 + 1000 * (1 / 100.5 - 1 / m)) * m for m in (50.25, 40.25)]
    assert result.balances["nav"].iloc[-2:].tolist() == pytest.approx(nav, rel=1e-12)
    assert nav[1] < nav[0] < 0
    # Sampled hourly from 00:00:01: NAV 100.25 (flat), then the two falls, on 100.25.
    returns = np.diff([100.25, nav[0], nav[1]]) / 100.25
    assert (returns < 0).all()       # a ratio of NAVs would read +24 % for the second fall
    assert stats["sharpe"] == pytest.approx(
        returns.mean() / returns.std(ddof=1) * np.sqrt(365 * 24), rel=1e-12)
    assert stats["return"] == pytest.approx((nav[1] - 100.25) / 100.25, rel=1e-12)
    pnl = 1000 * (1 / 100.5 - 1 / 40.25)
    assert stats["pnl"] == pytest.approx(pnl, rel=1e-12)
    finite = ["pnl", "pnl_usd", "return", "sharpe", "sortino", "max_drawdown",
              "max_drawdown_pct", "spread_pnl", "inventory_pnl", "fee_pnl", "funding_pnl"]
    assert np.isfinite(stats[finite].astype(float)).all()
