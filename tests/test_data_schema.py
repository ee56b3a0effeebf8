"""TAQ and signals validation: every error names the column or row and the fix."""
import logging

import numpy as np
import pandas as pd
import pytest

from mmsim._validate import BLOCK_ROWS as B
from mmsim.data.schema import (
    ROW_PROBLEMS,
    TAQ_COLUMNS,
    SchemaError,
    clean_taq,
    time_index_ns,
    validate_signals,
    validate_taq,
)

NAN = np.nan


def make_taq(rows=None, times=None, tz="UTC"):
    """A small valid TAQ frame: quote row, buy, sell, quote row, buy."""
    if rows is None:
        rows = [
            [NAN, 0.0, 100.0, 5000.0, 100.5, 7000.0],
            [100.5, 300.0, 100.0, 5000.0, 100.5, 7000.0],
            [100.0, -200.0, 100.0, 5000.0, 100.5, 6700.0],
            [NAN, 0.0, 100.5, 1000.0, 101.0, 9000.0],
            [101.0, 50.0, 100.5, 1000.0, 101.0, 9000.0],
        ]
    if times is None:
        times = pd.date_range("2019-03-20", periods=len(rows), freq="100ms", unit="ns")
    index = pd.DatetimeIndex(times, name="time")
    if tz is not None:
        index = index.tz_localize(tz)
    return pd.DataFrame(rows, index=index, columns=list(TAQ_COLUMNS), dtype=np.float64)


def with_value(df, row, col, value):
    df = df.copy()
    df.iloc[row, df.columns.get_loc(col)] = value
    return df


# ---- a valid frame ---------------------------------------------------------------------

def test_valid_frame_is_returned_as_is():
    df = make_taq()
    assert validate_taq(df) is df
    assert validate_taq(df, clean=True) is df


def test_extra_columns_are_dropped_and_order_fixed():
    df = make_taq()
    df["symbol"] = "XBTUSD"
    df = df[["symbol"] + list(reversed(TAQ_COLUMNS))]
    out = validate_taq(df)
    assert list(out.columns) == list(TAQ_COLUMNS)
    pd.testing.assert_frame_equal(out, make_taq())


def test_quotes_may_be_missing_before_the_first_quote():
    df = make_taq()
    df.iloc[0, 2:] = NAN
    df.iloc[1, 2:] = NAN  # a trade before any quote, as in the notebook's first row
    validate_taq(df)


# ---- the index -------------------------------------------------------------------------

def test_not_a_dataframe():
    with pytest.raises(SchemaError, match="taq must be a pandas DataFrame, got ndarray"):
        validate_taq(np.zeros((3, 6)))


def test_index_not_datetime():
    df = make_taq().reset_index()
    with pytest.raises(SchemaError, match=r"DatetimeIndex named 'time', got RangeIndex; .*set_index"):
        validate_taq(df)


def test_index_not_named_time():
    df = make_taq()
    df.index.name = "timestamp"
    with pytest.raises(SchemaError, match=r"index must be named 'time', got 'timestamp'; "
                                          r"set df.index.name = \"time\""):
        validate_taq(df)


def test_nat_in_index():
    times = pd.DatetimeIndex(["2019-03-20 00:00:00", "NaT", "2019-03-20 00:00:01",
                              "2019-03-20 00:00:02", "2019-03-20 00:00:03"])
    df = make_taq(times=times)
    with pytest.raises(SchemaError, match=r"NaT \(missing time\) at row 1; .*notna\(\)"):
        validate_taq(df)


def test_out_of_order_names_the_first_offending_row():
    times = pd.to_datetime(["2019-03-20 00:00:00", "2019-03-20 00:00:02", "2019-03-20 00:00:01",
                            "2019-03-20 00:00:03", "2019-03-20 00:00:00.500"], format="ISO8601")
    df = make_taq(times=times)
    with pytest.raises(SchemaError, match=r"non-decreasing: row 2 \(2019-03-20 00:00:01\+00:00\) "
                                          r"comes before row 1 .*sort_index"):
        validate_taq(df)


