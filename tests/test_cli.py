"""The ``mmsim demo``, ``mmsim run`` and ``mmsim report`` commands and the YAML run config."""
from __future__ import annotations

import math
import textwrap

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

pytest.importorskip("mmsim._core", reason="the compiled engine is not built")
pytest.importorskip("plotly")

from mmsim.cli import main  # noqa: E402
from mmsim.commands.demo import NOTEBOOK_PARAMS  # noqa: E402
from mmsim.commands.run import progress_bar  # noqa: E402
from mmsim.config import ConfigError, load_config, parse_config  # noqa: E402
from mmsim.data.bars import volatility_signals  # noqa: E402
from mmsim.results import Result  # noqa: E402

ROWS = 3000  # a few minutes of synthetic data: each command runs in well under a second

RUN_YAML = f"""
data:
  synthetic: {{rows: {ROWS}, seed: 0}}
contract: BITMEX_XBTUSD
strategy:
  name: AvellanedaStoikov
  params: {{max_size: 5, gamma: 0.1, k: 5, n: -0.4, delta_price: 1, delta_size: 1}}
signals:
  volatility: {{bar: 1min, window: 60}}
engine: {{balance: 1.0, latency: 0.5, queue_position: 1.0, seed: 42}}
output: {{dir: out, report: true}}
"""


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    assert main(["demo", "--rows", str(ROWS), "--out", str(out), "--quiet"]) == 0
    return out


def test_demo_writes_report_and_result(demo_dir):
    assert (demo_dir / "report.html").stat().st_size > 1_000_000  # plotly inline
    result = Result.load(demo_dir)
    assert result.params["rows"] == ROWS
    assert result.params["strategy"] == "AvellanedaStoikov"
    sp = result.params["strategy_params"]
    # the strategy records its plain-number parameters (k is held as a signal source)
    assert {k: sp[k] for k in NOTEBOOK_PARAMS if k != "k"} == {
        "max_size": 5.0, "gamma": 0.1, "n": -0.4, "delta_price": 1.0, "delta_size": 1.0}
    assert result.params["signal_columns"] == ["sigma"]
    assert result.contract.name == "BitMEX XBTUSD"
    assert len(result.orders) > 0 and len(result.fills) > 0


def test_demo_prints_summary(tmp_path, capsys):
    assert main(["demo", "--rows", str(ROWS), "--out", str(tmp_path), "--quiet"]) == 0
    captured = capsys.readouterr()
    assert captured.err == ""  # --quiet: no progress bar, no step messages
    lines = dict(line.split(":", 1) for line in captured.out.splitlines() if ":" in line)
    result = Result.load(tmp_path)
    assert lines["Number of orders"].strip() == f"{len(result.orders):,}"
    assert lines["Fills"].strip() == f"{len(result.fills):,}"
    assert lines["report"].strip() == str(tmp_path / "report.html")


def test_demo_not_quiet_reports_steps(tmp_path, capsys):
    assert main(["demo", "--rows", "1000", "--out", str(tmp_path)]) == 0
    assert "generating 1,000 rows of synthetic BitMEX-like data ..." in capsys.readouterr().err


def test_run_matches_demo(tmp_path, demo_dir, capsys):
    # The YAML above is the demo's configuration: same data, strategy and engine settings,
    # and the engine is deterministic, so the tables are identical.
    (tmp_path / "run.yaml").write_text(RUN_YAML)
    assert main(["run", str(tmp_path / "run.yaml"), "--quiet"]) == 0
    assert "Number of orders:" in capsys.readouterr().out
    ran, demo = Result.load(tmp_path / "out"), Result.load(demo_dir)
    for name in ("orders", "fills", "balances", "positions"):
        tm.assert_frame_equal(getattr(ran, name), getattr(demo, name))
    assert (tmp_path / "out" / "report.html").is_file()


def test_run_out_option_and_no_report(tmp_path):
    (tmp_path / "run.yaml").write_text(RUN_YAML.replace("report: true", "report: false"))
    assert main(["run", str(tmp_path / "run.yaml"), "--out", str(tmp_path / "elsewhere"),
                 "--quiet"]) == 0
    assert (tmp_path / "elsewhere" / "result.json").is_file()
    assert not (tmp_path / "elsewhere" / "report.html").exists()


