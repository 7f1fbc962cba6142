"""Upload throughput of a 100 MiB file: our client vs raw httpx, against the emulator on loopback.

    python benchmarks/bench_upload.py [--mib 100] [--rounds 3]

The emulator runs in its own process. Both sides take fal's single-request CDN path (a 100 MiB file
is at, not above, the multipart threshold): a CDN token, then ``POST /files/upload`` with the bytes.

* raw httpx: one ``httpx.AsyncClient``, the file read into memory first, one POST of the bytes
  (no retries, no streaming from disk: the fastest the same request can go);
* ours: ``AsyncFalClient.upload_file`` (streamed from disk in 1 MiB blocks, retried on failure).

The median of ``--rounds`` runs each (alternating, after one warm-up each). Prints a Markdown row;
the target is ours ≥ 0.8× raw.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from pathlib import Path

import httpx
from _common import EmulatorProcess, table

import sora2_widgets as sw


async def raw_httpx(base: str, path: Path) -> float:
    started = time.perf_counter()
    data = await asyncio.to_thread(path.read_bytes)
    async with httpx.AsyncClient(timeout=None) as http:
        token = (await http.post(f"{base}/storage/auth/token?storage_type=fal-cdn-v3", json={})).json()
        headers = {
            "Authorization": f"{token['token_type']} {token['token']}",
            "Content-Type": "application/octet-stream",
            "X-Fal-File-Name": path.name,
        }
        response = await http.post(f"{token['base_url']}/files/upload", content=data, headers=headers)
        response.raise_for_status()
    return time.perf_counter() - started


async def ours(base: str, path: Path) -> float:
    started = time.perf_counter()
    async with sw.AsyncFalClient(queue_url=base) as client:
        await client.upload_file(path)
    return time.perf_counter() - started


def run(mib: int = 100, rounds: int = 3) -> dict[str, float]:
    """Median MiB/s of each side over ``rounds`` alternating runs (after one warm-up each)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        path = work / "upload.bin"
        with open(path, "wb") as fh:
            block = os.urandom(1 << 20)
            for _ in range(mib):
                fh.write(block)
        with EmulatorProcess(work / "emulator") as emu:
            times: dict[str, list[float]] = {"raw": [], "ours": []}
            asyncio.run(raw_httpx(emu.base_url, path))  # warm-up: page cache, connections, imports
            asyncio.run(ours(emu.base_url, path))
            for _ in range(rounds):
                times["raw"].append(asyncio.run(raw_httpx(emu.base_url, path)))
                times["ours"].append(asyncio.run(ours(emu.base_url, path)))
    raw_mibs = mib / statistics.median(times["raw"])
    our_mibs = mib / statistics.median(times["ours"])
    return {"mib": mib, "raw_mibs": raw_mibs, "ours_mibs": our_mibs, "ratio": our_mibs / raw_mibs}


def render(result: dict[str, float]) -> str:
    return table(
        ["upload", "raw httpx MiB/s", "ours MiB/s", "ours / raw", "target"],
        [[f"{result['mib']:.0f} MiB file", f"{result['raw_mibs']:.0f}", f"{result['ours_mibs']:.0f}",
          f"{result['ratio']:.2f}×", "≥ 0.80×"]],
    )  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mib", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(render(run(args.mib, args.rounds)))


if __name__ == "__main__":
    main()
