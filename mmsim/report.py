"""A self-contained HTML report of a run: statistics, parameters, data span, interactive charts.

The page embeds plotly.js inline (once, with the first chart), so it opens with no network.
The charts are the ones of :mod:`mmsim.plots`, drawn with plotly from the same data.
"""
from __future__ import annotations

import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.plots import KINDS, Chart, chart_data
from mmsim.stats import STAT_NAMES, format_stat, no_data

__all__ = ["render_report", "write_report", "plotly_figure", "html_page"]

_STYLE = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto;
       max-width: 1200px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin-bottom: 1.5em; font-size: 0.9em; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eee; text-align: left; vertical-align: top; }
td.value { text-align: right; font-variant-numeric: tabular-nums; }
td.note { color: #777; }
.chart { margin-bottom: 2em; }
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


def _x(index) -> np.ndarray:
    """Plotly x values: naive UTC datetimes (plotly shows time zones poorly) or numbers."""
    if isinstance(index, pd.DatetimeIndex):
        return index.tz_convert(None).to_numpy() if index.tz is not None else index.to_numpy()
    return np.asarray(index)


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
                trace = go.Scatter(x=_x(frame.index), y=frame[col].to_numpy(), name=col,
                                   mode=mode, line={"shape": shape})
                fig.add_trace(trace, secondary_y=secondary if chart.right is not None else None)
    fig.update_layout(title=chart.title, height=420, margin={"l": 60, "r": 60, "t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.15})
    fig.update_xaxes(title_text=chart.x_label)
    if chart.right is not None:
        fig.update_yaxes(title_text=chart.left_label, secondary_y=False)
        fig.update_yaxes(title_text=chart.right_label, secondary_y=True)
    else:
        fig.update_yaxes(title_text=chart.left_label)
    return fig


def render_report(result, title: str | None = None, freq="1h", size_limit=None,
                  max_points: int = 2000, price: pd.Series | None = None) -> str:
    """Build the HTML text of the report.

    Parameters
    ----------
    result : mmsim.Result
    title : str, optional
        Page heading; by default from the contract name.
    freq, size_limit
        Passed to :meth:`mmsim.Result.stats`.
    max_points, price
        Passed to :func:`mmsim.plots.chart_data`.

    Returns
    -------
    str
        A complete HTML document with plotly.js inline.

    Raises
    ------
    ImportError
        If plotly is not installed (``pip install 'mmsim[plot]'``).
    """
    try:
        import plotly  # noqa: F401
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("the HTML report needs plotly: pip install 'mmsim[plot]'") from exc

    stats = result.stats(freq=freq, size_limit=size_limit)
    contract = result.contract
    if title is None:
        title = f"mmsim backtest: {contract.name or 'contract'}"
    balances = result.balances
    span_rows = [
        ("start", format_stat(stats, "start", contract)),
        ("end", format_stat(stats, "end", contract)),
        ("duration", format_stat(stats, "duration", contract)),
        ("balance rows", len(balances)), ("orders", len(result.orders)),
        ("fills", len(result.fills)), ("position changes", len(result.positions)),
    ]
    # An n/a statistic says why in place of its value (a run without data says so once).
    empty = no_data(result)
    stat_rows = [(name, format_stat(stats, name, contract), STAT_NAMES[name])
                 for name in STAT_NAMES]
    param_rows = [(f"contract.{k}", v) for k, v in contract.to_dict().items()]
    param_rows += [(k, v) for k, v in result.params.items()]

    notice = [f'<p class="no-data">{html.escape(empty[0].upper() + empty[1:])}</p>'
              ] if empty else []
    if empty:
        charts = notice
    else:
        charts = [(f"chart-{kind}", plotly_figure(chart_data(result, kind, max_points=max_points,
                                                             price=price)))
                  for kind in KINDS]
    return html_page(title, [
        ("span", "Data span", [_table(span_rows, "span")]),
        ("statistics", "Statistics",
         notice + [_table(stat_rows, "stats", header=("statistic", "value", "definition"))]),
        ("parameters", "Run parameters",
         [_table(param_rows, "params", header=("parameter", "value"))]),
        ("charts", "Charts", charts),
    ])


def html_page(title: str, sections, style: str = "", script: str = "") -> str:
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
            div = pio.to_html(fig, full_html=False, include_plotlyjs=first, div_id=div_id,
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
