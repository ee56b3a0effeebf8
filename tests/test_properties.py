"""Property tests: the engine against the reference model (tests/model.py) and invariants.

Hypothesis generates small TAQ streams (quote moves and sizes, prints at, through and inside
the touch, off-grid VWAP prints, repeated timestamps, NaN quotes at the start) and scripted
strategies (limits at, behind and through the touch, post-only, IOC and FOK, reduce-only
limits and market orders, follow, cancels of live, filled and unknown ids, amends of price and
amount) with random latencies (add, cancel, amend) and queue positions, every queue model and
both fill bounds, on inverse and linear contracts, ticks 0.5 and 0.1, lots 1 and 0.001. Every value is on its grid: hostile inputs are
tested elsewhere. The number of examples comes from the profile in ``conftest.py``.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandas.testing as pdt
import pytest
from hypothesis import event, given, note
from hypothesis import strategies as st

import mmsim
from helpers import T0
from model import LOT_TOLERANCE, PRICE_TOLERANCE, Account, grid, simulate, to_ticks

COLUMNS = ["price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount"]
STEP_NS = 50_000_000                      # the scenario clock: 50 ms steps
LATENCIES = [0.0, 0.05, 0.1, 0.15, 0.3, 0.5, 1.0]
QUEUE_POSITIONS = [0.0, 0.25, 0.5, 1.0, 0.3, 0.7]
QUEUE_MODELS = ["risk_averse", "risk_averse", ("power", 2.0), ("power", 3.0), "log"]

# Generated scenarios put signals before the first quote and after the last row on purpose;
# the warnings that say so are checked in test_align.py, not here.
pytestmark = pytest.mark.filterwarnings("ignore::mmsim.data.align.DataWarning")


@dataclass
class Scenario:
    """One generated case: market data, script and run parameters."""

    contract: mmsim.Contract
    taq: pd.DataFrame
    signal_times: pd.DatetimeIndex
    script: list                          # per call: list of concrete actions (see model.py)
    latency: float
    cancel_latency: float | None
    queue_position: float
    balance: float
    queue_model: object = "risk_averse"   # as model.simulate names it
    fill_bound: str = "none"
    amend_latency: float | None = None

    def kwargs(self):
        """The run parameters as :func:`model.simulate` takes them."""
        return dict(latency=self.latency, cancel_latency=self.cancel_latency,
                    queue_position=self.queue_position, balance=self.balance,
                    queue_model=self.queue_model, fill_bound=self.fill_bound,
                    amend_latency=self.amend_latency)

    def engine_kwargs(self):
        """The same parameters as :func:`mmsim.backtest` takes them."""
        kwargs = self.kwargs()
        kwargs["queue_model"] = engine_queue_model(self.queue_model)
        return kwargs


def engine_queue_model(name):
    """The engine's queue model for the model's name of it."""
    from mmsim.queue import LogProb, PowerProb, RiskAverse
    if name == "risk_averse":
        return RiskAverse()
    if name == "log":
        return LogProb()
    return PowerProb(name[1])


# -- generation ---------------------------------------------------------------------------

@st.composite
def contracts(draw):
    inverse = draw(st.booleans())
    tick = draw(st.sampled_from([0.5, 0.1]))
    lot = draw(st.sampled_from([1.0, 0.001]))
    size = draw(st.sampled_from([1.0, 100.0] if inverse else [1.0, 0.01]))
    maker = draw(st.sampled_from([-0.00025, 0.0, 0.0002]))
    taker = draw(st.sampled_from([0.00075, 0.0005, 0.0]))
    return mmsim.Contract(inverse=inverse, tick_size=tick, lot_size=lot, contract_size=size,
                          maker_fee=maker, taker_fee=taker)


@st.composite
def markets(draw, contract):
    """TAQ rows on the contract's grids; sizes in lots."""
    tick, lot = contract.tick_size, contract.lot_size
    n = draw(st.integers(2, 30))
    nan_rows = draw(st.integers(0, 2))
    bid = int(round(4000 / tick)) + draw(st.integers(-5, 5))
    t = 0
    rows, times = [], []
    for r in range(n):
        t += draw(st.sampled_from([0, 0, 1, 2, 4, 10]))        # repeated timestamps too
        move = draw(st.sampled_from([0, 0, 0, 0, 0, 1, -1, 2, -2]))
        bid += move
        spread = draw(st.sampled_from([1, 1, 1, 2, 3]))
        ask = bid + spread
        bid_size = grid(draw(st.integers(0, 12)), lot)
        ask_size = grid(draw(st.integers(0, 12)), lot)
        price, amount = math.nan, 0.0
        if draw(st.booleans()):
            side = draw(st.sampled_from([1, -1]))              # +1: buyer lifts the asks
            touch = ask if side > 0 else bid
            kind = draw(st.sampled_from(["at", "at", "at", "through", "inside", "vwap", "near"]))
            if kind == "at":
                price = grid(touch, tick)
            elif kind == "through":
                price = grid(touch + side * draw(st.integers(1, 3)), tick)
            elif kind == "inside":
                price = grid(touch - side * draw(st.integers(0, spread)), tick)
            elif kind == "vwap":                                # an aggregated print off the grid
                frac = draw(st.sampled_from([0.25, 0.5, 0.371527, 0.9]))
                price = (touch + side * frac) * tick
            else:                                               # float noise within 1e-6 tick
                price = grid(touch, tick) + draw(st.sampled_from([-1, 1])) * 1e-7 * tick
            lots = draw(st.integers(1, 30))
            # whole lots; off the lot grid; whole lots up to float noise (1e-7 lot either way)
            volume = draw(st.sampled_from([grid(lots, lot), grid(lots, lot), grid(lots, lot),
                                           (lots + 0.5) * lot, (lots - 1e-7) * lot,
                                           (lots + 1e-7) * lot]))
            amount = side * volume
        if r < nan_rows:
            bid_p = ask_p = bid_s = ask_s = math.nan
        else:
            bid_p, ask_p, bid_s, ask_s = grid(bid, tick), grid(ask, tick), bid_size, ask_size
        rows.append((price, amount, bid_p, bid_s, ask_p, ask_s))
        times.append(T0 + pd.Timedelta(t * STEP_NS, unit="ns"))
    return pd.DataFrame(rows, columns=COLUMNS,
                        index=pd.DatetimeIndex(times, name="time").as_unit("ns")).astype(np.float64)


