"""Margin and leverage (DESIGN.md "Account"), each rule on a hand-worked scenario."""
import math

import pandas as pd
import pytest

import mmsim
from helpers import at, quote, run

#: Margined contracts on the XBTUSD grid, no fees: inverse at 100x, linear at 10x.
INV = mmsim.Contract(inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                     maker_fee=0.0, taker_fee=0.0, initial_margin=0.01,
                     maintenance_margin=0.005)
LIN = mmsim.Contract(inverse=False, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                     maker_fee=0.0, taker_fee=0.0, initial_margin=0.1,
                     maintenance_margin=0.05)
# A quiet market: mark = mid = 100.25 throughout.
ROWS = [quote(0, 100.0, 10, 100.5, 10), quote(9, 100.0, 10, 100.5, 10)]
MARK = 100.25


def available_after(first, contract, balance):
    """Run ``first`` at 1, then read ctx.available at 2 (and the balances row there)."""
    seen = []
    res, _ = run(ROWS, [1, 2], first, lambda c: seen.append(c.available), contract=contract,
                 balance=balance)
    return seen[0], res


def test_margin_of_a_working_order_inverse():
    available, res = available_after(lambda c: c.limit(99.0, 1000), INV, 1.0)
    # The bid may leave a position of 1000: 1% of 1000 / 100.25 BTC is held.
    assert available == 1.0 - 0.01 * 1000 / MARK
    row = res.balances.iloc[-1]
    assert (row["available"], row["mark"], row["position"]) == (available, MARK, 0.0)


def test_margin_of_a_position_inverse():
    available, res = available_after(lambda c: c.market(1000), INV, 1.0)
    # Long 1000 from 100.5, marked at 100.25: unrealised 1000 (1/100.5 - 1/100.25).
    assert available == pytest.approx(
        1.0 + 1000 * (1 / 100.5 - 1 / MARK) - 0.01 * 1000 / MARK, rel=1e-15)
    assert res.balances["position"].iloc[-1] == 1000.0


def test_margin_of_a_working_order_and_a_position_linear():
    available, _ = available_after(lambda c: c.limit(99.0, 50), LIN, 10_000.0)
    assert available == 10_000.0 - 0.1 * 50 * MARK              # 9498.75
    available, _ = available_after(lambda c: c.market(50), LIN, 10_000.0)
    assert available == 10_000.0 + 50 * (MARK - 100.5) - 0.1 * 50 * MARK   # 9486.25


def test_orders_beyond_the_margin_are_rejected_and_reducing_ones_pass():
    # 1 BTC at 100x covers 100 BTC of exposure: 10,025 contracts at 100.25.
    res, _ = run(ROWS, [1], lambda c: [c.limit(99.0, 20_000), c.limit(99.0, 10_000),
                                       c.limit(99.0, 100), c.limit(101.0, -5_000)],
                 contract=INV, balance=1.0)
    orders = res.orders.set_index("order_id")
    assert orders["status"].astype(str).tolist() == ["rejected", "live", "rejected", "live"]
    assert orders["reason"].astype(str).tolist() == ["margin", "end", "margin", "end"]
    # The ask leaves the largest possible position at 10,000: it adds no margin.
    assert res.stats()["margin_rejections"] == 2


def test_a_reducing_order_passes_even_when_nothing_is_available():
    # Long 9,000 from 100.5: unrealised -0.2233 and margin 0.8978 leave -0.121 available.
    # A buy is refused; the sell that closes the position passes.
    res, _ = run(ROWS, [1, 2], lambda c: c.market(9_000),
                 lambda c: [c.limit(99.0, 1), c.market(-9_000)], contract=INV, balance=1.0)
    orders = res.orders.set_index("order_id")
    assert orders.loc[2, "reason"] == "margin"
    assert orders.loc[3, "status"] == "filled"
    assert res.balances["position"].iloc[-1] == 0.0


def test_an_amend_beyond_the_margin_is_refused_and_the_order_stays():
    res, _ = run(ROWS, [1, 2], lambda c: c.limit(99.0, 10_000),
                 lambda c: c.amend(1, amount=11_000), contract=INV, balance=1.0)
    order = res.orders.iloc[0]
    assert (order["amount"], order["status"], order["rejected"]) == (10_000.0, "live", 1)


