"""Queue models, fill bounds and causes, amend, time in force and reduce-only, each on a
hand-worked scenario (DESIGN.md "Queue models", "Fill bounds", "Amend, time in force,
reduce-only")."""
import math

import pandas as pd
import pytest

import mmsim
from helpers import NOFEE, at, quote, run
from mmsim.queue import FrontShare, LogProb, PowerProb, QueueModel, RiskAverse


# -- queue models -------------------------------------------------------------------------

def drop_without_print():
    # Our bid joins at 1.5 behind 0.75 x 400 = 300 (B = 100 behind us). At 2 the size drops
    # to 300 with no print (chg = 100); at 3 a print of 250 at our price.
    return [
        quote(0, 100.0, 400, 100.5, 400),
        quote(2, 100.0, 300, 100.5, 400),
        (3, 100.0, -250.0, 100.0, 300, 100.5, 400),
    ]


@pytest.mark.parametrize("model, ahead, filled", [
    # A = min(300, 300) = 300; the print leaves 50 ahead and fills nothing.
    (RiskAverse(), 50.0, 0.0),
    # s = 300^2 / (300^2 + 100^2) = 0.9: A = 300 - 90 + min(100 - 10, 0) = 210 (DESIGN's
    # worked example); the print consumes 210 and fills 40.
    (PowerProb(2), 0.0, 40.0),
    # s = ln 301 / (ln 301 + ln 101): A = 300 - 100 s; the print fills floor(250 - A) = 5.
    (LogProb(), 0.0, 5.0),
])
def test_queue_models_on_a_size_drop_without_a_print(model, ahead, filled):
    res, _ = run(drop_without_print(), [1], lambda c: c.limit(100.0, 100),
                 queue_position=0.75, queue_model=model)
    assert res.fills["amount"].sum() == filled
    assert res.orders["queue_ahead"].iloc[0] == ahead
    if filled:
        assert res.fills["cause"].astype(str).tolist() == ["queue"]
        assert res.fills["print_volume"].tolist() == [250.0]


def test_log_model_queue_after_the_drop():
    s = math.log(301) / (math.log(301) + math.log(101))
    assert LogProb().update(300.0, 400.0, 300.0) == 300.0 - 100.0 * s


def drop_with_print():
    # Our bid joins at 1.5 behind 0.5 x 400 = 200. At 2 a print of 100 at our price: A = 100.
    # At 3 the size shows 250: prints explain 100 of the 150 drop, chg = 50, B = 400 - 100 = 300.
    # At 4 a print of 150.
    return [
        quote(0, 100.0, 400, 100.5, 400),
        (2, 100.0, -100.0, 100.0, 400, 100.5, 400),
        quote(3, 100.0, 250, 100.5, 400),
        (4, 100.0, -150.0, 100.0, 250, 100.5, 400),
    ]


@pytest.mark.parametrize("model, filled", [
    # A = min(100, 250) = 100: the print of 150 fills 50.
    (RiskAverse(), 50.0),
    # s = 100^2 / (100^2 + 300^2) = 0.1: A = 100 - 5 + min(300 - 45, 0) = 95: fills 55.
    (PowerProb(2), 55.0),
    # s = 1 / (1 + 3^4) = 1/82: A = 100 - 50/82 = 99.39...: fills floor(50.6...) = 50.
    (PowerProb(4), 50.0),
])
def test_queue_models_on_a_size_drop_explained_partly_by_a_print(model, filled):
    res, _ = run(drop_with_print(), [1], lambda c: c.limit(100.0, 100),
                 queue_position=0.5, queue_model=model)
    assert res.fills["amount"].tolist() == [filled]


