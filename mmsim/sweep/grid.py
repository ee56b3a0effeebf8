"""Parameter grids: cartesian products, lists of combinations and random or quasi-random samples.

A grid is one of

* a dict of lists, ``{"gamma": [0.1, 0.2], "k": [2, 5]}``: the cartesian product in dict
  order, the last key varying fastest (``itertools.product``);
* a list of dicts, one per combination, used as given;
* the output of :func:`sample`, which is such a list.

:func:`sample` draws ``n`` points of a search space. Each dimension maps a number ``u`` in
``[0, 1)`` onto its range::

    ("uniform", lo, hi)      lo + u (hi - lo)
    ("log-uniform", lo, hi)  exp(ln lo + u (ln hi - ln lo)),   0 < lo
    ("int", lo, hi)          lo + floor(u (hi - lo + 1)),       both ends included
    ("choice", values)       values[floor(u len(values))]

``method="random"`` takes ``u = numpy.random.default_rng(seed).random((n, d))`` (column ``j``
for the ``j``-th key of ``space``). ``method="halton"`` takes the Halton sequence: dimension
``j`` is the radical inverse in the ``j``-th prime base of the point index ``1, 2, ..., n``
(base 2: 1/2, 1/4, 3/4, 1/8, ...); with a seed, every dimension is shifted by one uniform draw
modulo 1 (a Cranley-Patterson rotation), so different seeds give different well-spread samples.
"""
from __future__ import annotations

import itertools
import math

import numpy as np

from mmsim.checks import number

__all__ = ["expand", "sample", "SPACE_KINDS", "SAMPLE_METHODS"]

#: The dimension kinds :func:`sample` understands.
SPACE_KINDS = ("uniform", "log-uniform", "int", "choice")
#: The sampling methods of :func:`sample`.
SAMPLE_METHODS = ("random", "halton")

_PRIMES = (2, 3, 5, 7, 11, 13, 17, 19, 23, 29, 31, 37, 41, 43, 47, 53, 59, 61, 67, 71, 73, 79,
           83, 89, 97, 101, 103, 107, 109, 113)


def _values(value, key):
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise TypeError(f"grid[{key!r}] must be a list of values to sweep, got {value!r}; "
                        "put a constant in fixed=")
    values = list(value.tolist() if isinstance(value, np.ndarray) else value)
    if not values:
        raise ValueError(f"grid[{key!r}] is empty: give at least one value")
    return values


def _check_keys(combo, where: str) -> dict:
    if not isinstance(combo, dict):
        raise TypeError(f"{where} must be a dict of parameter values, got {combo!r}")
    for key in combo:
        if not isinstance(key, str) or not key:
            raise TypeError(f"{where}: parameter names must be non-empty strings, got {key!r}")
    return dict(combo)


def expand(grid) -> list[dict]:
    """The combinations of a grid, in order.

    Parameters
    ----------
    grid : dict of lists, or list of dicts
        A dict of lists gives the cartesian product in dict order (the last key varies
        fastest); a list (or tuple) of dicts is taken as the combinations themselves.

    Returns
    -------
    list of dict
        One dict per combination (new dicts; the grid is not modified).

    Raises
    ------
    TypeError
        If the grid has another form, a dict value is not a list, or a name is not a string.
    ValueError
        If a value list or the grid is empty.

    Examples
    --------
    >>> expand({"gamma": [0.1, 0.2], "k": [2, 5]})
    [{'gamma': 0.1, 'k': 2}, {'gamma': 0.1, 'k': 5}, {'gamma': 0.2, 'k': 2}, {'gamma': 0.2, 'k': 5}]
    """
    if isinstance(grid, dict):
        grid = _check_keys(grid, "grid")
        if not grid:
            raise ValueError("grid is empty: give at least one parameter to sweep")
        keys = list(grid)
        columns = [_values(grid[k], k) for k in keys]
        return [dict(zip(keys, point)) for point in itertools.product(*columns)]
    if isinstance(grid, (list, tuple)):
        if not grid:
            raise ValueError("grid is empty: give at least one combination")
        return [_check_keys(c, f"grid[{i}]") for i, c in enumerate(grid)]
    raise TypeError("grid must be a dict of lists, a list of dicts or mmsim.sweep.sample(...), "
                    f"got {type(grid).__name__}")


