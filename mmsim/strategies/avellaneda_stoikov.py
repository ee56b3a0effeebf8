r"""The Avellaneda-Stoikov inventory strategy, as the research notebook implements it.

Avellaneda, M. and Stoikov, S. (2008), "High-frequency trading in a limit order book",
Quantitative Finance 8(3), 217-224; the notebook's ``inventory_management`` function.
"""
from __future__ import annotations

import functools
import math
from typing import NamedTuple

import numpy as np

from mmsim.checks import number
from mmsim.strategies._common import (
    REFERENCES,
    Source,
    SourcedStrategy,
    check_choice,
    floor_to_lot,
    horizon_ns,
    order_rows,
    reference_price,
    time_to_horizon,
    to_tick,
    unit_notional,
)

__all__ = ["AvellanedaStoikov", "Quote", "as_prices", "notebook_sizes", "keep_or_cancel"]

_CENTRES = ("notebook", "reservation")


class Quote(NamedTuple):
    """Target quotes: prices on the tick grid, sizes in units of ``max_size`` (signed)."""

    bid_price: float
    ask_price: float
    bid_size: float
    ask_size: float


def as_prices(s, q, sigma, gamma, k, tau=1.0, centre="notebook"):
    r"""Unrounded Avellaneda-Stoikov bid and ask prices.

    Reservation price and half spread (paper eqs. 29-30, :math:`\tau = T - t`):

    .. math::

        r = s - q\gamma\sigma^2\tau, \qquad
        h = \tfrac12\left[\gamma\sigma^2\tau + \tfrac{2}{\gamma}\ln\!\left(1 + \tfrac{\gamma}{k}\right)\right].

    ``centre="reservation"`` quotes :math:`r \mp h`, as in the paper.
    ``centre="notebook"`` reproduces the notebook's arithmetic: it sets the bid offset to
    :math:`h - (r - s)` and the ask offset to :math:`h + (r - s)`, measured from :math:`r`,
    so its quotes are :math:`2r - s \mp h`, centred on :math:`s - 2q\gamma\sigma^2\tau` (the
    inventory skew counted twice).

    Parameters
    ----------
    s : float
        Reference price.
    q : float
        Inventory (units of the model's inventory).
    sigma, gamma, k : float
        Volatility, risk aversion, intensity decay.
    tau : float, default 1.0
        Time left to the horizon, :math:`T - t` (1 in the notebook's infinite form).
    centre : {"notebook", "reservation"}

    Returns
    -------
    (float, float)
        ``(bid, ask)`` before rounding.
    """
    # Notebook: price_res = price - inv * gamma * sigma**2 (eq. 29 with T - t = tau).
    risk = gamma * sigma**2 * tau
    price_res = s - q * risk
    # Notebook: spread = (gamma sigma^2 + (2/gamma) ln(1 + gamma/k)) / 2 (eq. 30, halved).
    spread = risk + (2 / gamma) * _log1p_ratio(gamma, k)
    spread /= 2.0
    if centre == "reservation":
        return price_res - spread, price_res + spread
    # The notebook branches on the sign of r - s, but both branches compute these two
    # offsets bit for bit (in IEEE arithmetic s - r is exactly -(r - s)).
    skew = price_res - s
    return price_res - (spread - skew), price_res + (spread + skew)


@functools.lru_cache(maxsize=1024)
def _log1p_ratio(gamma: float, k: float) -> float:
    # ln(1 + gamma/k) as the notebook computes it (np.log), cached: gamma and k rarely change.
    return float(np.log(1 + (gamma / k)))


def notebook_sizes(q, max_size, n):
    r"""The notebook's quote sizes in units, skewed by :math:`e^{nq}`.

    .. math::

        \text{bid} = \operatorname{round}\begin{cases} M & q < 0 \\ M / e^{-nq} & q \ge 0\end{cases},
        \qquad
        \text{ask} = \operatorname{round}\begin{cases} -M & q > 0 \\ -M e^{-nq} & q \le 0\end{cases}

    with :math:`M` = ``max_size`` and ``np.round`` (half to even). With :math:`n < 0` the
    side that would add to the inventory shrinks as :math:`|q|` grows.

    Returns
    -------
    (float, float)
        ``(bid_size, ask_size)``; the ask size is negative.
    """
    # Python round() is half to even like np.round; math.exp avoids NumPy scalar overhead.
    bid_size = max_size if q < 0 else max_size / math.exp(-n * q)
    bid_size = float(round(bid_size))
    ask_size = -max_size if q > 0 else -max_size * math.exp(-n * q)
    ask_size = float(round(ask_size))
    return bid_size, ask_size


