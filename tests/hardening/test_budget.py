"""The suite's size: at least 2,000 generated examples per CI run (issue 16), within a minute's work."""

from __future__ import annotations

import importlib

import pytest

from tests.hardening._profile import PLANNED

MODULES = ("test_validation_properties", "test_cli_properties", "test_generate_properties")


def test_the_hardening_suite_runs_at_least_2000_examples() -> None:
    total = 0
    for name in MODULES:
        module = importlib.import_module(f"tests.hardening.{name}")
        for test_name, n in PLANNED.items():
            test = getattr(module, test_name, None)
            if test is None:
                continue
            cases = 1
            for mark in getattr(test, "pytestmark", []):
                if mark.name == "parametrize":
                    cases *= len(mark.args[1])
            total += n * cases
    assert len(PLANNED) >= 8, sorted(PLANNED)  # every property registered its count
    if total < 2000:
        pytest.fail(f"the hardening suite plans {total} examples; issue 16 asks for at least 2000")
