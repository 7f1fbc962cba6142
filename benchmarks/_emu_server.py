"""Serve the emulator on loopback in its own process, with a ``/__bench/stats`` route.

    python benchmarks/_emu_server.py PORT STATE_DIR [--cache-renders] [Emulator options as JSON]

Benchmarks measure the *client's* CPU time, so the server must not share the client's
process. ``/__bench/stats`` returns ``emu.stats`` (requests per route kind) and
``/__bench/reset`` zeroes them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    import uvicorn

    from sora2_widgets.emulator import _emulator
    from sora2_widgets.emulator._emulator import Emulator

    port, state_dir = int(sys.argv[1]), Path(sys.argv[2])
    cache = "--cache-renders" in sys.argv
    options: dict[str, Any] = {}
    for arg in sys.argv[3:]:
        if arg.startswith("{"):
            options = json.loads(arg)
    if cache:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "reliability"))
        from rel_support import caching_renderer

        _emulator.render_video = caching_renderer(_emulator.render_video, state_dir / "render-cache")  # type: ignore[attr-defined]
    emu = Emulator(state_dir=state_dir, **options)
    inner = emu.app

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["path"].startswith("/__bench/"):
            if scope["path"] == "/__bench/reset":
                emu.reset_stats()
            body = json.dumps(emu.stats).encode()
            await send(
                {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
            )
            await send({"type": "http.response.body", "body": body})
            return
        await inner(scope, receive, send)

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")


if __name__ == "__main__":
    main()
