r"""Run strategy functions written for the research notebook's engine, unchanged.

The notebook's strategies are functions

.. code-block:: python

    fn(signals, position, balance, nav, orders, taq, params) -> list of dict actions

called once per signal with

- ``signals``: the signal row as a float vector whose element 0 is the timestamp
  (int64 nanoseconds as a float), the signal columns after it;
- ``position``: ``{"amount", "weighted_price"}``; ``balance``: ``{"total", "available"}``;
  ``nav``: the NAV in USD;
- ``orders``: the working orders as dicts (``order_id, type, status, price, price_level,
  amount, filled``), ``order_id`` being the strategy's own id for each;
- ``taq``: ``(ts, price, amount, bid_price, bid_amount, ask_price, ask_amount)`` of the last
  state (the last trade and the current best quote);
- ``params``: the strategy's parameter dict.

An action is ``{"operation": CANCEL, "order_id": id}`` or ``{"operation": ADD, "type": LIMIT |
MARKET | FOLLOW_LIMIT, "order_id": id, "price": p, "price_level": L, "amount": a}``.
"""
from __future__ import annotations

import math

import numpy as np

from mmsim.strategy import Strategy

__all__ = ["FunctionStrategy", "ADD", "CANCEL", "LIMIT", "MARKET", "FOLLOW_LIMIT"]

#: Operations of a notebook action.
ADD = 0
CANCEL = 1
#: Order types of a notebook action (the engine's codes).
LIMIT = 0
MARKET = 1
FOLLOW_LIMIT = 2

_TYPE_NAMES = {LIMIT: "LIMIT", MARKET: "MARKET", FOLLOW_LIMIT: "FOLLOW_LIMIT"}
#: Fields of ``ctx.orders`` a notebook order dict is built from, in its key order.
_ORDER_FIELDS = ("order_id", "type", "status", "price", "price_level", "amount", "filled")


class FunctionStrategy(Strategy):
    r"""Adapt a notebook strategy function to :class:`mmsim.Strategy`.

    Each signal builds the notebook's arguments from ``ctx`` (see the module docstring), calls
    ``fn`` and applies its actions in order: a cancel becomes ``ctx.cancel``; an add becomes
    ``ctx.limit(price, amount)``, ``ctx.market(amount)`` or ``ctx.follow(price_level, amount)``.
    The strategy's own ``order_id`` values (any hashable, e.g. the notebook's random floats)
    are mapped to the engine's ids both ways; an add without one is known by the engine id.
    An add of amount 0 is skipped (the notebook's engine never filled one).

    The function is not called until the state has a trade and a two-sided quote (the
    notebook's aligned data starts there), so every ``taq`` value it sees is a number.

    Parameters
    ----------
    fn : callable
        ``fn(signals, position, balance, nav, orders, taq, params) -> list of dict``.
    params : dict
        Passed to ``fn`` unchanged on every call.

    Raises
    ------
    TypeError
        If ``fn`` is not callable or ``params`` is not a dict.
    ValueError
        At run time, for an action with an unknown operation or type, a cancel of an id the
        strategy never sent, or a missing key (message naming the action).
    """

    def __init__(self, fn, params):
        if not callable(fn):
            raise TypeError(f"fn must be a callable strategy function, got {fn!r}")
        if not isinstance(params, dict):
            raise TypeError(f"params must be a dict, got {type(params).__name__}")
        self.fn = fn
        self.strategy_params = dict(params)
        self.name = getattr(fn, "__name__", type(fn).__name__)
        self._to_engine = {}
        self._to_user = {}

    def params(self) -> dict:
        """The function's name and its parameters, recorded with the result."""
        out = {"fn": self.name}
        out.update({k: v for k, v in self.strategy_params.items()
                    if isinstance(v, (int, float, str, bool, type(None)))})
        return out

    def on_start(self, ctx):
        """Forget the id mapping of any previous run.

        Parameters
        ----------
        ctx : mmsim.Context
        """
        self._to_engine.clear()
        self._to_user.clear()

    def _orders(self, ctx) -> list:
        orders = ctx.orders
        to_user = self._to_user
        # Whole columns as Python values: indexing the structured array per order costs more
        # than building the dicts.
        return [
            {"order_id": to_user.get(engine_id, float(engine_id)), "type": kind,
             "status": status, "price": price, "price_level": float(level), "amount": amount,
             "filled": filled}
            for engine_id, kind, status, price, level, amount, filled in zip(
                *(orders[name].tolist() for name in _ORDER_FIELDS))
        ]

    def on_signal(self, ctx):
        """Build the notebook's arguments, call the function and apply its actions.

        Parameters
        ----------
        ctx : mmsim.Context
        """
        state = [float(ctx.time), ctx.price, ctx.last_amount, ctx.bid_price, ctx.bid_amount,
                 ctx.ask_price, ctx.ask_amount]
        if not all(map(math.isfinite, state)):
            return
        taq = np.array(state, dtype=np.float64)
        signals = np.empty(len(ctx.signal) + 1, dtype=np.float64)
        signals[0] = float(ctx.time)
        signals[1:] = ctx.signal
        position = {"amount": float(ctx.position), "weighted_price": float(ctx.entry_price)}
        balance = {"total": float(ctx.balance), "available": float(ctx.available)}
        actions = self.fn(signals, position, balance, float(ctx.nav), self._orders(ctx), taq,
                          self.strategy_params)
        for action in actions or ():
            self._apply(ctx, action)

    def _apply(self, ctx, action) -> None:
        try:
            operation = action["operation"]
        except (KeyError, TypeError):
            raise ValueError(f"action must be a dict with an 'operation' key, got {action!r}") from None
        if operation == CANCEL:
            user_id = action.get("order_id")
            engine_id = self._to_engine.get(user_id)
            if engine_id is None:
                raise ValueError(f"CANCEL of order_id {user_id!r}, which the strategy never sent")
            ctx.cancel(engine_id)
            return
        if operation != ADD:
            raise ValueError(f"action 'operation' must be ADD ({ADD}) or CANCEL ({CANCEL}), got {operation!r}")
        kind = action.get("type")
        if kind not in _TYPE_NAMES:
            raise ValueError(f"ADD action 'type' must be LIMIT, MARKET or FOLLOW_LIMIT, got {kind!r}")
        if "amount" not in action:
            raise ValueError(f"ADD action needs an 'amount', got {action!r}")
        amount = float(action["amount"])
        if amount == 0.0:
            return
        if kind == LIMIT:
            if "price" not in action:
                raise ValueError(f"ADD LIMIT action needs a 'price', got {action!r}")
            engine_id = ctx.limit(float(action["price"]), amount)
        elif kind == MARKET:
            engine_id = ctx.market(amount)
        else:
            if "price_level" not in action:
                raise ValueError(f"ADD FOLLOW_LIMIT action needs a 'price_level', got {action!r}")
            level = float(action["price_level"])
            if level != int(level):
                raise ValueError(f"FOLLOW_LIMIT 'price_level' must be a whole number of ticks, got {level!r}")
            engine_id = ctx.follow(int(level), amount)
        engine_id = int(engine_id)
        user_id = action.get("order_id")
        if user_id is None:
            user_id = float(engine_id)  # known to the function by the engine's id
        self._to_engine[user_id] = engine_id
        self._to_user[engine_id] = user_id
