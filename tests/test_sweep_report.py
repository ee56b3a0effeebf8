"""Heatmap, stability and the HTML sweep report, on a hand-built sweep table."""
from __future__ import annotations

import itertools
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("plotly")

from mmsim.sweep.report import (  # noqa: E402
    heatmap, heatmap_data, levels, param_columns, render_report, stability, write_report,
)
from test_report import _chromium, _dump_dom, _Outline  # noqa: E402


@pytest.fixture()
def table():
    """12 combinations of gamma x k x latency with sharpe = 10 gamma + k - latency.

    The run (gamma 0.2, k 3, latency 0.5), which would be the best, failed.
    """
    rows = []
    for gamma, k, latency in itertools.product([0.1, 0.2], [1, 2, 3], [0.5, 1.0]):
        sharpe = 10 * gamma + k - latency
        rows.append({"gamma": gamma, "k": k, "latency": latency, "sharpe": sharpe,
                     "max_drawdown": 5.0 - sharpe, "pnl": sharpe / 100, "fills": 10 * k,
                     "status": "ok", "error": "", "wall_time": 0.25, "key": f"run{len(rows)}"})
    frame = pd.DataFrame(rows)
    bad = (frame["gamma"] == 0.2) & (frame["k"] == 3) & (frame["latency"] == 0.5)
    frame.loc[bad, ["sharpe", "max_drawdown", "pnl", "fills"]] = np.nan
    frame.loc[bad, ["status", "error"]] = ["error", "ValueError: gamma too large"]
    return frame


def test_param_columns(table):
    assert param_columns(table) == ["gamma", "k", "latency"]
    # a swept start is a parameter; the statistic of that name is stats.start
    spans = table.assign(start="2019-04-01", **{"stats.start": "2019-04-01 00:01"})
    assert param_columns(spans) == ["gamma", "k", "latency", "start"]
    table.attrs["params"] = ["k", "gamma"]
    assert param_columns(table) == ["k", "gamma"]


def test_heatmap_data_others_best(table):
    grid = heatmap_data(table, "k", "gamma", "sharpe")
    assert list(grid.index) == [0.1, 0.2] and list(grid.columns) == [1, 2, 3]
    # best over latency is latency 0.5: 10 gamma + k - 0.5, except the failed cell
    # (0.2, 3), whose best successful run has latency 1.0: 2 + 3 - 1 = 4.
    assert grid.to_numpy().tolist() == [[1.5, 2.5, 3.5], [2.5, 3.5, 4.0]]


def test_heatmap_data_fixed_other_and_min_direction(table):
    grid = heatmap_data(table, "k", "gamma", "sharpe", others={"latency": 1.0})
    assert grid.to_numpy().tolist() == [[1.0, 2.0, 3.0], [2.0, 3.0, 4.0]]
    # max_drawdown = 5 - sharpe, lowest is best: 5 - (best sharpe)
    grid = heatmap_data(table, "k", "gamma", ("max_drawdown", "min"))
    assert grid.to_numpy().tolist() == [[3.5, 2.5, 1.5], [2.5, 1.5, 1.0]]


def test_heatmap_bad_input(table):
    with pytest.raises(ValueError, match=r"x must be one of the swept parameters .*'sharpe'"):
        heatmap_data(table, "sharpe", "gamma")
    with pytest.raises(ValueError, match="x and y must be different"):
        heatmap_data(table, "k", "k")
    with pytest.raises(ValueError, match="others must be 'best' or a dict"):
        heatmap_data(table, "k", "gamma", others="worst")
    with pytest.raises(ValueError, match="no successful run has the parameters"):
        heatmap_data(table, "k", "gamma", others={"latency": 7.0})
    with pytest.raises(ValueError, match="others must not fix the axis parameter 'k'"):
        heatmap_data(table, "k", "gamma", others={"k": 1})
    with pytest.raises(KeyError, match="'calmar' is not a column"):
        heatmap_data(table, "k", "gamma", "calmar")
    with pytest.raises(ValueError, match="backend must be 'plotly' or 'matplotlib'"):
        heatmap(table, "k", "gamma", backend="bokeh")


