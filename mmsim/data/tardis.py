"""tardis.dev ``trades`` and ``quotes`` CSV datasets to TAQ.

tardis.dev serves one gzipped CSV per exchange, data type, day and symbol, with times in
microseconds since the epoch (UTC):

* ``trades``: ``exchange,symbol,timestamp,local_timestamp,id,side,price,amount``, where
  ``side`` is the taker's side (``buy``, ``sell`` or ``unknown``);
* ``quotes``: ``exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,
  bid_amount`` (the top of the book).

:func:`to_taq` merges them like the BitMEX converter (:mod:`mmsim.data.bitmex`): fills sharing
a timestamp and side aggregated (summed size, VWAP), the quote in force strictly before each
trade attached, quote changes as quote-only rows.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mmsim.data.merge import build_taq, load_symbol, sides
from mmsim.data.schema import SchemaError, validate_taq

__all__ = ["to_taq"]

log = logging.getLogger("mmsim.data")

TRADE_COLUMNS = ("symbol", "timestamp", "local_timestamp", "side", "price", "amount")
QUOTE_COLUMNS = ("symbol", "timestamp", "local_timestamp", "ask_amount", "ask_price",
                 "bid_price", "bid_amount")


def _micros(frame: pd.DataFrame, column: str, what: str) -> np.ndarray:
    values = pd.to_numeric(frame[column], errors="coerce")
    bad = np.flatnonzero(values.isna().to_numpy())
    if len(bad):
        raise SchemaError(f"{what} column {column!r} must hold microseconds since the epoch, got "
                          f"{frame[column].iloc[bad[0]]!r} at row {int(bad[0])}")
    return values.to_numpy(dtype=np.int64) * 1000


def to_taq(trades, quotes, symbol: str | None = None, *, clock: str = "exchange",
           unknown: str = "infer", clean: bool = False) -> pd.DataFrame:
    """Convert tardis.dev ``trades`` and ``quotes`` CSVs to a TAQ frame.

    Parameters
    ----------
    trades, quotes : str, os.PathLike, list of them, or pandas.DataFrame
        The datasets' CSV files (``.csv.gz`` as downloaded) or frames with their columns.
    symbol : str, optional
        Symbol to keep; by default the only one present.
    clock : {"exchange", "local"}
        Use ``timestamp`` (the exchange's time) or ``local_timestamp`` (tardis.dev's receive
        time).
    unknown : {"infer", "drop", "raise"}
        What to do with trades whose side is ``unknown``: infer it from the quote in force
        (above the mid: a buy; below: a sell; at the mid or before any quote: dropped), drop
        them, or raise.
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
    >>> taq = to_taq("bitmex_trades_2019-11-01_XBTUSD.csv.gz",
    ...              "bitmex_quotes_2019-11-01_XBTUSD.csv.gz")  # doctest: +SKIP
    """
    if clock not in ("exchange", "local"):
        raise ValueError(f"clock must be 'exchange' or 'local', got {clock!r}")
    if unknown not in ("infer", "drop", "raise"):
        raise ValueError(f"unknown must be 'infer', 'drop' or 'raise', got {unknown!r}")
    time_col = "timestamp" if clock == "exchange" else "local_timestamp"
    t = load_symbol(trades, TRADE_COLUMNS, symbol, "trades")
    q = load_symbol(quotes, QUOTE_COLUMNS, symbol, "quotes")

    q_time = _micros(q, time_col, "quotes")
    bid = q["bid_price"].to_numpy(dtype=np.float64)
    ask = q["ask_price"].to_numpy(dtype=np.float64)
    if np.any(np.diff(q_time) < 0):
        order = np.argsort(q_time, kind="stable")
        q = q.iloc[order]
        q_time, bid, ask = q_time[order], bid[order], ask[order]

    t_time = _micros(t, time_col, "trades")
    price = t["price"].to_numpy(dtype=np.float64)
    side = sides(t["side"], "trades", unknown=True)
    keep = np.ones(len(side), bool)
    missing = side == 0
    if missing.any():
        if unknown == "raise":
            row = int(np.flatnonzero(missing)[0])
            raise SchemaError(f"trade at row {row} has side 'unknown'; pass unknown='infer' or "
                              f"unknown='drop'")
        if unknown == "infer":
            before = np.searchsorted(q_time, t_time[missing], side="left") - 1
            quoted = before >= 0
            mid = np.full(len(before), np.nan)
            mid[quoted] = 0.5 * (bid[before[quoted]] + ask[before[quoted]])
            guess = np.where(price[missing] > mid, 1, np.where(price[missing] < mid, -1, 0))
            side[missing] = guess
        keep = side != 0
        log.info("tardis.to_taq: %d trade(s) with side 'unknown', %d dropped",
                 int(missing.sum()), int((~keep).sum()))
    taq = build_taq(
        t_time[keep], side[keep], t["amount"].to_numpy(dtype=np.float64)[keep], price[keep],
        q_time, bid, q["bid_amount"].to_numpy(dtype=np.float64),
        ask, q["ask_amount"].to_numpy(dtype=np.float64), drop_bad_quotes=clean,
    )
    return validate_taq(taq, clean=clean)