@pytest.mark.parametrize(
    "old, new, message",
    [
        ("latency: 0.5", "latency: fast", "engine.latency must be a real number, got 'fast'"),
        ("queue_position: 1.0", "queue_position: -1",
         "engine.queue_position must be >= 0, got -1"),
        ("contract: BITMEX_XBTUSD", "contract: KRAKEN",
         "contract: expected one of ['BITMEX_XBTUSD', 'BINANCE_BTCUSD_PERP', 'BINANCE_BTCUSDT']"),
        ("name: AvellanedaStoikov", "name: Nope",
         "strategy.name: expected one of ['AvellanedaStoikov', 'GLFT', 'Symmetric', 'MonteCarlo']"),
        ("gamma: 0.1,", "gama: 0.1,", "strategy.params.gama: unknown key"),
        ("max_size: 5,", "max_size: -5,", "strategy.params.max_size: max_size must be > 0"),
        ("rows: 3000", "rows: many", "data.synthetic.rows must be an integer, got 'many'"),
        ("bar: 1min", "bar: soon", "signals.volatility.bar must be a time span such as '1D' or '90min'"),
        ("window: 60", "window: 1", "signals.volatility.window must be >= 2, got 1"),
        ("engine:", "engin:", "engin: unknown section"),
        ("report: true", "report: maybe", "output.report: expected true or false, got 'maybe'"),
    ],
)
def test_run_bad_config_exits_2(tmp_path, capsys, old, new, message):
    assert old in RUN_YAML
    (tmp_path / "run.yaml").write_text(RUN_YAML.replace(old, new))
    assert main(["run", str(tmp_path / "run.yaml"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmsim run: ") and message in err
    assert not (tmp_path / "out").exists()


STRATEGY = ("strategy:\n  name: AvellanedaStoikov\n  params: {max_size: 5, gamma: 0.1, k: 5, "
            "n: -0.4, delta_price: 1, delta_size: 1}\n")
ENGINE = "engine: {balance: 1.0, latency: 0.5, queue_position: 1.0, seed: 42}"
SYNTHETIC = f"synthetic: {{rows: {ROWS}, seed: 0}}"
VOLATILITY = "volatility: {bar: 1min, window: 60}"


@pytest.mark.parametrize(
    "old, new, message",
    [
        (ENGINE, "engine: fast", r"^engine: expected a mapping, got 'fast'$"),
        (STRATEGY.splitlines()[2], "  params: [5]",
         r"^strategy.params: expected a mapping, got \[5\]$"),
        (STRATEGY, "", r"^strategy: missing; a run needs the sections 'data' and 'strategy'$"),
        ("data:\n", "data:\n  start: someday\n",
         r"^data.start: expected a date/time such as '2019-04-01', got 'someday'$"),
        (SYNTHETIC, f"synthetic: {{rows: {ROWS}, seed: 0, start: soon}}",
         r"^data.synthetic.start: expected a date/time such as '2019-04-01', got 'soon'$"),
        (SYNTHETIC, "path: 7", r"^data.path: expected a file path, got 7$"),
        (VOLATILITY, "path: ''", r"^signals.path: expected a file path, got ''$"),
        (SYNTHETIC, f"{SYNTHETIC}\n  path: taq.parquet",
         r"^data: expected exactly one of 'synthetic' \(generated data\) or 'path' "
         r"\(a TAQ file\)$"),
        (SYNTHETIC, "start: 2019-04-01",
         r"^data: expected exactly one of 'synthetic' \(generated data\) or 'path' "
         r"\(a TAQ file\)$"),
        (SYNTHETIC, f"synthetic: {{rows: {ROWS}, duration: 1D}}",
         r"^data.synthetic: expected exactly one of 'duration' \(e.g. 30D\) or 'rows'$"),
        (SYNTHETIC, "synthetic: {seed: 0}",
         r"^data.synthetic: expected exactly one of 'duration' \(e.g. 30D\) or 'rows'$"),
        (VOLATILITY, f"{VOLATILITY}\n  path: signals.parquet",
         r"^signals: expected exactly one of 'volatility', 'inventory' or 'path'$"),
        ("contract: BITMEX_XBTUSD", "contract: {inverse: 1, tick_size: 0.5, lot_size: 1, "
                                    "contract_size: 1, maker_fee: 0, taker_fee: 0}",
         r"^contract.inverse: expected true or false, got 1$"),
        ("dir: out", "dir: ''", r"^output.dir: expected a directory path, got ''$"),
        ("dir: out", "dir: [out]", r"^output.dir: expected a directory path, got \['out'\]$"),
    ],
)
def test_run_file_layout_errors_name_the_key(tmp_path, old, new, message):
    assert old in RUN_YAML
    (tmp_path / "run.yaml").write_text(RUN_YAML.replace(old, new))
    with pytest.raises(ConfigError, match=message):
        load_config(tmp_path / "run.yaml")


@pytest.mark.parametrize("option, value", [("--rows", "0"), ("--rows", "-5"),
                                           ("--rows", "2.5"), ("--days", "many")])
def test_demo_sizes_must_be_positive_integers(tmp_path, capsys, option, value):
    with pytest.raises(SystemExit) as exited:
        main(["demo", option, value, "--out", str(tmp_path), "--quiet"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mmsim demo")
    assert err.endswith(f"mmsim demo: error: argument {option}: expected a positive integer, "
                        f"got '{value}'\n")
    assert not any(tmp_path.iterdir())


def test_run_missing_file_and_bad_yaml(tmp_path, capsys):
    assert main(["run", str(tmp_path / "absent.yaml")]) == 2
    assert "run file not found" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("data: [unclosed\n")
    assert main(["run", str(tmp_path / "bad.yaml")]) == 2
    assert "not valid YAML" in capsys.readouterr().err


def test_run_bad_data_ends_the_step_line(tmp_path, capsys):
    pd.DataFrame({"a": [1.0]}).to_parquet(tmp_path / "taq.parquet")
    (tmp_path / "run.yaml").write_text(
        RUN_YAML.replace(f"synthetic: {{rows: {ROWS}, seed: 0}}", "path: taq.parquet"))
    assert main(["run", str(tmp_path / "run.yaml")]) == 1
    err = capsys.readouterr().err
    assert err == (f"loading data ... failed\nmmsim run: bad input data: {tmp_path}/taq.parquet "
                   f"has no 'time' column (columns: ['a']); write it with mmsim.write_taq\n")


def test_config_contract_fields_and_paths(tmp_path):
    spec = {
        "data": {"path": "taq.parquet", "start": "2024-01-01", "end": "2024-01-02"},
        "contract": {"inverse": False, "tick_size": 0.1, "lot_size": 0.001, "contract_size": 1,
                     "maker_fee": 0.0002, "taker_fee": 0.0005, "name": "linear"},
        "strategy": {"name": "AvellanedaStoikov", "params": {"max_size": 5, "gamma": 0.1, "k": 5}},
    }
    with pytest.raises(ConfigError, match=r"data.path: expected an existing file, got 'taq.parquet'"):
        parse_config(spec, base=tmp_path)
    (tmp_path / "taq.parquet").write_bytes(b"")
    cfg = parse_config(spec, base=tmp_path)
    assert cfg.path == tmp_path / "taq.parquet"
    assert cfg.start == pd.Timestamp("2024-01-01", tz="UTC")
    assert cfg.contract.inverse is False and cfg.contract.lot_size == 0.001
    assert cfg.engine == {"balance": 1.0, "latency": 0.5, "cancel_latency": None,
                          "queue_position": 1.0, "seed": 42, "feed_latency": 0.0}
    assert cfg.output == tmp_path / "out"
    spec["contract"]["tick_size"] = 0
    with pytest.raises(ConfigError, match=r"contract.tick_size: Contract.tick_size must be between 1e-12 and 1e\+12, got 0.0"):
        parse_config(spec, base=tmp_path)
    del spec["contract"]["taker_fee"]
    with pytest.raises(ConfigError, match="contract.taker_fee: missing"):
        parse_config(spec, base=tmp_path)
    spec["contract"] = "BINANCE_BTCUSDT"
    spec["data"]["end"] = "2023-12-31"
    with pytest.raises(ConfigError, match=r"data.end: expected a time after data.start"):
        parse_config(spec, base=tmp_path)


def test_report_command_rebuilds(demo_dir, tmp_path, capsys):
    out = tmp_path / "again.html"
    assert main(["report", str(demo_dir), "--out", str(out), "--summary"]) == 0
    text = capsys.readouterr().out
    assert "Number of orders:" in text and f"report: {out}" in text
    html = out.read_text()
    assert html.count('class="plotly-graph-div"') == 10     # every kind of mmsim.plots
    assert "Equity and Margin Used" in html and "funding_pnl" in html
    assert main(["report", str(tmp_path / "nothing")]) == 2
    assert "result.json not found" in capsys.readouterr().err


def test_volatility_signal_by_hand():
    # Trades close the 1-minute bars [0, 1), [1, 2), [3, 4) at 100, 110, 99; bar [2, 3) has no
    # trade and keeps 110. Bars are labelled by their close: 00:01, 00:02, 00:03, 00:04.
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    times = [t0 + pd.Timedelta(s, "s") for s in (10, 50, 70, 200, 210)]
    taq = pd.DataFrame(
        {"price": [95.0, 100.0, 110.0, np.nan, 99.0], "amount": [1.0, -2.0, 3.0, 0.0, 1.0]},
        index=pd.DatetimeIndex(times, name="time"),
    )
    sigma = volatility_signals(taq, bar="1min", window=3)["sigma"]
    assert list(sigma.index) == [t0 + pd.Timedelta(m, "min") for m in (1, 2, 3, 4)]
    r1, r2, r3 = math.log(1.1), 0.0, math.log(99 / 110)  # returns at 00:02, 00:03, 00:04
    expected = [
        0.0,  # no return yet
        0.0,  # one return: population std 0
        np.std([r1, r2]) * math.sqrt(3),
        np.std([r1, r2, r3]) * math.sqrt(3),
    ]
    np.testing.assert_allclose(sigma.to_numpy(), expected, rtol=1e-12, atol=0)


def test_progress_bar(capsys):
    with progress_bar(total=200, quiet=False, delay=0) as update:
        update(100)
        assert update.bar.n == 100
        update(200)  # the engine reports rows replayed so far, not increments
        assert update.bar.n == 200 and update.bar.total == 200
    assert "backtest:" in capsys.readouterr().err  # drawn on stderr (then cleared)
    with progress_bar(total=200, quiet=True, delay=0) as update:
        update(200)
    assert capsys.readouterr().err == ""  # --quiet


@pytest.mark.parametrize("funding, message", [
    ({"file": "x"}, r"^data.funding.file: unknown key; expected one of \['synthetic', 'path'\]$"),
    ({}, r"^data.funding: expected one of 'synthetic' \(generated funding rates\) or 'path' "
         r"\(a BitMEX funding history file, CSV or JSON\)$"),
    ({"path": "none.csv"}, r"^data.funding.path: expected an existing file, got 'none.csv'"),
    ({"synthetic": {"std": -1}}, r"^data.funding.synthetic.std must be >= 0, got -1$"),
])
def test_funding_section_errors_name_the_key(funding, message):
    spec = {"data": {"synthetic": {"rows": 10}, "funding": funding},
            "strategy": {"name": "Symmetric", "params": {"max_size": 5, "gamma": 0.1, "k": 5}}}
    with pytest.raises(ConfigError, match=message):
        parse_config(spec)


def test_run_pays_funding_from_a_bitmex_history_file(tmp_path):
    # The history's XBTUSD rows at 00:20 and 00:30 fall within the run (00:00 .. 00:37);
    # the 04:00 row after it is never reached.
    (tmp_path / "funding.csv").write_text(
        "timestamp,symbol,fundingInterval,fundingRate,fundingRateDaily\n"
        "2019-04-01T00:20:00.000Z,XBTUSD,2000-01-01T08:00:00.000Z,0.0001,0.0003\n"
        "2019-04-01T00:20:00.000Z,ETHUSD,2000-01-01T08:00:00.000Z,0.5,1.5\n"
        "2019-04-01T00:30:00.000Z,XBTUSD,2000-01-01T08:00:00.000Z,-0.0002,-0.0006\n"
        "2019-04-01T04:00:00.000Z,XBTUSD,2000-01-01T08:00:00.000Z,0.0003,0.0009\n")
    text = RUN_YAML.replace(f"seed: 0}}", "seed: 0}\n  funding: {path: funding.csv}", 1)
    (tmp_path / "run.yaml").write_text(text.replace("report: true", "report: false"))
    assert main(["run", str(tmp_path / "run.yaml"), "--quiet"]) == 0
    funding = Result.load(tmp_path / "out").funding
    assert funding.index.tolist() == [pd.Timestamp("2019-04-01 00:20", tz="UTC"),
                                      pd.Timestamp("2019-04-01 00:30", tz="UTC")]
    assert funding["rate"].tolist() == [0.0001, -0.0002]
    # Each payment is rate x position value at the mark (inverse: q / mark BTC).
    assert (funding["position"] != 0).all()
    expected = funding["rate"] * funding["position"] / funding["mark"]
    assert funding["payment"].tolist() == pytest.approx(expected.tolist(), rel=1e-15)


# --- the command line: version, exit codes, one-line errors and warnings --------------------

def _write_run(tmp_path, text=RUN_YAML, name="run.yaml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_version_comes_from_the_installed_distribution(capsys, monkeypatch):
    import importlib.metadata

    import mmsim

    installed = importlib.metadata.version("mmsim")
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out == f"mmsim {installed}\n"
    assert mmsim.__version__ == installed

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert mmsim._version() == "0+unknown"


@pytest.mark.parametrize("command", [["run", "RUN"], ["demo", "--rows", "500"]])
def test_an_out_that_names_a_file_is_refused_and_not_created(tmp_path, capsys, command):
    args = [_write_run(tmp_path) if a == "RUN" else a for a in command]
    out = tmp_path / "report.txt"
    assert main([*args, "--out", str(out), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"mmsim {command[0]}: --out: expected a directory (the saved result and report.html go "
        f"in it), got '{out}', a file name; name a directory, e.g. '{tmp_path / 'report'}'\n")
    assert not out.exists()
    out.write_text("notes")  # an existing file, whatever its name
    plain = tmp_path / "notes"
    plain.write_text("notes")
    assert main([*args, "--out", str(plain), "--quiet"]) == 2
    assert capsys.readouterr().err == (
        f"mmsim {command[0]}: --out: expected a directory (the saved result and report.html go "
        f"in it), got '{plain}', an existing file\n")


def test_output_dir_in_the_run_file_is_checked_like_out(tmp_path):
    with pytest.raises(ConfigError, match=r"^output.dir: expected a directory \(the saved "
                                          r"result and report.html go in it\), got 'r.html', "
                                          r"a file name; name a directory, e.g. 'r'$"):
        load_config(_write_run(tmp_path, RUN_YAML.replace("dir: out", "dir: r.html")))


def test_an_unwritable_out_fails_before_the_run_with_status_1(tmp_path, capsys):
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "out"  # below a file: it cannot be made
    assert main(["run", _write_run(tmp_path), "--out", str(out), "--quiet"]) == 1
    assert capsys.readouterr().err == (
        f"mmsim run: cannot write to the output directory {out}: Not a directory\n")


BOOM = '''
import mmsim


class Boom(mmsim.Strategy):
    """Raises at its second call."""

    def __init__(self, size, calls_before=1):
        self.size = size
        self.calls_before = calls_before

    def on_signal(self, ctx):
        if self.calls_before == 0:
            raise RuntimeError("no quote\\nfor you")
        self.calls_before -= 1
'''


def test_a_strategy_error_is_one_line_with_status_1_and_debug_shows_it(tmp_path, capsys):
    (tmp_path / "boom.py").write_text(BOOM)
    text = RUN_YAML.replace(STRATEGY.splitlines()[1], "  name: boom.py:Boom").replace(
        STRATEGY.splitlines()[2], "  params: {size: 1}")
    run_file = _write_run(tmp_path, text)
    assert main(["run", run_file, "--quiet"]) == 1
    # The volatility signal's second bar closes at 00:02 (the data starts at 00:00:00.369);
    # the message's line break is folded into the one line.
    assert capsys.readouterr().err == (
        "mmsim run: strategy Boom raised at 2019-04-01 00:02:00+00:00: RuntimeError: no quote "
        "for you\n")
    import mmsim

    for args in (["--debug", "run", run_file, "--quiet"], ["run", run_file, "--quiet", "--debug"]):
        with pytest.raises(mmsim.StrategyError, match="^strategy Boom raised at 2019-04-01 "
                                                      "00:02:00"):
            main(args)


def test_a_missing_optional_dependency_names_the_extra(tmp_path, capsys, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "plotly", None)  # import plotly now fails
    assert main(["run", _write_run(tmp_path), "--quiet"]) == 1
    err = capsys.readouterr().err
    assert err == "mmsim run: the HTML report needs plotly: pip install 'mmsim[plot]'\n"


def test_describe_names_the_extra_of_a_missing_module():
    from mmsim.cli import describe

    missing = ModuleNotFoundError("No module named 'optuna'", name="optuna")
    assert describe(missing) == "this needs optuna, which is not installed: " \
                                "pip install 'mmsim[optuna]'"
    assert describe(KeyError("x")) == "KeyError: 'x' (--debug shows the traceback)"


def test_every_extra_the_cli_names_is_an_extra_of_the_package():
    import importlib.metadata

    from mmsim.cli import EXTRAS

    extras = set(importlib.metadata.metadata("mmsim").get_all("Provides-Extra"))
    assert set(EXTRAS.values()) <= extras


def test_data_that_does_not_fit_the_contract_names_the_file(tmp_path, capsys):
    from mmsim.data.io import write_taq
    from mmsim.data.synthetic import synthetic_taq

    # Synthetic XBTUSD-like prices on the 0.5 grid, moved by 0.1 off it.
    taq = synthetic_taq(500, seed=0)
    for column in ("price", "bid_price", "ask_price"):
        taq[column] = taq[column] + 0.1
    write_taq(taq, tmp_path / "taq.parquet")
    first_bid = float(taq["bid_price"].iloc[0])
    text = RUN_YAML.replace(f"synthetic: {{rows: {ROWS}, seed: 0}}", "path: taq.parquet")
    assert main(["run", _write_run(tmp_path, text), "--quiet"]) == 1
    assert capsys.readouterr().err == (
        f"mmsim run: bad input data: {tmp_path}/taq.parquet: taq column 'bid_price' is "
        f"{first_bid!r} at row 0, off the tick grid of 0.5 (BitMEX XBTUSD); the nearest price "
        f"on the grid is {first_bid - 0.1!r}: check the contract matches the data\n")


def test_warnings_are_one_line_each(tmp_path, capsys):
    # A span after the data: nothing is replayed.
    text = RUN_YAML.replace("data:\n", "data:\n  start: 2030-01-01\n").replace(
        "report: true", "report: false")
    assert main(["run", _write_run(tmp_path, text), "--quiet"]) == 0
    assert capsys.readouterr().err == (
        "mmsim run: warning: the run recorded no balance rows: 0 signal row(s) and 0 data "
        "row(s) between start=2030-01-01 00:00:00+00:00 and end=None; its statistics are n/a\n")


def test_demo_on_ten_rows_warns_in_one_line(tmp_path, capsys):
    # The only bar closes at 00:01, after the last of the ten rows: no signal is left.
    assert main(["demo", "--rows", "10", "--out", str(tmp_path), "--quiet"]) == 0
    assert capsys.readouterr().err == (
        "mmsim demo: warning: the run recorded no balance rows: 0 signal row(s) and 10 data "
        "row(s); its statistics are n/a\n")


# --- mmsim run: the span, signals files, user strategies, the Monte Carlo signal ------------

def test_start_and_end_read_only_that_span_of_a_naive_file(tmp_path, capsys):
    from mmsim.data.io import write_taq
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(ROWS, seed=0)
    naive = taq.tz_localize(None)
    write_taq(naive, tmp_path / "taq.parquet")
    start, end = "2019-04-01 00:05", "2019-04-01 00:20"
    text = RUN_YAML.replace(f"synthetic: {{rows: {ROWS}, seed: 0}}",
                            f"path: taq.parquet\n  start: {start}\n  end: {end}").replace(
        "report: true", "report: false")
    assert main(["run", _write_run(tmp_path, text), "--quiet"]) == 0
    err = capsys.readouterr().err.splitlines()
    assert err == [f"mmsim run: warning: {name} has a time index without a timezone; its times "
                   f"are taken as UTC (set the zone with {name}.index = "
                   f"{name}.index.tz_localize(...) to say otherwise)"
                   for name in ("taq", "signals")]
    inside = (naive.index >= pd.Timestamp(start)) & (naive.index < pd.Timestamp(end))
    result = Result.load(tmp_path / "out")
    assert result.params["rows"] == int(inside.sum())
    # The signals are the 1-minute bars of the span up to its last row: closes 00:06 .. 00:19.
    assert result.params["signals"] == 14


def test_signals_from_csv_run_as_from_parquet(tmp_path):
    from mmsim.data.synthetic import synthetic_taq

    signals = volatility_signals(synthetic_taq(ROWS, seed=0), bar="1min", window=60)
    signals.to_csv(tmp_path / "signals.csv")
    signals.to_parquet(tmp_path / "signals.parquet")
    results = []
    for name in ("signals.csv", "signals.parquet"):
        text = RUN_YAML.replace(VOLATILITY, f"path: {name}").replace(
            "dir: out", f"dir: out-{name[8:]}").replace("report: true", "report: false")
        assert main(["run", _write_run(tmp_path, text), "--quiet"]) == 0
        results.append(Result.load(tmp_path / f"out-{name[8:]}"))
    csv, parquet = results
    assert csv.params["signals"] == len(signals) - 1  # the last bar closes after the data
    for table in ("orders", "fills", "balances"):
        tm.assert_frame_equal(getattr(csv, table), getattr(parquet, table))


QUOTER = '''
import mmsim


class Quoter(mmsim.Strategy):
    """One bid and one ask of ``size`` at the touch."""

    def __init__(self, size, *, offset=0.0):
        self.size = size
        self.offset = offset

    def on_signal(self, ctx):
        for oid in ctx.orders["order_id"]:
            ctx.cancel(oid)
        ctx.limit(ctx.bid_price - self.offset, self.size)
        ctx.limit(ctx.ask_price + self.offset, -self.size)
'''


def _with_strategy(name, params):
    return RUN_YAML.replace(STRATEGY.splitlines()[1], f"  name: {name}").replace(
        STRATEGY.splitlines()[2], f"  params: {params}").replace("report: true", "report: false")


def test_a_strategy_class_of_a_file_or_a_module(tmp_path, monkeypatch):
    (tmp_path / "strategies").mkdir()
    (tmp_path / "strategies" / "quoter.py").write_text(QUOTER)
    monkeypatch.syspath_prepend(str(tmp_path / "strategies"))
    fills = []
    for n, name in enumerate(("strategies/quoter.py:Quoter", "quoter:Quoter")):
        text = _with_strategy(name, "{size: 100}").replace("dir: out", f"dir: out{n}")
        config = load_config(_write_run(tmp_path, text))
        assert config.strategy_params == {"size": 100}
        assert main(["run", _write_run(tmp_path, text), "--quiet"]) == 0
        result = Result.load(tmp_path / f"out{n}")
        assert result.params["strategy"] == "Quoter"
        assert set(result.orders["amount"]) == {100.0, -100.0}
        fills.append(result.fills)
    tm.assert_frame_equal(fills[0], fills[1])


@pytest.mark.parametrize("name, params, message", [
    ("quoter.py:Quoter", "{sise: 1}",
     r"^strategy.params.sise: unknown key; expected one of \['size', 'offset'\]$"),
    ("quoter.py:Quoter", "{offset: 1}", r"^strategy.params.size: missing; Quoter needs \['size'\]$"),
    ("nowhere.py:Quoter", "{size: 1}",
     r"^strategy.name: expected an existing Python file in '.*nowhere.py:Quoter', got "
     r".*nowhere.py \(.*nowhere.py not found\)$"),
    ("quoter.py:Quoterr", "{size: 1}",
     r"^strategy.name: expected a class Quoterr in .*quoter.py \('.*quoter.py:Quoterr'\), got "
     r"none; its strategy classes: \['Quoter'\]$"),
    ("quoter.py:mmsim", "{size: 1}",
     r"^strategy.name: expected a strategy class \(one with an on_signal\(ctx\) method\) for "
     r"'.*quoter.py:mmsim', got <module 'mmsim'"),
    ("no_such_module_xyz:Quoter", "{size: 1}",
     r"^strategy.name: expected an importable module in 'no_such_module_xyz:Quoter', got "
     r"ModuleNotFoundError: No module named 'no_such_module_xyz'$"),
    ("Quoter", "{size: 1}",
     r"^strategy.name: expected one of \['AvellanedaStoikov', 'GLFT', 'Symmetric', "
     r"'MonteCarlo'\] or a class as 'package.module:Class' or 'path/to/file.py:Class', "
     r"got 'Quoter'$"),
])
def test_a_user_strategy_is_checked_like_the_built_in_ones(tmp_path, name, params, message):
    (tmp_path / "quoter.py").write_text(QUOTER)
    with pytest.raises(ConfigError, match=message):
        load_config(_write_run(tmp_path, _with_strategy(name, params)))


def test_a_strategy_taking_kwargs_accepts_any_parameter(tmp_path):
    (tmp_path / "loose.py").write_text(QUOTER.replace("class Quoter", "class Loose").replace(
        "def __init__(self, size, *, offset=0.0):", "def __init__(self, size, **extra):").replace(
        "self.offset = offset", "self.offset = extra.get('offset', 0.0)"))
    config = load_config(_write_run(tmp_path, _with_strategy("loose.py:Loose",
                                                             "{size: 1, offset: 0.5}")))
    assert config.strategy_params == {"size": 1, "offset": 0.5}


def test_the_monte_carlo_signal_is_the_notebooks(tmp_path):
    from mmsim.config import load_signals, load_taq
    from mmsim.data.bars import ohlcv

    text = RUN_YAML.replace(f"rows: {ROWS}", "rows: 20000").replace(
        VOLATILITY, "inventory: {bar: 15min, seed: 42}").replace(
        STRATEGY.splitlines()[1], "  name: MonteCarlo").replace(
        STRATEGY.splitlines()[2], "  params: {max_size: 5, threshold: 0.1}").replace(
        "report: true", "report: false")
    config = load_config(_write_run(tmp_path, text))
    assert config.signals == {"inventory": {"bar": "15min", "max_size": 5, "seed": 42}}
    taq = load_taq(config)
    signals = load_signals(config, taq)
    bars = ohlcv(taq, "15min").index
    # Every bar close but the last, which comes after the last row of the data.
    assert bars[-1] > taq.index[-1] >= bars[-2]
    tm.assert_index_equal(signals.index, bars[:-1])
    # The notebook: np.random.seed(42); np.random.randint(-max_size, max_size, len(ohlcv)).
    expected = np.random.RandomState(42).randint(-5, 5, size=len(bars)).astype(float)
    np.testing.assert_array_equal(signals["inv"].to_numpy(), expected[:-1])
    assert signals["inv"].iloc[:5].tolist() == [1.0, -2.0, 2.0, -1.0, 1.0]  # its printed head
    assert main(["run", str(tmp_path / "run.yaml"), "--quiet"]) == 0
    result = Result.load(tmp_path / "out")
    assert result.params["strategy"] == "MonteCarlo"
    assert result.params["signal_columns"] == ["inv"] and len(result.fills) > 0


@pytest.mark.parametrize("inventory, params, message", [
    ("{bar: 15min}", "{threshold: 0.1}",
     r"^strategy.params.max_size: missing; MonteCarlo needs \['max_size'\]$"),
    ("{max_size: 2.5}", "{max_size: 5, threshold: 0.1}",
     r"^signals.inventory.max_size must be a whole number, got 2.5$"),
    ("{seed: -1}", "{max_size: 5, threshold: 0.1}",
     r"^signals.inventory.seed must be >= 0, got -1$"),
    ("{size: 1}", "{max_size: 5, threshold: 0.1}",
     r"^signals.inventory.size: unknown key; expected one of \['bar', 'max_size', 'seed'\]$"),
])
def test_inventory_signal_errors_name_the_key(tmp_path, inventory, params, message):
    text = RUN_YAML.replace(VOLATILITY, f"inventory: {inventory}").replace(
        STRATEGY.splitlines()[1], "  name: MonteCarlo").replace(
        STRATEGY.splitlines()[2], f"  params: {params}")
    with pytest.raises(ConfigError, match=message):
        load_config(_write_run(tmp_path, text))


def test_inventory_max_size_comes_from_the_signal_or_the_strategy(tmp_path):
    (tmp_path / "quoter.py").write_text(QUOTER.replace("*, offset=0.0", "*, offset=0.0, **extra"))
    spec = {"data": {"synthetic": {"rows": 10}},
            "strategy": {"name": "quoter.py:Quoter", "params": {"size": 1, "max_size": 5}},
            "signals": {"inventory": {}}}
    assert parse_config(spec, base=tmp_path).signals["inventory"]["max_size"] == 5
    spec["strategy"]["params"].pop("max_size")
    with pytest.raises(ConfigError, match=r"^signals.inventory.max_size: missing; give it here "
                                          r"or as strategy.params.max_size$"):
        parse_config(spec, base=tmp_path)
    spec["signals"]["inventory"]["max_size"] = 3
    assert parse_config(spec, base=tmp_path).signals["inventory"] == {
        "bar": "15min", "max_size": 3, "seed": 42}


# --- one strategy registry --------------------------------------------------------------------

def test_one_registry_names_the_strategies_of_the_package_config_and_sweeps(tmp_path,
                                                                          monkeypatch):
    import sys

    import mmsim
    import mmsim.strategies
    from mmsim.strategies.registry import STRATEGIES, strategy_class
    from mmsim.sweep.job import strategy_class as sweep_class

    assert mmsim.strategies.__all__ == list(STRATEGIES)
    assert set(STRATEGIES) <= set(mmsim.__all__)
    for name in STRATEGIES:
        assert getattr(mmsim, name) is getattr(mmsim.strategies, name) is strategy_class(name)
    # A strategy added to the table is known by name everywhere at once.
    (tmp_path / "extra_quoter.py").write_text(QUOTER)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(STRATEGIES, "Quoter", "extra_quoter")
    monkeypatch.delitem(sys.modules, "extra_quoter", raising=False)
    cls = strategy_class("Quoter")
    assert cls.__name__ == "Quoter" and sweep_class("Quoter") is cls
    assert mmsim.strategies.Quoter is cls
    assert load_config(_write_run(tmp_path, _with_strategy("Quoter", "{size: 5}"))).strategy \
        == "Quoter"


@pytest.mark.parametrize("max_size, error, message", [
    (2.5, ValueError, "max_size must be a whole number, got 2.5"),
    (0, ValueError, "max_size must be > 0, got 0"),
    (True, TypeError, "max_size must be an integer, got True"),
])
def test_inventory_signals_need_a_whole_max_size(max_size, error, message):
    from mmsim.data.bars import inventory_signals
    from mmsim.data.synthetic import synthetic_taq

    with pytest.raises(error, match=f"^{message}$"):
        inventory_signals(synthetic_taq(100, seed=0), max_size=max_size)
