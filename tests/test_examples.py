"""The files in examples/: the YAML run and the notebook walk-through, on small data."""
from __future__ import annotations

import runpy
from pathlib import Path

import pandas.testing as tm
import pytest
import yaml

pytest.importorskip("mmsim._core", reason="the compiled engine is not built")
pytest.importorskip("plotly")
pytest.importorskip("matplotlib")

from mmsim.cli import main  # noqa: E402
from mmsim.config import load_config  # noqa: E402
from mmsim.results import Result  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
ROWS = 3000


def test_run_yaml_as_shipped_is_valid():
    config = load_config(EXAMPLES / "run.yaml")
    assert config.synthetic == {"seed": 0, "duration": "7D"}
    assert config.strategy == "AvellanedaStoikov"
    assert config.strategy_params == {"max_size": 5, "gamma": 0.1, "k": 5, "n": -0.4,
                                      "delta_price": 1, "delta_size": 1}
    assert config.contract.name == "BitMEX XBTUSD"
    assert config.engine["latency"] == 0.5 and config.engine["cancel_latency"] is None
    assert config.output == EXAMPLES / "out" / "example-run"


def test_run_yaml_runs(tmp_path, capsys):
    # The shipped file with a smaller data set and the output in tmp_path.
    spec = yaml.safe_load((EXAMPLES / "run.yaml").read_text())
    spec["data"]["synthetic"] = {"rows": ROWS, "seed": 0}
    spec["output"]["dir"] = str(tmp_path / "out")
    (tmp_path / "run.yaml").write_text(yaml.safe_dump(spec))
    assert main(["run", str(tmp_path / "run.yaml"), "--quiet"]) == 0
    assert "Number of orders:" in capsys.readouterr().out
    result = Result.load(tmp_path / "out")
    assert result.params["rows"] == ROWS and len(result.fills) > 0
    assert (tmp_path / "out" / "report.html").is_file()
    # the saved result says where its data came from
    assert result.provenance["source"] == f"synthetic_taq(seed=0, n_rows={ROWS})"
    assert result.provenance["rows"] == ROWS


def test_notebook_walkthrough(tmp_path, capsys):
    walkthrough = runpy.run_path(str(EXAMPLES / "notebook_walkthrough.py"), run_name="example")
    result = walkthrough["main"](["--rows", str(ROWS), "--out", str(tmp_path)])
    printed = capsys.readouterr().out
    assert f"TAQ: {ROWS:,} rows" in printed
    assert "Percentage cancelled:" in printed
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["balance.png", "daily_pnl.png", "drawdown.png", "inventory.png",
                     "margin.png", "orders.png", "pnl.png", "position.png", "price.png",
                     "quotes-first-5min.png", "quotes.png", "report.html", "result"]
    assert Result.load(tmp_path / "result").provenance["rows"] == ROWS
    tm.assert_frame_equal(Result.load(tmp_path / "result").fills, result.fills)


def test_notebook_walkthrough_on_the_binance_capture(tmp_path, capsys, shared):
    from helpers import BINANCE_DIR

    from mmsim.data import binance
    from mmsim.data.io import write_taq

    taq = binance.to_taq(shared(*BINANCE_DIR, "btcusd_perp_trades.csv.gz"),
                         shared(*BINANCE_DIR, "btcusd_perp_quotes.csv.gz"))
    path = write_taq(taq, tmp_path / "perp.parquet")
    walkthrough = runpy.run_path(str(EXAMPLES / "notebook_walkthrough.py"), run_name="example")
    result = walkthrough["main"](["--taq", str(path), "--contract", "BINANCE_BTCUSD_PERP",
                                  "--out", str(tmp_path / "out")])
    assert f"TAQ: {len(taq):,} rows" in capsys.readouterr().out
    assert result.contract.name == "Binance BTCUSD_PERP"
    assert result.params["rows"] == len(taq) and len(result.fills) > 0
    assert (tmp_path / "out" / "report.html").is_file()
