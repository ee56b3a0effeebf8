"""Walk-forward analysis: choose parameters on a training span, trade them on the next span.

Windows (all spans half-open, ``[start, end)``), for ``k = 0, 1, ...`` while the test span
still ends within the data::

    train_start = start + k step            train_end = train_start + train
    test_start  = train_end + embargo       test_end  = test_start + test

``start`` and ``end`` are the ``start``/``end`` backtest arguments, by default the first TAQ
time and just after the last. Only whole windows are used; ``step >= test`` keeps the test spans
from overlapping, so they can be stitched into one out-of-sample run.

The stitched result chains the windows' PnL: each test run starts from a fresh account with the
starting balance, and the stitched balances add to each run's ``total``, ``available`` and
settlement-currency equity the PnL of every earlier window (its ``equity_end - balance``). The
NAV is recomputed from the shifted equity at each row's mark (inverse: ``nav + offset x mark``;
linear: ``nav + offset``). So the stitched equity curve is continuous across windows and its
PnL is the sum of the windows' PnL; a position still open at the end of a window is valued at
that window's last mark and does not carry over (the next window starts flat, and
``positions`` gets a flat row at each test start to say so). Order ids are renumbered to stay
unique (window ``k``'s ids are shifted by the number of orders of the earlier windows); fills
keep their window's positions and realised PnL.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.results import Result

__all__ = ["WalkForward", "walk_forward", "windows", "objective_values", "parse_objective"]

_DIRECTIONS = {"max": "max", "maximize": "max", "min": "min", "minimize": "min"}


def parse_objective(objective, what: str = "objective"):
    """Check an objective and return its label, direction and how to compute it.

    Parameters
    ----------
    objective : str, tuple or callable
        A statistic column (maximised), ``(column, "min")`` / ``(column, "max")``, or a
        callable ``objective(row) -> float`` taking one table row (a Series of the parameters
        and statistics) and returning a value to maximise.
    what : str, default "objective"
        The parameter's name, for error messages.

    Returns
    -------
    tuple
        ``(label, direction, column)``: direction ``"max"`` or ``"min"``; column is the column
        name or the callable.

    Raises
    ------
    TypeError, ValueError
        If ``objective`` has another form.
    """
    if callable(objective):
        return getattr(objective, "__name__", "objective"), "max", objective
    if isinstance(objective, str) and objective:
        return objective, "max", objective
    if (isinstance(objective, (tuple, list)) and len(objective) == 2
            and isinstance(objective[0], str)
            and objective[1] in _DIRECTIONS):
        return objective[0], _DIRECTIONS[objective[1]], objective[0]
    raise ValueError(f"{what} must be a statistic name such as 'sharpe', a pair such as "
                     f"('max_drawdown', 'min') or a callable row -> float, got {objective!r}")


def objective_values(table: pd.DataFrame, objective, what: str = "objective") -> pd.Series:
    """The objective of every row of a sweep table, as floats (NaN where undefined).

    Parameters
    ----------
    table : pandas.DataFrame
    objective : str, tuple or callable
        See :func:`parse_objective`.
    what : str, default "objective"

    Returns
    -------
    pandas.Series
        Indexed like ``table``; not sign-adjusted (see the direction of
        :func:`parse_objective`).

    Raises
    ------
    KeyError
        If the objective names a column the table lacks.
    """
    _, _, column = parse_objective(objective, what)
    if callable(column):
        values = [column(row) for _, row in table.iterrows()]
        return pd.Series(values, index=table.index, dtype=float)
    if column not in table.columns:
        stats = [c for c in table.columns if c not in ("status", "error", "key")]
        raise KeyError(f"{what} {column!r} is not a column of the table; expected one of {stats}")
    return pd.to_numeric(table[column], errors="coerce").astype(float)


def _best_row(table: pd.DataFrame, objective):
    """Index label of the best successful row (first in table order on ties), or None."""
    _, direction, _ = parse_objective(objective)
    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    if ok.empty:
        # When every run failed the table has no statistic columns at all: there is no best
        # row, rather than an objective that names no column.
        return None
    values = objective_values(ok, objective).dropna()
    if values.empty:
        return None
    return values.idxmax() if direction == "max" else values.idxmin()


def _span(value, name: str) -> pd.Timedelta:
    from mmsim.checks import duration

    return duration(value, name)


def windows(start, end, train="7D", test="1D", step="1D", embargo="0s") -> pd.DataFrame:
    """The walk-forward windows that fit in ``[start, end)``.

    Parameters
    ----------
    start, end : timestamp-like
        The data span; naive times are UTC.
    train, test, step : str, number or pandas.Timedelta
        Span lengths (``"7D"``, ``"1h"``; a bare number is seconds); positive.
    embargo : str, number or pandas.Timedelta, default "0s"
        Gap between a training span and its test span; zero or positive.

    Returns
    -------
    pandas.DataFrame
        One row per window: ``window`` (0, 1, ...), ``train_start, train_end, test_start,
        test_end`` (UTC Timestamps, ends exclusive).

    Raises
    ------
    ValueError
        If a span is not positive, ``step < test`` (the test spans would overlap) or not one
        window fits.
    """
    lengths = {name: _span(value, name) for name, value in
               (("train", train), ("test", test), ("step", step), ("embargo", embargo))}
    for name in ("train", "test", "step"):
        if lengths[name] <= pd.Timedelta(0):
            raise ValueError(f"{name} must be a positive duration, got {locals()[name]!r}")
    if lengths["embargo"] < pd.Timedelta(0):
        raise ValueError(f"embargo must be zero or a positive duration, got {embargo!r}")
    if lengths["step"] < lengths["test"]:
        raise ValueError(f"step ({step!r}) must be at least test ({test!r}), so that the test "
                         "spans do not overlap and can be stitched")
    lo, hi = _utc(start, "start"), _utc(end, "end")
    rows = []
    k = 0
    while True:
        train_start = lo + k * lengths["step"]
        train_end = train_start + lengths["train"]
        test_start = train_end + lengths["embargo"]
        test_end = test_start + lengths["test"]
        if test_end > hi:
            break
        rows.append((k, train_start, train_end, test_start, test_end))
        k += 1
    if not rows:
        need = lengths["train"] + lengths["embargo"] + lengths["test"]
        raise ValueError(f"no walk-forward window fits in the data span {lo} .. {hi} "
                         f"({hi - lo}): one window needs train + embargo + test = {need}")
    return pd.DataFrame(rows, columns=["window", "train_start", "train_end", "test_start",
                                       "test_end"])


def _utc(value, name: str) -> pd.Timestamp:
    from mmsim.data.schema import bound_ns

    return pd.Timestamp(bound_ns(value, name), tz="UTC")


@dataclass
class WalkForward:
    """What :func:`walk_forward` found.

    Attributes
    ----------
    windows : pandas.DataFrame
        One row per window: ``window, train_start, train_end, test_start, test_end``, the
        chosen value of every swept parameter, ``in_sample`` (the objective of the chosen
        combination on the training span) and ``out_of_sample`` (on the test span).
    in_sample : pandas.DataFrame
        The chosen combination's statistics on each training span, indexed by window.
    out_of_sample : pandas.DataFrame
        The statistics of each test run, indexed by window.
    result : mmsim.Result
        The test runs stitched into one out-of-sample run (see the module notes).
    results : list of mmsim.Result
        The test run of each window, unchanged.
    table : pandas.DataFrame
        Every training run: the sweep table with a ``window`` column.
    params : list of str
        The swept parameters.
    train, test, step, embargo : pandas.Timedelta
    objective_label : str
        The objective's name.
    skipped : list of int
        Windows left out for want of a successful training run with a finite objective.
    objective : str, tuple or callable
        The objective as given.
    """

    windows: pd.DataFrame
    in_sample: pd.DataFrame
    out_of_sample: pd.DataFrame
    result: Result
    results: list
    table: pd.DataFrame
    params: list
    train: pd.Timedelta
    test: pd.Timedelta
    step: pd.Timedelta
    embargo: pd.Timedelta
    objective_label: str = "objective"
    skipped: list = field(default_factory=list)
    objective: object = "sharpe"

    def report(self, path="walk_forward.html", **kwargs):
        """Write the HTML sweep report of the training runs with the walk-forward section.

        Parameters
        ----------
        path : str or os.PathLike, default "walk_forward.html"
        **kwargs
            Passed to :func:`mmsim.sweep.report.write_report`.

        Returns
        -------
        pathlib.Path
        """
        from mmsim.sweep.report import write_report

        kwargs.setdefault("stat", self.objective)
        return write_report(self.table, path, walk_forward=self, **kwargs)


def _span_of(taq, start, end, step: pd.Timedelta):
    """The data span windows are laid in (see :func:`walk_forward`)."""
    from mmsim.data.align import Aligned

    times = taq.time if isinstance(taq, Aligned) else None
    if times is None:
        if not isinstance(taq, pd.DataFrame) or not isinstance(taq.index, pd.DatetimeIndex):
            raise TypeError("taq must be a TAQ DataFrame with a DatetimeIndex or Aligned "
                            f"arrays, got {type(taq).__name__}")
        from mmsim.data.schema import index_ns

        times = index_ns(taq.index)
    if len(times) == 0:
        raise ValueError("taq is empty: walk-forward needs data to lay windows in")
    first = pd.Timestamp(int(times[0]), tz="UTC")
    last = pd.Timestamp(int(times[-1]), tz="UTC")
    lo = _utc(start, "start") if start is not None else first.floor(step)
    hi = _utc(end, "end") if end is not None else (last + pd.Timedelta(1, "ns")).ceil(step)
    return lo, hi


def walk_forward(taq, signals, strategy, grid, train="7D", test="1D", step="1D",
                 objective="sharpe", embargo="0s", executor=None, store=None, fixed=None,
                 progress=True, stats_freq="1h", **backtest_kwargs) -> WalkForward:
    """Walk-forward analysis: for each window, choose on the train span, trade the test span.

    For every window of :func:`windows`, every combination of ``grid`` runs on the training
    span; the best by ``objective`` (ties: the first in grid order) then runs on the test span
    from a fresh account. All training runs go through one :func:`mmsim.sweep` whose grid has
    the windows' ``start``/``end`` as keys, and all test runs through a second one, so the data
    crosses to the workers twice whatever the number of windows.

    Parameters
    ----------
    taq : pandas.DataFrame or Aligned
    signals : pandas.DataFrame or None
    strategy : type or str
        A Strategy class or a strategy name, as for :func:`mmsim.sweep`.
    grid : dict of lists, list of dicts, or mmsim.sweep.sample(...)
        The combinations to choose from; must not set ``start`` or ``end``.
    train, test, step : str, number or pandas.Timedelta, defaults "7D", "1D", "1D"
        Window lengths (a bare number is seconds); ``step >= test``.
    objective : str, tuple or callable, default "sharpe"
        A statistic to maximise, ``(statistic, "min")`` to minimise one, or a callable
        ``objective(row) -> float`` to maximise, given a table row (parameters and statistics).
        Failed runs and NaN values never win.
    embargo : str, number or pandas.Timedelta, default "0s"
        Gap between each training span and its test span.
    executor : None, int, "serial" or dask.distributed.Client
        As for :func:`mmsim.sweep`.
    store : str or os.PathLike, optional
        A directory: the training sweep is stored in ``store/train`` and the test runs (with
        their results) in ``store/test``, so an interrupted walk-forward resumes.
    fixed : dict, optional
        Parameters every run shares.
    progress : bool, default True
    stats_freq : str or pandas.Timedelta, default "1h"
    **backtest_kwargs
        Shared backtest arguments (``contract``, ``balance``, ...). ``start`` and ``end``
        bound the span the windows are laid in; by default the first TAQ time rounded down to
        a multiple of ``step`` (counted from the Unix epoch: daily steps start at midnight
        UTC) and the last TAQ time rounded up likewise.

    Returns
    -------
    WalkForward

    Raises
    ------
    ValueError
        For bad spans or objective, a grid that sets ``start``/``end``, a key the sweep
        rejects, or when no window fits in the data or has a usable training run.
    RuntimeError
        If a test run fails (the strategy raised on the test span).

    Warns
    -----
    UserWarning
        For a window without any successful training run with a finite objective: it has no
        row in ``windows`` and no test run (``WalkForward.skipped`` lists it).
    """
    from mmsim.sweep.core import sweep
    from mmsim.sweep.grid import expand

    label, _, _ = parse_objective(objective)
    combos = expand(grid)
    for i, combo in enumerate(combos):
        for key in ("start", "end"):
            if key in combo:
                raise ValueError(f"grid combination {i} sets {key!r}: the walk-forward windows "
                                 "set the time spans; bound the data with start=/end=")
    start, end = backtest_kwargs.pop("start", None), backtest_kwargs.pop("end", None)
    spans = {name: _span(value, name) for name, value in
             (("train", train), ("test", test), ("step", step), ("embargo", embargo))}
    lo, hi = _span_of(taq, start, end, spans["step"])
    frame = windows(lo, hi, train, test, step, embargo)
    params = list(dict.fromkeys(k for c in combos for k in c))
    common = dict(fixed=fixed, executor=executor, progress=progress, stats_freq=stats_freq,
                  **backtest_kwargs)

    def where(sub):
        return None if store is None else Path(store) / sub

    # One sweep over every (window, combination): the windows are just start/end keys, so
    # row i of the table is combination i % len(combos) of window i // len(combos).
    train_grid = [{**c, "start": w.train_start, "end": w.train_end}
                  for w in frame.itertuples() for c in combos]
    table = sweep(taq, signals, strategy, train_grid, store=where("train"), **common)
    table.insert(0, "window", np.repeat(frame["window"].to_numpy(), len(combos)))
    table.attrs["params"] = params

    chosen, skipped = {}, []  # window -> row of its best training run
    for w in frame["window"]:
        best = _best_row(table[table["window"] == w], objective)
        if best is None:
            skipped.append(int(w))
            warnings.warn(f"walk-forward window {w} has no successful training run with a "
                          f"finite {label}; it is left out", UserWarning, stacklevel=2)
        else:
            chosen[int(w)] = best
    if not chosen:
        raise ValueError(f"no walk-forward window has a successful training run with a finite "
                         f"{label}: nothing to test")
    picks = {w: combos[row % len(combos)] for w, row in chosen.items()}
    test_grid = [{**picks[w], "start": frame.at[w, "test_start"], "end": frame.at[w, "test_end"]}
                 for w in chosen]
    tests = sweep(taq, signals, strategy, test_grid, store=where("test"), keep="results",
                  **common)
    failed = tests[tests["status"] != "ok"]
    if len(failed):
        raise RuntimeError(f"the test run of walk-forward window {list(chosen)[failed.index[0]]}"
                           f" failed: {failed['error'].iloc[0]}")

    out = frame.loc[list(chosen)].reset_index(drop=True)
    for p in params:
        out[p] = [picks[w].get(p) for w in chosen]
    out["in_sample"] = objective_values(table.loc[list(chosen.values())], objective).to_numpy()
    out["out_of_sample"] = objective_values(tests, objective).to_numpy()
    stats_cols = [c for c in table.columns if c not in params and c not in
                  ("window", "start", "end", "status", "error", "wall_time", "key")]
    # The sweep names the statistics start/end "stats.start"/"stats.end" beside the swept
    # start/end keys; per window they are plain statistics again.
    plain = {f"stats.{k}": k for k in ("start", "end")}
    index = pd.Index(list(chosen), name="window")

    def figures(runs):
        return runs[stats_cols].set_index(index).rename(columns=plain)

    results = list(tests["result"])
    stitched = stitch([(frame.at[w, "test_start"], r) for w, r in zip(chosen, results)],
                      float(results[0].params["balance"]))
    stitched.params.update(strategy_params={}, walk_forward={
        "train": str(spans["train"]), "test": str(spans["test"]), "step": str(spans["step"]),
        "embargo": str(spans["embargo"]), "objective": label})
    return WalkForward(windows=out, in_sample=figures(table.loc[list(chosen.values())]),
                       out_of_sample=figures(tests), result=stitched, results=results,
                       table=table, params=params, train=spans["train"], test=spans["test"],
                       step=spans["step"], embargo=spans["embargo"], objective_label=label,
                       skipped=skipped, objective=objective)


def stitch(results, balance: float) -> Result:
    """Chain test-window results into one run (see the module notes for the arithmetic).

    Parameters
    ----------
    results : list of (pandas.Timestamp, mmsim.Result)
        Each test run with the start of its span, in time order.
    balance : float
        The starting balance every run began with.

    Returns
    -------
    mmsim.Result
    """
    from mmsim.stats import equity_curve

    first = results[0][1]
    orders, fills, balances, positions = [], [], [], []
    offset, id_shift = 0.0, 0
    for start, res in results:
        o, f = res.orders.copy(), res.fills.copy()
        o["order_id"] += id_shift
        f["order_id"] += id_shift
        id_shift += len(res.orders)
        b = res.balances.copy()
        if len(b):
            curve = equity_curve(res)
            mark = curve["mark"].to_numpy() if res.contract.inverse else 1.0
            b["total"] += offset
            b["available"] += offset
            b["nav"] += offset * mark
            offset += float(curve["equity"].iloc[-1]) - balance
        flat = pd.DataFrame({"amount": [0.0], "weighted_price": [np.nan]},
                            index=pd.DatetimeIndex([start], name="time"))
        orders.append(o)
        fills.append(f)
        balances.append(b)
        positions += [flat.astype(res.positions.dtypes.to_dict()), res.positions]
    params = dict(first.params)
    params.update(start=first.params.get("start"), end=results[-1][1].params.get("end"),
                  rows=sum(int(r.params.get("rows", 0)) for _, r in results),
                  signals=sum(int(r.params.get("signals", 0)) for _, r in results),
                  windows=len(results))
    return Result(orders=pd.concat(orders), fills=pd.concat(fills),
                  balances=pd.concat(balances), positions=pd.concat(positions),
                  funding=pd.concat([r.funding for _, r in results]),
                  contract=first.contract, params=params)
