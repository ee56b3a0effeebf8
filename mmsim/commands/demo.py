"""``mmsim demo``: the research notebook's backtest on a month of synthetic BitMEX-like data.

Steps, as in the notebook: tick data (here :func:`mmsim.data.synthetic.synthetic_taq`),
1-minute bars and the volatility signal ``sigma`` (rolling 60-bar log-return std x sqrt(60)),
the Avellaneda-Stoikov strategy with the notebook's parameters on BitMEX XBTUSD (1 BTC,
0.5 s latency, back of the queue), then the orders summary, statistics and an HTML report.
"""
from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run", "NOTEBOOK_PARAMS", "demo_config"]

#: The strategy parameters of the notebook's backtest cell.
NOTEBOOK_PARAMS = {"max_size": 5, "gamma": 0.1, "k": 5, "n": -0.4, "delta_price": 1,
                   "delta_size": 1}


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def register(subparsers) -> None:
    """Add the ``demo`` sub-command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "demo",
        help="backtest the notebook's strategy on a month of synthetic data",
        description=(
            "Generate a month of synthetic BitMEX-like tick data, compute the volatility "
            "signal, backtest Avellaneda-Stoikov with the notebook's parameters "
            "(max_size=5, gamma=0.1, k=5, n=-0.4, delta_price=1, delta_size=1), print the "
            "statistics and write OUT/report.html (plus the saved result)."
        ),
    )
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--days", type=_positive_int, default=30,
                      help="days of synthetic data (default 30)")
    size.add_argument("--rows", type=_positive_int, help="rows of synthetic data instead of --days")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the synthetic data (default 0)")
    parser.add_argument("--out", default="mmsim-demo",
                        help="output directory (default ./mmsim-demo)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or step messages")
    parser.set_defaults(func=run)


def demo_config(days: int | None = 30, rows: int | None = None, seed: int = 0,
                out="mmsim-demo"):
    """The demo as a run configuration.

    Parameters
    ----------
    days : int, optional
        Days of synthetic data (ignored when ``rows`` is given).
    rows : int, optional
        Rows of synthetic data.
    seed : int, default 0
    out : str or os.PathLike, default "mmsim-demo"

    Returns
    -------
    mmsim.config.RunConfig
    """
    from mmsim.config import parse_config

    synthetic = {"rows": rows} if rows is not None else {"duration": f"{days}D"}
    synthetic["seed"] = seed
    return parse_config({
        # BitMEX-like funding every 8 hours, so the report shows what the inventory paid.
        "data": {"synthetic": synthetic, "funding": {"synthetic": {"seed": seed}}},
        "contract": "BITMEX_XBTUSD",
        "strategy": {"name": "AvellanedaStoikov", "params": dict(NOTEBOOK_PARAMS)},
        "signals": {"volatility": {"bar": "1min", "window": 60}},
        "engine": {"balance": 1.0, "latency": 0.5, "queue_position": 1.0, "seed": 42},
        "output": {"dir": str(out), "report": True},
    }, base=Path.cwd())


def run(args) -> int:
    """Execute ``mmsim demo``.

    Parameters
    ----------
    args : argparse.Namespace
        ``days``, ``rows``, ``seed``, ``out``, ``quiet``.

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    mmsim.config.ConfigError
        For an ``--out`` that names a file (:func:`mmsim.cli.main` exits with status 2).
    OSError
        If ``--out`` cannot be written (:func:`mmsim.cli.main` exits with status 1).
    """
    from mmsim.commands.run import finish, prepare_output, replay, step
    from mmsim.config import load_taq, output_dir

    out = prepare_output(output_dir(args.out, "--out"))
    config = demo_config(days=args.days, rows=args.rows, seed=args.seed, out=out)
    what = f"{args.rows:,} rows" if args.rows else f"{args.days} days"
    with step(f"generating {what} of synthetic BitMEX-like data", args.quiet):
        taq = load_taq(config)
    result = replay(config, taq, args.quiet)
    finish(result, config.output, freq=config.freq, report=True, quiet=args.quiet, taq=taq,
           config=config)
    return 0
