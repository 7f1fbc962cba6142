"""Download of a large file: sora2-widgets' client vs raw httpx streaming.

    python benchmarks/bench_download.py [--mb 200] [--repeat 2]

A loopback server (separate process) serves one file of ``--mb`` MB. Each variant runs in
a fresh subprocess so that its peak RSS is its own: throughput in MB/s and peak RSS growth
during the download (sampled every 2 ms, and ru_maxrss).

* "raw httpx": a stock ``httpx.AsyncClient`` (default transport, anyio) ``stream("GET")``,
  every ``aiter_raw()`` chunk written to an open file with plain blocking ``write`` calls;
  no hash, no fsync, no rename. The least work that still saves the file.
* "sora2-widgets": ``AsyncFalClient.download()``: the same bytes into a temp file beside
  the target, sha256 of every byte, length check, fsync, rename, fsync of the directory.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from _common import ROOT, file_server, table


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _raw(url: str, dest: Path) -> None:
    import httpx

    async with httpx.AsyncClient(timeout=60) as client, client.stream("GET", url) as response:
        response.raise_for_status()
        with open(dest, "wb") as f:  # noqa: ASYNC230 - the baseline: plain blocking writes, like the client
            async for chunk in response.aiter_raw():
                f.write(chunk)


async def _ours(url: str, dest: Path) -> None:
    import sora2_widgets as sw

    async with sw.AsyncFalClient("bench-key", queue_url=url.split("/media")[0] + "/") as client:
        await client.download(url, dest)


def worker(variant: str, url: str, dest: Path) -> dict[str, float]:
    import httpx  # noqa: F401  (imported before measuring, like the client's own imports)

    if variant == "sora2-widgets":
        import sora2_widgets  # noqa: F401
    before = _rss()
    peak_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    sampled = [before]
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            sampled.append(_rss())
            time.sleep(0.002)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    start = time.perf_counter()
    asyncio.run(_raw(url, dest) if variant == "raw httpx" else _ours(url, dest))
    seconds = time.perf_counter() - start
    stop.set()
    thread.join()
    peak_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    growth = max(max(sampled) - before, peak_after - peak_before, 0)
    return {"seconds": seconds, "bytes": dest.stat().st_size, "rss_growth": growth}


def run(mb: int = 200, repeat: int = 2) -> list[dict[str, object]]:
    """Best of ``repeat`` runs per variant; returns rows for the table / RESULTS.md."""
    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "serve"
        src.mkdir()
        big = src / "big.mp4"
        with open(big, "wb") as f:
            block = os.urandom(1 << 20)
            for _ in range(mb):
                f.write(block)
        with file_server(src) as base:
            url = f"{base}/big.mp4"
            for variant in ("raw httpx", "sora2-widgets"):
                best: dict[str, float] | None = None
                for i in range(repeat):
                    dest = Path(tmp) / f"out-{i}.mp4"
                    out = subprocess.run(
                        [sys.executable, __file__, "--worker", variant, url, str(dest)],
                        capture_output=True,
                        text=True,
                        env={**os.environ, "PYTHONPATH": str(ROOT)},
                        check=False,
                    )
                    dest.unlink(missing_ok=True)
                    if out.returncode != 0:
                        rows.append({"variant": variant, "error": out.stderr.strip().splitlines()[-1:]})
                        best = None
                        break
                    got = json.loads(out.stdout)
                    if best is None or got["seconds"] < best["seconds"]:
                        best = got
                if best is not None:
                    rows.append(
                        {
                            "variant": variant,
                            "MB/s": best["bytes"] / best["seconds"] / 1e6,
                            "seconds": best["seconds"],
                            "rss_growth_mb": best["rss_growth"] / 1e6,
                        }
                    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--worker", nargs=3, metavar=("VARIANT", "URL", "DEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        variant, url, dest = args.worker
        print(json.dumps(worker(variant, url, Path(dest))))
        return
    rows = run(args.mb, args.repeat)
    print(
        table(
            ["variant", "MB/s", "seconds", "peak RSS growth (MB)"],
            [
                [r["variant"], f"{r['MB/s']:.0f}", f"{r['seconds']:.2f}", f"{r['rss_growth_mb']:.1f}"]
                if "error" not in r
                else [r["variant"], "error", str(r["error"]), ""]
                for r in rows
            ],
        )
    )


if __name__ == "__main__":
    main()
