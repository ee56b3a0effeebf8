r"""Synthetic BitMEX-like TAQ streams for demos, tests and benchmarks.

:func:`synthetic_taq` builds a stream that has the shape of the BitMEX XBTUSD data the
notebook used: a 0.5 tick, top-of-book sizes of 10^4 to 10^6 contracts, quote-only rows
between trades and ~3.5 million rows a month. Prices move because the order flow empties the
queue at the touch, so a resting order at the touch is filled when the flow is against it and
the price tends to keep going after the fill (adverse selection), as in real markets.
Everything is vectorised with NumPy: the only Python loops are fixed-point passes over the
rare events that interact (two or three passes), never loops over rows.

The model
---------
Rows are indexed by :math:`i`, trades by :math:`j`; sizes are contracts, prices ticks.

**Volatility clustering and arrivals.** A log-volatility factor :math:`v(t)` is the sum of
three smoothed white noises (5 min, 1 h and 8 h windows on a one-minute grid), normalised to
:math:`E[v^2] = 1`. Rows form a Cox process of intensity ``rate`` :math:`\cdot v(t)/\bar v`
(busy markets are volatile markets); each row is a trade with probability ``trade_share``,
the others are quote updates.

**Order flow.** A meta-order regime :math:`m_j \in \{-1, +1\}` (who is working a large
order) is a Markov chain on the trade sequence,
:math:`P(m_{j+1} = m_j) = p` (``persistence``). A trade follows the regime except with
probability :math:`\eta` (``noise``), when its sign is a fair coin, so the trade signs
:math:`s_j` have

.. math:: \operatorname{corr}(s_j, s_{j+l}) = (1 - \eta)^2 (2p - 1)^l .

Sizes :math:`z_j` are log-normal (median ``size_median``, heavy tailed). A quote row is under
the pressure :math:`\pi_i` of the regime of the last trade before it.

**The queues at the touch are consumed by the flow.** On each side the touch queue only
shrinks while it is the touch (orders that join it are netted into the cancellations). It is
consumed by the aggressive volume of that side (sells hit the bid) and by cancellations on
quote rows: makers pull their orders in front of the flow, so the side under pressure loses
more,

.. math::

    c^{\mathrm{bid}}_i = \kappa\, f(t_i)\, X_i\, (1 + \beta \,[\pi_i = -1] - \beta\,[\pi_i = +1]),
    \qquad X_i \sim \operatorname{Exp}(1),\; f = \sqrt{v \bar v},

(the ask mirrors it) with :math:`\beta` = ``fade``. The cumulative depletion of the bid is
:math:`D^b_i = \sum_{k \le i} (z_k [s_k = -1] + c^{\mathrm{bid}}_k)`.
The depths of consecutive levels are a renewal sequence on the depletion axis: boundaries
:math:`B_1 < B_2 < \dots` with log-uniform gaps on ``[lo, hi - lo]`` (``depth_range``). After
the last price event at row :math:`r` the live boundary is :math:`B_* = \min\{B_k > D_r\}` and
the displayed touch queue after row :math:`i` is

.. math:: Q_i = B_* - D_i + \text{lo} .

The touch level is exhausted on a quote row when :math:`Q_i < \text{lo}`, i.e.
:math:`D_i \ge B_*` (its last orders are cancelled, and the levels behind whose boundaries
were passed go with it), and on a trade row when the trade is at least the displayed queue,
:math:`D_i \ge B_* + \text{lo}` (a sweep: the rest of the trade eats levels of a fresh depth
behind the touch, the print is the VWAP, through the touch and off the grid in general).
First passages are found for all boundaries at once with ``searchsorted`` on :math:`D`; an
exhaustion only counts if no other price event happened between the row where :math:`D`
first passed its boundary and the row that shows it (a fixed point over those few candidates).

**Price events.** An exhausted bid drops by :math:`L` levels and the ask refills behind it
with a new spread :math:`w'`:

.. math:: b' = b - L, \qquad a' = b' + w', \qquad w' = \min(w_{\mathrm{draw}}, w + L),

so the ask never moves away from a falling bid (with :math:`w' = 1`, sellers take over the
vacated level: :math:`a' = b`). An exhausted ask mirrors it: :math:`a' = a + L`,
:math:`b' = a' - w'`. The drawn spread is 1 tick, or 2 or 3 with probability ``wide_spread``
:math:`\cdot v` (volatile markets are wider). When a quote row empties the opposite side right
after a sweep, :math:`w'` is also kept at least :math:`w + L - L_{\mathrm{sweep}} + 1`, so the
swept side stays past the swept level. Every event resets both queues (:math:`B_*` is
recomputed on both sides). Rare exogenous news events (``news_rate`` a day, on quote rows that
follow a quote row) move the touch by :math:`L \sim \operatorname{Geom}` ticks of mean
``news_size`` in a random direction, by the same rules.

**Why a fill at the touch is adversely selected.** A resting bid at the touch is filled when
its queue is used up, which happens mostly when sellers are at work. The regime carries on
for another :math:`p/(1-p)` trades on average, during which the bid keeps losing
:math:`(1 + \beta)/(1 - \beta)` times as much as the ask, so the moves after the fill are
down more often than up, and the mid drifts through the filled price.

**Calibration.** With :math:`r_q = (1 - \text{share})/\text{share}` quote rows per trade,
:math:`N` the number of quote rows between two trades
(:math:`\operatorname{Var} N = (1 - \text{share})/\text{share}^2`), mean level depth
:math:`\bar G` and squared coefficient of variation :math:`\mathrm{cv}^2` of the depths, the
long-run variance of the bid, in ticks per trade, is about

.. math::

    V(\kappa) = \frac{p}{1-p}\left(\frac{2 r_q \beta \kappa + (1-\eta) E[z]}{\bar G}\right)^2
              + \left(\frac{2\beta\kappa}{\bar G}\right)^2 \operatorname{Var} N
              + \frac{2 r_q (1 + \beta^2)\kappa^2 + \operatorname{Var} z}{\bar G^2}
              + \frac{(2 r_q \kappa\, E[v^{3/2}]/\sqrt{\bar v} + E[z])\, \mathrm{cv}^2}{\bar G}

(the regime's drift, the random number of quote rows, the sizes of cancellations and trades,
the renewal noise of the depths); :math:`\kappa` is the positive root of
:math:`V(\kappa) \cdot \text{trades a day} = (\text{daily\_vol} \cdot \text{price}/
\text{tick})^2 - \text{news\_rate}\, E[L^2_{\mathrm{news}}]`. The factor :math:`f` makes the
variance per second proportional to :math:`v^2`, so volatility clusters with :math:`v`.

**Limits.** Prices move in whole ticks at a rate calibrated at the starting ``price``, so the
volatility is constant in ticks, not in percent: a month that drifts far from the start is
relatively calmer above it and wilder below it. Our own orders never change the stream (no
market impact), so only the adverse selection of the flow, not our footprint, is modelled.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from mmsim import checks
from mmsim.data.schema import TAQ_COLUMNS, bound_ns, taq_frame

__all__ = ["synthetic_taq", "synthetic_funding", "sign_autocorrelation"]

#: BitMEX caps the XBTUSD funding rate at 0.375 % per 8-hour interval.
FUNDING_CAP = 0.00375

#: Rows per second of the default stream: ~3.5 million rows per 30 days.
DEFAULT_RATE = 3.5e6 / (30 * 86400)

_SECONDS_PER_DAY = 86400.0
_GRID_STEP = 60.0  # seconds between points of the volatility factor grid
_SMOOTHING = (5, 60, 480)  # widths of the volatility factor's components, in grid steps
_CHUNK = 1 << 18  # rows per chunk where a chunked loop saves a full-size temporary


def sign_autocorrelation(persistence: float, noise: float, lag: int = 1) -> float:
    r"""Autocorrelation of the trade signs of :func:`synthetic_taq` at ``lag`` trades.

    .. math:: \rho(l) = (1 - \eta)^2 (2p - 1)^l

    Parameters
    ----------
    persistence : float
        :math:`p`, the probability that the meta-order regime carries on to the next trade.
    noise : float
        :math:`\eta`, the probability that a trade's sign is a fair coin instead.
    lag : int, default 1

    Returns
    -------
    float
    """
    return (1.0 - noise) ** 2 * (2.0 * persistence - 1.0) ** lag


def _smoothed_noise(rng: np.random.Generator, n: int, width: int) -> np.ndarray:
    """Unit-variance moving average of white noise over ``width`` points, length ``n``."""
    noise = rng.standard_normal(n + width - 1)
    csum = np.concatenate(([0.0], np.cumsum(noise)))
    return (csum[width:] - csum[:-width]) / np.sqrt(width)


def _chunked_interp(x: np.ndarray, xp: np.ndarray, fp: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``np.interp`` into ``out`` by chunks, so that no second full-size temporary is made."""
    for i in range(0, len(x), _CHUNK):
        out[i:i + _CHUNK] = np.interp(x[i:i + _CHUNK], xp, fp)
    return out


