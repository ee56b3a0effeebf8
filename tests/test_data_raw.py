"""Raw websocket captures to TAQ: the same rows as the CSVs derived from them, and bad lines
named by file and line."""
import gzip
import re
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from helpers import BINANCE_DIR, BITMEX_DIR
from mmsim.data import binance, bitmex
from mmsim.data.schema import SchemaError

# The derived CSVs of each instrument and the raw captures they came from (the folder's README).
CAPTURES = {"btcusdt": ["usdm_btcusdt_20240808.gz"],
            "btcusd_perp": ["cm_btcusd_perp_20240808.gz", "cm_btcusd_perp_20240809.gz"]}
# Messages per stream, counted in the README: trade and bookTicker of each capture.
MESSAGES = {"btcusdt": (21313, 66089), "btcusd_perp": (2286 + 2949, 19136 + 29219)}


def _binance(shared, name):
    raw = [shared(*BINANCE_DIR, "raw", f) for f in CAPTURES[name]]
    return raw, shared(*BINANCE_DIR, f"{name}_trades.csv.gz"), shared(*BINANCE_DIR,
                                                                      f"{name}_quotes.csv.gz")


def _dump_times(frame):
    """A derived CSV with its dump-style timestamps parsed, as the raw readers give them."""
    frame = frame.copy()
    frame["timestamp"] = pd.to_datetime(frame["timestamp"].str.replace("D", "T"),
                                        utc=True).dt.as_unit("ns")
    return frame


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_binance_messages_are_the_rows_of_the_derived_csvs(shared, name):
    raw, trades_csv, quotes_csv = _binance(shared, name)
    trades, quotes = binance.read_raw(raw)
    assert (len(trades), len(quotes)) == MESSAGES[name]
    # Row for row and field for field: the CSVs are these messages written out (pandas reads
    # the CSVs' whole contract sizes as integers, the readers give every size as a float).
    pd.testing.assert_frame_equal(trades, _dump_times(pd.read_csv(trades_csv)), check_dtype=False)
    pd.testing.assert_frame_equal(quotes, _dump_times(pd.read_csv(quotes_csv)), check_dtype=False)


@pytest.mark.parametrize("name", sorted(CAPTURES))
def test_binance_raw_taq_is_the_csv_taq(shared, name):
    raw, trades_csv, quotes_csv = _binance(shared, name)
    taq = binance.raw_to_taq(raw)
    assert taq.columns[-1] == "local_time"
    pd.testing.assert_frame_equal(taq, binance.to_taq(trades_csv, quotes_csv, local_time=True))


def test_binance_raw_taq_on_the_receive_clock(shared):
    raw, trades_csv, quotes_csv = _binance(shared, "btcusd_perp")
    pd.testing.assert_frame_equal(binance.raw_to_taq(raw, clock="local"),
                                  binance.to_taq(trades_csv, quotes_csv, clock="local"))
    with pytest.raises(ValueError, match="with clock='local' the index already is the receive"):
        binance.raw_to_taq(raw, clock="local", local_time=True)


def test_binance_symbol_filter(shared):
    raw, _, _ = _binance(shared, "btcusdt")
    trades, quotes = binance.read_raw(raw, symbol="BTCUSDT")
    assert (len(trades), len(quotes)) == MESSAGES["btcusdt"]
    with pytest.raises(ValueError, match="no rows for symbol 'ETHUSDT'"):
        binance.read_raw(raw, symbol="ETHUSDT")


def _cryptofeed(shared):
    return (shared(*BITMEX_DIR, "raw_BITMEX.ws.1.0.txt"), shared(*BITMEX_DIR, "xbtusd_trades.csv"),
            shared(*BITMEX_DIR, "xbtusd_quotes.csv"))


def _ns(seconds: str) -> int:
    return int(Decimal(seconds) * 10**9)