def test_queue_model_ignores_a_drop_when_our_price_was_not_the_best():
    # At 2 the best bid rises to 100.5 (our bid is behind it); at 3 it is back at 100 with
    # 300: S_prev is unknown, so every model only caps A at the size shown: min(300, 300)
    # (PowerProb(2) on a known 400 -> 300 would give 210). The print of 310 fills 10.
    rows = [quote(0, 100.0, 400, 100.5, 400), quote(2, 100.5, 50, 101.0, 400),
            quote(3, 100.0, 300, 100.5, 400), (4, 100.0, -310.0, 100.0, 300, 100.5, 400)]
    for model in (RiskAverse(), PowerProb(2), LogProb()):
        res, _ = run(rows, [1], lambda c: c.limit(100.0, 100), queue_position=0.75,
                     queue_model=model)
        assert res.fills["amount"].tolist() == [10.0]


def test_python_front_share_is_called_with_ahead_and_behind():
    calls = []

    def share(ahead, behind):
        calls.append((ahead, behind))
        return 1.0                      # every cancellation was in front of us

    res, _ = run(drop_without_print(), [1], lambda c: c.limit(100.0, 100),
                 queue_position=0.75, queue_model=share)
    # A = 300 - 100 = 200; the print of 250 fills 50.
    assert calls == [(300.0, 100.0)]
    assert res.fills["amount"].tolist() == [50.0]


def test_a_failing_python_queue_model_stops_the_run_with_its_error():
    def share(ahead, behind):
        raise ZeroDivisionError("boom")

    with pytest.raises(mmsim.StrategyError) as info:
        run(drop_without_print(), [1], lambda c: c.limit(100.0, 100),
            queue_position=0.75, queue_model=share)
    assert isinstance(info.value.__cause__, ZeroDivisionError)
    assert len(info.value.result.orders) == 1


@pytest.mark.parametrize("value, message", [
    (lambda a, b: 2.0, r"returned 2.0; a share must be in \[0, 1\]"),
    (lambda a, b: "x", r"returned 'x'; front_share must return a number in \[0, 1\]"),
])
def test_python_queue_model_must_return_a_share(value, message):
    with pytest.raises(mmsim.StrategyError) as info:
        run(drop_without_print(), [1], lambda c: c.limit(100.0, 100),
            queue_position=0.75, queue_model=value)
    assert info.match(message)


@pytest.mark.parametrize("value, error, message", [
    (QueueModel(), TypeError, r"queue_model: QueueModel is the base class"),
    (PowerProb, TypeError, r"queue_model must be an instance, got the class PowerProb"),
    (3, TypeError, r"queue_model must be a QueueModel or a callable front_share"),
])
def test_queue_model_argument_is_checked(value, error, message):
    with pytest.raises(error, match=message):
        run(drop_without_print(), [1], lambda c: c.limit(100.0, 100), queue_model=value)


@pytest.mark.parametrize("n, error, message", [
    (0, ValueError, "^PowerProb n must be > 0, got 0$"),
    (-1, ValueError, "^PowerProb n must be > 0, got -1$"),
    (float("nan"), ValueError, "^PowerProb n must be finite, got nan$"),
    ("two", TypeError, "^PowerProb n must be a real number, got 'two'$"),
])
def test_power_exponent_must_be_positive(n, error, message):
    with pytest.raises(error, match=message):
        PowerProb(n)


def test_queue_models_pickle_and_compare():
    import pickle
    for model in (RiskAverse(), PowerProb(2.5), LogProb()):
        again = pickle.loads(pickle.dumps(model))
        assert again == model and repr(again) == repr(model)
    assert PowerProb(2) != PowerProb(3)


# -- fill bounds and causes ---------------------------------------------------------------

def through_a_large_order():
    # A 1000-lot bid at the best bid (100, 10 displayed); prints of 156 and then 50 go
    # through it at 99.5.
    return [
        quote(0, 100.0, 10, 100.5, 10),
        (2, 99.5, -156.0, 100.0, 10, 100.5, 10),
        (3, 99.5, -50.0, 100.0, 10, 100.5, 10),
    ]