def _sweep(size: np.ndarray, shown: np.ndarray, depth: np.ndarray):
    """A market order of ``size`` >= ``shown`` eats the touch and levels of ``depth`` behind it.

    Returns
    -------
    levels : numpy.ndarray
        How many levels past the touch the new touch lies (the last level reached).
    extra : numpy.ndarray
        VWAP of the fills minus the touch price, in ticks (> 0 when past the touch).
    """
    rest = size - shown
    full = np.floor(rest / depth)  # levels behind the touch eaten completely
    levels = full + 1.0
    extra = (depth * full * levels / 2.0 + (rest - full * depth) * levels) / size
    return levels, extra


def _log_uniform(rng, n: int, lo: float, hi: float) -> np.ndarray:
    """``n`` whole numbers, log-uniform on ``[lo, hi]``."""
    return np.rint(np.exp(rng.uniform(np.log(lo), np.log(hi), n)))


def _depth_moments(g_lo: float, g_hi: float):
    """Mean and squared coefficient of variation of a log-uniform depth on ``[g_lo, g_hi]``."""
    if not g_hi > g_lo:
        return g_lo, 0.0
    log_span = np.log(g_hi / g_lo)
    mean = (g_hi - g_lo) / log_span
    return mean, (g_hi**2 - g_lo**2) / (2.0 * log_span) / mean**2 - 1.0


