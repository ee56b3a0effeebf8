"""The one numeric validator and the one duration parser every parameter goes through."""
import datetime
import math

import numpy as np
import pandas as pd
import pytest

from mmsim.checks import duration, number


@pytest.mark.parametrize("value, kwargs, expected", [
    (2, {}, 2.0), (np.float32(0.5), {}, 0.5), (np.int64(-3), {}, -3.0),
    (0, {"nonnegative": True}, 0.0), (1, {"minimum": 1}, 1.0),
    (4.0, {"integer": True}, 4), (None, {"allow_none": True}, None),
])
def test_number_accepts_finite_reals(value, kwargs, expected):
    got = number(value, "x", **kwargs)
    assert got == expected and type(got) is type(expected)


@pytest.mark.parametrize("value, kwargs, error, message", [
    ("1", {}, TypeError, "x must be a real number, got '1'"),
    (True, {}, TypeError, "x must be a real number, got True"),
    (np.bool_(False), {}, TypeError, f"x must be a real number, got {np.bool_(False)!r}"),
    (None, {}, TypeError, "x must be a real number, got None"),
    ("a", {"allow_none": True}, TypeError, "x must be a real number or None, got 'a'"),
    ("a", {"integer": True}, TypeError, "x must be an integer, got 'a'"),
    (math.nan, {}, ValueError, "x must be finite, got nan"),
    (-math.inf, {}, ValueError, "x must be finite, got -inf"),
    (10 ** 400, {}, ValueError, f"x must be finite, got {10 ** 400}"),
    (2.5, {"integer": True}, ValueError, "x must be a whole number, got 2.5"),
    (0, {"positive": True}, ValueError, "x must be > 0, got 0"),
    (-0.5, {"nonnegative": True}, ValueError, "x must be >= 0, got -0.5"),
    (0.5, {"minimum": 1}, ValueError, "x must be >= 1, got 0.5"),
])
def test_number_names_the_parameter_and_what_was_expected(value, kwargs, error, message):
    with pytest.raises(error) as info:
        number(value, "x", **kwargs)
    assert str(info.value) == message


@pytest.mark.parametrize("value, expected", [
    (3600, pd.Timedelta(hours=1)), (0.5, pd.Timedelta(milliseconds=500)),
    (np.int64(2), pd.Timedelta(seconds=2)), ("90min", pd.Timedelta(minutes=90)),
    (pd.Timedelta("1D"), pd.Timedelta(days=1)),
    (datetime.timedelta(seconds=3), pd.Timedelta(seconds=3)),
    # A timedelta64 counts its own unit, not seconds.
    (np.timedelta64(5, "ms"), pd.Timedelta(milliseconds=5)),
])
def test_duration_reads_a_bare_number_as_seconds(value, expected):
    assert duration(value, "span") == expected


@pytest.mark.parametrize("value", ["soon", None, True, math.nan, math.inf, np.timedelta64("NaT")])
def test_duration_refuses_what_is_not_a_span(value):
    with pytest.raises(ValueError) as info:
        duration(value, "span")
    assert str(info.value) == ("span must be a time span such as '1D' or '90min' (a bare number "
                               f"is seconds), got {value!r}")


@pytest.mark.parametrize("value", [0, "0s", -1])
def test_duration_positive(value):
    assert duration(value, "span") == pd.Timedelta(seconds=value if value != "0s" else 0)
    with pytest.raises(ValueError) as info:
        duration(value, "span", positive=True)
    assert str(info.value) == f"span must be a positive time span, got {value!r}"


def test_a_bare_number_is_seconds_everywhere():
    import mmsim
    from mmsim.data.bars import ohlcv
    from mmsim.data.synthetic import synthetic_funding, synthetic_taq
    from mmsim.estimators import EWMAVolatility, TradeIntensity

    assert mmsim.AvellanedaStoikov(5, 0.1, 5.0, horizon=3600)._horizon_ns == 3_600_000_000_000
    assert EWMAVolatility(10).halflife_ns == 10e9
    assert EWMAVolatility(0.5, unit=60).unit_ns == 60e9
    assert TradeIntensity([0.0, 1.0], window=20).window_ns == 20e9
    taq = synthetic_taq(duration=600, seed=3, resolution=1)
    assert taq.index[-1] - taq.index[0] <= pd.Timedelta(minutes=10)
    assert (taq.index.asi8 % 1_000_000_000 == 0).all()      # whole seconds
    pd.testing.assert_frame_equal(ohlcv(taq, 60), ohlcv(taq, "1min"))
    funding = synthetic_funding(synthetic_taq(duration="1D", seed=1), interval=8 * 3600)
    assert list(funding.index.hour) == [8, 16]         # 00:00 falls before the first tick
