"""Strategies for the sweep tests, in a module worker processes can import."""
from __future__ import annotations

import os
import signal

import mmsim


def _take(path) -> bool:
    """Remove the trigger file ``path``; True for the one caller that removed it."""
    try:
        os.remove(path)
    except (FileNotFoundError, TypeError):
        return False
    return True


class Quoter(mmsim.Strategy):
    """One bid ``offset`` ticks below the best bid and one ask as far above the best ask.

    ``log``: a file that gets one line per construction (counts the runs across processes).
    ``fail``: raise on the third call. ``interrupt``: a trigger file; the run that removes it
    raises KeyboardInterrupt (``how="raise"``) or sends SIGINT to its parent process
    (``how="signal"``), as Ctrl-C would.
    """

    def __init__(self, size=100.0, offset=0, log=None, fail=False, interrupt=None, how="raise"):
        self.size, self.offset, self.fail = size, offset, fail
        self.calls = 0
        self.stop = _take(interrupt)
        self.how = how
        if log is not None:
            with open(log, "a") as f:
                f.write(f"{offset}\n")
        if self.stop and how == "signal":
            os.kill(os.getppid(), signal.SIGINT)

    def on_signal(self, ctx):
        self.calls += 1
        if self.fail and self.calls == 3:
            raise RuntimeError("boom")
        if self.stop and self.how == "raise" and self.calls == 2:
            raise KeyboardInterrupt
        if ctx.bid_price != ctx.bid_price:  # no quote yet (a window opening mid-data)
            return
        for oid in ctx.orders["order_id"].tolist():
            ctx.cancel(oid)
        tick = ctx.contract.tick_size
        ctx.limit(ctx.bid_price - self.offset * tick, self.size)
        ctx.limit(ctx.ask_price + self.offset * tick, -self.size)
