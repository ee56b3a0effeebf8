"""Checks shared by every parameter that takes a number or a time span, so that each kind of
value is read and refused the same way everywhere."""
from __future__ import annotations

import datetime
import math
import numbers

import numpy as np
import pandas as pd

__all__ = ["number", "duration"]


def number(value, name: str, *, positive: bool = False, nonnegative: bool = False,
           minimum=None, integer: bool = False, allow_none: bool = False):
    """A numeric parameter, checked where it enters: a finite real number within bounds.

    Every numeric argument of the library (run parameters, strategy and model parameters,
    contract fields, search spaces, config keys) goes through here, so each is refused with
    the same words.

    Parameters
    ----------
    value : object
        What the user gave. Any real number is accepted (NumPy scalars included); ``bool``
        and strings are not.
    name : str
        The parameter's name, for the error message.
    positive, nonnegative : bool, default False
        Require ``value > 0`` or ``value >= 0``.
    minimum : float, optional
        Require ``value >= minimum``.
    integer : bool, default False
        Require a whole number; it is returned as ``int``.
    allow_none : bool, default False
        Let ``None`` through (returned as is).

    Returns
    -------
    float, int or None

    Raises
    ------
    TypeError
        If ``value`` is not a real number.
    ValueError
        If it is not finite, not whole where ``integer`` asks for it, or out of bounds.

    Examples
    --------
    >>> number(2, "gamma", positive=True)
    2.0
    >>> number(0, "gamma", positive=True)
    Traceback (most recent call last):
    ...
    ValueError: gamma must be > 0, got 0
    """
    if value is None and allow_none:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        kind = "an integer" if integer else "a real number"
        none = " or None" if allow_none else ""
        raise TypeError(f"{name} must be {kind}{none}, got {value!r}")
    try:
        as_float = float(value)
    except OverflowError:                   # an int too large for a float
        as_float = math.inf
    if not math.isfinite(as_float):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if integer and not as_float.is_integer():
        raise ValueError(f"{name} must be a whole number, got {value!r}")
    bound = (" > 0" if positive and not as_float > 0 else
             " >= 0" if nonnegative and not as_float >= 0 else
             f" >= {minimum:g}" if minimum is not None and not as_float >= minimum else "")
    if bound:
        raise ValueError(f"{name} must be{bound}, got {value!r}")
    return int(value) if integer else as_float


def duration(value, name: str, *, positive: bool = False) -> pd.Timedelta:
    """A time span given as ``"1D"``, ``"90min"``, a timedelta or a number of seconds.

    This is the library's one reading of a span: a bare number is seconds everywhere
    (``latency=0.5``, ``horizon=3600``, ``EWMAVolatility(halflife=10)``).

    Parameters
    ----------
    value : str, number, pandas.Timedelta, datetime.timedelta or numpy.timedelta64
    name : str
        The parameter's name, for the error message.
    positive : bool, default False
        Require a span longer than zero.

    Returns
    -------
    pandas.Timedelta

    Raises
    ------
    ValueError
        If ``value`` is not a span.
    """
    try:
        # numpy.timedelta64 is a numbers.Real whose count is in its own unit, not seconds.
        if isinstance(value, (str, datetime.timedelta, np.timedelta64)):
            span = pd.Timedelta(value)
        elif isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            if not math.isfinite(value):
                raise ValueError
            span = pd.Timedelta(seconds=float(value))
        else:
            raise TypeError
    except (TypeError, ValueError, OverflowError):
        span = pd.NaT
    if span is pd.NaT:
        raise ValueError(f"{name} must be a time span such as '1D' or '90min' (a bare number "
                         f"is seconds), got {value!r}")
    if positive and not span > pd.Timedelta(0):
        raise ValueError(f"{name} must be a positive time span, got {value!r}")
    return span
