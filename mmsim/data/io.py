"""Reading and writing TAQ data: Parquet files, directories of daily Parquet files, CSV.

Parquet is the format of choice: zstd-compressed, a ``time`` column of type
``timestamp[ns, UTC]`` and the six float64 TAQ columns, in row groups whose time statistics
let pyarrow skip what a time filter excludes. A *directory* holds one file per UTC day named
``YYYY-MM-DD.parquet``; :func:`read_taq` opens only the files whose day overlaps the requested
time range, so a month can be sliced out of a year without touching the other files.

:func:`read_taq` reads Parquet row group by row group into arrays allocated once, so the
frame it returns is the only full-size copy of the data; ``read_taq(..., stream=True)``
returns a :class:`TAQStream` that yields the data in validated chunks instead, so that data
larger than memory can be replayed.
"""
from __future__ import annotations

import itertools
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.checks import number
from mmsim.data.align import cut
from mmsim.data.schema import (
    OPTIONAL_COLUMNS,
    TAQ_COLUMNS,
    SchemaError,
    bound_ns,
    clean_taq,
    datetimes,
    index_ns,
    report_dropped,
    taq_frame,
    validate_taq,
)

__all__ = ["read_taq", "read_signals", "write_taq", "daily_files", "TAQStream"]

_NS_PER_DAY = 86_400 * 10**9
_DAILY = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz", ".csv.zip")
#: Default rows per Parquet row group of :func:`write_taq`.
ROW_GROUP_SIZE = 1 << 18
#: Default rows per chunk of a :class:`TAQStream`.
BATCH_ROWS = 1_000_000


def _kind(path: Path) -> str:
    name = path.name.lower()
    if name.endswith(_CSV_SUFFIXES):
        return "csv"
    if name.endswith(_PARQUET_SUFFIXES):
        return "parquet"
    return "dir"


def _day(ns: int) -> str:
    return pd.Timestamp(ns, tz="UTC").strftime("%Y-%m-%d")


def daily_files(directory: str | os.PathLike, start=None, end=None) -> list[Path]:
    """The Parquet files of a TAQ directory that may hold rows in ``[start, end)``.

    Files named ``YYYY-MM-DD.parquet`` are kept when their UTC day overlaps the range; other
    Parquet files are always kept (their row-group statistics still prune rows).

    Parameters
    ----------
    directory : str or os.PathLike
        A directory written by :func:`write_taq` (or any directory of TAQ Parquet files).
    start, end : str or pandas.Timestamp, optional
        Time range, ``start`` included and ``end`` excluded; naive times are UTC.

    Returns
    -------
    list of pathlib.Path
        Sorted by name (chronological for daily files).
    """
    lo, hi = bound_ns(start, "start"), bound_ns(end, "end")
    out = []
    for path in sorted(Path(directory).iterdir()):
        if not path.is_file() or not path.name.lower().endswith(_PARQUET_SUFFIXES):
            continue
        match = _DAILY.match(path.name)
        if match:
            day = pd.Timestamp(match.group(1), tz="UTC").value
            if (hi is not None and day >= hi) or (lo is not None and day + _NS_PER_DAY <= lo):
                continue
        out.append(path)
    return out


