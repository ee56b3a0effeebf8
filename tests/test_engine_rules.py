"""One hand-worked scenario per fill rule of the design notes (rules 1-7)."""
import math

import numpy as np
import pytest

import mmsim
from helpers import NAN, at, quote, run


def first(frame, **where):
    rows = frame
    for k, v in where.items():
        rows = rows[rows[k] == v]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# -- rule 1: calls --------------------------------------------------------------------

def test_strategy_sees_every_row_up_to_its_time():
    rows = [
        quote(0, 100.0, 10, 100.5, 20),
        (1, 100.5, 5.0, 100.0, 10, 100.5, 20),     # buyer lifts the ask
        quote(2, 100.5, 30, 101.0, 40),            # same timestamp as the signal
    ]
    seen = []
    look = lambda c: seen.append((c.bid_price, c.bid_amount, c.ask_price, c.ask_amount,
                                  c.price, c.last_amount, c.mid, c.timestamp))
    run(rows, [2], look)
    assert seen == [(100.5, 30.0, 101.0, 40.0, 100.5, 5.0, 100.75, at(2))]


def test_feed_latency_delays_what_the_strategy_sees():
    rows = [quote(0, 100.0, 10, 100.5, 20), (1, 100.5, 5.0, 100.0, 10, 100.5, 20),
            quote(2, 100.5, 30, 101.0, 40)]
    seen = []
    look = lambda c: seen.append((c.bid_price, c.ask_price, c.price))
    # horizon 2 - 1.5 = 0.5 s: only the first row, before any trade
    run(rows, [2], look, feed_latency=1.5)
    assert seen[0][:2] == (100.0, 100.5) and math.isnan(seen[0][2])


def test_signal_values_by_name_and_position():
    import pandas as pd
    import helpers
    seen = []
    strategy = helpers.Script(lambda c: seen.append((c["sigma"], c[1], list(c.signal))))
    sig = pd.DataFrame({"sigma": [0.25], "inv": [-2.0]},
                       index=pd.DatetimeIndex([at(1)], name="time"))
    mmsim.backtest(helpers.taq([quote(0, 100.0, 1, 100.5, 1), quote(2, 100.0, 1, 100.5, 1)]), sig, strategy,
                   contract=helpers.NOFEE)
    assert seen == [(0.25, -2.0, [0.25, -2.0])]
    assert strategy.calls == 1


# -- rule 2: latency and ties ---------------------------------------------------------

def test_add_goes_live_after_latency():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),
        (1.2, 99.5, -5.0, 100.0, 10, 100.5, 10),   # through 100 before the order is live
        (1.6, 99.5, -5.0, 100.0, 10, 100.5, 10),   # through 100 after it went live at 1.5
    ]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 3))
    assert list(res.fills.index) == [at(1.6)]
    assert res.fills["amount"].tolist() == [3.0]
    order = res.orders.iloc[0]
    assert order["live"] == at(1.5) and order["closed"] == at(1.6)
    assert order["status"] == "filled" and order["active_duration"] == pytest.approx(0.6)


def test_fills_before_a_cancel_takes_effect_stand():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),
        (2.5, 99.5, -5.0, 100.0, 10, 100.5, 10),   # through the bid at 100: fills it
        (3.5, 101.5, 5.0, 100.0, 10, 100.5, 10),   # through the ask at 101: cancelled at 3
    ]
    res, s = run(rows, [1, 2],
                 lambda c: [c.limit(100.0, 3), c.limit(101.0, -2)],
                 lambda c: [c.cancel(1), c.cancel(2)],
                 latency=0.5, cancel_latency=1.0)
    bid, ask = res.orders.iloc[0], res.orders.iloc[1]
    assert (bid["status"], bid["filled"], bid["closed"]) == ("filled", 3.0, at(2.5))
    assert bid["cancel_sent"] == at(2)
    assert (ask["status"], ask["filled"], ask["closed"]) == ("cancelled", 0.0, at(3))
    assert ask["reason"] == "cancelled" and ask["cancel_sent"] == at(2)
    assert len(res.fills) == 1


