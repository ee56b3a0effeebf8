"""Sweeps: 64 combinations of one synthetic week on each executor, per-task overhead, worker memory.

Figures go to ``--benchmark-json``; ``extra_info`` holds the speed-ups (serial / processes,
processes / Dask, from the fastest round of each), the per-task overhead in milliseconds and
the workers' peak memory against the data size. Nothing here asserts on time. Quick mode
(``MMSIM_BENCH_QUICK=1``) sweeps 16 combinations of three hours. The serial and 2-process
sweeps are gated against one serial backtest of the same data with its statistics (the grid's
first combination).
"""
import time

import pandas as pd
import pytest

import mmsim
from mmsim.data.bars import volatility_signals
from mmsim.strategies import AvellanedaStoikov
from mmsim.sweep.executors import open_runner
from mmsim.sweep.job import make_job

from conftest import QUICK, Floor, minute_signals

#: 64 combinations (16 in quick mode) of the notebook's strategy.
GRID = {"gamma": [0.05, 0.1, 0.2, 0.4], "k": [2.0, 5.0, 10.0, 20.0],
        "latency": [0.1, 0.5] if QUICK else [0.05, 0.1, 0.5, 1.0]}
if QUICK:
    GRID["k"] = [2.0, 5.0]
FIXED = dict(max_size=5.0, n=-0.4, delta_price=1.0, delta_size=1.0)
#: Tiny tasks for the overhead figures.
NOOP_TASKS = 40 if QUICK else 200
TIMES = {}


class Idle(mmsim.Strategy):
    """Does nothing: a run is the engine's fixed cost on a few rows."""

    def __init__(self, tag=0):
        self.tag = tag

    def on_signal(self, ctx):
        pass


@pytest.fixture(scope="module")
def week():
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(duration="3h" if QUICK else "7D", seed=4)
    return taq, volatility_signals(taq, "1min", 60)


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, processes=True, threads_per_worker=1,
                                  dashboard_address=None) as cluster, \
            distributed.Client(cluster) as c:
        yield c


def _sweep(week, executor):
    taq, signals = week
    return mmsim.sweep(taq, signals, "AvellanedaStoikov", GRID, fixed=FIXED, executor=executor,
                       progress=False)


def one_backtest(week) -> Floor:
    """The grid's first combination run once, in this process, as the sweep would run it:
    the backtest and its statistics (which read the result's tables, built when first read).
    """
    taq, signals = week
    first = {k: v[0] for k, v in GRID.items()}
    latency = first.pop("latency")
    return Floor("one serial backtest of the same data, with its statistics",
                 lambda: mmsim.backtest(taq, signals, AvellanedaStoikov(**FIXED, **first),
                                        latency=latency).stats(freq="1h"))


def _record(benchmark, name, table):
    TIMES[name] = benchmark.stats.stats.min
    benchmark.extra_info.update(combinations=len(table),
                                s_per_combination=TIMES[name] / len(table))
    assert table["status"].eq("ok").all()


def test_sweep_serial(gated, week):
    table = gated(lambda: _sweep(week, "serial"), one_backtest(week), rounds=3, memory=False)
    _record(gated.benchmark, "serial", table)


def test_sweep_two_processes(gated, week):
    # Wall time: the work is done in the workers, whose CPU time this process does not see.
    table = gated(lambda: _sweep(week, 2), one_backtest(week), rounds=5, memory=False,
                  clock=time.perf_counter)
    _record(gated.benchmark, "processes", table)
    if "serial" in TIMES:
        gated.benchmark.extra_info["speedup_vs_serial"] = TIMES["serial"] / TIMES["processes"]


def test_sweep_dask_local_cluster(benchmark, week, client):
    table = benchmark.pedantic(lambda: _sweep(week, client), rounds=3 if not QUICK else 2,
                               iterations=1)
    _record(benchmark, "dask", table)
    if "processes" in TIMES:
        benchmark.extra_info["dask_vs_processes"] = TIMES["dask"] / TIMES["processes"]


def _tiny_job():
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(n_rows=200, seed=5)
    return make_job(taq, minute_signals(taq), Idle)


@pytest.mark.parametrize("executor", ["serial", "processes", "dask"])
def test_per_task_overhead(benchmark, executor, request):
    """Tiny runs through an open runner (workers started, data shipped). ``overhead_ms``:
    wall time per task x workers, minus the run's own time measured inside the worker."""
    job = _tiny_job()
    target = {"serial": "serial", "processes": 2}.get(executor) or request.getfixturevalue("client")
    combos = [{"tag": i} for i in range(NOOP_TASKS)]
    rounds = []
    with open_runner(target, job) as runner:
        list(runner.run(combos[:4]))  # warm the workers
        benchmark.pedantic(lambda: rounds.append([o for _, o in runner.run(combos)]),
                           rounds=3, iterations=1)
        workers = runner.n_workers
    # Each round's wall time with the run time its workers measured in that round.
    overhead = [(wall * workers - sum(o["wall_time"] for o in outs)) / NOOP_TASKS
                for wall, outs in zip(benchmark.stats.stats.data, rounds)]
    benchmark.extra_info.update(tasks=NOOP_TASKS, workers=workers,
                                ms_per_task=benchmark.stats.stats.min / NOOP_TASKS * 1e3,
                                overhead_ms_best=min(overhead) * 1e3,
                                overhead_ms_median=sorted(overhead)[len(overhead) // 2] * 1e3)


def test_worker_peak_memory(benchmark, week):
    """Peak resident memory of a local worker against the data size, after 4 and after 16
    tasks on the same workers: the shared data counts once (its pages mapped), not per task."""
    taq, signals = week
    job = make_job(taq, signals, "AvellanedaStoikov", fixed=FIXED)
    combos = [{"gamma": 0.02 * (i + 1), "k": 5.0} for i in range(16)]
    with open_runner(2, _tiny_job()) as runner:
        baseline = max(o["peak_rss"] for _, o in runner.run([{"tag": i} for i in range(4)]))

    def run():
        with open_runner(2, job) as runner:
            first = [o for _, o in runner.run(combos[:4])]
            return first, [o for _, o in runner.run(combos[4:])]

    first, rest = benchmark.pedantic(run, rounds=1, iterations=1)
    after4 = max(o["peak_rss"] for o in first)
    after16 = max(o["peak_rss"] for o in first + rest)
    benchmark.extra_info.update(
        data_bytes=job.data.nbytes, worker_baseline_bytes=baseline,
        peak_after_4_tasks=after4, peak_after_16_tasks=after16,
        growth_over_data_4=(after4 - baseline) / job.data.nbytes,
        growth_over_data_16=(after16 - baseline) / job.data.nbytes)
    assert all(o["status"] == "ok" for o in first + rest)
