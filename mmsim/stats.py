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

import numpy as np
import pandas as pd

__all__ = [
    "STAT_NAMES",
    "compute_stats",
    "equity_curve",
    "pnl_decomposition",
    "fill_spread",
    "drawdown",
    "inventory_profile",
    "summary_text",
    "no_data",
]

#: Length of a year for annualising: crypto markets trade every day.
YEAR = pd.Timedelta(days=365)

#: Shortest run whose return is annualised: compounding a shorter one mostly magnifies noise.
MIN_ANNUALISED = pd.Timedelta(days=1)

#: Index of the Series :func:`compute_stats` returns, in order, with a description of each.
STAT_NAMES = {
    "start": "first balance row (UTC)",
    "end": "last balance row (UTC)",
    "duration": "end - start",
    "pnl": "equity_end - equity_start, settlement currency",
    "pnl_usd": "nav_end - nav_start, USD (quote currency)",
    "return": "(nav_end - nav_start) / nav_start",
    "annual_return": "(1 + return) ** (365 days / duration) - 1, for runs of a day or more",
    "sharpe": "annualised mean / std (ddof 1) of NAV changes sampled at freq, on nav_start",
    "sortino": "annualised mean / downside deviation of NAV changes sampled at freq, on "
               "nav_start",
    "max_drawdown": "largest fall of NAV from its running peak, USD",
    "max_drawdown_pct": "largest fall of NAV from its running peak, fraction of the peak",
    "max_drawdown_duration": "longest time from a NAV peak to its recovery (or the end)",
    "calmar": "annual_return / max_drawdown_pct",
    "orders": "number of orders",
    "fills": "number of fills",
    "fill_ratio": "orders with any fill / orders",
    "cancel_ratio": "cancelled orders / orders",
    "margin_rejections": "orders rejected for margin (their margin exceeded the available balance)",
    "volume": "sum of |fill amount|, contracts",
    "volume_usd": "traded notional, USD (quote currency)",
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
    peak = np.maximum.accumulate(values)
    absolute = float(np.max(peak - values))
    with np.errstate(divide="ignore", invalid="ignore"):
        fraction = float(np.nanmax(np.where(peak > 0, 1.0 - values / peak, np.nan), initial=0.0))
    # Rows at their running peak start a new underwater period; an underwater period lasts
    # from its peak row to the next at-peak row, or to the last row.
    at_peak = values >= peak
    times = _ns(nav.index)
    peak_rows = np.flatnonzero(at_peak)
    ends = np.append(peak_rows[1:], len(values) - 1)
    underwater = ends > peak_rows + 1
    underwater |= (ends == len(values) - 1) & ~at_peak[ends]
    longest = np.max(times[ends] - times[peak_rows], where=underwater, initial=0)
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
    try:
        step = pd.Timedelta(freq)
    except (ValueError, TypeError):
        raise ValueError(
            f"freq must be a time interval such as '1h' or '15min', got {freq!r}"
        ) from None
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
        why["annual_return"] = (f"the run spans {duration}, under the {MIN_ANNUALISED} "
                                "needed to annualise")
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
            f"{len(returns)} NAV return(s) sampled every {step} over {duration}; at least 2 "
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
        "start": start,
        "end": end,
        "duration": duration,
        "pnl": float(last["total"]),
        "pnl_usd": nav1 - nav0,
        "return": ret,
        "annual_return": annual,
        "sharpe": sharpe,
        "sortino": sortino,
        "max_drawdown": dd_abs,
        "max_drawdown_pct": dd_pct,
        "max_drawdown_duration": dd_time,
        "calmar": calmar,
        "turnover": volume_usd / nav0 if nav0 > 0 else np.nan,
        "spread_pnl": float(last["spread"]),
        "inventory_pnl": float(last["inventory"]),
        "fee_pnl": float(last["fees"]),
        "funding_pnl": float(last["funding"]),
    }


