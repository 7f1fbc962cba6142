"""Root conftest: every test runs under the suite-wide secret-leak check (tests/_leak_check.py);
a test that asks for ``ledger_backend`` runs on SQLite and on the session's one PostgreSQL server
(tests/team/backends.py)."""

pytest_plugins = ["tests._leak_check", "tests.team.backends"]
