"""The hardening suite's Hypothesis profile: deterministic, database-less, no deadlines.

CI runs on a loaded 2-core box: a deadline would fail on load, not on a bug, and a random seed or
an example database would make two runs of the same commit differ. ``derandomize`` fixes the
examples per test; ``SORA2_HARDENING_EXPLORE=1`` (locally) draws new random ones, five times as many.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings

F = TypeVar("F", bound=Callable[..., Any])

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


#: Examples each property asks for, by test name, times its parametrizations (see test_budget.py).
PLANNED: dict[str, int] = {}


def examples(n: int) -> Callable[[F], F]:
    """The suite's settings with ``n`` examples (``5 n`` when exploring), recorded in ``PLANNED``."""
    chosen = settings(settings.get_profile("sora2-hardening"), max_examples=n * (5 if _EXPLORE else 1))

    def apply(test: F) -> F:
        PLANNED[test.__name__] = n
        return chosen(test)

    return apply
