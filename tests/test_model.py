"""The reference model (tests/model.py) on hand-worked cases of the design notes.

The property tests compare the engine with the model; these pin the model itself to values
worked out from DESIGN.md, so that the two cannot drift together.
"""
import math

import pytest

import helpers
import mmsim
from helpers import NAN, NOFEE, at, quote
from model import Account, grid, queue_step, simulate


def model(rows, sig_times, script, contract=NOFEE, **kwargs):
    kwargs.setdefault("latency", 0.5)
    return simulate(helpers.taq(rows), helpers.signals(*sig_times).index, script, contract,
                    **kwargs)


def fills(m):
    return [(f.time, f.order_id, f.price, f.amount, f.liquidity) for f in m.fills]


def caused(m):
    return [(f.time, f.order_id, f.price, f.amount, f.cause) for f in m.fills]


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
    # rule 2: the row at 1.5 comes before the order going live at 1.5 (700 ahead).
    # Changed with "Latency models": a cancel taking effect (1.3) before its order arrives (1.5)
    # is rejected as unknown, as an exchange does, and the order still goes live at 1.5 (it
    # used to be cancelled before it worked). Order 2 rests below the best at 100 (queue
    # unknown); the print at 99 goes through both bids: 100.5 first (price priority), then 100.
    rows = [quote(0, 100.0, 10, 101.0, 10), quote(1.5, 100.5, 700, 101.0, 10),
            (3, 99.0, -50.0, 100.5, 700, 101.0, 10)]
    m = model(rows, [1, 1.2], [[("limit", 100.5, 1.0, False), ("limit", 100.0, 1.0, False)],
                               [("cancel", 2), ("cancel", 7)]],
              latency=0.5, cancel_latency=0.1)
    assert m.orders[1].queue == 700.0
    assert (m.orders[2].status, m.orders[2].arrived, m.orders[2].closed) == (
        "filled", ns(1.5), ns(3))
    assert (m.orders[2].rejected_actions, m.orders[2].cancel_sent) == (1, ns(1.2))
    assert m.unknown_cancels == [(1, 7)]
    assert fills(m) == [(ns(3), 1, 100.5, 1.0, "maker"), (ns(3), 2, 100.0, 1.0, "maker")]


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


# -- queue models (DESIGN "Queue models") -------------------------------------------------------

# 0.75 x 400 = 300 ahead at 100; the bid size drops to 300 with no print; then a print of 250.
SHRINK = [quote(0, 100.0, 400, 100.5, 10), quote(2, 100.0, 300, 100.5, 10),
          (3, 100.0, -250.0, 100.0, 300, 100.5, 10)]


