"""The notebook's backtest at full size: a month of BitMEX-like rows, 1-minute signals,
the Avellaneda-Stoikov class with the notebook's parameters, end to end."""
import mmsim
from mmsim.data.bars import volatility_signals
from mmsim.strategies import AvellanedaStoikov

from conftest import ROUNDS, python_pass

NOTEBOOK = dict(max_size=5.0, gamma=0.1, k=5.0, n=-0.4, delta_price=1.0, delta_size=1.0)


def test_inventory_management_month(gated, month_taq):
    """Floor: a Python loop over the month's quotes."""
    signals = volatility_signals(month_taq, "1min", 60)
    result = gated(
        lambda: mmsim.backtest(month_taq, signals, AvellanedaStoikov(**NOTEBOOK),
                               contract=mmsim.BITMEX_XBTUSD, balance=1.0, latency=0.5),
        python_pass(month_taq), rounds=ROUNDS, rows=len(month_taq))
    gated.benchmark.extra_info.update(calls=len(signals), orders=len(result.orders),
                                      fills=len(result.fills))
    assert len(result.fills) > 0
