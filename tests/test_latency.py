"""Latency models (mmsim/latency.pyx): exact draws against independent pure-Python versions."""
import math
import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from mmsim import latency
from mmsim.latency import Constant, LatencyModel, Lognormal, Sampled, Series, as_model

MASK = 2**64 - 1
GAMMA = 0x9E3779B97F4A7C15
MAX_NS = latency.MAX_SECONDS * 10**9


# ---------------------------------------------------------------------------------------------
# Independent pure-Python versions of the module's arithmetic (Python floats are IEEE doubles
# and CPython never fuses a multiply and an add, so these agree with the C bit for bit).

def splitmix64(state):
    """One splitmix64 step: (new state, output)."""
    state = (state + GAMMA) & MASK
    z = state
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return state, z ^ (z >> 31)


def ref_indices(seed, n, count):
    """Indices Sampled draws: x mod n, outputs below 2**64 mod n redrawn."""
    state, threshold, out = seed, 2**64 % n, []
    while len(out) < count:
        state, x = splitmix64(state)
        if x >= threshold:
            out.append(x % n)
    return out


LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e+00
EXP_C = [1.0 / math.factorial(k) for k in range(15)]
LOG_C = [1.0 / (2 * k + 1) for k in range(12)]


def ref_exp(x):
    if x > 709.0:
        return math.inf
    if x < -708.0:
        return 0.0
    k = round(x * INV_LN2)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = EXP_C[14]
    for c in reversed(EXP_C[:14]):
        p = p * r + c
    return math.ldexp(p, k)


def ref_log(x):
    m, e = math.frexp(x)
    if m < 0.70710678118654752440:
        m, e = m + m, e - 1
    f = (m - 1.0) / (m + 1.0)
    f2 = f * f
    p = LOG_C[11]
    for c in reversed(LOG_C[:11]):
        p = p * f2 + c
    return e * LN2_HI + (2.0 * f * p + e * LN2_LO)


def ref_lognormal(median_ns, sigma, seed, count):
    """Lognormal draws: Marsaglia's polar method, z = v1 sqrt(-2 ln s / s), median exp(sigma z)."""
    state, out = seed, []
    max_ns = math.ceil(median_ns * ref_exp(sigma * 8.5717))
    while len(out) < count:
        state, x1 = splitmix64(state)
        state, x2 = splitmix64(state)
        v1 = ((x1 >> 11) - 2**52) * 2.220446049250313e-16
        v2 = ((x2 >> 11) - 2**52) * 2.220446049250313e-16
        s = v1 * v1 + v2 * v2
        if not 2.0**-53 <= s < 1.0:
            continue
        z = v1 * math.sqrt(-2.0 * ref_log(s) / s)
        out.append(min(round(median_ns * ref_exp(sigma * z)), max_ns))
    return out


def ulps(a, b):
    return abs(a - b) / math.ulp(b)


# ---------------------------------------------------------------------------------------------
# The generator

def test_reference_splitmix64_gives_the_published_outputs():
    # Rosetta Code, "Pseudo-random numbers/Splitmix64": the first five outputs for seed 1234567.
    state, out = 1234567, []
    for _ in range(5):
        state, x = splitmix64(state)
        out.append(x)
    assert out == [6457827717110365317, 3203168211198807973, 9817491932198370423,
                   4593380528125082431, 16408922859458223821]


def test_exp_and_log_kernels_match_the_reference_bit_for_bit_and_libm_within_4_ulps():
    rng = np.random.default_rng(3)
    xs = np.concatenate([rng.uniform(-708, 709, 3000), rng.uniform(-1, 1, 3000),
                         [0.0, 1.0, -1.0, 0.5 * math.log(2), -0.5 * math.log(2), 709.0, -708.0]])
    for x in map(float, xs):
        assert latency._exp(x) == ref_exp(x)
        assert ulps(ref_exp(x), math.exp(x)) <= 4
    ys = np.concatenate([np.exp(rng.uniform(-700, 700, 3000)), rng.uniform(2.0**-53, 1, 3000),
                         rng.uniform(0.5, 2, 3000), [2.0**-53, 0.5, 0.7071067811865476, 2.0]])
    for y in map(float, ys):
        assert latency._log(y) == ref_log(y)
        assert ulps(ref_log(y), math.log(y)) <= 4
    assert latency._exp(0.0) == 1.0 and latency._log(1.0) == 0.0
    assert latency._exp(709.5) == math.inf and latency._exp(-708.5) == 0.0


