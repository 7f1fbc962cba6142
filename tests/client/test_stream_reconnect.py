"""Our client's logs across a status stream the emulator cuts mid-job (issue 13).

fal sends each SSE event only the log lines new since that stream's previous event; a reconnected
stream starts again with every line so far. The client accumulates them: whatever the cuts, the
logs it reports hold every line of the job exactly once, in order, and never shrink.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, serving
from tests._secrets import FAL_KEY

pytestmark = pytest.mark.timeout(120)

MODEL = "sora2_text_to_video"


@pytest.fixture
def emu(tmp_path: Path) -> Iterator[Emulator]:
    # No queue: the stream opens on IN_PROGRESS. The four progress lines come 0.6 s apart, so a
    # cut after two events falls between lines even on a loaded machine (events are 20 ms ticks).
    emulator = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.0, queue_depth=0, progress_time=2.4)
    yield emulator
    emulator.close()


@asynccontextmanager
async def _client(emu: Emulator, where: str) -> AsyncIterator[sw.AsyncFalClient]:
    retry = sw.RetryPolicy(base=0.01, cap=0.05)
    if where == "in-process":
        async with sw.AsyncFalClient(emulator=emu, retry=retry) as client:
            yield client
        return
    with serving(emu) as served:
        async with sw.AsyncFalClient(key=FAL_KEY, queue_url=served.queue_url, retry=retry) as client:
            yield client


def _lines(logs: object) -> list[tuple[str, str | None]]:
    return [(line.message, line.timestamp) for line in logs]  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["in-process", "loopback"])
@pytest.mark.parametrize(("cuts", "then"), [(1, "reconnects"), (2, "polls")])
async def test_logs_hold_every_line_once_in_order_across_cut_streams(
    emu: Emulator, where: str, cuts: int, then: str
) -> None:
    emu.faults.drop_streams = cuts
    emu.faults.drop_stream_after = 2
    updates: list[sw.QueueUpdate] = []
    async with _client(emu, where) as client:
        job = await client.submit(MODEL, prompt="across a flaky proxy", duration=4)
        final = await asyncio.wait_for(client.wait(job, on_update=updates.append), 90)
        polled = await client.status(job)
    record = emu.load(job.request_id)
    assert record is not None
    truth = [(entry.message, entry.to_json()["timestamp"]) for entry in emu.snapshot(record).logs]
    shown = _lines(final.logs)
    assert final.done and not final.failed
    assert len(truth) >= 5, truth
    assert shown == truth, "every line of the job, once, in the emulator's order"
    assert shown == _lines(polled.logs), "the same lines polling returns in one answer"
    # Nothing shown was ever taken back or shown again: each update extends the previous one.
    for before, after in itertools.pairwise(updates):
        assert _lines(after.logs)[: len(before.logs)] == _lines(before.logs)
    assert any(0 < len(u.logs) < len(truth) for u in updates), "lines were shown before the job ended"
    stats = emu.stats
    assert emu.faults.drop_streams == 0, "every cut happened"
    if then == "reconnects":
        assert stats["stream"] == 2 and stats["status"] == 1, stats  # the one status is ours, above
    else:  # STREAM_ATTEMPTS streams cut: the rest of the wait polls
        assert stats["stream"] == 2 and stats["status"] >= 2, stats


@pytest.mark.parametrize("bad", [0, -1, True, 1.5, "2"])
def test_the_cut_switch_takes_a_whole_number_of_events(bad: object) -> None:
    with pytest.raises(ValueError, match="drop_stream_after must be a whole number of events, 1 or more"):
        sw.emulator.Faults(drop_stream_after=bad)  # type: ignore[arg-type]