def write_taq(
    df: pd.DataFrame,
    path: str | os.PathLike,
    *,
    by_day: bool | None = None,
    compression: str = "zstd",
    row_group_size: int = ROW_GROUP_SIZE,
) -> Path:
    """Write a TAQ frame to Parquet (zstd), to a directory of daily Parquet files, or to CSV.

    Parameters
    ----------
    df : pandas.DataFrame
        A TAQ frame; it is validated first (:func:`mmsim.data.schema.validate_taq`).
    path : str or os.PathLike
        ``*.parquet`` (or ``.parq``/``.pq``): one file. ``*.csv`` (optionally ``.gz`` etc.):
        CSV with a ``time`` column in ISO 8601. Anything else: a directory (created if
        needed) with one ``YYYY-MM-DD.parquet`` file per UTC day; files of days present in
        ``df`` are replaced, other files are left alone.
    by_day : bool, optional
        Force (True) or forbid (False) the directory layout instead of inferring it from
        ``path``.
    compression : str
        Parquet codec.
    row_group_size : int
        Rows per Parquet row group (the unit that time filters skip).

    Returns
    -------
    pathlib.Path
        The file or directory written.

    Raises
    ------
    SchemaError
        If ``df`` is not a valid TAQ frame.
    """
    import pyarrow.parquet as pq

    df = validate_taq(df)
    path = Path(path)
    kind = _kind(path)
    if by_day is True:
        kind = "dir"
    elif by_day is False and kind == "dir":
        raise ValueError(f"by_day=False needs a file name ending in .parquet or .csv, got {path}")
    if kind == "csv":
        path.parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(path, index=True, index_label="time")
        return path
    table = _to_arrow(df)
    if kind == "parquet":
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path, compression=compression, row_group_size=row_group_size)
        return path
    path.mkdir(parents=True, exist_ok=True)
    times = index_ns(df.index)
    if len(times):
        days = np.arange(times[0] // _NS_PER_DAY, times[-1] // _NS_PER_DAY + 1)
        cuts = np.searchsorted(times, days * _NS_PER_DAY)
        cuts = np.append(cuts, len(times))
        for day, lo, hi in zip(days, cuts[:-1], cuts[1:]):
            if hi > lo:
                name = f"{_day(int(day) * _NS_PER_DAY)}.parquet"
                pq.write_table(table.slice(lo, hi - lo), path / name,
                               compression=compression, row_group_size=row_group_size)
    return path


def _to_arrow(df: pd.DataFrame):
    import pyarrow as pa

    tz = "UTC" if df.index.tz is not None else None
    arrays = [pa.array(index_ns(df.index), type=pa.timestamp("ns", tz=tz))]
    arrays += [pa.array(df[c].to_numpy(), type=pa.float64()) for c in TAQ_COLUMNS]
    names = ["time", *TAQ_COLUMNS]
    if "local_time" in df.columns:
        arrays.append(pa.array(index_ns(pd.DatetimeIndex(df["local_time"])),
                               type=pa.timestamp("ns", tz=tz)))
        names.append("local_time")
    if "mark_price" in df.columns:
        arrays.append(pa.array(df["mark_price"].to_numpy(dtype=np.float64), type=pa.float64()))
        names.append("mark_price")
    return pa.Table.from_arrays(arrays, names=names)


def _time_type(schema, where: str):
    """The type of the ``time`` column of a Parquet schema, checked to be a timestamp."""
    import pyarrow as pa

    if "time" not in schema.names:
        raise SchemaError(f"{where} has no 'time' column (columns: {schema.names}); write it with "
                          f"mmsim.write_taq")
    time_type = schema.field("time").type
    if not pa.types.is_timestamp(time_type):
        raise SchemaError(f"{where}: column 'time' must be a timestamp, got {time_type}")
    return time_type


def _taq_fields(schema) -> list:
    """The fields a TAQ frame is read from: ``time`` (as nanoseconds), then the TAQ and
    optional columns the schema has; other columns are not read."""
    import pyarrow as pa

    fields = [pa.field("time", pa.timestamp("ns", tz=schema.field("time").type.tz))]
    for name in (*TAQ_COLUMNS, *OPTIONAL_COLUMNS):
        if name in schema.names:
            field = schema.field(name)
            if name == "local_time" and pa.types.is_timestamp(field.type):
                field = pa.field(name, pa.timestamp("ns", tz=field.type.tz))
            fields.append(field)
    return fields


def _numpy(column) -> np.ndarray:
    """A pyarrow column as NumPy, zero-copy where Arrow allows it; timestamps as int64 ns."""
    import pyarrow as pa

    values = column.to_numpy(zero_copy_only=False)
    return values.view(np.int64) if pa.types.is_timestamp(column.type) else values


def _frame(fields, columns: dict) -> pd.DataFrame:
    """The (unvalidated) frame of the NumPy ``columns`` read for ``fields``."""
    import pyarrow as pa

    data = {}
    for field in fields[1:]:
        values = columns[field.name]
        if pa.types.is_timestamp(field.type):  # local_time
            values = datetimes(values, utc=field.type.tz is not None)
        data[field.name] = values
    return taq_frame(columns["time"], data, utc=fields[0].type.tz is not None)


def _source(source, lo, hi, start, end):
    """What ``source`` is: ``("frame", None, [])``, ``("csv", path, [])`` or
    ``("parquet", path, files)`` with the Parquet files that may hold rows in ``[lo, hi)``."""
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"end ({end}) is before start ({start})")
    if isinstance(source, pd.DataFrame):
        return "frame", None, []
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"read_taq takes a path or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such TAQ file or directory: {path}")
    if path.is_dir():
        files = daily_files(path, start, end)
        if not files and not daily_files(path):
            raise FileNotFoundError(f"{path} holds no Parquet file")
        return "parquet", path, files
    if _kind(path) == "csv":
        return "csv", path, []
    return "parquet", path, [path]


