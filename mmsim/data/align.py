"""Cut TAQ and signals to one time span and hand them to the engine as arrays.

:func:`cut` is mmsim's one way to take the rows of a time span ``[start, end)``, of engine
arrays or of a frame. Where the data leaves something to an assumption, a
:class:`DataWarning` says so: a time index without a timezone is taken as UTC, signals after
the last TAQ row are dropped, and signals before the first quote see NaN quote prices.
"""
from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd

from mmsim.data.schema import (
    TAQ_COLUMNS, SchemaError, bound_ns, check_prices, index_ns, local_time_ns, mark_price,
    validate_signals, validate_taq,
)

__all__ = ["Aligned", "CHECK_MARKS", "Checked", "DataWarning", "align", "check_aligned", "cut",
           "is_checked", "taq_arrays", "with_signals"]


class DataWarning(UserWarning):
    """The data was used under an assumption it does not state: naive times taken as UTC,
    signals dropped after the last TAQ row, or signals that see no quote yet."""


def _warn_naive(index: pd.DatetimeIndex, name: str | None) -> None:
    # Said once per frame: the engine passes no name for the later chunks of a stream.
    if name is not None and isinstance(index, pd.DatetimeIndex) and index.tz is None:
        warnings.warn(f"{name} has a time index without a timezone; its times are taken as "
                      f"UTC (set the zone with {name}.index = {name}.index.tz_localize(...) "
                      f"to say otherwise)", DataWarning, stacklevel=4)


#: The fields of an :class:`Aligned` that say how its arrays were checked, not what they hold.
CHECK_MARKS = ("checked",)


class Checked:
    """The arrays :func:`align` checked, held in :attr:`Aligned.checked`.

    The mark holds the array objects themselves, so it speaks only for them: an
    :class:`Aligned` whose arrays were replaced (``data._replace(time=...)``) is checked
    again. Changing the values of a checked array in place is not seen.

    Parameters
    ----------
    data : Aligned
        Arrays that passed the checks.
    tick_size : float, default 0.0
        The tick grid the prices were also checked against (:func:`align` with a
        contract): a backtest on a contract of this tick size does not check them again;
        0.0: not checked.
    """

    __slots__ = ("arrays", "tick_size")

    def __init__(self, data: "Aligned", tick_size: float = 0.0):
        self.arrays = tuple(getattr(data, name) for name in _VALUES)
        self.tick_size = float(tick_size)

    def covers(self, data: "Aligned") -> bool:
        """Whether ``data`` holds exactly the arrays that were checked."""
        return all(a is getattr(data, name) for a, name in zip(self.arrays, _VALUES))

    def __repr__(self) -> str:
        return "Checked(...)"


class Aligned(NamedTuple):
    """TAQ and signals as the contiguous arrays the engine replays.

    Attributes
    ----------
    time : numpy.ndarray
        int64 UTC nanoseconds of each TAQ row.
    price, amount, bid_price, bid_amount, ask_price, ask_amount : numpy.ndarray
        float64 TAQ columns.
    signal_time : numpy.ndarray
        int64 UTC nanoseconds of each strategy call.
    signals : numpy.ndarray
        float64 array of shape (calls, columns).
    columns : tuple of str
        The signal column names.
    local_time : numpy.ndarray or None
        int64 UTC nanoseconds at which each TAQ row was received, from an optional
        ``local_time`` column; None when the data has none.
    mark_price : numpy.ndarray or None
        float64 mark price of each row, from an optional ``mark_price`` column (NaN: the
        mid); None when the data has none.
    checked : Checked or None
        Set by :func:`align`: its arrays are TAQ rows that passed the schema, times in
        order and finite signals. :func:`check_aligned` then checks only their types and
        shapes, so that a sweep replaying one :class:`Aligned` many times validates its
        rows once, and the tick grid its prices were checked against. None (the default)
        for arrays put together by hand.
    """

    time: np.ndarray
    price: np.ndarray
    amount: np.ndarray
    bid_price: np.ndarray
    bid_amount: np.ndarray
    ask_price: np.ndarray
    ask_amount: np.ndarray
    signal_time: np.ndarray
    signals: np.ndarray
    columns: tuple
    local_time: np.ndarray | None = None
    mark_price: np.ndarray | None = None
    checked: Checked | None = None

    @property
    def nbytes(self) -> int:
        """Bytes held by the TAQ arrays."""
        return sum(getattr(self, c).nbytes for c in ("time",) + TAQ_COLUMNS)


