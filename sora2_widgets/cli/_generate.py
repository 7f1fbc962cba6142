"""``sora2-widgets generate``: options into checked inputs, one job, progress, the saved file."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..generator import Generation, Generator, Progress

from .._catalog import ModelSpec, get_model
from .._config import budget_from_env, resolve_key
from .._errors import (
    UnknownModelError,
)
from .._images import with_image_data_uris
from .._pricing import CostEstimate, format_usd, plain_usd
from ._args import OPENAI_KEY_ENV
from ._exits import EXIT_INTERRUPTED, EXIT_NOT_SAVED, EXIT_OK, EXIT_USAGE
from ._output import BLANK, JobProgress

_NAMED_INPUTS = (
    ("duration", "duration", "--duration"),
    ("aspect_ratio", "aspect_ratio", "--aspect-ratio"),
    ("resolution", "resolution", "--resolution"),
    ("negative_prompt", "negative_prompt", "--negative-prompt"),
    ("cfg_scale", "cfg_scale", "--cfg-scale"),
    ("multi_prompt", "multi_prompt", "--multi-prompt"),
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
    # No prompt argument (shots instead): no prompt at all, not an empty one (the catalog says which is needed).
    given: dict[str, str] = {} if args.prompt is None else {"prompt": "the prompt argument"}
    params: dict[str, Any] = {} if args.prompt is None else {"prompt": args.prompt}

    def put(name: str, value: Any, where: str) -> None:
        if name in given:
            raise _Conflict(f"{name} is given twice ({given[name]} and {where}); give it once")
        given[name] = where
        params[name] = value

    for name, dest, option in _NAMED_INPUTS:
        value = getattr(args, dest)
        if value is None or (value is False and name != "delete_video"):  # not given
            continue
        if name == "delete_video":
            value = not value  # --keep → delete_video=False, --no-keep → True
        elif name == "duration":
            value = model_duration(args.model, value)
        elif name == "image_url":
            if "://" not in value and not value.startswith("data:"):
                value = Path(value)  # a local file: uploaded (and checked) by the generator
            name = _start_frame_field(args.model)  # start_image_url for Kling 3.0
        put(name, value, option)
    for path, contents in args.param_file or []:
        for key, value in contents.items():
            put(key, value, f"--param-file {path}")
    for key, value in args.param or []:
        put(key, value, "--param")
    if "delete_video" not in params and _takes(args.model, "delete_video"):
        # Kept by default, as in the panel: fal deletes a delivered video unless told otherwise,
        # and then it can never be remixed; keeping it costs nothing (--no-keep opts out).
        params["delete_video"] = False
    env_key = os.environ.get(OPENAI_KEY_ENV, "").strip()
    if env_key and "api_key" not in params:
        try:
            takes_key = "api_key" in get_model(args.model).input_model.model_fields
        except UnknownModelError:
            takes_key = False  # reported by the command itself
        if takes_key:
            params["api_key"] = env_key
    return params


def model_duration(model: str, given: int | float | str) -> int | float | str:
    """``--duration`` in the form the model's schema uses: 8 is ``"8s"`` for Veo, ``"8"`` for Kling.

    The command line gives text; which spelling of the same length the model takes is its schema's
    to say. Anything that is not one of its lengths is passed on unchanged, for the schema to refuse
    in its own words.
    """
    try:
        spec = get_model(model)
    except UnknownModelError:
        return given
    choices: tuple[int | str, ...] = tuple(spec.allowed.get("duration", ()))
    for choice in choices:
        if str(choice) == str(given):
            return choice
    if isinstance(given, int) and not isinstance(given, bool):
        spelled = spec.duration_for(given)
        if spelled is not None:
            return spelled
    if isinstance(given, float) and given.is_integer():
        spelled = spec.duration_for(int(given))
        if spelled is not None:
            return spelled
    return given


def _start_frame_field(model: str) -> str:
    """The input that takes ``--image``: the model's start frame (``image_url`` where unknown)."""
    try:
        fields = get_model(model).image_fields
    except UnknownModelError:
        return "image_url"
    return fields[0] if fields else "image_url"