def test_equal_times_are_fine():
    times = pd.to_datetime(["2019-03-20"] * 5)
    validate_taq(make_taq(times=times))


def test_naive_index_is_taken_as_utc_and_kept_naive():
    naive = make_taq(tz=None)
    aware = make_taq(tz="UTC")
    out = validate_taq(naive)
    assert out.index.tz is None
    np.testing.assert_array_equal(time_index_ns(naive, "taq"), time_index_ns(aware, "taq"))


def test_aware_index_is_converted_to_utc():
    ny = make_taq(tz=None)
    ny.index = ny.index.tz_localize("America/New_York")
    out = validate_taq(ny)
    assert str(out.index.tz) == "UTC"
    assert out.index[0] == ny.index[0]  # same instant
    assert out.index[0].hour == 4  # midnight in New York is 04:00 UTC in March (DST)


def test_microsecond_index_becomes_nanoseconds():
    df = make_taq()
    df.index = df.index.as_unit("us")
    out = validate_taq(df)
    assert out.index.unit == "ns"
    assert out.index.equals(make_taq().index)


# ---- columns ---------------------------------------------------------------------------

def test_missing_column():
    df = make_taq().drop(columns=["bid_amount"])
    with pytest.raises(SchemaError, match=r"missing column\(s\) \['bid_amount'\]; expected columns"):
        validate_taq(df)


def test_duplicate_column():
    df = make_taq()
    df = pd.concat([df, df[["price"]]], axis=1)
    with pytest.raises(SchemaError, match=r"duplicate column\(s\) \['price'\]"):
        validate_taq(df)


def test_lossless_casts():
    df = make_taq()
    df["bid_amount"] = df["bid_amount"].astype(np.int64)
    df["ask_amount"] = df["ask_amount"].astype("Int64")
    df["bid_price"] = df["bid_price"].astype(np.float32)
    df["amount"] = df["amount"].astype(object)
    out = validate_taq(df)
    assert (out.dtypes == np.float64).all()
    pd.testing.assert_frame_equal(out, make_taq())


def test_nullable_float_with_missing_values_casts_to_nan():
    df = make_taq()
    df["price"] = df["price"].astype("Float64")
    out = validate_taq(df)
    assert out["price"].dtype == np.float64
    assert np.isnan(out["price"].iloc[0])


def test_integer_too_large_for_float64():
    df = make_taq()
    df["ask_amount"] = np.array([7000, 7000, 2**53 + 1, 9000, 9000], dtype=np.int64)
    with pytest.raises(SchemaError, match=r"'ask_amount' \(int64\) cannot be cast to float64 "
                                          r"without loss: 9007199254740993 at row 2"):
        validate_taq(df)
    df["ask_amount"] = pd.Series([7000, 7000, 2**70, 9000, 9000], dtype=object, index=df.index)
    with pytest.raises(SchemaError, match=r"'ask_amount' \(object\) cannot be cast to float64 "
                                          r"without loss: 1180591620717411303424"):
        validate_taq(df)


def test_boolean_column():
    df = make_taq()
    df["amount"] = df["amount"] > 0
    with pytest.raises(SchemaError, match=r"'amount' must be float64, got boolean bool; .*to_numeric"):
        validate_taq(df)


def test_string_column():
    df = make_taq()
    df["price"] = ["", "100.5", "100.0", "", "101.0"]
    with pytest.raises(SchemaError, match=r"'price' must be float64, got .*"
                                          r"pd.to_numeric\(df\['price'\]\)"):
        validate_taq(df)
    df["price"] = df["price"].astype(object)
    with pytest.raises(SchemaError, match=r"got object values such as '' \(str\)"):
        validate_taq(df)


# ---- rows ------------------------------------------------------------------------------

def test_nan_amount():
    df = with_value(make_taq(), 3, "amount", NAN)
    with pytest.raises(SchemaError, match=r"'amount' is nan at row 3 \(2019-03-20 00:00:00.300000"
                                          r"\+00:00\); every row needs an amount \(0 for a "
                                          r"quote-only row\)"):
        validate_taq(df)


