"""The sweep store: one small Parquet file per finished combination, so a sweep can resume.

Layout of a store directory::

    <store>/runs/<key>.parquet       one row: parameters, statistics, status, error, ...
    <store>/results/<key>/           the full Result (only with keep="results")

``key`` is :func:`combination_key`: a BLAKE2b hash of the run's full specification (strategy
class, every parameter, the statistics frequency), the fingerprint of the market data
(:func:`fingerprint`) and the mmsim version. Rerunning a sweep on the same data skips every
key already stored. Each file is written under a temporary name and renamed into place, so an
interrupted sweep never leaves a half-written row; the store is only ever appended to.

Parameter values that Parquet cannot hold as a column (a Contract, a latency model) are stored
as their ``repr``; the table :func:`mmsim.sweep` returns keeps the objects themselves.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.data.align import CHECK_MARKS, Aligned

__all__ = ["Store", "load", "fingerprint", "combination_key", "STORE_COLUMNS"]

#: Columns a stored row has beyond those of the sweep table.
STORE_COLUMNS = ("strategy", "finished")
#: What every run row holds besides its parameters and statistics.
RUN_COLUMNS = ("status", "error", "wall_time", "key")

_RUNS = "runs"
_RESULTS = "results"


def fingerprint(data: Aligned) -> str:
    """A fast hash of the market data a sweep replays.

    Parameters
    ----------
    data : Aligned

    Returns
    -------
    str
        Hex BLAKE2b digest over every array's dtype, shape and bytes and the signal names.
    """
    h = hashlib.blake2b(digest_size=16)
    for name in Aligned._fields:
        if name in CHECK_MARKS:
            continue
        value = getattr(data, name)
        if isinstance(value, np.ndarray):
            h.update(f"{name}:{value.dtype.str}:{value.shape};".encode())
            h.update(np.ascontiguousarray(value).data)
        elif value is not None:               # an absent optional column adds nothing
            h.update(f"{name}:{json.dumps(list(value))};".encode())
    return h.hexdigest()


def _plain(value):
    """A JSON-able stand-in for a parameter value, equal for equal values."""
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))}
    if isinstance(value, type):
        return f"{value.__module__}.{value.__qualname__}"
    return f"{type(value).__module__}.{type(value).__qualname__}:{value!r}"


def combination_key(spec: dict, data_fingerprint: str) -> str:
    """The store key of one run.

    Parameters
    ----------
    spec : dict
        Everything that determines the run's row: strategy, parameters, statistics settings.
    data_fingerprint : str
        :func:`fingerprint` of the data.

    Returns
    -------
    str
        32 hex digits.
    """
    import mmsim

    text = json.dumps({"spec": _plain(spec), "data": data_fingerprint,
                       "mmsim": mmsim.__version__}, sort_keys=True)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def _storable(value):
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (bool, int, float, str, pd.Timestamp, pd.Timedelta)):
        return value
    return repr(value)


class Store:
    """A sweep store directory (see the module notes).

    Parameters
    ----------
    path : str or os.PathLike
        The directory; created if missing.
    """

    def __init__(self, path):
        self.path = Path(path)
        if self.path.exists() and not self.path.is_dir():
            raise ValueError(f"store must be a directory, got the file {self.path}")
        (self.path / _RUNS).mkdir(parents=True, exist_ok=True)

    def keys(self) -> set:
        """The keys of every stored run."""
        return {p.stem for p in (self.path / _RUNS).glob("*.parquet")}

    def append(self, row: dict, result=None) -> None:
        """Add one finished run.

        Parameters
        ----------
        row : dict
            The run's table row; ``row["key"]`` names the file.
        result : mmsim.Result, optional
            Saved beside the row, to be read back by :meth:`result`.
        """
        key = row["key"]
        if result is not None:
            result.save(self.path / _RESULTS / key)
        frame = pd.DataFrame({k: [_storable(v)] for k, v in row.items()})
        final = self.path / _RUNS / f"{key}.parquet"
        partial = final.with_name(f".{key}.{os.getpid()}.tmp")
        frame.to_parquet(partial, index=False)
        os.replace(partial, final)

    def rows(self, keys=None) -> pd.DataFrame:
        """Stored rows, in the order they finished.

        Parameters
        ----------
        keys : iterable of str, optional
            Only these keys (those not stored are left out).

        Returns
        -------
        pandas.DataFrame
        """
        files = [self.path / _RUNS / f"{k}.parquet" for k in keys] if keys is not None else \
            list((self.path / _RUNS).glob("*.parquet"))
        frames = [pd.read_parquet(f) for f in files if f.exists()]
        if not frames:
            # Nothing finished yet: still the columns every row has, so table["key"] works.
            return pd.DataFrame(columns=list(RUN_COLUMNS + STORE_COLUMNS))
        table = pd.concat(frames, ignore_index=True)
        if "finished" in table.columns:
            table = table.sort_values("finished", kind="stable", ignore_index=True)
        return table

    def result(self, key: str):
        """The Result saved for ``key``, or None."""
        from mmsim.results import Result

        path = self.path / _RESULTS / key
        return Result.load(path) if path.is_dir() else None


def load(store) -> pd.DataFrame:
    """Read a sweep store back as a table.

    Parameters
    ----------
    store : str or os.PathLike
        A directory written by :func:`mmsim.sweep` with ``store=``.

    Returns
    -------
    pandas.DataFrame
        One row per stored run, in the order they finished: the parameter columns, the
        statistics, ``status``, ``error``, ``wall_time``, ``key``, and ``strategy``,
        ``finished`` (UTC time the row was stored).

    Raises
    ------
    FileNotFoundError
        If ``store`` is not a sweep store.
    """
    path = Path(store)
    if not (path / _RUNS).is_dir():
        raise FileNotFoundError(f"store {path} is not a sweep store (no {_RUNS}/ directory)")
    return Store(path).rows()