@pytest.mark.parametrize("leverage, size, status", [
    (10, 1_000, "live"),          # 10% of 1000 / 100.25 = 0.9975 BTC: covered
    (10, 1_100, "rejected"),      # 1.0973 BTC: not
    (None, 10**9, "live"),        # margin off
])
def test_leverage_sets_the_margin_rate(leverage, size, status):
    res, _ = run(ROWS, [1], lambda c: c.limit(99.0, size), contract=INV, balance=1.0,
                 leverage=leverage)
    assert res.orders["status"].astype(str).tolist() == [status]


def test_presets_carry_their_exchange_margin():
    assert (mmsim.BITMEX_XBTUSD.initial_margin, mmsim.BITMEX_XBTUSD.maintenance_margin) == (
        0.01, 0.005)
    # A contract without margin rates has margin off by default.
    plain = mmsim.Contract(True, 0.5, 1.0, 1.0, 0.0, 0.0)
    res, _ = run(ROWS, [1], lambda c: c.limit(99.0, 10**9), contract=plain, balance=1.0)
    assert res.orders["status"].astype(str).tolist() == ["live"]


@pytest.mark.parametrize("leverage, error, message", [
    (200, ValueError, r"^leverage 200 is above BitMEX XBTUSD's highest, 100 \(initial_margin 0.01\)"),
    (0.5, ValueError, r"^leverage must be >= 1, got 0.5$"),
    ("high", TypeError, r"^leverage must be a real number, got 'high'$"),
])
def test_bad_leverage_is_named(leverage, error, message):
    with pytest.raises(error, match=message):
        run(ROWS, [1], lambda c: None, contract=mmsim.BITMEX_XBTUSD, leverage=leverage)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(initial_margin=0.0), ValueError, r"Contract.initial_margin must be a rate in \(0, 1\]"),
    (dict(initial_margin="1%"), TypeError, r"^Contract.initial_margin must be a real number or None, got '1%'$"),
    (dict(initial_margin=0.01, maintenance_margin=0.02), ValueError,
     r"Contract.maintenance_margin \(0.02\) must not exceed initial_margin \(0.01\)"),
])
def test_bad_margin_rates_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        mmsim.Contract(True, 0.5, 1.0, 1.0, 0.0, 0.0, **kwargs)


# -- liquidation --------------------------------------------------------------------------

def test_liquidation_inverse_closes_at_the_bankruptcy_price():
    # 0.1 BTC, long 1000 from 100.5 (an ask at 110 rests: it adds no exposure). At 3 the
    # mid falls to 99.75: equity 0.1 + 1000 (1/100.5 - 1/99.75) = 0.0252 is below the
    # maintenance 0.5% x 1000 / 99.75 = 0.0501, so the account is liquidated there.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10),
            quote(3, 99.5, 10, 100.0, 10), quote(6, 101.0, 10, 101.5, 10)]
    res, _ = run(rows, [1, 4], lambda c: [c.limit(110.0, -10), c.market(1000)],
                 lambda c: c.limit(99.0, 1), contract=INV, balance=0.1)
    bankruptcy = 1 / (1 / 100.5 + 0.1 / 1000)                # 1/X = 1/E + balance/(q cs)
    fills = res.fills
    assert fills["amount"].tolist() == [1000.0, -1000.0]
    assert fills["cause"].astype(str).tolist() == ["taker", "liquidation"]
    assert fills["price"].iloc[1] == bankruptcy and fills["fee"].iloc[1] == 0.0
    assert fills.index[1] == pd.Timestamp("2019-04-01 00:00:03", tz="UTC")
    assert res.balances["total"].iloc[-1] == 0.0              # exactly, and never below
    orders = res.orders.set_index("order_id")
    assert (orders.loc[1, "status"], orders.loc[1, "reason"]) == ("cancelled", "liquidation")
    assert (orders.loc[4, "status"], orders.loc[4, "reason"]) == ("rejected", "liquidated")
    # The run replays to the end: the last balance row is the call at 4 or later.
    assert res.balances.index[-1] >= pd.Timestamp("2019-04-01 00:00:04", tz="UTC")


