"""Client cost per job, ours vs the official fal-client, against the emulator on loopback.

    python benchmarks/bench_client.py [--jobs 20]

The emulator runs in its own process (its CPU is not ours) with zero added latency, at four job
lengths (``LENGTHS``): render only (~0.2 s), the emulator's default queue + progress (~1.4 s),
~5 s, and instant (renders cached). Every client runs the same jobs, one after another, in this
one process:

* CPU ms/job: ``time.process_time()`` (all threads of this process) per job, after each client
  was built and ran one warm-up job (steady state: the one-off SSL context and imports excluded).
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


#: Emulated job lengths: (label, Emulator options, jobs measured per client, renders cached). The
#: emulator sends a status event per change (queue position, each new log line), and fal-client
#: polls every 0.1 s, so both clients' costs depend on how long a job runs; every length is reported.
#: The last row caches renders: the job is over before anyone asks, both clients make the same 3
#: requests, and what is left is the cost of one HTTP exchange in each stack, with no render
#: competing for the 2 cores.
LENGTHS: list[tuple[str, dict[str, float], int, bool]] = [
    ("≈0.2 s (render only)", {"queue_delay": 0.0, "progress_time": 0.0}, 20, False),
    ("≈1.4 s (emulator default)", {"queue_delay": 0.4, "progress_time": 1.0}, 8, False),
    ("≈5 s", {"queue_delay": 0.5, "progress_time": 4.5}, 4, False),
    ("instant (render cached)", {"queue_delay": 0.0, "progress_time": 0.0}, 20, True),
]

Measured = tuple[float, float]  # CPU seconds, wall seconds for the measured jobs


def _timed(n: int, job: Callable[[], Any], emu: EmulatorProcess) -> Measured:
    job()  # warm-up with this same client: imports, SSL context, connection pool
    emu.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        job()
    return time.process_time() - cpu0, time.perf_counter() - wall0


async def _atimed(n: int, job: Callable[[], Awaitable[Any]], emu: EmulatorProcess) -> Measured:
    await job()
    emu.reset()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for _ in range(n):
        await job()
    return time.process_time() - cpu0, time.perf_counter() - wall0


def _ours_sync(emu: EmulatorProcess, n: int) -> Measured:
    import sora2_widgets as sw

    base = emu.base_url
    with sw.FalClient("bench-key", queue_url=base, run_url=base + "/run") as client:
        return _timed(n, lambda: client.generate(MODEL, **ARGS), emu)


def _fal_sync(emu: EmulatorProcess, n: int) -> Measured:
    import fal_client
    import fal_client.client as fc

    fc.QUEUE_URL_FORMAT = emu.base_url + "/"
    fc.RUN_URL_FORMAT = emu.base_url + "/run/"
    client = fal_client.SyncClient(key="bench-key")
    return _timed(n, lambda: client.subscribe(ENDPOINT, arguments=ARGS), emu)


def _ours_async(emu: EmulatorProcess, n: int) -> Measured:
    import sora2_widgets as sw

    async def main() -> Measured:
        async with sw.AsyncFalClient("bench-key", queue_url=emu.base_url, run_url=emu.base_url + "/run") as client:
            return await _atimed(n, lambda: client.generate(MODEL, **ARGS), emu)

    return asyncio.run(main())


def _fal_async(emu: EmulatorProcess, n: int) -> Measured:
    import fal_client
    import fal_client.client as fc

    fc.QUEUE_URL_FORMAT = emu.base_url + "/"
    fc.RUN_URL_FORMAT = emu.base_url + "/run/"

    async def main() -> Measured:
        client = fal_client.AsyncClient(key="bench-key")
        return await _atimed(n, lambda: client.subscribe(ENDPOINT, arguments=ARGS), emu)

    return asyncio.run(main())


VARIANTS: list[tuple[str, Callable[[EmulatorProcess, int], Measured]]] = [
    ("sora2-widgets FalClient (sync)", _ours_sync),
    ("fal-client SyncClient.subscribe", _fal_sync),
    ("sora2-widgets AsyncFalClient", _ours_async),
    ("fal-client AsyncClient.subscribe", _fal_async),
]


def per_job(emu: EmulatorProcess, jobs: int) -> list[dict[str, Any]]:
    """Steady-state cost per job: each client is built and warmed up (one job) before the clock starts,
    then runs ``jobs`` jobs one after another. CPU is ``time.process_time()`` of this process (all
    its threads, e.g. FalClient's loop thread); the emulator's CPU is its own process's."""
    rows = []
    for name, run in VARIANTS:
        cpu, wall = run(emu, jobs)
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
        out["lengths"] = []
        for i, (label, options, n, cached) in enumerate(LENGTHS):
            n = max(2, round(n * jobs / 20))  # --jobs scales every length (20 = the default)
            with EmulatorProcess(Path(tmp) / f"a{i}", cache_renders=cached, latency=0.0, **options) as emu:
                out["lengths"].append({"label": label, "jobs": n, "rows": per_job(emu, n)})
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
        "Per job (4 s 720p text-to-video, zero added latency), by emulated job length. Each client is",
        "built and warmed up with one job first; CPU = this process only (the emulator runs in its own).",
        "",
        table(
            ["job length", "jobs", "client", "CPU ms/job", "requests/job", "by route", "wall s/job"],
            [
                [
                    length["label"],
                    length["jobs"],
                    r["client"],
                    f"{r['cpu_ms']:.2f}",
                    f"{r['requests']:.1f}",
                    r["breakdown"],
                    f"{r['wall_s']:.3f}",
                ]
                for length in out["lengths"]
                for r in length["rows"]
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
