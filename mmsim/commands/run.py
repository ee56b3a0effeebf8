"""``mmsim run RUN.yaml``: run a backtest described by a YAML file, save it and report on it."""
from __future__ import annotations

import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["register", "run", "progress_bar", "replay", "step", "finish", "prepare_output",
           "naming_files"]


def register(subparsers) -> None:
    """Add the ``run`` sub-command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "run",
        help="run a backtest described by a YAML file",
        description=(
            "Run the backtest a YAML file describes (data, contract, strategy, signals, engine "
            "settings, output), print its statistics, save the result and write report.html. "
            "See mmsim.config for the file's keys and examples/run.yaml for an example."
        ),
    )
    parser.add_argument("config", help="the YAML run file")
    parser.add_argument("--out", help="output directory (overrides output.dir)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar or step messages")
    parser.set_defaults(func=run)


@contextmanager
def progress_bar(total: int, quiet: bool = False, desc: str = "backtest", delay: float = 1.0):
    """A tqdm bar over replayed TAQ rows, shown only for runs longer than about a second.

    Parameters
    ----------
    total : int
        Rows to replay.
    quiet : bool, default False
        Disable the bar.
    desc : str
        Label of the bar.
    delay : float, default 1.0
        Seconds before the bar appears: shorter runs show none.

    Yields
    ------
    callable
        ``update(rows_replayed)``, the ``progress`` callback of :func:`mmsim.backtest`; its
        ``bar`` attribute is the tqdm bar.
    """
    from tqdm import tqdm

    bar = tqdm(total=total, desc=desc, unit="row", unit_scale=True, delay=delay, disable=quiet,
               file=sys.stderr, leave=False)

    def update(rows: int) -> None:
        bar.update(int(rows) - bar.n)

    update.bar = bar

    try:
        yield update
    finally:
        bar.close()


@contextmanager
def step(message: str, quiet: bool = False):
    """Print ``message ...`` to stderr, then the time the step took (or ``failed``).

    Parameters
    ----------
    message : str
    quiet : bool, default False
        Print nothing.
    """
    if not quiet:
        print(f"{message} ...", end="", file=sys.stderr, flush=True)
    t0 = time.perf_counter()
    try:
        yield
    except BaseException:
        # End the line, so that the caller's error message starts on its own.
        if not quiet:
            print(" failed", file=sys.stderr, flush=True)
        raise
    if not quiet:
        print(f" {time.perf_counter() - t0:.1f}s", file=sys.stderr, flush=True)


def replay(config, taq, quiet: bool = False, strategy=None):
    """Run a configured backtest on loaded data with a progress bar.

    Parameters
    ----------
    config : mmsim.config.RunConfig
    taq : pandas.DataFrame
    quiet : bool, default False
    strategy : mmsim.Strategy, optional
        Already built from ``config`` (see :func:`mmsim.config.execute`).

    Returns
    -------
    mmsim.Result
    """
    from mmsim.config import execute

    # load_taq read only [start, end): every row is replayed.
    with progress_bar(len(taq), quiet) as update:
        return execute(config, progress=update, taq=taq, strategy=strategy)


def prepare_output(out: Path) -> Path:
    """Create the output directory and check that files can be written in it, before a run.

    Parameters
    ----------
    out : pathlib.Path

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    OSError
        Naming ``out``, when it cannot be created or written to.
    """
    try:
        out.mkdir(parents=True, exist_ok=True)
        # os.access misjudges some file systems (read-only mounts, ACLs): try a file instead.
        with tempfile.TemporaryFile(dir=out):
            pass
    except OSError as exc:
        raise OSError(f"cannot write to the output directory {out}: "
                      f"{exc.strerror or exc}") from exc
    return out


@contextmanager
def naming_files(config):
    """Make a :class:`~mmsim.data.schema.SchemaError` raised inside name the file it is about.

    The schema's messages name the column and the row (``taq column 'bid_price' is ... at
    row 0``); which file that row came from only the run configuration knows.

    Parameters
    ----------
    config : mmsim.config.RunConfig
        The run whose data is loaded and replayed inside the block.

    Raises
    ------
    mmsim.SchemaError
        The error, with the TAQ or signals file it is about in front of its message (unless
        the message names it already, or the data is not from a file).
    """
    from mmsim.data.schema import SchemaError

    try:
        yield
    except SchemaError as exc:
        text = str(exc)
        path = config.signals.get("path") if text.startswith("signals") else config.path
        if path is None or str(path) in text:
            raise
        raise SchemaError(f"{path}: {text}") from exc


def finish(result, out: Path, freq="1h", size_limit=None, report: bool = True,
           quiet: bool = False, taq=None, config=None) -> None:
    """Print the summary, save the result in ``out`` and write ``out/report.html``.

    Parameters
    ----------
    result : mmsim.Result
    out : pathlib.Path
    freq, size_limit
        Passed to the statistics.
    report : bool, default True
    quiet : bool, default False
    taq : pandas.DataFrame, optional
        The data the run replayed: its provenance is saved, and the report draws its quotes.
    config : mmsim.config.RunConfig, optional
        Names the data's source (its path, or the generator and seed).
    """
    if taq is not None:
        from mmsim.results import data_provenance

        source = None
        if config is not None:
            source = str(config.path) if config.synthetic is None else "synthetic_taq({})".format(
                ", ".join(f"{k}={v!r}" for k, v in config.synthetic.items()))
        result.provenance.update(data_provenance(taq, source))
    result.summary(freq=freq, size_limit=size_limit)
    with step(f"saving the result in {out}", quiet):
        result.save(out)
    if report:
        with step("writing the report", quiet):
            path = result.report(out / "report.html", freq=freq, size_limit=size_limit,
                                 taq=taq)
        print(f"report: {path}")


def run(args) -> int:
    """Execute ``mmsim run``.

    Parameters
    ----------
    args : argparse.Namespace
        ``config``, ``out``, ``quiet``.

    Returns
    -------
    int
        0 on success.

    Raises
    ------
    mmsim.config.ConfigError
        For a bad run file or ``--out`` (:func:`mmsim.cli.main` exits with status 2).
    mmsim.SchemaError, mmsim.RunError, OSError
        When the data breaks its schema (the message names the file), the run stops, or the
        output cannot be written (:func:`mmsim.cli.main` exits with status 1).
    """
    from mmsim.config import load_config, load_taq, make_strategy, output_dir

    config = load_config(args.config)
    if args.out:
        config.output = output_dir(args.out, "--out")
    # Everything that can be checked is, before the data is loaded and the output made.
    strategy = make_strategy(config)
    prepare_output(config.output)
    with naming_files(config):
        with step("loading data", args.quiet):
            taq = load_taq(config)
        result = replay(config, taq, args.quiet, strategy)
    finish(result, config.output, freq=config.freq, size_limit=config.size_limit,
           report=config.report, quiet=args.quiet, taq=taq, config=config)
    return 0