@pytest.mark.parametrize("call", [
    lambda records: param_columns(records),
    lambda records: heatmap_data(records, "k", "gamma"),
    lambda records: stability(records),
    lambda records: render_report(records),
])
def test_report_functions_refuse_a_table_that_is_not_a_frame(table, call):
    records = table.to_dict("records")
    with pytest.raises(TypeError, match=r"^table must be a pandas.DataFrame \(a sweep table\), "
                                        r"got list$"):
        call(records)


def test_render_report_arguments(table):
    with pytest.raises(ValueError, match="^render_report needs a table or a walk_forward$"):
        render_report()
    for top, error, message in ((0, ValueError, ">= 1, got 0"), (-1, ValueError, ">= 1, got -1"),
                                (2.5, ValueError, "a whole number, got 2.5"),
                                (True, TypeError, "an integer, got True")):
        with pytest.raises(error, match=rf"^top must be {message}$"):
            render_report(table, top=top)
    with pytest.raises(ValueError, match=r"^give both x and y for the heatmap, or neither "
                                         r"\(got x='k', y=None\)$"):
        render_report(table, x="k")
    with pytest.raises(ValueError, match=r"^give both x and y for the heatmap, or neither "
                                         r"\(got x=None, y='gamma'\)$"):
        render_report(table, y="gamma")


def test_heatmap_figures(table):
    fig = heatmap(table, "k", "gamma", "sharpe")
    (trace,) = fig.data
    assert list(trace.x) == ["1", "2", "3"] and list(trace.y) == ["0.1", "0.2"]
    assert np.asarray(trace.z).tolist() == [[1.5, 2.5, 3.5], [2.5, 3.5, 4.0]]
    assert fig.layout.title.text == "sharpe over k and gamma (other parameters at their best)"
    pytest.importorskip("matplotlib")
    mfig = heatmap(table, "k", "gamma", "sharpe", others={"latency": 1.0},
                   backend="matplotlib")
    (ax, _colorbar) = mfig.axes
    assert np.ma.getdata(ax.images[0].get_array()).tolist() == [[1.0, 2.0, 3.0],
                                                                 [2.0, 3.0, 4.0]]
    assert [t.get_text() for t in ax.texts] == ["1", "2", "3", "2", "3", "4"]
    assert ax.get_title() == "sharpe over k and gamma (other parameters latency=1.0)"


def test_stability(table):
    s = stability(table, "sharpe")
    gamma = s[s["parameter"] == "gamma"]
    # gamma 0.1: 1 + k - latency over k = 1..3 and latency 0.5, 1: {1.5, 1, 2.5, 2, 3.5, 3}
    # gamma 0.2 (5 runs, one failed): {2.5, 2, 3.5, 3, 4}
    assert gamma[["value", "runs", "mean", "best", "worst"]].to_numpy().tolist() == [
        [0.1, 6, 2.25, 3.5, 1.0], [0.2, 5, 3.0, 4.0, 2.0]]
    assert list(s["parameter"]) == ["gamma"] * 2 + ["k"] * 3 + ["latency"] * 2
    latency = s[s["parameter"] == "latency"]
    # latency 0.5: 10 gamma + k - 0.5 without (0.2, 3): {1.5, 2.5, 3.5, 2.5, 3.5}
    assert latency["mean"].tolist() == [2.7, 2.5]
    low = stability(table, ("max_drawdown", "min"), ["k"])
    # k = 3: max_drawdown = 5 - sharpe over {3.5, 3, 4}: best (lowest) 1, worst 2
    assert low[["best", "worst"]].to_numpy().tolist()[2] == [1.0, 2.0]


@pytest.fixture()
def page(table, tmp_path):
    return write_report(table, tmp_path / "out" / "sweep.html", stat="sharpe", top=5,
                  notes={"data": "hand-built"})


