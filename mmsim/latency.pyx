"""Latency models: how long an action takes from being sent to taking effect.

Each of ``latency``, ``cancel_latency``, ``amend_latency`` and ``feed_latency`` is a number of
seconds or one of these models (DESIGN.md, "Latency models"):

* :class:`Constant` ``(seconds)``: always the same latency;
* :class:`Sampled` ``(values, seed=0)``: i.i.d. draws from recorded latencies;
* :class:`Lognormal` ``(median, sigma, seed=0)``: ``median * exp(sigma * z)``, ``z`` standard normal;
* :class:`Series` ``(times, values)``: piecewise constant in the time the action is sent.

A bare number is seconds. Every latency is turned into whole nanoseconds once, when the model is
built (``round(seconds * 1e9)``, ties to even), and is at most :data:`MAX_SECONDS` (100 years),
so that ``t + latency`` cannot overflow int64 nanoseconds.

The engine calls ``reset()`` at the start of every run and ``draw(t)`` once per action, from C
without the GIL. :meth:`LatencyModel.sample` makes the same calls from Python.

Random numbers
--------------
The random models run splitmix64 (Steele, Lea and Flood, 2014) on their own 64-bit state,
started at the seed on every reset: the same model gives the same run however often it is run
(DESIGN rule 11), and models pickle with their seed and position (sweeps ship them to workers).

* ``Sampled`` draws index ``x mod n`` from the next output ``x``, redrawing the
  ``2**64 mod n`` lowest outputs so that every index has probability exactly ``1/n``.
* ``Lognormal`` takes ``z`` from Marsaglia's polar method: ``v = k / 2**52 - 1`` from the top 53
  bits ``k`` of each output, a pair ``(v1, v2)`` is kept when ``2**-53 <= s < 1`` with
  ``s = v1**2 + v2**2``, and ``z = v1 * sqrt(-2 ln(s) / s)``. Refusing ``s < 2**-53`` bounds
  ``|z|`` by ``sqrt(106 ln 2) = 8.5717`` (the same bound as Box-Muller on 53-bit uniforms; the
  probability refused is ``2**-53``), so the largest draw is known when the model is built.

Draws are the same bit for bit on every platform: the generator is integer arithmetic,
``exp`` and ``ln`` are computed here from ``+ - * /`` (a C library's may differ in the last
bit), the other C functions used (``sqrt``, ``rint``, ``frexp``, ``ldexp``) are exact in
IEEE 754, and the module is built with ``-ffp-contract=off`` (no fused multiply-add).
"""
import hashlib
import math
import numbers
from datetime import timedelta

import numpy as np
import pandas as pd

from libc.math cimport INFINITY, ceil, frexp, ldexp, rint, sqrt
from libc.stdint cimport int64_t, uint64_t

from mmsim.data.schema import index_ns
from mmsim.checks import number

__all__ = ["LatencyModel", "Constant", "Sampled", "Lognormal", "Series", "as_model",
           "MAX_SECONDS"]

cdef extern from *:
    """
    #ifndef MMSIM_DEBUG
    #define MMSIM_DEBUG 0
    #endif
    """
    int MMSIM_DEBUG

#: "debug" when built with MMSIM_DEBUG=1 (bounds, wraparound and initialisation checks on).
BUILD = "debug" if MMSIM_DEBUG else "release"

#: The largest latency a model may hold or draw: 100 years of 365.25 days, in seconds. Times
#: are int64 ns since 1970 (up to 2262), so t + latency stays in range for any t before 2162.
MAX_SECONDS = 3_155_760_000
cdef int64_t MAX_NS = 3_155_760_000_000_000_000

# |z| of the polar method is at most sqrt(106 ln 2) = 8.571674 (see the module notes); the margin
# covers the rounding of ln, sqrt and the division.
cdef double Z_BOUND = 8.5717
# Smallest s = v1**2 + v2**2 the polar method keeps.
cdef double S_MIN = 1.1102230246251565e-16      # 2**-53

