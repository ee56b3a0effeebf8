"""Tests for mmsim.strategies: hand-computed quotes, then behaviour through mmsim.backtest."""
import math
from types import SimpleNamespace

import numpy as np
import pytest

import mmsim
from mmsim.estimators import EWMAVolatility
from mmsim.strategies import GLFT, AvellanedaStoikov, MonteCarlo, Symmetric
from mmsim.strategies._common import floor_to_lot, horizon_ns, reference_price, time_to_horizon, to_tick
from mmsim.strategies.avellaneda_stoikov import Quote, as_prices, keep_or_cancel, notebook_sizes
from mmsim.strategies.glft import glft_coefficients, glft_depths
from mmsim.strategies.monte_carlo import stop_loss_hit, target_amount

from helpers import NOFEE, quote, signals, taq

NOTEBOOK_AS = dict(max_size=5.0, gamma=0.1, k=5.0, n=-0.4, delta_price=1.0, delta_size=1.0)

# ---------------------------------------------------------------- Avellaneda-Stoikov maths
# State: s = 10000, sigma = 3, gamma = 0.1, k = 5 -> gamma sigma^2 = 0.9,
# (2/gamma) ln(1 + gamma/k) = 20 ln 1.02 = 0.3960525, half spread h = (0.9 + 0.3960525)/2 = 0.6480263.


def test_as_prices_notebook_arithmetic_long():
    # q = 2: r = 10000 - 2 * 0.9 = 9998.2 < s, so bid offset h + 1.8 = 2.4480263 and ask
    # offset h - 1.8 = -1.1519737 from r: bid 9995.7519737, ask 9997.0480263 (centre 2r - s = 9996.4).
    bid, ask = as_prices(10000.0, 2.0, 3.0, 0.1, 5.0)
    assert bid == pytest.approx(9995.7519737, abs=1e-7)
    assert ask == pytest.approx(9997.0480263, abs=1e-7)


def test_as_prices_reservation_centre_and_horizon():
    # Paper form around r = 9998.2: 9998.2 -+ 0.6480263.
    bid, ask = as_prices(10000.0, 2.0, 3.0, 0.1, 5.0, centre="reservation")
    assert (bid, ask) == pytest.approx((9997.5519737, 9998.8480263), abs=1e-7)
    # tau = 0.5: r = 10000 - 2 * 0.45 = 9999.1, h = (0.45 + 0.3960525)/2 = 0.4230263.
    bid, ask = as_prices(10000.0, 2.0, 3.0, 0.1, 5.0, tau=0.5, centre="reservation")
    assert (bid, ask) == pytest.approx((9998.6769737, 9999.5230263), abs=1e-7)


def _notebook_as_prices(s, q, sigma, gamma, k):
    """The notebook's inventory_management price arithmetic, branches and all."""
    price_res = s - q * gamma * sigma**2
    spread = (gamma * sigma**2 + (2 / gamma) * np.log(1 + (gamma / k))) / 2.0
    if price_res >= s:
        ask_spread = spread + (price_res - s)
        bid_spread = spread - (price_res - s)
    else:
        ask_spread = spread - (s - price_res)
        bid_spread = spread + (s - price_res)
    return price_res - bid_spread, price_res + ask_spread


def test_as_prices_is_the_notebook_arithmetic_bit_for_bit():
    rng = np.random.default_rng(7)
    for s, q, sigma in zip(rng.uniform(3000, 70000, 500), rng.uniform(-5, 5, 500),
                           rng.uniform(0, 40, 500)):
        s, q, sigma = float(s), float(q), float(sigma)
        assert as_prices(s, q, sigma, 0.1, 5.0) == _notebook_as_prices(s, q, sigma, 0.1, 5.0)
    assert as_prices(10000.0, 0.0, 3.0, 0.1, 5.0) == _notebook_as_prices(10000.0, 0.0, 3.0, 0.1, 5.0)


