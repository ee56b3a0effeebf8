"""The TAQ schema: trades with the best bid and ask in force, one row per event.

A TAQ frame has a ``DatetimeIndex`` named ``time`` (UTC, nanoseconds, non-decreasing) and
the float64 columns of :data:`TAQ_COLUMNS`. ``amount > 0`` is a buyer-initiated trade,
``amount < 0`` a seller-initiated one and ``amount == 0`` a quote-only row (price NaN).
The quote on a row is the best bid and ask in force when the row happened (before its trade);
the quote columns may be NaN only before the first quote.

Times: a timezone-aware index is converted to UTC; a naive one is taken to be UTC already
(as in the notebook's data) and left naive. :func:`time_index_ns` gives int64 UTC nanoseconds
either way.

:func:`validate_taq` raises :class:`SchemaError` naming the column, the first offending row
(position and time) and the fix. With ``clean=True`` it drops the offending rows instead and
reports how many of each kind it dropped (see :data:`ROW_PROBLEMS` and :func:`clean_taq`).
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

__all__ = [
    "index_ns",
    "bound_ns",
    "datetimes",
    "taq_frame",
    "local_time_ns",
    "mark_price",
    "funding_rates",
    "OPTIONAL_COLUMNS",
    "TAQ_COLUMNS",
    "QUOTE_COLUMNS",
    "ROW_PROBLEMS",
    "SchemaError",
    "validate_taq",
    "clean_taq",
    "check_prices",
    "report_dropped",
    "validate_signals",
    "time_index_ns",
]

log = logging.getLogger("mmsim.data")

#: Column order of a TAQ frame.
TAQ_COLUMNS = ("price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount")
#: Columns a TAQ frame may also have: the receive time of each row, and the exchange's mark.
OPTIONAL_COLUMNS = ("local_time", "mark_price")

#: The quote columns of a TAQ frame.
QUOTE_COLUMNS = ("bid_price", "bid_amount", "ask_price", "ask_amount")

#: Kinds of bad rows, in the order they are checked, with what they mean. ``clean=True``
#: counts dropped rows under these names.
ROW_PROBLEMS = {
    "missing_time": "the time is NaT",
    "nan_amount": "amount is NaN or infinite",
    "trade_price": "a trade row (amount != 0) whose price is NaN, infinite or not positive",
    "missing_quote": "a quote column is NaN or infinite after the first quote",
    "negative_size": "bid_amount or ask_amount is negative",
    "quote_price": "bid_price or ask_price is zero or negative",
    "crossed": "bid_price >= ask_price",
    "out_of_order": "the time is earlier than a previous row's",
}

_MAX_EXACT_INT = 2**53  # integers up to this magnitude are exact in float64
_NAT = np.iinfo(np.int64).min  # NaT as int64 nanoseconds


class SchemaError(ValueError):
    """Input data does not follow the TAQ or signals schema; the message says how to fix it."""


def index_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """A DatetimeIndex as contiguous int64 UTC nanoseconds (a naive index is taken as UTC).

    Parameters
    ----------
    index : pandas.DatetimeIndex

    Returns
    -------
    numpy.ndarray
        int64, a view of the index's data where it is already in nanoseconds.
    """
    if index.unit != "ns":
        index = index.as_unit("ns")
    # asi8 of a timezone-aware index already counts UTC nanoseconds; converting the index to
    # naive UTC first would copy it.
    return np.ascontiguousarray(index.asi8, dtype=np.int64)


def datetimes(ns: np.ndarray, utc: bool = True) -> pd.arrays.DatetimeArray:
    """int64 UTC nanoseconds as pandas datetimes, without copying them.

    Parameters
    ----------
    ns : numpy.ndarray
        int64 nanoseconds since the epoch (``numpy.iinfo(numpy.int64).min`` is NaT).
    utc : bool
        Timezone-aware UTC datetimes (True) or naive ones (False).

    Returns
    -------
    pandas.arrays.DatetimeArray
        A view of ``ns``.
    """
    values = pd.DatetimeIndex(np.asarray(ns, dtype=np.int64).view("M8[ns]"), copy=False).array
    # A view rather than tz_localize("UTC"), which copies the times.
    return values.view("datetime64[ns, UTC]") if utc else values


def taq_frame(times: np.ndarray, columns: dict, utc: bool = True) -> pd.DataFrame:
    """Wrap int64 UTC nanoseconds and column arrays as a frame with a ``time`` index.

    Nothing is copied: the index views ``times`` and each column keeps its array (no block
    consolidation), so building a frame of many rows costs no memory beyond its inputs.

    Parameters
    ----------
    times : numpy.ndarray
        int64 UTC nanoseconds, one per row.
    columns : dict
        Column name to array (or pandas array) of the same length, in column order.
    utc : bool
        A timezone-aware UTC index (True) or a naive one (False).

    Returns
    -------
    pandas.DataFrame
        Not validated: pass it to :func:`validate_taq`.
    """
    index = pd.DatetimeIndex(datetimes(times, utc), copy=False, name="time")
    return pd.DataFrame(columns, index=index, copy=False)


def funding_rates(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A column of funding rates as float64, every one a finite number.

    Parameters
    ----------
    frame : pandas.DataFrame
    column : str

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    SchemaError
        Naming the first value (and its row) that is not a finite number.
    """
    rate = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(rate))
    if len(bad):
        row = int(bad[0])
        value = frame[column].iloc[row]
        where = _row_label(frame, row) if isinstance(frame.index, pd.DatetimeIndex) else f"row {row}"
        raise SchemaError(f"funding column {column!r} is "
                          f"{repr(value) if isinstance(value, str) else value} at {where}; every "
                          f"rate must be a finite number")
    return rate