def compute_stats(result, freq="1h", size_limit=None) -> pd.Series:
    """Compute the statistics of a run.

    Every statistic is defined for every run: one that cannot be computed (a ratio of a run
    too short for it, a mean over no orders, anything of a run without balance rows) is NaN
    (NaT for times), and ``stats.attrs["n/a"]`` maps its name to the reason, which
    :meth:`mmsim.Result.summary` and the report print.

    Parameters
    ----------
    result : mmsim.Result
    freq : str or pandas.Timedelta, default "1h"
        Sampling interval of NAV for the Sharpe and Sortino ratios, annualised with
        ``sqrt(365 days / freq)``.
    size_limit : float, optional
        Position limit in contracts for ``time_at_limit``; NaN when not given.

    Returns
    -------
    pandas.Series
        Indexed by the names of :data:`STAT_NAMES` (see there for every definition). Balance
        rows without a NAV (signals before the first quote) are left out.

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
    out.update(start=pd.NaT, end=pd.NaT, duration=pd.NaT, max_drawdown_duration=pd.NaT)
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
    stats = pd.Series(out, index=list(STAT_NAMES), dtype=object, name="value")
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
        Lines of ``label  value``; a statistic that is n/a says why (a run without data says
        so once, on its first line).
    """
    contract = result.contract
    ccy = f"{contract.settlement} ccy"
    if contract.inverse:
        # Inverse contracts are worth contract_size USD each: show sizes in USD as the notebook.
        size = "$" + _fmt(stats["order_size_mean"] * contract.contract_size, ",.2f")
    else:
        size = _fmt(stats["order_size_mean"], ",.4g")
    period = "n/a" if pd.isna(stats["start"]) else \
        f"{stats['start']} .. {stats['end']} ({stats['duration']})"
    # (label, text, the statistic whose n/a reason the text shows)
    rows = [
        ("Number of orders", _fmt(stats["orders"], ",d"), "orders"),
        ("Percentage cancelled", _pct(stats["cancel_ratio"]), "cancel_ratio"),
        ("Avg Order Size", size, "order_size_mean"),
        ("Avg Slippage", "$" + _fmt(stats["slippage_mean"], ",.2f"), "slippage_mean"),
        ("Avg Order Duration", _fmt(stats["order_duration_mean"], ".2f") + "s",
         "order_duration_mean"),
        ("Avg Order (Filled) Duration", _fmt(stats["filled_duration_mean"], ".2f") + "s",
         "filled_duration_mean"),
        ("", "", ""),
        ("Period", period, "start"),
        (f"PnL ({ccy})", _fmt(stats["pnl"], ".8g"), "pnl"),
        ("  spread capture", _fmt(stats["spread_pnl"], ".8g"), "spread_pnl"),
        ("  inventory", _fmt(stats["inventory_pnl"], ".8g"), "inventory_pnl"),
        ("  fees", _fmt(stats["fee_pnl"], ".8g"), "fee_pnl"),
        ("  funding", _fmt(stats["funding_pnl"], ".8g"), "funding_pnl"),
        ("PnL (USD)", _fmt(stats["pnl_usd"], ",.2f"), "pnl_usd"),
        ("Return", _pct(stats["return"]), "return"),
        ("Annualised return", _pct(stats["annual_return"]), "annual_return"),
        ("Sharpe", _fmt(stats["sharpe"], ".2f"), "sharpe"),
        ("Sortino", _fmt(stats["sortino"], ".2f"), "sortino"),
        ("Max drawdown", "n/a" if pd.isna(stats["max_drawdown"]) else
         _pct(stats["max_drawdown_pct"])
         + f" (${_fmt(stats['max_drawdown'], ',.2f')}, {stats['max_drawdown_duration']})",
         "max_drawdown"),
        ("Calmar", _num(stats["calmar"]), "calmar"),
        ("Fills", _fmt(stats["fills"], ",d"), "fills"),
        ("Fill ratio", _pct(stats["fill_ratio"]), "fill_ratio"),
        ("Volume (contracts)", _fmt(stats["volume"], ",.4g"), "volume"),
        ("Volume (USD)", _fmt(stats["volume_usd"], ",.2f"), "volume_usd"),
        ("Turnover", _num(stats["turnover"]), "turnover"),
        ("Maker share", _pct(stats["maker_share"]), "maker_share"),
        ("  by queue / through / cross", " / ".join(
            _fmt(stats[f"maker_volume_{c}"], ",.4g") for c in ("queue", "through", "cross")),
         "maker_volume_queue"),
        ("  not covered by prints", _pct(stats["maker_unprinted_share"]),
         "maker_unprinted_share"),
        (f"Fees paid ({ccy})", _fmt(stats["fees_paid"], ".8g"), "fees_paid"),
        (f"Rebates earned ({ccy})", _fmt(stats["rebates_earned"], ".8g"), "rebates_earned"),
        ("Spread per fill (price)", _fmt(stats["spread_per_fill"], ".4f"), "spread_per_fill"),
        ("Inventory mean", _fmt(stats["inventory_mean"], ",.2f"), "inventory_mean"),
        ("Inventory mean |q|", _fmt(stats["inventory_abs_mean"], ",.2f"), "inventory_abs_mean"),
        ("Inventory max |q|", _fmt(stats["inventory_max_abs"], ",.2f"), "inventory_max_abs"),
        ("Time at size limit", _pct(stats["time_at_limit"]), "time_at_limit"),
    ]
    why = stats.attrs.get("n/a", {})
    no_data = why.get("start", "")
    head = [no_data[0].upper() + no_data[1:], ""] if no_data else []
    width = max(len(label) for label, _, _ in rows) + 2
    lines = []
    for label, text, name in rows:
        reason = why.get(name, "")
        if "n/a" in text and reason and reason != no_data:
            text = f"{text} ({reason})"
        lines.append(f"{label + ':' if label else '':<{width}}{text}".rstrip())
    return "\n".join(head + lines)
