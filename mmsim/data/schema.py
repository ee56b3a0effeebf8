"""The TAQ schema: trades with the best bid and ask in force, one row per event.

A TAQ frame has a ``DatetimeIndex`` named ``time`` (UTC, nanoseconds, non-decreasing) and
the float64 columns of :data:`TAQ_COLUMNS`. ``amount > 0`` is a buyer-initiated trade,
``amount < 0`` a seller-initiated one and ``amount == 0`` a quote-only row (price NaN).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["TAQ_COLUMNS", "SchemaError", "validate_taq", "validate_signals", "time_index_ns"]

#: Column order of a TAQ frame.
TAQ_COLUMNS = ("price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount")


class SchemaError(ValueError):
    """Input data does not follow the TAQ or signals schema; the message says how to fix it."""


def time_index_ns(df: pd.DataFrame, what: str) -> np.ndarray:
    """Return the index of ``df`` as int64 UTC nanoseconds, checking it is a sorted ``time`` index.

    Parameters
    ----------
    df : pandas.DataFrame
        A TAQ or signals frame.
    what : str
        ``"taq"`` or ``"signals"``, used in error messages.

    Returns
    -------
    numpy.ndarray
        int64 nanoseconds since the epoch, UTC.

    Raises
    ------
    SchemaError
        If the index is not a DatetimeIndex named ``time`` or is not non-decreasing.
    """
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise SchemaError(
            f"{what} must have a DatetimeIndex named 'time', got {type(index).__name__}; "
            f"set it with df = df.set_index(pd.to_datetime(df['time'], utc=True))"
        )
    if index.name != "time":
        raise SchemaError(
            f"{what} index must be named 'time', got {index.name!r}; set df.index.name = \"time\""
        )
    if index.tz is not None:
        index = index.tz_convert("UTC").tz_localize(None)
    times = index.as_unit("ns").asi8
    if len(times) > 1:
        bad = np.flatnonzero(times[1:] < times[:-1])
        if len(bad):
            row = int(bad[0]) + 1
            raise SchemaError(
                f"{what} times must be non-decreasing: row {row} ({df.index[row]}) comes before "
                f"row {row - 1} ({df.index[row - 1]}); sort with df.sort_index(kind='stable')"
            )
    return np.ascontiguousarray(times, dtype=np.int64)


def validate_taq(df: pd.DataFrame) -> pd.DataFrame:
    """Check a TAQ frame against the schema and return it with float64 columns in order.

    Parameters
    ----------
    df : pandas.DataFrame
        Frame with a ``time`` DatetimeIndex and the columns of :data:`TAQ_COLUMNS`.

    Returns
    -------
    pandas.DataFrame
        The same rows with exactly the TAQ columns, as float64.

    Raises
    ------
    SchemaError
        Naming the missing column, the column that cannot be cast to float64 losslessly,
        or the first row out of time order.
    """
    time_index_ns(df, "taq")
    missing = [c for c in TAQ_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"taq is missing column(s) {missing}; expected columns {list(TAQ_COLUMNS)}"
        )
    out = {}
    for col in TAQ_COLUMNS:
        values = df[col]
        if values.dtype != np.float64:
            if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
                raise SchemaError(f"taq column {col!r} must be float64, got {values.dtype}")
            values = values.astype(np.float64)
        out[col] = values
    if all(df[c].dtype == np.float64 for c in TAQ_COLUMNS) and list(df.columns) == list(TAQ_COLUMNS):
        return df
    return pd.DataFrame(out, index=df.index)


def validate_signals(df: pd.DataFrame) -> pd.DataFrame:
    """Check a signals frame: a ``time`` DatetimeIndex and float64 columns without NaN.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per strategy call.

    Returns
    -------
    pandas.DataFrame
        The frame with float64 columns.

    Raises
    ------
    SchemaError
        Naming the column that is not numeric or holds NaN, or the first row out of order.
    """
    time_index_ns(df, "signals")
    out = {}
    for col in df.columns:
        values = df[col]
        if not (pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)):
            raise SchemaError(f"signals column {col!r} must be float64, got {values.dtype}")
        values = values.astype(np.float64)
        nan = np.flatnonzero(np.isnan(values.to_numpy()))
        if len(nan):
            raise SchemaError(
                f"signals column {col!r} has NaN at row {int(nan[0])} ({df.index[nan[0]]}); "
                f"fill it first, e.g. mmsim.data.fix_features"
            )
        out[col] = values
    return pd.DataFrame(out, index=df.index, columns=df.columns)