# ln 2 split so that e * LN2_HI is exact for every binary exponent e (LN2_HI has 32 significant
# bits); LN2_HI + LN2_LO is ln 2 to about 2**-85.
cdef double LN2_HI = 6.93147180369123816490e-01
cdef double LN2_LO = 1.90821492927058770002e-10
cdef double INV_LN2 = 1.44269504088896338700e+00
cdef double SQRT_HALF = 0.70710678118654752440

# Power-series coefficients, filled from Python (below) so that tests rebuild them bit for bit:
# exp(r) = sum r**k / k!, k <= 14, for |r| <= ln(2)/2: the first term left out is < 2**-60.
# ln(m) = 2 atanh(f) = 2 sum f**(2k+1) / (2k+1), k <= 11, for |f| <= 0.1716: left out < 2**-63.
cdef double EXP_C[15]
cdef double LOG_C[12]
for _k in range(15):
    EXP_C[_k] = 1.0 / math.factorial(_k)
for _k in range(12):
    LOG_C[_k] = 1.0 / (2 * _k + 1)


# ---------------------------------------------------------------------------------------------
# Portable kernels (no C library calls whose last bit may differ between platforms)

cdef inline uint64_t splitmix64(uint64_t* state) noexcept nogil:
    # One step of splitmix64: a Weyl sequence through a bijective mixer. Unsigned arithmetic
    # wraps modulo 2**64 in C, which is what the algorithm wants.
    state[0] += <uint64_t>0x9E3779B97F4A7C15
    cdef uint64_t z = state[0]
    z = (z ^ (z >> 30)) * <uint64_t>0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * <uint64_t>0x94D049BB133111EB
    return z ^ (z >> 31)


cdef inline double signed_unit(uint64_t x) noexcept nogil:
    # The top 53 bits as a multiple of 2**-52 in [-1, 1): both steps are exact.
    return <double>(<int64_t>(x >> 11) - (<int64_t>1 << 52)) * 2.220446049250313e-16


cdef inline double exp_(double x) noexcept nogil:
    # e**x = 2**k * e**r with k = rint(x / ln 2) and |r| <= ln(2)/2 (Cody-Waite reduction).
    cdef double k, r, p
    cdef int i
    if x > 709.0:
        return INFINITY             # beyond any latency this module accepts
    if x < -708.0:
        return 0.0                  # below the smallest normal double
    k = rint(x * INV_LN2)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = EXP_C[14]
    for i in range(13, -1, -1):
        p = p * r + EXP_C[i]
    return ldexp(p, <int>k)


cdef inline double log_(double x) noexcept nogil:
    # ln x for a positive normal x: x = m * 2**e with m in [sqrt(1/2), sqrt(2)), and
    # ln m = 2 atanh(f), f = (m - 1) / (m + 1).
    cdef int e
    cdef double m = frexp(x, &e), f, f2, p
    cdef int i
    if m < SQRT_HALF:
        m = m + m
        e -= 1
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    p = LOG_C[11]
    for i in range(10, -1, -1):
        p = p * f2 + LOG_C[i]
    return e * LN2_HI + (2.0 * f * p + e * LN2_LO)


def _exp(double x):
    """The module's own ``exp`` (exposed for tests)."""
    return exp_(x)


def _log(double x):
    """The module's own ``ln`` for positive normal ``x`` (exposed for tests)."""
    return log_(x)


# ---------------------------------------------------------------------------------------------
# Validation (Python): everything is checked and converted once, when a model is built

def _cap_error(name, value):
    return ValueError(f"{name} must be at most {MAX_SECONDS} seconds (100 years), got {value!r}")


def _duration_ns(value, name):
    # A string or a timedelta, through the project's one duration parser. Imported here, not at
    # the top: mmsim.sweep imports the engine, which imports this module.
    from mmsim.checks import duration

    if not isinstance(value, str):
        value = pd.Timedelta(value)         # datetime.timedelta, numpy.timedelta64 (NaT kept)
    ns = duration(value, name).value
    if ns < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    if ns > MAX_NS:
        raise _cap_error(name, value)
    return int(ns)


