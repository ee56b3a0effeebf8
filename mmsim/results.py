"""The outcome of a backtest: orders, fills, balances and positions as pandas tables."""
from __future__ import annotations

import functools
import html
import json
import platform
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.contracts import Contract

__all__ = ["Result", "data_provenance", "run_provenance", "flat_entry_as_nan"]

#: Tables written by :meth:`Result.save`, one Parquet file each.
TABLES = ("orders", "fills", "balances", "positions", "funding")
#: Tables a result saved by an earlier version may lack; they load empty.
_OPTIONAL = {"funding": ("rate", "mark", "position", "payment")}
#: The JSON file beside them: format version, contract, run parameters, library versions.
META_FILE = "result.json"
#: Bumped whenever the saved layout changes.
FORMAT_VERSION = 1


def _empty(name: str) -> pd.DataFrame:
    """An optional table with no rows."""
    index = pd.DatetimeIndex([], tz="UTC", name="time").as_unit("ns")
    return pd.DataFrame({c: pd.Series(dtype=float) for c in _OPTIONAL[name]}, index=index)


def _times(values: np.ndarray, name=None) -> pd.DatetimeIndex:
    # int64 UTC nanoseconds read as datetime64[ns] in place of a unit conversion; the
    # engine's NO_TIME is int64 min, which is NaT: "never" reads as NaT. Naive values given
    # the UTC dtype are read as UTC, without tz_localize's pass over them (pandas keeps a
    # copy of its own: it has no public way to wrap them as UTC times).
    return pd.DatetimeIndex(values.view("M8[ns]"), dtype=_UTC, name=name, copy=False)


_UTC = pd.DatetimeTZDtype("ns", "UTC")


@functools.lru_cache(maxsize=None)
def _category(names: tuple) -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(names))


def _labels(codes: np.ndarray, names) -> pd.Categorical:
    # Engine enums become categoricals: one small code array, no per-row string objects.
    # The engine writes only codes of its own enums, so pandas need not check them.
    return pd.Categorical.from_codes(codes.astype(np.int8, copy=False),
                                     dtype=_category(tuple(names)), validate=False)


def _columns(records: dict, names, dtypes=None) -> dict:
    # The record columns a table shows: the engine's own arrays, which it handed over with
    # the records (Engine.tables), so the frame wraps them rather than a copy of the table
    # (the largest of a long run, the orders, is as large again); a field whose column has
    # another type (``dtypes``) is converted, a copy.
    dtypes = dtypes or {}
    return {name: records[name] if name not in dtypes else records[name].astype(dtypes[name])
            for name in names}


def _frame(records: dict, columns, labels=None) -> pd.DataFrame:
    # A table of record fields indexed by ``time``; ``labels`` maps enum columns to the
    # names of their codes.
    values = _columns(records, ("time", *columns))
    index = _times(values.pop("time"), name="time")
    for column, names in (labels or {}).items():
        values[column] = _labels(values[column], names)
    # copy=False: pandas keeps each column as its own block rather than copying them into
    # one two-dimensional block per type.
    return pd.DataFrame(values, index=index, copy=False)


_ORDER_FIELDS = ("order_id", "type", "side", "status", "price", "price_level", "amount",
                 "filled", "avg_price", "amount_q", "volume_req", "volume", "fee", "slippage",
                 "live", "closed", "created", "reason", "cancel_sent", "queue_ahead", "tif",
                 "post_only", "reduce_only", "amends", "rejected")
#: Order fields whose column is not of the field's own type.
_ORDER_DTYPES = {"side": np.int64, "price_level": np.float64, "post_only": bool,
                 "reduce_only": bool, "amends": np.int64, "rejected": np.int64}