def test_without_a_bound_a_print_through_fills_the_whole_order():
    res, _ = run(through_a_large_order(), [1], lambda c: c.limit(100.0, 1000))
    assert res.fills["amount"].tolist() == [1000.0]
    assert res.fills["cause"].astype(str).tolist() == ["through"]
    assert res.fills["print_volume"].tolist() == [156.0]


def test_prints_bound_fills_at_most_the_printed_volume():
    res, _ = run(through_a_large_order(), [1], lambda c: c.limit(100.0, 1000),
                 fill_bound="prints")
    assert res.fills["amount"].tolist() == [156.0, 50.0]
    assert res.fills["cause"].astype(str).tolist() == ["through", "through"]
    order = res.orders.iloc[0]
    assert (order["status"], order["filled"], order["queue_ahead"]) == ("live", 206.0, 0.0)


def test_prints_bound_shares_a_print_in_price_then_time_priority():
    # Bids at 100 (4 lots, sent first) and 100.5 (3 lots, a new best level, queue 0); a print
    # of 5 at 99.5 goes through both: 3 to the higher bid, then 2 to the other.
    rows = [quote(0, 100.0, 10, 101.0, 10), (2, 99.5, -5.0, 100.0, 10, 101.0, 10)]
    res, _ = run(rows, [1], lambda c: [c.limit(100.0, 4), c.limit(100.5, 3)],
                 fill_bound="prints")
    assert list(zip(res.fills["order_id"], res.fills["amount"])) == [(2, 3.0), (1, 2.0)]


def test_crossing_quote_fills_without_a_bound_and_only_queues_with_one():
    # The ask falls to our bid at 2 (no print); a sell print of 30 at 100 comes at 3.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 99.5, 10, 100.0, 10),
            (3, 100.0, -30.0, 99.5, 10, 100.0, 10)]
    res, _ = run(rows, [1], lambda c: c.limit(100.0, 50))
    assert res.fills["amount"].tolist() == [50.0]
    assert res.fills["cause"].astype(str).tolist() == ["cross"]
    assert math.isnan(res.fills["print_volume"].iloc[0])
    bounded, _ = run(rows, [1], lambda c: c.limit(100.0, 50), fill_bound="prints")
    # At the front of the queue from 2, filled 30 by the print at 3.
    assert bounded.fills.index.tolist() == [at(3)]
    assert bounded.fills["amount"].tolist() == [30.0]
    assert bounded.fills["cause"].astype(str).tolist() == ["queue"]


def test_fill_bound_is_checked():
    with pytest.raises(ValueError, match=r"fill_bound must be one of \('none', 'prints'\), "
                                         r"got 'volume'"):
        run(through_a_large_order(), [1], lambda c: None, fill_bound="volume")


def test_taker_fills_say_so():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(2, 100.0, 10, 100.5, 10)]
    res, _ = run(rows, [1], lambda c: [c.market(3), c.limit(100.5, 2)])
    assert res.fills["cause"].astype(str).tolist() == ["taker", "taker"]


# -- amend --------------------------------------------------------------------------------

def two_bids():
    # Two of our bids join at 100 behind 100 each (ours sent at 1, live at 1.5); at 3 a
    # print of 105 at 100. Amends are sent at 2 and take effect at 2.5.
    return [quote(0, 100.0, 100, 100.5, 100), quote(1.7, 100.0, 100, 100.5, 100),
            (3, 100.0, -105.0, 100.0, 100, 100.5, 100)]


def test_amend_down_keeps_the_place_in_the_queue():
    res, _ = run(two_bids(), [1, 2], lambda c: [c.limit(100.0, 10), c.limit(100.0, 10)],
                 lambda c: c.amend(1, amount=8))
    # Order 1 is still first: the print's 105 consume its 100 ahead and fill it 5.
    assert list(zip(res.fills["order_id"], res.fills["amount"])) == [(1, 5.0)]
    first = res.orders.iloc[0]
    assert (first["amount"], first["amends"], first["status"]) == (8.0, 1, "live")


