"""Suite-wide leak check (DESIGN §5): no test lets a secret out, whatever it is testing.

Loaded for every run by ``tests/conftest.py``. For each test phase (setup, call, teardown) it
searches what came *out* of the code under test for the fake secrets of ``tests/_secrets.py``
and for the fal keys in force in the environment (``FAL_KEY``, ``FAL_KEY_SECRET``, ``FAL_ADMIN_KEY``) and
the password in ``SORA2_WIDGETS_DATABASE_URL``:

* the exception raised out of the test, and every exception a ``pytest.raises`` block caught —
  message, ``repr``, ``args``, attributes and notes, through every chained cause / context and
  every member of an exception group;
* everything pytest captured: stdout, stderr and the log records. The ``sora2_widgets``,
  ``httpx`` and ``httpcore`` loggers are set to DEBUG while a test runs, so the most talkative
  logging the product can do is what gets searched.

A hit fails the test even if it passed (or was expected to fail); on a test that failed anyway it
adds a "secret leak" section. Warnings are searched too; pytest hands them over only after the
test's reports were made, so a leaking warning fails the run instead. Reports name the secret,
never its value. Inputs are not searched:
a test may hand a secret to the code, the code may not hand it back.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Generator, Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests._secrets import SECRETS

if sys.version_info >= (3, 11):
    from builtins import BaseExceptionGroup
else:  # pytest depends on the backport there
    from exceptiongroup import BaseExceptionGroup

#: Loggers raised to DEBUG during every test.
DEBUG_LOGGERS = ("sora2_widgets", "httpx", "httpcore")
#: Environment variables that hold a fal key (or its secret half) when a test sets one.
KEY_ENV_VARS = ("FAL_KEY", "FAL_KEY_SECRET", "FAL_ADMIN_KEY")
#: The team ledger's URL: its password must never come back out either.
DATABASE_URL_ENV = "SORA2_WIDGETS_DATABASE_URL"
#: Shorter environment values are placeholders ("x", "any"): searching for them finds noise.
MIN_ENV_SECRET = 8

_caught: list[BaseException] = []
_config_of_this_run: pytest.Config | None = None
#: Every fal key the environment held during a test of this run (warnings arrive after the test).
_env_seen_in_run: dict[str, str] = {}
_env_seen = pytest.StashKey[dict[str, str]]()
_tally = pytest.StashKey[dict[str, int]]()
_warning_leaks = pytest.StashKey[list[str]]()


def env_secrets() -> dict[str, str]:
    """The fal key in force in the environment (and its secret half), and the team ledger's
    password, by name."""
    found: dict[str, str] = {}
    for name in KEY_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if len(value) >= MIN_ENV_SECRET:
            found[f"${name}"] = value
            half = value.split(":", 1)[1] if ":" in value else ""
            if len(half) >= MIN_ENV_SECRET:
                found[f"the secret half of ${name}"] = half
    url = os.environ.get(DATABASE_URL_ENV, "")
    password = urlsplit(url).password if "://" in url else None
    if password and len(password) >= MIN_ENV_SECRET:
        found[f"the password in ${DATABASE_URL_ENV}"] = password
    return found


def hits_in(text: str, where: str, secrets: dict[str, str]) -> list[str]:
    return [f"{name} in {where}" for name, value in secrets.items() if value in text]


def _safe(render: Callable[[Any], object], obj: object) -> str:
    try:
        return str(render(obj))
    except Exception as exc:  # a broken __repr__ must not hide the rest of the search
        return f"<unrenderable: {type(exc).__name__}>"


def exception_texts(exc: BaseException) -> Iterator[tuple[str, str]]:
    """``(where, text)`` for ``exc`` and every exception chained to or grouped in it."""
    seen: set[int] = set()
    todo: list[tuple[BaseException, str]] = [(exc, type(exc).__name__)]
    while todo:
        err, path = todo.pop()
        if id(err) in seen:
            continue
        seen.add(id(err))
        yield f"the message of {path}", _safe(str, err)
        yield f"the repr of {path}", _safe(repr, err)
        yield f"the args of {path}", _safe(repr, err.args)
        if getattr(err, "__dict__", None):
            yield f"the attributes of {path}", _safe(repr, vars(err))
        if getattr(err, "__notes__", None):
            yield f"the notes of {path}", _safe(repr, err.__notes__)
        # Pushed context first so that the cause is named when both are the same exception.
        for link, other in (("__context__", err.__context__), ("__cause__", err.__cause__)):
            if other is not None:
                todo.append((other, f"{path}.{link} ({type(other).__name__})"))
        if isinstance(err, BaseExceptionGroup):
            for i, member in enumerate(err.exceptions):
                todo.append((member, f"{path}.exceptions[{i}] ({type(member).__name__})"))


def _record_caught_exceptions() -> Callable[[], None]:
    """Make ``pytest.raises`` (and ``RaisesGroup``) remember what they caught; returns the undo."""
    import _pytest.raises as raises_mod

    undo: list[tuple[type[Any], Any]] = []
    for cls in (raises_mod.RaisesExc, raises_mod.RaisesGroup):
        original = cls.__exit__

        def __exit__(self: Any, exc_type: Any, exc_val: Any, exc_tb: Any, _original: Any = original) -> bool:
            __tracebackhide__ = True
            suppressed = bool(_original(self, exc_type, exc_val, exc_tb))
            if suppressed and exc_val is not None:
                _caught.append(exc_val)
            return suppressed

        cls.__exit__ = __exit__
        undo.append((cls, original))

    def restore() -> None:
        for cls, original in undo:
            cls.__exit__ = original

    return restore


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_tally] = {"tests": 0, "phases": 0, "exceptions": 0, "captured": 0, "warnings": 0, "leaks": 0}
    config.stash[_warning_leaks] = []
    global _config_of_this_run
    _config_of_this_run = config
    config.add_cleanup(_record_caught_exceptions())


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, object, object]:
    item.config.stash[_tally]["tests"] += 1
    item.stash[_env_seen] = {}
    loggers = [logging.getLogger(name) for name in DEBUG_LOGGERS]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        return (yield)
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report: pytest.TestReport = yield
    tally = item.config.stash[_tally]
    tally["phases"] += 1
    # Teardown runs after monkeypatch undid the environment: keep what setup and call saw.
    seen = item.stash.setdefault(_env_seen, {})
    seen.update(env_secrets())
    _env_seen_in_run.update(seen)
    secrets = {**SECRETS, **seen}

    exceptions = [] if call.excinfo is None else [("raised out of the test", call.excinfo.value)]
    exceptions += [("caught by pytest.raises", exc) for exc in _caught]
    _caught.clear()
    hits: list[str] = []
    for how, exc in exceptions:
        tally["exceptions"] += 1
        for where, text in exception_texts(exc):
            hits += hits_in(text, f"{where} ({how})", secrets)
    for title, content in report.sections:
        # Sections accumulate over the phases; each phase searches only its own.
        if title.startswith("Captured ") and title.endswith(f" {call.when}"):
            tally["captured"] += 1
            hits += hits_in(content, title.lower(), secrets)

    if hits:
        tally["leaks"] += 1
        message = f"secret leak ({call.when}): " + "; ".join(dict.fromkeys(hits))
        if report.failed:
            report.sections.append(("secret leak", message))
        else:
            report.outcome = "failed"
            report.longrepr = message
            if hasattr(report, "wasxfail"):
                del report.wasxfail  # an expected failure that leaks is not the expected failure
    return report


def pytest_warning_recorded(
    warning_message: Any, when: str, nodeid: str, location: tuple[str, int, str] | None
) -> None:
    # pytest hands a test's warnings over after its reports were made: they fail the run instead.
    config = _config_of_this_run
    if config is None:
        return
    config.stash[_tally]["warnings"] += 1
    secrets = {**SECRETS, **_env_seen_in_run, **env_secrets()}
    hits = hits_in(f"{warning_message.message!s} {warning_message.message!r}", "a warning", secrets)
    if hits:
        config.stash[_warning_leaks].append(f"{nodeid or when}: " + "; ".join(hits))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if session.config.stash[_warning_leaks] and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    t = config.stash[_tally]
    for line in config.stash[_warning_leaks]:
        terminalreporter.write_line(f"secret leak: {line}", red=True)
    terminalreporter.write_line(
        f"leak check: {t['tests']} tests, {t['phases']} phases, {t['exceptions']} exceptions, "
        f"{t['captured']} non-empty captured outputs/logs and {t['warnings']} warnings searched for "
        f"{len(SECRETS)} secrets + the key in the env: {t['leaks'] + len(config.stash[_warning_leaks])} leaks"
    )
