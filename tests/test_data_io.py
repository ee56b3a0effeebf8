"""read_taq / write_taq: round trips, time slicing, and reading only the files a slice needs."""
import os

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import mmsim
from mmsim.data.io import daily_files, read_taq, write_taq
from mmsim.data.schema import TAQ_COLUMNS, SchemaError
from mmsim.data.synthetic import synthetic_taq


@pytest.fixture(scope="module")
def month():
    # 30 days at a low rate: ~26,000 rows, every day present.
    return synthetic_taq(duration="30D", seed=4, rate=0.01)


@pytest.fixture
def small():
    return synthetic_taq(2000, seed=9)


def test_public_names():
    assert mmsim.read_taq is read_taq
    assert mmsim.write_taq is write_taq


@pytest.mark.parametrize("name", ["taq.parquet", "taq.parq", "taq.csv", "taq.csv.gz", "days"])
def test_round_trip_is_identical(tmp_path, small, name):
    path = write_taq(small, tmp_path / name)
    assert path == tmp_path / name
    back = read_taq(path)
    pd.testing.assert_frame_equal(back, small, check_exact=True)
    assert str(back.index.dtype) == "datetime64[ns, UTC]"
    assert back.index.name == "time"


def test_round_trip_of_a_naive_index_stays_naive(tmp_path, small):
    naive = small.tz_localize(None)
    for name in ("n.parquet", "n.csv", "ndays"):
        back = read_taq(write_taq(naive, tmp_path / name))
        assert back.index.tz is None
        pd.testing.assert_frame_equal(back, naive, check_exact=True)


def test_parquet_file_is_zstd_with_a_utc_time_column(tmp_path, small):
    path = write_taq(small, tmp_path / "taq.parquet", row_group_size=500)
    meta = pq.ParquetFile(path).metadata
    assert meta.num_row_groups == 4
    assert meta.row_group(0).column(0).compression == "ZSTD"
    schema = pq.read_schema(path)
    assert schema.names == ["time", *TAQ_COLUMNS]
    assert schema.field("time").type == pa.timestamp("ns", tz="UTC")
    assert all(schema.field(c).type == pa.float64() for c in TAQ_COLUMNS)


def test_directory_has_one_file_per_utc_day(tmp_path, month):
    write_taq(month, tmp_path / "days")
    names = sorted(os.listdir(tmp_path / "days"))
    assert len(names) == 30
    assert names[0] == "2019-04-01.parquet" and names[-1] == "2019-04-30.parquet"
    one = pq.read_table(tmp_path / "days" / "2019-04-07.parquet").column("time").to_pandas()
    assert (one.dt.strftime("%Y-%m-%d") == "2019-04-07").all()


def test_slicing_a_30_day_directory_to_one_day_reads_only_that_file(tmp_path, month):
    days = write_taq(month, tmp_path / "days")
    # Make every other day's file unreadable: if read_taq opened one, it would fail.
    for name in os.listdir(days):
        if name != "2019-04-12.parquet":
            (days / name).write_bytes(b"not a parquet file")
    with pytest.raises(SchemaError, match="is not a readable Parquet TAQ file") as err:
        read_taq(days)  # the whole directory does touch the broken files
    assert isinstance(err.value.__cause__, pa.ArrowInvalid)
    assert daily_files(days, "2019-04-12", "2019-04-13") == [days / "2019-04-12.parquet"]
    got = read_taq(days, start="2019-04-12", end="2019-04-13")
    expected = month.loc["2019-04-12"]
    assert len(got) > 0
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_freq=False)
    # A slice inside the day reads the same single file and filters rows (pushed down).
    part = read_taq(days, start="2019-04-12 06:00", end="2019-04-12 07:00")
    pd.testing.assert_frame_equal(part, month.loc["2019-04-12 06:00":"2019-04-12 06:59:59.999999999"],
                                  check_freq=False)


def test_daily_files_keeps_overlapping_days_and_foreign_files(tmp_path, month):
    days = write_taq(month, tmp_path / "days")
    (days / "extra.parquet").write_bytes(b"")
    (days / "notes.txt").write_text("ignored")
    got = [p.name for p in daily_files(days, "2019-04-03 12:00", "2019-04-05")]
    assert got == ["2019-04-03.parquet", "2019-04-04.parquet", "extra.parquet"]
    assert len(daily_files(days)) == 31