def read_taq(source, start=None, end=None, *, clean: bool = False, stream: bool = False,
             batch_rows: int = BATCH_ROWS):
    """Read TAQ data from a Parquet file, a directory of Parquet files, a CSV or a DataFrame.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        ``*.parquet`` (``.parq``, ``.pq``): a file written by :func:`write_taq` (a ``time``
        timestamp column and the TAQ columns). A directory: its Parquet files, read in name
        order; with daily files (``YYYY-MM-DD.parquet``) only the days that overlap
        ``[start, end)`` are opened. ``*.csv`` (also compressed): a ``time`` column in ISO
        8601 and the TAQ columns. A DataFrame: validated and sliced.
    start, end : str or pandas.Timestamp, optional
        Keep rows with ``start <= time < end``. Naive times are UTC. For Parquet, row groups
        whose time statistics lie outside the range are not read.
    clean : bool
        Drop rows that break the schema instead of raising (see
        :func:`mmsim.data.schema.validate_taq`).
    stream : bool
        Return a :class:`TAQStream` that yields the data in chunks instead of one frame.
    batch_rows : int
        With ``stream=True``: the most rows in a chunk.

    Returns
    -------
    pandas.DataFrame or TAQStream
        A TAQ frame: ``time`` DatetimeIndex (ns; UTC-aware unless the source was naive) and
        the float64 TAQ columns. Parquet rows out of time order (files whose times overlap)
        are sorted. With ``stream=True``, a :class:`TAQStream` of such frames.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist or a directory has no Parquet file.
    SchemaError
        If the data breaks the TAQ schema (and ``clean`` is False).

    Notes
    -----
    Parquet data is read in row groups and copied into arrays allocated once, and the frame
    is built on those arrays without a consolidation copy: the peak memory is about the size
    of the result (8 bytes per row and column) plus one row group.
    """
    if stream:
        return TAQStream(source, start, end, clean=clean, batch_rows=batch_rows)
    lo, hi = bound_ns(start, "start"), bound_ns(end, "end")
    kind, path, files = _source(source, lo, hi, start, end)
    if kind == "frame":
        return cut(validate_taq(source, clean=clean), lo, hi)
    if kind == "csv":
        # Validated before slicing: the slice needs sorted times, and clean=True drops rows
        # out of order in the whole file, as for a DataFrame.
        return cut(validate_taq(_read_csv(path), clean=clean), lo, hi)
    df = _read_parquet(files, lo, hi)
    if not df.index.is_monotonic_increasing:  # several files with overlapping times
        df = df.sort_index(kind="stable")
    return validate_taq(df, clean=clean)


def _open_parquet(path: Path, lo, hi):
    """A Parquet file, checked to have a timestamp ``time`` column, and the row groups whose
    time statistics overlap ``[lo, hi)`` (all of them when a row group has none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except pa.ArrowInvalid as exc:
        # A truncated or foreign file: say which file, not only pyarrow's words.
        raise SchemaError(f"{path} is not a readable Parquet TAQ file: {exc}") from exc
    schema = parquet.schema_arrow
    _time_type(schema, str(path))
    meta = parquet.metadata
    groups = list(range(meta.num_row_groups))
    if lo is None and hi is None or not groups:
        return parquet, groups
    column = next((j for j in range(meta.num_columns)
                   if meta.row_group(0).column(j).path_in_schema == "time"), None)
    keep = []
    for k in groups:
        stats = None if column is None else meta.row_group(k).column(column).statistics
        if stats is not None and stats.has_min_max:
            # pyarrow gives the statistics as datetimes in the column's unit, exactly.
            first, last = bound_ns(stats.min, "time"), bound_ns(stats.max, "time")
            if (lo is not None and last < lo) or (hi is not None and first >= hi):
                continue
        keep.append(k)
    return parquet, keep


def _parquet_batches(opened, fields, lo, hi, batch_rows: int):
    """The rows of the ``opened`` files with ``lo <= time < hi``, in file order, as
    ``(path, pyarrow.RecordBatch)`` of at most ``batch_rows`` rows (never two row groups),
    with the ``fields`` of the first file (a column a later file lacks is null; other types
    are cast)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    schema = pa.schema(fields)
    bounds = [(pc.greater_equal, lo), (pc.less, hi)]
    for path, parquet, groups in opened:
        if not groups:
            continue
        names = [f.name for f in fields if f.name in parquet.schema_arrow.names]
        try:
            # Row group by row group: ParquetFile.iter_batches reads far ahead (hundreds of
            # MB on a large file), a row group at a time holds one row group.
            for group in groups:
                table = parquet.read_row_group(group, columns=names, use_threads=False)
                for batch in table.to_batches(max_chunksize=batch_rows):
                    yield from _conformed(path, batch, fields, schema, names, bounds)
                del table
        except pa.ArrowInvalid as exc:
            raise SchemaError(f"{path} is not a readable Parquet TAQ file: {exc}") from exc


