"""Cases where the engine once disagreed with the reference model (tests/model.py) and the
design notes side with the model: the minimal scenario of each, with the values DESIGN.md
gives, run on the engine and on the model."""
import numpy as np
import pytest

import mmsim
from helpers import NOFEE, at, quote, run
from model import simulate

TICK_01 = mmsim.Contract(inverse=False, tick_size=0.1, lot_size=1.0, contract_size=1.0,
                         maker_fee=0.0, taker_fee=0.0)


def model_of(rows, sig_times, script, contract=NOFEE, **kwargs):
    import helpers
    kwargs.setdefault("latency", 0.5)
    return simulate(helpers.taq(rows), helpers.signals(*sig_times).index, script, contract, **kwargs)


SHORT_THEN_TWO_BIDS = dict(
    rows=[
        quote(0, 100.5, 0, 101.0, 0),
        quote(1.5, 99.5, 0, 101.0, 0),           # bid below 100: the 100 bid is at the front
        (3, 99.0, -5.0, 99.5, 0, 101.0, 0),      # one sell print through both of our bids
    ],
    sig_times=[0.5, 1.0, 2.0],
    steps=[[("market", -1.0)], [("limit", 100.0, 1.0, False)], [("limit", 100.5, 1.0, False)]],
)


def test_model_books_one_rows_fills_in_price_priority():
    # The model's side of the case below, so the expected values are checked, not only claimed.
    case = SHORT_THEN_TWO_BIDS
    m = model_of(case["rows"], case["sig_times"], case["steps"], latency=0.1, queue_position=0.0)
    assert [(f.order_id, f.price, f.amount, f.liquidity) for f in m.fills] == [
        (1, 100.5, -1.0, "taker"), (3, 100.5, 1.0, "maker"), (2, 100.0, 1.0, "maker")]
    assert [f.realized for f in m.fills] == [0.0, 0.0, 0.0]
    assert (m.account.position, m.account.entry, m.account.balance) == (1.0, 100.0, 1.0)


def test_one_rows_fills_are_booked_highest_bid_first():
    # Rule 4: "One row's fills are booked in price priority (a sell print reaches the highest
    # bids first), then time priority." Short 1 at 100.5; bids at 100 (sent first) and 100.5;
    # a print at 99 goes through both. The 100.5 bid is reached first and closes the short at
    # its entry (no PnL); the 100 bid then opens a long at 100. The engine books the 100 bid
    # first, realising 1 x (1/100.5 - 1/100) on the short and entering the long at 100.5.
    case = SHORT_THEN_TWO_BIDS
    res, _ = run(case["rows"], case["sig_times"],
                 *[lambda c, a=a: [c.market(x[1]) if x[0] == "market" else c.limit(x[1], x[2])
                                   for x in a] for a in case["steps"]],
                 latency=0.1, queue_position=0.0)
    fills = res.fills
    assert list(zip(fills.index, fills["order_id"], fills["price"], fills["amount"])) == [
        (at(0.6), 1, 100.5, -1.0), (at(3), 3, 100.5, 1.0), (at(3), 2, 100.0, 1.0)]
    assert fills["realized"].tolist() == [0.0, 0.0, 0.0]
    np.testing.assert_array_equal(res.positions["weighted_price"], [100.5, np.nan, 100.0])
    assert res.balances["total"].iloc[-1] == 1.0


def test_model_follow_price_is_the_grid_value():
    rows = [quote(0, 100.3, 5, 100.5, 5), (2, 100.0, -9.0, 100.3, 5, 100.5, 5)]
    m = model_of(rows, [1], [[("follow", 2, 3.0)]], contract=TICK_01)
    assert [(f.price, f.amount) for f in m.fills] == [(100.1, 3.0)]


