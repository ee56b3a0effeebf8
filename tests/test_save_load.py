"""Result.save / Result.load: Parquet tables plus JSON read back equal."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pandas.testing as tm
import pytest

import mmsim
from mmsim.contracts import BINANCE_BTCUSDT
from mmsim.results import Result
from results_scenario import make_inverse_result, make_nav_result


def _assert_equal(a: Result, b: Result) -> None:
    for name in ("orders", "fills", "balances", "positions", "funding"):
        tm.assert_frame_equal(getattr(a, name), getattr(b, name), check_exact=True)
    assert a.contract == b.contract
    assert a.params == b.params


def test_round_trip(tmp_path):
    original = make_inverse_result()
    original.params.update(
        start=pd.Timestamp("2024-01-01", tz="UTC"),
        end=pd.Timestamp("2024-01-01 04:00", tz="UTC"),
        strategy={"name": "AvellanedaStoikov", "gamma": 0.1, "sizes": (1, 2)},
        window=pd.Timedelta(minutes=60),
        post_only=np.bool_(True),
    )
    out = original.save(tmp_path / "run")
    assert sorted(p.name for p in out.iterdir()) == [
        "balances.parquet", "fills.parquet", "funding.parquet", "orders.parquet",
        "positions.parquet", "result.json",
    ]
    loaded = Result.load(out)
    _assert_equal(original, loaded)
    assert loaded.params["post_only"] is True  # a NumPy bool comes back a bool, not text
    # UTC timestamps and datetime columns survive
    assert str(loaded.orders.index.tz) == "UTC" and str(loaded.orders["closed"].dt.tz) == "UTC"
    # statistics of the loaded result equal those of the original
    tm.assert_series_equal(original.stats(size_limit=1000), loaded.stats(size_limit=1000))


def test_json_records_params_and_versions(tmp_path):
    make_inverse_result().save(tmp_path)
    meta = json.loads((tmp_path / "result.json").read_text())
    assert meta["format"] == 1
    assert meta["contract"]["maker_fee"] == -0.00025 and meta["contract"]["inverse"] is True
    assert meta["params"]["latency"] == 0.5 and meta["params"]["signal_columns"] == ["sigma"]
    assert meta["versions"]["mmsim"] == mmsim.__version__
    assert meta["versions"]["pandas"] == pd.__version__
    assert set(meta["versions"]) == {"mmsim", "python", "numpy", "pandas", "pyarrow"}


def test_round_trip_empty_tables_linear(tmp_path):
    original = make_nav_result()  # no orders, fills or positions; linear contract
    _assert_equal(original, Result.load(original.save(tmp_path)))
    assert Result.load(tmp_path).contract == BINANCE_BTCUSDT


def test_unrestorable_param_kept_as_text(tmp_path):
    original = make_inverse_result()
    original.params["strategy"] = object.__new__(type("Maker", (), {"__repr__": lambda s: "Maker()"}))
    assert Result.load(original.save(tmp_path)).params["strategy"] == "Maker()"


def test_load_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="result.json"):
        Result.load(tmp_path)
    make_inverse_result().save(tmp_path)
    (tmp_path / "fills.parquet").unlink()
    with pytest.raises(FileNotFoundError, match="fills.parquet"):
        Result.load(tmp_path)
    meta = json.loads((tmp_path / "result.json").read_text())
    meta["format"] = 99
    (tmp_path / "result.json").write_text(json.dumps(meta))
    with pytest.raises(ValueError, match="'format' must be 1, got 99"):
        Result.load(tmp_path)


def test_a_result_saved_without_funding_loads_with_an_empty_funding_table(tmp_path):
    out = make_inverse_result().save(tmp_path / "run")
    (out / "funding.parquet").unlink()            # as an earlier version wrote it
    loaded = Result.load(out)
    assert len(loaded.funding) == 0
    assert list(loaded.funding.columns) == ["rate", "mark", "position", "payment"]


def test_results_compare_with_a_bool(tmp_path):
    out = make_inverse_result().save(tmp_path / "run")
    a, b = Result.load(out), Result.load(out)
    assert (a == b) is True and a.equals(b) and a == make_inverse_result()
    b.fills.loc[b.fills.index[0], "fee"] = 0.0
    assert (a == b) is False and not a.equals(b)
    c = Result.load(out)
    c.params["seed"] = 7
    assert a != c
    assert a != "a result" and not a.equals(None)
    # NaN parameters are equal to themselves, as in the saved JSON
    a.params["x"] = float("nan")
    assert a.equals(Result(a.orders, a.fills, a.balances, a.positions, a.contract,
                           {**a.params, "x": float("nan")}, funding=a.funding))


def test_the_entry_price_of_a_flat_position_is_nan(tmp_path):
    # Results saved before flat rows read NaN held an entry price of 0 there.
    original = make_inverse_result()
    original.positions = pd.DataFrame({"amount": [1000.0, 0.0], "weighted_price": [8000.0, 0.0]},
                                      index=original.positions.index)
    loaded = Result.load(original.save(tmp_path))
    np.testing.assert_array_equal(loaded.positions["weighted_price"], [8000.0, np.nan])


def test_save_records_provenance(tmp_path, monkeypatch):
    from mmsim.data.align import taq_arrays
    from mmsim.results import data_provenance
    from mmsim.sweep.store import fingerprint

    idx = pd.DatetimeIndex(["2024-01-01 00:00", "2024-01-01 00:05"], tz="UTC", name="time")
    taq = pd.DataFrame({"price": [np.nan, 100.0], "amount": [0.0, 2.0],
                        "bid_price": [99.5, 99.5], "bid_amount": [5.0, 5.0],
                        "ask_price": [100.0, 100.0], "ask_amount": [5.0, 3.0]}, index=idx)
    result = make_inverse_result()
    result.provenance.update(data_provenance(taq, source="taq.parquet"))
    monkeypatch.chdir(tmp_path)             # not a git checkout: no commit to record
    result.save(tmp_path / "run")
    meta = json.loads((tmp_path / "run" / "result.json").read_text())["provenance"]
    assert set(meta) == {"created", "source", "rows", "data_start", "data_end", "fingerprint",
                         "mmsim", "git_commit", "written"}
    assert (meta["source"], meta["rows"]) == ("taq.parquet", 2)
    assert (meta["data_start"], meta["data_end"]) == ("2024-01-01T00:00:00+00:00",
                                                     "2024-01-01T00:05:00+00:00")
    assert meta["fingerprint"] == fingerprint(taq_arrays(taq))
    assert meta["mmsim"] == mmsim.__version__ and meta["git_commit"] is None
    assert meta["created"] == result.provenance["created"]
    assert pd.Timestamp(meta["written"]) >= pd.Timestamp(meta["created"])
    assert Result.load(tmp_path / "run").provenance == meta
    # the fingerprint tells one data set from another
    other = taq.copy()
    other.iloc[1, other.columns.get_loc("price")] = 100.5
    assert data_provenance(other)["fingerprint"] != meta["fingerprint"]
    assert data_provenance(taq.copy())["fingerprint"] == meta["fingerprint"]
    assert data_provenance(taq)["source"] == "a DataFrame"


def test_provenance_names_the_git_commit_of_the_working_directory(tmp_path, monkeypatch):
    import shutil
    import subprocess

    from mmsim.results import run_provenance

    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false"]
    subprocess.run(git + ["init", "-q", str(tmp_path)], check=True)
    (tmp_path / "a.txt").write_text("a")
    subprocess.run(git + ["-C", str(tmp_path), "add", "a.txt"], check=True)
    subprocess.run(git + ["-C", str(tmp_path), "commit", "-qm", "a"], check=True)
    head = subprocess.run(["git", "-C", str(tmp_path), "rev-parse", "HEAD"], check=True,
                          capture_output=True, text=True).stdout.strip()
    monkeypatch.chdir(tmp_path)
    assert run_provenance()["git_commit"] == head
    (tmp_path / "a.txt").write_text("b")            # an uncommitted edit
    assert run_provenance()["git_commit"] == head + "+changes"


def test_jupyter_shows_the_headline_and_the_table_sizes():
    page = make_inverse_result()._repr_html_()
    assert 'id="headline"' in page
    assert '<div class="mm-label">PnL</div><div class="mm-value pos">0.04988125 BTC</div>' in page
    assert '<div class="mm-sub">NAV -1,600.95 USD</div>' in page
    assert "rows: orders 4, fills 2, balances 5, positions 2, funding 0" in page
