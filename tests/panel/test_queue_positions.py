"""Queued job cards show each job's own place in the queue, as the emulator reports it (issue 18)."""

from __future__ import annotations

import re
from pathlib import Path

from sora2_widgets import AsyncFalClient, Emulator, Generator, History
from sora2_widgets.panel import JobState, JobStatus, PanelController, Sora2Panel

from ._helpers import TEXT_SORA, wait_until

# Three seconds a slice: each card's position visibly falls, and all three clicks land in the first.
QUEUE_DELAY = 9.0


def _positions(pills: list[str]) -> list[int]:
    return [int(m.group(1)) for p in pills if (m := re.fullmatch(r"In queue · #(\d+)", p))]


def test_three_queued_jobs_show_their_own_falling_positions(tmp_path: Path) -> None:
    emulator = Emulator(state_dir=tmp_path / "emu", queue_delay=QUEUE_DELAY, progress_time=0.2, queue_depth=2, seed=5)
    history = History(tmp_path / "history.sqlite3")
    generator = Generator(client=AsyncFalClient(emulator=emulator), history=history, resume=False)
    ctl = PanelController(generator, history, generator_factory=lambda key: None)
    panel = Sora2Panel(ctl)
    seen: dict[int, list[str]] = {}
    jobs: list[JobState] = []
    try:
        ctl.select((TEXT_SORA,))
        for prompt in ("a red kite", "a green kite", "a blue kite"):
            panel.prompt.value = prompt
            panel.generate.click()
            (job,) = [j for j in ctl.jobs if j.params.get("prompt") == prompt]
            card = panel.cards[job.id]
            pills = seen.setdefault(job.id, [card.status.value])
            job.observe(lambda _j, card=card, pills=pills: pills.append(card.status.value))
            wait_until(lambda job=job: job.status != JobStatus.STARTING and job.status != JobStatus.SUBMITTING)
            jobs.append(job)
        ctl.wait(120)
    finally:
        ctl.close()
        generator.close()
        history.close()
    assert all(j.status == JobStatus.DONE for j in jobs), [(j.error_title, j.error_message) for j in jobs]
    first, second, third = (_positions(seen[j.id]) for j in jobs)
    # Two other people's jobs are ahead of each (queue_depth=2), and each earlier click of ours.
    assert (first[0], second[0], third[0]) == (3, 4, 5)
    for places in (first, second, third):
        assert places == sorted(places, reverse=True) and len(set(places)) > 1, places  # it moved up, never back
    assert first[-1] == 1  # next to run before it started
