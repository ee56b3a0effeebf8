"""The benchmark gate: ``python -m benchmarks.check`` and its companions on hand-made runs, and
end to end on a real quick benchmark whose engine is made three times slower."""
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"

pytestmark = pytest.mark.skipif(not BENCH.is_dir(),
                                reason="benchmarks/ is not beside the tests")


def cli(module, *args):
    """``python -m benchmarks.<module> args`` from the checkout's root, as CI runs it."""
    return subprocess.run([sys.executable, "-m", f"benchmarks.{module}", *map(str, args)],
                          cwd=ROOT, capture_output=True, text=True)


@pytest.fixture
def bench(monkeypatch):
    """Import ``benchmarks.<name>`` from the checkout (CI installs mmsim, not the checkout;
    these modules import nothing of mmsim)."""
    monkeypatch.syspath_prepend(str(ROOT))
    return lambda name: importlib.import_module(f"benchmarks.{name}")


def write_run(path, ratios, quick=True, commit="abcdef0123", time="2024-05-01T10:00:00+00:00"):
    """A pytest-benchmark JSON file whose gated benchmarks have the given ratios."""
    path.write_text(json.dumps({
        "benchmarks": [{"fullname": f"benchmarks/test_x.py::{name}", "name": name,
                        "extra_info": {"quick": quick, "seconds": 0.5 * ratio,
                                       "floor": "one pass", "floor_seconds": 0.5,
                                       "floor_ratio": ratio, "rows": 1000,
                                       "rows_per_s": 2000 / ratio, "peak_bytes": 3 * 2**20}}
                       for name, ratio in ratios.items()]
        + [{"fullname": "benchmarks/test_x.py::test_plain", "name": "test_plain",
            "extra_info": {"rows": 5}}],
        "commit_info": {"id": commit, "time": time, "dirty": False},
        "machine_info": {"python_version": "3.11.7", "system": "Linux",
                         "cpu": {"brand_raw": "Some CPU", "count": 2}},
    }))
    return path


def write_baseline(path, entries):
    path.write_text(json.dumps({f"test_x.py::{k}": {"ratio": r, "tolerance": t}
                                for k, (r, t) in entries.items()}))
    return path


def test_check_passes_at_exactly_the_tolerance(tmp_path):
    # 2 x 1.5 = 3 exactly: at the limit is not beyond it.
    run = write_run(tmp_path / "run.json", {"test_a": 3.0})
    base = write_baseline(tmp_path / "base.json", {"test_a": (2.0, 1.5)})
    out = cli("check", run, "--baseline", base)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "benchmark              ratio   baseline    at most",
        "test_x.py::test_a          3          2          3",
        "0 failure(s) in 1 gated benchmark(s) against 1 baseline entry",
    ]


def test_check_fails_just_beyond_the_tolerance_naming_benchmark_ratio_and_baseline(tmp_path):
    run = write_run(tmp_path / "run.json", {"test_a": 3.003, "test_b": 4.0})
    base = write_baseline(tmp_path / "base.json", {"test_a": (2.0, 1.5), "test_b": (4.0, 1.3)})
    out = cli("check", run, "--baseline", base)
    assert out.returncode == 1
    assert out.stdout.splitlines()[-2:] == [
        "FAIL test_x.py::test_a: ratio 3.003 vs baseline 2 (tolerance 1.5, at most 3)",
        "1 failure(s) in 2 gated benchmark(s) against 2 baseline entries",
    ]


def test_check_fails_on_a_baseline_entry_missing_from_the_run(tmp_path):
    run = write_run(tmp_path / "run.json", {"test_a": 2.0})
    base = write_baseline(tmp_path / "base.json", {"test_a": (2.0, 1.5), "test_gone": (7.0, 1.5)})
    out = cli("check", run, "--baseline", base)
    assert out.returncode == 1
    assert "FAIL test_x.py::test_gone: missing from the run (baseline 7)" in out.stdout.splitlines()


def test_check_reports_without_failing_a_new_benchmark_and_a_faster_one(tmp_path):
    # 1.2 < 2 / 1.5: faster than the tolerance, worth a new baseline but not a failure.
    run = write_run(tmp_path / "run.json", {"test_a": 1.2, "test_new": 5.0})
    base = write_baseline(tmp_path / "base.json", {"test_a": (2.0, 1.5)})
    out = cli("check", run, "--baseline", base)
    assert out.returncode == 0
    assert out.stdout.splitlines()[-3:] == [
        "note: test_x.py::test_a: ratio 1.2 vs baseline 2, faster than the tolerance; "
        "python -m benchmarks.update_baseline accepts it",
        "note: test_x.py::test_new: ratio 5 has no baseline; python -m benchmarks.update_baseline"
        " adds it",
        "0 failure(s) in 2 gated benchmark(s) against 1 baseline entry",
    ]


