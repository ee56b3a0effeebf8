"""``mmsim sweep SWEEP.yaml``: the shipped example on small data, resuming, bad files."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pandas as pd
import pytest
import yaml

pytest.importorskip("plotly")
pytest.importorskip("optuna")

import mmsim  # noqa: E402
from mmsim.cli import main  # noqa: E402
from mmsim.commands.sweep import (  # noqa: E402
    execute_sweep, load_sweep_config, parse_sweep_config,
)
from mmsim.config import ConfigError  # noqa: E402
from test_report import _Outline  # noqa: E402

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
H = pd.Timedelta("1h")
T0 = pd.Timestamp("2019-04-01", tz="UTC")


def test_example_as_shipped_is_valid():
    config = load_sweep_config(EXAMPLES / "sweep.yaml")
    assert len(config.grid) == 18 and config.grid[1] == {"gamma": 0.05, "k": 2, "latency": 0.5}
    assert config.run.strategy_params == {"max_size": 5, "n": -0.4, "delta_price": 1,
                                          "delta_size": 1}
    # only the engine keys the file gives are shared, so latency can be swept
    assert config.engine == {"balance": 1.0, "queue_position": 1.0, "seed": 42}
    assert config.executor is None
    assert config.walk_forward == {"train": "2D", "test": "1D", "step": "1D", "embargo": "0s",
                                   "objective": "sharpe"}
    assert config.optimize["space"]["gamma"] == ("log-uniform", 0.01, 1)
    assert config.optimize["objective"] == ("pnl", "max_drawdown")
    assert config.run.output == EXAMPLES / "out" / "example-sweep"


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    """The shipped example on 4 hours of data: hourly windows, 4 trials, in this process."""
    tmp = tmp_path_factory.mktemp("sweep")
    spec = yaml.safe_load((EXAMPLES / "sweep.yaml").read_text())
    spec["data"]["synthetic"] = {"duration": "4h", "seed": 0}
    spec["walk_forward"].update(train="2h", test="1h", step="1h")
    spec["optimize"]["n_trials"] = 4
    spec["stats"]["freq"] = "15min"
    spec["output"]["dir"] = str(tmp / "out")
    path = tmp / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path, tmp / "out"


def test_example_runs_and_resumes(example, capsys):
    path, out = example
    assert main(["sweep", str(path), "--executor", "serial", "--quiet"]) == 0
    printed = capsys.readouterr().out
    table = mmsim.sweep.load(out / "store")
    assert len(table) == 18 and (table["status"] == "ok").all()
    best = table.loc[table["sharpe"].idxmax()]
    assert (f"sweep: 18 runs, 0 failed; best sharpe {best['sharpe']:.6g} at "
            f"gamma={best['gamma']}, k={best['k']}, latency={best['latency']}") in printed
    # [00:00, 04:00): train two hours, test the next one, step one hour
    windows = pd.read_csv(out / "walk_forward" / "windows.csv",
                          parse_dates=["train_start", "test_end"])
    assert windows["train_start"].tolist() == [T0, T0 + H]
    assert windows["test_end"].tolist() == [T0 + 3 * H, T0 + 4 * H]
    stitched = mmsim.Result.load(out / "walk_forward" / "result")
    assert stitched.params["windows"] == 2
    assert "walk-forward: 2 windows" in printed and "optimize: 4 trials" in printed
    outline = _Outline()
    outline.feed((out / "sweep.html").read_text(encoding="utf-8"))
    assert outline.sections == ["summary", "heatmap", "top", "stability", "walk-forward"]
    assert (out / "optimize.html").is_file() and (out / "optimize" / "optuna.db").is_file()
    # Rerun: everything is in the stores, nothing runs again.
    finished = table.set_index("key")["finished"]
    assert main(["sweep", str(path), "--executor", "serial", "--quiet"]) == 0
    again = mmsim.sweep.load(out / "store").set_index("key")["finished"]
    pd.testing.assert_series_equal(again.sort_index(), finished.sort_index())
    assert "optimize: 4 trials" in capsys.readouterr().out


BASE = """
data: {synthetic: {rows: 500, seed: 0}}
strategy: {name: AvellanedaStoikov, params: {max_size: 5, k: 5}}
"""


@pytest.mark.parametrize("extra, message", [
    ("grid: {gamma: [0.1], colour: [1]}", "grid.colour: grid key 'colour' is not an argument"),
    ("grid: {gamma: [0.1], latency: [1]}\nengine: {latency: 0.5}",
     "grid.latency: also set in engine.latency"),
    ("grid: {gamma: [0.1], k: [1]}", "grid.k: also set in strategy.params.k"),
    ("grid: {gamma: 0.1}", "grid: grid['gamma'] must be a list of values"),
    ("grid: {latency: [0.1]}", "strategy.params.gamma: missing"),
    ("grid: {gamma: [0.1]}\nexecutor: fast", "executor: expected local, serial"),
    ("grid: {gamma: [0.1]}\nwalk_forward: {train: soon}", "walk_forward.train: train must be"),
    ("grid: {gamma: [0.1]}\nwalk_forward: {objective: [pnl, down]}",
     "walk_forward.objective: objective must be a statistic name"),
    ("walk_forward: {train: 1D}", "grid: missing"),
    ("optimize: {n_trials: 3}", "optimize.space: missing"),
    ("optimize: {space: {gamma: [cubic, 0, 1]}}", "optimize.space: space['gamma'] must be"),
    ("optimize: {space: {gamma: [uniform, 0, 1]}, objective: [pnl, sharpe], directions: [max]}",
     "optimize.directions: directions must give"),
    ("grid: {gamma: [0.1]}\nreport: {x: gamma, y: k}", "report.y: expected one of the swept"),
    ("grid: {gamma: [0.1]}\nreport: {stat: sharp}", "report.stat: expected a statistic, one of"),
    ("grid: {gamma: [0.1]}\nsample: {n: 2, space: {gamma: [uniform, 0, 1]}}",
     "sample: give either 'grid' or 'sample'"),
    ("grid: {gamma: [0.1]}\nstats: {size_limit: 5}", "stats.size_limit: not used by sweeps"),
    ("grid: {gamma: [0.1]}\nplot: true", "plot: unknown section"),
])
def test_bad_files_name_the_key(tmp_path, capsys, extra, message):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + extra + "\n")
    assert main(["sweep", str(path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("mmsim sweep: ") and message in err, err


@pytest.mark.parametrize("extra, message", [
    ("optimize: {space: {gamma: [uniform, 0.01, 1]}}\nwalk_forward: {train: 1D}",
     r"^walk_forward: needs a 'grid' \(or 'sample'\) to choose from$"),
    ("sample: {n: 2}", r"^sample.space: missing; a sample needs a search space$"),
    ("sample: {n: 2, method: sobol, space: {gamma: [uniform, 0.01, 1]}}",
     r"^sample.method: expected one of \['random', 'halton'\], got 'sobol'$"),
    ("grid: {gamma: [0.1, 0.2], latency: [0.1]}\nreport: {x: gamma}",
     r"^report: give both x and y for the heatmap, or neither$"),
    ("grid: {gamma: [0.1]}\nreport: {others: worst}",
     r"^report.others: expected 'best' or a mapping of parameter values, got 'worst'$"),
    ("grid: {gamma: [0.1]}\nreport: {others: [gamma]}",
     r"^report.others: expected 'best' or a mapping of parameter values, got \['gamma'\]$"),
])
def test_bad_sections_raise_a_config_error_naming_the_key(tmp_path, extra, message):
    path = tmp_path / "bad.yaml"
    path.write_text(BASE + extra + "\n")
    with pytest.raises(ConfigError, match=message):
        load_sweep_config(path)


def test_sample_and_dask_address(tmp_path):
    spec = yaml.safe_load(textwrap.dedent(BASE) + textwrap.dedent("""
        sample: {n: 3, seed: 1, method: halton, space: {gamma: [log-uniform, 0.01, 1]}}
        executor: tcp://127.0.0.1:8786
        """))
    config = parse_sweep_config(spec)
    assert config.grid == mmsim.sweep.sample(3, {"gamma": ("log-uniform", 0.01, 1)}, seed=1,
                                             method="halton")
    assert config.executor == "tcp://127.0.0.1:8786"
    for given, parsed in (("local", None), ("serial", "serial"), (2, 2)):
        assert parse_sweep_config({**spec, "executor": given}).executor == parsed
    with pytest.raises(ConfigError, match="walk_forward: .*no walk-forward window fits"):
        spec.update(walk_forward={"train": "30D"}, executor="serial",
                    output={"dir": str(tmp_path / "out")})
        execute_sweep(parse_sweep_config(spec), quiet=True)


def test_ctrl_c_exits_130_and_says_how_to_resume(tmp_path, capsys, monkeypatch):
    import mmsim.commands.sweep as command

    def interrupted(config, quiet=False):
        raise KeyboardInterrupt

    monkeypatch.setattr(command, "execute_sweep", interrupted)
    path = tmp_path / "sweep.yaml"
    path.write_text(BASE + "grid: {gamma: [0.1]}\n")
    assert main(["sweep", str(path), "--quiet"]) == 130
    assert "run the same command again to resume" in capsys.readouterr().err
