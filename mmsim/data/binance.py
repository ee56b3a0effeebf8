"""Binance trades and bookTicker captures to TAQ.

The Binance data shipped in ``shared/data/binance-btc-perp-hftbacktest-20240808`` (websocket
captures from hftbacktest's examples) comes as two gzipped CSVs per instrument, written in the
BitMEX dump style:

* ``*_quotes.csv.gz`` (bookTicker): ``timestamp,symbol,bidSize,bidPrice,askPrice,askSize,
  update_id,local_timestamp_ns``, ``timestamp`` being the event time ``E``;
* ``*_trades.csv.gz``: ``timestamp,symbol,side,size,price,trade_id,local_timestamp_ns``,
  ``timestamp`` being the trade time ``T`` and ``side`` the aggressor (``Buy``/``Sell``).

:func:`to_taq` merges them exactly like the BitMEX converter (see :mod:`mmsim.data.bitmex`):
fills sharing a timestamp and side aggregated (summed size, VWAP), the quote in force strictly
before each trade attached, quote changes as quote-only rows. Sizes stay in the exchange's
units: contracts (100 USD each) for BTCUSD_PERP, BTC for BTCUSDT.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmsim.data.bitmex import (
    QUOTE_COLUMNS,
    TRADE_COLUMNS,
    _load,
    _merge,
    _quotes,
    _trades,
    parse_time,
)

__all__ = ["to_taq"]

LOCAL = "local_timestamp_ns"


def _times(frame: pd.DataFrame, clock: str) -> np.ndarray:
    """The exchange's timestamps or, with ``clock="local"``, the capture's receive times."""
    if clock == "exchange":
        return parse_time(frame["timestamp"])
    return frame[LOCAL].to_numpy(dtype=np.int64)


def to_taq(trades, quotes, symbol: str | None = None, *, clock: str = "exchange",
           clean: bool = False, local_time: bool = False) -> pd.DataFrame:
    """Convert Binance trades and bookTicker CSVs to a TAQ frame.

    Parameters
    ----------
    trades, quotes : str, os.PathLike, list of them, or pandas.DataFrame
        The ``*_trades.csv.gz`` and ``*_quotes.csv.gz`` files (or frames with their columns).
    symbol : str, optional
        Symbol to keep; by default the only one present.
    clock : {"exchange", "local"}
        ``"exchange"``: the exchange's timestamps (trade time, bookTicker event time, ms).
        ``"local"``: the capture's receive times (``local_timestamp_ns``), i.e. the order in
        which a client saw the messages.
    local_time : bool, default False
        With ``clock="exchange"``, keep the capture's receive times as a ``local_time``
        column (the latest fill's for an aggregated trade): a backtest then shows each row to
        the strategy only once it was received, as the feed lag really was. Receive times
        are on the recorder's clock: in the captures of ``shared/data`` it runs about 1.27 s
        behind the exchange's, so shift the column by the clock offset first (a row received
        "before" it happened is shown when it is replayed, with no lag).
    clean : bool
        Drop bad quotes (crossed, NaN, negative size) before merging, so that trades carry the
        last good quote, and then any row that still breaks the TAQ schema, instead of
        raising.

    Returns
    -------
    pandas.DataFrame
        A validated TAQ frame with a UTC index.

    Examples
    --------
    >>> taq = to_taq("btcusd_perp_trades.csv.gz", "btcusd_perp_quotes.csv.gz")  # doctest: +SKIP
    """
    if clock not in ("exchange", "local"):
        raise ValueError(f"clock must be 'exchange' or 'local', got {clock!r}")
    if local_time and clock == "local":
        raise ValueError("local_time=True keeps receive times beside exchange times; with "
                         "clock='local' the index already is the receive time")
    extra = (LOCAL,) if clock == "local" or local_time else ()
    t = _load(trades, TRADE_COLUMNS + extra, symbol, "trades")
    q = _load(quotes, QUOTE_COLUMNS + extra, symbol, "quotes")
    received = (_times(t, "local"), _times(q, "local")) if local_time else (None, None)
    return _merge(_trades(t, _times(t, clock)), _quotes(q, _times(q, clock)), clean, *received)