def test_follow_fill_price_is_the_grid_value():
    # Rule 7: a buy follow at level 2 rests at best bid - 2 ticks = 100.3 - 0.2 = 100.1, a price
    # on the grid like every price the data and the strategy use. The engine reports
    # 1001 x 0.1 = 100.10000000000001, so its fills do not compare equal to 100.1 (a limit at
    # 100.1 filling on the same print would be recorded at a different price).
    rows = [quote(0, 100.3, 5, 100.5, 5), (2, 100.0, -9.0, 100.3, 5, 100.5, 5)]
    res, _ = run(rows, [1], lambda c: c.follow(2, 3.0), contract=TICK_01)
    assert res.fills["price"].tolist() == [100.1]
    assert res.orders["price"].tolist() == [100.1]


LOT_0001 = mmsim.Contract(inverse=False, tick_size=0.5, lot_size=0.001, contract_size=1.0,
                          maker_fee=0.0, taker_fee=0.0)
TWO_PARTIAL_FILLS = [
    quote(0, 100.0, 0, 100.5, 0),
    (1, 100.0, -0.011, 100.0, 0, 100.5, 0),      # nothing ahead: 11 lots of 12 fill
    (2, 100.0, -0.005, 100.0, 0, 100.5, 0),      # the last lot fills
]


def test_model_completing_fill_is_a_whole_number_of_lots():
    m = model_of(TWO_PARTIAL_FILLS, [0.5], [[("limit", 100.0, 0.012, False)]],
                 contract=LOT_0001, latency=0.1, balance=1000.0)
    assert [f.amount for f in m.fills] == [0.011, 0.001]


def test_completing_fill_is_a_whole_number_of_lots():
    # Rule 4: "Fills come in whole lots." A buy of 0.012 on a 0.001 lot fills 0.011, then its
    # last lot. The engine records the last fill as 0.012 - 0.011 = 0.0010000000000000009,
    # which is not 1 lot (0.001), so summing or grouping fill amounts by value goes wrong.
    res, _ = run(TWO_PARTIAL_FILLS, [0.5], lambda c: c.limit(100.0, 0.012), contract=LOT_0001,
                 latency=0.1, balance=1000.0)
    assert res.fills["amount"].tolist() == [0.011, 0.001]


FOLLOW_REJOINS_BEHIND_A_LIMIT = dict(
    rows=[
        quote(0, 100.0, 0, 101.0, 5),
        quote(2, 100.5, 0, 101.0, 5),            # the follow moves up to 100.5, behind the limit
        (3, 100.0, -5.0, 100.5, 0, 101.0, 5),    # a print through 100.5 fills both completely
    ],
    sig_times=[0.5, 1.0],
    steps=[[("follow", 0, 1.0)], [("limit", 100.5, 1.0, False)]],
)


def test_model_books_complete_fills_by_the_time_each_joined_the_price():
    case = FOLLOW_REJOINS_BEHIND_A_LIMIT
    m = model_of(case["rows"], case["sig_times"], case["steps"], latency=0.1, queue_position=0.0)
    assert [(f.time, f.order_id, f.price, f.amount) for f in m.fills] == [
        (at(3).value, 2, 100.5, 1.0), (at(3).value, 1, 100.5, 1.0)]


def test_complete_fills_at_one_price_are_booked_in_rejoin_order():
    # Rule 7: "among our own orders at one price, time priority is the moment each (re)joined
    # that price". The limit (sent second) joined 100.5 at 1.1; the follow (sent first) rejoined
    # 100.5 at 2. The print through 100.5 reaches the limit first. The engine books the follow
    # first (it respects the rejoin order for prints at the price, not for complete fills).
    case = FOLLOW_REJOINS_BEHIND_A_LIMIT
    res, _ = run(case["rows"], case["sig_times"], lambda c: c.follow(0, 1.0),
                 lambda c: c.limit(100.5, 1.0), latency=0.1, queue_position=0.0)
    assert list(zip(res.fills.index, res.fills["order_id"], res.fills["price"])) == [
        (at(3), 2, 100.5), (at(3), 1, 100.5)]
