"""The real Binance bookTicker + trades captures to TAQ, and a backtest on each."""

import numpy as np
import pandas as pd
import pytest

from helpers import BINANCE_DIR
from mmsim.data import binance
from mmsim.data.merge import parse_time
from mmsim.data.schema import SchemaError

SYMBOLS = {"btcusd_perp": "BTCUSD_PERP", "btcusdt": "BTCUSDT"}


def _files(shared, name):
    return (shared(*BINANCE_DIR, f"{name}_trades.csv.gz"),
            shared(*BINANCE_DIR, f"{name}_quotes.csv.gz"))


@pytest.fixture(scope="module", params=sorted(SYMBOLS))
def converted(request, shared):
    trades, quotes = _files(shared, request.param)
    raw_t, raw_q = pd.read_csv(trades), pd.read_csv(quotes)
    return request.param, raw_t, raw_q, binance.to_taq(trades, quotes)


def test_counts_and_schema(converted):
    name, raw_t, raw_q, taq = converted
    is_trade = taq["amount"] != 0
    # One row per (timestamp, side) group of fills, one per change of the quote.
    assert is_trade.sum() == raw_t.groupby(["timestamp", "side"]).ngroups
    q = raw_q[["bidSize", "bidPrice", "askPrice", "askSize"]].to_numpy()
    changes = 1 + int(np.any(q[1:] != q[:-1], axis=1).sum())
    assert (~is_trade).sum() == changes
    assert taq["amount"][is_trade].abs().sum() == pytest.approx(raw_t["size"].sum())
    buys = raw_t.loc[raw_t["side"] == "Buy", "size"].sum()
    assert taq["amount"][taq["amount"] > 0].sum() == pytest.approx(buys)
    assert str(taq.index.dtype) == "datetime64[ns, UTC]"
    assert taq.index.is_monotonic_increasing
    assert (taq["bid_price"].dropna() < taq["ask_price"].dropna()).all()
    ticks = taq["bid_price"].dropna().to_numpy() * 10
    np.testing.assert_allclose(ticks, np.round(ticks), atol=1e-6)  # the 0.1 grid
    assert taq.index[0] == pd.Timestamp(parse_time(raw_q["timestamp"].iloc[:1])[0], tz="UTC")


def test_an_aggregated_row_by_hand(converted):
    name, raw_t, raw_q, taq = converted
    # The first (timestamp, side) group with fills at more than one price.
    groups = raw_t.groupby(["timestamp", "side"], sort=False)
    key = next(k for k, g in groups if g["price"].nunique() > 1)
    fills = groups.get_group(key)
    when = pd.Timestamp(key[0].replace("D", " "), tz="UTC")
    sign = 1 if key[1] == "Buy" else -1
    rows = taq.loc[[when]]
    row = rows[np.sign(rows["amount"]) == sign].iloc[0]
    assert row["amount"] == pytest.approx(sign * fills["size"].sum())
    assert row["price"] == pytest.approx((fills["size"] * fills["price"]).sum() / fills["size"].sum())
    # The quote attached is the last bookTicker stamped strictly before the trade.
    before = raw_q[raw_q["timestamp"] < key[0]].iloc[-1]
    assert (row["bid_price"], row["bid_amount"], row["ask_price"], row["ask_amount"]) == \
        pytest.approx((before["bidPrice"], before["bidSize"], before["askPrice"], before["askSize"]))


def test_local_clock_uses_receive_times(shared):
    trades, quotes = _files(shared, "btcusd_perp")
    taq = binance.to_taq(trades, quotes, clock="local")
    raw_q = pd.read_csv(quotes)
    assert taq.index[0].value == min(raw_q["local_timestamp_ns"].min(),
                                     pd.read_csv(trades)["local_timestamp_ns"].min())
    assert taq.index.is_monotonic_increasing
    with pytest.raises(ValueError, match="clock must be 'exchange' or 'local'"):
        binance.to_taq(trades, quotes, clock="wall")