@pytest.mark.parametrize("name", ["m.parquet", "m.csv", "days", None])
def test_start_and_end_are_half_open(tmp_path, month, name):
    source = month if name is None else write_taq(month, tmp_path / name)
    start, end = month.index[100], month.index[200]
    got = read_taq(source, start, end)
    expected = month[(month.index >= start) & (month.index < end)]
    pd.testing.assert_frame_equal(got, expected, check_exact=True, check_freq=False)
    # Naive bounds are UTC; tz-aware bounds are converted.
    got2 = read_taq(source, start.tz_localize(None), end.tz_convert("Asia/Tokyo"))
    pd.testing.assert_frame_equal(got2, expected, check_freq=False)
    assert len(read_taq(source, start="2019-04-03")) == (month.index >= "2019-04-03").sum()
    assert len(read_taq(source, end="2019-04-03")) == (month.index < "2019-04-03").sum()


def test_range_with_no_rows(tmp_path, month):
    days = write_taq(month, tmp_path / "days")
    got = read_taq(days, "2020-01-01", "2020-01-02")
    assert len(got) == 0 and list(got.columns) == list(TAQ_COLUMNS)


def test_writing_a_day_again_replaces_its_file(tmp_path, month):
    days = write_taq(month, tmp_path / "days")
    day = month.loc["2019-04-05"].iloc[:10]
    write_taq(day, days)
    assert len(read_taq(days, "2019-04-05", "2019-04-06")) == 10
    assert len(read_taq(days, "2019-04-06", "2019-04-07")) == len(month.loc["2019-04-06"])


def test_read_validates_and_can_clean(tmp_path, small):
    bad = small.copy()
    bad.iloc[5, bad.columns.get_loc("bid_price")] = bad.iloc[5]["ask_price"] + 1
    path = tmp_path / "bad.parquet"
    pq.write_table(pa.Table.from_pandas(bad.reset_index(), preserve_index=False), path)
    with pytest.raises(SchemaError, match="crossed quote at row 5"):
        read_taq(path)
    cleaned = read_taq(path, clean=True)
    assert len(cleaned) == len(small) - 1
    assert cleaned.attrs["dropped_rows"]["crossed"] == 1


def test_write_validates(tmp_path, small):
    with pytest.raises(SchemaError, match="missing column"):
        write_taq(small.drop(columns=["price"]), tmp_path / "x.parquet")


def test_dataframe_source_is_validated(small):
    df = small.copy()
    df["amount"] = df["amount"].astype(np.int64)
    out = read_taq(df)
    assert out["amount"].dtype == np.float64


def test_errors(tmp_path, small):
    with pytest.raises(FileNotFoundError, match="no such TAQ file or directory"):
        read_taq(tmp_path / "missing.parquet")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="holds no Parquet file"):
        read_taq(tmp_path / "empty")
    with pytest.raises(TypeError, match="path or a DataFrame"):
        read_taq(123)
    with pytest.raises(ValueError, match="end .* is before start"):
        read_taq(small, "2019-04-02", "2019-04-01")
    with pytest.raises(ValueError, match="start must be a time"):
        read_taq(small, start="yesterday-ish")
    csv = tmp_path / "no_time.csv"
    small.reset_index(drop=True).to_csv(csv, index=False)
    with pytest.raises(SchemaError, match=r"no_time.csv has no 'time' column .*time,price,amount"):
        read_taq(csv)
    parquet = tmp_path / "no_time.parquet"
    pq.write_table(pa.table({"price": [1.0]}), parquet)
    with pytest.raises(SchemaError, match="has no 'time' column"):
        read_taq(parquet)
    with pytest.raises(ValueError, match="by_day=False needs a file name"):
        write_taq(small, tmp_path / "dir", by_day=False)


def test_a_time_column_that_is_not_a_timestamp(tmp_path):
    path = tmp_path / "int_time.parquet"
    pq.write_table(pa.table({"time": [1, 2], **{c: [1.0, 2.0] for c in TAQ_COLUMNS}}), path)
    for start in (None, "2019-04-01"):  # with and without a pushed-down filter
        with pytest.raises(SchemaError, match="column 'time' must be a timestamp, got int64"):
            read_taq(path, start=start)


