"""Job state lives in state_dir, not in a process: new instances and new processes answer for old request ids."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from emu_helpers import SORA

import sora2_widgets as sw
from sora2_widgets.emulator import default_emulator

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.asyncio
async def test_a_new_instance_answers_for_a_request_of_the_previous_one(make_emu, api_for, tmp_path) -> None:
    first = make_emu(state_dir=tmp_path / "state")
    async with api_for(first) as api:
        job, out = await api.generate(SORA, {"prompt": "persisted", "delete_video": False})
    first.close()

    second = make_emu(state_dir=tmp_path / "state")
    async with api_for(second) as api:
        status = (await api.status(job)).json()
        assert status["status"] == "COMPLETED"
        assert (await api.result(job)).json() == out
        # The media files are gone (cleaned cache, new machine...): they are re-rendered, same size.
        for path in (tmp_path / "state" / "media" / job["request_id"]).iterdir():
            path.unlink()
        again = (await api.result(job)).json()
        assert (again["video"]["width"], again["video"]["height"]) == (out["video"]["width"], out["video"]["height"])
        media = await api.client.get(again["video"]["url"])
        assert media.status_code == 200 and media.content[4:8] == b"ftyp"
        # And its video_id is still remixable from the new instance.
        _, remix = await api.generate(
            "fal-ai/sora-2/video-to-video/remix", {"prompt": "r", "video_id": out["video_id"]}
        )
        assert remix["video"]["duration"] == out["video"]["duration"]


def test_a_job_whose_process_died_before_rendering_completes_in_the_next_process(make_emu, api_for, tmp_path) -> None:
    state = tmp_path / "state"
    script = textwrap.dedent(
        f"""
        import asyncio, json, os, httpx
        from sora2_widgets.emulator import Emulator

        async def main():
            emu = Emulator(state_dir={str(state)!r}, queue_delay=0.05, progress_time=0.1)
            async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as c:
                r = await c.post("/fal-ai/sora-2/text-to-video", json={{"prompt": "orphan", "duration": 4}})
                print(json.dumps(r.json()), flush=True)
            os._exit(0)  # killed: no render finishes, nothing is cleaned up

        asyncio.run(main())
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "SORA2_WIDGETS_HOME": str(tmp_path / "home")}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    job = json.loads(proc.stdout.strip().splitlines()[-1])

    emu = make_emu(state_dir=state)

    async def finish() -> dict:
        async with api_for(emu) as api:
            done = await api.wait(job)
            assert done["status"] == "COMPLETED" and "error" not in done
            return (await api.result(job)).json()

    out = asyncio.run(finish())
    assert out["video"]["duration"] == 4 and out["video"]["file_size"] > 0


def test_default_emulator_is_shared_and_lives_under_the_data_dir(tmp_path, monkeypatch) -> None:
    import sora2_widgets.emulator._emulator as module

    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(module, "_default", None)
    emu = default_emulator()
    try:
        assert emu is default_emulator()
        assert emu.state_dir == tmp_path / "home" / "emulator"
        assert sw.Emulator is type(emu)
        assert emu.base_url == "http://emulator.sora2-widgets.invalid"
        # Usable from several event loops one after another (nothing is bound to a loop).
        for _ in range(2):
            asyncio.run(_one_submit(emu))
    finally:
        emu.close()
        monkeypatch.setattr(module, "_default", None)


async def _one_submit(emu: sw.Emulator) -> None:
    import httpx

    async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as client:
        r = await client.post(f"/{SORA}", json={"prompt": "x"})
        assert r.status_code == 200


def test_default_emulator_timings_come_from_the_environment(tmp_path, monkeypatch) -> None:
    # A served kernel (Voila, Lab) can only be slowed from outside through its environment.
    import sora2_widgets.emulator._emulator as module

    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SORA2_WIDGETS_EMULATOR_QUEUE_DELAY", "30")
    monkeypatch.setenv("SORA2_WIDGETS_EMULATOR_PROGRESS_TIME", " 2.5 ")
    monkeypatch.setattr(module, "_default", None)
    emu = default_emulator()
    try:
        assert (emu.queue_delay, emu.progress_time) == (30.0, 2.5)

        async def submit_and_poll() -> str:
            import httpx

            async with httpx.AsyncClient(transport=emu.transport(), base_url=emu.base_url) as client:
                r = await client.post(f"/{SORA}", json={"prompt": "slow"})
                status = await client.get(r.json()["status_url"].removeprefix(emu.base_url))
                return str(status.json()["status"])

        assert asyncio.run(submit_and_poll()) == "IN_QUEUE"  # 30 s in the queue: still there
    finally:
        emu.close()
        monkeypatch.setattr(module, "_default", None)


@pytest.mark.parametrize("raw", ["soon", "-1", "nan", "inf"])
def test_a_bad_emulator_timing_in_the_environment_is_refused_by_name(raw, tmp_path, monkeypatch) -> None:
    import sora2_widgets.emulator._emulator as module

    monkeypatch.setenv("SORA2_WIDGETS_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SORA2_WIDGETS_EMULATOR_PROGRESS_TIME", raw)
    monkeypatch.setattr(module, "_default", None)
    with pytest.raises(ValueError, match="SORA2_WIDGETS_EMULATOR_PROGRESS_TIME"):
        default_emulator()
    assert module._default is None
