"""The HTML report: its structure, that it is self-contained, and (with Chromium) that it draws."""
from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pandas as pd
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


def _scenario():
    result = make_inverse_result()
    result.params["strategy_params"] = {"gamma": 0.1, "k": 5}
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "sub" / "report.html"
    written = _scenario().report(path, size_limit=1000)
    assert written == path
    return path


def _outline(path) -> _Outline:
    outline = _Outline()
    outline.feed(path.read_text(encoding="utf-8"))
    return outline


def test_structure(report):
    outline = _outline(report)
    assert outline.title == "mmsim backtest: BitMEX XBTUSD"
    # the headline first, then the charts, then the tables
    assert outline.sections == ["headline", "charts", "pnl-per-day", "fill-causes",
                                "worst-slippage", "largest-losses", "statistics", "parameters",
                                "provenance"]
    # one plotly div per chart, in order, the quotes and fills first
    assert outline.charts == [f"chart-{k}" for k in KINDS] and KINDS[0] == "quotes"
    # statistics: header + one row per statistic, values with their units
    stats = {row[0]: row[1] for row in outline.tables["stats"][1:]}
    assert list(stats) == list(STAT_NAMES)
    assert stats["orders"] == "4" and stats["fills"] == "2"
    assert stats["pnl"] == "0.04988125 BTC"
    assert stats["pnl_usd"] == "-1,600.95 USD"
    assert stats["time_at_limit"] == "75.00%"
    assert stats["duration"] == "4 h"
    assert stats["volume"] == "3,000 contracts"
    assert stats["order_duration_mean"] == "50 min"
    # parameters: one row each, the strategy's as rows of their own, not a dict's repr
    params = {row[0]: row[1] for row in outline.tables["params"][1:]}
    assert params["contract.tick_size"] == "0.5"
    assert params["latency"] == "0.5" and params["seed"] == "42"
    assert params["cancel_latency"] == "none" and params["signal_columns"] == "sigma"
    assert params["strategy_params.gamma"] == "0.1" and params["strategy_params.k"] == "5"
    assert "strategy_params" not in params
    provenance = {row[0]: row[1] for row in outline.tables["provenance"][1:]}
    assert provenance["run start"] == "2024-01-01 00:00:00 UTC"
    assert provenance["balance rows"] == "5"
    assert provenance["data source"] == "not recorded (pass taq= and source=)"


def test_headline_strip(report):
    text = report.read_text(encoding="utf-8")
    strip = text[text.index('id="headline"'):text.index("</section>", text.index('id="headline"'))]
    tiles = re.findall(r'<div class="mm-label">([^<]*)</div><div class="mm-value[^"]*">([^<]*)'
                       r'</div><div class="mm-sub">([^<]*)</div>', strip)
    assert tiles == [
        ("PnL", "0.04988125 BTC", "NAV -1,600.95 USD"),
        ("Return", "-16.01%", "over 4 h"),
        ("Sharpe", "-13.00", "annualised"),
        ("Max drawdown", "35.70%", "4,663.84 USD, 2 h"),
        ("Fills", "2", "of 4 orders"),
        ("Maker share", "33.33%", "of volume"),
        ("Fees / rebates", "-0.00011875 BTC", "paid 0.00015 BTC, rebates 0.00003125 BTC"),
    ]


def test_tables_of_days_causes_slippage_and_losses(tmp_path):
    result = _scenario()
    result.fills["realized"] = [0.0, -0.01]        # the closing sell lost 0.01 BTC
    outline = _outline(result.report(tmp_path / "r.html"))
    daily = outline.tables["daily"]
    assert daily[0] == ["day", "total", "spread", "inventory", "fees", "funding", "nav_change",
                        "fills", "volume"]
    assert daily[1][:2] == ["2024-01-01 00:00:00 UTC", "0.04988125 BTC"]
    assert daily[1][6:] == ["-1,600.95 USD", "2", "3,000 contracts"]
    causes = outline.tables["causes"]      # this result's fills predate causes: by liquidity
    assert causes[1] == ["taker", "1", "2,000 contracts", "66.67%", "0.00015 BTC", "-0.04 BTC"]
    assert causes[2] == ["maker", "1", "1,000 contracts", "33.33%", "-0.00003125 BTC",
                         "0.025 BTC"]
    # order 2 slipped 1.5 USD; no other order slipped
    slipped = outline.tables["slippage"]
    assert [row[:3] for row in slipped[1:]] == [["2024-01-01 02:00:00 UTC", "2", "market"]]
    assert slipped[1][7] == "1.5 USD"
    losses = outline.tables["losses"]
    assert losses[0] == ["time", "order_id", "side", "price", "amount", "liquidity", "realized",
                         "fee", "net"]
    assert losses[1] == ["2024-01-01 03:00:00 UTC", "2", "sell", "10,000 USD",
                         "-2,000 contracts", "taker", "-0.01 BTC", "0.00015 BTC",
                         "-0.01015 BTC"]


