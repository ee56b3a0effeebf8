"""mmsim.sweep: grids, key routing, executors (bit for bit), failures, the store, Ctrl-C."""
from __future__ import annotations

import dataclasses
import math
import os
import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim.data.synthetic import synthetic_taq
from mmsim.sweep import SweepInterrupted, expand, sample
from mmsim.sweep.executors import DaskRunner, ProcessRunner, open_runner
from mmsim.sweep.grid import halton
from mmsim.sweep.job import make_job

from sweep_strategies import Quoter

TABLES = ("orders", "fills", "balances", "positions")
WINDOWS = [{"start": None, "end": None},
           {"start": "2019-04-01 00:30", "end": "2019-04-01 01:30"},
           {"start": None, "end": "2019-04-01 01:00"}]
#: 12 combinations: a strategy argument, a backtest argument and the time window.
GRID = [{"offset": o, "latency": lat, **w} for o in (0, 1) for lat in (0.1, 0.5) for w in WINDOWS]
#: A Contract field given as a keyword argument of the sweep.
TAKER_FEE = 0.001


@pytest.fixture(scope="module")
def taq():
    return synthetic_taq(duration="2h", seed=1)


@pytest.fixture(scope="module")
def signals(taq):
    index = pd.date_range(taq.index[0].ceil("1min"), taq.index[-1], freq="1min", name="time")
    return pd.DataFrame({"sigma": np.full(len(index), 0.01)}, index=index)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _shm_blocks() -> set:
    # This process's sweep blocks only: other processes may hold blocks of their own.
    shm = Path("/dev/shm")
    return {p.name for p in shm.glob(f"mmsim_{os.getpid()}_*")} if shm.is_dir() else set()