def test_liquidation_linear_closes_at_the_bankruptcy_price():
    # 1000 USDT, long 50 from 100.5 at 10x. At 3 the mid is 84.25: equity
    # 1000 + 50 (84.25 - 100.5) = 187.5 < 5% x 50 x 84.25 = 210.6: liquidated at
    # X = E - balance / (q cs) = 100.5 - 1000 / 50 = 80.5.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 85.0, 10, 85.5, 10),
            quote(3, 84.0, 10, 84.5, 10), quote(6, 90.0, 10, 90.5, 10)]
    res, _ = run(rows, [1], lambda c: c.market(50), contract=LIN, balance=1000.0)
    assert res.fills["price"].tolist() == [100.5, 80.5]
    assert res.fills["realized"].tolist() == [0.0, -1000.0]
    assert res.balances["total"].iloc[-1] == 0.0


@pytest.mark.parametrize("offset", range(18))
def test_liquidation_at_the_one_unsafe_row_of_a_long_calm_run(offset):
    # Long 50 from 100.5 with 1000 USDT (as above). The calm rows at 100.0 / 100.5 are
    # passed over, one at a time and then many a test; the one row whose mid of 84.25
    # leaves equity below the maintenance margin, at 18 successive places in the run (so
    # at every place within a group of rows tested at once), liquidates the account there.
    times = [1 + k / 100 for k in range(1, 400)]
    rows = [quote(0, 100.0, 10, 100.5, 10)] + [quote(t, 100.0, 10, 100.5, 10) for t in times]
    at_event = 120 + offset
    rows[at_event] = quote(times[at_event - 1], 84.0, 10, 84.5, 10)
    res, _ = run(rows, [1], lambda c: c.market(50), contract=LIN, balance=1000.0)
    assert res.fills["price"].tolist() == [100.5, 80.5]
    assert res.fills.index[1] == at(times[at_event - 1])


def test_no_liquidation_within_the_maintenance_margin_or_with_margin_off():
    # At 2 the mid of 85.25 leaves equity 1000 - 762.5 = 237.5 above 5% x 50 x 85.25 = 213.1.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 85.0, 10, 85.5, 10)]
    res, _ = run(rows, [1], lambda c: c.market(50), contract=LIN, balance=1000.0)
    assert res.fills["cause"].astype(str).tolist() == ["taker"]
    deep = [quote(0, 100.0, 10, 100.5, 10), quote(2, 10.0, 10, 10.5, 10)]
    res, _ = run(deep, [1], lambda c: c.market(50), contract=LIN, balance=1000.0,
                 leverage=None)
    assert len(res.fills) == 1 and res.balances["total"].iloc[-1] == 1000.0


def test_a_hedged_inverse_account_has_finite_equity_and_pnl():
    # 1 BTC and short 100 contracts from 100.0: the USD value is fixed at 100. The equity
    # in BTC at the mark 110.25 is 1 - 100 (1/100 - 1/110.25) = 0.907029...
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(3, 110.0, 10, 110.5, 10),
            quote(5, 110.0, 10, 110.5, 10)]
    res, _ = run(rows, [1, 4], lambda c: c.market(-100), contract=INV, balance=1.0)
    from mmsim.stats import equity_curve
    curve = equity_curve(res)
    expected = 1.0 - 100 * (1 / 100.0 - 1 / 110.25)
    assert curve["equity"].iloc[-1] == pytest.approx(expected, rel=1e-15)
    assert curve["mark"].tolist() == [100.25, 100.25, 110.25]
    stats = res.stats()
    assert stats["pnl"] == pytest.approx(expected - 1.0, rel=1e-12)
    # NAV: 100.25 USD at the start (1 BTC at the mid), 100 USD hedged from the fill on.
    assert stats["pnl_usd"] == pytest.approx(100.0 - 100.25, rel=1e-12)


def _margin_holds(contract, balance, q, entry, mark):
    """check_liquidation's test as the engine computes it: equity at ``mark`` at or above
    the maintenance margin of the position (DESIGN "Account")."""
    cs, mm = contract.contract_size, contract.maintenance_margin
    if contract.inverse:
        return balance + q * cs * (1.0 / entry - 1.0 / mark) >= mm * (abs(q) * cs / mark)
    return balance + q * cs * (mark - entry) >= mm * (abs(q) * cs * mark)