def test_provenance_of_the_data_and_the_code(tmp_path):
    from helpers import quote, run, taq

    rows = [quote(0, 100.0, 10, 100.5, 10), quote(5, 100.0, 10, 100.5, 10)]
    result, _ = run(rows, [1, 2], lambda c: None)
    frame = taq(rows)
    outline = _outline(result.report(tmp_path / "r.html", taq=frame, source="two rows"))
    provenance = {row[0]: row[1] for row in outline.tables["provenance"][1:]}
    from mmsim.results import data_provenance

    assert provenance["data source"] == "two rows" and provenance["data rows"] == "2"
    assert provenance["data span"] == ("2019-04-01T00:00:00+00:00 .. "
                                       "2019-04-01T00:00:05+00:00")
    assert provenance["data fingerprint"] == data_provenance(frame)["fingerprint"]
    assert provenance["result created"] == result.provenance["created"]
    import mmsim

    assert provenance["mmsim"] == mmsim.__version__


def test_a_small_report_loads_plotly_from_its_cdn(tmp_path):
    path = _scenario().report(tmp_path / "small.html", plotlyjs="cdn")
    outline = _outline(path)
    assert len(outline.script_srcs) == 1
    assert re.fullmatch(r"https://cdn\.plot\.ly/plotly-[\d.]+\.min\.js", outline.script_srcs[0])
    assert outline.inline_script_chars < 200_000 and path.stat().st_size < 300_000
    with pytest.raises(ValueError, match=r"^plotlyjs must be 'inline' or 'cdn', got 'web'$"):
        _scenario().report(tmp_path / "x.html", plotlyjs="web")


def test_self_contained(report):
    text = report.read_text(encoding="utf-8")
    outline = _outline(report)
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


def _ticks(dom: str, chart: str, axis: str) -> list[float]:
    """The tick label values plotly drew on one axis (``ytick``, ``y2tick``) of a chart."""
    start = dom.index(f'id="{chart}"')
    end = dom.find('class="chart"', start)
    block = dom[start:end if end != -1 else len(dom)]
    labels = re.findall(rf'<g class="{axis}"><text[^>]*>([^<]*)</text>', block)
    # an SI suffix (61.5305k) would fail float(): the labels must be plain numbers
    return [float(x.replace(",", "").replace("\u2212", "-")) for x in labels]


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
    # the quotes chart drew its lines (our orders, the mid) and its fill markers
    start = dom.index('id="chart-quotes"')
    quotes = dom[start:dom.index('class="chart"', start)]
    assert len(re.findall(r'class="point[ "]', quotes)) >= 2       # a buy and a sell
    assert quotes.count('class="js-line"') >= 3                   # mid, our bids, our asks
    # the headline strip is on the page, above the charts
    assert 0 < dom.index('id="headline"') < dom.index('id="chart-quotes"')
    assert dom.count('class="mm-tile"') == 7


@pytest.mark.skipif(_chromium() is None, reason="no chromium/chromium-browser/google-chrome on PATH")
def test_twin_axes_have_round_ticks_of_their_own(tmp_path, shared):
    # Ten minutes of the real BTCUSD_PERP capture quoted at the touch: a balance near 0.1 BTC
    # against a NAV near 6,160 USD and a price near 61,700 USD. Ticks that followed the left
    # axis's grid read 6,139.5, 6,150.5, ... and 61.5305k, 61.6078k, ...
    from helpers import BINANCE_DIR
    from test_engine_realdata import TwoSided

    import mmsim

    from mmsim.data import binance

    taq = binance.to_taq(shared(*BINANCE_DIR, "btcusd_perp_trades.csv.gz"),
                         shared(*BINANCE_DIR, "btcusd_perp_quotes.csv.gz"))
    signals = pd.DataFrame(index=pd.date_range(taq.index[0].ceil("5s"), taq.index[-1],
                                               freq="5s", name="time"))
    result = mmsim.backtest(taq, signals, TwoSided(), contract=mmsim.BINANCE_BTCUSD_PERP,
                            balance=0.1, latency=0.05)
    dom = _dump_dom(result.report(tmp_path / "r.html"), tmp_path / "p")
    for chart in ("chart-balance", "chart-price", "chart-position"):
        for axis in ("ytick", "y2tick"):
            ticks = _ticks(dom, chart, axis)
            steps = np.diff(ticks)
            assert len(ticks) >= 3 and np.allclose(steps, steps[0]), (chart, axis, ticks)
            mantissa = abs(steps[0]) / 10 ** np.floor(np.log10(abs(steps[0])))
            assert round(mantissa, 9) in (1.0, 2.0, 2.5, 5.0), (chart, axis, ticks)
