"""The notebook's own strategy functions through mmsim.compat, against the strategy classes."""
from __future__ import annotations


import numpy as np
import pandas as pd
import pytest

import mmsim
from mmsim import compat
from mmsim.compat import FunctionStrategy
from mmsim.data.synthetic import synthetic_taq
from mmsim.strategies import AvellanedaStoikov, MonteCarlo

from helpers import NOFEE, quote, signals, taq

def _notebook_function(shared, name):
    """Read ``name`` out of the notebook text, drop its ``@njit`` line and exec it."""
    notebook = shared("seed", "inventory-management-research.ipynb.txt")
    lines = notebook.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    assert lines[start - 1] == "@njit"
    body = [lines[start]]
    for line in lines[start + 1:]:
        # the function ends at the first line that is neither indented, blank, a comment
        # nor the ")" closing its signature
        if line and not line[0].isspace() and not line.startswith(("#", ")")):
            break
        body.append(line)
    # Annotations (numba's typed.Dict, types.List) stay unevaluated.
    source = "from __future__ import annotations\n" + "\n".join(body)
    namespace = {"np": np, "ADD": compat.ADD, "CANCEL": compat.CANCEL, "LIMIT": compat.LIMIT,
                 "MARKET": compat.MARKET, "FOLLOW_LIMIT": compat.FOLLOW_LIMIT}
    exec(compile(source, str(notebook), "exec"), namespace)
    return namespace[name]


@pytest.fixture(scope="module")
def market():
    taq_ = synthetic_taq(duration="6h", seed=1)
    # The notebook's sigma: std of 1-minute log returns over 60 bars x sqrt(60).
    close = taq_["price"].dropna().resample("1min").last().ffill()
    sigma = np.log(close / close.shift(1)).rolling(60, min_periods=1).std() * np.sqrt(60)
    sig = pd.DataFrame({"sigma": sigma.fillna(0.0)}).iloc[1:]
    rng = np.random.default_rng(42)
    inv_index = close.index[::5][1:]
    inv = pd.DataFrame({"inv": rng.integers(-5, 5, len(inv_index)).astype(float)}, index=inv_index)
    return taq_, sig.rename_axis("time"), inv.rename_axis("time")


def _same(a, b):
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)


def test_inventory_management_runs_unchanged_and_matches_the_class(market, shared):
    taq_, sig, _ = market
    fn = _notebook_function(shared, "inventory_management")
    params = {"max_size": 5.0, "gamma": 0.1, "k": 5.0, "n": -0.4, "delta_price": 1.0, "delta_size": 1.0}
    np.random.seed(0)
    by_fn = mmsim.backtest(taq_, sig, FunctionStrategy(fn, params), seed=42)
    by_class = mmsim.backtest(taq_, sig, AvellanedaStoikov(**params), seed=42)
    fills = by_fn.fills
    assert (fills["amount"] > 0).sum() > 10 and (fills["amount"] < 0).sum() > 10
    assert (by_fn.orders["status"] == "cancelled").sum() > 0
    _same(by_fn, by_class)


def test_monte_carlo_runs_unchanged_and_matches_the_class(market, shared):
    taq_, _, inv = market
    fn = _notebook_function(shared, "monte_carlo")
    params = {"max_size": 5.0, "threshold": 0.05, "level": 0.0, "pct_loss": -0.05}
    by_fn = mmsim.backtest(taq_, inv, FunctionStrategy(fn, params), seed=42)
    by_class = mmsim.backtest(taq_, inv, MonteCarlo(**params), seed=42)
    # It trades both ways as the random target inventory changes sign.
    assert len(by_fn.fills) >= 10
    assert (by_fn.fills["amount"] > 0).any() and (by_fn.fills["amount"] < 0).any()
    assert set(by_fn.orders["type"]) == {"follow_limit"}
    _same(by_fn, by_class)


def test_monte_carlo_stop_loss_matches_the_class(market, shared):
    # A 0.05 % stop-loss fires: market orders close the position, in both versions alike.
    taq_, _, inv = market
    fn = _notebook_function(shared, "monte_carlo")
    params = {"max_size": 5.0, "threshold": 0.05, "level": 0.0, "pct_loss": -0.0005}
    by_fn = mmsim.backtest(taq_, inv, FunctionStrategy(fn, params), seed=42)
    by_class = mmsim.backtest(taq_, inv, MonteCarlo(**params), seed=42)
    assert (by_fn.orders["type"] == "market").sum() > 0
    _same(by_fn, by_class)


