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


@pytest.mark.parametrize("files", [
    ["usdm_btcusdt_20240808.gz"],
    ["cm_btcusd_perp_20240808.gz", "cm_btcusd_perp_20240809.gz"],
], ids=["btcusdt", "btcusd_perp"])
def test_convert_binance_raw(benchmark, files):
    """The raw Binance captures (gzip websocket logs, depth updates included) to TAQ; rows
    per second count the lines of the capture."""
    raw = [DATA / "binance-btc-perp-hftbacktest-20240808" / "raw" / f for f in files]
    if not all(p.exists() for p in raw):
        pytest.skip(f"{raw[0].parent} is absent")
    import gzip

    from mmsim.data import binance

    lines = sum(gzip.decompress(p.read_bytes()).count(b"\n") for p in raw)
    frame = benchmark.pedantic(lambda: binance.raw_to_taq(raw), rounds=3, iterations=1)
    benchmark.extra_info.update(rows=len(frame), lines=lines,
                                lines_per_s=lines / benchmark.stats.stats.min)


def test_convert_cryptofeed_log(benchmark):
    """cryptofeed's BitMEX log (2,124 lines, 10 symbols) to an XBTUSD TAQ."""
    log = DATA / "bitmex-xbtusd-cryptofeed-20210722" / "raw_BITMEX.ws.1.0.txt"
    if not log.exists():
        pytest.skip(f"{log} is absent")
    from mmsim.data import bitmex

    lines = log.read_bytes().count(b"\n")
    frame = benchmark.pedantic(lambda: bitmex.cryptofeed_to_taq(log), rounds=3, iterations=1)
    benchmark.extra_info.update(rows=len(frame), lines=lines,
                                lines_per_s=lines / benchmark.stats.stats.min)
