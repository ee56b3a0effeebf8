"""read_taq(..., stream=True): chunks that concatenate to the in-memory frame, re-iteration,
row groups and files skipped by the time range, and time order checked across chunks."""
import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import mmsim
from mmsim.data.io import TAQStream, read_taq, write_taq
from mmsim.data.schema import SchemaError
from mmsim.data.synthetic import synthetic_taq


@pytest.fixture(scope="module")
def ticks():
    # Three days, floored to the hour so that many rows share a timestamp: chunk boundaries of
    # every batch size fall inside such groups.
    df = synthetic_taq(duration="3D", seed=5, rate=0.0015, resolution="1h")
    assert df.index.duplicated().sum() > 20
    return df


def _sources(tmp_path, df):
    return {
        "file": write_taq(df, tmp_path / "t.parquet", row_group_size=50),
        "days": write_taq(df, tmp_path / "days", row_group_size=50),
        "csv": write_taq(df, tmp_path / "t.csv"),
        "frame": df,
    }


def _concat(stream):
    chunks = list(stream)
    assert all(len(c) for c in chunks)
    return chunks, pd.concat(chunks)


@pytest.mark.parametrize("kind", ["file", "days", "csv", "frame"])
@pytest.mark.parametrize("batch_rows", [1, 7, 1000])
def test_chunks_concatenate_to_read_taq(tmp_path, ticks, kind, batch_rows):
    source = _sources(tmp_path, ticks)[kind]
    ranges = [(None, None), (ticks.index[37], ticks.index[301]),
              ("2019-04-02 03:00", None), (None, "2019-04-02 12:00:05")]
    for start, end in ranges:
        expected = read_taq(source, start, end)
        chunks, got = _concat(read_taq(source, start, end, stream=True, batch_rows=batch_rows))
        assert max(len(c) for c in chunks) <= batch_rows
        pd.testing.assert_frame_equal(got, expected, check_exact=True, check_freq=False)
    # A boundary inside a group of equal timestamps splits the group between two chunks.
    chunks, _ = _concat(read_taq(source, stream=True, batch_rows=batch_rows))
    if batch_rows == 7 and kind != "days":
        assert any(a.index[-1] == b.index[0] for a, b in zip(chunks, chunks[1:]))


def test_each_iteration_starts_again(tmp_path, ticks):
    stream = read_taq(write_taq(ticks, tmp_path / "t.parquet"), stream=True, batch_rows=100)
    first = pd.concat(stream)
    second = pd.concat(list(iter(stream)))
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    pd.testing.assert_frame_equal(first, ticks, check_exact=True, check_freq=False)


def test_attributes_and_public_names(tmp_path, ticks):
    path = write_taq(ticks, tmp_path / "days")
    stream = read_taq(path, "2019-04-02", "2019-04-03 06:00", stream=True, batch_rows=64)
    assert isinstance(stream, TAQStream) and mmsim.TAQStream is TAQStream
    assert mmsim.data.TAQStream is TAQStream
    assert stream.source == path and stream.batch_rows == 64 and not stream.clean
    assert stream.start == pd.Timestamp("2019-04-02", tz="UTC")
    assert stream.end == pd.Timestamp("2019-04-03 06:00", tz="UTC")
    assert [f.name for f in stream.files] == ["2019-04-02.parquet", "2019-04-03.parquet"]
    assert "batch_rows=64" in repr(stream)


def test_bad_batch_rows_and_sources_fail_when_the_stream_is_made(tmp_path, ticks):
    for bad, error, message in ((0, ValueError, "must be >= 1, got 0"),
                                (-3, ValueError, "must be >= 1, got -3"),
                                (2.5, ValueError, "must be a whole number, got 2.5"),
                                (True, TypeError, "must be an integer, got True")):
        with pytest.raises(error, match=f"^batch_rows {message}$"):
            read_taq(ticks, stream=True, batch_rows=bad)
    with pytest.raises(FileNotFoundError, match="no such TAQ file or directory"):
        read_taq(tmp_path / "missing.parquet", stream=True)
    with pytest.raises(ValueError, match="end .* is before start"):
        TAQStream(ticks, "2019-04-02", "2019-04-01")


