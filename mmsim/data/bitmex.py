"""BitMEX public daily dumps to TAQ, and downloading them.

BitMEX publishes one gzipped CSV of trades and one of quotes per UTC day, every symbol in one
file, at ``<base_url>/trade/YYYYMMDD.csv.gz`` and ``<base_url>/quote/YYYYMMDD.csv.gz``:

* trades: ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,
  homeNotional,foreignNotional`` (``side`` is the aggressor: ``Buy`` or ``Sell``);
* quotes: ``timestamp,symbol,bidSize,bidPrice,askPrice,askSize``;

with timestamps like ``2019-03-20D00:00:05.698000000`` (UTC). :func:`to_taq` turns a pair into
a TAQ frame the way the notebook did:

1. fills that share a timestamp and a side are one aggressive order: they become one row with
   the summed signed size and the VWAP price (off the tick grid when the order swept levels:
   the notebook's ``3996.371527, -998859``);
2. each trade row carries the quote in force *before* it: the last quote with an earlier
   timestamp (a quote stamped with the same timestamp as a trade is taken to be its result);
3. every change of the quote becomes a quote-only row (``amount`` 0, ``price`` NaN); at equal
   timestamps trade rows come first.

:func:`build_taq` does steps 1-3 on plain arrays and is shared by the Binance and tardis.dev
converters.
"""
from __future__ import annotations

import datetime as _dt
import http.client
import logging
import os
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mmsim.data import _capture
from mmsim.data.schema import QUOTE_COLUMNS as TAQ_QUOTE_COLUMNS
from mmsim.data.schema import TAQ_COLUMNS, SchemaError, funding_rates, validate_taq

log = logging.getLogger("mmsim.data")

__all__ = ["to_taq", "convert_days", "build_taq", "read_trades", "read_quotes", "read_funding",
           "parse_time", "read_cryptofeed", "cryptofeed_to_taq",
           "download", "BASE_URL", "API_URL"]

#: Where BitMEX serves its public daily dumps.
BASE_URL = "https://public.bitmex.com/data"

#: BitMEX's REST API, which serves the funding history (``/funding``).
API_URL = "https://www.bitmex.com/api/v1"

#: Records per request of the funding history: the API's largest page.
FUNDING_PAGE = 500

TRADE_COLUMNS = ("timestamp", "symbol", "side", "size", "price")
QUOTE_COLUMNS = ("timestamp", "symbol", "bidSize", "bidPrice", "askPrice", "askSize")

#: Seconds before the first retry of a failed download; doubled at each further one (max 10).
RETRY_DELAY = 0.5


# ---- building TAQ from trades and quotes -----------------------------------------------

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


# ---- reading dumps ---------------------------------------------------------------------

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
    times, row = _parse_times(values)
    if row is not None:
        raise SchemaError(f"cannot parse timestamps such as {values.iloc[row]!r} (row {row}); "
                          f"expected times like '2019-03-20D00:00:05.698000000' or ISO 8601")
    return times


def _parse_times(values: pd.Series) -> tuple[np.ndarray, int | None]:
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


def _read_csv(source, columns: Iterable[str], what: str) -> pd.DataFrame:
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
        frames = [_read_csv(s, columns, what) for s in source]
        frame = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise SchemaError(f"{what} is missing column(s) {missing}; expected {columns} "
                          f"(got {list(frame.columns)})")
    return frame


def _pick_symbol(frame: pd.DataFrame, symbol: str | None, what: str) -> pd.DataFrame:
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


def _sides(values: pd.Series, what: str, unknown: bool = False) -> np.ndarray:
    """Aggressor sides (``Buy``/``Sell``, any case) as +1/-1; ``unknown`` allows 0 for unknown."""
    text = values.astype(str).str.lower().to_numpy()
    side = np.where(text == "buy", 1, np.where(text == "sell", -1, 0))
    bad = np.flatnonzero((side == 0) & ~(unknown & (text == "unknown")))
    if len(bad):
        expected = "buy, sell or unknown" if unknown else "Buy or Sell"
        raise SchemaError(f"{what} column 'side' must be {expected}, got "
                          f"{values.iloc[bad[0]]!r} at row {int(bad[0])}")
    return side


