"""Engines in threads: a long stretch of replay gives up the GIL, and engines in two threads
keep their results apart."""
import sys
import threading
import time

import numpy as np
import pandas as pd

import mmsim
from helpers import NOFEE, T0, Script, signals

#: Rows of the long stretch: many times the rows a section may replay holding the GIL.
LONG_ROWS = 2_000_000


def flat_taq(n: int) -> pd.DataFrame:
    """``n`` quote rows a millisecond apart, 100 / 100.5 with 10 each side, no print."""
    index = pd.DatetimeIndex(T0 + pd.to_timedelta(np.arange(n), unit="ms"), name="time")
    return pd.DataFrame({
        "price": np.full(n, np.nan), "amount": np.zeros(n),
        "bid_price": np.full(n, 100.0), "bid_amount": np.full(n, 10.0),
        "ask_price": np.full(n, 100.5), "ask_amount": np.full(n, 10.0),
    }, index=index)


def replay_beside_a_clock(taq: pd.DataFrame) -> tuple[int, float, pd.DataFrame]:
    """Run two calls over ``taq`` (a far bid sent at the first, nothing at the last row)
    while another thread takes the time over and over. Returns how many times that thread
    took the time in the middle 70 % of the time between the two calls (the ends are where
    the strategy's own Python code hands the GIL over), that time, and the orders."""
    stamps, marks = [], {}
    done = threading.Event()

    def clock():
        while not done.is_set():
            stamps.append(time.perf_counter())

    def first(ctx):
        ctx.limit(50.0, 1)
        marks["left"] = time.perf_counter()

    def second(ctx):
        marks["back"] = time.perf_counter()

    end = (len(taq) - 1) / 1000.0
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-4)
    ticker = threading.Thread(target=clock)
    try:
        ticker.start()
        result = mmsim.backtest(taq, signals(0, end), Script(first, second), contract=NOFEE,
                                latency=0.001)
    finally:
        done.set()
        ticker.join()
        sys.setswitchinterval(interval)
    left, back = marks["left"], marks["back"]
    lo, hi = left + 0.15 * (back - left), back - 0.15 * (back - left)
    return sum(lo < s < hi for s in stamps), back - left, result.orders


def test_another_thread_runs_while_a_long_stretch_of_rows_is_replayed():
    # A bid far below the market makes the engine test every row between the two calls
    # (none reaches it). With the GIL given up there, a thread that only takes the time runs
    # in the middle of the stretch; held, never (it would run at the ends only, where the
    # strategy's Python code gives the GIL up every 0.1 ms). Whether a thread is scheduled
    # in a few milliseconds is up to a shared machine: the run is tried three times.
    taq = flat_taq(LONG_ROWS)
    for _ in range(3):
        inside, span, orders = replay_beside_a_clock(taq)
        assert orders["status"].tolist() == ["live"]
        if inside:
            break
    assert inside, f"no other thread ran in {1e3 * span:.1f} ms of replay, three times"


def test_engines_in_two_threads_give_each_the_result_it_gives_alone():
    # Sections short and long, held and given up, interleaved between two engines.
    taq = flat_taq(20_000)
    times = np.arange(0.0, 20.0, 0.25).tolist() + [19.999]
    alone = {}
    together = {}

    def work(price, out):
        def step(ctx):
            ctx.cancel_all()
            ctx.limit(price, 1)
        strategy = Script(*[step] * len(times))
        out[price] = mmsim.backtest(taq, signals(*times), strategy, contract=NOFEE,
                                    latency=0.01).orders

    for price in (99.0, 100.0):
        work(price, alone)
    threads = [threading.Thread(target=work, args=(price, together)) for price in (99.0, 100.0)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for price in (99.0, 100.0):
        pd.testing.assert_frame_equal(together[price], alone[price])
        assert len(alone[price]) == len(times)


def test_a_section_past_the_rows_replayed_holding_the_gil_fills_row_by_row():
    # The first call (at row 0) bids 5 at 100 behind the 10 displayed; it is live from row
    # 1, where the section to the last call starts. run replays that section's first
    # SECTION_HELD_ROWS rows holding the GIL, so the row at held + 1 is the first replayed
    # without it. Sells of 4 print at 100 on the rows around that one: 10 - 4 - 4 leaves 2
    # ahead, the third print fills 2 (4 - 2) and the fourth fills the other 3, each at its
    # own row's time, and on_fill hears each at once. Streamed in chunks of 1000 rows (the
    # section's rows move at each chunk) the run is the same.
    held = mmsim._core.SECTION_HELD_ROWS
    first = held + 1                       # the section's first row replayed without the GIL
    taq = flat_taq(3 * held)
    prints = [first - 2, first - 1, first, first + 1]
    taq.iloc[prints, [0, 1]] = [100.0, -4.0]
    heard = []

    def hedge(ctx, fill):
        heard.append((ctx.time, float(fill["amount"])))

    def replay(source):
        heard.clear()
        strategy = Script(lambda ctx: ctx.limit(100.0, 5), None, on_fill=hedge)
        result = mmsim.backtest(source, signals(0, (len(taq) - 1) / 1000.0), strategy,
                                contract=NOFEE, latency=0.001)
        return result, list(heard)

    whole, heard_whole = replay(taq)
    fills = whole.fills
    assert fills.index.tolist() == [taq.index[first], taq.index[first + 1]]
    assert fills["amount"].tolist() == [2.0, 3.0]
    assert fills["price"].tolist() == [100.0, 100.0]
    assert heard_whole == [(taq.index[first].value, 2.0), (taq.index[first + 1].value, 3.0)]
    assert whole.orders["status"].tolist() == ["filled"]
    streamed, heard_streamed = replay(taq.iloc[k:k + 1000] for k in range(0, len(taq), 1000))
    for name in ("orders", "fills", "balances", "positions"):
        pd.testing.assert_frame_equal(getattr(streamed, name), getattr(whole, name),
                                      check_exact=True, obj=name)
    assert heard_streamed == heard_whole