@pytest.mark.parametrize("resting", [False, True], ids=["no-order", "resting-order"])
@pytest.mark.parametrize("side", [1, -1], ids=["long", "short"])
@pytest.mark.parametrize("contract", [INV, LIN], ids=["inverse", "linear"])
def test_liquidation_comes_at_the_first_row_below_maintenance_to_the_last_bit(
        contract, side, resting):
    # The mid walks one tick a row against the position. The balance is the smallest float
    # at which the 20th row (mid m0) still holds its maintenance margin, found by bisection
    # on the engine's own formula: with it the account is liquidated one row later; with
    # the float just below it, at that row. The row loop skips the check at marks it knows
    # to be safe; this pins that it never skips one that is not, down to one ulp.
    q = side * (1000.0 if contract.inverse else 50.0)
    entry = 100.5 if side > 0 else 100.0            # the market order takes the touch
    mids = [100.25 - side * 0.5 * k for k in range(1, 41)]
    rows = [quote(0, 100.0, 10, 100.5, 10)] + [
        quote(2 + k, m - 0.25, 10, m + 0.25, 10) for k, m in enumerate(mids)]
    m0 = mids[19]
    lo, hi = 0.0, 5000.0                            # margin fails at lo, holds at hi
    while math.nextafter(lo, math.inf) < hi:
        mid = lo + (hi - lo) / 2
        if mid in (lo, hi):
            mid = math.nextafter(lo, math.inf)
        if _margin_holds(contract, mid, q, entry, m0):
            hi = mid
        else:
            lo = mid
    first = [lambda c: c.market(q)]
    if resting:
        # A reducing limit far from the market: it works all along and adds no margin.
        first.append(lambda c: c.limit(200.0 if side > 0 else 1.0, -q))
    for balance, row in ((hi, 20), (lo, 19)):
        expected = next(k for k, m in enumerate(mids)
                        if not _margin_holds(contract, balance, q, entry, m))
        assert expected == row
        res, _ = run(rows, [1], lambda c: [step(c) for step in first], contract=contract,
                     balance=balance)
        liquidation = res.fills[res.fills["cause"] == "liquidation"]
        assert res.fills["amount"].tolist() == [q, -q]
        assert liquidation.index.tolist() == [at(2 + row)]


@pytest.mark.parametrize("offset", [0, 1, 7, 16, 17])
def test_a_position_opened_by_a_print_on_marked_data_is_checked_at_every_row(offset):
    # Marked data (a mark_price column): liquidation reads the mark, not the mid, so once a
    # position is held no row can be passed over by its quote. A bid of 50 at 100 joins
    # behind the 10 displayed; a sell of 30 printed at 100 at 2 s fills 20 of it (10 went
    # to the queue ahead) and 30 keep working, a tick below the market of the calm rows
    # after it (101 / 101.5), which reach no order. 1000 USDT long 20 from 100: those rows,
    # mid and mark 101.25, are safe; one of them, its quote the same, is marked 52: equity 1000 + 20 (52 - 100) = 40 is below 5% x 20 x 52 = 52, so the
    # account is liquidated there, at X = E - balance / (q cs) = 100 - 1000 / 20 = 50.
    from helpers import signals, taq

    class Bid(mmsim.Strategy):
        # No on_fill: the replay goes on past the fill without a call in between.
        def on_signal(self, ctx):
            ctx.limit(100.0, 50)

    times = [2 + k / 100 for k in range(1, 60)]
    rows = ([quote(0, 100.0, 10, 100.5, 10), (2, 100.0, -30.0, 100.0, 10, 100.5, 10)]
            + [quote(t, 101.0, 10, 101.5, 10) for t in times])
    frame = taq(rows)
    marks = [100.25, 100.25] + [101.25] * len(times)
    at_event = 20 + offset
    marks[at_event] = 52.0
    frame["mark_price"] = marks
    res = mmsim.backtest(frame, signals(1), Bid(), contract=LIN, balance=1000.0, latency=0.5)
    fills = res.fills
    assert fills["amount"].tolist() == [20.0, -20.0]
    assert fills["price"].tolist() == [100.0, 50.0]
    assert fills["cause"].astype(str).tolist()[1] == "liquidation"
    assert fills.index[1] == frame.index[at_event]
    # The bid's 30 left are cancelled; the position is closed by a market order of its own.
    orders = res.orders
    assert orders["status"].astype(str).tolist() == ["cancelled", "filled"]
    assert orders["reason"].astype(str).tolist() == ["liquidation", ""]
    assert orders["type"].astype(str).tolist() == ["limit", "market"]
