"""mmsim: market-making backtests on tick data.

The public face of the package. Heavy modules are imported on first use, so
``import mmsim`` stays fast and needs no compiler.
"""
from __future__ import annotations

from mmsim import _lazy
from mmsim.strategies.registry import STRATEGIES as _STRATEGIES

# name -> module that defines it; resolved lazily by __getattr__ below.
_EXPORTS = {
    "backtest": "mmsim.engine",
    "StrategyError": "mmsim.engine",
    "RunError": "mmsim.engine",
    "EmptyResultWarning": "mmsim.engine",
    "StreamError": "mmsim.engine",
    "ProgressError": "mmsim.engine",
    "Strategy": "mmsim.strategy",
    "Context": "mmsim._core",
    "buffer_pool": "mmsim._core",
    "LIMIT": "mmsim._core",
    "MARKET": "mmsim._core",
    "FOLLOW_LIMIT": "mmsim._core",
    "PENDING": "mmsim._core",
    "LIVE": "mmsim._core",
    "FILLED": "mmsim._core",
    "CANCELLED": "mmsim._core",
    "REJECTED": "mmsim._core",
    "Contract": "mmsim.contracts",
    "BITMEX_XBTUSD": "mmsim.contracts",
    "BINANCE_BTCUSD_PERP": "mmsim.contracts",
    "BINANCE_BTCUSDT": "mmsim.contracts",
    "Result": "mmsim.results",
    "data_provenance": "mmsim.results",
    "SchemaError": "mmsim.data.schema",
    "align": "mmsim.data.align",
    "DataWarning": "mmsim.data.align",
    "read_taq": "mmsim.data.io",
    "write_taq": "mmsim.data.io",
    "TAQStream": "mmsim.data.io",
    **dict.fromkeys(_STRATEGIES, "mmsim.strategies"),
    "FunctionStrategy": "mmsim.compat",
    "RollingVolatility": "mmsim.estimators",
    "EWMAVolatility": "mmsim.estimators",
    "TradeIntensity": "mmsim.estimators",
    "FillRate": "mmsim.estimators",
    "ConfigError": "mmsim.config",
    "load_config": "mmsim.config",
    "walk_forward": "mmsim.sweep.walkforward",
    "optimize": "mmsim.sweep.optimize",
    "RiskAverse": "mmsim.queue",
    "PowerProb": "mmsim.queue",
    "LogProb": "mmsim.queue",
    "QueueModel": "mmsim.queue",
    "FrontShare": "mmsim.queue",
}

__all__ = sorted(_EXPORTS) + ["get_include"]


def _version() -> str:
    """The installed distribution's version; ``0+unknown`` for a checkout that is not
    installed (``pip install -e .`` installs it)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("mmsim")
    except PackageNotFoundError:
        return "0+unknown"


def get_include() -> str:
    """The directory to put on the Cython include path to ``cimport mmsim.queue``.

    A custom queue model in Cython subclasses :class:`mmsim.queue.QueueModel`; its build
    finds ``mmsim/queue.pxd`` here (as NumPy's headers are found through
    ``numpy.get_include()``).

    Returns
    -------
    str
        The folder that holds the ``mmsim`` package.
    """
    import os
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# Sub-packages reachable as attributes (``mmsim.data.ohlcv``) without importing them first.
_SUBMODULES = ("data", "strategies", "estimators", "experiments", "compat", "stats", "plots",
               "report", "config", "contracts", "engine", "results", "strategy", "cli", "sweep",
               "queue", "latency", "checks")

_lazy_getattr, __dir__ = _lazy.attach(__name__, _EXPORTS, _SUBMODULES,
                                      public=("__version__", "get_include"))


def __getattr__(name: str):
    # The version is read on first use: importlib.metadata takes longer to import than mmsim.
    if name == "__version__":
        value = globals()["__version__"] = _version()
        return value
    return _lazy_getattr(name)