def _load(source, columns: Iterable[str], symbol: str | None, what: str) -> pd.DataFrame:
    """The rows of ``symbol`` in CSV file(s) or a frame with ``columns``."""
    return _pick_symbol(_read_csv(source, columns, what), symbol, what)


def _trades(frame: pd.DataFrame, time: np.ndarray) -> pd.DataFrame:
    """Dump-style trade columns (``side,size,price``) with their times as int64 UTC ns."""
    return pd.DataFrame({
        "time": time,
        "side": _sides(frame["side"], "trades"),
        "size": frame["size"].to_numpy(dtype=np.float64),
        "price": frame["price"].to_numpy(dtype=np.float64),
    })


def _quotes(frame: pd.DataFrame, time: np.ndarray) -> pd.DataFrame:
    """Dump-style quote columns (``bidSize,bidPrice,askPrice,askSize``) under TAQ names."""
    return pd.DataFrame({
        "time": time,
        "bid_price": frame["bidPrice"].to_numpy(dtype=np.float64),
        "bid_amount": frame["bidSize"].to_numpy(dtype=np.float64),
        "ask_price": frame["askPrice"].to_numpy(dtype=np.float64),
        "ask_amount": frame["askSize"].to_numpy(dtype=np.float64),
    })


def read_trades(source, symbol: str | None = "XBTUSD") -> pd.DataFrame:
    """Read BitMEX dump trades for one symbol.

    Parameters
    ----------
    source : str, os.PathLike, list of them, or pandas.DataFrame
        Trade CSV file(s) (``.csv`` or ``.csv.gz``) or an already loaded frame.
    symbol : str or None
        Symbol to keep; None keeps the only one present.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (int64 UTC ns), ``side`` (+1/-1), ``size``, ``price``.
    """
    frame = _load(source, TRADE_COLUMNS, symbol, "trades")
    return _trades(frame, parse_time(frame["timestamp"]))


def read_quotes(source, symbol: str | None = "XBTUSD") -> pd.DataFrame:
    """Read BitMEX dump quotes for one symbol.

    Parameters
    ----------
    source : str, os.PathLike, list of them, or pandas.DataFrame
        Quote CSV file(s) (``.csv`` or ``.csv.gz``) or an already loaded frame.
    symbol : str or None
        Symbol to keep; None keeps the only one present.

    Returns
    -------
    pandas.DataFrame
        Columns ``time`` (int64 UTC ns), ``bid_price``, ``bid_amount``, ``ask_price``,
        ``ask_amount``.
    """
    frame = _load(source, QUOTE_COLUMNS, symbol, "quotes")
    return _quotes(frame, parse_time(frame["timestamp"]))


#: Columns of BitMEX's funding history (the ``/api/v1/funding`` endpoint, CSV or JSON).
FUNDING_COLUMNS = ("timestamp", "symbol", "fundingRate")


def read_funding(source, symbol: str | None = "XBTUSD") -> pd.DataFrame:
    """Read BitMEX funding history as :func:`mmsim.backtest` takes it (``funding=``).

    BitMEX publishes every funding event of its perpetuals (``/api/v1/funding``, as JSON or
    with ``_format=csv``): ``timestamp, symbol, fundingInterval, fundingRate,
    fundingRateDaily``. XBTUSD funds every 8 hours, at 04:00, 12:00 and 20:00 UTC.

    Parameters
    ----------
    source : str, os.PathLike, list of them, or pandas.DataFrame
        CSV file(s) (``.csv`` or ``.csv.gz``), JSON file(s) (``.json``, a list of records),
        or a frame with those columns (others are ignored).
    symbol : str or None, default "XBTUSD"
        Symbol to keep; None keeps the only one present.

    Returns
    -------
    pandas.DataFrame
        ``rate`` (funding rate of the interval; positive: longs pay shorts) by a UTC
        ``time`` index, sorted.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    SchemaError
        If a column is missing, a time does not parse, or a rate is not a finite number.
    """
    if isinstance(source, (str, os.PathLike)) and str(source).endswith(".json"):
        path = Path(source)
        if not path.exists():
            raise FileNotFoundError(f"no such funding file: {path}")
        import json

        # json parses numbers exactly; pandas' JSON reader rounds some (5e-06 to 4.999...e-06).
        with open(path, encoding="utf-8") as fh:
            source = pd.DataFrame(json.load(fh))
    frame = _pick_symbol(_read_csv(source, FUNDING_COLUMNS, "funding"), symbol, "funding")
    time = parse_time(frame["timestamp"])
    rate = funding_rates(frame, "fundingRate")
    order = np.argsort(time, kind="stable")
    index = pd.DatetimeIndex(time[order].view("M8[ns]"), name="time").tz_localize("UTC")
    return pd.DataFrame({"rate": rate[order]}, index=index)


