"""The suite-wide leak check (tests/_leak_check.py) catches each kind of leak, and only leaks.

An inner pytest run (a subprocess, so that its output never reaches this test's own captured
output, which the check searches too) holds one test per way a secret can get out, plus tests that
use the secrets as input only. Its JUnit XML says what happened to each.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

from tests._secrets import SECRETS

ROOT = Path(__file__).resolve().parents[2]

INNER = """
import logging
import sys

import pytest
from pydantic import SecretStr

from tests._secrets import FAL_KEY, OPENAI_KEY, WRONG_FAL_KEY

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

ENV_ONLY = "env-only-fal-key:9f8e7d6c5b4a39281706"


class KeyHolder(Exception):
    def __init__(self, key):
        super().__init__("refused")
        self.key = key


# -- inputs only: must pass ------------------------------------------------------------------
def test_secret_used_as_input_only(monkeypatch):
    monkeypatch.setenv("FAL_KEY", FAL_KEY)
    hidden = SecretStr(OPENAI_KEY)
    print("sent a request with", hidden)
    logging.getLogger("sora2_widgets.client").debug("key from %s", "the FAL_KEY environment variable")
    with pytest.raises(ValueError, match="duration"):
        raise ValueError("duration must be 4, 8 or 12 seconds")


def test_short_placeholder_key_in_env_is_not_searched(monkeypatch):
    monkeypatch.setenv("FAL_KEY", "any")
    print("many words contain any")


# -- captured output and logs ----------------------------------------------------------------
def test_stdout():
    print("key:", FAL_KEY)


def test_stderr():
    sys.stderr.write(OPENAI_KEY + "\\n")


def test_secret_half_alone():
    print(FAL_KEY.split(":", 1)[1])


def test_debug_log_of_the_package():
    logging.getLogger("sora2_widgets.client").debug("Authorization: Key %s", FAL_KEY)


def test_debug_log_of_httpx():
    logging.getLogger("httpx").debug("body %s", OPENAI_KEY)


def test_logged_traceback():
    try:
        raise RuntimeError(WRONG_FAL_KEY)
    except RuntimeError:
        logging.getLogger("sora2_widgets.generator").exception("job failed")


def test_key_in_force_in_the_environment(monkeypatch):
    monkeypatch.setenv("FAL_KEY", ENV_ONLY)
    print(ENV_ONLY)


@pytest.fixture
def noisy_teardown():
    yield
    print("closing with", FAL_KEY)


def test_in_teardown(noisy_teardown):
    pass


# -- exceptions ------------------------------------------------------------------------------
def test_caught_by_pytest_raises():
    with pytest.raises(ValueError):
        raise ValueError("bad api_key " + OPENAI_KEY)


def test_caught_by_the_call_form_of_pytest_raises():
    def refuse():
        raise PermissionError(FAL_KEY)

    pytest.raises(PermissionError, refuse)


def test_in_an_explicit_cause():
    with pytest.raises(RuntimeError, match="^submit failed$"):
        try:
            raise KeyError(FAL_KEY)
        except KeyError as exc:
            raise RuntimeError("submit failed") from exc


def test_in_an_implicit_context():
    with pytest.raises(RuntimeError):
        try:
            raise KeyError(OPENAI_KEY)
        except KeyError:
            raise RuntimeError("submit failed")


def test_in_an_attribute():
    with pytest.raises(KeyHolder, match="^refused$"):
        raise KeyHolder(FAL_KEY)


def test_in_an_exception_group():
    with pytest.raises(ExceptionGroup):
        raise ExceptionGroup("2 jobs failed", [ValueError("clean"), ValueError(OPENAI_KEY)])


@pytest.mark.xfail(raises=RuntimeError, strict=True)
def test_expected_failure_that_leaks():
    raise RuntimeError(FAL_KEY)


def test_warning():
    import warnings

    warnings.warn("retrying with key " + OPENAI_KEY, UserWarning, stacklevel=1)


