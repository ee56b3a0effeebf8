"""The ``mmsim`` command: one sub-command per module in :mod:`mmsim.commands`.

Errors end a command with one line on stderr, ``mmsim COMMAND: message``, and an exit
status: 2 for bad usage or configuration (a :class:`~mmsim.config.ConfigError`), 1 for a
failure while running (bad data, a strategy that raised, a missing optional dependency, an
output that cannot be written). ``--debug`` shows the traceback instead. Warnings are one
line each, ``mmsim COMMAND: warning: message``.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings

__all__ = ["main", "build_parser", "describe", "EXTRAS"]

#: Sub-command modules, in the order ``mmsim --help`` lists them. Each module defines
#: ``register(subparsers)``, which adds its parser and sets ``func`` to a callable taking
#: the parsed arguments and returning an exit code.
COMMANDS = ("demo", "run", "sweep", "report", "convert", "paper")

#: Optional dependency (top-level module) -> the extra of pyproject.toml that installs it.
EXTRAS = {"plotly": "plot", "matplotlib": "plot", "dask": "dask", "distributed": "dask",
          "optuna": "optuna", "hftbacktest": "peers"}


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every available sub-command registered.

    Returns
    -------
    argparse.ArgumentParser
    """
    from mmsim import __version__

    parser = argparse.ArgumentParser(
        prog="mmsim", description="Market-making backtests on tick data.",
        epilog="Errors exit with status 2 (usage, configuration) or 1 (failure while running).",
    )
    parser.add_argument("--version", action="version", version=f"mmsim {__version__}")
    debug = dict(action="store_true", help="show the traceback of an error")
    parser.add_argument("--debug", **debug)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"mmsim.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"mmsim.commands.{name}":
                raise
            continue
        module.register(sub)
    for command in sub.choices.values():
        # Also after the command (mmsim run x.yaml --debug); SUPPRESS keeps the value given
        # before it, which a sub-parser default would overwrite.
        command.add_argument("--debug", **debug, default=argparse.SUPPRESS)
    return parser


def describe(exc: BaseException) -> str:
    """The one-line message of an error that ends a command.

    Parameters
    ----------
    exc : BaseException

    Returns
    -------
    str
        mmsim's own message (bad data is prefixed ``bad input data:``); for a missing
        optional dependency, the extra that installs it; for a file system error, the path
        and the reason; else the exception's type and message.
    """
    from mmsim.config import ConfigError
    from mmsim.data.schema import SchemaError
    from mmsim.engine import RunError

    if isinstance(exc, SchemaError):
        text = f"bad input data: {exc}"
    elif isinstance(exc, (ConfigError, RunError)):
        text = str(exc)
    elif isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in EXTRAS:
        module = exc.name.split(".")[0]
        text = (f"this needs {module}, which is not installed: "
                f"pip install 'mmsim[{EXTRAS[module]}]'")
    elif isinstance(exc, OSError) and exc.filename and exc.strerror:
        text = f"{exc.filename}: {exc.strerror}"
    elif isinstance(exc, (OSError, ImportError)):
        text = str(exc)
    else:
        text = f"{type(exc).__name__}: {exc} (--debug shows the traceback)"
    return " ".join(text.split())


def main(argv=None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv : list of str, optional
        Arguments without the program name; ``sys.argv[1:]`` by default.

    Returns
    -------
    int
        The exit code: 0 on success, 2 on bad usage or configuration, 1 when the command
        fails while running (see the module notes).
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    prog = f"mmsim {args.command}"

    def show(message, category, filename, lineno, file=None, line=None):
        print(f"{prog}: warning: {' '.join(str(message).split())}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = show
        try:
            return int(args.func(args) or 0)
        except Exception as exc:
            if args.debug:
                raise
            from mmsim.config import ConfigError

            print(f"{prog}: {describe(exc)}", file=sys.stderr)
            return 2 if isinstance(exc, ConfigError) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
