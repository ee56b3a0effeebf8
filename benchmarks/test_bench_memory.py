"""Streamed replay of many days: peak memory stays flat in the number of days.

A directory of daily Parquet files of BitMEX-like ticks (a year, about 42 million rows; three
days in quick mode) is replayed through ``read_taq(..., stream=True)`` with a strategy that
requotes a bid and an ask every minute and ``record="daily"``, each span in a fresh
interpreter so that its peak RSS is its own. ``extra_info`` holds, per span, the rows, the
peak RSS (MiB), the CPU seconds and rows per CPU second.

``test_streamed_month`` times the same kind of streamed replay over a month (a day in quick
mode) in process, gated against a Python loop over the month's quotes.
"""
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import QUICK, ROUNDS, minute_signals, python_pass

DAYS = (1, 2, 3) if QUICK else (30, 90, 365)
T0 = pd.Timestamp("2019-01-01", tz="UTC")

_RUN = """
import json, sys, time
import numpy as np, pandas as pd
sys.path.insert(0, sys.argv[3])
import mmsim
from test_bench_engine import TouchQuoter
days, root = int(sys.argv[1]), sys.argv[2]
t0 = pd.Timestamp("2019-01-01", tz="UTC")
end = t0 + pd.Timedelta(days=days)
index = pd.date_range(t0 + pd.Timedelta("1min"), end, freq="1min", inclusive="left", name="time")
signals = pd.DataFrame({"x": np.zeros(len(index))}, index=index)
stream = mmsim.read_taq(root, end=end, stream=True)
cpu = time.process_time()
result = mmsim.backtest(stream, signals, TouchQuoter(), latency=0.01, record="daily")
cpu = time.process_time() - cpu
# VmHWM: this interpreter's own peak (a new address space at exec). ru_maxrss would carry
# the forking parent's high-water mark across exec.
with open("/proc/self/status") as f:
    rss = next(int(line.split()[1]) for line in f if line.startswith("VmHWM:")) / 1024
print(json.dumps({"days": days, "rows": result.params["rows"], "fills": len(result.fills),
                  "peak_rss_mib": rss, "cpu_s": cpu,
                  "rows_per_cpu_s": result.params["rows"] / cpu}))
"""


@pytest.fixture(scope="module")
def year_of_days(tmp_path_factory):
    """Daily Parquet files, each day continuing from the last mid of the day before."""
    import mmsim
    from mmsim.data.synthetic import synthetic_taq

    root = tmp_path_factory.mktemp("days")
    price = 5000.0
    for k in range(max(DAYS)):
        day = synthetic_taq(duration="1D", seed=k, start=T0 + pd.Timedelta(days=k), price=price)
        mmsim.write_taq(day, root / f"{(T0 + pd.Timedelta(days=k)):%Y-%m-%d}.parquet",
                        by_day=False)
        price = float((day["bid_price"].iloc[-1] + day["ask_price"].iloc[-1]) / 2)
    return root


def test_streamed_replay_memory_is_flat_in_days(benchmark, year_of_days):
    """Peak RSS and CPU of a streamed replay over 30, 90 and 365 days."""
    here = str(Path(__file__).resolve().parent)

    def spans():
        out = []
        for days in DAYS:
            # Run beside the data, not in a checkout whose mmsim/ may lack the compiled
            # modules.
            text = subprocess.run([sys.executable, "-c", _RUN, str(days), str(year_of_days),
                                   here], check=True, capture_output=True, text=True,
                                  cwd=year_of_days).stdout
            out.append(json.loads(text))
        return out

    figures = benchmark.pedantic(spans, rounds=1, iterations=1)
    benchmark.extra_info.update({f"{f['days']}d": f for f in figures})


def test_streamed_month(gated, month_taq, tmp_path):
    """``month_taq`` written as daily Parquet files and replayed through
    ``read_taq(..., stream=True)``: reading, validating and replaying the chunks, a bid and
    an ask requoted every minute."""
    import mmsim
    from test_bench_engine import TouchQuoter

    root = mmsim.write_taq(month_taq, tmp_path / "days", by_day=True)
    signals = minute_signals(month_taq)
    result = gated(lambda: mmsim.backtest(mmsim.read_taq(root, stream=True), signals,
                                          TouchQuoter(), latency=0.01),
                   python_pass(month_taq), rounds=ROUNDS, rows=len(month_taq))
    assert result.params["rows"] == len(month_taq)
