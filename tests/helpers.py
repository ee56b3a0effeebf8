"""Small builders for hand-worked scenarios."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

import mmsim

NAN = float("nan")
T0 = pd.Timestamp("2019-04-01", tz="UTC")
#: The shared folder (``data/`` and ``seed/``) beside the checkout, or ``$MMSIM_SHARED``. Tests
#: reach it through the ``shared`` fixture of conftest.py, which skips when a file is absent.
SHARED = Path(os.environ.get("MMSIM_SHARED")
              or Path(__file__).resolve().parents[1].parent / "shared")
#: The capture folders the tests read.
BINANCE_DIR = ("data", "binance-btc-perp-hftbacktest-20240808")
BITMEX_DIR = ("data", "bitmex-xbtusd-cryptofeed-20210722")

#: A contract with the XBTUSD grid and no fees, so queue tests read plainly.
NOFEE = mmsim.Contract(inverse=True, tick_size=0.5, lot_size=1.0, contract_size=1.0,
                       maker_fee=0.0, taker_fee=0.0)


def at(seconds: float) -> pd.Timestamp:
    """The scenario clock: T0 plus ``seconds``."""
    return T0 + pd.Timedelta(seconds=seconds)


def taq(rows) -> pd.DataFrame:
    """TAQ frame from ``(seconds, price, amount, bid, bid_amount, ask, ask_amount)`` rows."""
    rows = list(rows)
    frame = pd.DataFrame(
        [r[1:] for r in rows],
        columns=list(mmsim.data.TAQ_COLUMNS),
        index=pd.DatetimeIndex([at(r[0]) for r in rows], name="time"),
    ).astype(np.float64)
    return frame


def quote(seconds, bid, bid_amount, ask, ask_amount):
    """A quote-only TAQ row."""
    return (seconds, NAN, 0.0, bid, bid_amount, ask, ask_amount)


def signals(*seconds, **columns) -> pd.DataFrame:
    """Signals frame at the given times; extra columns as keyword lists."""
    index = pd.DatetimeIndex([at(s) for s in seconds], name="time")
    data = {k: np.asarray(v, dtype=np.float64) for k, v in columns.items()}
    if not data:
        data = {"x": np.zeros(len(seconds))}
    return pd.DataFrame(data, index=index)


class Script(mmsim.Strategy):
    """Runs ``steps[k](ctx)`` at the k-th signal and remembers what it saw."""

    def __init__(self, *steps, on_fill=None):
        self.steps = steps
        self.calls = 0
        self.ids = []
        self.seen = []
        self.fill_log = []
        self._on_fill = on_fill

    def on_signal(self, ctx):
        if self.calls < len(self.steps) and self.steps[self.calls] is not None:
            out = self.steps[self.calls](ctx)
            if out is not None:
                self.ids.extend(out if isinstance(out, (list, tuple)) else [out])
        self.calls += 1

    def on_fill(self, ctx, fill):
        self.fill_log.append((ctx.time, int(fill["order_id"]), float(fill["amount"])))
        if self._on_fill is not None:
            self._on_fill(ctx, fill)


def run(rows, sig_times, *steps, contract=NOFEE, **kwargs):
    """Backtest a :class:`Script` on hand-built rows; returns (result, strategy)."""
    strategy = Script(*steps)
    kwargs.setdefault("latency", 0.5)
    result = mmsim.backtest(taq(rows), signals(*sig_times), strategy, contract=contract, **kwargs)
    return result, strategy
