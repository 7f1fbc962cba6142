"""Code run in the child processes of the crash-recovery and concurrent-writer tests.

Kept import-light and top-level so that a multiprocessing "forkserver" (which preloads this
module and sora2_widgets once) can start a child in milliseconds.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import sora2_widgets as sw


def _client(base_url: str) -> sw.AsyncFalClient:
    return sw.AsyncFalClient(
        "test-key",
        queue_url=base_url,
        retry=sw.RetryPolicy(attempts=6, base=0.01, cap=0.05),
        poll_interval=0.02,
        max_poll_interval=0.05,
    )


def generate(home: str, base_url: str, prompts: list[str]) -> None:
    """Generate ``prompts`` (killed at a random moment by the test)."""
    os.environ["SORA2_WIDGETS_HOME"] = home
    client = _client(base_url)
    with sw.Generator(client=client, history=sw.History(Path(home)), resume=False) as gen:
        gen.generate_many([{"model_id": "sora2_text_to_video", "prompt": p, "duration": 4} for p in prompts])


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
