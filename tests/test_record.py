"""backtest(record=...): what a long run keeps, and that what it keeps is what "all" records."""
import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim.data.synthetic import synthetic_funding, synthetic_taq
from helpers import quote
from helpers import run as run_script
from test_streaming import Requote, chunks, signals_every

H = 3_600_000_000_000


@pytest.fixture(scope="module")
def data():
    taq = synthetic_taq(n_rows=40_000, seed=5)
    return taq, signals_every(taq, "10s"), synthetic_funding(taq, seed=2, interval="1h")


def run(taq, signals, funding, record):
    return mmsim.backtest(taq, signals, Requote(), latency=0.3, funding=funding, record=record)


def test_fills_keeps_everything_but_the_orders(data):
    full = run(*data, "all")
    fills = run(*data, "fills")
    assert len(full.orders) > 1000 and len(fills.orders) == 0
    assert list(fills.orders.columns) == list(full.orders.columns)
    for name in ("fills", "balances", "positions", "funding"):
        pd.testing.assert_frame_equal(getattr(full, name), getattr(fills, name), obj=name)
    stats = fills.stats()
    assert np.isnan(stats["orders"]) and np.isnan(stats["cancel_ratio"])
    assert stats.attrs["n/a"]["cancel_ratio"] == "orders not recorded (record='fills')"
    assert stats["fills"] == len(full.fills) and stats["volume"] == full.stats()["volume"]


