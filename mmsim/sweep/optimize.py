"""Parameter search with Optuna, run on the sweep executors and resumable from its store.

Trials are asked from the study in batches of one per worker, run through the same runner as
:func:`mmsim.sweep` (so the market data crosses to the workers once), and told back as they
finish. A combination that fails, or whose objective is not a finite number, is told as a
failed trial and the search goes on.

With a ``store``, the study lives in ``store/optuna.db`` (SQLite) under a fixed study name:
rerunning with the same store loads it and runs only the trials still missing up to
``n_trials`` in total; a trial that was asked but never told (the run was interrupted) is run
again with the parameters it was given.
"""
from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from mmsim import checks
from mmsim.sweep.walkforward import parse_objective

__all__ = ["optimize", "Optimization", "STUDY_NAME", "STORAGE_FILE"]

#: The study name inside a store's database.
STUDY_NAME = "mmsim"
#: The SQLite file of a store.
STORAGE_FILE = "optuna.db"


def _optuna():
    try:
        import optuna
    except ImportError as exc:
        raise ImportError("mmsim.optimize needs Optuna: pip install 'mmsim[optuna]'") from exc
    return optuna


def _objectives(objective, directions):
    """The objective specs and Optuna directions of a search."""
    words = {"max": "maximize", "maximize": "maximize", "min": "minimize", "minimize": "minimize"}
    multi = (isinstance(objective, (list, tuple)) and len(objective) >= 2
             and not (len(objective) == 2 and isinstance(objective[1], str)
                      and objective[1] in words))
    specs = list(objective) if multi else [objective]
    for spec in specs:
        parse_objective(spec)
    if directions is None:
        directions = ["maximize" if parse_objective(s)[1] == "max" else "minimize"
                      for s in specs]
    else:
        directions = [directions] if isinstance(directions, str) else list(directions)
        if len(directions) != len(specs) or any(d not in words for d in directions):
            raise ValueError(f"directions must give 'maximize' or 'minimize' for each of the "
                             f"{len(specs)} objectives, got {directions!r}")
        directions = [words[d] for d in directions]
        # A direction given here overrides one written into the objective.
        specs = [parse_objective(s)[2] if isinstance(s, (tuple, list)) else s for s in specs]
    return specs, directions


def _suggest(trial, space: dict) -> dict:
    """The parameters of ``trial`` for a space of :func:`mmsim.sweep.sample` dimensions."""
    params = {}
    for name, spec in space.items():
        kind = spec[0]
        if kind == "uniform":
            params[name] = trial.suggest_float(name, spec[1], spec[2])
        elif kind == "log-uniform":
            params[name] = trial.suggest_float(name, spec[1], spec[2], log=True)
        elif kind == "int":
            params[name] = trial.suggest_int(name, int(spec[1]), int(spec[2]))
        else:
            params[name] = trial.suggest_categorical(name, list(spec[1]))
    return params


class Optimization:
    """What :func:`optimize` found.

    Attributes
    ----------
    study : optuna.study.Study
        The study (in ``store/optuna.db`` when a store was given).
    trials : pandas.DataFrame
        One row per trial, by trial number: ``trial``, the parameters, every statistic,
        ``status`` ("ok"/"error"), ``error``, ``wall_time``, ``key`` and ``state`` (Optuna's
        ``COMPLETE``, ``FAIL``, ...); a callable objective adds its value as a column named
        after it.
    """

    def __init__(self, study, trials: pd.DataFrame):
        self.study = study
        self.trials = trials

    @property
    def best(self) -> pd.DataFrame:
        """The best trials: one row for a single objective, the Pareto front for several."""
        numbers = [t.number for t in self.study.best_trials]
        return self.trials[self.trials["trial"].isin(numbers)]

    def __repr__(self) -> str:
        done = int((self.trials["state"] == "COMPLETE").sum()) if len(self.trials) else 0
        return f"<mmsim.Optimization: {len(self.trials)} trials, {done} complete>"


