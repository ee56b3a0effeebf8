"""The HTML report: its structure, that it is self-contained, and (with Chromium) that it draws."""
from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest

pytest.importorskip("plotly")

from mmsim.plots import KINDS  # noqa: E402
from mmsim.stats import STAT_NAMES  # noqa: E402
from results_scenario import make_inverse_result  # noqa: E402


class _Outline(HTMLParser):
    """Collects what the tests check: sections, table rows, chart divs, scripts."""

    def __init__(self):
        super().__init__()
        self.sections, self.charts, self.script_srcs, self.links = [], [], [], []
        self.tables = {}  # css class -> list of rows (list of cell texts)
        self.inline_script_chars = 0
        self._table = self._row = self._cell = None
        self._in_script = False
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "section":
            self.sections.append(attrs.get("id"))
        elif tag == "div" and "plotly-graph-div" in (attrs.get("class") or ""):
            self.charts.append(attrs.get("id"))
        elif tag == "script":
            self._in_script = True
            if "src" in attrs:
                self.script_srcs.append(attrs["src"])
        elif tag == "link":
            self.links.append(attrs.get("href"))
        elif tag == "table":
            self._table = self.tables.setdefault(attrs.get("class"), [])
        elif tag == "tr" and self._table is not None:
            self._row = []
        elif tag in ("td", "th") and self._row is not None:
            self._cell = []
        elif tag == "title":
            self._in_title = True

    def handle_endtag(self, tag):
        if tag == "script":
            self._in_script = False
        elif tag in ("td", "th") and self._cell is not None:
            self._row.append("".join(self._cell))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self._table.append(self._row)
            self._row = None
        elif tag == "table":
            self._table = None
        elif tag == "title":
            self._in_title = False

    def handle_data(self, data):
        if self._in_script:
            self.inline_script_chars += len(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._in_title:
            self.title += data


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    written = make_inverse_result().report(path, size_limit=1000)
    assert written == path
    return path


def test_structure(report):
    text = report.read_text(encoding="utf-8")
    outline = _Outline()
    outline.feed(text)
    assert outline.title == "mmsim backtest: BitMEX XBTUSD"
    assert outline.sections == ["span", "statistics", "parameters", "charts"]
    # one plotly div per chart, in order
    assert outline.charts == [f"chart-{k}" for k in KINDS]
    # statistics: header + one row per statistic, values formatted from the hand scenario
    stats = {row[0]: row[1] for row in outline.tables["stats"][1:]}
    assert list(stats) == list(STAT_NAMES)
    assert stats["orders"] == "4" and stats["fills"] == "2"
    assert stats["pnl"] == "0.04988125 BTC"
    assert stats["pnl_usd"] == "-1,600.95 USD"
    assert stats["time_at_limit"] == "75.00%"
    assert stats["duration"] == "4 h"
    params = {row[0]: row[1] for row in outline.tables["params"][1:]}
    assert params["contract.tick_size"] == "0.5"
    assert params["latency"] == "0.5" and params["seed"] == "42"
    assert params["cancel_latency"] == "none" and params["signal_columns"] == "sigma"
    span = {row[0]: row[1] for row in outline.tables["span"][1:]}
    assert span["start"] == "2024-01-01 00:00:00 UTC" and span["balance rows"] == "5"


def test_self_contained(report):
    text = report.read_text(encoding="utf-8")
    outline = _Outline()
    outline.feed(text)
    # nothing loaded from elsewhere: no script src, no stylesheet links
    assert outline.script_srcs == [] and outline.links == []
    # plotly.js is inline (several MB) exactly once
    assert outline.inline_script_chars > 1_000_000
    assert len(re.findall(r"\* plotly\.js v\d", text)) == 1


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _dump_dom(page, profile) -> str:
    """The DOM of ``page`` after headless Chromium has run its scripts."""
    out = subprocess.run(
        [_chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom",
         page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )
    return out.stdout


@pytest.mark.skipif(_chromium() is None, reason="no chromium/chromium-browser/google-chrome on PATH")
def test_renders_in_headless_chromium(report, tmp_path):
    dom = _dump_dom(report, tmp_path)
    # plotly replaces each empty chart div by SVG: every chart gets its main SVG layers,
    # and each drawn trace leaves a "trace" group inside the plot area.
    for kind in KINDS:
        start = dom.index(f'id="chart-{kind}"')
        end = dom.find('class="chart"', start)
        block = dom[start:end if end != -1 else len(dom)]
        assert "main-svg" in block, kind
        assert re.search(r'class="[^"]*trace', block), kind
