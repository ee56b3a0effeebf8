"""Reading and writing TAQ data: Parquet files, directories of daily Parquet files, CSV.

Parquet is the format of choice: zstd-compressed, a ``time`` column of type
``timestamp[ns, UTC]`` and the six float64 TAQ columns, in row groups whose time statistics
let pyarrow skip what a time filter excludes. A *directory* holds one file per UTC day named
``YYYY-MM-DD.parquet``; :func:`read_taq` opens only the files whose day overlaps the requested
time range, so a month can be sliced out of a year without touching the other files.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from mmsim.data.schema import TAQ_COLUMNS, SchemaError, bound_ns, index_ns, validate_taq

__all__ = ["read_taq", "write_taq", "daily_files"]

_NS_PER_DAY = 86_400 * 10**9
_DAILY = re.compile(r"^(\d{4}-\d{2}-\d{2})\.parquet$")
_PARQUET_SUFFIXES = (".parquet", ".parq", ".pq")
_CSV_SUFFIXES = (".csv", ".csv.gz", ".csv.bz2", ".csv.zst", ".csv.xz", ".csv.zip")
#: Default rows per Parquet row group of :func:`write_taq`.
ROW_GROUP_SIZE = 1 << 18


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


def _from_arrow(table) -> pd.DataFrame:
    import pyarrow as pa

    time_type = table.schema.field("time").type
    raw = table.column("time").cast(pa.timestamp("ns", tz=time_type.tz)).to_numpy()
    index = pd.DatetimeIndex(raw, name="time")  # UTC wall times
    if time_type.tz is not None:
        index = index.tz_localize("UTC")
    data = {c: table.column(c).to_numpy() for c in table.column_names if c != "time"}
    if "local_time" in data and table.schema.field("local_time").type.tz is not None:
        data["local_time"] = pd.DatetimeIndex(data["local_time"]).tz_localize("UTC")
    df = pd.DataFrame(data, index=index)
    if not df.index.is_monotonic_increasing:  # several files with overlapping times
        df = df.sort_index(kind="stable")
    return df


def _time_filter(time_type, lo: int | None, hi: int | None):
    import pyarrow as pa
    import pyarrow.dataset as ds

    if lo is None and hi is None:
        return None
    unit_scale = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[time_type.unit]
    expr = None
    if lo is not None:
        # lo rounded up to the column's unit: time >= ceil(lo)
        expr = ds.field("time") >= pa.scalar(-(-lo // unit_scale), type=time_type)
    if hi is not None:
        cond = ds.field("time") < pa.scalar(-(-hi // unit_scale), type=time_type)
        expr = cond if expr is None else expr & cond
    return expr


def _slice(df: pd.DataFrame, lo: int | None, hi: int | None) -> pd.DataFrame:
    if lo is None and hi is None:
        return df
    times = index_ns(df.index)
    i = 0 if lo is None else int(np.searchsorted(times, lo, side="left"))
    j = len(times) if hi is None else int(np.searchsorted(times, hi, side="left"))
    return df.iloc[i:j]


def read_taq(source, start=None, end=None, *, clean: bool = False) -> pd.DataFrame:
    """Read TAQ data from a Parquet file, a directory of Parquet files, a CSV or a DataFrame.

    Parameters
    ----------
    source : str, os.PathLike or pandas.DataFrame
        ``*.parquet`` (``.parq``, ``.pq``): a file written by :func:`write_taq` (a ``time``
        timestamp column and the TAQ columns). A directory: its Parquet files, read as one
        pyarrow dataset; with daily files (``YYYY-MM-DD.parquet``) only the days that overlap
        ``[start, end)`` are opened. ``*.csv`` (also compressed): a ``time`` column in ISO
        8601 and the TAQ columns. A DataFrame: validated and sliced.
    start, end : str or pandas.Timestamp, optional
        Keep rows with ``start <= time < end``. Naive times are UTC. For Parquet the filter
        is pushed down to pyarrow, which skips files and row groups outside the range.
    clean : bool
        Drop rows that break the schema instead of raising (see
        :func:`mmsim.data.schema.validate_taq`).

    Returns
    -------
    pandas.DataFrame
        A TAQ frame: ``time`` DatetimeIndex (ns; UTC-aware unless the source was naive) and
        the float64 TAQ columns.

    Raises
    ------
    FileNotFoundError
        If ``source`` does not exist or a directory has no Parquet file.
    SchemaError
        If the data breaks the TAQ schema (and ``clean`` is False).
    """
    lo, hi = bound_ns(start, "start"), bound_ns(end, "end")
    if lo is not None and hi is not None and hi < lo:
        raise ValueError(f"end ({end}) is before start ({start})")
    if isinstance(source, pd.DataFrame):
        return _slice(validate_taq(source, clean=clean), lo, hi)
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(f"read_taq takes a path or a DataFrame, got {type(source).__name__}")
    path = Path(source)
    if not path.exists():
        raise FileNotFoundError(f"no such TAQ file or directory: {path}")
    if path.is_dir():
        files = daily_files(path, start, end)
        if not files and not daily_files(path):
            raise FileNotFoundError(f"{path} holds no Parquet file")
        df = _read_parquet([str(f) for f in files], lo, hi, where=str(path))
    elif _kind(path) == "csv":
        # Validated before slicing: the slice needs sorted times, and clean=True drops rows
        # out of order in the whole file, as for a DataFrame.
        return _slice(validate_taq(_read_csv(path), clean=clean), lo, hi)
    else:
        df = _read_parquet([str(path)], lo, hi, where=str(path))
    return validate_taq(df, clean=clean)


def _read_parquet(files: list[str], lo, hi, where: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.dataset as ds

    if not files:  # every daily file lies outside the range
        return _from_arrow(pa.table({"time": pa.array([], pa.timestamp("ns", tz="UTC")),
                                     **{c: pa.array([], pa.float64()) for c in TAQ_COLUMNS}}))
    try:
        dataset = ds.dataset(files, format="parquet")
        time_type = _time_type(dataset.schema, where)
        table = dataset.to_table(filter=_time_filter(time_type, lo, hi))
    except pa.ArrowInvalid as exc:
        # A truncated or foreign file: say which source, not only pyarrow's words.
        raise SchemaError(f"{where} is not a readable Parquet TAQ file: {exc}") from exc
    return _from_arrow(table)


def _read_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    if "time" not in df.columns:
        raise SchemaError(f"{path} has no 'time' column (columns: {list(df.columns)}); the first "
                          f"line must name the columns, e.g. time,{','.join(TAQ_COLUMNS)}")
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
                              f"{row}") from exc
        raise SchemaError(f"{path}: column 'time' must hold ISO 8601 times ({exc})") from exc
    df.index = pd.DatetimeIndex(times, name="time")
    if "local_time" in df.columns:
        try:
            df["local_time"] = pd.to_datetime(df["local_time"], format="ISO8601", utc=True)
        except (TypeError, ValueError) as exc:
            raise SchemaError(f"{path}: column 'local_time' must hold ISO 8601 times ({exc})") from exc
    return df