def test_notebook_sizes_table():
    # The notebook's own printout for max_size 10, n = -0.4 (In [38]).
    expected = {-10: (10, -0), -7: (10, -1), -5: (10, -1), -3: (10, -3), -2: (10, -4), -1: (10, -7),
                0: (10, -10), 1: (7, -10), 2: (4, -10), 3: (3, -10), 5: (1, -10), 7: (1, -10), 10: (0, -10)}
    for q, (b, a) in expected.items():
        assert notebook_sizes(float(q), 10.0, -0.4) == (b, a), q


def test_avellaneda_stoikov_quote_long_inventory():
    strat = AvellanedaStoikov(**NOTEBOOK_AS)
    # Prices above rounded to 0.5: 9995.75 -> 9996.0 (np.round(19991.5039) = 19992), ask
    # 9997.048 -> 9997.0; the ask is below the best ask 9997.5, so it joins it.
    # Sizes at q = 2: bid 5 / e^0.8 = 2.2466 -> 2, ask -5.
    got = strat.quote(10000.0, 2.0, 3.0, 5.0, best_bid=9999.0, best_ask=9997.5, tick=0.5)
    assert got == Quote(9996.0, 9997.5, 2.0, -5.0)
    # Amounts at NAV 8000 USD: floor(2/5 * 8000) = 3200, floor(-5/5 * 8000) = -8000.
    assert strat.amount(2.0, 8000.0) == 3200.0 and strat.amount(-5.0, 8000.0) == -8000.0
    # Inventory: position 3200 of NAV 8000 at max_size 5 -> q = 2.
    assert strat.inventory(3200.0, 8000.0) == 2.0


def test_avellaneda_stoikov_quote_short_inventory_capped_at_best_bid():
    strat = AvellanedaStoikov(**NOTEBOOK_AS)
    # q = -1.5: r = 10001.35 >= s: bid offset h - 1.35, ask offset h + 1.35 from r:
    # bid 10002.0519737 -> 10002.0, capped at the best bid 10001.5; ask 10003.3480263 -> 10003.5.
    # Sizes: bid 5, ask -5 e^(0.4 * -1.5) = -2.744 -> -3.
    got = strat.quote(10000.0, -1.5, 3.0, 5.0, best_bid=10001.5, best_ask=10002.0, tick=0.5)
    assert got == Quote(10001.5, 10003.5, 5.0, -3.0)


def test_symmetric_quote_ignores_inventory():
    strat = Symmetric(5.0, 0.1, 5.0)
    # s -+ h = 10000 -+ 0.6480263 -> 9999.5 and 10000.5, sizes 5 and -5 whatever the position.
    q = strat.inventory(4000.0, 8000.0)
    assert q == 0.0
    assert strat.quote(10000.0, q, 3.0, 5.0, 10000.0, 10000.5, 0.5) == Quote(9999.5, 10000.5, 5.0, -5.0)


def test_keep_or_cancel_notebook_rule():
    target = Quote(9996.0, 9997.5, 2.0, -5.0)
    orders = [
        # 3200 / 8000 * 5 = 2 units at 9996.5: |0.5| <= 1 and |0| <= 1 -> keeps the bid.
        {"order_id": 1, "amount": 3200.0, "price": 9996.5},
        # a second matching buy is cancelled (the bid is already covered).
        {"order_id": 2, "amount": 3200.0, "price": 9996.0},
        # -6400 -> -4 units at 9999.0: |9997.5 - 9999| = 1.5 > 1 -> cancelled.
        {"order_id": 3, "amount": -6400.0, "price": 9999.0},
    ]
    assert keep_or_cancel(orders, target, 8000.0, 5.0, 1.0, 1.0) == ([2, 3], False, True)


