"""Engine throughput, a notebook-sized strategy run, start-up time and peak memory.

Figures go to ``--benchmark-json`` (``extra_info`` holds rows per second and memory ratios);
nothing here asserts on time. The gated benchmarks (``gated`` fixture) also record their time
over a floor measured beside them, which ``python -m benchmarks.check`` compares with the
baseline.
"""
import json
import subprocess
import sys
import time

import pytest

import mmsim
from mmsim.data.align import align

from conftest import ROUNDS, Floor, minute_signals, python_pass, traced_peak


class TouchQuoter(mmsim.Strategy):
    """Keep one bid at the best bid and one ask at the best ask; requote a side only when
    the best price moved away from it or it filled.

    Parameters
    ----------
    size : float, default 100.0
        Contracts per order.
    post_only : bool, default False
        Send the limits post-only (rejected rather than crossing the spread when they go live).
    """

    def __init__(self, size=100.0, post_only=False):
        self.size = size
        self.post_only = post_only

    def on_signal(self, ctx):
        bid, ask = ctx.bid_price, ctx.ask_price
        orders = ctx.orders
        have_bid = have_ask = False
        for oid, side, price in zip(orders["order_id"].tolist(), orders["side"].tolist(),
                                    orders["price"].tolist()):
            if side > 0 and price == bid and not have_bid:
                have_bid = True
            elif side < 0 and price == ask and not have_ask:
                have_ask = True
            else:
                ctx.cancel(oid)
        if not have_bid:
            ctx.limit(bid, self.size, post_only=self.post_only)
        if not have_ask:
            ctx.limit(ask, -self.size, post_only=self.post_only)


class QuoteTouch(mmsim.Strategy):
    """TouchQuoter's rule in one ``ctx.quote`` call (the same orders and fills)."""

    def __init__(self, size=100.0):
        self.size = size

    def on_signal(self, ctx):
        ctx.quote(ctx.bid_price, self.size, ctx.ask_price, self.size)


@pytest.mark.parametrize("strategy", ["orders_cancel_limit", "quote"])
def test_end_to_end_requote(gated, replay_taq, strategy):
    """5M rows from a DataFrame (validation, the replay, the callbacks and the Result all
    counted), a bid and an ask requoted at 1-minute signals: written with ctx.orders, cancel
    and limit, or with one ctx.quote call. Floor: a Python loop over the same quotes."""
    signals = minute_signals(replay_taq)
    make = TouchQuoter if strategy == "orders_cancel_limit" else QuoteTouch
    result = gated(lambda: mmsim.backtest(replay_taq, signals, make(), latency=0.01),
                   python_pass(replay_taq), rounds=ROUNDS, rows=len(replay_taq))
    gated.benchmark.extra_info.update(orders=len(result.orders), fills=len(result.fills))


class Timed(mmsim.Strategy):
    """``inner``'s callbacks, with the time spent in ``on_signal`` (the Python code and the
    ctx calls it makes) added up in ``spent``: wall time, whose clock costs tens of
    nanoseconds a read where the process's CPU clock costs hundreds (a call lasts less than a
    microsecond)."""

    def __init__(self, inner):
        self.inner = inner
        self.spent = 0.0

    def on_signal(self, ctx):
        t0 = time.perf_counter()
        self.inner.on_signal(ctx)
        self.spent += time.perf_counter() - t0


def test_end_to_end_parts(benchmark, replay_taq):
    """Where the time of ``test_end_to_end_requote[quote]`` goes: validating the frame (one
    pass, with the contract's grid), the run from the validated arrays, the strategy calls
    within it, and building the five tables of the Result when they are read. Each part is
    the best of ``ROUNDS`` CPU times, but the calls: ``calls_s`` is the wall time inside
    ``on_signal`` less ``timer_s``, that of a strategy that does nothing (the clock reads and
    the call itself)."""
    signals = minute_signals(replay_taq)
    contract = mmsim.BITMEX_XBTUSD

    def parts():
        t0 = time.process_time()
        data = align(replay_taq, signals, contract=contract)
        t1 = time.process_time()
        strategy = Timed(QuoteTouch())
        result = mmsim.backtest(data, None, strategy, contract=contract, latency=0.01)
        t2 = time.process_time()
        for table in ("orders", "fills", "balances", "positions", "funding"):
            getattr(result, table)
        t3 = time.process_time()
        idle = Timed(Idle())
        mmsim.backtest(data, None, idle, contract=contract, latency=0.01)
        return {"validate_s": t1 - t0, "run_s": t2 - t1, "calls_s": strategy.spent,
                "result_s": t3 - t2, "timer_s": idle.spent}

    rounds = [parts() for _ in range(ROUNDS - 1)]
    rounds.append(benchmark.pedantic(parts, rounds=1, iterations=1))
    best = {k: min(r[k] for r in rounds) for k in rounds[0]}
    best["calls_s"] = min(r["calls_s"] - r["timer_s"] for r in rounds)
    total = best["validate_s"] + best["run_s"] + best["result_s"]
    benchmark.extra_info.update(best, rows=len(replay_taq), rows_per_s=len(replay_taq) / total,
                                signals=len(signals))