def _orders_frame(o: dict) -> pd.DataFrame:
    # The engine's order records as the orders table, indexed by creation time.
    from mmsim import _core

    c = _columns(o, _ORDER_FIELDS, _ORDER_DTYPES)
    level = c["price_level"]
    level[level < 0] = np.nan       # -1: not a follow order
    # Seconds from creation to close: whole seconds plus the nanoseconds over 1e9, which
    # keeps the nanoseconds where one division of spans past 2**53 ns would round them (the
    # split pandas' total_seconds() makes too), in three NumPy passes; NaN while the order
    # works (closed is NaT, the int64 minimum; created always has a time).
    closed = c["closed"]
    seconds, rest = np.divmod(closed - c["created"], 10**9)
    active = seconds + rest / 1e9
    active[closed == np.iinfo(np.int64).min] = np.nan
    return pd.DataFrame(
        {
            "order_id": c["order_id"],
            "type": _labels(c["type"], _core.TYPE_NAMES),
            "side": c["side"],
            "status": _labels(c["status"], _core.STATUS_NAMES),
            "price": c["price"],
            "price_level": level,
            "amount": c["amount"],
            "filled": c["filled"],
            "avg_price": c["avg_price"],
            "amount_q": c["amount_q"],
            "volume_req": c["volume_req"],
            "volume": c["volume"],
            "fee": c["fee"],
            "slippage": c["slippage"],
            "live": _times(c["live"]),
            "closed": _times(c["closed"]),
            "active_duration": active,
            "reason": _labels(c["reason"], _core.REASON_NAMES),
            "cancel_sent": _times(c["cancel_sent"]),
            "queue_ahead": c["queue_ahead"],
            "tif": _labels(c["tif"], _core.TIF_NAMES),
            "post_only": c["post_only"],
            "reduce_only": c["reduce_only"],
            "amends": c["amends"],
            "rejected": c["rejected"],
        },
        index=_times(c["created"], name="time"),
        copy=False,
    )


def _fills_frame(records: dict) -> pd.DataFrame:
    from mmsim import _core

    return _frame(records, ("order_id", "price", "amount", "fee", "liquidity", "mid",
                            "realized", "position", "cause", "print_volume"),
                  labels={"liquidity": _core.LIQUIDITY_NAMES, "cause": _core.CAUSE_NAMES})


def _balances_frame(records: dict) -> pd.DataFrame:
    return _frame(records, ("total", "available", "nav", "mark", "position"))


def _positions_frame(records: dict) -> pd.DataFrame:
    return flat_entry_as_nan(_frame(records, ("amount", "weighted_price")))


def _funding_frame(records: dict) -> pd.DataFrame:
    return _frame(records, ("rate", "mark", "position", "payment"))


def _encode(value):
    """Turn run parameters into JSON values, tagging the types JSON lacks so they load back."""
    if isinstance(value, dict):
        return {str(k): _encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, tuple):
        return {"__tuple__": [_encode(v) for v in value]}
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, pd.Timestamp):
        return {"__timestamp__": value.isoformat()}
    if isinstance(value, pd.Timedelta):
        return {"__timedelta__": int(value.value)}
    # Anything else (e.g. an object) is kept as its repr: readable, not restorable.
    return {"__repr__": repr(value)}


def _decode(value):
    """Inverse of :func:`_encode`."""
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1:
            (tag, inner), = value.items()
            if tag == "__tuple__":
                return tuple(_decode(v) for v in inner)
            if tag == "__timestamp__":
                return pd.Timestamp(inner)
            if tag == "__timedelta__":
                return pd.Timedelta(int(inner), unit="ns")
            if tag == "__repr__":
                return inner
        return {k: _decode(v) for k, v in value.items()}
    return value


def flat_entry_as_nan(positions: pd.DataFrame) -> pd.DataFrame:
    """Set the entry price of flat rows of a positions table to NaN.

    The engine keeps an entry price of 0 while flat (it has none); the table says so with NaN,
    so that charts and sums do not read it as a price.

    Parameters
    ----------
    positions : pandas.DataFrame
        Columns ``amount`` and ``weighted_price``.

    Returns
    -------
    pandas.DataFrame
        ``positions``, its ``weighted_price`` column replaced.
    """
    amount = positions["amount"].to_numpy(dtype=float)
    entry = positions["weighted_price"].to_numpy(dtype=float)
    positions["weighted_price"] = np.where(amount == 0, np.nan, entry)
    return positions


