"""Accept the current ratios of the gated benchmarks as ``benchmarks/baseline.json``.

::

    python -m benchmarks.update_baseline                 # 3 quick runs, their median ratios
    python -m benchmarks.update_baseline a.json b.json   # the median of given quick runs

Each benchmark's new ratio is the median of its ratios over the runs, to 4 significant
digits. Tolerances already in the baseline are kept (edit them in the file); a new entry gets
1.5. An entry whose benchmark is in none of the runs is kept, and listed, unless ``--prune`` is
given. Commit the file with the change that moved the ratios, saying why in the message.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

from benchmarks.gate import (BASELINE, DEFAULT_TOLERANCE, GateError, load_baseline, load_run,
                             save_baseline)
from benchmarks.run import run_gated


def update(run_paths, baseline_path=BASELINE, prune: bool = False) -> dict:
    """Rewrite the baseline from quick runs.

    Parameters
    ----------
    run_paths : list of str or pathlib.Path
        pytest-benchmark JSON files of quick runs.
    baseline_path : str or pathlib.Path, default ``benchmarks/baseline.json``
        Read for its tolerances when it exists, then rewritten.
    prune : bool, default False
        Drop entries whose benchmark is in none of the runs.

    Returns
    -------
    dict
        The new baseline.

    Raises
    ------
    GateError
        If a run is not a quick one or a file cannot be read.
    """
    ratios = {}
    for path in run_paths:
        run = load_run(path)
        if not run["quick"]:
            raise GateError(f"benchmark JSON {path} is a full-size run; the baseline holds "
                            "quick-mode ratios (run with MMSIM_BENCH_QUICK=1)")
        for name, info in run["benchmarks"].items():
            ratios.setdefault(name, []).append(info["floor_ratio"])
    old = load_baseline(baseline_path) if Path(baseline_path).exists() else {}
    new = {name: {"ratio": float(f"{statistics.median(values):.4g}"),
                  "tolerance": old.get(name, {}).get("tolerance", DEFAULT_TOLERANCE)}
           for name, values in ratios.items()}
    for name in sorted(set(old) - set(new)):
        if prune:
            print(f"dropped {name} (in none of the runs)")
        else:
            print(f"kept {name} (in none of the runs; --prune drops it)")
            new[name] = old[name]
    for name in sorted(new):
        before = old.get(name, {}).get("ratio")
        print(f"{name}: {before if before is not None else '(new)'} -> {new[name]['ratio']}")
    save_baseline(new, baseline_path)
    return new


def main(argv=None) -> int:
    """Command line: ``python -m benchmarks.update_baseline [RUN.json ...]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.update_baseline",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="*", help="pytest-benchmark JSON of quick runs "
                                                "(default: run the quick benchmarks --runs times)")
    parser.add_argument("--runs", dest="n_runs", type=int, default=3,
                        help="quick runs to make when no file is given (default: %(default)s)")
    parser.add_argument("--baseline", default=BASELINE, help="default: %(default)s")
    parser.add_argument("--prune", action="store_true",
                        help="drop entries whose benchmark is in none of the runs")
    args = parser.parse_args(argv)
    if not args.runs and args.n_runs < 1:
        parser.error(f"--runs must be at least 1, got {args.n_runs}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            paths = args.runs or [run_gated(Path(tmp) / f"run{k}.json", quick=True)
                                  for k in range(args.n_runs)]
            update(paths, args.baseline, args.prune)
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.baseline}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
