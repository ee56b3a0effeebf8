"""mmsim against hftbacktest: one tick stream, one requote schedule, CPU time and memory.

As a script, each engine runs in a fresh interpreter, the engines in turn ``--rounds`` times
(see :func:`merge_rounds`), and the script prints one table::

    python benchmarks/compare_hftbacktest.py --rows 5000000 --repeats 3 --rounds 3

Collected by pytest (``benchmarks/conftest.py`` collects ``compare_*.py``), the two engines are
benchmarked in-process on ``replay_taq``; without hftbacktest (``pip install ".[peers]"``) the
tests skip.

The stream is ``synthetic_taq(n_rows=N, seed=1)``. mmsim replays it as aligned TAQ arrays;
hftbacktest replays an event array built from it in the BBO-snapshot style: a row whose best
bid (ask) changed becomes a depth event at the new level and, when the price moved, a depth
event emptying the old level; a printed row adds a trade event. Both engines see every row at
its own time (no feed latency).

The schedule, the same in both: once a minute, from the first whole minute of the stream, the
strategy quotes 1 contract post-only at the best bid and at the best ask. ``--requote
replace`` (the default) cancels every working order and posts both sides anew each minute;
``--requote touch`` keeps a side that still rests at the touch (``TouchQuoter`` of
``test_bench_engine.py``). Orders reach the exchange after 0.5 s and cancels take effect
after 0.5 s; hftbacktest also delays its order responses by 0.5 s, which mmsim does not
model. Queue: risk-averse in both (join behind the displayed size, advance only on prints,
shrink to the displayed size); hftbacktest's exchange without partial fills, which for
one-lot orders fills as mmsim's partial fills do. Contract: inverse, tick 0.5, lot 1, BitMEX
fees.

Timed: the engine run alone (for hftbacktest, building the backtest from the event array,
the jitted strategy loop and closing it). Reported apart: building each engine's input
("prep") and the first, tiny run that compiles hftbacktest's loop with numba ("compile";
for mmsim the same tiny run, which has nothing to compile).
"""
from __future__ import annotations

import argparse
import ctypes
import functools
import gc
import json
import os
import resource
import statistics
import subprocess
import sys
import time

import numpy as np
import pytest

import mmsim
from mmsim.data.align import align

from conftest import QUICK, minute_signals
from test_bench_engine import TouchQuoter

LATENCY_S = 0.5
SIZE = 1.0
CONTRACT = mmsim.BITMEX_XBTUSD
INTERVAL_NS = 60_000_000_000
REQUOTE = ("replace", "touch")
# Events of the tiny run that compiles hftbacktest's loop before anything is timed.
WARMUP_ROWS = 20_000


class ReplaceQuoter(mmsim.Strategy):
    """Cancel every working order, then bid at the best bid and offer at the best ask.

    Parameters
    ----------
    size : float
        Contracts per order.
    """

    def __init__(self, size=SIZE):
        self.size = size

    def on_signal(self, ctx):
        ctx.cancel_all()
        ctx.limit(ctx.bid_price, self.size, post_only=True)
        ctx.limit(ctx.ask_price, -self.size, post_only=True)


def mmsim_strategy(requote: str) -> mmsim.Strategy:
    """The mmsim strategy of a requote schedule (see the module docstring)."""
    if requote == "touch":
        return TouchQuoter(size=SIZE, post_only=True)
    return ReplaceQuoter(SIZE)


# --------------------------------------------------------------------------------------- mmsim


def prepare_mmsim(taq):
    """mmsim's input: the TAQ aligned with one signal per minute, checked for the contract
    once (as hftbacktest's events are built once)."""
    return align(taq, minute_signals(taq), contract=CONTRACT)


def run_mmsim(data, requote: str = "replace") -> dict:
    """Replay ``data`` (from :func:`prepare_mmsim`) under the schedule; count the work done.

    Returns
    -------
    dict
        ``orders`` sent, ``rejected`` (post-only orders that would have crossed), ``fills``,
        ``volume`` (contracts filled) and the final ``position``.
    """
    result = mmsim.backtest(data, None, mmsim_strategy(requote), contract=CONTRACT,
                            latency=LATENCY_S, queue_model=mmsim.RiskAverse())
    orders, fills = result.orders, result.fills
    return {
        "orders": len(orders),
        "rejected": int((orders["status"] == "rejected").sum()),
        "fills": len(fills),
        "volume": float(fills["amount"].abs().sum()),
        "position": float(fills["position"].iloc[-1]) if len(fills) else 0.0,
    }