def mark_price(taq: pd.DataFrame) -> np.ndarray | None:
    """The optional ``mark_price`` column of a TAQ frame, as float64.

    The exchange's mark price (BitMEX and Binance mark positions at an index-based fair
    price, not at the mid): margin, liquidation, funding and NAV are valued at it. A NaN
    row falls back to the mid.

    Parameters
    ----------
    taq : pandas.DataFrame

    Returns
    -------
    numpy.ndarray or None
        None when the frame has no ``mark_price`` column.

    Raises
    ------
    SchemaError
        If a value is not a positive finite number or NaN (naming the row).
    """
    if not isinstance(taq, pd.DataFrame) or "mark_price" not in taq.columns:
        return None
    values = _as_float64(taq["mark_price"], "mark_price", "taq").to_numpy()
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~np.isnan(values) & ~(np.isfinite(values) & (values > 0)))
    if len(bad):
        row = int(bad[0])
        raise SchemaError(f"taq column 'mark_price' is {float(values[row])!r} at {_row_label(taq, row)}; "
                          f"a mark price is a positive number (NaN: value at the mid)")
    return np.ascontiguousarray(values)


def local_time_ns(taq: pd.DataFrame) -> np.ndarray | None:
    """The optional ``local_time`` column of a TAQ frame as int64 UTC nanoseconds.

    ``local_time`` is when each row reached the recorder (a receive time, as the Binance
    converter keeps with ``local_time=True``); the engine shows a row to the strategy only
    once its local time has passed. Naive times are UTC.

    Parameters
    ----------
    taq : pandas.DataFrame

    Returns
    -------
    numpy.ndarray or None
        When each row counts as received: the running maximum of the column (a row is seen
        once it and every earlier row are in). None when the frame has no ``local_time``
        column.

    Raises
    ------
    SchemaError
        If the column is not datetimes or holds NaT (naming the row).
    """
    if not isinstance(taq, pd.DataFrame) or "local_time" not in taq.columns:
        return None
    column = taq["local_time"]
    if not pd.api.types.is_datetime64_any_dtype(column):
        raise SchemaError(f"taq column 'local_time' must hold datetimes (when each row was "
                          f"received), got dtype {column.dtype}")
    values = pd.DatetimeIndex(column)
    if values.hasnans:
        row = int(np.flatnonzero(values.isna())[0])
        raise SchemaError(f"taq column 'local_time' is NaT at {_row_label(taq, row)}; every "
                          f"row needs its receive time")
    # The strategy sees a prefix of the rows (the last row it has seen stands for the state
    # of the market), so a row counts as received once it and every row before it are: a
    # row received before an earlier one waits for it (the running maximum).
    return np.maximum.accumulate(index_ns(values))


