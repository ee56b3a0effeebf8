"""Bars and features, with the notebook's column names: OHLCV bars, gap filling, volatility.

The notebook's data steps, as functions that return new frames::

    bars = ohlcv(taq, "1min")                  # open ... vwap, one row per bar close
    bars = fix_features(bars)                  # prices forward-filled, volumes and counts 0
    bars = volatility(bars, [60])              # volatility_60
    signals = bars[["volatility_60"]].rename(columns={"volatility_60": "sigma"})
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from mmsim.checks import duration, number
from mmsim.data.merge import sides
from mmsim.data.schema import SchemaError

__all__ = ["ohlcv", "fix_features", "volatility", "volatility_signals", "inventory_signals",
           "OHLCV_COLUMNS",
           "PRICE_COLUMNS", "VOLUME_COLUMNS", "DEFAULT_METHODS"]

#: Columns of :func:`ohlcv`, in order.
OHLCV_COLUMNS = ("open", "high", "low", "close", "volume", "volume_buy", "volume_sell", "count",
                 "count_buy", "count_sell", "twap", "vwap")
#: Price-like columns: carried forward through empty bars.
PRICE_COLUMNS = ("open", "high", "low", "close", "vwap", "twap")
#: Activity columns: zero in empty bars.
VOLUME_COLUMNS = ("volume", "volume_buy", "volume_sell", "count", "count_buy", "count_sell")
#: :func:`fix_features` defaults: the notebook's (prices forward-filled, volumes left at 0).
DEFAULT_METHODS = {**{c: "ffill" for c in PRICE_COLUMNS}, **{c: "zero" for c in VOLUME_COLUMNS}}

_METHODS = ("ffill", "bfill", "zero")


def _signed_trades(frame: pd.DataFrame) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Times, prices and signed amounts of the trade rows of a TAQ or trades frame."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a DataFrame of trades or TAQ, got {type(frame).__name__}")
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise SchemaError(f"trades must have a DatetimeIndex, got {type(frame.index).__name__}; "
                          f"set it with df = df.set_index(pd.to_datetime(df['time'], utc=True))")
    if "price" not in frame.columns:
        raise SchemaError(f"trades need a 'price' column; got {list(frame.columns)}")
    if "amount" in frame.columns:
        amount = frame["amount"].to_numpy(dtype=np.float64)
    elif {"size", "side"} <= set(frame.columns):
        amount = sides(frame["side"], "trades") * frame["size"].to_numpy(dtype=np.float64)
    else:
        raise SchemaError("trades need a signed 'amount' column (> 0 buyer-initiated, < 0 "
                          f"seller-initiated) or 'size' and 'side'; got {list(frame.columns)}")
    price = frame["price"].to_numpy(dtype=np.float64)
    trade = (amount != 0) & np.isfinite(amount) & np.isfinite(price)
    return frame.index[trade], price[trade], amount[trade]


def ohlcv(trades_or_taq: pd.DataFrame, bar="1min") -> pd.DataFrame:
    """Bars of trades: the notebook's OHLCV columns, labelled by the bar's close time.

    Parameters
    ----------
    trades_or_taq : pandas.DataFrame
        A TAQ frame (its trade rows are used: ``amount != 0``) or a frame of trades with a
        DatetimeIndex, ``price`` and a signed ``amount`` (or ``size`` and ``side``).
    bar : str or pandas.Timedelta, default "1min"
        Bar length, e.g. ``"1min"``, ``"15m"``, ``"1h"``.

    Returns
    -------
    pandas.DataFrame
        Index ``time`` = the bar's close (bar ``[t - bar, t)`` is labelled ``t``), from the
        first bar with a trade to the last. Columns:

        ``open, high, low, close``
            first, highest, lowest and last trade price;
        ``volume, volume_buy, volume_sell``
            total size, buyer-initiated size, seller-initiated size (negative);
        ``count, count_buy, count_sell``
            number of trades, of buys, and minus the number of sells (negative);
        ``twap``
            mean trade price (each print weighs the same);
        ``vwap``
            size-weighted mean trade price.

        Bars without a trade are all NaN (see :func:`fix_features`).

    Examples
    --------
    >>> bars = ohlcv(taq, "1min")  # doctest: +SKIP
    """
    freq = duration(bar, "bar", positive=True)
    index, price, amount = _signed_trades(trades_or_taq)
    size = np.abs(amount)
    buy = amount > 0
    parts = pd.DataFrame({
        "price": price,
        "volume": size,
        "volume_buy": np.where(buy, amount, 0.0),
        "volume_sell": np.where(buy, 0.0, amount),
        "count": 1.0,
        "count_buy": buy.astype(np.float64),
        "count_sell": -(~buy).astype(np.float64),
        "notional": price * size,
    }, index=index)
    grouped = parts.resample(freq, label="right", closed="left")
    sums = grouped[["volume", "volume_buy", "volume_sell", "count", "count_buy", "count_sell",
                    "notional"]].sum()
    p = grouped["price"]
    out = pd.DataFrame({
        "open": p.first(), "high": p.max(), "low": p.min(), "close": p.last(),
        **{c: sums[c] for c in VOLUME_COLUMNS},
        "twap": p.mean(),
        "vwap": sums["notional"] / sums["volume"],
    })
    out = out.astype(np.float64)
    out.loc[sums["count"].to_numpy() == 0] = np.nan
    out.index.name = "time"
    return out[list(OHLCV_COLUMNS)]


def fix_features(df: pd.DataFrame, methods: Mapping[str, object] | None = None, *,
                 rest: object = None) -> pd.DataFrame:
    """Fill the gaps of a feature frame, column by column, into a new frame.

    For each column named in ``methods`` (as the notebook's ``fix_features``): infinities
    become NaN, NaN are filled by the column's method, and values still missing (before the
    first valid value of a forward fill) become 0. Columns not named are left exactly as they
    are, unless ``rest`` gives a method for all of them.

    Parameters
    ----------
    df : pandas.DataFrame
        Features, e.g. from :func:`ohlcv`. Not modified.
    methods : mapping of str to method, optional
        Column -> ``"ffill"`` (carry the last value), ``"bfill"``, ``"zero"`` (fill with 0) or
        a number (fill with it). Default :data:`DEFAULT_METHODS` restricted to the columns of
        ``df``: prices (open, high, low, close, vwap, twap) forward-filled, volumes and counts
        0, as the notebook leaves them.
    rest : method, optional
        Method for the numeric columns not in ``methods`` (e.g. ``"zero"`` for the notebook's
        blanket ``replace(np.nan, 0.0)``); None leaves them untouched.

    Returns
    -------
    pandas.DataFrame
        A new frame; ``df`` is unchanged.

    Raises
    ------
    KeyError
        If ``methods`` names a column that ``df`` lacks.
    ValueError
        If a method is unknown or a named column is not numeric.

    Examples
    --------
    >>> signals = fix_features(bars[["sigma"]], {"sigma": "ffill"})  # doctest: +SKIP
    """
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, got {type(df).__name__}")
    if methods is None:
        methods = {c: m for c, m in DEFAULT_METHODS.items() if c in df.columns}
    methods = dict(methods)
    missing = [c for c in methods if c not in df.columns]
    if missing:
        raise KeyError(f"fix_features: no column(s) {missing} in the frame (columns: "
                       f"{list(df.columns)})")
    if rest is not None:
        for c in df.columns:
            if c not in methods and pd.api.types.is_numeric_dtype(df[c]) \
                    and not pd.api.types.is_bool_dtype(df[c]):
                methods[c] = rest
    out = df.copy()
    for col, method in methods.items():
        if not (isinstance(method, (int, float)) and not isinstance(method, bool)) \
                and method not in _METHODS:
            raise ValueError(f"fix_features: unknown method {method!r} for column {col!r}; use "
                             f"'ffill', 'bfill', 'zero' or a number")
        values = out[col]
        if not pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values):
            raise ValueError(f"fix_features: column {col!r} is not numeric ({values.dtype}); "
                             f"leave it out of methods")
        values = values.astype(np.float64).replace([np.inf, -np.inf], np.nan)
        if method == "ffill":
            values = values.ffill()
        elif method == "bfill":
            values = values.bfill()
        elif method != "zero":
            values = values.fillna(float(method))
        out[col] = values.fillna(0.0)
    return out


def volatility(df: pd.DataFrame, windows: Iterable[int] = (3, 5, 7, 14, 21, 30), *,
               column: str = "close") -> pd.DataFrame:
    """Rolling volatility of log close-to-close returns, as the notebook computes ``sigma``.

    For each window ``w``: ``volatility_w = std(r over the last w bars) * sqrt(w)`` with
    ``r_t = log(close_t / close_{t-1})``, the population standard deviation (``np.nanstd``)
    of the returns available in the window (at least one), so the first bar is NaN and the
    second 0. Computed with pandas' rolling kernels (no per-window Python call).

    Parameters
    ----------
    df : pandas.DataFrame
        Bars with a ``close`` column (gaps filled first, e.g. by :func:`fix_features`).
    windows : iterable of int
        Window lengths in bars.
    column : str, default "close"
        The price column.

    Returns
    -------
    pandas.DataFrame
        A copy of ``df`` with one column ``volatility_{w}`` per window.

    Examples
    --------
    >>> bars = volatility(bars, [60])  # doctest: +SKIP
    >>> bars["sigma"] = bars["volatility_60"]  # doctest: +SKIP
    """
    if column not in df.columns:
        raise KeyError(f"volatility: no column {column!r} (columns: {list(df.columns)})")
    windows = [int(w) for w in windows]
    for w in windows:
        if w < 1:
            raise ValueError(f"volatility: windows must be >= 1, got {w}")
    close = df[column].astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        returns = np.log(close / close.shift(1))
    out = df.copy()
    for w in windows:
        out[f"volatility_{w}"] = returns.rolling(w, min_periods=1).std(ddof=0) * np.sqrt(w)
    return out


def volatility_signals(taq: pd.DataFrame, bar="1min", window: int = 60) -> pd.DataFrame:
    """The notebook's signals frame: ``sigma`` at every bar close, from trade prices.

    The notebook's steps in one call: :func:`ohlcv` bars, :func:`fix_features` (prices
    forward-filled, volumes zero), :func:`volatility` over ``window`` bars, and the signal's
    remaining NaN (the first bar, which has no return yet) set to 0.

    Parameters
    ----------
    taq : pandas.DataFrame
        A TAQ frame, or trades with ``price`` and a signed ``amount``.
    bar : str, default "1min"
        Bar length; each bar is labelled by its close time.
    window : int, default 60
        Bars ``w`` in the rolling window: ``sigma = std(r over w bars) x sqrt(w)``.

    Returns
    -------
    pandas.DataFrame
        Column ``sigma`` with a ``time`` index, ready for :func:`mmsim.backtest`.
    """
    bars = fix_features(ohlcv(taq, bar))
    sigma = volatility(bars, [window])[f"volatility_{window}"]
    return sigma.fillna(0.0).rename("sigma").to_frame()


def inventory_signals(taq: pd.DataFrame, bar="15min", max_size: int = 5,
                      seed: int = 42) -> pd.DataFrame:
    """The notebook's Monte Carlo signal: a random target inventory at every bar close.

    As the notebook draws it: NumPy's legacy generator seeded with ``seed``
    (``np.random.seed(seed)``), one ``randint(-max_size, max_size)`` per bar, so each value
    is a whole number in ``[-max_size, max_size)``. With the notebook's ``seed=42`` and
    ``max_size=5`` the first five are 1, -2, 2, -1, 1.

    Parameters
    ----------
    taq : pandas.DataFrame
        A TAQ frame, or trades with ``price`` and a signed ``amount``: the bars of
        :func:`ohlcv` give the times.
    bar : str, default "15min"
        Bar length; each bar is labelled by its close time.
    max_size : int, default 5
        The scale of the target, as :class:`mmsim.strategies.MonteCarlo`'s ``max_size``.
    seed : int, default 42

    Returns
    -------
    pandas.DataFrame
        Column ``inv`` (float64) with a ``time`` index, ready for
        :class:`~mmsim.strategies.MonteCarlo`.

    Raises
    ------
    TypeError, ValueError
        If ``max_size`` is not a whole number > 0 (:func:`mmsim.checks.number`).
    """
    max_size = number(max_size, "max_size", positive=True, integer=True)
    index = ohlcv(taq, bar).index
    rng = np.random.RandomState(seed)  # the notebook's np.random.seed: the same draws
    inv = rng.randint(-max_size, max_size, size=len(index)).astype(np.float64)
    return pd.DataFrame({"inv": inv}, index=index)