def _seconds_ns(value, name):
    """One latency as whole nanoseconds: seconds (a real number) or a duration ("5ms")."""
    # Durations first: numpy.timedelta64 is a numbers.Real, and float() would read its count
    # of units as seconds.
    if isinstance(value, (str, timedelta, np.timedelta64)):
        return _duration_ns(value, name)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number of seconds or a duration such as '5ms', "
                        f"got {value!r}")
    if isinstance(value, numbers.Integral) and value > MAX_SECONDS:
        raise _cap_error(name, value)       # before an int too large for a float reads as inf
    seconds = number(value, name, nonnegative=True)
    if seconds > MAX_SECONDS:
        raise _cap_error(name, value)
    # The engine's rounding of a latency in seconds, so Constant(x) and a bare x agree.
    return int(round(seconds * 1e9))


def _seconds_array(values, name):
    """Latencies as a new int64 array of nanoseconds: seconds, or timedelta64."""
    if isinstance(values, (str, bytes)) or np.ndim(values) != 1:
        raise ValueError(f"{name} must be a one-dimensional array of seconds, got {values!r}")
    arr = np.asarray(values)
    if arr.size == 0:
        raise ValueError(f"{name} is empty: give at least one latency")
    kind = arr.dtype.kind
    if kind == "m":
        try:
            ns = pd.TimedeltaIndex(arr).as_unit("ns").asi8
        except (ValueError, OverflowError) as exc:
            raise ValueError(f"{name} does not fit in int64 nanoseconds: {exc}") from None
        nat = np.isnat(arr)
        bad = nat | (ns < 0) | (ns > MAX_NS)
        if bad.any():
            i = int(np.argmax(bad))
            label = f"{name}[{i}]"
            if nat[i]:
                raise ValueError(f"{label} is NaT: every latency must be set")
            if ns[i] < 0:
                raise ValueError(f"{label} must be >= 0, got {pd.Timedelta(int(ns[i]))!r}")
            raise _cap_error(label, pd.Timedelta(int(ns[i])))
        return np.array(ns, dtype=np.int64)
    if kind not in "iuf":
        raise TypeError(f"{name} must hold numbers of seconds (or timedelta64), "
                        f"got dtype {arr.dtype}")
    seconds = arr.astype(np.float64)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(seconds) | (seconds < 0) | (seconds > MAX_SECONDS)
    if bad.any():
        i = int(np.argmax(bad))
        number(arr[i].item(), f"{name}[{i}]", nonnegative=True)
        raise _cap_error(f"{name}[{i}]", arr[i].item())
    # np.rint is round-half-even like Python's round(): the same ns as _seconds_ns.
    return np.rint(seconds * 1e9).astype(np.int64)


def _times_ns(times, name):
    """Times as a new int64 array of ns since the epoch, UTC (naive times are taken as UTC)."""
    if isinstance(times, (str, bytes)) or np.ndim(times) != 1:
        raise ValueError(f"{name} must be a one-dimensional array of times, got {times!r}")
    if not isinstance(times, (pd.Index, pd.Series)):
        times = np.asarray(times)
    if len(times) == 0:
        raise ValueError(f"{name} is empty: give at least one time")
    kind = times.dtype.kind
    if kind in "iu":
        arr = np.asarray(times)
        if kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"{name} must be int64 nanoseconds, got {int(arr.max())}")
        ns = arr.astype(np.int64)
        nat = ns == np.iinfo(np.int64).min        # pandas' NaT
    elif kind in "fbm":
        # A float could be seconds or nanoseconds; refuse to guess.
        raise TypeError(f"{name} must be datetimes or int64 nanoseconds since the epoch, got "
                        f"dtype {times.dtype}; convert seconds with "
                        f"pandas.to_datetime(times, unit='s')")
    else:
        try:
            index = pd.DatetimeIndex(pd.to_datetime(times, utc=True))
        except (TypeError, ValueError, OverflowError) as exc:
            raise ValueError(f"{name} must be times that pandas.to_datetime accepts or int64 "
                             f"nanoseconds since the epoch: {exc}") from None
        nat = np.asarray(index.isna())
        ns = index_ns(index)
    if nat.any():
        raise ValueError(f"{name}[{int(np.argmax(nat))}] is NaT: every time must be set")
    return np.array(ns, dtype=np.int64)


