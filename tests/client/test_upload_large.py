"""A 150 MiB file takes the multipart path, read from disk part by part: memory stays bounded."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[2]

# Run in a fresh process so that the RSS measured is this upload's alone.
SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from pathlib import Path
    import sora2_widgets as sw
    from sora2_widgets.emulator import Emulator

    def status(field):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
        raise RuntimeError(field)

    work = Path(sys.argv[1])
    big = work / "big.bin"
    with open(big, "wb") as fh:  # real bytes, not a sparse file: every block is read and hashed
        block = os.urandom(1 << 20)
        for _ in range(150):
            fh.write(block)
    emu = Emulator(state_dir=work / "emulator")
    paths = []

    async def go():
        inner = emu.transport()
        import httpx

        class Seen(httpx.AsyncBaseTransport):
            async def handle_async_request(self, request):
                paths.append((request.method, request.url.path))
                return await inner.handle_async_request(request)

        async with sw.AsyncFalClient(transport=Seen(), queue_url=emu.queue_url) as client:
            await client.upload(b"warm", content_type="text/plain", file_name="warm.txt")  # imports, pools
            before = status("VmRSS")
            url = await client.upload_file(big, content_type="application/octet-stream")
            return url, before, status("VmHWM")

    url, before, peak = asyncio.run(go())
    key, name = url.split("/files/", 1)[1].split("/", 1)
    stored = emu.storage.lookup(key, name)
    emu.close()
    print(json.dumps({
        "url": url, "growth": peak - before, "size": stored.size if stored else None,
        "parts": sum(1 for m, p in paths if m == "PUT" and "/multipart/" in p),
        "single": sum(1 for m, p in paths if p == "/files/upload"),
    }))
    """
)


def test_a_150_mib_file_goes_multipart_with_bounded_memory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=280
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["size"] == 150 * 1024 * 1024
    assert out["parts"] == 15 and out["single"] == 1  # 15 parts of 10 MiB; the one single upload was the warm-up
    assert out["growth"] <= 32 * 1024 * 1024, f"RSS grew by {out['growth'] / 2**20:.1f} MiB"
