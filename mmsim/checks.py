"""Checks shared by every parameter that takes a number or a time span, so that each kind of
value is read and refused the same way everywhere."""
from __future__ import annotations

import numbers

import pandas as pd

__all__ = ["duration"]


def duration(value, name: str) -> pd.Timedelta:
    """A time span given as ``"1D"``, ``"90min"``, a ``Timedelta`` or a number of seconds.

    Parameters
    ----------
    value : str, number or pandas.Timedelta
    name : str
        The parameter's name, for the error message.

    Returns
    -------
    pandas.Timedelta

    Raises
    ------
    ValueError
        If ``value`` is not a span.
    """
    try:
        if isinstance(value, numbers.Real) and not isinstance(value, bool):
            span = pd.Timedelta(seconds=float(value))
        elif isinstance(value, (str, pd.Timedelta)):
            span = pd.Timedelta(value)
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        span = pd.NaT
    if span is pd.NaT:
        raise ValueError(f"{name} must be a time span such as '1D' or '90min' (a bare number "
                         f"is seconds), got {value!r}")
    return span
