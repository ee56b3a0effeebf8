"""The research notebook's steps with mmsim, from tick data to the report.

Run ``python examples/notebook_walkthrough.py`` (a month of synthetic data, a few seconds) or
``--rows 20000`` for a quick look; ``--taq FILE`` replays a TAQ file instead, with
``--contract`` naming its contract (e.g. ``--taq perp.parquet --contract BINANCE_BTCUSD_PERP``
for the Binance capture that ``mmsim convert binance`` turns into TAQ).

1. Tick data in the TAQ schema (time index; price, amount, bid/ask price and amount).
2. The signal: 1-minute bar closes, rolling 60-bar volatility of log returns x sqrt(60).
3. The Avellaneda-Stoikov strategy with the notebook's parameters.
4. The backtest: BitMEX XBTUSD (or ``--contract``), 1 BTC, 0.5 s latency, back of the queue.
5. Balances and positions, the orders summary, order listings.
6. The notebook's four charts (and the others of mmsim.plots, quotes and fills first) and the
   HTML report.
"""
from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

import mmsim
from mmsim.data.bars import volatility_signals
from mmsim.config import PRESETS
from mmsim.data.synthetic import synthetic_taq
from mmsim.plots import KINDS
from mmsim.strategies.avellaneda_stoikov import AvellanedaStoikov


def main(argv=None) -> mmsim.Result:
    """Walk the notebook's steps; return the backtest result.

    Parameters
    ----------
    argv : list of str, optional
        Command-line arguments (``--days``, ``--rows``, ``--taq``, ``--contract``,
        ``--balance``, ``--out``).

    Returns
    -------
    mmsim.Result
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30, help="days of synthetic data")
    parser.add_argument("--rows", type=int, help="rows of synthetic data instead of --days")
    parser.add_argument("--taq", help="a TAQ Parquet file to replay instead of synthetic data")
    parser.add_argument("--contract", choices=PRESETS, default="BITMEX_XBTUSD",
                        help="the contract of the data (default BITMEX_XBTUSD)")
    parser.add_argument("--balance", type=float, default=1.0,
                        help="starting balance in the contract's settlement currency (default 1)")
    parser.add_argument("--out", default="walkthrough", help="output directory")
    args = parser.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    # 1. Tick data
    if args.taq:
        taq = mmsim.read_taq(args.taq)
    elif args.rows:
        taq = synthetic_taq(args.rows, seed=0)
    else:
        taq = synthetic_taq(duration=f"{args.days}D", seed=0)
    print(f"TAQ: {len(taq):,} rows, {taq.index[0]} .. {taq.index[-1]}")

    # 2. Signals: sigma from 1-minute bars (the notebook's volatility(ohlcv, windows=[60]))
    signals = volatility_signals(taq, bar="1min", window=60)
    print(signals.tail())

    # 3. Strategy parameters of the notebook's backtest cell
    strategy = AvellanedaStoikov(max_size=5, gamma=0.1, k=5, n=-0.4, delta_price=1, delta_size=1)

    # 4. The backtest (the notebook's maker/taker fees are those of the BitMEX preset)
    contract = getattr(mmsim, args.contract)
    result = mmsim.backtest(taq, signals, strategy, contract=contract, balance=args.balance,
                            latency=0.5, queue_position=1.0, seed=42)

    # 5. Balances, positions and orders
    print(result.balances.tail())
    print(result.positions.tail())
    result.summary()
    orders = result.orders
    print(orders[orders["status"] == "filled"].tail())
    print(orders[orders["status"] == "cancelled"].tail())
    print(orders[orders["slippage"] >= 25.0].tail())

    # 6. Charts and the report; with the TAQ they draw the market's bid, ask and trades under
    # our quotes and fills, and record where the data came from.
    for kind in KINDS:
        result.plot(kind, taq=taq).savefig(out / f"{kind}.png", dpi=80)
    source = args.taq or "synthetic_taq(seed=0)"
    result.provenance.update(mmsim.data_provenance(taq, source))
    result.report(out / "report.html", taq=taq)
    # The first minutes at full resolution.
    start = result.balances.index[0]
    result.plot("quotes", taq=taq, start=start, end=start + pd.Timedelta("5min")).savefig(
        out / "quotes-first-5min.png", dpi=80)
    result.save(out / "result")
    print(f"charts, report and result in {out}")
    return result


if __name__ == "__main__":
    main()
