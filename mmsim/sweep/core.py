"""``mmsim.sweep(...)``: run a grid of backtests and tabulate them, resumably."""
from __future__ import annotations

import contextlib
import signal
import threading

import pandas as pd

from mmsim.sweep.executors import open_runner
from mmsim.sweep.grid import expand
from mmsim.sweep.job import make_job
from mmsim.sweep.store import RUN_COLUMNS, STORE_COLUMNS, Store

__all__ = ["sweep", "SweepInterrupted", "RUN_COLUMNS"]

#: The columns after the parameters and statistics, in order.


@contextlib.contextmanager
def _ctrl_c_deferred():
    """Hold Ctrl-C back for the ``with`` block: a SIGINT that arrives inside it is acted on
    (by the handler in place, ``KeyboardInterrupt`` by default) once the block has run.

    Python runs signal handlers in the main thread only; elsewhere, or where the handler in
    place was not installed from Python (it could not be put back), nothing is held.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is None):
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(frame))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        if callable(previous):
            previous(signal.SIGINT, caught[0])
        elif previous == signal.SIG_DFL:
            raise KeyboardInterrupt


class SweepInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a sweep; every run that finished is in the store and in ``table``.

    Attributes
    ----------
    table : pandas.DataFrame
        The sweep table of the combinations that finished (grid order).
    """

    def __init__(self, table: pd.DataFrame):
        super().__init__(f"sweep interrupted after {len(table)} finished combinations; "
                         "rerun it with the same store to resume")
        self.table = table


def _row(params: dict, outcome: dict, key: str, names) -> dict:
    # A statistic named like a swept parameter (start, end) becomes stats.<name>.
    stats = {f"stats.{k}" if k in names else k: v for k, v in outcome["stats"].items()}
    return {**params, **stats, "status": outcome["status"], "error": outcome["error"],
            "wall_time": outcome["wall_time"], "key": key}


def _table(combos, rows, results, keep) -> pd.DataFrame:
    """The rows that exist, in grid order, columns: parameters, statistics, run columns."""
    order = [i for i, row in enumerate(rows) if row is not None]
    params = list(dict.fromkeys(k for c in combos for k in c))
    stats = list(dict.fromkeys(k for i in order for k in rows[i]
                               if k not in params and k not in RUN_COLUMNS))
    columns = params + stats + list(RUN_COLUMNS)
    table = pd.DataFrame([rows[i] for i in order], columns=columns, index=pd.Index(order))
    if keep == "results":
        table["result"] = pd.Series([results[i] for i in order], index=table.index, dtype=object)
    return table


