"""tardis.dev trades + quotes CSVs to TAQ, on fixtures with the documented columns."""
import gzip

import numpy as np
import pandas as pd
import pytest

from mmsim.data import tardis
from mmsim.data.schema import TAQ_COLUMNS, SchemaError

NAN = np.nan
T0 = 1585699200000000  # 2020-04-01 00:00:00 UTC in microseconds

TRADES = f"""exchange,symbol,timestamp,local_timestamp,id,side,price,amount
bitmex,XBTUSD,{T0 + 1_000_000},{T0 + 1_000_900},a,buy,6425.5,12
bitmex,XBTUSD,{T0 + 2_000_000},{T0 + 2_000_900},b,sell,6425,150
bitmex,XBTUSD,{T0 + 2_000_000},{T0 + 2_000_900},c,sell,6424.5,50
bitmex,XBTUSD,{T0 + 3_000_000},{T0 + 3_000_900},d,unknown,6425.5,7
bitmex,XBTUSD,{T0 + 3_500_000},{T0 + 3_500_900},e,unknown,6424.5,9
bitmex,XBTUSD,{T0 + 4_000_000},{T0 + 4_000_900},f,buy,6426,3
"""
QUOTES = f"""exchange,symbol,timestamp,local_timestamp,ask_amount,ask_price,bid_price,bid_amount
bitmex,XBTUSD,{T0 + 500_000},{T0 + 500_700},1000,6425.5,6425,2000
bitmex,XBTUSD,{T0 + 1_500_000},{T0 + 1_500_700},988,6425.5,6425,2000
bitmex,XBTUSD,{T0 + 2_000_000},{T0 + 2_000_700},988,6425.5,6424.5,400
bitmex,XBTUSD,{T0 + 3_800_000},{T0 + 3_800_700},50,6426,6425.5,70
"""


@pytest.fixture
def files(tmp_path):
    trades, quotes = tmp_path / "bitmex_trades_2020-04-01_XBTUSD.csv.gz", \
        tmp_path / "bitmex_quotes_2020-04-01_XBTUSD.csv.gz"
    trades.write_bytes(gzip.compress(TRADES.encode()))
    quotes.write_bytes(gzip.compress(QUOTES.encode()))
    return trades, quotes


def at(us):
    return pd.Timestamp(T0 + us, unit="us", tz="UTC")


def test_to_taq_by_hand(files):
    taq = tardis.to_taq(*files)
    expected = pd.DataFrame(
        [
            [NAN, 0.0, 6425.0, 2000.0, 6425.5, 1000.0],
            [6425.5, 12.0, 6425.0, 2000.0, 6425.5, 1000.0],
            [NAN, 0.0, 6425.0, 2000.0, 6425.5, 988.0],
            # two sells in one microsecond: one row, VWAP; the quote stamped with it comes after
            [(150 * 6425 + 50 * 6424.5) / 200, -200.0, 6425.0, 2000.0, 6425.5, 988.0],
            [NAN, 0.0, 6424.5, 400.0, 6425.5, 988.0],
            # side unknown: 6425.5 is above the mid (6425.0): a buy; 6424.5 below it: a sell
            [6425.5, 7.0, 6424.5, 400.0, 6425.5, 988.0],
            [6424.5, -9.0, 6424.5, 400.0, 6425.5, 988.0],
            [NAN, 0.0, 6425.5, 70.0, 6426.0, 50.0],
            [6426.0, 3.0, 6425.5, 70.0, 6426.0, 50.0],
        ],
        index=pd.DatetimeIndex([at(500_000), at(1_000_000), at(1_500_000), at(2_000_000),
                                at(2_000_000), at(3_000_000), at(3_500_000), at(3_800_000),
                                at(4_000_000)], name="time").as_unit("ns"),
        columns=list(TAQ_COLUMNS),
    )
    pd.testing.assert_frame_equal(taq, expected)


def test_unknown_sides_dropped_or_refused(files):
    dropped = tardis.to_taq(*files, unknown="drop")
    assert list(dropped["amount"][dropped["amount"] != 0]) == [12.0, -200.0, 3.0]
    with pytest.raises(SchemaError, match="trade at row 3 has side 'unknown'; pass unknown='infer'"):
        tardis.to_taq(*files, unknown="raise")
    with pytest.raises(ValueError, match="unknown must be 'infer', 'drop' or 'raise'"):
        tardis.to_taq(*files, unknown="guess")


def test_unknown_side_at_the_mid_or_before_any_quote_is_dropped(files):
    trades = pd.read_csv(files[0])
    trades.loc[0, "side"] = "unknown"
    trades.loc[0, "timestamp"] = T0 + 100_000  # before the first quote (0.5 s)
    trades.loc[4, "price"] = 6425.0  # at the mid of the quote in force
    taq = tardis.to_taq(trades, files[1])
    assert list(taq["amount"][taq["amount"] != 0]) == [-200.0, 7.0, 3.0]


def test_unknown_side_without_any_quote_is_dropped(files):
    quotes = pd.read_csv(files[1]).iloc[:0]
    taq = tardis.to_taq(files[0], quotes)
    assert list(taq["amount"]) == [12.0, -200.0, 3.0]
    assert taq[["bid_price", "ask_price"]].isna().all().all()


def test_local_clock(files):
    taq = tardis.to_taq(*files, clock="local")
    assert taq.index[0] == at(500_700)
    assert (taq["amount"] != 0).sum() == 5
    with pytest.raises(ValueError, match="clock must be 'exchange' or 'local'"):
        tardis.to_taq(*files, clock="exchange_time")


def test_symbol_filter_and_bad_input(files):
    trades, quotes = (pd.read_csv(f) for f in files)
    other = trades.assign(symbol="ETHUSD")
    mixed = pd.concat([trades, other], ignore_index=True)
    with pytest.raises(ValueError, match="several symbols"):
        tardis.to_taq(mixed, quotes)
    assert len(tardis.to_taq(mixed, quotes, symbol="XBTUSD")) == 9
    bad = trades.copy()
    bad.loc[2, "side"] = "short"
    with pytest.raises(SchemaError, match="'side' must be buy, sell or unknown, got 'short' at row 2"):
        tardis.to_taq(bad, quotes)
    bad = trades.astype({"timestamp": object})
    bad.loc[1, "timestamp"] = "2020-04-01T00:00:02Z"
    with pytest.raises(SchemaError, match="'timestamp' must hold microseconds since the epoch"):
        tardis.to_taq(bad, quotes)
    with pytest.raises(SchemaError, match=r"quotes is missing column\(s\) \['bid_amount'\]"):
        tardis.to_taq(trades, quotes.drop(columns=["bid_amount"]))
