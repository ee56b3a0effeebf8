"""The ratios of gated benchmarks, the accepted baseline and the comparison of the two.

A gated benchmark (see ``benchmarks/conftest.py``) records in pytest-benchmark's JSON
``extra_info["floor_ratio"]``: its best time over the best time of a reference workload (its
floor) measured in the same process, so that larger is slower and the figure does not depend
on how fast or busy the machine is. ``benchmarks/baseline.json`` maps each gated benchmark to
its accepted ratio and a tolerance: a run regresses when ``ratio > baseline * tolerance``.

This module imports nothing of mmsim: it runs from a checkout whose ``mmsim/`` may not be
built.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

#: The accepted quick-mode ratios, beside this file.
BASELINE = Path(__file__).resolve().parent / "baseline.json"
#: The tolerance a new baseline entry gets.
DEFAULT_TOLERANCE = 1.5


class GateError(ValueError):
    """A benchmark JSON or baseline file that cannot be read as one."""


def _read_json(path: str | Path, what: str):
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise GateError(f"{what} {path} does not exist") from None
    except json.JSONDecodeError as exc:
        raise GateError(f"{what} {path} is not JSON: {exc}") from None


def bench_name(entry: dict) -> str:
    """A benchmark's name as the gate knows it: ``file.py::test[param]``, without the folder
    the run started from.

    Parameters
    ----------
    entry : dict
        One item of pytest-benchmark's ``benchmarks`` list.

    Returns
    -------
    str
    """
    return entry["fullname"].rsplit("/", 1)[-1]


def load_run(path: str | Path) -> dict:
    """The gated benchmarks of a pytest-benchmark JSON file.

    Parameters
    ----------
    path : str or pathlib.Path
        Written by ``pytest benchmarks --benchmark-json=PATH``.

    Returns
    -------
    dict
        ``{"quick": bool, "commit": dict, "machine": dict, "benchmarks": {name: extra_info}}``
        with only the benchmarks that recorded a ``floor_ratio``; ``commit`` and ``machine``
        are pytest-benchmark's ``commit_info`` and ``machine_info``.

    Raises
    ------
    GateError
        If the file is missing or not JSON, has no ``benchmarks`` list, has no gated
        benchmark, or mixes quick and full-size benchmarks.
    """
    data = _read_json(path, "benchmark JSON")
    if not isinstance(data, dict) or not isinstance(data.get("benchmarks"), list):
        raise GateError(f"benchmark JSON {path} has no 'benchmarks' list; write it with "
                        "pytest benchmarks --benchmark-json=PATH")
    gated = {bench_name(b): b["extra_info"] for b in data["benchmarks"]
             if "floor_ratio" in b.get("extra_info", {})}
    if not gated:
        raise GateError(f"benchmark JSON {path} has no gated benchmark (none recorded "
                        "extra_info['floor_ratio'])")
    modes = {bool(info.get("quick")) for info in gated.values()}
    if len(modes) > 1:
        raise GateError(f"benchmark JSON {path} mixes quick and full-size benchmarks")
    return {"quick": modes.pop(), "commit": data.get("commit_info", {}),
            "machine": data.get("machine_info", {}), "benchmarks": gated}


def _positive(value, where: str, minimum: float = 0.0, inclusive: bool = False) -> float:
    """``value`` as a finite number above ``minimum`` (or equal to it when ``inclusive``)."""
    ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
          and math.isfinite(value) and (value >= minimum if inclusive else value > minimum))
    if not ok:
        bound = f">= {minimum:g}" if inclusive else f"> {minimum:g}"
        raise GateError(f"{where} must be a finite number {bound}, got {value!r}")
    return float(value)


def load_baseline(path: str | Path = BASELINE) -> dict:
    """The accepted ratios: ``{name: {"ratio": float, "tolerance": float}}``.

    Parameters
    ----------
    path : str or pathlib.Path, default ``benchmarks/baseline.json``

    Returns
    -------
    dict

    Raises
    ------
    GateError
        If the file is missing or not JSON, or an entry lacks a ratio > 0 or a
        tolerance >= 1.
    """
    data = _read_json(path, "baseline")
    if not isinstance(data, dict):
        raise GateError(f"baseline {path} must map benchmark names to "
                        "{'ratio': ..., 'tolerance': ...}")
    out = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise GateError(f"baseline {path}: {name} must be {{'ratio': ..., "
                            f"'tolerance': ...}}, got {entry!r}")
        out[name] = {"ratio": _positive(entry.get("ratio"), f"baseline {path}: {name} ratio"),
                     "tolerance": _positive(entry.get("tolerance"),
                                            f"baseline {path}: {name} tolerance", 1.0, True)}
    return out


def save_baseline(baseline: dict, path: str | Path = BASELINE) -> Path:
    """Write ``baseline`` sorted by name, one entry a line group, for readable diffs."""
    path = Path(path)
    path.write_text(json.dumps(dict(sorted(baseline.items())), indent=2) + "\n")
    return path


def compare(ratios: dict, baseline: dict) -> tuple[list[str], list[str]]:
    """Compare a run's ratios with the baseline.

    Parameters
    ----------
    ratios : dict
        ``{name: ratio}`` of one run.
    baseline : dict
        As returned by :func:`load_baseline`.

    Returns
    -------
    failures : list of str
        One line per regression (``ratio > baseline * tolerance``) and per baseline entry the
        run lacks.
    notes : list of str
        One line per benchmark without a baseline entry and per ratio below
        ``baseline / tolerance`` (faster: the baseline may be updated).
    """
    failures, notes = [], []
    for name, accepted in baseline.items():
        base, tol = accepted["ratio"], accepted["tolerance"]
        if name not in ratios:
            failures.append(f"{name}: missing from the run (baseline {base:.4g})")
        elif ratios[name] > base * tol:
            failures.append(f"{name}: ratio {ratios[name]:.4g} vs baseline {base:.4g} "
                            f"(tolerance {tol:g}, at most {base * tol:.4g})")
        elif ratios[name] < base / tol:
            notes.append(f"{name}: ratio {ratios[name]:.4g} vs baseline {base:.4g}, faster "
                         "than the tolerance; python -m benchmarks.update_baseline accepts it")
    for name in sorted(set(ratios) - set(baseline)):
        notes.append(f"{name}: ratio {ratios[name]:.4g} has no baseline; "
                     "python -m benchmarks.update_baseline adds it")
    return failures, notes
