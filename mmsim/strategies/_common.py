"""Helpers shared by the strategies: validation, parameter sources, reference prices, grids."""
from __future__ import annotations

import functools
import math
import numbers

import numpy as np

from mmsim.checks import duration, number
from mmsim.strategy import Strategy

__all__ = [
    "REFERENCES",
    "check_choice",
    "Source",
    "SourcedStrategy",
    "order_rows",
    "reference_price",
    "unit_notional",
    "time_to_horizon",
    "horizon_ns",
    "floor_to_lot",
    "to_tick",
]

#: Reference prices a quoting strategy can centre on.
REFERENCES = ("last", "mid", "microprice")


def check_choice(name: str, value, choices: tuple):
    """Return ``value`` if it is one of ``choices``, or raise naming ``name`` and the choices."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


class Source:
    """Where a model input comes from at each signal.

    Parameters
    ----------
    name : str
        The parameter's name, for error messages.
    spec : float, str, callable or estimator
        A constant (float); a signal column name (str) read as ``ctx[spec]``; a callable
        ``spec(ctx) -> float``; or a volatility estimator with ``update(time, price)``
        (such as :class:`mmsim.estimators.EWMAVolatility`), fed the reference price at
        each signal and read from its return value.
    positive : bool
        Whether a constant must be > 0.
    """

    def __init__(self, name: str, spec, positive: bool = True):
        self.name = name
        self.spec = spec
        if isinstance(spec, str):
            self.kind = "column"
        elif isinstance(spec, numbers.Real) and not isinstance(spec, bool):
            self.kind = "constant"
            self.value = number(spec, name, positive=positive)
        elif hasattr(spec, "update") and callable(spec.update):
            self.kind = "estimator"
        elif callable(spec):
            self.kind = "callable"
        else:
            raise TypeError(
                f"{name} must be a number, a signal column name, a callable(ctx) or an "
                f"estimator with update(time, price), got {spec!r}"
            )

    def check_columns(self, columns) -> None:
        """Raise if a column source names a column the signals lack."""
        if self.kind == "column" and self.spec not in tuple(columns):
            raise ValueError(f"{self.name}: the signals have no column {self.spec!r} (columns: {list(columns)})")

    def get(self, ctx, ref: float) -> float:
        """The input's value at this signal (``ref`` feeds an estimator)."""
        if self.kind == "constant":
            return self.value
        if self.kind == "column":
            return float(ctx[self.spec])
        if self.kind == "estimator":
            if math.isnan(ref):
                return math.nan
            return float(self.spec.update(ctx.time, ref))
        return float(self.spec(ctx))


class SourcedStrategy(Strategy):
    """A strategy whose model inputs are :class:`Source` attributes.

    :meth:`on_start` checks that every signal column a source names exists, so a misspelt
    column fails before the first quote rather than at the first signal.
    """

    def on_start(self, ctx):
        """Check that the signal columns named as sources exist.

        Parameters
        ----------
        ctx : mmsim.Context

        Raises
        ------
        ValueError
            Naming the source and the missing column.
        """
        for value in vars(self).values():
            if isinstance(value, Source):
                value.check_columns(ctx.columns)


def order_rows(orders):
    """``(order_id, amount, price)`` of each working order, in sending order.

    Parameters
    ----------
    orders : numpy.ndarray or iterable
        ``ctx.orders`` (a structured array), or records or dicts with those keys.

    Returns
    -------
    iterator of tuple
    """
    if isinstance(orders, np.ndarray):
        # Whole columns as Python values: indexing the structured array per order, or
        # per-element NumPy scalars, would cost more than the strategies' comparisons.
        return zip(orders["order_id"].tolist(), orders["amount"].tolist(),
                   orders["price"].tolist())
    return ((o["order_id"], o["amount"], o["price"]) for o in orders)


def reference_price(ctx, reference: str) -> float:
    r"""The price a strategy centres its quotes on.

    ``"last"``: the last trade price (the notebook's choice); ``"mid"``:
    :math:`(b + a)/2`; ``"microprice"``: :math:`(b\,V_a + a\,V_b)/(V_a + V_b)`, the mid
    weighted towards the side with less displayed size.
    """
    if reference == "last":
        return float(ctx.price)
    if reference == "mid":
        return float(ctx.mid)
    bid, ask = float(ctx.bid_price), float(ctx.ask_price)
    vb, va = float(ctx.bid_amount), float(ctx.ask_amount)
    if not (vb + va > 0):
        return 0.5 * (bid + ask)
    return (bid * va + ask * vb) / (vb + va)


def unit_notional(contract, price: float) -> float:
    r"""Quote-currency value of one unit of ``amount``.

    Inverse contracts: ``contract_size`` (USD per contract). Linear contracts:
    ``contract_size`` :math:`\times` price. With BitMEX XBTUSD (1 USD contracts) this is 1,
    so position / NAV is the notebook's leverage measure unchanged.
    """
    if contract.inverse:
        return float(contract.contract_size)
    return float(contract.contract_size) * price


def horizon_ns(horizon):
    """Validate a horizon option: None, ``"day"``, or a positive session length (a span such
    as ``"8h"`` or a number of seconds), returned in ns."""
    if horizon is None:
        return None
    if isinstance(horizon, str) and horizon == "day":
        return 86_400_000_000_000
    try:
        span = duration(horizon, "horizon")
    except ValueError:
        raise ValueError(f"horizon must be None, 'day' or a session length such as '8h' (a "
                         f"bare number is seconds), got {horizon!r}") from None
    if not span.value > 0:
        raise ValueError(f"horizon must be a positive session length, got {horizon!r}")
    return int(span.value)


def time_to_horizon(time_ns: int, length_ns) -> float:
    r"""Fraction of the current session left, :math:`(T - t)/L \in (0, 1]`.

    Sessions of length :math:`L` are aligned on multiples of :math:`L` since the Unix epoch
    (``"day"``: UTC days), and :math:`T` is the end of the session holding :math:`t`.
    ``None`` (the infinite-horizon form the notebook uses) gives 1.
    """
    if length_ns is None:
        return 1.0
    return (length_ns - (int(time_ns) % length_ns)) / length_ns


@functools.lru_cache(maxsize=64)
def _decimals(step: float) -> int:
    """Decimal places of a grid step (0.5 -> 1, 0.001 -> 3, 1 -> 0)."""
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def floor_to_lot(x: float, lot: float) -> float:
    """Round an amount towards minus infinity onto the lot grid (np.floor for lot 1)."""
    # Python floats and math.floor: a strategy calls this per signal, where NumPy scalar
    # calls cost more than the arithmetic.
    if lot == 1.0:
        return float(math.floor(x))
    return round(math.floor(x / lot + 1e-9) * lot, _decimals(lot))


def to_tick(x: float, tick: float, mode: str = "nearest") -> float:
    """Put a price on the tick grid.

    ``"nearest"`` is ``np.round(x / tick) * tick`` (half to even, the notebook's
    ``np.round(x * 2.0) / 2.0`` for a 0.5 tick); ``"down"`` and ``"up"`` floor and ceil.
    """
    n = x / tick
    if mode == "nearest":
        n = round(n)                    # half to even, as np.round
    elif mode == "down":
        n = math.floor(n + 1e-9)
    else:
        n = math.ceil(n - 1e-9)
    return round(n * tick, _decimals(tick))
