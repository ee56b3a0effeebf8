"""Draw how each gated benchmark's ratio to its floor moved, commit by commit.

::

    python -m benchmarks.report                       # benchmark-history.html and .png
    python -m benchmarks.report --out docs/speed      # docs/speed.html and docs/speed.png

Reads every ``benchmarks/results/*.json`` (written by ``python -m benchmarks.run``), orders
them by commit date and draws, per benchmark, its ratio relative to the first result that has
it (1 = as fast as then, 2 = twice as slow) on a log scale: a plotly page (hover for the ratio
itself) and a matplotlib PNG. It also prints the newest result as a Markdown table (rows per
second, ratio to the floor, peak memory), the table of the README.
"""
from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

from benchmarks.run import RESULTS

TITLE = "Gated benchmarks: time over floor, relative to the first result (up is slower)"


def load_history(results=RESULTS) -> list[dict]:
    """Every result file, oldest commit first.

    Parameters
    ----------
    results : str or pathlib.Path, default ``benchmarks/results``

    Returns
    -------
    list of dict
        The files' contents, each with ``label`` (``"<date> <shortcommit>"``) added.

    Raises
    ------
    FileNotFoundError
        If the folder holds no ``*.json`` file.
    """
    paths = sorted(Path(results).glob("*.json"))
    if not paths:
        raise FileNotFoundError(f"no result file in {results}; python -m benchmarks.run "
                                "writes one")
    history = []
    for path in paths:
        entry = json.loads(path.read_text())
        entry["label"] = f"{entry['date']} {entry['commit'][:7]}"
        history.append(entry)

    def when(entry):
        # Commits order the history; a file without a commit time falls back to its date.
        stamp = entry.get("commit_time") or entry["date"]
        moment = datetime.datetime.fromisoformat(stamp)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=datetime.timezone.utc)
        return moment, entry["date"]

    return sorted(history, key=when)


def series(history: list[dict]) -> dict:
    """Per benchmark, ``(labels, ratios, relative)``: the results that have it, its ratio to
    the floor in each and that ratio over its first one."""
    out = {}
    for entry in history:
        for name, info in entry["benchmarks"].items():
            labels, ratios, relative = out.setdefault(name, ([], [], []))
            labels.append(entry["label"])
            ratios.append(info["floor_ratio"])
            relative.append(info["floor_ratio"] / ratios[0])
    return dict(sorted(out.items()))


def plotly_figure(history: list[dict]):
    """The history as a plotly figure, one line per benchmark."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for name, (labels, ratios, relative) in series(history).items():
        fig.add_trace(go.Scatter(
            x=labels, y=relative, customdata=ratios, name=name, mode="lines+markers",
            hovertemplate="%{x}<br>ratio %{customdata:.4g} (x%{y:.3f} of the first)"))
    fig.update_layout(title=TITLE, xaxis=dict(type="category", categoryorder="array",
                                              categoryarray=[e["label"] for e in history]),
                      yaxis=dict(type="log", title="ratio / first ratio"),
                      legend=dict(font=dict(size=10)))
    return fig


def matplotlib_figure(history: list[dict]):
    """The history as a matplotlib figure (not attached to pyplot), one line per benchmark."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter

    labels = [e["label"] for e in history]
    fig = Figure(figsize=(12, 6), layout="constrained")
    ax = fig.add_subplot()
    # Twenty colours: the default cycle of ten would give two benchmarks the same line.
    ax.set_prop_cycle(color=colormaps["tab20"].colors)
    for name, (have, _, relative) in series(history).items():
        ax.plot([labels.index(x) for x in have], relative, marker="o", label=name)
    ax.set_yscale("log")
    # At least 0.8 to 1.25, so that one result or a flat history does not fill the axis with
    # noise; wider when the history moved further.
    every = [r for _, _, relative in series(history).values() for r in relative]
    ax.set_ylim(min(0.8, min(every) / 1.1), max(1.25, max(every) * 1.1))
    plain = FuncFormatter(lambda y, _: f"{y:.3g}")
    ax.yaxis.set_major_formatter(plain)
    ax.yaxis.set_minor_formatter(plain)
    ax.set_xticks(range(len(labels)), labels, rotation=30, ha="right")
    ax.set_ylabel("ratio / first ratio")
    ax.axhline(1.0, color="grey", lw=0.8)
    ax.set_title(TITLE, fontsize=10)
    ax.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    return fig


def _size(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB" if n >= 2**20 else f"{n / 2**10:,.0f} KiB"


def markdown_table(entry: dict) -> str:
    """One result as the README's Markdown table: rows per second, the ratio to the floor,
    the floor, peak memory (tracemalloc; a spawned interpreter's peak RSS)."""
    lines = ["| benchmark | rows/s | time / floor | floor | peak memory |",
             "| --- | ---: | ---: | --- | ---: |"]
    for name, info in sorted(entry["benchmarks"].items()):
        rows = f"{info['rows_per_s']:,.0f}" if "rows_per_s" in info else "-"
        peak = _size(info["peak_bytes"]) if "peak_bytes" in info else "-"
        lines.append(f"| `{name.split('::', 1)[1]}` | {rows} | {info['floor_ratio']:.3g} | "
                     f"{info['floor']} | {peak} |")
    return "\n".join(lines)


def main(argv=None) -> int:
    """Command line: ``python -m benchmarks.report [--results DIR] [--out PREFIX]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.report", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", default=RESULTS, help="default: %(default)s")
    parser.add_argument("--out", default="benchmark-history",
                        help="written as OUT.html and OUT.png (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        history = load_history(args.results)
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    html, png = Path(f"{args.out}.html"), Path(f"{args.out}.png")
    html.parent.mkdir(parents=True, exist_ok=True)
    plotly_figure(history).write_html(html, include_plotlyjs=True)
    matplotlib_figure(history).savefig(png, dpi=120)
    newest = history[-1]
    print(f"{len(history)} result(s); newest {newest['label']} "
          f"({newest['machine'].get('cpu')}, Python {newest['machine'].get('python')}):\n")
    print(markdown_table(newest))
    print(f"\nwrote {html} and {png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
