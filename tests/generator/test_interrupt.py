"""Ctrl-C (a notebook's interrupt, the CLI's SIGINT) always reaches a blocked sync call."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.team.backends import Backend

ROOT = Path(__file__).resolve().parents[2]

# SIGINT sent to the *loop thread*, not the main thread: the OS may pick any thread for a
# process-directed signal, and a lock wait without a timeout would never notice it.
SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading, time
    import sora2_widgets as sw

    gen = sw.Generator(history=sw.History(), resume=False)  # the test's ledger, on either backend
    gen._loop().loop  # starts the generator's loop thread
    loop_thread = next(t for t in threading.enumerate() if t.name == "sora2-widgets-generator")

    queued = threading.Event()  # the job is in fal's queue and its row says so
    sent = []

    def interrupt_when_queued():
        # Not after a fixed time: on a loaded box that may land mid-submit, a different case.
        queued.wait()
        sent.append(time.monotonic())
        signal.pthread_kill(loop_thread.ident, signal.SIGINT)

    threading.Thread(target=interrupt_when_queued, daemon=True).start()
    try:
        gen.generate(
            "sora2_text_to_video",
            prompt="a kite that takes its time",
            on_update=lambda u: u.stage == "in_queue" and queued.set(),
        )
    except KeyboardInterrupt:
        rec = gen.history.records()[0]
        print("interrupted after", round(time.monotonic() - sent[0], 1), "s; row", rec.status, flush=True)
        gen.close()
        sys.exit(0)
    print("not interrupted", flush=True)
    sys.exit(1)
    """
)


def test_sigint_delivered_to_another_thread_still_interrupts_generate(tmp_path: Path, ledger_backend: Backend) -> None:
    env = {
        "PYTHONPATH": str(ROOT),
        "SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600",  # the job waits in the queue until interrupted
        "PATH": "/usr/bin:/bin",
        **ledger_backend.ledger_env(tmp_path / "home"),
    }
    proc = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # Interrupted within moments, and the queued job was cancelled on the service before returning.
    assert "row cancelled" in proc.stdout, proc.stdout + proc.stderr
    seconds = float(proc.stdout.split("after ")[1].split(" s")[0])
    assert seconds < 30, proc.stdout


CLIENT_SCRIPT = textwrap.dedent(
    """
    import signal, sys, threading, time
    import sora2_widgets as sw

    client = sw.FalClient()
    job = client.submit("sora2_text_to_video", prompt="a kite that takes its time")
    loop_thread = next(t for t in threading.enumerate() if t.name == "sora2-widgets-client")

    def interrupt_later():
        time.sleep(1.0)
        signal.pthread_kill(loop_thread.ident, signal.SIGINT)

    threading.Thread(target=interrupt_later, daemon=True).start()
    try:
        client.wait(job)
    except KeyboardInterrupt:
        # The protocol client leaves the job running on the service: the caller has the Job.
        print("interrupted; status", client.status(job).status, flush=True)
        sys.exit(0)
    sys.exit(1)
    """
)


@pytest.mark.sqlite_only("no ledger: the protocol client alone")
def test_sigint_delivered_to_another_thread_still_interrupts_the_sync_client(tmp_path: Path) -> None:
    env = {
        "PYTHONPATH": str(ROOT),
        "SORA2_WIDGETS_HOME": str(tmp_path / "home"),
        "SORA2_WIDGETS_EMULATOR_QUEUE_DELAY": "600",
        "PATH": "/usr/bin:/bin",
    }
    proc = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "interrupted; status IN_QUEUE" in proc.stdout, proc.stdout + proc.stderr
