"""Type stubs for the compiled engine (``mmsim/_core.pyx``)."""
from typing import Any, Callable, Optional

import numpy as np
import numpy.typing as npt

LIMIT: int
MARKET: int
FOLLOW_LIMIT: int
PENDING: int
LIVE: int
FILLED: int
CANCELLED: int
REJECTED: int
TYPE_NAMES: tuple[str, ...]
STATUS_NAMES: tuple[str, ...]
REASON_NAMES: tuple[str, ...]
LIQUIDITY_NAMES: tuple[str, ...]
CAUSE_NAMES: tuple[str, ...]
TIF_NAMES: tuple[str, ...]
FILL_BOUNDS: tuple[str, ...]
ENTRY_DTYPE: np.dtype
ORDER_DTYPE: np.dtype
FILL_DTYPE: np.dtype
ACTION_DTYPE: np.dtype
BALANCE_DTYPE: np.dtype
POSITION_DTYPE: np.dtype
FUNDING_DTYPE: np.dtype
BUILD: str
SECTION_HELD_ROWS: int

class Table:
    def __init__(self, dtype: np.dtype, capacity: int = ...) -> None: ...
    def view(self) -> np.ndarray: ...
    def __len__(self) -> int: ...

class ColumnTable:
    def __init__(self, dtype: np.dtype, capacity: int = ...) -> None: ...
    def columns(self) -> dict[str, np.ndarray]: ...
    def __len__(self) -> int: ...

class Engine:
    def __init__(
        self,
        *,
        time: npt.NDArray[np.int64],
        price: npt.NDArray[np.float64],
        amount: npt.NDArray[np.float64],
        bid_price: npt.NDArray[np.float64],
        bid_amount: npt.NDArray[np.float64],
        ask_price: npt.NDArray[np.float64],
        ask_amount: npt.NDArray[np.float64],
        signal_time: npt.NDArray[np.int64],
        signals: npt.NDArray[np.float64],
        inverse: bool,
        tick_size: float,
        lot_size: float,
        contract_size: float,
        maker_fee: float,
        taker_fee: float,
        balance: float,
        latency: int,
        cancel_latency: int,
        amend_latency: int,
        feed_latency: int,
        queue_position: float,
        queue_model: Any,
        fill_bound: int,
    ) -> None: ...
    def run(
        self,
        ctx: Context,
        on_signal: Callable[[Context], Any],
        on_fill: Optional[Callable[[Context, np.void], Any]] = ...,
        on_start: Optional[Callable[[Context], Any]] = ...,
        progress: Optional[Callable[[int], Any]] = ...,
    ) -> None: ...
    def tables(self) -> dict[str, dict[str, np.ndarray]]: ...

def buffer_pool(limit: Optional[int] = ...) -> dict[str, int]: ...

class Context:
    contract: Any
    rng: np.random.Generator
    columns: tuple[str, ...]
    def __init__(self, engine: Engine, signals: np.ndarray, columns: tuple[str, ...],
                 contract: Any, rng: np.random.Generator) -> None: ...
    @property
    def time(self) -> int: ...
    @property
    def timestamp(self) -> Any: ...
    @property
    def signal(self) -> Optional[npt.NDArray[np.float64]]: ...
    def __getitem__(self, key: int | str) -> float: ...
    @property
    def price(self) -> float: ...
    @property
    def last_amount(self) -> float: ...
    @property
    def bid_price(self) -> float: ...
    @property
    def bid_amount(self) -> float: ...
    @property
    def ask_price(self) -> float: ...
    @property
    def ask_amount(self) -> float: ...
    @property
    def mid(self) -> float: ...
    @property
    def position(self) -> float: ...
    @property
    def entry_price(self) -> float: ...
    @property
    def balance(self) -> float: ...
    @property
    def available(self) -> float: ...
    @property
    def realized(self) -> float: ...
    @property
    def fees(self) -> float: ...
    @property
    def funding(self) -> float: ...
    @property
    def nav(self) -> float: ...
    @property
    def orders(self) -> np.ndarray: ...
    def limit(self, price: float, amount: float, post_only: bool = ..., tif: str = ...,
              reduce_only: bool = ...) -> int: ...
    def market(self, amount: float, reduce_only: bool = ...) -> int: ...
    def follow(self, level: int, amount: float) -> int: ...
    def cancel(self, order_id: int) -> None: ...
    def cancel_all(self, side: int = ...) -> int: ...
    def quote(self, bid_price: float, bid_amount: float, ask_price: float, ask_amount: float,
              post_only: bool = ...) -> tuple[int, int]: ...
    def amend(self, order_id: int, price: Optional[float] = ...,
              amount: Optional[float] = ...) -> None: ...