def sweep(taq, signals, strategy, grid, *, fixed=None, executor=None, store=None, keep="stats",
          progress=True, stats_freq="1h", **backtest_kwargs) -> pd.DataFrame:
    """Run one backtest per parameter combination and tabulate the statistics.

    Each combination runs, bit for bit, ``mmsim.backtest(taq, signals, Strategy(**s), **b)``
    where ``s`` are its strategy arguments and ``b`` its backtest arguments (Contract fields
    replace those of ``contract``), whatever the executor.

    Parameters
    ----------
    taq : pandas.DataFrame or Aligned
        Tick data; aligned with ``signals`` once for the whole sweep.
    signals : pandas.DataFrame or None
    strategy : type or str
        A Strategy class, built once per combination from its strategy arguments, or a name
        of :data:`mmsim.strategies.registry.STRATEGIES` (``"AvellanedaStoikov"``).
    grid : dict of lists, list of dicts, or mmsim.sweep.sample(...)
        The combinations (see :func:`mmsim.sweep.expand`). A key is a strategy constructor
        argument, a :func:`mmsim.backtest` argument (``latency``, ``queue_position``,
        ``start``, ...) or a :class:`mmsim.Contract` field (``maker_fee``, ...).
    fixed : dict, optional
        Parameters shared by every combination, routed like grid keys.
    executor : None, int, "serial" or dask.distributed.Client, default None
        Local processes (``os.cpu_count()`` of them, or that many), this process, or a Dask
        cluster (see :mod:`mmsim.sweep.executors`).
    store : str or os.PathLike, optional
        A directory; each finished combination is appended as it completes and combinations
        already there are not run again (see :mod:`mmsim.sweep.store`).
    keep : {"stats", "results"}, default "stats"
        ``"results"`` adds a ``result`` column holding each run's :class:`mmsim.Result` (with a
        store, saved there too and read back on resume).
    progress : bool, default True
        Show a progress bar (done, failures, ETA).
    stats_freq : str or pandas.Timedelta, default "1h"
        NAV sampling interval of the statistics (``result.stats(stats_freq)``).
    **backtest_kwargs
        More shared parameters (``contract=``, ``balance=``, ...), routed like ``fixed``.

    Returns
    -------
    pandas.DataFrame
        One row per combination in grid order (index 0..n-1): the grid's parameter columns,
        every statistic (one named like a parameter, such as ``start`` when the grid sweeps
        ``start``, is ``stats.start``), ``status`` ("ok" or "error"), ``error`` (the exception as text, ""
        when ok), ``wall_time`` (seconds of the run) and ``key`` (the combination's store
        key). A combination that fails is recorded with its error; the others go on.

    Raises
    ------
    ValueError
        Before anything runs, if a key is unknown or ambiguous (the message names it) or is
        both in the grid and fixed.
    SweepInterrupted
        On Ctrl-C (a ``KeyboardInterrupt``): the workers are stopped, what finished is in the
        store and in the exception's ``table``; rerun with the same store to resume.

    Examples
    --------
    >>> table = mmsim.sweep(taq, signals, mmsim.AvellanedaStoikov,
    ...                     {"gamma": [0.05, 0.1], "latency": [0.1, 0.5]},
    ...                     fixed={"max_size": 5, "k": 5}, store="runs/as")  # doctest: +SKIP
    """
    from tqdm.auto import tqdm

    combos = expand(grid)
    job = make_job(taq, signals, strategy, fixed=fixed, stats_freq=stats_freq, keep=keep,
                   **backtest_kwargs)
    job.check(combos)
    keys = [job.key(c) for c in combos]
    names = set(k for c in combos for k in c)
    rows, results = [None] * len(combos), [None] * len(combos)
    runs = Store(store) if store is not None else None
    if runs is not None:
        stored = runs.rows(sorted(runs.keys() & set(keys)))
        by_key = {r["key"]: r for r in stored.to_dict("records")} if len(stored) else {}
        for i, key in enumerate(keys):
            if key in by_key:
                # Stored by a sweep that may have swept other names: rename as _row does.
                extra = {f"stats.{k}" if k in names else k: v
                         for k, v in by_key[key].items()
                         if k not in combos[i] and k not in STORE_COLUMNS}
                rows[i] = {**combos[i], **extra}
                results[i] = runs.result(key) if keep == "results" else None
    # Identical combinations run once.
    where = {}
    for i, key in enumerate(keys):
        where.setdefault(key, []).append(i)
    todo = [key for key, at in where.items() if rows[at[0]] is None]
    first = {key: where[key][0] for key in todo}
    failures = sum(1 for r in rows if r is not None and r["status"] != "ok")
    bar = tqdm(total=len(combos), initial=len(combos) - sum(r is None for r in rows),
               disable=not progress, desc="sweep", unit="run", dynamic_ncols=True)
    bar.set_postfix(failed=failures)
    try:
        if todo:
            with open_runner(executor, job) as runner:
                for j, outcome in runner.run([combos[first[k]] for k in todo]):
                    key = todo[j]
                    row = _row(combos[first[key]], outcome, key, names)
                    # A run is in the store and in the table, or in neither: Ctrl-C waits
                    # until both have it.
                    with _ctrl_c_deferred():
                        if runs is not None:
                            runs.append({**row, "strategy": job.spec.strategy.__name__,
                                         "finished": pd.Timestamp.now(tz="UTC")},
                                        outcome.get("result") if keep == "results" else None)
                        for i in where[key]:
                            rows[i] = _row(combos[i], outcome, key, names)
                            results[i] = outcome.get("result")
                    failures += outcome["status"] != "ok"
                    bar.set_postfix(failed=failures, refresh=False)
                    bar.update(len(where[key]))
    except KeyboardInterrupt:
        raise SweepInterrupted(_table(combos, rows, results, keep)) from None
    finally:
        bar.close()
    table = _table(combos, rows, results, keep)
    return table