def test_a_csv_is_cleaned_as_a_whole_before_slicing(tmp_path, small):
    # Row 20 is stamped after row 40: a slice of the unsorted file must not depend on where
    # the bad row falls, and clean=True must drop it as it would from the DataFrame.
    times = small.index.to_numpy().copy()
    times[20] = times[40]
    shuffled = small.set_axis(pd.DatetimeIndex(times, name="time"))
    path = tmp_path / "unsorted.csv"
    shuffled.to_csv(path, index_label="time")
    start, end = small.index[10], small.index[30]
    with pytest.raises(SchemaError, match="non-decreasing: row 21"):
        read_taq(path, start, end)
    got = read_taq(path, start, end, clean=True)
    pd.testing.assert_frame_equal(got, read_taq(shuffled, start, end, clean=True),
                                  check_exact=True)
    # rows 21-39 are out of order once row 20 says times[40]; row 20 itself is past the end
    assert list(got.index) == list(small.index[10:20])


def test_by_day_forces_a_directory(tmp_path, small):
    path = write_taq(small, tmp_path / "odd.parquet", by_day=True)
    assert path.is_dir() and sorted(os.listdir(path)) == ["2019-04-01.parquet"]


def test_a_corrupt_parquet_file_is_a_schema_error_naming_it(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"x")
    with pytest.raises(SchemaError, match=r"broken.parquet is not a readable Parquet TAQ file"):
        read_taq(path)


def test_a_csv_time_that_does_not_parse_is_named(tmp_path, small):
    frame = small.iloc[:3].reset_index()
    frame["time"] = frame["time"].astype(str)
    frame.loc[1, "time"] = "yesterday noon"
    path = tmp_path / "bad_time.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"bad_time.csv: column 'time' must hold ISO 8601 "
                                          r"times such as '.+', got 'yesterday noon' at row 1$"):
        read_taq(path)
    # Times that parse one by one but not together (UTC offsets on some rows only) keep
    # pandas' reason.
    frame.loc[1, "time"] = "2019-04-01 00:00:01"
    frame.to_csv(path, index=False)
    with pytest.raises(SchemaError, match=r"bad_time.csv: column 'time' must hold ISO 8601 "
                                          r"times \(Mixed timezones"):
        read_taq(path)


def test_read_signals_from_csv_and_parquet(tmp_path):
    from mmsim.data.io import read_signals

    index = pd.DatetimeIndex(["2019-04-01 00:01", "2019-04-01 00:02"], tz="UTC", name="time")
    signals = pd.DataFrame({"sigma": [0.25, 0.5], "inv": [1.0, -2.0]}, index=index)
    signals.to_csv(tmp_path / "s.csv")
    signals.to_parquet(tmp_path / "s.parquet")
    signals.reset_index().to_parquet(tmp_path / "column.parquet")  # time as a column
    for name in ("s.csv", "s.parquet", "column.parquet"):
        back = read_signals(tmp_path / name)
        pd.testing.assert_frame_equal(back, signals, check_freq=False)


def test_read_signals_errors_name_the_file(tmp_path):
    from mmsim.data.io import read_signals

    with pytest.raises(FileNotFoundError, match=r"^no such signals file: .*none.csv$"):
        read_signals(tmp_path / "none.csv")
    (tmp_path / "s.txt").write_text("time,sigma\n")
    with pytest.raises(SchemaError, match=r"s.txt: expected a signals file ending in .parquet "
                                          r"or .csv$"):
        read_signals(tmp_path / "s.txt")
    (tmp_path / "s.csv").write_text("when,sigma\n2019-04-01,1\n")
    with pytest.raises(SchemaError, match=r"s.csv has no 'time' column \(columns: \['when', "
                                          r"'sigma'\]\); the first line must name the columns, "
                                          r"e.g. time,sigma$"):
        read_signals(tmp_path / "s.csv")
    (tmp_path / "s.parquet").write_text("time,sigma\n")
    with pytest.raises(SchemaError, match=r"s.parquet is not a readable Parquet signals file: "):
        read_signals(tmp_path / "s.parquet")
    pd.DataFrame({"sigma": [1.0]}).to_parquet(tmp_path / "untimed.parquet")
    with pytest.raises(SchemaError, match=r"untimed.parquet has no 'time' index or column "
                                          r"\(columns: \['sigma'\]\)"):
        read_signals(tmp_path / "untimed.parquet")


def test_a_naive_file_sliced_by_read_taq_is_taken_as_utc(tmp_path, small):
    naive = small.tz_localize(None)
    path = write_taq(naive, tmp_path / "naive.parquet")
    start, end = small.index[100], small.index[200]
    for source in (path, naive, write_taq(naive, tmp_path / "naive.csv")):
        part = read_taq(source, start, end)
        assert part.index.tz is None
        pd.testing.assert_frame_equal(part, naive.iloc[100:200], check_exact=True)
