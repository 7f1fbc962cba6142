"""Each fault switch does what it says (constructor arguments; also mutable on ``emu.faults``)."""

from __future__ import annotations

import json
import time

import httpx
import pytest
from emu_helpers import KLING, SORA

import sora2_widgets as sw
from sora2_widgets.emulator import Emulator, running_emulator


async def test_latency_delays_every_response(make_emu, api_for) -> None:
    emu = make_emu(latency=0.2)
    async with api_for(emu) as api:
        started = time.monotonic()
        await api.client.get("/")
        assert time.monotonic() - started >= 0.2


async def test_queue_depth_is_the_starting_position(make_emu, api_for) -> None:
    emu = make_emu(queue_depth=7, queue_delay=5.0)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        status = (await api.status(job)).json()
    assert job["queue_position"] == 7 and status["status"] == "IN_QUEUE" and 1 <= status["queue_position"] <= 7


async def test_fail_submits_answers_429_with_retry_after_then_accepts(make_emu, api_for) -> None:
    emu = make_emu(fail_submits=2, retry_after=3)
    async with api_for(emu) as api:
        codes = []
        for _ in range(3):
            r = await api.client.post(f"/{SORA}", json={"prompt": "x"})
            codes.append(r.status_code)
            if r.status_code == 429:
                assert r.headers["retry-after"] == "3" and "detail" in r.json()
    assert codes == [429, 429, 200]
    assert emu.stats["submits"] == 3
    assert len(list((emu.state_dir / "jobs").iterdir())) == 1, "refused submits create no job"
    emu.faults.fail_submits = 1  # switches can be flipped at run time
    async with api_for(emu) as api:
        assert (await api.client.post(f"/{SORA}", json={"prompt": "x"})).status_code == 429


async def test_status_errors_hit_the_configured_fraction_reproducibly(make_emu, api_for, tmp_path) -> None:
    async def codes(emu: Emulator) -> list[int]:
        async with api_for(emu) as api:
            job = await api.submit(SORA, {"prompt": "x"})
            return [(await api.status(job)).status_code for _ in range(30)]

    a = await codes(make_emu(status_error_rate=0.5, seed=7, state_dir=tmp_path / "a", queue_delay=30))
    b = await codes(make_emu(status_error_rate=0.5, seed=7, state_dir=tmp_path / "b", queue_delay=30))
    assert a == b, "same seed, same faults"
    assert set(a) == {202, 503}
    every = await codes(make_emu(status_error_rate=1.0, status_error_code=502, state_dir=tmp_path / "c"))
    assert set(every) == {502}


async def _read_events(client: httpx.AsyncClient, url: str, into: list[str]) -> None:
    """Read a status stream the way a plain httpx user would, collecting each event's status."""
    async with client.stream("GET", url) as resp:
        async for line in resp.aiter_lines():
            if line.startswith("data: "):
                into.append(json.loads(line[6:])["status"])


async def test_drop_streams_cuts_the_sse_connection_mid_stream(make_emu, api_for) -> None:
    # A dropped stream is a cut connection, never a normal end: a reader that took a clean end
    # for "the job is over" would be wrong, and the client must notice and recover.
    emu = make_emu(drop_streams=1, queue_delay=0.2)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        dropped: list[str] = []
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            await _read_events(api.client, job["status_url"] + "/stream", dropped)
        # One event arrives (IN_QUEUE, or IN_PROGRESS on a slow machine), then the cut: never the end.
        assert len(dropped) == 1 and dropped[0] != "COMPLETED", dropped
        whole: list[str] = []
        await _read_events(api.client, job["status_url"] + "/stream", whole)  # the switch is consumed
        assert whole[-1] == "COMPLETED"


def test_drop_streams_cuts_the_connection_on_a_real_socket(make_emu) -> None:
    emu = make_emu(drop_streams=1, queue_delay=0.2)
    with running_emulator(emu) as base, httpx.Client(base_url=base, timeout=30) as client:
        job = client.post(f"/{SORA}", json={"prompt": "x"}).json()
        seen: list[str] = []
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            with client.stream("GET", job["status_url"] + "/stream") as resp:
                for line in resp.iter_lines():
                    if line.startswith("data: "):
                        seen.append(json.loads(line[6:])["status"])
        assert len(seen) == 1 and seen[0] != "COMPLETED", seen