def _runs(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


# -- grids -------------------------------------------------------------------------------------

def test_expand_dict_is_the_product_in_dict_order_last_key_fastest():
    assert expand({"b": [1, 2], "a": ["x", "y", "z"]}) == [
        {"b": 1, "a": "x"}, {"b": 1, "a": "y"}, {"b": 1, "a": "z"},
        {"b": 2, "a": "x"}, {"b": 2, "a": "y"}, {"b": 2, "a": "z"}]
    assert expand({"k": np.array([2, 5])}) == [{"k": 2}, {"k": 5}]


def test_expand_list_of_dicts_is_kept_as_given():
    grid = [{"gamma": 0.1}, {"gamma": 0.2, "k": 3}]
    assert expand(grid) == grid
    assert expand(grid)[0] is not grid[0]


@pytest.mark.parametrize("grid, error, text", [
    ({"gamma": 0.1}, TypeError, "grid['gamma'] must be a list"),
    ({"gamma": []}, ValueError, "grid['gamma'] is empty"),
    ({}, ValueError, "grid is empty"),
    ([{"gamma": 1}, 3], TypeError, "grid[1] must be a dict"),
    ("gamma", TypeError, "grid must be a dict of lists"),
])
def test_expand_rejects_bad_grids(grid, error, text):
    with pytest.raises(error) as info:
        expand(grid)
    assert text in str(info.value)


@pytest.mark.parametrize("grid, message", [
    ({"gamma": [0.1], "": [1]}, r"^grid: parameter names must be non-empty strings, got ''$"),
    ({("gamma",): [0.1]}, r"^grid: parameter names must be non-empty strings, got \('gamma',\)$"),
    ([{"gamma": 0.1}, {2: 0.2}], r"^grid\[1\]: parameter names must be non-empty strings, "
                                 r"got 2$"),
])
def test_grid_parameter_names_must_be_non_empty_strings(grid, message):
    with pytest.raises(TypeError, match=message):
        expand(grid)


def test_sample_random_maps_the_documented_draws():
    space = {"u": ("uniform", -1.0, 3.0), "g": ("log-uniform", 0.01, 1.0), "n": ("int", 2, 4),
             "c": ("choice", ["a", "b", "c"])}
    got = sample(5, space, seed=7)
    u = np.random.default_rng(7).random((5, 4))
    for row, draw in zip(got, u):
        assert row["u"] == -1.0 + draw[0] * 4.0
        # NumPy's vectorised exp may round the last bit differently from math.exp.
        assert row["g"] == pytest.approx(
            math.exp(math.log(0.01) + draw[1] * (math.log(1.0) - math.log(0.01))), rel=4e-16)
        assert row["n"] == 2 + int(draw[2] * 3)
        assert row["c"] == "abc"[int(draw[3] * 3)]
    assert sample(5, space, seed=7) == got
    assert sample(5, space, seed=8) != got


def test_sample_stays_within_bounds_and_log_uniform_spreads_over_decades():
    got = sample(400, {"g": ("log-uniform", 0.001, 10.0), "n": ("int", -2, 2)}, seed=3)
    g = np.array([r["g"] for r in got])
    n = {r["n"] for r in got}
    assert g.min() >= 0.001 and g.max() < 10.0
    assert n == {-2, -1, 0, 1, 2} and all(isinstance(r["n"], int) for r in got)
    # Four decades, about a quarter of the points each.
    counts = np.histogram(np.log10(g), bins=[-3, -2, -1, 0, 1])[0]
    assert counts.min() > 60


def test_halton_is_the_radical_inverse_in_prime_bases():
    np.testing.assert_array_equal(halton(4, 2), [[1 / 2, 1 / 3], [1 / 4, 2 / 3],
                                                 [3 / 4, 1 / 9], [1 / 8, 4 / 9]])
    got = sample(3, {"x": ("uniform", 0.0, 8.0), "k": ("choice", [10, 20, 30])},
                 method="halton")
    assert got == [{"x": 4.0, "k": 20}, {"x": 2.0, "k": 30}, {"x": 6.0, "k": 10}]
    shifted = sample(3, {"x": ("uniform", 0.0, 1.0)}, seed=1, method="halton")
    shift = np.random.default_rng(1).random(1)[0]
    assert [r["x"] for r in shifted] == [(h + shift) % 1.0 for h in (0.5, 0.25, 0.75)]


@pytest.mark.parametrize("space, text", [
    ({"g": ("normal", 0, 1)}, "space['g'] must be a tuple"),
    ({"g": ("log-uniform", 0.0, 1.0)}, "log-uniform range needs low > 0"),
    ({"g": ("uniform", 1.0, 1.0)}, "high (1.0) must be greater than low (1.0)"),
    ({"g": ("int", 0.5, 3)}, "int range needs integer bounds"),
    ({"g": ("choice", [])}, "('choice', [values...])"),
])
def test_sample_rejects_bad_spaces(space, text):
    with pytest.raises(ValueError) as info:
        sample(3, space, seed=0)
    assert text in str(info.value)


@pytest.mark.parametrize("spec, error, message", [
    (("uniform", 0.0), ValueError, r"^space\['g'\] must be \('uniform', low, high\), "
                                   r"got \('uniform', 0.0\)$"),
    (("int", 1, 5, 9), ValueError, r"^space\['g'\] must be \('int', low, high\), "
                                   r"got \('int', 1, 5, 9\)$"),
    (("uniform", "0", 1.0), TypeError, r"^space\['g'\]: low must be a real number, got '0'$"),
    (("log-uniform", 0.1, math.inf), ValueError,
     r"^space\['g'\]: high must be finite, got inf$"),
    (("int", True, 5), TypeError, r"^space\['g'\]: low must be a real number, got True$"),
])
def test_sample_ranges_need_two_finite_bounds(spec, error, message):
    with pytest.raises(error, match=message):
        sample(3, {"g": spec}, seed=0)


def test_sample_needs_a_parameter_and_halton_at_most_thirty():
    with pytest.raises(ValueError, match="^space is empty: give at least one parameter$"):
        sample(3, {})
    space = {f"p{j}": ("uniform", 0.0, 1.0) for j in range(31)}
    with pytest.raises(ValueError, match="^the Halton sequence here has at most 30 dimensions, "
                                         "got 31$"):
        sample(3, space, method="halton")
    # One prime base per dimension: 30 dimensions are fine, and random draws have no limit.
    assert len(sample(3, dict(list(space.items())[:30]), method="halton")[0]) == 30
    assert len(sample(3, space, seed=0)[0]) == 31


def test_sample_rejects_bad_n_and_method():
    with pytest.raises(ValueError, match=r"^n must be >= 1, got 0$"):
        sample(0, {"g": ("uniform", 0, 1)})
    with pytest.raises(ValueError, match="method must be one of"):
        sample(2, {"g": ("uniform", 0, 1)}, method="sobol")


# -- key validation ----------------------------------------------------------------------------

class Seeded(mmsim.Strategy):
    def __init__(self, seed=0, latency_bias=0.0):
        self.seed = seed

    def on_signal(self, ctx):
        pass


@pytest.mark.parametrize("kwargs, text", [
    (dict(grid={"gama": [0.1]}), "grid key 'gama' is not an argument of Quoter"),
    (dict(grid={"offset": [1]}, fixed={"sizee": 3}), "fixed key 'sizee' is not an argument"),
    (dict(grid={"offset": [1]}, latencyy=0.1), "fixed key 'latencyy' is not an argument"),
    (dict(grid={"offset": [1]}, fixed={"offset": 2}), "grid key 'offset' is also given in fixed"),
    (dict(grid={"offset": [1]}, fixed={"latency": 1}, latency=2),
     "'latency' is given both in fixed= and as a keyword"),
    (dict(grid={"offset": [1]}, keep="all"), "keep must be one of"),
    (dict(grid={"offset": [1]}, stats_freq="-1h"), "stats_freq must be a positive"),
])
def test_bad_keys_are_named_before_anything_runs(taq, signals, tmp_path, kwargs, text):
    log = tmp_path / "runs"
    kwargs.setdefault("fixed", {})
    kwargs["fixed"] = {**kwargs["fixed"], "log": str(log)}
    with pytest.raises(ValueError) as info:
        mmsim.sweep(taq, signals, Quoter, executor="serial", progress=False, **kwargs)
    assert text in str(info.value)
    assert not log.exists()


def test_a_key_both_strategy_and_backtest_argument_is_ambiguous(taq, signals):
    with pytest.raises(ValueError) as info:
        mmsim.sweep(taq, signals, Seeded, {"seed": [1, 2]}, executor="serial", progress=False)
    assert "grid key 'seed' is ambiguous" in str(info.value)
    assert "Seeded" in str(info.value) and "backtest" in str(info.value)
    # The class is usable as long as the ambiguous name is not swept.
    table = mmsim.sweep(taq, signals, Seeded, {"latency_bias": [0.0]}, executor="serial",
                        progress=False)
    assert table["status"].tolist() == ["ok"]


def test_a_missing_strategy_argument_is_named(taq, signals):
    with pytest.raises(ValueError) as info:
        mmsim.sweep(taq, signals, "AvellanedaStoikov", {"gamma": [0.1]}, fixed={"k": 5},
                    executor="serial", progress=False)
    assert "AvellanedaStoikov needs 'max_size'" in str(info.value)


def test_strategy_by_registry_name_equals_the_class(taq, signals):
    kw = dict(fixed={"max_size": 5, "k": 5, "n": -0.4}, executor="serial", progress=False)
    by_name = mmsim.sweep(taq, signals, "AvellanedaStoikov", {"gamma": [0.1, 0.2]}, **kw)
    by_class = mmsim.sweep(taq, signals, mmsim.AvellanedaStoikov, {"gamma": [0.1, 0.2]}, **kw)
    pd.testing.assert_frame_equal(by_name.drop(columns="wall_time"),
                                  by_class.drop(columns="wall_time"))
    with pytest.raises(ValueError,
                       match="strategy must be a Strategy class or a name: expected one of"):
        mmsim.sweep(taq, signals, "Nope", {"gamma": [0.1]}, executor="serial", progress=False)
    with pytest.raises(TypeError, match="strategy must be a Strategy class"):
        mmsim.sweep(taq, signals, Quoter(), {"offset": [1]}, executor="serial", progress=False)


def test_unknown_executor_is_named(taq, signals):
    with pytest.raises(ValueError, match="executor must be 'serial'"):
        mmsim.sweep(taq, signals, Quoter, {"offset": [1]}, executor="threads", progress=False)


@pytest.mark.parametrize("executor, error, message", [
    (0, ValueError, r"^executor must be a positive number of processes, got 0$"),
    (-2, ValueError, r"^executor must be a positive number of processes, got -2$"),
    (2.5, TypeError, r"^executor must be 'serial', None, a number of processes or a "
                     r"dask.distributed.Client, got 2.5$"),
    (True, TypeError, r"^executor must be 'serial', None, a number of processes or a "
                      r"dask.distributed.Client, got True$"),
])
def test_executors_of_the_wrong_number_or_type_are_named(taq, signals, tmp_path, executor,
                                                         error, message):
    log = tmp_path / "runs"
    with pytest.raises(error, match=message):
        mmsim.sweep(taq, signals, Quoter, {"offset": [1]}, fixed={"log": str(log)},
                    executor=executor, progress=False)
    assert not log.exists()


def test_a_store_that_is_a_file_is_refused(taq, signals, tmp_path):
    log, store = tmp_path / "runs", tmp_path / "store.parquet"
    store.write_bytes(b"not a directory")
    with pytest.raises(ValueError, match=rf"^store must be a directory, got the file "
                                         rf"{re.escape(str(store))}$"):
        mmsim.sweep(taq, signals, Quoter, {"offset": [1]}, fixed={"log": str(log)},
                    executor="serial", progress=False, store=store)
    assert not log.exists()
    assert store.read_bytes() == b"not a directory"


def test_contract_fields_on_a_contract_that_is_not_one_fail_each_combination(taq, signals):
    # Like any failing combination, the error is recorded in its row; the sweep goes on.
    table = mmsim.sweep(taq, signals, Quoter, [{"maker_fee": 0.0}, {"offset": 1}],
                        contract="BITMEX_XBTUSD", executor="serial", progress=False)
    assert table["status"].tolist() == ["error", "error"]
    assert table.at[0, "error"] == ("TypeError: contract must be a mmsim.Contract, "
                                    "got 'BITMEX_XBTUSD'")
    # Without contract fields to apply, backtest refuses the contract itself.
    assert table.at[1, "error"] == "TypeError: contract must be a mmsim.Contract, got str"


# -- bit for bit on every executor -------------------------------------------------------------

def _plain(taq, signals, combo):
    strategy = Quoter(offset=combo["offset"])
    contract = dataclasses.replace(mmsim.BITMEX_XBTUSD, taker_fee=TAKER_FEE)
    return mmsim.backtest(taq, signals, strategy, contract=contract, latency=combo["latency"],
                          start=combo["start"], end=combo["end"])


@pytest.mark.parametrize("executor", ["serial", 2, "dask"])
def test_twelve_combinations_equal_twelve_plain_backtests(taq, signals, executor, request):
    if executor == "dask":
        executor = request.getfixturevalue("client")
    before = _shm_blocks()
    table = mmsim.sweep(taq, signals, Quoter, GRID, executor=executor, keep="results",
                        progress=False, taker_fee=TAKER_FEE)
    assert list(table.index) == list(range(12))
    assert list(table.columns[:4]) == ["offset", "latency", "start", "end"]
    assert list(table.columns[-5:]) == ["status", "error", "wall_time", "key", "result"]
    assert table["status"].tolist() == ["ok"] * 12 and table["error"].tolist() == [""] * 12
    assert table["key"].nunique() == 12
    for i, combo in enumerate(GRID):
        expected = _plain(taq, signals, combo)
        got = table.at[i, "result"]
        for name in TABLES:
            pd.testing.assert_frame_equal(getattr(got, name), getattr(expected, name),
                                          check_exact=True)
        assert got.params == expected.params
        assert got.contract == expected.contract
        stats = expected.stats("1h")
        # The grid sweeps start and end, so those statistics are named stats.start, stats.end.
        row = table.loc[i, [f"stats.{k}" if k in ("start", "end") else k for k in stats.index]]
        same = [v == s or (pd.isna(v) and pd.isna(s)) for v, s in zip(row, stats)]
        assert [name for name, ok in zip(stats.index, same) if not ok] == []
        # (pandas holds a missing start/end as NaN.)
        assert [None if pd.isna(v) else v for v in
                table.loc[i, ["offset", "latency", "start", "end"]]] == \
            [combo["offset"], combo["latency"], combo["start"], combo["end"]]
    assert _shm_blocks() <= before


def test_identical_combinations_run_once(taq, signals, tmp_path):
    log = tmp_path / "runs"
    table = mmsim.sweep(taq, signals, Quoter, [{"offset": 1}, {"offset": 0}, {"offset": 1}],
                        fixed={"log": str(log)}, executor="serial", progress=False)
    assert _runs(log) == 2
    assert table.at[0, "key"] == table.at[2, "key"] != table.at[1, "key"]
    assert table.at[0, "pnl"] == table.at[2, "pnl"]


# -- failures ----------------------------------------------------------------------------------

@pytest.mark.parametrize("executor", ["serial", 2])
def test_a_failing_combination_is_recorded_and_the_rest_finish(taq, signals, executor):
    grid = [{"offset": 0}, {"offset": 1, "fail": True}, {"offset": 2, "maker_fee": "x"},
            {"offset": 3, "latency": -1.0}, {"offset": 4}]
    table = mmsim.sweep(taq, signals, Quoter, grid, executor=executor, progress=False)
    assert table["status"].tolist() == ["ok", "error", "error", "error", "ok"]
    assert table.at[1, "error"].startswith("StrategyError: strategy Quoter raised at ")
    assert table.at[1, "error"].endswith("RuntimeError: boom")
    assert table.at[2, "error"] == "TypeError: Contract.maker_fee must be a real number, got 'x'"
    assert table.at[3, "error"] == "ValueError: latency must be >= 0, got -1.0"
    assert table.loc[[1, 2, 3], "pnl"].isna().all()
    assert table.at[4, "pnl"] == mmsim.backtest(taq, signals, Quoter(offset=4)).stats()["pnl"]
    assert table.at[0, "error"] == ""


# -- the store ---------------------------------------------------------------------------------

def test_store_reads_back_equal_and_resume_runs_nothing(taq, signals, tmp_path):
    log, store = tmp_path / "runs", tmp_path / "store"
    grid = {"offset": [0, 1, 2], "latency": [0.1, 0.5]}
    kw = dict(fixed={"log": str(log)}, executor="serial", progress=False, store=store)
    table = mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert _runs(log) == 6
    assert len(list((store / "runs").glob("*.parquet"))) == 6
    loaded = mmsim.sweep.load(store)
    assert set(loaded.columns) == set(table.columns) | {"strategy", "finished"}
    assert loaded["strategy"].unique().tolist() == ["Quoter"]
    pd.testing.assert_frame_equal(
        loaded.set_index("key").loc[table["key"], table.columns.drop("key")].reset_index(drop=True),
        table.drop(columns="key").reset_index(drop=True), check_exact=True)
    again = mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert _runs(log) == 6
    pd.testing.assert_frame_equal(again, table, check_exact=True)
    # A new value runs only the new combinations; other data or settings change every key.
    mmsim.sweep(taq, signals, Quoter, {"offset": [0, 1, 2, 3], "latency": [0.1, 0.5]}, **kw)
    assert _runs(log) == 8
    mmsim.sweep(taq, signals, Quoter, grid, stats_freq="30min", **kw)
    assert _runs(log) == 14
    mmsim.sweep(taq.iloc[:-1], signals, Quoter, grid, **kw)
    assert _runs(log) == 20


def test_store_keeps_results_and_reads_them_back_on_resume(taq, signals, tmp_path):
    log, store = tmp_path / "runs", tmp_path / "store"
    kw = dict(fixed={"log": str(log)}, executor="serial", progress=False, store=store,
              keep="results")
    first = mmsim.sweep(taq, signals, Quoter, {"offset": [0, 1]}, **kw)
    again = mmsim.sweep(taq, signals, Quoter, {"offset": [0, 1]}, **kw)
    assert _runs(log) == 2
    for i in range(2):
        for name in TABLES:
            pd.testing.assert_frame_equal(getattr(again.at[i, "result"], name),
                                          getattr(first.at[i, "result"], name), check_exact=True)


def test_load_rejects_a_directory_that_is_not_a_store(tmp_path):
    with pytest.raises(FileNotFoundError, match="is not a sweep store"):
        mmsim.sweep.load(tmp_path)


# -- Ctrl-C ------------------------------------------------------------------------------------

def test_ctrl_c_in_serial_keeps_what_finished_and_resume_reruns_nothing(taq, signals, tmp_path):
    log, store, trigger = tmp_path / "runs", tmp_path / "store", tmp_path / "stop"
    trigger.touch()
    grid = [{"offset": k, "interrupt": str(trigger) if k == 5 else None} for k in range(12)]
    kw = dict(fixed={"log": str(log)}, executor="serial", progress=False, store=store)
    with pytest.raises(SweepInterrupted) as info:
        mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert isinstance(info.value, KeyboardInterrupt)
    assert info.value.table["offset"].tolist() == [0, 1, 2, 3, 4]
    assert _runs(log) == 6
    assert set(mmsim.sweep.load(store)["key"]) == set(info.value.table["key"])
    table = mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert _runs(log) == 6 + 7
    assert table["status"].tolist() == ["ok"] * 12
    # (interrupt holds None in rows 0-4: its dtype differs once row 5 adds a path.)
    pd.testing.assert_frame_equal(table.loc[:4].drop(columns=["wall_time", "interrupt"]),
                                  info.value.table.drop(columns=["wall_time", "interrupt"]),
                                  check_exact=True)


def test_ctrl_c_with_processes_stops_workers_and_frees_shared_memory(taq, signals, tmp_path):
    log, store, trigger = tmp_path / "runs", tmp_path / "store", tmp_path / "stop"
    trigger.touch()
    grid = [{"offset": k, "interrupt": str(trigger) if k == 3 else None, "how": "signal"}
            for k in range(12)]
    kw = dict(fixed={"log": str(log)}, executor=2, progress=False, store=store)
    psutil = pytest.importorskip("psutil")

    def workers():
        # Python's shared-memory resource tracker starts once per process on first use and
        # stays: it is no worker.
        return {p.pid for p in psutil.Process().children()
                if "resource_tracker" not in " ".join(p.cmdline())}

    before, children = _shm_blocks(), workers()
    with pytest.raises(SweepInterrupted) as info:
        mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert _shm_blocks() <= before
    assert workers() <= children
    finished = set(info.value.table["key"])
    assert set(mmsim.sweep.load(store)["key"]) == finished
    assert len(finished) < 12
    first_runs = _runs(log)
    table = mmsim.sweep(taq, signals, Quoter, grid, **kw)
    assert _runs(log) - first_runs == 12 - len(finished)
    assert table["status"].tolist() == ["ok"] * 12


# -- the data crosses once ---------------------------------------------------------------------

def test_a_local_task_carries_only_its_parameters(taq, signals):
    job = make_job(taq, signals, Quoter)
    payload = pickle.dumps(ProcessRunner.task(7, {"offset": 1, "latency": 0.25}, "stats"))
    assert len(payload) < 300
    assert job.data.nbytes > 100 * len(payload)


def test_a_dask_task_carries_only_its_parameters(taq, signals, client):
    job = make_job(taq, signals, Quoter)
    with open_runner(client, job) as runner:
        assert isinstance(runner, DaskRunner)
        fn, shipment, *args = runner.task(7, {"offset": 1, "latency": 0.25}, "stats")
        assert len(pickle.dumps((fn, *args))) < 300
        assert type(shipment).__name__ == "Future"
        assert runner.n_workers == 2
        assert sorted(i for i, _ in runner.run([{"offset": 0}, {"offset": 1}])) == [0, 1]


def test_workers_map_the_data_and_their_memory_does_not_grow(tmp_path):
    taq = synthetic_taq(duration="1D", seed=3)
    index = pd.date_range(taq.index[0].ceil("5min"), taq.index[-1], freq="5min", name="time")
    signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)
    job = make_job(taq, signals, Quoter)
    with open_runner(2, job) as runner:
        outcomes = dict(runner.run([{"offset": k % 3} for k in range(40)]))
    peak = [outcomes[i]["peak_rss"] for i in range(40)]
    assert all(outcomes[i]["status"] == "ok" for i in range(40))
    # Peak memory is reached in the first runs of each worker, then stays: nothing per task
    # accumulates, and a copy of the data (job.data.nbytes) per task would show.
    assert max(peak) - max(peak[:10]) < job.data.nbytes / 2


