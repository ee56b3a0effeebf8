"""A backtest's Result keeps the engine's records and builds each table when first read."""
import pickle

import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim import _core
from mmsim.data.synthetic import synthetic_taq
from mmsim.results import TABLES, Result, flat_entry_as_nan


class Quoter(mmsim.Strategy):
    """Quotes the touch at every signal, keeping the last ctx.orders view it saw."""

    def __init__(self, fail_at=None):
        self.fail_at = fail_at
        self.calls = 0
        self.kept = None

    def on_signal(self, ctx):
        self.calls += 1
        if self.calls == self.fail_at:
            raise RuntimeError("boom")
        if self.calls == 1:
            # A bid pegged 1000 ticks below the best (ctx.quote leaves it be): still working
            # when the run ends.
            ctx.follow(1000, 100.0)
        ctx.quote(ctx.bid_price, 100.0, ctx.ask_price, 100.0)
        self.kept = ctx.orders


@pytest.fixture(scope="module")
def taq():
    return synthetic_taq(n_rows=60_000, seed=1)


def minute_signals(taq):
    index = pd.date_range(taq.index[0].ceil("1min"), taq.index[-1], freq="1min", name="time")
    return pd.DataFrame({"x": np.zeros(len(index))}, index=index)


def records_of(taq, strategy=None):
    # The engine's records of a run, as backtest() hands them to Result.from_tables.
    captured = {}
    from_tables = Result.from_tables.__func__

    def spy(cls, tables, contract, params):
        captured.update(tables)
        return from_tables(cls, tables, contract, params)

    original = Result.__dict__["from_tables"]
    Result.from_tables = classmethod(spy)
    try:
        result = mmsim.backtest(taq, minute_signals(taq), strategy or Quoter(), latency=0.01)
    finally:
        Result.from_tables = original
    return result, captured


def snapshot(tables):
    # Copies of the records as structured arrays of their C structs, for reference.
    dtypes = {"orders": _core.ORDER_DTYPE, "fills": _core.FILL_DTYPE,
              "balances": _core.BALANCE_DTYPE, "positions": _core.POSITION_DTYPE,
              "funding": _core.FUNDING_DTYPE}
    out = {}
    for name, columns in tables.items():
        records = np.zeros(len(columns["time"] if "time" in columns else columns["created"]),
                           dtype=dtypes[name])
        for field, column in columns.items():
            records[field] = column
        out[name] = records
    return out


def eager_frames(tables):
    # The tables as Result.from_tables built them before it was lazy: each from a copy of
    # the records, strided field by field, times localized, durations from the index.
    def times(values):
        return pd.DatetimeIndex(values.view("M8[ns]")).tz_localize("UTC")

    def labels(codes, names):
        return pd.Categorical.from_codes(codes.astype(np.int8), categories=list(names))

    def frame(records, columns):
        return pd.DataFrame({c: records[c] for c in columns},
                            index=times(records["time"]).rename("time"))

    o = tables["orders"].copy()
    created, closed = times(o["created"]), times(o["closed"])
    orders = pd.DataFrame({
        "order_id": o["order_id"], "type": labels(o["type"], _core.TYPE_NAMES),
        "side": o["side"].astype(np.int64), "status": labels(o["status"], _core.STATUS_NAMES),
        "price": o["price"],
        "price_level": np.where(o["price_level"] >= 0, o["price_level"], np.nan),
        **{c: o[c] for c in ("amount", "filled", "avg_price", "amount_q", "volume_req",
                             "volume", "fee", "slippage")},
        "live": times(o["live"]), "closed": closed,
        "active_duration": (closed - created).total_seconds(),
        "reason": labels(o["reason"], _core.REASON_NAMES), "cancel_sent": times(o["cancel_sent"]),
        "queue_ahead": o["queue_ahead"], "tif": labels(o["tif"], _core.TIF_NAMES),
        "post_only": o["post_only"].astype(bool), "reduce_only": o["reduce_only"].astype(bool),
        "amends": o["amends"].astype(np.int64), "rejected": o["rejected"].astype(np.int64),
    }, index=pd.DatetimeIndex(created, name="time"))
    f = tables["fills"].copy()
    fills = frame(f, ["order_id", "price", "amount", "fee", "liquidity", "mid", "realized",
                      "position", "cause", "print_volume"])
    fills["liquidity"] = labels(f["liquidity"], _core.LIQUIDITY_NAMES)
    fills["cause"] = labels(f["cause"], _core.CAUSE_NAMES)
    return {
        "orders": orders, "fills": fills,
        "balances": frame(tables["balances"].copy(), ["total", "available", "nav", "mark",
                                                      "position"]),
        "positions": flat_entry_as_nan(frame(tables["positions"].copy(),
                                             ["amount", "weighted_price"])),
        "funding": frame(tables["funding"].copy(), ["rate", "mark", "position", "payment"]),
    }


