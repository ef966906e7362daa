"""Shared test setup: Hypothesis profiles and repository paths.

Profiles (select with HYPOTHESIS_PROFILE): "ci" (default; derandomized, so CI
is deterministic), "dev" (random, quick) and "thorough" (many examples).
"""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile("ci", derandomize=True, max_examples=200, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.register_profile("dev", max_examples=100, deadline=None)
settings.register_profile("thorough", max_examples=5000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
