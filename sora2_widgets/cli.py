"""``sora2-widgets``: the toolkit from a shell.

Subcommands: ``generate``, ``history``, ``spend``, ``emulator``, ``lab``. Exit codes are
stable so scripts can branch on them:

====  ==========================================================
0     success
2     bad usage or invalid input (nothing was sent)
3     authentication failed
4     over budget (nothing was sent)
5     model unavailable (retired endpoint; nothing was charged)
6     the service failed, or the outcome of a submit is unknown
7     cancelled or timed out (the job stays in the history)
130   interrupted (Ctrl-C); a submitted job stays in the history
====  ==========================================================
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._generator import Progress

from ._catalog import MODELS, get_model
from ._errors import (
    AuthError,
    BudgetExceededError,
    JobCancelledError,
    JobTimeoutError,
    ModelUnavailableError,
    Sora2Error,
    UnknownModelError,
    ValidationError,
)

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_BUDGET, EXIT_UNAVAILABLE, EXIT_SERVICE, EXIT_CANCELLED = 0, 2, 3, 4, 5, 6, 7
EXIT_INTERRUPTED = 130

_EXIT_FOR: tuple[tuple[type[Sora2Error], int], ...] = (
    (ValidationError, EXIT_USAGE),
    (UnknownModelError, EXIT_USAGE),
    (AuthError, EXIT_AUTH),
    (BudgetExceededError, EXIT_BUDGET),
    (ModelUnavailableError, EXIT_UNAVAILABLE),
    (JobCancelledError, EXIT_CANCELLED),
    (JobTimeoutError, EXIT_CANCELLED),
)


def exit_code_for(error: BaseException) -> int:
    for kind, code in _EXIT_FOR:
        if isinstance(error, kind):
            return code
    return EXIT_SERVICE


def _parse_value(text: str) -> Any:
    # --param values are JSON when they parse as JSON (numbers, booleans, lists), text otherwise.
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def _generate_params(args: argparse.Namespace) -> dict[str, Any]:
    params: dict[str, Any] = {"prompt": args.prompt}
    for name in ("duration", "aspect_ratio", "resolution", "negative_prompt", "cfg_scale", "video_id"):
        value = getattr(args, name)
        if value is not None:
            params[name] = value
    if args.image is not None:
        params["image_url"] = args.image if "://" in args.image or args.image.startswith("data:") else Path(args.image)
    if args.keep:
        params["delete_video"] = False
    if args.source is not None:
        params["source"] = args.source
    for item in args.param or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"--param takes key=value, got {item!r}")
        params[key] = _parse_value(value)
    return params


def _progress_printer(quiet: bool) -> Callable[[Progress], None]:
    last = [""]

    def on_update(update: Progress) -> None:
        if quiet:
            return
        line = update.stage.replace("_", " ")
        if update.queue_position is not None and update.stage == "in_queue":
            line += f" (position {update.queue_position})"
        if update.logs:
            line += f" · {getattr(update.logs[-1], 'message', update.logs[-1])}"
        if line != last[0]:  # one line per change, not one per poll
            print(f"[{update.elapsed:5.1f}s] {line}", file=sys.stderr, flush=True)
            last[0] = line

    return on_update


def cmd_generate(args: argparse.Namespace) -> int:
    from ._generator import Generator

    params = _generate_params(args)
    spec = get_model(args.model)
    settings = {k: v for k, v in params.items() if k not in ("prompt", "image_url", "video_id", "source", "api_key")}
    if not spec.inherits_from_source:
        print(f"{spec.name}: {spec.estimate(settings)}", file=sys.stderr)
    with Generator(budget=args.budget, resume=False) as generator:
        provider = generator.client.provider
        label = "fal.ai" if provider == "fal" else "built-in emulator (offline, simulated: nothing is charged)"
        print(f"provider: {label}", file=sys.stderr)
        gen = generator.generate(spec.id, on_update=_progress_printer(args.quiet), **params)
    path = gen.local_path
    if args.out and path is not None:
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, out)
        path = out
    summary = {
        "history_id": gen.history_id,
        "model_id": spec.id,
        "status": gen.status,
        "cost_usd": f"{gen.cost:.2f}" if gen.cost is not None else None,
        "video_id": gen.video_id,
        "local_path": str(path) if path else None,
        "url": gen.url,
    }
    print(json.dumps(summary, indent=None if args.json else 2))
    return EXIT_OK


def cmd_history(args: argparse.Namespace) -> int:
    import pandas as pd

    from ._history import History

    hist = History()
    df = hist.df
    if args.model:
        df = df[df["model_id"] == args.model]
    if args.status:
        df = df[df["status"] == args.status]
    if args.csv:
        df.to_csv(args.csv, index=False)
        print(f"wrote {len(df)} rows to {args.csv}", file=sys.stderr)
        return EXIT_OK
    cols = [c for c in ("id", "created_at", "model_id", "status", "cost_usd", "duration", "video_id", "prompt")]
    view = df[[c for c in cols if c in df.columns]].head(args.limit)
    if "prompt" in view.columns:
        view = view.assign(prompt=view["prompt"].astype(str).str.slice(0, 40))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(view.to_string(index=False) if len(view) else "No generations yet.")
    return EXIT_OK


def cmd_spend(args: argparse.Namespace) -> int:
    from ._history import History

    hist = History()
    table = hist.spend(by=args.by, since=args.since)
    print(table.to_string() if len(table) else "Nothing spent yet.")
    print(f"total spent: ${hist.total_spent():.2f}")
    maybe = hist.possibly_charged()
    if maybe:
        # Not spent as far as anyone knows, but not nothing either: say so apart from the total.
        print(f"possibly charged (submit outcome unknown, see history --status unknown): up to ${maybe:.2f}")
    return EXIT_OK


def _quickstart() -> Path | None:
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "notebooks" / "01_quickstart.ipynb", here / "_notebooks" / "01_quickstart.ipynb"):
        if candidate.exists():
            return candidate
    return None


def cmd_lab(args: argparse.Namespace) -> int:
    try:
        import jupyterlab  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        print('JupyterLab is not installed: pip install "sora2-widgets[lab]"', file=sys.stderr)
        return EXIT_USAGE
    notebook = _quickstart()
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    target: Path | None = None
    if notebook is not None:
        target = workdir / notebook.name
        if not target.exists():
            shutil.copyfile(notebook, target)
    if not os.environ.get("FAL_KEY"):
        print("No FAL_KEY set: the panel runs on the built-in emulator (offline, nothing is charged).", file=sys.stderr)
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workdir}", *args.lab_args]
    if target is not None:
        cmd.append(str(target.relative_to(workdir)))
    return subprocess.call(cmd)  # noqa: S603 - our own interpreter and arguments


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sora2-widgets",
        description="Generate Sora 2 videos through fal.ai (or the built-in offline emulator when FAL_KEY is unset).",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate",
        help="generate one video and save it",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument("model", help=f"model id: {', '.join(m.id for m in MODELS)}")
    gen.add_argument("prompt", help="what the video shows")
    gen.add_argument("--duration", type=_parse_value, help="seconds: 4/8/12/16/20 for Sora, 5/10 for Kling")
    gen.add_argument("--aspect-ratio", dest="aspect_ratio", help="16:9, 9:16 (auto for image models, 1:1 for Kling)")
    gen.add_argument("--resolution", help="720p or 1080p (Pro models), auto (image models)")
    gen.add_argument("--image", help="image-to-video start frame: an http(s) URL, data: URI or local file")
    gen.add_argument("--source", help="remix: the history id of an earlier Sora video kept for remix")
    gen.add_argument("--video-id", dest="video_id", help="remix: the video_id of an earlier Sora video")
    gen.add_argument("--keep", action="store_true", help="keep the video on the service so it can be remixed")
    gen.add_argument("--negative-prompt", dest="negative_prompt", help="Kling: what to avoid")
    gen.add_argument("--cfg-scale", dest="cfg_scale", type=float, help="Kling: 0..1, how closely to follow the prompt")
    gen.add_argument("--param", action="append", metavar="KEY=VALUE", help="any other input of the model (repeatable)")
    gen.add_argument("--budget", type=str, default=None, help="refuse if spending would pass this many USD")
    gen.add_argument("--out", help="also copy the MP4 to this path")
    gen.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    gen.add_argument("--quiet", action="store_true", help="no progress lines")
    gen.set_defaults(func=cmd_generate)

    hist = sub.add_parser("history", help="show the history of generations")
    hist.add_argument("--model", help="only this model id")
    hist.add_argument("--status", help="only this status (completed, failed, unknown, ...)")
    hist.add_argument("--limit", type=int, default=20, help="rows to show (newest first)")
    hist.add_argument("--csv", help="write the whole (filtered) history to this CSV file instead")
    hist.set_defaults(func=cmd_history)

    spend = sub.add_parser("spend", help="spend by model, day, mode or provider")
    spend.add_argument("--by", choices=("model", "day", "mode", "provider"), default="model")
    spend.add_argument("--since", help="only from this date (YYYY-MM-DD)")
    spend.set_defaults(func=cmd_spend)

    # Listed for --help only: main() hands "emulator ..." to the emulator's own parser.
    sub.add_parser("emulator", help="serve the fal emulator on loopback (see: sora2-widgets emulator --help)")

    lab = sub.add_parser("lab", help="start JupyterLab on the quickstart notebook")
    lab.add_argument("--dir", default=".", help="folder to work in (the quickstart is copied here)")
    lab.add_argument("lab_args", nargs=argparse.REMAINDER, help="passed to JupyterLab (e.g. --no-browser --port 8888)")
    lab.set_defaults(func=cmd_lab)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator owns its flags (and its --help); argparse would claim them here.
        from .emulator import main as emulator_main

        return emulator_main(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        print("interrupted; any submitted job is in the history and resumes next time", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Sora2Error as exc:
        print(f"{exc.title}: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
