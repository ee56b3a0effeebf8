"""Hand-built Results shared by the statistics, plot, report and save/load tests.

The inverse scenario (BitMEX XBTUSD: contract size 1 USD, maker -0.025 %, taker 0.075 %),
starting balance 1 BTC; prices chosen so that 1/price is exact (1/8000 = 0.000125,
1/10000 = 0.0001, 1/12500 = 0.00008):

==========  ========================================  =====  ==========  ====================
time        event                                     mid    q after     balance B after
==========  ========================================  =====  ==========  ====================
00:00       signal                                    10000  0           1
01:00       fill: buy 1000 @ 8000, maker              10000  1000 @8000  1 + 0.00003125
02:00       signal                                    12500  1000 @8000  1.00003125
03:00       fill: sell 2000 @ 10000, taker            12500  -1000 @1e4  1.02488125
04:00       signal                                    8000   -1000 @1e4  1.02488125
==========  ========================================  =====  ==========  ====================

Fill 1: fee = 1000/8000 x -0.00025 = -0.00003125 (rebate).
Fill 2: fee = 2000/10000 x 0.00075 = 0.00015; realises 1000 x (1/8000 - 1/10000) = 0.025;
        B = 1.00003125 + 0.025 - 0.00015 = 1.02488125.
Equity = B + q (1/E - 1/M), NAV = equity x M:
  00:00  1                                            nav 10000
  01:00  1.00003125 + 1000 (0.000125 - 0.0001) = 1.02503125   nav 10250.3125
  02:00  1.00003125 + 1000 (0.000125 - 0.00008) = 1.04503125  nav 13062.890625
  03:00  1.02488125 - 1000 (0.0001 - 0.00008) = 1.00488125    nav 12561.015625
  04:00  1.02488125 - 1000 (0.0001 - 0.000125) = 1.04988125   nav 8399.05
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmsim.contracts import BINANCE_BTCUSDT, BITMEX_XBTUSD
from mmsim.results import Result

DAY = "2024-01-01"


def t(hhmm: str) -> pd.Timestamp:
    """A time of the scenario day, UTC."""
    return pd.Timestamp(f"{DAY} {hhmm}", tz="UTC")


def time_index(times) -> pd.DatetimeIndex:
    """A ``time`` index of scenario-day times (``"HH:MM"``), nanoseconds, UTC."""
    return pd.DatetimeIndex([t(x) for x in times], name="time").as_unit("ns")


def make_inverse_result() -> Result:
    """The inverse scenario of the module docstring, with four orders."""
    nat = pd.NaT
    orders = pd.DataFrame(
        {
            "order_id": np.array([1, 2, 3, 4], dtype=np.int64),
            "type": ["limit", "market", "limit", "limit"],
            "side": np.array([1, -1, 1, -1], dtype=np.int8),
            "status": ["filled", "filled", "cancelled", "live"],
            "price": [8000.0, np.nan, 7000.0, 13000.0],
            "price_level": [np.nan] * 4,
            "amount": [1000.0, -2000.0, 500.0, -300.0],
            "filled": [1000.0, -2000.0, 0.0, 0.0],
            "avg_price": [8000.0, 10000.0, np.nan, np.nan],
            "amount_q": [0.0, 0.0, 10.0, 20.0],
            "volume_req": [0.0] * 4,
            "volume": [0.0] * 4,
            "fee": [-0.00003125, 0.00015, 0.0, 0.0],
            "slippage": [0.0, 1.5, 0.0, 0.0],
            "live": pd.DatetimeIndex([t("00:00"), t("02:00"), t("02:00"), t("03:00")]),
            "closed": pd.DatetimeIndex([t("01:00"), t("03:00"), t("02:30"), nat]),
            "active_duration": [3600.0, 3600.0, 1800.0, np.nan],
            "reason": ["", "", "cancelled", ""],
            "cancel_sent": pd.DatetimeIndex([nat, nat, t("02:30"), nat]),
        },
        index=time_index(["00:00", "02:00", "02:00", "03:00"]),
    )
    fills = pd.DataFrame(
        {
            "order_id": np.array([1, 2], dtype=np.int64),
            "price": [8000.0, 10000.0],
            "amount": [1000.0, -2000.0],
            "fee": [-0.00003125, 0.00015],
            "liquidity": ["maker", "taker"],
            "mid": [10000.0, 12500.0],
            "realized": [0.0, 0.025],
            "position": [1000.0, -1000.0],
        },
        index=time_index(["01:00", "03:00"]),
    )
    balances = pd.DataFrame(
        {
            "total": [1.0, 1.00003125, 1.00003125, 1.02488125, 1.02488125],
            "available": [1.0, 1.00003125, 1.00003125, 1.02488125, 1.02488125],
            "nav": [10000.0, 10250.3125, 13062.890625, 12561.015625, 8399.05],
        },
        index=time_index(["00:00", "01:00", "02:00", "03:00", "04:00"]),
    )
    positions = pd.DataFrame(
        {"amount": [1000.0, -1000.0], "weighted_price": [8000.0, 10000.0]},
        index=time_index(["01:00", "03:00"]),
    )
    params = {"balance": 1.0, "latency": 0.5, "cancel_latency": None, "queue_position": 1.0,
              "seed": 42, "start": None, "end": None, "strategy": "hand-made",
              "signal_columns": ["sigma"]}
    return Result(orders, fills, balances, positions, BITMEX_XBTUSD, params)


def empty_orders() -> pd.DataFrame:
    """An orders table with no rows and the scenario's columns."""
    return make_inverse_result().orders.iloc[:0]


def empty_fills() -> pd.DataFrame:
    """A fills table with no rows and the scenario's columns."""
    return make_inverse_result().fills.iloc[:0]


def make_nav_result(navs=(100.0, 110.0, 99.0, 110.0, 121.0), step="1h") -> Result:
    """A flat linear account whose NAV follows ``navs`` every ``step`` (no trading)."""
    index = time_index(["00:00"])[0] + pd.Timedelta(step) * np.arange(len(navs))
    balances = pd.DataFrame(
        {"total": list(navs), "available": list(navs), "nav": list(navs)},
        index=pd.DatetimeIndex(index, name="time"),
    )
    positions = pd.DataFrame(
        {"amount": pd.Series([], dtype=float), "weighted_price": pd.Series([], dtype=float)},
        index=time_index([]),
    )
    return Result(empty_orders(), empty_fills(), balances, positions, BINANCE_BTCUSDT, {})