def test_failing_anyway():
    raise RuntimeError("boom " + FAL_KEY)
"""

LEAKS = {
    "test_stdout": "FAL_KEY in captured stdout call",
    "test_stderr": "OPENAI_KEY in captured stderr call",
    "test_secret_half_alone": "the secret half of FAL_KEY in captured stdout call",
    "test_debug_log_of_the_package": "FAL_KEY in captured log call",
    "test_debug_log_of_httpx": "OPENAI_KEY in captured log call",
    "test_logged_traceback": "WRONG_FAL_KEY in captured log call",
    "test_key_in_force_in_the_environment": "$FAL_KEY in captured stdout call",
    "test_in_teardown": "FAL_KEY in captured stdout teardown",
    "test_caught_by_pytest_raises": "OPENAI_KEY in the message of ValueError (caught by pytest.raises)",
    "test_caught_by_the_call_form_of_pytest_raises": "FAL_KEY in the message of PermissionError (caught by",
    "test_in_an_explicit_cause": "FAL_KEY in the message of RuntimeError.__cause__ (KeyError)",
    "test_in_an_implicit_context": "OPENAI_KEY in the message of RuntimeError.__context__ (KeyError)",
    "test_in_an_attribute": "FAL_KEY in the attributes of KeyHolder",
    "test_in_an_exception_group": "OPENAI_KEY in the message of ExceptionGroup.exceptions[1] (ValueError)",
    "test_expected_failure_that_leaks": "FAL_KEY in the message of RuntimeError (raised out of the test)",
}


def redact(text: str) -> str:
    """The inner run's output for an assertion message: it holds the secrets, on purpose."""
    for name, value in sorted(SECRETS.items(), key=lambda kv: -len(kv[1])):
        text = text.replace(value, f"<{name}>")
    return text


def test_the_leak_check_fails_every_leak_and_nothing_else(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_inner.py").write_text(textwrap.dedent(INNER))
    junit = tmp_path / "junit.xml"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FAL_KEY")}
    env["PYTHONPATH"] = str(ROOT)
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "tests._leak_check",
            "-p",
            "no:cacheprovider",
            "-q",
            f"--junitxml={junit}",
            str(tmp_path),
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = run.stdout + run.stderr
    assert junit.exists(), redact(out[-2000:])
    outcome: dict[str, tuple[str, str]] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        bad = case.find("failure")
        if bad is None:
            bad = case.find("error")
        name = case.get("name", "")
        # A teardown error is reported as a second entry for the same test: keep the error.
        if bad is not None or name not in outcome:
            outcome[name] = ("passed", "") if bad is None else (bad.tag, f"{bad.get('message', '')}\n{bad.text}")

    assert outcome["test_secret_used_as_input_only"] == ("passed", "")
    assert outcome["test_short_placeholder_key_in_env_is_not_searched"] == ("passed", "")
    for name, expected in LEAKS.items():
        kind, message = outcome[name]
        assert all(value not in message for value in SECRETS.values()), f"{name}: the report shows the secret"
        assert kind in ("failure", "error") and "secret leak" in message, (name, kind)
        assert expected in message, (name, message)
    assert outcome["test_in_teardown"][0] == "error"  # the test passed; its teardown leaked

    # A test failing for its own reason keeps its failure and gets the leak as an extra section.
    assert outcome["test_failing_anyway"][0] == "failure"
    assert "secret leak" in out and "FAL_KEY in the message of RuntimeError (raised out of the test)" in out
    # pytest hands warnings over after the test's reports: such a leak fails the run, by name.
    assert outcome["test_warning"] == ("passed", "")
    assert "secret leak: test_inner.py::test_warning: OPENAI_KEY in a warning" in out, redact(out[-600:])
    assert run.returncode == 1
    assert f"{len(LEAKS) + 2} leaks" in out, redact(out[-600:])  # + the failing test's and the warning's