class Idle(mmsim.Strategy):
    """A strategy that never trades."""

    def on_signal(self, ctx):
        pass


class RestFar(mmsim.Strategy):
    """A bid and an ask sent once, far from the market: no row reaches them."""

    def __init__(self):
        self.sent = False

    def on_signal(self, ctx):
        if not self.sent:
            ctx.limit(1000.0, 100)
            ctx.limit(90000.0, -100)
            self.sent = True


class KeepFar(mmsim.Strategy):
    """The same far bid and ask held with ctx.quote at every call (kept after the first)."""

    def on_signal(self, ctx):
        ctx.quote(1000.0, 100, 90000.0, 100)


class RequoteFar(mmsim.Strategy):
    """A far bid and ask moved by a tick at every call: two orders sent and two cancelled a
    call, none reached by a row."""

    def __init__(self):
        self.k = 0

    def on_signal(self, ctx):
        self.k ^= 1
        ctx.quote(1000.0 + 0.5 * self.k, 100, 90000.0 + 0.5 * self.k, 100)


BY_STRATEGY = {"idle": Idle, "rest_far": RestFar, "keep_far": KeepFar,
               "requote_far": RequoteFar, "requote_touch": lambda: QuoteTouch()}


@pytest.mark.parametrize("name", list(BY_STRATEGY))
def test_run_by_strategy(benchmark, replay_taq, name):
    """The run of ``test_end_to_end_parts`` (from arrays align checked for the contract)
    with strategies that add one cost at a time: the calls alone, orders resting where no
    row reaches them (the row scan), the same quote held at every call, an order lifecycle
    per call and side far from the market, and the benchmark's quoting at the touch."""
    data = align(replay_taq, minute_signals(replay_taq), contract=mmsim.BITMEX_XBTUSD)
    make = BY_STRATEGY[name]
    cpu = []

    def run():
        t0 = time.process_time()
        result = mmsim.backtest(data, None, make(), contract=mmsim.BITMEX_XBTUSD, latency=0.01)
        cpu.append(time.process_time() - t0)
        return result

    result = benchmark.pedantic(run, rounds=ROUNDS, iterations=1)
    benchmark.extra_info.update(rows=len(data.time), orders=len(result.orders),
                                cpu_s=min(cpu), rows_per_cpu_s=len(data.time) / min(cpu))


QUEUE_MODELS = {
    "risk_averse": mmsim.RiskAverse(),
    "power2": mmsim.PowerProb(2),
    "log": mmsim.LogProb(),
    # The slow path: a plain Python front_share, called with the GIL.
    "python": lambda ahead, behind: ahead * ahead / (ahead * ahead + behind * behind)
    if ahead or behind else 1.0,
}


@pytest.mark.parametrize("model", list(QUEUE_MODELS))
def test_replay_throughput(gated, replay_taq, model):
    """5M rows, one bid and one ask resting at the touch, requoted at 1-minute signals, under
    each queue model. Floor: a Python loop over the same quotes."""
    data = align(replay_taq, minute_signals(replay_taq))
    result = gated(lambda: mmsim.backtest(data, None, TouchQuoter(), latency=0.01,
                                          queue_model=QUEUE_MODELS[model]),
                   python_pass(replay_taq), rounds=ROUNDS, rows=len(data.time))
    gated.benchmark.extra_info.update(signals=len(data.signal_time), fills=len(result.fills),
                                      orders=len(result.orders))
    assert len(result.fills) > 0


def test_replay_only(benchmark, replay_taq):
    """The same rows with a strategy that never trades: the replay loop alone."""
    data = align(replay_taq, minute_signals(replay_taq))
    benchmark.pedantic(lambda: mmsim.backtest(data, None, Idle()), rounds=3, iterations=1)
    benchmark.extra_info.update(rows=len(data.time),
                                rows_per_s=len(data.time) / benchmark.stats.stats.min)


