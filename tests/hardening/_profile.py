"""The hardening suite's Hypothesis profile: deterministic, database-less, no deadlines.

CI runs on a loaded 2-core box: a deadline would fail on load, not on a bug, and a random seed or
an example database would make two runs of the same commit differ. ``derandomize`` fixes the
examples per test; ``SORA2_HARDENING_EXPLORE=1`` (locally) draws new random ones, five times as many.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_EXPLORE = os.environ.get("SORA2_HARDENING_EXPLORE") == "1"

settings.register_profile(
    "sora2-hardening",
    deadline=None,
    derandomize=not _EXPLORE,
    database=None,
    print_blob=False,
    # Our strategies build whole requests (files, images, nested garbage): slow to generate by
    # Hypothesis' standards, and their size is the point.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)


def examples(n: int) -> settings:
    """The suite's settings with ``n`` examples (``5 n`` when exploring)."""
    return settings(settings.get_profile("sora2-hardening"), max_examples=n * (5 if _EXPLORE else 1))
