"""``sora2-widgets sweep``: a prompts file × models × settings; the plan and its price, a question, the run.

Nothing is sent before the plan is shown and accepted: ``--yes`` accepts it; on a terminal the
command asks; anywhere else (a pipe, a CI job) it stops with exit 2 rather than spend unasked.
A sweep is named (``--name``, or a name made from its combinations), so running the same command
again after an interruption sends only what is missing.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._pricing import plain_usd
from ._args import _not_empty, _param_value, _positive_int, _seconds, _usd
from ._exits import EXIT_OK, EXIT_SERVICE, EXIT_USAGE
from ._output import BLANK, Column, cut, print_table

if TYPE_CHECKING:
    from ..experiments import Sweep
    from ..experiments._progress import ProgressKind

#: A prompt in the tables: enough to recognise it; the whole one is in --json.
PROMPT_CHARS = 48

EXAMPLES = [
    "sora2-widgets sweep prompts.txt --models sora2_text_to_video,kling25_turbo_pro_text_to_video --duration 4,8",
    "sora2-widgets sweep prompts.txt --models sora2_text_to_video --aspect-ratio 16:9,9:16 --name ratios --yes",
    "sora2-widgets sweep prompts.txt --models veo31_fast_text_to_video --param generate_audio=true,false --json --yes",
]


def _list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(f"takes values separated by commas, with none empty, got {text!r:.60}")
    return items


def _durations(text: str) -> list[int | float | str]:
    return [_seconds(t) for t in _list(text)]


def _grid_param(text: str) -> tuple[str, list[Any]]:
    key, sep, values = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"takes NAME=V1,V2 such as cfg_scale=0.5,0.8, got {text[:40]!r}")
    return key, [_param_value(key, v) for v in _list(values)]


def configure(cmd: argparse.ArgumentParser) -> None:
    cmd.description = (
        "Run every prompt of a file (one per line) with every model and every combination of settings.\n"
        "Prints the plan and its estimate, asks before spending (unless --yes), shows progress, then the\n"
        "results. A comma-separated option is an axis (--duration 4,8); one value is a fixed setting. A\n"
        "setting a model does not take is left out for that model. Running the same sweep again sends only\n"
        "the combinations it has not done (completed or still running ones are never sent twice)."
    )
    cmd.epilog = (
        "exit codes: 0 every job completed (or nothing to run, or declined); 2 bad usage, an invalid\n"
        "combination, or --yes missing where nobody can be asked (nothing was sent); 4 over --budget\n"
        "(nothing was sent); 6 some jobs did not complete (see the results)\n\n"
        "examples:\n" + "\n".join(f"  {e}" for e in EXAMPLES)
    )
    cmd.add_argument(
        "prompts", type=Path, help="a text file with one prompt per line (blank lines skipped); - reads stdin"
    )
    cmd.add_argument("--models", type=_list, required=True, help="model ids separated by commas")
    cmd.add_argument("--duration", type=_durations, help="seconds, separated by commas: 4,8")
    cmd.add_argument("--aspect-ratio", type=_list, help="aspect ratios separated by commas: 16:9,9:16")
    cmd.add_argument("--resolution", type=_list, help="resolutions separated by commas: 720p,1080p")
    cmd.add_argument(
        "--param",
        type=_grid_param,
        action="append",
        metavar="NAME=V1,V2",
        help="any other input; each value is JSON when it parses as JSON, text otherwise (repeatable)",
    )
    cmd.add_argument(
        "--image",
        type=_not_empty,
        help="image-to-video start frame for every job: an http(s) URL, data: URI or local file",
    )
    cmd.add_argument("--name", type=_not_empty, help="the sweep's name (default: made from its combinations)")
    cmd.add_argument("--budget", type=_usd, help="refuse unless the whole sweep fits this many USD")
    cmd.add_argument("--max-concurrency", type=_positive_int, default=8, help="jobs in flight at once (default 8)")
    cmd.add_argument("--yes", action="store_true", help="run without asking")
    cmd.add_argument("--json", action="store_true", help="print the plan and results as one JSON object")
    cmd.set_defaults(func=cmd_sweep)


def _read_prompts(path: Path) -> list[str]:
    text = sys.stdin.read() if str(path) == "-" else path.read_text(encoding="utf-8")
    return [line.strip() for line in text.splitlines() if line.strip()]


def _grid(args: argparse.Namespace) -> dict[str, Any]:
    grid: dict[str, Any] = {}
    named = (("duration", args.duration), ("aspect_ratio", args.aspect_ratio), ("resolution", args.resolution))
    for name, values in [*named, *(args.param or [])]:
        if values is None:
            continue
        if name in grid or (name == "duration" and "seconds" in grid):
            raise ValueError(f"{name} is given twice; give it once")
        if name == "duration" and all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            # Plain numbers are lengths in seconds, spelled per model ("8s" for Veo, "8" for
            # Kling 3.0), as `generate --duration 8` does; "8s" or "auto" go as typed.
            name = "seconds"
        grid[name] = values if len(values) > 1 else values[0]
    return grid


def _image_grid(image: str, models: list[str]) -> dict[str, Any]:
    """``--image`` as each model's own start-frame input (``start_image_url`` for Kling 3.0).

    Checked here, before the plan, so the refusal names ``--image`` rather than a field a person
    did not type. Each model takes exactly one of the fields given, so the other is left out for it.
    A local file is checked now and uploaded by the generator, once per job.
    """
    from .._catalog import get_model
    from .._images import image_to_data_uri

    fields: dict[str, str] = {}
    for model in models:
        starts = get_model(model).image_fields
        if not starts:
            raise ValueError(
                f"--image is for image-to-video models, and {model} takes no image; "
                "list image-to-video models or leave --image out"
            )
        fields[model] = starts[0]
    try:
        image_to_data_uri(image)  # a URL passes; a data: URI or a file is decoded and checked
    except ValueError as exc:
        raise ValueError(f"--image: {exc}") from None
    value: str | Path = image if "://" in image or image.startswith("data:") else Path(image)
    return dict.fromkeys(fields.values(), value)


def _settings(s: Sweep) -> list[str]:
    from ..experiments._plan import LEAD_COLUMNS, TAIL_COLUMNS

    return [c for c in s.plan.reset_index().columns if c not in (*LEAD_COLUMNS, *TAIL_COLUMNS)]


def _shown(value: object) -> str:
    return BLANK if value is None or value != value else str(value)  # NaN is not equal to itself


def _print_plan(s: Sweep, done: int) -> None:
    settings = _settings(s)
    columns = [Column("#", "right"), Column("model"), Column("prompt", flexible=True)]
    columns += [Column(name) for name in settings] + [Column("estimate", "right")]
    rows = []
    for job in s.jobs:
        c = job.combination
        cells = [str(c.number), c.model_id, cut(c.prompt, PROMPT_CHARS)]
        # A setting can be long (a data: URI image): the table shows its start, --json all of it.
        cells += [cut(_shown(c.params.get(name)), PROMPT_CHARS) for name in settings] + [str(job.estimate)]
        rows.append(cells)
    print_table(columns, rows)
    left = f"; {done} already done under this name (not sent again)" if done else ""
    print(f"sweep {s.name!r}: {len(s)} jobs, estimate {s.estimate}{left}")


def _print_results(frame: Any) -> None:
    columns = [
        Column("#", "right"),
        Column("model"),
        Column("status"),
        Column("cost", "right"),
        Column("time", "right"),
        Column("id", "right"),
        Column("file", flexible=True, optional=True),
    ]
    rows = []
    for number, r in frame.iterrows():
        cost = BLANK if r["cost_usd"] is None or r["cost_usd"] != r["cost_usd"] else f"${r['cost_usd']:.2f}"
        took = BLANK if r["seconds"] is None or r["seconds"] != r["seconds"] else f"{r['seconds']:.1f} s"
        hid = BLANK if r["history_id"] is None or str(r["history_id"]) == "<NA>" else str(r["history_id"])
        detail = r["local_path"] or r["error"] or BLANK
        rows.append([str(number), r["model_id"], r["status"], cost, took, hid, cut(str(detail), 200)])
    print_table(columns, rows)


def _as_json(s: Sweep, results: Any | None) -> str:
    def records(frame: Any) -> list[dict[str, Any]]:
        # A local --image is a Path in the plan: written as the path it is.
        text = frame.reset_index().to_json(orient="records", default_handler=str)
        return json.loads(text)  # type: ignore[no-any-return]

    return json.dumps(
        {
            "sweep": s.name,
            "estimate": {"low_usd": plain_usd(s.estimate.low), "high_usd": plain_usd(s.estimate.high)},
            "plan": records(s.plan),
            "results": None if results is None else records(results),
        },
        ensure_ascii=False,
    )


def _ask(s: Sweep, todo: int) -> bool:
    answer = input(f"Run {todo} job(s) of sweep {s.name!r} for up to ${plain_usd(s.estimate.high)}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def cmd_sweep(args: argparse.Namespace) -> int:
    from .._errors import ConfigError
    from ..experiments import sweep

    try:
        prompts = _read_prompts(args.prompts)
    except (OSError, UnicodeDecodeError) as exc:
        print(f"sora2-widgets sweep: cannot read {args.prompts}: {exc.__class__.__name__}", file=sys.stderr)
        return EXIT_USAGE
    try:
        grid = _grid(args)
        if args.image is not None:
            for name, value in _image_grid(args.image, args.models).items():
                if name in grid:
                    raise ValueError(f"{name} is given twice (--image and --param); give it once")
                grid[name] = value
        s = sweep(prompts, args.models, name=args.name, **grid)
    except (ConfigError, ValueError) as exc:
        # The options' problems and refused combinations are usage errors, said with the
        # combination's name (the generic line for invalid input would drop it).
        print(f"sora2-widgets sweep: {exc}", file=sys.stderr)
        return EXIT_USAGE
    before = s.results
    done = int((before["status"] == "completed").sum())
    todo = len(s) - done
    if not args.json:
        _print_plan(s, done)
    if todo and not args.yes:
        if not sys.stdin.isatty() or str(args.prompts) == "-":
            if args.json:
                print(_as_json(s, None))
            print("sora2-widgets sweep: not run: add --yes to run it (there is no terminal to ask)", file=sys.stderr)
            return EXIT_USAGE
        if not _ask(s, todo):
            print("not run; nothing was sent")
            return EXIT_OK
    progress: ProgressKind = "terminal" if sys.stderr.isatty() else "plain"
    results = s.run(budget=args.budget, max_concurrency=args.max_concurrency, progress=progress)
    if args.json:
        print(_as_json(s, results))
    else:
        _print_results(results)
        spent = results["cost_usd"].fillna(0).sum()
        print(f"sweep {s.name!r}: {int((results['status'] == 'completed').sum())} of {len(s)} completed, ${spent:.2f}")
    return EXIT_OK if (results["status"] == "completed").all() else EXIT_SERVICE
