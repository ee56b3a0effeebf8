"""The real Binance bookTicker + trades captures to TAQ, and a backtest on each."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmsim.data import binance
from mmsim.data.bitmex import parse_time
from mmsim.data.schema import SchemaError

DATA = (Path(__file__).resolve().parents[1].parent / "shared" / "data"
        / "binance-btc-perp-hftbacktest-20240808")
SYMBOLS = {"btcusd_perp": "BTCUSD_PERP", "btcusdt": "BTCUSDT"}


def _files(name):
    trades, quotes = DATA / f"{name}_trades.csv.gz", DATA / f"{name}_quotes.csv.gz"
    if not (trades.exists() and quotes.exists()):
        pytest.skip(f"Binance data not found in {DATA}")
    return trades, quotes


@pytest.fixture(scope="module", params=sorted(SYMBOLS))
def converted(request):
    trades, quotes = _files(request.param)
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


def test_local_clock_uses_receive_times():
    trades, quotes = _files("btcusd_perp")
    taq = binance.to_taq(trades, quotes, clock="local")
    raw_q = pd.read_csv(quotes)
    assert taq.index[0].value == min(raw_q["local_timestamp_ns"].min(),
                                     pd.read_csv(trades)["local_timestamp_ns"].min())
    assert taq.index.is_monotonic_increasing
    with pytest.raises(ValueError, match="clock must be 'exchange' or 'local'"):
        binance.to_taq(trades, quotes, clock="wall")


def test_symbol_filter_and_errors(tmp_path):
    trades, quotes = _files("btcusd_perp")
    assert len(binance.to_taq(trades, quotes, symbol="BTCUSD_PERP")) > 0
    with pytest.raises(ValueError, match="no rows for symbol 'ETHUSD_PERP'"):
        binance.to_taq(trades, quotes, symbol="ETHUSD_PERP")
    local_missing = pd.read_csv(trades).drop(columns=["local_timestamp_ns"])
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['local_timestamp_ns'\]"):
        binance.to_taq(local_missing, quotes, clock="local")


@pytest.mark.parametrize("name", sorted(SYMBOLS))
def test_a_backtest_runs_on_each(name):
    pytest.importorskip("mmsim._core", reason="the compiled engine is not built")
    import mmsim

    trades, quotes = _files(name)
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
