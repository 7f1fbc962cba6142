"""``sora2-widgets``: the toolkit from a shell.

Subcommands: ``generate``, ``history``, ``spend``, ``emulator``, ``lab``. Exit codes are
stable so scripts can branch on them; ``EXIT_CODES_HELP`` (shown by ``--help``) lists them.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .generator import Progress

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
from ._pricing import format_usd

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_BUDGET, EXIT_UNAVAILABLE, EXIT_SERVICE, EXIT_CANCELLED = 0, 2, 3, 4, 5, 6, 7
EXIT_NOT_SAVED = 8
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
    for key, value in args.param or []:
        params[key] = value
    return params


# argparse types: a bad value is a usage error (exit 2, one line naming the option), never a traceback.
def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE, got {text!r}")
    return key, _parse_value(value)


def _usd(text: str) -> Decimal:
    try:
        value = Decimal(text.strip().lstrip("$"))
    except InvalidOperation:
        raise argparse.ArgumentTypeError(f"an amount in USD such as 25 or 12.50, got {text!r}") from None
    if not value.is_finite() or value < 0:
        raise argparse.ArgumentTypeError(f"an amount in USD of 0 or more, got {text!r}")
    return value


def _iso_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date as YYYY-MM-DD, got {text!r}") from None
    return text


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


def _out_problem(out: Path) -> str | None:
    """Why the video could not be copied to ``out``, found before anything is sent (None: looks fine)."""
    if out.is_dir():
        return f"--out {out} is a folder; give a file name such as {out / 'video.mp4'}"
    if out.exists():  # overwritten in place, as cp would: only the file itself must be writable
        return None if os.access(out, os.W_OK) else f"--out {out}: the file is not writable"
    parent = out.parent
    while not parent.exists():  # the folders --out would create: the first existing one decides
        parent = parent.parent
    if not parent.is_dir():
        return f"--out {out}: {parent} is a file, not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"--out {out}: cannot write in {parent}"
    return None


def _copy_out(src: Path, out: Path) -> str | None:
    """Copy the saved video to ``out``; the reason as plain text when it fails."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, out)
    except shutil.SameFileError:
        return None
    except OSError as exc:
        if out.is_file():  # half a video must not pass for the video
            with contextlib.suppress(OSError):
                out.unlink()
        return f"could not copy the video to {out}: {exc.strerror or exc}"
    return None


def cmd_generate(args: argparse.Namespace) -> int:
    from .generator import Generator

    out = Path(args.out) if args.out else None
    if out is not None and (problem := _out_problem(out)) is not None:
        print(f"Invalid input: {problem}. Nothing was sent.", file=sys.stderr)
        return EXIT_USAGE
    params = _generate_params(args)
    spec = get_model(args.model)
    settings = {k: v for k, v in params.items() if k not in ("prompt", "image_url", "video_id", "source", "api_key")}
    if not spec.inherits_from_source:
        print(f"{spec.name}: {spec.estimate(settings)}", file=sys.stderr)
    printer = _progress_printer(args.quiet)
    rows: list[int] = []

    def on_update(update: Progress) -> None:
        if update.history_id is not None and not rows:
            rows.append(update.history_id)
        printer(update)

    with Generator(budget=args.budget, resume=False) as generator:
        provider = generator.client.provider
        label = "fal.ai" if provider == "fal" else "built-in emulator (offline, simulated: nothing is charged)"
        print(f"provider: {label}", file=sys.stderr)
        try:
            gen = generator.generate(spec.id, on_update=on_update, **params)
        except KeyboardInterrupt:
            # The generator has already tried to cancel the job on the service: say how it ended.
            if rows:
                rec = generator.history.get(rows[0])
                if rec.status == "cancelled":
                    print(f"interrupted: generation #{rec.id} was cancelled on the service.", file=sys.stderr)
                else:
                    print(
                        f"interrupted: generation #{rec.id} stays in the history ({rec.status}); the panel or "
                        "sw.Generator().resume() finishes it.",
                        file=sys.stderr,
                    )
                return EXIT_INTERRUPTED
            raise
    path = gen.local_path
    # A completed job is paid for even when its file is missing: say so and exit non-zero, so a
    # script never takes "no video" for success; the row keeps the URL for a later download.
    error: str | None = None
    if path is None:
        error = gen.error or "the video was not saved"
    elif out is not None:
        error = _copy_out(path, out)
        if error is None:
            path = out
    summary = {
        "history_id": gen.history_id,
        "model_id": spec.id,
        "status": gen.status,
        "cost_usd": f"{gen.cost:.2f}" if gen.cost is not None else None,
        "video_id": gen.video_id,
        "local_path": str(path) if path else None,
        "url": gen.url,
        "error": error,
    }
    print(json.dumps(summary, indent=None if args.json else 2))
    if error is None:
        return EXIT_OK
    where = f"the saved copy is {path}" if path is not None else "in Python, sw.Generator().resume() downloads it again"
    cost = f" ({format_usd(gen.cost)})" if gen.cost is not None else ""
    print(
        f"Not saved: generation #{gen.history_id} completed{cost} and is in the history, but {error}; {where}.",
        file=sys.stderr,
    )
    return EXIT_NOT_SAVED


