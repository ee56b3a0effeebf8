"""One sweep's work: the market data, what every run shares, and how one combination runs.

A parameter name is routed to exactly one place:

* a constructor argument of the strategy class (read off its signature);
* an argument of :func:`mmsim.backtest` (``latency``, ``cancel_latency``, ``queue_position``,
  ``feed_latency``, ``balance``, ``seed``, ``start``, ``end``, ``contract``, ...);
* a field of :class:`mmsim.Contract` (``maker_fee``, ``taker_fee``, ``tick_size``, ...),
  applied with ``dataclasses.replace`` to the run's contract.

A name that is none of these, or a strategy argument that is also a backtest argument or a
contract field, is a ``ValueError`` naming it, raised before anything runs. (A strategy whose
constructor takes ``**kwargs`` receives every name that is not a backtest argument or a
contract field.)

``start`` and ``end`` cut the data aligned once for the whole sweep with
:func:`mmsim.data.align.cut`, which gives the same arrays as aligning the frames with those
bounds; the run is therefore bit for bit ``backtest(taq, signals, ..., start=, end=)``.
"""
from __future__ import annotations

import dataclasses
import inspect
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmsim.contracts import Contract
from mmsim.data.align import Aligned, align, cut
from mmsim.engine import backtest
from mmsim.checks import duration
from mmsim.sweep.store import combination_key, fingerprint

__all__ = ["Job", "Spec", "make_job", "run_combination", "BACKTEST_KEYS", "CONTRACT_KEYS",
           "KEEP"]

_BACKTEST = inspect.signature(backtest).parameters
#: The backtest arguments a sweep key may set (the data, strategy and progress are the sweep's).
BACKTEST_KEYS = tuple(k for k in _BACKTEST if k not in ("taq", "signals", "strategy", "progress"))
#: The Contract fields a sweep key may set.
CONTRACT_KEYS = tuple(f.name for f in dataclasses.fields(Contract))
#: Accepted values of ``keep``.
KEEP = ("stats", "results")
_DEFAULT_CONTRACT = _BACKTEST["contract"].default


def strategy_class(strategy) -> type:
    """The strategy class a sweep runs: a class, or a name that
    :func:`mmsim.strategies.registry.strategy_class` knows."""
    from mmsim.strategies.registry import strategy_class as lookup

    if isinstance(strategy, str):
        try:
            return lookup(strategy)
        except ValueError as exc:
            raise ValueError(f"strategy must be a Strategy class or a name: {exc}") from None
    if not isinstance(strategy, type) or not callable(getattr(strategy, "on_signal", None)):
        raise TypeError("strategy must be a Strategy class (built once per combination) or a "
                        f"strategy name, got {strategy!r}")
    return strategy