def test_report_structure(page):
    text = page.read_text(encoding="utf-8")
    outline = _Outline()
    outline.feed(text)
    assert outline.title == "mmsim sweep"
    assert outline.sections == ["summary", "heatmap", "top", "stability", "failures"]
    assert outline.charts == ["chart-heatmap", "chart-stability-gamma", "chart-stability-k",
                              "chart-stability-latency"]
    summary = {row[0]: row[1] for row in outline.tables["summary"]}
    assert (summary["runs"], summary["ok"], summary["failed"]) == ("12", "11", "1")
    assert summary["data"] == "hand-built" and summary["total run time, s"] == "3"
    top, stab, failures = outline.tables["sortable"][:6], outline.tables["sortable"][6:14], \
        outline.tables["sortable"][14:]
    assert top[0][:5] == ["rank", "gamma", "k", "latency", "sharpe"]
    # best first: (0.2, 3, 1.0) = 4, then (0.1, 3, 0.5) and (0.2, 2, 0.5) = 3.5 in table order
    assert [row[:5] for row in top[1:4]] == [["1", "0.2", "3", "1", "4"],
                                             ["2", "0.1", "3", "0.5", "3.5"],
                                             ["3", "0.2", "2", "0.5", "3.5"]]
    assert stab[0] == ["parameter", "value", "runs", "mean", "best", "worst"]
    assert stab[1] == ["gamma", "0.1", "6", "2.25", "3.5", "1"]
    assert failures == [["gamma", "k", "latency", "error"],
                        ["0.2", "3", "0.5", "ValueError: gamma too large"]]
    # self-contained: no external script or stylesheet, plotly.js inline once
    assert outline.script_srcs == [] and outline.links == []
    assert text.count("* plotly.js v") == 1
    # sort keys: numbers sort by value, not by their text
    assert 'data-v="4.0"' in text


@pytest.mark.skipif(_chromium() is None, reason="no chromium/chromium-browser/google-chrome on PATH")
def test_report_renders_and_sorts_in_headless_chromium(page, tmp_path):
    # Clicking the "k" heading of the top runs sorts them by k; the page records the order.
    probe = page.with_name("probe.html")
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", """<script>
    var th = document.querySelectorAll("#top table.sortable th")[2]; th.click();
    var ks = Array.from(document.querySelectorAll("#top tbody tr")).map(r => r.cells[2].textContent);
    document.body.setAttribute("data-sorted", ks.join(","));
    </script></body>"""), encoding="utf-8")
    dom = _dump_dom(probe, tmp_path)
    assert 'data-sorted="2,2,3,3,3"' in dom
    # plotly drew the heatmap (its "hm" layer) and the three lines of a stability chart
    blocks = {}
    for div in ("chart-heatmap", "chart-stability-gamma"):
        start = dom.index(f'id="{div}"')
        blocks[div] = dom[start:dom.find('class="chart"', start)]
    assert "main-svg" in blocks["chart-heatmap"] and 'class="hm"' in blocks["chart-heatmap"]
    assert len(re.findall(r'class="trace scatter', blocks["chart-stability-gamma"])) == 3


def test_continuous_parameters_are_binned():
    # 16 distinct values of p (a search), q in two values: p is cut into 8 equal bins of
    # width 15/8 = 1.875, each holding two consecutive integers.
    table = pd.DataFrame({"p": np.arange(16), "q": [0, 1] * 8, "sharpe": np.arange(16.0),
                          "status": "ok"})
    s = stability(table, "sharpe", ["p"])
    assert s["value"].tolist() == ["0-1.88", "1.88-3.75", "3.75-5.62", "5.62-7.5",
                                   "7.5-9.38", "9.38-11.2", "11.2-13.1", "13.1-15"]
    assert s["runs"].tolist() == [2] * 8
    assert s["best"].tolist() == [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]
    assert s["mean"].tolist() == [0.5, 2.5, 4.5, 6.5, 8.5, 10.5, 12.5, 14.5]
    grid = heatmap_data(table, "p", "q", "sharpe")
    # even p have q = 0, odd p have q = 1: one of each per bin
    assert grid.to_numpy().tolist() == [[0.0, 2.0, 4.0, 6.0, 8.0, 10.0, 12.0, 14.0],
                                        [1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0]]
    # positive values spanning a factor of 100: geometric bins, exponents -2, -1.75, ..., 0;
    # the values' exponents -2 + 2k/15 fall two in each
    gamma = levels(pd.Series(10 ** np.linspace(-2, 0, 16)))
    assert list(gamma.cat.categories)[:2] == ["0.01-0.0178", "0.0178-0.0316"]
    assert gamma.value_counts(sort=False).tolist() == [2] * 8