def test_nan_price_on_a_trade_row():
    df = with_value(make_taq(), 2, "price", NAN)
    with pytest.raises(SchemaError, match=r"'price' is nan at row 2 .*a trade row \(amount=-200.0\);"
                                          r" a trade needs a positive price"):
        validate_taq(df)


def test_nan_price_on_a_quote_row_is_fine():
    validate_taq(with_value(make_taq(), 3, "price", NAN))


def test_negative_price_on_a_trade_row():
    df = with_value(make_taq(), 1, "price", -5.0)
    with pytest.raises(SchemaError, match=r"'price' is -5.0 at row 1"):
        validate_taq(df)


def test_nan_size_after_the_first_quote():
    df = with_value(make_taq(), 4, "bid_amount", NAN)
    with pytest.raises(SchemaError, match=r"'bid_amount' is nan at row 4 .*only before the first "
                                          r"quote \(row 0 .*\.ffill\(\)"):
        validate_taq(df)


def test_nan_quote_price_after_the_first_quote_counts_more_rows():
    df = make_taq()
    df.iloc[2:4, df.columns.get_loc("ask_price")] = NAN
    with pytest.raises(SchemaError, match=r"'ask_price' is nan at row 2 .* \(1 more row\(s\) like it\)"):
        validate_taq(df)


def test_negative_size():
    df = with_value(make_taq(), 2, "ask_amount", -1.0)
    with pytest.raises(SchemaError, match=r"'ask_amount' is negative \(-1.0\) at row 2 .*sign of "
                                          r"'amount'"):
        validate_taq(df)


@pytest.mark.parametrize("bid", [100.5, 101.0])
def test_crossed_or_locked_quote(bid):
    df = with_value(make_taq(), 1, "bid_price", bid)
    with pytest.raises(SchemaError, match=rf"crossed quote at row 1 .*: bid_price {bid} >= "
                                          r"ask_price 100.5; the bid must be below the ask; or "
                                          r"pass clean=True"):
        validate_taq(df)


# ---- clean=True ------------------------------------------------------------------------

def test_clean_drops_bad_rows_and_counts_each_kind(caplog):
    rows = [
        [NAN, 0.0, NAN, NAN, NAN, NAN],              # 0 no quote yet: fine
        [100.5, 300.0, NAN, NAN, NAN, NAN],          # 1 trade before the first quote: fine
        [NAN, 0.0, 100.0, 5000.0, 100.5, 7000.0],    # 2 first quote
        [NAN, 300.0, 100.0, 5000.0, 100.5, 7000.0],  # 3 trade_price
        [100.0, NAN, 100.0, 5000.0, 100.5, 6700.0],  # 4 nan_amount
        [NAN, 0.0, 100.5, NAN, 101.0, 9000.0],       # 5 missing_quote
        [NAN, 0.0, 100.5, -3.0, 101.0, 9000.0],      # 6 negative_size
        [NAN, 0.0, 101.0, 10.0, 101.0, 9000.0],      # 7 crossed (locked)
        [NAN, 0.0, 102.0, 10.0, 101.0, 9000.0],      # 8 crossed
        [NAN, 0.0, 0.0, 10.0, 101.0, 9000.0],        # 9 quote_price (a zero bid)
        [101.0, 50.0, 100.5, 1000.0, 101.0, 9000.0],  # 10 fine
        [101.0, 50.0, 100.5, 1000.0, 101.0, 9000.0],  # 11 out_of_order (earlier time)
        [101.0, 50.0, 100.5, 1000.0, 101.0, 9000.0],  # 12 fine
    ]
    times = pd.date_range("2019-03-20", periods=len(rows), freq="1s", unit="ns")
    times = times.insert(11, times[3]).delete(12)
    df = make_taq(rows, times=times)
    with pytest.raises(SchemaError):
        validate_taq(df)
    with caplog.at_level(logging.WARNING, logger="mmsim.data"):
        out = validate_taq(df, clean=True)
    assert list(out.index) == [df.index[i] for i in (0, 1, 2, 10, 12)]
    counts = out.attrs["dropped_rows"]
    assert counts == {"missing_time": 0, "nan_amount": 1, "trade_price": 1, "missing_quote": 1,
                      "negative_size": 1, "quote_price": 1, "crossed": 2, "out_of_order": 1,
                      "total": 8}
    assert "dropped 8 of 13 rows: nan_amount=1, trade_price=1, missing_quote=1, negative_size=1, " \
           "quote_price=1, crossed=2, out_of_order=1" in caplog.text
    assert validate_taq(out) is out  # the result is valid
    assert set(counts) == set(ROW_PROBLEMS) | {"total"}