#: The fields of an :class:`Aligned` that hold its values (what :class:`Checked` marks).
_VALUES = tuple(f for f in Aligned._fields if f not in CHECK_MARKS and f != "columns")


def is_checked(data: Aligned) -> bool:
    """Whether :func:`align` checked exactly the arrays ``data`` holds.

    Parameters
    ----------
    data : Aligned

    Returns
    -------
    bool
    """
    return isinstance(data.checked, Checked) and data.checked.covers(data)


def _checked_as(out: Aligned, data: Aligned) -> Aligned:
    # ``out``, arrays cut or completed from those of ``data``, checked as far as ``data`` was.
    return out._replace(checked=Checked(out, data.checked.tick_size) if is_checked(data)
                        else None)


def _array(data: Aligned, name: str, dtype, ndim: int) -> np.ndarray:
    value = getattr(data, name)
    if not isinstance(value, np.ndarray):
        raise SchemaError(f"Aligned.{name} must be a NumPy array, got {type(value).__name__}")
    if value.dtype != dtype or value.ndim != ndim or not value.flags.c_contiguous:
        raise SchemaError(f"Aligned.{name} must be a C-contiguous {ndim}-D {np.dtype(dtype)} "
                          f"array, got {value.ndim}-D {value.dtype}"
                          + ("" if value.flags.c_contiguous else " (not contiguous)")
                          + "; build it with mmsim.align")
    return value


def _sorted(times: np.ndarray, name: str) -> None:
    from mmsim._validate import first_descent

    row = first_descent(times)
    if row >= 0:
        raise SchemaError(f"Aligned.{name} must be non-decreasing: row {row} "
                          f"({pd.Timestamp(times[row], tz='UTC')}) comes before row {row - 1} "
                          f"({pd.Timestamp(times[row - 1], tz='UTC')})")


def check_aligned(data: Aligned) -> Aligned:
    """Check the arrays of an :class:`Aligned` before the engine replays them.

    The engine's row loop runs without bounds checks, so every column must cover every row,
    and times must be ordered. :func:`align` builds arrays that pass; this guards ones built
    by hand.

    Parameters
    ----------
    data : Aligned

    Returns
    -------
    Aligned
        ``data`` itself.

    Raises
    ------
    SchemaError
        Naming the array with the wrong type, dtype, shape or length, the first row out of
        time order, or the first signal value that is not finite.
    """
    time = _array(data, "time", np.int64, 1)
    for name in TAQ_COLUMNS:
        if len(_array(data, name, np.float64, 1)) != len(time):
            raise SchemaError(f"Aligned.{name} has {len(getattr(data, name))} rows, "
                              f"Aligned.time has {len(time)}; every TAQ column needs one "
                              f"value per row")
    signal_time = _array(data, "signal_time", np.int64, 1)
    signals = _array(data, "signals", np.float64, 2)
    columns = tuple(data.columns)
    if signals.shape != (len(signal_time), len(columns)):
        raise SchemaError(f"Aligned.signals has shape {signals.shape}, expected "
                          f"({len(signal_time)}, {len(columns)}): one row per signal_time and "
                          f"one column per name in Aligned.columns")
    if len(set(columns)) != len(columns):
        raise SchemaError(f"Aligned.columns has duplicate names {list(columns)}")
    if data.local_time is not None and len(_array(data, "local_time", np.int64, 1)) != len(time):
        raise SchemaError(f"Aligned.local_time has {len(data.local_time)} rows, "
                          f"Aligned.time has {len(time)}; it needs one value per row")
    if data.mark_price is not None and len(_array(data, "mark_price", np.float64, 1)) != len(time):
        raise SchemaError(f"Aligned.mark_price has {len(data.mark_price)} rows, "
                          f"Aligned.time has {len(time)}; it needs one value per row")
    if is_checked(data):
        return data                     # align() checked the values: once is enough
    _sorted(time, "time")
    _sorted(signal_time, "signal_time")
    if data.local_time is not None:
        _sorted(data.local_time, "local_time")
    bad = np.flatnonzero(~np.isfinite(signals).all(axis=1))
    if len(bad):
        row = int(bad[0])
        col = int(np.flatnonzero(~np.isfinite(signals[row]))[0])
        raise SchemaError(f"Aligned.signals column {columns[col]!r} is {signals[row, col]} at "
                          f"row {row}; signals must be finite")
    return data


