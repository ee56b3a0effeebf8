"""A backtest described by a YAML file: parse and check it, then run it.

A run file has these sections (only ``data`` and ``strategy`` are required)::

    data:                       # exactly one of synthetic / path
      synthetic: {duration: 30D, seed: 0}     # or {rows: 100000, seed: 0}
      path: taq.parquet         # a TAQ file (relative paths: from the YAML file's folder)
      start: 2019-04-01         # optional time span [start, end)
      end: 2019-05-01
      funding: {synthetic: {seed: 0}}         # optional: funding rates of the perpetual
                                              # (or {path: funding.csv}: BitMEX's history)
    contract: BITMEX_XBTUSD     # a preset name, or the Contract fields as a mapping
    strategy:
      name: AvellanedaStoikov   # a class of mmsim.strategies, or your own class as
                                # package.module:Class or path/to/file.py:Class
      params: {max_size: 5, gamma: 0.1, k: 5, n: -0.4, delta_price: 1, delta_size: 1}
    signals:                    # exactly one of these; default: volatility
      volatility: {bar: 1min, window: 60}     # column sigma from the data (see below)
      inventory: {bar: 15min, max_size: 5, seed: 42}  # column inv, for MonteCarlo (below)
      path: signals.parquet     # or .csv: a time index (column) and float columns
    engine: {balance: 1.0, latency: 0.5, cancel_latency: null, queue_position: 1.0,
             seed: 42, feed_latency: 0.0}
    output: {dir: out, report: true}
    stats: {freq: 1h, size_limit: null}

The volatility signal is the notebook's: close prices of ``bar`` bars (forward-filled through
bars without trades), log returns ``r_t = ln(c_t / c_{t-1})``, and at each bar close
``sigma_t = std(r_{t-w+1..t}) x sqrt(w)`` (population std of the available returns of the last
``w = window`` bars), 0 before there are any.

The inventory signal is the notebook's Monte Carlo target: at each ``bar`` close a random
whole number in ``[-max_size, max_size)`` drawn with NumPy's legacy generator seeded with
``seed`` (:func:`mmsim.data.bars.inventory_signals`); ``max_size`` defaults to the
strategy's.

The user's strategy classes get the checks the built-in ones get: ``strategy.params`` must
name arguments of the class (any name, when it takes ``**kwargs``), and give every argument
without a default.

Every mistake raises :class:`ConfigError` naming the key (``engine.latency``) and what it
expects; the ``mmsim run`` command turns it into exit code 2.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from mmsim import checks, contracts
from mmsim.contracts import Contract
from mmsim.engine import backtest
from mmsim.strategies.registry import resolve_spec, strategy_class

__all__ = [
    "ConfigError",
    "RunConfig",
    "load_config",
    "parse_config",
    "read_yaml",
    "load_taq",
    "load_signals",
    "make_strategy",
    "execute",
    "output_dir",
    "PRESETS",
]

#: Contract presets accepted by ``contract:``: every Contract that mmsim.contracts exports.
PRESETS = tuple(name for name in contracts.__all__
                if isinstance(getattr(contracts, name), Contract))

_SECTIONS = ("data", "contract", "strategy", "signals", "engine", "output", "stats")
#: The ``engine:`` keys, defaulting to those of :func:`mmsim.backtest`.
_ENGINE_DEFAULTS = {name: p.default for name, p in inspect.signature(backtest).parameters.items()
                    if name in ("balance", "latency", "cancel_latency", "queue_position", "seed",
                                "feed_latency")}


class ConfigError(ValueError):
    """A run configuration is invalid; the message names the key and the expected value."""


@dataclass
class RunConfig:
    """A checked run configuration.

    Attributes
    ----------
    synthetic : dict or None
        Keyword arguments of :func:`mmsim.data.synthetic.synthetic_taq`, when the data is
        synthetic.
    path : pathlib.Path or None
        TAQ file, when the data is read from disk.
    start, end : pandas.Timestamp or None
        Time span to replay.
    contract : Contract
    strategy : str
        A name of :data:`mmsim.strategies.registry.STRATEGIES`, ``package.module:Class``,
        or ``/absolute/path/to/file.py:Class`` (see
        :func:`mmsim.strategies.registry.strategy_class`).
    strategy_params : dict
        Keyword arguments of the strategy class.
    signals : dict
        ``{"volatility": {"bar": str, "window": int}}``,
        ``{"inventory": {"bar": str, "max_size": int, "seed": int}}`` or
        ``{"path": pathlib.Path}``.
    engine : dict
        Keyword arguments of :func:`mmsim.backtest` (balance, latency, ...).
    funding : dict or None
        When the run pays funding: ``{"synthetic": kwargs}`` (keyword arguments of
        :func:`mmsim.data.synthetic.synthetic_funding`) or ``{"path": pathlib.Path}`` (a
        BitMEX funding history, read with :func:`mmsim.data.bitmex.read_funding`).
    output : pathlib.Path
        Directory for the saved result and the report.
    report : bool
        Whether to write ``report.html`` in ``output``.
    freq : str
        NAV sampling interval of the statistics.
    size_limit : float or None
        Position limit for the ``time_at_limit`` statistic.
    """

    contract: Contract
    strategy: str
    strategy_params: dict
    synthetic: dict | None = None
    path: Path | None = None
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    funding: dict | None = None
    signals: dict = field(default_factory=lambda: {"volatility": {"bar": "1min", "window": 60}})
    engine: dict = field(default_factory=lambda: dict(_ENGINE_DEFAULTS))
    output: Path = Path("out")
    report: bool = True
    freq: str = "1h"
    size_limit: float | None = None


def _mapping(value, key: str) -> dict:
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {value!r}")
    return value


def _only(mapping: dict, key: str, allowed) -> None:
    unknown = sorted(set(map(str, mapping)) - set(allowed))
    if unknown:
        raise ConfigError(f"{key}.{unknown[0]}: unknown key; expected one of {list(allowed)}")


def _number(value, key: str, **bounds):
    # The library's one numeric check (mmsim.checks.number), its refusal as a ConfigError
    # naming the key.
    try:
        return checks.number(value, key, **bounds)
    except (TypeError, ValueError) as exc:
        raise ConfigError(str(exc)) from None


def _timedelta(value, key: str):
    # Checked by the library's one reading of a span (a bare number is seconds) and kept as
    # written, for the record; the functions it is passed to read it the same way.
    try:
        checks.duration(value, key, positive=True)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return value


def _timestamp(value, key: str):
    if value is None:
        return None
    try:
        ts = pd.Timestamp(str(value))
    except ValueError:
        raise ConfigError(
            f"{key}: expected a date/time such as '2019-04-01', got {value!r}"
        ) from None
    return ts.tz_localize("UTC") if ts.tz is None else ts.tz_convert("UTC")


def _file(value, key: str, base: Path) -> Path:
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{key}: expected a file path, got {value!r}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise ConfigError(f"{key}: expected an existing file, got {value!r} ({path} not found)")
    return path


def _contract(value) -> Contract:
    if isinstance(value, str):
        if value not in PRESETS:
            raise ConfigError(f"contract: expected one of {list(PRESETS)} or a mapping of "
                              f"Contract fields, got {value!r}")
        return getattr(contracts, value)
    spec = _mapping(value, "contract")
    parameters = inspect.signature(Contract).parameters
    fields = list(parameters)
    _only(spec, "contract", fields)
    required = [f for f, p in parameters.items() if p.default is inspect.Parameter.empty]
    missing = [f for f in required if f not in spec]
    if missing:
        raise ConfigError(f"contract.{missing[0]}: missing; a contract mapping needs {required}")
    if not isinstance(spec["inverse"], bool):
        raise ConfigError(f"contract.inverse: expected true or false, got {spec['inverse']!r}")
    numbers = {f: _number(spec[f], f"contract.{f}") for f in required[1:]}
    # Margin rates are optional: a contract without them has margin off unless the run
    # sets a leverage.
    numbers.update({f: _number(spec[f], f"contract.{f}") for f in
                    ("initial_margin", "maintenance_margin") if spec.get(f) is not None})
    try:
        return Contract(inverse=spec["inverse"], name=str(spec.get("name", "")),
                        base=str(spec.get("base", "")), quote=str(spec.get("quote", "")),
                        **numbers)
    except ValueError as exc:  # e.g. a non-positive tick size
        key = str(exc).split()[0].replace("Contract.", "contract.")
        raise ConfigError(f"{key}: {exc}") from None


def _strategy(value, base: Path, provided=()) -> tuple[str, dict]:
    spec = _mapping(value, "strategy")
    _only(spec, "strategy", ("name", "params"))
    name = spec.get("name")
    try:
        # A file named relative to the run file is kept as an absolute path.
        name = resolve_spec(name, base) if isinstance(name, str) else name
        cls = strategy_class(name)
    except ValueError as exc:
        raise ConfigError(f"strategy.name: {exc}") from None
    params = _mapping(spec.get("params") or {}, "strategy.params")
    arguments = [p for p in inspect.signature(cls).parameters.values()
                 if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if not any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls).parameters.values()):
        _only(params, "strategy.params", [p.name for p in arguments])
    missing = [p.name for p in arguments if p.default is inspect.Parameter.empty
               and p.name not in params and p.name not in provided]
    if missing:
        raise ConfigError(f"strategy.params.{missing[0]}: missing; {cls.__name__} needs "
                          f"{missing}")
    return name, dict(params)


def _funding(value, base: Path) -> dict | None:
    # data.funding: {synthetic: {seed, interval, mean, std}} or {path: BitMEX funding history}.
    if value is None:
        return None
    spec = _mapping(value, "data.funding")
    _only(spec, "data.funding", ("synthetic", "path"))
    if len(spec) != 1:
        raise ConfigError("data.funding: expected one of 'synthetic' (generated funding rates) "
                          "or 'path' (a BitMEX funding history file, CSV or JSON)")
    if "path" in spec:
        return {"path": _file(spec["path"], "data.funding.path", base)}
    syn = _mapping(spec["synthetic"] or {}, "data.funding.synthetic")
    _only(syn, "data.funding.synthetic", ("seed", "interval", "mean", "std"))
    kwargs = {"seed": _number(syn.get("seed", 0), "data.funding.synthetic.seed", minimum=0,
                              integer=True)}
    if "interval" in syn:
        kwargs["interval"] = _timedelta(syn["interval"], "data.funding.synthetic.interval")
    for key in ("mean", "std"):
        if key in syn:
            kwargs[key] = _number(syn[key], f"data.funding.synthetic.{key}",
                                  minimum=0 if key == "std" else None)
    return {"synthetic": kwargs}


def _data(value, base: Path) -> dict:
    spec = _mapping(value, "data")
    _only(spec, "data", ("synthetic", "path", "start", "end", "funding"))
    if ("synthetic" in spec) == ("path" in spec):
        raise ConfigError("data: expected exactly one of 'synthetic' (generated data) or 'path' "
                          "(a TAQ file)")
    out = {"synthetic": None, "path": None,
           "start": _timestamp(spec.get("start"), "data.start"),
           "end": _timestamp(spec.get("end"), "data.end"),
           "funding": _funding(spec.get("funding"), base)}
    if out["start"] is not None and out["end"] is not None and out["end"] <= out["start"]:
        raise ConfigError(f"data.end: expected a time after data.start ({out['start']}), "
                          f"got {spec['end']!r}")
    if "path" in spec:
        out["path"] = _file(spec["path"], "data.path", base)
        return out
    syn = _mapping(spec["synthetic"] or {}, "data.synthetic")
    _only(syn, "data.synthetic", ("duration", "rows", "seed", "start", "price"))
    if ("duration" in syn) == ("rows" in syn):
        raise ConfigError("data.synthetic: expected exactly one of 'duration' (e.g. 30D) or 'rows'")
    kwargs = {"seed": _number(syn.get("seed", 0), "data.synthetic.seed", minimum=0, integer=True)}
    if "duration" in syn:
        kwargs["duration"] = _timedelta(syn["duration"], "data.synthetic.duration")
    else:
        kwargs["n_rows"] = _number(syn["rows"], "data.synthetic.rows", positive=True, integer=True)
    if "start" in syn:
        kwargs["start"] = _timestamp(syn["start"], "data.synthetic.start")
    if "price" in syn:
        kwargs["price"] = _number(syn["price"], "data.synthetic.price", positive=True)
    out["synthetic"] = kwargs
    return out


def _signals(value, base: Path, strategy_params: dict) -> dict:
    spec = _mapping(value, "signals")
    _only(spec, "signals", ("volatility", "inventory", "path"))
    if len(spec) != 1:
        raise ConfigError("signals: expected exactly one of 'volatility', 'inventory' or 'path'")
    if "path" in spec:
        return {"path": _file(spec["path"], "signals.path", base)}
    if "inventory" in spec:
        inv = _mapping(spec["inventory"] or {}, "signals.inventory")
        _only(inv, "signals.inventory", ("bar", "max_size", "seed"))
        if "max_size" not in inv and "max_size" not in strategy_params:
            raise ConfigError("signals.inventory.max_size: missing; give it here or as "
                              "strategy.params.max_size")
        return {"inventory": {
            "bar": _timedelta(inv.get("bar", "15min"), "signals.inventory.bar"),
            "max_size": _number(inv.get("max_size", strategy_params.get("max_size")),
                                "signals.inventory.max_size", positive=True, integer=True),
            "seed": _number(inv.get("seed", 42), "signals.inventory.seed", minimum=0,
                            integer=True),
        }}
    vol = _mapping(spec["volatility"] or {}, "signals.volatility")
    _only(vol, "signals.volatility", ("bar", "window"))
    return {"volatility": {
        "bar": _timedelta(vol.get("bar", "1min"), "signals.volatility.bar"),
        "window": _number(vol.get("window", 60), "signals.volatility.window", minimum=2,
                          integer=True),
    }}


def _engine(value) -> dict:
    spec = _mapping(value, "engine")
    _only(spec, "engine", tuple(_ENGINE_DEFAULTS))
    out = dict(_ENGINE_DEFAULTS)
    out.update(spec)
    out["balance"] = _number(out["balance"], "engine.balance", positive=True)
    for key in ("latency", "feed_latency"):
        out[key] = _number(out[key], f"engine.{key}", minimum=0)
    out["cancel_latency"] = _number(out["cancel_latency"], "engine.cancel_latency", minimum=0,
                                    allow_none=True)
    out["queue_position"] = _number(out["queue_position"], "engine.queue_position", minimum=0)
    out["seed"] = _number(out["seed"], "engine.seed", minimum=0, integer=True, allow_none=True)
    return out


def parse_config(mapping, base=".", provided=()) -> RunConfig:
    """Check a run configuration given as a mapping (the parsed YAML).

    Parameters
    ----------
    mapping : dict
        The sections described in the module notes.
    base : str or os.PathLike, default "."
        Folder that relative paths are resolved against.
    provided : collection of str, optional
        Strategy parameters given elsewhere (a sweep's grid), so not missing from
        ``strategy.params``.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        Naming the first bad key and what it expects.
    """
    base = Path(base)
    spec = _mapping(mapping, "run configuration")
    unknown = sorted(set(map(str, spec)) - set(_SECTIONS))
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown section; expected sections {list(_SECTIONS)}")
    for section in ("data", "strategy"):
        if section not in spec:
            raise ConfigError(f"{section}: missing; a run needs the sections 'data' and 'strategy'")
    data = _data(spec["data"], base)
    name, params = _strategy(spec["strategy"], base, provided)
    output = _mapping(spec.get("output") or {}, "output")
    _only(output, "output", ("dir", "report"))
    out_path = output_dir(output.get("dir", "out"), "output.dir", base)
    report = output.get("report", True)
    if not isinstance(report, bool):
        raise ConfigError(f"output.report: expected true or false, got {report!r}")
    stats = _mapping(spec.get("stats") or {}, "stats")
    _only(stats, "stats", ("freq", "size_limit"))
    return RunConfig(
        contract=_contract(spec.get("contract", "BITMEX_XBTUSD")),
        strategy=name,
        strategy_params=params,
        signals=_signals(spec.get("signals") or {"volatility": {}}, base, params),
        engine=_engine(spec.get("engine") or {}),
        output=out_path,
        report=report,
        freq=_timedelta(stats.get("freq", "1h"), "stats.freq"),
        size_limit=_number(stats.get("size_limit"), "stats.size_limit", positive=True,
                           allow_none=True),
        **data,
    )


#: Name endings that make an output directory look like a file (``--out report.txt``).
_FILE_SUFFIXES = (".txt", ".html", ".htm", ".json", ".csv", ".tsv", ".parquet", ".pq", ".yaml",
                  ".yml", ".png", ".svg", ".pdf", ".md", ".log", ".zip", ".gz", ".pkl")


def output_dir(value, key: str, base=".") -> Path:
    """Check an output directory: a path that is not, and does not look like, a file.

    Parameters
    ----------
    value : str or os.PathLike
        The directory (created when the run saves into it).
    key : str
        Where it was given (``output.dir``, ``--out``), for the error message.
    base : str or os.PathLike, default "."
        Folder that a relative path is resolved against.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ConfigError
        If ``value`` is empty or not a path, names an existing file, or ends in a file
        suffix such as ``.txt`` or ``.html`` (a directory of that name would surprise).
    """
    if not isinstance(value, (str, Path)) or not str(value):
        raise ConfigError(f"{key}: expected a directory path, got {value!r}")
    path = Path(value).expanduser()
    path = path if path.is_absolute() else Path(base) / path
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}: expected a directory (the saved result and report.html go "
                          f"in it), got {str(value)!r}, an existing file")
    if not path.is_dir() and path.suffix.lower() in _FILE_SUFFIXES:
        raise ConfigError(f"{key}: expected a directory (the saved result and report.html go "
                          f"in it), got {str(value)!r}, a file name; name a directory, e.g. "
                          f"{str(Path(value).with_suffix(''))!r}")
    return path


def load_config(path) -> RunConfig:
    """Read and check a YAML run file.

    Parameters
    ----------
    path : str or os.PathLike
        The YAML file; relative paths inside it are resolved from its folder.

    Returns
    -------
    RunConfig

    Raises
    ------
    ConfigError
        If the file is missing, is not YAML, or has a bad key.
    """
    path = Path(path)
    return parse_config(read_yaml(path, "run file"), base=path.parent)


def read_yaml(path, what: str):
    """The parsed contents of a YAML configuration file.

    Parameters
    ----------
    path : str or os.PathLike
    what : str
        What the file is (``"run file"``), for the error messages.

    Returns
    -------
    object
        What the YAML holds (a mapping, for a valid configuration).

    Raises
    ------
    ConfigError
        If the file is missing or is not YAML.
    """
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: {what} not found")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None


def load_taq(config: RunConfig) -> pd.DataFrame:
    """Generate or read the TAQ data of a run.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    pandas.DataFrame
        A TAQ frame of the rows in ``[config.start, config.end)``: only those are read
        from a file.
    """
    if config.synthetic is not None:
        from mmsim.data.align import cut
        from mmsim.data.synthetic import synthetic_taq

        return cut(synthetic_taq(**config.synthetic), config.start, config.end)
    from mmsim.data.io import read_taq

    return read_taq(config.path, config.start, config.end)


def load_signals(config: RunConfig, taq: pd.DataFrame) -> pd.DataFrame:
    """Read or compute the signals of a run.

    Parameters
    ----------
    config : RunConfig
    taq : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        A file's signals as they are; generated ones up to the last TAQ row.
    """
    if "path" in config.signals:
        from mmsim.data.io import read_signals

        return read_signals(config.signals["path"])
    from mmsim.data.align import cut
    from mmsim.data.bars import inventory_signals, volatility_signals

    if "inventory" in config.signals:
        signals = inventory_signals(taq, **config.signals["inventory"])
    else:
        signals = volatility_signals(taq, **config.signals["volatility"])
    if not len(taq):
        return signals
    # The last bar closes after the last row (bars are labelled by their close): the engine
    # would drop it, with a warning meant for signals that do not fit their data.
    return cut(signals, None, taq.index[-1] + pd.Timedelta(1, "ns"))


def make_strategy(config: RunConfig):
    """Instantiate the configured strategy.

    Parameters
    ----------
    config : RunConfig

    Returns
    -------
    mmsim.Strategy

    Raises
    ------
    ConfigError
        If the strategy rejects a parameter (the message keeps the strategy's explanation).
    """
    cls = strategy_class(config.strategy)
    try:
        return cls(**config.strategy_params)
    except (TypeError, ValueError) as exc:
        text = str(exc)
        key = next((p for p in config.strategy_params if text.startswith(p)), None)
        where = f"strategy.params.{key}" if key else "strategy.params"
        raise ConfigError(f"{where}: {text}") from None


def execute(config: RunConfig, progress=None, taq=None, strategy=None):
    """Run a configured backtest.

    Parameters
    ----------
    config : RunConfig
    progress : callable, optional
        ``progress(rows_replayed)``, passed to :func:`mmsim.backtest`.
    taq : pandas.DataFrame, optional
        Data to use instead of :func:`load_taq` (already loaded by the caller).
    strategy : mmsim.Strategy, optional
        The strategy :func:`make_strategy` built (by a caller that checked its parameters
        before loading the data); built here by default.

    Returns
    -------
    mmsim.Result
    """
    strategy = make_strategy(config) if strategy is None else strategy
    taq = load_taq(config) if taq is None else taq
    signals = load_signals(config, taq)
    funding = None
    if config.funding is not None and "path" in config.funding:
        from mmsim.data.bitmex import read_funding
        funding = read_funding(config.funding["path"])
    elif config.funding is not None:
        from mmsim.data.synthetic import synthetic_funding
        funding = synthetic_funding(taq, **config.funding["synthetic"])
    return backtest(taq, signals, strategy, contract=config.contract, start=config.start,
                    end=config.end, progress=progress, funding=funding, **config.engine)