def bound_ns(value, what: str) -> int | None:
    """A time bound (``start``/``end``) as int64 UTC nanoseconds; naive values are UTC.

    Parameters
    ----------
    value : str, datetime-like or None
    what : str
        The parameter's name, for the error message.

    Returns
    -------
    int or None
        None when ``value`` is None.

    Raises
    ------
    SchemaError
        If ``value`` is not a time.
    """
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError) as exc:
        raise SchemaError(f"{what} must be a time such as '2019-04-01', got {value!r}") from exc
    if ts is pd.NaT:
        raise SchemaError(f"{what} must be a time, got NaT")
    ts = ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")
    return ts.as_unit("ns").value


def _row_label(df: pd.DataFrame, row: int) -> str:
    return f"row {row} ({df.index[row]})"


def time_index_ns(df: pd.DataFrame, what: str) -> np.ndarray:
    """Return the index of ``df`` as int64 UTC nanoseconds, checking it is a sorted ``time`` index.

    A timezone-aware index is converted to UTC; a naive one is taken to be UTC.

    Parameters
    ----------
    df : pandas.DataFrame
        A TAQ or signals frame.
    what : str
        ``"taq"`` or ``"signals"``, used in error messages.

    Returns
    -------
    numpy.ndarray
        int64 nanoseconds since the epoch, UTC.

    Raises
    ------
    SchemaError
        If the index is not a DatetimeIndex named ``time``, holds NaT, or is not
        non-decreasing.
    """
    from mmsim._validate import first_descent

    _check_index(df, what)
    times = index_ns(df.index)
    # NaT is the int64 minimum: a first NaT below row 0 descends from the row above it, so
    # one pass finds that something is wrong; the masks below then say what, NaT first.
    if not len(times) or (times[0] != _NAT and first_descent(times) < 0):
        return times
    nat = np.flatnonzero(times == _NAT)
    if len(nat):
        row = int(nat[0])
        raise SchemaError(
            f"{what} index is NaT (missing time) at row {row}; drop such rows with "
            f"df = df[df.index.notna()]" + (" or pass clean=True" if what == "taq" else "")
        )
    if len(times) > 1:
        bad = np.flatnonzero(times[1:] < times[:-1])
        if len(bad):
            row = int(bad[0]) + 1
            raise SchemaError(
                f"{what} times must be non-decreasing: {_row_label(df, row)} comes before "
                f"{_row_label(df, row - 1)}; sort with df.sort_index(kind='stable')"
                + (" or pass clean=True to drop such rows" if what == "taq" else "")
            )
    return times