@pytest.mark.parametrize("change", [dict(amount=12), dict(price=100.0, amount=20)])
def test_amend_up_loses_the_place(change):
    res, _ = run(two_bids(), [1, 2], lambda c: [c.limit(100.0, 10), c.limit(100.0, 10)],
                 lambda c: c.amend(1, **change))
    # Order 1 rejoined behind order 2 (both 100 ahead): order 2 now takes the 5.
    assert list(zip(res.fills["order_id"], res.fills["amount"])) == [(2, 5.0)]


def test_amend_price_rejoins_at_the_new_price_or_takes():
    rows = [quote(0, 100.0, 100, 100.5, 7), quote(3, 100.0, 100, 100.5, 7)]
    res, _ = run(rows, [1, 2], lambda c: [c.limit(99.0, 5), c.limit(99.0, 4, post_only=True)],
                 lambda c: [c.amend(1, price=100.5), c.amend(2, price=100.5)])
    first, second = res.orders.iloc[0], res.orders.iloc[1]
    # The plain bid moved to the ask takes there as taker; the post-only one is rejected.
    assert (first["status"], first["filled"], first["price"]) == ("filled", 5.0, 100.5)
    assert res.fills["cause"].astype(str).tolist() == ["taker"]
    assert (second["status"], second["reason"], second["filled"]) == ("rejected", "post_only", 0.0)


def test_amend_to_what_has_filled_closes_the_order_and_closed_amends_count():
    rows = [quote(0, 100.0, 0, 100.5, 10), (1.7, 100.0, -4.0, 100.0, 0, 100.5, 10),
            quote(5, 100.0, 0, 100.5, 10)]
    res, _ = run(rows, [1, 2, 3], lambda c: c.limit(100.0, 10), lambda c: c.amend(1, amount=4),
                 lambda c: c.amend(1, amount=9))
    order = res.orders.iloc[0]
    assert (order["status"], order["reason"], order["closed"]) == ("cancelled", "amended", at(2.5))
    assert (order["filled"], order["amends"]) == (4.0, 2)


def test_amend_latency_defaults_to_the_cancel_latency():
    rows = [quote(0, 100.0, 0, 100.5, 10), quote(5, 100.0, 0, 100.5, 10)]
    res, _ = run(rows, [1, 2], lambda c: c.limit(100.0, 10), lambda c: c.amend(1, amount=1),
                 cancel_latency=0.2)
    assert res.orders["amount"].tolist() == [1.0]
    slow, _ = run(rows, [1, 2], lambda c: c.limit(100.0, 10), lambda c: c.amend(1, amount=1),
                  cancel_latency=0.2, amend_latency=4.0)
    assert slow.orders["amount"].tolist() == [10.0]      # takes effect at 6, after the data


def test_amend_before_live_is_rejected_as_unknown():
    rows = [quote(0, 100.0, 0, 100.5, 10), quote(5, 100.0, 0, 100.5, 10)]
    res, _ = run(rows, [1, 1.1], lambda c: c.limit(100.0, 10), lambda c: c.amend(1, amount=2),
                 latency=1.0, cancel_latency=0.1)
    order = res.orders.iloc[0]
    assert (order["amount"], order["rejected"], order["amends"], order["status"]) == (
        10.0, 1, 0, "live")


