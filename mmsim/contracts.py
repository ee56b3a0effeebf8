"""Contract specifications: inverse or linear, price and size grids, fees."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from mmsim.checks import number

# Grid steps outside this range lose the engine's exact arithmetic in ticks and lots (their
# inverse overflows or sizes stop being representable); no exchange lists such a step.
_MIN_STEP, _MAX_STEP = 1e-12, 1e12

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
    initial_margin : float, optional
        Margin rate on the value of the exposure for an order to go live (DESIGN "Account");
        ``1 / initial_margin`` is the highest leverage. None: the contract states none, and
        margin is off unless ``backtest(leverage=...)`` sets it.
    maintenance_margin : float, optional
        Margin rate on the value of the position below which it is liquidated; at most
        ``initial_margin``.
    base, quote : str, optional
        Names of the base and quote currencies (e.g. ``"BTC"``, ``"USDT"``), for the units
        reports print; unnamed currencies read "base ccy" and "quote ccy".

    Raises
    ------
    TypeError
        If a size or fee is not a real number, or a name is not a string.
    ValueError
        If a grid step is outside [1e-12, 1e12], the contract size is not a positive finite
        number, a fee rate is not strictly between -1 and 1, or a margin rate is not in
        (0, 1] (the maintenance rate at most the initial one).
    """

    inverse: bool
    tick_size: float
    lot_size: float
    contract_size: float
    maker_fee: float
    taker_fee: float
    name: str = ""
    initial_margin: float | None = None
    maintenance_margin: float | None = None
    base: str = ""
    quote: str = ""

    def __post_init__(self):
        for field in ("tick_size", "lot_size", "contract_size", "maker_fee", "taker_fee"):
            value = getattr(self, field)
            # Any finite real number (NumPy scalars included) is stored as a Python float.
            object.__setattr__(self, field, number(value, f"Contract.{field}"))
        for field in ("tick_size", "lot_size"):
            value = getattr(self, field)
            if not _MIN_STEP <= value <= _MAX_STEP:
                raise ValueError(f"Contract.{field} must be between {_MIN_STEP:g} and "
                                 f"{_MAX_STEP:g}, got {value!r}")
        if not (math.isfinite(self.contract_size) and self.contract_size > 0):
            raise ValueError(f"Contract.contract_size must be a positive finite number, "
                             f"got {self.contract_size!r}")
        for field in ("maker_fee", "taker_fee"):
            value = getattr(self, field)
            if not -1.0 < value < 1.0:
                raise ValueError(f"Contract.{field} must be a rate strictly between -1 and 1 "
                                 f"(e.g. -0.00025 for a 0.025 % rebate), got {value!r}")
        object.__setattr__(self, "inverse", bool(self.inverse))
        for field in ("name", "base", "quote"):
            if not isinstance(getattr(self, field), str):
                raise TypeError(f"Contract.{field} must be a string, got "
                                f"{getattr(self, field)!r}")
        for field in ("initial_margin", "maintenance_margin"):
            value = getattr(self, field)
            if value is None:
                continue
            number(value, f"Contract.{field}", allow_none=True)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"Contract.{field} must be a rate in (0, 1] (e.g. 0.01 for "
                                 f"100x leverage), got {value!r}")
            object.__setattr__(self, field, float(value))
        if (self.maintenance_margin is not None and self.initial_margin is not None
                and self.maintenance_margin > self.initial_margin):
            raise ValueError(f"Contract.maintenance_margin ({self.maintenance_margin!r}) must "
                             f"not exceed initial_margin ({self.initial_margin!r})")

    @property
    def settlement(self) -> str:
        """The currency balances and PnL are held in: ``"base"`` or ``"quote"``."""
        return "base" if self.inverse else "quote"

    @property
    def settlement_currency(self) -> str:
        """Name of the currency balances and PnL are held in (the base currency of an
        inverse contract, the quote currency of a linear one)."""
        return self.base_currency if self.inverse else self.quote_currency

    @property
    def base_currency(self) -> str:
        """Name of the base currency, ``"base ccy"`` when the contract does not name it."""
        return self.base or "base ccy"

    @property
    def quote_currency(self) -> str:
        """Name of the quote currency (prices and NAV), ``"quote ccy"`` when unnamed."""
        return self.quote or "quote ccy"

    @property
    def amount_unit(self) -> str:
        """Unit of order and position amounts: the base currency for a linear contract of
        size 1 that names it, else ``"contracts"``."""
        if not self.inverse and self.contract_size == 1.0 and self.base:
            return self.base
        return "contracts"

    def to_dict(self) -> dict:
        """Return the fields as a plain dict (for saving run parameters)."""
        return asdict(self)


#: BitMEX XBTUSD perpetual with the 2019 fee schedule: 1 USD inverse contracts,
#: 0.5 USD tick, maker rebate 0.025 %, taker fee 0.075 %; margin at the base risk limit
#: (200 XBT) of BitMEX's published contract specification of the time: initial 1.00 %
#: (100x), maintenance 0.50 %.
BITMEX_XBTUSD = Contract(
    inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
    maker_fee=-0.00025, taker_fee=0.00075, name="BitMEX XBTUSD",
    initial_margin=0.01, maintenance_margin=0.005, base="BTC", quote="USD",
)

#: Binance COIN-M BTCUSD_PERP: 100 USD inverse contracts on a 0.1 tick,
#: regular-tier fees 0.02 % maker, 0.05 % taker; first leverage bracket of Binance's
#: published margin tiers: 125x (initial 0.8 %), maintenance 0.4 %.
BINANCE_BTCUSD_PERP = Contract(
    inverse=True, tick_size=0.1, lot_size=1.0, contract_size=100.0,
    maker_fee=0.0002, taker_fee=0.0005, name="Binance BTCUSD_PERP",
    initial_margin=0.008, maintenance_margin=0.004, base="BTC", quote="USD",
)

#: Binance USD-M BTCUSDT: linear, amounts in BTC on a 0.001 step, 0.1 tick,
#: regular-tier fees 0.02 % maker, 0.05 % taker, PnL in USDT; first leverage bracket:
#: 125x (initial 0.8 %), maintenance 0.4 %.
BINANCE_BTCUSDT = Contract(
    inverse=False, tick_size=0.1, lot_size=0.001, contract_size=1.0,
    maker_fee=0.0002, taker_fee=0.0005, name="Binance BTCUSDT",
    initial_margin=0.008, maintenance_margin=0.004, base="BTC", quote="USDT",
)