def test_power_queue_model_is_the_design_worked_example():
    # PowerProb(2): A 300, S 400 -> 300, no print: chg = 100, B = 100, s = 300^2 / (300^2 +
    # 100^2) = 0.9, A = 300 - 90 + min(100 - 10, 0) = 210. Row 3: 300 -> 300, A stays 210; the
    # print of 250 leaves 40 for us. RiskAverse keeps A = min(300, 300) = 300: no fill, 50 left.
    assert queue_step(("power", 2), 300.0, 400.0, 300.0, 0.0) == 210.0
    m = model(SHRINK[:2], [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model=("power", 2))
    assert m.orders[1].queue == 210.0
    m = model(SHRINK, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model=("power", 2))
    assert caused(m) == [(ns(3), 1, 100.0, 40.0, "queue")]
    m = model(SHRINK, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75)
    assert (fills(m), m.orders[1].queue) == ([], 50.0)


def test_log_queue_model():
    # LogProb: s = ln 301 / (ln 301 + ln 101) = 0.55290..., B - (1 - s) x 100 = 100 s > 0, so
    # A = 300 - 100 s = 244.709...; the print of 250 leaves 5.29..., 5 whole lots.
    s = math.log(301.0) / (math.log(301.0) + math.log(101.0))
    m = model(SHRINK[:2], [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model="log")
    assert m.orders[1].queue == pytest.approx(300.0 - 100.0 * s, rel=1e-15)
    assert 244.70 < m.orders[1].queue < 244.72
    m = model(SHRINK, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model="log")
    assert caused(m) == [(ns(3), 1, 100.0, 5.0, "queue")]


def test_callable_front_share():
    # A Python front_share(A, B) -> s is called with A = 300, B = 100 on row 2.
    # s = 0: A = 300 - 0 + min(100 - 100, 0) = 300, the risk-averse answer (no fill at row 3);
    # s = 1: A = 300 - 100 + min(100 - 0, 0) = 200; the print of 250 fills 50.
    seen = []

    def nobody_ahead_leaves(a, b):
        seen.append((a, b))
        return 0.0

    m = model(SHRINK, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model=nobody_ahead_leaves)
    assert (seen, fills(m), m.orders[1].queue) == ([(300.0, 100.0)], [], 50.0)
    m = model(SHRINK, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model=lambda a, b: 1.0)
    assert caused(m) == [(ns(3), 1, 100.0, 50.0, "queue")]
    with pytest.raises(ValueError):
        model(SHRINK, [1], [[]], queue_model="nope")
    with pytest.raises(ValueError):
        model(SHRINK, [1], [[]], fill_bound="all")


def test_prints_explain_part_of_the_decrease():
    # PowerProb(2), A = 300 (0.75 x 400). Row 2: 400 -> 400, chg 0; its print of 100 at 100
    # takes A to 200. Row 3, T = 100:
    #   size 300: chg = 400 - 300 - 100 = 0, the print explains it all: A = min(200, 300) = 200;
    #   size 250: chg = 50, B = max(400 - 200, 0) = 200 (DESIGN's formula, with A after the
    #   print), s = 200^2 / (200^2 + 200^2) = 0.5, A = 200 - 25 + min(200 - 25, 0) = 175.
    def run(size):
        rows = [quote(0, 100.0, 400, 100.5, 10), (2, 100.0, -100.0, 100.0, 400, 100.5, 10),
                quote(3, 100.0, size, 100.5, 10)]
        return model(rows, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
                     queue_model=("power", 2))
    assert run(300).orders[1].queue == 200.0
    assert run(250).orders[1].queue == 175.0
    assert fills(run(250)) == []


def test_queue_model_needs_the_previous_size_at_the_best():
    # PowerProb(2), A = 300. Row 2: the best bid moves up to 100.5 (500 shown), our 100 is
    # behind it (A kept). Row 3: the best is back at 100 with 350: S_prev is unknown (100 was
    # not the best on row 2), so A = min(300, 350) = 300; not the 300 - 45 = 255 of a known
    # 400 -> 350, nor the 196.15... that taking row 2's 500 at 100.5 as S_prev would give.
    rows = [quote(0, 100.0, 400, 100.5, 10), quote(2, 100.5, 500, 101.0, 10),
            quote(3, 100.0, 350, 100.5, 10)]
    m = model(rows, [1], [[("limit", 100.0, 100.0, False)]], queue_position=0.75,
              queue_model=("power", 2))
    assert m.orders[1].queue == 300.0
    assert queue_step(("power", 2), 300.0, 400.0, 350.0, 0.0) == 255.0


# -- fill bounds and causes (DESIGN "Fill bounds") ----------------------------------------------

def test_every_fill_records_its_cause():
    # 1: buy 100 at the front (bid size 0) fills 1 on the print at 100 (queue); 2: market buy
    # takes the ask 100.5 at 1.5 (taker); 3: sell 101 behind the ask, the buyer print at 101.5
    # goes through it (through); 4: buy 100 live at 3 (front), the ask falls to 100 (cross).
    rows = [quote(0, 100.0, 0, 100.5, 10), (2, 100.0, -1.0, 100.0, 0, 100.5, 10),
            (3, 101.5, 1.0, 100.0, 0, 100.5, 10), quote(4, 99.5, 5, 100.0, 5)]
    m = model(rows, [1, 2.5], [[("limit", 100.0, 1.0, False), ("market", 1.0),
                                ("limit", 101.0, -1.0, False)], [("limit", 100.0, 1.0, False)]])
    assert caused(m) == [(ns(1.5), 2, 100.5, 1.0, "taker"), (ns(2), 1, 100.0, 1.0, "queue"),
                         (ns(3), 3, 101.0, -1.0, "through"), (ns(4), 4, 100.0, 1.0, "cross")]
    assert [f.liquidity for f in m.fills] == ["taker", "maker", "maker", "maker"]


def test_prints_bound_fills_through_our_price():
    # Bids: 1 at 100 (3 lots, below the best: queue unknown), 2 at 100.5 (4 lots, front).
    # A sell print of 5 at 99 goes through both. "none": both fill completely. "prints": 5 in
    # price priority: 4 to the 100.5 bid, 1 to the 100 bid, which stays with A = 0 (the print
    # emptied its level); the print of 2 at 100 on row 3 fills its last 2 (queue).
    rows = [quote(0, 100.5, 0, 101.0, 10), (2, 99.0, -5.0, 100.5, 0, 101.0, 10),
            (3, 100.0, -2.0, 100.0, 0, 101.0, 10)]
    script = [[("limit", 100.0, 3.0, False), ("limit", 100.5, 4.0, False)]]
    m = model(rows, [1], script)
    assert caused(m) == [(ns(2), 2, 100.5, 4.0, "through"), (ns(2), 1, 100.0, 3.0, "through")]
    m = model(rows[:2], [1], script, fill_bound="prints")
    assert (m.orders[1].status, m.orders[1].filled, m.orders[1].queue) == ("live", 1, 0.0)
    m = model(rows, [1], script, fill_bound="prints")
    assert caused(m) == [(ns(2), 2, 100.5, 4.0, "through"), (ns(2), 1, 100.0, 1.0, "through"),
                         (ns(3), 1, 100.0, 2.0, "queue")]


def test_prints_bound_counts_the_orders_at_the_print_price_too():
    # 1: buy 5 at the best 100, 1 ahead (queue_position 1 x 1); 2: buy 4 at 100.5, a new level
    # (front). A sell print of 6 at 100 goes through 100.5 and reaches 100.
    # "none": 4 through; at 100 the whole 6 meets the queue of 1: 5 fill.
    # "prints": 4 through, 6 - 4 = 2 left for 100: 1 consumes the queue, 1 fills.
    rows = [quote(0, 100.0, 1, 101.0, 10), (2, 100.0, -6.0, 100.0, 1, 101.0, 10)]
    script = [[("limit", 100.0, 5.0, False), ("limit", 100.5, 4.0, False)]]
    assert caused(model(rows, [1], script)) == [
        (ns(2), 2, 100.5, 4.0, "through"), (ns(2), 1, 100.0, 5.0, "queue")]
    assert caused(model(rows, [1], script, fill_bound="prints")) == [
        (ns(2), 2, 100.5, 4.0, "through"), (ns(2), 1, 100.0, 1.0, "queue")]


def test_prints_bound_a_crossing_quote_fills_nothing():
    # Buy 5 at 100 behind 10. Row 2: the ask falls to 100. "none": filled (cross). "prints":
    # A = 0 and no fill; row 3's buyer print at 100 lifts asks, not our bid; row 4's sell print
    # of 2 at 100 fills 2 (queue); row 5's sell print of 9 at 99 fills the last 3 (through).
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 99.5, 10, 100.0, 20),
            (3, 100.0, 3.0, 99.5, 10, 100.0, 20), (4, 100.0, -2.0, 99.5, 10, 100.0, 20),
            (5, 99.0, -9.0, 99.0, 10, 99.5, 20)]
    script = [[("limit", 100.0, 5.0, False)]]
    assert caused(model(rows, [1], script)) == [(ns(2), 1, 100.0, 5.0, "cross")]
    m = model(rows[:3], [1], script, fill_bound="prints")
    assert (fills(m), m.orders[1].queue) == ([], 0.0)
    assert caused(model(rows, [1], script, fill_bound="prints")) == [
        (ns(4), 1, 100.0, 2.0, "queue"), (ns(5), 1, 100.0, 3.0, "through")]