@pytest.mark.parametrize("step, message", [
    (lambda c: c.amend(1), r"amend: give a new price, a new amount or both"),
    (lambda c: c.amend(9, amount=1), r"amend: unknown order id 9; ids sent so far are 1..2"),
    (lambda c: c.amend(1, amount=-1), r"amend: amount -1 is on the other side of order 1 \(buy\)"),
    (lambda c: c.amend(1, price=100.2), r"amend: price 100.2 is off the tick grid"),
    (lambda c: c.amend(2, price=100.0), r"amend: order 2 is a follow_limit order; only a "
                                        r"limit order's price can be amended"),
])
def test_bad_amends_raise_naming_the_problem(step, message):
    rows = [quote(0, 100.0, 0, 100.5, 10), quote(5, 100.0, 0, 100.5, 10)]
    with pytest.raises(mmsim.StrategyError, match=message):
        run(rows, [1, 2], lambda c: [c.limit(100.0, 10), c.follow(0, 1)], step)


# -- time in force ------------------------------------------------------------------------

def seven_at_the_ask():
    return [quote(0, 100.0, 10, 100.5, 7), quote(3, 100.0, 10, 100.5, 7)]


def test_ioc_takes_at_most_the_displayed_size_and_cancels_the_rest():
    res, _ = run(seven_at_the_ask(), [1], lambda c: c.limit(101.0, 10, tif="ioc"))
    order = res.orders.iloc[0]
    assert res.fills["amount"].tolist() == [7.0] and res.fills["price"].tolist() == [100.5]
    assert (order["status"], order["reason"], order["filled"]) == ("cancelled", "ioc", 7.0)


def test_fok_fills_all_or_nothing():
    res, _ = run(seven_at_the_ask(), [1], lambda c: [c.limit(100.5, 10, tif="fok"),
                                                     c.limit(100.5, 7, tif="fok")])
    short, whole = res.orders.iloc[0], res.orders.iloc[1]
    assert (short["status"], short["reason"], short["filled"]) == ("rejected", "fok", 0.0)
    assert (whole["status"], whole["filled"]) == ("filled", 7.0)
    assert res.fills["order_id"].tolist() == [2]


def test_non_marketable_ioc_and_fok_are_cancelled_at_once():
    res, _ = run(seven_at_the_ask(), [1], lambda c: [c.limit(100.0, 3, tif="ioc"),
                                                     c.limit(100.0, 3, tif="fok")])
    assert res.orders["status"].astype(str).tolist() == ["cancelled", "cancelled"]
    assert res.orders["reason"].astype(str).tolist() == ["ioc", "fok"]
    assert res.orders["closed"].tolist() == [at(1.5), at(1.5)] and len(res.fills) == 0


@pytest.mark.parametrize("kwargs, message", [
    (dict(tif="day"), r"limit: tif must be one of \('gtc', 'ioc', 'fok'\), got 'day'"),
    (dict(tif="ioc", post_only=True), r"limit: a post-only order never takes liquidity"),
])
def test_bad_time_in_force_raises(kwargs, message):
    with pytest.raises(mmsim.StrategyError, match=message):
        run(seven_at_the_ask(), [1], lambda c: c.limit(100.0, 1, **kwargs))


# -- reduce-only --------------------------------------------------------------------------

def test_reduce_only_market_is_cut_to_the_position():
    res, _ = run(seven_at_the_ask(), [1, 2], lambda c: c.market(3),
                 lambda c: c.market(-5, reduce_only=True))
    sell = res.orders.iloc[1]
    assert res.fills["amount"].tolist() == [3.0, -3.0]
    assert (sell["status"], sell["reason"], sell["filled"]) == ("cancelled", "reduce_only", -3.0)


def test_reduce_only_with_nothing_to_reduce_is_cancelled():
    res, _ = run(seven_at_the_ask(), [1], lambda c: c.market(-5, reduce_only=True))
    order = res.orders.iloc[0]
    assert (order["status"], order["reason"], len(res.fills)) == ("cancelled", "reduce_only", 0)