def _takes(model: str, name: str) -> bool:
    """Whether ``model`` has the input ``name`` (an unknown model is reported by the command itself)."""
    try:
        return name in get_model(model).input_model.model_fields
    except UnknownModelError:
        return False


class _Conflict(Exception):
    """Two places gave the same input (a usage error: reported by argparse, exit 2)."""


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


def _summary_lines(gen: Generation, name: str, path: Path | None, simulated: bool, *, kept: bool) -> list[str]:
    """What a person reads after a job: which row, what it cost, where the file is, how to remix it."""
    cost = BLANK if gen.cost is None else format_usd(gen.cost) + (" (simulated, not charged)" if simulated else "")
    lines = [f"#{gen.history_id} {name}: {gen.status.replace('_', ' ')}, {cost}"]
    if path is not None:
        lines.append(f"saved to {path}")
    if kept:
        lines.append(
            f'remix it: sora2-widgets generate sora2_video_to_video_remix "NEW PROMPT" --source {gen.history_id}'
        )
    return lines


def _run_job(
    generator: Generator, model_id: str, params: dict[str, Any], progress: JobProgress
) -> tuple[Generation, bool] | int:
    """The one job with its progress shown: its outcome and whether it can be remixed, or the exit code of Ctrl-C."""
    rows: list[int] = []

    def on_update(update: Progress) -> None:
        if update.history_id is not None and not rows:
            rows.append(update.history_id)
        log = update.logs[-1] if update.logs else None
        progress.update(
            update.stage, position=update.queue_position, log=None if log is None else str(getattr(log, "message", log))
        )

    try:
        gen = generator.generate(model_id, on_update=on_update, **params)
    except KeyboardInterrupt:
        progress.finish("interrupted")
        if not rows:
            raise
        # The generator has already tried to cancel the job on the service: say how it ended.
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
    progress.finish(gen.status)
    kept = generator.history.get(gen.history_id).remixable if gen.history_id is not None else False
    return gen, kept


def cmd_generate(args: argparse.Namespace) -> int:
    from ..client._target import mark_emulator_announced
    from ..generator import Generator

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
    # The provider line below is the one notice: not the client's own "no fal key" warning as well.
    mark_emulator_announced()

    with Generator(budget=args.budget, resume=False) as generator:
        # The ledger next (exit 10): a broken or read-only one is named before a client is made.
        generator.history.require_writable()
        simulated = generator.client.provider != "fal"
        label = "built-in emulator (offline, simulated: nothing is charged)" if simulated else "fal.ai"
        print(f"provider: {label}", file=sys.stderr)
        with JobProgress(quiet=args.quiet) as progress:
            outcome = _run_job(generator, spec.id, params, progress)
    if isinstance(outcome, int):
        return outcome
    gen, kept = outcome

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
    if args.json:
        summary = {
            "history_id": gen.history_id,
            "model_id": spec.id,
            "status": gen.status,
            "cost_usd": plain_usd(gen.cost) if gen.cost is not None else None,
            "simulated": simulated,
            "video_id": gen.video_id,
            "remixable": kept,
            "local_path": str(path) if path else None,
            "url": gen.url,
            "error": error,
        }
        print(json.dumps(summary))
    else:
        for line in _summary_lines(gen, spec.name, path, simulated, kept=kept):
            print(line)
    if error is None:
        return EXIT_OK
    where = f"the saved copy is {path}" if path is not None else "in Python, sw.Generator().resume() downloads it again"
    cost = f" ({format_usd(gen.cost)})" if gen.cost is not None else ""
    print(
        f"Not saved: generation #{gen.history_id} completed{cost} and is in the history, but {error}; {where}.",
        file=sys.stderr,
    )
    return EXIT_NOT_SAVED
