"""The emulator speaks fal's queue protocol: every model, every state, polling and SSE, cancel, 422s, URLs, auth."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest
from emu_helpers import KLING, KLING_I2V, REMIX, SORA, SORA_I2V, SORA_PRO, png_data_uri

import sora2_widgets as sw
from sora2_widgets.emulator import DEFAULT_BASE_URL, Emulator
from sora2_widgets.emulator._emulator import DEFAULT_PROGRESS_TIME, DEFAULT_QUEUE_DELAY, DEFAULT_QUEUE_DEPTH
from sora2_widgets.emulator._serve import build_parser
from tests._secrets import FAL_KEY, OPENAI_KEY, WRONG_FAL_KEY


def minimal_body(spec: sw.ModelSpec) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": f"a test clip for {spec.name}"}
    for name in spec.required:
        if name in spec.image_fields:
            body[name] = png_data_uri(64, 36)
    if "video_id" in spec.required:
        body["video_id"] = "video_" + "0" * 32
    if "resolution" in spec.allowed:
        body["resolution"] = "720p"  # keep renders small; size is tested elsewhere
    return body


@pytest.mark.parametrize("spec", sw.MODELS, ids=lambda s: s.id)
async def test_every_catalog_model_submits_and_completes_under_its_app_id(spec, make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(f"/{spec.endpoint}", json=minimal_body(spec))
        assert r.status_code == 200, r.text
        assert r.headers["x-sora2-emulator"] == "1"
        job = r.json()
        rid = job["request_id"]
        assert r.headers["x-fal-request-id"] == rid
        root = f"{DEFAULT_BASE_URL}/{spec.app_id}/requests/{rid}"
        assert job["response_url"] == root
        assert job["status_url"] == root + "/status"
        assert job["cancel_url"] == root + "/cancel"
        assert job["queue_position"] == DEFAULT_QUEUE_DEPTH and job["status"] == "IN_QUEUE"
        if spec.endpoint != spec.app_id:  # the sub-path is not part of the request URLs
            assert spec.endpoint not in job["status_url"]

        done = await api.wait(job)
        result = await api.result(job)
        if spec.inherits_from_source:  # an unknown video_id: accepted, then refused by the "model"
            assert done["error_type"] == "video_not_found"
            assert result.status_code == 422
            return
        assert "error" not in done
        assert result.status_code == 200, result.text
        out = result.json()
        video = out["video"]
        assert video["content_type"] == "video/mp4" and video["file_size"] > 0
        assert video["url"].startswith(f"{DEFAULT_BASE_URL}/media/{rid}/")
        if spec.is_sora:
            assert set(out) == {"video", "video_id", "thumbnail"}
            assert out["video_id"].startswith("video_")
            assert {"width", "height", "fps", "duration", "num_frames", "file_name"} <= set(video)
            assert out["thumbnail"]["content_type"] == "image/jpeg"
        else:  # each family's shape, from its catalog entry
            output = spec.entry.output
            assert set(out) == {"video", *output.extra}
            size = {"width", "height", "fps", "duration", "num_frames"} if output.reports_size else set()
            assert set(video) == {"url", "content_type", "file_name", "file_size", *size}


async def test_polling_walks_queue_progress_completed_with_falling_position_and_logs(make_emu, api_for) -> None:
    emu = make_emu(queue_depth=3, queue_delay=0.3, progress_time=0.3)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "waves", "duration": 4})
        assert job["queue_position"] == 3
        seen: list[tuple[int, dict[str, Any]]] = []
        for _ in range(500):
            r = await api.status(job)
            seen.append((r.status_code, r.json()))
            if r.json()["status"] == "COMPLETED":
                break
            await asyncio.sleep(0.01)
    statuses = [b["status"] for _, b in seen]
    order = {"IN_QUEUE": 0, "IN_PROGRESS": 1, "COMPLETED": 2}
    assert [order[s] for s in statuses] == sorted(order[s] for s in statuses)
    assert {"IN_QUEUE", "IN_PROGRESS", "COMPLETED"} <= set(statuses)
    assert all(code == 202 for code, b in seen if b["status"] != "COMPLETED")
    assert seen[-1][0] == 200
    positions = [b["queue_position"] for _, b in seen if b["status"] == "IN_QUEUE"]
    assert positions[0] == 3 and positions == sorted(positions, reverse=True) and len(set(positions)) > 1
    assert all("queue_position" not in b for _, b in seen if b["status"] != "IN_QUEUE")
    running = [b for _, b in seen if b["status"] == "IN_PROGRESS"]
    assert all(isinstance(b["logs"], list) and b["logs"] for b in running)
    final = seen[-1][1]
    assert final["metrics"]["inference_time"] > 0
    messages = [entry["message"] for entry in final["logs"]]
    assert all("[simulated]" in m for m in messages)
    assert all({"message", "level", "timestamp"} <= set(entry) for entry in final["logs"])
    assert any("encoded H.264" in m for m in messages)


async def test_the_default_emulator_shows_a_falling_queue_position_without_slowing_jobs(tmp_path, api_for) -> None:
    # What a first-time user meets (no fal key): IN_QUEUE at 2, 1, 0, then IN_PROGRESS, then
    # COMPLETED, inside the default timings (0.4 s queued + 1 s in progress), not after them.
    emu = Emulator(state_dir=tmp_path / "emulator")
    try:
        assert (emu.queue_delay, emu.progress_time, emu.queue_depth) == (DEFAULT_QUEUE_DELAY, DEFAULT_PROGRESS_TIME, 2)
        assert build_parser().parse_args([]).queue_depth == DEFAULT_QUEUE_DEPTH  # the CLI serves the same
        async with api_for(emu) as api:
            started = asyncio.get_running_loop().time()
            job = await api.submit(SORA, {"prompt": "a falling queue"})
            events: list[tuple[str, int | None]] = []
            async with api.client.stream("GET", job["status_url"] + "/stream") as resp:
                async for line in resp.aiter_lines():
                    if line.startswith("data: "):
                        event = json.loads(line[len("data: ") :])
                        events.append((event["status"], event.get("queue_position")))
            elapsed = asyncio.get_running_loop().time() - started
    finally:
        emu.close()
    assert job["queue_position"] == 2
    assert events[:3] == [("IN_QUEUE", 2), ("IN_QUEUE", 1), ("IN_QUEUE", 0)]
    later = [status for status, _ in events[3:]]
    assert later[0] == "IN_PROGRESS" and later[-1] == "COMPLETED"
    assert set(later[:-1]) == {"IN_PROGRESS"}  # log lines arrive as further IN_PROGRESS events
    assert elapsed < DEFAULT_QUEUE_DELAY + DEFAULT_PROGRESS_TIME + 1.0


async def test_logs_are_null_unless_asked_and_fal_client_style_true_works(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=0.0)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        await api.wait(job)
        plain = await api.client.get(job["status_url"])
        assert plain.json()["logs"] is None
        verbose = await api.client.get(job["status_url"], params={"logs": "true"})
        assert verbose.json()["logs"]


async def test_status_stream_sends_each_change_and_ends_at_completed(make_emu, api_for) -> None:
    # A queue wait of 3 s: the stream must open (and its first event arrive) while the job is still
    # queued, even when a loaded box takes a second between the submit and the stream.
    emu = make_emu(queue_depth=2, queue_delay=3, progress_time=0.2)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "sse"})
        events: list[dict[str, Any]] = []
        state_at_first_event = None
        async with api.client.stream("GET", job["status_url"] + "/stream", params={"logs": "1"}) as resp:
            assert resp.status_code == 200
            assert resp.headers["content-type"].startswith("text/event-stream")
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    events.append(json.loads(line[len("data: ") :]))
                    if state_at_first_event is None:
                        # Arrives while the job is still queued: the body streams, it is not buffered.
                        state_at_first_event = (await api.status(job)).json()["status"]
        polled = (await api.status(job)).json()["logs"]
    assert state_at_first_event == "IN_QUEUE"
    assert events[0]["status"] == "IN_QUEUE" and events[0]["queue_position"] == 2
    assert events[-1]["status"] == "COMPLETED"
    assert [e["status"] for e in events].count("COMPLETED") == 1
    # One event per change: a new state, or new log lines. Each event carries only the lines that
    # are new since the previous one (fal's JS client appends them); together they are all the lines.
    states = [(e["status"], e.get("queue_position")) for e in events]
    assert all(b != a or e["logs"] for a, b, e in zip(states, states[1:], events[1:])), "one event per change"
    streamed = [(line["message"], line["timestamp"]) for e in events for line in e["logs"]]
    assert len(streamed) == len(set(streamed)), "no line is sent twice"
    assert streamed == [(line["message"], line["timestamp"]) for line in polled], "polling still returns them all"
    assert emu.stats["stream"] == 1


async def test_cancel_queued_job_then_already_completed(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=5.0)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "cancel me"})
        r = await api.client.put(job["cancel_url"])
        assert r.status_code == 202 and r.json() == {"status": "CANCELLATION_REQUESTED"}
        status = (await api.status(job)).json()
        assert status["status"] == "COMPLETED" and status["error_type"] == "client_cancelled"
        result = await api.result(job)
        assert result.status_code == 499 and result.json()["error_type"] == "client_cancelled"
        again = await api.client.put(job["cancel_url"])
        assert again.status_code == 400 and again.json()["status"] == "ALREADY_COMPLETED"


async def test_cancel_in_progress_is_accepted_and_completed_job_refuses(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=0.0, progress_time=5.0)
    async with api_for(emu) as api:
        running = await api.submit(SORA, {"prompt": "running"})
        assert (await api.status(running)).json()["status"] == "IN_PROGRESS"
        assert (await api.client.put(running["cancel_url"])).status_code == 202
        emu.progress_time = 0.05
        done = await api.submit(SORA, {"prompt": "done"})
        await api.wait(done)
        r = await api.client.put(done["cancel_url"])
        assert r.status_code == 400 and r.json()["status"] == "ALREADY_COMPLETED"
        assert (await api.result(done)).status_code == 200, "a refused cancel leaves the result intact"
        missing = await api.client.put(
            done["cancel_url"].replace(done["request_id"], "0" * 8 + "-0000-4000-8000-" + "0" * 12)
        )
        assert missing.status_code == 404 and missing.json()["status"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("endpoint", "body", "loc", "kind"),
    [
        (SORA, {"prompt": "x", "duration": 5}, ["body", "duration"], "value_not_allowed"),
        (KLING, {"prompt": "x", "duration": "7"}, ["body", "duration"], "value_not_allowed"),
        (SORA_I2V, {"prompt": "x"}, ["body", "image_url"], "missing"),
        (KLING_I2V, {"prompt": "x"}, ["body", "image_url"], "missing"),
        (SORA, {"prompt": "x", "fps": 60}, ["body", "fps"], "extra_forbidden"),
        (SORA_PRO, {"prompt": "x", "resolution": "4k"}, ["body", "resolution"], "value_not_allowed"),
        (REMIX, {"prompt": "x"}, ["body", "video_id"], "missing"),
    ],
)
async def test_invalid_input_is_accepted_and_its_result_answers_fal_422(
    endpoint, body, loc, kind, make_emu, api_for
) -> None:
    # fal's queue accepts any body; the job completes (no FAILED state) with error/error_type,
    # and the result URL answers the model's 422 {"detail": [{loc, msg, type}]}.
    emu = make_emu()
    async with api_for(emu) as api:
        job = await api.submit(endpoint, body)
        done = await api.wait(job)
        r = await api.result(job)
    assert done["status"] == "COMPLETED" and done["error_type"] == kind and done["error"]
    assert loc[-1] in done["error"]
    assert r.status_code == 422 and r.headers["x-fal-retryable"] == "false"
    detail = r.json()["detail"]
    assert isinstance(detail, list) and detail
    assert {"loc": loc, "type": kind} == {"loc": detail[0]["loc"], "type": detail[0]["type"]}
    assert isinstance(detail[0]["msg"], str) and detail[0]["msg"]


@pytest.mark.parametrize(("endpoint", "body"), [(SORA, {"prompt": "x", "duration": 5}), (REMIX, {"prompt": "x"})])
async def test_reject_invalid_at_submit_answers_422_on_the_post(endpoint, body, make_emu, api_for) -> None:
    emu = make_emu(reject_invalid_at_submit=True)  # the emulator's old, non-fal behaviour, on request
    async with api_for(emu) as api:
        r = await api.client.post(f"/{endpoint}", json=body)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][0] == "body"
    assert not list((emu.state_dir / "jobs").iterdir()), "a refused request creates no job"


async def test_422_never_echoes_a_secret_and_bad_json_is_422(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x", "duration": 3, "api_key": OPENAI_KEY})
        status = await api.wait(job)
        r = await api.result(job)
        assert r.status_code == 422 and OPENAI_KEY not in r.text and OPENAI_KEY not in json.dumps(status)
        run = await api.client.post(f"/run/{SORA}", json={"prompt": "x", "duration": 3, "api_key": OPENAI_KEY})
        assert run.status_code == 422 and OPENAI_KEY not in run.text
        # A body that is not JSON cannot even be queued: refused on the submit.
        bad = await api.client.post(f"/{SORA}", content=b"{not json", headers={"content-type": "application/json"})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body"]
    stored = "".join(p.read_text() for p in (emu.state_dir / "jobs").iterdir())
    assert OPENAI_KEY not in stored


async def test_a_job_record_never_stores_the_api_key(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x", "api_key": "sk-never-on-disk"})
        await api.wait(job)
    stored = "".join(p.read_text() for p in (emu.state_dir / "jobs").iterdir())
    assert "sk-never-on-disk" not in stored and job["request_id"] in stored


async def test_request_urls_follow_the_app_id_rule(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        rid = job["request_id"]
        under_endpoint = await api.client.get(f"/{SORA}/requests/{rid}/status")
        assert under_endpoint.status_code == 404
        other_app = await api.client.get(f"/fal-ai/kling-video/requests/{rid}/status")
        assert other_app.status_code == 404
        assert (await api.client.get(f"/fal-ai/sora-2/requests/{rid}/status")).status_code in (200, 202)
        unknown = await api.client.post("/fal-ai/not-a-model", json={"prompt": "x"})
        assert unknown.status_code == 404 and "not-a-model" in unknown.json()["detail"]
        assert unknown.headers["x-sora2-emulator"] == "1"


async def test_result_before_completion_is_400_still_in_progress(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=5.0)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        r = await api.result(job)
    assert r.status_code == 400 and r.json() == {"detail": "Request is still in progress"}
    assert r.headers["x-fal-retryable"] == "false" and r.headers["x-fal-request-id"] == job["request_id"]


async def test_any_key_or_none_is_accepted_by_default(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        await api.submit(SORA, {"prompt": "no header"})
    async with api_for(emu, authorization="Key whatever:secret") as api:
        await api.submit(SORA, {"prompt": "some key"})


async def test_required_key_gives_401_without_echoing_it(make_emu, api_for) -> None:
    emu = make_emu(require_key=FAL_KEY)
    async with api_for(emu) as anonymous:
        r = await anonymous.client.post(f"/{SORA}", json={"prompt": "x"})
        assert r.status_code == 401 and isinstance(r.json()["detail"], str)
    async with api_for(emu, authorization=f"Key {WRONG_FAL_KEY}") as wrong:
        r = await wrong.client.post(f"/{SORA}", json={"prompt": "x"})
        assert r.status_code == 401
        assert WRONG_FAL_KEY not in r.text and FAL_KEY not in r.text
    async with api_for(emu, authorization=f"Key {FAL_KEY}") as good:
        job, out = await good.generate(SORA, {"prompt": "x"})
    async with api_for(emu) as anonymous:
        assert (await anonymous.client.get(job["status_url"])).status_code == 401
        media = await anonymous.client.get(out["video"]["url"])
        assert media.status_code == 200, "media URLs need no key, like fal's CDN"


async def test_synchronous_run_endpoint_returns_the_output(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.post(f"/run/{KLING}", json={"prompt": "sync", "aspect_ratio": "9:16"})
        assert r.status_code == 200, r.text
        assert set(r.json()) == {"video"}
        bad = await api.client.post(f"/run/{SORA}", json={"prompt": "x", "duration": 9})
        assert bad.status_code == 422
    assert emu.stats["run"] == 2 and emu.stats["submits"] == 0


async def test_stats_count_each_route_kind(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        job, out = await api.generate(SORA, {"prompt": "x"})
        await api.client.get(out["video"]["url"])
        await api.client.put(job["cancel_url"])
    stats = emu.stats
    assert stats["submits"] == 1 and stats["result"] == 1 and stats["media"] == 1 and stats["cancel"] == 1
    assert stats["status"] >= 1
    emu.reset_stats()
    assert set(emu.stats.values()) == {0}


async def test_status_of_unknown_request_is_404(make_emu, api_for) -> None:
    emu = make_emu()
    async with api_for(emu) as api:
        r = await api.client.get("/fal-ai/sora-2/requests/not-an-id/status")
        assert r.status_code == 404
        r = await api.client.get("/fal-ai/sora-2/requests/../../etc/passwd")
        assert r.status_code == 404


def test_transport_type_is_streaming_not_httpx_buffering(make_emu) -> None:
    emu = make_emu()
    transport = emu.transport()
    assert isinstance(transport, httpx.AsyncBaseTransport)
    assert not isinstance(transport, httpx.ASGITransport)


async def test_closing_a_stream_early_stops_the_server_side_task(make_emu, api_for) -> None:
    emu = make_emu(queue_delay=5.0)
    async with api_for(emu) as api:
        job = await api.submit(SORA, {"prompt": "x"})
        async with api.client.stream("GET", job["status_url"] + "/stream") as resp:
            async for line in resp.aiter_lines():
                if line.startswith("data: "):
                    break  # the client walks away mid-stream
        await asyncio.sleep(0.1)
        others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        assert others == [], "the in-process app task must end when the client disconnects"


def test_the_queue_depth_help_says_own_waiting_jobs_of_the_app_count_too() -> None:
    (action,) = [a for a in build_parser()._actions if "--queue-depth" in a.option_strings]
    assert "other people's jobs" in (action.help or "") and "own waiting jobs of the same app" in (action.help or "")
    assert str(DEFAULT_QUEUE_DEPTH) in (action.help or "")