# ---------------------------------------------------------------- GLFT maths
def test_glft_coefficients_and_depths():
    # gamma = xi = 0.1, A = 140, k = 1.5, Delta = 1:
    # c1 = ln(1 + 0.1/1.5)/0.1 = 0.6453852; c2 = sqrt(0.1/(2*140*1.5) * (16/15)^16) = 0.0258586.
    c1, c2 = glft_coefficients(0.1, 140.0, 1.5)
    assert c1 == pytest.approx(10 * math.log(16 / 15), rel=1e-12)
    assert c2 == pytest.approx(math.sqrt(0.1 / 420 * (16 / 15) ** 16), rel=1e-12)
    assert (c1, c2) == pytest.approx((0.6453852, 0.0258586), abs=1e-7)
    # sigma = 2, q = 2: half spread c1 + sigma c2 = 0.6712438, skew 2 sigma c2 = 0.1034344.
    db, da = glft_depths(2.0, 2.0, c1, c2)
    assert (db, da) == pytest.approx((0.7746782, 0.5678094), abs=1e-7)


def test_glft_quote_rounding_and_limits():
    strat = GLFT(order_size=100, gamma=0.1, A=140, k=1.5, max_position=300)
    # position 200 = q 2: bid 100 - 0.7746782 = 99.2253 -> down to 99.22, ask 100.5678 -> up to 100.57.
    assert strat.quote(100.0, 200.0, 2.0, 99.5, 100.5, 0.01) == (99.22, 100.57, 100.0, -100.0)
    # position 250: a bid fill would reach 350 > 300, so no bid; q = 2.5 moves the ask to
    # 100 + 0.6712438 - 2.5 * 0.0517172 = 100.5419 -> 100.55.
    bid, ask, ba, aa = strat.quote(100.0, 250.0, 2.0, 99.5, 100.5, 0.01)
    assert math.isnan(bid) and ba == 0.0 and (ask, aa) == (100.55, -100.0)
    # Capped at the touch: best bid 99.1 < 99.22.
    assert strat.quote(100.0, 200.0, 2.0, 99.1, 100.6, 0.01)[:2] == (99.1, 100.6)


# ---------------------------------------------------------------- Monte Carlo maths
def test_monte_carlo_rules_by_hand():
    # Long 1000 contracts from 5000, bid 4700, NAV 3000: pnl = (1/5000 - 1/4700) * 1000
    # = -0.0127660 BTC, NAV return -0.0127660 * 4700 / 3000 = -2.0 % < -1 % -> stop.
    assert stop_loss_hit(1000.0, 5000.0, 4700.0, 3000.0, -0.01)
    assert not stop_loss_hit(1000.0, 5000.0, 4700.0, 3000.0, -0.03)
    assert not stop_loss_hit(0.0, 0.0, 4700.0, 3000.0, -0.01)
    # Linear: (4700 - 5000) * 0.1 = -30 on NAV 3000 = -1 %: not below -1.1 %, below -0.5 %.
    assert not stop_loss_hit(0.1, 5000.0, 4700.0, 3000.0, -0.011, inverse=False)
    assert stop_loss_hit(0.1, 5000.0, 4700.0, 3000.0, -0.005, inverse=False)
    # Target inv 2 of max 5 = 40 % of NAV 3000 = 1200; holding 500: floor(700) = 700.
    assert target_amount(2.0, 5.0, 500.0, 3000.0, 0.05) == 700.0
    # Holding 1100 = 36.7 %: |40 % - 36.7 %| = 3.3 % <= 5 % -> nothing.
    assert target_amount(2.0, 5.0, 1100.0, 3000.0, 0.05) is None
    # inv -3: -60 % of 3001 = -1800.6, minus 10 -> floor(-1810.6) = -1811.
    assert target_amount(-3.0, 5.0, 10.0, 3001.0, 0.05) == -1811.0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: AvellanedaStoikov(0, 0.1, 5.0), "max_size"),
        (lambda: AvellanedaStoikov(5, -0.1, 5.0), "gamma"),
        (lambda: AvellanedaStoikov(5, 0.1, 0.0), "k"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, reference="vwap"), "reference"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, centre="mid"), "centre"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, horizon="-1h"), "horizon"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, delta_price=-1), "delta_price"),
        (lambda: GLFT(0, 0.1, 140, 1.5, 10), "order_size"),
        (lambda: GLFT(1, 0.1, 140, 1.5, -1), "max_position"),
        (lambda: MonteCarlo(5, 0.05, 1.5, -0.05), "level"),
        (lambda: MonteCarlo(5, -0.05, 0, -0.05), "threshold"),
    ],
)
def test_bad_parameters_are_named(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "make, error, message",
    [
        (lambda: AvellanedaStoikov("5", 0.1, 5.0), TypeError,
         r"^max_size must be a real number, got '5'$"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, delta_size=True), TypeError,
         r"^delta_size must be a real number, got True$"),
        (lambda: GLFT(1, 0.1, 140, 1.5, None), TypeError,
         r"^max_position must be a real number, got None$"),
        (lambda: AvellanedaStoikov(5, math.nan, 5.0), ValueError, r"^gamma must be finite, got nan$"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, n=-math.inf), ValueError,
         r"^n must be finite, got -inf$"),
        (lambda: MonteCarlo(5, math.inf, 1, -0.05), ValueError,
         r"^threshold must be finite, got inf$"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, horizon="soon"), ValueError,
         r"^horizon must be None, 'day' or a session length such as '8h' \(a bare number is seconds\), got 'soon'$"),
        (lambda: AvellanedaStoikov(5, 0.1, 5.0, horizon="Day"), ValueError,
         r"^horizon must be None, 'day' or a session length such as '8h' \(a bare number is seconds\), got 'Day'$"),
    ],
)
def test_bad_numbers_and_horizons_are_named(make, error, message):
    with pytest.raises(error, match=message):
        make()


