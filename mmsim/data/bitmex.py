"""BitMEX to TAQ: the public daily dumps, the funding history and cryptofeed's websocket log.

BitMEX publishes one gzipped CSV of trades and one of quotes per UTC day, every symbol in one
file, at ``<base_url>/trade/YYYYMMDD.csv.gz`` and ``<base_url>/quote/YYYYMMDD.csv.gz``:

* trades: ``timestamp,symbol,side,size,price,tickDirection,trdMatchID,grossValue,
  homeNotional,foreignNotional`` (``side`` is the aggressor: ``Buy`` or ``Sell``);
* quotes: ``timestamp,symbol,bidSize,bidPrice,askPrice,askSize``;

with timestamps like ``2019-03-20D00:00:05.698000000`` (UTC). :func:`to_taq` turns a pair into
a TAQ frame the way the notebook did (the merge is :func:`mmsim.data.merge.build_taq`, shared
with the other exchanges). :func:`download` (from :mod:`mmsim.data.download`) fetches the
dumps and the funding history.
"""
from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from mmsim.data import _capture
from mmsim.data.download import download
from mmsim.data.merge import (
    LOCAL,
    QUOTE_COLUMNS,
    TRADE_COLUMNS,
    concat,
    load_symbol,
    merge,
    parse_time,
    parse_times,
    pick_symbol,
    quote_frame,
    read_csv,
    received_to_taq,
    trade_frame,
)
from mmsim.data.schema import QUOTE_COLUMNS as TAQ_QUOTE_COLUMNS
from mmsim.data.schema import funding_rates

log = logging.getLogger("mmsim.data")

__all__ = ["to_taq", "convert_days", "read_trades", "read_quotes", "read_funding",
           "read_cryptofeed", "cryptofeed_to_taq", "download"]


# ---- reading dumps ---------------------------------------------------------------------

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
    frame = load_symbol(source, TRADE_COLUMNS, symbol, "trades")
    return trade_frame(frame, parse_time(frame["timestamp"]))


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
    frame = load_symbol(source, QUOTE_COLUMNS, symbol, "quotes")
    return quote_frame(frame, parse_time(frame["timestamp"]))


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
    frame = pick_symbol(read_csv(source, FUNDING_COLUMNS, "funding"), symbol, "funding")
    time = parse_time(frame["timestamp"])
    rate = funding_rates(frame, "fundingRate")
    order = np.argsort(time, kind="stable")
    index = pd.DatetimeIndex(time[order].view("M8[ns]"), name="time").tz_localize("UTC")
    return pd.DataFrame({"rate": rate[order]}, index=index)


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
    return merge(read_trades(trades, symbol), read_quotes(quotes, symbol), clean)


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
    times, bad = parse_times(frame["timestamp"])
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
    return concat(trades, symbol, "trades"), concat(quotes, symbol, "quotes")


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
    return received_to_taq(*read_cryptofeed(source, symbol), None, clock, clean, local_time)


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