def keep_or_cancel(orders, quote: Quote, nav: float, max_size: float,
                   delta_price: float, delta_size: float, unit: float = 1.0):
    r"""The notebook's keep-order rule: which working orders already match the target.

    For each order in turn, its size in units is :math:`\operatorname{round}(a u / N \times M)`
    (:math:`a` its signed amount, :math:`u` the USD value of one unit, :math:`N` the NAV,
    :math:`M` = ``max_size``). The first
    buy with :math:`|p_b - p| \le` ``delta_price`` and :math:`|s_b - s| \le` ``delta_size``
    stands for the bid (likewise the first matching sell for the ask); every other order is
    cancelled.

    Parameters
    ----------
    orders : iterable
        Records or dicts with ``order_id``, ``amount`` and ``price``, in sending order.
    quote : Quote
        The target.
    nav, max_size, delta_price, delta_size, unit : float

    Returns
    -------
    (list, bool, bool)
        Ids to cancel, and whether a new bid and a new ask are needed.
    """
    cancel = []
    add_bid, add_ask = True, True
    for order_id, amount, price in order_rows(orders):
        order_size = float(round(((amount * unit) / nav) * max_size))
        if (add_bid and order_size > 0.0
                and abs(quote.bid_price - price) <= delta_price
                and abs(quote.bid_size - order_size) <= delta_size):
            add_bid = False
            continue
        if (add_ask and order_size < 0.0
                and abs(quote.ask_price - price) <= delta_price
                and abs(quote.ask_size - order_size) <= delta_size):
            add_ask = False
            continue
        cancel.append(order_id)
    return cancel, add_bid, add_ask