@pytest.mark.parametrize(
    ("drops", "how"),
    [(1, "reconnects the stream"), (100, "falls back to polling")],
)
async def test_our_client_completes_the_job_when_its_status_streams_drop(make_emu, drops: int, how: str) -> None:
    emu = make_emu(drop_streams=drops, queue_delay=0.2)
    client = sw.AsyncFalClient(emulator=emu, retry=sw.RetryPolicy(base=0.01, cap=0.05))
    async with client:
        result = await client.generate("sora2_text_to_video", prompt="through a flaky proxy")
    assert result.url and result.duration == 4
    stats = emu.stats
    assert stats["submits"] == 1 and stats["result"] == 1, "one job, fetched once"
    if how == "reconnects the stream":
        assert stats["stream"] == 2 and stats["status"] == 0
    else:
        assert stats["stream"] >= 2 and stats["status"] >= 1


def test_our_client_completes_the_job_over_a_real_socket_when_the_stream_drops(make_emu) -> None:
    # Over loopback the client's own HTTP/1.1 transport reads the cut chunked body.
    emu = make_emu(drop_streams=1, queue_delay=0.2)
    with running_emulator(emu) as base:
        with sw.FalClient(key="any", queue_url=base, retry=sw.RetryPolicy(base=0.01, cap=0.05)) as client:
            result = client.generate("sora2_text_to_video", prompt="over loopback")
    assert result.url.startswith(base) and emu.stats["stream"] == 2 and emu.stats["result"] == 1


async def test_truncate_downloads_cuts_result_and_media_bodies(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, out = await api.generate(SORA, {"prompt": "x"})  # consumes no truncation
        emu.faults.truncate_downloads = 2
        with pytest.raises(httpx.RemoteProtocolError):
            await api.result(job)
        with pytest.raises(httpx.RemoteProtocolError):
            await api.client.get(out["video"]["url"])
        assert (await api.result(job)).json() == out, "a retry gets the whole, same result"
        media = await api.client.get(out["video"]["url"])
        assert len(media.content) == out["video"]["file_size"]


async def test_slow_result_delays_the_result(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job = await api.submit(KLING, {"prompt": "x"})
        await api.wait(job)
        emu.faults.slow_result = 0.3
        started = time.monotonic()
        assert (await api.result(job)).status_code == 200
        assert time.monotonic() - started >= 0.3
        with pytest.raises(httpx.ReadTimeout):  # the in-process transport honours httpx's read timeout
            await api.client.get(job["response_url"], timeout=httpx.Timeout(5, read=0.05))


@pytest.mark.parametrize("code", [410, 404])
async def test_retired_endpoint_says_the_model_is_no_longer_available(code, make_emu, api_for) -> None:
    emu = make_emu(retired=["sora2_text_to_video", "fal-ai/sora-2/image-to-video"], retired_status=code)
    async with api_for(emu) as api:
        for endpoint in (SORA, "fal-ai/sora-2/image-to-video"):
            r = await api.client.post(f"/{endpoint}", json={"prompt": "x"})
            assert r.status_code == code and "no longer available" in r.json()["detail"]
        assert (await api.client.post(f"/run/{SORA}", json={"prompt": "x"})).status_code == code
        await api.submit(KLING, {"prompt": "still here"})


async def test_seed_makes_ids_reproducible(make_emu, api_for, tmp_path) -> None:
    async def ids(emu: Emulator) -> list[str]:
        async with api_for(emu) as api:
            return [(await api.submit(SORA, {"prompt": "x"}))["request_id"] for _ in range(3)]

    first = await ids(make_emu(seed=42, state_dir=tmp_path / "a"))
    again = await ids(make_emu(seed=42, state_dir=tmp_path / "b"))
    other = await ids(make_emu(seed=43, state_dir=tmp_path / "c"))
    assert first == again and first != other
    # Same seed on the SAME state dir must not reuse ids an earlier run issued.
    reused = await ids(make_emu(seed=42, state_dir=tmp_path / "a"))
    assert not set(reused) & set(first)


def test_invalid_switches_are_refused(tmp_path) -> None:
    with pytest.raises(ValueError, match="status_error_rate"):
        Emulator(state_dir=tmp_path, status_error_rate=2)
    with pytest.raises(ValueError, match="retired_status"):
        Emulator(state_dir=tmp_path, retired_status=500)
    with pytest.raises(KeyError):
        Emulator(state_dir=tmp_path, retired=["no-such-model"])
