"""The HTML report of a run: headline figures, interactive charts, then the tables.

By default the page embeds plotly.js (once, with the first chart), so it opens with no
network; ``plotlyjs="cdn"`` writes a small page that loads plotly.js from its CDN instead. The
charts are the ones of :mod:`mmsim.plots`, drawn with plotly from the same data.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.plots import COLORS, KINDS, Chart, chart_data, marker_sizes
from mmsim.stats import (
    STAT_NAMES,
    STAT_UNITS,
    daily_pnl,
    fill_causes,
    format_stat,
    format_value,
    largest_losses,
    no_data,
    worst_slippage,
)

__all__ = ["render_report", "write_report", "plotly_figure", "html_page", "headline",
           "headline_html"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 0.9em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.value { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.daily td, table.causes td, table.slippage td, table.losses td { white-space: nowrap; }
td.note { color: #777; }
.chart { margin-bottom: 0.5em; }
p.note { color: #555; font-size: 0.85em; margin: 0 0 2em 0; }
p.empty { color: #777; }
p.no-data { color: #a33; font-weight: bold; }
footer { color: #888; font-size: 0.8em; margin-top: 3em; }
"""


def _format(value) -> str:
    """Text of one table cell."""
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return "n/a"
        return f"{value:,.6g}" if abs(value) >= 1e-4 or value == 0 else f"{value:.6g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(_format(v) for v in value)
    if value is None:
        return "none"
    if value is pd.NaT:
        return "n/a"
    return str(value)