def _merge(trades: pd.DataFrame, quotes: pd.DataFrame, clean: bool,
           trade_local=None, quote_local=None) -> pd.DataFrame:
    """Frames from :func:`_trades` and :func:`_quotes` to a validated TAQ frame (with the
    receive times of each, a ``local_time`` column)."""
    taq = build_taq(trades["time"], trades["side"], trades["size"], trades["price"],
                    quotes["time"], quotes["bid_price"], quotes["bid_amount"],
                    quotes["ask_price"], quotes["ask_amount"], drop_bad_quotes=clean,
                    trade_local=trade_local, quote_local=quote_local)
    return validate_taq(taq, clean=clean)


def to_taq(trades, quotes, symbol: str | None = "XBTUSD", *, clean: bool = False) -> pd.DataFrame:
    """Convert BitMEX trade and quote dumps to a TAQ frame.

    Parameters
    ----------
    trades, quotes : str, os.PathLike, list of them, or pandas.DataFrame
        Dump CSV file(s) (``.csv.gz`` as downloaded, or plain ``.csv``), or frames with the
        dump columns (``timestamp,symbol,side,size,price`` and
        ``timestamp,symbol,bidSize,bidPrice,askPrice,askSize``; other columns are ignored).
    symbol : str or None, default "XBTUSD"
        Symbol to keep (the dumps hold every symbol); None keeps the only one present.
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
    >>> taq = to_taq("trade/20190320.csv.gz", "quote/20190320.csv.gz")  # doctest: +SKIP
    """
    return _merge(read_trades(trades, symbol), read_quotes(quotes, symbol), clean)


#: The receive-time column of capture files: int64 UTC nanoseconds at which each message
#: arrived at the recorder.
LOCAL = "local_timestamp_ns"


def _times(frame: pd.DataFrame, clock: str) -> np.ndarray:
    """The exchange's timestamps or, with ``clock="local"``, the capture's receive times."""
    if clock == "exchange":
        return parse_time(frame["timestamp"])
    return frame[LOCAL].to_numpy(dtype=np.int64)


