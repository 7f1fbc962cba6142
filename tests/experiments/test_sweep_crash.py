"""A sweep killed with ``kill -9`` half-way, then run again in a new process, pays for nothing twice.

The emulator is served on loopback from this process and keeps its jobs on disk, so both child
processes talk to one service and every job it accepted can be counted, by prompt.
"""

from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator
from sora2_widgets.emulator._serve import running_emulator

#: Child processes open the ledger by path: SQLite.
SQLITE_ONLY = True
ROOT = Path(__file__).resolve().parents[2]
PROMPTS = [f"harbour scene number {i}" for i in range(12)]

#: The sweep both children run: 12 jobs, 4 at a time, so a kill lands with some done and some running.
CHILD = textwrap.dedent(
    """
    import json, sys
    from pathlib import Path
    import sora2_widgets as sw

    home, base_url = Path(sys.argv[1]), sys.argv[2]
    prompts = json.loads(sys.argv[3])
    client = sw.AsyncFalClient("test-key", queue_url=base_url, max_concurrency=4, poll_interval=0.05)
    s = sw.sweep(prompts, "sora2_text_to_video", name="crash", duration=4)
    with sw.Generator(client=client, history=sw.History(home), resume=False, lease_seconds=600) as gen:
        results = s.run(generator=gen, progress="plain")
    print(json.dumps(results["status"].tolist()))
    """
)


def _child(home: Path, base_url: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAL_KEY", "SORA2_"))}
    env.update(SORA2_WIDGETS_HOME=str(home), PYTHONPATH=str(ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(home), base_url, json.dumps(PROMPTS)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _half_way(home: Path, timeout: float) -> dict[str, int]:
    """Wait until the ledger shows finished jobs and jobs the service is still running."""
    history = sw.History(home)
    deadline = time.monotonic() + timeout
    counts: dict[str, int] = {}
    try:
        while time.monotonic() < deadline:
            statuses = [r.status for r in history.records("sweep = ? AND request_id IS NOT NULL", ("crash",))]
            counts = dict(collections.Counter(statuses))
            if counts.get("completed", 0) >= 2 and counts.get("in_queue", 0) + counts.get("in_progress", 0) >= 2:
                return counts
            time.sleep(0.05)  # polling a ledger another process writes; the deadline bounds it
    finally:
        history.close()
    pytest.fail(f"the sweep never got half-way: {counts}")


def _jobs_by_prompt(state: Path) -> collections.Counter[str]:
    return collections.Counter(
        json.loads(p.read_text(encoding="utf-8"))["params"]["prompt"] for p in (state / "jobs").glob("*.json")
    )


@pytest.mark.slow
def test_a_sweep_killed_half_way_resumes_without_paying_twice(tmp_path: Path) -> None:
    home = tmp_path / "home"
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.0, progress_time=1.5, seed=3)
    try:
        with running_emulator(emu) as base_url:
            first = _child(home, base_url)
            try:
                at_kill = _half_way(home, timeout=120.0)
            finally:
                first.send_signal(signal.SIGKILL)
                first.communicate(timeout=60)
            assert first.returncode == -signal.SIGKILL
            before = _jobs_by_prompt(tmp_path / "emulator")
            assert 2 <= sum(before.values()) < len(PROMPTS), (before, at_kill)

            second = _child(home, base_url)
            out, err = second.communicate(timeout=240)
            assert second.returncode == 0, err[-2000:]
            after = _jobs_by_prompt(tmp_path / "emulator")
    finally:
        emu.close()
    statuses = json.loads(out.strip().splitlines()[-1])
    # Every combination ended, and the service made each one's job exactly once: the ones running at
    # the kill were resumed, not sent again. (A job killed mid-submit would read "unknown", and
    # would not be sent again either; none here may have been made twice.)
    assert set(statuses) <= {"completed", "unknown"} and statuses.count("completed") >= len(PROMPTS) - 1
    assert max(after.values()) == 1, [p for p, n in after.items() if n > 1]
    completed = {p for p, status in zip(PROMPTS, statuses, strict=True) if status == "completed"}
    assert completed <= set(after) <= set(PROMPTS)
    assert f"{len(PROMPTS)} job(s) (" in err  # the second run counted the first's finished jobs
    history = sw.History(home)
    paid = history.records("sweep = ? AND status = 'completed'", ("crash",))
    assert len({r.sweep_key for r in paid}) == len(paid)  # one paid row per combination
    history.close()
