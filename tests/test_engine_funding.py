"""Funding of a perpetual (DESIGN.md "Account"), on hand-worked scenarios."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import at, quote, run
from test_engine_margin import INV, LIN

# Marks (mids): 100.25 until 3, 101.25 from 3, 99.25 from 5.
ROWS = [quote(0, 100.0, 10, 100.5, 10), quote(3, 101.0, 10, 101.5, 10),
        quote(5, 99.0, 10, 99.5, 10), quote(7, 99.0, 10, 99.5, 10)]
FUNDING = pd.DataFrame({"rate": [0.0001, -0.0002, 0.0003]},
                       index=pd.DatetimeIndex([at(2), at(4), at(6)], name="time"))


@pytest.mark.parametrize("side", [1, -1])
def test_funding_on_a_long_and_a_short_at_three_times(side):
    res, _ = run(ROWS, [1], lambda c: c.market(side * 100), contract=INV, balance=1.0,
                 funding=FUNDING)
    q = side * 100.0
    # Paid by the account: rate x q x cs / mark (longs pay a positive rate).
    paid = [0.0001 * q / 100.25, -0.0002 * q / 101.25, 0.0003 * q / 99.25]
    table = res.funding
    assert table.index.tolist() == [at(2), at(4), at(6)]
    assert table["rate"].tolist() == [0.0001, -0.0002, 0.0003]
    assert table["mark"].tolist() == [100.25, 101.25, 99.25]
    assert table["position"].tolist() == [q, q, q]
    assert table["payment"].tolist() == paid
    # The balance pays it (no fees on this contract, nothing realised).
    assert res.balances.loc[at(6), "total"] == 1.0 - paid[0] - paid[1] - paid[2]
    stats = res.stats()
    assert stats["funding_pnl"] == pytest.approx(-sum(paid), rel=1e-12)
    # The decomposition still sums to the total, funding included.
    from mmsim.stats import pnl_decomposition
    d = pnl_decomposition(res)
    np.testing.assert_allclose(d["spread"] + d["inventory"] + d["fees"] + d["funding"],
                               d["total"], rtol=0, atol=1e-15)
    assert d["funding"].iloc[-1] == pytest.approx(-sum(paid), rel=1e-12)


def test_funding_linear_is_rate_times_position_value():
    res, _ = run(ROWS, [1], lambda c: c.market(50), contract=LIN, balance=10_000.0,
                 funding=FUNDING.iloc[:1])
    assert res.funding["payment"].tolist() == [0.0001 * 50 * 100.25]


def test_funding_applies_after_that_times_actions_and_before_the_call():
    # The buy sent at 1.5 goes live at 2, then funding at 2 charges the new position, then
    # the call at 2 sees the balance after it.
    seen = []
    res, _ = run(ROWS, [1.5, 2], lambda c: c.market(100),
                 lambda c: seen.append(c.balance), contract=INV, balance=1.0,
                 funding=FUNDING.iloc[:1])
    assert res.funding["position"].tolist() == [100.0]
    assert seen == [1.0 - 0.0001 * 100 / 100.25]


def test_flat_account_pays_nothing_and_funding_after_the_data_is_not_applied():
    late = pd.DataFrame({"rate": [0.001, 0.001]},
                        index=pd.DatetimeIndex([at(2), at(9)], name="time"))
    res, _ = run(ROWS, [1], lambda c: None, contract=INV, balance=1.0, funding=late)
    assert res.funding["payment"].tolist() == [0.0]
    assert res.funding.index.tolist() == [at(2)]


@pytest.mark.parametrize("frame, error, message", [
    (pd.DataFrame({"r": [0.1]}, index=pd.DatetimeIndex([at(2)], name="time")), TypeError,
     r"funding must be a DataFrame with a time index and a 'rate' column, got DataFrame "
     r"with columns \['r'\]"),
    (pd.DataFrame({"rate": [np.nan]}, index=pd.DatetimeIndex([at(2)], name="time")),
     mmsim.SchemaError, r"funding column 'rate' is nan at row 0"),
    (pd.DataFrame({"rate": [0.1, 0.1]}, index=pd.DatetimeIndex([at(3), at(2)], name="time")),
     mmsim.SchemaError, r"^funding times must be non-decreasing: row 1 \(2019-04-01 "
                        r"00:00:02\+00:00\) comes before row 0"),
])
def test_bad_funding_frames_are_named(frame, error, message):
    with pytest.raises(error, match=message):
        run(ROWS, [1], lambda c: None, contract=INV, funding=frame)


def test_the_strategy_reads_the_funding_received():
    seen = []
    run(ROWS, [1, 4.5], lambda c: c.market(-100), lambda c: seen.append(c.funding),
        contract=INV, balance=1.0, funding=FUNDING)
    # Short 100: receives 0.0001 x 100 / 100.25 at 2, pays 0.0002 x 100 / 101.25 at 4.
    assert seen == [0.0 + 0.0001 * 100 / 100.25 - 0.0002 * 100 / 101.25]


def test_synthetic_funding_every_eight_hours_within_the_data():
    from mmsim.data.synthetic import FUNDING_CAP, synthetic_funding
    index = pd.DatetimeIndex([pd.Timestamp("2019-04-01 03:00", tz="UTC"),
                              pd.Timestamp("2019-04-02 09:00", tz="UTC")], name="time")
    frame = synthetic_funding(pd.DataFrame(index=index), seed=3)
    assert frame.index.tolist() == [pd.Timestamp(t, tz="UTC") for t in (
        "2019-04-01 08:00", "2019-04-01 16:00", "2019-04-02 00:00", "2019-04-02 08:00")]
    expected = np.clip(np.random.default_rng(3).normal(0.0001, 0.0002, 4), -FUNDING_CAP,
                       FUNDING_CAP)
    assert frame["rate"].tolist() == expected.tolist()
    capped = synthetic_funding(pd.DataFrame(index=index), seed=3, mean=0.01, std=0.0)
    assert (capped["rate"] == FUNDING_CAP).all()


def test_a_run_file_with_synthetic_funding_pays_it():
    from mmsim.config import execute, parse_config
    config = parse_config({
        "data": {"synthetic": {"duration": "1D", "seed": 1},
                 "funding": {"synthetic": {"seed": 2}}},
        "strategy": {"name": "Symmetric", "params": {"max_size": 5, "gamma": 0.1, "k": 5}},
    })
    result = execute(config)
    assert len(result.funding) == 2                # 08:00 and 16:00 of the day
    assert result.stats()["funding_pnl"] == pytest.approx(-result.funding["payment"].sum(),
                                                          rel=1e-12)


def test_a_mark_price_column_values_margin_and_funding():
    from helpers import taq
    frame = taq(ROWS)
    frame["mark_price"] = [110.0, np.nan, 120.0, 120.0]    # NaN: the mid (101.25) there
    sig = pd.DataFrame({"x": [0.0, 0.0]}, index=pd.DatetimeIndex([at(1), at(4)], name="time"))
    from helpers import Script
    res = mmsim.backtest(frame, sig, Script(lambda c: c.market(100)), contract=INV,
                         balance=1.0, funding=FUNDING)
    assert res.funding["mark"].tolist() == [110.0, 101.25, 120.0]
    assert res.funding["payment"].tolist() == [0.0001 * 100 / 110.0, -0.0002 * 100 / 101.25,
                                               0.0003 * 100 / 120.0]
    assert res.balances["mark"].tolist()[:2] == [110.0, 110.0]


def test_a_bad_mark_price_is_named(tmp_path):
    from helpers import taq
    frame = taq(ROWS)
    frame["mark_price"] = [110.0, -1.0, 120.0, 120.0]
    sig = pd.DataFrame({"x": [0.0]}, index=pd.DatetimeIndex([at(1)], name="time"))
    with pytest.raises(mmsim.SchemaError, match=r"^taq column 'mark_price' is -1.0 at row 1 "
                                                r"\(2019-04-01 00:00:03\+00:00\); a mark price"):
        mmsim.align(frame, sig)
    frame["mark_price"] = [110.0, np.nan, 120.0, 120.0]
    back = mmsim.read_taq(mmsim.write_taq(frame, tmp_path / "t.parquet", by_day=False))
    np.testing.assert_array_equal(back["mark_price"].to_numpy(), frame["mark_price"].to_numpy())
