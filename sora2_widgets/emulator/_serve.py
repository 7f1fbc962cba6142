"""Serving the emulator on loopback: ``serve()``, ``running_emulator()`` and the CLI ``main()``."""

from __future__ import annotations

import argparse
import contextlib
import socket
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from typing import Any

from ._emulator import DEFAULT_PROGRESS_TIME, DEFAULT_QUEUE_DELAY, DEFAULT_QUEUE_DEPTH, Emulator

__all__ = ["build_parser", "main", "running_emulator", "serve", "usage_hint"]


def usage_hint(base_url: str) -> str:
    """What to paste to point our client, or the official ``fal-client``, at ``base_url``."""
    lines = [
        f"sora2-widgets fal emulator (SIMULATED results) at {base_url}",
        f"  queue API : {base_url}/{{endpoint}}   e.g. POST {base_url}/fal-ai/sora-2/text-to-video",
        f"  sync API  : {base_url}/run/{{endpoint}}",
        f"  media     : {base_url}/media/…",
        "sora2-widgets:",
        f'  sw.FalClient(key="any", queue_url="{base_url}", run_url="{base_url}/run")',
        "official fal-client (always https from its env vars, so patch its URL prefixes after import):",
        "  import fal_client, fal_client.client as fc",
        f'  fc.QUEUE_URL_FORMAT = "{base_url}/"; fc.RUN_URL_FORMAT = "{base_url}/run/"',
        '  fal_client.SyncClient(key="any").subscribe("fal-ai/sora-2/text-to-video", {"prompt": "..."})',
    ]
    if base_url.startswith("https://"):
        host = base_url.removeprefix("https://")
        lines.append(f"  or, with no patching: FAL_QUEUE_RUN_HOST={host} FAL_RUN_HOST={host}/run SSL_CERT_FILE=<cert>")
    return "\n".join(lines)


