"""The real client under the generator (what generate_many and the panel run), on the fake fal service."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from tests.client.conftest import _isolated  # noqa: F401 - the client suites' isolation (autouse), here too
from tests.client.fakefal import KEY, QUEUE, FakeFal
from tests.history.conftest import make_mp4
from tests.team.backends import open_history


@pytest.fixture
def fake() -> FakeFal:
    """Here ``fake`` is the fake fal service (as in tests/client), not the generator suites' fake client."""
    return FakeFal()


def options(fake: FakeFal, **kw: Any) -> dict[str, Any]:
    return {
        "queue_url": QUEUE,
        "transport": fake.transport(),
        "retry": sw.RetryPolicy(base=0.001, cap=0.002),
        "poll_interval": 0.001,
        "max_poll_interval": 0.002,
        **kw,
    }


@pytest.mark.parametrize("sync_client", [False, True], ids=["AsyncFalClient", "FalClient"])
def test_generator_batches_never_exceed_max_concurrency(fake: FakeFal, tmp_path: Path, sync_client: bool) -> None:
    # generate_many (and the panel) drive submit → wait → result → download as separate calls;
    # the limit must hold there too, counted where it matters: jobs the service has running.
    limit = 4
    make_mp4(tmp_path / "clip.mp4")
    fake.video = (tmp_path / "clip.mp4").read_bytes()
    opts = options(fake, max_concurrency=limit)
    client: Any = sw.FalClient(KEY, **opts) if sync_client else sw.AsyncFalClient(KEY, **opts)
    jobs = [{"model_id": "sora2_text_to_video", "prompt": f"shot {i}", "duration": 4} for i in range(50)]
    try:
        with sw.Generator(client=client, history=open_history(tmp_path / "home"), resume=False) as gen:
            gens = gen.generate_many(jobs)
    finally:
        if sync_client:
            client.close()
    assert [g.status for g in gens] == ["completed"] * 50, {g.error for g in gens}
    assert all(g.local_path is not None and g.local_path.read_bytes() == fake.video for g in gens)
    assert fake.count("submit") == 50 and len(fake.jobs) == 50
    assert fake.max_in_flight == limit  # reached (the jobs really ran together) and never passed
    assert fake.in_flight == 0


def test_a_job_that_failed_on_fal_is_recorded_failed_not_left_resumable(fake: FakeFal, tmp_path: Path) -> None:
    # The status said COMPLETED; the result URL says why it failed (fal's 5xx with a detail).
    fake.result_error = (500, {"detail": "Sora could not render this prompt", "error_type": "internal_error"}, {})
    client = sw.AsyncFalClient(KEY, **options(fake))
    with sw.Generator(client=client, history=open_history(tmp_path / "home"), resume=False) as gen:
        (g,) = gen.generate_many([{"model_id": "sora2_text_to_video", "prompt": "hello", "duration": 4}])
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    assert g.status == "failed" and isinstance(g.exception, sw.ServiceError)
    assert rec.status == "failed" and rec.cost == Decimal(0)  # 5xx failures are not billed by fal
    assert rec.error is not None and "Sora could not render this prompt" in rec.error
    assert "resume" not in rec.error
    assert fake.count("result") == 1


def test_an_echoed_openai_key_reaches_neither_the_history_nor_progress(fake: FakeFal, tmp_path: Path) -> None:
    secret = "sk-proj-EchoedBack0123456789abcdef"
    fake.reject_api_key = "job"
    seen: list[sw.Progress] = []
    client = sw.AsyncFalClient(KEY, **options(fake))
    with sw.Generator(client=client, history=open_history(tmp_path / "home"), resume=False) as gen:
        (g,) = gen.generate_many(
            [{"model_id": "sora2_text_to_video", "prompt": "hello", "api_key": secret}], on_update=seen.append
        )
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
    assert rec.status == "failed" and rec.error is not None and "Incorrect API key provided: **********" in rec.error
    assert secret not in repr(rec) and secret not in repr(seen) and secret not in (g.error or "")
    assert not any(secret in p.read_bytes().decode("latin-1") for p in (tmp_path / "home").rglob("*") if p.is_file())
