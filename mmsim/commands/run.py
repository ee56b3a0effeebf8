"""``mmsim run RUN.yaml``: run a backtest described by a YAML file, save it and report on it."""
from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["register", "run", "progress_bar", "replay", "step", "finish"]


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


def replay(config, taq, quiet: bool = False):
    """Run a configured backtest on loaded data with a progress bar.

    Parameters
    ----------
    config : mmsim.config.RunConfig
    taq : pandas.DataFrame
    quiet : bool, default False

    Returns
    -------
    mmsim.Result
    """
    from mmsim.config import execute

    index = taq.index
    lo = 0 if config.start is None else index.searchsorted(config.start, side="left")
    hi = len(index) if config.end is None else index.searchsorted(config.end, side="left")
    with progress_bar(max(hi - lo, 0), quiet) as update:
        return execute(config, progress=update, taq=taq)


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
        0 on success, 2 for a bad configuration or unreadable data.
    """
    from mmsim.config import ConfigError, load_config, load_taq
    from mmsim.data.schema import SchemaError

    try:
        config = load_config(args.config)
        if args.out:
            config.output = Path(args.out)
        with step("loading data", args.quiet):
            taq = load_taq(config)
        result = replay(config, taq, args.quiet)
    except ConfigError as exc:
        print(f"mmsim run: {exc}", file=sys.stderr)
        return 2
    except SchemaError as exc:
        print(f"mmsim run: bad input data: {exc}", file=sys.stderr)
        return 2
    finish(result, config.output, freq=config.freq, size_limit=config.size_limit,
           report=config.report, quiet=args.quiet, taq=taq, config=config)
    return 0
