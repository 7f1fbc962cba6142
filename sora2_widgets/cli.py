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
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from .generator import Progress

from ._catalog import MODELS, ModelSpec, get_model
from ._config import budget_from_env, parse_usd, resolve_key
from ._errors import (
    AuthError,
    BudgetExceededError,
    ConfigError,
    JobCancelledError,
    JobTimeoutError,
    LedgerError,
    ModelUnavailableError,
    RateLimitError,
    ServiceError,
    Sora2Error,
    SubmitUncertainError,
    UnknownModelError,
    ValidationError,
)
from ._images import with_image_data_uris
from ._pricing import CostEstimate, format_usd
from .history import STATUSES

EXIT_OK, EXIT_USAGE, EXIT_AUTH, EXIT_BUDGET, EXIT_UNAVAILABLE, EXIT_SERVICE, EXIT_CANCELLED = 0, 2, 3, 4, 5, 6, 7
EXIT_NOT_SAVED = 8
EXIT_CONFIG = 9
EXIT_LEDGER = 10
EXIT_INTERRUPTED = 130

#: Every error class of the package and its exit code (the first match wins: subclasses first).
_EXIT_FOR: tuple[tuple[type[Sora2Error], int], ...] = (
    (ValidationError, EXIT_USAGE),
    (UnknownModelError, EXIT_USAGE),
    (ConfigError, EXIT_CONFIG),
    (LedgerError, EXIT_LEDGER),
    (AuthError, EXIT_AUTH),
    (BudgetExceededError, EXIT_BUDGET),
    (ModelUnavailableError, EXIT_UNAVAILABLE),
    (RateLimitError, EXIT_SERVICE),
    (SubmitUncertainError, EXIT_SERVICE),
    (ServiceError, EXIT_SERVICE),
    (JobCancelledError, EXIT_CANCELLED),
    (JobTimeoutError, EXIT_CANCELLED),
)

#: Where ``--param api_key=`` can come from instead of the command line (which ``ps`` and shell
#: history see): this variable, or a ``--param-file``.
OPENAI_KEY_ENV = "SORA2_WIDGETS_OPENAI_API_KEY"
#: Inputs whose values are secrets in any model: never JSON-typed, never echoed in a message.
_SECRET_INPUTS = frozenset().union(*(m.input_model.SECRET_FIELDS for m in MODELS))


def exit_code_for(error: BaseException) -> int:
    for kind, code in _EXIT_FOR:
        if isinstance(error, kind):
            return code
    return EXIT_SERVICE


def one_line(text: str) -> str:
    """``text`` with every unprintable character escaped (``\\n``, ``\\x00``, ``\\ud800``): one printable line."""
    return "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in text)


# A secret typed where argparse echoes the raw argument is shown as <hidden>: the value of any
# "ambiguous option: --re=…" (an abbreviated option's value is never needed to explain the error),
# and of any token naming a key ("unrecognized arguments: api_key=sk-…"), in any case, with - or _.
_AMBIGUOUS_VALUE = re.compile(r"(ambiguous option: [^=\s]+)=\S+")
_SECRET_ARG = re.compile(r"((?:api[-_]?key|require[-_]k)[^=\s'\"]*)=[^\s'\"]+", re.IGNORECASE)


def _without_secrets(message: str) -> str:
    return _SECRET_ARG.sub(r"\1=<hidden>", _AMBIGUOUS_VALUE.sub(r"\1=<hidden>", message))


class OneLineArgumentParser(argparse.ArgumentParser):
    """argparse, but an error is always one printable line, whatever the user typed, and no secret.

    argparse quotes most values with ``%r``, but not all: "unrecognized arguments" and "ambiguous
    option" put the raw argument in the message, and a line break (or an undecodable byte, which
    arrives as a lone surrogate) would break the "one line, exit 2" promise of ``--help``.
    """

    def error(self, message: str) -> NoReturn:
        super().error(_without_secrets(one_line(message)))


# argparse types: a bad value is a usage error (exit 2, one line naming the option), never a traceback.
# Strict decimal literals: no "nan"/"inf", no "1_0", no "0x10", no exponent, ASCII digits only.
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
#: A parameter file holds a few inputs (a key, a negative prompt): anything larger is the wrong file.
_MAX_PARAM_FILE = 256 * 1024


