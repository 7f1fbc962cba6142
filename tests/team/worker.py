"""What one client process of a team does in the team tests: ``python -m tests.team.worker KIND ...``.

Each is a separate process (its own interpreter, pool and pid), pointed at the same ledger by
``SORA2_WIDGETS_DATABASE_URL`` and at its own data directory by ``SORA2_WIDGETS_HOME``, as one
person's kernel on one machine would be. Every shared "fal" is an emulator on one state folder.
"""

from __future__ import annotations

import json
import sys

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator

T2T = "sora2_text_to_video"


def append(name: str, n: int) -> None:
    with sw.History() as h:
        for i in range(n):
            h.add(
                model_id=T2T,
                endpoint="fal-ai/sora-2/text-to-video",
                mode="text",
                prompt=f"{name} {i}",
                provider="emulator",
                status="completed",
                cost_micros=100_000,
            )


def jobs(state_dir: str, n: int) -> None:
    """``n`` jobs at once; prints how many the emulator took and how many the budget refused."""
    emu = Emulator(state_dir=state_dir, queue_delay=0.05, progress_time=0.3)
    try:
        client = sw.AsyncFalClient(emulator=emu, max_concurrency=n)
        with sw.Generator(client=client, resume=False) as gen:
            outs = gen.generate_many([(T2T, {"prompt": f"job {i}", "duration": 4}) for i in range(n)])
        refused = sum(1 for g in outs if isinstance(g.exception, sw.BudgetExceededError))
        print(json.dumps({"submits": emu.stats["submits"], "ok": sum(g.ok for g in outs), "refused": refused}))
    finally:
        emu.close()


def slow_job(state_dir: str) -> None:
    """One long job (killed mid-way by the test)."""
    emu = Emulator(state_dir=state_dir, queue_delay=1.0, progress_time=15.0)
    with sw.Generator(client=sw.AsyncFalClient(emulator=emu), resume=False) as gen:
        gen.generate(T2T, prompt="slow job", duration=8)
    print("finished?!")


if __name__ == "__main__":
    kind, *rest = sys.argv[1:]
    if kind == "append":
        append(rest[0], int(rest[1]))
    elif kind == "jobs":
        jobs(rest[0], int(rest[1]))
    elif kind == "slow":
        slow_job(rest[0])
    else:
        raise SystemExit(f"unknown worker kind {kind!r}")
