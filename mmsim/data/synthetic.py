"""Synthetic BitMEX-like TAQ streams for demos, tests and benchmarks.

:func:`synthetic_taq` builds a stream that has the shape of the BitMEX XBTUSD data the
notebook used: a 0.5 tick, top-of-book sizes of 10^4 to 10^6 contracts, quote-only rows
between trades and ~3.5 million rows a month. Everything is vectorised with NumPy; the only
Python loops run over the position of a trade inside a run of consecutive trades (a handful)
and over chains of sweeps (usually one or two passes), never over rows.

The model
---------
* **Volatility clustering.** A log-volatility factor ``v(t)`` is the sum of three smoothed
  white noises (5 min, 1 h and 8 h windows on a one-minute grid), normalised to ``E[v^2] = 1``.
* **Arrivals.** Rows form a Cox process: a Poisson process whose intensity is ``rate * v(t)``
  (busy markets are volatile markets). Each row is a trade with probability ``trade_share``,
  so trades are Poisson arrivals too; the other rows are quote updates.
* **Prices.** A latent mid follows a geometric random walk with daily volatility
  ``daily_vol * v(t)``. A quote row shows ``bid = floor(mid - (spread - 1) / 2)`` ticks and
  ``ask = bid + spread``, with a spread of one tick most of the time and two or three ticks
  now and then (more often when volatile).
* **Trades.** Sizes are log-normal (heavy tailed: median ~200, a few above 10^6). The side is
  partly informed: buys tend to come before the latent mid rises. A trade row shows the quote
  in force *before* its trade; a buy prints at the ask and depletes it, a sell at the bid.
  A trade at least as large as the displayed amount sweeps the level: it fills the rest on
  the levels behind (each as deep as a fresh top-of-book draw), prints the VWAP (off the tick
  grid, through the touch) and moves the next quote past the swept level.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmsim.data.schema import TAQ_COLUMNS

__all__ = ["synthetic_taq"]

#: Rows per second of the default stream: ~3.5 million rows per 30 days.
DEFAULT_RATE = 3.5e6 / (30 * 86400)

_SECONDS_PER_DAY = 86400.0
_GRID_STEP = 60.0  # seconds between points of the volatility factor grid
_SMOOTHING = (5, 60, 480)  # widths of the volatility factor's components, in grid steps
_CHUNK = 1 << 18  # rows per chunk where a chunked loop saves a full-size temporary


def _smoothed_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Unit-variance moving average of white noise over ``width`` points, length ``n``."""
    noise = rng.standard_normal(n + width - 1)
    csum = np.concatenate(([0.0], np.cumsum(noise)))
    return (csum[width:] - csum[:-width]) / np.sqrt(width)


def _level_sizes(rng, new_level: np.ndarray, log_lo: float, log_hi: float, step: float):
    """Top-of-book sizes at quote updates: a fresh log-uniform draw where the level is new,
    then a small multiplicative random walk (orders added and cancelled) while it stays.

    Returns float32 whole numbers in ``[exp(log_lo), exp(log_hi)]``.
    """
    walk = rng.standard_normal(len(new_level), dtype=np.float32)
    walk *= step
    np.cumsum(walk, out=walk)
    fresh = rng.random(int(new_level.sum()), dtype=np.float32)
    fresh *= log_hi - log_lo
    fresh += log_lo
    fresh -= walk[new_level]  # so that the walk restarts from the fresh draw
    group = np.cumsum(new_level, dtype=np.int32)
    group -= 1
    walk += fresh[group]
    np.clip(walk, log_lo, log_hi, out=walk)
    np.exp(walk, out=walk)
    return np.rint(walk, out=walk)