def test_rows_at_a_timestamp_come_before_orders_going_live_then_the_call():
    rows = [
        quote(0, 100.0, 10, 101.0, 10),
        quote(1.5, 100.5, 700, 101.0, 10),        # the order goes live at 1.5 too
    ]
    seen = []
    res, _ = run(rows, [1, 1.5], lambda c: c.limit(100.5, 1),
                 lambda c: seen.append(c.orders[["status", "queue_ahead"]].tolist()))
    # The row is applied first, so 100.5 is the best bid with 700 displayed, not a new level.
    assert res.orders["amount_q"].tolist() == [700.0]
    assert res.orders["queue_ahead"].tolist() == [700.0]
    # ... and the call at 1.5 sees the order live.
    assert seen == [[(mmsim.LIVE, 700.0)]]


def test_add_and_cancel_effective_together_apply_in_sending_order():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(3, 100.0, 10, 100.5, 10)]
    # add sent at 1 (live at 2), cancel sent at 1.5 (effect at 2): the add goes first
    res, _ = run(rows, [1, 1.5], lambda c: c.limit(100.0, 1), lambda c: c.cancel(1),
                 latency=1.0, cancel_latency=0.5)
    order = res.orders.iloc[0]
    assert order["live"] == at(2) and order["closed"] == at(2)
    assert order["status"] == "cancelled"


def test_cancel_overtaking_its_add_is_rejected_and_the_order_goes_live():
    # DESIGN "Latency models": the cancel (sent 1.2, arrives 1.3) reaches the exchange
    # before the add (sent 1, live at 2), so it is rejected as unknown; the order goes live
    # at 2 and the print through its price at 3 fills it.
    rows = [quote(0, 100.0, 10, 100.5, 10), (3, 99.0, -50.0, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1, 1.2], lambda c: c.limit(100.0, 1), lambda c: c.cancel(1),
                 latency=1.0, cancel_latency=0.1)
    order = res.orders.iloc[0]
    assert (order["status"], order["live"], order["closed"]) == ("filled", at(2), at(3))
    assert order["rejected"] == 1 and order["cancel_sent"] == at(1.2)
    assert res.fills["amount"].tolist() == [1.0]


def test_an_order_whose_cancel_was_rejected_can_be_cancelled_again():
    rows = [quote(0, 100.0, 10, 100.5, 10), (3, 99.0, -50.0, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1, 1.2, 2.5], lambda c: c.limit(100.0, 1), lambda c: c.cancel(1),
                 lambda c: c.cancel(1), latency=1.0, cancel_latency=0.1)
    order = res.orders.iloc[0]
    # The second cancel (sent 2.5) takes effect at 2.6, before the print at 3.
    assert (order["status"], order["closed"], order["rejected"]) == ("cancelled", at(2.6), 1)
    assert order["cancel_sent"] == at(1.2) and len(res.fills) == 0


def pd_nat():
    import pandas as pd
    return pd.NaT


# -- rule 3: joining a level ------------------------------------------------------------

def test_limit_through_the_ask_takes_at_the_ask():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(101.0, 4))
    fill = res.fills.iloc[0]
    assert (fill["price"], fill["amount"], fill["liquidity"]) == (100.5, 4.0, "taker")
    assert res.orders.iloc[0]["slippage"] == 0.0     # ask at decision = ask at fill


def test_post_only_limit_through_the_ask_is_rejected():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.5, 4, post_only=True))
    order = res.orders.iloc[0]
    assert (order["status"], order["reason"], order["closed"]) == ("rejected", "post_only", at(1.5))
    assert len(res.fills) == 0


def test_join_at_best_bid_behind_queue_position_of_displayed_size():
    rows = [
        quote(0, 100.0, 400, 100.5, 10),
        (2, 100.0, -150.0, 100.0, 400, 100.5, 10),
    ]
    # queue ahead = 0.25 x 400 = 100; the print of 150 consumes it and fills 50 of 80
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 80), queue_position=0.25)
    assert res.fills["amount"].tolist() == [50.0]
    order = res.orders.iloc[0]
    assert order["amount_q"] == 400.0 and order["volume_req"] == 180.0
    assert order["queue_ahead"] == 0.0