def test_cryptofeed_records_are_the_rows_of_the_derived_csvs(shared):
    log, trades_csv, quotes_csv = _cryptofeed(shared)
    trades, quotes = bitmex.read_cryptofeed(log)
    for frame, path in ((trades, trades_csv), (quotes, quotes_csv)):
        csv = _dump_times(pd.read_csv(path, dtype={"recv_time": str}))
        assert len(frame) == len(csv)  # 16 trade records (the partial's one too), 286 quotes
        pd.testing.assert_frame_equal(frame.drop(columns="local_timestamp_ns"),
                                      csv[list(frame.columns[:-1])], check_dtype=False)
        # Receive times read exactly from their decimal seconds, to the nanosecond.
        assert frame["local_timestamp_ns"].tolist() == [_ns(s) for s in csv["recv_time"]]
    assert (len(trades), len(quotes)) == (16, 286)


def test_cryptofeed_taq_is_the_csv_taq(shared):
    log, trades_csv, quotes_csv = _cryptofeed(shared)
    taq = bitmex.cryptofeed_to_taq(log)
    pd.testing.assert_frame_equal(taq.drop(columns="local_time"),
                                  bitmex.to_taq(trades_csv, quotes_csv))
    # The first trade (from the subscription's partial) was received at 1626993370.145895.
    assert taq["local_time"].iloc[0] == pd.Timestamp(_ns("1626993370.145895"), tz="UTC")
    local = bitmex.cryptofeed_to_taq(log, clock="local")
    assert local.index.is_monotonic_increasing and "local_time" not in local.columns
    other = bitmex.cryptofeed_to_taq(log, symbol="ADAUSDT", local_time=False)
    assert "local_time" not in other.columns and len(other) > 0


# ---- hand-built captures ---------------------------------------------------------------

def _book(u, bid, ask, e=1723161600000, s="BTCUSDT"):
    return (f'{{"stream":"{s.lower()}@bookTicker","data":{{"e":"bookTicker","u":{u},"s":"{s}",'
            f'"b":"{bid}","B":"2.0","a":"{ask}","A":"3.0","T":{e},"E":{e}}}}}')


def _trade(t, price, size, maker, ts=1723161600050, s="BTCUSDT", stream="trade", ident="t"):
    return (f'{{"stream":"{s.lower()}@{stream}","data":{{"e":"{stream}","E":{ts},"T":{ts},'
            f'"s":"{s}","{ident}":{t},"p":"{price}","q":"{size}","X":"MARKET",'
            f'"m":{str(maker).lower()}}}}}')


DEPTH = ('{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161600010,'
         '"b":[["99.9","1.0"]],"a":[]}}')
SNAPSHOT = '{"lastUpdateId":1,"E":1723161600000,"bids":[["100.0","2.0"]],"asks":[]}'


def _write(path, lines, gz=True):
    text = "".join(line + "\n" for line in lines).encode()
    path.write_bytes(gzip.compress(text) if gz else text)
    return path


def _capture(tmp_path, *messages, gz=True):
    """A capture with one message per line, received 1 ms apart from 1723161600.5 s."""
    t0 = 1723161600_500_000_000
    return _write(tmp_path / "capture.gz",
                  [f"{t0 + k * 1_000_000} {m}" for k, m in enumerate(messages)], gz)


def test_a_hand_built_binance_capture(tmp_path):
    path = _capture(tmp_path, SNAPSHOT, _book(1, "100.0", "100.5"), DEPTH,
                    _trade(7, "100.5", "0.25", maker=False), _trade(8, "100.0", "1.5", maker=True,
                                                                    ts=1723161600060))
    trades, quotes = binance.read_raw(path)
    assert trades[["side", "size", "price", "trade_id"]].values.tolist() == [
        ["Buy", 0.25, 100.5, 7], ["Sell", 1.5, 100.0, 8]]
    assert trades["local_timestamp_ns"].tolist() == [1723161600_503_000_000,
                                                      1723161600_504_000_000]
    assert quotes[["bidPrice", "bidSize", "askPrice", "askSize", "update_id"]].values.tolist() \
        == [[100.0, 2.0, 100.5, 3.0, 1]]
    assert quotes["timestamp"].tolist() == [pd.Timestamp(1723161600000, unit="ms", tz="UTC")]
    taq = binance.raw_to_taq(path)
    assert taq["amount"].tolist() == [0.0, 0.25, -1.5]
    assert taq["local_time"].iloc[1] == pd.Timestamp(1723161600_503_000_000, tz="UTC")
    # The same lines uncompressed, with Windows line ends and a blank line, read the same.
    plain = tmp_path / "plain.txt"
    plain.write_bytes(gzip.decompress(path.read_bytes()).replace(b"\n", b"\r\n") + b"\r\n")
    pd.testing.assert_frame_equal(binance.raw_to_taq(plain), taq)