class AvellanedaStoikov(SourcedStrategy):
    r"""Avellaneda-Stoikov quoting with the notebook's sizing and cancel/replace rule.

    At each signal, with reference price :math:`s`, NAV :math:`N` (USD), position :math:`P`
    and :math:`u` the USD value of one unit of amount (1 for BitMEX XBTUSD):

    1. inventory :math:`q = P u / N \times M` (position as a fraction of NAV, times
       ``max_size`` :math:`M`);
    2. prices from :func:`as_prices` (:math:`r = s - q\gamma\sigma^2\tau`, spread
       :math:`\gamma\sigma^2\tau + \frac{2}{\gamma}\ln(1 + \gamma/k)`), rounded to the nearest
       tick, then capped so that the bid is at most the best bid and the ask at least the best
       ask (never crossing, as BitMEX required);
    3. sizes from :func:`notebook_sizes` (skew :math:`e^{nq}`), sent as
       :math:`\lfloor \text{size}/M \times N / u\rfloor` on the lot grid (a zero amount is
       not sent);
    4. :func:`keep_or_cancel`: working orders within ``delta_price`` and ``delta_size`` of the
       target stay, the rest are cancelled; then the missing bid and ask are added.

    With the defaults this is the notebook's ``inventory_management`` exactly.

    Parameters
    ----------
    max_size : float
        :math:`M`, the inventory scale (leverage units) and full quote size.
    gamma : float
        Risk aversion :math:`\gamma > 0`.
    k : float, str or callable
        Intensity decay :math:`k > 0`: a constant, a signal column, or ``k(ctx)``.
    n : float, default 0.0
        Size skew exponent (the notebook uses -0.4).
    delta_price, delta_size : float, default 0.0
        Tolerances of the keep-order rule (price units; units of ``max_size``).
    sigma : str, float, callable or estimator, default "sigma"
        Volatility: a signal column (default ``sigma``), a constant, ``sigma(ctx)``, or an
        estimator from :mod:`mmsim.estimators` fed the reference price at each signal.
    reference : {"last", "mid", "microprice"}, default "last"
        The price :math:`s` (the notebook: last trade).
    horizon : None, "day" or session length, default None
        None: the notebook's infinite form, :math:`\tau = 1`. Otherwise the paper's finite
        horizon: :math:`\tau = (T - t)/L`, the fraction left of the UTC day or of the
        current session of length :math:`L` (sessions aligned on the epoch).
    centre : {"notebook", "reservation"}, default "notebook"
        Where the spread is centred (see :func:`as_prices`).

    Raises
    ------
    ValueError, TypeError
        For a non-positive ``max_size``, ``gamma`` or constant ``k``/``sigma``, negative
        tolerances, or an unknown option.
    """

    def __init__(self, max_size, gamma, k, n=0.0, delta_price=0.0, delta_size=0.0, *,
                 sigma="sigma", reference="last", horizon=None, centre="notebook"):
        self.max_size = number(max_size, "max_size", positive=True)
        self.gamma = number(gamma, "gamma", positive=True)
        self.n = number(n, "n")
        self.delta_price = number(delta_price, "delta_price", nonnegative=True)
        self.delta_size = number(delta_size, "delta_size", nonnegative=True)
        self.k_source = Source("k", k)
        self.sigma_source = Source("sigma", sigma)
        self.reference = check_choice("reference", reference, REFERENCES)
        self.centre = check_choice("centre", centre, _CENTRES)
        self.horizon = horizon
        self._horizon_ns = horizon_ns(horizon)

    # -- pure maths ---------------------------------------------------------------------
    def inventory(self, position: float, nav: float, unit: float = 1.0) -> float:
        """:math:`q = P u / N \\times M`."""
        return ((position * unit) / nav) * self.max_size

    def sizes(self, q: float):
        """Quote sizes in units of ``max_size`` for inventory ``q``."""
        return notebook_sizes(q, self.max_size, self.n)

    def quote(self, s, q, sigma, k, best_bid, best_ask, tick=0.5, tau=1.0) -> Quote:
        """Target prices (rounded, capped at the touch) and sizes for one state.

        Parameters
        ----------
        s, q, sigma, k : float
            Reference price, inventory, volatility, intensity decay.
        best_bid, best_ask : float
            The touch; a NaN side is not capped.
        tick : float, default 0.5
        tau : float, default 1.0

        Returns
        -------
        Quote
        """
        bid, ask = as_prices(s, q, sigma, self.gamma, k, tau, self.centre)
        bid = to_tick(bid, tick)
        ask = to_tick(ask, tick)
        # Notebook: a bid above the best bid joins the best bid (likewise the ask).
        bid = best_bid if bid > best_bid else bid
        ask = best_ask if ask < best_ask else ask
        bid_size, ask_size = self.sizes(q)
        return Quote(float(bid), float(ask), bid_size, ask_size)

    def amount(self, size: float, nav: float, unit: float = 1.0, lot: float = 1.0) -> float:
        """Order amount for a size in units: :math:`\\lfloor size/M \\times N/u \\rfloor`."""
        return floor_to_lot(((size / self.max_size) * nav) / unit, lot)

    # -- engine callbacks -------------------------------------------------------------------
    def on_signal(self, ctx):
        """Quote for this signal (the steps in the class docstring).

        Parameters
        ----------
        ctx : mmsim.Context
        """
        s = reference_price(ctx, self.reference)
        sigma = self.sigma_source.get(ctx, s)
        k = self.k_source.get(ctx, s)
        nav = float(ctx.nav)
        best_bid, best_ask = float(ctx.bid_price), float(ctx.ask_price)
        isfinite = math.isfinite
        if not (isfinite(s) and isfinite(sigma) and isfinite(k) and k > 0
                and isfinite(best_bid) and isfinite(best_ask) and nav > 0):
            return
        contract = ctx.contract
        unit = unit_notional(contract, s)
        q = self.inventory(float(ctx.position), nav, unit)
        quote = self.quote(s, q, sigma, k, best_bid, best_ask, contract.tick_size,
                           time_to_horizon(ctx.time, self._horizon_ns))
        cancel, add_bid, add_ask = keep_or_cancel(
            ctx.orders, quote, nav, self.max_size, self.delta_price, self.delta_size, unit)
        for order_id in cancel:
            ctx.cancel(int(order_id))
        if add_bid:
            amount = self.amount(quote.bid_size, nav, unit, contract.lot_size)
            if amount != 0:
                ctx.limit(quote.bid_price, amount)
        if add_ask:
            amount = self.amount(quote.ask_size, nav, unit, contract.lot_size)
            if amount != 0:
                ctx.limit(quote.ask_price, amount)
