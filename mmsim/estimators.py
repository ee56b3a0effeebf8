r"""Online estimators a strategy can update at O(1) per observation.

- :class:`RollingVolatility` and :class:`EWMAVolatility`: volatility per unit of time from
  irregularly spaced prices.
- :class:`TradeIntensity`: the arrival intensity :math:`\lambda(\delta) = A e^{-k\delta}` of
  trades reaching a distance :math:`\delta` from the mid, fitted over a rolling time window
  (the quantity behind the Avellaneda-Stoikov spread term :math:`\frac{2}{\gamma}\ln(1+\gamma/k)`).
- :class:`FillRate`: how much of the strategy's own quoted amount gets filled, over a window.

Times are int64 nanoseconds (``ctx.time`` in a strategy); ``unit`` sets the unit of time the
estimates are expressed in (one second by default).
"""
from __future__ import annotations

import bisect
import math
import numbers
from collections import deque

import numpy as np
import pandas as pd

from mmsim._arguments import call_repr
from mmsim.checks import duration, number

__all__ = [
    "RollingVolatility",
    "EWMAVolatility",
    "TradeIntensity",
    "FillRate",
    "trade_depths",
]

_RETURNS = ("log", "diff")


def _span_ns(name: str, value) -> float:
    """Length of ``value`` in nanoseconds: a span such as ``"1s"`` or a number of seconds."""
    return float(duration(value, name, positive=True).value)


def _time(value) -> int:
    if isinstance(value, pd.Timestamp):
        return int(value.value)
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        return int(value)
    raise TypeError(f"time must be int64 nanoseconds or a pandas.Timestamp, got {value!r}")


class _PriceReturns:
    """Base of the volatility estimators: turns prices into returns over time steps.

    A subclass folds each return in with ``_add(r, dt)`` and defines :attr:`variance`.
    """

    def __repr__(self):
        # The call that builds this estimator again, as recorded in a result's parameters.
        return call_repr(self)

    def __init__(self, unit, returns: str):
        if returns not in _RETURNS:
            raise ValueError(f"returns must be one of {_RETURNS}, got {returns!r}")
        self.unit_ns = _span_ns("unit", unit)
        self.returns = returns
        self._last_time = None
        self._last_price = math.nan

    def update(self, time, price) -> float:
        """Add a price observed at ``time`` and return the current ``sigma``.

        Parameters
        ----------
        time : int or pandas.Timestamp
            Observation time in int64 nanoseconds; must not decrease.
        price : float
            The price (positive for log returns).

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If ``time`` decreases or ``price`` is not finite (not positive for log returns).
        TypeError
            If ``time`` is neither an integer nor a ``pandas.Timestamp``.
        """
        t = _time(time)
        p = float(price)
        if not math.isfinite(p) or (self.returns == "log" and p <= 0):
            raise ValueError(f"price must be a finite{' positive' if self.returns == 'log' else ''} number, got {price!r}")
        last_t, last_p = self._last_time, self._last_price
        if last_t is not None and t < last_t:
            raise ValueError(f"time must not decrease: got {t} after {last_t}")
        self._last_time, self._last_price = t, p
        if last_t is not None:
            r = math.log(p / last_p) if self.returns == "log" else p - last_p
            self._add(r, (t - last_t) / self.unit_ns)
        return self.sigma

    def _add(self, r: float, dt: float) -> None:
        raise NotImplementedError

    @property
    def variance(self) -> float:
        """Variance per unit of time (NaN while undefined)."""
        raise NotImplementedError

    @property
    def sigma(self) -> float:
        """Volatility per unit of time, the square root of :attr:`variance`."""
        return math.sqrt(self.variance)