# ---------------------------------------------------------------------------------------------
# Constant and as_model

def test_constant_is_exact_nanoseconds():
    assert Constant(0.0015).sample(3).tolist() == [1_500_000] * 3
    assert Constant(0.0015).max_ns == 1_500_000
    assert Constant(2).sample(1).tolist() == [2_000_000_000]
    assert Constant(0).sample(2).tolist() == [0, 0]
    assert Constant(np.float32(0.25)).max_ns == 250_000_000
    assert Constant(np.int64(3)).max_ns == 3_000_000_000
    # Durations, exact in ns; a numpy timedelta64 is not read as a count of seconds.
    assert Constant("5ms").max_ns == 5_000_000
    assert Constant(pd.Timedelta("2us")).max_ns == 2_000
    assert Constant(np.timedelta64(3, "ms")).max_ns == 3_000_000
    # The engine's rounding of seconds: round(seconds * 1e9), ties to even.
    for x in (1e-9, 7e-9, 0.1, 0.3, 123.456789123, 2.5e-9):
        assert Constant(x).max_ns == int(round(x * 1e9))
    assert Constant(latency.MAX_SECONDS).max_ns == MAX_NS
    out = Constant(0.001).sample(4, t=[0, 10**18, -5, 2**62])
    assert out.dtype == np.int64 and out.tolist() == [1_000_000] * 4


def test_as_model_turns_seconds_into_a_constant_and_keeps_a_model():
    model = Lognormal(0.001, 0.2, seed=4)
    assert as_model(model, "latency") is model
    for value, ns in ((0.5, 500_000_000), (np.float64(0.002), 2_000_000), (1, 1_000_000_000),
                      ("250us", 250_000), (pd.Timedelta("1s"), 1_000_000_000)):
        built = as_model(value, "cancel_latency")
        assert type(built) is Constant and built.max_ns == ns


def test_as_model_names_the_argument():
    with pytest.raises(TypeError, match=r"cancel_latency must be a number of seconds, a duration "
                                        r"such as '5ms' or a latency model \(Constant, Sampled, "
                                        r"Lognormal, Series\), got \[0.1\]"):
        as_model([0.1], "cancel_latency")
    with pytest.raises(TypeError, match=r"latency must be a number of seconds, .* got True"):
        as_model(True, "latency")
    with pytest.raises(TypeError, match=r"feed_latency must be .* got None"):
        as_model(None, "feed_latency")
    with pytest.raises(ValueError, match=r"^latency must be >= 0, got -1$"):
        as_model(-1, "latency")
    with pytest.raises(ValueError, match=r"^amend_latency must be finite, got nan$"):
        as_model(math.nan, "amend_latency")
    with pytest.raises(ValueError, match=r"^latency must be finite, got inf$"):
        as_model(np.inf, "latency")
    with pytest.raises(ValueError, match=r"^feed_latency must be at most 3155760000 seconds "
                                         r"\(100 years\), got 10000000000.0$"):
        as_model(1e10, "feed_latency")
    with pytest.raises(ValueError, match=r"^latency must be a time span such as '1D' or '90min' "
                                         r"\(a bare number is seconds\), got 'fast'$"):
        as_model("fast", "latency")
    with pytest.raises(ValueError, match=r"^amend_latency must be >= 0, got '-5ms'$"):
        as_model("-5ms", "amend_latency")


