"""The engine's record buffers: large ones are parked when freed and reused by later runs."""
import sys
import tracemalloc

import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim import _core
from mmsim.data.synthetic import synthetic_taq

MIB = 1 << 20
#: tracemalloc's domain of the buffers of 1 MiB or more a table holds.
DOMAIN = 0x6d6d73


@pytest.fixture
def pool():
    """An empty pool with the default limit, emptied again afterwards."""
    limit = mmsim.buffer_pool()["limit"]
    mmsim.buffer_pool(256 * MIB)
    yield
    mmsim.buffer_pool(limit)


def parked():
    """Buffers and bytes kept."""
    state = mmsim.buffer_pool()
    return state["buffers"], state["bytes"]


def table(mib):
    """A table of int64 records whose buffer is ``mib`` MiB."""
    return _core.Table(np.int64, int(mib * MIB) // 8)


def test_a_freed_table_of_a_mebibyte_or_more_is_parked_and_taken_by_the_next(pool):
    small = table(0.5)
    del small                                   # below 1 MiB: given back to the allocator
    assert parked() == (0, 0)
    big = table(1)
    del big
    assert parked() == (1, MIB)
    again = table(1)                            # the same size takes the parked buffer
    assert parked() == (0, 0)
    assert len(again) == 0 and len(again.view()) == 0


def test_a_table_takes_the_smallest_parked_buffer_that_holds_it(pool):
    four, two, three = table(4), table(2), table(3)
    del four, two, three
    assert parked() == (3, 9 * MIB)
    kept = table(2.5)                           # takes the 3 MiB one
    assert parked() == (2, 6 * MIB)
    kept2 = table(5)                            # nothing holds 5 MiB: a new buffer
    assert parked() == (2, 6 * MIB)
    del kept, kept2
    assert parked() == (4, 14 * MIB)


def test_a_table_takes_back_a_buffer_of_its_own_kind_first(pool):
    # The orders table of a run should take the buffer the orders table of the run before
    # held, not the fills table's, which the fills table would then miss.
    other = _core.Table(np.int32, 2 * MIB // 4)     # 4-byte records, 2 MiB
    own = table(4)                                  # 8-byte records, 4 MiB
    del other, own
    again = table(1)                                # 8-byte records: takes the 4 MiB one
    assert parked() == (1, 2 * MIB)
    assert len(again.view()) == 0 and again.view().dtype == np.int64
    del again
    then = _core.Table(np.int16, MIB // 2)          # no 2-byte buffer: the smallest that fits
    assert parked() == (1, 4 * MIB)
    del then


def test_the_pool_keeps_the_largest_buffers_within_its_limit(pool):
    mmsim.buffer_pool(3 * MIB)
    one, two, one_half, two_half, four = (table(m) for m in (1, 2, 1.5, 2.5, 4))
    del one, two
    assert parked() == (2, 3 * MIB)
    del one_half         # fits only by freeing the 2 MiB buffer, which is larger: not parked
    assert parked() == (2, 3 * MIB)
    del two_half         # fits by freeing both smaller ones
    assert parked() == (1, 2.5 * MIB)
    del four             # over the limit on its own
    assert parked() == (1, 2.5 * MIB)
    mmsim.buffer_pool(0)  # parks nothing, and frees what was parked
    assert parked() == (0, 0)
    one = table(1)
    del one
    assert parked() == (0, 0)


def test_the_pool_holds_at_most_eight_buffers(pool):
    tables = [table(1) for _ in range(9)]
    larger = table(1.25)
    del tables                                  # the ninth finds no slot
    assert parked() == (8, 8 * MIB)
    del larger                                  # larger than all: the smallest gives way
    assert parked() == (8, 8.25 * MIB)


def test_tracemalloc_sees_the_buffers_tables_hold_not_the_parked_ones(pool):
    t = table(2)
    del t                                       # parked before tracing starts
    tracemalloc.start()
    try:
        def traced():
            snapshot = tracemalloc.take_snapshot()
            held = snapshot.filter_traces([tracemalloc.DomainFilter(True, DOMAIN)])
            return sum(stat.size for stat in held.statistics("filename"))

        assert traced() == 0
        t = table(2)                            # from the pool: traced as it is taken
        assert traced() == 2 * MIB
        del t                                   # parked again: no longer traced
        assert traced() == 0
    finally:
        tracemalloc.stop()


class Quote(mmsim.Strategy):
    """A bid and an ask of ``size`` at the touch at every signal."""

    def __init__(self, size):
        self.size = size

    def on_signal(self, ctx):
        ctx.quote(ctx.bid_price, self.size, ctx.ask_price, self.size)


def test_a_run_in_parked_buffers_records_what_a_run_in_new_ones_does(pool):
    # Parked buffers hold an earlier run's records: every record a run reads it has
    # written first, so its result is the same as with buffers of its own.
    taq = synthetic_taq(duration="12h", seed=5)
    index = pd.date_range(taq.index[0].ceil("5s"), taq.index[-1], freq="5s", name="time")
    signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)

    def run(size):
        return mmsim.backtest(taq, signals, Quote(size), latency=0.01)

    mmsim.buffer_pool(0)
    fresh = run(100.0)
    assert 8192 < len(fresh.orders) <= 16384
    mmsim.buffer_pool(256 * MIB)
    earlier = run(300.0)
    # The orders table, 176 bytes a row and 30 columns a cache line (64 bytes) apart,
    # doubles from 1,024 rows: 8,192 rows take 8,192 x 176 + 30 x 64 = 1,443,712 bytes, a
    # mapping of 23 x 64 KiB = 1,507,328, which holds (1,507,328 - 1,920) // 176 = 8,553
    # rows; this run sends no more orders than that. The other tables stay below 1 MiB.
    assert 8192 < len(earlier.orders) <= 8553
    del earlier                                  # its orders table is parked, records and all
    assert parked() == (1, 1_507_328)
    reused = run(100.0)
    # Its orders table grew into the parked buffer at 8,192 rows.
    assert parked() == (0, 0)
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(reused, name), getattr(fresh, name))


def test_the_limit_is_reported_and_set(pool):
    assert mmsim.buffer_pool() == {"buffers": 0, "bytes": 0, "limit": 256 * MIB}
    assert mmsim.buffer_pool(np.int64(MIB)) == {"buffers": 0, "bytes": 0, "limit": MIB}
    assert mmsim.buffer_pool()["limit"] == MIB


@pytest.mark.parametrize("limit, error, message", [
    (-1, ValueError, "must be >= 0, got -1"),
    (1.5, ValueError, "must be a whole number, got 1.5"),
    ("1GB", TypeError, "must be an integer or None, got '1GB'"),
])
def test_a_bad_limit_is_refused_and_changes_nothing(pool, limit, error, message):
    with pytest.raises(error, match=f"^buffer_pool limit {message}$"):
        mmsim.buffer_pool(limit)
    assert mmsim.buffer_pool()["limit"] == 256 * MIB


def _heap():
    """The address range of the malloc heap ([heap] in /proc/self/maps)."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            if line.rstrip().endswith("[heap]"):
                lo, hi = line.split()[0].split("-")
                return int(lo, 16), int(hi, 16)
    return 0, 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="mappings of their own on Linux")
def test_a_large_table_is_a_mapping_of_its_own_not_a_block_of_the_heap(pool):
    # Freeing a 64 MiB array raises glibc's mmap threshold to its 32 MiB ceiling: from then
    # on malloc serves an 8 MiB block from the heap, where a table growing by doubling would
    # leave its smaller blocks behind as holes the heap keeps.
    np.ones(8 * MIB)
    big = table(8)
    address = big.view().__array_interface__["data"][0]
    lo, hi = _heap()
    assert not lo <= address < hi
    assert address % 4096 == 0                  # the start of a mapping