def _uvicorn_config(emu: Emulator, host: str, port: int, log_level: str, **uvicorn_options: Any) -> Any:
    import uvicorn

    return uvicorn.Config(emu.app, host=host, port=port, log_level=log_level, lifespan="off", **uvicorn_options)


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    emulator: Emulator | None = None,
    log_level: str = "info",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    **options: Any,
) -> None:
    """Serve an emulator (``emulator=`` or ``Emulator(**options)``) with uvicorn until interrupted.

    With ``ssl_certfile``/``ssl_keyfile`` it serves https, which is what the official
    fal-client builds from ``FAL_QUEUE_RUN_HOST``/``FAL_RUN_HOST``.
    """
    import uvicorn

    emu = emulator if emulator is not None else Emulator(**options)
    scheme = "https" if ssl_certfile else "http"
    print(usage_hint(f"{scheme}://{host}:{port}"), flush=True)
    extra: dict[str, Any] = {}
    if ssl_certfile:
        extra.update(ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    uvicorn.Server(_uvicorn_config(emu, host, port, log_level, **extra)).run()


@contextlib.contextmanager
def running_emulator(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    log_level: str = "warning",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    **options: Any,
) -> Iterator[str]:
    """Run an emulator on a free loopback port in a background thread; yields its base URL.

    ``with running_emulator(queue_delay=0.05, state_dir=tmp) as base_url: ...`` — pass
    ``emulator=`` to keep a handle on it (``emu.stats``, ``emu.faults``).
    """
    import uvicorn

    emu = emulator if emulator is not None else Emulator(**options)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    port = int(sock.getsockname()[1])
    extra: dict[str, Any] = {}
    if ssl_certfile:
        extra.update(ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    server = uvicorn.Server(_uvicorn_config(emu, host, port, log_level, **extra))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="sora2-emulator")
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            sock.close()
            raise RuntimeError("the emulator server did not start")
        time.sleep(0.01)
    try:
        yield f"{'https' if ssl_certfile else 'http'}://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        if emulator is None:
            emu.close()


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="sora2-widgets emulator",
        description="Serve the offline fal.ai emulator (simulated Sora 2 / Kling results, real MP4s) on loopback.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8765, help="port (default 8765)")
    p.add_argument("--state-dir", default=None, help="job records and media (default: <data dir>/emulator)")
    p.add_argument(
        "--queue-delay",
        type=float,
        default=DEFAULT_QUEUE_DELAY,
        help=f"seconds a job stays IN_QUEUE (default {DEFAULT_QUEUE_DELAY})",
    )
    p.add_argument(
        "--progress-time",
        type=float,
        default=DEFAULT_PROGRESS_TIME,
        help=f"seconds a job stays IN_PROGRESS (default {DEFAULT_PROGRESS_TIME})",
    )
    p.add_argument(
        "--queue-depth",
        type=int,
        default=DEFAULT_QUEUE_DEPTH,
        help=f"jobs ahead of each new job: its first queue_position, falling to 0 (default {DEFAULT_QUEUE_DEPTH})",
    )
    p.add_argument("--require-key", default=None, help="accept only 'Authorization: Key <this>' (default: any/none)")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added before every response")
    p.add_argument("--fail-submits", type=int, default=0, help="answer the next N submits with 429")
    p.add_argument("--retry-after", type=float, default=1.0, help="Retry-After seconds sent with those 429s")
    p.add_argument("--status-error-rate", type=float, default=0.0, help="fraction of status polls answered 5xx")
    p.add_argument("--status-error-code", type=int, default=503, help="the 5xx code for those (default 503)")
    p.add_argument("--drop-streams", type=int, default=0, help="cut the next N status streams mid-body")
    p.add_argument("--truncate-downloads", type=int, default=0, help="cut the next N result/media bodies half-way")
    p.add_argument("--slow-result", type=float, default=0.0, help="seconds to wait before answering a result")
    p.add_argument(
        "--retire", action="append", default=[], metavar="ENDPOINT", help="answer this endpoint/model id as retired"
    )
    p.add_argument("--retired-status", type=int, choices=(404, 410), default=410, help="status for retired (410)")
    p.add_argument("--seed", type=int, default=None, help="seed for ids and fault decisions (reproducible runs)")
    p.add_argument("--fps", type=int, default=24, help="frame rate of Sora videos (default 24)")
    p.add_argument("--render-workers", type=int, default=None, help="render threads (default: min(4, CPUs))")
    p.add_argument("--ssl-certfile", default=None, help="serve https with this certificate (for FAL_QUEUE_RUN_HOST)")
    p.add_argument("--ssl-keyfile", default=None, help="the certificate's private key")
    p.add_argument("--log-level", default="info", help="uvicorn log level (default info)")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sora2_widgets.emulator`` / ``sora2-widgets emulator``: serve until Ctrl-C."""
    args = build_parser().parse_args(None if argv is None else list(argv))
    try:
        emu = Emulator(
            state_dir=args.state_dir,
            queue_delay=args.queue_delay,
            progress_time=args.progress_time,
            queue_depth=args.queue_depth,
            require_key=args.require_key,
            latency=args.latency,
            fail_submits=args.fail_submits,
            retry_after=args.retry_after,
            status_error_rate=args.status_error_rate,
            status_error_code=args.status_error_code,
            drop_streams=args.drop_streams,
            truncate_downloads=args.truncate_downloads,
            slow_result=args.slow_result,
            retired=args.retire,
            retired_status=args.retired_status,
            seed=args.seed,
            fps=args.fps,
            render_workers=args.render_workers,
        )
    except (ValueError, KeyError) as exc:
        print(f"sora2-widgets emulator: {exc}", file=sys.stderr)
        return 2
    try:
        serve(
            args.host,
            args.port,
            emulator=emu,
            log_level=args.log_level,
            ssl_certfile=args.ssl_certfile,
            ssl_keyfile=args.ssl_keyfile,
        )
    finally:
        emu.close()
    return 0
