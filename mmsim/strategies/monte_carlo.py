r"""The notebook's Monte Carlo baseline: chase a random target inventory with pegged orders."""
from __future__ import annotations

import math

from mmsim.checks import number
from mmsim.strategies._common import (
    Source,
    SourcedStrategy,
    floor_to_lot,
    order_rows,
    unit_notional,
)

__all__ = ["MonteCarlo", "stop_loss_hit", "target_amount"]


def stop_loss_hit(position, entry_price, bid_price, nav, pct_loss, inverse=True, unit=1.0):
    r"""The notebook's stop-loss test, marked at the best bid.

    Inverse contracts (the notebook's BitMEX form, :math:`u` USD per contract):
    :math:`\text{pnl} = (1/E - 1/b)\,P u` BTC and the NAV return is
    :math:`(N + \text{pnl}\cdot b)/N - 1`. Linear contracts: :math:`\text{pnl} = (b - E) P u`
    in the quote currency and the return is :math:`(N + \text{pnl})/N - 1`.

    Returns
    -------
    bool
        True when the position is open (:math:`E \ne 0`) and the return is below ``pct_loss``.
    """
    if entry_price == 0.0:
        return False
    if inverse:
        pnl = ((1.0 / entry_price) - (1.0 / bid_price)) * (position * unit)
        return bool(((nav + (pnl * bid_price)) / nav - 1.0) < pct_loss)
    pnl = (bid_price - entry_price) * (position * unit)
    return bool(((nav + pnl) / nav - 1.0) < pct_loss)


def target_amount(inv, max_size, position, nav, threshold, unit=1.0, lot=1.0):
    r"""Amount to trade towards the target inventory, or None inside the threshold.

    With :math:`p = \text{inv}/M` the target as a fraction of NAV :math:`N`:
    nothing when :math:`|p - P u/N| \le` ``threshold``, else
    :math:`\lfloor pN/u - P \rfloor` on the lot grid (the notebook:
    ``np.floor(inv_pct * nav - position)``).
    """
    inv_pct = inv / max_size
    if abs(inv_pct - ((position * unit) / nav)) <= threshold:
        return None
    return floor_to_lot(((inv_pct * nav) / unit) - position, lot)


class MonteCarlo(SourcedStrategy):
    r"""The notebook's ``monte_carlo`` strategy: a random target inventory from a signal.

    At each signal:

    1. Stop-loss (:func:`stop_loss_hit`): when the open position marked at the best bid has
       lost more than ``pct_loss`` of NAV, cancel every working order and close the position
       with a market order of :math:`-\lfloor P \rfloor`; nothing else this signal.
    2. Target: ``inv`` (a signal, in units of ``max_size`` :math:`M`) asks for a position of
       :math:`\text{inv}/M` of NAV; within ``threshold`` of it, do nothing.
    3. Amount :math:`a = \lfloor (\text{inv}/M) N/u - P\rfloor` (:func:`target_amount`).
       The first working order with :math:`|(a - a_o)/a_o| \le` ``threshold`` stays (a
       repeated signal is not re-sent); every other order is cancelled.
    4. Unless an order stayed, send a follow-limit order of :math:`a` pegged ``level`` ticks
       behind the best price on its side (not sent when :math:`a = 0`).

    Parameters
    ----------
    max_size : float
        :math:`M`, the scale of the ``inv`` signal.
    threshold : float
        Relative tolerance on the inventory and on repeated orders, >= 0.
    level : int, default 0
        Follow level in ticks, >= 0.
    pct_loss : float, default -0.05
        Stop-loss as a (negative) NAV return.
    inv : str, float or callable, default "inv"
        The target signal: a column (default ``inv``), a constant or ``inv(ctx)``.

    Raises
    ------
    ValueError, TypeError
        For a non-positive ``max_size``, a negative ``threshold``, a ``level`` that is not a
        whole number >= 0, or a non-finite parameter.
    """

    def __init__(self, max_size, threshold, level=0, pct_loss=-0.05, *, inv="inv"):
        self.max_size = number(max_size, "max_size", positive=True)
        self.threshold = number(threshold, "threshold", nonnegative=True)
        level = number(level, "level", nonnegative=True)
        if level != int(level):
            raise ValueError(f"level must be a whole number of ticks, got {level!r}")
        self.level = int(level)
        self.pct_loss = number(pct_loss, "pct_loss")
        self.inv_source = Source("inv", inv, positive=False)

    def on_signal(self, ctx):
        """Quote for this signal (the steps in the class docstring).

        Parameters
        ----------
        ctx : mmsim.Context
        """
        nav = float(ctx.nav)
        bid = float(ctx.bid_price)
        inv = self.inv_source.get(ctx, math.nan)
        if not (nav > 0 and math.isfinite(bid) and math.isfinite(inv)):
            return
        contract = ctx.contract
        unit = unit_notional(contract, bid)
        position = float(ctx.position)
        orders = ctx.orders
        if stop_loss_hit(position, float(ctx.entry_price), bid, nav, self.pct_loss,
                         contract.inverse, unit):
            ctx.cancel_all()
            close = -1.0 * floor_to_lot(position, contract.lot_size)
            if close != 0:
                ctx.market(close)
            return
        amount = target_amount(inv, self.max_size, position, nav, self.threshold,
                               unit, contract.lot_size)
        if amount is None:
            return
        add_order = True
        for order_id, order_amount, _ in order_rows(orders):
            if add_order and abs((amount - order_amount) / order_amount) <= self.threshold:
                add_order = False
                continue
            ctx.cancel(order_id)
        if add_order and amount != 0:
            ctx.follow(self.level, amount)