def test_clean_taq_returns_counts_and_drops_nat():
    times = pd.DatetimeIndex(["2019-03-20 00:00:00", "NaT", "2019-03-20 00:00:01",
                              "2019-03-20 00:00:02", "2019-03-20 00:00:03"])
    out, counts = clean_taq(make_taq(times=times))
    assert len(out) == 4 and out.index.notna().all()
    assert counts["missing_time"] == 1 and counts["total"] == 1


def test_clean_still_raises_on_column_problems():
    df = make_taq().drop(columns=["price"])
    with pytest.raises(SchemaError, match="missing column"):
        validate_taq(df, clean=True)


# ---- signals ---------------------------------------------------------------------------

def make_signals():
    index = pd.date_range("2019-03-20", periods=4, freq="1min", name="time")
    return pd.DataFrame({"sigma": [0.1, 0.2, 0.3, 0.4], "inv": [1, -2, 0, 3]}, index=index)


def test_signals_cast_to_float64():
    out = validate_signals(make_signals())
    assert (out.dtypes == np.float64).all()
    assert list(out.columns) == ["sigma", "inv"]


def test_signals_nan_names_the_column():
    df = make_signals()
    df.iloc[2, 0] = NAN
    with pytest.raises(SchemaError, match=r"signals column 'sigma' is nan at row 2 .*fix_features"):
        validate_signals(df)


def test_signals_non_numeric():
    df = make_signals()
    df["name"] = "a"
    with pytest.raises(SchemaError, match=r"signals column 'name' must be float64"):
        validate_signals(df)


def test_signals_index_name():
    df = make_signals()
    df.index.name = None
    with pytest.raises(SchemaError, match=r"signals index must be named 'time', got None"):
        validate_signals(df)


def test_the_fused_row_check_finds_the_first_row_any_rule_finds():
    # first_bad_row (one C pass) against the masks that name each problem, on frames whose
    # values come from a small set that hits every rule and its edges.
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    from mmsim._validate import first_bad_row
    from mmsim.data.schema import _problem_masks

    values = st.sampled_from([np.nan, -1.0, 0.0, 1.0, 2.0, 3.0, np.inf])
    columns = st.integers(1, 12).flatmap(
        lambda n: st.tuples(*[arrays(np.float64, n, elements=values) for _ in range(6)]))

    @settings(max_examples=400, deadline=None, derandomize=True)
    @given(columns)
    def check(cols):
        frame = dict(zip(("price", "amount", "bid_price", "bid_amount", "ask_price",
                          "ask_amount"), (pd.Series(c) for c in cols)))
        index = pd.DatetimeIndex(np.arange(len(cols[0])) * 10**9, tz="UTC")
        masks, _ = _problem_masks(index, frame)
        bad = np.zeros(len(index), bool)
        for mask in masks.values():
            bad |= mask
        expected = int(np.argmax(bad)) if bad.any() else -1
        assert first_bad_row(*cols) == expected

    check()