def _sweep(size: np.ndarray, shown: np.ndarray, depth: np.ndarray):
    """A market order of ``size`` >= ``shown`` eats the touch and levels of ``depth`` behind it.

    Returns
    -------
    levels : numpy.ndarray
        How many levels past the touch the new touch lies (the last level reached).
    left : numpy.ndarray
        Size left on that level.
    extra : numpy.ndarray
        VWAP of the fills minus the touch price, in ticks (> 0 when past the touch).
    """
    rest = size - shown
    full = np.floor(rest / depth)  # levels behind the touch eaten completely
    levels = full + 1.0
    left = depth * levels - rest
    extra = (depth * full * levels / 2.0 + (rest - full * depth) * levels) / size
    return levels, left, extra


def _chunked_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.interp`` into ``out`` by chunks, so that no second full-size temporary is made."""
    for i in range(0, len(x), _CHUNK):
        out[i:i + _CHUNK] = np.interp(x[i:i + _CHUNK], xp, fp)
    return out


def synthetic_taq(
    n_rows: int | None = None,
    *,
    duration: str | pd.Timedelta | None = None,
    seed: int = 0,
    start: str | pd.Timestamp = "2019-04-01",
    price: float = 5000.0,
    tick_size: float = 0.5,
    rate: float = DEFAULT_RATE,
    trade_share: float = 0.4,
    daily_vol: float = 0.03,
    vol_of_vol: float = 0.5,
    wide_spread: float = 0.05,
    size_median: float = 200.0,
    size_sigma: float = 2.0,
    depth_range: tuple[float, float] = (1e4, 1e6),
    informed: float = 0.5,
    resolution: str | pd.Timedelta | None = "1ms",
) -> pd.DataFrame:
    """Generate a BitMEX-like TAQ stream.

    Give exactly one of ``n_rows`` and ``duration``.

    Parameters
    ----------
    n_rows : int, optional
        Number of rows to generate (the time span follows from ``rate``).
    duration : str or pandas.Timedelta, optional
        Time span to cover, e.g. ``"30D"``; the number of rows is Poisson with mean
        ``rate * duration`` (about 3.5 million for 30 days by default).
    seed : int
        Seed of the NumPy generator; the same seed and parameters give an identical frame.
    start : str or pandas.Timestamp
        Start of the stream (UTC when naive). The first row comes shortly after it.
    price : float
        Starting mid price.
    tick_size : float
        Price grid of the quotes and of every trade that does not sweep a level.
    rate : float
        Mean number of rows per second (trades and quote updates together).
    trade_share : float
        Probability that a row is a trade rather than a quote update, in ``[0, 1)``.
    daily_vol : float
        Standard deviation of daily log returns of the latent mid (before clustering).
    vol_of_vol : float
        Standard deviation of the log-volatility factor; 0 gives constant volatility.
    wide_spread : float
        Probability (at average volatility) that a quote update shows a spread wider than one
        tick.
    size_median, size_sigma : float
        Median (contracts) and log standard deviation of the log-normal trade sizes.
    depth_range : (float, float)
        Range of the log-uniform top-of-book sizes drawn at quote updates, in contracts.
    informed : float
        How strongly trade signs predict the next move of the latent mid (0: random signs).
    resolution : str or pandas.Timedelta or None
        Timestamps are floored to this resolution (BitMEX publishes milliseconds); None keeps
        nanoseconds.

    Returns
    -------
    pandas.DataFrame
        A TAQ frame: a ``DatetimeIndex`` named ``time`` (UTC, ns, non-decreasing) and float64
        columns ``price, amount, bid_price, bid_amount, ask_price, ask_amount``. Row 0 is a
        quote update, so every row has a quote.

    Raises
    ------
    ValueError
        If both or neither of ``n_rows`` and ``duration`` are given, or a parameter is out of
        range.

    Examples
    --------
    >>> taq = synthetic_taq(duration="1D", seed=1)
    >>> taq.columns.tolist()
    ['price', 'amount', 'bid_price', 'bid_amount', 'ask_price', 'ask_amount']
    """
    if (n_rows is None) == (duration is None):
        raise ValueError("give exactly one of n_rows and duration, "
                         "e.g. synthetic_taq(duration='30D')")
    if not (0.0 <= trade_share < 1.0):
        raise ValueError(f"trade_share must be in [0, 1), got {trade_share}")
    for name, value in (("price", price), ("tick_size", tick_size), ("rate", rate),
                        ("size_median", size_median)):
        if not value > 0:
            raise ValueError(f"{name} must be positive, got {value}")
    lo, hi = depth_range
    if not 0 < lo <= hi:
        raise ValueError(f"depth_range must satisfy 0 < low <= high, got {depth_range}")
    rng = np.random.default_rng(seed)
    start_ns = pd.Timestamp(start)
    start_ns = (start_ns.tz_localize("UTC") if start_ns.tz is None else start_ns.tz_convert("UTC"))
    start_ns = start_ns.as_unit("ns").value

    # ---- how many rows over how long ------------------------------------------------------
    if n_rows is not None:
        n = int(n_rows)
        if n < 0 or n != n_rows:
            raise ValueError(f"n_rows must be a non-negative integer, got {n_rows!r}")
        span = max(n / rate, 1.0)
    else:
        span = pd.Timedelta(duration).total_seconds()
        if not span > 0:
            raise ValueError(f"duration must be positive, got {duration!r}")
        n = int(rng.poisson(rate * span))
    if n == 0:
        return _frame(np.empty(0, np.int64), [np.empty(0) for _ in TAQ_COLUMNS])

    # ---- volatility factor on a one-minute grid ------------------------------------------
    n_grid = int(np.ceil(span / _GRID_STEP)) + 2
    z = sum(_smoothed_noise(rng, n_grid, w) for w in _SMOOTHING) / np.sqrt(len(_SMOOTHING))
    vol = np.exp(vol_of_vol * z)
    vol /= np.sqrt(np.mean(vol**2))
    grid_t = np.arange(n_grid) * _GRID_STEP
    intensity = vol / vol.mean()

    # Memory note: at a month's size the cost is first-touch page faults more than arithmetic,
    # so full-size arrays are few, float32 where precision allows, and updated in place.

    # ---- Cox-process arrival times by time change ----------------------------------------
    cum = np.concatenate(([0.0], np.cumsum(0.5 * (intensity[1:] + intensity[:-1]) * _GRID_STEP)))
    total = np.interp(span, grid_t, cum)
    business = np.cumsum(rng.standard_exponential(n, dtype=np.float32), dtype=np.float64)
    business *= total / (business[-1] + rng.standard_exponential())
    t = _chunked_interp(business, cum, grid_t, out=business)  # seconds, inside (0, span)
    del business

    # ---- row kinds -----------------------------------------------------------------------
    is_trade = rng.random(n, dtype=np.float32) < trade_share
    is_trade[0] = False
    t_rows = np.flatnonzero(is_trade)
    q_rows = np.flatnonzero(~is_trade)
    del is_trade
    m, n_q = len(t_rows), len(q_rows)

    # ---- latent mid: log random walk with clustered volatility ---------------------------
    step = np.empty(n)
    step[0] = t[0]
    np.subtract(t[1:], t[:-1], out=step[1:])
    step *= (daily_vol * daily_vol) / _SECONDS_PER_DAY
    np.sqrt(step, out=step)
    for i in range(0, n, _CHUNK):
        step[i:i + _CHUNK] *= np.interp(t[i:i + _CHUNK], grid_t, vol)
    eps = rng.standard_normal(n, dtype=np.float32)
    step *= eps
    eps_next = eps[np.minimum(t_rows + 1, n - 1)]
    eps_next[t_rows == n - 1] = 0.0
    del eps
    np.cumsum(step, out=step)
    q_mid = step[q_rows]
    del step
    q_mid += np.log(price / tick_size)
    np.exp(q_mid, out=q_mid)  # latent mid in ticks, at the quote updates

    # ---- trades: informed sides, log-normal sizes ----------------------------------------
    noise = rng.standard_normal(m, dtype=np.float32)
    noise += np.float32(informed) * eps_next
    del eps_next
    side = np.where(noise > 0.0, 1.0, -1.0)
    size = rng.standard_normal(m, dtype=np.float32)
    size *= size_sigma
    np.exp(size, out=size)
    size = size.astype(np.float64)
    size *= size_median
    np.rint(size, out=size)
    np.clip(size, 1.0, 1e3 * hi, out=size)
    del noise

    # ---- quote updates: spreads, latent levels, top-of-book sizes -------------------------
    p_wide = np.interp(t[q_rows], grid_t, vol)
    p_wide *= wide_spread
    u = rng.random(n_q)
    spread = 1.0 + (u < p_wide) + (u < 0.2 * p_wide)
    del u, p_wide
    q_mid -= (spread - 1.0) / 2.0  # now the latent (fractional) bid
    log_lo, log_hi = np.log(lo), np.log(hi)
    # The columns of the frame, also the state of the replay below.
    price_col = np.full(n, np.nan)
    amount_col = np.zeros(n)
    bid_col = np.zeros(n)  # in ticks from the bid of the run's quote row until the end
    ask_col = np.empty(n)
    bid_amt_col = np.empty(n)
    ask_amt_col = np.empty(n)
    level = np.floor(q_mid)
    new = np.empty(n_q, bool)
    new[0] = True
    np.not_equal(level[1:], level[:-1], out=new[1:])
    bid_amt_col[q_rows] = _level_sizes(rng, new, log_lo, log_hi, 0.1)
    level += spread
    np.not_equal(level[1:], level[:-1], out=new[1:])
    ask_amt_col[q_rows] = _level_sizes(rng, new, log_lo, log_hi, 0.1)
    del level, new
    ask_col[q_rows] = spread

    # ---- replay runs of consecutive trades, one position in the run at a time -------------
    # A trade row shows the quote left by the row before it: a quote row's quote, or the
    # previous trade's quote after that trade. Consecutive trades have consecutive indices j
    # into t_rows, so the k-th trades of all runs are replayed together.
    first = np.ones(m, bool)  # first trade after a quote row
    np.not_equal(t_rows[1:], t_rows[:-1] + 1, out=first[1:])
    sweep = np.zeros(m, bool)
    depth_behind = np.zeros(m)  # sweeps: size of each level behind the touch
    fresh_size = np.zeros(m)  # sweeps: size of the new level on the other side
    cur = np.flatnonzero(first)
    while len(cur):
        rows = t_rows[cur]
        prev_rows = rows - 1
        b_amt, a_amt = bid_amt_col[prev_rows], ask_amt_col[prev_rows]
        b_off, a_off = bid_col[prev_rows], ask_col[prev_rows]
        if not first[cur[0]]:  # apply the previous trade (the k == 1 rows follow quote rows)
            prev = cur - 1
            buy = side[prev] > 0
            z = size[prev]
            plain = ~sweep[prev]
            a_amt[plain & buy] -= z[plain & buy]
            b_amt[plain & ~buy] -= z[plain & ~buy]
            swp = np.flatnonzero(~plain)
            if len(swp):  # a few per thousand trades
                depth, fresh = depth_behind[prev[swp]], fresh_size[prev[swp]]
                bought = buy[swp]
                levels, left, _ = _sweep(z[swp], np.where(bought, a_amt[swp], b_amt[swp]), depth)
                new_ask = np.where(bought, a_off[swp] + levels, b_off[swp] - levels + 1.0)
                a_off[swp], b_off[swp] = new_ask, new_ask - 1.0
                a_amt[swp] = np.where(bought, left, fresh)
                b_amt[swp] = np.where(bought, fresh, left)
        bid_amt_col[rows], ask_amt_col[rows] = b_amt, a_amt
        bid_col[rows], ask_col[rows] = b_off, a_off
        buy = side[cur] > 0
        z = size[cur]
        shown = np.where(buy, a_amt, b_amt)
        price_col[rows] = np.where(buy, a_off, b_off)
        swp = z >= shown
        sweep[cur] = swp
        if swp.any():
            idx = np.flatnonzero(swp)
            draws = np.rint(np.exp(rng.uniform(log_lo, log_hi, (2, len(idx)))))
            depth_behind[cur[idx]], fresh_size[cur[idx]] = draws
            _, _, extra = _sweep(z[idx], shown[idx], draws[0])
            price_col[rows[idx]] += np.where(buy[idx], extra, -extra)
        nxt = cur + 1
        nxt = nxt[nxt < m]
        cur = nxt[~first[nxt]]
    del first

    # ---- permanent impact of sweeps on the latent mid -------------------------------------
    # A sweep moves the mid from the quote on its row to the one it leaves (touch one level
    # past the last level it reached); later quote rows carry the move.
    swept = np.flatnonzero(sweep)
    del sweep
    swept_rows = t_rows[swept]
    bought = side[swept] > 0
    shown = np.where(bought, ask_amt_col[swept_rows], bid_amt_col[swept_rows])
    levels, _, _ = _sweep(size[swept], shown, depth_behind[swept])
    old_mid = 0.5 * (bid_col[swept_rows] + ask_col[swept_rows])
    impact = np.where(bought, ask_col[swept_rows] + levels, bid_col[swept_rows] - levels)
    impact += np.where(bought, -0.5, 0.5) - old_mid
    del depth_behind, fresh_size
    # Quote row i has q_rows[i] - i trades before it.
    trades_before = q_rows - np.arange(n_q)
    q_mid += np.concatenate(([0.0], np.cumsum(impact)))[np.searchsorted(swept, trades_before)]
    del trades_before
    base = np.floor(q_mid, out=q_mid)  # bid of each quote row, in ticks

    # A quote row right after a sweep shows the swept level gone. Chains (sweep, quote row,
    # trades, sweep, quote row...) are resolved by repeating until nothing moves.
    next_is_trade = t_rows[np.minimum(swept + 1, m - 1)] == swept_rows + 1
    ends = (swept_rows + 1 < n) & ~next_is_trade
    swept, swept_rows = swept[ends], swept_rows[ends]
    if len(swept):
        after = swept_rows - swept  # index into q_rows of the quote row after the sweep
        run = swept_rows - swept - 1  # index into q_rows of the sweep's own run
        buy = side[swept] > 0
        touch_off = np.where(buy, ask_col[swept_rows], bid_col[swept_rows])
        for _ in range(len(swept) + 1):
            touch = base[run] + touch_off
            lowest = np.where(buy, touch + 1.0 - spread[after], -np.inf)
            highest = np.where(buy, np.inf, touch - 1.0)
            fixed = np.clip(base[after], lowest, highest)
            if np.array_equal(fixed, base[after]):
                break
            base[after] = fixed
    del spread

    # ---- from offsets to prices ----------------------------------------------------------
    run_base = base[t_rows - np.arange(m) - 1]
    for col in (price_col, bid_col, ask_col):
        col[q_rows] += base
        col[t_rows] += run_base
        col *= tick_size
    del run_base, base
    amount_col[t_rows] = side * size

    # ---- timestamps ----------------------------------------------------------------------
    t *= 1e9
    np.floor(t, out=t)
    times = t.view(np.int64)
    for i in range(0, n, _CHUNK):  # in place: the float seconds become int64 nanoseconds
        times[i:i + _CHUNK] = t[i:i + _CHUNK].copy()
    if resolution is not None:
        res = pd.Timedelta(resolution).value
        times //= res
        times *= res
    times += start_ns
    return _frame(times, (price_col, amount_col, bid_col, bid_amt_col, ask_col, ask_amt_col))


def _frame(times: np.ndarray, columns) -> pd.DataFrame:
    """Wrap int64 UTC nanoseconds and six float64 columns as a TAQ frame, without copies."""
    dtype = pd.DatetimeTZDtype("ns", "UTC")
    index = pd.DatetimeIndex(pd.arrays.DatetimeArray._simple_new(times.view("M8[ns]"), dtype=dtype),
                             name="time")
    return pd.DataFrame(dict(zip(TAQ_COLUMNS, columns)), index=index, copy=False)
