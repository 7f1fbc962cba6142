"""fal's 422 comes from the result URL of a COMPLETED job: our client and ledger record it per field."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import sora2_widgets as sw
from sora2_widgets._catalog import get_model
from sora2_widgets.emulator import Emulator
from sora2_widgets.generator import _run

pytestmark = pytest.mark.timeout(180)

DURATION_RULE = "duration must be 4, 8, 12, 16 or 20 seconds for Sora 2, got 7"


def test_the_client_raises_the_services_field_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    emu = Emulator(state_dir=tmp_path / "emulator", queue_delay=0.02, progress_time=0.02)

    async def go() -> BaseException:
        async with sw.AsyncFalClient(emulator=emu) as client:
            # Sent raw, as a body our schema would refuse: only fal (here the emulator) judges it.
            job = await client._submit(get_model("sora2_text_to_video"), {"prompt": "x", "duration": 7})
            final = await client.wait(job)
            assert final.status == "COMPLETED"  # fal has no FAILED state: the job "completes"
            with pytest.raises(sw.ValidationError) as err:
                await client.result(job)
            return err.value

    try:
        exc = asyncio.run(go())
    finally:
        emu.close()
    assert isinstance(exc, sw.ValidationError) and exc.from_service
    assert [(e.field, e.message) for e in exc.errors] == [("duration", DURATION_RULE)]


class RawClient(sw.AsyncFalClient):
    """Sends the body as given: the client's own schema check is bypassed as well."""

    async def submit(self, model_id: Any, **params: Any) -> sw.Job:  # type: ignore[override]
        return await self._submit(get_model(model_id), dict(params))


def test_twenty_raw_invalid_jobs_are_each_recorded_with_fals_422(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "gen"
    real_prepare = _run.prepare

    def raw(state: Any, model_id: str, params: Any) -> Any:
        # Validated and priced as a 4 s job, then sent as 7 s: our schema is bypassed, fal's is not.
        spec, send, fields, est = real_prepare(state, model_id, params)
        return spec, {**send, "duration": 7}, fields, est

    monkeypatch.setattr(_run, "prepare", raw)
    emu = Emulator(state_dir=home / "emulator", queue_delay=0.02, progress_time=0.02)
    try:
        client = RawClient(emulator=emu, max_concurrency=4)
        with sw.Generator(client=client, history=sw.History(home), resume=False) as gen:
            jobs = [{"model_id": "sora2_text_to_video", "prompt": f"job {i}", "duration": 4} for i in range(20)]
            outs = gen.generate_many(jobs)
            assert all(g.history_id for g in outs), [g.error for g in outs]
            records = [gen.history.get(g.history_id) for g in outs]  # type: ignore[arg-type]
    finally:
        emu.close()
    assert len(records) == 20 and emu.stats["submits"] == 20
    for rec in records:
        assert rec.status == "failed", rec
        assert rec.request_id
        assert "the service refused the input" in (rec.error or "") and DURATION_RULE in (rec.error or ""), rec.error
        assert rec.cost == Decimal(0)