class RollingVolatility(_PriceReturns):
    r"""Volatility per unit of time over the last ``window`` price changes.

    With returns :math:`r_i` (log returns :math:`\ln(p_i/p_{i-1})`, or price differences
    :math:`p_i - p_{i-1}` when ``returns="diff"``) over intervals :math:`\Delta t_i`:

    .. math::

        \hat\sigma^2 = \frac{\sum_{i=n-w+1}^{n} r_i^2}{\sum_{i=n-w+1}^{n} \Delta t_i}

    the realised variance per unit of time (zero-mean returns, the usual high-frequency
    convention), unbiased for a random walk with variance :math:`\sigma^2\Delta t` per step
    whatever the spacing. Each update is O(1): running sums over a ring of ``window`` values,
    recomputed from the ring once per ``window`` updates so that rounding cannot accumulate.

    Parameters
    ----------
    window : int
        Number of returns in the window (at least 1).
    unit : str, pandas.Timedelta or float, default "1s"
        Unit of time of the estimate (a bare number is seconds).
    returns : {"log", "diff"}, default "log"
        Log returns (sigma as a fraction of price) or price differences (sigma in price
        units, as the Avellaneda-Stoikov model uses it).

    Attributes
    ----------
    sigma : float
        The current estimate; NaN until the window holds a positive span of time.
    """

    def __init__(self, window: int, unit="1s", returns: str = "log"):
        window = number(window, "window", integer=True, minimum=1)
        super().__init__(unit, returns)
        self.window = int(window)
        self._r2 = deque()
        self._dt = deque()
        self._sum_r2 = 0.0
        self._sum_dt = 0.0
        self._since_refresh = 0

    def _add(self, r: float, dt: float) -> None:
        self._r2.append(r * r)
        self._dt.append(dt)
        self._sum_r2 += r * r
        self._sum_dt += dt
        if len(self._r2) > self.window:
            self._sum_r2 -= self._r2.popleft()
            self._sum_dt -= self._dt.popleft()
        self._since_refresh += 1
        if self._since_refresh >= self.window:
            self._sum_r2 = math.fsum(self._r2)
            self._sum_dt = math.fsum(self._dt)
            self._since_refresh = 0

    @property
    def count(self) -> int:
        """Number of returns currently in the window."""
        return len(self._r2)

    @property
    def variance(self) -> float:
        """Variance per unit of time, :math:`\\sum r_i^2 / \\sum \\Delta t_i` (NaN if undefined)."""
        if not self._r2 or self._sum_dt <= 0:
            return math.nan
        return max(self._sum_r2, 0.0) / self._sum_dt


class EWMAVolatility(_PriceReturns):
    r"""Exponentially weighted volatility per unit of time with a time half-life.

    Each return :math:`r_i` over :math:`\Delta t_i` is weighted by
    :math:`w_i = 2^{-(t_n - t_i)/h}` (half-life :math:`h`), and

    .. math::

        \hat\sigma^2 = \frac{\sum_i w_i r_i^2}{\sum_i w_i \Delta t_i},

    updated at O(1): :math:`S_r \leftarrow 2^{-\Delta t/h} S_r + r^2`,
    :math:`S_t \leftarrow 2^{-\Delta t/h} S_t + \Delta t`. On a regular grid this is the
    EWMA of :math:`r^2` divided by the step, as pandas' ``ewm(halflife=...)`` (``adjust=True``)
    computes it.

    Parameters
    ----------
    halflife : str, pandas.Timedelta or float
        Half-life of the weights (a bare number is seconds).
    unit : str, pandas.Timedelta or float, default "1s"
        Unit of time of the estimate.
    returns : {"log", "diff"}, default "log"
        Log returns or price differences (see :class:`RollingVolatility`).

    Attributes
    ----------
    sigma : float
        The current estimate; NaN until a positive span of time has been seen.
    """

    def __init__(self, halflife, unit="1s", returns: str = "log"):
        super().__init__(unit, returns)
        self.halflife_ns = _span_ns("halflife", halflife)
        self._s_r2 = 0.0
        self._s_dt = 0.0

    def _add(self, r: float, dt: float) -> None:
        decay = 2.0 ** (-(dt * self.unit_ns) / self.halflife_ns)
        self._s_r2 = decay * self._s_r2 + r * r
        self._s_dt = decay * self._s_dt + dt

    @property
    def variance(self) -> float:
        """Variance per unit of time, :math:`S_r / S_t` (NaN if undefined)."""
        return self._s_r2 / self._s_dt if self._s_dt > 0 else math.nan


def trade_depths(taq: pd.DataFrame) -> pd.Series:
    r"""Distance of each trade from the mid in force before it, :math:`|x - (b + a)/2|`.

    By the TAQ schema, the quote on a row is the one in force when the row happened, before
    its trade, so the depth of a trade row is its price's distance from that row's mid.

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ frame with ``price, amount, bid_price, ask_price``.

    Returns
    -------
    pandas.Series
        Depths of the trade rows (``amount != 0``) with a quote on both sides, indexed by time.

    Raises
    ------
    ValueError
        If a required column is missing.
    """
    missing = [c for c in ("price", "amount", "bid_price", "ask_price") if c not in taq.columns]
    if missing:
        raise ValueError(f"taq is missing the column(s) {missing}")
    mid = 0.5 * (taq["bid_price"] + taq["ask_price"])
    depth = (taq["price"] - mid).abs()
    keep = (taq["amount"] != 0) & depth.notna()
    return depth[keep].rename("depth")