# --------------------------------------------------------------------------------- hftbacktest


@functools.cache
def hbt_kernels():
    """Import hftbacktest and compile nothing yet: return its module and our jitted kernels.

    Kept in a function so that this module imports without hftbacktest and numba.
    """
    import hftbacktest as hbt
    from numba import njit

    bid_depth = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.DEPTH_EVENT | hbt.BUY_EVENT
    ask_depth = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.DEPTH_EVENT | hbt.SELL_EVENT
    buy_trade = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.TRADE_EVENT | hbt.BUY_EVENT
    sell_trade = hbt.EXCH_EVENT | hbt.LOCAL_EVENT | hbt.TRADE_EVENT | hbt.SELL_EVENT
    new, partially_filled, expired = hbt.NEW, hbt.order.PARTIALLY_FILLED, hbt.EXPIRED
    buy, gtx, limit = hbt.BUY, hbt.GTX, hbt.LIMIT

    @njit
    def put(ev, ts, px, qty, k, write, flag, t, p, q):
        if write:
            ev[k] = flag
            ts[k] = t
            px[k] = p
            qty[k] = q
        return k + 1

    @njit
    def side_events(ev, ts, px, qty, k, write, flag, t, p, q, p_old, q_old):
        # The new level goes in before the old one is emptied: the hash-map depth then finds
        # the next best level at once instead of walking down the tick ladder from the old one.
        if p == p and (p != p_old or q != q_old):
            k = put(ev, ts, px, qty, k, write, flag, t, p, q)
        if p_old == p_old and p != p_old:
            k = put(ev, ts, px, qty, k, write, flag, t, p_old, 0.0)
        return k

    @njit
    def bbo_events(t, price, amount, bid_p, bid_q, ask_p, ask_q, ev, ts, px, qty, write):
        k = 0
        pb = qb = pa = qa = np.nan
        for i in range(len(t)):
            b, a = bid_p[i], ask_p[i]
            # The side moving away goes first, so the book is never crossed in between (a
            # crossed hash-map depth searches for a new best and fills resting orders).
            if b == b and pa == pa and b >= pa:
                k = side_events(ev, ts, px, qty, k, write, ask_depth, t[i], a, ask_q[i], pa, qa)
                k = side_events(ev, ts, px, qty, k, write, bid_depth, t[i], b, bid_q[i], pb, qb)
            else:
                k = side_events(ev, ts, px, qty, k, write, bid_depth, t[i], b, bid_q[i], pb, qb)
                k = side_events(ev, ts, px, qty, k, write, ask_depth, t[i], a, ask_q[i], pa, qa)
            pb, qb, pa, qa = b, bid_q[i], a, ask_q[i]
            m = amount[i]
            if m != 0.0 and price[i] == price[i]:
                k = put(ev, ts, px, qty, k, write, buy_trade if m > 0 else sell_trade, t[i],
                        price[i], abs(m))
        return k

    @njit
    def quoter(bt, first_step_ns, interval_ns, size, replace):
        # One call per minute, the first first_step_ns after the first event (the clock
        # starts there); returns orders sent and post-only rejections.
        sent = 0
        rejected = 0
        order_id = 0
        step = first_step_ns
        while True:
            status = bt.elapse(step)
            if status != 0:
                break
            step = interval_ns
            depth = bt.depth(0)
            bid, ask = depth.best_bid_tick, depth.best_ask_tick
            tick = depth.tick_size
            have_bid = have_ask = False
            values = bt.orders(0).values()
            while values.has_next():
                order = values.get()
                if order.status == expired:
                    rejected += 1
                if order.status != new and order.status != partially_filled:
                    continue
                if not replace and order.side == buy and order.price_tick == bid and not have_bid:
                    have_bid = True
                elif (not replace and order.side != buy and order.price_tick == ask
                      and not have_ask):
                    have_ask = True
                elif order.cancellable:
                    bt.cancel(0, order.order_id, False)
            # Filled, cancelled and expired orders leave the local dictionary once counted.
            bt.clear_inactive_orders(0)
            if not have_bid:
                order_id += 1
                bt.submit_buy_order(0, order_id, bid * tick, size, gtx, limit, False)
                sent += 1
            if not have_ask:
                order_id += 1
                bt.submit_sell_order(0, order_id, ask * tick, size, gtx, limit, False)
                sent += 1
        # Responses still in flight at the end of the data: count the rejections among them.
        values = bt.orders(0).values()
        while values.has_next():
            if values.get().status == expired:
                rejected += 1
        return sent, rejected, status

    return hbt, bbo_events, quoter


