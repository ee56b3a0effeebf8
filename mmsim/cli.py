"""The ``mmsim`` command: one sub-command per module in :mod:`mmsim.commands`."""
from __future__ import annotations

import argparse
import importlib
import sys

__all__ = ["main"]

#: Sub-command modules, in the order ``mmsim --help`` lists them. Each module defines
#: ``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking
#: the parsed arguments and returning an exit code.
COMMANDS = ("demo", "run", "sweep", "report", "convert", "paper")


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command registered.

    Returns
    -------
    argparse.ArgumentParser
    """
    parser = argparse.ArgumentParser(
        prog="mmsim", description="Market-making backtests on tick data."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"mmsim.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mmsim.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code: 0 on success, 2 on bad usage or configuration.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    return int(args.func(args) or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
