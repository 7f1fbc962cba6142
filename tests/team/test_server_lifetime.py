"""The tests' throwaway PostgreSQL server never outlives the process that started it: a run ended
with Ctrl-C, a SIGTERM (a CI timeout) or a SIGKILL leaves no server running and no folder behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# A test process in miniature: starts the server as the suite does, says where it is, then waits
# (in a sleep, as a test blocked on something would) until it is signalled.
HOLDER = """
import sys, time
from tests.team._server import running_server

with running_server() as server:
    pid = (server.data / "postmaster.pid").read_text().split()[0]
    print(server.root, pid, flush=True)
    time.sleep(600)
"""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL], ids=lambda s: s.name)
def test_the_server_stops_when_its_test_process_is_interrupted_or_killed(sig: signal.Signals) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        line = holder.stdout.readline()  # blocks until the server is up (initdb can be slow)
        assert line, holder.stderr.read() if holder.stderr else "the holder said nothing"
        root, pid = Path(line.split()[0]), int(line.split()[1])
        assert root.is_dir() and _alive(pid)
        holder.send_signal(sig)
        holder.wait(timeout=120)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
    deadline = time.monotonic() + 120  # generous: the reaper runs pg_ctl on a loaded box
    while (_alive(pid) or root.exists()) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid), f"the PostgreSQL server (pid {pid}) outlived its test process ({sig.name})"
    assert not root.exists(), f"its folder {root} was left behind ({sig.name})"