def test_lazy_tables_equal_the_eager_ones(taq):
    result, live = records_of(taq)
    assert result._records.keys() == set(TABLES) and not result._frames   # nothing built yet
    tables = snapshot(live)
    eager = eager_frames(tables)
    for name in TABLES:
        pd.testing.assert_frame_equal(getattr(result, name), eager[name], check_exact=True)
        assert getattr(result, name) is getattr(result, name)       # built once, then kept
    assert not result._records
    orders, fills = result.orders, result.fills
    assert len(orders) == len(tables["orders"]) > 100 and len(fills) > 50
    # By hand: the first order is the first signal's pegged bid, 100 lots, working to the end;
    # the second the bid at the touch.
    first = tables["orders"][0]
    assert orders.index[0] == pd.Timestamp(int(first["created"]), tz="UTC")
    assert orders["order_id"].iloc[0] == 1 and orders["side"].iloc[0] == 1
    assert orders["type"].iloc[0] == "follow_limit" and orders["amount"].iloc[0] == 100.0
    assert orders["price_level"].iloc[0] == 1000.0 and orders["price_level"].iloc[1:].isna().all()
    assert orders["price"].iloc[0] == first["price"] and orders["filled"].iloc[0] == 0.0
    assert orders["status"].iloc[0] == "live" and orders["reason"].iloc[0] == "end"
    assert orders["type"].iloc[1] == "limit" and orders["side"].iloc[2] == -1
    done = orders["closed"].notna()
    span = (tables["orders"]["closed"] - tables["orders"]["created"])[done.to_numpy()]
    seconds, rest = np.divmod(span, 10**9)         # whole seconds, then the nanoseconds
    np.testing.assert_array_equal(orders.loc[done, "active_duration"], seconds + rest / 1e9)
    assert orders.loc[~done, "active_duration"].isna().all()
    assert (orders.loc[~done, "reason"] == "end").all()
    assert fills["price"].iloc[-1] == tables["fills"]["price"][-1]
    assert set(fills["liquidity"]) <= {"maker", "taker"}
    assert result.balances["nav"].iloc[-1] == tables["balances"]["nav"][-1]


def test_tables_are_handed_over_without_a_copy(taq):
    # The engine hands over its record buffers, a contiguous column per field, and each
    # table wraps them: a number or code column of the field's own type is the same memory,
    # not a copy of it (times become pandas' own UTC datetimes).
    result, tables = records_of(taq)
    for name in TABLES:
        for field, column in tables[name].items():
            assert column.base is not None and column.flags.c_contiguous, (name, field)
            assert column.flags.writeable, (name, field)    # the result's from now on
    wrapped = {"orders": ("order_id", "price", "amount", "filled", "queue_ahead", "status"),
               "fills": ("order_id", "price", "amount", "fee", "position", "cause"),
               "balances": ("total", "nav", "position"),
               "positions": ("amount",)}
    for name, fields in wrapped.items():
        frame = getattr(result, name)
        for field in fields:
            if field in ("status", "cause"):
                values = frame[field].array.codes
            else:
                values = frame[field].to_numpy()
            assert np.shares_memory(values, tables[name][field]), (name, field)


