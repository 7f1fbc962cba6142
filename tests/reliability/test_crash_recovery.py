"""Crash recovery: kill -9 a generating process at random moments, resume in a new process.

50 seeded runs. Each run starts a child that generates 3 jobs against the loopback emulator and
SIGKILLs it after a random delay (0–0.6 s: anywhere from before the first row to after the last
download). A fresh process then resumes. Afterwards, for every run:

* every job the emulator accepted has exactly one ledger row; a row with a request id is
  ``completed`` once, with its cost counted once and its MP4 saved and checked;
* a row without a request id (killed mid-submit) is marked "submit outcome unknown", cost unknown;
* no prompt was ever submitted twice (the emulator's own job records say so);
* resuming again changes nothing.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import random
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets._generator import UNKNOWN_SUBMIT

RUNS = 50
JOBS = 3
PRICE = Decimal("0.40")


@pytest.fixture(scope="module")
def forkserver() -> multiprocessing.context.ForkServerContext:
    ctx = multiprocessing.get_context("forkserver")
    here = str(Path(__file__).parent)
    if here not in sys.path:
        sys.path.insert(0, here)
    ctx.set_forkserver_preload(["sora2_widgets", "crash_worker"])
    return ctx


def _emulator_prompts(state_dir: Path) -> Counter[str]:
    out: Counter[str] = Counter()
    for p in (state_dir / "jobs").glob("*.json"):
        out[json.loads(p.read_text())["params"].get("prompt", "")] += 1
    return out


def _snapshot(hist: sw.History) -> list[tuple[object, ...]]:
    return [(r.id, r.status, r.cost, r.request_id, r.sha256, r.error) for r in hist.records()]


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_kill_9_then_resume_recovers_every_job_exactly_once(loopback, tmp_path: Path, forkserver) -> None:
    import crash_worker

    rng = random.Random(20261125)
    outcomes: Counter[str] = Counter()
    for run in range(RUNS):
        home = tmp_path / f"run{run:02d}"
        home.mkdir()
        prompts = [f"crash run {run} job {i}" for i in range(JOBS)]
        child = forkserver.Process(target=crash_worker.generate, args=(str(home), loopback.base_url, prompts))
        child.start()
        child.join(rng.uniform(0.0, 0.6))
        child.kill()
        child.join()
        resumer = forkserver.Process(target=crash_worker.resume, args=(str(home), loopback.base_url))
        resumer.start()
        resumer.join(60)
        assert resumer.exitcode == 0, f"run {run}: the resuming process failed"

        hist = sw.History(home)
        rows = hist.records()
        accepted = _emulator_prompts(loopback.state_dir)
        by_prompt = Counter(r.prompt for r in rows)
        for p in prompts:
            assert accepted[p] <= 1, f"run {run}: {p!r} was submitted {accepted[p]} times"
            assert by_prompt[p] <= 1, f"run {run}: {p!r} has {by_prompt[p]} ledger rows"
            if accepted[p]:
                assert by_prompt[p] == 1, f"run {run}: {p!r} reached the service but has no ledger row"
        completed = 0
        for r in rows:
            if r.request_id is None:
                assert r.status == "failed" and (r.error or "").startswith(UNKNOWN_SUBMIT), (run, r.status, r.error)
                assert r.cost is None
                outcomes["unknown"] += 1
                continue
            assert r.status == "completed", (run, r.status, r.error)
            assert r.cost == PRICE
            assert r.local_path is not None and r.local_path.is_file(), (run, r.error)
            assert hashlib.sha256(r.local_path.read_bytes()).hexdigest() == r.sha256
            completed += 1
            outcomes["completed"] += 1
        assert hist.total_spent() == PRICE * completed
        outcomes["not recorded"] += JOBS - len(rows)
        before = _snapshot(hist)
        hist.close()

        again = forkserver.Process(target=crash_worker.resume, args=(str(home), loopback.base_url))
        again.start()
        again.join(60)
        hist = sw.History(home)
        assert _snapshot(hist) == before, f"run {run}: a second resume changed the ledger"
        hist.close()
    # The random kill points must actually have hit different phases.
    assert outcomes["completed"] > 0 and outcomes["unknown"] + outcomes["not recorded"] > 0, outcomes
    print("crash outcomes over", RUNS, "runs:", dict(outcomes))
