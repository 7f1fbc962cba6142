"""Running a sweep: finish what an earlier run left running, then send the combinations left.

The ledger decides (``_results``): a combination already completed is skipped, one still running
is resumed (never sent again), one whose submit outcome is unknown is left alone, and the rest
run concurrently through the generator, each row carrying the sweep's name and the combination's
key from the moment it is written. A process killed half-way therefore leaves rows the next run
finds, and nothing is paid for twice.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._results import active, best_rows, to_run

if TYPE_CHECKING:
    from ..generator import Generation, Generator, Progress
    from ..history import History
    from ._plan import PlannedJob
    from ._progress import SweepProgress

__all__ = ["run_sweep"]

#: How often rows another process is still working on are looked at again.
POLL_SECONDS = 0.5


async def run_sweep(
    name: str, jobs: Sequence[PlannedJob], generator: Generator, progress: SweepProgress
) -> list[Generation]:
    """Run what is left of the sweep; returns the Generations of the jobs sent (or resumed) now."""
    history = generator.history
    rows = await asyncio.to_thread(best_rows, history, name)
    pending = to_run(jobs, rows)
    running = active(jobs, rows)
    labels = {j.combination.key: j.combination.label() for j in jobs}
    progress.start(len(jobs), len(jobs) - len(pending) - len(running))
    out: list[Generation] = []
    if running:
        out += await _finish_running(generator, history, {r.id: labels[r.sweep_key or ""] for r in running}, progress)
    if pending:

        def on_update(update: Progress) -> None:
            if update.generation is not None:
                progress.advance(pending[update.index].combination.label(), update.generation.status)

        out += await generator.agenerate_many(
            [{"model_id": j.combination.model_id, **j.combination.request()} for j in pending],
            on_update=on_update,
            sweeps=[(name, j.combination.key) for j in pending],
        )
    return out


async def _finish_running(
    generator: Generator, history: History, waiting: dict[int, str], progress: SweepProgress
) -> list[Generation]:
    """Resume this sweep's running rows, and wait for those another live process looks after.

    Rows left by a dead process are claimed at once (its lease is void); a row another kernel is
    running now is left to it, and looked at again until it ends."""
    out: list[Generation] = []
    while waiting:
        resumed = await generator.aresume()
        out += [g for g in resumed if g.history_id in waiting]
        for hid in list(waiting):
            rec = await asyncio.to_thread(history.get, hid)
            if not rec.is_active:
                progress.advance(waiting.pop(hid), rec.status)
        if waiting:
            await asyncio.sleep(POLL_SECONDS)
    return out
