"""Data throughput: generating synthetic ticks, reading Parquet (time and peak memory), and
converting the real captures. ``synthetic_taq`` and ``read_taq`` are gated: the first against
a Python loop over the quotes it makes, the second against Arrow's own read of the file."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from mmsim.data.synthetic import synthetic_taq

from conftest import ROUNDS, Floor, python_pass

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def test_synthetic_month(gated, quick):
    """One month of BitMEX-like rows (~3.5 million; one day in quick mode)."""
    duration = "1D" if quick else "30D"
    frame = synthetic_taq(duration=duration, seed=0)
    gated(lambda: synthetic_taq(duration=duration, seed=0), python_pass(frame), rounds=ROUNDS,
          rows=len(frame))


def test_read_taq_parquet(gated, replay_taq, tmp_path):
    """read_taq of one Parquet file of ``replay_taq`` (5 million rows; 200 thousand in quick
    mode) into a validated frame. Floor: ``pyarrow.parquet.read_table`` of the same file on
    one thread, as read_taq reads (a thread pool's CPU time varies with the machine's load)."""
    import pyarrow.parquet as pq

    from mmsim.data.io import read_taq, write_taq

    path = write_taq(replay_taq, tmp_path / "taq.parquet")
    floor = Floor("pyarrow.parquet.read_table of the same file, one thread",
                  lambda: pq.read_table(path, use_threads=False))
    frame = gated(lambda: read_taq(path), floor, rounds=ROUNDS, rows=len(replay_taq))
    assert len(frame) == len(replay_taq)


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


@pytest.mark.parametrize("rows", [5_000_000, 20_000_000], ids=["5M", "20M"])
def test_synthetic_rows(benchmark, quick, rows):
    """synthetic_taq at 5 and 20 million rows: the cost per row should not grow with size."""
    n = rows // 100 if quick else rows
    benchmark.pedantic(lambda: synthetic_taq(n, seed=1), rounds=3, iterations=1)
    benchmark.extra_info.update(rows=n, ns_per_row=benchmark.stats.stats.min / n * 1e9)


# Run in a fresh interpreter: the RSS high-water mark of this process says nothing about one
# read, and pyarrow's allocator is invisible to tracemalloc.
_PEAK = """
import json, resource, sys
import pyarrow as pa
from mmsim.data.io import read_taq
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
before = rss()
df = read_taq(sys.argv[1])
data = len(df) * 8 * (len(df.columns) + 1)
print(json.dumps({"rows": len(df), "peak_rss_ratio": (rss() - before) / data,
                  "arrow_pool_ratio": pa.default_memory_pool().max_memory() / data}))
"""


def read_peak(path) -> dict:
    """Peak RSS growth of ``read_taq(path)`` over the data size (8 bytes per row and column,
    the index included), and the same for pyarrow's memory pool, in a fresh interpreter."""
    # Run beside the data, not in a checkout whose mmsim/ may lack the compiled modules.
    out = subprocess.run([sys.executable, "-c", _PEAK, str(path)], check=True,
                         cwd=Path(path).parent,
                         capture_output=True, text=True).stdout
    return json.loads(out)


@pytest.mark.parametrize("rows", [5_000_000, 20_000_000], ids=["5M", "20M"])
def test_read_taq_parquet_peak_memory(benchmark, quick, tmp_path_factory, rows):
    """read_taq of a Parquet file: wall time, and peak memory over the data size (about 1
    when nothing but the result is allocated)."""
    from mmsim.data.io import write_taq

    n = rows // 100 if quick else rows
    path = write_taq(synthetic_taq(n, seed=1), tmp_path_factory.mktemp("read") / "taq.parquet")
    peak = benchmark.pedantic(lambda: read_peak(path), rounds=1, iterations=1)
    benchmark.extra_info.update(peak)
