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