def test_reduce_only_maker_is_cut_at_fill_time():
    # Long 2 from a market buy; a reduce-only ask for 5 at 101 rests; a buy print through it
    # would fill 5, and is cut to the 2 held.
    rows = [quote(0, 100.0, 10, 100.5, 7), (3, 101.5, 50.0, 100.0, 10, 100.5, 7)]
    res, _ = run(rows, [1], lambda c: [c.market(2), c.limit(101.0, -5, reduce_only=True)])
    ask = res.orders.iloc[1]
    assert res.fills["amount"].tolist() == [2.0, -2.0]
    assert (ask["status"], ask["reason"]) == ("cancelled", "reduce_only")
    assert res.positions["amount"].iloc[-1] == 0.0


# -- a custom queue model in Cython and in Python reproduce PowerProb(2) -----------------

SQUARE = '''
from mmsim.queue cimport QueueModel

cdef class Square(QueueModel):
    """f(x) = x ** 2, as PowerProb(2)."""

    cdef double front_share(self, double ahead, double behind) except -1.0 nogil:
        cdef double fa = ahead * ahead, fb = behind * behind
        if fa + fb == 0.0:
            return 1.0
        return fa / (fa + fb)
'''


def square(ahead, behind):
    """f(x) = x ** 2 in Python."""
    fa, fb = ahead * ahead, behind * behind
    return 1.0 if fa + fb == 0.0 else fa / (fa + fb)


@pytest.fixture(scope="module")
def random_run():
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(duration="2h", seed=3)
    signals = pd.DataFrame(index=pd.date_range(taq.index[0].ceil("1min"), taq.index[-1],
                                               freq="20s", name="time"))

    class Ladder(mmsim.Strategy):
        def on_signal(self, ctx):
            for oid in ctx.orders["order_id"].tolist():
                ctx.cancel(oid)
            for k in range(3):
                ctx.limit(ctx.bid_price - 0.5 * k, 300)
                ctx.limit(ctx.ask_price + 0.5 * k, -300)

    def run_with(model):
        return mmsim.backtest(taq, signals, Ladder(), contract=mmsim.BITMEX_XBTUSD,
                              queue_model=model, queue_position=0.8, latency=0.2)
    return run_with


def assert_same_run(a, b):
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_python_front_share_reproduces_power_prob_exactly(random_run):
    reference = random_run(PowerProb(2))
    assert len(reference.fills) > 50
    # Not vacuous: the model changes the fills against the risk-averse default.
    assert not reference.fills.equals(random_run(RiskAverse()).fills)
    assert_same_run(reference, random_run(square))
    assert_same_run(reference, random_run(FrontShare(square)))


def test_cython_queue_model_reproduces_power_prob_exactly(random_run, tmp_path, monkeypatch):
    pyximport = pytest.importorskip("pyximport")
    (tmp_path / "square_model.pyx").write_text(SQUARE)
    monkeypatch.syspath_prepend(str(tmp_path))
    importer = pyximport.install(build_dir=str(tmp_path / "build"), language_level=3,
                                 setup_args={"include_dirs": [mmsim.get_include()]})
    try:
        import square_model
    finally:
        pyximport.uninstall(*importer)
    model = square_model.Square()
    assert isinstance(model, QueueModel) and model.share(300.0, 100.0) == 0.9
    assert_same_run(random_run(PowerProb(2)), random_run(model))


# -- what the statistics say about optimistic fills ---------------------------------------

def test_stats_split_maker_volume_by_cause_and_count_what_no_print_covered():
    # A 1000-lot bid filled whole by a print of 156 through it (844 not covered), then an
    # ask of 50 crossed by the bid rising to it (no print: all 50 not covered), and a bid of
    # 20 at a new best level filled 20 by a print of 30 at its price (covered).
    rows = [quote(0, 100.0, 10, 101.0, 10),
            (2, 99.5, -156.0, 100.0, 10, 101.0, 10),
            quote(3, 101.5, 10, 102.0, 10),
            (5, 100.0, -30.0, 99.5, 10, 100.5, 10)]
    res, _ = run(rows, [1, 2, 3.5], lambda c: c.limit(100.0, 1000),
                 lambda c: c.limit(101.5, -50), lambda c: c.limit(100.0, 20))
    assert res.fills["cause"].astype(str).tolist() == ["through", "cross", "queue"]
    stats = res.stats()
    assert (stats["maker_volume_queue"], stats["maker_volume_through"],
            stats["maker_volume_cross"]) == (20.0, 1000.0, 50.0)
    assert stats["maker_unprinted_share"] == (844.0 + 50.0) / 1070.0
    assert "not covered by prints" in res.summary()