def _check_index(df, what: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise SchemaError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    index = df.index
    if not isinstance(index, pd.DatetimeIndex):
        raise SchemaError(
            f"{what} must have a DatetimeIndex named 'time', got {type(index).__name__}; "
            f"set it with df = df.set_index(pd.to_datetime(df['time'], utc=True))"
        )
    if index.name != "time":
        raise SchemaError(
            f"{what} index must be named 'time', got {index.name!r}; set df.index.name = \"time\""
        )


def _as_float64(values: pd.Series, col: str, what: str) -> pd.Series:
    """Cast a column to float64 when that loses nothing, else raise a SchemaError saying why."""
    dtype = values.dtype
    if dtype == np.float64:
        return values
    hint = f"convert it first, e.g. df[{col!r}] = pd.to_numeric(df[{col!r}])"
    if pd.api.types.is_bool_dtype(dtype):
        raise SchemaError(f"{what} column {col!r} must be float64, got boolean {dtype}; {hint}")
    if dtype == object:
        kind = pd.api.types.infer_dtype(values, skipna=True)
        if kind in ("floating", "integer", "mixed-integer-float", "empty"):
            numeric = pd.to_numeric(values)
            if numeric.dtype != object:
                return _as_float64(numeric, col, what)
            big = next(v for v in values if v is not None and abs(v) >= _MAX_EXACT_INT)
            raise SchemaError(
                f"{what} column {col!r} (object) cannot be cast to float64 without loss: "
                f"{big} is beyond 2**53; rescale it first"
            )
        non_null = values[values.notna()]
        sample = non_null.iloc[0] if len(non_null) else None
        raise SchemaError(
            f"{what} column {col!r} must be float64, got object values such as {sample!r} "
            f"({type(sample).__name__}); {hint}"
        )
    if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_complex_dtype(dtype):
        arr = values.to_numpy(dtype=np.float64, na_value=np.nan)
        if pd.api.types.is_integer_dtype(dtype):
            big = np.flatnonzero(np.abs(arr) >= _MAX_EXACT_INT)
            if len(big):
                row = int(big[0])
                raise SchemaError(
                    f"{what} column {col!r} ({dtype}) cannot be cast to float64 without loss: "
                    f"{values.iloc[row]} at row {row} is beyond 2**53; rescale it first"
                )
        return pd.Series(arr, index=values.index, name=values.name)
    raise SchemaError(f"{what} column {col!r} must be float64, got {dtype}; {hint}")


def _taq_columns(df: pd.DataFrame) -> dict:
    missing = [c for c in TAQ_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            f"taq is missing column(s) {missing}; expected columns {list(TAQ_COLUMNS)}"
            + (" (rename yours with df.rename(columns={...}))" if len(df.columns) else "")
        )
    if df.columns.duplicated().any():
        dup = sorted(set(df.columns[df.columns.duplicated()]))
        raise SchemaError(f"taq has duplicate column(s) {dup}; keep one of each")
    return {col: _as_float64(df[col], col, "taq") for col in TAQ_COLUMNS}


def _problem_masks(index: pd.DatetimeIndex, cols: dict) -> tuple[dict, int]:
    """Boolean masks of bad rows, one per kind of :data:`ROW_PROBLEMS` except out_of_order,
    and the position of the first row with a quote."""
    price = cols["price"].to_numpy()
    amount = cols["amount"].to_numpy()
    bid, bid_amt, ask, ask_amt = (cols[c].to_numpy() for c in QUOTE_COLUMNS)
    masks = {"missing_time": np.asarray(index.isna())}
    finite_amount = np.isfinite(amount)
    masks["nan_amount"] = ~finite_amount
    with np.errstate(invalid="ignore"):
        trade = finite_amount & (amount != 0)
        masks["trade_price"] = trade & ~(np.isfinite(price) & (price > 0))
        no_quote = np.isnan(bid) & np.isnan(bid_amt) & np.isnan(ask) & np.isnan(ask_amt)
        first_quote = int(np.argmin(no_quote)) if not no_quote.all() else len(amount)
        missing = ~(np.isfinite(bid) & np.isfinite(bid_amt)
                    & np.isfinite(ask) & np.isfinite(ask_amt))
        missing[:first_quote] = False
        masks["missing_quote"] = missing
        masks["negative_size"] = (bid_amt < 0) | (ask_amt < 0)
        masks["quote_price"] = (bid <= 0) | (ask <= 0)
        masks["crossed"] = bid >= ask
    return masks, first_quote


def _raise_first(df: pd.DataFrame, kind: str, mask: np.ndarray, cols: dict, first_quote: int):
    rows = np.flatnonzero(mask)
    row = int(rows[0])
    where = _row_label(df, row)
    more = f" ({len(rows) - 1} more row(s) like it)" if len(rows) > 1 else ""
    drop = "; or pass clean=True to drop such rows"
    value = {c: cols[c].iloc[row] for c in TAQ_COLUMNS}
    if kind == "nan_amount":
        msg = (f"taq column 'amount' is {value['amount']} at {where}{more}; every row needs an "
               f"amount (0 for a quote-only row)")
    elif kind == "trade_price":
        msg = (f"taq column 'price' is {value['price']} at {where}, a trade row "
               f"(amount={value['amount']}){more}; a trade needs a positive price, and a "
               f"quote-only row has amount 0")
    elif kind == "missing_quote":
        col = next(c for c in QUOTE_COLUMNS if not np.isfinite(value[c]))
        msg = (f"taq column {col!r} is {value[col]} at {where}{more}; quote columns may be NaN "
               f"only before the first quote ({_row_label(df, first_quote)}): forward-fill the "
               f"quote, e.g. df[{list(QUOTE_COLUMNS)}] = df[{list(QUOTE_COLUMNS)}].ffill()")
    elif kind == "negative_size":
        col = "bid_amount" if value["bid_amount"] < 0 else "ask_amount"
        msg = (f"taq column {col!r} is negative ({value[col]}) at {where}{more}; sizes on the "
               f"book are >= 0 (trade direction goes in the sign of 'amount')")
    elif kind == "quote_price":
        col = "bid_price" if value["bid_price"] <= 0 else "ask_price"
        msg = (f"taq column {col!r} is {value[col]} at {where}{more}; quote prices must be "
               f"positive (NaN only before the first quote)")
    elif kind == "crossed":
        msg = (f"taq has a crossed quote at {where}: bid_price {value['bid_price']} >= "
               f"ask_price {value['ask_price']}{more}; the bid must be below the ask")
    else:  # pragma: no cover - every kind above is handled
        msg = f"taq {ROW_PROBLEMS[kind]} at {where}{more}"
    raise SchemaError(msg + drop)


def clean_taq(df: pd.DataFrame, *, after: int | None = None) -> tuple[pd.DataFrame, dict]:
    """Drop the rows of a TAQ frame that break the schema.

    Column problems (a missing column, a type that cannot be cast losslessly, an index that is
    not a ``time`` DatetimeIndex) cannot be cleaned and still raise.

    Parameters
    ----------
    df : pandas.DataFrame
        A TAQ frame.
    after : int, optional
        When ``df`` continues data cleaned before it (a stream read in chunks): the latest
        time kept so far, as int64 UTC nanoseconds. Rows earlier than it are out of order.

    Returns
    -------
    (pandas.DataFrame, dict)
        The frame without the bad rows (float64 TAQ columns, in order) and the number of rows
        found for each kind of :data:`ROW_PROBLEMS` (a row can count under several kinds;
        ``"total"`` is the number of rows dropped).

    Raises
    ------
    SchemaError
        On column problems.
    """
    _check_index(df, "taq")
    cols = _taq_columns(df)
    masks, _ = _problem_masks(df.index, cols)
    bad = np.zeros(len(df), bool)
    for mask in masks.values():
        bad |= mask
    # out_of_order: among the rows kept so far, a time earlier than the running maximum.
    keep = np.flatnonzero(~bad)
    times = index_ns(df.index)[keep]
    late = np.zeros(len(df), bool)
    if len(keep):
        running = np.maximum.accumulate(times)
        late[keep[1:]] = times[1:] < running[:-1]
        if after is not None:
            late[keep] |= times < after
    masks["out_of_order"] = late
    counts = {kind: int(masks[kind].sum()) for kind in ROW_PROBLEMS}
    bad |= late
    counts["total"] = int(bad.sum())
    out = _assemble(df, cols)
    if counts["total"]:
        out = out[~bad]
    return out, counts


def _assemble(df: pd.DataFrame, cols: dict) -> pd.DataFrame:
    index = df.index
    if index.tz is not None and str(index.tz) != "UTC":
        index = index.tz_convert("UTC")
    if index.unit != "ns":
        index = index.as_unit("ns")
    optional = [c for c in OPTIONAL_COLUMNS if c in df.columns]
    if (index is df.index and list(df.columns) == [*TAQ_COLUMNS, *optional]
            and all(df[c].dtype == np.float64 for c in TAQ_COLUMNS)):
        return df
    # copy=False: the columns are the caller's (or their float64 casts); a copy would double
    # the memory of a large frame for nothing.
    out = pd.DataFrame({c: cols[c].to_numpy() for c in TAQ_COLUMNS}, index=index, copy=False)
    for column in OPTIONAL_COLUMNS:
        if column in df.columns:
            # The optional columns travel with their rows (see local_time_ns, mark_price).
            out[column] = df[column].to_numpy()
    return out


def validate_taq(df: pd.DataFrame, clean: bool = False, contract=None) -> pd.DataFrame:
    """Check a TAQ frame against the schema and return it with float64 columns in order.

    Columns are cast to float64 when that is lossless (integers up to 2**53, float32, nullable
    types); other columns are dropped. A timezone-aware index is converted to UTC, a naive one
    is taken to be UTC; the index unit becomes nanoseconds.

    Parameters
    ----------
    df : pandas.DataFrame
        Frame with a ``time`` DatetimeIndex and the columns of :data:`TAQ_COLUMNS`.
    clean : bool
        If True, drop the bad rows (see :data:`ROW_PROBLEMS`) instead of raising, log how many
        of each kind were dropped (logger ``mmsim.data``, level WARNING) and put the counts in
        ``result.attrs["dropped_rows"]``.
    contract : mmsim.Contract, optional
        Also check the prices fit the contract's tick grid: below 2**53 ticks, quotes whole
        ticks (see :func:`check_prices`), in the same pass over the rows. A row that does not
        fit is not a bad row: it raises with ``clean=True`` too (the contract does not match
        the data).

    Returns
    -------
    pandas.DataFrame
        The rows with exactly the TAQ columns, as float64 (``df`` itself when it already is),
        and the optional columns (:data:`OPTIONAL_COLUMNS`) ``df`` has.

    Raises
    ------
    SchemaError
        Naming the missing column, the column that cannot be cast to float64 losslessly,
        or the first bad row (position and time), what is wrong with it and the fix; with a
        ``contract``, or the first price that does not fit it, as :func:`check_prices` does
        (a bad row is named first).
    """
    if clean:
        out = report_dropped(*clean_taq(df), len(df))
        if contract is not None:
            check_prices(*(out[c].to_numpy() for c in _PRICE_COLUMNS), contract)
        return out
    from mmsim._validate import first_bad_row

    time_index_ns(df, "taq")  # index type and name, NaT, time order
    cols = _taq_columns(df)
    arrays = {c: np.ascontiguousarray(cols[c].to_numpy()) for c in TAQ_COLUMNS}
    tick_size = 0.0 if contract is None else contract.tick_size
    # One fused pass in C finds whether any row is bad; only then are the masks built, to
    # name the first problem of each kind. A row the masks do not name breaks the contract.
    if first_bad_row(*arrays.values(), tick_size=tick_size) >= 0:
        masks, first_quote = _problem_masks(df.index, cols)
        for kind, mask in masks.items():
            if mask.any():
                _raise_first(df, kind, mask, cols, first_quote)
        if contract is not None:
            _raise_unfit([arrays[c] for c in _PRICE_COLUMNS], contract)
    return _assemble(df, cols)


#: The columns :func:`check_prices` reads, in the order it names them.
_PRICE_COLUMNS = ("price", "bid_price", "ask_price")


def check_prices(price: np.ndarray, bid_price: np.ndarray, ask_price: np.ndarray,
                 contract) -> None:
    """Check TAQ prices fit a contract's tick grid: below 2**53 ticks, quotes whole ticks.

    The engine compares prices as whole ticks held in int64, so each must be exact there;
    quotes are book levels, so on the grid (within 1e-6 of a tick), while a print may be an
    off-grid VWAP of fills aggregated at one timestamp. NaN (no quote, no trade) fits.

    Parameters
    ----------
    price, bid_price, ask_price : numpy.ndarray
        float64 columns of one length.
    contract : mmsim.Contract

    Raises
    ------
    SchemaError
        Naming the column, the value and its row (position in the arrays): first a price of
        2**53 ticks or more (columns in the order of the parameters), then a bid, then an
        ask off the grid, with the nearest price on it.
    """
    from mmsim._validate import first_unfit_price

    columns = [np.ascontiguousarray(c, dtype=np.float64) for c in (price, bid_price, ask_price)]
    if first_unfit_price(*columns, contract.tick_size) >= 0:
        _raise_unfit(columns, contract)


def _raise_unfit(columns: list, contract) -> None:
    # Names what does not fit in ``columns`` (price, bid_price, ask_price), one of which the
    # fused pass found; raises SchemaError.
    from mmsim._validate import first_off_grid

    tick, name = contract.tick_size, contract.name or "the contract"
    limit = _MAX_EXACT_INT * tick
    for col, column in zip(_PRICE_COLUMNS, columns):
        if len(column) and np.nanmax(column, initial=0.0) >= limit:
            row = int(np.flatnonzero(column >= limit)[0])
            raise SchemaError(f"taq column {col!r} is {float(column[row])!r} at row {row}, more "
                              f"than 2**53 ticks of {tick!r} ({name})")
    inverse_tick = 1.0 / tick
    for col, column in zip(_PRICE_COLUMNS[1:], columns[1:]):
        row = first_off_grid(column, tick)
        if row >= 0:
            value = float(column[row])
            raise SchemaError(
                f"taq column {col!r} is {value!r} at row {row}, off the tick grid of {tick!r} "
                f"({name}); the nearest price on the grid is "
                f"{round(value * inverse_tick) / inverse_tick!r}: check the contract matches "
                f"the data")


def report_dropped(out: pd.DataFrame, counts: dict, rows: int) -> pd.DataFrame:
    """Log what :func:`clean_taq` dropped and record it in ``out.attrs["dropped_rows"]``.

    Parameters
    ----------
    out, counts
        What :func:`clean_taq` returned.
    rows : int
        How many rows the cleaned frame had.

    Returns
    -------
    pandas.DataFrame
        ``out`` (a shallow copy carrying the counts when rows were dropped).
    """
    if counts["total"]:
        detail = ", ".join(f"{k}={v}" for k, v in counts.items() if v and k != "total")
        log.warning("validate_taq(clean=True) dropped %d of %d rows: %s",
                    counts["total"], rows, detail)
        out = out.copy(deep=False)
        out.attrs["dropped_rows"] = counts
    return out


def validate_signals(df: pd.DataFrame) -> pd.DataFrame:
    """Check a signals frame: a ``time`` DatetimeIndex and finite float64 columns.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per strategy call.

    Returns
    -------
    pandas.DataFrame
        The frame with float64 columns.

    Raises
    ------
    SchemaError
        Naming the column that is not numeric, holds NaN or an infinity, or appears twice,
        or the first row out of order.
    """
    time_index_ns(df, "signals")
    if df.columns.duplicated().any():
        dup = sorted(map(str, set(df.columns[df.columns.duplicated()])))
        raise SchemaError(f"signals has duplicate column(s) {dup}; the strategy reads columns "
                          f"by name, so keep one of each")
    out = {}
    for col in df.columns:
        values = _as_float64(df[col], col, "signals")
        # NaN and +-inf alike: a strategy cannot quote off either.
        bad = np.flatnonzero(~np.isfinite(values.to_numpy()))
        if len(bad):
            row = int(bad[0])
            raise SchemaError(
                f"signals column {col!r} is {values.iloc[row]} at {_row_label(df, row)}; "
                f"signals must be finite: fill or clip it first, e.g. mmsim.data.fix_features"
            )
        out[col] = values
    return pd.DataFrame(out, index=df.index, columns=df.columns)
