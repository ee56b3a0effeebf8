"""mmsim.optimize: trials equal plain backtests, failures, multi-objective, resuming a store."""
from __future__ import annotations

import re
import sys

import pandas as pd
import pytest

import mmsim
from mmsim.sweep.optimize import STORAGE_FILE, STUDY_NAME, _objectives, optimize

from sweep_strategies import Quoter
from test_sweep import _runs, signals, taq  # noqa: F401  (the sweep tests' two-hour market)

optuna = pytest.importorskip("optuna")

#: offset in ticks behind the touch and the quoted size; fail=True raises at the third call.
SPACE = {"offset": ("int", 0, 3), "size": ("int", 10, 200)}


def test_trials_are_plain_backtests_and_failures_are_told_failed(taq, signals, tmp_path):
    log = tmp_path / "runs.log"
    space = {**SPACE, "fail": ("choice", [False, True])}
    found = optimize(taq, signals, Quoter, space, objective="pnl", n_trials=6,
                     executor="serial", seed=3, fixed={"log": str(log)}, progress=False)
    trials = found.trials
    assert len(trials) == 6 and _runs(log) == 6
    assert trials["trial"].tolist() == list(range(6))
    assert list(trials.columns[:4]) == ["trial", "offset", "size", "fail"]
    # a failing run is a failed trial, with the error; the others complete with its pnl
    failed = trials["fail"].astype(bool)
    assert failed.any() and not failed.all()
    assert (trials.loc[failed, "state"] == "FAIL").all()
    assert (trials.loc[failed, "status"] == "error").all()
    assert trials.loc[failed, "error"].str.endswith("RuntimeError: boom").all()
    assert (trials.loc[~failed, "state"] == "COMPLETE").all()
    for t in found.study.trials:
        row = trials.iloc[t.number]
        assert t.params == {"offset": row["offset"], "size": row["size"], "fail": row["fail"]}
        if t.state.name == "COMPLETE":
            assert t.value == row["pnl"]
    # bit for bit the plain backtest of the trial's parameters
    best = found.best.iloc[0]
    plain = mmsim.backtest(taq, signals, Quoter(size=best["size"], offset=int(best["offset"])))
    assert plain.stats()["pnl"] == best["pnl"] == found.study.best_value
    assert found.study.sampler.__class__.__name__ == "TPESampler"


def test_seeded_search_repeats(taq, signals):
    a = optimize(taq, signals, Quoter, SPACE, "pnl", n_trials=3, executor="serial", seed=5,
                 progress=False)
    b = optimize(taq, signals, Quoter, SPACE, "pnl", n_trials=3, executor="serial", seed=5,
                 progress=False)
    pd.testing.assert_frame_equal(a.trials.drop(columns="wall_time"),
                                  b.trials.drop(columns="wall_time"))


def test_multi_objective(taq, signals):
    found = optimize(taq, signals, Quoter, SPACE, objective=("pnl", "max_drawdown"),
                     directions=("maximize", "minimize"), n_trials=4, executor="serial",
                     progress=False)
    assert [d.name for d in found.study.directions] == ["MAXIMIZE", "MINIMIZE"]
    for t in found.study.trials:
        row = found.trials.iloc[t.number]
        assert t.values == [row["pnl"], row["max_drawdown"]]
    # the Pareto front: no other trial is at least as good on both and better on one
    front = found.best
    for _, f in front.iterrows():
        others = found.trials
        dominated = ((others["pnl"] >= f["pnl"]) & (others["max_drawdown"] <= f["max_drawdown"])
                     & ((others["pnl"] > f["pnl"]) | (others["max_drawdown"] < f["max_drawdown"])))
        assert not dominated.any()


