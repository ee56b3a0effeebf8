"""Benchmark fixtures. ``MMSIM_BENCH_QUICK=1`` shrinks every size to what CI runs.

A benchmark that takes the ``gated`` fixture is timed against a fixed reference workload, its
floor, measured in the same process between its rounds; ``extra_info["floor_ratio"]`` is the
benchmark's best time over the floor's best time (larger is slower), which
``python -m benchmarks.check`` compares with ``benchmarks/baseline.json``. Such benchmarks carry
the marker ``gated`` (``pytest benchmarks -m gated`` runs them alone).
"""
import functools
import os
import time
import tracemalloc

import numpy as np
import pandas as pd
import pytest

QUICK = os.environ.get("MMSIM_BENCH_QUICK", "") not in ("", "0")
#: Rounds of a gated engine benchmark: a quick run lasts milliseconds, and the best of more
#: rounds is steadier on a shared machine (at full size, where one round of the end-to-end
#: runs varied by a fifth from one to the next, the best of 3 still moved by a tenth).
ROUNDS = 10 if QUICK else 5
#: A floor is timed this many times (by default) before each round and after the last; its
#: best counts.
FLOOR_REPEATS = 5


def minute_signals(taq: pd.DataFrame, **columns) -> pd.DataFrame:
    """One signal per minute over the span of ``taq``."""
    index = pd.date_range(taq.index[0].ceil("1min"), taq.index[-1], freq="1min", name="time")
    return pd.DataFrame({k: np.full(len(index), v, dtype=np.float64) for k, v in columns.items()}
                        or {"x": np.zeros(len(index))}, index=index)