# -- latency models -----------------------------------------------------------------------

from mmsim.latency import Constant, Lognormal, Sampled, Series  # noqa: E402


def quiet_market():
    return [quote(0, 100.0, 10, 100.5, 10), quote(10, 100.0, 10, 100.5, 10)]


def three_bids(c):
    return c.limit(99.0, 1)


def test_series_latency_is_piecewise_constant_in_time():
    # 0.5 s until 2 s, then 0.1 s: orders sent at 1 and 3 go live at 1.5 and 3.1.
    model = Series([at(0), at(2)], [0.5, 0.1])
    res, _ = run(quiet_market(), [1, 3], three_bids, three_bids, latency=model)
    assert res.orders["live"].tolist() == [at(1.5), at(3.1)]


@pytest.mark.parametrize("model", [Sampled([0.05, 0.2, 0.7], seed=7),
                                   Lognormal(0.1, 0.8, seed=3)])
def test_random_latencies_are_one_draw_per_order_and_repeat_with_the_seed(model):
    res, _ = run(quiet_market(), [1, 2, 3], three_bids, three_bids, three_bids, latency=model)
    draws = model.sample(3)                       # the stream the run used, from its start
    sent = [at(1), at(2), at(3)]
    assert res.orders["live"].tolist() == [t + pd.Timedelta(int(d), unit="ns")
                                           for t, d in zip(sent, draws)]
    again, _ = run(quiet_market(), [1, 2, 3], three_bids, three_bids, three_bids,
                   latency=model)
    pd.testing.assert_frame_equal(res.orders, again.orders, check_exact=True)


def test_a_latency_model_can_reorder_orders():
    # The first draw is 0.9 s, the second 0.1 s: the order sent second is live first, so
    # it is ahead in time priority and takes the print's one lot beyond the queue.
    model = Series([at(0), at(1.05)], [0.9, 0.1])
    rows = [quote(0, 100.0, 0, 100.5, 10), (3, 100.0, -1.0, 100.0, 0, 100.5, 10)]
    res, _ = run(rows, [1, 1.1], lambda c: c.limit(100.0, 1), lambda c: c.limit(100.0, 1),
                 latency=model)
    assert res.orders["live"].tolist() == [at(1.9), at(1.2)]
    assert res.fills["order_id"].tolist() == [2]


def test_a_constant_model_is_a_bare_number():
    rows = [quote(0, 100.0, 10, 100.5, 10), (2, 99.5, -5.0, 100.0, 10, 100.5, 10)]
    bare, _ = run(rows, [1], lambda c: c.limit(100.0, 3), latency=0.3, cancel_latency=0.1,
                  feed_latency=0.2)
    model, _ = run(rows, [1], lambda c: c.limit(100.0, 3), latency=Constant(0.3),
                   cancel_latency=Constant(0.1), feed_latency=Constant(0.2))
    pd.testing.assert_frame_equal(bare.orders, model.orders, check_exact=True)
    pd.testing.assert_frame_equal(bare.fills, model.fills, check_exact=True)
    assert model.params["latency"] == "Constant(0.3)"


def test_feed_latency_model_draws_once_per_call():
    # Feed lag 1.5 s then 0.1 s (a Series on the call time): the call at 2 sees the row at
    # 0 only; the call at 4 sees the row at 3.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(3, 101.0, 10, 101.5, 10),
            quote(5, 101.0, 10, 101.5, 10)]
    seen = []
    run(rows, [2, 4], lambda c: seen.append(c.bid_price), lambda c: seen.append(c.bid_price),
        feed_latency=Series([at(0), at(3)], [1.5, 0.1]))
    assert seen == [100.0, 101.0]