# -- amend (DESIGN "Amend, time in force, reduce-only") ----------------------------------------

# Buy 100 at 100 behind 300 (live 1.5). Row 2's print of 200 leaves 100 ahead. An amend sent
# at 2.2 takes effect at 2.7 (amend_latency defaults to cancel_latency, which defaults to
# latency). Row 3: 300 -> 300 with T = 200 (chg < 0), A = min(A, 300); a print of 320.
AMEND_ROWS = [quote(0, 100.0, 300, 100.5, 10), (2, 100.0, -200.0, 100.0, 300, 100.5, 10),
              (3, 100.0, -320.0, 100.0, 300, 100.5, 10)]


def test_amend_amount_keeps_or_loses_the_place():
    # No amend: A = 100 at row 3, 220 left over: the 100 fill.
    m = model(AMEND_ROWS, [1], [[("limit", 100.0, 100.0, False)]])
    assert fills(m) == [(ns(3), 1, 100.0, 100.0, "maker")]
    # Smaller (80): same place, A = 100; fills its 80.
    m = model(AMEND_ROWS, [1, 2.2], [[("limit", 100.0, 100.0, False)], [("amend", 1, None, 80.0)]])
    assert fills(m) == [(ns(3), 1, 100.0, 80.0, "maker")]
    assert (m.orders[1].lots, m.orders[1].amends, m.orders[1].priority) == (80, 1, 1)
    # Larger (150): rejoins by rule 3 behind everyone, A = 1.0 x 300 at 2.7; row 3 fills 20.
    m = model(AMEND_ROWS, [1, 2.2], [[("limit", 100.0, 100.0, False)],
                                     [("amend", 1, None, 150.0)]])
    assert fills(m) == [(ns(3), 1, 100.0, 20.0, "maker")]
    assert (m.orders[1].lots, m.orders[1].amends, m.orders[1].priority) == (150, 1, 2)