def test_the_fused_price_check_agrees_with_the_column_checks():
    # first_unfit_price (one C pass) finds the first row with a price at 2**53 ticks or more or
    # a quote off the grid, as the per-column checks that name a bad row find.
    from hypothesis import given, settings
    from hypothesis import strategies as st
    from hypothesis.extra.numpy import arrays

    from mmsim._validate import first_off_grid, first_unfit_price

    tick = 0.5
    values = st.sampled_from([np.nan, 0.5, 1.0, 100.0, 100.25, 100.5, 2.0**53 * tick,
                              2.0**53 * tick - 0.5, 1e300])
    columns = st.integers(1, 8).flatmap(
        lambda n: st.tuples(*[arrays(np.float64, n, elements=values) for _ in range(3)]))

    @settings(max_examples=300, deadline=None, derandomize=True)
    @given(columns)
    def check(cols):
        price, bid, ask = cols
        limit = 2.0**53 * tick
        rows = [len(price)]
        with np.errstate(invalid="ignore"):
            rows += [int(np.argmax(c >= limit)) for c in cols if (c >= limit).any()]
        rows += [r for r in (first_off_grid(bid, tick), first_off_grid(ask, tick)) if r >= 0]
        expected = min(rows) if min(rows) < len(price) else -1
        assert first_unfit_price(price, bid, ask, tick) == expected

    check()


# ---- the fused kernels on frames longer than a block ---------------------------------------

TICK = 0.5
LIMIT = 2.0**53 * TICK          # 4503599627370496.0: 2**53 ticks of 0.5
BLOCK_EDGES = (0, 1, B - 1, B, B + 1, 2 * B - 1, 2 * B, 2 * B + 188, 4 * B - 1, 4 * B)
#: Rows of the long frames: past four blocks; the last row.
N_LONG = 4 * B + 76
LAST = N_LONG - 1


def long_columns(n=N_LONG, first_quote=0, seed=0):
    """Valid TAQ columns of ``n`` rows on the 0.5 grid: quote-only rows and trades (some at
    off-grid VWAP prices), all four quote values NaN before ``first_quote``."""
    rng = np.random.default_rng(seed)
    bid = 1000.0 + TICK * rng.integers(0, 40, n)
    ask = bid + TICK * rng.integers(1, 4, n)
    bid_amount = rng.integers(1, 100, n).astype(float)
    ask_amount = rng.integers(1, 100, n).astype(float)
    amount = rng.integers(-50, 50, n).astype(float) * (rng.random(n) < 0.5)
    price = np.where(amount > 0, ask, bid) + np.where(rng.random(n) < 0.3, 0.1, 0.0)
    price[amount == 0] = NAN
    for column in (bid, bid_amount, ask, ask_amount):
        column[:first_quote] = NAN
    return {"price": price, "amount": amount, "bid_price": bid, "bid_amount": bid_amount,
            "ask_price": ask, "ask_amount": ask_amount}


def reference_first_bad(cols, tick_size):
    """The first bad row by the NumPy masks of the schema (and of the grid with a tick size)."""
    from mmsim.data.schema import _problem_masks

    n = len(cols["price"])
    masks, _ = _problem_masks(pd.DatetimeIndex(np.arange(n), tz="UTC"),
                              {c: pd.Series(v) for c, v in cols.items()})
    bad = np.zeros(n, bool)
    for mask in masks.values():
        bad |= mask
    if tick_size:
        limit, inv = 2.0**53 * tick_size, 1.0 / tick_size
        with np.errstate(invalid="ignore"):
            for c in ("price", "bid_price", "ask_price"):
                bad |= cols[c] >= limit
            for c in ("bid_price", "ask_price"):
                ticks = cols[c] * inv
                bad |= np.abs(ticks - np.floor(ticks + 0.5)) > 1e-6
    return int(np.argmax(bad)) if bad.any() else -1


