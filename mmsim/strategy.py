"""The strategy interface: a class whose methods the engine calls with a :class:`Context`."""
from __future__ import annotations

__all__ = ["Strategy"]


class Strategy:
    """Base class of every strategy.

    Subclasses implement :meth:`on_signal`; :meth:`on_start` and :meth:`on_fill` are optional.
    A callback reads state from ``ctx`` (time, the signal row, quotes, last trade, position,
    balance, NAV and the working orders as a NumPy structured array) and acts with
    ``ctx.limit``, ``ctx.market``, ``ctx.follow``, ``ctx.cancel`` (``ctx.cancel_all``) and
    ``ctx.quote``. Actions take effect after the run's latency.

    Examples
    --------
    >>> class Quoter(mmsim.Strategy):
    ...     def on_signal(self, ctx):
    ...         ctx.cancel_all()
    ...         ctx.limit(ctx.bid_price, 100)
    ...         ctx.limit(ctx.ask_price, -100)
    """

    def on_start(self, ctx) -> None:
        """Called once, just before the first :meth:`on_signal`, with the same state.

        Parameters
        ----------
        ctx : mmsim.Context
        """

    def on_signal(self, ctx) -> None:
        """Called once per signal row.

        Parameters
        ----------
        ctx : mmsim.Context
        """
        raise NotImplementedError(f"{type(self).__name__} must implement on_signal(self, ctx)")

    def on_fill(self, ctx, fill) -> None:
        """Called after each fill of one of the strategy's orders, when overridden.

        Parameters
        ----------
        ctx : mmsim.Context
            State after the row (or action) that produced the fill.
        fill : numpy.void
            The fill record: ``time, order_id, price, amount, fee, liquidity (0 maker,
            1 taker), mid, realized, position``.
        """

    def params(self) -> dict:
        """The strategy's parameters, recorded with the result so that it can be rerun.

        For a class with its own ``__init__``: every constructor argument the strategy keeps
        (as an attribute of the same name, ``<name>_source``, ``<name>_ns`` or ``_<name>``),
        so that ``type(s)(**s.params())`` builds it again. A model input given as a signal
        column or a constant is recorded as given; an estimator as the call that builds it
        (``"EWMAVolatility(halflife=30.0, unit=1.0, returns='log')"``); a function as
        ``module:qualname``. Without its own ``__init__``: the public attributes with plain
        values. Override it to record something else.

        Returns
        -------
        dict
        """
        from mmsim._arguments import constructor_arguments

        if type(self).__init__ is not object.__init__:
            return constructor_arguments(self)
        return {k: v for k, v in vars(self).items()
                if not k.startswith("_") and isinstance(v, (int, float, str, bool, type(None)))}
