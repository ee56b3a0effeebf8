"""Contract specifications: inverse or linear, price and size grids, fees."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["Contract", "BITMEX_XBTUSD", "BINANCE_BTCUSD_PERP", "BINANCE_BTCUSDT"]


@dataclass(frozen=True)
class Contract:
    """A tradable instrument as the simulator sees it.

    Parameters
    ----------
    inverse : bool
        True for an inverse contract (amounts in contracts worth ``contract_size``
        units of the quote currency, PnL settled in the base currency, e.g. BitMEX
        XBTUSD pays BTC). False for a linear contract (PnL in the quote currency).
    tick_size : float
        Price grid. Order prices must lie on it; the engine compares prices in ticks.
    lot_size : float
        Amount grid. Order amounts must be whole multiples of it.
    contract_size : float
        Value of one unit of ``amount``: USD per contract for inverse contracts,
        base units per contract for linear ones.
    maker_fee, taker_fee : float
        Fee rates on notional in the settlement currency; a negative rate is a rebate.
    name : str, optional
        A label for reports.

    Raises
    ------
    ValueError
        If a size is not a positive finite number or a fee is not finite.
    """

    inverse: bool
    tick_size: float
    lot_size: float
    contract_size: float
    maker_fee: float
    taker_fee: float
    name: str = ""

    def __post_init__(self):
        for field in ("tick_size", "lot_size", "contract_size"):
            value = getattr(self, field)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"Contract.{field} must be a positive finite number, got {value!r}")
        for field in ("maker_fee", "taker_fee"):
            value = getattr(self, field)
            if not (isinstance(value, (int, float)) and math.isfinite(value)):
                raise ValueError(f"Contract.{field} must be a finite number, got {value!r}")
        object.__setattr__(self, "inverse", bool(self.inverse))

    @property
    def settlement(self) -> str:
        """The currency balances and PnL are held in: ``"base"`` or ``"quote"``."""
        return "base" if self.inverse else "quote"

    def to_dict(self) -> dict:
        """Return the fields as a plain dict (for saving run parameters)."""
        return asdict(self)


#: BitMEX XBTUSD perpetual with the 2019 fee schedule: 1 USD inverse contracts,
#: 0.5 USD tick, maker rebate 0.025 %, taker fee 0.075 %.
BITMEX_XBTUSD = Contract(
    inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
    maker_fee=-0.00025, taker_fee=0.00075, name="BitMEX XBTUSD",
)

#: Binance COIN-M BTCUSD_PERP: 100 USD inverse contracts on a 0.1 tick,
#: regular-tier fees 0.02 % maker, 0.05 % taker.
BINANCE_BTCUSD_PERP = Contract(
    inverse=True, tick_size=0.1, lot_size=1.0, contract_size=100.0,
    maker_fee=0.0002, taker_fee=0.0005, name="Binance BTCUSD_PERP",
)

#: Binance USD-M BTCUSDT: linear, amounts in BTC on a 0.001 step, 0.1 tick,
#: regular-tier fees 0.02 % maker, 0.05 % taker, PnL in USDT.
BINANCE_BTCUSDT = Contract(
    inverse=False, tick_size=0.1, lot_size=0.001, contract_size=1.0,
    maker_fee=0.0002, taker_fee=0.0005, name="Binance BTCUSDT",
)