def _level_boundaries(rng, total: float, g_lo: float, g_hi: float) -> np.ndarray:
    """Cumulative level depths on one side's depletion axis, past ``total``.

    The first boundary is a random fraction of a gap, so the stream does not open on a fresh
    level; the others are separated by log-uniform gaps on ``[g_lo, g_hi]``.
    """
    mean_gap, _ = _depth_moments(g_lo, g_hi)
    parts, end = [], 0.0
    while end <= total:  # one pass, or two when the first draw falls short
        k = int(1.1 * (total - end) / mean_gap) + 64
        gaps = _log_uniform(rng, k, g_lo, g_hi)
        if not parts:
            gaps[0] = max(1.0, np.floor(gaps[0] * rng.random()))
        bounds = np.cumsum(gaps)
        bounds += end
        parts.append(bounds)
        end = bounds[-1]
    return np.concatenate(parts)


def _first_passages(depleted, bounds, lo, q_rows, own_rows, n):
    """Where each boundary would end the touch level, if it were the live one.

    Returns
    -------
    first : numpy.ndarray
        First row whose depletion reaches the boundary.
    ends : numpy.ndarray
        The row that exhausts the level: the first quote row at or past the boundary, or the
        first trade of this side at or past ``boundary + lo`` (a sweep), whichever is first.
        Rows in ``[first, ends)`` are trades showing a queue below ``lo``.
    """
    first = np.searchsorted(depleted, bounds)
    at_quote = np.append(q_rows, n)[np.searchsorted(depleted[q_rows], bounds)]
    at_trade = np.append(own_rows, n)[np.searchsorted(depleted[own_rows], bounds + lo)]
    return first, np.minimum(at_quote, at_trade)