def test_aggregate_trades_stand_in_when_a_capture_has_no_trade_stream(tmp_path):
    path = _capture(tmp_path, _book(1, "100.0", "100.5"),
                    _trade(41, "100.5", "0.25", maker=False, stream="aggTrade", ident="a"))
    trades, _ = binance.read_raw(path)
    assert trades[["side", "size", "trade_id"]].values.tolist() == [["Buy", 0.25, 41]]


BAD_BINANCE = {
    "no receive time": ("hello world",
                        r"line 2: expected '<receive time in ns> <JSON message>', got 'hello'"),
    "seconds, not ns": ("1723161600.5 " + _book(2, "1", "2"),
                        r"line 2: expected '<receive time in ns> <JSON message>', "
                        r"got '1723161600.5'"),
    "not JSON": ("1723161600500000000 " + _book(2, "1", "2")[:-5],
                 r"line 2: expected a bookTicker message in JSON, got '\{\"stream"),
    "a field missing": ("1723161600500000000 " + _book(2, "1", "2").replace('"B":"2.0",', ""),
                        r"line 2: expected field 'data.B' in a bookTicker message, got \{"),
    "a field of the wrong kind": (
        "1723161600500000000 " + _book(2, "1", "2").replace('"u":2', '"u":"2"'),
        r"line 2: expected field 'data.u' to be an integer in a bookTicker message, got '2'"),
    "a price that is not a number": ("1723161600500000000 " + _book(2, "1", "x"),
                                     r"line 2: expected field 'a' of a bookTicker message to be "
                                     r"a number, got 'x'"),
    "a side that is not a bool": ("1723161600500000000 " + _trade(3, "1", "1", maker=False)
                                  .replace('"m":false', '"m":"no"'),
                                  r"line 2: expected field 'data.m' to be true or false in a "
                                  r"trade message, got 'no'"),
    "beyond int64": ("1723161600500000000 " + _book(2, "1", "2").replace('"u":2', f'"u":{10**20}'),
                     "cannot read the bookTicker messages"),
}


@pytest.mark.parametrize("case", sorted(BAD_BINANCE))
def test_a_bad_binance_line_is_named_by_file_and_line(tmp_path, case):
    line, message = BAD_BINANCE[case]
    path = _write(tmp_path / "bad.gz", ["1723161600400000000 " + _book(1, "1", "2"), line,
                                        "1723161600600000000 " + _book(3, "1", "2")])
    with pytest.raises(SchemaError, match=message) as caught:
        binance.read_raw(path)
    assert str(caught.value).startswith(str(path))


def test_a_missing_capture_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such capture file: .*nope.gz"):
        binance.read_raw(tmp_path / "nope.gz")
    with pytest.raises(FileNotFoundError, match="no such capture file"):
        bitmex.read_cryptofeed([tmp_path / "nope.txt"])


def _quote(ts="2021-07-22T22:36:09.757Z", bid=32180, symbol="XBTUSD", action="insert"):
    return (f'{{"table":"quote","action":"{action}","data":[{{"timestamp":"{ts}",'
            f'"symbol":"{symbol}","bidSize":100,"bidPrice":{bid},"askPrice":32180.5,'
            f'"askSize":200}}]}}')


