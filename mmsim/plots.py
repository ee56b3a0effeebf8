"""The standard charts of a run: their data, and matplotlib figures of them.

The first four are the research notebook's charts; the last three are new:

``balance``    balance (settlement currency) and NAV (USD)
``price``      balance against the price (the mark recovered from the NAV, or a given series)
``position``   position and its entry price
``orders``     daily mean slippage and open duration of orders (hourly for runs under 2 days)
``inventory``  histogram of the position, weighted by the time it was held
``pnl``        cumulative PnL split into spread capture, inventory, fees (and funding)
``margin``     equity and the initial margin it holds (equity - available)

:func:`chart_data` prepares each chart as plain pandas data, shared with the interactive HTML
report (:mod:`mmsim.report`); :func:`plot` draws it with matplotlib, imported only when called.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from mmsim.stats import equity_curve, inventory_profile, no_data, pnl_decomposition

__all__ = ["KINDS", "Chart", "chart_data", "plot"]

#: Chart names accepted by :func:`plot` and :func:`chart_data`, in display order.
KINDS = ("balance", "price", "position", "orders", "inventory", "pnl", "margin")

#: Resampling steps tried, smallest first, to bring a line below ``max_points`` points.
_STEPS = ("1s", "5s", "15s", "1min", "5min", "15min", "1h", "4h", "1D", "7D")


@dataclass
class Chart:
    """One chart as data.

    Attributes
    ----------
    kind : str
        One of :data:`KINDS`.
    title : str
    left : pandas.DataFrame
        Series drawn against the left axis, one column each (for ``style="bar"``: the bar
        heights, indexed by bar centre).
    left_label : str
    right : pandas.DataFrame or None
        Series drawn against a second y axis on the right.
    right_label : str
    style : str
        ``"line"``, ``"marker"`` (line with a dot per value), ``"step"`` (piecewise
        constant) or ``"bar"``.
    x_label : str
    """

    kind: str
    title: str
    left: pd.DataFrame
    left_label: str
    right: pd.DataFrame | None = None
    right_label: str = ""
    style: str = "line"
    x_label: str = "time (UTC)"


def _thin(frame: pd.DataFrame, max_points: int, how: str = "last") -> pd.DataFrame:
    """Resample a time-indexed frame to at most ``max_points`` rows (unchanged if already fewer)."""
    if len(frame) <= max_points:
        return frame
    span = frame.index[-1] - frame.index[0]
    for step in _STEPS:
        if span / pd.Timedelta(step) <= max_points:
            break
    return getattr(frame.resample(step), how)().ffill()


def chart_data(result, kind: str, max_points: int = 2000, price: pd.Series | None = None) -> Chart:
    """Prepare one chart of a run.

    Parameters
    ----------
    result : mmsim.Result
    kind : str
        One of :data:`KINDS`.
    max_points : int, default 2000
        Time series longer than this are resampled (last value per step) to fit.
    price : pandas.Series, optional
        Price to draw in the ``price`` chart (e.g. 1-minute closes); by default the mark price
        recovered from the balances (see :func:`mmsim.stats.equity_curve`).

    Returns
    -------
    Chart

    Raises
    ------
    ValueError
        If ``kind`` is not one of :data:`KINDS` or ``max_points`` is below 2.
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)} (or 'all' for plot), got {kind!r}")
    if not (isinstance(max_points, (int, np.integer)) and max_points >= 2):
        raise ValueError(f"max_points must be an integer >= 2, got {max_points!r}")
    ccy = f"{result.contract.settlement} ccy"
    balances = result.balances
    if kind == "balance":
        data = _thin(balances[["total", "nav"]], max_points)
        return Chart(kind, "Balance and NAV", data[["total"]].rename(columns={"total": "balance"}),
                     f"balance ({ccy})", data[["nav"]], "NAV (USD)", style="step")
    if kind == "price":
        if price is None:
            price = equity_curve(result)["mark"].ffill().bfill().rename("price")
        price = pd.Series(price, name="price")
        return Chart(kind, "Balance vs. Price",
                     _thin(balances[["total"]].rename(columns={"total": "balance"}), max_points),
                     f"balance ({ccy})", _thin(price.to_frame(), max_points), "price")
    if kind == "margin":
        # DESIGN "Account": available = equity - initial margin, so the margin held is the
        # difference; both at the mark of each balance row.
        curve = equity_curve(result)
        data = pd.DataFrame({"equity": curve["equity"],
                             "margin used": curve["equity"] - balances["available"]},
                            index=balances.index)
        return Chart(kind, "Equity and Margin Used", _thin(data, max_points), f"{ccy}",
                     style="step")
    if kind == "position":
        data = _thin(result.positions[["amount", "weighted_price"]], max_points)
        return Chart(kind, "Position and Entry Price",
                     data[["amount"]].rename(columns={"amount": "position"}),
                     "position (contracts)",
                     data[["weighted_price"]].rename(columns={"weighted_price": "entry price"}),
                     "entry price", style="step")
    if kind == "orders":
        orders = result.orders[["slippage", "active_duration"]]
        span = balances.index[-1] - balances.index[0] if len(balances) else pd.Timedelta(0)
        freq, label = ("1D", "Daily") if span >= pd.Timedelta(days=2) else ("1h", "Hourly")
        data = orders.resample(freq).mean()
        return Chart(kind, f"Mean Slippage and Open Duration - {label}",
                     data[["slippage"]], "slippage (price)",
                     data[["active_duration"]].rename(columns={"active_duration": "open duration"}),
                     "open duration (seconds)", style="marker")
    if kind == "inventory":
        profile = inventory_profile(result)
        q = profile["position"].to_numpy()
        lo, hi = float(q.min()), float(q.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        # Time-weighted histogram: each position counts for the hours it was held.
        hours, edges = np.histogram(q, bins=min(50, max(1, len(np.unique(q)))), range=(lo, hi),
                                    weights=profile["seconds"].to_numpy() / 3600.0)
        centres = pd.Index((edges[:-1] + edges[1:]) / 2.0, name="position")
        return Chart(kind, "Inventory Distribution (time-weighted)",
                     pd.DataFrame({"hours": hours}, index=centres), "hours held",
                     style="bar", x_label="position (contracts)")
    decomposition = pnl_decomposition(result)
    if not len(result.funding):
        decomposition = decomposition.drop(columns="funding")   # a run without funding
    decomposition = _thin(decomposition, max_points)
    return Chart(kind, "Cumulative PnL Decomposition", decomposition, f"PnL ({ccy})")


def _draw(ax, chart: Chart) -> None:
    """Draw ``chart`` on a matplotlib Axes (and a twin Axes for the right series)."""
    colors = iter(["C0", "C1", "C2", "C3", "C4", "C5"])
    handles = []
    if chart.style == "bar":
        x = chart.left.index.to_numpy()
        width = (x[1] - x[0]) * 0.9 if len(x) > 1 else 0.8
        for col in chart.left.columns:
            handles.append(ax.bar(x, chart.left[col].to_numpy(), width=width, color=next(colors),
                                  label=col))
    else:
        kw = {"step": {"drawstyle": "steps-post"}, "marker": {"marker": "o"}}.get(chart.style, {})
        for col in chart.left.columns:
            handles += ax.plot(chart.left.index, chart.left[col].to_numpy(), color=next(colors),
                               label=col, **kw)
        if chart.right is not None:
            twin = ax.twinx()
            for col in chart.right.columns:
                handles += twin.plot(chart.right.index, chart.right[col].to_numpy(),
                                     color=next(colors), label=col, **kw)
            twin.set_ylabel(chart.right_label)
    if chart.style != "bar":
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    ax.set_title(chart.title)
    ax.set_ylabel(chart.left_label)
    ax.set_xlabel(chart.x_label)
    ax.legend(handles=handles, loc="best", fontsize="small")


def plot(result, kind: str = "all", max_points: int = 2000, price: pd.Series | None = None,
         figsize=None):
    """Draw one chart, or all of them, as a matplotlib Figure.

    Parameters
    ----------
    result : mmsim.Result
    kind : str, default "all"
        One of :data:`KINDS`, or ``"all"`` for every chart in a 4 x 2 grid.
    max_points, price
        See :func:`chart_data`.
    figsize : tuple of float, optional
        Figure size in inches; (10, 4) for one chart, (14, 13) for all.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot: show it in a notebook by evaluating it, or save it with
        ``fig.savefig(path)``. A run without data gives one panel saying so.

    Raises
    ------
    ValueError
        If ``kind`` is not known.
    ImportError
        If matplotlib is not installed (``pip install mmsim[plot]``).
    """
    if kind != "all" and kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)} or 'all', got {kind!r}")
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("plotting needs matplotlib: pip install 'mmsim[plot]'") from exc
    kinds = KINDS if kind == "all" else (kind,)
    if figsize is None:
        figsize = (14, 17) if kind == "all" else (10, 4)
    fig = Figure(figsize=figsize, layout="constrained")
    empty = no_data(result)
    if empty:
        ax = fig.subplots()
        ax.text(0.5, 0.5, empty[0].upper() + empty[1:], ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return fig
    axes = fig.subplots(4, 2).ravel() if kind == "all" else [fig.subplots()]
    for ax, name in zip(axes, kinds):
        _draw(ax, chart_data(result, name, max_points=max_points, price=price))
    for ax in axes[len(kinds):]:
        ax.set_visible(False)                   # the grid's spare cell
    return fig