def test_a_worker_builds_its_arrays_over_the_shared_block(taq, signals):
    from mmsim.sweep.shared import attach, share

    data = make_job(taq, signals, Quoter).data
    block, layout = share(data)
    try:
        other, view = attach(block.name, layout)
        for name in ("time", "price", "signal_time", "signals"):
            array = getattr(view, name)
            assert not array.flags.owndata and not array.flags.writeable
            np.testing.assert_array_equal(array, getattr(data, name))
        assert view.columns == data.columns
        del view, array
        other.close()
    finally:
        block.close()
        block.unlink()


# -- the package -------------------------------------------------------------------------------

def test_the_package_is_callable_and_dask_stays_unimported():
    code = ("import sys, mmsim; s = mmsim.sweep; "
            "print(callable(s), s.sample is mmsim.sweep.grid.sample, s.expand.__module__, "
            "s.load.__module__, 'distributed' in sys.modules, 'dask' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["True", "True", "mmsim.sweep.grid", "mmsim.sweep.store", "False", "False"]


def test_an_empty_store_reads_back_with_its_columns(tmp_path):
    (tmp_path / "runs").mkdir()
    table = mmsim.sweep.load(tmp_path)
    assert len(table) == 0
    assert list(table.columns) == ["status", "error", "wall_time", "key", "strategy", "finished"]


def test_ctrl_c_while_a_finished_run_is_stored_keeps_it_in_the_table_too(taq, signals, tmp_path,
                                                                        monkeypatch):
    # Ctrl-C lands while the first finished run is being written to the store (here: at the
    # end of that write). The run is then both in the store and in the interrupted table, so
    # that a resume neither loses it nor runs it twice.
    import signal as signals_module

    from mmsim.sweep.store import Store
    store = tmp_path / "store"
    append = Store.append

    def append_then_ctrl_c(self, row, result=None):
        append(self, row, result)
        os.kill(os.getpid(), signals_module.SIGINT)

    monkeypatch.setattr(Store, "append", append_then_ctrl_c)
    grid = [{"offset": k} for k in range(3)]
    with pytest.raises(SweepInterrupted) as info:
        mmsim.sweep(taq, signals, Quoter, grid, executor="serial", progress=False, store=store)
    assert info.value.table["offset"].tolist() == [0]
    assert set(mmsim.sweep.load(store)["key"]) == set(info.value.table["key"])


def test_a_sweep_with_a_store_runs_from_a_thread_other_than_the_main_one(taq, signals, tmp_path):
    # Ctrl-C reaches the main thread only: a sweep in another thread holds nothing back
    # (signal handlers can only be set from the main thread) and records as usual.
    import threading

    out = {}

    def work():
        try:
            out["table"] = mmsim.sweep(taq, signals, Quoter, [{"offset": 0}, {"offset": 1}],
                                       executor="serial", progress=False,
                                       store=tmp_path / "store")
        except BaseException as error:  # reported below, from the main thread
            out["error"] = error

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert "error" not in out, out.get("error")
    assert out["table"]["status"].tolist() == ["ok", "ok"]
    assert set(mmsim.sweep.load(tmp_path / "store")["key"]) == set(out["table"]["key"])