def data_provenance(taq: pd.DataFrame, source: str | None = None) -> dict:
    """Where the market data of a run came from, and a fingerprint to recognise it by.

    Parameters
    ----------
    taq : pandas.DataFrame
        The TAQ frame the run replayed.
    source : str, optional
        Its origin: a file path, or the generator and its seed; by default "a DataFrame".

    Returns
    -------
    dict
        ``source``, ``rows``, ``data_start`` and ``data_end`` (ISO 8601 UTC, or None without
        rows), and ``fingerprint``: :func:`mmsim.sweep.store.fingerprint` of its arrays.

    Raises
    ------
    SchemaError
        If ``taq`` is not a valid TAQ frame.
    """
    from mmsim.data.align import taq_arrays
    from mmsim.sweep.store import fingerprint

    arrays = taq_arrays(taq, name=None)     # the run that used the data has warned already
    times = arrays.time
    return {
        "source": "a DataFrame" if source is None else str(source),
        "rows": int(len(times)),
        "data_start": pd.Timestamp(int(times[0]), tz="UTC").isoformat() if len(times) else None,
        "data_end": pd.Timestamp(int(times[-1]), tz="UTC").isoformat() if len(times) else None,
        "fingerprint": fingerprint(arrays),
    }


def _git_commit(directory=None) -> str | None:
    """The commit checked out in the working directory, with ``+changes`` when it has
    uncommitted edits; None outside a git checkout."""
    try:
        run = dict(cwd=directory, capture_output=True, text=True, timeout=5)
        head = subprocess.run(["git", "rev-parse", "HEAD"], **run)
        if head.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], **run)
    except (OSError, subprocess.SubprocessError):
        return None
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def _now() -> str:
    return pd.Timestamp.now(tz="UTC").isoformat(timespec="seconds")


def run_provenance() -> dict:
    """What made a result or report: the mmsim version, the git commit of the working
    directory (None outside a checkout) and the time, ISO 8601 UTC."""
    import mmsim

    return {"mmsim": mmsim.__version__, "git_commit": _git_commit(), "written": _now()}


def _params_key(params: dict) -> str:
    # JSON of the encoded parameters: NaN equals NaN and a tuple stays unlike a list.
    return json.dumps(_encode(params), sort_keys=True)


def _versions() -> dict:
    """Versions of Python and the libraries that produced a saved result."""
    import pyarrow

    import mmsim

    return {
        "mmsim": mmsim.__version__,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "pyarrow": pyarrow.__version__,
    }


class _Table:
    """A table of a :class:`Result`: built from the engine's records on first access, then
    kept (and the records let go); setting it replaces it."""

    def __init__(self, build):
        self.build = build

    def __set_name__(self, owner, name):
        self.name = name

    def __get__(self, result, owner=None):
        if result is None:
            return self
        frame = result._frames.get(self.name)
        if frame is None:
            records = result._records.get(self.name)
            if records is None:         # built meanwhile, in another thread
                return result._frames[self.name]
            frame = result._frames.setdefault(self.name, self.build(records))
            # The frame is the table from now on, and may be changed (its columns are most
            # of the records' own): the records no longer speak for it, nor are they pickled.
            result._records.pop(self.name, None)
        return frame

    def __set__(self, result, frame):
        result._frames[self.name] = frame
        result._records.pop(self.name, None)


