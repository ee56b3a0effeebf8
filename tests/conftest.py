"""Hypothesis profiles: ``ci`` (the default) and ``long`` (``MMSIM_HYPOTHESIS=long``).

``ci`` is derandomised (a fixed seed, no example database), so every run checks the same
examples; ``max_examples`` is per test, and the property tests in ``test_properties.py``
(three of them) run about 1,200 examples in all. ``long`` runs about 20,000.
"""
import os

from hypothesis import HealthCheck, settings

_COMMON = dict(deadline=None, database=None, print_blob=True,
               suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

settings.register_profile("ci", max_examples=400, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=6700, derandomize=False, **_COMMON)
settings.register_profile("dev", max_examples=400, derandomize=True, report_multiple_bugs=False, **_COMMON)
settings.load_profile(os.environ.get("MMSIM_HYPOTHESIS", "ci"))
