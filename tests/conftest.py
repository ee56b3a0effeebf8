"""Hypothesis profiles, chosen by the environment variable ``MMSIM_HYPOTHESIS``.

- ``ci`` (the default): derandomised (a fixed seed) with no example database, so every run
  checks the same examples. ``max_examples`` is per test: the three property tests of
  ``test_properties.py`` run 1,200 examples in all.
- ``long``: random seeds, 6,700 examples per test, 20,100 in all (nightly sized).
- ``dev``: the ``ci`` examples, stopping at the first bug found (quicker to shrink and read).

``pytest tests/test_properties.py --hypothesis-show-statistics`` prints the counts and what
the examples exercised.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

from helpers import SHARED

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("ci", max_examples=400, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=6700, derandomize=False, **_COMMON)
settings.register_profile("dev", max_examples=400, derandomize=True, report_multiple_bugs=False,
                          **_COMMON)
settings.load_profile(os.environ.get("MMSIM_HYPOTHESIS", "ci"))


@pytest.fixture(scope="session")
def shared():
    """``shared(*parts)``: a path in the shared folder (``../shared`` or ``$MMSIM_SHARED``).

    A test that needs a file that is not there skips, and the summary (``-ra``) says which
    file and how to point the tests at the folder.
    """
    def find(*parts):
        path = SHARED.joinpath(*parts)
        if not path.exists():
            pytest.skip(f"shared data absent: {path} not found (set MMSIM_SHARED to the "
                        f"folder that holds data/ and seed/)")
        return path
    return find
