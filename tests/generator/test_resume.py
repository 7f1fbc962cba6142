"""Resuming (``generator._resume``): rows left unfinished are claimed under a lease and finished once."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path

import sora2_widgets as sw
from sora2_widgets.generator import UNKNOWN_SUBMIT
from tests.history.conftest import FakeClient
from tests.team.backends import open_history

from .gen_helpers import make


def test_partial_download_never_appears_and_resume_retries_it(home: Path, fake: FakeClient) -> None:
    fake.broken_downloads = 1
    with make(fake, home) as gen:
        g = gen._sync(gen._one(0, "sora2_text_to_video", {"prompt": "x"}, None))
        rec = gen.history.get(g.history_id)  # type: ignore[arg-type]
        assert rec.status == "completed" and rec.cost == Decimal("0.4")  # paid, so recorded
        assert rec.local_path is None and "download failed" in (rec.error or "")
        assert sorted(p.name for p in (home / "media").iterdir()) == []  # no half file, no temp left
        (again,) = gen.resume()
    rec = open_history(home).get(g.history_id)  # type: ignore[arg-type]
    assert again.ok and rec.local_path is not None and rec.local_path.is_file() and rec.error is None
    assert rec.cost == Decimal("0.4") and fake.calls["result"] == 1  # costed once, result fetched once


def test_resume_finishes_left_rows_exactly_once_with_two_generators(home: Path, fake: FakeClient) -> None:
    hist = open_history(home)
    rids = []
    for i in range(4):
        job = asyncio.run(fake.submit("sora2_text_to_video", prompt=f"left {i}"))
        rids.append(job.request_id)
        hist.add(
            model_id="sora2_text_to_video",
            endpoint="fal-ai/sora-2/text-to-video",
            mode="text",
            prompt=f"left {i}",
            params_json='{"duration": 4}',
            provider="emulator",
            status="in_progress",
            request_id=job.request_id,
            status_url=job.status_url,
            response_url=job.response_url,
            cancel_url=job.cancel_url,
            lease_owner="otherhost:1:dead",
            lease_until=0.0,
        )
    hist.add(model_id="sora2_text_to_video", endpoint="e", mode="text", provider="emulator", status="submitted")
    hist.add(
        model_id="sora2_text_to_video",
        endpoint="e",
        mode="text",
        provider="emulator",
        status="in_queue",
        request_id="gone-1",
        lease_until=0.0,
    )
    fake.wait_delay = 0.2
    a, b = make(fake, home), make(fake, home)
    try:

        async def both() -> list[list[sw.Generation]]:
            return await asyncio.gather(a.aresume(), b.aresume())

        ra, rb = asyncio.run(both())
    finally:
        a.close(), b.close()
    assert len(ra) + len(rb) == 6
    assert all(fake.results_by_request[r] == 1 for r in rids)
    recs = {r.id: r for r in hist.records()}
    assert [recs[i].status for i in range(1, 5)] == ["completed"] * 4
    assert all(recs[i].cost == Decimal("0.4") and recs[i].local_path for i in range(1, 5))
    assert recs[5].status == "unknown" and recs[5].error.startswith(UNKNOWN_SUBMIT)  # type: ignore[union-attr]
    assert recs[6].status == "failed" and "no longer has this request" in (recs[6].error or "")
    assert hist.total_spent() == Decimal("1.6")