def taq_to_events(taq) -> np.ndarray:
    """hftbacktest's event array for a TAQ frame, BBO-snapshot style (module docstring).

    Parameters
    ----------
    taq : pandas.DataFrame
        TAQ schema.

    Returns
    -------
    numpy.ndarray
        Structured array of ``hftbacktest.event_dtype``, exchange and local timestamps both
        the row's time in nanoseconds.
    """
    hbt, bbo_events, _ = hbt_kernels()
    cols = [taq[c].to_numpy(np.float64) for c in
            ("price", "amount", "bid_price", "bid_amount", "ask_price", "ask_amount")]
    t = taq.index.as_unit("ns").asi8
    scratch = np.empty(0, np.int64)
    # Count first, then write into an array of the exact size: the stream is too large to
    # allocate the five events a row can give at most.
    n = bbo_events(t, *cols, scratch.view(np.uint64), scratch, scratch.view(np.float64),
                   scratch.view(np.float64), False)
    events = np.zeros(n, hbt.event_dtype)
    bbo_events(t, *cols, events["ev"], events["exch_ts"], events["px"], events["qty"], True)
    events["local_ts"] = events["exch_ts"]
    return events


def prepare_hftbacktest(taq):
    """hftbacktest's input: the event array and the time of the first minute signal (ns)."""
    first = int(minute_signals(taq).index[0].as_unit("ns").value)
    return taq_to_events(taq), first


def run_hftbacktest(prepared, requote: str = "replace") -> dict:
    """Replay the events from :func:`prepare_hftbacktest` under the schedule; count the work.

    Returns
    -------
    dict
        The keys of :func:`run_mmsim`.
    """
    hbt, _, quoter = hbt_kernels()
    events, first_ns = prepared
    first_step_ns = first_ns - int(events["exch_ts"][0])
    latency_ns = int(LATENCY_S * 1e9)
    asset = (
        hbt.BacktestAsset()
        .data(events)
        .inverse_asset(CONTRACT.contract_size)
        .constant_order_latency(latency_ns, latency_ns)
        .risk_adverse_queue_model()
        # One-lot orders fill whole or not at all, so this fills as the partial-fill model
        # would; hftbacktest 2.4's partial_fill_exchange stops this run early with an
        # InvalidOrderStatus error (code 14 from elapse).
        .no_partial_fill_exchange()
        .trading_value_fee_model(CONTRACT.maker_fee, CONTRACT.taker_fee)
        .tick_size(CONTRACT.tick_size)
        .lot_size(CONTRACT.lot_size)
    )
    bt = hbt.HashMapMarketDepthBacktest([asset])
    sent, rejected, status = quoter(bt, first_step_ns, INTERVAL_NS, SIZE, requote == "replace")
    if status != 1:  # 1: the end of the data; anything else is an error code
        raise RuntimeError(f"hftbacktest stopped with code {status}")
    state = bt.state_values(0)
    out = {"orders": int(sent), "rejected": int(rejected), "fills": int(state.num_trades),
           "volume": float(state.trading_volume), "position": float(bt.position(0))}
    bt.close()
    return out


# ------------------------------------------------------------------------------- measurement

ENGINES = {
    "mmsim": (prepare_mmsim, run_mmsim),
    "hftbacktest": (prepare_hftbacktest, run_hftbacktest),
}