def test_changing_a_table_changes_no_other_result(taq):
    result, tables = records_of(taq)
    other, _ = records_of(taq)                  # a second run of the same data
    for name in ("orders", "fills", "balances", "positions"):
        frame = getattr(result, name)
        for column in frame.columns:
            values = frame[column].to_numpy()
            assert not any(np.shares_memory(values, c) for t in _.values()
                           for c in t.values()), column
            assert frame[column].array.__array__().flags.c_contiguous
    result.orders.loc[result.orders.index[0], "price"] = -1.0
    result.fills.loc[result.fills.index[0], "fee"] = 123.0
    result.balances["nav"] *= 2
    result.positions.iloc[0, 0] = 7.0
    assert result.orders["price"].iloc[0] == -1.0 and result.fills["fee"].iloc[0] == 123.0
    assert result.positions["amount"].iloc[0] == 7.0
    assert other.orders["price"].iloc[0] > 0 and other.fills["fee"].iloc[0] != 123.0
    assert other.positions["amount"].iloc[0] != 7.0
    assert not other.equals(result)
    # A table set by hand replaces the built one.
    result.funding = result.funding.iloc[:0]
    assert "funding" not in result._records and result.funding.empty


def test_an_orders_view_kept_by_the_strategy_aliases_no_result_data(taq):
    strategy = Quoter()
    result, _ = records_of(taq, strategy)
    kept = strategy.kept
    assert kept is not None and len(kept) > 0
    for name in TABLES:
        frame = getattr(result, name)
        for column in frame.columns:
            assert not np.shares_memory(frame[column].to_numpy(), kept), (name, column)
    with pytest.raises(ValueError):
        kept["price"][0] = 0.0          # read-only, as ever


def test_a_lazy_result_shows_its_sizes_from_its_record_columns(taq):
    # repr counts the rows of the orders and fills from their record columns (the orders'
    # have no "time" field) without building those tables; Jupyter's view says the same.
    result, tables = records_of(taq)
    n = {name: len(tables[name]["order_id" if name == "orders" else "time"])
         for name in TABLES}
    assert n["orders"] > 100 and n["fills"] > 50
    text = repr(result)
    assert text.endswith(f": {n['orders']} orders, {n['fills']} fills, "
                         f"{n['balances']} balance rows>")
    assert "orders" in result._records and "fills" in result._records     # not built
    other, _ = records_of(taq)
    assert f"orders {n['orders']:,}, fills {n['fills']:,}" in other._repr_html_()


def test_a_lazy_result_pickles_its_records_and_unpickles_equal(taq):
    result, tables = records_of(taq)
    data = pickle.dumps(result)
    back = pickle.loads(data)
    assert back._records.keys() == set(TABLES) and not back._frames   # still lazy
    # The records travel once each, compactly (not the engine's spare capacity).
    assert len(data) < sum(c.nbytes for t in tables.values() for c in t.values()) + 20_000
    assert back.equals(result) and back == result
    assert back.contract == result.contract and back.params == result.params
    assert back.provenance == result.provenance
    # A built and changed table travels as its frame.
    result.orders.loc[result.orders.index[0], "price"] = -1.0
    again = pickle.loads(pickle.dumps(result))
    assert "orders" in again._frames and again.orders["price"].iloc[0] == -1.0
    assert again.equals(result) and not again.equals(back)


def test_a_lazy_result_saves_and_loads(taq, tmp_path):
    result, _ = records_of(taq)
    loaded = Result.load(result.save(tmp_path / "run"))
    assert loaded.equals(result)
    assert len(loaded.orders) == len(result.orders) > 100


def test_the_result_of_a_failing_strategy_is_complete(taq):
    with pytest.raises(mmsim.StrategyError) as err:
        records_of(taq, Quoter(fail_at=6))
    partial = err.value.result
    signals = minute_signals(taq)
    # Five calls quoted before the sixth raised: every order sent is in the table, the
    # working ones closed by the end of the run, and a balance row at every signal heard.
    whole = mmsim.backtest(taq, signals, Quoter(), latency=0.01)
    orders = partial.orders
    assert len(orders) > 0 and orders["order_id"].tolist() == list(range(1, len(orders) + 1))
    working = orders["closed"].isna()
    assert working.any() and (orders.loc[working, "reason"] == "end").all()
    assert orders.index[-1] < signals.index[5] <= err.value.time
    assert partial.balances.index[-1] == signals.index[5]
    n = len(orders)
    early = whole.orders.iloc[:n]
    # The same orders as the whole run's first ones (the pegged bid has moved since).
    pd.testing.assert_series_equal(orders["price"].iloc[1:], early["price"].iloc[1:])
    pd.testing.assert_index_equal(orders.index, early.index)
    assert partial.fills.equals(whole.fills[whole.fills.index < signals.index[5]])
    assert pickle.loads(pickle.dumps(partial)).equals(partial)
