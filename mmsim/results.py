"""The outcome of a backtest: orders, fills, balances and positions as pandas tables."""
from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from mmsim.contracts import Contract

__all__ = ["Result"]


@dataclass
class Result:
    """Tables recorded by one backtest run.

    Every table is a DataFrame with a DatetimeIndex named ``time`` (UTC).

    Attributes
    ----------
    orders : pandas.DataFrame
        One row per order, indexed by creation time. Columns: ``order_id, type, side, status,
        price, price_level, amount, filled, avg_price, amount_q, volume_req, volume, fee,
        slippage, live, closed, active_duration, reason, cancel_sent``.
    fills : pandas.DataFrame
        One row per fill: ``order_id, price, amount, fee, liquidity ("maker"/"taker"),
        mid, realized, position``.
    balances : pandas.DataFrame
        ``total, available, nav`` at every fill and every signal.
    positions : pandas.DataFrame
        ``amount, weighted_price`` after every fill.
    contract : Contract
        The contract traded.
    params : dict
        Run parameters (balance, latency, queue_position, seed, ...).
    """

    orders: pd.DataFrame
    fills: pd.DataFrame
    balances: pd.DataFrame
    positions: pd.DataFrame
    contract: Contract
    params: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        span = ""
        if len(self.balances):
            span = f" {self.balances.index[0]} .. {self.balances.index[-1]}"
        return (
            f"<mmsim.Result{span}: {len(self.orders)} orders, {len(self.fills)} fills, "
            f"{len(self.balances)} balance rows>"
        )