def test_amend_price_rejoins_takes_or_is_refused():
    # Three bids at 99.5 (below the best 100: queue unknown), each amended at 2 (effect 2.5):
    # 1 -> 100: joins the best behind 40; row 3's print of 50 fills 10 -> its 5 lots (queue);
    # 2 -> 100.5 = the ask: takes liquidity, 3 at 100.5 as taker at 2.5;
    # 3 (post-only) -> 101, through the ask: refused, the order closes (rejected, post_only).
    rows = [quote(0, 100.0, 40, 100.5, 10), (3, 100.0, -50.0, 100.0, 40, 100.5, 10)]
    m = model(rows, [1, 2], [[("limit", 99.5, 5.0, False), ("limit", 99.5, 3.0, False),
                              ("limit", 99.5, 2.0, True)],
                             [("amend", 1, 100.0, None), ("amend", 2, 100.5, None),
                              ("amend", 3, 101.0, None)]])
    assert caused(m) == [(ns(2.5), 2, 100.5, 3.0, "taker"), (ns(3), 1, 100.0, 5.0, "queue")]
    assert (m.orders[3].status, m.orders[3].reason, m.orders[3].closed) == (
        "rejected", "post_only", ns(2.5))
    assert [m.orders[i].amends for i in (1, 2, 3)] == [1, 1, 1]


