"""The engine's record tables: a contiguous column per field of a C struct, handed over to
the result's frames without a copy."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim import _core
from mmsim.data.synthetic import synthetic_taq


@pytest.mark.parametrize("dtype", [_core.ORDER_DTYPE, _core.FILL_DTYPE, _core.BALANCE_DTYPE,
                                   _core.POSITION_DTYPE, _core.FUNDING_DTYPE])
def test_each_field_is_a_column_of_its_own_type_aligned_for_it(dtype):
    columns = _core.ColumnTable(dtype, 100).columns()
    assert list(columns) == list(dtype.names)
    for name, column in columns.items():
        assert column.dtype == dtype.fields[name][0] and len(column) == 0, name
        assert column.__array_interface__["data"][0] % column.dtype.itemsize == 0, name


def test_a_field_that_is_not_a_plain_scalar_is_refused():
    with pytest.raises(TypeError, match=r"field 'b' \(\|S3\) is not a 1, 4 or 8-byte scalar"):
        _core.ColumnTable(np.dtype([("a", np.int64), ("b", "S3")]))


class Taker(mmsim.Strategy):
    """A market order of one contract at every signal, buying and selling in turn."""

    def __init__(self):
        self.calls = 0

    def on_signal(self, ctx):
        self.calls += 1
        ctx.market(1.0 if self.calls % 2 else -1.0)


def check(result, n: int) -> None:
    """``result`` is that of ``Taker`` at ``n`` signals a second apart: order k is a market
    order of one contract, bought when k is odd and sold when even, filled as taker."""
    orders, fills = result.orders, result.fills
    k = np.arange(1, n + 1)
    np.testing.assert_array_equal(orders["order_id"], k)
    np.testing.assert_array_equal(orders["amount"], np.where(k % 2, 1.0, -1.0))
    assert (orders["type"] == "market").all() and (orders["status"] == "filled").all()
    np.testing.assert_array_equal(fills["order_id"], k)
    np.testing.assert_array_equal(fills["amount"], np.where(k % 2, 1.0, -1.0))
    np.testing.assert_array_equal(fills["position"], np.where(k % 2, 1.0, 0.0))
    assert (fills["liquidity"] == "taker").all()
    np.testing.assert_array_equal(result.positions["amount"], fills["position"])
    assert (np.diff(fills.index.asi8) == 10**9).all()
    assert (orders.index == fills.index).all()


@pytest.mark.parametrize("pool", [0, 256 << 20])
def test_a_table_that_grew_holds_every_row_in_its_columns(pool):
    # The orders table (176 bytes a row) grows from 1,024 rows by doubling, each growth
    # moving every column: into a new small buffer up to 4,096 rows, then into a mapping of
    # 1,507,328 bytes (8,553 rows), which grows to 17,117 rows in place (pool off) or into
    # a parked buffer (pool on: the first two runs' buffers are parked, of 8,553 and 17,117
    # rows, and the third run takes one, then the other).
    limit = mmsim.buffer_pool()["limit"]
    mmsim.buffer_pool(pool)
    try:
        taq = synthetic_taq(n_rows=400_000, seed=3)
        index = pd.date_range(taq.index[0].ceil("1s"), periods=12_000, freq="1s", name="time")
        signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)
        small = mmsim.backtest(taq, signals.iloc[:6000], Taker(), latency=0.0)
        large = mmsim.backtest(taq, signals, Taker(), latency=0.0)
        check(small, 6000)
        check(large, 12_000)
        del small, large
        if pool:
            assert mmsim.buffer_pool()["buffers"] >= 2
        check(mmsim.backtest(taq, signals, Taker(), latency=0.0), 12_000)
    finally:
        mmsim.buffer_pool(limit)
