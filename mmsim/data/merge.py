"""Trades and quotes tables to TAQ, for every exchange's converter.

The converters (:mod:`mmsim.data.bitmex`, :mod:`mmsim.data.binance`, :mod:`mmsim.data.tardis`)
read their formats into two tables in one layout, the BitMEX dump layout (trades:
``timestamp,symbol,side,size,price``; quotes: ``timestamp,symbol,bidSize,bidPrice,askPrice,
askSize``), and this module merges them into TAQ rows the way the research notebook did:

1. fills that share a timestamp and a side are one aggressive order: they become one row with
   the summed signed size and the VWAP price (off the tick grid when the order swept levels:
   the notebook's ``3996.371527, -998859``);
2. each trade row carries the quote in force *before* it: the last quote with an earlier
   timestamp (a quote stamped with the same timestamp as a trade is taken to be its result);
3. every change of the quote becomes a quote-only row (``amount`` 0, ``price`` NaN); at equal
   timestamps trade rows come first.

:func:`build_taq` does steps 1-3 on plain arrays; the rest reads CSV files and tables in that
layout, parses their times and sides, and keeps one symbol.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from mmsim.data.schema import QUOTE_COLUMNS as TAQ_QUOTE_COLUMNS
from mmsim.data.schema import TAQ_COLUMNS, SchemaError, validate_taq

log = logging.getLogger("mmsim.data")

__all__ = ["build_taq", "parse_time", "TRADE_COLUMNS", "QUOTE_COLUMNS", "LOCAL"]

#: Trade columns of the common layout (BitMEX's dumps); ``side`` is the aggressor.
TRADE_COLUMNS = ("timestamp", "symbol", "side", "size", "price")
#: Quote columns of the common layout (BitMEX's dumps).
QUOTE_COLUMNS = ("timestamp", "symbol", "bidSize", "bidPrice", "askPrice", "askSize")


def build_taq(
    trade_time: np.ndarray,
    side: np.ndarray,
    size: np.ndarray,
    price: np.ndarray,
    quote_time: np.ndarray,
    bid_price: np.ndarray,
    bid_amount: np.ndarray,
    ask_price: np.ndarray,
    ask_amount: np.ndarray,
    *,
    tz: str | None = "UTC",
    drop_bad_quotes: bool = False,
    trade_local: np.ndarray | None = None,
    quote_local: np.ndarray | None = None,
) -> pd.DataFrame:
    """Merge trades and top-of-book quotes into a TAQ frame.

    Parameters
    ----------
    trade_time : numpy.ndarray
        int64 UTC nanoseconds of each fill.
    side : numpy.ndarray
        +1 for a buyer-initiated fill, -1 for a seller-initiated one.
    size, price : numpy.ndarray
        Fill size (> 0) and price.
    quote_time : numpy.ndarray
        int64 UTC nanoseconds of each quote.
    bid_price, bid_amount, ask_price, ask_amount : numpy.ndarray
        The quotes.
    tz : {"UTC", None}
        ``"UTC"`` for a UTC-aware index, None for a naive (UTC) one.
    drop_bad_quotes : bool
        Drop crossed quotes (bid >= ask), quotes with a NaN or infinite value and quotes with
        a negative size before merging, so that trades carry the last good quote (the count
        is logged on the ``mmsim.data`` logger).
    trade_local, quote_local : numpy.ndarray, optional
        int64 UTC nanoseconds at which each fill and each quote was received. Given both,
        the frame gets a ``local_time`` column: a quote row's receive time, and for a trade
        row the latest receive time of the fills aggregated into it.

    Returns
    -------
    pandas.DataFrame
        TAQ rows (not validated): aggregated trades with the quote in force before each, and
        one quote-only row per change of the quote.
    """
    if tz not in ("UTC", None):
        raise ValueError(f"tz must be 'UTC' or None (a naive UTC index), got {tz!r}")
    if (trade_local is None) != (quote_local is None):
        raise ValueError("trade_local and quote_local go together: give both or neither")
    local = trade_local is not None
    trade_local = np.asarray(trade_local if local else trade_time, dtype=np.int64)
    quote_local = np.asarray(quote_local if local else quote_time, dtype=np.int64)
    trade_time = np.asarray(trade_time, dtype=np.int64)
    side = np.asarray(side, dtype=np.int64)
    size = np.asarray(size, dtype=np.float64)
    price = np.asarray(price, dtype=np.float64)
    quote_time = np.asarray(quote_time, dtype=np.int64)
    quotes = np.column_stack([np.asarray(a, dtype=np.float64)
                              for a in (bid_price, bid_amount, ask_price, ask_amount)])
    if np.any(np.diff(trade_time) < 0):
        order = np.argsort(trade_time, kind="stable")
        trade_time, side, size, price = trade_time[order], side[order], size[order], price[order]
        trade_local = trade_local[order]
    if np.any(np.diff(quote_time) < 0):
        order = np.argsort(quote_time, kind="stable")
        quote_time, quotes, quote_local = quote_time[order], quotes[order], quote_local[order]

    if drop_bad_quotes and len(quote_time):
        with np.errstate(invalid="ignore"):
            bad = (~np.isfinite(quotes).all(axis=1) | (quotes[:, 0] >= quotes[:, 2])
                   | (quotes[:, 1] < 0) | (quotes[:, 3] < 0))
        if bad.any():
            log.warning("dropped %d bad quote(s) of %d (crossed, NaN or negative size)",
                        int(bad.sum()), len(quote_time))
            quote_time, quotes, quote_local = quote_time[~bad], quotes[~bad], quote_local[~bad]

    # 1. One row per (timestamp, side), in order of first appearance: summed size, VWAP.
    if len(trade_time):
        new_time = np.empty(len(trade_time), bool)
        new_time[0] = True
        np.not_equal(trade_time[1:], trade_time[:-1], out=new_time[1:])
        run = np.cumsum(new_time) - 1
        # within a timestamp, the side seen first comes first
        key = 2 * run + (side != side[new_time][run])
        if np.any(key[1:] < key[:-1]):  # both sides interleaved at some timestamp
            order = np.argsort(key, kind="stable")
            key, trade_time, side = key[order], trade_time[order], side[order]
            size, price, trade_local = size[order], price[order], trade_local[order]
        starts = np.flatnonzero(np.concatenate(([True], key[1:] != key[:-1])))
        volume = np.add.reduceat(size, starts)
        notional = np.add.reduceat(size * price, starts)
        t_time, t_side = trade_time[starts], side[starts]
        with np.errstate(invalid="ignore", divide="ignore"):
            t_price = notional / volume
        t_amount = t_side * volume
        t_local = np.maximum.reduceat(trade_local, starts)   # known once its last fill is in
    else:
        t_time = t_local = np.empty(0, np.int64)
        t_price = t_amount = np.empty(0)

    # 3. Quote changes only: drop a quote equal to the one before it.
    if len(quote_time):
        same = np.zeros(len(quote_time), bool)
        equal = (quotes[1:] == quotes[:-1]) | (np.isnan(quotes[1:]) & np.isnan(quotes[:-1]))
        same[1:] = equal.all(axis=1)
        quote_time, quotes, quote_local = quote_time[~same], quotes[~same], quote_local[~same]

    # 2. The quote in force before each trade: the last one stamped strictly earlier.
    before = np.searchsorted(quote_time, t_time, side="left") - 1
    t_quotes = np.full((len(t_time), 4), np.nan)
    has = before >= 0
    t_quotes[has] = quotes[before[has]]

    n_t, n_q = len(t_time), len(quote_time)
    times = np.concatenate([t_time, quote_time])
    order = np.lexsort((np.concatenate([np.zeros(n_t, np.int8), np.ones(n_q, np.int8)]), times))
    stacked = np.concatenate([t_quotes, quotes])[order]
    columns = {
        "price": np.concatenate([t_price, np.full(n_q, np.nan)])[order],
        "amount": np.concatenate([t_amount, np.zeros(n_q)])[order],
        **{col: stacked[:, k] for k, col in enumerate(TAQ_QUOTE_COLUMNS)},
    }
    index = pd.DatetimeIndex(times[order].view("M8[ns]"), name="time")
    if tz is not None:
        index = index.tz_localize("UTC")
    frame = pd.DataFrame(columns, index=index, columns=list(TAQ_COLUMNS))
    if local:
        received = pd.DatetimeIndex(np.concatenate([t_local, quote_local])[order].view("M8[ns]"))
        frame["local_time"] = received.tz_localize("UTC") if tz is not None else received
    return frame


def parse_time(values) -> np.ndarray:
    """BitMEX dump timestamps (``2019-03-20D00:00:05.698000000``) to int64 UTC nanoseconds.

    Parameters
    ----------
    values : array-like of str, or of datetimes
        Timestamps in the dumps' format; ISO 8601 strings (with ``T`` or a space) are
        accepted too, and datetimes (as the capture readers give them) are taken as they
        are. Naive times are UTC.

    Returns
    -------
    numpy.ndarray
        int64 nanoseconds since the epoch, UTC.

    Raises
    ------
    SchemaError
        Naming the first value (and its row) that is missing or not a time.
    """
    values = pd.Series(values)
    times, row = parse_times(values)
    if row is not None:
        raise SchemaError(f"cannot parse timestamps such as {values.iloc[row]!r} (row {row}); "
                          f"expected times like '2019-03-20D00:00:05.698000000' or ISO 8601")
    return times


def parse_times(values: pd.Series) -> tuple[np.ndarray, int | None]:
    """:func:`parse_time` without the raising: the times, and the position of the first value
    that is not one (None when all are), for callers that name it their own way."""
    if pd.api.types.is_datetime64_any_dtype(values.dtype):  # already parsed (capture readers)
        times = pd.DatetimeIndex(values)
        times = times.tz_localize("UTC") if times.tz is None else times
    elif len(values) == 0:
        return np.empty(0, np.int64), None
    else:
        text = values.astype(str).str.replace("D", "T", regex=False)
        times = pd.DatetimeIndex(pd.to_datetime(text, format="ISO8601", utc=True,
                                                errors="coerce"))
    bad = np.flatnonzero(times.isna())
    return times.as_unit("ns").asi8, (int(bad[0]) if len(bad) else None)


def read_csv(source, columns: Iterable[str], what: str) -> pd.DataFrame:
    """A CSV file (optionally compressed), a list of them, or a DataFrame, with ``columns``."""
    columns = list(columns)
    if isinstance(source, pd.DataFrame):
        frame = source
    elif isinstance(source, (str, os.PathLike)):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such {what} file: {path}")
        try:  # pyarrow's reader is the faster one; it refuses files lacking a column
            frame = pd.read_csv(path, usecols=columns, engine="pyarrow")
        except Exception:  # noqa: BLE001 - fall back to the C reader, which names what is missing
            frame = pd.read_csv(path, usecols=lambda c: c in columns)
    else:
        frames = [read_csv(s, columns, what) for s in source]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} is missing column(s) {missing}; expected {columns} "
                          f"(got {list(frame.columns)})")
    return frame


def pick_symbol(frame: pd.DataFrame, symbol: str | None, what: str) -> pd.DataFrame:
    """The rows of ``symbol`` (None: the only symbol present), naming ``what`` on failure."""
    if "symbol" not in frame.columns:
        return frame
    column = frame["symbol"].astype(str)
    symbols = pd.unique(column)
    if symbol is None:
        if len(symbols) > 1:
            raise ValueError(f"{what} holds several symbols {sorted(symbols)[:10]}; "
                             f"pass symbol=...")
        return frame
    if len(symbols) == 1 and symbols[0] == symbol:
        return frame
    if len(frame) and symbol not in set(symbols):
        raise ValueError(f"{what} has no rows for symbol {symbol!r}; it has {sorted(symbols)[:10]}")
    return frame[column == symbol]


def sides(values: pd.Series, what: str, unknown: bool = False) -> np.ndarray:
    """Aggressor sides (``Buy``/``Sell``, any case) as +1/-1; ``unknown`` allows 0 for unknown."""
    text = values.astype(str).str.lower().to_numpy()
    side = np.where(text == "buy", 1, np.where(text == "sell", -1, 0))
    bad = np.flatnonzero((side == 0) & ~(unknown & (text == "unknown")))
    if len(bad):
        expected = "buy, sell or unknown" if unknown else "Buy or Sell"
        raise SchemaError(f"{what} column 'side' must be {expected}, got "
                          f"{values.iloc[bad[0]]!r} at row {int(bad[0])}")
    return side


def load_symbol(source, columns: Iterable[str], symbol: str | None, what: str) -> pd.DataFrame:
    """The rows of ``symbol`` in CSV file(s) or a frame with ``columns``."""
    return pick_symbol(read_csv(source, columns, what), symbol, what)


def trade_frame(frame: pd.DataFrame, time: np.ndarray) -> pd.DataFrame:
    """Dump-style trade columns (``side,size,price``) with their times as int64 UTC ns."""
    return pd.DataFrame({
        "time": time,
        "side": sides(frame["side"], "trades"),
        "size": frame["size"].to_numpy(dtype=np.float64),
        "price": frame["price"].to_numpy(dtype=np.float64),
    })


def quote_frame(frame: pd.DataFrame, time: np.ndarray) -> pd.DataFrame:
    """Dump-style quote columns (``bidSize,bidPrice,askPrice,askSize``) under TAQ names."""
    return pd.DataFrame({
        "time": time,
        "bid_price": frame["bidPrice"].to_numpy(dtype=np.float64),
        "bid_amount": frame["bidSize"].to_numpy(dtype=np.float64),
        "ask_price": frame["askPrice"].to_numpy(dtype=np.float64),
        "ask_amount": frame["askSize"].to_numpy(dtype=np.float64),
    })


def merge(trades: pd.DataFrame, quotes: pd.DataFrame, clean: bool,
           trade_local=None, quote_local=None) -> pd.DataFrame:
    """Frames from :func:`trade_frame` and :func:`quote_frame` to a validated TAQ frame (with the
    receive times of each, a ``local_time`` column)."""
    taq = build_taq(trades["time"], trades["side"], trades["size"], trades["price"],
                    quotes["time"], quotes["bid_price"], quotes["bid_amount"],
                    quotes["ask_price"], quotes["ask_amount"], drop_bad_quotes=clean,
                    trade_local=trade_local, quote_local=quote_local)
    return validate_taq(taq, clean=clean)


#: The receive-time column of capture files: int64 UTC nanoseconds at which each message
#: arrived at the recorder.
LOCAL = "local_timestamp_ns"


def clock_times(frame: pd.DataFrame, clock: str) -> np.ndarray:
    """The exchange's timestamps or, with ``clock="local"``, the capture's receive times."""
    if clock == "exchange":
        return parse_time(frame["timestamp"])
    return frame[LOCAL].to_numpy(dtype=np.int64)


def received_to_taq(trades, quotes, symbol: str | None, clock: str, clean: bool,
                     local_time: bool | None) -> pd.DataFrame:
    """Dump-style trades and quotes that also carry each message's receive time (``LOCAL``)
    to a validated TAQ frame: by exchange time or, with ``clock="local"``, by receive time;
    ``local_time`` keeps the receive times as a ``local_time`` column (None: with exchange
    times)."""
    if clock not in ("exchange", "local"):
        raise ValueError(f"clock must be 'exchange' or 'local', got {clock!r}")
    if local_time is None:
        local_time = clock == "exchange"
    if local_time and clock == "local":
        raise ValueError("local_time=True keeps receive times beside exchange times; with "
                         "clock='local' the index already is the receive time")
    extra = (LOCAL,) if clock == "local" or local_time else ()
    t = load_symbol(trades, TRADE_COLUMNS + extra, symbol, "trades")
    q = load_symbol(quotes, QUOTE_COLUMNS + extra, symbol, "quotes")
    received = (clock_times(t, "local"), clock_times(q, "local")) if local_time else (None, None)
    return merge(trade_frame(t, clock_times(t, clock)), quote_frame(q, clock_times(q, clock)),
                 clean, *received)


def concat(frames: list[pd.DataFrame], symbol: str | None, what: str) -> pd.DataFrame:
    """The frames read from several files as one, with the rows of ``symbol`` only."""
    frame = pick_symbol(pd.concat(frames, ignore_index=True), symbol, what)
    return frame.reset_index(drop=True)


