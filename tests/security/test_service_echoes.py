"""A service that says the OpenAI ``api_key`` back must not get it into anything we keep or show.

OpenAI refuses a key with "Incorrect API key provided: sk-…", and the model passes that on (a log
line, the COMPLETED error, the result URL's 500); some apps echo the whole input in the result.
The client scrubs the keys of the jobs it submitted itself (tests/client); these are the cases it
cannot know the key: a job **resumed** by another process, which the history never told the key.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from tests._secrets import OPENAI_KEY
from tests.client.fakefal import KEY, QUEUE, FakeFal

#: Text near the key's shape that is not a key, and must survive the scrubbing word for word.
PROMPT = "a desk-lamp-shaped-robot-in-the-rain, sk-8 skaters, risk-assessment-of-the-storm-2026"
FAST = sw.RetryPolicy(attempts=2, base=0.001, cap=0.002)


def client(fake: FakeFal) -> sw.AsyncFalClient:
    return sw.AsyncFalClient(
        KEY, queue_url=QUEUE, transport=fake.transport(), retry=FAST, poll_interval=0.001, max_poll_interval=0.002
    )


def files_hold_the_key(root: Path) -> list[str]:
    return [p.name for p in root.rglob("*") if p.is_file() and OPENAI_KEY.encode() in p.read_bytes()]


def left_running(fake: FakeFal, home: Path) -> None:
    """A first session submits with the api_key, then loses the service: the row stays resumable."""
    for action in ("status", "stream", "result"):
        fake.fail("reset", action, times=10**6)
    with sw.History(home) as history, sw.Generator(client=client(fake), history=history, resume=False) as gen:
        (first,) = gen.generate_many([{"model_id": "sora2_text_to_video", "prompt": PROMPT, "api_key": OPENAI_KEY}])
    assert first.status == "submitted" and first.request_id  # resumable, by its request id
    fake.faults.clear()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("FAL_KEY", raising=False)
    return tmp_path / "home"


def test_a_resumed_job_whose_failure_echoes_the_api_key(home: Path) -> None:
    fake = FakeFal(reject_api_key="job")
    left_running(fake, home)
    seen: list[Any] = []
    with sw.History(home) as history, sw.Generator(client=client(fake), history=history, resume=False) as gen:
        (done,) = gen.resume(on_update=seen.append)
        rows = history.records()
    assert done.status == "failed" and "Incorrect API key provided" in (done.error or "")  # the reason is kept
    shown = [repr(done), done.error or "", done._repr_html_(), repr(seen), repr(rows), str(done.exception)]
    assert [OPENAI_KEY in text for text in shown] == [False] * len(shown)
    assert files_hold_the_key(home) == []


def test_a_result_echoing_the_input_shows_no_api_key(home: Path) -> None:
    fake = FakeFal(echo_input=True)

    async def own_job() -> sw.VideoResult:
        async with client(fake) as c:
            return await c.generate("sora2_text_to_video", prompt=PROMPT, api_key=OPENAI_KEY)

    result = asyncio.run(own_job())
    assert result.raw["input"]["prompt"] == PROMPT  # the echo is there, minus the key
    assert result.raw["input"]["api_key"] == "**********"
    assert OPENAI_KEY not in repr(result) and OPENAI_KEY not in str(result.raw)

    left_running(fake, home)

    async def resumed() -> sw.VideoResult:
        with sw.History(home) as history:
            (rec,) = [r for r in history.records() if r.status == "submitted"]
        async with client(fake) as c:
            job = c.resume(str(rec.request_id), rec.model_id)
            await c.wait(job)
            return await c.result(job)

    again = asyncio.run(resumed())
    assert again.raw["input"]["prompt"] == PROMPT
    assert OPENAI_KEY not in repr(again) and OPENAI_KEY not in str(again.raw)