def sampled(balances, every):
    """The rows a sampled run writes: the first at or after each multiple of ``every``."""
    keep, due = [], None
    for k, t in enumerate(balances.index.as_unit("ns").asi8):
        if due is None or t >= due:
            keep.append(k)
            due = (t // every + 1) * every
    return balances.iloc[keep]


@pytest.mark.parametrize("record, every", [("1h", H), (1800, H // 2), ("daily", 24 * H)])
def test_sampled_balances_are_the_first_row_of_each_interval_and_the_end(data, record, every):
    taq = data[0]
    full = run(*data, "all")
    part = run(*data, record)
    expected = sampled(full.balances, every)
    assert len(part.balances) == len(expected) + 1
    pd.testing.assert_frame_equal(part.balances.iloc[:-1], expected)
    # The last row: the state at the end of the data, valued at its last row.
    end = part.balances.iloc[-1]
    assert part.balances.index[-1] == taq.index[-1]
    last = full.balances.iloc[-1]
    assert (end["total"], end["position"]) == (last["total"], last["position"])
    assert end["mark"] == (taq["bid_price"].iloc[-1] + taq["ask_price"].iloc[-1]) / 2
    # No fills or position changes are kept; funding is.
    assert len(part.fills) == 0 and len(part.positions) == 0
    pd.testing.assert_frame_equal(full.funding, part.funding)
    assert part.params["record"] == record


def test_a_streamed_sampled_run_equals_the_in_memory_one(data):
    taq, signals, funding = data
    whole = run(taq, signals, funding, "1h")
    streamed = run(chunks(taq, 777), signals, funding, "1h")
    for name in ("orders", "fills", "balances", "positions", "funding"):
        pd.testing.assert_frame_equal(getattr(whole, name), getattr(streamed, name), obj=name)


@pytest.mark.parametrize("record, message", [
    ("most", r"^record must be one of \['all', 'fills', 'daily'\] or a duration between "
             r"balance rows such as '1h' \(a bare number is seconds\), got 'most'$"),
    (0, r"^record must be a positive duration, got 0$"),
    ("-1h", r"^record must be a positive duration, got '-1h'$"),
    (None, r"^record must be one of .* got None$"),
])
def test_bad_record_values_are_named(data, record, message):
    with pytest.raises(ValueError, match=message):
        run(*data, record)


def test_a_sampled_run_keeps_the_equity_statistics_and_says_why_the_others_are_n_a(data):
    taq, signals, funding = data

    class Counting(Requote):
        fills = 0

        def on_fill(self, ctx, fill):
            self.fills += 1
            super().on_fill(ctx, fill)

    full_strategy, part_strategy = Counting(), Counting()
    full = mmsim.backtest(taq, signals, full_strategy, latency=0.3, funding=funding)
    part = mmsim.backtest(taq, signals, part_strategy, latency=0.3, funding=funding,
                          record="1h")
    # on_fill hears of every fill, recorded or not.
    assert part_strategy.fills == full_strategy.fills == len(full.fills) > 100
    stats, whole = part.stats(), full.stats()
    assert stats["pnl"] == whole["pnl"] and stats["funding_pnl"] == whole["funding_pnl"]
    for name in ("fills", "volume", "spread_pnl", "inventory_mean"):
        assert np.isnan(stats[name])
        assert stats.attrs["n/a"][name] == "fills not recorded (record='1h')"
    decomposition = mmsim.stats.pnl_decomposition(part)
    assert decomposition["spread"].isna().all() and decomposition["inventory"].isna().all()
    assert decomposition["total"].iloc[-1] == stats["pnl"]


def test_result_from_tables_reads_the_engine_records():
    # Hand-made engine records (a column per field) become the result's frames: times as a
    # UTC index, enum codes as labelled categoricals; a field of the frame's own type is
    # wrapped as it is, not copied.
    from mmsim import _core

    fills = np.zeros(2, dtype=_core.FILL_DTYPE)
    fills["time"] = [1_000_000_000, 2_000_000_000]
    fills["order_id"] = [3, 4]
    fills["price"] = [100.0, 100.5]
    fills["amount"] = [5.0, -5.0]
    fills["liquidity"] = [0, 1]
    fills["cause"] = [2, 3]
    positions = np.zeros(1, dtype=_core.POSITION_DTYPE)
    positions[0] = (1_000_000_000, 5.0, 100.0)
    def columns(records):
        return {field: records[field].copy() for field in records.dtype.names}

    tables = {"orders": columns(np.zeros(0, dtype=_core.ORDER_DTYPE)), "fills": columns(fills),
              "balances": columns(np.zeros(0, dtype=_core.BALANCE_DTYPE)),
              "positions": columns(positions),
              "funding": columns(np.zeros(0, dtype=_core.FUNDING_DTYPE))}
    result = mmsim.Result.from_tables(tables, mmsim.BITMEX_XBTUSD, {"seed": 1})
    assert list(result.fills.index) == [pd.Timestamp("1970-01-01 00:00:01", tz="UTC"),
                                        pd.Timestamp("1970-01-01 00:00:02", tz="UTC")]
    assert list(result.fills["liquidity"]) == ["maker", "taker"]
    assert list(result.fills["cause"]) == ["cross", "taker"]
    assert result.fills["price"].tolist() == [100.0, 100.5]
    assert np.shares_memory(result.fills["price"].to_numpy(), tables["fills"]["price"])
    assert result.positions.to_dict("list") == {"amount": [5.0], "weighted_price": [100.0]}
    assert len(result.orders) == 0 and list(result.orders.columns)[:3] == ["order_id", "type",
                                                                           "side"]
    assert result.params == {"seed": 1} and result.contract is mmsim.BITMEX_XBTUSD


@pytest.mark.parametrize("record", ["fills", "daily"])
def test_acting_on_an_order_no_longer_in_the_book_does_not_depend_on_what_is_recorded(record):
    # Order 1 is cancelled and leaves the book; cancelling and amending it again must not
    # touch order 2, sent in the same call, and an amend of the wrong kind is refused as it
    # is when the orders are kept: a closed order is known by its type and side only.
    rows = [quote(0, 100.0, 10, 100.5, 10), quote(9, 100.0, 10, 100.5, 10)]
    steps = [
        lambda c: [c.limit(99.5, 1), c.follow(2, -1)],                  # 1, 2
        lambda c: [c.cancel(1), c.cancel(2)],
        lambda c: [c.limit(99.0, 1), c.cancel(1), c.amend(1, price=98.5), c.cancel(2)],
        lambda c: c.orders["order_id"].tolist(),
    ]
    kept, by_kept = run_script(rows, [1, 2, 3, 4], *steps, latency=0.1)
    other, by_other = run_script(rows, [1, 2, 3, 4], *steps, latency=0.1, record=record)
    assert by_kept.ids == by_other.ids == [1, 2, None, None, 3, None, None, None, 3]
    assert kept.orders.set_index("order_id").loc[3, "status"] == "live"
    wrong = [steps[0], steps[1], lambda c: c.amend(2, price=101.0)]
    for how in ("all", record):
        with pytest.raises(mmsim.StrategyError) as err:
            run_script(rows, [1, 2, 3], *wrong, latency=0.1, record=how)
        assert str(err.value.__cause__) == ("amend: order 2 is a follow_limit order; only a limit "
                                            "order's price can be amended")