@pytest.mark.parametrize("n", [2, 20, 200])
def test_replay_with_resting_orders(gated, replay_taq, n):
    """The same rows with ``n`` orders resting away from the touch for the whole run (half
    bids below the market, half asks above it, on distinct prices): a row costs what its
    quote and print can reach, not the number of working orders. Floor: a Python loop over
    the same quotes."""

    class Resting(mmsim.Strategy):
        def __init__(self):
            self.sent = False

        def on_signal(self, ctx):
            if not self.sent:
                for k in range(n // 2):
                    ctx.limit(1000.0 + 0.5 * k, 100)
                    ctx.limit(100000.0 - 0.5 * k, -100)
                self.sent = True

    data = align(replay_taq, minute_signals(replay_taq))
    result = gated(lambda: mmsim.backtest(data, None, Resting()), python_pass(replay_taq),
                   rounds=ROUNDS, rows=len(data.time))
    gated.benchmark.extra_info.update(orders=n)
    assert len(result.fills) == 0 and len(result.orders) == n


def _spawn(code: str, cwd) -> dict:
    """Run ``code`` in a fresh interpreter in ``cwd`` and read the JSON it prints."""
    out = subprocess.run([sys.executable, "-c", code], check=True, cwd=cwd,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


def test_import_and_first_backtest(gated, tmp_path):
    """A fresh interpreter: import mmsim and run a small backtest (no JIT warm-up).

    It runs in an empty directory so that the installed package is imported, not a
    source tree without its compiled engine. ``extra_info`` splits the time of the last
    round into pandas' own import, mmsim's import and the first backtest (CPU seconds of the
    interpreter), and holds its peak RSS. The gate counts what mmsim adds (its import and the
    first backtest) over the floor: pandas' import, timed the same way inside a fresh
    interpreter spawned the same way."""
    code = (
        "import json, time\n"
        "t0 = time.process_time()\n"
        "import pandas as pd\n"
        "t1 = time.process_time()\n"
        "import mmsim\n"
        "t = pd.DatetimeIndex(pd.to_datetime([0, 1, 2], unit='s', utc=True), name='time')\n"
        "taq = pd.DataFrame({'price': [float('nan')] * 3, 'amount': [0.0] * 3,"
        " 'bid_price': [100.0] * 3, 'bid_amount': [5.0] * 3, 'ask_price': [100.5] * 3,"
        " 'ask_amount': [5.0] * 3}, index=t)\n"
        "class S(mmsim.Strategy):\n"
        "    def on_signal(self, ctx): ctx.limit(ctx.bid_price, 1)\n"
        "t2 = time.process_time()\n"
        "mmsim.backtest(taq, pd.DataFrame({'x': [0.0]}, index=t[1:2]), S())\n"
        "t3 = time.process_time()\n"
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so the child would report
        # the high-water mark of the benchmark process it was spawned from.
        "peak = next(int(line.split()[1]) * 1024 for line in open('/proc/self/status')"
        " if line.startswith('VmHWM'))\n"
        "print(json.dumps({'pandas_import_s': t1 - t0, 'mmsim_import_s': t2 - t1,"
        " 'first_backtest_s': t3 - t2, 'peak_bytes': peak}))\n"
    )
    # One spawn a round: the interpreters take a third of a second each.
    floor = Floor("pandas' import in a fresh interpreter",
                  lambda: _spawn("import time\nt0 = time.process_time()\nimport pandas\n"
                                 "print(time.process_time() - t0)\n", tmp_path),
                  inner=float, repeats=1)
    parts = gated(lambda: _spawn(code, tmp_path), floor, rounds=ROUNDS, memory=False,
                  inner=lambda p: p["mmsim_import_s"] + p["first_backtest_s"])
    gated.benchmark.extra_info.update(parts)


def test_peak_memory(benchmark, replay_taq):
    """Peak memory the run allocates, against the bytes of the TAQ arrays it replays."""
    signals = minute_signals(replay_taq)
    taq_bytes = align(replay_taq, signals).nbytes

    peak = benchmark.pedantic(
        lambda: traced_peak(lambda: mmsim.backtest(replay_taq, signals, TouchQuoter(),
                                                   latency=0.01)),
        rounds=1, iterations=1)
    benchmark.extra_info.update(taq_bytes=taq_bytes, peak_bytes=peak, ratio=peak / taq_bytes)
    assert peak <= 1.5 * taq_bytes, f"peak {peak} bytes > 1.5 x TAQ {taq_bytes} bytes"