def cmd_history(args: argparse.Namespace) -> int:
    import pandas as pd

    from .history import History

    hist = History()
    df = hist.df
    if args.model:
        df = df[df["model_id"] == args.model]
    if args.status:
        df = df[df["status"] == args.status]
    if args.csv:
        csv = Path(args.csv)
        try:
            csv.parent.mkdir(parents=True, exist_ok=True)
            df.to_csv(csv, index=False)
        except OSError as exc:
            print(f"Not saved: could not write {csv}: {exc.strerror or exc}", file=sys.stderr)
            return EXIT_NOT_SAVED
        print(f"wrote {len(df)} rows to {csv}", file=sys.stderr)
        return EXIT_OK
    cols = [c for c in ("id", "created_at", "model_id", "status", "cost_usd", "duration", "video_id", "prompt")]
    view = df[[c for c in cols if c in df.columns]].head(args.limit)
    if "prompt" in view.columns:
        view = view.assign(prompt=view["prompt"].astype(str).str.slice(0, 40))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(view.to_string(index=False) if len(view) else "No generations yet.")
    return EXIT_OK


def cmd_spend(args: argparse.Namespace) -> int:
    from .history import History

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
    # An installed wheel carries the notebooks inside the package; a source checkout has them beside it.
    for candidate in (here / "_notebooks" / "01_quickstart.ipynb", here.parent / "notebooks" / "01_quickstart.ipynb"):
        if candidate.exists():
            return candidate
    return None


def _jupyter_args(extra: Sequence[str]) -> list[str]:
    """What the user meant for JupyterLab: the options we do not know, minus the ``--`` separator."""
    args = list(extra)
    if "--" in args:
        args.remove("--")
    return args


_ALLOW_ROOT = ("--allow-root", "--ServerApp.allow_root")


def lab_command(workdir: Path, notebook: Path | None, jupyter_args: Sequence[str], *, as_root: bool) -> list[str]:
    """The JupyterLab command line: root folder, the user's options, then the notebook to open."""
    cmd = [sys.executable, "-m", "jupyterlab", f"--ServerApp.root_dir={workdir}"]
    # jupyter_server refuses to start as root without it, and containers and CI run as root; a user
    # who says otherwise (either way) is obeyed.
    if as_root and not any(arg.split("=", 1)[0] in _ALLOW_ROOT for arg in jupyter_args):
        cmd.append("--allow-root")
    cmd += jupyter_args
    if notebook is not None:
        # Absolute: jupyter_server resolves a relative one against our cwd, not the root folder.
        # Last: a notebook the user names among their own arguments comes first and wins.
        cmd.append(str(notebook))
    return cmd


