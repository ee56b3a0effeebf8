"""Parameter sweeps: many backtests over one data set, on local processes or a Dask cluster.

The package is callable: ``mmsim.sweep(taq, signals, Strategy, grid, ...)`` is
:func:`mmsim.sweep.core.sweep`. Its parts, one concept per module:

* :mod:`~mmsim.sweep.grid`: :func:`expand` a grid, :func:`sample` a search space;
* :mod:`~mmsim.sweep.job`: key routing and running one combination;
* :mod:`~mmsim.sweep.executors`: serial, local processes (shared memory) and Dask runners;
* :mod:`~mmsim.sweep.shared`: the shared-memory block local workers map;
* :mod:`~mmsim.sweep.store`: the resumable Parquet store and :func:`load`;
* :mod:`~mmsim.sweep.core`: :func:`sweep` itself.
"""
from __future__ import annotations

import importlib
import sys
import types

from mmsim.sweep.core import SweepInterrupted, sweep
from mmsim.sweep.grid import expand, sample
from mmsim.sweep.store import load

__all__ = ["sweep", "expand", "sample", "load", "SweepInterrupted", "walk_forward", "optimize",
           "heatmap"]

# Built on the sweep and imported on first use (their optional dependencies stay optional).
_LAZY = {"walk_forward": "mmsim.sweep.walkforward", "optimize": "mmsim.sweep.optimize",
         "heatmap": "mmsim.sweep.report"}


class _SweepModule(types.ModuleType):
    """The package as a module that can be called like :func:`sweep`."""

    def __call__(self, *args, **kwargs):
        return sweep(*args, **kwargs)

    def __getattr__(self, name):
        module = _LAZY.get(name)
        if module is None:
            raise AttributeError(f"module 'mmsim.sweep' has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(self, name, value)
        return value


sys.modules[__name__].__class__ = _SweepModule