def pytest_collect_file(file_path, parent):
    """Collect ``compare_*.py`` as test modules too: they are scripts named for what they
    compare, whose tests skip when the peer library is absent."""
    if (file_path.suffix == ".py" and file_path.name.startswith("compare_")
            # A path named on the command line is collected by pytest itself.
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def quick():
    """True when running at CI sizes."""
    return QUICK


@pytest.fixture(scope="session")
def replay_taq():
    """5 million BitMEX-like rows (200 thousand in quick mode)."""
    from mmsim.data.synthetic import synthetic_taq

    return synthetic_taq(n_rows=200_000 if QUICK else 5_000_000, seed=1)


@pytest.fixture(scope="session")
def month_taq():
    """One month of BitMEX-like rows, about 3.5 million (one day in quick mode)."""
    from mmsim.data.synthetic import synthetic_taq

    return synthetic_taq(duration="1D" if QUICK else "30D", seed=2)


def pytest_configure(config):
    config.addinivalue_line("markers", "gated: timed against a floor and checked against "
                                       "benchmarks/baseline.json")


def pytest_collection_modifyitems(items):
    """Mark the benchmarks that use ``gated`` so that ``-m gated`` selects them."""
    for item in items:
        if "gated" in getattr(item, "fixturenames", ()):
            item.add_marker("gated")


class Floor:
    """A reference workload whose time the benchmark's time is divided by.

    Parameters
    ----------
    name : str
        What the workload is, recorded in ``extra_info["floor"]``.
    run : callable
        The workload, called with no arguments.
    inner : callable, optional
        Maps what ``run`` returns to the seconds to count instead of its time on the clock
        (for a spawned interpreter that times its own part, without its start-up).
    repeats : int, default FLOOR_REPEATS
        Times the workload runs each time it is timed; its best counts.
    """

    def __init__(self, name, run, inner=None, repeats=FLOOR_REPEATS):
        self.name = name
        self.run = run
        self.inner = inner
        self.repeats = repeats

    def best(self, clock=time.process_time) -> float:
        """The shortest of ``repeats`` times of the workload on ``clock``, in seconds."""
        return min(_seconds(self.run, self.inner, clock)[0] for _ in range(self.repeats))


def _seconds(call, inner, clock):
    """``call()``'s time on ``clock``, or ``inner`` of its result, and the result."""
    t0 = clock()
    result = call()
    spent = clock() - t0
    return (spent if inner is None else inner(result)), result


def python_pass(taq: pd.DataFrame) -> Floor:
    """A Python loop over the quotes of every fourth row of ``taq``: the spread summed and
    crossed rows counted, one interpreted iteration a row.

    The floor of the engine benchmarks. Their quick sizes sit in cache, where the replay's C
    loop, the strategy's Python and pandas' own code all run at the speed of one core on
    branchy scalar code; an interpreter loop moves with that speed from one machine to the
    next. A NumPy pass does not: it runs at memory bandwidth, which machines of one speed of
    core have in ratios of two and more, and the ratios of the gate moved with it.

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ rows with ``bid_price`` and ``ask_price``.

    Returns
    -------
    Floor
    """
    bids = taq["bid_price"].to_numpy(np.float64)[::4].tolist()
    asks = taq["ask_price"].to_numpy(np.float64)[::4].tolist()

    def run():
        spread, crossed = 0.0, 0
        for bid, ask in zip(bids, asks):
            spread += ask - bid
            if bid >= ask:
                crossed += 1
        return spread, crossed

    return Floor(f"a Python loop over {len(bids):,} quotes (every fourth of "
                 f"{len(taq):,} rows)", run)


def traced_peak(call) -> int:
    """Peak bytes that ``call()`` allocates through Python and NumPy (Arrow's own pool and
    other processes are not seen), with no record buffers kept from earlier runs: a run
    taking a larger one than it needs (``mmsim.buffer_pool``) would count all of it."""
    import mmsim

    limit = mmsim.buffer_pool(0)["limit"]
    tracemalloc.start()
    try:
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        mmsim.buffer_pool(limit)


class Gate:
    """Run a benchmark with its floor timed beside it (see :func:`gated`)."""

    def __init__(self, benchmark):
        self.benchmark = benchmark

    def __call__(self, target, floor: Floor, *, rounds: int, rows: int | None = None,
                 memory: bool = True, inner=None, clock=time.process_time):
        """Benchmark ``target`` over ``rounds`` rounds and record its ratio to ``floor``.

        Parameters
        ----------
        target : callable
            The benchmarked call, with no arguments.
        floor : Floor
            Timed (best of its ``repeats``) before every round and after the last, so that
            both see the same load on a shared machine.
        rounds : int
            Timed rounds of ``target``; its best counts.
        rows : int, optional
            Rows the call processes, for ``rows_per_s``.
        memory : bool, default True
            Also run ``target`` once more, untimed, under tracemalloc for ``peak_bytes``.
        inner : callable, optional
            Maps what ``target`` returns to the seconds to count instead of the round's time
            on ``clock`` (as for :class:`Floor`).
        clock : callable, default time.process_time
            What times the rounds and the floor. This process's CPU time by default: on a
            shared machine a round that is preempted is not counted longer, whereas the best
            wall time of a long round depends on how busy the machine is and that of a short
            floor does not. ``time.perf_counter`` where the work is done by other processes.

        Returns
        -------
        object
            What ``target`` returned.
        """
        floor_times, times = [], []

        def timed():
            seconds, result = _seconds(target, inner, clock)
            times.append(seconds)
            return result

        result = self.benchmark.pedantic(timed, setup=lambda: floor_times.append(floor.best(clock)),
                                         rounds=rounds, iterations=1)
        floor_times.append(floor.best(clock))
        seconds = min(times)
        info = dict(quick=QUICK, clock=clock.__name__, seconds=seconds, floor=floor.name,
                    floor_seconds=min(floor_times), floor_ratio=seconds / min(floor_times))
        if rows is not None:
            info["rows"] = rows
            info["rows_per_s"] = rows / seconds
        if memory:
            info["peak_bytes"] = traced_peak(target)
        self.benchmark.extra_info.update(info)
        return result


@pytest.fixture
def gated(benchmark):
    """A :class:`Gate` around ``benchmark``: ``gated(target, floor, rounds=...)``."""
    return Gate(benchmark)


@pytest.fixture(autouse=True)
def _slowdown(monkeypatch):
    """Only for the tests of the gate: ``MMSIM_BENCH_SLOWDOWN=F`` makes every ``mmsim.backtest``
    called here take F times its CPU time (it spins after the run), an engine F times
    slower."""
    factor = float(os.environ.get("MMSIM_BENCH_SLOWDOWN", "1"))
    if factor == 1:
        return
    import mmsim

    original = mmsim.backtest

    @functools.wraps(original)
    def slowed(*args, **kwargs):
        t0 = time.process_time()
        result = original(*args, **kwargs)
        until = time.process_time() + (factor - 1) * (time.process_time() - t0)
        while time.process_time() < until:
            pass
        return result

    monkeypatch.setattr(mmsim, "backtest", slowed)