def cmd_lab(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("jupyterlab") is None:
        print('JupyterLab is not installed: pip install "sora2-widgets[lab]"', file=sys.stderr)
        return EXIT_USAGE
    notebook = _quickstart()
    workdir = Path(args.dir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    target: Path | None = None
    if notebook is None:
        print("The quickstart notebook is not part of this installation: JupyterLab opens empty.", file=sys.stderr)
    else:
        target = workdir / notebook.name
        if not target.exists():  # never overwrite the user's edited copy
            shutil.copyfile(notebook, target)
    if not os.environ.get("FAL_KEY"):
        print("No FAL_KEY set: the panel runs on the built-in emulator (offline, nothing is charged).", file=sys.stderr)
    geteuid = getattr(os, "geteuid", None)
    cmd = lab_command(workdir, target, args.lab_args, as_root=geteuid is not None and geteuid() == 0)
    if os.name == "posix":
        # Become JupyterLab: Ctrl-C (its shutdown prompt), SIGTERM and the exit code are its own,
        # and no orphaned server outlives a killed wrapper.
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, cmd)  # noqa: S606 - our own interpreter and arguments
    return subprocess.call(cmd)  # noqa: S603 - our own interpreter and arguments


EXIT_CODES_HELP = """\
exit codes:
  0    success
  2    bad usage or invalid input (nothing was sent)
  3    authentication failed (the fal key was refused)
  4    over budget (nothing was sent)
  5    model unavailable: retired endpoint (nothing was charged)
  6    the service failed or could not be reached, or the outcome of a submit is unknown
  7    cancelled or timed out (the job stays in the history)
  8    a file could not be written: generate made the video (it is paid for and in the
       history) but could not save it locally or copy it to --out; history --csv failed
  130  interrupted (Ctrl-C): the job is cancelled on the service if it still can be;
       otherwise it stays in the history and can be resumed"""

EXAMPLES_HELP = {
    "generate": [
        'sora2-widgets generate sora2_text_to_video "A red kite over a grey sea" --duration 4 --keep --out kite.mp4',
        'sora2-widgets generate sora2_video_to_video_remix "Now at night" --source 1',
        'sora2-widgets generate kling25_turbo_pro_text_to_video "Waves at dusk" --param duration=10 --json',
    ],
    "history": ["sora2-widgets history --status completed", "sora2-widgets history --csv history.csv"],
    "spend": ["sora2-widgets spend --by day", "sora2-widgets spend --by model --since 2026-01-01"],
    "emulator": ["sora2-widgets emulator --port 8765"],
    "lab": ["sora2-widgets lab", "sora2-widgets lab --dir work --no-browser --port 8888"],
}


def _examples(*commands: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for name in commands for line in EXAMPLES_HELP[name])


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="sora2-widgets",
        description="Generate Sora 2 videos through fal.ai (or the built-in offline emulator when FAL_KEY is unset).",
        epilog=f"{EXIT_CODES_HELP}\n\n{_examples(*EXAMPLES_HELP)}",
        formatter_class=raw,
    )
    sub = parser.add_subparsers(dest="command", required=True)

    gen = sub.add_parser(
        "generate",
        help="generate one video and save it",
        description="Generate one video, print progress and its cost, save it to the data folder (and --out), "
        "then print a summary (history_id, status, cost_usd, local_path, error).",
        epilog=f"{EXIT_CODES_HELP}\n\n{_examples('generate')}",
        formatter_class=raw,
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
    gen.add_argument(
        "--param",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="any other input of the model, VALUE as JSON when it parses (repeatable)",
    )
    gen.add_argument("--budget", type=_usd, default=None, help="refuse if spending would pass this many USD")
    gen.add_argument("--out", help="also copy the MP4 to this file (checked before anything is sent)")
    gen.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    gen.add_argument("--quiet", action="store_true", help="no progress lines")
    gen.set_defaults(func=cmd_generate)

    codes = "exit codes: 0 success, 2 bad usage"
    hist = sub.add_parser(
        "history",
        help="show the history of generations",
        epilog=f"{codes}, 8 the CSV could not be written\n\n{_examples('history')}",
        formatter_class=raw,
    )
    hist.add_argument("--model", help="only this model id")
    hist.add_argument("--status", help="only this status (completed, failed, unknown, ...)")
    hist.add_argument("--limit", type=int, default=20, help="rows to show (newest first)")
    hist.add_argument("--csv", help="write the whole (filtered) history to this CSV file instead")
    hist.set_defaults(func=cmd_history)

    spend = sub.add_parser(
        "spend",
        help="spend by model, day, mode or provider",
        epilog=f"{codes}\n\n{_examples('spend')}",
        formatter_class=raw,
    )
    spend.add_argument("--by", choices=("model", "day", "mode", "provider"), default="model")
    spend.add_argument("--since", type=_iso_date, help="only from this date (YYYY-MM-DD)")
    spend.set_defaults(func=cmd_spend)

    # Listed for --help only: main() hands "emulator ..." to the emulator's own parser.
    sub.add_parser("emulator", help="serve the fal emulator on loopback (see: sora2-widgets emulator --help)")

    lab = sub.add_parser(
        "lab",
        help="start JupyterLab on the quickstart notebook",
        usage="sora2-widgets lab [-h] [--dir DIR] [JUPYTERLAB OPTIONS ...]",
        description="Copy the quickstart notebook into --dir (an edited copy is kept) and start JupyterLab on it.\n"
        "Every other option goes to JupyterLab; everything after -- goes there even when it is ours\n"
        "(sora2-widgets lab -- --help shows JupyterLab's help). As root, --allow-root is added.",
        epilog=f"exit codes: JupyterLab's own; 2 bad usage or JupyterLab not installed\n\n{_examples('lab')}",
        formatter_class=raw,
        # A JupyterLab option that starts like one of ours (--d...) must reach JupyterLab.
        allow_abbrev=False,
    )
    lab.add_argument("--dir", default=".", help="folder to work in (default: the current one)")
    lab.set_defaults(func=cmd_lab, lab_args=[])
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of every subcommand but ``emulator``; ``lab_args`` are JupyterLab's."""
    parser = build_parser()
    # Known-args parsing so that `lab` can hand JupyterLab the options we do not know; every
    # other subcommand still refuses them, exactly as parse_args() would.
    args, extra = parser.parse_known_args(argv)
    if args.command == "lab":
        args.lab_args = _jupyter_args(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["emulator"]:
        # The emulator owns its flags (and its --help); argparse would claim them here.
        from .emulator import main as emulator_main

        return emulator_main(argv[1:])
    args = parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        # generate itself never resumes (resume=False: a script wants its one job), so say who does.
        print(
            "interrupted; a submitted job stays in the history, and the panel or sw.Generator() resumes it",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    except Sora2Error as exc:
        print(f"{exc.title}: {exc}", file=sys.stderr)
        return exit_code_for(exc)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