def _dimension(key: str, spec):
    """Check one dimension of a space; return a function of u in [0, 1) -> values."""
    if not isinstance(spec, (tuple, list)) or not spec or spec[0] not in SPACE_KINDS:
        raise ValueError(f"space[{key!r}] must be a tuple whose first item is one of "
                         f"{list(SPACE_KINDS)}, e.g. ('log-uniform', 0.01, 1), got {spec!r}")
    kind = spec[0]
    if kind == "choice":
        if len(spec) != 2 or isinstance(spec[1], (str, bytes)) or not hasattr(spec[1], "__len__") \
                or len(spec[1]) == 0:
            raise ValueError(f"space[{key!r}] must be ('choice', [values...]) with at least one "
                             f"value, got {spec!r}")
        choices = list(spec[1])
        return lambda u: [choices[i] for i in np.minimum((u * len(choices)).astype(np.int64),
                                                         len(choices) - 1)]
    if len(spec) != 3:
        raise ValueError(f"space[{key!r}] must be ({kind!r}, low, high), got {spec!r}")
    lo, hi = (number(spec[1], f"space[{key!r}]: low"), number(spec[2], f"space[{key!r}]: high"))
    if not hi > lo:
        raise ValueError(f"space[{key!r}]: high ({hi!r}) must be greater than low ({lo!r})")
    if kind == "uniform":
        return lambda u: (lo + u * (hi - lo)).tolist()
    if kind == "log-uniform":
        if not lo > 0:
            raise ValueError(f"space[{key!r}]: a log-uniform range needs low > 0, got {lo!r}")
        a, b = math.log(lo), math.log(hi)
        return lambda u: np.exp(a + u * (b - a)).tolist()
    if not (float(lo).is_integer() and float(hi).is_integer()):
        raise ValueError(f"space[{key!r}]: an int range needs integer bounds, got {spec!r}")
    lo, hi = int(lo), int(hi)
    return lambda u: np.minimum(lo + (u * (hi - lo + 1)).astype(np.int64), hi).tolist()


def halton(n: int, d: int) -> np.ndarray:
    """The first ``n`` points (indices 1..n) of the ``d``-dimensional Halton sequence.

    Parameters
    ----------
    n : int
        Number of points.
    d : int
        Number of dimensions, at most 30 (one prime base each).

    Returns
    -------
    numpy.ndarray
        float64, shape ``(n, d)``, values in ``(0, 1)``.
    """
    if d > len(_PRIMES):
        raise ValueError(f"the Halton sequence here has at most {len(_PRIMES)} dimensions, got {d}")
    index = np.arange(1, n + 1, dtype=np.int64)
    out = np.zeros((n, d))
    for j, base in enumerate(_PRIMES[:d]):
        # Radical inverse: mirror the base-b digits of the index around the point;
        # one pass per digit, vectorised over the points.
        rest, scale = index.copy(), 1.0 / base
        while rest.any():
            out[:, j] += (rest % base) * scale
            rest //= base
            scale /= base
    return out


def sample(n: int, space: dict, seed=None, method: str = "random") -> list[dict]:
    """Draw ``n`` combinations from a search space (see the module notes for the mapping).

    Parameters
    ----------
    n : int
        Number of combinations, at least 1.
    space : dict
        Parameter name -> ``("uniform", lo, hi)``, ``("log-uniform", lo, hi)``,
        ``("int", lo, hi)`` or ``("choice", [values])``.
    seed : int or numpy.random.SeedSequence, optional
        Seed of ``numpy.random.default_rng``; the same seed gives the same sample.
    method : {"random", "halton"}, default "random"
        Independent uniform draws, or the Halton low-discrepancy sequence (randomly shifted
        when a seed is given). Halton covers the space more evenly for small ``n``.

    Returns
    -------
    list of dict
        A grid for :func:`mmsim.sweep`: floats for ranges, ints for ``"int"``, the given
        objects for ``"choice"``.

    Raises
    ------
    TypeError, ValueError
        If ``n``, ``method`` or a dimension is invalid; the message names it.

    Examples
    --------
    >>> sample(2, {"gamma": ("log-uniform", 0.01, 1.0), "k": ("int", 1, 10)}, seed=1)
    ... # doctest: +SKIP
    """
    n = number(n, "n", integer=True, minimum=1)
    if method not in SAMPLE_METHODS:
        raise ValueError(f"method must be one of {list(SAMPLE_METHODS)}, got {method!r}")
    space = _check_keys(space, "space")
    if not space:
        raise ValueError("space is empty: give at least one parameter")
    dims = [_dimension(key, spec) for key, spec in space.items()]
    rng = np.random.default_rng(seed)
    if method == "random":
        u = rng.random((int(n), len(dims)))
    else:
        u = halton(int(n), len(dims))
        if seed is not None:
            u = (u + rng.random(len(dims))) % 1.0
    columns = [dim(u[:, j]) for j, dim in enumerate(dims)]
    return [dict(zip(space, point)) for point in zip(*columns)]
