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
        ("latency: 0.5", "latency: fast", "engine.latency: expected a number >= 0, got 'fast'"),
        ("queue_position: 1.0", "queue_position: -1",
         "engine.queue_position: expected a number >= 0, got -1"),
        ("contract: BITMEX_XBTUSD", "contract: KRAKEN",
         "contract: expected one of ['BITMEX_XBTUSD', 'BINANCE_BTCUSD_PERP', 'BINANCE_BTCUSDT']"),
        ("name: AvellanedaStoikov", "name: Nope",
         "strategy.name: expected one of ['AvellanedaStoikov', 'GLFT', 'Symmetric', 'MonteCarlo']"),
        ("gamma: 0.1,", "gama: 0.1,", "strategy.params.gama: unknown key"),
        ("max_size: 5,", "max_size: -5,", "strategy.params.max_size: max_size must be > 0"),
        ("rows: 3000", "rows: many", "data.synthetic.rows: expected an integer > 0, got 'many'"),
        ("bar: 1min", "bar: soon", "signals.volatility.bar: expected a positive duration"),
        ("window: 60", "window: 1", "signals.volatility.window: expected an integer >= 2, got 1"),
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
         r"^signals: expected exactly one of 'volatility' or 'path'$"),
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
    assert main(["run", str(tmp_path / "run.yaml")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("loading data ... failed\nmmsim run: bad input data: ")
    assert "has no 'time' column" in err


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
    ({"synthetic": {"std": -1}}, r"^data.funding.synthetic.std: expected a number >= 0, got -1$"),
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
