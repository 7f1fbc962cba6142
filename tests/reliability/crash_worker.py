"""Code run in the child processes of the crash-recovery and concurrent-writer tests.

Kept import-light and top-level so that a multiprocessing "forkserver" (which preloads this
module and sora2_widgets once) can start a child in milliseconds.
"""

from __future__ import annotations

import asyncio
import os
from multiprocessing.synchronize import Event
from pathlib import Path

import sora2_widgets as sw

# sora2_widgets loads its layers on first use; touching them here puts them in the forkserver's
# preload, so a child does not spend its first second importing them.
_PRELOADED = (sw.Generator, sw.History, sw.AsyncFalClient)


def _client(base_url: str) -> sw.AsyncFalClient:
    return sw.AsyncFalClient(
        "test-key",
        queue_url=base_url,
        retry=sw.RetryPolicy(attempts=6, base=0.01, cap=0.05),
        poll_interval=0.02,
        max_poll_interval=0.05,
    )


def generate(home: str, base_url: str, prompts: list[str], ready: Event, accepted: Event) -> None:
    """Generate ``prompts`` (killed at a random moment by the test).

    The test times its kill from these signs, not from the child's start, so a loaded machine
    (slow imports, a slow ledger open) cannot push every kill before the first row: ``ready`` is
    set just before the first job starts, ``accepted`` once a job's request id is in the ledger
    (its first status update carries it; the id is written before the wait begins)."""
    os.environ["SORA2_WIDGETS_HOME"] = home
    client = _client(base_url)

    def seen(update: sw.Progress) -> None:
        if update.request_id is not None:
            accepted.set()

    with sw.Generator(client=client, history=sw.History(Path(home)), resume=False) as gen:
        ready.set()
        jobs = [{"model_id": "sora2_text_to_video", "prompt": p, "duration": 4} for p in prompts]
        gen.generate_many(jobs, on_update=seen)


def resume(home: str, base_url: str) -> None:
    """A new process after the crash: finish whatever the dead one left."""
    os.environ["SORA2_WIDGETS_HOME"] = home
    client = _client(base_url)
    with sw.Generator(client=client, history=sw.History(Path(home)), resume=False) as gen:
        gen.resume()
    asyncio.run(client.aclose())


def append_rows(db: str, writer: int, rows: int) -> None:
    """Many small durable writes from one process (concurrent-writers test)."""
    hist = sw.History(Path(db))
    for i in range(rows):
        hid = hist.add(
            model_id="sora2_text_to_video",
            endpoint="fal-ai/sora-2/text-to-video",
            mode="text",
            prompt=f"writer {writer} row {i}",
            provider="emulator",
            status="submitted",
            est_low_micros=400_000,
            est_high_micros=400_000,
        )
        hist.update(hid, status="completed", cost_micros=400_000, request_id=f"w{writer}-{i}")
    hist.close()


def reserve_with_budget(db: str, writer: int, tries: int, budget: str) -> int:
    """Try ``tries`` budgeted inserts of $0.40; returns how many were accepted."""
    from decimal import Decimal

    hist = sw.History(Path(db))
    accepted = 0
    for i in range(tries):
        fields = {
            "model_id": "sora2_text_to_video",
            "endpoint": "fal-ai/sora-2/text-to-video",
            "mode": "text",
            "prompt": f"budget writer {writer} try {i}",
            "provider": "emulator",
            "est_low_micros": 400_000,
            "est_high_micros": 400_000,
        }
        hid, _ = hist.add_with_budget(fields, budget=Decimal(budget), high=Decimal("0.40"))
        if hid is not None:
            hist.update(hid, status="completed", cost_micros=400_000)
            accepted += 1
    hist.close()
    return accepted