def test_symbol_filter_and_errors(tmp_path, shared):
    trades, quotes = _files(shared, "btcusd_perp")
    assert len(binance.to_taq(trades, quotes, symbol="BTCUSD_PERP")) > 0
    with pytest.raises(ValueError, match="no rows for symbol 'ETHUSD_PERP'"):
        binance.to_taq(trades, quotes, symbol="ETHUSD_PERP")
    local_missing = pd.read_csv(trades).drop(columns=["local_timestamp_ns"])
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['local_timestamp_ns'\]"):
        binance.to_taq(local_missing, quotes, clock="local")


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_a_backtest_runs_on_each(name, shared):
    pytest.importorskip("mmsim._core", reason="the compiled engine is not built")
    import mmsim

    trades, quotes = _files(shared, name)
    taq = binance.to_taq(trades, quotes)
    contract = mmsim.BINANCE_BTCUSD_PERP if name == "btcusd_perp" else mmsim.BINANCE_BTCUSDT
    size = 1.0 if name == "btcusd_perp" else 0.001
    signals = pd.DataFrame({"x": 0.0}, index=pd.date_range(taq.index[0].ceil("1s"), taq.index[-1],
                                                           freq="1s", name="time"))

    class Idle(mmsim.Strategy):
        def on_signal(self, ctx):
            pass

    class Quoter(mmsim.Strategy):
        def on_signal(self, ctx):
            for oid in ctx.orders["order_id"]:
                ctx.cancel(oid)
            ctx.limit(ctx.bid_price, size)
            ctx.limit(ctx.ask_price, -size)

    idle = mmsim.backtest(taq, signals, Idle(), contract=contract, latency=0.05)
    assert len(idle.balances) == len(signals)
    quoting = mmsim.backtest(taq, signals, Quoter(), contract=contract, latency=0.05)
    assert len(quoting.fills) > 0


def small_capture():
    """Two fills at one timestamp (received at 0.30 and 0.25 s) and two quotes."""
    trades = pd.DataFrame({
        "timestamp": ["2024-08-08D00:00:00.100000000", "2024-08-08D00:00:00.100000000"],
        "symbol": "BTCUSDT", "side": ["Buy", "Buy"], "size": [1.0, 3.0],
        "price": [100.5, 101.0], "trade_id": [1, 2],
        "local_timestamp_ns": [pd.Timestamp("2024-08-08 00:00:00.30", tz="UTC").value,
                               pd.Timestamp("2024-08-08 00:00:00.25", tz="UTC").value]})
    quotes = pd.DataFrame({
        "timestamp": ["2024-08-08D00:00:00.000000000", "2024-08-08D00:00:00.200000000"],
        "symbol": "BTCUSDT", "bidSize": [5.0, 6.0], "bidPrice": [100.0, 100.0],
        "askPrice": [100.5, 100.5], "askSize": [2.0, 2.0], "update_id": [1, 2],
        "local_timestamp_ns": [pd.Timestamp("2024-08-08 00:00:00.05", tz="UTC").value,
                               pd.Timestamp("2024-08-08 00:00:00.21", tz="UTC").value]})
    return trades, quotes


def test_local_time_keeps_receive_times_beside_exchange_times():
    trades, quotes = small_capture()
    taq = binance.to_taq(trades, quotes, local_time=True)
    day = pd.Timestamp("2024-08-08", tz="UTC")
    ms = lambda v: day + pd.Timedelta(milliseconds=v)  # noqa: E731
    # Exchange order: quote at 0, the aggregated buy at 100 ms (4 at the VWAP 100.875), the
    # quote at 200 ms. The trade row is received with its last fill, at 300 ms.
    assert taq.index.tolist() == [ms(0), ms(100), ms(200)]
    assert taq["amount"].tolist() == [0.0, 4.0, 0.0]
    assert taq["local_time"].tolist() == [ms(50), ms(300), ms(210)]
    # Without the option the frame is as before.
    assert "local_time" not in binance.to_taq(trades, quotes).columns
    with pytest.raises(ValueError, match=r"with clock='local' the index already is the receive"):
        binance.to_taq(trades, quotes, clock="local", local_time=True)


def test_local_time_survives_parquet_and_csv(tmp_path):
    from mmsim.data.io import read_taq, write_taq
    trades, quotes = small_capture()
    taq = binance.to_taq(trades, quotes, local_time=True)
    for name in ("taq.parquet", "taq.csv"):
        path = write_taq(taq, tmp_path / name, by_day=False)
        back = read_taq(path)
        assert back["local_time"].tolist() == taq["local_time"].tolist(), name


def test_local_time_on_the_real_capture(shared):
    trades, quotes = _files(shared, "btcusdt")
    taq = binance.to_taq(trades, quotes, local_time=True)
    raw_q, raw_t = pd.read_csv(quotes), pd.read_csv(trades)
    received = pd.DatetimeIndex(taq["local_time"]).as_unit("ns").asi8
    # Every quote-only row carries the receive time of a bookTicker message ...
    assert set(received[(taq["amount"] == 0).to_numpy()]) <= set(raw_q["local_timestamp_ns"])
    # ... and an aggregated trade row the latest receive time of its fills.
    groups = raw_t.groupby(["timestamp", "side"], sort=False)
    key = next(k for k, g in groups if len(g) > 2)
    fills = groups.get_group(key)
    when = pd.Timestamp(key[0].replace("D", " "), tz="UTC")
    sign = 1 if key[1] == "Buy" else -1
    at_when = (taq.index == when) & (np.sign(taq["amount"]) == sign).to_numpy()
    assert received[at_when].tolist() == [fills["local_timestamp_ns"].max()]