def _seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    if not 0 <= int(seed) < 2**64:
        raise ValueError(f"seed must be an integer in [0, 2**64), got {seed!r}")
    return int(seed)


def _count(n):
    return number(n, "n", integer=True, nonnegative=True)


# ---------------------------------------------------------------------------------------------
# Formatting: exact, so that two different models never share a repr (sweep stores key their
# runs by repr).

def _fmt_seconds(ns):
    whole, frac = divmod(int(ns), 10**9)
    return f"{whole}.{frac:09d}".rstrip("0").rstrip(".")


def _fmt_time(ns):
    return repr(pd.Timestamp(int(ns), tz="UTC").isoformat())


def _digest(*arrays):
    h = hashlib.blake2b(digest_size=8)
    for a in arrays:
        h.update(np.ascontiguousarray(a, dtype="<i8").tobytes())
    return h.hexdigest()


_SHOWN = 8      # arrays up to this length are shown whole in a repr


def _fmt_list(ns, fmt):
    return "[" + ", ".join(fmt(v) for v in ns) + "]"


def _new(cls):
    # Unpickling: an empty instance, filled by __setstate__.
    return cls.__new__(cls)


# ---------------------------------------------------------------------------------------------
# The models

cdef class LatencyModel:
    """Base of the latency models: a latency in nanoseconds for each action.

    Not built directly: use :class:`Constant`, :class:`Sampled`, :class:`Lognormal` or
    :class:`Series`. A new kind of model is a Cython subclass that overrides the C methods
    ``reset()`` and ``draw(t)`` (see ``mmsim/latency.pxd``) and sets ``max_ns``.

    Attributes
    ----------
    max_ns : int
        The largest latency the model can ever return, in nanoseconds (at most
        ``MAX_SECONDS * 10**9``). The engine checks that its times stay in range with it.

    Notes
    -----
    A random model carries its position in its stream. One object given for two latency kinds
    serves both from one stream (still deterministic); two runs going on at the same time in
    threads must not share one object. A pickled or copied model is independent of the original.
    """

    def __init__(self, *args, **kwargs):
        raise TypeError("LatencyModel is abstract; use Constant, Sampled, Lognormal or Series")

    cdef void reset(self) noexcept nogil:
        self.state = self.seed

    cdef int64_t draw(self, int64_t t) noexcept nogil:
        return 0

    def sample(self, n, t=None):
        """Reset the model and draw ``n`` latencies, as the engine would for ``n`` actions.

        Parameters
        ----------
        n : int
            Number of draws, >= 0.
        t : optional
            When the actions are sent: one time for all of them or ``n`` times (int64 ns since
            the epoch, or anything :func:`pandas.to_datetime` accepts; naive times are UTC).
            Only :class:`Series` depends on it. Default: the epoch, 0.

        Returns
        -------
        numpy.ndarray
            int64 latencies in nanoseconds, the first ``n`` draws of the model's stream.

        Notes
        -----
        The model is left where the draws end; the engine resets it at the start of a run,
        so sampling never changes a backtest.
        """
        cdef Py_ssize_t count = _count(n), i
        if t is None:
            times = np.zeros(count, dtype=np.int64)
        elif np.ndim(t) == 0:
            times = np.full(count, _times_ns([t], "t")[0], dtype=np.int64)
        else:
            times = _times_ns(t, "t") if len(t) else np.zeros(0, dtype=np.int64)
            if len(times) != count:
                raise ValueError(f"t must be one time or n = {count} times, got {len(times)}")
        out = np.empty(count, dtype=np.int64)
        cdef int64_t[::1] o = out
        cdef const int64_t[::1] ts = times
        with nogil:
            self.reset()
            for i in range(count):
                o[i] = self.draw(ts[i])
        return out