# (what is planted, the values it sets on its row, whether the row breaks the schema, whether
# it does not fit the 0.5 grid)
PLANTS = [
    *[(f"{v} {c}", {c: v}, True, False) for c in ("amount", "bid_amount", "ask_amount")
      for v in (NAN, np.inf, -np.inf)],
    *[(f"{v} {c}", {c: v}, True, v == np.inf)
      for c in ("bid_price", "ask_price") for v in (NAN, np.inf, -np.inf)],
    *[(f"{v} price of a trade", {"amount": 1.0, "price": v}, True, v == np.inf)
      for v in (NAN, np.inf, -np.inf, 0.0, -1.0)],
    ("negative bid size", {"bid_amount": -1.0}, True, False),
    ("negative ask size", {"ask_amount": -1.0}, True, False),
    ("zero bid", {"bid_price": 0.0}, True, False),
    ("crossed", {"bid_price": 1002.0, "ask_price": 1002.0}, True, False),
    ("off-grid bid", {"bid_price": 1000.2, "ask_price": 1001.0}, False, True),
    ("off-grid ask", {"bid_price": 1000.0, "ask_price": 1000.7}, False, True),
    ("price at 2**53 ticks", {"amount": 1.0, "price": LIMIT}, False, True),
    ("quote-only price at 2**53 ticks", {"amount": 0.0, "price": LIMIT}, False, True),
    ("ask at 2**53 ticks", {"ask_price": LIMIT}, False, True),
    ("bid and ask at 2**53 ticks", {"bid_price": LIMIT, "ask_price": LIMIT + 2.0}, False, True),
    # 2**51 ticks and more: on the grid, but past the magic-number rounding of the fast test.
    ("off-grid bid at 2**51 + 0.5 ticks", {"bid_price": 2.0**50 + 0.25, "ask_price": 2.0**51},
     False, True),
]


@pytest.mark.parametrize("row", BLOCK_EDGES + (LAST,))
@pytest.mark.parametrize("what, values, schema, grid", PLANTS, ids=[p[0] for p in PLANTS])
def test_the_fused_kernel_finds_a_bad_value_at_any_row(row, what, values, schema, grid):
    from mmsim._validate import first_bad_row, first_unfit_price

    cols = long_columns()
    for c, v in values.items():
        cols[c][row] = v
    # A second bad row after it must not hide it.
    later = min(row + 300, LAST)
    if later > row:
        cols["amount"][later] = NAN
    args = [cols[c] for c in TAQ_COLUMNS]
    expected = row if schema else -1 if row == later else later
    assert first_bad_row(*args) == expected == reference_first_bad(cols, 0.0)
    expected = row if schema or grid else -1 if row == later else later
    assert first_bad_row(*args, tick_size=TICK) == expected == reference_first_bad(cols, TICK)
    expected = row if grid else -1
    assert first_unfit_price(cols["price"], cols["bid_price"], cols["ask_price"],
                             TICK) == expected


@pytest.mark.parametrize("first_quote", [0, 1, B - 1, B, B + 44, N_LONG])
def test_rows_before_the_first_quote_need_no_quote(first_quote):
    from mmsim._validate import first_bad_row

    cols = long_columns(first_quote=first_quote)
    args = [cols[c] for c in TAQ_COLUMNS]
    assert first_bad_row(*args) == first_bad_row(*args, tick_size=TICK) == -1
    # A price too large is found before the first quote as after it.
    row = max(first_quote - 1, 0)
    price, cols["price"][row] = cols["price"][row], LIMIT
    assert first_bad_row(*args) == -1
    assert first_bad_row(*args, tick_size=TICK) == row
    cols["price"][row] = price
    if first_quote == N_LONG:
        return
    # The first quote must have all four values: one set alone is a bad row.
    cols["bid_amount"][first_quote] = NAN
    assert first_bad_row(*args) == first_quote == reference_first_bad(cols, 0.0)
    cols["bid_amount"][first_quote] = 1.0
    if first_quote:
        cols["ask_price"][first_quote - 1] = 1000.5
        assert first_bad_row(*args) == first_quote - 1 == reference_first_bad(cols, 0.0)