def test_resume_continues_the_study(taq, signals, tmp_path):
    store = tmp_path / "search"
    log = tmp_path / "runs.log"
    kwargs = dict(objective="pnl", executor="serial", fixed={"log": str(log)}, store=store,
                  progress=False)
    first = optimize(taq, signals, Quoter, SPACE, n_trials=3, **kwargs)
    assert (store / STORAGE_FILE).is_file() and _runs(log) == 3
    # An interrupted run: a trial asked (its parameters drawn) but never told.
    study = optuna.load_study(study_name=STUDY_NAME,
                              storage=f"sqlite:///{store / STORAGE_FILE}")
    stale = study.ask({"offset": optuna.distributions.IntDistribution(0, 3),
                       "size": optuna.distributions.IntDistribution(10, 200)})
    stale_params = dict(stale.params)
    # Rerun for 5 trials in all: the stale one runs with its parameters, one more is asked,
    # and the 3 finished ones do not run again.
    again = optimize(taq, signals, Quoter, SPACE, n_trials=5, **kwargs)
    assert _runs(log) == 3 + 2
    assert len(again.study.trials) == 5
    assert again.study.trials[3].params == stale_params
    assert again.trials["state"].tolist() == ["COMPLETE"] * 5
    pd.testing.assert_frame_equal(again.trials.iloc[:3].drop(columns="wall_time"),
                                  first.trials.drop(columns="wall_time"), check_dtype=False)
    # The study is complete: a third call runs nothing.
    optimize(taq, signals, Quoter, SPACE, n_trials=5, **kwargs)
    assert _runs(log) == 5
    # the sweep store beside the study holds every run's row
    assert len(mmsim.sweep.load(store)) == 5


def test_bad_input(taq, signals, monkeypatch):
    with pytest.raises(ValueError, match=r"^n_trials must be >= 1, got 0$"):
        optimize(taq, signals, Quoter, SPACE, n_trials=0)
    with pytest.raises(ValueError, match=r"space\['size'\] must be a tuple"):
        optimize(taq, signals, Quoter, {"size": [1, 2]}, n_trials=1)
    with pytest.raises(ValueError, match="space key 'gamma' is not an argument of Quoter"):
        optimize(taq, signals, Quoter, {"gamma": ("uniform", 0, 1)}, n_trials=1)
    with pytest.raises(ValueError, match="directions must give 'maximize' or 'minimize' for "
                                         "each of the 2 objectives"):
        optimize(taq, signals, Quoter, SPACE, objective=("pnl", "sharpe"), directions="maximize")
    monkeypatch.setitem(sys.modules, "optuna", None)
    with pytest.raises(ImportError, match=r"pip install 'mmsim\[optuna\]'"):
        optimize(taq, signals, Quoter, SPACE, n_trials=1)


def test_a_store_holds_one_study_direction(taq, signals, tmp_path):
    store = tmp_path / "search"
    store.mkdir()
    optuna.create_study(storage=f"sqlite:///{store / STORAGE_FILE}", study_name=STUDY_NAME,
                        directions=["minimize"])
    log = tmp_path / "runs.log"
    with pytest.raises(ValueError, match=rf"^the study in {re.escape(str(store))} has directions "
                                         r"\['minimize'\], not \['maximize'\]; use another "
                                         r"store for another objective$"):
        optimize(taq, signals, Quoter, SPACE, objective="pnl", n_trials=1, executor="serial",
                 fixed={"log": str(log)}, store=store, progress=False)
    assert not log.exists()


def test_objectives():
    assert _objectives("sharpe", None) == (["sharpe"], ["maximize"])
    assert _objectives(("max_drawdown", "min"), None) == ([("max_drawdown", "min")],
                                                          ["minimize"])
    assert _objectives(["pnl", "max_drawdown"], ["max", "min"]) == (
        ["pnl", "max_drawdown"], ["maximize", "minimize"])


def test_batches_on_local_processes(taq, signals):
    # Two workers: trials are asked two at a time and told as their runs finish.
    found = optimize(taq, signals, Quoter, SPACE, "pnl", n_trials=4, executor=2,
                     progress=False)
    assert found.trials["state"].tolist() == ["COMPLETE"] * 4
    last = found.trials.iloc[-1]
    plain = mmsim.backtest(taq, signals, Quoter(size=last["size"], offset=last["offset"]))
    assert plain.stats()["pnl"] == last["pnl"] == found.study.trials[-1].value