cdef class Constant(LatencyModel):
    """The same latency for every action.

    Parameters
    ----------
    seconds : float or str
        The latency in seconds (>= 0), or a duration such as ``"5ms"`` or a
        :class:`pandas.Timedelta`.

    Examples
    --------
    >>> Constant(0.005).sample(2)
    array([5000000, 5000000])
    """

    def __init__(self, seconds):
        self.max_ns = _seconds_ns(seconds, "seconds")

    cdef int64_t draw(self, int64_t t) noexcept nogil:
        return self.max_ns

    def __repr__(self):
        return f"Constant({_fmt_seconds(self.max_ns)})"

    def __reduce__(self):
        return _new, (type(self),), (self.max_ns,)

    def __setstate__(self, state):
        self.max_ns, = state


cdef class Sampled(LatencyModel):
    """Latencies drawn at random, with replacement, from recorded ones.

    Each draw is one of ``values``, each with probability ``1 / len(values)`` (a repeated value
    counts as often as it appears), independently of the others.

    Parameters
    ----------
    values : array-like
        Recorded latencies in seconds (>= 0), or a ``timedelta64`` array.
    seed : int, default 0
        Seed of the random stream, in ``[0, 2**64)``. Models with equal seeds draw equal indices:
        give each latency kind its own seed for independent draws.

    Examples
    --------
    >>> Sampled([0.001, 0.002, 0.010], seed=1).sample(5)
    array([10000000,  2000000,  1000000, 10000000,  1000000])
    """

    def __cinit__(self):
        # Until __init__ or __setstate__ fills them: one zero latency, so draw() is safe.
        self.values = np.zeros(1, dtype=np.int64)
        self.n = 1
        self.threshold = 0

    def __init__(self, values, seed=0):
        ns = _seconds_array(values, "values")
        self._fill(ns, _seed(seed))

    def _fill(self, ns, seed):
        # Also reached from __setstate__: an empty array would make draw() divide by zero.
        if len(ns) == 0:
            raise ValueError("Sampled needs at least one value")
        self.values = ns
        self.n = len(ns)
        # 2**64 mod n: the outputs below it are the incomplete last round of x mod n.
        self.threshold = (2**64) % len(ns)
        self.max_ns = int(ns.max())
        self.seed = seed
        self.state = seed

    cdef int64_t draw(self, int64_t t) noexcept nogil:
        cdef uint64_t x = splitmix64(&self.state)
        while x < self.threshold:
            x = splitmix64(&self.state)
        return self.values[x % self.n]

    def __repr__(self):
        ns = np.asarray(self.values)
        if len(ns) <= _SHOWN:
            shown = _fmt_list(ns, _fmt_seconds)
        else:
            shown = (f"<{len(ns)} values, {_fmt_seconds(ns.min())} to {_fmt_seconds(ns.max())} s, "
                     f"digest {_digest(ns)}>")
        return f"Sampled({shown}, seed={self.seed})"

    def __reduce__(self):
        return _new, (type(self),), (np.array(self.values), self.seed, self.state)

    def __setstate__(self, state):
        ns, seed, position = state
        self._fill(np.array(ns, dtype=np.int64), seed)
        self.state = position


