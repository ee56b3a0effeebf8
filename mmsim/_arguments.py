"""The arguments an object was built with, read back from its attributes, so that a strategy
or an estimator can be recorded with a result and built again from the record."""
from __future__ import annotations

import inspect
import numbers

import numpy as np

__all__ = ["constructor_arguments", "plain", "call_repr"]


def constructor_arguments(obj) -> dict:
    """``{name: value}`` for each parameter of ``type(obj).__init__`` that ``obj`` keeps.

    A parameter ``p`` is read from the attribute ``p``, else ``p_source`` (a model input,
    recorded as the column name, constant, estimator or callable it was given as), else
    ``p_ns`` (a span, recorded in seconds, which is how every span parameter reads a bare
    number), else ``_p``. Parameters the object does not keep are left out.

    Parameters
    ----------
    obj : object

    Returns
    -------
    dict
        Values made plain by :func:`plain`.
    """
    try:
        signature = inspect.signature(type(obj).__init__)
    except (TypeError, ValueError):
        return {}
    namespace = vars(obj) if hasattr(obj, "__dict__") else {}
    out = {}
    for name, parameter in signature.parameters.items():
        if name == "self" or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if name in namespace:
            out[name] = plain(namespace[name])
        elif f"{name}_source" in namespace:
            out[name] = plain(getattr(namespace[f"{name}_source"], "spec",
                                      namespace[f"{name}_source"]))
        elif f"{name}_ns" in namespace and isinstance(namespace[f"{name}_ns"], numbers.Real):
            out[name] = namespace[f"{name}_ns"] / 1e9
        elif f"_{name}" in namespace:
            out[name] = plain(namespace[f"_{name}"])
    return out


def plain(value):
    """``value`` as something JSON and YAML can hold and a reader can rebuild.

    Numbers, strings, booleans and None are kept (NumPy scalars become Python ones); arrays,
    lists and tuples become lists; an object with arguments becomes its :func:`call_repr`; a
    function its ``module:qualname``.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (np.generic,)):
        return value.item()
    if isinstance(value, numbers.Real):
        return value
    if isinstance(value, (np.ndarray, list, tuple)):
        return [plain(v) for v in (value.tolist() if isinstance(value, np.ndarray) else value)]
    if inspect.isfunction(value) or inspect.isbuiltin(value) or inspect.isclass(value):
        return f"{value.__module__}:{value.__qualname__}"
    if constructor_arguments(value):
        return call_repr(value)
    return repr(value)


def call_repr(obj) -> str:
    """``Name(arg=value, ...)``: the call that builds ``obj`` again.

    Parameters
    ----------
    obj : object

    Returns
    -------
    str
    """
    arguments = ", ".join(f"{k}={v!r}" for k, v in constructor_arguments(obj).items())
    return f"{type(obj).__name__}({arguments})"