def align(taq: pd.DataFrame, signals: pd.DataFrame, start=None, end=None,
          contract=None) -> Aligned:
    """Validate TAQ and signals, cut both to ``[start, end)`` and return engine arrays.

    Signals after the last TAQ row are dropped (there is no market left to act on);
    signals before the first TAQ row are kept and see no quote. Timestamps without a
    timezone are taken as UTC.

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ frame (see :mod:`mmsim.data.schema`).
    signals : pandas.DataFrame
        Signals frame: ``time`` DatetimeIndex, float64 columns without NaN.
    start, end : str or pandas.Timestamp, optional
        Inclusive start and exclusive end.
    contract : mmsim.Contract, optional
        Also check the prices fit the contract's tick grid: below 2**53 ticks, quotes whole
        ticks (as :func:`mmsim.backtest` needs), in the pass that validates ``taq``. Every row
        of ``taq`` is checked, not only those in ``[start, end)``.

    Returns
    -------
    Aligned
        Contiguous arrays; TAQ columns are views of ``taq`` where it already holds float64.

    Raises
    ------
    SchemaError
        If either frame breaks its schema, ``end`` is not after ``start``, or a price does
        not fit ``contract`` (naming its row in ``taq``).

    Warns
    -----
    DataWarning
        If a frame's index has no timezone (taken as UTC), if signals in ``[start, end)``
        come after the last TAQ row (dropped; the warning counts them) or before the first
        quote (they see NaN quote prices; the warning counts them).
    """
    data = with_signals(taq_arrays(taq, contract=contract), signals)
    lo, hi = _bounds(start, end)
    out = cut(data, start, end)
    st = data.signal_time
    wanted = _row(st, hi, len(st)) - _row(st, lo, 0)
    dropped = wanted - len(out.signal_time)
    if dropped:
        last = f" ({pd.Timestamp(int(out.time[-1]), tz='UTC')})" if len(out.time) else ""
        warnings.warn(f"{dropped} signal row(s) after the last taq row{last} dropped: there is "
                      f"no market data left to act on", DataWarning, stacklevel=2)
    first = _first_quote(out)
    blind = len(out.signal_time) if first is None else _row(out.signal_time, first, 0)
    if blind:
        when = "" if first is None else f" ({pd.Timestamp(first, tz='UTC')})"
        warnings.warn(f"{blind} signal row(s) before the first quote{when} see NaN bid and ask "
                      f"prices", DataWarning, stacklevel=2)
    return out


def _first_quote(data: Aligned) -> int | None:
    """The time of the first row with a quote (None without one).

    Validated TAQ has all four quote fields NaN until its first quote and all four set from
    it on, so the bid price alone tells; blocks that double in size keep the common case,
    a quote on the first row, from reading the whole column.
    """
    bid, k, step = data.bid_price, 0, 4096
    while k < len(bid):
        quoted = ~np.isnan(bid[k:k + step])
        if quoted.any():
            return int(data.time[k + int(quoted.argmax())])
        k, step = k + step, 2 * step
    return None


def taq_arrays(taq: pd.DataFrame, checked: bool = False, name: str | None = "taq",
               contract=None) -> Aligned:
    """Validate a TAQ frame and return its engine arrays, with no signals.

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ frame (see :mod:`mmsim.data.schema`).
    checked : bool, default False
        ``taq`` is what :func:`~mmsim.data.schema.validate_taq` returned (e.g. a chunk of a
        :class:`~mmsim.data.io.TAQStream`): it is not checked again.
    name : str or None, default "taq"
        The frame's name in the :class:`DataWarning` given when its index has no timezone;
        None: no warning (a later chunk of a stream that already had one).
    contract : mmsim.Contract, optional
        Also check the prices fit the contract's tick grid: below 2**53 ticks, quotes whole
        ticks; in the pass that validates ``taq`` (alone when it is ``checked``).

    Returns
    -------
    Aligned
        The TAQ arrays (views of ``taq`` where it already holds float64), ``local_time`` and
        ``mark_price`` when the frame has them, and empty signals.

    Raises
    ------
    SchemaError
        If the frame breaks the TAQ schema, or a price does not fit ``contract``.

    Warns
    -----
    DataWarning
        If the index has no timezone: its times are taken as UTC.
    """
    local_time, marks = local_time_ns(taq), mark_price(taq)
    _warn_naive(getattr(taq, "index", None), name)
    if not checked:
        taq = validate_taq(taq, contract=contract)
    data = Aligned(
        time=index_ns(taq.index), signal_time=np.zeros(0, dtype=np.int64),
        signals=np.zeros((0, 0)), columns=(), local_time=local_time, mark_price=marks,
        **{c: np.ascontiguousarray(taq[c].to_numpy(dtype=np.float64)) for c in TAQ_COLUMNS},
    )
    if checked and contract is not None:
        check_prices(data.price, data.bid_price, data.ask_price, contract)
    return data._replace(checked=Checked(data, 0.0 if contract is None else contract.tick_size))


