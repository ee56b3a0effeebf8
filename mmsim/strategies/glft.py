r"""Guéant-Lehalle-Fernandez-Tapia closed-form market making quotes.

Guéant, O., Lehalle, C.-A. and Fernandez-Tapia, J. (2013), "Dealing with the inventory risk:
a solution to the market making problem", Mathematics and Financial Economics 7(4); the
closed-form approximations as in Guéant (2017), "Optimal market making", Applied Mathematical
Finance 24(2).
"""
from __future__ import annotations

import math

from mmsim.checks import number
from mmsim.strategies._common import (
    REFERENCES,
    Source,
    SourcedStrategy,
    check_choice,
    order_rows,
    reference_price,
    to_tick,
)

__all__ = ["GLFT", "glft_coefficients", "glft_depths"]


def glft_coefficients(gamma, A, k, xi=None, delta=1.0):
    r"""The constants :math:`c_1, c_2` of the GLFT approximation.

    .. math::

        c_1 = \frac{1}{\xi\Delta}\ln\!\left(1 + \frac{\xi\Delta}{k}\right), \qquad
        c_2 = \sqrt{\frac{\gamma}{2A\Delta k}
              \left(1 + \frac{\xi\Delta}{k}\right)^{\frac{k}{\xi\Delta} + 1}}

    Parameters
    ----------
    gamma : float
        Risk aversion :math:`\gamma > 0`.
    A, k : float
        Intensity :math:`\lambda(\delta) = A e^{-k\delta}`.
    xi : float, optional
        :math:`\xi`; :math:`\gamma` by default (the model with utility of terminal wealth).
    delta : float, default 1.0
        :math:`\Delta`, the size of one fill in units of the order size.

    Returns
    -------
    (float, float)
    """
    xi = gamma if xi is None else xi
    xd = xi * delta
    c1 = math.log1p(xd / k) / xd
    c2 = math.sqrt(gamma / (2.0 * A * delta * k) * (1.0 + xd / k) ** (k / xd + 1.0))
    return c1, c2


def glft_depths(q, sigma, c1, c2, delta=1.0):
    r"""Bid and ask distances from the reference price for inventory ``q``.

    .. math::

        \delta^b = c_1 + \frac{\Delta}{2}\sigma c_2 + q\,\sigma c_2, \qquad
        \delta^a = c_1 + \frac{\Delta}{2}\sigma c_2 - q\,\sigma c_2

    (half spread :math:`c_1 + \frac{\Delta}{2}\sigma c_2`, skew :math:`\sigma c_2` per unit of
    inventory). ``q`` is in units of the order size.

    Returns
    -------
    (float, float)
        ``(bid_depth, ask_depth)``.
    """
    half = c1 + 0.5 * delta * sigma * c2
    skew = sigma * c2
    return half + q * skew, half - q * skew