def test_values_of_2_to_the_51_ticks_and_more_on_the_grid_fit():
    # The fast test rounds with 1.5 x 2**52: from 2**51 ticks on, its block is read again
    # with the exact test, which finds these on the grid. (From 2**52 on, floor(x + 0.5)
    # rounds an odd count of ticks up, so the exact test counts only even ones on the grid.)
    from mmsim._validate import first_bad_row, first_unfit_price

    cols = long_columns()
    for k, bid, ask in ((3, 2.0**51, 2.0**51 + 1), (B, 2.0**51 + 1, 2.0**51 + 2),
                        (2 * B + 88, 2.0**52 + 2, 2.0**52 + 4), (LAST, 2.0**53 - 4, 2.0**53 - 2)):
        cols["bid_price"][k], cols["ask_price"][k] = bid * TICK, ask * TICK
        cols["price"][k] = ask * TICK if cols["amount"][k] else NAN
    args = [cols[c] for c in TAQ_COLUMNS]
    assert first_bad_row(*args, tick_size=TICK) == -1 == reference_first_bad(cols, TICK)
    assert first_unfit_price(cols["price"], cols["bid_price"], cols["ask_price"], TICK) == -1


def test_the_fused_kernel_agrees_with_the_masks_on_random_frames():
    # Bad values of every kind at random rows of random lengths, with and without a tick size.
    from mmsim._validate import first_bad_row

    rng = np.random.default_rng(7)
    values = [NAN, np.inf, -np.inf, -1.0, 0.0, 1000.2, LIMIT, 2.0**50 + 0.25, 2.0**51]
    for trial in range(300):
        n = int(rng.integers(1, 5 * B))
        cols = long_columns(n, first_quote=int(rng.integers(0, 3) and rng.integers(0, n + 1)),
                            seed=trial)
        for _ in range(int(rng.integers(0, 4))):
            column = TAQ_COLUMNS[rng.integers(0, 6)]
            cols[column][rng.integers(0, n)] = values[rng.integers(0, len(values))]
        args = [cols[c] for c in TAQ_COLUMNS]
        for tick_size in (0.0, TICK):
            assert first_bad_row(*args, tick_size=tick_size) == reference_first_bad(cols,
                                                                                   tick_size)


def test_the_kernels_refuse_columns_of_unequal_length():
    from mmsim._validate import first_bad_row, first_unfit_price

    x = np.ones(3)
    with pytest.raises(ValueError, match="every TAQ column needs one value per row"):
        first_bad_row(x, x, x, x, x, np.ones(2))
    with pytest.raises(ValueError, match="every TAQ column needs one value per row"):
        first_unfit_price(x, x, np.ones(2), 0.5)
    with pytest.raises(ValueError, match=r"tick_size must be positive, got 0.0"):
        first_unfit_price(x, x, x, 0.0)
    assert first_bad_row(*[np.zeros(0)] * 6, tick_size=0.5) == -1
    assert first_unfit_price(*[np.zeros(0)] * 3, 0.5) == -1


# ---- validate_taq with a contract ----------------------------------------------------------

def test_validate_taq_with_a_contract_names_a_price_off_its_grid():
    import mmsim

    df = with_value(make_taq(), 3, "bid_price", 100.7)
    assert validate_taq(df) is not None            # without a contract, any grid
    with pytest.raises(SchemaError, match=r"^taq column 'bid_price' is 100.7 at row 3, off the "
                                          r"tick grid of 0.5 \(BitMEX XBTUSD\); the nearest "
                                          r"price on the grid is 100.5: check the contract "
                                          r"matches the data$"):
        validate_taq(df, contract=mmsim.BITMEX_XBTUSD)
    big = with_value(make_taq(), 2, "price", 5e15)
    with pytest.raises(SchemaError, match=r"^taq column 'price' is 5000000000000000.0 at row 2, "
                                          r"more than 2\*\*53 ticks of 0.5 \(BitMEX XBTUSD\)$"):
        validate_taq(big, contract=mmsim.BITMEX_XBTUSD)
    assert validate_taq(make_taq(), contract=mmsim.BITMEX_XBTUSD) is not None


