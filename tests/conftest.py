"""Root conftest: every test runs under the suite-wide secret-leak check (tests/_leak_check.py)."""

pytest_plugins = ["tests._leak_check"]