def _table(rows, css: str, header=("name", "value")) -> str:
    """An HTML table of ``(name, value[, note])`` rows."""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = [f"<th>{html.escape(str(row[0]))}</th>",
                 f'<td class="value">{html.escape(_format(row[1]))}</td>']
        cells += [f'<td class="note">{html.escape(str(x))}</td>' for x in row[2:]]
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (f'<table class="{css}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


#: Style of the headline strip; also inlined by the Jupyter view, which has no page style.
HEADLINE_STYLE = (
    ".mm-headline{display:flex;flex-wrap:wrap;gap:8px;margin:0.6em 0 1.2em 0}"
    ".mm-tile{border:1px solid #ddd;border-radius:6px;padding:6px 12px;min-width:120px;"
    "max-width:260px;"
    "background:#fafafa}"
    ".mm-tile .mm-label{font-size:0.75em;color:#666;text-transform:uppercase}"
    ".mm-tile .mm-value{font-size:1.25em;font-weight:600;font-variant-numeric:tabular-nums}"
    ".mm-tile .mm-sub{font-size:0.75em;color:#666}"
    ".mm-tile .mm-value.neg{color:#b22}.mm-tile .mm-value.pos{color:#1a7f37}"
)


def headline(result, stats: pd.Series | None = None) -> list[tuple[str, str, str, str]]:
    """The figures a market maker reads first, formatted with their units.

    Parameters
    ----------
    result : mmsim.Result
    stats : pandas.Series, optional
        ``result.stats()``, computed when not given.

    Returns
    -------
    list of tuple
        ``(label, value, detail, sign)``: PnL, return, Sharpe, max drawdown, fills, maker
        share, fees and rebates, and funding when the run had any; ``sign`` is ``"pos"``,
        ``"neg"`` or ``""`` (for colouring PnL-like figures). An n/a value's detail is why.
    """
    if stats is None:
        stats = result.stats()
    contract = result.contract

    def text(name):
        return format_value(stats[name], STAT_UNITS[name], contract)

    def why(name):
        return stats.attrs.get("n/a", {}).get(name, "")

    def sign(name):
        value = stats[name]
        return "" if not np.isfinite(value) or value == 0 else ("pos" if value > 0 else "neg")

    tiles = [
        # An inverse contract settles in the base currency: its NAV change is in the quote one.
        ("PnL", text("pnl"), why("pnl") or (f"NAV {text('pnl_usd')}" if contract.inverse
                                            else "equity change"), sign("pnl")),
        ("Return", text("return"), why("return") or f"over {text('duration')}", sign("return")),
        ("Sharpe", text("sharpe"), why("sharpe") or "annualised", ""),
        ("Max drawdown", text("max_drawdown_pct"),
         why("max_drawdown") or f"{text('max_drawdown')}, {text('max_drawdown_duration')}", ""),
        ("Fills", text("fills"), why("fills") or (
            f"of {text('orders')} orders" if np.isfinite(stats["orders"]) else why("orders")), ""),
        ("Maker share", text("maker_share"), why("maker_share") or "of volume", ""),
        ("Fees / rebates", text("fee_pnl"),
         why("fee_pnl") or f"paid {text('fees_paid')}, rebates {text('rebates_earned')}",
         sign("fee_pnl")),
    ]
    if len(result.funding):
        tiles.append(("Funding", text("funding_pnl"),
                      why("funding_pnl") or f"{len(result.funding):,} payments",
                      sign("funding_pnl")))
    return tiles


def headline_html(result, stats: pd.Series | None = None) -> str:
    """The headline strip as HTML: one tile per figure of :func:`headline`.

    Parameters
    ----------
    result : mmsim.Result
    stats : pandas.Series, optional
        ``result.stats()``, computed when not given.

    Returns
    -------
    str
        A ``<div class="mm-headline" id="headline">`` with its own ``<style>``, so that it
        shows the same in a report and in Jupyter.
    """
    esc = html.escape
    tiles = "".join(
        f'<div class="mm-tile"><div class="mm-label">{esc(label)}</div>'
        f'<div class="mm-value{" " + tone if tone else ""}">{esc(value)}</div>'
        f'<div class="mm-sub">{esc(detail)}</div></div>'
        for label, value, detail, tone in headline(result, stats))
    return f'<style>{HEADLINE_STYLE}</style><div class="mm-headline" id="headline">{tiles}</div>'


def _x(index) -> np.ndarray:
    """Plotly x values: naive UTC datetimes (plotly shows time zones poorly) or numbers."""
    if isinstance(index, pd.DatetimeIndex):
        return index.tz_convert(None).to_numpy() if index.tz is not None else index.to_numpy()
    return np.asarray(index)


def _axis_style(secondary: bool = False) -> dict:
    # Plain numbers (61,816.7, not 61.8167k), and the right axis places its own round ticks
    # instead of lining them up with the left axis's grid.
    style = {"exponentformat": "none", "separatethousands": True}
    if secondary:
        style.update(tickmode="auto", showgrid=False)
    return style


def _segment_xy(frame: pd.DataFrame) -> tuple[list, list]:
    """Plotly x and y of horizontal segments, separated by gaps (None)."""
    n = len(frame)
    starts = _x(pd.DatetimeIndex(frame["start"])).astype(object)
    ends = _x(pd.DatetimeIndex(frame["end"])).astype(object)
    x = np.empty(3 * n, dtype=object)
    y = np.empty(3 * n, dtype=object)
    x[0::3], x[1::3], x[2::3] = starts, ends, None
    price = frame["price"].to_numpy(dtype=float).astype(object)
    y[0::3], y[1::3], y[2::3] = price, price, None
    return x.tolist(), y.tolist()


def plotly_figure(chart: Chart):
    """Draw a :class:`mmsim.plots.Chart` as a plotly Figure.

    Parameters
    ----------
    chart : mmsim.plots.Chart

    Returns
    -------
    plotly.graph_objects.Figure
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    fig = make_subplots(specs=[[{"secondary_y": chart.right is not None}]])
    if chart.style == "bar":
        for col in chart.left.columns:
            fig.add_trace(go.Bar(x=_x(chart.left.index), y=chart.left[col].to_numpy(), name=col))
    else:
        mode = "lines+markers" if chart.style == "marker" else "lines"
        shape = "hv" if chart.style == "step" else "linear"
        sides = [(chart.left, False)] + ([(chart.right, True)] if chart.right is not None else [])
        for frame, secondary in sides:
            for col in frame.columns:
                line = {"shape": shape}
                if col in COLORS:
                    line["color"] = COLORS[col]
                trace = go.Scatter(x=_x(frame.index), y=frame[col].to_numpy(), name=col,
                                   mode=mode, line=line)
                fig.add_trace(trace, secondary_y=secondary if chart.right is not None else None)
    for seg in chart.segments:
        x, y = _segment_xy(seg.frame)
        fig.add_trace(go.Scatter(x=x, y=y, name=seg.label, mode="lines",
                                 line={"color": seg.color, "width": 3}))
    for mark in chart.markers:
        frame = mark.frame
        fig.add_trace(go.Scatter(
            x=_x(frame.index), y=frame["price"].to_numpy(), name=mark.label, mode="markers",
            marker={"symbol": mark.symbol, "color": mark.color, "opacity": 0.7,
                    "size": marker_sizes(frame["amount"], 5.0, 13.0)},
            customdata=frame["amount"].to_numpy(),
            hovertemplate="%{x}<br>price %{y}<br>amount %{customdata}<extra>" + mark.label
            + "</extra>"))
    fig.update_layout(title=chart.title, height=520 if chart.kind == "quotes" else 420,
                      margin={"l": 70, "r": 70, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(title_text=chart.x_label)
    if chart.right is not None:
        fig.update_yaxes(title_text=chart.left_label, secondary_y=False, **_axis_style())
        fig.update_yaxes(title_text=chart.right_label, secondary_y=True,
                         **_axis_style(secondary=True))
    else:
        fig.update_yaxes(title_text=chart.left_label, **_axis_style())
    return fig


#: Units of the columns of the report's tables (see :func:`mmsim.stats.format_value`).
_COLUMN_UNITS = {
    "total": "settlement", "spread": "settlement", "inventory": "settlement",
    "fees": "settlement", "funding": "settlement", "nav_change": "quote", "fills": "count",
    "volume": "amount", "volume_share": "fraction", "price": "price", "avg_price": "price",
    "slippage": "price", "amount": "amount", "filled": "amount", "fee": "settlement",
    "realized": "settlement", "net": "settlement", "order_id": "count", "mid": "price",
}


def _cell_text(value, column: str, contract) -> str:
    if isinstance(value, pd.Timestamp):
        return "n/a" if value is pd.NaT else format_value(value.value / 1e9, "time", contract)
    if column == "side":
        return {1: "buy", -1: "sell"}.get(int(value), str(value)) if pd.notna(value) else "n/a"
    if column in _COLUMN_UNITS and isinstance(value, (int, float, np.number)):
        return format_value(float(value), _COLUMN_UNITS[column], contract)
    return _format(value)


def _frame_rows(frame: pd.DataFrame, columns, contract, css: str, index_name: str) -> str:
    """An HTML table of some columns of a frame, its index first, values with their units."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in [index_name, *columns])
    body = []
    for key, row in zip(frame.index, frame[list(columns)].itertuples(index=False)):
        cells = [f"<td>{html.escape(_cell_text(key, index_name, contract))}</td>"]
        cells += [f'<td class="value">{html.escape(_cell_text(v, c, contract))}</td>'
                  for v, c in zip(row, columns)]
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return '<p class="empty">none</p>'
    return (f'<table class="{css}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>')


def _param_rows(result) -> list:
    """Run parameters as (name, value) rows: mappings (the strategy's parameters) as one row
    per key, ``strategy_params.gamma``, never a dict's repr."""
    rows = []

    def add(prefix, value):
        if isinstance(value, dict):
            if not value:
                rows.append((prefix, "none"))
            for key, inner in value.items():
                add(f"{prefix}.{key}", inner)
        else:
            rows.append((prefix, value))

    for key, value in result.params.items():
        add(key, value)
    rows += [(f"contract.{k}", v) for k, v in result.contract.to_dict().items()]
    return rows


def _provenance_rows(result, stats, taq, source) -> list:
    """Where the run and its data came from, and what wrote the report."""
    from mmsim.results import data_provenance, run_provenance

    known = dict(result.provenance)
    if taq is not None and "fingerprint" not in known:
        known.update(data_provenance(taq, source))
    elif source is not None:
        known["source"] = source
    now = run_provenance()
    contract = result.contract
    rows = [
        ("data source", known.get("source", "not recorded (pass taq= and source=)")),
        ("data rows", known.get("rows", result.params.get("rows", "not recorded"))),
        ("data span", f"{known['data_start']} .. {known['data_end']}"
         if known.get("data_start") else "not recorded"),
        ("data fingerprint", known.get("fingerprint", "not recorded (pass taq=)")),
        ("run start", format_stat(stats, "start", contract)),
        ("run end", format_stat(stats, "end", contract)),
        ("run duration", format_stat(stats, "duration", contract)),
        ("balance rows", len(result.balances)), ("orders", len(result.orders)),
        ("fills", len(result.fills)), ("position changes", len(result.positions)),
        ("result created", known.get("created", "not recorded")),
    ]
    if "written" in known:
        rows += [("result saved", known["written"]),
                 ("saved by mmsim", known.get("mmsim")),
                 ("saved at git commit", known.get("git_commit") or "none")]
    rows += [("report written", now["written"]), ("mmsim", now["mmsim"]),
             ("git commit", now["git_commit"] or "none (not a git checkout)")]
    return rows


def render_report(result, title: str | None = None, freq="1h", size_limit=None,
                  max_points: int = 2000, price: pd.Series | None = None,
                  taq: pd.DataFrame | None = None, source: str | None = None,
                  plotlyjs: str = "inline") -> str:
    """Build the HTML text of the report.

    The page reads from the top: the headline figures, the charts (quotes and fills first),
    then the tables (PnL per day, fills by cause, the worst slippage and the largest losses,
    every statistic with its unit and definition, the run parameters, the provenance).

    Parameters
    ----------
    result : mmsim.Result
    title : str, optional
        Page heading; by default from the contract name.
    freq, size_limit
        Passed to :meth:`mmsim.Result.stats`.
    max_points, price, taq
        Passed to :func:`mmsim.plots.chart_data`; with ``taq`` (the data the run replayed)
        the quotes chart draws the market's bid, ask and trades, and the provenance its
        fingerprint.
    source : str, optional
        Where ``taq`` came from (a path, a generator and its seed), for the provenance.
    plotlyjs : {"inline", "cdn"}, default "inline"
        ``"inline"`` embeds plotly.js (about 4.7 MB) so the page opens with no network;
        ``"cdn"`` loads it from cdn.plot.ly, a page of a few hundred kB that needs the network
        to draw its charts.

    Returns
    -------
    str
        A complete HTML document.

    Raises
    ------
    ImportError
        If plotly is not installed (``pip install 'mmsim[plot]'``).
    ValueError
        If ``plotlyjs`` is not "inline" or "cdn".
    """
    if plotlyjs not in ("inline", "cdn"):
        raise ValueError(f"plotlyjs must be 'inline' or 'cdn', got {plotlyjs!r}")
    try:
        import plotly  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the HTML report needs plotly: pip install 'mmsim[plot]'") from exc

    stats = result.stats(freq=freq, size_limit=size_limit)
    contract = result.contract
    if title is None:
        title = f"mmsim backtest: {contract.name or 'contract'}"
    empty = no_data(result)
    stat_rows = [(name, format_stat(stats, name, contract), STAT_NAMES[name])
                 for name in STAT_NAMES]
    notice = [f'<p class="no-data">{html.escape(empty[0].upper() + empty[1:])}</p>'
              ] if empty else []
    if empty:
        charts = notice
    else:
        charts = []
        for kind in KINDS:
            chart = chart_data(result, kind, max_points=max_points, price=price, taq=taq)
            charts.append((f"chart-{kind}", plotly_figure(chart)))
            if chart.note:
                charts.append(f'<p class="note" id="note-{kind}">{html.escape(chart.note)}</p>')
    daily = daily_pnl(result)
    losses = largest_losses(result)
    fill_cols = [c for c in ("order_id", "side", "price", "amount", "liquidity", "cause",
                             "realized", "fee", "net") if c in losses or c == "side"]
    losses = losses.assign(side=np.sign(losses["amount"]).astype(int))
    order_cols = ["order_id", "type", "side", "price", "amount", "avg_price", "slippage",
                  "status"]
    return html_page(title, [
        ("headline", "Headline", [headline_html(result, stats)] + notice),
        ("charts", "Charts", charts),
        ("pnl-per-day", "PnL per day (UTC)",
         [_frame_rows(daily, list(daily.columns), contract, "daily", "day")]),
        ("fill-causes", "Fills by cause",
         [_frame_rows(fill_causes(result), ["fills", "volume", "volume_share", "fees",
                                            "spread"], contract, "causes", "cause")]),
        ("worst-slippage", "Orders with the worst slippage (top 20)",
         [_frame_rows(worst_slippage(result), order_cols, contract, "slippage", "time")]),
        ("largest-losses", "Fills with the largest losses, realised PnL net of fees (top 20)",
         [_frame_rows(losses, fill_cols, contract, "losses", "time")]),
        ("statistics", "Statistics",
         [_table(stat_rows, "stats", header=("statistic", "value", "definition"))]),
        ("parameters", "Run parameters",
         [_table(_param_rows(result), "params", header=("parameter", "value"))]),
        ("provenance", "Provenance",
         [_table(_provenance_rows(result, stats, taq, source), "provenance",
                 header=("what", "value"))]),
    ], plotlyjs=plotlyjs)


def html_page(title: str, sections, style: str = "", script: str = "",
              plotlyjs: str = "inline") -> str:
    """Lay out a self-contained report page: a heading, then sections of tables and charts.

    Parameters
    ----------
    title : str
        Page title and heading.
    sections : list of tuple
        ``(id, heading, parts)``; each part is HTML text or a ``(div_id, figure)`` pair, a
        plotly Figure drawn in a ``<div class="chart">``. plotly.js is inlined once, with the
        first chart of the page.
    style : str, optional
        CSS added after the common style.
    script : str, optional
        JavaScript run at the end of the page.
    plotlyjs : {"inline", "cdn"}, default "inline"
        Embed plotly.js in the page, or load it from its CDN (a small page that needs the
        network to draw).

    Returns
    -------
    str
        A complete HTML document.
    """
    import plotly
    import plotly.io as pio

    import mmsim

    esc = html.escape
    body, first = [], True
    for section_id, heading, parts in sections:
        body.append(f'<section id="{esc(section_id)}"><h2>{esc(heading)}</h2>')
        for part in parts:
            if isinstance(part, str):
                body.append(part)
                continue
            div_id, fig = part
            # plotly.js once, with the first chart: inline, or a <script src> to its CDN.
            include = ("cdn" if plotlyjs == "cdn" else True) if first else False
            div = pio.to_html(fig, full_html=False, include_plotlyjs=include, div_id=div_id,
                              config={"displaylogo": False, "responsive": True})
            first = False
            body.append(f'<div class="chart">{div}</div>')
        body.append("</section>")
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(title)}</title>",
        f"<style>{_STYLE}{style}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(title)}</h1>",
        *body,
        f"<footer>mmsim {esc(mmsim.__version__)}, pandas {esc(pd.__version__)}, "
        f"plotly {esc(plotly.__version__)}</footer>",
        *([f"<script>{script}</script>"] if script else []),
        "</body>",
        "</html>",
        "",
    ])


def write_report(result, path="report.html", **kwargs) -> Path:
    """Write the report of a run to one self-contained HTML file.

    Parameters
    ----------
    result : mmsim.Result
    path : str or os.PathLike, default "report.html"
        Parent directories are created.
    **kwargs
        Passed to :func:`render_report`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(result, **kwargs), encoding="utf-8")
    return path
