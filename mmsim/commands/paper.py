"""``mmsim paper``: reproduce the tables of a market-making paper in its own model world."""
from __future__ import annotations

import argparse

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``paper`` sub-command to an :mod:`argparse` sub-parser collection.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "paper",
        help="reproduce a paper's simulation tables",
        description="Reproduce the simulation tables of a market-making paper.",
    )
    papers = parser.add_subparsers(dest="paper", metavar="PAPER")
    asp = papers.add_parser(
        "avellaneda-stoikov",
        help="Avellaneda & Stoikov (2008), section 3.3",
        description=(
            "Simulate the inventory and symmetric strategies of Avellaneda & Stoikov (2008) "
            "and print one table per gamma (Table 1 of the paper is gamma = 0.1)."
        ),
    )
    asp.add_argument("--gamma", type=float, nargs="+", default=[0.1], help="risk aversion(s)")
    asp.add_argument("--paths", type=int, default=1000, help="simulated paths (default 1000)")
    asp.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    asp.add_argument(
        "--fill-before-move", action="store_true",
        help="draw fills against the mid the quotes were set on (default: the moved mid)",
    )
    asp.add_argument(
        "--symmetric-spread", choices=("constant", "inventory"), default="constant",
        help="spread of the symmetric strategy (default: (2/gamma) ln(1 + gamma/k))",
    )
    asp.set_defaults(func=run)
    parser.set_defaults(func=lambda args: _usage(parser))


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def run(args: argparse.Namespace) -> int:
    """Print the Avellaneda-Stoikov tables for each requested gamma.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed arguments with ``gamma`` (list of float), ``paths``, ``seed``,
        ``fill_before_move`` and ``symmetric_spread``.

    Returns
    -------
    int
        0 on success, 2 when a parameter is invalid (the message goes to stderr).
    """
    import sys

    import pandas as pd

    from mmsim.experiments import AS2008_TABLE1, avellaneda_stoikov

    for gamma in args.gamma:
        try:
            table = avellaneda_stoikov(
                gamma, n_paths=args.paths, seed=args.seed,
                fill_after_move=not args.fill_before_move,
                symmetric_spread=args.symmetric_spread,
            )
        except (TypeError, ValueError) as exc:
            print(f"mmsim paper: {exc}", file=sys.stderr)
            return 2
        print(f"Avellaneda & Stoikov (2008), gamma = {gamma:g}, {args.paths} paths, seed {args.seed}")
        with pd.option_context("display.width", 120):
            print(table.round(3).to_string())
            if gamma == 0.1:
                print("Table 1 of the paper:")
                print(AS2008_TABLE1.to_string())
        print()
    return 0
