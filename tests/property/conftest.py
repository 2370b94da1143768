"""Hypothesis settings of the property suites: bounded, derandomised, no example database.

``XPLAIN_HYPOTHESIS_PROFILE=thorough`` runs many more examples (not in CI).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    max_examples=12,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.register_profile(
    "thorough",
    max_examples=300,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile(os.environ.get("XPLAIN_HYPOTHESIS_PROFILE", "default"))
