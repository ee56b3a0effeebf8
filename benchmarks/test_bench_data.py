"""Data throughput: generating a month of synthetic ticks, and converting the real captures."""
from pathlib import Path

import pytest

from mmsim.data.synthetic import synthetic_taq

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_synthetic_month(benchmark, quick):
    """One month of BitMEX-like rows (~3.5 million; one day in quick mode)."""
    duration = "1D" if quick else "30D"
    frame = benchmark.pedantic(lambda: synthetic_taq(duration=duration, seed=0),
                               rounds=3, iterations=1)
    benchmark.extra_info.update(rows=len(frame),
                                rows_per_s=len(frame) / benchmark.stats.stats.min)


def test_convert_binance_btcusd_perp(benchmark):
    """The real BTCUSD_PERP capture (bookTicker + trades CSVs) to TAQ."""
    folder = DATA / "binance-btc-perp-hftbacktest-20240808"
    if not folder.exists():
        pytest.skip(f"{folder} is absent")
    from mmsim.data import binance

    frame = benchmark.pedantic(
        lambda: binance.to_taq(folder / "btcusd_perp_trades.csv.gz",
                               folder / "btcusd_perp_quotes.csv.gz"),
        rounds=3, iterations=1)
    benchmark.extra_info.update(rows=len(frame))