def test_join_above_best_bid_is_a_new_level_with_no_queue():
    rows = [quote(0, 100.0, 400, 101.0, 10), (2, 100.5, -7.0, 100.0, 400, 101.0, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.5, 10))
    assert res.fills["amount"].tolist() == [7.0]
    assert res.orders.iloc[0]["amount_q"] == 0.0


def test_join_below_best_bid_waits_for_the_bid_to_reach_it():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),
        (2, 99.5, -100.0, 100.0, 10, 100.5, 10),   # print at our price, queue unknown: no fill
        quote(3, 99.5, 60, 100.0, 10),              # bid reaches 99.5: 60 ahead
        (4, 99.5, -62.0, 99.5, 60, 100.0, 10),      # 60 consumed, 2 fill
    ]
    seen = []
    res, _ = run(rows, [1, 2.5], lambda c: c.limit(99.5, 5),
                 lambda c: seen.append(float(c.orders["queue_ahead"][0])))
    assert math.isnan(seen[0])
    assert res.fills["amount"].tolist() == [2.0]
    order = res.orders.iloc[0]
    assert math.isnan(order["amount_q"]) and order["volume_req"] == 65.0
    assert order["volume"] == 162.0    # both prints traded at its price while live


# -- rule 4: trades ---------------------------------------------------------------------

def test_queue_then_partial_fill():
    # A bid joining behind 300 fills 50 of 100 after prints of 200 and 150 at its price.
    rows = [
        quote(0, 100.0, 300, 100.5, 500),
        (2, 100.0, -200.0, 100.0, 300, 100.5, 500),
        (3, 100.0, -150.0, 100.0, 100, 100.5, 500),
    ]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 100))
    assert res.fills["amount"].tolist() == [50.0]
    assert res.fills["liquidity"].tolist() == ["maker"]
    assert res.positions["amount"].tolist() == [50.0]
    order = res.orders.iloc[0]
    assert (order["status"], order["filled"], order["volume"]) == ("live", 50.0, 350.0)


def test_print_through_our_price_fills_all_at_our_price():
    # An aggregated VWAP print off the grid (99.371527) below our bid at 100.
    rows = [quote(0, 100.0, 10, 100.5, 10), (2, 99.371527, -998859.0, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 1000))
    fill = res.fills.iloc[0]
    assert (fill["price"], fill["amount"], fill["liquidity"]) == (100.0, 1000.0, "maker")


def test_rows_away_from_our_orders_are_passed_over_but_prints_at_their_edge_are_not():
    # A bid at 99.0 and an ask at 101.5 rest away from a market at 100.0 / 100.5 for many
    # rows, which the row loop passes over. Prints within GRID_EPS of our prices (off-grid
    # VWAPs) still count towards each order's volume; prints a fraction of a tick short of
    # them do not; a print through each fills it.
    calm = [quote(1 + k / 100, 100.0, 10, 100.5, 10) for k in range(1, 300)]
    rows = [quote(0, 100.0, 10, 100.5, 10)] + calm + [
        (5.0, 99.0000001, -7.0, 100.0, 10, 100.5, 10),       # at our bid: counted
        (5.1, 99.2, -11.0, 100.0, 10, 100.5, 10),            # short of it: not
        (5.2, 101.4999999, 3.0, 100.0, 10, 100.5, 10),       # at our ask: counted
        (5.3, 101.3, 13.0, 100.0, 10, 100.5, 10),            # short of it: not
    ] + [quote(5.4 + k / 100, 100.0, 10, 100.5, 10) for k in range(300)] + [
        (9.0, 98.99, -2.0, 100.0, 10, 100.5, 10),            # through our bid
        (9.1, 101.51, 5.0, 100.0, 10, 100.5, 10),            # through our ask
    ]
    res, _ = run(rows, [1], lambda c: [c.limit(99.0, 4), c.limit(101.5, -6)])
    orders = res.orders.set_index("order_id")
    assert orders["volume"].tolist() == [7.0 + 2.0, 3.0 + 5.0]
    got = list(zip(res.fills["order_id"], res.fills["price"], res.fills["amount"],
                   res.fills.index))
    assert got == [(1, 99.0, 4.0, at(9.0)), (2, 101.5, -6.0, at(9.1))]


