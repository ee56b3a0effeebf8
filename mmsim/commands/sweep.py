"""``mmsim sweep SWEEP.yaml``: a parameter sweep, walk-forward or search described by YAML.

A sweep file has the sections of a run file (see :mod:`mmsim.config`: ``data``, ``contract``,
``strategy``, ``signals``, ``engine``, ``output``, ``stats``), where ``strategy.params`` and
``engine`` hold what every run shares, and these::

    grid: {gamma: [0.05, 0.1, 0.2], k: [2, 5]}   # lists of values (cartesian product), or a
                                                 # list of mappings, one per combination
    sample: {n: 16, seed: 0, method: halton,     # instead of grid: a random or Halton sample
             space: {gamma: [log-uniform, 0.01, 1], k: [int, 1, 10]}}
    executor: local         # local (a process per core), serial, a number of processes,
                            # or a Dask scheduler address such as tcp://host:8786
    walk_forward: {train: 2D, test: 1D, step: 1D, embargo: 0s, objective: sharpe}
    optimize: {space: {gamma: [log-uniform, 0.01, 1]}, n_trials: 50, objective: sharpe,
               directions: null, seed: 0}
    report: {stat: sharpe, x: gamma, y: k, others: best, top: 20}

Grid, sample and space keys are strategy arguments, engine keys (latency, queue_position, ...)
or Contract fields (maker_fee, ...), and each may be set in one place only. An objective is a
statistic (maximised) or ``[statistic, min]``; ``optimize.objective`` may list several
statistics for a multi-objective search, with ``directions`` (maximize/minimize) for each.

Outputs in ``output.dir``: ``store/`` (the grid's sweep store, ``mmsim.sweep.load`` reads it),
``sweep.html`` (the sweep report, with the walk-forward section when there is one),
``walk_forward/`` (its train and test stores, ``windows.csv`` and the stitched out-of-sample
result, which ``mmsim report`` can rebuild a report of), ``optimize/`` (the Optuna study in
``optuna.db``) and ``optimize.html``. Rerunning with the same output resumes everything.

Every mistake raises :class:`mmsim.config.ConfigError` naming the key; the command turns it
into exit code 2.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["register", "run", "SweepConfig", "parse_sweep_config", "load_sweep_config",
           "execute_sweep"]

#: Sections of a sweep file beyond those of a run file.
SWEEP_SECTIONS = ("grid", "sample", "executor", "walk_forward", "optimize", "report")
_RUN_SECTIONS = ("data", "contract", "strategy", "signals", "engine", "output", "stats")
_WALK_FORWARD_KEYS = ("train", "test", "step", "embargo", "objective")
_OPTIMIZE_KEYS = ("space", "n_trials", "objective", "directions", "seed")
_REPORT_KEYS = ("stat", "x", "y", "others", "top")


@dataclass
class SweepConfig:
    """A checked sweep configuration.

    Attributes
    ----------
    run : mmsim.config.RunConfig
        Data, contract, strategy (its fixed parameters), signals, output and statistics.
    engine : dict
        The ``engine:`` keys given in the file (shared backtest arguments).
    grid : list of dict or None
        The combinations (from ``grid`` or ``sample``).
    executor : None, int, str
        ``None`` (local processes), ``"serial"``, a number of processes, or a Dask scheduler
        address.
    walk_forward : dict or None
        Keyword arguments of :func:`mmsim.sweep.walkforward.walk_forward`.
    optimize : dict or None
        Keyword arguments of :func:`mmsim.sweep.optimize.optimize` (``space`` included).
    report : dict
        Keyword arguments of :func:`mmsim.sweep.report.write_report`.
    """

    run: object
    engine: dict
    grid: list | None = None
    executor: object = None
    walk_forward: dict | None = None
    optimize: dict | None = None
    report: dict = field(default_factory=dict)


def _objective(value, key: str):
    from mmsim.config import ConfigError
    from mmsim.sweep.walkforward import parse_objective

    from mmsim.stats import STAT_NAMES

    value = tuple(value) if isinstance(value, list) else value
    try:
        last = key.rsplit(".", 1)[-1]
        name = parse_objective(value, "objective" if last.isdigit() else last)[0]
    except ValueError as exc:
        raise ConfigError(f"{key}: {exc}") from None
    if name not in STAT_NAMES:
        raise ConfigError(f"{key}: expected a statistic, one of {list(STAT_NAMES)}, "
                          f"got {name!r}")
    return value


def _space(value, key: str) -> dict:
    """A search space from YAML: lists become the tuples mmsim.sweep.sample takes."""
    from mmsim.config import ConfigError, _mapping
    from mmsim.sweep.grid import sample

    space = {name: tuple(spec) if isinstance(spec, list) else spec
             for name, spec in _mapping(value, key).items()}
    try:
        sample(1, space, seed=0)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{key}: {exc}") from None
    return space


def _grid(spec: dict) -> list | None:
    from mmsim.config import ConfigError, _mapping, _number, _only
    from mmsim.sweep.grid import SAMPLE_METHODS, expand, sample

    if "grid" in spec and "sample" in spec:
        raise ConfigError("sample: give either 'grid' or 'sample', not both")
    if "grid" in spec:
        try:
            return expand(spec["grid"])
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"grid: {exc}") from None
    if "sample" not in spec:
        return None
    sam = _mapping(spec["sample"], "sample")
    _only(sam, "sample", ("n", "seed", "method", "space"))
    if "space" not in sam:
        raise ConfigError("sample.space: missing; a sample needs a search space")
    method = sam.get("method", "random")
    if method not in SAMPLE_METHODS:
        raise ConfigError(f"sample.method: expected one of {list(SAMPLE_METHODS)}, "
                          f"got {method!r}")
    return sample(_number(sam.get("n"), "sample.n", positive=True, integer=True),
                  _space(sam["space"], "sample.space"),
                  seed=_number(sam.get("seed", 0), "sample.seed", minimum=0, integer=True),
                  method=method)


def _executor(value):
    from mmsim.config import ConfigError

    if value is None or value == "local":
        return None
    if value == "serial":
        return "serial"
    if isinstance(value, int) and not isinstance(value, bool) and value >= 1:
        return value
    if isinstance(value, str) and "://" in value:
        return value
    raise ConfigError("executor: expected local, serial, a number of processes >= 1 or a Dask "
                      f"scheduler address such as tcp://host:8786, got {value!r}")


def _walk_forward(value) -> dict:
    from mmsim.config import ConfigError, _mapping, _only
    from mmsim.checks import duration

    spec = _mapping(value or {}, "walk_forward")
    _only(spec, "walk_forward", _WALK_FORWARD_KEYS)
    out = {}
    for key in ("train", "test", "step", "embargo"):
        if key in spec:
            try:
                duration(spec[key], key)
            except ValueError as exc:
                raise ConfigError(f"walk_forward.{key}: {exc}") from None
            out[key] = spec[key]
    if "objective" in spec:
        out["objective"] = _objective(spec["objective"], "walk_forward.objective")
    return out


def _optimize(value) -> dict:
    from mmsim.config import ConfigError, _mapping, _number, _only

    spec = _mapping(value, "optimize")
    _only(spec, "optimize", _OPTIMIZE_KEYS)
    if "space" not in spec:
        raise ConfigError("optimize.space: missing; a search needs a space")
    out = {"space": _space(spec["space"], "optimize.space"),
           "n_trials": _number(spec.get("n_trials", 50), "optimize.n_trials", positive=True,
                               integer=True),
           "seed": _number(spec.get("seed", 0), "optimize.seed", minimum=0, integer=True)}
    objective = spec.get("objective", "sharpe")
    if isinstance(objective, list) and not (len(objective) == 2 and objective[1] in
                                            ("min", "max", "minimize", "maximize")):
        out["objective"] = tuple(_objective(o, f"optimize.objective.{i}")
                                 for i, o in enumerate(objective))
    else:
        out["objective"] = _objective(objective, "optimize.objective")
    directions = spec.get("directions")
    if directions is not None:
        from mmsim.sweep.optimize import _objectives

        try:
            _objectives(out["objective"], directions)
        except ValueError as exc:
            raise ConfigError(f"optimize.directions: {exc}") from None
        out["directions"] = directions
    return out


def _report(value, params) -> dict:
    from mmsim.config import ConfigError, _mapping, _number, _only

    spec = _mapping(value or {}, "report")
    _only(spec, "report", _REPORT_KEYS)
    out = {}
    if "stat" in spec:
        out["stat"] = _objective(spec["stat"], "report.stat")
    for key in ("x", "y"):
        if key in spec:
            if spec[key] not in params:
                raise ConfigError(f"report.{key}: expected one of the swept parameters "
                                  f"{list(params)}, got {spec[key]!r}")
            out[key] = spec[key]
    if ("x" in out) != ("y" in out):
        raise ConfigError("report: give both x and y for the heatmap, or neither")
    others = spec.get("others", "best")
    if others != "best" and not isinstance(others, dict):
        raise ConfigError(f"report.others: expected 'best' or a mapping of parameter values, "
                          f"got {others!r}")
    out["others"] = others
    if "top" in spec:
        out["top"] = _number(spec["top"], "report.top", positive=True, integer=True)
    return out


def parse_sweep_config(mapping, base=".") -> SweepConfig:
    """Check a sweep configuration given as a mapping (the parsed YAML).

    Parameters
    ----------
    mapping : dict
        The sections described in the module notes.
    base : str or os.PathLike, default "."
        Folder that relative paths are resolved against.

    Returns
    -------
    SweepConfig

    Raises
    ------
    ConfigError
        Naming the first bad key and what it expects.
    """
    from mmsim.config import ConfigError, _mapping, parse_config
    from mmsim.strategies.registry import strategy_class
    from mmsim.sweep.job import route

    spec = _mapping(mapping, "sweep configuration")
    allowed = _RUN_SECTIONS + SWEEP_SECTIONS
    unknown = sorted(set(map(str, spec)) - set(allowed))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section; expected sections {list(allowed)}")
    grid = _grid(spec)
    search = _optimize(spec["optimize"]) if spec.get("optimize") is not None else None
    if grid is None and search is None:
        raise ConfigError("grid: missing; a sweep needs 'grid' (or 'sample'), 'optimize', "
                          "or both")
    if "walk_forward" in spec and grid is None:
        raise ConfigError("walk_forward: needs a 'grid' (or 'sample') to choose from")
    swept = list(dict.fromkeys(k for c in grid or [] for k in c))
    searched = list(search["space"]) if search else []
    stats = _mapping(spec.get("stats") or {}, "stats")
    if "size_limit" in stats:
        raise ConfigError("stats.size_limit: not used by sweeps; expected only stats.freq")
    run = parse_config({k: v for k, v in spec.items() if k in _RUN_SECTIONS}, base,
                       provided=swept + searched)
    given = _mapping(spec.get("engine") or {}, "engine")
    engine = {k: run.engine[k] for k in given}
    cls = strategy_class(run.strategy)
    for section, keys in (("grid" if "grid" in spec else "sample", swept),
                          ("optimize.space", searched)):
        for key in keys:
            where = ("strategy.params" if key in run.strategy_params
                     else "engine" if key in engine else None)
            if where:
                raise ConfigError(f"{section}.{key}: also set in {where}.{key}; set it in one "
                                  "place")
            try:
                route(cls, [key], section)
            except ValueError as exc:
                raise ConfigError(f"{section}.{key}: {exc}") from None
    return SweepConfig(
        run=run, engine=engine, grid=grid, executor=_executor(spec.get("executor", "local")),
        walk_forward=_walk_forward(spec["walk_forward"]) if "walk_forward" in spec else None,
        optimize=search, report=_report(spec.get("report"), swept or searched),
    )


def load_sweep_config(path) -> SweepConfig:
    """Read and check a YAML sweep file.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file; relative paths inside it are resolved from its folder.

    Returns
    -------
    SweepConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or has a bad key.
    """
    from mmsim.config import read_yaml

    path = Path(path)
    return parse_sweep_config(read_yaml(path, "sweep file"), base=path.parent)


def _best_line(table, stat, params) -> str:
    from mmsim.sweep.walkforward import _best_row, parse_objective

    best = _best_row(table, stat)
    label = parse_objective(stat)[0]
    if best is None:
        return f"no successful run with a finite {label}"
    row = table.loc[best]
    chosen = ", ".join(f"{p}={row[p]}" for p in params)
    return f"best {label} {row[label]:.6g} at {chosen}"


def execute_sweep(config: SweepConfig, quiet: bool = False) -> dict:
    """Run what a sweep configuration describes and write its outputs.

    Parameters
    ----------
    config : SweepConfig
    quiet : bool, default False
        No progress bars or step messages.

    Returns
    -------
    dict
        ``table`` (the grid's sweep table or None), ``walk_forward`` (a WalkForward or None),
        ``optimize`` (an Optimization or None) and ``reports`` (the HTML files written).
    """
    from mmsim.commands.run import step
    from mmsim.config import load_signals, load_taq
    from mmsim.sweep.core import sweep
    from mmsim.sweep.report import write_report

    run = config.run
    out = run.output
    with step("loading data", quiet):
        taq = load_taq(run)
        signals = load_signals(run, taq)
    # Engine keys go with the fixed parameters: as keywords, ``seed`` would be the search's.
    shared = dict(fixed={**run.strategy_params, **config.engine}, progress=not quiet,
                  stats_freq=run.freq, contract=run.contract)
    bounds = {k: v for k, v in (("start", run.start), ("end", run.end)) if v is not None}
    client = None
    executor = config.executor
    if isinstance(executor, str) and "://" in executor:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ImportError("a Dask scheduler address needs dask.distributed: "
                              "pip install 'mmsim[dask]'") from exc
        client = executor = Client(executor)
    notes = {"strategy": run.strategy, "executor": config.executor or "local", "output": out}
    done = {"table": None, "walk_forward": None, "optimize": None, "reports": []}
    try:
        if config.grid is not None:
            table = sweep(taq, signals, run.strategy, config.grid, executor=executor,
                          store=out / "store", **bounds, **shared)
            params = list(dict.fromkeys(k for c in config.grid for k in c))
            failed = int((table["status"] != "ok").sum())
            stat = config.report.get("stat", "sharpe")
            print(f"sweep: {len(table)} runs, {failed} failed; "
                  f"{_best_line(table, stat, params)}")
            done["table"] = table
        if config.walk_forward is not None:
            done["walk_forward"] = _run_walk_forward(config, taq, signals, executor, bounds,
                                                     shared, out / "walk_forward")
        if done["table"] is not None and config.run.report:
            with step("writing the sweep report", quiet):
                done["reports"].append(write_report(
                    done["table"], out / "sweep.html", walk_forward=done["walk_forward"],
                    notes=notes, **config.report))
        if config.optimize is not None:
            from mmsim.sweep.optimize import _objectives, optimize
            from mmsim.sweep.walkforward import parse_objective

            found = optimize(taq, signals, run.strategy, executor=executor,
                             store=out / "optimize", **config.optimize, **bounds, **shared)
            done["optimize"] = found
            specs, directions = _objectives(config.optimize["objective"],
                                            config.optimize.get("directions"))
            # The report ranks by the first objective, in its direction.
            first = specs[0]
            if not callable(first):
                first = (parse_objective(first)[0],
                         "min" if directions[0] == "minimize" else "max")
            print(f"optimize: {len(found.trials)} trials; "
                  f"{_best_line(found.trials, first, list(config.optimize['space']))}")
            if config.run.report:
                kwargs = {k: v for k, v in config.report.items() if k not in ("x", "y")}
                kwargs["stat"] = first
                with step("writing the search report", quiet):
                    done["reports"].append(write_report(
                        found.trials, out / "optimize.html", title="mmsim search",
                        notes=notes, **kwargs))
    finally:
        if client is not None:
            client.close()
    for path in done["reports"]:
        print(f"report: {path}")
    return done


def _run_walk_forward(config, taq, signals, executor, bounds, shared, where: Path):
    from mmsim.sweep.walkforward import walk_forward

    from mmsim.config import ConfigError

    run = config.run
    try:
        wf = walk_forward(taq, signals, run.strategy, config.grid, executor=executor,
                          store=where, **config.walk_forward, **bounds, **shared)
    except ValueError as exc:  # spans that do not fit the data, step shorter than test
        raise ConfigError(f"walk_forward: {exc}") from None
    wf.windows.to_csv(where / "windows.csv", index=False)
    wf.result.save(where / "result")
    oos = wf.result.stats(freq=run.freq)
    print(f"walk-forward: {len(wf.windows)} windows; out of sample pnl {oos['pnl']:.6g}, "
          f"sharpe {oos['sharpe']:.4g}")
    return wf


def register(subparsers) -> None:
    """Add the ``sweep`` sub-command.

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        The collection returned by ``ArgumentParser.add_subparsers``.
    """
    parser = subparsers.add_parser(
        "sweep",
        help="run a parameter sweep, walk-forward or search described by a YAML file",
        description=(
            "Run the sweep a YAML file describes (a run file's sections plus grid or sample, "
            "executor, walk_forward, optimize, report), store every run and write the HTML "
            "sweep report. Rerunning with the same output resumes. See mmsim.commands.sweep "
            "for the keys and examples/sweep.yaml for an example."
        ),
    )
    parser.add_argument("config", help="the YAML sweep file")
    parser.add_argument("--out", help="output directory (overrides output.dir)")
    parser.add_argument("--executor",
                        help="overrides executor: local, serial, a number of processes or a "
                             "Dask scheduler address")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or step messages")
    parser.set_defaults(func=run)


def run(args) -> int:
    """Execute ``mmsim sweep``.

    Parameters
    ----------
    args : argparse.Namespace
        ``config``, ``out``, ``executor``, ``quiet``.

    Returns
    -------
    int
        0 on success, 130 when interrupted (Ctrl-C).

    Raises
    ------
    mmsim.config.ConfigError
        For a bad sweep file, ``--out`` or ``--executor`` (:func:`mmsim.cli.main` exits
        with status 2).
    mmsim.SchemaError, OSError
        For bad data (the message names the file) or an output that cannot be written
        (:func:`mmsim.cli.main` exits with status 1).
    """
    from mmsim.commands.run import naming_files, prepare_output
    from mmsim.config import output_dir

    config = load_sweep_config(args.config)
    if args.out:
        config.run.output = output_dir(args.out, "--out")
    if args.executor:
        value = int(args.executor) if args.executor.isdigit() else args.executor
        config.executor = _executor(value)
    prepare_output(config.run.output)
    try:
        with naming_files(config.run):
            execute_sweep(config, quiet=args.quiet)
    except KeyboardInterrupt:
        # What finished is in the stores; the same command picks up from there.
        print("mmsim sweep: interrupted; run the same command again to resume",
              file=sys.stderr)
        return 130
    return 0
