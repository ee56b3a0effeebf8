"""Seeing a sweep: heatmaps of a statistic over two parameters, parameter stability, HTML report.

Everything here reads a sweep table (one row per combination: the parameter columns, the
``result.stats()`` figures, ``status``, ``error``, ``wall_time``, ``key``), so it works the same
on the table :func:`mmsim.sweep` returns, on one read back from a store, and on the trials table
of :func:`mmsim.optimize`. Only rows with ``status == "ok"`` count.

A statistic is named as everywhere in :mod:`mmsim.sweep`: a column name (higher is better) or a
pair such as ``("max_drawdown", "min")`` (lower is better); "best" follows that direction.

The HTML report is one self-contained file: plotly.js inline once, the table sort a few lines of
plain JavaScript, no external assets (the page layout is that of :mod:`mmsim.report`).
"""
from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.checks import number
from mmsim.plots import chart_data
from mmsim.report import _format, _table, html_page, plotly_figure
from mmsim.stats import STAT_NAMES
from mmsim.sweep.walkforward import WalkForward, objective_values, parse_objective

__all__ = [
    "param_columns",
    "heatmap_data",
    "heatmap",
    "levels",
    "stability",
    "render_report",
    "write_report",
]

#: Columns of a sweep table that are neither parameters nor statistics.
RUN_COLUMNS = ("status", "error", "wall_time", "key", "result", "strategy", "finished",
               "peak_rss", "trial", "state", "window")

#: Statistics shown beside the objective in the table of top runs.
_TOP_STATS = ("pnl", "sharpe", "sortino", "max_drawdown_pct", "fills", "volume", "fee_pnl",
              "inventory_abs_mean")