def test_a_long_pass_over_rows_stops_at_the_action_that_ends_it():
    # A bid at 98.5 rests away from the market for hundreds of rows, which the row loop
    # passes over. A bid at 100.0 sent at 3.005 goes live at 3.505, some fifty rows on,
    # behind the 10 bid there; the pass stops at it, so the print of 15 at 100.0 on the
    # next row (3.51), which the first bid alone would pass over, fills it 5.
    calm = [quote(1 + k / 100, 100.0, 10, 100.5, 10) for k in range(1, 300) if k != 251]
    rows = sorted([quote(0, 100.0, 10, 100.5, 10), quote(3.505, 100.0, 10, 100.5, 10),
                   (3.51, 100.0, -15.0, 100.0, 10, 100.5, 10)] + calm, key=lambda row: row[0])
    res, _ = run(rows, [1, 3.005], lambda c: c.limit(98.5, 6), lambda c: c.limit(100.0, 8))
    got = list(zip(res.fills["order_id"], res.fills["price"], res.fills["amount"],
                   res.fills.index))
    assert got == [(2, 100.0, 5.0, at(3.51))]


def _calm(times):
    # Rows inside a bid at 99.0 and an ask at 101.5: quotes at 100.0 / 100.5, and a print
    # of 1 at 100.0 every third row, none of which reaches either order.
    return [(t, 100.0, -1.0, 100.0, 10, 100.5, 10) if k % 3 == 0
            else quote(t, 100.0, 10, 100.5, 10) for k, t in enumerate(times)]


@pytest.mark.parametrize("offset", range(18))
@pytest.mark.parametrize("event, fill", [
    (quote(0, 98.5, 10, 99.0, 10), (1, 99.0, 4.0)),              # the ask falls to our bid
    (quote(0, 101.5, 10, 102.0, 10), (2, 101.5, -6.0)),          # the bid rises to our ask
    ((0, 98.99, -2.0, 100.0, 10, 100.5, 10), (1, 99.0, 4.0)),    # a print through our bid
    ((0, 101.51, 5.0, 100.0, 10, 100.5, 10), (2, 101.5, -6.0)),  # a print through our ask
], ids=["ask-falls", "bid-rises", "print-below", "print-above"])
def test_the_one_row_of_a_long_calm_run_that_reaches_an_order_fills_it(event, fill, offset):
    # The row loop passes over the calm rows first one at a time, then many rows a test.
    # The one row that reaches an order, at 18 successive places in the run (so at every
    # place within a group of rows tested at once), is replayed: the order fills there.
    times = [1 + k / 100 for k in range(1, 400)]
    rows = [quote(0, 100.0, 10, 100.5, 10)] + _calm(times)
    at_event = 120 + offset                     # the orders are live from row 50 (1.5 s)
    rows[at_event] = (times[at_event - 1],) + event[1:]
    res, _ = run(rows, [1], lambda c: [c.limit(99.0, 4), c.limit(101.5, -6)])
    got = list(zip(res.fills["order_id"], res.fills["price"], res.fills["amount"],
                   res.fills.index))
    assert got == [fill + (at(times[at_event - 1]),)]


@pytest.mark.parametrize("offset", range(18))
def test_an_order_going_live_within_a_long_calm_run_hears_the_next_row(offset):
    # Calm quotes are passed over while a bid at 99.0 and an ask at 101.5 rest. A bid at
    # 100.0 sent at the second call goes live between two rows (at 18 successive places in
    # the run), behind the 10 bid there: the pass ends at it, and the print of 15 at 100.0
    # on the very next row fills it 5.
    times = [1 + k / 100 for k in range(1, 400)]
    rows = [quote(0, 100.0, 10, 100.5, 10)] + [quote(t, 100.0, 10, 100.5, 10) for t in times]
    live = times[150 + offset] + 0.005
    rows[152 + offset] = (times[151 + offset], 100.0, -15.0, 100.0, 10, 100.5, 10)
    res, _ = run(rows, [1, live - 0.5], lambda c: [c.limit(99.0, 4), c.limit(101.5, -6)],
                 lambda c: c.limit(100.0, 8))
    got = list(zip(res.fills["order_id"], res.fills["price"], res.fills["amount"],
                   res.fills.index))
    assert got == [(3, 100.0, 5.0, at(times[151 + offset]))]