class TradeIntensity:
    r"""Online fit of the trade intensity :math:`\lambda(\delta) = A e^{-k\delta}`.

    A trade at distance :math:`d` from the mid in force before it would have filled a resting
    quote at any depth :math:`\delta \le d`. Over the window (the last ``window`` of time, or
    since the first update while the window is not yet full, length :math:`\tau`), the
    empirical intensity at each depth of the grid :math:`\delta_j` is

    .. math::

        \hat\lambda(\delta_j) = \frac{\#\{\text{trades with } d \ge \delta_j\}}{\tau},

    and :math:`\ln\hat\lambda(\delta_j) = \ln A - k\,\delta_j` is fitted by least squares
    weighted by the counts (the variance of :math:`\ln` of a Poisson count :math:`n` is about
    :math:`1/n`), over the grid points with at least ``min_count`` trades. Updates are O(1)
    (one histogram bin and a queue of expiries); :meth:`fit` costs O(len(depths)).

    Parameters
    ----------
    depths : array_like
        Increasing grid of depths :math:`\delta_j \ge 0` in price units (at least two).
    window : str, pandas.Timedelta or float
        Length of the rolling time window (a bare number is seconds).
    unit : str, pandas.Timedelta or float, default "1s"
        Unit of time of :math:`A` (trades per unit).
    min_count : int, default 10
        Least number of trades a grid depth needs to enter the fit.
    """

    def __repr__(self):
        # The call that builds this estimator again, as recorded in a result's parameters.
        return call_repr(self)

    def __init__(self, depths, window, unit="1s", min_count: int = 10):
        grid = np.asarray(depths, dtype=np.float64)
        if grid.ndim != 1 or grid.size < 2 or not np.all(np.isfinite(grid)) or grid[0] < 0 \
                or np.any(np.diff(grid) <= 0):
            raise ValueError(f"depths must be an increasing 1-D grid of at least two finite values >= 0, got {depths!r}")
        min_count = number(min_count, "min_count", integer=True, minimum=1)
        self.depths = grid
        self._grid = grid.tolist()  # for bisect: np.searchsorted per trade costs more
        self.window_ns = _span_ns("window", window)
        self.unit_ns = _span_ns("unit", unit)
        self.min_count = int(min_count)
        # hist[j]: trades whose deepest reached grid point is j (d in [delta_j, delta_j+1)).
        self._hist = np.zeros(grid.size, dtype=np.int64)
        self._queue = deque()  # (time, bin) of trades in the window, oldest first
        self._start = None
        self._now = None

    def _expire(self, now: int) -> None:
        horizon = now - self.window_ns
        queue, hist = self._queue, self._hist
        while queue and queue[0][0] <= horizon:
            hist[queue.popleft()[1]] -= 1

    def update(self, time, depth) -> None:
        """Record one trade at distance ``depth`` from the mid at ``time``.

        Parameters
        ----------
        time : int or pandas.Timestamp
            Trade time in int64 nanoseconds; must not decrease.
        depth : float
            Distance of the trade price from the mid in force before it (>= 0).
        """
        t = _time(time)
        d = float(depth)
        if not (math.isfinite(d) and d >= 0):
            raise ValueError(f"depth must be a finite number >= 0, got {depth!r}")
        if self._now is not None and t < self._now:
            raise ValueError(f"time must not decrease: got {t} after {self._now}")
        if self._start is None:
            self._start = t
        self._now = t
        self._expire(t)
        j = bisect.bisect_right(self._grid, d) - 1
        if j >= 0:
            self._hist[j] += 1
            self._queue.append((t, j))

    def update_many(self, times, depths) -> None:
        """Record many trades at once (vectorised); same rules as :meth:`update`.

        Parameters
        ----------
        times : array_like of int64
            Trade times in nanoseconds, non-decreasing (a DatetimeIndex is accepted).
        depths : array_like of float
            Distances from the mid, >= 0.
        """
        if isinstance(times, (pd.DatetimeIndex, pd.Series)):
            t = np.asarray(pd.DatetimeIndex(times).asi8)
        else:
            t = np.asarray(times, dtype=np.int64)
        d = np.asarray(depths, dtype=np.float64)
        if t.shape != d.shape or t.ndim != 1:
            raise ValueError("times and depths must be 1-D arrays of the same length")
        if t.size == 0:
            return
        if not np.all(np.isfinite(d)) or np.any(d < 0):
            raise ValueError("depths must be finite numbers >= 0")
        if np.any(np.diff(t) < 0) or (self._now is not None and t[0] < self._now):
            raise ValueError("times must not decrease")
        if self._start is None:
            self._start = int(t[0])
        now = int(t[-1])
        self._now = now
        self._expire(now)
        bins = np.searchsorted(self.depths, d, side="right") - 1
        keep = (bins >= 0) & (t > now - self.window_ns)
        self._hist += np.bincount(bins[keep], minlength=self._hist.size)
        self._queue.extend(zip(t[keep].tolist(), bins[keep].tolist()))

    def counts(self) -> np.ndarray:
        """Trades in the window reaching each grid depth, :math:`\\#\\{d \\ge \\delta_j\\}`."""
        return np.cumsum(self._hist[::-1])[::-1]

    def fit(self, now=None) -> tuple[float, float]:
        """Fit :math:`A` and :math:`k` to the trades in the window ending at ``now``.

        Parameters
        ----------
        now : int or pandas.Timestamp, optional
            End of the window; the last update time by default. Expires older trades.

        Returns
        -------
        (float, float)
            ``(A, k)``: :math:`A` in trades per ``unit``, :math:`k` per price unit;
            ``(nan, nan)`` until two grid depths hold ``min_count`` trades each.
        """
        if self._now is None:
            return math.nan, math.nan
        t = self._now if now is None else _time(now)
        if t < self._now:
            raise ValueError(f"now must not precede the last update ({self._now}), got {t}")
        self._expire(t)
        tau = min(self.window_ns, float(t - self._start)) / self.unit_ns
        n = self.counts()
        use = n >= self.min_count
        if tau <= 0 or use.sum() < 2:
            return math.nan, math.nan
        x = self.depths[use]
        y = np.log(n[use] / tau)
        w = n[use].astype(np.float64)
        xm = np.dot(w, x) / w.sum()
        ym = np.dot(w, y) / w.sum()
        slope = np.dot(w, (x - xm) * (y - ym)) / np.dot(w, (x - xm) ** 2)
        return float(math.exp(ym - slope * xm)), float(-slope)