def test_grids_horizons_and_reference_prices_by_hand():
    # Lot 0.001: 1.23456 -> 1.234, -1.23456 -> -1.235; lot 1 is np.floor.
    assert floor_to_lot(1.23456, 0.001) == 1.234 and floor_to_lot(-1.23456, 0.001) == -1.235
    assert floor_to_lot(-0.5, 1.0) == -1.0
    # Tick 0.1: 100.05 / 0.1 = 1000.4999999999999 -> 1000 (nearest), 100.0 down, 100.1 up;
    # a price already on the grid stays there in every mode.
    assert [to_tick(100.05, 0.1, m) for m in ("nearest", "down", "up")] == [100.0, 100.0, 100.1]
    assert [to_tick(99.3, 0.1, m) for m in ("nearest", "down", "up")] == [99.3, 99.3, 99.3]
    # Half to even as np.round: 2.5 ticks of 1 -> 2, 3.5 -> 4.
    assert (to_tick(2.5, 1.0), to_tick(3.5, 1.0)) == (2.0, 4.0)
    # 6 h into a UTC day: 18/24 of the day is left; of an 8 h session (0-8 h): 2/8.
    t = 6 * 3_600_000_000_000
    assert time_to_horizon(t, horizon_ns("day")) == 0.75
    assert time_to_horizon(t, horizon_ns("8h")) == 0.25
    assert time_to_horizon(t, horizon_ns(None)) == 1.0
    # Microprice (b Va + a Vb) / (Va + Vb) = (99 * 3 + 101 * 1) / 4 = 99.5, towards the bid,
    # whose displayed size (1) is the smaller; an empty book falls back to the mid.
    ctx = SimpleNamespace(price=100.5, mid=100.0, bid_price=99.0, ask_price=101.0,
                          bid_amount=1.0, ask_amount=3.0)
    assert [reference_price(ctx, r) for r in ("last", "mid", "microprice")] == [100.5, 100.0, 99.5]
    ctx.bid_amount = ctx.ask_amount = 0.0
    assert reference_price(ctx, "microprice") == 100.0