ACTION = st.sampled_from(["limit", "limit", "limit", "market", "follow", "cancel", "cancel",
                          "cancel_unknown", "amend", "amend"])
TIFS = st.sampled_from(["gtc"] * 8 + ["ioc", "fok"])


@st.composite
def scripts(draw, contract, taq):
    """Signal times and, per call, concrete actions resolved against the touch then in view."""
    tick, lot = contract.tick_size, contract.lot_size
    first, last = taq.index[0].value, taq.index[-1].value
    span = (last - first) // STEP_NS
    # Calls mostly early, so that their orders meet the market; one may come after the end.
    steps = sorted(set(draw(st.lists(st.integers(0, span * 2 // 3 + 1), min_size=1, max_size=6))))
    if draw(st.integers(0, 9)) == 0:
        steps.append(span + 1)
    if draw(st.integers(0, 9)) == 0:
        steps.insert(0, -2)                               # a call before the first row
    steps = sorted(set(steps))
    times = pd.DatetimeIndex([pd.Timestamp(first + s * STEP_NS, tz="UTC") for s in steps],
                             name="time").as_unit("ns")
    stamps = taq.index.asi8
    first_bid = taq["bid_price"].dropna()
    fallback = to_ticks(first_bid.iloc[0], tick) if len(first_bid) else int(round(4000 / tick))
    script, issued, sides, kinds = [], 0, {}, {}
    for when in times.asi8:
        # The touch the strategy sees: the last row at or before the call (rule 1).
        row = np.searchsorted(stamps, when, "right") - 1
        seen = taq.iloc[row] if row >= 0 else {"bid_price": math.nan, "ask_price": math.nan}
        bid = fallback if math.isnan(seen["bid_price"]) else to_ticks(seen["bid_price"], tick)
        ask = fallback + 1 if math.isnan(seen["ask_price"]) else to_ticks(seen["ask_price"], tick)
        actions = []
        for _ in range(draw(st.integers(0 if script else 1, 3))):
            kind = draw(ACTION)
            side = draw(st.sampled_from([1, -1]))
            amount = side * grid(draw(st.integers(1, 40)), lot)
            # offset > 0 is more aggressive: at, behind or through the touch
            offset = draw(st.sampled_from([0, 0, 0, 0, -1, -1, -2, -3, 1, 2, 3]))
            if kind in ("limit", "market", "follow"):
                issued += 1
                sides[issued], kinds[issued] = side, kind
            if kind == "limit":
                price = grid((bid if side > 0 else ask) + side * offset, tick)
                tif = draw(TIFS)
                post_only = tif == "gtc" and draw(st.booleans())   # post-only IOC is an error
                actions.append(("limit", price, amount, post_only, tif,
                                draw(st.integers(0, 7)) == 0))
            elif kind == "market":
                actions.append(("market", amount, draw(st.integers(0, 7)) == 0))
            elif kind == "follow":
                actions.append(("follow", draw(st.integers(0, 2)), amount))
            elif kind == "cancel" and issued:
                actions.append(("cancel", draw(st.integers(1, issued))))
            elif kind == "cancel_unknown":
                actions.append(("cancel", issued + draw(st.integers(1, 3))))
            elif kind == "amend" and issued:
                oid = draw(st.integers(1, issued))
                price = None
                if kinds[oid] == "limit" and draw(st.booleans()):
                    price = grid((bid if sides[oid] > 0 else ask) + sides[oid] * offset, tick)
                new = None
                if price is None or draw(st.booleans()):
                    new = sides[oid] * grid(draw(st.integers(1, 40)), lot)
                actions.append(("amend", oid, price, new))
        script.append(actions)
    return times, script


@st.composite
def scenarios(draw):
    contract = draw(contracts())
    taq = draw(markets(contract))
    times, script = draw(scripts(contract, taq))
    latency = draw(st.sampled_from(LATENCIES))
    cancel_latency = draw(st.sampled_from([None] + LATENCIES))
    return Scenario(contract, taq, times, script, latency, cancel_latency,
                    draw(st.sampled_from(QUEUE_POSITIONS)), 1.0 if contract.inverse else 10000.0,
                    queue_model=draw(st.sampled_from(QUEUE_MODELS)),
                    fill_bound=draw(st.sampled_from(["none", "prints"])),
                    amend_latency=draw(st.sampled_from([None] + LATENCIES)))


# -- running ------------------------------------------------------------------------------

class Replay(mmsim.Strategy):
    """Sends the k-th list of actions at the k-th call; records the cancels that raised."""

    def __init__(self, script):
        self.script = script
        self.calls = 0
        self.raised = []

    def on_signal(self, ctx):
        for action in self.script[self.calls] if self.calls < len(self.script) else ():
            kind = action[0]
            if kind == "limit":
                ctx.limit(action[1], action[2], post_only=action[3], tif=action[4],
                          reduce_only=action[5])
            elif kind == "market":
                ctx.market(action[1], reduce_only=action[2])
            elif kind == "follow":
                ctx.follow(action[1], action[2])
            elif kind == "amend":
                ctx.amend(action[1], price=action[2], amount=action[3])
            else:
                try:
                    ctx.cancel(action[1])
                except ValueError:
                    self.raised.append((self.calls, action[1]))
        self.calls += 1


class ReplayWithFillHook(Replay):
    """The same script with an ``on_fill`` that does nothing."""

    def on_fill(self, ctx, fill):
        pass


def run_engine(sc: Scenario, cls=Replay):
    strategy = cls(sc.script)
    signals = pd.DataFrame({"x": np.zeros(len(sc.signal_times))}, index=sc.signal_times)
    with warnings.catch_warnings():
        # Signals all after the data make an empty run: a case generated on purpose.
        warnings.simplefilter("ignore", mmsim.EmptyResultWarning)
        result = mmsim.backtest(sc.taq, signals, strategy, contract=sc.contract, seed=1,
                                **sc.engine_kwargs())
    return result, strategy


def ns(index) -> list[int]:
    return [int(v) for v in pd.DatetimeIndex(index).as_unit("ns").asi8]


def opt_ns(value):
    return None if pd.isna(value) else int(pd.Timestamp(value).as_unit("ns").value)


def describe(sc: Scenario):
    note(f"contract={sc.contract}")
    note(f"latency={sc.latency} cancel_latency={sc.cancel_latency} "
         f"queue_position={sc.queue_position}")
    note("taq=\n" + sc.taq.to_string())
    note(f"signals={[(t - T0).total_seconds() for t in sc.signal_times]}")
    note(f"script={sc.script}")


def close(a: float, b: float, scale: float) -> bool:
    """Equal to 1e-12 relative to ``scale``: exact zeros stay exact."""
    return a == b or abs(a - b) <= 1e-12 * abs(scale)


# -- the properties -------------------------------------------------------------------------

def fill_key(time, order_id, price, amount, liquidity, tick, lot):
    # Amounts are compared in lots here and to 1e-9 lot below: the engine books the fill that
    # completes an order as amount - filled in floating point (test_model_disagreements.py::
    # test_completing_fill_is_a_whole_number_of_lots).
    return (int(time), int(order_id), to_ticks(price, tick), int(round(amount / lot)),
            str(liquidity))


def classify(model, sc):
    """Hypothesis events: what the example exercised (``--hypothesis-show-statistics``)."""
    event(f"fills: {min(len(model.fills), 5)}{'+' if len(model.fills) >= 5 else ''}")
    for o in model.orders.values():
        if o.status in ("rejected", "cancelled"):
            event(f"{o.kind} {o.status} ({o.reason})")
    for f in model.fills:
        o = model.orders[f.order_id]
        partial = "partial" if abs(f.lots) < o.lots else "whole"
        event(f"{o.kind} fill: {f.cause}, {partial}")
    if model.unknown_cancels:
        event("cancel of an unknown id")
    for o in model.orders.values():
        if o.amends:
            event("amend reached its order")
        if o.rejected_actions:
            event("cancel or amend overtook its add")
    if any(f.cause == "queue" for f in model.fills):
        event(f"queue fill under {sc.queue_model}, fill_bound {sc.fill_bound}")


@given(scenarios())
def test_engine_fills_equal_the_model(sc):
    describe(sc)
    c = sc.contract
    res, strategy = run_engine(sc)
    model = simulate(sc.taq, sc.signal_times, sc.script, c, **sc.kwargs())
    assert strategy.calls == model.calls
    assert strategy.raised == model.unknown_cancels
    fills = res.fills
    keys = [fill_key(*row, c.tick_size, c.lot_size) for row in zip(
        ns(fills.index), fills["order_id"], fills["price"], fills["amount"], fills["liquidity"])]
    # Rule 4's booking order, exactly: price then time priority on each side, for prints
    # and for quotes crossing several of our orders alike.
    assert keys == [fill_key(f.time, f.order_id, f.price, f.amount, f.liquidity, c.tick_size,
                             c.lot_size) for f in model.fills]
    assert fills["cause"].astype(str).tolist() == [f.cause for f in model.fills]
    expected = model.fills
    account = Account(c.inverse, c.contract_size, c.lot_size, sc.balance)
    for price, amount, fee, realized, f in zip(fills["price"].tolist(), fills["amount"].tolist(),
                                               fills["fee"].tolist(), fills["realized"].tolist(),
                                               expected):
        assert abs(amount - f.amount) <= 1e-9 * c.lot_size
        assert price == f.price
        assert close(fee, f.fee, f.fee)
        # Realised PnL is a difference of two near terms (1/E - 1/X): relative to the terms.
        want = account.book(f.lots, f.price, f.fee)
        gross = abs(f.amount) * c.contract_size * ((1 / f.price) if c.inverse else f.price)
        assert close(realized, want, gross)
    orders = res.orders.set_index("order_id")
    assert sorted(orders.index) == sorted(model.orders)
    for oid, o in model.orders.items():
        row = orders.loc[oid]
        assert (oid, str(row["status"]), str(row["reason"])) == (oid, o.status, o.reason)
        assert (oid, round(abs(row["filled"]) / c.lot_size)) == (oid, o.filled)
        assert (oid, opt_ns(row["live"]), opt_ns(row["closed"])) == (oid, o.arrived, o.closed)
        assert (oid, row["rejected"], row["amends"]) == (oid, o.rejected_actions, o.amends)
        if o.kind == "market" and o.status == "filled":
            assert row["slippage"] == pytest.approx(o.slippage, rel=1e-12, abs=1e-12, nan_ok=True)
    final = res.positions["amount"].iloc[-1] if len(res.positions) else 0.0
    assert round(final / c.lot_size) == model.account.position_lots == account.position_lots
    classify(model, sc)
    total = res.balances["total"].iloc[-1] if len(res.balances) else sc.balance
    assert close(total, account.balance,
                 abs(account.balance) + abs(account.realized) + abs(account.fees))


def recompute_rule9(fills, contract):
    """Entry, position and realised PnL replayed from the engine's own fills (rule 9)."""
    q, entry, out = 0.0, 0.0, []
    cs = contract.contract_size
    for price, amount in zip(fills["price"].tolist(), fills["amount"].tolist()):
        realized = 0.0
        if q == 0 or (q > 0) == (amount > 0):
            if q == 0:
                entry = price
            elif contract.inverse:
                entry = (abs(q) + abs(amount)) / (abs(q) / entry + abs(amount) / price)
            else:
                entry = (abs(q) * entry + abs(amount) * price) / (abs(q) + abs(amount))
        else:
            c = math.copysign(min(abs(q), abs(amount)), q)
            realized = c * cs * ((1 / entry - 1 / price) if contract.inverse else (price - entry))
            if abs(amount) > abs(q):
                entry = price
        q = round((q + amount) / contract.lot_size) * contract.lot_size
        if q == 0:
            entry = 0.0
        out.append((q, entry, realized))
    return out


@given(scenarios())
def test_engine_invariants(sc):
    describe(sc)
    res, _ = run_engine(sc)
    c = sc.contract
    fills, orders = res.fills, res.orders.set_index("order_id")
    lots = (fills["amount"] / c.lot_size).round().astype(np.int64)
    # Amounts are whole lots, position = the running sum of fills.
    np.testing.assert_allclose(fills["amount"], lots * c.lot_size, rtol=0, atol=1e-9 * c.lot_size)
    pos_lots = (res.positions["amount"] / c.lot_size).round().astype(np.int64).tolist()
    assert pos_lots == np.cumsum(lots).tolist()
    np.testing.assert_allclose(res.positions["amount"], fills["amount"].cumsum(),
                               rtol=0, atol=1e-9 * c.lot_size)
    # Balance = start + realised - fees, and rule 9 recomputed from the fills.
    scale = sc.balance + fills["realized"].abs().sum() + fills["fee"].abs().sum()
    total = res.balances["total"].iloc[-1] if len(res.balances) else sc.balance
    assert close(total,
                 sc.balance + fills["realized"].sum() - fills["fee"].sum(), scale)
    for (q, entry, realized), got_q, got_e, got_r, price, amount in zip(
            recompute_rule9(fills, c), res.positions["amount"], res.positions["weighted_price"],
            fills["realized"], fills["price"], fills["amount"]):
        assert round(q / c.lot_size) == round(got_q / c.lot_size)
        # A flat position has no entry price (NaN in the table).
        assert close(got_e, entry, entry) if q != 0 else math.isnan(got_e)
        gross = abs(amount) * c.contract_size * ((1 / price) if c.inverse else price)
        assert close(got_r, realized, gross)
    for fee, price, amount, liq in zip(fills["fee"], fills["price"], fills["amount"],
                                       fills["liquidity"].astype(str)):
        rate = c.maker_fee if liq == "maker" else c.taker_fee
        value = abs(amount) * c.contract_size * ((1 / price) if c.inverse else price)
        assert close(fee, value * rate, value * rate)
    # No overfill; a filled order filled exactly its amount (its last amount, after amends);
    # rejected orders never fill.
    per_order = fills.groupby("order_id")["amount"].sum()
    for oid, total in per_order.items():
        amount = orders.loc[oid, "amount"]
        assert np.sign(total) == np.sign(amount)
        assert round(abs(total) / c.lot_size) <= round(abs(amount) / c.lot_size)
        if orders.loc[oid, "status"] == "filled":
            assert round(abs(total) / c.lot_size) == round(abs(amount) / c.lot_size)
        # (A post-only order amended through the opposite best is rejected; its earlier
        # fills stand.)
        assert orders.loc[oid, "status"] != "rejected" or orders.loc[oid, "amends"] > 0
    # No fill before the order is live, after it closed, or after its cancel took effect.
    clat = sc.latency if sc.cancel_latency is None else sc.cancel_latency
    for when, oid in zip(ns(fills.index), fills["order_id"]):
        o = orders.loc[oid]
        assert when >= opt_ns(o["live"])
        if opt_ns(o["closed"]) is not None:
            assert when <= opt_ns(o["closed"])
        # (A cancel that overtook its add was rejected and did not take effect.)
        if opt_ns(o["cancel_sent"]) is not None and o["rejected"] == 0:
            assert when <= opt_ns(o["cancel_sent"]) + int(round(clat * 1e9))
    # Maker fills at the order's price (limits); taker fills at the touch in force.
    stamps = sc.taq.index.asi8
    for when, oid, price, amount, liq in zip(ns(fills.index), fills["order_id"], fills["price"],
                                             fills["amount"], fills["liquidity"].astype(str)):
        o = orders.loc[oid]
        if liq == "maker" and o["type"] == "limit" and o["amends"] == 0:
            assert price == o["price"]          # (an amend may have moved it since)
        if liq == "taker":
            row = sc.taq.iloc[np.searchsorted(stamps, when, "right") - 1]
            assert price == (row["ask_price"] if amount > 0 else row["bid_price"])
    # One timestamp's prints never fill more than their volume at their price (rule 4):
    # maker fills at a print's price at a timestamp where no quote crossed that price and no
    # print went through it (those fill completely, rules 4 and 5) share the prints' volume.
    for when, rows in sc.taq.groupby(level="time"):
        at_time = fills[fills.index == when]
        for side in (1, -1):           # side of our orders: buys take seller-initiated prints
            prints = rows[np.sign(rows["amount"]) == -side]
            for level in set(to_ticks(p, c.tick_size) for p in prints["price"]):
                x = prints["price"] / c.tick_size
                here = prints[(x - level).abs() <= PRICE_TOLERANCE]
                through = (side * (level - x) > PRICE_TOLERANCE).any()
                opposite = rows["ask_price"] if side > 0 else rows["bid_price"]
                crossed = (side * ((opposite / c.tick_size).round() - level) <= 0).any()
                if here.empty or through or crossed:
                    continue
                ours = at_time[(np.sign(at_time["amount"]) == side)
                               & (at_time["liquidity"].astype(str) == "maker")
                               & ((at_time["price"] / c.tick_size).round() == level)]
                # a print within 1e-6 lot of whole lots counts as whole (model.LOT_TOLERANCE)
                slack = len(here) * LOT_TOLERANCE * c.lot_size
                assert ours["amount"].abs().sum() <= here["amount"].abs().sum() + slack
                if len(ours):
                    event("per-print volume bound checked on fills")


@given(scenarios())
def test_reruns_and_a_no_op_on_fill_change_nothing(sc):
    describe(sc)
    first, _ = run_engine(sc)
    again, _ = run_engine(sc)
    hooked, _ = run_engine(sc, ReplayWithFillHook)
    for other in (again, hooked):
        for name in ("orders", "fills", "balances", "positions"):
            pdt.assert_frame_equal(getattr(first, name), getattr(other, name), check_exact=True)