def test_amend_closing_closed_and_not_yet_live():
    # amend_latency 0.1. Order 1 (buy 10 at 100, front) fills 4 on row 2. Amend to 4 at 2.5
    # (effect 2.6): at or below the filled 4, so it closes (cancelled, amended). Amend to 8 at
    # 3.2 (3.3): the order is closed, nothing happens, but it is counted (2 amends).
    # Order 2 (sent at 3.2, live 3.7) is amended to 99.5 at 3.3, before it is live: rejected as
    # unknown; it goes live at 100 as sent and fills 1 on row 5's print.
    rows = [quote(0, 100.0, 0, 100.5, 10), (2, 100.0, -4.0, 100.0, 0, 100.5, 10),
            quote(4, 100.0, 0, 100.5, 10), (5, 100.0, -1.0, 100.0, 0, 100.5, 10)]
    m = model(rows, [1, 2.5, 3.2], [[("limit", 100.0, 10.0, False)], [("amend", 1, None, 4.0)],
                                    [("amend", 1, None, 8.0), ("limit", 100.0, 1.0, False),
                                     ("amend", 2, 99.5, None), ("amend", 9, 99.5, None)]],
              amend_latency=0.1)
    o1, o2 = m.orders[1], m.orders[2]
    assert (o1.status, o1.reason, o1.closed, o1.filled, o1.amends) == (
        "cancelled", "amended", ns(2.6), 4, 2)
    assert (o2.status, o2.arrived, o2.amends, o2.rejected_actions) == ("filled", ns(3.7), 0, 1)
    assert fills(m) == [(ns(2), 1, 100.0, 4.0, "maker"), (ns(5), 2, 100.0, 1.0, "maker")]
    assert (m.unknown_amends, m.unknown_cancels) == ([(2, 9)], [])


def test_amend_of_a_follow_order_ignores_the_price():
    # Follow buy 5 at level 0 rests at 100 behind 10. The amend (99, 2) keeps the peg at 100
    # (DECISION: the price of an amend to a follow order is ignored) and cuts it to 2 at the
    # same place; the print of 13 leaves 3 over: fills its 2.
    rows = [quote(0, 100.0, 10, 100.5, 10), (3, 100.0, -13.0, 100.0, 10, 100.5, 10)]
    m = model(rows, [1, 2], [[("follow", 0, 5.0)], [("amend", 1, 99.0, 2.0)]])
    assert fills(m) == [(ns(3), 1, 100.0, 2.0, "maker")]
    assert (m.orders[1].price, m.orders[1].lots, m.orders[1].amends) == (200, 2, 1)


# -- time in force and reduce-only ------------------------------------------------------------

def test_ioc_and_fok():
    # Touch 100 x 10 / 100.5 x 3, all live at 1.5. Our fills never consume the displayed size
    # (rule 10), so every order sees the same 3 at 100.5.
    # 1 IOC buy 5 @ 101: 3 at 100.5 (taker), the other 2 cancelled (ioc).
    # 2 FOK buy 5 @ 101: 3 < 5 shown, rejected (fok), no fill.
    # 3 FOK buy 3 @ 100.5: all 3 at 100.5.
    # 4 IOC buy 2 @ 100, 5 FOK buy 2 @ 100: not marketable, cancelled at once (ioc / fok).
    # 6 IOC sell 4 @ 99.5: 4 of the 10 bid at 100.
    # 7 post-only IOC buy 1 @ 101: marketable, rejected (post_only).
    rows = [quote(0, 100.0, 10, 100.5, 3), quote(2, 100.0, 10, 100.5, 3)]
    m = model(rows, [1], [[("limit", 101.0, 5.0, False, "ioc"), ("limit", 101.0, 5.0, False, "fok"),
                           ("limit", 100.5, 3.0, False, "fok"), ("limit", 100.0, 2.0, False, "ioc"),
                           ("limit", 100.0, 2.0, False, "fok"), ("limit", 99.5, -4.0, False, "ioc"),
                           ("limit", 101.0, 1.0, True, "ioc")]])
    assert caused(m) == [(ns(1.5), 1, 100.5, 3.0, "taker"), (ns(1.5), 3, 100.5, 3.0, "taker"),
                         (ns(1.5), 6, 100.0, -4.0, "taker")]
    assert [(m.orders[i].status, m.orders[i].reason, m.orders[i].closed) for i in range(1, 8)] == [
        ("cancelled", "ioc", ns(1.5)), ("rejected", "fok", ns(1.5)), ("filled", "", ns(1.5)),
        ("cancelled", "ioc", ns(1.5)), ("cancelled", "fok", ns(1.5)), ("filled", "", ns(1.5)),
        ("rejected", "post_only", ns(1.5))]
    assert m.orders[1].filled == 3