def test_row_groups_and_days_outside_the_range_are_not_read(tmp_path, ticks, monkeypatch):
    path = write_taq(ticks, tmp_path / "t.parquet", row_group_size=20)
    read = []
    original = pq.ParquetFile.read_row_group

    def counting(self, i, *args, **kwargs):
        read.append(i)
        return original(self, i, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", counting)
    start, end = ticks.index[200], ticks.index[260]
    got = pd.concat(read_taq(path, start, end, stream=True, batch_rows=5))
    pd.testing.assert_frame_equal(got, ticks[(ticks.index >= start) & (ticks.index < end)],
                                  check_freq=False)
    assert 3 <= len(read) <= 6  # of 1 + len(ticks) // 20 row groups
    # Days outside the range are never opened: make them unreadable.
    days = write_taq(ticks, tmp_path / "days")
    for name in ("2019-04-01.parquet", "2019-04-03.parquet"):
        (days / name).write_bytes(b"not parquet")
    got = pd.concat(read_taq(days, "2019-04-02", "2019-04-03", stream=True, batch_rows=50))
    pd.testing.assert_frame_equal(got, ticks.loc["2019-04-02"], check_freq=False)


def test_times_out_of_order_across_files_raise(tmp_path, ticks):
    # Two files whose times overlap: read_taq sorts them, a stream cannot.
    folder = tmp_path / "overlap"
    write_taq(ticks.iloc[:200], folder / "a.parquet")
    write_taq(ticks.iloc[150:300], folder / "b.parquet")
    assert read_taq(folder).index.is_monotonic_increasing
    with pytest.raises(SchemaError, match=r"non-decreasing across chunks: row 200 \(.+, in "
                                          r"b.parquet\) comes before row 199 \(.+, in a.parquet\)"):
        list(read_taq(folder, stream=True, batch_rows=1000))
    # clean=True drops the late rows, as validate_taq(clean=True) drops them from the whole.
    raw = pd.concat([ticks.iloc[:200], ticks.iloc[150:300]])
    got = pd.concat(read_taq(folder, stream=True, batch_rows=33, clean=True))
    pd.testing.assert_frame_equal(got, mmsim.data.validate_taq(raw, clean=True),
                                  check_exact=True, check_freq=False)


def test_a_bad_row_in_a_later_chunk_names_the_chunk(tmp_path, ticks):
    bad = ticks.copy()
    bad.iloc[130, bad.columns.get_loc("bid_price")] = bad.iloc[130]["ask_price"] + 1
    path = tmp_path / "bad.parquet"
    pq.write_table(__import__("pyarrow").Table.from_pandas(bad.reset_index(),
                                                           preserve_index=False), path)
    with pytest.raises(SchemaError, match=r"bad.parquet, in the chunk that starts at row 100 "
                                          r"\(its rows are numbered from 0\): taq has a crossed "
                                          r"quote at row 30"):
        list(read_taq(path, stream=True, batch_rows=50))
    cleaned = list(read_taq(path, stream=True, batch_rows=50, clean=True))
    assert sum(len(c) for c in cleaned) == len(ticks) - 1
    assert cleaned[2].attrs["dropped_rows"]["crossed"] == 1


def test_a_csv_stream_names_a_bad_time_by_its_line(tmp_path, ticks):
    path = write_taq(ticks.iloc[:30], tmp_path / "bad_time.csv")
    lines = path.read_text().splitlines()
    lines[18] = "yesterday noon" + lines[18][lines[18].index(","):]  # data line 17
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(SchemaError, match=r"got 'yesterday noon' at row 17$"):
        list(read_taq(path, stream=True, batch_rows=10))


def test_an_empty_range_yields_nothing(tmp_path, ticks):
    for source in (write_taq(ticks, tmp_path / "t.parquet"), write_taq(ticks, tmp_path / "d")):
        assert list(read_taq(source, "2020-01-01", "2020-01-02", stream=True)) == []
    assert list(read_taq(ticks, "2020-01-01", stream=True)) == []


def test_optional_columns_travel_in_chunks(tmp_path, ticks):
    df = ticks.copy()
    df["local_time"] = df.index + pd.Timedelta("5ms")
    df["mark_price"] = np.where(np.arange(len(df)) % 3 == 0, np.nan, df["bid_price"] + 0.25)
    path = write_taq(df, tmp_path / "opt.parquet", row_group_size=64)
    got = pd.concat(read_taq(path, stream=True, batch_rows=10))
    pd.testing.assert_frame_equal(got, read_taq(path), check_exact=True)
    assert list(got.columns)[-2:] == ["local_time", "mark_price"]
    assert str(got["local_time"].dtype) == "datetime64[ns, UTC]"