def test_constant_rejects_bad_seconds():
    with pytest.raises(ValueError, match=r"^seconds must be >= 0, got -0.001$"):
        Constant(-0.001)
    with pytest.raises(ValueError, match=r"^seconds must be finite, got nan$"):
        Constant(float("nan"))
    with pytest.raises(ValueError, match=r"^seconds must be at most 3155760000 seconds "
                                         r"\(100 years\), got 3155760001$"):
        Constant(latency.MAX_SECONDS + 1)
    with pytest.raises(ValueError, match=r"^seconds must be at most .* got '36600D'$"):
        Constant("36600D")
    with pytest.raises(ValueError, match=r"^seconds must be at most .* got 1000000000000"):
        Constant(10**400)                   # too large even for a float
    with pytest.raises(TypeError, match=r"^seconds must be a number of seconds or a duration "
                                        r"such as '5ms', got \[1\]$"):
        Constant([1])
    with pytest.raises(TypeError, match=r"seconds must be a number of seconds or .* got False"):
        Constant(False)
    with pytest.raises(ValueError, match=r"seconds must be a time span .* got NaT"):
        Constant(np.timedelta64("NaT"))


def test_latency_model_is_abstract():
    with pytest.raises(TypeError, match="LatencyModel is abstract; use Constant, Sampled, "
                                        "Lognormal or Series"):
        LatencyModel()
    assert isinstance(Constant(0), LatencyModel)


# ---------------------------------------------------------------------------------------------
# Series

T0 = pd.Timestamp("2024-01-01 00:00:00", tz="UTC").value
SEC = 10**9


def test_series_takes_the_value_of_the_last_time_at_or_before_t():
    s = Series([T0, T0 + 10 * SEC, T0 + 20 * SEC], [0.001, 0.002, 0.005])
    t = [T0 - 1, T0, T0 + 1, T0 + 10 * SEC - 1, T0 + 10 * SEC, T0 + 15 * SEC,
         T0 + 20 * SEC, T0 + 10**6 * SEC, -(2**62)]
    assert s.sample(len(t), t=t).tolist() == [1_000_000, 1_000_000, 1_000_000, 1_000_000,
                                              2_000_000, 2_000_000, 5_000_000, 5_000_000,
                                              1_000_000]
    assert s.max_ns == 5_000_000
    # One time for every draw, and the default t (the epoch, before every time here).
    assert s.sample(2, t=T0 + 12 * SEC).tolist() == [2_000_000] * 2
    assert s.sample(2).tolist() == [1_000_000] * 2


def test_series_times_in_any_pandas_form_are_utc():
    values = [0.001, 0.002]
    naive = Series(["2024-01-01 00:00", "2024-01-01 01:00"], values)
    paris = Series(pd.DatetimeIndex(["2024-01-01 01:00", "2024-01-01 02:00"], tz="Europe/Paris"),
                   values)
    series = Series(pd.Series(pd.to_datetime(["2024-01-01 00:00", "2024-01-01 01:00"])), values)
    ints = Series(np.array([T0, T0 + 3600 * SEC]), pd.to_timedelta(["1ms", "2ms"]))
    at = ["2024-01-01 00:59:59.999999999", pd.Timestamp("2024-01-01 01:00", tz="UTC")]
    for model in (naive, paris, series, ints):
        assert model.sample(2, t=at).tolist() == [1_000_000, 2_000_000]
        assert repr(model) == ("Series(['2024-01-01T00:00:00+00:00', '2024-01-01T01:00:00+00:00'], "
                               "[0.001, 0.002])")


def test_series_draws_match_a_binary_search_in_any_order():
    rng = np.random.default_rng(11)
    times = np.cumsum(rng.integers(1, 1000, 500)) + T0
    values = rng.integers(0, 10**6, 500) * 1e-9
    model = Series(times, values)
    ns = np.rint(values * 1e9).astype(np.int64)
    rising = np.sort(rng.integers(times[0] - 5000, times[-1] + 5000, 3000))
    steps = np.repeat(times, 2)                       # every time twice: stalls and steps
    shuffled = rng.permutation(np.concatenate([rising, times, times - 1]))
    for t in (rising, steps, shuffled, rising[::-1]):
        expected = ns[np.maximum(np.searchsorted(times, t, side="right") - 1, 0)]
        assert np.array_equal(model.sample(len(t), t=t), expected)


