"""Performance statistics of a backtest: returns, risk, trading activity and a PnL decomposition.

Every function takes a :class:`mmsim.Result`. Notation (one fill: signed amount ``a`` contracts,
price ``p``, mid at fill time ``m``; contract size ``cs``; position ``q`` with entry price ``E``;
balance ``B``; mark price ``M``)::

    inverse:  equity = B + q cs (1/E - 1/M)          (settlement currency, e.g. BTC)
              nav    = equity x M                    (USD)
    linear:   equity = nav = B + q cs (M - E)        (quote currency)

The PnL over the run, ``equity_end - equity_start``, splits exactly into four parts:

* spread capture, what each fill earns against the mid at fill time::

      inverse:  S = sum_fills a cs (1/p - 1/m)        linear:  S = sum_fills a cs (m - p)

  (a buy below the mid or a sell above it is positive);
* fees, ``F = -sum_fills fee`` (a rebate is a positive contribution);
* funding, ``G = -sum_funding payment`` (what the position received at funding times);
* inventory, the mark-to-market change of the position held between events::

      I = total - S - F - G = sum_intervals q cs (1/M_prev - 1/M_next)   (inverse)
                        = sum_intervals q cs (M_next - M_prev)       (linear)

  The second form follows because a fill changes the equity, valued at the mid, by exactly its
  spread capture minus its fee (the harmonic entry price keeps ``q/E`` additive for inverse
  contracts), so everything else is revaluation of the inventory.

``I`` is computed as the remainder, so ``S + I + F + G`` equals the total PnL up to float
rounding.

Risk and return use the NAV (USD, or the quote currency) sampled every ``freq`` from the
first balance row (the last row closes the final period), ``nav_0 .. nav_n``, with
``P = 365 days / freq`` periods a year. A period's return is its change of NAV on the starting
NAV, so that it stays defined (and keeps its sign) when the NAV goes through zero, as it can
with margin off::

    r_i = (nav_i - nav_{i-1}) / nav_0
    sharpe  = mean(r) / std(r, ddof=1) x sqrt(P)                     (n >= 2)
    sortino = mean(r) / sqrt(mean(min(r, 0)^2)) x sqrt(P)            (n >= 2)
    return = (nav_end - nav_start) / nav_start
    annual_return = (1 + return) ^ (365 days / duration) - 1         (duration >= 1 day;
                                                                      -1 once return <= -1)
    drawdown_t = peak_t - nav_t,   peak_t = max(nav_0..t)
    calmar = annual_return / max(drawdown_t / peak_t)

A statistic a run cannot support (Sharpe from a single return, the annual return of a
10-minute run, anything of a run without balance rows) is NaN with its reason in
``stats.attrs["n/a"]``.

The balances table holds ``total`` (``B``), ``nav``, the ``mark`` and the ``position`` at
each row, and :func:`equity_curve` values the equity at that mark. Results saved before it
recorded the mark have it recovered from the NAV equation and the position in force at each
row (undefined for a hedged inverse account, whose denominator is 0)::

    inverse:  M = (nav + q cs) / (B + q cs / E)         (M = nav / B when flat)
    linear:   M = E + (nav - B) / (q cs)                (undefined when flat)
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mmsim import checks

__all__ = [
    "STAT_NAMES",
    "STAT_UNITS",
    "compute_stats",
    "equity_curve",
    "pnl_decomposition",
    "fill_spread",
    "drawdown",
    "underwater",
    "daily_pnl",
    "fill_causes",
    "worst_slippage",
    "largest_losses",
    "inventory_profile",
    "summary_text",
    "no_data",
    "format_stat",
    "format_value",
    "format_duration",
]

#: Length of a year for annualising: crypto markets trade every day.
YEAR = pd.Timedelta(days=365)

#: Shortest run whose return is annualised: compounding a shorter one mostly magnifies noise.
MIN_ANNUALISED = pd.Timedelta(days=1)

#: Index of the Series :func:`compute_stats` returns, in order, with a description of each.
STAT_NAMES = {
    "start": "first balance row with a NAV, seconds since 1970-01-01 UTC",
    "end": "last balance row, seconds since 1970-01-01 UTC",
    "duration": "end - start, seconds",
    "pnl": "equity_end - equity_start, settlement currency",
    "pnl_usd": "nav_end - nav_start, quote currency (USD)",
    "return": "(nav_end - nav_start) / nav_start",
    "annual_return": "(1 + return) ** (365 days / duration) - 1, for runs of a day or more",
    "sharpe": "annualised mean / std (ddof 1) of NAV changes sampled at freq, on nav_start",
    "sortino": "annualised mean / downside deviation of NAV changes sampled at freq, on "
               "nav_start",
    "max_drawdown": "largest fall of NAV from its running peak, quote currency",
    "max_drawdown_pct": "largest fall of NAV from its running peak, fraction of the peak",
    "max_drawdown_duration": "longest time from a NAV peak to its recovery (or the end), "
                             "seconds",
    "calmar": "annual_return / max_drawdown_pct",
    "orders": "number of orders",
    "fills": "number of fills",
    "fill_ratio": "orders with any fill / orders",
    "cancel_ratio": "cancelled orders / orders",
    "margin_rejections": "orders rejected for margin (their margin exceeded the available balance)",
    "volume": "sum of |fill amount|, contracts",
    "volume_usd": "traded notional, quote currency (USD)",
    "turnover": "volume_usd / nav_start",
    "maker_share": "maker volume / volume",
    "maker_volume_queue": "maker volume filled by prints at the order's price, contracts",
    "maker_volume_through": "maker volume filled by prints through the order's price, contracts",
    "maker_volume_cross": "maker volume filled by the opposite quote crossing the order, contracts",
    "maker_unprinted_share": "share of maker volume no print covered: the part of each fill "
                             "beyond its print's volume, and every quote-cross fill",
    "fees_paid": "sum of positive fill fees, settlement currency",
    "rebates_earned": "minus the sum of negative fill fees, settlement currency",
    "spread_per_fill": "mean of side x (mid - price) over fills, price units",
    "spread_pnl": "spread capture S, settlement currency",
    "inventory_pnl": "inventory (mark-to-market) PnL I, settlement currency",
    "fee_pnl": "F = rebates_earned - fees_paid, settlement currency",
    "funding_pnl": "funding received minus funding paid, settlement currency",
    "inventory_mean": "time-weighted mean position, contracts",
    "inventory_abs_mean": "time-weighted mean |position|, contracts",
    "inventory_max_abs": "largest |position|, contracts",
    "time_at_limit": "share of time with |position| >= size_limit",
    "order_size_mean": "mean |order amount|, contracts",
    "order_duration_mean": "mean active_duration of closed orders, seconds",
    "filled_duration_mean": "mean active_duration of filled orders, seconds",
    "slippage_mean": "mean order slippage, price units",
}


#: Unit of each statistic, which :func:`format_stat` prints it in: ``time`` (seconds since
#: the epoch, printed as a UTC time), ``seconds`` (a duration), ``settlement`` and ``quote``
#: (amounts of the contract's settlement and quote currencies), ``amount`` (contracts, or
#: base units of a linear contract of size 1), ``price`` (quote currency per unit), ``fraction``
#: (printed as a percentage), ``ratio`` and ``count``.
STAT_UNITS = {
    "start": "time", "end": "time", "duration": "seconds",
    "pnl": "settlement", "pnl_usd": "quote", "return": "fraction", "annual_return": "fraction",
    "sharpe": "ratio", "sortino": "ratio", "max_drawdown": "quote",
    "max_drawdown_pct": "fraction", "max_drawdown_duration": "seconds", "calmar": "ratio",
    "orders": "count", "fills": "count", "fill_ratio": "fraction", "cancel_ratio": "fraction",
    "margin_rejections": "count", "volume": "amount", "volume_usd": "quote",
    "turnover": "ratio", "maker_share": "fraction", "maker_volume_queue": "amount",
    "maker_volume_through": "amount", "maker_volume_cross": "amount",
    "maker_unprinted_share": "fraction", "fees_paid": "settlement",
    "rebates_earned": "settlement", "spread_per_fill": "price", "spread_pnl": "settlement",
    "inventory_pnl": "settlement", "fee_pnl": "settlement", "funding_pnl": "settlement",
    "inventory_mean": "amount", "inventory_abs_mean": "amount", "inventory_max_abs": "amount",
    "time_at_limit": "fraction", "order_size_mean": "amount", "order_duration_mean": "seconds",
    "filled_duration_mean": "seconds", "slippage_mean": "price",
}


#: Statistics of the equity curve: n/a, with the reason, for a run without a valued balance row.
_CURVE_STATS = ("start", "end", "duration", "pnl", "pnl_usd", "return", "annual_return", "sharpe",
                "sortino", "max_drawdown", "max_drawdown_pct", "max_drawdown_duration", "calmar",
                "turnover", "spread_pnl", "inventory_pnl", "fee_pnl", "funding_pnl",
                "inventory_mean", "inventory_abs_mean", "inventory_max_abs", "time_at_limit")


#: Statistics of the fills and position changes: n/a for a run that did not record them.
_FILL_STATS = ("fills", "volume", "volume_usd", "turnover", "maker_share", "maker_volume_queue",
               "maker_volume_through", "maker_volume_cross", "maker_unprinted_share",
               "fees_paid", "rebates_earned", "spread_per_fill", "spread_pnl", "inventory_pnl",
               "fee_pnl", "inventory_mean", "inventory_abs_mean", "inventory_max_abs",
               "time_at_limit")


def _fills_recorded(result) -> bool:
    # backtest(record="daily" or a duration) keeps no fills or position changes.
    return result.params.get("record", "all") in ("all", "fills")


def _ns(index: pd.DatetimeIndex) -> np.ndarray:
    """int64 nanoseconds of a DatetimeIndex, whatever its stored resolution."""
    return index.as_unit("ns").asi8


def _check_balances(result) -> pd.DataFrame:
    balances = result.balances
    if len(balances) == 0:
        raise ValueError("result.balances is empty: statistics need at least one balance row")
    return balances


def _position_at(result, times: pd.DatetimeIndex) -> tuple[np.ndarray, np.ndarray]:
    """Position amount and entry price in force at each of ``times`` (after fills at that time)."""
    positions = result.positions
    q = np.zeros(len(times))
    entry = np.full(len(times), np.nan)
    if len(positions):
        idx = np.searchsorted(_ns(positions.index), _ns(times), side="right") - 1
        has = idx >= 0
        q[has] = positions["amount"].to_numpy(dtype=float)[idx[has]]
        entry[has] = positions["weighted_price"].to_numpy(dtype=float)[idx[has]]
    return q, entry


def equity_curve(result) -> pd.DataFrame:
    """Mark price and equity in the settlement currency at every balance row.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.DataFrame
        Indexed like ``result.balances``, columns ``position`` (contracts), ``mark`` (as the
        engine recorded it; for results saved before it did, recovered from the NAV
        equation, see the module notes, NaN for a flat linear account),
        ``equity`` (balance plus unrealised PnL, settlement currency) and ``nav``.
    """
    balances = _check_balances(result)
    cs = float(result.contract.contract_size)
    q, entry = _position_at(result, balances.index)
    balance = balances["total"].to_numpy(dtype=float)
    nav = balances["nav"].to_numpy(dtype=float)
    flat = q == 0
    if "mark" in balances and "position" in balances:
        # The engine records the mark and the position: equity is balance + unrealised at
        # that mark (DESIGN rule 9), with no division that a hedged account would make 0/0.
        mark = balances["mark"].to_numpy(dtype=float)
        q = balances["position"].to_numpy(dtype=float)
        if not _fills_recorded(result):
            # No position changes, so no entry price: the NAV is equity at the mark.
            equity = nav / mark if result.contract.inverse else nav
            return pd.DataFrame({"position": q, "mark": mark, "equity": equity, "nav": nav},
                                index=balances.index)
        flat = q == 0
        safe_entry = np.where(flat, 1.0, entry)
        with np.errstate(divide="ignore", invalid="ignore"):
            if result.contract.inverse:
                unrealised = np.where(flat, 0.0, q * cs * (1.0 / safe_entry - 1.0 / mark))
            else:
                unrealised = np.where(flat, 0.0, q * cs * (mark - safe_entry))
        return pd.DataFrame({"position": q, "mark": mark, "equity": balance + unrealised,
                             "nav": nav}, index=balances.index)
    # Results saved before balances recorded the mark: recover it from the NAV equation.
    with np.errstate(divide="ignore", invalid="ignore"):
        if result.contract.inverse:
            # nav = (B + q cs (1/E - 1/M)) M  =>  M = (nav + q cs) / (B + q cs / E)
            exposure = np.where(flat, 0.0, q * cs / np.where(flat, 1.0, entry))
            mark = (nav + q * cs) / (balance + exposure)
            equity = nav / mark
        else:
            # nav = B + q cs (M - E)  =>  M = E + (nav - B) / (q cs)
            mark = np.where(flat, np.nan, entry + (nav - balance) / np.where(flat, 1.0, q * cs))
            equity = nav
    return pd.DataFrame(
        {"position": q, "mark": mark, "equity": equity, "nav": nav}, index=balances.index
    )


def fill_spread(result) -> pd.Series:
    """Spread capture of each fill against the mid at fill time, in the settlement currency.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.Series
        Indexed like ``result.fills``: ``a cs (1/p - 1/m)`` for inverse contracts,
        ``a cs (m - p)`` for linear ones.
    """
    fills = result.fills
    cs = float(result.contract.contract_size)
    a = fills["amount"].to_numpy(dtype=float)
    p = fills["price"].to_numpy(dtype=float)
    m = fills["mid"].to_numpy(dtype=float)
    if result.contract.inverse:
        spread = a * cs * (1.0 / p - 1.0 / m)
    else:
        spread = a * cs * (m - p)
    return pd.Series(spread, index=fills.index, name="spread")


def pnl_decomposition(result) -> pd.DataFrame:
    """Cumulative PnL and its split into spread, inventory and fees at every balance row.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.DataFrame
        Indexed like ``result.balances``, columns ``total, spread, inventory, fees, funding``
        in the settlement currency, with ``spread + inventory + fees + funding == total`` (to
        rounding) on every row (see the module notes for the equations). Fills and funding
        count from the first balance row on.
    """
    return _decompose(result, equity_curve(result))


def _decompose(result, curve: pd.DataFrame) -> pd.DataFrame:
    """:func:`pnl_decomposition` on an :func:`equity_curve` already computed."""
    fills = result.fills
    equity = curve["equity"].to_numpy()
    total = equity - equity[0]
    spread_cum = np.concatenate([[0.0], np.cumsum(fill_spread(result).to_numpy())])
    fee_cum = np.concatenate([[0.0], np.cumsum(-fills["fee"].to_numpy(dtype=float))])
    fill_ns = _ns(fills.index)
    start = np.searchsorted(fill_ns, _ns(curve.index)[0], side="left")
    upto = np.searchsorted(fill_ns, _ns(curve.index), side="right")
    spread = spread_cum[upto] - spread_cum[start]
    fees = fee_cum[upto] - fee_cum[start]
    # Funding paid at a time is in the balance row written at that time (side="right").
    payments = getattr(result, "funding", None)
    funding = np.zeros(len(curve))
    if payments is not None and len(payments):
        fund_cum = np.concatenate([[0.0], np.cumsum(-payments["payment"].to_numpy(dtype=float))])
        fund_ns = _ns(payments.index)
        first = np.searchsorted(fund_ns, _ns(curve.index)[0], side="right")
        funding = fund_cum[np.searchsorted(fund_ns, _ns(curve.index), side="right")] \
            - fund_cum[first]
    if not _fills_recorded(result):
        spread = fees = np.full(len(curve), np.nan)     # unknown without the fills
    return pd.DataFrame(
        {"total": total, "spread": spread, "inventory": total - spread - fees - funding,
         "fees": fees, "funding": funding},
        index=curve.index,
    )


def underwater(nav: pd.Series) -> pd.DataFrame:
    """How far the NAV is below its running peak at every row.

    Parameters
    ----------
    nav : pandas.Series
        NAV with a DatetimeIndex.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``nav``: ``peak`` (running maximum), ``drawdown`` (``nav - peak``, 0 or
        negative) and ``drawdown_pct`` (``nav / peak - 1``; NaN while the peak is not
        positive).
    """
    values = nav.to_numpy(dtype=float)
    peak = np.maximum.accumulate(values) if len(values) else values
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(peak > 0, values / np.where(peak > 0, peak, 1.0) - 1.0, np.nan)
    return pd.DataFrame({"peak": peak, "drawdown": values - peak, "drawdown_pct": pct},
                        index=nav.index)


def drawdown(nav: pd.Series) -> tuple[float, float, pd.Timedelta]:
    """Maximum drawdown of a NAV series.

    Parameters
    ----------
    nav : pandas.Series
        NAV with a DatetimeIndex.

    Returns
    -------
    tuple
        ``(absolute, fraction, duration)``: the largest ``peak - nav``, the largest
        ``1 - nav / peak`` (``peak`` the running maximum) and the longest time from a peak to
        the first row back at or above it (to the last row if never recovered).

    Raises
    ------
    ValueError
        If ``nav`` is empty.
    """
    values = nav.to_numpy(dtype=float)
    if len(values) == 0:
        raise ValueError("nav is empty: drawdown needs at least one NAV row")
    under = underwater(nav)
    peak = under["peak"].to_numpy()
    absolute = float(np.max(-under["drawdown"].to_numpy()))
    fraction = float(np.nanmax(-under["drawdown_pct"].to_numpy(), initial=0.0))
    # Rows at their running peak start a new underwater period; an underwater period lasts
    # from its peak row to the next at-peak row, or to the last row.
    at_peak = values >= peak
    times = _ns(nav.index)
    peak_rows = np.flatnonzero(at_peak)
    ends = np.append(peak_rows[1:], len(values) - 1)
    below = ends > peak_rows + 1
    below |= (ends == len(values) - 1) & ~at_peak[ends]
    longest = np.max(times[ends] - times[peak_rows], where=below, initial=0)
    return absolute, fraction, pd.Timedelta(int(longest), unit="ns")


def _sampled_returns(nav: pd.Series, freq: pd.Timedelta) -> np.ndarray:
    """Changes of NAV sampled every ``freq`` from the first row (plus the last row), as
    fractions of the starting NAV."""
    times = _ns(nav.index)
    step = freq.value
    grid = np.arange(times[0], times[-1] + 1, step, dtype=np.int64)
    if grid[-1] != times[-1]:
        grid = np.append(grid, times[-1])
    idx = np.searchsorted(times, grid, side="right") - 1
    sampled = nav.to_numpy(dtype=float)[idx]
    return np.diff(sampled) / sampled[0]


def daily_pnl(result) -> pd.DataFrame:
    """PnL of each UTC day of the run and its decomposition.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.DataFrame
        One row per UTC day from the first valued balance row to the last (index ``day``,
        midnight UTC): ``total, spread, inventory, fees, funding`` (settlement currency; the
        change of each part of :func:`pnl_decomposition` from the previous day's last row, or
        from the first row on the first day), ``nav_change`` (quote currency), ``fills`` and
        ``volume`` (sum of |fill amount|). Empty for a run without a valued balance row.
    """
    curve, _ = _valued_curve(result)
    columns = ["total", "spread", "inventory", "fees", "funding", "nav_change", "fills",
               "volume"]
    if curve is None:
        return pd.DataFrame({c: pd.Series(dtype=float) for c in columns},
                            index=pd.DatetimeIndex([], tz="UTC", name="day"))
    parts = _decompose(result, curve)
    parts["nav_change"] = curve["nav"] - curve["nav"].iloc[0]
    # Cumulative values at each day's last row, less the previous day's (0 before the run).
    at_close = parts.resample("1D").last().ffill()
    daily = at_close.diff()
    daily.iloc[0] = at_close.iloc[0]
    fills = result.fills[result.fills.index >= curve.index[0]]
    days = daily.index
    daily["fills"] = fills["amount"].resample("1D").count().reindex(days, fill_value=0)
    daily["volume"] = fills["amount"].abs().resample("1D").sum().reindex(days, fill_value=0.0)
    daily.index.name = "day"
    return daily[columns].astype(float)


def fill_causes(result) -> pd.DataFrame:
    """Fills grouped by what caused them (prints at the price, through it, the quote
    crossing it, taking liquidity, liquidation).

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.DataFrame
        One row per cause that occurred (index ``cause``): ``fills``, ``volume`` (sum of
        |amount|), ``volume_share``, ``fees`` and ``spread`` (the summed
        :func:`fill_spread`, settlement currency). Without a ``cause`` column (results
        saved before fills recorded it) the rows are by ``liquidity``.
    """
    fills = result.fills
    key = "cause" if "cause" in fills else "liquidity"
    frame = pd.DataFrame({
        key: fills[key].astype(str).to_numpy(),
        "volume": fills["amount"].abs().to_numpy(dtype=float),
        "fees": fills["fee"].to_numpy(dtype=float),
        "spread": fill_spread(result).to_numpy(),
    })
    table = frame.groupby(key, sort=False).agg(
        fills=("volume", "size"), volume=("volume", "sum"), fees=("fees", "sum"),
        spread=("spread", "sum"))
    total = table["volume"].sum()
    table.insert(2, "volume_share", table["volume"] / total if total else np.nan)
    return table.sort_values("volume", ascending=False, kind="stable").astype(float)


def worst_slippage(result, n: int = 20) -> pd.DataFrame:
    """The orders that slipped most (slippage is signed so that worse is positive).

    Parameters
    ----------
    result : mmsim.Result
    n : int, default 20

    Returns
    -------
    pandas.DataFrame
        Up to ``n`` rows of ``result.orders`` with a positive slippage, worst first.
    """
    orders = result.orders
    slipped = orders[(orders["slippage"] > 0).to_numpy()]
    return slipped.sort_values("slippage", ascending=False, kind="stable").head(n)


def largest_losses(result, n: int = 20) -> pd.DataFrame:
    """The fills that lost most: realised PnL net of the fee, most negative first.

    Parameters
    ----------
    result : mmsim.Result
    n : int, default 20

    Returns
    -------
    pandas.DataFrame
        Up to ``n`` rows of ``result.fills`` with a negative ``net = realized - fee``
        (settlement currency; the column is added), largest loss first.
    """
    fills = result.fills.assign(net=result.fills["realized"] - result.fills["fee"])
    return fills[(fills["net"] < 0).to_numpy()].sort_values("net", kind="stable").head(n)


def inventory_profile(result) -> pd.DataFrame:
    """Position held over time, one row per interval between position changes.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    pandas.DataFrame
        Columns ``position`` and ``seconds`` (how long it was held): flat from the first balance
        row to the first fill, each position from its fill to the next one, the last one to the
        last balance row.
    """
    balances = _check_balances(result)
    start, end = _ns(balances.index)[0], _ns(balances.index)[-1]
    pos = result.positions
    times = np.concatenate([[start], np.clip(_ns(pos.index), start, end), [end]])
    q = np.concatenate([[0.0], pos["amount"].to_numpy(dtype=float)])
    seconds = np.diff(times) / 1e9
    return pd.DataFrame({"position": q, "seconds": seconds})


def _inventory(result, size_limit) -> dict:
    profile = inventory_profile(result)
    q = profile["position"].to_numpy()
    w = profile["seconds"].to_numpy()
    span = w.sum()
    if span > 0:
        mean = float(np.dot(q, w) / span)
        abs_mean = float(np.dot(np.abs(q), w) / span)
    else:
        mean, abs_mean = float(np.mean(q)), float(np.mean(np.abs(q)))
    at_limit = np.nan
    if size_limit is not None:
        hit = np.abs(q) >= size_limit
        at_limit = float(w[hit].sum() / span) if span > 0 else float(np.mean(hit))
    return {
        "inventory_mean": mean,
        "inventory_abs_mean": abs_mean,
        "inventory_max_abs": float(np.max(np.abs(q))),
        "time_at_limit": at_limit,
    }


def _fill_causes(fills: pd.DataFrame, maker_volume: float) -> dict:
    # DESIGN "Fill bounds": maker volume by what filled it, and how much of it no print
    # covered (results saved before fills recorded a cause read NaN).
    if "cause" not in fills or "print_volume" not in fills:
        return {"maker_volume_queue": np.nan, "maker_volume_through": np.nan,
                "maker_volume_cross": np.nan, "maker_unprinted_share": np.nan}
    maker = fills[(fills["liquidity"] == "maker").to_numpy()]
    size = maker["amount"].abs().to_numpy(dtype=float)
    cause = maker["cause"].astype(str).to_numpy()
    printed = maker["print_volume"].to_numpy(dtype=float)
    beyond = np.where(np.isnan(printed), size, np.maximum(size - np.nan_to_num(printed), 0.0))
    return {
        "maker_volume_queue": float(size[cause == "queue"].sum()),
        "maker_volume_through": float(size[cause == "through"].sum()),
        "maker_volume_cross": float(size[cause == "cross"].sum()),
        "maker_unprinted_share": float(beyond.sum()) / maker_volume if maker_volume else np.nan,
    }


def _mean(values) -> float:
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    return float(values.mean()) if len(values) else np.nan


def _check_freq(freq) -> pd.Timedelta:
    step = checks.duration(freq, "freq")
    if not step > pd.Timedelta(0):
        raise ValueError(f"freq must be a positive time interval, got {freq!r}")
    return step


def no_data(result) -> str:
    """Why a run has nothing to chart or measure, or ``""`` when it has.

    Parameters
    ----------
    result : mmsim.Result

    Returns
    -------
    str
        ``""`` if a balance row has a NAV; else the reason, starting "no data".
    """
    return _valued_curve(result)[1]


def _valued_curve(result) -> tuple[pd.DataFrame | None, str]:
    """The equity curve from the first balance row with a NAV, or None and why there is none."""
    if len(result.balances) == 0:
        return None, ("no data: the run recorded no balance rows (no signal fell within the "
                      "replayed data; check start and end against the data's span)")
    curve = equity_curve(result)
    # A signal before the first quote records a balance row without a NAV (no mid to mark
    # at): the statistics start at the first row with one, as the account could not be
    # valued before it.
    valued = np.isfinite(curve["nav"].to_numpy())
    if not valued.any():
        return None, ("no data: no balance row has a NAV (every signal came before the "
                      "first quote)")
    return curve[valued], ""


def _activity(result, why: dict) -> dict:
    """Statistics of the orders and fills tables alone (defined for every run)."""
    fills, orders = result.fills, result.orders
    contract = result.contract
    cs = float(contract.contract_size)
    amount = fills["amount"].to_numpy(dtype=float)
    price = fills["price"].to_numpy(dtype=float)
    if contract.inverse:
        notional = np.abs(amount) * cs  # contracts are worth cs USD each
    else:
        notional = np.abs(amount) * cs * price
    volume = float(np.abs(amount).sum())
    maker = (fills["liquidity"] == "maker").to_numpy()
    maker_volume = float(np.abs(amount[maker]).sum())
    fee = fills["fee"].to_numpy(dtype=float)
    status = orders["status"].to_numpy()
    durations = orders["active_duration"].to_numpy(dtype=float)
    n_orders = len(orders)
    record = result.params.get("record", "all")
    if record != "all":
        # backtest(record=...) kept no orders table: what counts orders is unknown.
        n_orders = np.nan
        orders = orders.iloc[:0]
        status = status[:0]
        durations = durations[:0]
        for name in ("orders", "fill_ratio", "cancel_ratio", "margin_rejections",
                     "order_size_mean", "order_duration_mean", "filled_duration_mean",
                     "slippage_mean"):
            why[name] = f"orders not recorded (record={record!r})"
    elif not n_orders:
        for name in ("fill_ratio", "cancel_ratio", "order_size_mean", "order_duration_mean",
                     "filled_duration_mean", "slippage_mean"):
            why[name] = "no orders"
    if not len(fills):
        for name in ("maker_share", "spread_per_fill"):
            why[name] = "no fills"
    why.setdefault("order_duration_mean", "no order was closed")
    why.setdefault("filled_duration_mean", "no order was filled")
    why.setdefault("slippage_mean", "no order was filled")
    causes = _fill_causes(fills, maker_volume)
    for name, value in causes.items():
        if np.isnan(value):
            why[name] = ("no maker fills" if "cause" in fills
                         else "saved before fills recorded their cause")
    return {
        "orders": n_orders,
        "fills": len(fills),
        "fill_ratio": (orders["filled"].to_numpy(dtype=float) != 0).sum() / n_orders
        if n_orders else np.nan,
        "cancel_ratio": float((status == "cancelled").sum()) / n_orders if n_orders else np.nan,
        "margin_rejections": int((orders["reason"].astype(str) == "margin").sum())
        if record == "all" else np.nan,
        "volume": volume,
        "volume_usd": float(notional.sum()),
        "maker_share": maker_volume / volume if volume else np.nan,
        **causes,
        "fees_paid": float(fee[fee > 0].sum()),
        "rebates_earned": float(0.0 - fee[fee < 0].sum()),
        "spread_per_fill": _mean(np.sign(amount) * (fills["mid"].to_numpy(dtype=float) - price)),
        "order_size_mean": _mean(np.abs(orders["amount"].to_numpy(dtype=float))),
        "order_duration_mean": _mean(durations),
        "filled_duration_mean": _mean(durations[status == "filled"]),
        "slippage_mean": _mean(orders["slippage"].to_numpy(dtype=float)),
    }


def _performance(result, curve: pd.DataFrame, step: pd.Timedelta, volume_usd: float,
                 why: dict) -> dict:
    """Return, risk and PnL statistics of the valued equity curve."""
    decomposition = _decompose(result, curve)
    start, end = curve.index[0], curve.index[-1]
    duration = end - start
    nav = curve["nav"]
    nav0, nav1 = float(nav.iloc[0]), float(nav.iloc[-1])
    ret = annual = sharpe = sortino = calmar = np.nan
    if nav0 > 0:
        ret = (nav1 - nav0) / nav0
    else:
        why["return"] = why["annual_return"] = why["turnover"] = \
            f"the starting NAV is {nav0:g}, not positive"
    if duration < MIN_ANNUALISED:
        why["annual_return"] = (f"the run spans {format_duration(duration)}, under the "
                                f"{format_duration(MIN_ANNUALISED)} needed to annualise")
    elif ret <= -1.0:
        annual = -1.0        # the whole starting NAV was lost: compounding is undefined
    elif np.isfinite(ret):
        with np.errstate(over="ignore"):
            annual = float(np.expm1(np.log1p(ret) * (YEAR / duration)))

    # Returns on the starting NAV of each period's change (module notes): defined even
    # when the NAV goes through zero, where period-on-period ratios change sign.
    returns = _sampled_returns(nav, step)
    periods = YEAR / step
    if nav0 <= 0:
        why["sharpe"] = why["sortino"] = why["return"]
    elif len(returns) < 2:
        why["sharpe"] = why["sortino"] = (
            f"{len(returns)} NAV return(s) sampled every {format_duration(step)} over "
            f"{format_duration(duration)}; at least 2 "
            "are needed (pass a shorter freq)")
    else:
        std = returns.std(ddof=1)
        if std > 0:
            sharpe = float(returns.mean() / std * np.sqrt(periods))
        else:
            why["sharpe"] = "the sampled NAV returns do not vary"
        downside = np.sqrt(np.mean(np.minimum(returns, 0.0) ** 2))
        if downside > 0:
            sortino = float(returns.mean() / downside * np.sqrt(periods))
        else:
            why["sortino"] = "no sampled NAV return is negative"
    dd_abs, dd_pct, dd_time = drawdown(nav)
    if not np.isfinite(annual):
        why["calmar"] = "the annual return is n/a"
    elif dd_pct > 0:
        calmar = annual / dd_pct
    else:
        why["calmar"] = "no drawdown"
    last = decomposition.iloc[-1]
    return {
        "start": start.value / 1e9,
        "end": end.value / 1e9,
        "duration": duration.total_seconds(),
        "pnl": float(last["total"]),
        "pnl_usd": nav1 - nav0,
        "return": ret,
        "annual_return": annual,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": dd_abs,
        "max_drawdown_pct": dd_pct,
        "max_drawdown_duration": dd_time.total_seconds(),
        "calmar": calmar,
        "turnover": volume_usd / nav0 if nav0 > 0 else np.nan,
        "spread_pnl": float(last["spread"]),
        "inventory_pnl": float(last["inventory"]),
        "fee_pnl": float(last["fees"]),
        "funding_pnl": float(last["funding"]),
    }


def compute_stats(result, freq="1h", size_limit=None) -> pd.Series:
    """Compute the statistics of a run.

    Every statistic is a number, so that tables of many runs (sweeps) sort and compare
    them: times (``start``, ``end``) are seconds since 1970-01-01 UTC, durations are seconds.
    :data:`STAT_UNITS` gives the unit of each, and :func:`format_stat` (used by
    :meth:`mmsim.Result.summary` and the report) prints it with its unit. A statistic that
    cannot be computed (a ratio of a run too short for it, a mean over no orders, anything of
    a run without balance rows) is NaN, and ``stats.attrs["n/a"]`` maps its name to the
    reason, which the summary and the report print.

    Parameters
    ----------
    result : mmsim.Result
    freq : str, number or pandas.Timedelta, default "1h"
        Sampling interval of NAV for the Sharpe and Sortino ratios, annualised with
        ``sqrt(365 days / freq)`` (a bare number is seconds).
    size_limit : float, optional
        Position limit in contracts for ``time_at_limit``; NaN when not given.

    Returns
    -------
    pandas.Series
        float64, indexed by the names of :data:`STAT_NAMES` (see there for every
        definition). Balance rows without a NAV (signals before the first quote) are left
        out. ``pd.Timestamp(stats["start"], unit="s", tz="UTC")`` reads a time back.

    Raises
    ------
    ValueError
        If ``freq`` is not a positive time interval or ``size_limit`` is not positive.
    """
    step = _check_freq(freq)
    if size_limit is not None and not (
        isinstance(size_limit, (int, float, np.number)) and np.isfinite(size_limit)
        and size_limit > 0
    ):
        raise ValueError(f"size_limit must be a positive number of contracts, got {size_limit!r}")
    why: dict[str, str] = {}
    out = dict.fromkeys(STAT_NAMES, np.nan)
    out.update(_activity(result, why))
    curve, empty = _valued_curve(result)
    if curve is None:
        why.update((name, empty) for name in _CURVE_STATS)
    else:
        out.update(_performance(result, curve, step, out["volume_usd"], why))
        out.update(_inventory(result, size_limit))
    record = result.params.get("record", "all")
    if not _fills_recorded(result):
        for name in _FILL_STATS:
            out[name] = np.nan
            why[name] = f"fills not recorded (record={record!r})"
    if size_limit is None:
        why.setdefault("time_at_limit", "no size_limit given")
    stats = pd.Series(out, index=list(STAT_NAMES), dtype=float, name="value")
    stats.attrs["n/a"] = {name: why[name] for name in STAT_NAMES
                          if name in why and pd.isna(stats[name])}
    return stats


def _fmt(value, spec: str) -> str:
    if isinstance(value, (float, np.floating)):
        if not np.isfinite(value):
            return "n/a"
        value = value + 0.0         # no "-0" for a sum of zero fees
    return format(value, spec)


def _pct(value) -> str:
    """A fraction as a percentage; scientific notation beyond a million percent."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and abs(value) >= 1e4:
        return f"{value * 100:.3e}%"
    return _fmt(value, ".2%")


