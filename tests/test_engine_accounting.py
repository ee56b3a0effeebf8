"""Fees (rule 8) and inverse/linear accounting (rule 9), worked out by hand."""
import numpy as np
import pytest

import mmsim
from helpers import at, quote, run

XBT = mmsim.BITMEX_XBTUSD


def test_bitmex_maker_rebate_and_inverse_round_trip():
    rows = [
        quote(0, 4000.0, 5000, 4000.5, 5000),
        (2, 4000.0, -6000.0, 4000.0, 5000, 4000.5, 5000),   # 5000 ahead, our 1000 fill
        quote(2.5, 4099.5, 100, 4100.0, 3000),
        (4, 4100.0, 4000.0, 4099.5, 100, 4100.0, 3000),     # 3000 ahead, our 1000 fill
    ]
    res, _ = run(rows, [1, 3], lambda c: c.limit(4000.0, 1000), lambda c: c.limit(4100.0, -1000),
                 contract=XBT, balance=1.0)
    rebate_in = 1000 / 4000 * -0.00025            # fee = |q| x cs / price x rate (BTC)
    rebate_out = 1000 / 4100 * -0.00025
    realized = 1000 * (1 / 4000 - 1 / 4100)       # q x cs x (1/E - 1/X)
    assert res.fills["fee"].tolist() == pytest.approx([rebate_in, rebate_out], rel=1e-12)
    assert res.fills["realized"].tolist() == pytest.approx([0.0, realized], rel=1e-12)
    assert res.fills["liquidity"].tolist() == ["maker", "maker"]
    assert res.positions["amount"].tolist() == [1000.0, 0.0]
    np.testing.assert_array_equal(res.positions["weighted_price"], [4000.0, np.nan])  # flat
    final = 1.0 + realized - rebate_in - rebate_out
    assert res.balances["total"].iloc[-1] == pytest.approx(final, rel=1e-12)
    assert final == pytest.approx(1.0062210365853659, rel=1e-12)
    # NAV after the first fill: (balance + 1000 x (1/4000 - 1/mid)) x mid, mid = 4000.25
    nav = (1.0 - rebate_in + 1000 * (1 / 4000 - 1 / 4000.25)) * 4000.25
    assert res.balances.loc[at(2), "nav"] == pytest.approx(nav, rel=1e-12)
    assert res.orders["fee"].tolist() == pytest.approx([rebate_in, rebate_out], rel=1e-12)


def test_taker_fee_on_a_market_order():
    rows = [quote(0, 4000.0, 5000, 4000.5, 5000), quote(2, 4000.0, 5000, 4000.5, 5000)]
    res, _ = run(rows, [1], lambda c: c.market(1000), contract=XBT)
    fee = 1000 / 4000.5 * 0.00075
    assert res.fills["fee"].tolist() == pytest.approx([fee], rel=1e-12)
    assert res.fills["liquidity"].tolist() == ["taker"]
    assert res.balances["total"].iloc[-1] == pytest.approx(1.0 - fee, rel=1e-12)


def test_inverse_entry_price_is_the_harmonic_mean_and_partial_close_keeps_it():
    rows = [
        quote(0, 4000.0, 10, 4000.5, 10),
        quote(1.2, 4999.5, 10, 5000.0, 10),
        quote(2.2, 4499.5, 10, 4500.0, 10),
        quote(3.5, 4499.5, 10, 4500.0, 10),
    ]
    # buy 1000 at 4000.5 (ask), buy 1000 at 5000 (ask), sell 500 at 4499.5 (bid); no fees
    res, _ = run(rows, [0.5, 1.5, 2.5], lambda c: c.market(1000), lambda c: c.market(1000),
                 lambda c: c.market(-500))
    entry = 2000 / (1000 / 4000.5 + 1000 / 5000.0)
    assert res.positions["weighted_price"].tolist() == pytest.approx([4000.5, entry, entry], rel=1e-12)
    assert res.positions["amount"].tolist() == [1000.0, 2000.0, 1500.0]
    realized = 500 * (1 / entry - 1 / 4499.5)
    assert res.fills["realized"].iloc[-1] == pytest.approx(realized, rel=1e-12)


def test_position_flip_opens_the_remainder_at_the_fill_price():
    rows = [quote(0, 4000.0, 10, 4000.5, 10), quote(1.2, 4100.0, 10, 4100.5, 10),
            quote(3, 4100.0, 10, 4100.5, 10)]
    res, _ = run(rows, [0.5, 1.0], lambda c: c.market(100), lambda c: c.market(-300))
    assert res.positions["amount"].tolist() == [100.0, -200.0]
    assert res.positions["weighted_price"].tolist() == [4000.5, 4100.0]
    assert res.fills["realized"].iloc[-1] == pytest.approx(100 * (1 / 4000.5 - 1 / 4100.0), rel=1e-12)


def test_linear_contract_pnl_fees_and_nav():
    usdt = mmsim.BINANCE_BTCUSDT
    rows = [
        quote(0, 60000.0, 2.0, 60000.1, 2.0),
        (2, 60000.0, -3.0, 60000.0, 2.0, 60000.1, 2.0),       # 2.0 ahead, 0.5 of ours fills
        quote(2.5, 60099.9, 1.0, 60100.0, 1.0),
        (4, 60100.0, 1.7, 60099.9, 1.0, 60100.0, 1.0),        # 1.0 ahead, 0.5 fills
    ]
    res, _ = run(rows, [1, 3], lambda c: c.limit(60000.0, 0.5), lambda c: c.limit(60100.0, -0.5),
                 contract=usdt, balance=10000.0)
    fee_in, fee_out = 0.5 * 60000.0 * 0.0002, 0.5 * 60100.0 * 0.0002   # |q| x cs x price x rate
    assert res.fills["fee"].tolist() == pytest.approx([fee_in, fee_out], rel=1e-12)
    assert res.fills["realized"].tolist() == pytest.approx([0.0, 50.0], rel=1e-9)  # 0.5 x 100
    assert res.balances["total"].iloc[-1] == pytest.approx(10000.0 + 50.0 - fee_in - fee_out, rel=1e-12)
    # NAV after the buy: balance + 0.5 x (mid - 60000), mid = 60000.05
    assert res.balances.loc[at(2), "nav"] == pytest.approx(10000.0 - fee_in + 0.5 * 0.05, rel=1e-12)
    assert res.positions["amount"].tolist() == [0.5, 0.0]


def test_lot_grid_partial_fills_on_a_linear_contract():
    usdt = mmsim.BINANCE_BTCUSDT
    rows = [quote(0, 60000.0, 0.0, 60000.1, 2.0),
            (2, 60000.0, -0.0075, 60000.0, 0.0, 60000.1, 2.0)]
    # queue 0; a print of 0.0075 BTC fills 0.007 (whole lots of 0.001)
    res, _ = run(rows, [1], lambda c: c.limit(60000.0, 0.01), contract=usdt, balance=1000.0)
    assert res.fills["amount"].tolist() == pytest.approx([0.007], abs=1e-15)


def test_balances_recorded_at_every_signal_and_fill():
    rows = [quote(0, 100.0, 0, 100.5, 10), (1.7, 100.0, -1.0, 100.0, 0, 100.5, 10),
            quote(3, 100.0, 0, 100.5, 10)]
    res, _ = run(rows, [1, 2, 2.5], lambda c: c.limit(100.0, 1))
    assert list(res.balances.index) == [at(1), at(1.7), at(2), at(2.5)]
    assert list(res.positions.index) == [at(1.7)]
