"""The reference model (tests/model.py) on hand-worked cases of the design notes.

The property tests compare the engine with the model; these pin the model itself to values
worked out from DESIGN.md, so that the two cannot drift together.
"""
import math

import pytest

import helpers
import mmsim
from helpers import NAN, NOFEE, at, quote
from model import Account, grid, simulate


def model(rows, sig_times, script, contract=NOFEE, **kwargs):
    kwargs.setdefault("latency", 0.5)
    return simulate(helpers.taq(rows), helpers.signals(*sig_times).index, script, contract,
                    **kwargs)


def fills(m):
    return [(f.time, f.order_id, f.price, f.amount, f.liquidity) for f in m.fills]


def ns(seconds):
    return at(seconds).value


def test_queue_then_partial_fill():
    # rules 3-4: 300 ahead; prints of 200 and 150 at our price leave 50 of ours filled
    rows = [quote(0, 100.0, 300, 100.5, 500), (2, 100.0, -200.0, 100.0, 300, 100.5, 500),
            (3, 100.0, -150.0, 100.0, 100, 100.5, 500)]
    m = model(rows, [1], [[("limit", 100.0, 100.0, False)]])
    assert fills(m) == [(ns(3), 1, 100.0, 50.0, "maker")]
    assert (m.orders[1].status, m.orders[1].queue, m.orders[1].arrived) == ("live", 0.0, ns(1.5))


def test_one_print_is_shared_in_time_priority():
    # rule 4: A (50 ahead) takes 70 of 120 -> 30; B (80 ahead) sees 120 - 30 = 90 -> 10
    rows = [quote(0, 100.0, 50, 100.5, 10), quote(1.7, 100.0, 80, 100.5, 10),
            (3, 100.0, -120.0, 100.0, 80, 100.5, 10), (4, 100.0, -100.0, 100.0, 0, 100.5, 10)]
    m = model(rows, [1, 2], [[("limit", 100.0, 30.0, False)], [("limit", 100.0, 40.0, False)]])
    assert [(t, o, a) for t, o, _, a, _ in fills(m)] == [
        (ns(3), 1, 30.0), (ns(3), 2, 10.0), (ns(4), 2, 30.0)]


def test_fractional_queue_leaves_its_odd_part_unfilled():
    # rule 4: 0.5 x 5 = 2.5 ahead; a print of 6 fills 3 whole lots of the first order; the
    # second (2.5 ahead) sees 3 and fills nothing (the half lot stays unfilled)
    rows = [quote(0, 100.0, 5, 100.5, 5), (1, 100.0, -6.0, 100.0, 5, 100.5, 5)]
    m = model(rows, [0.5], [[("limit", 100.0, 10.0, False), ("limit", 100.0, 10.0, False)]],
              latency=0.1, queue_position=0.5)
    assert [(o, a) for _, o, _, a, _ in fills(m)] == [(1, 3.0)]
    assert (m.orders[1].queue, m.orders[2].queue) == (0.0, 0.0)


def test_below_the_best_waits_for_the_bid():
    # rule 3: queue unknown until the bid reaches 99.5 with 60 displayed
    rows = [quote(0, 100.0, 10, 100.5, 10), (2, 99.5, -100.0, 100.0, 10, 100.5, 10),
            quote(3, 99.5, 60, 100.0, 10), (4, 99.5, -62.0, 99.5, 60, 100.0, 10)]
    m = model(rows, [1], [[("limit", 99.5, 5.0, False)]])
    assert fills(m) == [(ns(4), 1, 99.5, 2.0, "maker")]


def test_quote_rules():
    # rule 5: size drops below the queue; the ask falls to our bid
    rows = [quote(0, 100.0, 300, 100.5, 10), quote(2, 100.0, 120, 100.5, 10),
            (3, 100.0, -150.0, 100.0, 120, 100.5, 10), quote(4, 99.5, 10, 100.0, 10)]
    m = model(rows, [1], [[("limit", 100.0, 100.0, False)]])
    assert fills(m) == [(ns(3), 1, 100.0, 30.0, "maker"), (ns(4), 1, 100.0, 70.0, "maker")]
    assert m.fills[1].cause == "cross"


def test_market_orders_slippage_and_no_quote():
    # rule 6: the buy decides at ask 100.5 and fills at 101 (0.5 worse); no quote: rejected
    rows = [(0, 100.0, 5.0, NAN, NAN, NAN, NAN), quote(1.2, 100.5, 10, 101.0, 10),
            quote(3, 100.5, 10, 101.0, 10)]
    m = model(rows, [0.5, 1.3], [[("market", 5.0)], [("market", -2.0)]], latency=0.5)
    assert (m.orders[1].status, m.orders[1].reason) == ("rejected", "no_quote")
    assert fills(m) == [(ns(1.8), 2, 100.5, -2.0, "taker")]
    assert m.orders[2].slippage == 0.0


