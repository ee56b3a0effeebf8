"""Fail when a gated benchmark's ratio to its floor regressed beyond its baseline tolerance.

::

    MMSIM_BENCH_QUICK=1 pytest benchmarks --benchmark-json=benchmark.json
    python -m benchmarks.check benchmark.json

Prints every gated benchmark with its ratio and limit, then one line per regression
(``name: ratio X vs baseline Y (tolerance Z, at most L)``) and per baseline entry missing from
the run. Exit status: 0 when none, 1 when any, 2 when a file cannot be read as what it should
be. Benchmarks without a baseline entry are listed, not failed.
"""
from __future__ import annotations

import argparse
import sys

from benchmarks.gate import BASELINE, GateError, compare, load_baseline, load_run


def check(run_path, baseline_path=BASELINE) -> int:
    """Compare a quick run with the baseline and print the verdict.

    Parameters
    ----------
    run_path : str or pathlib.Path
        pytest-benchmark JSON of a quick run (``MMSIM_BENCH_QUICK=1``).
    baseline_path : str or pathlib.Path, default ``benchmarks/baseline.json``

    Returns
    -------
    int
        The exit status: 0 within tolerance, 1 on a regression or a missing benchmark, 2 when
        a file cannot be read or the run is not a quick one.
    """
    try:
        run = load_run(run_path)
        baseline = load_baseline(baseline_path)
        if not run["quick"]:
            raise GateError(f"benchmark JSON {run_path} is a full-size run; the baseline "
                            "holds quick-mode ratios (run with MMSIM_BENCH_QUICK=1)")
    except GateError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ratios = {name: info["floor_ratio"] for name, info in run["benchmarks"].items()}
    width = max(map(len, ratios | baseline))
    print(f"{'benchmark':{width}}  {'ratio':>9}  {'baseline':>9}  {'at most':>9}")
    for name in sorted(ratios):
        accepted = baseline.get(name)
        limits = (f"{accepted['ratio']:9.4g}  {accepted['ratio'] * accepted['tolerance']:9.4g}"
                  if accepted else f"{'-':>9}  {'-':>9}")
        print(f"{name:{width}}  {ratios[name]:9.4g}  {limits}")
    failures, notes = compare(ratios, baseline)
    for line in notes:
        print(f"note: {line}")
    for line in failures:
        print(f"FAIL {line}")
    print(f"{len(failures)} failure(s) in {len(ratios)} gated benchmark(s) against "
          f"{len(baseline)} baseline entr{'y' if len(baseline) == 1 else 'ies'}")
    return 1 if failures else 0


def main(argv=None) -> int:
    """Command line: ``python -m benchmarks.check RUN.json [--baseline PATH]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.check", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run", help="pytest-benchmark JSON of a quick run")
    parser.add_argument("--baseline", default=BASELINE, help="default: %(default)s")
    args = parser.parse_args(argv)
    return check(args.run, args.baseline)


if __name__ == "__main__":
    sys.exit(main())