def test_reduce_only_takers():
    # Flat at 1.5: the reduce-only market sell (sent first) has nothing to reduce, cancelled
    # (reduce_only); the market buy goes long 3 at 100.5. At 2.5 the reduce-only sell limit of
    # 5 at 99.5 takes the bid 100: cut to 3, the rest cancelled. The reduce-only buy of 2 at
    # 100 rests (checked at fill time) behind 10; row 3's print leaves 10 for it, but flat it
    # has nothing to reduce: cancelled, no fill.
    rows = [quote(0, 100.0, 10, 100.5, 10), (3, 100.0, -20.0, 100.0, 10, 100.5, 10)]
    m = model(rows, [1, 2], [[("market", -2.0, True), ("market", 3.0)],
                             [("limit", 99.5, -5.0, False, "gtc", True),
                              ("limit", 100.0, 2.0, False, "gtc", True)]])
    assert caused(m) == [(ns(1.5), 2, 100.5, 3.0, "taker"), (ns(2.5), 3, 100.0, -3.0, "taker")]
    assert [(m.orders[i].status, m.orders[i].reason, m.orders[i].filled) for i in (1, 3, 4)] == [
        ("cancelled", "reduce_only", 0), ("cancelled", "reduce_only", 3),
        ("cancelled", "reduce_only", 0)]
    assert m.orders[4].closed == ns(3)
    assert (m.account.position, m.fills[1].realized) == (0.0, 3 * (1 / 100.5 - 1 / 100.0))


def test_reduce_only_maker_is_cut_to_the_position():
    # Long 3 (market at 1.0). Reduce-only sell 5 at the ask 100.5, 10 ahead. Row 2's buyer
    # print of 11 fills 1 (long 2; it keeps working). Row 3: 10 -> 10 with T = 11, A = 0; the
    # print of 14 would fill the other 4, cut to the 2 held, the rest cancelled (reduce_only).
    rows = [quote(0, 100.0, 10, 100.5, 10), (2, 100.5, 11.0, 100.0, 10, 100.5, 10),
            (3, 100.5, 14.0, 100.0, 10, 100.5, 10)]
    m = model(rows[:2], [0.5], [[("market", 3.0), ("limit", 100.5, -5.0, False, "gtc", True)]])
    assert (m.orders[2].status, m.orders[2].filled, m.account.position) == ("live", 1, 2.0)
    m = model(rows, [0.5], [[("market", 3.0), ("limit", 100.5, -5.0, False, "gtc", True)]])
    assert caused(m) == [(ns(1), 1, 100.5, 3.0, "taker"), (ns(2), 2, 100.5, -1.0, "queue"),
                         (ns(3), 2, 100.5, -2.0, "queue")]
    assert (m.orders[2].status, m.orders[2].reason, m.orders[2].closed, m.orders[2].filled) == (
        "cancelled", "reduce_only", ns(3), 3)
    assert m.account.position == 0.0


# -- latency: ties and actions before live (DESIGN "Latency models") ----------------------------

def test_actions_due_with_their_add_apply_after_it():
    # latency 0.5, cancel_latency 0.3 (amend_latency defaults to it). Adds sent at 1 and the
    # cancel / amend sent at 1.2 all take effect at 1.5: in sending order, so both orders are
    # live first; 1 is then cancelled and 2 cut to 3 in place (nothing rejected).
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10)]
    m = model(rows, [1, 1.2], [[("limit", 100.0, 5.0, False), ("limit", 100.0, 5.0, False)],
                               [("cancel", 1), ("amend", 2, None, 3.0)]], cancel_latency=0.3)
    o1, o2 = m.orders[1], m.orders[2]
    assert (o1.status, o1.arrived, o1.closed, o1.rejected_actions) == (
        "cancelled", ns(1.5), ns(1.5), 0)
    assert (o2.status, o2.lots, o2.amends, o2.rejected_actions, o2.queue) == (
        "live", 3, 1, 0, 10.0)