def test_one_print_never_fills_more_than_its_volume_across_our_orders():
    rows = [
        quote(0, 100.0, 50, 100.5, 10),
        quote(1.7, 100.0, 80, 100.5, 10),
        (3, 100.0, -120.0, 100.0, 80, 100.5, 10),
        (4, 100.0, -100.0, 100.0, 0, 100.5, 10),
    ]
    res, _ = run(rows, [1, 2], lambda c: c.limit(100.0, 30), lambda c: c.limit(100.0, 40))
    # A (ahead 50) takes 120-50 = 70 -> fills 30; B (ahead 80) sees 120-30 = 90 -> fills 10.
    # Next print 100: B (ahead 0) fills its remaining 30.
    got = list(zip(res.fills["order_id"], res.fills["amount"], res.fills.index))
    assert got == [(1, 30.0, at(3)), (2, 10.0, at(3)), (2, 30.0, at(4))]


def test_buy_prints_do_not_touch_bids():
    rows = [quote(0, 100.0, 10, 100.5, 10), (2, 100.0, 50.0, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 5))
    assert len(res.fills) == 0 and res.orders.iloc[0]["volume"] == 0.0


# -- rule 5: quotes -----------------------------------------------------------------------

def test_displayed_size_dropping_below_queue_shrinks_it():
    rows = [
        quote(0, 100.0, 300, 100.5, 10),
        quote(2, 100.0, 120, 100.5, 10),             # cancellations ahead: 120 left
        (3, 100.0, -150.0, 100.0, 120, 100.5, 10),   # 120 consumed, 30 fill
    ]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 100))
    assert res.fills["amount"].tolist() == [30.0]


def test_ask_falling_to_our_bid_fills_it_as_maker():
    rows = [quote(0, 100.0, 300, 100.5, 10), quote(2, 99.5, 10, 100.0, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 10))
    fill = res.fills.iloc[0]
    assert (fill.name, fill["price"], fill["amount"], fill["liquidity"]) == (at(2), 100.0, 10.0, "maker")


def test_bid_falling_below_us_puts_us_at_the_front():
    rows = [
        quote(0, 100.0, 300, 100.5, 10),
        quote(2, 99.5, 50, 100.5, 10),               # level 100 emptied
        (3, 100.0, -4.0, 99.5, 50, 100.5, 10),       # a print at 100 reaches us first
    ]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 10))
    assert res.fills["amount"].tolist() == [4.0]


def test_sells_mirror_bids():
    rows = [
        quote(0, 100.0, 10, 100.5, 300),
        (2, 100.5, 200.0, 100.0, 10, 100.5, 300),
        (3, 100.5, 150.0, 100.0, 10, 100.5, 100),
    ]
    res, _ = run(rows, [1], lambda c: c.limit(100.5, -100))
    assert res.fills["amount"].tolist() == [-50.0]
    assert res.positions["amount"].tolist() == [-50.0]


# -- rule 6: market orders ----------------------------------------------------------------

def test_market_orders_fill_at_the_opposite_price_when_live_with_slippage():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),
        quote(1.2, 100.5, 10, 101.0, 10),     # ask moved up during the buy's latency
        quote(2.2, 100.0, 10, 100.5, 10),     # bid moved down during the sell's latency
        quote(3, 100.0, 10, 100.5, 10),
    ]
    res, _ = run(rows, [1, 2], lambda c: c.market(5), lambda c: c.market(-5))
    assert res.fills["price"].tolist() == [101.0, 100.0]
    assert res.fills["liquidity"].tolist() == ["taker", "taker"]
    # buy: 101.0 - 100.5 decided; sell: 100.5 decided - 100.0 filled; worse is positive
    assert res.orders["slippage"].tolist() == [0.5, 0.5]
    assert res.orders["price"].tolist() == [101.0, 100.0]


