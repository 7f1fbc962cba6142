"""The subcommands, their options and their help (inputs, secrets, exit codes, examples)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from .._catalog import MODELS
from ..history import STATUSES
from ._args import (
    OPENAI_KEY_ENV,
    OneLineArgumentParser,
    _cfg_scale,
    _history_id,
    _iso_date,
    _key_value,
    _not_empty,
    _param_file,
    _positive_int,
    _seconds,
    _usd,
)
from ._exits import EXIT_CODES_HELP
from ._generate import _Conflict, _generate_params, cmd_generate
from ._lab import _jupyter_args, cmd_lab
from ._ledger import cmd_history, cmd_spend
from ._models import add_models_parser

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

    add_models_parser(sub)

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
