"""Hostile inputs: each is refused with an error naming it, or handled without harm."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from helpers import NAN, NOFEE, Script, quote, run, signals, taq

#: A linear contract on a 0.1 tick and a 0.001 lot, no fees.
LINEAR = mmsim.Contract(inverse=False, tick_size=0.1, lot_size=0.001, contract_size=1.0,
                        maker_fee=0.0, taker_fee=0.0)

ROWS = [quote(0, 100.0, 500, 100.5, 500), (2, 99.5, -10.0, 100.0, 500, 100.5, 500),
        quote(3, 100.0, 500, 100.5, 500)]


def raised(action):
    """Run ``action()`` and return the exception it raised (None if it did not)."""
    try:
        action()
    except Exception as exc:  # noqa: BLE001 - the test inspects it
        return exc
    return None


# ---- 1: views handed to the strategy are read-only ----------------------------------------

def test_ctx_orders_cannot_be_written_or_made_writeable():
    seen = {}

    def step(ctx):
        oid = ctx.limit(99.0, 10)
        seen["write"] = raised(lambda: ctx.orders["order_id"].__setitem__(slice(None), 10**12))
        seen["flag"] = raised(lambda: setattr(ctx.orders.flags, "writeable", True))
        seen["signal"] = raised(lambda: ctx.signal.__setitem__(0, 5.0))
        return oid

    result, _ = run(ROWS, [1], step)
    for key in ("write", "flag", "signal"):
        assert isinstance(seen[key], ValueError), key
    assert "read-only" in str(seen["write"])
    assert result.orders["order_id"].tolist() == [1]
    assert result.orders["price"].tolist() == [99.0]


def test_a_kept_orders_view_stays_as_it_was_when_the_book_grows():
    # The book's buffer grows in place only while no view of it is out: a view the strategy
    # keeps still reads the orders it saw (its memory is not moved or freed under it), and
    # the orders sent after it are all recorded.
    kept = []

    def step(ctx):
        for k in range(5):
            ctx.limit(90.0 - 0.5 * k, 1)
        kept.append(ctx.orders)
        for k in range(100):                        # the 16-order book grows three times
            ctx.limit(80.0 - 0.5 * k, 1)

    result, _ = run(ROWS, [1, 2.5], step, lambda ctx: kept.append(ctx.orders.copy()))
    assert kept[0]["order_id"].tolist() == [1, 2, 3, 4, 5]
    assert kept[0]["price"].tolist() == [90.0, 89.5, 89.0, 88.5, 88.0]
    assert kept[1]["order_id"].tolist() == list(range(1, 106))
    assert result.orders["order_id"].tolist() == list(range(1, 106))
    assert result.orders["price"].tolist()[-1] == 80.0 - 0.5 * 99


def test_fill_handed_to_on_fill_is_read_only_and_records_stay():
    errors = []

    def tamper(ctx, fill):
        errors.append(raised(lambda: fill.__setitem__("price", 0.0)))

    strategy = Script(lambda ctx: ctx.limit(100.0, 10), on_fill=tamper)
    result = mmsim.backtest(taq(ROWS), signals(1), strategy, contract=NOFEE, latency=0.5)
    # Joined at the best bid behind 500: the print at 99.5 goes through 100.0 and fills all 10.
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert result.fills["price"].tolist() == [100.0]
    assert result.fills["amount"].tolist() == [10.0]


def test_fills_kept_from_on_fill_stay_as_they_were_when_fills_are_not_recorded():
    # record="daily" keeps no fills table: the engine reuses its fill buffer once on_fill has
    # seen a fill, so a fill the strategy keeps must be its own copy.
    rows = [quote(0, 100.0, 500, 100.5, 500),
            (2, 99.5, -10.0, 100.0, 500, 100.5, 500),     # through our 100.0 bid: fills 10
            (4, 101.0, 7.0, 100.0, 500, 100.5, 500)]      # through our 100.5 ask: fills all 8
    kept = []
    strategy = Script(lambda ctx: ctx.limit(100.0, 10), lambda ctx: ctx.limit(100.5, -8),
                      on_fill=lambda ctx, fill: kept.append(fill))
    mmsim.backtest(taq(rows), signals(1, 3), strategy, contract=NOFEE, latency=0.5,
                   record="daily")
    assert [(int(f["order_id"]), float(f["price"]), float(f["amount"])) for f in kept] == \
        [(1, 100.0, 10.0), (2, 100.5, -8.0)]


# ---- 2 and 3: amounts and prices snap to their grids; zero after snapping is an error --------

def test_amount_is_snapped_to_the_lot_grid_so_an_order_completes():
    rows = [quote(0, 99.9, 5.0, 100.1, 5.0),
            (2, 99.9, -1.0, 99.9, 5.0, 100.1, 5.0),     # through our 100.0: fills all of it
            (3, 99.9, -1.0, 99.9, 5.0, 100.1, 5.0),     # nothing left to fill
            (4, 100.0, -1.0, 99.9, 5.0, 100.1, 5.0)]
    strategy = Script(lambda ctx: ctx.limit(100.0, 0.1 * 3))   # 0.30000000000000004
    result = mmsim.backtest(taq(rows), signals(1), strategy, contract=LINEAR, latency=0.5)
    assert result.orders["amount"].tolist() == [0.3]
    assert result.orders["status"].tolist() == ["filled"]
    assert result.fills["amount"].tolist() == [0.3]
    assert strategy.fill_log == [(pd.Timestamp("2019-04-01 00:00:02", tz="UTC").value, 1, 0.3)]


@pytest.mark.parametrize("action, message", [
    (lambda ctx: ctx.limit(100.0, 1e-7), r"limit: amount 1e-07 rounds to 0 lots \(lot_size 1.0\)"),
    (lambda ctx: ctx.market(-4e-7), r"market: amount -4e-07 rounds to 0 lots"),
    (lambda ctx: ctx.limit(1e-7, 1), r"limit: price 1e-07 rounds to 0 ticks \(tick_size 0.5\)"),
])
def test_values_that_round_to_zero_on_their_grid_are_refused(action, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], action)
    with pytest.raises(ValueError, match=message):
        raise err.value.__cause__


# ---- 4: values that would overflow are refused where they enter -----------------------------

@pytest.mark.parametrize("action, message", [
    (lambda ctx: ctx.limit(1e19, -1), r"limit: price 1e\+19 is too large; at most 4503599627370496 "
                                      r"\(2\*\*53 ticks of 0.5\)"),
    (lambda ctx: ctx.follow(2**63, 1), r"follow: level 9223372036854775808 is too large"),
    (lambda ctx: ctx.market(1e306), r"market: amount 1e\+306 is too large; at most "
                                    r"9007199254740992 \(2\*\*53 lots of 1.0\)"),
])
def test_values_beyond_exact_range_are_refused(action, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], action)
    with pytest.raises(ValueError, match=message):
        raise err.value.__cause__


def test_amount_too_large_is_not_called_off_grid():
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], lambda ctx: ctx.market(1e306), contract=LINEAR)
    assert str(err.value.__cause__) == ("market: amount 1e+306 is too large; at most "
                                        "9007199254740.9922 (2**53 lots of 0.001)")


@pytest.mark.parametrize("name", ["latency", "cancel_latency", "amend_latency", "feed_latency"])
def test_latency_past_the_last_representable_time_is_refused(name):
    # Data in 2200 + 2e9 s (63 years) is past 2262-04-11, where int64 nanoseconds end.
    late = [(r[0],) + tuple(r[1:]) for r in ROWS]
    frame = taq(late)
    frame.index = frame.index + (pd.Timestamp("2200-01-01", tz="UTC") - frame.index[0])
    sig = pd.DataFrame({"x": [0.0]}, index=frame.index[:1])
    with pytest.raises(ValueError, match=rf"^{name} of 2000000000.0 s puts actions sent at the "
                                         r"end of the data \(2200-01-01 00:00:03\+00:00\) past "
                                         r"2262-04-11"):
        mmsim.backtest(frame, sig, Script(), contract=NOFEE, **{name: 2e9})


def test_latency_beyond_a_century_is_refused():
    with pytest.raises(ValueError, match=r"^latency must be at most 3155760000 seconds \(100 years\), got 10000000000.0"):
        run(ROWS, [1], None, latency=1e10)


def test_taq_price_beyond_exact_ticks_is_refused():
    rows = [quote(0, 100.0, 5, 5e15, 5)]
    with pytest.raises(mmsim.SchemaError, match=r"taq column 'ask_price' is 5000000000000000.0 at "
                                                r"row 0, more than 2\*\*53 ticks of 0.5"):
        run(rows, [1], None)


@pytest.mark.parametrize("window", [(None, None), (500, 1500), (1000, None)],
                         ids=["all", "around", "after"])
def test_a_quote_off_the_grid_is_named_at_its_row_of_the_frame(window):
    # A DataFrame is checked against the contract in the pass that validates it, every row of
    # it (as its schema is): the row named is the frame's, whatever the replayed span.
    from mmsim.data.align import cut
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(2000, seed=0)
    k = 777
    bid = float(taq["bid_price"].iloc[k])
    taq.iloc[k, taq.columns.get_loc("bid_price")] = bid + 0.1
    sig = taq.iloc[::100, :0].assign(x=0.0)
    start, end = (None if w is None else taq.index[w] for w in window)
    message = (f"taq column 'bid_price' is {bid + 0.1!r} at row {k}, off the tick grid of 0.5 "
               f"(BitMEX XBTUSD); the nearest price on the grid is {bid!r}: check the contract "
               f"matches the data")
    with pytest.raises(mmsim.SchemaError) as err:
        mmsim.backtest(taq, sig, Script(), start=start, end=end)
    assert str(err.value) == message
    with pytest.raises(mmsim.SchemaError) as err:
        mmsim.align(taq, sig, start, end, contract=mmsim.BITMEX_XBTUSD)
    assert str(err.value) == message
    # Arrays are checked as they are replayed: the row is theirs.
    data = cut(mmsim.align(taq, sig), start, end)
    first = 0 if start is None else int(taq.index.searchsorted(start))
    if first <= k:
        with pytest.raises(mmsim.SchemaError) as err:
            mmsim.backtest(data, None, Script())
        assert str(err.value) == message.replace(f"at row {k},", f"at row {k - first},")
    else:
        assert len(mmsim.backtest(data, None, Script()).balances)


def test_a_streamed_chunk_off_the_grid_is_named_at_its_row_of_the_chunk():
    from mmsim.data.synthetic import synthetic_taq

    taq = synthetic_taq(2000, seed=0)
    bid = float(taq["bid_price"].iloc[777])
    taq.iloc[777, taq.columns.get_loc("bid_price")] = bid + 0.1
    sig = taq.iloc[::100, :0].assign(x=0.0)
    with pytest.raises(mmsim.StreamError, match=(
            rf"SchemaError: taq chunk 1 \(from row 500\): taq column 'bid_price' is "
            rf"{bid + 0.1!r} at row 277, off the tick grid of 0.5 \(BitMEX XBTUSD\)")):
        mmsim.backtest(iter([taq.iloc[:500], taq.iloc[500:]]), sig, Script())
    with pytest.raises(mmsim.SchemaError, match=(
            rf"^taq chunk 0 \(from row 0\): taq column 'bid_price' is {bid + 0.1!r} at row "
            rf"777, off the tick grid")):
        mmsim.backtest(iter([taq]), sig, Script())


def test_follow_level_deeper_than_the_price_is_rejected():
    # Best bid 100.0 is 200 ticks of 0.5: a buy pegged 200 ticks below it would rest at 0.
    result, _ = run(ROWS, [1], lambda ctx: [ctx.follow(200, 1), ctx.follow(199, 1)])
    orders = result.orders.set_index("order_id")
    assert orders.loc[1, "status"] == "rejected" and orders.loc[1, "reason"] == "level"
    assert orders.loc[2, "status"] == "live" and orders.loc[2, "price"] == 0.5


# ---- 5: quote prices must be positive -------------------------------------------------------

def test_zero_quote_price_is_a_schema_error():
    rows = [quote(0, 0.0, 500, 100.5, 500)]
    with pytest.raises(mmsim.SchemaError, match=r"taq column 'bid_price' is 0.0 at row 0 .*quote "
                                                r"prices must be positive"):
        run(rows, [1], lambda ctx: ctx.market(-1))


# ---- 6: Aligned arrays are checked before the unchecked loop reads them ---------------------

def test_aligned_with_unequal_lengths_is_refused():
    data = mmsim.align(taq(ROWS), signals(1))
    short = data._replace(bid_price=data.bid_price[:2].copy())
    with pytest.raises(mmsim.SchemaError, match=r"Aligned.bid_price has 2 rows, Aligned.time has 3"):
        mmsim.backtest(short, None, Script(), contract=NOFEE)


def test_aligned_with_reversed_time_is_refused():
    data = mmsim.align(taq(ROWS), signals(*range(1, 101)))
    backwards = data._replace(signal_time=data.signal_time[::-1].copy())
    with pytest.raises(mmsim.SchemaError, match=r"Aligned.signal_time must be non-decreasing: row 1"):
        mmsim.backtest(backwards, None, Script(), contract=NOFEE)


@pytest.mark.parametrize("change, message", [
    (lambda d: d._replace(price=d.price.astype(np.float32)),
     r"Aligned.price must be a C-contiguous 1-D float64 array, got 1-D float32"),
    (lambda d: d._replace(signals=d.signals[:, :0]), r"Aligned.signals has shape \(1, 0\), expected \(1, 1\)"),
    (lambda d: d._replace(signals=np.full((1, 1), np.inf)), r"Aligned.signals column 'x' is inf at row 0"),
])
def test_aligned_types_and_shapes_are_checked(change, message):
    data = mmsim.align(taq(ROWS), signals(1))
    with pytest.raises(mmsim.SchemaError, match=message):
        mmsim.backtest(change(data), None, Script(), contract=NOFEE)


def engine_arguments(t, x, **changes):
    """Every keyword of ``_core.Engine`` for columns ``x`` on times ``t``, with ``changes``."""
    from mmsim.latency import Constant
    from mmsim.queue import RiskAverse
    none = Constant(0)
    kwargs = dict(time=t, price=x, amount=x, bid_price=x, bid_amount=x, ask_price=x,
                  ask_amount=x, signal_time=t[:1].copy(), signals=np.zeros((1, 1)),
                  inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                  maker_fee=0.0, taker_fee=0.0, balance=1.0, latency=none,
                  cancel_latency=none, amend_latency=none, feed_latency=none,
                  queue_position=1.0,
                  queue_model=RiskAverse(), fill_bound=0)
    kwargs.update(changes)
    return kwargs


def test_engine_refuses_columns_of_unequal_length():
    from mmsim import _core
    t = np.arange(3, dtype=np.int64)
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"TAQ column 'ask_amount' has 2 rows, time has 3"):
        _core.Engine(**engine_arguments(t, x, ask_amount=x[:2].copy()))


def test_engine_hands_its_tables_over_and_cannot_run_again():
    # tables() returns arrays over the engine's record buffers, not copies, which the
    # result's frames wrap as their columns: running again would write into them.
    from mmsim import _core
    t = np.arange(3, dtype=np.int64)
    x = np.ones(3)
    engine = _core.Engine(**engine_arguments(t, x))
    ctx = _core.Context(engine, np.zeros((1, 1)), ("x",), NOFEE, np.random.default_rng(0))
    engine.run(ctx, lambda c: None)
    tables = engine.tables()
    balances = tables["balances"]
    assert list(balances) == list(_core.BALANCE_DTYPE.names)
    assert all(len(column) == 1 and column.flags.c_contiguous and column.flags.writeable
               for column in balances.values())
    assert np.shares_memory(balances["total"], engine.tables()["balances"]["total"])
    with pytest.raises(RuntimeError, match="handed over by tables"):
        engine.run(ctx, lambda c: None)


def test_engine_takes_keywords_only():
    # Twenty positional numbers invite swapping two latencies silently.
    from mmsim import _core
    t = np.arange(3, dtype=np.int64)
    x = np.zeros(3)
    with pytest.raises(TypeError, match=r"positional"):
        _core.Engine(t, x, x, x, x, x, x, t[:1].copy(), np.zeros((1, 1)),
                     True, 0.5, 1.0, 1.0, 0.0, 0.0, 1.0, 0, 0, 0, 0, 1.0, None, 0)


# ---- 8: messages name the real cause --------------------------------------------------------

def test_duplicate_signal_columns_are_named():
    frame = signals(1, a=[1.0], b=[2.0])
    frame.columns = ["sigma", "sigma"]
    with pytest.raises(mmsim.SchemaError, match=r"signals has duplicate column\(s\) \['sigma'\]"):
        mmsim.backtest(taq(ROWS), frame, Script(), contract=NOFEE)


def test_contract_takes_numpy_numbers_and_refuses_denormal_steps():
    contract = mmsim.Contract(True, np.float32(0.5), np.int64(1), 1.0, np.float64(-0.00025), 0.0)
    assert contract.tick_size == 0.5 and type(contract.tick_size) is float
    assert type(contract.lot_size) is float and contract.maker_fee == -0.00025
    with pytest.raises(ValueError, match=r"Contract.tick_size must be between 1e-12 and 1e\+12, "
                                         r"got 1e-320"):
        mmsim.Contract(True, 1e-320, 1.0, 1.0, 0.0, 0.0)
    with pytest.raises(TypeError, match=r"^Contract.lot_size must be a real number, got '1'$"):
        mmsim.Contract(True, 0.5, "1", 1.0, 0.0, 0.0)
    with pytest.raises(ValueError, match=r"Contract.taker_fee must be a rate strictly between -1 and 1"):
        mmsim.Contract(True, 0.5, 1.0, 1.0, 0.0, 1.5)


def test_strategy_class_instead_of_instance_is_named():
    with pytest.raises(TypeError, match=r"strategy must be an instance, got the class Script; "
                                        r"pass Script\(...\)"):
        mmsim.backtest(taq(ROWS), signals(1), Script, contract=NOFEE)


def test_progress_callback_failure_is_not_blamed_on_the_strategy():
    def progress(rows):
        raise OSError("disk full")

    with pytest.raises(mmsim.ProgressError) as err:
        mmsim.backtest(taq(ROWS), signals(1, 2), Script(lambda ctx: ctx.limit(99.0, 1)),
                       contract=NOFEE, progress=progress)
    assert not isinstance(err.value, mmsim.StrategyError)
    assert str(err.value).startswith("the progress callback raised at 2019-04-01 00:00:01+00:00: "
                                     "OSError: disk full")
    assert isinstance(err.value.__cause__, OSError)
    assert err.value.result.orders["order_id"].tolist() == [1]     # nothing lost


@pytest.mark.parametrize("oid, kind, message", [
    (10**30, ValueError, r"cancel: unknown order id 1000000000000000000000000000000; ids sent so "
                         r"far are 1..1"),
    (0, ValueError, r"cancel: unknown order id 0"),
    (True, TypeError, r"cancel: order_id must be an int, got True"),
    (1.0, TypeError, r"cancel: order_id must be an int, got 1.0"),
])
def test_cancel_of_a_bad_id_says_what_is_wrong(oid, kind, message):
    def step(ctx):
        ctx.limit(99.0, 1)
        ctx.cancel(oid)

    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], step)
    with pytest.raises(kind, match=message):
        raise err.value.__cause__


def test_cancel_takes_numpy_integer_ids():
    def step(ctx):
        ctx.limit(99.0, 1)
        ctx.cancel(ctx.orders["order_id"][0])      # np.int64

    result, _ = run(ROWS, [1], step)
    assert result.orders["status"].tolist() == ["cancelled"]


# ---- 9: a ctx kept after its run cannot act; infinite signals are refused like NaN ----------

def test_ctx_kept_after_the_run_cannot_act():
    kept = []
    run(ROWS, [1], lambda ctx: kept.append(ctx))
    ctx = kept[0]
    for action in (lambda: ctx.limit(99.0, 1), lambda: ctx.market(1), lambda: ctx.follow(0, 1),
                   lambda: ctx.cancel(1)):
        with pytest.raises(RuntimeError, match=r"acts only from inside on_start, on_signal or "
                                               r"on_fill while its run is going"):
            action()


def test_ctx_cannot_act_after_its_strategy_raised():
    kept = []

    def step(ctx):
        kept.append(ctx)
        raise KeyError("boom")

    with pytest.raises(mmsim.StrategyError):
        run(ROWS, [1], step)
    with pytest.raises(RuntimeError, match="acts only from inside"):
        kept[0].limit(99.0, 1)


@pytest.mark.parametrize("value", [np.inf, -np.inf, np.nan])
def test_infinite_signal_values_are_refused_like_nan(value):
    frame = signals(1, 2, sigma=[0.1, value])
    with pytest.raises(mmsim.SchemaError, match=rf"signals column 'sigma' is {value} at row 1 "):
        mmsim.backtest(taq(ROWS), frame, Script(), contract=NOFEE)


# ---- the remaining refusals at the boundary, one each ---------------------------------------

@pytest.mark.parametrize("kwargs, kind, message", [
    ({"contract": "XBTUSD"}, TypeError, r"contract must be a mmsim.Contract, got str"),
    ({"strategy": object()}, TypeError, r"strategy must have an on_signal\(ctx\) method, got object"),
    ({"progress": 5}, TypeError, r"progress must be callable as progress\(rows_done\), got 5"),
    ({"balance": "lots"}, TypeError, r"^balance must be a real number, got 'lots'$"),
])
def test_backtest_arguments_of_the_wrong_kind_are_named(kwargs, kind, message):
    args = {"strategy": Script(), "contract": NOFEE, **kwargs}
    with pytest.raises(kind, match=message):
        mmsim.backtest(taq(ROWS), signals(1), args.pop("strategy"), **args)


def test_engine_refuses_signals_of_another_length():
    from mmsim import _core
    t = np.arange(3, dtype=np.int64)
    x = np.zeros(3)
    with pytest.raises(ValueError, match=r"signals has 2 rows, signal_time has 1"):
        _core.Engine(**engine_arguments(t, x, signals=np.zeros((2, 1))))


@pytest.mark.parametrize("size, message", [
    (0.0, "a positive finite number, got 0.0"), (-1.0, "a positive finite number, got -1.0"),
    (np.inf, "finite, got inf"), (np.nan, "finite, got nan")])
def test_contract_size_must_be_positive_and_finite(size, message):
    with pytest.raises(ValueError, match=f"^Contract.contract_size must be {message}$"):
        mmsim.Contract(True, 0.5, 1.0, size, 0.0, 0.0)


@pytest.mark.parametrize("action, kind, message", [
    (lambda ctx: ctx.limit(100.0, "ten"), TypeError, r"limit: amount must be a number, got str"),
    (lambda ctx: ctx.market(None), TypeError, r"market: amount must be a number, got NoneType"),
    (lambda ctx: ctx.limit("100", 1), TypeError, r"limit: price must be a number, got str"),
    (lambda ctx: ctx.follow("1", 1), TypeError, r"follow: level must be a whole number of ticks, "
                                                r"got str"),
    (lambda ctx: ctx["sigma"], KeyError, r"no signal column 'sigma'; columns are \['x'\]"),
    (lambda ctx: ctx[3], IndexError, r"signal position 3 out of range 0..0"),
])
def test_ctx_arguments_of_the_wrong_kind_are_named(action, kind, message):
    with pytest.raises(mmsim.StrategyError) as err:
        run(ROWS, [1], action)
    with pytest.raises(kind, match=message):
        raise err.value.__cause__