def with_local_time(rows, received):
    from helpers import taq
    frame = taq(rows)
    frame["local_time"] = [at(s) for s in received]
    return frame


def test_local_time_column_sets_when_the_strategy_sees_each_row():
    from helpers import Script, signals
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 101.0, 10, 101.5, 10),
            quote(2, 102.0, 10, 102.5, 10), quote(4, 102.0, 10, 102.5, 10)]
    # Row 1 arrives at 3.0, after row 2 (2.5): row 2 counts as received with it, at 3.0.
    frame = with_local_time(rows, [0.5, 3.0, 2.5, 4.0])
    seen = []
    look = lambda c: seen.append(c.bid_price)  # noqa: E731
    mmsim.backtest(frame, signals(0.4, 2.6, 3.5), Script(look, look, look), contract=NOFEE)
    assert seen[1:] == [100.0, 102.0] and math.isnan(seen[0])
    # On top of it, a feed latency of 0.6 s: at 3.5 only row 0 (0.5 + 0.6 <= 3.5) is in.
    seen.clear()
    mmsim.backtest(frame, signals(0.4, 2.6, 3.5), Script(look, look, look), contract=NOFEE,
                   feed_latency=0.6)
    assert seen[1:] == [100.0, 100.0]


def test_aligned_data_carries_local_time_through_a_cut():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 101.0, 10, 101.5, 10),
            quote(2, 102.0, 10, 102.5, 10)]
    from helpers import signals
    data = mmsim.align(with_local_time(rows, [0.5, 3.0, 2.5]), signals(1), start=at(1))
    assert data.local_time.tolist() == [at(3).value, at(3).value]


@pytest.mark.parametrize("received, message", [
    ([0.5, None, 2.5], r"taq column 'local_time' is NaT at row 1 \(2019-04-01 00:00:01\+00:00\)"),
    ([1, 2, 3], r"taq column 'local_time' must hold datetimes \(when each row was received\), "
                r"got dtype int64"),
])
def test_bad_local_time_is_named(received, message):
    from helpers import signals, taq
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 101.0, 10, 101.5, 10),
            quote(2, 102.0, 10, 102.5, 10)]
    frame = taq(rows)
    frame["local_time"] = [None if s is None else at(s) for s in received] \
        if received[0] == 0.5 else received
    with pytest.raises(mmsim.SchemaError, match=message):
        mmsim.align(frame, signals(1))


def test_aligned_local_time_must_cover_every_row():
    import numpy as np
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 101.0, 10, 101.5, 10)]
    from helpers import signals, taq
    data = mmsim.align(taq(rows), signals(1))
    short = data._replace(local_time=np.zeros(1, dtype=np.int64))
    with pytest.raises(mmsim.SchemaError, match=r"Aligned.local_time has 1 rows, Aligned.time "
                                                r"has 2; it needs one value per row"):
        mmsim.backtest(short, None, mmsim.Strategy(), contract=NOFEE)


def test_quotes_off_the_tick_grid_are_refused_before_the_run():
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(1, 100.2, 10, 100.5, 10)]
    with pytest.raises(mmsim.SchemaError, match=r"taq column 'bid_price' is 100.2 at row 1, off "
                                                r"the tick grid of 0.5 \(the contract\); the "
                                                r"nearest price on the grid is 100.0"):
        run(rows, [1], lambda c: None)
    # A print off the grid is a VWAP, and fine.
    vwap = [quote(0, 100.0, 10, 100.5, 10), (1, 100.2, 5.0, 100.0, 10, 100.5, 10)]
    assert len(run(vwap, [1], lambda c: None)[0].orders) == 0