cdef class Lognormal(LatencyModel):
    """Log-normally distributed latencies: ``median * exp(sigma * z)``, ``z`` standard normal.

    ``ln(latency)`` is normal with mean ``ln(median)`` and standard deviation ``sigma``. The
    median is rounded to whole nanoseconds when the model is built, each draw to the nearest
    nanosecond (ties to even).

    Parameters
    ----------
    median : float or str
        Median latency in seconds (>= 0), or a duration such as ``"2ms"``.
    sigma : float
        Standard deviation of the log-latency (>= 0; 0 gives the median every time).
    seed : int, default 0
        Seed of the random stream, in ``[0, 2**64)``.

    Raises
    ------
    ValueError
        If the largest possible draw, ``median * exp(sigma * 8.5717)``, is above
        :data:`MAX_SECONDS` (``|z|`` never exceeds 8.5717; see the module notes).

    Examples
    --------
    >>> Lognormal(0.002, 0.5, seed=7).sample(3)
    array([1958691, 3099956, 1716267])
    """

    def __init__(self, median, sigma, seed=0):
        median_ns = _seconds_ns(median, "median")
        sigma = number(sigma, "sigma", nonnegative=True)
        seed = _seed(seed)
        cdef double bound = 0.0
        if median_ns > 0:
            bound = median_ns * exp_(sigma * Z_BOUND)
            if not bound <= MAX_NS:
                raise ValueError(
                    f"median={median!r} and sigma={sigma!r} allow draws up to {bound / 1e9:.4g} "
                    f"seconds (median * exp(sigma * {Z_BOUND})), more than {MAX_SECONDS} seconds "
                    f"(100 years); lower median or sigma")
        self.median = median_ns
        self.sigma = sigma
        self.max_ns = <int64_t>ceil(bound)
        self.seed = seed
        self.state = seed

    cdef int64_t draw(self, int64_t t) noexcept nogil:
        cdef double v1, v2, s, z, r
        while True:
            v1 = signed_unit(splitmix64(&self.state))
            v2 = signed_unit(splitmix64(&self.state))
            s = v1 * v1 + v2 * v2
            if S_MIN <= s < 1.0:
                break
        z = v1 * sqrt(-2.0 * log_(s) / s)
        r = self.median * exp_(self.sigma * z)
        # Never beyond max_ns, whatever the rounding (NaN included: median 0 with exp inf).
        if not r <= <double>self.max_ns:
            return self.max_ns
        return <int64_t>rint(r)

    def __repr__(self):
        return (f"Lognormal(median={_fmt_seconds(<int64_t>self.median)}, "
                f"sigma={self.sigma!r}, seed={self.seed})")

    def __reduce__(self):
        return _new, (type(self),), (self.median, self.sigma, self.max_ns, self.seed, self.state)

    def __setstate__(self, state):
        self.median, self.sigma, self.max_ns, self.seed, self.state = state


