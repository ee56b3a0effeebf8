"""The notebook's backtest at full size: a month of BitMEX-like rows, 1-minute signals,
the Avellaneda-Stoikov class with the notebook's parameters, end to end."""
import mmsim
from mmsim.data.bars import volatility_signals
from mmsim.strategies import AvellanedaStoikov

NOTEBOOK = dict(max_size=5.0, gamma=0.1, k=5.0, n=-0.4, delta_price=1.0, delta_size=1.0)


def test_inventory_management_month(benchmark, month_taq):
    signals = volatility_signals(month_taq, "1min", 60)
    result = benchmark.pedantic(
        lambda: mmsim.backtest(month_taq, signals, AvellanedaStoikov(**NOTEBOOK),
                               contract=mmsim.BITMEX_XBTUSD, balance=1.0, latency=0.5),
        rounds=3, iterations=1)
    benchmark.extra_info.update(
        rows=len(month_taq), calls=len(signals), orders=len(result.orders),
        fills=len(result.fills), rows_per_s=len(month_taq) / benchmark.stats.stats.min,
    )
    assert len(result.fills) > 0