def _scripted(*steps):
    """A notebook-style function playing ``steps[k](signals, ..., taq)`` at call k; logs inputs."""
    log = []

    def fn(signals_, position, balance, nav, orders, taq_, params):
        log.append((signals_.copy(), dict(position), dict(balance), nav, [dict(o) for o in orders],
                    taq_.copy()))
        k = len(log) - 1
        return steps[k](orders) if k < len(steps) else []

    return fn, log


ROWS = [
    (0.0, 100.0, 5.0, 99.5, 1000.0, 100.5, 1000.0),
    quote(1.5, 99.5, 1000.0, 100.5, 1000.0),
    quote(2.5, 99.5, 1000.0, 100.5, 1000.0),
    quote(9.0, 99.5, 1000.0, 100.5, 1000.0),
]


def test_adapter_arguments_and_id_mapping():
    fn, log = _scripted(
        lambda orders: [{"operation": compat.ADD, "type": compat.LIMIT, "order_id": 1.5e9,
                         "price": 99.0, "amount": 40.0},
                        {"operation": compat.ADD, "type": compat.LIMIT, "order_id": 7.0,
                         "price": 101.0, "amount": 0.0}],  # zero amount: skipped
        lambda orders: [{"operation": compat.CANCEL, "order_id": orders[0]["order_id"]}],
    )
    res = mmsim.backtest(taq(ROWS), signals(1.0, 2.0, 3.0, a=[7.0, 8.0, 9.0]),
                         FunctionStrategy(fn, {}), contract=NOFEE)
    sig0, position, balance, nav, orders, taq0 = log[0]
    t1 = pd.Timestamp("2019-04-01 00:00:01", tz="UTC").value
    # signals[0] is the time (ns), then the signal columns.
    assert sig0.tolist() == [float(t1), 7.0]
    assert taq0.tolist() == [float(t1), 100.0, 5.0, 99.5, 1000.0, 100.5, 1000.0]
    assert position == {"amount": 0.0, "weighted_price": 0.0}
    assert balance == {"total": 1.0, "available": 1.0}
    assert nav == 100.0  # 1 BTC x mid 100
    # At the second call the order carries the function's own id.
    assert [o["order_id"] for o in log[1][4]] == [1.5e9]
    assert log[1][4][0]["amount"] == 40.0 and log[1][4][0]["price"] == 99.0
    # Live since 1.5 s (latency 0.5 s), resting below the bid: the whole notebook order dict,
    # with the notebook's types (price_level a float, -1 for a non-follow order; codes ints).
    order = log[1][4][0]
    assert order == {"order_id": 1.5e9, "type": compat.LIMIT, "status": 1, "price": 99.0,
                     "price_level": -1.0, "amount": 40.0, "filled": 0.0}
    assert [type(order[k]) for k in ("type", "status", "price_level")] == [int, int, float]
    assert res.orders["status"].tolist() == ["cancelled"]
    assert len(log) == 3 and log[2][4] == []


@pytest.mark.parametrize(
    "action, message",
    [
        ({"operation": compat.CANCEL, "order_id": 123.0}, "never sent"),
        ({"operation": 9}, "operation"),
        ({"operation": compat.ADD, "type": 7, "amount": 1.0}, "type"),
        ({"operation": compat.ADD, "type": compat.LIMIT, "amount": 1.0}, "price"),
        ({"operation": compat.ADD, "type": compat.FOLLOW_LIMIT, "amount": 1.0, "price_level": 0.5},
         "price_level"),
    ],
)
def test_adapter_rejects_bad_actions(action, message):
    fn, _ = _scripted(lambda orders: [action])
    with pytest.raises(mmsim.StrategyError) as err:
        mmsim.backtest(taq(ROWS), signals(1.0, a=[0.0]), FunctionStrategy(fn, {}), contract=NOFEE)
    assert isinstance(err.value.__cause__, ValueError)
    assert message in str(err.value.__cause__)


def test_adapter_waits_for_a_trade_and_a_quote():
    # Before the first trade the function is not called.
    rows = [quote(0.0, 99.5, 1000.0, 100.5, 1000.0), (1.5, 100.0, 1.0, 99.5, 1000.0, 100.5, 1000.0),
            quote(5.0, 99.5, 1000.0, 100.5, 1000.0)]
    fn, log = _scripted()
    mmsim.backtest(taq(rows), signals(1.0, 2.0, a=[0.0, 0.0]), FunctionStrategy(fn, {}), contract=NOFEE)
    assert len(log) == 1 and log[0][5][1] == 100.0


def test_adapter_constructor_errors():
    with pytest.raises(TypeError, match="fn"):
        FunctionStrategy(None, {})
    with pytest.raises(TypeError, match="params"):
        FunctionStrategy(lambda *a: [], [("max_size", 5)])