def with_signals(data: Aligned, signals: pd.DataFrame, checked: bool = False) -> Aligned:
    """``data`` with the signals of a ``signals`` frame, validated here.

    Parameters
    ----------
    data : Aligned
    signals : pandas.DataFrame
        Signals frame: ``time`` DatetimeIndex, float64 columns without NaN.
    checked : bool, default False
        ``signals`` is what :func:`~mmsim.data.schema.validate_signals` returned: it is not
        checked again.

    Returns
    -------
    Aligned

    Raises
    ------
    SchemaError
        If ``signals`` breaks its schema.

    Warns
    -----
    DataWarning
        If the index has no timezone: its times are taken as UTC.
    """
    _warn_naive(getattr(signals, "index", None), "signals")
    if not checked:
        signals = validate_signals(signals)
    out = data._replace(
        signal_time=index_ns(signals.index),
        signals=np.ascontiguousarray(signals.to_numpy(dtype=np.float64)),
        columns=tuple(str(c) for c in signals.columns))
    # The signals were validated here: checked TAQ arrays stay checked with them.
    return _checked_as(out, data)


def _bounds(start, end) -> tuple[int | None, int | None]:
    """``start`` and ``end`` as UTC nanoseconds (None where not given), checked in order."""
    lo, hi = bound_ns(start, "start"), bound_ns(end, "end")
    if lo is not None and hi is not None and hi <= lo:
        raise SchemaError(f"end ({end}) must be after start ({start})")
    return lo, hi


def _row(times: np.ndarray, bound: int | None, default: int) -> int:
    """The first row of sorted ``times`` at or after ``bound`` (``default`` without one)."""
    return default if bound is None else int(np.searchsorted(times, bound, "left"))


def cut(data, start=None, end=None):
    """The rows of aligned arrays, or of a frame, in ``[start, end)`` (views, no copy).

    For an :class:`Aligned`, signals after the last TAQ row kept are dropped, as
    :func:`align` does, so ``cut(align(taq, signals), start, end)`` equals
    ``align(taq, signals, start, end)``.

    Parameters
    ----------
    data : Aligned or pandas.DataFrame
        Engine arrays, or a frame with a sorted DatetimeIndex (a TAQ or signals frame);
        a frame's index without a timezone is taken as UTC.
    start, end : str or pandas.Timestamp, optional
        Inclusive start and exclusive end; naive times are UTC.

    Returns
    -------
    Aligned or pandas.DataFrame
        Of the type of ``data``.

    Raises
    ------
    SchemaError
        If a bound is not a time, or ``end`` is not after ``start``.
    """
    lo, hi = _bounds(start, end)
    if isinstance(data, pd.DataFrame):
        if lo is None and hi is None:
            return data
        t = index_ns(data.index)
        return data.iloc[_row(t, lo, 0):_row(t, hi, len(t))]
    t = data.time
    a, b = _row(t, lo, 0), _row(t, hi, len(t))
    time = t[a:b]
    st = data.signal_time
    sa = _row(st, lo, 0)
    last = time[-1] if len(time) else np.iinfo(np.int64).min
    sb = max(sa, min(int(np.searchsorted(st, last, "right")), _row(st, hi, len(st))))
    out = Aligned(
        time=time, signal_time=st[sa:sb], signals=data.signals[sa:sb], columns=data.columns,
        local_time=None if data.local_time is None else data.local_time[a:b],
        mark_price=None if data.mark_price is None else data.mark_price[a:b],
        **{c: getattr(data, c)[a:b] for c in TAQ_COLUMNS},
    )
    return _checked_as(out, data)