def optimize(taq, signals, strategy, space, objective="sharpe", n_trials=200, store=None,
             executor=None, seed=0, directions=None, sampler=None, fixed=None, progress=True,
             stats_freq="1h", **backtest_kwargs) -> Optimization:
    """Search parameters with Optuna (TPE by default), running the trials on a sweep executor.

    Parameters
    ----------
    taq : pandas.DataFrame or Aligned
    signals : pandas.DataFrame or None
    strategy : type or str
        A Strategy class or a strategy name, as for :func:`mmsim.sweep`.
    space : dict
        Parameter name -> ``("uniform", lo, hi)``, ``("log-uniform", lo, hi)``,
        ``("int", lo, hi)`` or ``("choice", [values])``, as for :func:`mmsim.sweep.sample`;
        keys are routed like grid keys.
    objective : str, tuple, callable or sequence, default "sharpe"
        One objective (a statistic, maximised; ``(statistic, "min")``; or a callable
        ``row -> float``, maximised) or a sequence of several statistics for a
        multi-objective search, e.g. ``("pnl", "max_drawdown")``.
    n_trials : int, default 200
        Trials the study should hold in the end, counting those already in the store.
    store : str or os.PathLike, optional
        A directory: the study in ``store/optuna.db`` (study name :data:`STUDY_NAME`) and each
        run's row in a sweep store, so a rerun continues the study.
    executor : None, int, "serial" or dask.distributed.Client
        As for :func:`mmsim.sweep`; each batch asks one trial per worker.
    seed : int, default 0
        Seed of the default TPE sampler: ``seed`` plus the number of trials already in the
        study, so a search run in one call is reproducible and a resumed one draws new points.
        (The backtest's own ``seed`` goes in ``fixed``.)
    directions : str or sequence of str, optional
        ``"maximize"`` / ``"minimize"`` for each objective; by default those the objectives
        say (maximise, unless ``(statistic, "min")``).
    sampler : optuna.samplers.BaseSampler, optional
        Instead of ``TPESampler(seed=seed)``.
    fixed : dict, optional
        Parameters every trial shares.
    progress : bool, default True
    stats_freq : str or pandas.Timedelta, default "1h"
    **backtest_kwargs
        Shared backtest arguments (``contract``, ``balance``, ...).

    Returns
    -------
    Optimization
        ``.study`` and ``.trials`` (see :class:`Optimization`).

    Raises
    ------
    ImportError
        If Optuna is not installed (``pip install 'mmsim[optuna]'``).
    ValueError
        For a bad space, objective, directions or ``n_trials``, a key the sweep rejects, or a
        store whose study has other directions.
    """
    from tqdm.auto import tqdm

    from mmsim.sweep.core import _row
    from mmsim.sweep.executors import open_runner
    from mmsim.sweep.grid import sample
    from mmsim.sweep.job import make_job
    from mmsim.sweep.store import Store

    optuna = _optuna()
    n_trials = checks.number(n_trials, "n_trials", integer=True, minimum=1)
    specs, dirs = _objectives(objective, directions)
    probe = sample(1, space, seed=0)  # checks every dimension, naming a bad one
    job = make_job(taq, signals, strategy, fixed=fixed, stats_freq=stats_freq, keep="stats",
                   **backtest_kwargs)
    job.check(probe, "space")
    runs, storage = None, None
    if store is not None:
        runs = Store(store)
        storage = f"sqlite:///{Path(store).resolve() / STORAGE_FILE}"
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(storage=storage, study_name=STUDY_NAME, load_if_exists=True,
                                directions=dirs, sampler=sampler)
    if sampler is None:
        # Offset by the trials already there: a resumed search must not redraw the points
        # its first call started with (same seed, same random start-up trials).
        study.sampler = optuna.samplers.TPESampler(seed=seed + len(study.trials))
    have = [d.name.lower() for d in study.directions]
    if have != dirs:
        raise ValueError(f"the study in {store} has directions {have}, not {dirs}; use another "
                         "store for another objective")
    TrialState = optuna.trial.TrialState
    rows = {}  # key -> table row, for this call's runs
    # Trials asked but never told (an interrupted run): run again with their parameters.
    todo = [(t.number, t.params) for t in study.get_trials(deepcopy=False,
                                                           states=(TrialState.RUNNING,))]
    finished = len(study.trials) - len(todo)
    bar = tqdm(total=max(n_trials, len(study.trials)), initial=finished, disable=not progress,
               desc="optimize", unit="trial", dynamic_ncols=True)
    def ask():
        trial = study.ask()
        params = _suggest(trial, space)
        trial.set_user_attr("key", job.key(params))
        return trial.number, params

    try:
        # A complete study opens no workers.
        if todo or len(study.trials) < n_trials:
            with open_runner(executor, job) as runner:
                while todo or len(study.trials) < n_trials:
                    # One trial per worker, asked before any of them is told.
                    todo = todo or [ask() for _ in range(min(runner.n_workers,
                                                             n_trials - len(study.trials)))]
                    stored = runs.keys() if runs is not None else set()
                    batch = []
                    for number, params in todo:
                        key = job.key(params)
                        if key in stored:  # ran before an interruption: reuse, do not rerun
                            rows[key] = runs.rows([key]).iloc[0].to_dict()
                            _tell(study, number, rows[key], specs, TrialState)
                            bar.update()
                        else:
                            batch.append((number, params, key))
                    todo = []
                    for j, outcome in runner.run([p for _, p, _ in batch]):
                        number, params, key = batch[j]
                        rows[key] = _row(params, outcome, key, space)
                        if runs is not None:
                            runs.append({**rows[key], "strategy": job.spec.strategy.__name__,
                                         "finished": pd.Timestamp.now(tz="UTC")})
                        _tell(study, number, rows[key], specs, TrialState)
                        bar.update()
    finally:
        bar.close()
    return Optimization(study, _trials_table(study, rows, runs, specs, list(space)))


def _tell(study, number: int, row: dict, specs, TrialState) -> None:
    """Tell a trial its objective values, or that it failed."""
    from mmsim.sweep.walkforward import objective_values

    values = []
    if row.get("status") == "ok":
        frame = pd.DataFrame([row])
        values = [float(objective_values(frame, spec).iloc[0]) for spec in specs]
    if values and all(math.isfinite(v) for v in values):
        study.tell(number, values if len(values) > 1 else values[0])
    else:
        study.tell(number, state=TrialState.FAIL)


def _trials_table(study, rows: dict, runs, specs, params) -> pd.DataFrame:
    """One row per trial: its run's row (from this call or the store) and its state."""
    from mmsim.sweep.walkforward import parse_objective

    trials = study.get_trials(deepcopy=False)
    keys = [t.user_attrs.get("key") for t in trials]
    missing = sorted({k for k in keys if k is not None and k not in rows})
    if runs is not None and missing:
        for row in runs.rows(missing).to_dict("records"):
            rows[row["key"]] = row
    out = []
    for t, key in zip(trials, keys):
        row = {"trial": t.number, **t.params, **rows.get(key, {})}
        for i, spec in enumerate(specs):
            label = parse_objective(spec)[0]
            if callable(spec) and t.values is not None:
                row[label] = t.values[i]
        row["state"] = t.state.name
        out.append(row)
    table = pd.DataFrame(out)
    table = table.drop(columns=[c for c in ("strategy", "finished") if c in table.columns])
    table.attrs["params"] = params
    return table