def test_series_rejects_bad_input():
    with pytest.raises(ValueError, match=r"^times and values must have the same length, got 2 "
                                         r"times and 3 values$"):
        Series([T0, T0 + 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"^times must be strictly increasing: times\[2\] "
                                         r"\('2024-01-01T00:00:00.000000001\+00:00'\) is not after "
                                         r"times\[1\] \('2024-01-01T00:00:00.000000001\+00:00'\)$"):
        Series([T0, T0 + 1, T0 + 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match=r"times must be strictly increasing: times\[1\]"):
        Series(["2024-01-02", "2024-01-01"], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^times is empty: give at least one time$"):
        Series([], [])
    with pytest.raises(ValueError, match=r"^values is empty: give at least one latency$"):
        Series([T0], [])
    with pytest.raises(TypeError, match=r"^times must be datetimes or int64 nanoseconds since the "
                                        r"epoch, got dtype float64; convert seconds with "
                                        r"pandas.to_datetime\(times, unit='s'\)$"):
        Series([1.7e9, 1.8e9], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^times must be times that pandas.to_datetime accepts "
                                         r"or int64 nanoseconds since the epoch: "):
        Series(["2024-01-01", "not a time"], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^times\[1\] is NaT: every time must be set$"):
        Series(["2024-01-01", None], [0.1, 0.2])
    with pytest.raises(ValueError, match=r"^times must be a one-dimensional array of times, "
                                         r"got '2024-01-01'$"):
        Series("2024-01-01", [0.1])
    with pytest.raises(ValueError, match=r"^times must be int64 nanoseconds, got 9223372036854775808$"):
        Series(np.array([2**63], dtype=np.uint64), [0.1])
    with pytest.raises(ValueError, match=r"^values\[1\] must be >= 0, got -0.2$"):
        Series([T0, T0 + 1], [0.1, -0.2])


# ---------------------------------------------------------------------------------------------
# Sampled

def test_sampled_draws_the_indices_of_the_generator():
    # values[i] = i ns, so a draw is its index. Seed 1234567's outputs (the published
    # vector above) mod 10: 7, 3, 3, 1, 1; 2**64 mod 10 = 6 redraws none of them.
    model = Sampled(np.arange(10) * 1e-9, seed=1234567)
    assert model.sample(5).tolist() == [7, 3, 3, 1, 1]
    for n, seed in ((10, 1234567), (7, 0), (1000, 42), (3, 2**64 - 1)):
        model = Sampled(np.arange(n) * 1e-9, seed=seed)
        assert model.sample(2000).tolist() == ref_indices(seed, n, 2000)


def test_sampled_redraws_the_outputs_that_would_bias_the_index():
    # The state before an output is its seed + GAMMA; splitmix64 maps state 0 to output 0,
    # which is below 2**64 mod 3 = 1 and is redrawn: the first draw is the next output's index.
    seed = (0 - GAMMA) & MASK
    model = Sampled([0.0, 1e-9, 2e-9], seed=seed)
    second = splitmix64(0)[1]
    assert second == 0xE220A8397B1DCDAF                 # seed 0's first output, published
    assert model.sample(1).tolist() == [second % 3] == ref_indices(seed, 3, 1)
    assert second % 3 != 0                               # so not the index of output 0


def test_sampled_draws_only_its_values_evenly_and_reset_repeats_the_stream():
    values = [0.001, 0.0025, 0.010, 0.0025]
    model = Sampled(values, seed=9)
    draws = model.sample(40_000)
    assert set(draws.tolist()) == {1_000_000, 2_500_000, 10_000_000}
    counts = pd.Series(draws).value_counts()
    # Binomial counts: 2.5 ms is listed twice. Tolerance: 5 standard deviations.
    for ns, p in ((1_000_000, 0.25), (2_500_000, 0.5), (10_000_000, 0.25)):
        assert abs(counts[ns] - 40_000 * p) < 5 * math.sqrt(40_000 * p * (1 - p))
    assert np.array_equal(model.sample(40_000), draws)   # sample() resets first
    assert not np.array_equal(Sampled(values, seed=10).sample(100), draws[:100])
    assert model.max_ns == 10_000_000
    assert Sampled(values, seed=np.uint64(2**64 - 1)).sample(3).tolist() == \
        Sampled(values, seed=2**64 - 1).sample(3).tolist()


def test_sampled_takes_timedeltas_exactly():
    model = Sampled(pd.to_timedelta(["1ns", "3ms"]), seed=5)
    assert set(model.sample(200).tolist()) == {1, 3_000_000}
    assert repr(model) == "Sampled([0.000000001, 0.003], seed=5)"


def test_sampled_rejects_bad_values():
    with pytest.raises(ValueError, match=r"^values is empty: give at least one latency$"):
        Sampled([])
    with pytest.raises(ValueError, match=r"^values must be a one-dimensional array of seconds, "
                                         r"got \[\[0.1, 0.2\]\]$"):
        Sampled([[0.1, 0.2]])
    with pytest.raises(ValueError, match=r"^values must be a one-dimensional array of seconds, "
                                         r"got 0.1$"):
        Sampled(0.1)
    with pytest.raises(TypeError, match=r"^values must hold numbers of seconds \(or timedelta64\), "
                                        r"got dtype <U3$"):
        Sampled(["1ms", "2ms"])
    with pytest.raises(ValueError, match=r"^values\[2\] must be finite, got nan$"):
        Sampled([0.1, 0.2, np.nan])
    with pytest.raises(ValueError, match=r"^values\[1\] must be finite, got inf$"):
        Sampled([0.1, np.inf])
    with pytest.raises(ValueError, match=r"^values\[0\] must be >= 0, got -1$"):
        Sampled(np.array([-1, 2]))
    with pytest.raises(ValueError, match=r"^values\[1\] must be at most 3155760000 seconds "
                                         r"\(100 years\), got 1e\+20$"):
        Sampled([0.1, 1e20])
    with pytest.raises(ValueError, match=r"^values\[1\] is NaT: every latency must be set$"):
        Sampled(np.array([1, "NaT"], dtype="m8[ms]"))
    with pytest.raises(ValueError, match=r"^values\[0\] must be >= 0, got Timedelta\('-1 days"):
        Sampled(pd.to_timedelta(["-1ms", "1ms"]))
    with pytest.raises(ValueError, match=r"^values\[0\] must be at most 3155760000 seconds "
                                         r"\(100 years\), got Timedelta\('36600 days"):
        Sampled(np.array([36600], dtype="m8[D]"))
    with pytest.raises(ValueError, match=r"^values does not fit in int64 nanoseconds: "):
        Sampled(np.array([10**7], dtype="m8[D]"))


def test_seeds_are_checked():
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 2\*\*64\), got -1$"):
        Sampled([0.1], seed=-1)
    with pytest.raises(ValueError, match=r"^seed must be an integer in \[0, 2\*\*64\), "
                                         r"got 18446744073709551616$"):
        Lognormal(0.1, 0.1, seed=2**64)
    with pytest.raises(TypeError, match=r"^seed must be an integer in \[0, 2\*\*64\), got 1.0$"):
        Sampled([0.1], seed=1.0)
    with pytest.raises(TypeError, match=r"^seed must be an integer in \[0, 2\*\*64\), got True$"):
        Lognormal(0.1, 0.1, seed=True)


# ---------------------------------------------------------------------------------------------
# Lognormal

@pytest.mark.parametrize("median, sigma, seed", [(0.002, 0.5, 7), (0.000123, 1.7, 0),
                                                 (1.5, 0.05, 2**64 - 1), (3e-9, 2.0, 99)])
def test_lognormal_draws_are_the_formula_exactly(median, sigma, seed):
    model = Lognormal(median, sigma, seed=seed)
    median_ns = round(median * 1e9)
    assert model.max_ns == math.ceil(median_ns * ref_exp(sigma * 8.5717))
    assert model.sample(3000).tolist() == ref_lognormal(median_ns, sigma, seed, 3000)


def test_lognormal_first_draws_by_hand():
    # sigma 0 draws the median; a median of 0 draws 0 (and never NaN, whatever sigma).
    assert Lognormal(0.001, 0.0, seed=3).sample(4).tolist() == [1_000_000] * 4
    assert Lognormal(0.001, 0.0).max_ns == 1_000_000
    assert Lognormal(0, 50.0).sample(3).tolist() == [0, 0, 0]
    assert Lognormal(0, 1e300).max_ns == 0


def test_lognormal_median_and_spread_are_within_their_sampling_error():
    n, median, sigma = 100_000, 0.002, 0.5
    draws = Lognormal(median, sigma, seed=2024).sample(n)
    logs = np.log(draws / 1e9)
    # The sample median of n normal draws has standard error sqrt(pi / 2) sigma / sqrt(n)
    # (in log space), the sample standard deviation sigma / sqrt(2 n). Tolerance: 5 of each.
    assert abs(np.median(logs) - math.log(median)) < 5 * math.sqrt(math.pi / 2) * sigma / math.sqrt(n)
    assert abs(logs.std() - sigma) < 5 * sigma / math.sqrt(2 * n)
    assert draws.max() <= Lognormal(median, sigma, seed=2024).max_ns


def test_lognormal_rejects_bad_parameters():
    with pytest.raises(ValueError, match=r"^median must be >= 0, got -0.001$"):
        Lognormal(-0.001, 0.5)
    with pytest.raises(ValueError, match=r"^sigma must be >= 0, got -0.5$"):
        Lognormal(0.001, -0.5)
    with pytest.raises(ValueError, match=r"^sigma must be finite, got nan$"):
        Lognormal(0.001, math.nan)
    with pytest.raises(TypeError, match=r"^sigma must be a real number, got '0.5'$"):
        Lognormal(0.001, "0.5")
    # 1 ms * exp(4 * 8.5717) = 1e-3 * 10**(34.2868 / ln 10) = 7.773e11 s.
    with pytest.raises(ValueError, match=r"^median=0.001 and sigma=4.0 allow draws up to "
                                         r"7\.773e\+11 seconds \(median \* exp\(sigma \* 8.5717\)\), "
                                         r"more than 3155760000 seconds \(100 years\); lower "
                                         r"median or sigma$"):
        Lognormal(0.001, 4.0)
    with pytest.raises(ValueError, match=r"allow draws up to inf seconds"):
        Lognormal(0.001, 1e300)


# ---------------------------------------------------------------------------------------------
# Shared behaviour: sample(), pickling, repr, imports

def models():
    return [Constant(0.0042), Sampled([0.001, 0.002, 0.0035], seed=8),
            Lognormal(0.003, 0.8, seed=12345), Series([T0, T0 + SEC], [0.001, 0.004])]


def test_sample_rejects_bad_arguments():
    model = Constant(0.001)
    assert model.sample(0).tolist() == []
    with pytest.raises(ValueError, match=r"^n must be >= 0, got -1$"):
        model.sample(-1)
    with pytest.raises(ValueError, match=r"^n must be a whole number, got 2.5$"):
        model.sample(2.5)
    with pytest.raises(TypeError, match=r"^n must be an integer, got '2'$"):
        model.sample("2")
    assert model.sample(2.0).tolist() == [1_000_000, 1_000_000]
    assert model.sample(0, t=[]).tolist() == []
    with pytest.raises(ValueError, match=r"^t must be one time or n = 3 times, got 2$"):
        model.sample(3, t=[0, 1])
    with pytest.raises(ValueError, match=r"^t must be one time or n = 3 times, got 0$"):
        model.sample(3, t=[])
    with pytest.raises(TypeError, match=r"^t must be datetimes or int64 nanoseconds"):
        model.sample(1, t=1.5)


def test_unpickling_refuses_a_state_draw_could_not_read():
    # An instance made without __init__ draws 0 until it is filled; a state that would make
    # draw() divide by zero or read out of bounds is refused.
    assert Sampled.__new__(Sampled).sample(2).tolist() == [0, 0]
    assert Series.__new__(Series).sample(2, t=[-(2**63) + 1, 2**63 - 1]).tolist() == [0, 0]
    with pytest.raises(ValueError, match=r"^Sampled needs at least one value$"):
        Sampled.__new__(Sampled).__setstate__((np.array([], dtype=np.int64), 0, 0))
    with pytest.raises(ValueError, match=r"^Series needs as many values as times, and at least "
                                         r"one$"):
        Series.__new__(Series).__setstate__((np.array([1, 2]), np.array([5])))


@pytest.mark.parametrize("model", models(), ids=lambda m: type(m).__name__)
def test_pickling_keeps_the_stream(model):
    t = np.linspace(T0 - SEC, T0 + 2 * SEC, 500).astype(np.int64)
    expected = model.sample(500, t=t)
    copy = pickle.loads(pickle.dumps(model))
    assert type(copy) is type(model) and repr(copy) == repr(model)
    assert copy.max_ns == model.max_ns
    assert np.array_equal(copy.sample(500, t=t), expected)
    # The position in the stream travels too (sample() left it after 500 draws).
    assert str(model.__reduce__()[2]) == str(copy.__reduce__()[2])


def test_draws_are_the_same_in_another_process(tmp_path):
    code = ("import pickle, sys\n"
            "from mmsim.latency import Lognormal, Sampled\n"
            "out = [Lognormal(0.003, 0.8, seed=12345).sample(1000).tolist(),\n"
            "       Sampled([0.001, 0.002, 0.0035], seed=8).sample(1000).tolist(),\n"
            "       pickle.loads(sys.stdin.buffer.read()).sample(1000).tolist()]\n"
            "print(repr(out))\n")
    shipped = Lognormal(0.01, 0.3, seed=77)
    run = subprocess.run([sys.executable, "-c", code], input=pickle.dumps(shipped),
                         capture_output=True, check=True, cwd=tmp_path)
    assert eval(run.stdout) == [Lognormal(0.003, 0.8, seed=12345).sample(1000).tolist(),
                                Sampled([0.001, 0.002, 0.0035], seed=8).sample(1000).tolist(),
                                shipped.sample(1000).tolist()]


def test_reprs_are_exact_and_tell_models_apart():
    assert [repr(m) for m in models()] == [
        "Constant(0.0042)",
        "Sampled([0.001, 0.002, 0.0035], seed=8)",
        "Lognormal(median=0.003, sigma=0.8, seed=12345)",
        "Series(['2024-01-01T00:00:00+00:00', '2024-01-01T00:00:01+00:00'], [0.001, 0.004])",
    ]
    assert repr(Constant(1e-9)) == "Constant(0.000000001)"
    assert repr(Constant(86400)) == "Constant(86400)"
    # Long arrays are summarised with a digest of their content, so that two models with the
    # same ends still differ (sweep stores key runs by repr).
    a = Sampled(np.arange(1, 21) * 1e-3)
    b = Sampled(np.r_[1, np.arange(3, 22)] * 1e-3)
    assert repr(a).startswith("Sampled(<20 values, 0.001 to 0.02 s, digest ")
    assert repr(a) != repr(b) and repr(a) == repr(Sampled(np.arange(1, 21) * 1e-3))
    s = Series(T0 + np.arange(10) * SEC, np.ones(10) * 1e-3)
    assert repr(s).startswith("Series(<10 times, '2024-01-01T00:00:00+00:00' to "
                              "'2024-01-01T00:00:09+00:00', values 0.001 to 0.001 s, digest ")


def test_importing_the_module_does_not_import_the_engine(tmp_path):
    # The engine imports mmsim.latency; the reverse would be an import cycle.
    code = "import sys, mmsim.latency; print(sorted(m for m in sys.modules if m in " \
           "('mmsim.engine', 'mmsim.sweep', 'mmsim._core')))"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=tmp_path)     # the installed package, not the unbuilt sources
    assert run.stdout.strip() == "[]"
    assert latency.BUILD in ("release", "debug")
