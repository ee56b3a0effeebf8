"""``mmsim report DIR``: rebuild the HTML report of a result saved with ``Result.save``."""
from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers) -> None:
    """Add the ``report`` sub-command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "report",
        help="rebuild the HTML report of a saved result",
        description="Read a result saved by Result.save (or mmsim run/demo) and write its report.",
    )
    parser.add_argument("directory", help="directory holding the saved result")
    parser.add_argument("--out", help="HTML file to write (default DIRECTORY/report.html)")
    parser.add_argument("--freq", default="1h", help="NAV sampling for Sharpe/Sortino (default 1h)")
    parser.add_argument("--size-limit", type=float, help="position limit for time_at_limit")
    parser.add_argument("--summary", action="store_true", help="also print the statistics")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Execute ``mmsim report``.

    Parameters
    ----------
    args : argparse.Namespace
        ``directory``, ``out``, ``freq``, ``size_limit``, ``summary``.

    Returns
    -------
    int
        0 on success, 2 if the directory holds no saved result or an option is invalid.
    """
    from mmsim.results import Result

    directory = Path(args.directory)
    try:
        result = Result.load(directory)
        if args.summary:
            result.summary(freq=args.freq, size_limit=args.size_limit)
        path = result.report(Path(args.out) if args.out else directory / "report.html",
                             freq=args.freq, size_limit=args.size_limit)
    except (FileNotFoundError, ValueError) as exc:
        print(f"mmsim report: {exc}", file=sys.stderr)
        return 2
    print(f"report: {path}")
    return 0
