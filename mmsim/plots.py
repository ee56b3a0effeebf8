"""The standard charts of a run: their data, and matplotlib figures of them.

``quotes``     the market (best bid and ask, trades) with our working limit orders as
               horizontal segments and our fills as buy/sell markers sized by amount
``balance``    balance (settlement currency) and NAV (quote currency)
``drawdown``   how far the NAV is below its running peak, in the quote currency and in %
``pnl``        cumulative PnL split into spread capture, inventory, fees (and funding)
``daily_pnl``  PnL of each UTC day
``position``   position and its entry price (none while flat)
``price``      balance against the price (the mark, or a given series)
``orders``     mean slippage and open duration of orders, per bucket chosen from the span
``inventory``  histogram of the position, weighted by the time it was held
``margin``     equity and the initial margin it holds (equity - available)

:func:`chart_data` prepares each chart as plain pandas data, shared with the interactive HTML
report (:mod:`mmsim.report`); :func:`plot` draws it with matplotlib, imported only when called.

Long series are thinned to about ``max_points`` points. Lines keep, in each of
``max_points / 4`` time buckets, the rows holding the bucket's first, last, lowest and highest
value, so that no spike disappears; the quotes chart draws a thinned run with our best bid and
ask of each bucket and our fills summed per bucket and side, and says so in its ``note``.
A window that fits (``start=``, ``end=``) is drawn at full resolution.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmsim.stats import (
    daily_pnl,
    equity_curve,
    format_duration,
    inventory_profile,
    no_data,
    pnl_decomposition,
    underwater,
)

__all__ = ["KINDS", "Chart", "Segments", "Markers", "chart_data", "plot", "marker_sizes"]

#: Chart names accepted by :func:`plot` and :func:`chart_data`, in display order.
KINDS = ("quotes", "balance", "drawdown", "pnl", "daily_pnl", "position", "price", "orders",
         "inventory", "margin")

#: Bucket sizes tried, smallest first, for the per-bucket means of the ``orders`` chart.
_STEPS = ("1s", "5s", "15s", "1min", "5min", "15min", "1h", "4h", "1D", "7D")
#: The ``orders`` chart aims at no more buckets than this over the run.
_ORDER_BUCKETS = 48

#: Colours shared by the matplotlib and plotly drawings.
COLORS = {"bid": "#6baed6", "ask": "#fc9272", "mid": "#999999", "trades": "#555555",
          "our bids": "#08519c", "our asks": "#a50f15", "buys": "#2ca02c", "sells": "#d62728"}


@dataclass
class Segments:
    """Horizontal segments: one working order each (or one bucket's best price).

    Attributes
    ----------
    label : str
    frame : pandas.DataFrame
        Columns ``start``, ``end`` (UTC Timestamps) and ``price``.
    color : str
    """

    label: str
    frame: pd.DataFrame
    color: str


@dataclass
class Markers:
    """Points drawn as markers whose area grows with ``amount``.

    Attributes
    ----------
    label : str
    frame : pandas.DataFrame
        Time index; columns ``price`` and ``amount`` (unsigned; ``size``, the marker diameter
        in points, is derived from it).
    symbol : str
        ``"triangle-up"``, ``"triangle-down"`` or ``"circle"``.
    color : str
    """

    label: str
    frame: pd.DataFrame
    symbol: str
    color: str


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
    segments : list of Segments
        Drawn on the left axis (the quotes chart).
    markers : list of Markers
        Drawn on the left axis (the quotes chart).
    note : str
        What the reader should know to read the chart (e.g. how it was thinned).
    """

    kind: str
    title: str
    left: pd.DataFrame
    left_label: str
    right: pd.DataFrame | None = None
    right_label: str = ""
    style: str = "line"
    x_label: str = "time (UTC)"
    segments: list = field(default_factory=list)
    markers: list = field(default_factory=list)
    note: str = ""


def _ns(index) -> np.ndarray:
    return pd.DatetimeIndex(index).as_unit("ns").asi8


def _bucket(times: np.ndarray, t0: int, t1: int, n: int) -> np.ndarray:
    """Index of the bucket (of ``n`` equal ones over ``[t0, t1]``) holding each time."""
    span = max(t1 - t0, 1)
    return np.clip((times - t0) * n // span, 0, n - 1).astype(np.int64)


def _envelope_rows(times: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Positions of the first, last, lowest and highest non-NaN value of each of ``n``
    buckets, in time order."""
    idx = np.flatnonzero(~np.isnan(values))
    if len(idx) == 0:
        return idx
    b = _bucket(times[idx], times[idx[0]], times[idx[-1]], n)
    first = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    last = np.r_[first[1:], len(b)] - 1
    by_value = np.lexsort((values[idx], b))          # by bucket, then value
    return np.unique(np.concatenate([idx[first], idx[last], idx[by_value[first]],
                                     idx[by_value[last]]]))


def _thin(frame: pd.DataFrame, max_points: int) -> pd.DataFrame:
    """At most about ``max_points`` rows of a time-indexed frame: each column keeps the
    first, last, lowest and highest row of each of ``max_points / 4`` buckets; the others
    are dropped (a step line through the rows kept draws the column's range in each bucket)."""
    if len(frame) <= max_points:
        return frame
    times = _ns(frame.index)
    keep = np.unique(np.concatenate(
        [_envelope_rows(times, frame[c].to_numpy(dtype=float), max(1, max_points // 4))
         for c in frame.columns] + [[0, len(frame) - 1]]))
    return frame.iloc[keep]


def _window(start, end) -> tuple[int | None, int | None]:
    from mmsim.data.schema import bound_ns

    lo, hi = bound_ns(start, "start"), bound_ns(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise ValueError(f"end ({end}) must be after start ({start})")
    return lo, hi


def _between(frame: pd.DataFrame, lo: int | None, hi: int | None) -> pd.DataFrame:
    """Rows of a time-indexed frame in ``[lo, hi)`` (int64 ns bounds, None: open)."""
    times = _ns(frame.index)
    a = 0 if lo is None else np.searchsorted(times, lo, "left")
    b = len(times) if hi is None else np.searchsorted(times, hi, "left")
    return frame.iloc[a:b]


def _working_orders(result, lo: int | None, hi: int | None) -> pd.DataFrame:
    """Limit orders with their side, price and life ``[live, end)`` overlapping the window;
    an order still open at the end of the run lives to the last balance row."""
    orders = result.orders
    if not len(orders):
        return pd.DataFrame({"side": [], "price": [], "start": [], "end": []})
    run_end = _ns(result.balances.index)[-1] if len(result.balances) else np.iinfo(np.int64).max
    live = _ns(orders["live"])
    closed = _ns(orders["closed"])
    nat = np.iinfo(np.int64).min
    end = np.where(closed == nat, max(run_end, 0), closed)
    price = orders["price"].to_numpy(dtype=float)
    # Follow-limit orders move with the market: their one recorded price is not a level held.
    keep = ((orders["type"].astype(str) == "limit").to_numpy() & (live != nat)
            & np.isfinite(price) & (end > live))
    if lo is not None:
        keep &= end > lo
    if hi is not None:
        keep &= live < hi
    start = live[keep] if lo is None else np.maximum(live[keep], lo)
    stop = end[keep] if hi is None else np.minimum(end[keep], hi)
    return pd.DataFrame({"side": orders["side"].to_numpy()[keep], "price": price[keep],
                         "start": start, "end": stop})


def _segments(working: pd.DataFrame, side: int, t0: int, t1: int, n: int | None) -> pd.DataFrame:
    """Our orders of one side as segments; with ``n``, one per bucket at the best price
    (highest bid, lowest ask) any order of that side held in it."""
    rows = working[working["side"] == side]
    if n is None or not len(rows):
        frame = rows[["start", "end", "price"]]
    else:
        b0 = _bucket(rows["start"].to_numpy(), t0, t1, n)
        b1 = _bucket(rows["end"].to_numpy() - 1, t0, t1, n)
        counts = b1 - b0 + 1
        owner = np.repeat(np.arange(len(rows)), counts)
        bucket = b0[owner] + np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts,
                                                                 counts)
        prices = pd.Series(rows["price"].to_numpy()[owner]).groupby(bucket)
        best = prices.max() if side > 0 else prices.min()
        edges = t0 + (np.arange(n + 1) * max(t1 - t0, 1)) // n
        frame = pd.DataFrame({"start": edges[best.index], "end": edges[best.index + 1],
                              "price": best.to_numpy()})
    return pd.DataFrame({"start": pd.to_datetime(frame["start"].to_numpy(), utc=True),
                         "end": pd.to_datetime(frame["end"].to_numpy(), utc=True),
                         "price": frame["price"].to_numpy(dtype=float)})


def _fill_markers(fills: pd.DataFrame, t0: int, t1: int, n: int | None) -> list:
    """Our fills as buy and sell markers; with ``n``, summed per bucket and side (at the
    amount-weighted price, placed at the bucket's first fill)."""
    out = []
    amount = fills["amount"].to_numpy(dtype=float)
    for side, label, symbol in ((1, "buys", "triangle-up"), (-1, "sells", "triangle-down")):
        mine = fills[(np.sign(amount) == side)]
        frame = pd.DataFrame({"price": mine["price"].to_numpy(dtype=float),
                              "amount": mine["amount"].abs().to_numpy(dtype=float)},
                             index=mine.index)
        if n is not None and len(frame):
            b = _bucket(_ns(frame.index), t0, t1, n)
            frame["value"] = frame["price"] * frame["amount"]
            frame["time"] = frame.index
            g = frame.groupby(b).agg(time=("time", "first"), amount=("amount", "sum"),
                                     value=("value", "sum"))
            frame = pd.DataFrame({"price": (g["value"] / g["amount"]).to_numpy(),
                                  "amount": g["amount"].to_numpy()},
                                 index=pd.DatetimeIndex(g["time"], name="time"))
        out.append(Markers(label, frame, symbol, COLORS[label]))
    return out


def _quotes(result, max_points: int, taq, start, end) -> Chart:
    """The quotes-and-fills chart (see :func:`chart_data`)."""
    lo, hi = _window(start, end)
    balances = _between(result.balances, lo, hi)
    fills = _between(result.fills, lo, hi)
    working = _working_orders(result, lo, hi)
    if taq is not None:
        market = _between(taq, lo, hi)
        trades = market[(market["amount"].to_numpy() != 0)]
        quotes = market[["bid_price", "ask_price"]].rename(
            columns={"bid_price": "bid", "ask_price": "ask"})
        # Only the rows where the best bid or ask changed shape the step lines.
        values = quotes.to_numpy(dtype=float)
        moved = np.r_[True, (np.nan_to_num(np.diff(values, axis=0), nan=1.0) != 0).any(axis=1)]
        quotes = quotes[moved]
        market_label = "best bid and ask, trades"
    else:
        marks = balances["mark"] if "mark" in balances else equity_curve(result)["mark"]
        quotes = pd.DataFrame({"mid": marks.reindex(balances.index).to_numpy(dtype=float)},
                              index=balances.index)
        trades = None
        market_label = "the mid at our signals and fills (pass taq= for the bid, ask and trades)"
    times = [_ns(f.index) for f in (quotes, balances, fills) if len(f)]
    times += [working[c].to_numpy() for c in ("start", "end") if len(working)]
    t0 = int(min(t.min() for t in times)) if times else 0
    t1 = int(max(t.max() for t in times)) if times else 0
    if lo is not None:
        t0 = lo
    if hi is not None:
        t1 = hi
    n = max(1, max_points // 4)
    sides = [(working["side"] == s).sum() for s in (1, -1)] if len(working) else [0, 0]
    thin = {"market": len(quotes) > max_points,
            "trades": trades is not None and len(trades) > max_points,
            "orders": max(sides) > max_points, "fills": len(fills) > max_points}
    left = _thin(quotes, max_points)
    segments = [Segments(label, _segments(working, side, t0, t1, n if thin["orders"] else None),
                         COLORS[label])
                for side, label in ((1, "our bids"), (-1, "our asks"))] if len(working) else []
    markers = []
    if trades is not None:
        kept = _thin(trades[["price"]], max_points) if thin["trades"] else trades
        markers.append(Markers("trades", pd.DataFrame(
            {"price": kept["price"].to_numpy(dtype=float),
             "amount": np.zeros(len(kept))}, index=kept.index), "circle", COLORS["trades"]))
    markers += _fill_markers(fills, t0, t1, n if thin["fills"] else None)
    note = ""
    if any(thin.values()):
        bucket = format_duration((t1 - t0) / n / 1e9)
        what = [name for name, yes in thin.items() if yes]
        note = (f"Thinned for the page ({', '.join(what)}): {n:,} buckets of {bucket}; lines keep "
                "each bucket's first, last, lowest and highest value, our orders show each "
                "bucket's best bid and ask, our fills are summed per bucket and side. Draw a "
                "window at full resolution from Python: result.plot(\"quotes\", taq=taq, "
                "start=..., end=...).")
    return Chart("quotes", "Quotes and Fills", left, f"price ({result.contract.quote_currency})",
                 style="line" if thin["market"] else "step", segments=segments,
                 markers=markers, note=f"Market: {market_label}. {note}".strip())


def _order_step(span: pd.Timedelta) -> pd.Timedelta:
    """The smallest of :data:`_STEPS` giving at most :data:`_ORDER_BUCKETS` over ``span``."""
    for step in _STEPS:
        if span / pd.Timedelta(step) <= _ORDER_BUCKETS:
            return pd.Timedelta(step)
    return pd.Timedelta(_STEPS[-1])


def _held_unit(seconds: float) -> tuple[str, float]:
    """The unit to count time held in for a run of ``seconds``, and its length in seconds."""
    for name, length in (("seconds", 1.0), ("minutes", 60.0), ("hours", 3600.0)):
        if seconds <= 120 * length:
            return name, length
    return "days", 86400.0


def chart_data(result, kind: str, max_points: int = 2000, price: pd.Series | None = None,
               taq: pd.DataFrame | None = None, start=None, end=None) -> Chart:
    """Prepare one chart of a run.

    Parameters
    ----------
    result : mmsim.Result
    kind : str
        One of :data:`KINDS`.
    max_points : int, default 2000
        Time series longer than this are thinned to about this many points (see the
        module notes).
    price : pandas.Series, optional
        Price to draw in the ``price`` chart (e.g. 1-minute closes); by default the mark price
        recorded with the balances (see :func:`mmsim.stats.equity_curve`).
    taq : pandas.DataFrame, optional
        The TAQ data the run replayed: the ``quotes`` chart draws its best bid and ask and its
        trades (without it, the mid at our signals and fills).
    start, end : time-like, optional
        The window ``[start, end)`` of the ``quotes`` chart (naive times are UTC).

    Returns
    -------
    Chart

    Raises
    ------
    ValueError
        If ``kind`` is not one of :data:`KINDS`, ``max_points`` is below 8, or ``start`` or
        ``end`` is given for a chart other than ``quotes`` (or is not a time, or ``end`` is
        not after ``start``).
    """
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {list(KINDS)} (or 'all' for plot), got {kind!r}")
    if not (isinstance(max_points, (int, np.integer)) and max_points >= 8):
        raise ValueError(f"max_points must be an integer >= 8, got {max_points!r}")
    if kind != "quotes" and (start is not None or end is not None):
        raise ValueError(f"start and end select a window of the 'quotes' chart, not of {kind!r}")
    contract = result.contract
    ccy, quote = contract.settlement_currency, contract.quote_currency
    balances = result.balances
    if kind == "quotes":
        return _quotes(result, max_points, taq, start, end)
    if kind == "balance":
        data = _thin(balances[["total", "nav"]], max_points)
        return Chart(kind, "Balance and NAV", data[["total"]].rename(columns={"total": "balance"}),
                     f"balance ({ccy})", data[["nav"]], f"NAV ({quote})", style="step")
    if kind == "drawdown":
        curve = equity_curve(result)
        under = underwater(curve["nav"][np.isfinite(curve["nav"].to_numpy())])
        data = _thin(under[["drawdown_pct"]], max_points) * 100.0
        return Chart(kind, "Drawdown from the NAV Peak",
                     data.rename(columns={"drawdown_pct": "drawdown"}), "below the peak (%)",
                     style="step")
    if kind == "daily_pnl":
        daily = daily_pnl(result)
        return Chart(kind, "PnL per Day (UTC)", daily[["total"]].rename(columns={"total": "PnL"}),
                     f"PnL ({ccy})", style="bar", x_label="day (UTC)")
    if kind == "price":
        if price is None:
            price = equity_curve(result)["mark"].ffill().bfill().rename("price")
        price = pd.Series(price, name="price")
        return Chart(kind, "Balance vs. Price",
                     _thin(balances[["total"]].rename(columns={"total": "balance"}), max_points),
                     f"balance ({ccy})", _thin(price.to_frame(), max_points), f"price ({quote})")
    if kind == "margin":
        # DESIGN "Account": available = equity - initial margin, so the margin held is the
        # difference; both at the mark of each balance row.
        curve = equity_curve(result)
        data = pd.DataFrame({"equity": curve["equity"],
                             "margin used": curve["equity"] - balances["available"]},
                            index=balances.index)
        return Chart(kind, "Equity and Margin Used", _thin(data, max_points), ccy, style="step")
    if kind == "position":
        data = _thin(result.positions[["amount", "weighted_price"]], max_points)
        return Chart(kind, "Position and Entry Price",
                     data[["amount"]].rename(columns={"amount": "position"}),
                     f"position ({contract.amount_unit})",
                     data[["weighted_price"]].rename(columns={"weighted_price": "entry price"}),
                     f"entry price ({quote})", style="step")
    if kind == "orders":
        orders = result.orders[["slippage", "active_duration"]]
        span = balances.index[-1] - balances.index[0] if len(balances) else pd.Timedelta(0)
        step = _order_step(span)
        data = orders.resample(step).mean()
        return Chart(kind, f"Mean Slippage and Open Duration per {format_duration(step)}",
                     data[["slippage"]], f"slippage ({quote})",
                     data[["active_duration"]].rename(columns={"active_duration": "open duration"}),
                     "open duration (seconds)", style="marker")
    if kind == "inventory":
        profile = inventory_profile(result)
        q = profile["position"].to_numpy()
        lo, hi = float(q.min()), float(q.max())
        if lo == hi:
            lo, hi = lo - 0.5, hi + 0.5
        unit, length = _held_unit(float(profile["seconds"].sum()))
        # Time-weighted histogram: each position counts for the time it was held.
        held, edges = np.histogram(q, bins=min(50, max(1, len(np.unique(q)))), range=(lo, hi),
                                   weights=profile["seconds"].to_numpy() / length)
        centres = pd.Index((edges[:-1] + edges[1:]) / 2.0, name="position")
        return Chart(kind, "Inventory Distribution (time-weighted)",
                     pd.DataFrame({unit: held}, index=centres), f"{unit} held",
                     style="bar", x_label=f"position ({contract.amount_unit})")
    decomposition = pnl_decomposition(result)
    if not len(result.funding):
        decomposition = decomposition.drop(columns="funding")   # a run without funding
    return Chart(kind, "Cumulative PnL Decomposition", _thin(decomposition, max_points),
                 f"PnL ({ccy})")


def _plain_ticks(ax) -> None:
    """Tick labels as plain numbers: no offset (``+6.18e4``) or scientific factor."""
    from matplotlib.ticker import ScalarFormatter

    formatter = ScalarFormatter(useOffset=False)
    formatter.set_scientific(False)
    ax.yaxis.set_major_formatter(formatter)


def _draw(ax, chart: Chart, span=None) -> None:
    """Draw ``chart`` on a matplotlib Axes (and a twin Axes for the right series)."""
    colors = iter(["C0", "C1", "C2", "C3", "C4", "C5"])
    handles = []
    if chart.style == "bar":
        x = chart.left.index
        if isinstance(x, pd.DatetimeIndex):
            x, width = x.tz_convert(None).to_numpy(), 0.8          # days on a date axis
        else:
            x = x.to_numpy()
            width = (x[1] - x[0]) * 0.9 if len(x) > 1 else 0.8
        for col in chart.left.columns:
            handles.append(ax.bar(x, chart.left[col].to_numpy(), width=width, color=next(colors),
                                  label=col))
    else:
        kw = {"step": {"drawstyle": "steps-post"}, "marker": {"marker": "o"}}.get(chart.style, {})
        for col in chart.left.columns:
            color = COLORS.get(col) or next(colors)
            handles += ax.plot(chart.left.index, chart.left[col].to_numpy(), color=color,
                               label=col, **kw)
        for seg in chart.segments:
            if len(seg.frame):
                handles.append(ax.hlines(seg.frame["price"], seg.frame["start"], seg.frame["end"],
                                         color=seg.color, linewidth=2.0, label=seg.label))
        for mark in chart.markers:
            if len(mark.frame):
                handles.append(ax.scatter(mark.frame.index, mark.frame["price"],
                                          s=marker_sizes(mark.frame["amount"], 3.0, 9.0) ** 2,
                                          marker={"triangle-up": "^", "triangle-down": "v"}.get(
                                              mark.symbol, "."),
                                          color=mark.color, label=mark.label, zorder=3))
        _plain_ticks(ax)
        if chart.right is not None:
            twin = ax.twinx()
            for col in chart.right.columns:
                handles += twin.plot(chart.right.index, chart.right[col].to_numpy(),
                                     color=next(colors), label=col, **kw)
            twin.set_ylabel(chart.right_label)
            _plain_ticks(twin)
    if isinstance(chart.left.index, pd.DatetimeIndex):
        from matplotlib.dates import AutoDateLocator, ConciseDateFormatter

        locator = AutoDateLocator()
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
        if chart.style != "bar" and span is not None and span[1] > span[0]:
            # The run's span, not what a locator makes of one or two points.
            ax.set_xlim(span[0].tz_convert(None), span[1].tz_convert(None))
    ax.set_title(chart.title)
    ax.set_ylabel(chart.left_label)
    ax.set_xlabel(chart.x_label)
    ax.legend(handles=handles, loc="best", fontsize="small")


def marker_sizes(amount: pd.Series, small: float, large: float) -> np.ndarray:
    """Marker diameters from ``small`` to ``large``, the area growing with the amount.

    Parameters
    ----------
    amount : pandas.Series
        Unsigned amounts; all 0 (market trades) gives ``small / 2`` each.
    small, large : float
        Diameters of the smallest and the largest amount.

    Returns
    -------
    numpy.ndarray
    """
    a = np.abs(amount.to_numpy(dtype=float))
    top = a.max() if len(a) else 0.0
    if top > 0:
        return small + (large - small) * np.sqrt(a / top)
    return np.full(len(a), small / 2.0)


def plot(result, kind: str = "all", max_points: int = 2000, price: pd.Series | None = None,
         figsize=None, taq: pd.DataFrame | None = None, start=None, end=None):
    """Draw one chart, or all of them, as a matplotlib Figure.

    Parameters
    ----------
    result : mmsim.Result
    kind : str, default "all"
        One of :data:`KINDS`, or ``"all"`` for every chart in a 5 x 2 grid.
    max_points, price, taq, start, end
        See :func:`chart_data`; ``result.plot("quotes", taq=taq, start=..., end=...)`` draws
        a window at full resolution when it has at most ``max_points`` rows of each kind.
    figsize : tuple of float, optional
        Figure size in inches; (10, 4) for one chart, (14, 21) for all.

    Returns
    -------
    matplotlib.figure.Figure
        Not attached to pyplot: show it in a notebook by evaluating it, or save it with
        ``fig.savefig(path)``. A run without data gives one panel saying so.

    Raises
    ------
    ValueError
        If ``kind`` is not known, or as :func:`chart_data`.
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
        figsize = (14, 21) if kind == "all" else (10, 4)
    fig = Figure(figsize=figsize, layout="constrained")
    empty = no_data(result)
    if empty:
        ax = fig.subplots()
        ax.text(0.5, 0.5, empty[0].upper() + empty[1:], ha="center", va="center", wrap=True)
        ax.set_axis_off()
        return fig
    axes = fig.subplots(5, 2).ravel() if kind == "all" else [fig.subplots()]
    index = result.balances.index
    run = (index[0], index[-1])
    for ax, name in zip(axes, kinds):
        # The window is the quotes chart's: on "all" the other charts show the whole run.
        window = {"start": start, "end": end} if kind != "all" or name == "quotes" else {}
        chart = chart_data(result, name, max_points=max_points, price=price, taq=taq, **window)
        span = run
        if name == "quotes" and (start is not None or end is not None):
            lo, hi = _window(start, end)
            span = (run[0] if lo is None else pd.Timestamp(lo, tz="UTC"),
                    run[1] if hi is None else pd.Timestamp(hi, tz="UTC"))
        _draw(ax, chart, span)
    return fig