def _num(value, spec: str = ",.2f") -> str:
    """A number with ``spec``; scientific notation beyond a billion."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and abs(value) >= 1e9:
        return f"{value:.3e}"
    return _fmt(value, spec)


def _sig(value: float, digits: int = 8) -> str:
    """``value`` to ``digits`` significant digits in plain notation (no exponent down to
    1e-10), thousands grouped, trailing zeros dropped."""
    if not math.isfinite(value):
        return "n/a"
    if value == 0 or abs(value) >= 1e12 or abs(value) < 1e-10:
        return _num(value + 0.0, ",.8g")
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(value))))
    text = f"{value:,.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def format_duration(value) -> str:
    """A duration as text in the units that suit its length.

    Parameters
    ----------
    value : float or pandas.Timedelta
        Seconds, or a Timedelta.

    Returns
    -------
    str
        ``"350 ms"``, ``"42.04 s"``, ``"10 min 42 s"``, ``"4 h 05 min"``, ``"2 d 03 h"``
        (rounded to the smallest unit shown); ``"n/a"`` for NaN or NaT.
    """
    if isinstance(value, pd.Timedelta) or value is pd.NaT:
        value = np.nan if value is pd.NaT else value.total_seconds()
    value = float(value)
    if not math.isfinite(value):
        return "n/a"
    sign, s = ("-" if value < 0 else ""), abs(value)
    if s == 0:
        return "0 s"
    if s < 1:
        return f"{sign}{s * 1e3:.3g} ms"
    if s < 60:
        return f"{sign}{s:.0f} s" if s == round(s) else f"{sign}{s:.2f} s"
    if s < 3600:
        m, sec = divmod(int(round(s)), 60)
        return f"{sign}{m} min" + (f" {sec:02d} s" if sec else "")
    if s < 86400:
        h, m = divmod(int(round(s / 60)), 60)
        return f"{sign}{h} h" + (f" {m:02d} min" if m else "")
    d, h = divmod(int(round(s / 3600)), 24)
    return f"{sign}{d} d" + (f" {h:02d} h" if h else "")


def format_value(value, unit: str, contract) -> str:
    """A number as text with its unit.

    Parameters
    ----------
    value : float
    unit : str
        One of the units of :data:`STAT_UNITS`.
    contract : mmsim.Contract
        Names the currencies and the unit of amounts.

    Returns
    -------
    str
        E.g. ``"0.04988125 BTC"``, ``"-1,600.95 USD"``, ``"25.00%"``, ``"312 contracts"``,
        ``"2 h 00 min"``, ``"2024-01-01 00:00:00 UTC"``; ``"n/a"`` for NaN.

    Raises
    ------
    ValueError
        If ``unit`` is not known.
    """
    if value is None or (isinstance(value, (float, np.floating)) and not np.isfinite(value)):
        return "n/a"
    value = float(value)
    if unit == "time":
        stamp = pd.Timestamp(round(value * 1e9), tz="UTC").round("ms")
        text = stamp.strftime("%Y-%m-%d %H:%M:%S")
        if stamp.microsecond:
            text += f".{stamp.microsecond // 1000:03d}"
        return text + " UTC"
    if unit == "seconds":
        return format_duration(value)
    if unit == "settlement":
        # Eight significant digits: a satoshi of a BTC balance, a cent of a large USDT one.
        return f"{_sig(value)} {contract.settlement_currency}"
    if unit == "quote":
        return f"{_num(value, ',.2f')} {contract.quote_currency}"
    if unit == "price":
        return f"{_sig(value, 6)} {contract.quote_currency}"
    if unit == "amount":
        return f"{_sig(value, 6)} {contract.amount_unit}"
    if unit == "fraction":
        return _pct(value)
    if unit == "ratio":
        return _num(value, ",.2f")
    if unit == "count":
        return f"{int(value):,d}"
    raise ValueError(f"unit must be one of {sorted(set(STAT_UNITS.values()))}, got {unit!r}")


def format_stat(stats: pd.Series, name: str, contract) -> str:
    """One statistic as text with its unit, or ``"n/a (reason)"``.

    Parameters
    ----------
    stats : pandas.Series
        As returned by :func:`compute_stats`.
    name : str
        A name of :data:`STAT_NAMES`.
    contract : mmsim.Contract

    Returns
    -------
    str
        The reason is left out when it is the run's "no data" (said once, elsewhere).
    """
    text = format_value(stats[name], STAT_UNITS[name], contract)
    why = stats.attrs.get("n/a", {})
    reason = why.get(name, "")
    if text == "n/a" and reason and reason != why.get("start", ""):
        text = f"n/a ({reason})"
    return text


def summary_text(result, stats: pd.Series) -> str:
    """Format the notebook's orders summary and the key statistics as text.

    Parameters
    ----------
    result : mmsim.Result
    stats : pandas.Series
        As returned by :func:`compute_stats` for ``result``.

    Returns
    -------
    str
        Lines of ``label  value``, each value with its unit; a statistic that is n/a says
        why (a run without data says so once, on its first line).
    """
    contract = result.contract
    if contract.inverse:
        # Inverse contracts are worth contract_size USD each: show sizes in USD as the notebook.
        size = "$" + _fmt(stats["order_size_mean"] * contract.contract_size, ",.2f")
    else:
        size = format_value(stats["order_size_mean"], "amount", contract)
    why = stats.attrs.get("n/a", {})

    def stat(name):
        return format_stat(stats, name, contract)

    def notebook(name, text):
        # The notebook's own lines keep its formats; an n/a one still says why.
        return stat(name) if pd.isna(stats[name]) else text

    period = "n/a" if pd.isna(stats["start"]) else \
        f"{stat('start')} .. {stat('end')} ({stat('duration')})"
    drawdown = "n/a" if pd.isna(stats["max_drawdown"]) else \
        f"{stat('max_drawdown_pct')} ({stat('max_drawdown')}, {stat('max_drawdown_duration')})"
    makers = ("n/a" if pd.isna(stats["maker_volume_queue"]) else " / ".join(
        format_value(stats[f"maker_volume_{c}"], "amount", contract)
        for c in ("queue", "through", "cross")))
    rows = [
        ("Number of orders", stat("orders")),
        ("Percentage cancelled", stat("cancel_ratio")),
        ("Avg Order Size", notebook("order_size_mean", size)),
        ("Avg Slippage", notebook("slippage_mean", "$" + _fmt(stats["slippage_mean"], ",.2f"))),
        ("Avg Order Duration", notebook("order_duration_mean",
                                        _fmt(stats["order_duration_mean"], ".2f") + "s")),
        ("Avg Order (Filled) Duration", notebook(
            "filled_duration_mean", _fmt(stats["filled_duration_mean"], ".2f") + "s")),
        ("", ""),
        ("Period", period),
        ("PnL", stat("pnl")),
        ("  spread capture", stat("spread_pnl")),
        ("  inventory", stat("inventory_pnl")),
        ("  fees", stat("fee_pnl")),
        ("  funding", stat("funding_pnl")),
        ("PnL (NAV)", stat("pnl_usd")),
        ("Return", stat("return")),
        ("Annualised return", stat("annual_return")),
        ("Sharpe", stat("sharpe")),
        ("Sortino", stat("sortino")),
        ("Max drawdown", drawdown),
        ("Calmar", stat("calmar")),
        ("Fills", stat("fills")),
        ("Fill ratio", stat("fill_ratio")),
        ("Volume", stat("volume")),
        ("Volume (notional)", stat("volume_usd")),
        ("Turnover", stat("turnover")),
        ("Maker share", stat("maker_share")),
        ("  by queue / through / cross", makers),
        ("  not covered by prints", stat("maker_unprinted_share")),
        ("Fees paid", stat("fees_paid")),
        ("Rebates earned", stat("rebates_earned")),
        ("Spread per fill", stat("spread_per_fill")),
        ("Inventory mean", stat("inventory_mean")),
        ("Inventory mean |q|", stat("inventory_abs_mean")),
        ("Inventory max |q|", stat("inventory_max_abs")),
        ("Time at size limit", stat("time_at_limit")),
    ]
    no_data = why.get("start", "")
    head = [no_data[0].upper() + no_data[1:], ""] if no_data else []
    width = max(len(label) for label, _ in rows) + 2
    lines = [f"{label + ':' if label else '':<{width}}{text}".rstrip() for label, text in rows]
    return "\n".join(head + lines)
