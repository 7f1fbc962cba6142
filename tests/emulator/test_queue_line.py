"""Each job's own place in the emulator's queue: the jobs of its app waiting ahead of it count (issue 18)."""

from __future__ import annotations

from emu_helpers import KLING, SORA, SORA_PRO


async def test_jobs_sent_together_get_their_own_positions_which_fall_as_those_ahead_start(make_emu, api_for) -> None:
    emu = make_emu(queue_depth=1, queue_delay=600.0, progress_time=0.3)
    async with api_for(emu) as api:
        jobs = [await api.submit(endpoint, {"prompt": f"job {i}", "duration": 4}) for i, endpoint in
                enumerate((SORA, SORA_PRO, KLING, SORA))]  # fmt: skip
        # One other person's job ahead of each (queue_depth=1), and our earlier jobs of the same app
        # (both Sora endpoints are the fal-ai/sora-2 app; Kling waits in its own app's queue).
        assert [j["queue_position"] for j in jobs] == [1, 2, 1, 3]
        statuses = [(await api.status(j)).json() for j in jobs]
        assert [s["queue_position"] for s in statuses] == [1, 2, 1, 3]
    first, second, _kling, fourth = (emu.load(j["request_id"]) for j in jobs)
    assert first is not None and second is not None and fourth is not None
    # In the wait's second half the others' job has gone; then each of ours starts in turn.
    half = first.submitted_at + 0.6 * emu.queue_delay
    assert [emu.snapshot(r, now=half).queue_position for r in (first, second, fourth)] == [0, 1, 2]
    after_first = first.started_at + 1e-6
    assert [emu.snapshot(r, now=after_first).status for r in (first, second)] == ["IN_PROGRESS", "IN_QUEUE"]
    assert emu.snapshot(second, now=after_first).queue_position == 0
    assert emu.snapshot(fourth, now=after_first).queue_position == 1


async def test_a_cancelled_job_is_not_ahead_of_later_ones(make_emu, api_for) -> None:
    emu = make_emu(queue_depth=0, queue_delay=600.0, progress_time=0.3)
    async with api_for(emu) as api:
        first = await api.submit(SORA, {"prompt": "one", "duration": 4})
        assert (await api.client.put(first["cancel_url"])).status_code == 202
        second = await api.submit(SORA, {"prompt": "two", "duration": 4})
        assert (first["queue_position"], second["queue_position"]) == (0, 0)