def _bitmex_trade(side="Buy", ts="2021-07-22T22:36:10.000Z"):
    return (f'{{"table":"trade","action":"insert","data":[{{"timestamp":"{ts}",'
            f'"symbol":"XBTUSD","side":"{side}","size":300,"price":32180.5,'
            f'"trdMatchID":"x"}},{{"timestamp":"{ts}","symbol":"XBTUSD","side":"{side}",'
            f'"size":100,"price":32181,"trdMatchID":"y"}}]}}')


def _log(tmp_path, *lines):
    head = ["wss://www.bitmex.com/realtime <-> 1626993367.388005",
            'wss://www.bitmex.com/realtime <- 1626993367.874177: {"op":"subscribe"}',
            '1626993367.875267: {"info":"Welcome to the BitMEX Realtime API."}']
    return _write(tmp_path / "log.txt", head + list(lines), gz=False)


def test_a_hand_built_cryptofeed_log(tmp_path):
    path = _log(tmp_path, "1626993370.1: " + _quote(action="partial"),
                "1626993370.2: " + _quote(symbol="ADAUSDT"),
                "1626993370.3456789: " + _bitmex_trade())
    trades, quotes = bitmex.read_cryptofeed(path)
    assert trades["size"].tolist() == [300.0, 100.0]
    assert trades["local_timestamp_ns"].tolist() == [1626993370_345_678_900] * 2
    assert quotes["symbol"].tolist() == ["XBTUSD"]
    taq = bitmex.cryptofeed_to_taq(path)
    assert taq["amount"].tolist() == [0.0, 400.0]
    assert taq["price"].iloc[1] == pytest.approx((300 * 32180.5 + 100 * 32181) / 400)


CRYPTOFEED_LINE = re.escape("expected '<receive time in s>: <JSON message>'")
# What line 5 holds, and what the error says was expected there.
BAD_CRYPTOFEED = {
    "no receive time": ("garbage", CRYPTOFEED_LINE + ", got 'garbage'"),
    "a receive time that is no number": ("16269x3370.2: " + _quote(), CRYPTOFEED_LINE),
    "not JSON": ("1626993370.2: " + _quote()[:-3], "expected a quote message in JSON"),
    "an action quotes do not have": (
        "1626993370.2: " + _quote(action="delete"),
        "expected action 'partial' or 'insert' of a quote message, got 'delete'"),
    "a time that is no time": (
        "1626993370.2: " + _quote(ts="yesterday"),
        "expected field 'timestamp' of a quote record to be an ISO 8601 time, got 'yesterday'"),
    "a price of the wrong kind": (
        "1626993370.2: " + _quote(bid='"32180"'),
        r"expected field 'data\[0\].bidPrice' to be a number in a quote message, got '32180'"),
    "a side that is no side": ("1626993370.2: " + _bitmex_trade(side="Up"),
                               "expected field 'side' of a trade record to be 'Buy' or 'Sell'"),
    "a trade without a size": ("1626993370.2: " + _bitmex_trade().replace('"size":100,', ""),
                               r"expected field 'data\[1\].size' in a trade message"),
}


@pytest.mark.parametrize("case", sorted(BAD_CRYPTOFEED))
def test_a_bad_cryptofeed_line_is_named_by_file_and_line(tmp_path, case):
    line, message = BAD_CRYPTOFEED[case]
    path = _log(tmp_path, "1626993370.1: " + _quote(action="partial"), line)
    with pytest.raises(SchemaError, match="line 5: " + message) as caught:
        bitmex.read_cryptofeed(path)
    assert str(caught.value).startswith(f"{path}, line 5: ")


def test_a_null_quote_price_is_nan_and_the_taq_check_names_it(tmp_path):
    path = _log(tmp_path, "1626993370.1: " + _quote(bid="null"))
    _, quotes = bitmex.read_cryptofeed(path)
    assert np.isnan(quotes["bidPrice"].iloc[0])
    with pytest.raises(SchemaError, match="bid_price"):
        bitmex.cryptofeed_to_taq(path)
    assert len(bitmex.cryptofeed_to_taq(path, clean=True)) == 0