def test_post_only_and_taker_limits():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10)]
    m = model(rows, [1], [[("limit", 100.5, 4.0, True), ("limit", 101.0, 4.0, False)]])
    assert (m.orders[1].status, m.orders[1].reason, m.orders[1].closed) == (
        "rejected", "post_only", ns(1.5))
    assert fills(m) == [(ns(1.5), 2, 100.5, 4.0, "taker")]


def test_follow_moves_and_rejoins_the_back():
    # rule 7: the peg moves to 100.5 behind 20; a print of 25 there fills 5
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.5, 20, 101.0, 10),
            (3, 100.5, -25.0, 100.5, 20, 101.0, 10)]
    m = model(rows, [1], [[("follow", 0, 5.0)]])
    assert fills(m) == [(ns(3), 1, 100.5, 5.0, "maker")]


def test_ties_and_cancels():
    # rule 2: the row at 1.5 comes before the order going live at 1.5 (700 ahead); a cancel
    # taking effect before its order arrives means it never works
    rows = [quote(0, 100.0, 10, 101.0, 10), quote(1.5, 100.5, 700, 101.0, 10),
            (3, 99.0, -50.0, 100.5, 700, 101.0, 10)]
    m = model(rows, [1, 1.2], [[("limit", 100.5, 1.0, False), ("limit", 100.0, 1.0, False)],
                               [("cancel", 2), ("cancel", 7)]],
              latency=0.5, cancel_latency=0.1)
    assert m.orders[1].queue == 700.0
    assert (m.orders[2].status, m.orders[2].closed, m.orders[2].arrived) == (
        "cancelled", ns(1.3), None)
    assert m.unknown_cancels == [(1, 7)]
    assert fills(m) == [(ns(3), 1, 100.5, 1.0, "maker")]


def test_bitmex_rebates_and_inverse_round_trip():
    # rules 8-9, the accounting test's round trip: the balance ends at 1.0062210365853659
    rows = [quote(0, 4000.0, 5000, 4000.5, 5000), (2, 4000.0, -6000.0, 4000.0, 5000, 4000.5, 5000),
            quote(2.5, 4099.5, 100, 4100.0, 3000), (4, 4100.0, 4000.0, 4099.5, 100, 4100.0, 3000)]
    m = model(rows, [1, 3], [[("limit", 4000.0, 1000.0, False)], [("limit", 4100.0, -1000.0, False)]],
              contract=mmsim.BITMEX_XBTUSD)
    assert [f.fee for f in m.fills] == pytest.approx([-1000 / 4000 * 0.00025, -1000 / 4100 * 0.00025],
                                                     rel=1e-12)
    assert m.fills[1].realized == pytest.approx(1000 * (1 / 4000 - 1 / 4100), rel=1e-12)
    assert m.account.balance == pytest.approx(1.0062210365853659, rel=1e-12)
    assert (m.account.position, m.account.entry) == (0.0, 0.0)


def test_account_harmonic_entry_flip_and_linear_pnl():
    inverse = Account(inverse=True, contract_size=1.0, lot_size=1.0, balance=1.0)
    inverse.book(1000, 4000.5, 0.0)
    inverse.book(1000, 5000.0, 0.0)
    entry = 2000 / (1000 / 4000.5 + 1000 / 5000.0)
    assert inverse.entry == pytest.approx(entry, rel=1e-15)
    assert inverse.book(-2500, 4499.5, 0.0) == pytest.approx(2000 * (1 / entry - 1 / 4499.5),
                                                            rel=1e-12)
    assert (inverse.position, inverse.entry) == (-500.0, 4499.5)       # the rest opens a short
    linear = Account(inverse=False, contract_size=0.01, lot_size=0.001, balance=100.0)
    linear.book(500, 60000.0, 1.5)                                     # 0.5 at 60000
    assert linear.book(-500, 60100.0, 0.0) == pytest.approx(0.5 * 0.01 * 100.0, rel=1e-12)
    assert linear.balance == pytest.approx(100.0 + 0.5 - 1.5, rel=1e-15)
    assert linear.fee(500, 60000.0, 0.0002) == pytest.approx(0.5 * 0.01 * 60000.0 * 0.0002,
                                                             rel=1e-15)


def test_grid_is_the_nearest_float_to_the_decimal():
    assert grid(1001, 0.1) == 100.1 != 1001 * 0.1
    assert grid(9, 0.001) == 0.009 and grid(8001, 0.5) == 4000.5
    assert math.isclose(grid(7, 0.3), 2.1)