def test_finite_horizon_narrows_the_quotes():
    # 18 h into the UTC day, tau = 0.25: r = 10000 - 2 * 0.9 * 0.25 = 9999.55, notebook
    # centre 2r - s = 9999.1, h = (0.225 + 0.3960525)/2 = 0.3105263: bid 9998.789 -> 9999.0,
    # ask 9999.411 -> 9999.5 (tau = 1 gives 9996.0 and 9997.0, as above).
    strat = AvellanedaStoikov(**NOTEBOOK_AS, horizon="day")
    tau = time_to_horizon(18 * 3_600_000_000_000, strat._horizon_ns)
    assert tau == 0.25
    got = strat.quote(10000.0, 2.0, 3.0, 5.0, best_bid=9999.0, best_ask=9999.5, tau=tau)
    assert got == Quote(9999.0, 9999.5, 2.0, -5.0)


@pytest.mark.parametrize(
    "make",
    [lambda: AvellanedaStoikov(5.0, 0.1, 5.0, sigma="vol"),
     lambda: GLFT(10, 0.1, 140, 1.5, 10, sigma="vol"),
     lambda: MonteCarlo(5.0, 0.05, inv="vol")],
)
def test_missing_source_column_fails_at_start(make):
    rows = [(0.0, 100.0, 1.0, 99.5, 10.0, 100.5, 10.0), _book(5.0, 99.5, 100.5)]
    with pytest.raises(mmsim.StrategyError) as err:
        mmsim.backtest(taq(rows), signals(1.0, sigma=[1.0]), make(), contract=NOFEE)
    assert isinstance(err.value.__cause__, ValueError)
    assert "the signals have no column 'vol'" in str(err.value.__cause__)


def test_sigma_source_must_be_usable():
    with pytest.raises(TypeError, match="sigma"):
        AvellanedaStoikov(5, 0.1, 5.0, sigma=[1.0])


# ---------------------------------------------------------------- through the engine
def _book(seconds, bid=9999.5, ask=10000.0, size=1000.0):
    return quote(seconds, bid, size, ask, size)


def test_avellaneda_stoikov_sends_the_hand_computed_quotes():
    # A trade at 10000 on a 9999.5/10000 book; sigma 3, flat: q = 0, r = s = 10000,
    # h = 0.6480263 -> bid 9999.352 -> 9999.5, ask 10000.648 -> 10000.5.
    # NAV = 1 BTC x mid 9999.75: amounts floor(9999.75) = 9999 and floor(-9999.75) = -10000.
    rows = [(0.0, 10000.0, 10.0, 9999.5, 1000.0, 10000.0, 1000.0), _book(5.0)]
    res = mmsim.backtest(taq(rows), signals(1.0, sigma=[3.0]), AvellanedaStoikov(**NOTEBOOK_AS),
                         contract=NOFEE, balance=1.0)
    o = res.orders
    assert o["price"].tolist() == [9999.5, 10000.5]
    assert o["amount"].tolist() == [9999.0, -10000.0]


def test_avellaneda_stoikov_keeps_matching_orders_and_skews_after_a_fill():
    # t=1: bid 9999.5 x 9999 and ask 10000.5 x -10000 (as above), live at 1.5.
    # t=2: a sell of 20000 at 9999.0 trades through the bid: filled (maker) at 9999.5.
    rows = [
        (0.0, 10000.0, 10.0, 9999.5, 1000.0, 10000.0, 1000.0),
        (2.0, 9999.0, -20000.0, 9999.5, 1000.0, 10000.0, 1000.0),
        _book(2.5, 9999.0, 9999.5),
        _book(5.0, 9999.0, 9999.5),
    ]
    res = mmsim.backtest(taq(rows), signals(1.0, 3.0, sigma=[3.0, 3.0]),
                         AvellanedaStoikov(**NOTEBOOK_AS), contract=NOFEE)
    assert res.fills["price"].tolist() == [9999.5] and res.fills["amount"].tolist() == [9999.0]
    # t=3: NAV = (1 + 9999 (1/9999.5 - 1/9999.25)) x 9999.25 = 9999.0000125, so
    # q = 9999 / NAV x 5 = 4.99999999; s = 9999 (last trade); centre 2r - s = 9999 - 1.8 q = 9990.0,
    # bid 9990 - 0.6480263 = 9989.352 -> 9989.5 of size 5/e^(0.4 q) = 0.677 -> 1 unit:
    # floor(1/5 x NAV) = floor(1999.8) = 1999.
    # The working ask (10000.5, -10000 = round(-5.0000) units) is 1.0 from the target ask
    # (9990.65 -> 9990.5, capped at the best ask 9999.5) and the same size: kept, no new ask.
    second = res.orders.iloc[2:]
    assert second["price"].tolist() == [9989.5]
    assert second["amount"].tolist() == [1999.0]
    assert (res.orders["status"] == "cancelled").sum() == 0


