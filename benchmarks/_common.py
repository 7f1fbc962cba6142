"""Shared helpers for the benchmark scripts: machine facts, a loopback file server, table printing."""

from __future__ import annotations

import contextlib
import datetime as dt
import importlib.metadata
import os
import platform
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PACKAGES = ("sora2-widgets", "httpx", "fal-client", "pydantic", "pandas", "av", "starlette", "uvicorn", "ipywidgets")


def machine() -> dict[str, str]:
    """What the numbers were measured on."""
    cpu = platform.processor() or "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "unknown"
    with contextlib.suppress(OSError, ValueError, IndexError):
        kb = int(Path("/proc/meminfo").read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    versions = []
    for name in PACKAGES:
        try:
            versions.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            versions.append(f"{name} (not installed)")
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "ram": ram,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(versions),
        # A shared 2-core box is rarely idle: wall-clock figures scale with this, ratios much less.
        "load average at start (1 min)": f"{os.getloadavg()[0]:.1f}",
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (readable in a terminal too)."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=False)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=False)) + " |" for r in cells]
    return "\n".join([line, sep, *body])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


@contextlib.contextmanager
def file_server(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on loopback from a separate process (so it does not share our GIL)."""
    port = free_port()
    code = (
        "import sys, uvicorn\n"
        "from starlette.applications import Starlette\n"
        "from starlette.staticfiles import StaticFiles\n"
        "from starlette.routing import Mount\n"
        "app = Starlette(routes=[Mount('/media', StaticFiles(directory=sys.argv[1]))])\n"
        "uvicorn.run(app, host='127.0.0.1', port=int(sys.argv[2]), log_level='warning')\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(directory), str(port)])
    try:
        wait_port(port)
        yield f"http://127.0.0.1:{port}/media"
    finally:
        proc.terminate()
        proc.wait(10)


class EmulatorProcess:
    """The emulator on loopback in a subprocess; ``stats()``/``reset()`` read its request counters."""

    def __init__(self, state_dir: Path, *, cache_renders: bool = False, **options: object) -> None:
        import json

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, str(ROOT / "benchmarks" / "_emu_server.py"), str(self.port), str(state_dir)]
        if cache_renders:
            args.append("--cache-renders")
        args.append(json.dumps(options))
        env = {**os.environ, "PYTHONPATH": str(ROOT), "SORA2_WIDGETS_HOME": str(state_dir)}
        self._proc = subprocess.Popen(args, env=env)
        wait_port(self.port)

    def stats(self) -> dict[str, int]:
        import httpx

        return dict(httpx.get(self.base_url + "/__bench/stats").json())

    def reset(self) -> None:
        import httpx

        httpx.get(self.base_url + "/__bench/reset")

    def close(self) -> None:
        self._proc.terminate()
        self._proc.wait(10)

    def __enter__(self) -> EmulatorProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