def _status_kib(field: str) -> int:
    """A ``VmRSS``/``VmHWM``-style field of /proc/self/status, in KiB."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _reset_peak_rss() -> bool:
    """Restart the peak-RSS counter (VmHWM) from the current RSS; False where Linux says no."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _trim_heap() -> None:
    """Hand the C heap's free pages back to the OS (glibc), so that a run reusing memory
    freed while the input was built shows up in the peak RSS instead of hiding in it."""
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def measure(engine: str, rows: int, repeats: int, requote: str) -> dict:
    """Build the stream, prepare, warm up, then time ``repeats`` runs of one engine.

    Meant for a fresh interpreter (:func:`main` starts one per engine), so that the peak
    RSS belongs to this engine alone.

    Returns
    -------
    dict
        Timings (process CPU seconds), memory (MiB) and the work counts of the last run.
    """
    from mmsim.data.synthetic import synthetic_taq

    prepare, run = ENGINES[engine]
    taq = synthetic_taq(n_rows=rows, seed=1)
    n_rows = len(taq)
    warm = prepare(taq.iloc[:WARMUP_ROWS])
    t0 = time.process_time()
    prepared = prepare(taq)
    prep_s = time.process_time() - t0
    del taq
    t0 = time.process_time()
    run(warm, requote)
    compile_s = time.process_time() - t0
    del warm
    gc.collect()
    _trim_heap()

    reset = _reset_peak_rss()
    base_kib = _status_kib("VmRSS")
    cpu, wall = [], []
    for _ in range(repeats):
        gc.collect()
        c0, w0 = time.process_time(), time.perf_counter()
        work = run(prepared, requote)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    peak_kib = _status_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "engine": engine, "rows": n_rows, "events": _events(prepared), "requote": requote,
        "cpu": cpu, "cpu_best": min(cpu), "cpu_median": statistics.median(cpu),
        "wall_best": min(wall),
        "prep_s": prep_s, "compile_s": compile_s,
        "rss_base_mib": base_kib / 1024, "rss_peak_mib": peak_kib / 1024,
        "rss_run_mib": (peak_kib - base_kib) / 1024, "peak_reset": reset,
        "rss_lifetime_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        **work,
    }


def merge_rounds(rounds: list[dict]) -> dict:
    """One engine's figures over several rounds (:func:`measure` results, one a round).

    The machine is shared: a slow spell that covers one engine's whole round skews a
    comparison made of one round per engine, so rounds alternate between the engines and
    each engine keeps its best time over all of them. Times: best and median over every
    repeat of every round; memory: the highest peak of any round; preparing and compiling:
    the best round. The work counts are the same in every round (asserted).
    """
    first = rounds[0]
    keys = ("orders", "rejected", "fills", "volume", "position")
    for other in rounds[1:]:
        assert all(other.get(k) == first.get(k) for k in keys), "rounds did different work"
    cpu = [t for r in rounds for t in r["cpu"]]
    return {
        **first, "rounds": len(rounds), "cpu": cpu, "cpu_best": min(cpu),
        "cpu_median": statistics.median(cpu), "wall_best": min(r["wall_best"] for r in rounds),
        "prep_s": min(r["prep_s"] for r in rounds),
        "compile_s": min(r["compile_s"] for r in rounds),
        "rss_peak_mib": max(r["rss_peak_mib"] for r in rounds),
        "rss_run_mib": max(r["rss_run_mib"] for r in rounds),
        "rss_lifetime_mib": max(r["rss_lifetime_mib"] for r in rounds),
        "peak_reset": all(r["peak_reset"] for r in rounds),
    }


def _events(prepared) -> int:
    """Rows an engine replays: TAQ rows for mmsim, events for hftbacktest."""
    if isinstance(prepared, tuple):
        return len(prepared[0])
    return len(prepared.time)


