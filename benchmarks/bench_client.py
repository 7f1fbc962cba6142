"""Client cost per job, ours vs the official fal-client, against the emulator on loopback.

    python benchmarks/bench_client.py [--jobs 20]

The emulator runs in its own process (its CPU is not ours) with zero latency, zero queue and
progress time: a job takes exactly as long as the emulator needs to render its 4 s 720p MP4
(~0.2 s). Every client runs the same jobs, one after another, in this one process:

* CPU ms/job: ``time.process_time()`` (all threads of this process) per job.
* requests/job: the emulator's own request counters (submit + status/stream + result), per job.
* wall s/job.

Then: fan-out of the 5 Sora models at once vs the slowest of them alone, and 100 concurrent jobs
(emulated job time fixed at ~1 s, renders cached so that render CPU does not compete).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from _common import EmulatorProcess, table

ENDPOINT = "fal-ai/sora-2/text-to-video"
MODEL = "sora2_text_to_video"
ARGS: dict[str, Any] = {"prompt": "a lighthouse in a storm, benchmark", "duration": 4, "delete_video": True}


def _ours_sync(base: str) -> tuple[Callable[[], Any], Callable[[], None]]:
    import sora2_widgets as sw

    client = sw.FalClient("bench-key", queue_url=base, run_url=base + "/run")
    return (lambda: client.generate(MODEL, **ARGS)), client.close


def _fal_sync(base: str) -> tuple[Callable[[], Any], Callable[[], None]]:
    import fal_client
    import fal_client.client as fc

    fc.QUEUE_URL_FORMAT = base + "/"
    fc.RUN_URL_FORMAT = base + "/run/"
    client = fal_client.SyncClient(key="bench-key")
    return (lambda: client.subscribe(ENDPOINT, arguments=ARGS)), lambda: None


async def _ours_async_jobs(base: str, n: int) -> None:
    import sora2_widgets as sw

    async with sw.AsyncFalClient("bench-key", queue_url=base, run_url=base + "/run") as client:
        for _ in range(n):
            await client.generate(MODEL, **ARGS)


async def _fal_async_jobs(base: str, n: int) -> None:
    import fal_client
    import fal_client.client as fc

    fc.QUEUE_URL_FORMAT = base + "/"
    client = fal_client.AsyncClient(key="bench-key")
    for _ in range(n):
        await client.subscribe(ENDPOINT, arguments=ARGS)


def per_job(emu: EmulatorProcess, jobs: int) -> list[dict[str, Any]]:
    rows = []
    variants: list[tuple[str, Callable[[int], None]]] = []

    def sync_variant(factory: Callable[[str], tuple[Callable[[], Any], Callable[[], None]]]) -> Callable[[int], None]:
        def run(n: int) -> None:
            job, close = factory(emu.base_url)
            try:
                for _ in range(n):
                    job()
            finally:
                close()

        return run

    def async_variant(fn: Callable[[str, int], Awaitable[None]]) -> Callable[[int], None]:
        return lambda n: asyncio.run(fn(emu.base_url, n))  # type: ignore[arg-type]

    variants = [
        ("sora2-widgets FalClient (sync)", sync_variant(_ours_sync)),
        ("fal-client SyncClient.subscribe", sync_variant(_fal_sync)),
        ("sora2-widgets AsyncFalClient", async_variant(_ours_async_jobs)),
        ("fal-client AsyncClient.subscribe", async_variant(_fal_async_jobs)),
    ]
    for name, run in variants:
        run(1)  # warm-up: imports, connection pool, emulator caches
        emu.reset()
        cpu0, wall0 = time.process_time(), time.perf_counter()
        run(jobs)
        cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
        stats = emu.stats()
        requests = sum(v for k, v in stats.items() if k in ("submits", "status", "stream", "result"))
        rows.append(
            {
                "client": name,
                "cpu_ms": 1000 * cpu / jobs,
                "requests": requests / jobs,
                "breakdown": ", ".join(f"{k} {v / jobs:.1f}" for k, v in stats.items() if v),
                "wall_s": wall / jobs,
            }
        )
    return rows


SORA_JOBS: list[tuple[str, dict[str, Any]]] = [
    ("sora2_text_to_video", {"prompt": "fan-out text", "duration": 4}),
    ("sora2_text_to_video_pro", {"prompt": "fan-out pro", "duration": 4, "resolution": "720p"}),
    ("sora2_image_to_video", {"prompt": "fan-out image", "duration": 4}),
    ("sora2_image_to_video_pro", {"prompt": "fan-out image pro", "duration": 4}),
    ("sora2_video_to_video_remix", {"prompt": "fan-out remix"}),
]


def _image_uri() -> str:
    import base64
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 36), (40, 90, 160)).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


async def fan_out(base: str) -> dict[str, Any]:
    import sora2_widgets as sw

    async with sw.AsyncFalClient("bench-key", queue_url=base, max_concurrency=16) as client:
        source = await client.generate(MODEL, prompt="remix source", duration=4, delete_video=False)
        image = _image_uri()
        jobs = []
        for model_id, params in SORA_JOBS:
            p = dict(params)
            if "image" in model_id:
                p["image_url"] = image
            if "remix" in model_id:
                p["video_id"] = source.video_id
            jobs.append((model_id, p))

        async def one(model_id: str, p: dict[str, Any]) -> float:
            start = time.perf_counter()
            await client.generate(model_id, **p)
            return time.perf_counter() - start

        singles = [await one(m, p) for m, p in jobs]
        start = time.perf_counter()
        await asyncio.gather(*(one(m, p) for m, p in jobs))
        wall = time.perf_counter() - start
    return {"slowest_single": max(singles), "fan_out_wall": wall, "ratio": wall / max(singles)}


async def concurrent_jobs(base: str, n: int, max_concurrency: int) -> dict[str, Any]:
    import sora2_widgets as sw

    async with sw.AsyncFalClient("bench-key", queue_url=base, max_concurrency=max_concurrency) as client:
        await client.generate(MODEL, prompt="warm-up", duration=4)
        cpu0, start = time.process_time(), time.perf_counter()
        results = await asyncio.gather(
            *(client.generate(MODEL, prompt=f"concurrent {i}", duration=4) for i in range(n)), return_exceptions=True
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
    failed = sum(isinstance(r, BaseException) for r in results)
    return {
        "jobs": n,
        "max_concurrency": max_concurrency,
        "wall_s": wall,
        "cpu_ms_per_job": 1000 * cpu / n,
        "failed": failed,
    }


def run(jobs: int = 20) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with EmulatorProcess(Path(tmp) / "a", queue_delay=0.0, progress_time=0.0, latency=0.0) as emu:
            out["per_job"] = per_job(emu, jobs)
        with EmulatorProcess(Path(tmp) / "b", cache_renders=True, queue_delay=0.2, progress_time=0.8) as emu:
            out["fan_out"] = asyncio.run(fan_out(emu.base_url))
            out["concurrent"] = [
                asyncio.run(concurrent_jobs(emu.base_url, 100, 100)),
                asyncio.run(concurrent_jobs(emu.base_url, 100, 8)),
            ]
            out["concurrent_requests"] = emu.stats()
    return out


def render(out: dict[str, Any]) -> str:
    parts = [
        "Per job (4 s 720p text-to-video, zero latency; job time = the emulator's render):",
        table(
            ["client", "CPU ms/job", "requests/job", "by route", "wall s/job"],
            [
                [r["client"], f"{r['cpu_ms']:.1f}", f"{r['requests']:.1f}", r["breakdown"], f"{r['wall_s']:.3f}"]
                for r in out["per_job"]
            ],
        ),
        "",
        "Fan-out of the 5 Sora models (job time ~1 s each):",
        table(
            ["slowest single (s)", "fan-out wall (s)", "ratio"],
            [
                [
                    f"{out['fan_out']['slowest_single']:.2f}",
                    f"{out['fan_out']['fan_out_wall']:.2f}",
                    f"{out['fan_out']['ratio']:.2f}",
                ]
            ],
        ),
        "",
        "100 concurrent jobs (job time ~1 s each):",
        table(
            ["jobs", "max_concurrency", "wall (s)", "CPU ms/job", "failed"],
            [
                [r["jobs"], r["max_concurrency"], f"{r['wall_s']:.2f}", f"{r['cpu_ms_per_job']:.1f}", r["failed"]]
                for r in out["concurrent"]
            ],
        ),
    ]
    return "\n".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=20)
    args = parser.parse_args()
    print(render(run(args.jobs)))


if __name__ == "__main__":
    main()
