"""Benchmark fixtures. ``MMSIM_BENCH_QUICK=1`` shrinks every size so CI only checks they run."""
import os

import numpy as np
import pandas as pd
import pytest

QUICK = os.environ.get("MMSIM_BENCH_QUICK", "") not in ("", "0")


def minute_signals(taq: pd.DataFrame, **columns) -> pd.DataFrame:
    """One signal per minute over the span of ``taq``."""
    index = pd.date_range(taq.index[0].ceil("1min"), taq.index[-1], freq="1min", name="time")
    return pd.DataFrame({k: np.full(len(index), v, dtype=np.float64) for k, v in columns.items()}
                        or {"x": np.zeros(len(index))}, index=index)


def pytest_collect_file(file_path, parent):
    """Collect ``compare_*.py`` as test modules too: they are scripts named for what they
    compare, whose tests skip when the peer library is absent."""
    if (file_path.suffix == ".py" and file_path.name.startswith("compare_")
            # A path named on the command line is collected by pytest itself.
            and not parent.session.isinitpath(file_path)):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def quick():
    """True when running at CI sizes."""
    return QUICK


@pytest.fixture(scope="session")
def replay_taq():
    """5 million BitMEX-like rows (200 thousand in quick mode)."""
    from mmsim.data.synthetic import synthetic_taq

    return synthetic_taq(n_rows=200_000 if QUICK else 5_000_000, seed=1)


@pytest.fixture(scope="session")
def month_taq():
    """One month of BitMEX-like rows, about 3.5 million (one day in quick mode)."""
    from mmsim.data.synthetic import synthetic_taq

    return synthetic_taq(duration="1D" if QUICK else "30D", seed=2)
