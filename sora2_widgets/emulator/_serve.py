"""Serving the emulator on loopback: ``serve()``, ``serving()``/``running_emulator()`` and the CLI ``main()``.

The emulator listens on a queue port (queue, storage, files, media, the JS proxy) and, when asked,
on a second *run* port where ``POST /{endpoint}`` answers synchronously like ``fal.run``: fal
tells run from queue by host, and a port is the loopback stand-in for a host name.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import socket
import stat
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._app import PROXY_PATH
from ._emulator import DEFAULT_PROGRESS_TIME, DEFAULT_QUEUE_DELAY, DEFAULT_QUEUE_DEPTH, Emulator
from ._flags import billed_cost, enum_change, fraction, key_text, model_ref, priced, seconds, whole_in
from ._flags import shown as _shown
from ._jobs import Retention
from ._options import PlatformSwitches

__all__ = ["Served", "build_parser", "main", "required_key", "running_emulator", "serve", "serving", "usage_hint"]


@dataclass(frozen=True)
class Served:
    """Where a served emulator listens: ``queue_url`` (also storage, files, media, the JS proxy)
    and ``run_url`` (fal.run's shape: ``POST {run_url}/{endpoint}`` answers synchronously)."""

    queue_url: str
    run_url: str

    @property
    def proxy_url(self) -> str:
        """The JS client's ``proxyUrl``."""
        return self.queue_url + PROXY_PATH


def usage_hint(base_url: str, run_url: str | None = None) -> str:
    """What to paste to point our client, or the official clients, at ``base_url`` (and ``run_url``)."""
    run_root = run_url or f"{base_url}/run"
    lines = [
        f"sora2-widgets fal emulator (SIMULATED results) at {base_url}",
        f"  queue API : {base_url}/{{endpoint}}   e.g. POST {base_url}/fal-ai/sora-2/text-to-video",
        f"  sync API  : {run_root}/{{endpoint}}"
        + ("" if run_url else "   (--run-port N: fal.run's shape on its own port)"),
        f"  storage   : {base_url}/storage/auth/token, {base_url}/files/upload   media: {base_url}/media/…",
        f"  JS proxy  : {base_url}{PROXY_PATH}",
        "sora2-widgets:",
        f'  sw.FalClient(key="any", queue_url="{base_url}", run_url="{base_url}/run")',
        "  its CLI (then sora2-widgets reconcile recovers submits lost with --drop-submit-answers):",
        f"  FAL_KEY=any FAL_ADMIN_KEY=any SORA2_WIDGETS_QUEUE_URL={base_url} "
        f"SORA2_WIDGETS_PLATFORM_URL={base_url}/v1 sora2-widgets generate …",
        "official fal-client (Python; it builds https URLs from env vars, so patch its URL prefixes after import):",
        "  import fal_client, fal_client.client as fc",
        f'  fc.QUEUE_URL_FORMAT = "{base_url}/"; fc.RUN_URL_FORMAT = "{run_root}/"',
        f'  fc.REST_URL = "{base_url}"; fc.CDN_URL = "{base_url}"   # upload_file / upload_image',
        '  fal_client.SyncClient(key="any").subscribe("fal-ai/sora-2/text-to-video", {"prompt": "..."})',
        "official @fal-ai/client (JavaScript): its proxy protocol, through the emulator itself:",
        f'  fal.config({{ credentials: "any", proxyUrl: {{ url: "{base_url}{PROXY_PATH}", when: "always" }} }})',
    ]
    if base_url.startswith("https://"):
        host = base_url.removeprefix("https://")
        run_host = run_url.removeprefix("https://") if run_url else f"{host}/run"
        lines.append(
            f"  or, for its queue and run: FAL_QUEUE_RUN_HOST={host} FAL_RUN_HOST={run_host} SSL_CERT_FILE=<cert>"
        )
    return "\n".join(lines)


def _uvicorn_config(emu: Emulator, host: str, port: int, log_level: str, **uvicorn_options: Any) -> Any:
    import uvicorn

    return uvicorn.Config(emu.app, host=host, port=port, log_level=log_level, lifespan="off", **uvicorn_options)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(
    host: str = "127.0.0.1",
    port: int = 8765,
    *,
    emulator: Emulator | None = None,
    log_level: str = "info",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    run_port: int | None = None,
    **options: Any,
) -> None:
    """Serve an emulator (``emulator=`` or ``Emulator(**options)``) with uvicorn until interrupted.

    With ``ssl_certfile``/``ssl_keyfile`` it serves https, which is what the official
    fal-client builds from ``FAL_QUEUE_RUN_HOST``/``FAL_RUN_HOST``. With ``run_port`` it also
    serves fal's run host there (raises :class:`OSError` if a port is taken).
    """
    import uvicorn

    emu = emulator if emulator is not None else Emulator(**options)
    scheme = "https" if ssl_certfile else "http"
    extra: dict[str, Any] = {}
    if ssl_certfile:
        extra.update(ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    server = uvicorn.Server(_uvicorn_config(emu, host, port, log_level, **extra))
    if run_port is None:
        print(usage_hint(f"{scheme}://{host}:{port}"), flush=True)
        server.run()
        return
    sockets = [_bind(host, port)]
    try:
        sockets.append(_bind(host, run_port))
    except OSError:
        sockets[0].close()
        raise
    emu.run_ports.add(run_port)
    print(usage_hint(f"{scheme}://{host}:{port}", f"{scheme}://{host}:{run_port}"), flush=True)
    try:
        server.run(sockets=sockets)
    finally:
        emu.run_ports.discard(run_port)
        for sock in sockets:
            sock.close()


@contextlib.contextmanager
def serving(
    emulator: Emulator | None = None,
    *,
    host: str = "127.0.0.1",
    log_level: str = "warning",
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    **options: Any,
) -> Iterator[Served]:
    """Serve an emulator on two free loopback ports in a background thread; yields :class:`Served`.

    ``with serving(emulator=emu) as served:`` — ``served.queue_url`` is fal's queue (and storage,
    media, the JS proxy), ``served.run_url`` its run host (``POST {run_url}/{endpoint}`` answers
    synchronously). Pass ``emulator=`` to keep a handle on it (``emu.stats``, ``emu.faults``).
    """
    import uvicorn

    emu = emulator if emulator is not None else Emulator(**options)
    queue_sock, run_sock = _bind(host, 0), _bind(host, 0)
    port, run_port = int(queue_sock.getsockname()[1]), int(run_sock.getsockname()[1])
    extra: dict[str, Any] = {}
    if ssl_certfile:
        extra.update(ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile)
    server = uvicorn.Server(_uvicorn_config(emu, host, port, log_level, **extra))
    emu.run_ports.add(run_port)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [queue_sock, run_sock]}, daemon=True, name="sora2-emulator"
    )
    thread.start()
    deadline = time.monotonic() + 30
    scheme = "https" if ssl_certfile else "http"
    try:
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server did not start")
            time.sleep(0.01)
        yield Served(f"{scheme}://{host}:{port}", f"{scheme}://{host}:{run_port}")
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        emu.run_ports.discard(run_port)
        queue_sock.close()
        run_sock.close()
        if emulator is None:
            emu.close()


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
    ``emulator=`` to keep a handle on it (``emu.stats``, ``emu.faults``). :func:`serving` also
    gives the run host's URL.
    """
    with serving(
        emulator, host=host, log_level=log_level, ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, **options
    ) as served:
        yield served.queue_url


# -- the command line ---------------------------------------------------------------------------
#: Where ``--require-key`` can come from instead of the command line, which ``ps`` and the shell
#: history show: this variable, or ``--require-key-file``.
REQUIRE_KEY_ENV = "SORA2_WIDGETS_EMULATOR_REQUIRE_KEY"
#: Frame rates the renderer can be asked for: 0 would fail every job, and 1000 fps is no video.
FPS_RANGE = (1, 120)
_LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
#: A key file holds one key: reading stops here, so a wrong (huge) file cannot fill the memory.
_MAX_KEY_FILE = 4096


def _admin_keys(path: str | None) -> frozenset[str] | None:
    if path is None:
        return None
    text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    keys = frozenset(line.strip() for line in text.splitlines() if line.strip())
    if not keys:
        raise ValueError("--admin-key-file holds no key (one key a line)")
    return keys


def build_parser() -> argparse.ArgumentParser:
    from ..cli import OneLineArgumentParser  # here, not at import: the cli module imports the package

    p = OneLineArgumentParser(
        prog="sora2-widgets emulator",
        description="Serve the offline fal.ai emulator (simulated Sora 2 / Kling results, real MP4s) on loopback.",
        epilog="exit codes: 0 stopped with Ctrl-C, 2 bad usage (nothing started), 3 could not listen (the port "
        "is taken)\n\n"
        "the key to require (any of, kept out of ps and the shell history by the last two):\n"
        "  --require-key KEY, --require-key-file FILE (- reads standard input), or\n"
        f"  ${REQUIRE_KEY_ENV} when neither option is given\n\n"
        "examples:\n"
        "  sora2-widgets emulator --port 8765\n"
        "  sora2-widgets emulator --port 8765 --fail-submits 2 --status-error-rate 0.2 --drop-streams 1\n"
        "  sora2-widgets emulator --port 8765 --require-key test-key --retire sora2_text_to_video\n"
        "  sora2-widgets emulator --port 8765 --drop-submit-answers 3 --fail-submits 1",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    count = whole_in(0, None, "a whole number of 0 or more")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument(
        "--port", type=whole_in(1, 65535, "a port from 1 to 65535"), default=8765, help="port (default 8765)"
    )
    p.add_argument("--state-dir", default=None, help="job records and media (default: <data dir>/emulator)")
    p.add_argument(
        "--queue-delay",
        type=seconds,
        default=DEFAULT_QUEUE_DELAY,
        help=f"seconds a job stays IN_QUEUE (default {DEFAULT_QUEUE_DELAY})",
    )
    p.add_argument(
        "--progress-time",
        type=seconds,
        default=DEFAULT_PROGRESS_TIME,
        help=f"seconds a job stays IN_PROGRESS (default {DEFAULT_PROGRESS_TIME})",
    )
    p.add_argument(
        "--queue-depth",
        type=count,
        default=DEFAULT_QUEUE_DEPTH,
        help=(
            "other people's jobs ahead of each new job; its first queue_position is this plus the "
            f"emulator's own waiting jobs of the same app, falling to 0 (default {DEFAULT_QUEUE_DEPTH})"
        ),
    )
    keys = p.add_mutually_exclusive_group()
    keys.add_argument(
        "--require-key",
        type=key_text,
        default=None,
        help="accept only 'Authorization: Key <this>' (default: any/none)",
    )
    keys.add_argument(
        "--require-key-file",
        default=None,
        metavar="FILE",
        help="the same, read from FILE (- for standard input; one line, surrounding spaces ignored)",
    )
    p.add_argument("--latency", type=seconds, default=0.0, help="seconds added before every response")
    p.add_argument("--fail-submits", type=count, default=0, help="answer the next N submits with 429")
    p.add_argument("--retry-after", type=seconds, default=1.0, help="Retry-After seconds sent with those 429s")
    p.add_argument("--status-error-rate", type=fraction, default=0.0, help="fraction of status polls answered 5xx")
    p.add_argument(
        "--status-error-code",
        type=whole_in(500, 599, "a 5xx status code"),
        default=503,
        help="the 5xx code for those (default 503)",
    )
    p.add_argument("--drop-streams", type=count, default=0, help="cut the next N status streams mid-body")
    p.add_argument(
        "--drop-stream-after",
        type=whole_in(1, None, "a whole number of events, 1 or more"),
        default=1,
        help="status events sent before each of those cuts (default 1)",
    )
    p.add_argument(
        "--drop-submit-answers",
        type=count,
        default=0,
        help="take in the next N queue submits (a job is made unless refused), then cut the connection before "
        "the answer: lost submits, for trying recovery (sora2-widgets reconcile)",
    )
    p.add_argument("--truncate-downloads", type=count, default=0, help="cut the next N result/media bodies half-way")
    p.add_argument("--slow-result", type=seconds, default=0.0, help="seconds to wait before answering a result")
    p.add_argument(
        "--retire",
        action="append",
        default=[],
        type=model_ref,
        metavar="ENDPOINT",
        help="answer this endpoint/model id as retired",
    )
    p.add_argument("--retired-status", type=int, choices=(404, 410), default=410, help="status for retired (410)")
    platform = p.add_argument_group("Platform API (/v1/models…)")
    platform.add_argument(
        "--admin-key-file",
        default=None,
        metavar="FILE",
        help="ADMIN-scope keys, one a line (- for standard input); other keys get 403 on usage and billing events "
        "(default: every accepted key is an admin key)",
    )
    platform.add_argument(
        "--billing-lag", type=seconds, default=0.0, help="seconds after completion before a billing event exists"
    )
    # Each may be given more than once: one endpoint (or request) per use.
    repeated: tuple[tuple[str, Callable[[str], Any], str, str], ...] = (
        ("--price-change", priced, "ENDPOINT=USD", "list this unit price (per second) for the endpoint instead of "
         "the catalog's"),
        ("--billed-price", priced, "ENDPOINT=USD", "bill this unit price for the endpoint's jobs (differs from the "
         "listed one)"),
        ("--billed-cost", billed_cost, "REQUEST_ID=USD", "bill exactly this for one request (an id from an earlier "
         "run in the same --state-dir)"),
        ("--enum-change", enum_change, "ENDPOINT:FIELD=V1,V2", "list these choices for an input field in the "
         "endpoint's OpenAPI document (a changed enum)"),
        ("--deprecate", model_ref, "ENDPOINT", "list as deprecated"),
        ("--gone", model_ref, "ENDPOINT", "leave out of the registry (no metadata)"),
    )  # fmt: skip
    for flag, kind, metavar, text in repeated:
        platform.add_argument(flag, action="append", default=[], type=kind, metavar=metavar, help=text)
    p.add_argument("--seed", type=count, default=None, help="seed for ids and fault decisions (reproducible runs)")
    p.add_argument(
        "--fps",
        type=whole_in(*FPS_RANGE, f"a frame rate from {FPS_RANGE[0]} to {FPS_RANGE[1]}"),
        default=24,
        help="frame rate of Sora videos (default 24)",
    )
    p.add_argument(
        "--render-workers",
        type=whole_in(1, 64, "a number of threads from 1 to 64"),
        default=None,
        help="render threads (default: min(4, CPUs))",
    )
    p.add_argument(
        "--run-port",
        type=whole_in(1, 65535, "a port from 1 to 65535"),
        default=None,
        help="also serve fal's run host (fal.run) on this port: POST /{endpoint} there answers synchronously",
    )
    p.add_argument(
        "--expire",
        action="store_true",
        help="expire results like fal (1 h after completion, 6 min when 10 KB or larger); see --result-ttl",
    )
    p.add_argument("--result-ttl", type=seconds, default=None, help="seconds a result is kept (implies --expire)")
    p.add_argument(
        "--large-result-ttl", type=seconds, default=None, help="seconds a result of 10 KB or more is kept (--expire)"
    )
    p.add_argument("--media-ttl", type=seconds, default=None, help="seconds media and uploads are kept (default: ever)")
    p.add_argument(
        "--reject-invalid-at-submit",
        action="store_true",
        help="answer 422 on the submit of an invalid body (fal accepts it and answers 422 at the result)",
    )
    p.add_argument(
        "--webhook-retry-base",
        type=seconds,
        default=None,
        help="first delay before retrying a failing webhook, doubling each time (default: 10 retries over 2 h)",
    )
    p.add_argument("--ssl-certfile", default=None, help="serve https with this certificate (for FAL_QUEUE_RUN_HOST)")
    p.add_argument("--ssl-keyfile", default=None, help="the certificate's private key")
    p.add_argument("--log-level", choices=_LOG_LEVELS, default="info", help="uvicorn log level (default info)")
    return p


def _enum_changes(given: list[tuple[str, str, tuple[Any, ...]]]) -> dict[str, dict[str, tuple[Any, ...]]]:
    out: dict[str, dict[str, tuple[Any, ...]]] = {}
    for endpoint, name, choices in given:
        out.setdefault(endpoint, {})[name] = choices
    return out


def required_key(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    """The key to require: ``--require-key``, ``--require-key-file`` or ``$SORA2_WIDGETS_EMULATOR_REQUIRE_KEY``.

    A file or variable that is unreadable or empty is a usage error (exit 2): an emulator that was
    meant to check keys must not silently accept any. The key itself is never shown.
    """
    if args.require_key is not None:
        return str(args.require_key)
    if args.require_key_file is not None:
        name = args.require_key_file
        where = "standard input" if name == "-" else _shown(name)
        problem = None
        text = ""
        try:
            if name == "-":
                text = sys.stdin.readline(_MAX_KEY_FILE)
            elif not stat.S_ISREG(os.stat(name).st_mode):  # a FIFO would block, /dev/zero never end
                problem = f"{where} is not a regular file (use - to read a pipe)"
            else:
                with open(name, encoding="utf-8") as fh:
                    text = fh.read(_MAX_KEY_FILE)
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            problem = f"cannot read {where}: {getattr(exc, 'strerror', None) or type(exc).__name__}"
        if problem is None and len(text.strip().splitlines()) != 1:
            problem = f"{where} must hold the key on one line" if text.strip() else f"{where} is empty"
        if problem is not None:
            parser.error(f"argument --require-key-file: {problem}")
        return text.strip()
    env = os.environ.get(REQUIRE_KEY_ENV)
    if env is not None and env.strip():
        return env.strip()
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sora2_widgets.emulator`` / ``sora2-widgets emulator``: serve until Ctrl-C."""
    parser = build_parser()
    args = parser.parse_args(None if argv is None else list(argv))
    require_key = required_key(args, parser)
    try:
        admin_keys = _admin_keys(args.admin_key_file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        print(
            f"sora2-widgets emulator: cannot read --admin-key-file: {getattr(exc, 'strerror', None) or exc}",
            file=sys.stderr,
        )
        return 2
    try:
        retention: Retention | None = None
        ttls = (args.result_ttl, args.large_result_ttl, args.media_ttl)
        if args.expire or any(t is not None for t in ttls):
            defaults = Retention()
            retention = Retention(
                result=defaults.result if args.result_ttl is None else args.result_ttl,
                large_result=defaults.large_result if args.large_result_ttl is None else args.large_result_ttl,
                media=args.media_ttl,
            )
        extra: dict[str, Any] = {}
        if args.webhook_retry_base is not None:
            extra["webhook_retry_base"] = args.webhook_retry_base
        emu = Emulator(
            state_dir=args.state_dir,
            queue_delay=args.queue_delay,
            progress_time=args.progress_time,
            queue_depth=args.queue_depth,
            require_key=require_key,
            latency=args.latency,
            fail_submits=args.fail_submits,
            retry_after=args.retry_after,
            status_error_rate=args.status_error_rate,
            status_error_code=args.status_error_code,
            drop_streams=args.drop_streams,
            drop_stream_after=args.drop_stream_after,
            drop_submit_answers=args.drop_submit_answers,
            truncate_downloads=args.truncate_downloads,
            slow_result=args.slow_result,
            retired=args.retire,
            retired_status=args.retired_status,
            seed=args.seed,
            fps=args.fps,
            render_workers=args.render_workers,
            retention=retention,
            reject_invalid_at_submit=args.reject_invalid_at_submit,
            platform=PlatformSwitches(
                admin_keys=admin_keys,
                billing_lag=args.billing_lag,
                price_changes=dict(args.price_change),
                billed_prices=dict(args.billed_price),
                billed_costs=dict(args.billed_cost),
                enum_changes=_enum_changes(args.enum_change),
                deprecated=frozenset(args.deprecate),
                gone=frozenset(args.gone),
            ),
            **extra,
        )
    except (ValueError, KeyError) as exc:
        print(f"sora2-widgets emulator: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the state folder cannot be made or written
        where = args.state_dir or "the data folder"
        print(f"sora2-widgets emulator: cannot use {where} for its state: {exc.strerror or exc}", file=sys.stderr)
        return 2
    try:
        serve(
            args.host,
            args.port,
            emulator=emu,
            log_level=args.log_level,
            ssl_certfile=args.ssl_certfile,
            ssl_keyfile=args.ssl_keyfile,
            run_port=args.run_port,
        )
    except OSError as exc:
        print(f"sora2-widgets emulator: could not listen: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        # Ctrl-C is how a user stops it: uvicorn shuts down cleanly, then re-raises the signal,
        # which would end in a traceback.
        pass
    finally:
        emu.close()
    return 0