def test_market_order_without_a_quote_is_rejected():
    rows = [(0, 100.0, 5.0, NAN, NAN, NAN, NAN), quote(2, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [0.5], lambda c: c.market(5))
    order = res.orders.iloc[0]
    assert (order["status"], order["reason"], order["closed"]) == ("rejected", "no_quote", at(1.0))
    assert math.isnan(order["slippage"])


# -- rule 7: follow-limit ---------------------------------------------------------------

def test_follow_at_level_zero_moves_with_the_bid_and_rejoins_the_back():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),
        quote(2, 100.5, 20, 101.0, 10),              # peg moves to 100.5 behind 20
        (3, 100.5, -25.0, 100.5, 20, 101.0, 10),     # 20 consumed, 5 fill
    ]
    res, _ = run(rows, [1], lambda c: c.follow(0, 5))
    assert res.fills["price"].tolist() == [100.5]
    assert res.fills["amount"].tolist() == [5.0]
    order = res.orders.iloc[0]
    assert (order["type"], order["price"], order["price_level"]) == ("follow_limit", 100.5, 0.0)


def test_follow_sell_two_ticks_behind_the_ask():
    rows = [
        quote(0, 100.0, 10, 100.5, 10),              # rests at 100.5 + 2 x 0.5 = 101.5
        quote(2, 100.5, 10, 101.0, 10),              # moves to 102.0
        (3, 101.5, 9.0, 100.5, 10, 101.0, 10),       # does not reach 102
        (4, 102.5, 9.0, 100.5, 10, 101.0, 10),       # through 102: complete fill
    ]
    seen = []
    res, _ = run(rows, [1, 1.8], lambda c: c.follow(2, -3),
                 lambda c: seen.append(float(c.orders["price"][0])))
    assert seen == [101.5]
    assert list(zip(res.fills.index, res.fills["price"], res.fills["amount"])) == [(at(4), 102.0, -3.0)]


# -- rule 11 and the orders view -------------------------------------------------------------

def test_same_inputs_and_seed_give_identical_results():
    import pandas.testing as pdt
    rows = [quote(0, 100.0, 50, 100.5, 50)]
    rng = np.random.default_rng(0)
    for k in range(1, 200):
        amount = float(rng.integers(-40, 40)) or 1.0
        bid = 100.0 + 0.5 * int(rng.integers(-2, 3))
        rows.append((k * 0.25, bid + (0.5 if amount > 0 else 0.0), amount, bid, 50.0, bid + 0.5, 50.0))

    def noisy(c):
        for oid in c.orders["order_id"]:
            c.cancel(int(oid))
        side = 1 if c.rng.random() < 0.5 else -1
        c.limit(c.bid_price if side > 0 else c.ask_price, side * float(c.rng.integers(1, 20)))

    a, _ = run(rows, list(range(1, 48)), *([noisy] * 47), seed=7)
    b, _ = run(rows, list(range(1, 48)), *([noisy] * 47), seed=7)
    assert len(a.fills) > 0
    for name in ("orders", "fills", "balances", "positions"):
        pdt.assert_frame_equal(getattr(a, name), getattr(b, name))


def test_orders_view_shows_working_orders_as_structured_array():
    rows = [quote(0, 100.0, 30, 100.5, 40), quote(3, 100.0, 30, 100.5, 40)]
    seen = []
    run(rows, [1, 2], lambda c: [c.limit(100.0, 3), c.follow(1, -2)],
        lambda c: seen.append(c.orders.copy()))
    o = seen[0]
    assert o["order_id"].tolist() == [1, 2]
    assert o["type"].tolist() == [mmsim.LIMIT, mmsim.FOLLOW_LIMIT]
    assert o["side"].tolist() == [1, -1]
    assert o["status"].tolist() == [mmsim.LIVE, mmsim.LIVE]
    assert o["price"].tolist() == [100.0, 101.0]
    assert o["price_level"].tolist() == [-1, 1]
    assert o["amount"].tolist() == [3.0, -2.0]
    assert o["queue_ahead"][0] == 30.0 and math.isnan(o["queue_ahead"][1])