cdef class Series(LatencyModel):
    """A latency that changes over time: the value of the last time at or before ``t``.

    An action sent at ``t`` takes ``values[i]`` with ``i`` the last index where
    ``times[i] <= t``, and ``values[0]`` when ``t`` is before ``times[0]``.

    Parameters
    ----------
    times : array-like
        Strictly increasing times: anything :func:`pandas.to_datetime` accepts (naive times are
        UTC) or int64 nanoseconds since the epoch.
    values : array-like
        Latency from each time on, in seconds (>= 0), or a ``timedelta64`` array; as long as
        ``times``.

    Notes
    -----
    A draw costs O(1) when actions come in time order (it starts from the previous draw's
    segment) and O(log n) otherwise.

    Examples
    --------
    >>> s = Series(["2024-01-01", "2024-01-02"], [0.001, 0.002])
    >>> s.sample(2, t=["2023-12-31", "2024-01-03"])
    array([1000000, 2000000])
    """

    def __cinit__(self):
        # Until __init__ or __setstate__ fills them: latency 0 at all times, so draw() is safe.
        self.times = np.zeros(1, dtype=np.int64)
        self.values = np.zeros(1, dtype=np.int64)
        self.cursor = 0

    def __init__(self, times, values):
        t = _times_ns(times, "times")
        v = _seconds_array(values, "values")
        if len(t) != len(v):
            raise ValueError(f"times and values must have the same length, got {len(t)} times "
                             f"and {len(v)} values")
        stalled = np.diff(t) <= 0
        if stalled.any():
            i = int(np.argmax(stalled)) + 1
            raise ValueError(f"times must be strictly increasing: times[{i}] ({_fmt_time(t[i])}) "
                             f"is not after times[{i - 1}] ({_fmt_time(t[i - 1])})")
        self._fill(t, v)

    def _fill(self, t, v):
        # Also reached from __setstate__: draw() reads times[i] and values[i] unchecked.
        if len(t) == 0 or len(t) != len(v):
            raise ValueError("Series needs as many values as times, and at least one")
        self.times = t
        self.values = v
        self.cursor = 0
        self.max_ns = int(v.max())

    cdef void reset(self) noexcept nogil:
        self.state = self.seed
        self.cursor = 0

    cdef int64_t draw(self, int64_t t) noexcept nogil:
        cdef Py_ssize_t i = self.cursor, n = self.times.shape[0], lo, hi, mid
        if t >= self.times[i]:
            # In time order t is almost always in the cursor's segment or the next one.
            if i + 1 == n or t < self.times[i + 1]:
                return self.values[i]
            if i + 2 == n or t < self.times[i + 2]:
                self.cursor = i + 1
                return self.values[i + 1]
            lo = i + 2          # times[lo] <= t: the answer is in [lo, n)
            hi = n
        elif t < self.times[0]:
            self.cursor = 0
            return self.values[0]
        else:
            lo = 0              # times[0] <= t < times[i]: the answer is in [0, i)
            hi = i
        while hi - lo > 1:      # invariant: times[lo] <= t, and t < times[hi] when hi < n
            mid = lo + (hi - lo) // 2
            if self.times[mid] <= t:
                lo = mid
            else:
                hi = mid
        self.cursor = lo
        return self.values[lo]

    def __repr__(self):
        t = np.asarray(self.times)
        v = np.asarray(self.values)
        if len(t) <= _SHOWN:
            return f"Series({_fmt_list(t, _fmt_time)}, {_fmt_list(v, _fmt_seconds)})"
        return (f"Series(<{len(t)} times, {_fmt_time(t[0])} to {_fmt_time(t[len(t) - 1])}, values "
                f"{_fmt_seconds(v.min())} to {_fmt_seconds(v.max())} s, digest {_digest(t, v)}>)")

    def __reduce__(self):
        return _new, (type(self),), (np.array(self.times), np.array(self.values))

    def __setstate__(self, state):
        t, v = state
        self._fill(np.array(t, dtype=np.int64), np.array(v, dtype=np.int64))


def as_model(value, name):
    """A latency argument as a model: a model as it is, seconds or a duration as a Constant.

    Parameters
    ----------
    value : LatencyModel, float or str
        A model, a number of seconds (>= 0; NumPy numbers too) or a duration such as ``"5ms"``
        or a :class:`pandas.Timedelta`.
    name : str
        The argument's name (``"latency"``, ``"cancel_latency"``, ...), for error messages.

    Returns
    -------
    LatencyModel
        ``value`` itself if it is a model, else ``Constant(value)``.

    Raises
    ------
    TypeError
        If ``value`` is neither a model, a number nor a duration.
    ValueError
        If the latency is negative, NaN, infinite, above :data:`MAX_SECONDS` or not a duration.
    """
    if isinstance(value, LatencyModel):
        return value
    if not isinstance(value, (numbers.Real, str, timedelta, np.timedelta64)) \
            or isinstance(value, bool):
        raise TypeError(f"{name} must be a number of seconds, a duration such as '5ms' or a "
                        f"latency model (Constant, Sampled, Lognormal, Series), got {value!r}")
    cdef Constant model = Constant.__new__(Constant)
    model.max_ns = _seconds_ns(value, name)
    return model