@pytest.mark.parametrize("case, message", [
    ("missing run", "error: benchmark JSON {tmp}/nothing.json does not exist"),
    ("full size", "error: benchmark JSON {tmp}/run.json is a full-size run; the baseline holds "
                  "quick-mode ratios (run with MMSIM_BENCH_QUICK=1)"),
    ("no gated", "error: benchmark JSON {tmp}/run.json has no gated benchmark (none recorded "
                 "extra_info['floor_ratio'])"),
    ("tolerance below 1", "error: baseline {tmp}/base.json: test_x.py::test_a tolerance must be"
                          " a finite number >= 1, got 0.9"),
    ("ratio not a number", "error: baseline {tmp}/base.json: test_x.py::test_a ratio must be a "
                           "finite number > 0, got 'fast'"),
])
def test_check_refuses_bad_files_naming_what_is_wrong(tmp_path, case, message):
    run = write_run(tmp_path / "run.json", {} if case == "no gated" else {"test_a": 2.0},
                    quick=case != "full size")
    base = write_baseline(tmp_path / "base.json", {"test_a": (
        "fast" if case == "ratio not a number" else 2.0,
        0.9 if case == "tolerance below 1" else 1.5)})
    out = cli("check", tmp_path / "nothing.json" if case == "missing run" else run,
              "--baseline", base)
    assert out.returncode == 2
    assert out.stderr.strip() == message.format(tmp=tmp_path)


def test_update_baseline_takes_the_median_and_keeps_tolerances(tmp_path):
    runs = [write_run(tmp_path / f"r{k}.json", {"test_a": a, "test_new": n})
            for k, (a, n) in enumerate([(2.0, 9.0), (2.5, 7.0), (4.0, 8.0)])]
    base = write_baseline(tmp_path / "base.json", {"test_a": (1.0, 1.2), "test_old": (3.0, 2.0)})
    out = cli("update_baseline", *runs, "--baseline", base)
    assert out.returncode == 0, out.stderr
    assert json.loads(base.read_text()) == {
        "test_x.py::test_a": {"ratio": 2.5, "tolerance": 1.2},
        "test_x.py::test_new": {"ratio": 8.0, "tolerance": 1.5},
        "test_x.py::test_old": {"ratio": 3.0, "tolerance": 2.0},
    }
    assert "kept test_x.py::test_old (in none of the runs; --prune drops it)" in out.stdout
    out = cli("update_baseline", runs[0], "--baseline", base, "--prune")
    assert out.returncode == 0, out.stderr
    assert json.loads(base.read_text()) == {
        "test_x.py::test_a": {"ratio": 2.0, "tolerance": 1.2},
        "test_x.py::test_new": {"ratio": 9.0, "tolerance": 1.5},
    }
    assert "dropped test_x.py::test_old (in none of the runs)" in out.stdout


def test_update_baseline_refuses_a_full_size_run(tmp_path):
    run = write_run(tmp_path / "run.json", {"test_a": 2.0}, quick=False)
    out = cli("update_baseline", run, "--baseline", tmp_path / "base.json")
    assert out.returncode == 2
    assert "is a full-size run" in out.stderr
    assert not (tmp_path / "base.json").exists()


def test_the_committed_baseline_reads_and_covers_the_required_benchmarks(bench):
    baseline = bench("gate").load_baseline()
    required = ["test_bench_engine.py::test_end_to_end_requote[quote]",
                "test_bench_engine.py::test_replay_with_resting_orders[2]",
                "test_bench_engine.py::test_replay_with_resting_orders[20]",
                "test_bench_engine.py::test_replay_with_resting_orders[200]",
                "test_bench_engine.py::test_import_and_first_backtest",
                "test_bench_strategy.py::test_inventory_management_month",
                "test_bench_memory.py::test_streamed_month",
                "test_bench_sweep.py::test_sweep_serial",
                "test_bench_sweep.py::test_sweep_two_processes",
                "test_bench_data.py::test_read_taq_parquet",
                "test_bench_data.py::test_synthetic_month"]
    assert [name for name in required if name not in baseline] == []


def test_record_names_the_file_by_date_and_commit_and_keeps_the_gated_figures(bench, tmp_path):
    import datetime

    run = write_run(tmp_path / "run.json", {"test_a": 4.0})
    path = bench("run").record(run, tmp_path / "results", today=datetime.date(2024, 5, 2))
    assert path == tmp_path / "results" / "2024-05-02-abcdef0.json"
    saved = json.loads(path.read_text())
    assert saved["commit"] == "abcdef0123" and saved["quick"] is True
    assert saved["machine"] == {"cpu": "Some CPU", "cores": 2, "python": "3.11.7",
                                "system": "Linux"}
    assert list(saved["benchmarks"]) == ["test_x.py::test_a"]      # test_plain is not gated
    assert saved["benchmarks"]["test_x.py::test_a"]["floor_ratio"] == 4.0