class Result:
    """Tables recorded by one backtest run.

    Every table is a DataFrame with a DatetimeIndex named ``time`` (UTC). A result made by
    :meth:`from_tables` (as :func:`mmsim.backtest` makes it) keeps the engine's records and
    builds each table when it is first read; a table may be replaced by setting it.

    Parameters
    ----------
    orders, fills, balances, positions : pandas.DataFrame
        The tables described below.
    contract : Contract
    params : dict, optional
        The run parameters; empty by default.
    funding : pandas.DataFrame, optional
        Empty by default.
    provenance : dict, optional
        By default ``{"created": <now>}``.

    Attributes
    ----------
    orders : pandas.DataFrame
        One row per order, indexed by creation time. Columns: ``order_id, type, side, status,
        price, price_level, amount, filled, avg_price, amount_q, volume_req, volume, fee,
        slippage, live, closed, active_duration, reason, cancel_sent, queue_ahead, tif,
        post_only, reduce_only, amends, rejected``.
    fills : pandas.DataFrame
        One row per fill: ``order_id, price, amount, fee, liquidity ("maker"/"taker"),
        mid, realized, position, cause, print_volume``.
    balances : pandas.DataFrame
        ``total, available, nav, mark, position`` at every fill and every signal.
    positions : pandas.DataFrame
        ``amount, weighted_price`` after every fill.
    funding : pandas.DataFrame
        ``rate, mark, position, payment`` at every funding time (payment: paid by the
        account, settlement currency; negative when received). Empty without funding.
    contract : Contract
        The contract traded.
    params : dict
        Run parameters (balance, latency, queue_position, seed, ...).
    provenance : dict
        Where the run came from: ``created`` (when the Result was made, ISO 8601 UTC), and
        after ``result.provenance.update(data_provenance(taq, source))`` the data's
        ``source``, ``rows``, span and ``fingerprint``. :meth:`save` adds the mmsim version,
        the git commit and the time of saving. Not compared by :meth:`equals`.

    Notes
    -----
    Two results are ``==`` when :meth:`equals` says so. In Jupyter a result shows its
    headline figures and the sizes of its tables. A result pickles (for another process) the
    records of the tables not yet read, and the frames of the others.
    """

    orders = _Table(_orders_frame)
    fills = _Table(_fills_frame)
    balances = _Table(_balances_frame)
    positions = _Table(_positions_frame)
    funding = _Table(_funding_frame)

    def __init__(self, orders: pd.DataFrame, fills: pd.DataFrame, balances: pd.DataFrame,
                 positions: pd.DataFrame, contract: Contract, params: dict | None = None,
                 funding: pd.DataFrame | None = None, provenance: dict | None = None):
        frames = {"orders": orders, "fills": fills, "balances": balances,
                  "positions": positions,
                  "funding": _empty("funding") if funding is None else funding}
        self._setup({}, frames, contract, params, provenance)

    def _setup(self, records, frames, contract, params, provenance):
        # Each table is in exactly one of ``records`` (not built yet) and ``frames``.
        self._records = records
        self._frames = frames
        self.contract = contract
        self.params = {} if params is None else params
        self.provenance = {"created": _now()} if provenance is None else provenance

    @classmethod
    def from_tables(cls, tables: dict, contract: Contract, params: dict) -> "Result":
        """A result from the engine's record tables, its frames built when first read.

        Parameters
        ----------
        tables : dict
            ``orders, fills, balances, positions, funding``, each a dict of record columns
            (one array per field) as ``Engine.tables()`` returns them. They are kept, not
            copied: each table, when built, wraps them as its columns (a field of another
            type is converted), so they must not change meanwhile and belong to the result.
        contract : Contract
        params : dict
            The run parameters.

        Returns
        -------
        Result
        """
        result = cls.__new__(cls)
        result._setup({name: tables[name] for name in TABLES}, {}, contract, params, None)
        return result

    def __getstate__(self):
        # The records of unread tables travel as they are (an array per field, cheaper to
        # pickle than a frame); the tables already built, which may have been changed, as
        # frames.
        return {"records": dict(self._records), "frames": dict(self._frames),
                "contract": self.contract, "params": self.params,
                "provenance": self.provenance}

    def __setstate__(self, state):
        self._setup(**state)

    def _rows(self, name: str) -> int:
        # The length of a table, without building it.
        records = self._records.get(name)
        if records is None:
            return len(getattr(self, name))
        return len(next(iter(records.values())))       # every column has a value per row

    def stats(self, freq="1h", size_limit=None) -> pd.Series:
        """Statistics of the run: returns, risk, activity and the PnL decomposition.

        Parameters
        ----------
        freq : str or pandas.Timedelta, default "1h"
            NAV sampling interval for the Sharpe and Sortino ratios.
        size_limit : float, optional
            Position limit in contracts for ``time_at_limit``.

        Returns
        -------
        pandas.Series
            See :data:`mmsim.stats.STAT_NAMES` for every entry and its definition.
        """
        from mmsim.stats import compute_stats

        return compute_stats(self, freq=freq, size_limit=size_limit)

    def summary(self, freq="1h", size_limit=None, file=None) -> str:
        """Print the notebook's orders summary followed by the key statistics.

        Parameters
        ----------
        freq, size_limit
            Passed to :meth:`stats`.
        file : file-like, optional
            Where to print; ``sys.stdout`` by default.

        Returns
        -------
        str
            The printed text.
        """
        from mmsim.stats import summary_text

        text = summary_text(self, self.stats(freq=freq, size_limit=size_limit))
        print(text, file=file)
        return text

    def plot(self, kind="all", **kwargs):
        """Draw one of the standard charts with matplotlib.

        Parameters
        ----------
        kind : str, default "all"
            One of :data:`mmsim.plots.KINDS`, or ``"all"`` for every chart on one figure.
        **kwargs
            Passed to :func:`mmsim.plots.plot`.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from mmsim.plots import plot

        return plot(self, kind, **kwargs)

    def report(self, path="report.html", **kwargs):
        """Write a self-contained HTML report (statistics, parameters, interactive charts).

        Parameters
        ----------
        path : str or os.PathLike, default "report.html"
        **kwargs
            Passed to :func:`mmsim.report.write_report`.

        Returns
        -------
        pathlib.Path
            The file written.
        """
        from mmsim.report import write_report

        return write_report(self, path, **kwargs)

    def save(self, directory):
        """Write the tables as Parquet and the contract, parameters, versions and provenance
        as JSON.

        Parameters
        ----------
        directory : str or os.PathLike
            Created if missing; existing result files in it are replaced.

        Returns
        -------
        pathlib.Path
            The directory.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        for name in TABLES:
            getattr(self, name).to_parquet(directory / f"{name}.parquet", engine="pyarrow")
        meta = {
            "format": FORMAT_VERSION,
            "contract": self.contract.to_dict(),
            "params": _encode(self.params),
            "versions": _versions(),
            "provenance": _encode({**self.provenance, **run_provenance()}),
        }
        (directory / META_FILE).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return directory

    @classmethod
    def load(cls, directory) -> "Result":
        """Read a result written by :meth:`save`.

        Parameters
        ----------
        directory : str or os.PathLike

        Returns
        -------
        Result
        """
        directory = Path(directory)
        meta_path = directory / META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(
                f"{meta_path} not found: expected a directory written by Result.save()"
            )
        meta = json.loads(meta_path.read_text())
        if meta.get("format") != FORMAT_VERSION:
            raise ValueError(
                f"{meta_path}: 'format' must be {FORMAT_VERSION}, got {meta.get('format')!r}"
            )
        tables = {}
        for name in TABLES:
            path = directory / f"{name}.parquet"
            if not path.is_file():
                if name in _OPTIONAL:
                    continue
                raise FileNotFoundError(f"{path} not found: the saved result is incomplete")
            tables[name] = pd.read_parquet(path, engine="pyarrow")
        # Results saved before flat rows had no entry price hold 0 there.
        flat_entry_as_nan(tables["positions"])
        return cls(contract=Contract(**meta["contract"]), params=_decode(meta["params"]),
                   provenance=_decode(meta.get("provenance", {})), **tables)

    def equals(self, other) -> bool:
        """Whether ``other`` is a Result of the same run: equal tables (values, dtypes and
        index, NaN equal to NaN), contract and parameters.

        Parameters
        ----------
        other : object

        Returns
        -------
        bool
            False for anything that is not a Result. :attr:`provenance` (when and where each
            was made) is not compared.
        """
        if not isinstance(other, Result):
            return False
        if self.contract != other.contract or _params_key(self.params) != _params_key(
                other.params):
            return False
        return all(getattr(self, name).equals(getattr(other, name)) for name in TABLES)

    def __eq__(self, other):
        if not isinstance(other, Result):
            return NotImplemented
        return self.equals(other)

    __hash__ = None         # mutable tables: not hashable, as DataFrames are not

    def _repr_html_(self) -> str:
        """Jupyter's view: the headline figures and the sizes of the tables."""
        from mmsim.report import headline_html

        sizes = ", ".join(f"{name} {self._rows(name):,}" for name in TABLES)
        name = html.escape(self.contract.name or "contract")
        return (f"<div><b>mmsim.Result</b> &middot; {name}<br>{headline_html(self)}"
                f"<small>rows: {sizes}</small></div>")

    def __repr__(self) -> str:
        span = ""
        if len(self.balances):
            span = f" {self.balances.index[0]} .. {self.balances.index[-1]}"
        return (
            f"<mmsim.Result{span}: {self._rows('orders')} orders, {self._rows('fills')} fills, "
            f"{self._rows('balances')} balance rows>"
        )