def test_avellaneda_stoikov_with_live_sigma_estimator_and_mid():
    # EWMA of price differences fed the mid: 100.25 at 1 s (first value, no sigma yet: no
    # quotes) and 100.75 at 2 s -> sigma^2 = 0.5^2 / 1 s = 0.25. gamma 1, k 1 (flat):
    # h = (0.25 + 2 ln 2)/2 = 0.8181472 around s = 100.75: bid 99.932 -> 100.0, ask 101.568 -> 101.5.
    # NAV = 1 BTC x 100.75: amounts floor(100.75) = 100 and floor(-100.75) = -101.
    rows = [_book(0.0, 100.0, 100.5), (0.5, 100.5, 1.0, 100.0, 10.0, 100.5, 10.0),
            _book(1.5, 100.5, 101.0), _book(3.0, 100.5, 101.0)]
    est = EWMAVolatility("10s", returns="diff")
    strat = AvellanedaStoikov(5.0, 1.0, 1.0, sigma=est, reference="mid")
    res = mmsim.backtest(taq(rows), signals(1.0, 2.0, x=[0, 0]), strat, contract=NOFEE)
    assert est.sigma == pytest.approx(0.5)
    assert res.orders["price"].tolist() == [100.0, 101.5]
    assert res.orders["amount"].tolist() == [100.0, -101.0]


def test_glft_backtest_respects_inventory_limit():
    # Mid 100, sigma 2, flat: bid 100 - 0.6712438 = 99.33 -> down to 99.0, ask 100.67 -> up to 101.0.
    # A sell through 99.0 fills the bid (10). At t=3 the position is 10 = max_position: no bid;
    # q = 1 puts the ask at mid 99.75 + 0.6712438 - 0.0517172 = 100.37 -> 100.5, so the old
    # ask at 101.0 is cancelled and replaced.
    rows = [
        _book(0.0, 99.5, 100.5),
        (0.1, 100.0, 1.0, 99.5, 1000.0, 100.5, 1000.0),
        (2.0, 98.0, -5000.0, 99.5, 1000.0, 100.5, 1000.0),
        _book(2.5, 99.0, 100.5),
        _book(5.0, 99.0, 100.5),
    ]
    strat = GLFT(10, 0.1, 140, 1.5, 10, sigma=2.0)
    res = mmsim.backtest(taq(rows), signals(1.0, 3.0, x=[0, 0]), strat, contract=NOFEE)
    o = res.orders
    assert o["price"].tolist() == [99.0, 101.0, 100.5]
    assert o["amount"].tolist() == [10.0, -10.0, -10.0]
    assert o["status"].tolist()[:2] == ["filled", "cancelled"]
    assert res.fills["amount"].tolist() == [10.0]