class GLFT(SourcedStrategy):
    r"""Quote the GLFT closed-form bid and ask with inventory limits.

    At each signal, with reference price :math:`s`, inventory :math:`q = P / \text{order\_size}`
    and depths from :func:`glft_depths`: bid :math:`s - \delta^b` rounded down to the tick,
    ask :math:`s + \delta^a` rounded up, then capped so the bid is at most the best bid and the
    ask at least the best ask. Each side is quoted with ``order_size``; the bid is dropped when
    a fill would take the position above ``max_position``, the ask when it would go below
    ``-max_position``. A working order stays while it is on the target side, of the target
    size, and within ``delta_price`` of the target price; any other order is cancelled.

    Parameters
    ----------
    order_size : float
        Amount of each quote (contracts), > 0, on the contract's lot grid.
    gamma : float
        Risk aversion :math:`\gamma > 0`.
    A, k : float
        Intensity parameters (trades per unit time; per price unit).
    max_position : float
        Inventory limit (contracts), >= 0.
    xi : float, optional
        :math:`\xi` (default :math:`\gamma`).
    delta : float, default 1.0
        :math:`\Delta`.
    sigma : str, float, callable or estimator, default "sigma"
        Volatility in price units per square root of the time unit of ``A``.
    reference : {"mid", "last", "microprice"}, default "mid"
    delta_price : float, default 0.0
        Price tolerance before an order is replaced.

    Raises
    ------
    ValueError, TypeError
        For a non-positive ``order_size``, ``gamma``, ``A``, ``k``, ``xi``, ``delta`` or
        constant ``sigma``, a negative ``max_position`` or ``delta_price``, or an unknown
        ``reference``.
    """

    def __init__(self, order_size, gamma, A, k, max_position, *, xi=None, delta=1.0,
                 sigma="sigma", reference="mid", delta_price=0.0):
        self.order_size = number(order_size, "order_size", positive=True)
        self.gamma = number(gamma, "gamma", positive=True)
        self.A = number(A, "A", positive=True)
        self.k = number(k, "k", positive=True)
        self.max_position = number(max_position, "max_position", nonnegative=True)
        self.xi = None if xi is None else number(xi, "xi", positive=True)
        self.delta = number(delta, "delta", positive=True)
        self.delta_price = number(delta_price, "delta_price", nonnegative=True)
        self.reference = check_choice("reference", reference, REFERENCES)
        self.sigma_source = Source("sigma", sigma)
        self.c1, self.c2 = glft_coefficients(self.gamma, self.A, self.k, self.xi, self.delta)

    def quote(self, s, position, sigma, best_bid, best_ask, tick):
        """Target ``(bid_price, ask_price, bid_amount, ask_amount)`` for one state.

        A side beyond the inventory limit has price NaN and amount 0.

        Parameters
        ----------
        s, position, sigma, best_bid, best_ask, tick : float

        Returns
        -------
        tuple of float
        """
        q = position / self.order_size
        db, da = glft_depths(q, sigma, self.c1, self.c2, self.delta)
        bid = to_tick(s - db, tick, "down")
        ask = to_tick(s + da, tick, "up")
        bid = best_bid if bid > best_bid else bid
        ask = best_ask if ask < best_ask else ask
        bid_amount, ask_amount = self.order_size, -self.order_size
        if position + self.order_size > self.max_position + 1e-12:
            bid, bid_amount = math.nan, 0.0
        if position - self.order_size < -self.max_position - 1e-12:
            ask, ask_amount = math.nan, 0.0
        return float(bid), float(ask), bid_amount, ask_amount

    def on_signal(self, ctx):
        """Quote for this signal (the steps in the class docstring).

        Parameters
        ----------
        ctx : mmsim.Context
        """
        s = reference_price(ctx, self.reference)
        sigma = self.sigma_source.get(ctx, s)
        best_bid, best_ask = float(ctx.bid_price), float(ctx.ask_price)
        isfinite = math.isfinite
        if not (isfinite(s) and isfinite(sigma) and isfinite(best_bid) and isfinite(best_ask)):
            return
        bid, ask, bid_amount, ask_amount = self.quote(
            s, float(ctx.position), sigma, best_bid, best_ask, ctx.contract.tick_size)
        if self.delta_price == 0.0:
            # The exact keep-order rule is ctx.quote's: one call into the engine.
            ctx.quote(bid, bid_amount, ask, -ask_amount)
            return
        need_bid, need_ask = bid_amount != 0, ask_amount != 0
        tolerance = self.delta_price + 1e-9
        for order_id, amount, price in order_rows(ctx.orders):
            if need_bid and amount == bid_amount and abs(price - bid) <= tolerance:
                need_bid = False
                continue
            if need_ask and amount == ask_amount and abs(price - ask) <= tolerance:
                need_ask = False
                continue
            ctx.cancel(order_id)
        if need_bid:
            ctx.limit(bid, bid_amount)
        if need_ask:
            ctx.limit(ask, ask_amount)