def _conformed(path, batch, fields, schema, names, bounds):
    """A batch with the columns and types of ``fields``, without the rows out of range."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field in fields:
        if field.name not in names:
            arrays.append(pa.nulls(batch.num_rows, field.type))
            continue
        array = batch.column(field.name)
        arrays.append(array if array.type == field.type else array.cast(field.type))
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    mask = None
    for compare, bound in bounds:
        if bound is not None:
            cond = compare(batch.column(0), pa.scalar(bound, type=fields[0].type))
            mask = cond if mask is None else pc.and_(mask, cond)
    if mask is not None:
        # A missing time compares as null: the row is left out, as a filter does.
        mask = pc.fill_null(mask, False)
        if not pc.all(mask).as_py():
            batch = batch.filter(mask)
    if batch.num_rows:
        yield path, batch


def _read_parquet(files: list[Path], lo, hi) -> pd.DataFrame:
    """Parquet files into one frame, allocating each column once.

    The arrays are sized for every row group that may hold rows in range and trimmed to the
    rows kept; the pages past the end are never written, so they cost no memory.
    """
    import pyarrow as pa

    if not files:  # every daily file lies outside the range
        empty = np.empty(0, np.int64)
        return taq_frame(empty, {c: np.empty(0) for c in TAQ_COLUMNS})
    opened = [(path, *_open_parquet(path, lo, hi)) for path in files]
    fields = _taq_fields(opened[0][1].schema_arrow)
    capacity = sum(parquet.metadata.row_group(k).num_rows for _, parquet, groups in opened
                   for k in groups)
    # float64 and timestamp columns are copied into place batch by batch; other types (from
    # foreign writers) are gathered and converted at the end, as Arrow would convert them.
    filled = {f.name: np.empty(capacity, np.int64 if pa.types.is_timestamp(f.type) else np.float64)
              for f in fields if pa.types.is_timestamp(f.type) or f.type == pa.float64()}
    gathered = {f.name: [] for f in fields if f.name not in filled}
    rows = 0
    for _, batch in _parquet_batches(opened, fields, lo, hi, ROW_GROUP_SIZE):
        n = batch.num_rows
        for field, column in zip(fields, batch.columns):
            if field.name in filled:
                filled[field.name][rows:rows + n] = _numpy(column)
            else:
                gathered[field.name].append(column)
        rows += n
    del opened
    columns = {}
    for field in fields:
        if field.name in filled:
            values = filled[field.name]
            if rows < capacity:
                values.resize(rows, refcheck=False)  # in place: no copy of what was read
        else:
            values = _numpy(pa.chunked_array(gathered.pop(field.name), type=field.type))
        columns[field.name] = values
    return _frame(fields, columns)


class TAQStream:
    """TAQ data in chunks: an iterable of validated TAQ frames, read as they are needed.

    Made by ``read_taq(source, start, end, stream=True)``. Each iteration starts again from
    the beginning and yields, in time order, frames of at most ``batch_rows`` rows that
    concatenate to ``read_taq(source, start, end, clean=clean)``; memory is bounded by one
    chunk (plus pyarrow's read buffers), not by the data.

    - Parquet (a file or a directory): read in record batches with pyarrow; files and row
      groups outside ``[start, end)`` are skipped from their names and time statistics.
    - CSV: read in chunks of ``batch_rows`` lines with pandas, parsed as :func:`read_taq`
      parses the whole file.
    - DataFrame: validated, sliced to ``[start, end)`` and yielded in slices (views).

    A chunk boundary may fall anywhere, also between rows that share a timestamp. Times must
    be non-decreasing across chunks (and files) too: where they are not, iterating raises
    :class:`~mmsim.data.schema.SchemaError`, or with ``clean=True`` drops the late rows.
    Unlike :func:`read_taq`, a stream cannot sort Parquet files whose times overlap.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        As for :func:`read_taq`.
    start, end : str or pandas.Timestamp, optional
        Keep rows with ``start <= time < end``; naive times are UTC.
    clean : bool
        Drop the rows that break the schema (counted per chunk in each chunk's
        ``attrs["dropped_rows"]``) instead of raising.
    batch_rows : int
        The most rows in a chunk (chunks at file ends, or filtered by the time range, are
        shorter).

    Attributes
    ----------
    source : pathlib.Path or pandas.DataFrame
    start, end : pandas.Timestamp or None
        The bounds, in UTC.
    clean : bool
    batch_rows : int
    files : list of pathlib.Path
        The Parquet files read, in order (listed when the stream is made); empty for CSV and
        DataFrame sources.

    Raises
    ------
    FileNotFoundError, TypeError, ValueError, SchemaError
        On making the stream, as :func:`read_taq` does for the source and the bounds, and if
        ``batch_rows`` is not a positive integer. Schema errors in the data are raised while
        iterating; within a chunk their row numbers count from the chunk's first row, which
        the message names.

    Examples
    --------
    >>> for chunk in mmsim.read_taq("taq/", "2019-04-01", "2019-05-01", stream=True):
    ...     print(len(chunk))  # doctest: +SKIP
    """

    def __init__(self, source, start=None, end=None, *, clean: bool = False,
                 batch_rows: int = BATCH_ROWS):
        batch_rows = number(batch_rows, "batch_rows", integer=True, minimum=1)
        self._lo, self._hi = bound_ns(start, "start"), bound_ns(end, "end")
        self._kind, path, self.files = _source(source, self._lo, self._hi, start, end)
        self.source = source if self._kind == "frame" else path
        self.start = None if self._lo is None else pd.Timestamp(self._lo, tz="UTC")
        self.end = None if self._hi is None else pd.Timestamp(self._hi, tz="UTC")
        self.clean = bool(clean)
        self.batch_rows = int(batch_rows)

    def __repr__(self) -> str:
        source = "DataFrame" if self._kind == "frame" else str(self.source)
        return (f"TAQStream({source!r}, start={self.start}, end={self.end}, "
                f"clean={self.clean}, batch_rows={self.batch_rows})")

    def __iter__(self):
        if self._kind == "frame":
            # Already in memory: validate once, then hand out views.
            df = cut(validate_taq(self.source, clean=self.clean), self._lo, self._hi)
            for i in range(0, len(df), self.batch_rows):
                yield df.iloc[i:i + self.batch_rows]
            return
        last = None  # (time, row, where) of the last row yielded
        row = 0  # rows read so far, kept or not: the row numbers of read_taq's messages
        for where, raw in self._raw_chunks():
            chunk = self._validated(raw, where, row, last)
            row += len(raw)
            if self._kind == "csv":
                # As read_taq does for a CSV: validated as a whole, then sliced.
                chunk = cut(chunk, self._lo, self._hi)
            if len(chunk):
                last = (int(index_ns(chunk.index)[-1]), row - len(raw) + len(chunk) - 1, where)
                yield chunk

    def _raw_chunks(self):
        """``(where, unvalidated frame)`` for each chunk of the source."""
        if self._kind == "csv":
            # pandas' chunked reader parses each chunk as read_csv parses the whole file.
            with pd.read_csv(self.source, chunksize=self.batch_rows) as reader:
                first = 0
                for raw in reader:
                    yield self.source.name, _csv_frame(raw, self.source, first)
                    first += len(raw)
            return
        opened = ((path, *_open_parquet(path, self._lo, self._hi)) for path in self.files)
        head = next(opened, None)
        if head is None:
            return
        fields = _taq_fields(head[1].schema_arrow)
        for path, batch in _parquet_batches(itertools.chain([head], opened), fields, self._lo,
                                            self._hi, self.batch_rows):
            yield path.name, _frame(fields, {f.name: _numpy(c)
                                             for f, c in zip(fields, batch.columns)})

    def _validated(self, raw: pd.DataFrame, where: str, row: int, last) -> pd.DataFrame:
        """Validate (or clean) one chunk, continuing the time order of the chunks before."""
        try:
            if self.clean:
                return report_dropped(*clean_taq(raw, after=None if last is None else last[0]),
                                      len(raw))
            chunk = validate_taq(raw)
        except SchemaError as exc:
            raise SchemaError(f"{where}, in the chunk that starts at row {row} (its rows are "
                              f"numbered from 0): {exc}") from exc
        if last is not None and len(chunk):
            first = int(index_ns(chunk.index)[0])
            if first < last[0]:
                raise SchemaError(
                    f"taq times must be non-decreasing across chunks: row {row} "
                    f"({pd.Timestamp(first, tz='UTC')}, in {where}) comes before row {last[1]} "
                    f"({pd.Timestamp(last[0], tz='UTC')}, in {last[2]}); a stream cannot sort "
                    f"files whose times overlap: read them with read_taq, or pass clean=True "
                    f"to drop such rows")
        return chunk


def read_signals(path: str | os.PathLike) -> pd.DataFrame:
    """Read a signals frame from a Parquet or CSV file.

    Parameters
    ----------
    path : str or os.PathLike
        ``*.parquet`` (``.parq``, ``.pq``): a frame saved with ``DataFrame.to_parquet``,
        its time as the index or as a ``time`` column. ``*.csv`` (also compressed): a
        ``time`` column in ISO 8601 and one column per signal.

    Returns
    -------
    pandas.DataFrame
        A ``time`` DatetimeIndex and the signal columns, as read (not validated:
        :func:`mmsim.backtest` checks them).

    Raises
    ------
    FileNotFoundError
        If the file does not exist.
    SchemaError
        If the file's name ends neither in a Parquet nor a CSV suffix, the file is not
        readable as such, or it has no ``time`` (index or column) of times.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no such signals file: {path}")
    kind = _kind(path)
    if kind == "csv":
        return _csv_frame(pd.read_csv(path), path, example="time,sigma")
    if kind != "parquet":
        raise SchemaError(f"{path}: expected a signals file ending in .parquet or .csv")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # pyarrow's errors have no common base but ArrowException
        raise SchemaError(f"{path} is not a readable Parquet signals file: {exc}") from exc
    if not isinstance(frame.index, pd.DatetimeIndex):
        if "time" not in frame.columns:
            raise SchemaError(f"{path} has no 'time' index or column (columns: "
                              f"{list(frame.columns)}); write it with signals.to_parquet(...) "
                              f"from a frame indexed by time")
        frame = frame.set_index(pd.DatetimeIndex(frame.pop("time"), name="time"))
    return frame


def _read_csv(path: Path) -> pd.DataFrame:
    return _csv_frame(pd.read_csv(path), path)


def _csv_frame(df: pd.DataFrame, path: Path, first_row: int = 0,
               example: str = "time," + ",".join(TAQ_COLUMNS)) -> pd.DataFrame:
    """The lines of a TAQ (or signals) CSV (``first_row`` the number of the first, from 0)
    as a frame; ``example`` is the header line the error message suggests."""
    if "time" not in df.columns:
        raise SchemaError(f"{path} has no 'time' column (columns: {list(df.columns)}); the first "
                          f"line must name the columns, e.g. {example}")
    raw = df.pop("time")
    try:
        times = pd.to_datetime(raw, format="ISO8601")
    except (TypeError, ValueError) as exc:
        # pandas' own message suggests to_datetime arguments read_taq does not take; name the
        # first value that is not a time instead, when there is one (missing times are left
        # to the schema check, which can drop them).
        try:
            parsed = pd.to_datetime(raw, format="ISO8601", errors="coerce")
            bad = np.flatnonzero(parsed.isna().to_numpy() & raw.notna().to_numpy())
        except (TypeError, ValueError):
            bad = []
        if len(bad):
            row = int(bad[0])
            raise SchemaError(f"{path}: column 'time' must hold ISO 8601 times such as "
                              f"'2019-04-01 00:00:05.698+00:00', got {raw.iloc[row]!r} at row "
                              f"{first_row + row}") from exc
        raise SchemaError(f"{path}: column 'time' must hold ISO 8601 times ({exc})") from exc
    df.index = pd.DatetimeIndex(times, name="time")
    if "local_time" in df.columns:
        try:
            df["local_time"] = pd.to_datetime(df["local_time"], format="ISO8601", utc=True)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"{path}: column 'local_time' must hold ISO 8601 times ({exc})") from exc
    return df