def test_monte_carlo_follows_the_target_and_stops_out():
    # t=1: NAV = 1 BTC x 9999.75; inv 5 of max 5 = 100 % -> follow(0, floor(9999.75)) = 9999,
    # pegged at the best bid 9999.5; a sell through it at 2.0 fills it there.
    # t=3: bid 9000: pnl = (1/9999.5 - 1/9000) x 9999 = -0.1105 BTC, x 9000 / NAV (~8005)
    # = -12.4 % < -5 % -> market order -floor(9999) = -9999, filled at the bid 9000.
    rows = [
        (0.0, 10000.0, 1.0, 9999.5, 1000.0, 10000.0, 1000.0),
        (2.0, 9999.0, -50000.0, 9999.5, 1000.0, 10000.0, 1000.0),
        _book(2.5, 9000.0, 9000.5),
        _book(5.0, 9000.0, 9000.5),
    ]
    strat = MonteCarlo(5.0, 0.05, 0, -0.05)
    res = mmsim.backtest(taq(rows), signals(1.0, 3.0, inv=[5.0, 5.0]), strat, contract=NOFEE)
    o = res.orders
    assert o["type"].tolist() == ["follow_limit", "market"]
    assert o["amount"].tolist() == [9999.0, -9999.0]
    assert res.fills["price"].tolist() == [9999.5, 9000.0]
    assert res.positions["amount"].iloc[-1] == 0.0


@pytest.mark.parametrize("strategy, expected", [
    (lambda: AvellanedaStoikov(5, 0.1, "k", sigma=3.0, horizon=3600),
     {"max_size": 5.0, "gamma": 0.1, "k": "k", "n": 0.0, "delta_price": 0.0, "delta_size": 0.0,
      "sigma": 3.0, "reference": "last", "horizon": 3600, "centre": "notebook"}),
    (lambda: mmsim.GLFT(2, 0.05, 1.5, 0.3, 10, sigma="vol"),
     {"order_size": 2.0, "gamma": 0.05, "A": 1.5, "k": 0.3, "max_position": 10.0, "xi": None,
      "delta": 1.0, "sigma": "vol", "reference": "mid", "delta_price": 0.0}),
    (lambda: mmsim.MonteCarlo(5, 0.1, level=2),
     {"max_size": 5.0, "threshold": 0.1, "level": 2, "pct_loss": -0.05, "inv": "inv"}),
    (lambda: mmsim.Symmetric(5, 0.1, 2.0),
     {"max_size": 5.0, "gamma": 0.1, "k": 2.0, "delta_price": 0.0, "delta_size": 0.0,
      "sigma": "sigma", "reference": "last", "horizon": None}),
])
def test_params_record_every_argument_and_rebuild_the_strategy(strategy, expected):
    built = strategy()
    assert built.params() == expected
    again = type(built)(**built.params())
    assert again.params() == expected


def test_an_estimator_source_is_recorded_as_the_call_that_builds_it():
    from mmsim.estimators import EWMAVolatility, TradeIntensity

    strat = AvellanedaStoikov(5, 0.1, 5.0, sigma=EWMAVolatility("30s", unit="1min"))
    assert strat.params()["sigma"] == "EWMAVolatility(halflife=30.0, unit=60.0, returns='log')"
    rebuilt = eval(strat.params()["sigma"], {"EWMAVolatility": EWMAVolatility})
    assert (rebuilt.halflife_ns, rebuilt.unit_ns) == (30e9, 60e9)
    assert repr(TradeIntensity([0, 0.5], "1min", min_count=3)) == (
        "TradeIntensity(depths=[0.0, 0.5], window=60.0, unit=1.0, min_count=3)")


def test_a_result_records_the_strategy_sources():
    from helpers import quote, signals, taq

    result = mmsim.backtest(taq([quote(0, 100.0, 5, 100.5, 5), quote(2, 100.0, 5, 100.5, 5)]),
                            signals(1, k=[2.0]), AvellanedaStoikov(5, 0.1, "k", sigma=0.5),
                            latency=0.5)
    assert result.params["strategy_params"]["k"] == "k"
    assert result.params["strategy_params"]["sigma"] == 0.5