def _strategy_args(cls) -> tuple[dict, bool]:
    """Named constructor parameters of ``cls`` and whether it takes ``**kwargs``."""
    params = inspect.signature(cls).parameters
    named = {k: p for k, p in params.items()
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return named, any(p.kind is p.VAR_KEYWORD for p in params.values())


def route(cls, keys, where: str) -> dict:
    """Where each key goes: ``"strategy"``, ``"backtest"`` or ``"contract"``.

    Parameters
    ----------
    cls : type
        The strategy class.
    keys : iterable of str
    where : str
        ``"grid"`` or ``"fixed"``, for the error message.

    Returns
    -------
    dict

    Raises
    ------
    ValueError
        If a key is unknown or ambiguous; the message names it.
    """
    named, var_kw = _strategy_args(cls)
    routes = {}
    for key in keys:
        places = [kind for kind, ok in (("backtest", key in BACKTEST_KEYS),
                                        ("contract", key in CONTRACT_KEYS)) if ok]
        if key in named:
            if places:
                raise ValueError(
                    f"{where} key {key!r} is ambiguous: it is both an argument of "
                    f"{cls.__name__} and a {places[0]} {'argument' if places[0] == 'backtest' else 'field'}"
                    "; rename the strategy argument")
            places = ["strategy"]
        elif not places and var_kw:
            places = ["strategy"]
        if not places:
            raise ValueError(
                f"{where} key {key!r} is not an argument of {cls.__name__} "
                f"({', '.join(named) or 'none'}), of mmsim.backtest ({', '.join(BACKTEST_KEYS)}) "
                f"or a Contract field ({', '.join(CONTRACT_KEYS)})")
        routes[key] = places[0]
    return routes


@dataclass(frozen=True)
class Spec:
    """What every run of a sweep shares; small, pickled once per worker.

    Attributes
    ----------
    strategy : type
        The strategy class.
    constants : dict
        ``fixed`` and the extra backtest keyword arguments, merged.
    routes : dict
        Key -> ``"strategy"``, ``"backtest"`` or ``"contract"`` for every known key.
    stats_freq : pandas.Timedelta
        NAV sampling interval of the statistics.
    keep : str
        ``"stats"`` or ``"results"`` (the default for :meth:`Runner.run`).
    var_kw : bool
        Whether the strategy takes ``**kwargs``.
    """

    strategy: type
    constants: dict
    routes: dict
    stats_freq: pd.Timedelta
    keep: str = "stats"
    var_kw: bool = False
    required: tuple = field(default=())

    def describe(self, params: dict) -> dict:
        """Everything that determines a combination's row, for its store key."""
        cls = self.strategy
        return {"strategy": f"{cls.__module__}.{cls.__qualname__}",
                "params": {**self.constants, **params}, "stats_freq": self.stats_freq.value}

    def split(self, params: dict) -> tuple[dict, dict, dict]:
        """Strategy, backtest and contract keyword arguments of one combination."""
        parts = {"strategy": {}, "backtest": {}, "contract": {}}
        for key, value in {**self.constants, **params}.items():
            parts[self.routes.get(key, "strategy")][key] = value
        return parts["strategy"], parts["backtest"], parts["contract"]


@dataclass
class Job:
    """The market data of a sweep, aligned once, and its :class:`Spec`.

    Attributes
    ----------
    data : Aligned
    spec : Spec
    """

    data: Aligned
    spec: Spec
    _fingerprint: str | None = None

    @property
    def fingerprint(self) -> str:
        """:func:`mmsim.sweep.store.fingerprint` of the data (computed once)."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self.data)
        return self._fingerprint

    def check(self, combos, where: str = "grid") -> None:
        """Check the keys of combinations before anything runs.

        Parameters
        ----------
        combos : list of dict
        where : str, default "grid"

        Raises
        ------
        ValueError
            If a key is unknown or ambiguous, also set in ``fixed``, or a required strategy
            argument is missing from a combination.
        """
        keys = list(dict.fromkeys(k for c in combos for k in c))
        twice = [k for k in keys if k in self.spec.constants]
        if twice:
            raise ValueError(f"{where} key {twice[0]!r} is also given in fixed= or as a keyword "
                             "argument; give it in one place")
        route(self.spec.strategy, keys, where)
        for i, combo in enumerate(combos):
            missing = [k for k in self.spec.required if k not in combo]
            if missing:
                raise ValueError(f"{self.spec.strategy.__name__} needs {missing[0]!r}, which is "
                                 f"set neither in fixed= nor in {where} combination {i} {combo}")

    def key(self, params: dict) -> str:
        """The store key of a combination."""
        return combination_key(self.spec.describe(params), self.fingerprint)


def make_job(taq, signals, strategy, *, fixed=None, stats_freq="1h", keep="stats",
             **backtest_kwargs) -> Job:
    """Check what a sweep shares and align the data once.

    Parameters
    ----------
    taq : pandas.DataFrame or Aligned
    signals : pandas.DataFrame or None
        Ignored when ``taq`` is an :class:`~mmsim.data.align.Aligned`.
    strategy : type or str
        A Strategy class or a name of :data:`mmsim.strategies.registry.STRATEGIES`.
    fixed : dict, optional
        Parameters every combination shares (routed like grid keys).
    stats_freq : str or pandas.Timedelta, default "1h"
    keep : {"stats", "results"}, default "stats"
    **backtest_kwargs
        More shared parameters, routed like ``fixed``.

    Returns
    -------
    Job

    Raises
    ------
    ValueError, TypeError
        If a key, ``keep``, ``stats_freq`` or the strategy is invalid.
    SchemaError
        If the data breaks its schema.
    """
    cls = strategy_class(strategy)
    if keep not in KEEP:
        raise ValueError(f"keep must be one of {list(KEEP)}, got {keep!r}")
    freq = duration(stats_freq, "stats_freq")
    if not freq > pd.Timedelta(0):
        raise ValueError(f"stats_freq must be a positive time interval, got {stats_freq!r}")
    fixed = dict(fixed or {})
    both = [k for k in backtest_kwargs if k in fixed]
    if both:
        raise ValueError(f"{both[0]!r} is given both in fixed= and as a keyword argument")
    constants = {**fixed, **backtest_kwargs}
    routes = route(cls, constants, "fixed")
    named, var_kw = _strategy_args(cls)
    # Every key a combination may use; ambiguous ones never get this far (route raises).
    routes = {**{k: "strategy" for k in named}, **{k: "backtest" for k in BACKTEST_KEYS},
              **{k: "contract" for k in CONTRACT_KEYS}, **routes}
    required = tuple(k for k, p in named.items()
                     if p.default is inspect.Parameter.empty and k not in constants)
    data = taq if isinstance(taq, Aligned) else align(taq, signals)
    return Job(data, Spec(cls, constants, routes, freq, keep, var_kw, required))


def _flatten(stats) -> dict:
    """Statistics as scalar columns: nested mappings and arrays get ``name.part`` columns."""
    out = {}
    for name, value in stats.items():
        if isinstance(value, (dict, pd.Series)):
            for part, inner in _flatten(pd.Series(value)).items():
                out[f"{name}.{part}"] = inner
        elif isinstance(value, (np.ndarray, list, tuple)):
            for part, inner in enumerate(np.ravel(np.asarray(value))):
                out[f"{name}.{part}"] = inner
        else:
            out[name] = value.item() if isinstance(value, np.generic) else value
    return out


def _peak_rss() -> int | None:
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)


def run_combination(data: Aligned, spec: Spec, params: dict, keep: str | None = None) -> dict:
    """Run one combination and describe how it went; never raises for a failing run.

    Parameters
    ----------
    data : Aligned
        The sweep's whole data; ``start``/``end`` cut it here.
    spec : Spec
    params : dict
        The combination.
    keep : {"stats", "results"}, optional
        Default: ``spec.keep``.

    Returns
    -------
    dict
        The outcome: ``params``, ``stats`` (dict, empty on error), ``status`` (``"ok"`` or
        ``"error"``), ``error`` (``"ExceptionType: message"``, ``""`` when ok), ``wall_time``
        (seconds), ``peak_rss`` (bytes, the process's peak resident memory, or None) and, with
        ``keep="results"``, ``result`` (the Result; for a strategy that raised, what it
        recorded until then; None for other errors).
    """
    from mmsim.engine import StrategyError

    keep = keep or spec.keep
    began = time.perf_counter()
    outcome = {"params": params, "stats": {}, "status": "ok", "error": ""}
    result = None
    try:
        sparams, bparams, fields = spec.split(params)
        contract = bparams.pop("contract", _DEFAULT_CONTRACT)
        if fields:
            if not isinstance(contract, Contract):
                raise TypeError(f"contract must be a mmsim.Contract, got {contract!r}")
            contract = dataclasses.replace(contract, **fields)
        start, end = bparams.pop("start", None), bparams.pop("end", None)
        view = data if start is None and end is None else cut(data, start, end)
        try:
            result = backtest(view, None, spec.strategy(**sparams), contract=contract, **bparams)
        except StrategyError as exc:
            result = exc.result
            raise
        # What backtest(taq, signals, ..., start=, end=) records for the bounds.
        result.params.update(start=None if start is None else str(start),
                             end=None if end is None else str(end))
        outcome["stats"] = _flatten(result.stats(freq=spec.stats_freq))
    except Exception as exc:  # a failing combination is recorded; the sweep goes on
        outcome.update(status="error", error=f"{type(exc).__name__}: {exc}")
    outcome["wall_time"] = time.perf_counter() - began
    outcome["peak_rss"] = _peak_rss()
    if keep == "results":
        outcome["result"] = result
    return outcome