def _received_to_taq(trades, quotes, symbol: str | None, clock: str, clean: bool,
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
    t = _load(trades, TRADE_COLUMNS + extra, symbol, "trades")
    q = _load(quotes, QUOTE_COLUMNS + extra, symbol, "quotes")
    received = (_times(t, "local"), _times(q, "local")) if local_time else (None, None)
    return _merge(_trades(t, _times(t, clock)), _quotes(q, _times(q, clock)), clean, *received)


# ---- cryptofeed's websocket log --------------------------------------------------------

#: How a cryptofeed log line looks, for errors.
CRYPTOFEED_LINE = "'<receive time in s>: <JSON message>'"

#: The fields of a ``trade`` and a ``quote`` record; quote prices and sizes may be null (a
#: side of the book empty), which gives NaN as in the dumps.
_CRYPTOFEED_FIELDS = {
    "trade": [("timestamp", "string", False), ("symbol", "string", False),
              ("side", "string", False), ("size", "double", False), ("price", "double", False)],
    "quote": [("timestamp", "string", False), ("symbol", "string", False),
              ("bidSize", "double", True), ("bidPrice", "double", True),
              ("askPrice", "double", True), ("askSize", "double", True)],
}


def _cryptofeed_table(log, table: str) -> pd.DataFrame:
    """The records of one table (``trade`` or ``quote``) of a cryptofeed log, one row each,
    with the receive time of the message that brought it."""
    record = pa.struct([pa.field(name, pa.type_for_alias(kind), nullable)
                        for name, kind, nullable in _CRYPTOFEED_FIELDS[table]])
    schema = pa.schema([pa.field("table", pa.string(), False),
                        pa.field("action", pa.string(), False),
                        pa.field("data", pa.list_(record), False)])
    lines, received, texts = log.messages(b'"table":"%s"' % table.encode())
    parsed = _capture.parse_messages(log.path, lines, texts, schema, table)
    mine = parsed.column("table").to_numpy(zero_copy_only=False) == table
    action = parsed.column("action").to_numpy(zero_copy_only=False)
    # quote and trade are insert-only tables: a partial (the state at subscription), then
    # inserts; anything else is not a record of them.
    wrong = np.flatnonzero(mine & ~np.isin(action, ["partial", "insert"]))
    if len(wrong):
        raise _capture.bad_line(log.path, int(lines[wrong[0]]),
                                f"action 'partial' or 'insert' of a {table} message",
                                str(action[wrong[0]]))
    data = parsed.column("data").combine_chunks()
    records = pc.list_flatten(data)
    parent = pc.list_parent_indices(data).to_numpy()
    keep = mine[parent]
    parent = parent[keep]
    frame = pd.DataFrame({name: records.field(name).to_numpy(zero_copy_only=False)[keep]
                          for name, _, _ in _CRYPTOFEED_FIELDS[table]})
    times, bad = _parse_times(frame["timestamp"])
    if bad is not None:
        raise _capture.bad_line(log.path, int(lines[parent[bad]]),
                                f"field 'timestamp' of a {table} record to be an ISO 8601 time",
                                frame["timestamp"].iloc[bad])
    if table == "trade":
        wrong = np.flatnonzero(~frame["side"].isin(["Buy", "Sell"]).to_numpy())
        if len(wrong):
            raise _capture.bad_line(log.path, int(lines[parent[wrong[0]]]),
                                    "field 'side' of a trade record to be 'Buy' or 'Sell'",
                                    frame["side"].iloc[wrong[0]])
    frame["timestamp"] = pd.DatetimeIndex(times.view("M8[ns]")).tz_localize("UTC")
    frame[LOCAL] = received[parent]
    return frame


def read_cryptofeed(source, symbol: str | None = "XBTUSD") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the trades and quotes of a cryptofeed BitMEX websocket log.

    cryptofeed's raw data recorder writes one line per received message,
    ``<receive time in epoch seconds>: <JSON message>``, and notes of its own that start
    with the endpoint (``wss://www.bitmex.com/realtime <-> ...`` on connecting, ``... <-``
    before each message it sent), which are skipped. Of the messages, the records of the
    ``trade`` and ``quote`` tables are kept (the subscription's ``partial`` and every
    ``insert``); ``orderBookL2`` and the rest are not read.

    Parameters
    ----------
    source : str, os.PathLike or list of them
        Log file(s), plain or gzip; several are read in the order given.
    symbol : str or None, default "XBTUSD"
        Symbol to keep (a log may hold several); None keeps the only one present.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        Trades (``timestamp, symbol, side, size, price``) and quotes (``timestamp, symbol,
        bidSize, bidPrice, askPrice, askSize``), one row per record, in the layout of the
        dumps (:func:`to_taq` and :func:`cryptofeed_to_taq` take them) except that
        ``timestamp`` is a UTC datetime, plus ``local_timestamp_ns``: the receive time of the
        message (int64 UTC nanoseconds, read exactly from its decimal seconds).

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    SchemaError
        Naming the file and line of the first line that is not a message, or of a trade or
        quote message that lacks a field or holds a value of the wrong kind.
    """
    trades, quotes = [], []
    for path in _capture.paths(source, "capture"):
        log = _capture.Log(path, b": ", 9, CRYPTOFEED_LINE, skip=b"wss://")
        trades.append(_cryptofeed_table(log, "trade"))
        quotes.append(_cryptofeed_table(log, "quote"))
    return _concat(trades, symbol, "trades"), _concat(quotes, symbol, "quotes")


def _concat(frames: list[pd.DataFrame], symbol: str | None, what: str) -> pd.DataFrame:
    """The frames read from several files as one, with the rows of ``symbol`` only."""
    frame = _pick_symbol(pd.concat(frames, ignore_index=True), symbol, what)
    return frame.reset_index(drop=True)


def cryptofeed_to_taq(source, symbol: str | None = "XBTUSD", *, clock: str = "exchange",
                      local_time: bool | None = None, clean: bool = False) -> pd.DataFrame:
    """Convert a cryptofeed BitMEX websocket log to a TAQ frame.

    The trades and quotes of :func:`read_cryptofeed` merged as :func:`to_taq` merges the
    dumps, receive times kept; ``orderBookL2`` messages are not read.

    Parameters
    ----------
    source : str, os.PathLike or list of them
        Log file(s), plain or gzip.
    symbol : str or None, default "XBTUSD"
        Symbol to keep; None keeps the only one present.
    clock, local_time, clean
        As for :func:`mmsim.data.binance.raw_to_taq`: the index on exchange or receive
        times, the receive times kept as a ``local_time`` column (by default with exchange
        times), bad rows dropped instead of raising.

    Returns
    -------
    pandas.DataFrame
        The validated TAQ frame.

    Examples
    --------
    >>> taq = cryptofeed_to_taq("raw_BITMEX.ws.1.0.txt")  # doctest: +SKIP
    """
    return _received_to_taq(*read_cryptofeed(source, symbol), None, clock, clean, local_time)


def dump_days(source: str | os.PathLike) -> list[tuple[str, Path, Path]]:
    """Days with both a trade and a quote dump in a :func:`download` directory.

    Parameters
    ----------
    source : str or os.PathLike
        Directory with ``trade/YYYYMMDD.csv.gz`` and ``quote/YYYYMMDD.csv.gz`` (or ``.csv``).

    Returns
    -------
    list of (str, pathlib.Path, pathlib.Path)
        ``(YYYYMMDD, trade file, quote file)`` in date order.

    Raises
    ------
    FileNotFoundError
        If ``source`` lacks the ``trade/`` or the ``quote/`` folder.
    """
    source = Path(source)
    found = {}
    for kind in ("trade", "quote"):
        folder = source / kind
        if not folder.is_dir():
            raise FileNotFoundError(f"{source} has no {kind}/ folder (expected the layout of "
                                    f"mmsim.data.bitmex.download: {kind}/YYYYMMDD.csv.gz)")
        for path in folder.iterdir():
            day = path.name.split(".")[0]
            if len(day) == 8 and day.isdigit() and path.name.endswith((".csv", ".csv.gz")):
                found.setdefault(day, {})[kind] = path
    return [(day, f["trade"], f["quote"]) for day, f in sorted(found.items()) if len(f) == 2]


def convert_days(
    source: str | os.PathLike,
    dest: str | os.PathLike,
    symbol: str | None = "XBTUSD",
    *,
    clean: bool = False,
    progress: bool = True,
) -> tuple[int, pd.Timestamp | None, pd.Timestamp | None]:
    """Convert a :func:`download` directory day by day into a directory of daily TAQ files.

    One day is in memory at a time, so a year converts in constant memory. The last quote of
    each day is carried into the next: trades before a day's first quote get it, as they would
    if the days were converted together.

    Parameters
    ----------
    source : str or os.PathLike
        Directory with ``trade/YYYYMMDD.csv.gz`` and ``quote/YYYYMMDD.csv.gz``.
    dest : str or os.PathLike
        Output directory of daily Parquet files (see :func:`mmsim.data.io.write_taq`).
    symbol : str or None, default "XBTUSD"
    clean : bool
        Drop rows that break the schema instead of raising.
    progress : bool
        Show a tqdm bar over days.

    Returns
    -------
    (int, pandas.Timestamp or None, pandas.Timestamp or None)
        Rows written, first and last time.
    """
    from tqdm.auto import tqdm

    from mmsim.data.io import write_taq

    days = dump_days(source)
    if not days:
        raise FileNotFoundError(f"{source} has no day with both a trade and a quote dump")
    quote_cols = list(TAQ_QUOTE_COLUMNS)
    rows, first, last = 0, None, None
    carry = None  # last quote of the previous day
    for day, trade_file, quote_file in tqdm(days, desc="convert", unit="day", disable=not progress):
        taq = to_taq(trade_file, quote_file, symbol, clean=clean)
        if not len(taq):
            continue
        quotes = taq[quote_cols].to_numpy(copy=True)
        # A valid TAQ frame has no quote at all before its first quote and a full one after.
        unquoted = np.isnan(quotes[:, 0])
        lead = len(taq) if unquoted.all() else int(np.argmin(unquoted))
        if lead and carry is not None:
            quotes[:lead] = carry
            taq = taq.copy()
            taq[quote_cols] = quotes
        if lead < len(taq):
            carry = quotes[-1]
        write_taq(taq, dest, by_day=True)
        rows += len(taq)
        first = taq.index[0] if first is None else first
        last = taq.index[-1]
    return rows, first, last


# ---- downloading -----------------------------------------------------------------------

def _dates(start_date, end_date) -> list[_dt.date]:
    start = pd.Timestamp(start_date).date()
    end = pd.Timestamp(end_date).date()
    if end < start:
        raise ValueError(f"end_date {end} is before start_date {start}")
    return [start + _dt.timedelta(days=k) for k in range((end - start).days + 1)]


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _fetch(url: str, target: Path, timeout: float, retries: int, bar) -> None:
    """Download ``url`` to ``target`` through ``target.part``, resuming a partial download.

    ``bar`` is a tqdm bar counting the file's bytes."""
    part = target.with_name(target.name + ".part")
    for attempt in range(retries + 1):
        have = part.stat().st_size if part.exists() else 0
        request = urllib.request.Request(url, headers={"User-Agent": "mmsim"})
        if have:
            request.add_header("Range", f"bytes={have}-")
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status = getattr(response, "status", 200)
                if have and status != 206:  # the server ignored the range: start over
                    have = 0
                length = response.headers.get("Content-Length")
                expected = have + int(length) if length is not None else None
                bar.reset(total=expected)  # a retry starts from what is on disk
                bar.update(have)
                with open(part, "ab" if have else "wb") as out:
                    while True:
                        try:
                            chunk = response.read(1 << 20)
                        except http.client.IncompleteRead as exc:  # keep what arrived
                            out.write(exc.partial)
                            raise
                        if not chunk:
                            break
                        out.write(chunk)
                        bar.update(len(chunk))
            size = part.stat().st_size
            if expected is not None and size != expected:
                raise OSError(f"incomplete download of {url}: {size} of {expected} bytes")
            os.replace(part, target)
            return
        except urllib.error.HTTPError as exc:
            if exc.code == 416 and have:  # range beyond the end: the part file is complete
                os.replace(part, target)
                return
            if exc.code == 404:
                raise FileNotFoundError(f"{url} not found (404): no dump for that day?") from exc
            if attempt == retries:
                raise
        except (http.client.HTTPException, OSError):  # URLError and timeouts are OSErrors
            if attempt == retries:
                raise
        time.sleep(min(RETRY_DELAY * 2.0**attempt, 10.0))


def download(
    start_date,
    end_date,
    dest: str | os.PathLike,
    *,
    base_url: str = BASE_URL,
    kinds: Iterable[str] = ("trade", "quote"),
    api_url: str = API_URL,
    symbol: str = "XBTUSD",
    progress: bool = True,
    timeout: float = 60.0,
    retries: int = 3,
) -> list[Path]:
    """Download BitMEX daily trade and quote dumps, and the funding history, for
    ``start_date`` to ``end_date`` (inclusive).

    Dumps land in ``dest/trade/YYYYMMDD.csv.gz`` and ``dest/quote/YYYYMMDD.csv.gz``. Days whose
    file is already there are skipped; an interrupted download resumes from its ``.part`` file
    (with an HTTP range request) the next time. The funding history of ``symbol`` over the
    range (kind ``"funding"``, from the REST API, which pages it) lands in one file,
    ``dest/funding/SYMBOL-YYYYMMDD-YYYYMMDD.json``, that :func:`read_funding` reads.

    Parameters
    ----------
    start_date, end_date : str, datetime.date or pandas.Timestamp
        First and last UTC day.
    dest : str or os.PathLike
        Destination directory (created if needed).
    base_url : str
        Server root of the dumps; they are fetched from ``{base_url}/{kind}/{YYYYMMDD}.csv.gz``.
    kinds : iterable of str
        Any of ``"trade"``, ``"quote"`` and ``"funding"``.
    api_url : str
        REST API root; the funding history is fetched from ``{api_url}/funding``.
    symbol : str, default "XBTUSD"
        Symbol of the funding history (the dumps hold every symbol).
    progress : bool
        Show a tqdm progress bar (bytes) per file.
    timeout : float
        Seconds before a stalled connection is abandoned.
    retries : int
        Further attempts after a failed one (each resumes where the last stopped).

    Returns
    -------
    list of pathlib.Path
        Every file of the range, downloaded now or already present: the dumps in date order,
        then the funding file.

    Raises
    ------
    FileNotFoundError
        If the server has no file for a day (HTTP 404).
    """
    from tqdm.auto import tqdm

    dest = Path(dest)
    kinds = list(kinds)
    for kind in kinds:
        if kind not in ("trade", "quote", "funding"):
            raise ValueError(f"kinds must be any of 'trade', 'quote' and 'funding', got {kind!r}")
    days = _dates(start_date, end_date)
    paths = []
    for day in days:
        for kind in kinds:
            if kind == "funding":
                continue
            name = f"{day:%Y%m%d}.csv.gz"
            target = dest / kind / name
            paths.append(target)
            if target.exists():
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            url = f"{base_url.rstrip('/')}/{kind}/{name}"
            with tqdm(desc=f"{kind} {day}", unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, leave=False) as bar:
                _fetch(url, target, timeout, retries, bar)
            if not _is_gzip(target):
                bad = target.with_name(target.name + ".bad")
                os.replace(target, bad)
                raise OSError(f"{url} did not return a gzip file (kept as {bad})")
    if "funding" in kinds:
        target = dest / "funding" / f"{symbol}-{days[0]:%Y%m%d}-{days[-1]:%Y%m%d}.json"
        paths.append(target)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tqdm(desc=f"funding {symbol}", unit="B", unit_scale=True, unit_divisor=1024,
                      disable=not progress, leave=False) as bar:
                _fetch_funding(api_url, symbol, days[0], days[-1], target, timeout, retries, bar)
    return paths


def _fetch_funding(api_url: str, symbol: str, first: _dt.date, last: _dt.date, target: Path,
                   timeout: float, retries: int, bar) -> None:
    """The funding history of ``symbol`` on days ``first`` to ``last``, page by page, to
    ``target`` as one JSON list of the API's records (oldest first)."""
    import json
    import urllib.parse

    records = []
    page = target.with_name(target.name + ".page")
    while True:
        query = urllib.parse.urlencode({
            "symbol": symbol, "startTime": f"{first:%Y-%m-%d}T00:00:00.000Z",
            "endTime": f"{last:%Y-%m-%d}T23:59:59.999Z", "count": FUNDING_PAGE,
            "start": len(records), "reverse": "false"})
        url = f"{api_url.rstrip('/')}/funding?{query}"
        _fetch(url, page, timeout, retries, bar)
        try:
            batch = json.loads(page.read_text(encoding="utf-8"))
        except ValueError:
            batch = None
        finally:
            page.unlink()
        if not isinstance(batch, list):
            raise OSError(f"{url} did not return a JSON list of funding records")
        records += batch
        if len(batch) < FUNDING_PAGE:
            break
    part = target.with_name(target.name + ".part")
    part.write_text(json.dumps(records), encoding="utf-8")
    os.replace(part, target)