def test_report_orders_by_commit_time_and_draws_each_ratio_relative_to_its_first(bench, tmp_path):
    import datetime

    run_mod, report = bench("run"), bench("report")
    results = tmp_path / "results"
    # Written out of order: the later date holds the older commit.
    for day, commit, time, ratios in [
        (3, "cccccccc", "2024-05-03T09:00:00+00:00", {"test_a": 3.0, "test_b": 10.0}),
        (4, "aaaaaaaa", "2024-05-01T09:00:00+00:00", {"test_a": 2.0}),
        (2, "bbbbbbbb", "2024-05-02T09:00:00+02:00", {"test_a": 4.0, "test_b": 5.0}),
    ]:
        run_mod.record(write_run(tmp_path / "run.json", ratios, commit=commit, time=time),
                       results, today=datetime.date(2024, 5, day))
    history = report.load_history(results)
    assert [e["label"] for e in history] == ["2024-05-04 aaaaaaa", "2024-05-02 bbbbbbb",
                                             "2024-05-03 ccccccc"]
    assert report.series(history) == {
        "test_x.py::test_a": (["2024-05-04 aaaaaaa", "2024-05-02 bbbbbbb", "2024-05-03 ccccccc"],
                              [2.0, 4.0, 3.0], [1.0, 2.0, 1.5]),
        "test_x.py::test_b": (["2024-05-02 bbbbbbb", "2024-05-03 ccccccc"], [5.0, 10.0],
                              [1.0, 2.0]),
    }
    assert report.markdown_table(history[-1]).splitlines() == [
        "| benchmark | rows/s | time / floor | floor | peak memory |",
        "| --- | ---: | ---: | --- | ---: |",
        "| `test_a` | 667 | 3 | one pass | 3 MiB |",
        "| `test_b` | 200 | 10 | one pass | 3 MiB |",
    ]
    assert report.main(["--results", str(results), "--out", str(tmp_path / "out" / "h")]) == 0
    html = (tmp_path / "out" / "h.html").read_text()
    assert html.count('"name":"test_x.py::test_') == 2
    assert (tmp_path / "out" / "h.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_report_without_results_says_where_they_come_from(tmp_path):
    out = cli("report", "--results", tmp_path)
    assert out.returncode == 2
    assert out.stderr.strip() == (f"error: no result file in {tmp_path}; python -m "
                                  "benchmarks.run writes one")


def _quick_benchmark(tmp_path, name, slowdown=None):
    """One real gated benchmark at CI sizes in a child pytest, its JSON written to ``name``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MMSIM_BENCH")}
    env["MMSIM_BENCH_QUICK"] = "1"
    if slowdown:
        env["MMSIM_BENCH_SLOWDOWN"] = str(slowdown)
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         f"{BENCH / 'test_bench_engine.py'}::test_replay_with_resting_orders[2]",
         f"--benchmark-json={tmp_path / name}"],
        # Beside the files, not in the checkout, whose mmsim/ may lack the compiled engine.
        cwd=tmp_path, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    return tmp_path / name


def test_gate_reports_an_engine_made_three_times_slower(tmp_path):
    name = "test_bench_engine.py::test_replay_with_resting_orders[2]"
    normal = _quick_benchmark(tmp_path, "normal.json")
    slowed = _quick_benchmark(tmp_path, "slowed.json", slowdown=3)
    base = tmp_path / "baseline.json"
    assert cli("update_baseline", normal, "--baseline", base).returncode == 0
    accepted = json.loads(base.read_text())[name]["ratio"]

    out = cli("check", normal, "--baseline", base)
    assert out.returncode == 0, out.stdout

    ratio = next(b["extra_info"]["floor_ratio"] for b in json.loads(slowed.read_text())
                 ["benchmarks"])
    assert ratio > 2 * accepted      # three times the engine's time over the same floor
    out = cli("check", slowed, "--baseline", base)
    assert out.returncode == 1
    assert (f"FAIL {name}: ratio {ratio:.4g} vs baseline {accepted:.4g} (tolerance 1.5, "
            f"at most {accepted * 1.5:.4g})") in out.stdout.splitlines()


def test_the_peer_comparison_keeps_each_engines_best_over_rounds_run_in_turn(tmp_path):
    # Two rounds of two repeats of mmsim alone, at the warm-up size: the figures kept are
    # the best and the median of the four times and the highest peak of the two rounds.
    pytest.importorskip("mmsim")
    out = tmp_path / "compare.json"
    run = subprocess.run([sys.executable, str(BENCH / "compare_hftbacktest.py"), "--rows",
                          "20000", "--repeats", "2", "--rounds", "2", "--engines", "mmsim",
                          "--json", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "2 round(s) of 2 repeat(s)" in run.stdout
    (mmsim_row,) = json.loads(out.read_text())
    cpu = mmsim_row["cpu"]
    assert mmsim_row["rounds"] == 2 and len(cpu) == 4
    assert mmsim_row["cpu_best"] == min(cpu)
    assert mmsim_row["cpu_median"] == (sorted(cpu)[1] + sorted(cpu)[2]) / 2
    assert mmsim_row["orders"] > 0 and mmsim_row["fills"] > 0


def test_the_peer_comparison_refuses_no_rounds():
    run = subprocess.run([sys.executable, str(BENCH / "compare_hftbacktest.py"), "--rounds",
                          "0", "--engines", "mmsim"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 2 and "--rounds must be at least 1, got 0" in run.stderr
