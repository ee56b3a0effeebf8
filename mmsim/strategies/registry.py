"""The strategies mmsim knows by name, and the lookup of a strategy class from a name.

:data:`STRATEGIES` is the one table of built-in strategies: the package
(``mmsim.AvellanedaStoikov``, ``mmsim.strategies``), run and sweep files
(``strategy.name``) and :func:`mmsim.sweep` all read it. :func:`strategy_class` also
takes a class of the user's, as ``package.module:Class`` or ``path/to/file.py:Class``.

This module imports no strategy until one is asked for, so that ``import mmsim`` stays fast.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from pathlib import Path

__all__ = ["STRATEGIES", "strategy_class", "resolve_spec"]

#: Built-in strategy class name -> the module that defines it.
STRATEGIES = {
    "AvellanedaStoikov": "mmsim.strategies.avellaneda_stoikov",
    "GLFT": "mmsim.strategies.glft",
    "Symmetric": "mmsim.strategies.symmetric",
    "MonteCarlo": "mmsim.strategies.monte_carlo",
}

_FORMS = "'package.module:Class' or 'path/to/file.py:Class'"


def resolve_spec(spec: str, base=".") -> str:
    """``spec`` with a relative ``file.py`` part made absolute against ``base``.

    Parameters
    ----------
    spec : str
        A strategy name, ``package.module:Class`` or ``path/to/file.py:Class``.
    base : str or os.PathLike, default "."
        The folder a relative file path is relative to (a run file's folder).

    Returns
    -------
    str
        ``spec`` itself unless it names a file by a relative path.
    """
    where, sep, name = spec.rpartition(":")
    if not sep or not where.endswith(".py"):
        return spec
    path = Path(where).expanduser()
    return spec if path.is_absolute() else f"{Path(base) / path}:{name}"


def strategy_class(spec: str) -> type:
    """The strategy class a name or a ``module:Class`` / ``file.py:Class`` spec stands for.

    Parameters
    ----------
    spec : str
        A key of :data:`STRATEGIES` (``"AvellanedaStoikov"``), ``package.module:Class``
        (an importable module) or ``path/to/file.py:Class`` (a Python file, loaded once and
        kept in ``sys.modules``; relative paths are relative to the working directory, see
        :func:`resolve_spec`).

    Returns
    -------
    type
        A class with an ``on_signal(ctx)`` method.

    Raises
    ------
    ValueError
        With a message that starts with ``expected``: the name is not known, the module
        cannot be imported, the file does not exist, the class is missing, or it is not a
        strategy class.
    """
    if not isinstance(spec, str) or not spec:
        raise ValueError(f"expected one of {list(STRATEGIES)} or a class as {_FORMS}, "
                         f"got {spec!r}")
    if spec in STRATEGIES:
        return getattr(importlib.import_module(STRATEGIES[spec]), spec)
    where, sep, name = spec.rpartition(":")
    if not sep or not where or not name.isidentifier():
        raise ValueError(f"expected one of {list(STRATEGIES)} or a class as {_FORMS}, "
                         f"got {spec!r}")
    module = _file_module(where, spec) if where.endswith(".py") else _module(where, spec)
    cls = getattr(module, name, None)
    if cls is None:
        defined = sorted(k for k, v in vars(module).items()
                         if isinstance(v, type) and callable(getattr(v, "on_signal", None)))
        raise ValueError(f"expected a class {name} in {where} ({spec!r}), got none; "
                         f"its strategy classes: {defined}")
    if not isinstance(cls, type) or not callable(getattr(cls, "on_signal", None)):
        raise ValueError(f"expected a strategy class (one with an on_signal(ctx) method) for "
                         f"{spec!r}, got {cls!r}")
    return cls


def _module(name: str, spec: str):
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ValueError(f"expected an importable module in {spec!r}, got "
                         f"{type(exc).__name__}: {exc}") from exc


def _file_module(where: str, spec: str):
    path = Path(where).expanduser().resolve()
    if not path.is_file():
        raise ValueError(f"expected an existing Python file in {spec!r}, got {where} "
                         f"({path} not found)")
    # One module per file, named after its path: a second lookup (the run after the config
    # check) reuses it rather than running the file again.
    key = f"_mmsim_user_{path.stem}_{hashlib.sha1(str(path).encode()).hexdigest()[:12]}"
    if key in sys.modules:
        return sys.modules[key]
    loader_spec = importlib.util.spec_from_file_location(key, path)
    module = importlib.util.module_from_spec(loader_spec)
    sys.modules[key] = module
    try:
        loader_spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[key]
        raise
    return module
