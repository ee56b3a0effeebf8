"""Run the gated benchmarks at full size and keep their figures under ``benchmarks/results``.

::

    python -m benchmarks.run                 # full size: results/<YYYY-MM-DD>-<commit>.json
    python -m benchmarks.run -- -k requote   # more pytest arguments after --

The result file holds, per gated benchmark, what it recorded in ``extra_info`` (its time, its
floor's time, the ratio of the two, rows per second, peak memory), with the commit and the
machine; ``python -m benchmarks.report`` draws their history.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from benchmarks.gate import load_run

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"


def run_gated(json_path, *, quick: bool, pytest_args=()) -> Path:
    """Run ``pytest benchmarks -m gated`` in a child interpreter, writing its JSON.

    The child starts in ``benchmarks/``, not in the checkout's root, so that the installed
    mmsim is imported, not a source tree that may lack its compiled engine.

    Parameters
    ----------
    json_path : str or pathlib.Path
        Where pytest-benchmark writes its JSON.
    quick : bool
        Run at CI sizes (``MMSIM_BENCH_QUICK=1``).
    pytest_args : sequence of str
        More pytest arguments.

    Returns
    -------
    pathlib.Path
        ``json_path``.

    Raises
    ------
    subprocess.CalledProcessError
        If a benchmark fails.
    """
    env = dict(os.environ)
    env.pop("MMSIM_BENCH_QUICK", None)
    if quick:
        env["MMSIM_BENCH_QUICK"] = "1"
    json_path = Path(json_path).resolve()
    subprocess.run([sys.executable, "-m", "pytest", str(HERE), "-m", "gated", "-q",
                    "-p", "no:cacheprovider", f"--benchmark-json={json_path}", *pytest_args],
                   check=True, cwd=HERE, env=env)
    return json_path


def record(run_json, results=RESULTS, today=None) -> Path:
    """Keep the gated figures of a run as ``results/<YYYY-MM-DD>-<shortcommit>.json``.

    Parameters
    ----------
    run_json : str or pathlib.Path
        pytest-benchmark JSON of a run.
    results : str or pathlib.Path, default ``benchmarks/results``
    today : datetime.date, optional
        The date in the name (default: today).

    Returns
    -------
    pathlib.Path
        The file written.
    """
    run = load_run(run_json)
    commit = run["commit"]
    cpu = run["machine"].get("cpu", {})
    out = {
        "date": str(today or datetime.date.today()),
        "commit": commit.get("id", "unknown"),
        "commit_time": commit.get("time"),
        "dirty": commit.get("dirty"),
        "quick": run["quick"],
        "machine": {"cpu": cpu.get("brand_raw"), "cores": cpu.get("count"),
                    "python": run["machine"].get("python_version"),
                    "system": run["machine"].get("system")},
        "benchmarks": run["benchmarks"],
    }
    path = Path(results) / f"{out['date']}-{out['commit'][:7]}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n")
    return path


def main(argv=None) -> int:
    """Command line: ``python -m benchmarks.run [--quick] [-- PYTEST_ARGS...]``."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="CI sizes instead of full size (a trial of the command)")
    parser.add_argument("--results", default=RESULTS, help="default: %(default)s")
    parser.add_argument("pytest_args", nargs="*", help="after --: more pytest arguments")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        run_json = run_gated(Path(tmp) / "benchmark.json", quick=args.quick,
                             pytest_args=args.pytest_args)
        print(f"wrote {record(run_json, args.results)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
