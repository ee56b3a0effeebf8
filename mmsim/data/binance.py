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

:func:`read_raw` and :func:`raw_to_taq` read the raw captures those CSVs were derived from
(``raw/*.gz``: one ``<receive ns> <JSON>`` line per websocket message) and give the same rows.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from mmsim.data import _capture
from mmsim.data.merge import LOCAL, concat, received_to_taq

__all__ = ["to_taq", "read_raw", "raw_to_taq"]


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
    return received_to_taq(trades, quotes, symbol, clock, clean, local_time)


# ---- the raw websocket captures --------------------------------------------------------

#: How a line of an hftbacktest capture looks, for errors.
RAW_LINE = "'<receive time in ns> <JSON message>'"

#: Fields read from each stream's ``data`` (all required); prices and sizes come as strings.
#: A trade's id is ``t`` on the trade stream and ``a`` on the aggTrade stream.
_STREAMS = {
    "bookTicker": {"s": "string", "b": "string", "B": "string", "a": "string", "A": "string",
                   "E": "int64", "u": "int64"},
    "trade": {"s": "string", "p": "string", "q": "string", "T": "int64", "m": "bool",
              "t": "int64"},
    "aggTrade": {"s": "string", "p": "string", "q": "string", "T": "int64", "m": "bool",
                 "a": "int64"},
}


def _stream(log, stream: str):
    """The ``data`` of one stream's messages in a capture, with their line numbers and
    receive times."""
    data = pa.struct([pa.field(name, pa.type_for_alias(kind), False)
                      for name, kind in _STREAMS[stream].items()])
    schema = pa.schema([pa.field("data", data, False)])
    lines, received, texts = log.messages(b'@%s"' % stream.encode())
    parsed = _capture.parse_messages(log.path, lines, texts, schema, stream)
    return parsed.column("data").combine_chunks(), lines, received


def _numbers(log, data, lines, stream: str):
    """A reader of the price and size fields of a stream's ``data`` (strings) as float64."""
    return lambda name: _capture.numbers(log.path, lines, data.field(name), name, stream)


def _ms(values: np.ndarray) -> pd.DatetimeIndex:
    """Binance's millisecond times as UTC datetimes."""
    return pd.DatetimeIndex(values.astype("M8[ms]").astype("M8[ns]")).tz_localize("UTC")


def _raw_file(path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The trades and bookTicker quotes of one capture file."""
    log = _capture.Log(path, b" ", 0, RAW_LINE)
    data, lines, received = _stream(log, "bookTicker")
    num = _numbers(log, data, lines, "bookTicker")
    quotes = pd.DataFrame({
        "timestamp": _ms(data.field("E").to_numpy()),
        "symbol": data.field("s").to_numpy(zero_copy_only=False),
        "bidSize": num("B"), "bidPrice": num("b"), "askPrice": num("a"), "askSize": num("A"),
        "update_id": data.field("u").to_numpy(),
        LOCAL: received,
    })
    stream, ident = "trade", "t"
    data, lines, received = _stream(log, stream)
    if not len(data):  # a capture of aggregate trades only
        stream, ident = "aggTrade", "a"
        data, lines, received = _stream(log, stream)
    num = _numbers(log, data, lines, stream)
    trades = pd.DataFrame({
        "timestamp": _ms(data.field("T").to_numpy()),
        "symbol": data.field("s").to_numpy(zero_copy_only=False),
        # m: the buyer was the maker, so the seller was the aggressor
        "side": np.where(data.field("m").to_numpy(zero_copy_only=False), "Sell", "Buy"),
        "size": num("q"), "price": num("p"),
        "trade_id": data.field(ident).to_numpy(),
        LOCAL: received,
    })
    return trades, quotes


def read_raw(source, symbol: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the trades and bookTicker quotes of raw Binance websocket captures.

    The captures are hftbacktest's: gzip text, one received message a line,
    ``<receive time in ns> <JSON>``, the JSON being Binance's combined-stream envelope
    ``{"stream": "<symbol>@<stream>", "data": {...}}``. The ``bookTicker`` messages give the
    quotes and the ``trade`` messages the trades (a capture without them: its ``aggTrade``
    messages). Depth updates (``@depth``) and the REST depth snapshot (the line without a
    stream) are ignored, not even parsed.

    Parameters
    ----------
    source : str, os.PathLike or list of them
        Capture file(s), gzip or plain; several (a capture split by day) are read in the
        order given.
    symbol : str, optional
        Symbol to keep (``BTCUSDT``); by default the only one present.

    Returns
    -------
    (pandas.DataFrame, pandas.DataFrame)
        One row per message, in the layout of the ``*_trades.csv.gz`` and
        ``*_quotes.csv.gz`` files that :func:`to_taq` reads (which takes these frames too),
        except that ``timestamp`` is a UTC datetime. Trades: ``timestamp`` (trade time ``T``),
        ``symbol``, ``side`` (the aggressor: ``Sell`` when the buyer was the maker), ``size``,
        ``price``, ``trade_id``, ``local_timestamp_ns``. Quotes: ``timestamp`` (event time
        ``E``), ``symbol``, ``bidSize``, ``bidPrice``, ``askPrice``, ``askSize``,
        ``update_id``, ``local_timestamp_ns``.

    Raises
    ------
    FileNotFoundError
        If a file does not exist.
    SchemaError
        Naming the file and line of the first line that is not ``<ns> <JSON>``, or of a
        bookTicker or trade message that lacks a field or holds a value of the wrong kind.

    Examples
    --------
    >>> trades, quotes = read_raw(["cm_btcusd_perp_20240808.gz",
    ...                            "cm_btcusd_perp_20240809.gz"])  # doctest: +SKIP
    """
    read = [_raw_file(path) for path in _capture.paths(source, "capture")]
    return (concat([t for t, _ in read], symbol, "trades"),
            concat([q for _, q in read], symbol, "quotes"))


def raw_to_taq(source, symbol: str | None = None, *, clock: str = "exchange",
               local_time: bool | None = None, clean: bool = False) -> pd.DataFrame:
    """Convert raw Binance websocket captures (hftbacktest's) to a TAQ frame.

    The trades and quotes of :func:`read_raw` merged as :func:`to_taq` merges the CSVs
    derived from the same captures, with the same result; depth updates are ignored.

    Parameters
    ----------
    source : str, os.PathLike or list of them
        Capture file(s), in order.
    symbol : str, optional
        Symbol to keep; by default the only one present.
    clock : {"exchange", "local"}
        Index by the exchange's timestamps or by the receive times (see :func:`to_taq`).
    local_time : bool, optional
        Keep the receive times as a ``local_time`` column (see :func:`to_taq`); by default,
        yes with ``clock="exchange"``.
    clean : bool
        Drop bad quotes and rows that break the TAQ schema instead of raising.

    Returns
    -------
    pandas.DataFrame
        A validated TAQ frame with a UTC index, ``local_time`` last when kept.

    Examples
    --------
    >>> taq = raw_to_taq("usdm_btcusdt_20240808.gz")  # doctest: +SKIP
    """
    return received_to_taq(*read_raw(source, symbol), None, clock, clean, local_time)