def _shown(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _number(text: str, what: str) -> int | float:
    if not _NUMBER.fullmatch(text.strip()):
        raise argparse.ArgumentTypeError(f"takes {what}, got {_shown(text)}")
    literal = text.strip()
    return float(literal) if "." in literal else int(literal)


def _seconds(text: str) -> int | float:
    # A number, and only a number: "null" or "" must never fall back to the model's default.
    # Which numbers a model takes is the schema's to say (8.0 is 8; 8.5 is refused there).
    return _number(text, "a number of seconds (4, 8, 12, 16 or 20 for Sora; 5 or 10 for Kling)")


def _cfg_scale(text: str) -> float:
    return float(_number(text, "a number from 0 to 1"))


def _history_id(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip(), re.ASCII) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"takes the id of a row of the history (1, 2, …), got {_shown(text)}")
    return int(text)


def _positive_int(text: str) -> int:
    if not re.fullmatch(r"[0-9]+", text.strip(), re.ASCII) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"takes a whole number of 1 or more, got {_shown(text)}")
    return int(text)


def _not_empty(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(name)  # json.loads would read NaN/Infinity: no finite JSON number is either


def _param_value(key: str, raw: str) -> Any:
    """A ``--param`` value: JSON when it parses as JSON (numbers, booleans, lists), text otherwise.

    Refused: ``null`` (it would mean "the default", which leaving the option out already says),
    NaN/Infinity, and text that starts like JSON but is not. A secret (``api_key``) is always text
    and never shown in a message.
    """
    if key in _SECRET_INPUTS:
        return raw
    looks_like_json = raw.lstrip()[:1] in ('"', "[", "{")
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        if looks_like_json:
            raise argparse.ArgumentTypeError(f"{key}= is not valid JSON ({exc.msg} at column {exc.colno})") from None
        return raw
    except ValueError:  # NaN/Infinity, or an integer with more digits than Python reads
        raise argparse.ArgumentTypeError(f"{key}= takes a finite number, got {_shown(raw)}") from None
    if value is None:
        raise argparse.ArgumentTypeError(f"{key}=null is not a value; leave the option out to use the model's default")
    return value


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        # Not echoed unless it is a plain name: a key pasted without "api_key=" is still a key.
        got = _shown(text) if _PLAIN_KEY.fullmatch(text) else "text without a KEY= in front"
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE such as duration=8, got {got}")
    if not _PLAIN_KEY.fullmatch(key):
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE with KEY an input name such as duration, got {_shown(key)}")
    return key, _param_value(key, value)


def _param_file(text: str) -> dict[str, Any]:
    """``--param-file FILE``: a JSON object of inputs (``-`` reads it from standard input).

    For secrets above all: ``{"api_key": "sk-…"}`` in a file (or piped in) never shows in ``ps``
    or the shell history. Nothing read from the file is ever quoted back in a message.
    """
    where = "standard input" if text == "-" else _shown(text)
    problem = None
    try:
        if text == "-":
            raw = sys.stdin.read(_MAX_PARAM_FILE + 1)
        else:
            # A regular file only: a FIFO or /dev/zero would block or never end (use - for a pipe).
            info = os.stat(text)
            if not stat.S_ISREG(info.st_mode):
                problem = f"{where} is not a regular file (use - to read a pipe)"
            raw = "" if problem else Path(text).read_text(encoding="utf-8")
    except OSError as exc:
        problem = f"cannot read {where}: {exc.strerror or type(exc).__name__}"
    except (UnicodeDecodeError, ValueError):  # ValueError: a NUL in the name
        problem = f"cannot read {where} as UTF-8 text"
    if problem is None and len(raw) > _MAX_PARAM_FILE:
        problem = f"{where} is larger than {_MAX_PARAM_FILE // 1024} kB; it holds a few inputs, not data"
    if problem is not None:
        raise argparse.ArgumentTypeError(problem)
    try:
        data = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise argparse.ArgumentTypeError(
            f"{where} is not JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except ValueError:
        raise argparse.ArgumentTypeError(f"{where} holds a number that is not finite (NaN or Infinity)") from None
    if not isinstance(data, dict):
        raise argparse.ArgumentTypeError(f'{where} must hold a JSON object of inputs, such as {{"api_key": "sk-…"}}')
    for key, value in data.items():
        if value is None:
            raise argparse.ArgumentTypeError(f"{where}: {_shown(key)} is null; leave it out to use the model's default")
    return data


def _usd(text: str) -> Decimal:
    # The package's one amount parser: what SORA2_WIDGETS_BUDGET and budget= accept, --budget accepts.
    try:
        return parse_usd(text, field="--budget")
    except ConfigError as exc:
        reason = exc.reason
    raise argparse.ArgumentTypeError(reason)


def _iso_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date as YYYY-MM-DD, got {_shown(text)}") from None
    return text


#: Named options of ``generate``: the input each fills, its argparse dest and how it is written.
_NAMED_INPUTS = (
    ("duration", "duration", "--duration"),
    ("aspect_ratio", "aspect_ratio", "--aspect-ratio"),
    ("resolution", "resolution", "--resolution"),
    ("negative_prompt", "negative_prompt", "--negative-prompt"),
    ("cfg_scale", "cfg_scale", "--cfg-scale"),
    ("video_id", "video_id", "--video-id"),
    ("image_url", "image", "--image"),
    ("delete_video", "keep", "--keep"),
    ("source", "source", "--source"),
)


def _generate_params(args: argparse.Namespace) -> dict[str, Any]:
    """The inputs of one ``generate``, from every place they can come from; a conflict is a usage error.

    Places: the positional prompt, the named options, ``--param-file``, ``--param`` and, for a
    Sora model's ``api_key`` only when none of those gives one, ``$SORA2_WIDGETS_OPENAI_API_KEY``.
    The same input from two places is refused (which one should win is not ours to guess).
    """
    given: dict[str, str] = {"prompt": "the prompt argument"}
    params: dict[str, Any] = {"prompt": args.prompt}

    def put(name: str, value: Any, where: str) -> None:
        if name in given:
            raise _Conflict(f"{name} is given twice ({given[name]} and {where}); give it once")
        given[name] = where
        params[name] = value

    for name, dest, option in _NAMED_INPUTS:
        value = getattr(args, dest)
        if value is None or value is False:  # not given (--keep is a flag: False when absent)
            continue
        if name == "delete_video":
            value = False
        elif name == "image_url" and "://" not in value and not value.startswith("data:"):
            value = Path(value)  # a local file: converted (and checked) by the generator
        put(name, value, option)
    for path, contents in args.param_file or []:
        for key, value in contents.items():
            put(key, value, f"--param-file {path}")
    for key, value in args.param or []:
        put(key, value, "--param")
    env_key = os.environ.get(OPENAI_KEY_ENV, "").strip()
    if env_key and "api_key" not in params:
        try:
            takes_key = "api_key" in get_model(args.model).input_model.model_fields
        except UnknownModelError:
            takes_key = False  # reported by the command itself
        if takes_key:
            params["api_key"] = env_key
    return params


class _Conflict(Exception):
    """Two places gave the same input (a usage error: reported by argparse, exit 2)."""


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


def checked_request(args: argparse.Namespace) -> tuple[ModelSpec, dict[str, Any], CostEstimate | None]:
    """The model, inputs and price of ``generate``, each checked before a ledger is opened.

    Raises the package's error (:class:`UnknownModelError`, :class:`ValidationError`). A remix from
    ``--source`` is checked by the generator, which looks the source up in the history.
    """
    params: dict[str, Any] = args.params
    spec = get_model(args.model)
    settings = {k: v for k, v in params.items() if k not in ("prompt", "image_url", "video_id", "source", "api_key")}
    estimate = None if spec.inherits_from_source else spec.estimate(settings)
    if "source" not in params:
        spec.validate(with_image_data_uris(spec.id, params))  # images decoded, every input checked
    return spec, params, estimate


def cmd_generate(args: argparse.Namespace) -> int:
    from .generator import Generator

    out = Path(args.out) if args.out else None
    if out is not None and (problem := _out_problem(out)) is not None:
        print(f"Invalid input: {problem}. Nothing was sent.", file=sys.stderr)
        return EXIT_USAGE
    # Configuration first (exit 9), before a ledger is opened or anything is sent: a broken
    # SORA2_WIDGETS_BUDGET must not surface half-way through a job, nor be silently ignored.
    if args.budget is None:
        budget_from_env()
    resolve_key()
    spec, params, estimate = checked_request(args)
    if estimate is not None:
        print(f"{spec.name}: {estimate}", file=sys.stderr)
    printer = _progress_printer(args.quiet)
    rows: list[int] = []

    def on_update(update: Progress) -> None:
        if update.history_id is not None and not rows:
            rows.append(update.history_id)
        printer(update)

    with Generator(budget=args.budget, resume=False) as generator:
        # The ledger next (exit 10): a broken or read-only one is named before a client is made.
        generator.history.require_writable()
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
    # The id is the frame's index: a column here, since --source and remixes refer to rows by it.
    everything = hist.df.reset_index()
    df = everything
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
    if not len(df):
        print("No generations match these filters." if len(everything) else "No generations yet.")
        return EXIT_OK
    cols = ("id", "created_at", "model_id", "status", "cost_usd", "duration", "video_id", "prompt")
    # Newest first, as --help says: the frame is oldest first (ids grow with time).
    view = df.sort_values("id", ascending=False)[[c for c in cols if c in df.columns]].head(args.limit)
    if "prompt" in view.columns:
        view = view.assign(prompt=view["prompt"].astype(str).map(one_line).str.slice(0, 40))
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(view.to_string(index=False))
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
  9    configuration error: SORA2_WIDGETS_BUDGET or the fal key (FAL_KEY, FAL_KEY_ID/
       FAL_KEY_SECRET) is unusable (nothing was sent)
  10   the history file (SORA2_WIDGETS_HOME/history.sqlite3) is damaged, empty, from a
       newer release or not writable; the message names it and what to do (nothing was
       sent, the file was not changed). history and spend work on a read-only file
  130  interrupted (Ctrl-C): the job is cancelled on the service if it still can be;
       otherwise it stays in the history and can be resumed"""

INPUTS_HELP = f"""\
inputs:
  Values are taken as given or refused (exit 2), never guessed: --duration null, 8.5 or "eight"
  is refused, not replaced by a default; a --param VALUE is JSON when it parses as JSON (null,
  NaN and Infinity are refused) and text otherwise. The same input given twice (an option and
  --param, or two --param) is refused. Amounts (--budget, SORA2_WIDGETS_BUDGET) are digits with
  an optional $ and decimal point: 25, 12.50, $12.50; not 1,500, -1, NaN or Infinity.

secrets (kept out of ps and the shell history):
  --param-file FILE    a JSON object of inputs, e.g. {{"api_key": "sk-…"}}; - reads standard input
  ${OPENAI_KEY_ENV}
                       your OpenAI key, used as api_key for Sora models when no option gives one
  The fal key comes from FAL_KEY (or FAL_KEY_ID and FAL_KEY_SECRET), never from an option."""

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
    parser = OneLineArgumentParser(
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
        epilog=f"{INPUTS_HELP}\n\n{EXIT_CODES_HELP}\n\n{_examples('generate')}",
        formatter_class=raw,
    )
    gen.add_argument("model", help=f"model id: {', '.join(m.id for m in MODELS)}")
    gen.add_argument("prompt", help="what the video shows")
    gen.add_argument("--duration", type=_seconds, help="seconds: 4/8/12/16/20 for Sora, 5/10 for Kling")
    gen.add_argument("--aspect-ratio", dest="aspect_ratio", help="16:9, 9:16 (auto for image models, 1:1 for Kling)")
    gen.add_argument("--resolution", help="720p or 1080p (Pro models), auto (image models)")
    gen.add_argument(
        "--image", type=_not_empty, help="image-to-video start frame: an http(s) URL, data: URI or local file"
    )
    gen.add_argument("--source", type=_history_id, help="remix: the history id of an earlier Sora video kept for remix")
    gen.add_argument("--video-id", dest="video_id", help="remix: the video_id of an earlier Sora video")
    gen.add_argument("--keep", action="store_true", help="keep the video on the service so it can be remixed")
    gen.add_argument("--negative-prompt", dest="negative_prompt", help="Kling: what to avoid")
    gen.add_argument(
        "--cfg-scale", dest="cfg_scale", type=_cfg_scale, help="Kling: 0..1, how closely to follow the prompt"
    )
    gen.add_argument(
        "--param",
        action="append",
        type=_key_value,
        metavar="KEY=VALUE",
        help="any other input of the model, VALUE as JSON when it parses (repeatable)",
    )
    gen.add_argument(
        "--param-file",
        dest="param_file",
        action="append",
        type=lambda text: (text, _param_file(text)),
        metavar="FILE",
        help="inputs from a JSON object in FILE (- for standard input), e.g. a secret api_key (repeatable)",
    )
    gen.add_argument("--budget", type=_usd, default=None, help="refuse if spending would pass this many USD")
    gen.add_argument("--out", help="also copy the MP4 to this file (checked before anything is sent)")
    gen.add_argument("--json", action="store_true", help="print the summary as one JSON line")
    gen.add_argument("--quiet", action="store_true", help="no progress lines")
    gen.set_defaults(func=cmd_generate, subparser=gen)

    codes = "exit codes: 0 success, 2 bad usage"
    hist = sub.add_parser(
        "history",
        help="show the history of generations",
        epilog=f"{codes}, 8 the CSV could not be written\n\n{_examples('history')}",
        formatter_class=raw,
    )
    hist.add_argument("--model", choices=[m.id for m in MODELS], metavar="MODEL_ID", help="only this model id")
    hist.add_argument("--status", choices=STATUSES, metavar="STATUS", help=f"only this status: {', '.join(STATUSES)}")
    hist.add_argument("--limit", type=_positive_int, default=20, help="rows to show, newest first (default 20)")
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
    if args.command == "generate":
        try:
            args.params = _generate_params(args)
        except _Conflict as exc:
            args.subparser.error(str(exc))
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