def _resolve_events(first, ends, news_rows):
    """Keep the exhaustions that are not pre-empted by an earlier price event.

    A level whose boundary was passed at row ``first`` but shown exhausted only at ``ends``
    is gone if another event (which refreshes both queues) happens in ``[first, ends)``.
    Whether an event stands depends only on earlier events, so Jacobi iteration from "all
    stand" reaches the fixed point in as many passes as the longest such chain, a handful.

    Returns
    -------
    numpy.ndarray of bool
        Which candidates stand.
    """
    real = np.ones(len(ends), bool)
    open_ = np.flatnonzero(first < ends)  # only these can be pre-empted
    if not len(open_):
        return real
    f, e = first[open_], ends[open_]
    for _ in range(len(open_) + 1):
        # Duplicates do no harm: only whether a reset lies in [first, ends) matters.
        resets = np.sort(np.concatenate((ends[real], news_rows)))
        hit = np.searchsorted(resets, e) > np.searchsorted(resets, f)
        if np.array_equal(real[open_], ~hit):
            break
        real[open_] = ~hit
    return real


def _cancellation_scale(daily_vol, price, tick_size, rate, trade_share, persistence, noise,
                        fade, trade_sizes, mean_gap, cv2, v_factor, news_var):
    r"""``kappa``: mean cancellation per quote row and side that gives ``daily_vol``.

    Solves the quadratic of the module docstring (``Calibration``), with the trades' own
    depletion added: a drift of :math:`(1 - \eta) E[z] / \bar G` ticks per trade and the
    noise of their sizes. Returns 0 when the trades alone are at least as volatile.
    """
    target = (daily_vol * price / tick_size) ** 2 - news_var
    trades_a_day = rate * trade_share * _SECONDS_PER_DAY
    if not (target > 0 and trades_a_day > 0):
        return 0.0
    mean_z, var_z = trade_sizes
    r_q = (1.0 - trade_share) / trade_share
    var_n = (1.0 - trade_share) / trade_share**2
    memory = persistence / (1.0 - persistence)  # long-run variance factor of the regime
    drift = 2.0 * r_q * fade / mean_gap  # ticks per trade per unit of kappa
    drift_z = (1.0 - noise) * mean_z / mean_gap
    a = (drift**2 * memory + (2.0 * fade / mean_gap) ** 2 * var_n
         + 2.0 * r_q * (1.0 + fade**2) / mean_gap**2)
    b = 2.0 * drift * drift_z * memory + 2.0 * r_q * cv2 / mean_gap * v_factor
    c = (drift_z**2 * memory + mean_z * cv2 / mean_gap + var_z / mean_gap**2
         - target / trades_a_day)
    if c >= 0:
        return 0.0
    return float((-b + np.sqrt(b * b - 4.0 * a * c)) / (2.0 * a))


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
    persistence: float = 0.9,
    noise: float = 0.2,
    fade: float = 0.8,
    news_rate: float = 50.0,
    news_size: float = 4.0,
    resolution: str | pd.Timedelta | None = "1ms",
) -> pd.DataFrame:
    """Generate a BitMEX-like TAQ stream whose prices are moved by its order flow.

    Give exactly one of ``n_rows`` and ``duration``. The model and its equations are in the
    module docstring.

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
        Target standard deviation of daily mid returns (before clustering); it sets the
        cancellation rate, as the volatility comes from emptied queues.
    vol_of_vol : float
        Standard deviation of the log-volatility factor; 0 gives constant volatility.
    wide_spread : float
        Probability (at average volatility) that a new touch shows a spread wider than one
        tick.
    size_median, size_sigma : float
        Median (contracts) and log standard deviation of the log-normal trade sizes.
    depth_range : (float, float)
        Range of the top-of-book sizes shown on quote rows, in contracts; level depths are
        log-uniform on ``[low, high - low]`` plus ``low``.
    persistence : float
        Probability that the meta-order regime carries on to the next trade, in ``[0, 1)``.
    noise : float
        Probability that a trade's sign is a fair coin rather than the regime's, in ``[0, 1]``.
    fade : float
        Share of cancellations moved onto the side the regime is hitting, in ``[0, 1]``:
        0 cancels both sides alike, 1 only the side being hit.
    news_rate : float
        Exogenous price jumps per day (at average activity).
    news_size : float
        Mean size of a news jump, in ticks (geometric, at least one tick).
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

    See Also
    --------
    sign_autocorrelation : the trade-sign autocorrelation the flow parameters give.

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
    if not news_size >= 1:
        raise ValueError(f"news_size must be at least one tick, got {news_size}")
    if not (0.0 <= persistence < 1.0):
        raise ValueError(f"persistence must be in [0, 1), got {persistence}")
    for name, value in (("noise", noise), ("fade", fade)):
        if not (0.0 <= value <= 1.0):
            raise ValueError(f"{name} must be in [0, 1], got {value}")
    if not (daily_vol >= 0 and news_rate >= 0):
        raise ValueError(f"daily_vol and news_rate must be >= 0, got {daily_vol}, {news_rate}")
    lo, hi = depth_range
    if not 0 < 2 * lo <= hi:
        # A level holds at least `low` contracts beyond the `low` floor a quote row shows.
        raise ValueError(f"depth_range must satisfy 0 < 2 * low <= high, got {depth_range}")
    start_ns = bound_ns(start, "start")
    if start_ns is None:
        raise ValueError("start must be a time such as '2019-04-01', got None")
    rng = np.random.default_rng(seed)

    # ---- how many rows over how long ------------------------------------------------------
    if n_rows is not None:
        n = checks.number(n_rows, "n_rows", integer=True, nonnegative=True)
        span = max(n / rate, 1.0)
    else:
        span = checks.duration(duration, "duration", positive=True).total_seconds()
        n = int(rng.poisson(rate * span))
    if n == 0:
        return _frame(np.empty(0, np.int64), [np.empty(0) for _ in TAQ_COLUMNS])

    # ---- volatility factor on a one-minute grid ------------------------------------------
    n_grid = int(np.ceil(span / _GRID_STEP)) + 2
    z = sum(_smoothed_noise(rng, n_grid, w) for w in _SMOOTHING) / np.sqrt(len(_SMOOTHING))
    vol = np.exp(vol_of_vol * z)
    vol /= np.sqrt(np.mean(vol**2))
    grid_t = np.arange(n_grid) * _GRID_STEP
    vol_mean = vol.mean()
    intensity = vol / vol_mean

    # Memory note: at a month's size the cost is first-touch page faults more than arithmetic,
    # so full-size arrays are few and reused in place.

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
    m, n_q = len(t_rows), len(q_rows)

    # ---- order flow: meta-order regime, trade signs and sizes ------------------------------
    flips = rng.random(m, dtype=np.float32) >= persistence
    flips[:1] = rng.random() < 0.5  # the opening regime is a fair coin
    regime = np.cumsum(flips, dtype=np.int32)
    regime &= 1
    regime = 1.0 - 2.0 * regime  # +1 buyers at work, -1 sellers
    coin = rng.random(m, dtype=np.float32)
    side = np.where(coin < noise / 2.0, -1.0, np.where(coin < noise, 1.0, regime))
    del coin, flips
    size = rng.standard_normal(m, dtype=np.float32)
    size *= size_sigma
    np.exp(size, out=size)
    size = size.astype(np.float64)
    size *= size_median
    np.rint(size, out=size)
    np.clip(size, 1.0, 1e3 * hi, out=size)
    # A quote row is under the pressure of the regime of the last trade before it.
    trades_before = q_rows - np.arange(n_q)
    pressure = (np.append(regime[:1], regime) if m else np.ones(1))[trades_before]
    del trades_before

    # ---- calibration of the cancellations ------------------------------------------------
    g_lo, g_hi = lo, hi - lo  # level depths: a quote row shows at most g_hi + lo = hi
    mean_gap, cv2 = _depth_moments(g_lo, g_hi)
    q_jump = 1.0 / news_size
    news_var = news_rate * (2.0 - q_jump) / q_jump**2  # E[L^2] of a geometric jump
    s2 = size_sigma**2
    trade_sizes = (size_median * np.exp(s2 / 2.0), size_median**2 * np.exp(s2) * np.expm1(s2))
    kappa = _cancellation_scale(daily_vol, price, tick_size, rate, trade_share, persistence,
                                noise, fade, trade_sizes, mean_gap, cv2,
                                np.mean(vol**1.5) / np.sqrt(vol_mean), news_var)

    # ---- cancellations on quote rows -----------------------------------------------------
    scale = _chunked_interp(t[q_rows], grid_t, vol, out=np.empty(n_q))
    scale *= vol_mean
    np.sqrt(scale, out=scale)
    scale *= kappa
    # ---- cumulative depletion of each side ----------------------------------------------
    # D[i]: everything that consumed that side's touch up to and including row i.
    sells, buys = side < 0, side > 0
    depleted = {}
    for key, own in (("bid", sells), ("ask", buys)):
        inc = np.zeros(n)
        # By chunks of quote rows: full-size temporaries past glibc's 32 MB mmap threshold
        # are fresh pages on every allocation, and faulting them in cost more than the
        # arithmetic. Draws in chunks continue the generator's stream, so the values are
        # the same as one draw of n_q.
        for i in range(0, n_q, _CHUNK):
            cancel = rng.standard_exponential(min(_CHUNK, n_q - i))
            cancel *= scale[i:i + _CHUNK]
            fading = 1.0 - fade * pressure[i:i + _CHUNK]  # 1 + fade when sellers are at work
            if key == "ask":
                fading = 2.0 - fading
            cancel *= fading
            inc[q_rows[i:i + _CHUNK]] = np.rint(cancel, out=cancel)
        inc[t_rows[own]] = size[own]
        depleted[key] = np.cumsum(inc, out=inc)
    del scale

    # ---- news: exogenous jumps on quote rows that follow a quote row ----------------------
    # (never right after a trade, so the row after a sweep always shows the sweep's move)
    p_news = news_rate / (rate * (1.0 - trade_share) * _SECONDS_PER_DAY)
    news_rows = q_rows[rng.random(n_q) < p_news]
    news_rows = news_rows[(news_rows > 0) & ~is_trade[np.maximum(news_rows - 1, 0)]]

    # ---- candidate exhaustions, both sides -----------------------------------------------
    bounds, firsts, ends, dirs = {}, [], [], []
    for key, own, direction in (("bid", sells, -1), ("ask", buys, 1)):
        d = depleted[key]
        b = _level_boundaries(rng, d[-1], g_lo, g_hi)
        bounds[key] = b
        live = b[b <= d[-1]]
        f, e = _first_passages(d, live, lo, q_rows, t_rows[own], n)
        keep = e < n
        firsts.append(f[keep])
        ends.append(e[keep])
        dirs.append(np.full(keep.sum(), direction, np.int8))
    firsts, ends, dirs = np.concatenate(firsts), np.concatenate(ends), np.concatenate(dirs)
    real = _resolve_events(firsts, ends, news_rows)
    ends, dirs = ends[real], dirs[real]
    del firsts, real

    # ---- one event per row: news first, then the side under pressure -------------------
    row_pressure = np.zeros(n, np.int8)
    row_pressure[q_rows] = pressure.astype(np.int8)
    priority = np.where(dirs == row_pressure[ends], 1, 2)
    del row_pressure
    ev_rows = np.concatenate((news_rows, ends))
    ev_dir = np.concatenate((np.where(rng.random(len(news_rows)) < 0.5, -1, 1).astype(np.int8),
                             dirs))
    order = np.lexsort((np.concatenate((np.zeros(len(news_rows), np.int64), priority)), ev_rows))
    ev_rows, ev_dir = ev_rows[order], ev_dir[order]
    first_of_row = np.ones(len(ev_rows), bool)
    np.not_equal(ev_rows[1:], ev_rows[:-1], out=first_of_row[1:])
    is_news = np.zeros(len(ev_rows), bool)
    is_news[np.searchsorted(ev_rows, news_rows)] = True  # news sorted first in its row
    ev_rows, ev_dir, is_news = ev_rows[first_of_row], ev_dir[first_of_row], is_news[first_of_row]
    del order, first_of_row, ends, dirs, priority
    n_ev = len(ev_rows)

    # ---- the live boundary of each side in each epoch (epoch k follows event k - 1) -------
    live_idx = {}
    for key in ("bid", "ask"):
        at = np.concatenate(([0.0], depleted[key][ev_rows]))
        live_idx[key] = np.searchsorted(bounds[key], at, side="right")

    # ---- levels moved by each event --------------------------------------------------------
    ev_trade = is_trade[ev_rows]
    levels = np.ones(n_ev)
    for key, direction in (("bid", -1), ("ask", 1)):
        # cancellations that pass several boundaries take those levels with them
        mine = (ev_dir == direction) & ~is_news & ~ev_trade
        idx = live_idx[key]
        levels[mine] = (idx[1:] - idx[:-1])[mine]
    jumps = rng.geometric(q_jump, int(is_news.sum())).astype(np.float64)
    levels[is_news] = jumps
    # Sweeps: the trade eats the displayed queue, then levels of a fresh depth behind it.
    sw = np.flatnonzero(ev_trade)
    sw_rows = ev_rows[sw]
    sw_trade = np.searchsorted(t_rows, sw_rows)  # index into the trades
    sw_buy = side[sw_trade] > 0
    shown = np.where(sw_buy,
                     bounds["ask"][live_idx["ask"][sw]] - depleted["ask"][sw_rows - 1],
                     bounds["bid"][live_idx["bid"][sw]] - depleted["bid"][sw_rows - 1]) + lo
    depth = _log_uniform(rng, len(sw), lo, hi)
    sw_levels, extra = _sweep(size[sw_trade], shown, depth)
    levels[sw] = sw_levels

    # ---- spreads and touch levels per epoch ------------------------------------------------
    ev_t = np.concatenate((t[:1], t[ev_rows]))
    p_wide = np.interp(ev_t, grid_t, vol)
    p_wide *= wide_spread
    u = rng.random(n_ev + 1)
    draw = 1.0 + (u < p_wide) + (u < 0.2 * p_wide)
    del u, p_wide, ev_t
    # The side that did not move never moves away (cap); and a quote-row move right after a
    # sweep, the other way, keeps the swept side past the swept level (floor).
    cap_add = levels
    after_sweep = np.zeros(n_ev, bool)
    if n_ev > 1:
        after_sweep[1:] = (ev_trade[:-1] & ~ev_trade[1:] & (ev_rows[1:] == ev_rows[:-1] + 1)
                           & (ev_dir[1:] != ev_dir[:-1]))
    floor_add = np.where(after_sweep, levels - np.concatenate(([0.0], levels[:-1])) + 1.0, -np.inf)
    spread = draw.copy()
    for _ in range(n_ev + 1):
        new = np.clip(draw[1:], spread[:-1] + floor_add, spread[:-1] + cap_add)
        if np.array_equal(new, spread[1:]):
            break
        spread[1:] = new
    del draw, floor_add, after_sweep
    # Bid of each epoch: a down move lowers the bid by its levels, an up move raises the ask
    # by its levels and the bid follows at the new spread.
    step = np.where(ev_dir < 0, -levels, spread[:-1] + levels - spread[1:])
    bid_level = np.concatenate(([np.floor(price / tick_size - (spread[0] - 1.0) / 2.0)], step))
    np.cumsum(bid_level, out=bid_level)
    del step, levels

    # ---- the frame: each row shows the state after the row before its trade ---------------
    # A quote row shows its own update; a trade row shows the quote left by the row before.
    # By chunks of rows, into the columns allocated once (see the depletion above).
    bid_amt_col, ask_amt_col, bid_col, ask_col = (np.empty(n) for _ in range(4))
    for i in range(0, n, _CHUNK):
        shown_row = np.arange(i, min(i + _CHUNK, n))
        shown_row -= is_trade[i:i + _CHUNK]
        # The epoch of a row: how many events happened at or before the row it shows.
        epoch = np.searchsorted(ev_rows, shown_row, side="right")
        part = slice(i, i + _CHUNK)
        for key, amounts in (("bid", bid_amt_col), ("ask", ask_amt_col)):
            np.take(bounds[key], live_idx[key][epoch], out=amounts[part])
            amounts[part] -= depleted[key][shown_row]
            amounts[part] += lo
        np.take(bid_level, epoch, out=bid_col[part])
        np.take(spread, epoch, out=ask_col[part])
        ask_col[part] += bid_col[part]
    del depleted, shown_row, epoch
    price_col = np.full(n, np.nan)
    price_col[t_rows] = np.where(side > 0, ask_col[t_rows], bid_col[t_rows])
    price_col[sw_rows] += np.where(sw_buy, extra, -extra)
    for col in (price_col, bid_col, ask_col):
        col *= tick_size
    amount_col = np.zeros(n)
    amount_col[t_rows] = side * size

    # ---- timestamps ----------------------------------------------------------------------
    t *= 1e9
    np.floor(t, out=t)
    times = t.view(np.int64)
    for i in range(0, n, _CHUNK):  # in place: the float seconds become int64 nanoseconds
        times[i:i + _CHUNK] = t[i:i + _CHUNK].copy()
    if resolution is not None:
        res = checks.duration(resolution, "resolution", positive=True).value
        times //= res
        times *= res
    times += start_ns
    return _frame(times, (price_col, amount_col, bid_col, bid_amt_col, ask_col, ask_amt_col))


def _frame(times: np.ndarray, columns) -> pd.DataFrame:
    """Wrap int64 UTC nanoseconds and six float64 columns as a TAQ frame (nothing copied)."""
    return taq_frame(times, dict(zip(TAQ_COLUMNS, columns)))


def synthetic_funding(taq: pd.DataFrame, *, seed: int = 0, interval="8h", mean: float = 0.0001,
                      std: float = 0.0002) -> pd.DataFrame:
    """Funding rates of a perpetual over the span of a TAQ frame, for demos and tests.

    One rate at every multiple of ``interval`` (UTC, as BitMEX funds at 04:00, 12:00 and
    20:00 and Binance at 00:00, 08:00 and 16:00) inside the data, drawn i.i.d. normal around
    ``mean`` (BitMEX's baseline 0.01 % per interval, the interest-rate component) and
    clipped at the exchange's cap of 0.375 %.

    Parameters
    ----------
    taq : pandas.DataFrame
        The data whose time span the funding covers.
    seed : int, default 0
    interval : str or pandas.Timedelta, default "8h"
    mean, std : float
        Of the rate per interval (positive: longs pay shorts).

    Returns
    -------
    pandas.DataFrame
        ``rate`` by a ``time`` index, as :func:`mmsim.backtest` takes as ``funding``.
    """
    step = checks.duration(interval, "interval", positive=True)
    if not (np.isfinite(mean) and np.isfinite(std) and std >= 0):
        raise ValueError(f"mean and std must be finite, std >= 0; got {mean!r}, {std!r}")
    index = taq.index
    if len(index) == 0:
        times = pd.DatetimeIndex([], tz="UTC", name="time")
    else:
        times = pd.date_range(index[0].ceil(step), index[-1], freq=step, name="time")
    rng = np.random.default_rng(seed)
    rate = np.clip(rng.normal(mean, std, len(times)), -FUNDING_CAP, FUNDING_CAP)
    return pd.DataFrame({"rate": rate}, index=times)