class FillRate:
    r"""Share of the strategy's own quoted amount that was filled, over a time window.

    Over the last ``window`` of time,

    .. math::

        \text{ratio} = \frac{\sum |\text{filled amount}|}{\sum |\text{ordered amount}|},
        \qquad
        \text{rate} = \frac{\#\text{fills}}{\tau},

    with orders counted when sent (:meth:`on_order`) and fills when they happen
    (:meth:`on_fill`), and :math:`\tau` the window length (or the time since the first event
    while the window is not yet full) in ``unit``. A fill of an order sent before the window
    counts in the numerator only, so the ratio can exceed 1 for short windows. Updates are
    O(1) amortised.

    Parameters
    ----------
    window : str, pandas.Timedelta or float
        Length of the window (a bare number is seconds).
    unit : str, pandas.Timedelta or float, default "1s"
        Unit of time of :attr:`rate`.
    """

    def __repr__(self):
        # The call that builds this estimator again, as recorded in a result's parameters.
        return call_repr(self)

    def __init__(self, window, unit="1s"):
        self.window_ns = _span_ns("window", window)
        self.unit_ns = _span_ns("unit", unit)
        self._orders = deque()
        self._fills = deque()
        self._ordered = 0.0
        self._filled = 0.0
        self._start = None
        self._now = None

    def _advance(self, time) -> int:
        t = _time(time)
        if self._now is not None and t < self._now:
            raise ValueError(f"time must not decrease: got {t} after {self._now}")
        if self._start is None:
            self._start = t
        self._now = t
        horizon = t - self.window_ns
        while self._orders and self._orders[0][0] <= horizon:
            self._ordered -= self._orders.popleft()[1]
        while self._fills and self._fills[0][0] <= horizon:
            self._filled -= self._fills.popleft()[1]
        if not self._orders:
            self._ordered = 0.0
        if not self._fills:
            self._filled = 0.0
        return t

    @staticmethod
    def _amount(amount) -> float:
        a = abs(float(amount))
        if not (math.isfinite(a) and a > 0):
            raise ValueError(f"amount must be a non-zero finite number, got {amount!r}")
        return a

    def on_order(self, time, amount) -> None:
        """Record an order of ``amount`` (signed or not) sent at ``time`` (ns)."""
        a = self._amount(amount)
        t = self._advance(time)
        self._orders.append((t, a))
        self._ordered += a

    def on_fill(self, time, amount) -> None:
        """Record a fill of ``amount`` (signed or not) at ``time`` (ns)."""
        a = self._amount(amount)
        t = self._advance(time)
        self._fills.append((t, a))
        self._filled += a

    def advance(self, time) -> None:
        """Move the window's end to ``time`` (ns) without an event."""
        self._advance(time)

    @property
    def ordered(self) -> float:
        """Absolute amount ordered in the window."""
        return self._ordered

    @property
    def filled(self) -> float:
        """Absolute amount filled in the window."""
        return self._filled

    @property
    def ratio(self) -> float:
        """Filled over ordered amount in the window (NaN when nothing was ordered)."""
        return self._filled / self._ordered if self._ordered > 0 else math.nan

    @property
    def rate(self) -> float:
        """Fills per ``unit`` of time in the window (NaN before any time has passed)."""
        if self._now is None:
            return math.nan
        tau = min(self.window_ns, float(self._now - self._start)) / self.unit_ns
        return len(self._fills) / tau if tau > 0 else math.nan