#: Sorts a table of class "sortable" by the clicked column: numbers by their data-v value,
#: text otherwise; a second click reverses the order.
_SORT_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0], rows = Array.from(body.rows);
      var dir = th.dataset.dir === "asc" ? -1 : 1;
      table.querySelectorAll("th").forEach(function (h) { delete h.dataset.dir; });
      th.dataset.dir = dir === 1 ? "asc" : "desc";
      rows.sort(function (a, b) {
        var x = a.cells[col].dataset.v, y = b.cells[col].dataset.v;
        var nx = parseFloat(x), ny = parseFloat(y);
        if (!isNaN(nx) && !isNaN(ny)) { return dir * (nx - ny); }
        if (isNaN(nx) !== isNaN(ny)) { return isNaN(nx) ? 1 : -1; }
        return dir * String(x).localeCompare(String(y));
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""

_EXTRA_STYLE = """
table.sortable th { cursor: pointer; user-select: none; }
table.sortable th[data-dir="asc"]::after { content: " \\25B2"; }
table.sortable th[data-dir="desc"]::after { content: " \\25BC"; }
td.error { color: #a33; font-family: monospace; font-size: 0.85em; }
"""


def param_columns(table: pd.DataFrame) -> list[str]:
    """Names of the parameter columns of a sweep table, in table order.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep, walk-forward or trials table.

    Returns
    -------
    list of str
        ``table.attrs["params"]`` when the table carries it, else every column that is not a
        statistic of :data:`mmsim.stats.STAT_NAMES` nor one of :data:`RUN_COLUMNS` (a column
        named like a statistic is a parameter when the table also has ``stats.<name>``).

    Raises
    ------
    TypeError
        If ``table`` is not a DataFrame.
    """
    _check_table(table)
    named = table.attrs.get("params")
    if named is not None:
        return [c for c in named if c in table.columns]
    # A swept key named like a statistic (start, end) keeps its name and the statistic
    # becomes "stats.<name>".
    renamed = {str(c)[len("stats."):] for c in table.columns if str(c).startswith("stats.")}
    return [c for c in table.columns if (c not in STAT_NAMES or c in renamed)
            and c not in RUN_COLUMNS and not str(c).startswith("stats.")]


def _check_table(table) -> None:
    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas.DataFrame (a sweep table), got "
                        f"{type(table).__name__}")


def _ok(table: pd.DataFrame) -> pd.DataFrame:
    _check_table(table)
    return table[table["status"] == "ok"] if "status" in table.columns else table


def _check_param(table: pd.DataFrame, name, what: str) -> str:
    params = param_columns(table)
    if name not in params:
        raise ValueError(f"{what} must be one of the swept parameters {params}, got {name!r}")
    return name


def _stat_name(stat) -> str:
    return parse_objective(stat, "stat")[0]


def _lower_is_better(stat) -> bool:
    return parse_objective(stat, "stat")[1] == "min"


def _best(values: pd.Series, stat) -> float:
    """The best of ``values`` in the direction of ``stat`` (NaN when there are none)."""
    values = values.dropna()
    if values.empty:
        return float("nan")
    return float(values.min() if _lower_is_better(stat) else values.max())


def heatmap_data(table: pd.DataFrame, x: str, y: str, stat="sharpe", others="best",
                 bins: int = 8) -> pd.DataFrame:
    """The values of ``stat`` over the grid of two parameters, as a y-by-x frame.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep table.
    x, y : str
        Parameter columns on the horizontal and vertical axes.
    stat : str or tuple, default "sharpe"
        A column (higher is better) or ``(column, "min")`` (lower is better).
    others : "best" or dict, default "best"
        How the other parameters are set in each cell: ``"best"`` takes the best value of
        ``stat`` over all of them; a dict ``{parameter: value}`` keeps only the rows with those
        values (parameters it does not name are still at their best).
    bins : int, default 8
        An axis parameter with more distinct numeric values is binned (see :func:`levels`).

    Returns
    -------
    pandas.DataFrame
        Indexed by the sorted values (or bins) of ``y``, one column per sorted value of ``x``;
        NaN where no successful run has that pair.

    Raises
    ------
    ValueError
        If ``x`` or ``y`` is not a swept parameter, they are the same, ``others`` names an
        unknown parameter, or no successful run matches ``others``.
    """
    ok = _ok(table)
    _check_param(table, x, "x")
    _check_param(table, y, "y")
    if x == y:
        raise ValueError(f"x and y must be different parameters, got {x!r} for both")
    if isinstance(others, dict):
        for name, value in others.items():
            _check_param(table, name, "a key of others")
            if name in (x, y):
                raise ValueError(f"others must not fix the axis parameter {name!r}")
            ok = ok[ok[name] == value]
        if ok.empty:
            raise ValueError(f"no successful run has the parameters others={others!r}")
    elif not (isinstance(others, str) and others == "best"):
        raise ValueError(f"others must be 'best' or a dict of parameter values, got {others!r}")
    xs, ys = levels(table[x], bins), levels(table[y], bins)
    frame = pd.DataFrame({"x": xs[ok.index], "y": ys[ok.index],
                          "v": objective_values(ok, stat, "stat")})
    cells = frame.groupby(["y", "x"], dropna=False, observed=True)["v"].agg(
        lambda v: _best(v, stat))
    grid = cells.unstack("x")
    grid = grid.reindex(index=_order(ys), columns=_order(xs))
    grid.index.name, grid.columns.name = y, x
    return grid


def levels(values: pd.Series, bins: int = 8) -> pd.Series:
    """A parameter's values as the levels of a heatmap axis or a stability chart.

    Parameters
    ----------
    values : pandas.Series
        One parameter column.
    bins : int, default 8
        A numeric parameter with more distinct values than this (a search or a random
        sample) is cut into ``bins`` intervals: geometric when its values are positive and
        span a factor of 20 or more (as a log-uniform range does), equal-width otherwise.

    Returns
    -------
    pandas.Series
        ``values`` unchanged, or an ordered categorical of interval labels ``"lo-hi"``.
    """
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric or values.nunique() <= bins:
        return values
    lo, hi = float(values.min()), float(values.max())
    edges = np.geomspace(lo, hi, bins + 1) if lo > 0 and hi >= 20 * lo else \
        np.linspace(lo, hi, bins + 1)
    for digits in range(3, 17):
        labels = [f"{a:.{digits}g}-{b:.{digits}g}" for a, b in zip(edges[:-1], edges[1:])]
        if len(set(labels)) == bins:
            break
    return pd.cut(values, edges, labels=labels, include_lowest=True, ordered=True)


def _order(values: pd.Series) -> list:
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [c for c in values.cat.categories if (values == c).any()]
    return sorted(values.dropna().unique())


def heatmap(table: pd.DataFrame, x: str, y: str, stat="sharpe", others="best",
            backend="plotly", title: str | None = None, bins: int = 8):
    """Draw a heatmap of ``stat`` over two swept parameters.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep table.
    x, y, stat, others, bins
        See :func:`heatmap_data`.
    backend : {"plotly", "matplotlib"}, default "plotly"
    title : str, optional
        By default names the statistic and how the other parameters are set.

    Returns
    -------
    plotly.graph_objects.Figure or matplotlib.figure.Figure
        Each cell is annotated with its value.

    Raises
    ------
    ValueError
        For a bad ``backend`` or the errors of :func:`heatmap_data`.
    ImportError
        If the backend's library is not installed (``pip install 'mmsim[plot]'``).
    """
    if backend not in ("plotly", "matplotlib"):
        raise ValueError(f"backend must be 'plotly' or 'matplotlib', got {backend!r}")
    grid = heatmap_data(table, x, y, stat, others, bins)
    name = _stat_name(stat)
    if title is None:
        title = f"{name} over {x} and {y}"
        if [p for p in param_columns(table) if p not in (x, y)]:
            rest = "at their best" if others == "best" else ", ".join(
                f"{k}={v}" for k, v in others.items())
            title += f" (other parameters {rest})"
    z = grid.to_numpy(dtype=float)
    xs = [str(v) for v in grid.columns]
    ys = [str(v) for v in grid.index]
    text = [[_short(v) for v in row] for row in z]
    if backend == "plotly":
        try:
            import plotly.graph_objects as go
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("heatmap(backend='plotly') needs plotly: "
                              "pip install 'mmsim[plot]'") from exc
        fig = go.Figure(go.Heatmap(z=z, x=xs, y=ys, text=text, texttemplate="%{text}",
                                   colorscale="Viridis", colorbar={"title": {"text": name}},
                                   hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{name}=%{{z}}"
                                                 "<extra></extra>"))
        fig.update_layout(title=title, height=460, margin={"l": 70, "r": 40, "t": 50, "b": 50})
        # Category axes: parameter values are evenly spaced whatever their numeric gaps.
        fig.update_xaxes(title_text=x, type="category")
        fig.update_yaxes(title_text=y, type="category")
        return fig
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("heatmap(backend='matplotlib') needs matplotlib: "
                          "pip install 'mmsim[plot]'") from exc
    fig = Figure(figsize=(1.2 * len(xs) + 3, 0.8 * len(ys) + 2), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(np.ma.masked_invalid(z), origin="lower", aspect="auto", cmap="viridis")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    for i, row in enumerate(text):
        for j, label in enumerate(row):
            ax.text(j, i, label, ha="center", va="center", color="w", fontsize="small")
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label=name)
    return fig


def _short(value) -> str:
    return "" if not np.isfinite(value) else f"{value:.4g}"


def stability(table: pd.DataFrame, stat="sharpe", params=None, bins: int = 8) -> pd.DataFrame:
    """How ``stat`` varies with each parameter on its own.

    Parameters
    ----------
    table : pandas.DataFrame
        A sweep table.
    stat : str or tuple, default "sharpe"
        See :func:`heatmap_data`.
    params : list of str, optional
        Parameters to look at; by default every swept parameter with more than one value.
    bins : int, default 8
        Numeric parameters with more distinct values are binned (see :func:`levels`).

    Returns
    -------
    pandas.DataFrame
        One row per (parameter, value), values sorted: ``parameter, value, runs`` (successful
        runs with that value), ``mean`` (of ``stat`` over them, NaN values left out), ``best``
        and ``worst`` (in the direction of ``stat``).
    """
    ok = _ok(table)
    if params is None:
        params = [p for p in param_columns(table) if table[p].nunique(dropna=False) > 1]
    values = objective_values(ok, stat, "stat")
    rows = []
    lower = _lower_is_better(stat)
    for name in params:
        _check_param(table, name, "params")
        for value, v in values.groupby(levels(table[name], bins)[ok.index], dropna=False,
                                       sort=True, observed=True):
            finite = v.dropna()
            rows.append({"parameter": name, "value": value, "runs": int(len(v)),
                         "mean": float(finite.mean()) if len(finite) else float("nan"),
                         "best": _best(finite, stat),
                         "worst": float(finite.max() if lower else finite.min())
                         if len(finite) else float("nan")})
    frame = pd.DataFrame(rows, columns=["parameter", "value", "runs", "mean", "best", "worst"])
    # Keep each value as swept (an int stays an int) rather than one common dtype.
    frame["value"] = pd.Series([r["value"] for r in rows], dtype=object)
    return frame


# -- HTML ------------------------------------------------------------------------------------


def _cell(value) -> str:
    """A table cell carrying its sort key: the number, or the text."""
    if isinstance(value, (bool, np.bool_)):
        key = int(value)
    elif isinstance(value, (int, float, np.integer, np.floating)):
        key = float(value) if np.isfinite(value) else ""
    elif isinstance(value, pd.Timedelta):
        key = value.total_seconds()
    else:
        key = str(value)
    css = ' class="value"' if isinstance(value, (int, float, np.number)) else ""
    return (f'<td{css} data-v="{html.escape(str(key), quote=True)}">'
            f"{html.escape(_format(value))}</td>")


def _frame_table(frame: pd.DataFrame, css: str = "sortable") -> str:
    """A sortable HTML table of a frame (its index is not shown)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    body = "".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>"
                   for row in frame.itertuples(index=False, name=None))
    return (f'<table class="{css}"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


def _top_runs(table: pd.DataFrame, stat, top: int) -> pd.DataFrame:
    ok = _ok(table)
    name = _stat_name(stat)
    values = objective_values(ok, stat, "stat")
    best = values.sort_values(ascending=_lower_is_better(stat), na_position="last",
                              kind="stable").index[:top]
    params = param_columns(table)
    cols = params + [c for c in _TOP_STATS if c in table.columns and c != name]
    cols += [c for c in ("state", "wall_time", "trial") if c in table.columns]
    rows = ok.loc[best, cols]
    # The objective itself (a column, or what a callable computed) follows the parameters.
    rows.insert(len(params), name, values[best])
    rows.insert(0, "rank", range(1, len(rows) + 1))
    return rows.reset_index(drop=True)


def _stability_figure(frame: pd.DataFrame, name: str, stat_label: str):
    import plotly.graph_objects as go

    xs = [str(v) for v in frame["value"]]
    fig = go.Figure()
    for col in ("mean", "best", "worst"):
        fig.add_trace(go.Scatter(x=xs, y=frame[col].to_numpy(dtype=float), name=col,
                                 mode="lines+markers"))
    fig.update_layout(title=f"{stat_label} against {name}", height=320,
                      margin={"l": 60, "r": 30, "t": 45, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    fig.update_xaxes(title_text=name, type="category")
    fig.update_yaxes(title_text=stat_label)
    return fig


def _walk_forward_figure(wf: WalkForward):
    import plotly.graph_objects as go

    windows = wf.windows
    labels = [str(w) for w in windows["window"]]
    fig = go.Figure()
    fig.add_trace(go.Bar(x=labels, y=windows["in_sample"].to_numpy(dtype=float),
                         name="in sample (train)"))
    fig.add_trace(go.Bar(x=labels, y=windows["out_of_sample"].to_numpy(dtype=float),
                         name="out of sample (test)"))
    fig.update_layout(title=f"{wf.objective_label} per window", barmode="group", height=380,
                      margin={"l": 60, "r": 30, "t": 45, "b": 40},
                      legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text="window", type="category")
    fig.update_yaxes(title_text=wf.objective_label)
    return fig


#: Figures compared in and out of sample, per walk-forward window.
_WINDOW_STATS = ("pnl", "sharpe", "max_drawdown_pct", "fills", "inventory_abs_mean")


def _in_and_out(wf: WalkForward) -> pd.DataFrame:
    """One row per window: each of :data:`_WINDOW_STATS` in sample and out of sample."""
    frame = pd.DataFrame({"window": wf.in_sample.index})
    for name in _WINDOW_STATS:
        if name in wf.in_sample.columns:
            frame[f"{name} in"] = wf.in_sample[name].to_numpy()
            frame[f"{name} out"] = wf.out_of_sample[name].to_numpy()
    return frame


def render_report(table: pd.DataFrame | None = None, stat="sharpe", x=None, y=None,
                        others="best", top: int = 20, walk_forward: WalkForward | None = None,
                        title: str = "mmsim sweep", notes: dict | None = None) -> str:
    """Build the HTML text of a sweep report.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        A sweep (or trials) table; by default the train sweep of ``walk_forward``.
    stat : str or tuple, default "sharpe"
        The statistic of the heatmap, the top runs and the stability charts (see
        :func:`heatmap_data`).
    x, y : str, optional
        Heatmap axes; by default the first two swept parameters with more than one value (no
        heatmap when there are fewer than two).
    others : "best" or dict, default "best"
        See :func:`heatmap_data`.
    top : int, default 20
        Rows in the table of top runs.
    walk_forward : WalkForward, optional
        Adds the windows, their in-sample and out-of-sample figures and the stitched
        out-of-sample equity curve.
    title : str, default "mmsim sweep"
    notes : dict, optional
        Extra ``name: value`` rows for the summary (data, executor, store, ...).

    Returns
    -------
    str
        A complete, self-contained HTML document.

    Raises
    ------
    ValueError
        If there is neither a table nor a walk-forward, or for a bad ``x``, ``y``, ``others``
        or ``top``.
    TypeError
        If ``table`` is not a DataFrame.
    ImportError
        If plotly is not installed (``pip install 'mmsim[plot]'``).
    """
    try:
        import plotly  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the sweep report needs plotly: pip install 'mmsim[plot]'") from exc
    if table is None and walk_forward is not None:
        table = walk_forward.table
    if table is None:
        raise ValueError("render_report needs a table or a walk_forward")
    _check_table(table)
    top = number(top, "top", integer=True, minimum=1)
    label = _stat_name(stat)
    varied = [p for p in param_columns(table) if table[p].nunique(dropna=False) > 1]
    if x is None and y is None and len(varied) >= 2:
        x, y = varied[0], varied[1]
    elif (x is None) != (y is None):
        raise ValueError(f"give both x and y for the heatmap, or neither (got x={x!r}, y={y!r})")

    status = table["status"] if "status" in table.columns else pd.Series("ok", index=table.index)
    summary = [("runs", len(table)), ("ok", int((status == "ok").sum())),
               ("failed", int((status != "ok").sum())), ("statistic", label),
               ("direction", "lower is better" if _lower_is_better(stat)
                else "higher is better"),
               ("parameters", ", ".join(param_columns(table)) or "none")]
    if "wall_time" in table.columns:
        summary.append(("total run time, s", float(table["wall_time"].sum())))
    summary += list((notes or {}).items())

    sections = [("summary", "Summary", [_table(summary, "summary")])]
    if x is not None:
        sections.append(("heatmap", "Heatmap", [("chart-heatmap",
                                                 heatmap(table, x, y, stat, others))]))
    sections.append(("top", f"Top {top} runs by {label}",
                     ['<p class="note">Click a column heading to sort.</p>',
                      _frame_table(_top_runs(table, stat, top))]))
    stab = stability(table, stat, varied)
    if len(stab):
        charts = [(f"chart-stability-{name}", _stability_figure(group, name, label))
                  for name, group in stab.groupby("parameter", sort=False)]
        sections.append(("stability", "Parameter stability",
                         [f'<p class="note">{html.escape(label)} of the successful runs with '
                          "each value of one parameter, the others at any value.</p>",
                          *charts, _frame_table(stab)]))
    failed = table[status != "ok"]
    if len(failed):
        cols = param_columns(table) + [c for c in ("error",) if c in table.columns]
        sections.append(("failures", f"Failed runs ({len(failed)})",
                         [_frame_table(failed[cols].head(50))]))
    if walk_forward is not None:
        wf = walk_forward
        stitched = chart_data(wf.result, "balance")
        stitched.title = f"Out of sample, test windows stitched: {stitched.title}"
        spec = [("windows", len(wf.windows)), ("train", wf.train), ("test", wf.test),
                ("step", wf.step), ("embargo", wf.embargo), ("objective", wf.objective_label)]
        sections.append(("walk-forward", "Walk-forward", [
            '<p class="note">The sections above cover the training runs of every window.</p>',
            _table(spec, "walk-forward-spec"),
            ("chart-walk-forward", _walk_forward_figure(wf)),
            _frame_table(wf.windows),
            '<p class="note">Key figures of the chosen combination on each training span '
            "(in) and test span (out).</p>",
            _frame_table(_in_and_out(wf)),
            ("chart-out-of-sample", plotly_figure(stitched)),
        ]))
    return html_page(title, sections, style=_EXTRA_STYLE, script=_SORT_JS)


def write_report(table: pd.DataFrame | None = None, path="sweep.html", **kwargs) -> Path:
    """Write the HTML sweep report to one self-contained file.

    Parameters
    ----------
    table : pandas.DataFrame, optional
        A sweep table (see :func:`render_report`).
    path : str or os.PathLike, default "sweep.html"
        Parent directories are created.
    **kwargs
        Passed to :func:`render_report` (``stat``, ``x``, ``y``, ``others``, ``top``,
        ``walk_forward``, ``title``, ``notes``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    text = render_report(table, **kwargs)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
