"""Killing a generating process mid-job, for the suites that check a new process resumes its job."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any

import pytest

#: A ledger row's job is running on the service (the child may be killed now).
_RUNNING = ("submitted", "in_queue", "in_progress")


def kill_once_running(
    child: subprocess.Popen[Any], row: Callable[[], Sequence[Any] | None], *, who: str, timeout: float
) -> None:
    """SIGKILL ``child`` once ``row()`` (its job's ``(status, request_id)``) shows a running job with
    a request id: no clean-up of its own runs, as after a crash. ``who`` names it in a failure."""
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = row()
            if found and found[1] and found[0] in _RUNNING:
                break
            assert child.poll() is None, f"{who} ended before it could be killed"
            time.sleep(0.05)
        else:
            pytest.fail(f"{who} never recorded its request")
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