def format_table(results: list[dict]) -> str:
    """The comparison table; ``ratio`` is CPU best over mmsim's."""
    ref = next((r["cpu_best"] for r in results if r["engine"] == "mmsim"), None)
    head = ("engine", "rows", "events", "CPU s best", "CPU s median", "rows/s", "ratio",
            "RSS run MiB", "RSS peak MiB", "orders", "rejected", "fills", "volume",
            "compile s", "prep s")
    lines = []
    for r in results:
        lines.append((
            r["engine"], f"{r['rows']:,}", f"{r['events']:,}", f"{r['cpu_best']:.2f}",
            f"{r['cpu_median']:.2f}", f"{r['rows'] / r['cpu_best']:,.0f}",
            f"{r['cpu_best'] / ref:.2f}" if ref else "n/a",
            f"{r['rss_run_mib']:,.1f}", f"{r['rss_peak_mib']:,.0f}", f"{r['orders']:,}",
            f"{r['rejected']:,}", f"{r['fills']:,}", f"{r['volume']:,.0f}",
            f"{r['compile_s']:.2f}", f"{r['prep_s']:.2f}",
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
    row = lambda cells: "| " + " | ".join(c.rjust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([row(head), "|" + "|".join("-" * (w + 2) for w in widths) + "|",
                      *map(row, lines)])


def main(argv=None) -> int:
    """Command line: run each engine in its own interpreter and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000 if QUICK else 5_000_000)
    parser.add_argument("--repeats", type=int, default=1 if QUICK else 3)
    parser.add_argument("--requote", choices=REQUOTE, default="replace")
    parser.add_argument("--engines", default="mmsim,hftbacktest",
                        help="comma-separated subset of: " + ", ".join(ENGINES))
    parser.add_argument("--rounds", type=int, default=1,
                        help="run the engines in turn this many times (see merge_rounds)")
    parser.add_argument("--json", help="also write the results to this file")
    parser.add_argument("--child", choices=list(ENGINES), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(measure(args.child, args.rows, args.repeats, args.requote)))
        return 0

    engines = args.engines.split(",")
    if "hftbacktest" in engines:
        try:
            import hftbacktest  # noqa: F401
        except ImportError:
            parser.error('hftbacktest is not installed: pip install ".[peers]"')
    if args.rounds < 1:
        parser.error(f"--rounds must be at least 1, got {args.rounds}")
    by_engine = {engine: [] for engine in engines}
    for _ in range(args.rounds):
        for engine in engines:
            # One interpreter per engine and round: its peak RSS is its own, and neither
            # inherits the other's heap or JIT state.
            out = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child", engine, "--rows",
                 str(args.rows), "--repeats", str(args.repeats), "--requote", args.requote],
                check=True, capture_output=True, text=True)
            by_engine[engine].append(json.loads(out.stdout.strip().splitlines()[-1]))
    results = [merge_rounds(by_engine[engine]) for engine in engines]
    print(f"synthetic_taq(n_rows={args.rows:,}, seed=1), requote={args.requote}, "
          f"{args.rounds} round(s) of {args.repeats} repeat(s), the engines in turn, process "
          f"CPU time; RSS run = peak during the runs minus RSS once the input is built")
    print(format_table(results))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


# ------------------------------------------------------------------------------------ pytest


@pytest.fixture(scope="module")
def peer():
    """hftbacktest's module and our kernels; skips the module's tests without it."""
    pytest.importorskip("hftbacktest")
    return hbt_kernels()


ROUNDS = 1 if QUICK else 3


def _record(benchmark, rows, work, cpu):
    benchmark.extra_info.update(rows=rows, rows_per_s=rows / benchmark.stats.stats.min,
                                cpu_s=min(cpu), **work)


@pytest.mark.parametrize("requote", REQUOTE)
def test_peer_mmsim(benchmark, replay_taq, peer, requote):
    """mmsim on ``replay_taq`` under the schedule hftbacktest runs in the next test."""
    data = prepare_mmsim(replay_taq)
    cpu = []

    def once():
        c0 = time.process_time()
        work = run_mmsim(data, requote)
        cpu.append(time.process_time() - c0)
        return work

    work = benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    _record(benchmark, len(data.time), work, cpu)
    assert work["fills"] > 0 and work["orders"] > 0


@pytest.mark.parametrize("requote", REQUOTE)
def test_peer_hftbacktest(benchmark, replay_taq, peer, requote):
    """hftbacktest on the events of ``replay_taq``; numba's compile time is kept apart."""
    warm = prepare_hftbacktest(replay_taq.iloc[:WARMUP_ROWS])
    t0 = time.process_time()
    run_hftbacktest(warm, requote)
    compile_s = time.process_time() - t0
    prepared = prepare_hftbacktest(replay_taq)
    cpu = []

    def once():
        c0 = time.process_time()
        work = run_hftbacktest(prepared, requote)
        cpu.append(time.process_time() - c0)
        return work

    work = benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    _record(benchmark, len(replay_taq), work, cpu)
    benchmark.extra_info.update(events=len(prepared[0]), compile_s=compile_s)
    assert work["fills"] > 0 and work["orders"] > 0


if __name__ == "__main__":
    sys.exit(main())