def test_validate_taq_names_a_bad_row_before_a_price_off_the_grid():
    import mmsim

    df = with_value(with_value(make_taq(), 1, "ask_price", 100.7), 4, "amount", NAN)
    with pytest.raises(SchemaError, match=r"^taq column 'amount' is nan at row 4 "):
        validate_taq(df, contract=mmsim.BITMEX_XBTUSD)


def test_validate_taq_clean_drops_bad_rows_then_checks_the_grid(caplog):
    import mmsim

    # Row 1 is dropped, so the off-grid bid of row 3 is row 2 of the frame checked.
    df = with_value(with_value(make_taq(), 1, "amount", NAN), 3, "bid_price", 100.7)
    with caplog.at_level(logging.WARNING, logger="mmsim.data"):
        with pytest.raises(SchemaError, match=r"^taq column 'bid_price' is 100.7 at row 2, off "):
            validate_taq(df, clean=True, contract=mmsim.BITMEX_XBTUSD)
    out = validate_taq(with_value(make_taq(), 1, "amount", NAN), clean=True,
                       contract=mmsim.BITMEX_XBTUSD)
    assert len(out) == 4


@pytest.mark.parametrize("row", BLOCK_EDGES[1:] + (LAST,))
@pytest.mark.parametrize("drop", [1, 10**9, 2**63 - 1])
def test_the_time_check_finds_the_first_descent_at_block_edges(row, drop):
    # first_descent reads B rows a block with one flag each: a time one nanosecond (or far,
    # or down to NaT) below the row above is found at its row, a later one does not hide it,
    # and equal times are no descent.
    from mmsim._validate import first_descent

    times = np.repeat(np.arange(N_LONG // 2 + 50, dtype=np.int64) * 10**9, 2)
    times[row] = times[row - 1] - drop if drop < 2**63 - 1 else np.iinfo(np.int64).min
    times[row + 50:] += 10**12          # ascending again after it...
    times[-1] = 0                       # ...and a later descent, on the last row
    expected = int(np.flatnonzero(times[1:] < times[:-1])[0]) + 1
    assert expected == row
    assert first_descent(times) == row
    assert first_descent(np.sort(times)) == -1
    assert first_descent(times[:1]) == first_descent(times[:0]) == -1


@pytest.mark.parametrize("pair", [
    (2**63 - 1, -2**63),            # the largest time, then NaT: a descent of 2**64 - 1
    (-2**63, 2**63 - 1),            # NaT, then the largest time: up by as much
    (2**62, -2**62 - 1),            # differences just past the int64 range, both ways
    (-2**62 - 1, 2**62),
    (-1, 2**63 - 1), (2**63 - 1, -1), (5, 5), (-2**63, -2**63),
])
def test_the_time_check_compares_times_whose_difference_overflows(pair):
    # The block test works on the difference of neighbouring times, which overflows int64
    # between a time and NaT or between times far apart: it must still order them as int64
    # comparison does, in every position of a block.
    from mmsim._validate import first_descent

    for row in (1, B - 1, B, B + 44):
        times = np.full(B + 144, pair[0], dtype=np.int64)
        times[row:] = pair[1]
        expected = row if pair[1] < pair[0] else -1
        assert first_descent(times) == expected, row


def test_nat_first_and_nat_after_an_earlier_descent_are_named_as_nat():
    # The one-pass time check only says something is wrong; what is wrong keeps its order:
    # NaT anywhere is named before a row out of order.
    times = pd.DatetimeIndex(["NaT", "2019-03-20 00:00:01", "2019-03-20 00:00:02"])
    with pytest.raises(SchemaError, match=r"NaT \(missing time\) at row 0"):
        validate_taq(make_taq(times=times[[0, 1, 2, 2, 2]]))
    times = pd.DatetimeIndex(["2019-03-20 00:00:02", "2019-03-20 00:00:01", "NaT",
                              "2019-03-20 00:00:03", "2019-03-20 00:00:04"])
    with pytest.raises(SchemaError, match=r"NaT \(missing time\) at row 2"):
        validate_taq(make_taq(times=times))
