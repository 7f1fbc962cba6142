"""The subcommands, their options and their help (inputs, secrets, exit codes, examples).

``sora2-widgets --help`` must answer at once, so a subcommand's options (which need the catalog,
pydantic and the history's names) are set up only when that subcommand is on the command line:
:data:`COMMANDS` names each one and the function that sets it up, imported then. A new command is
one line there (its ``configure`` in its own module).
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable, Sequence
from typing import Any

from ._args import (
    OPENAI_KEY_ENV,
    OneLineArgumentParser,
    UseDatabase,
    _cfg_scale,
    _history_id,
    _iso_date,
    _key_value,
    _not_empty,
    _param_file,
    _positive_int,
    _seconds,
    _shot,
    _usd,
)
from ._exits import EXIT_CODES_HELP

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
    "history": [
        "sora2-widgets history --status completed",
        "sora2-widgets history --limit 5 --json",
        "sora2-widgets history --csv history.csv",
    ],
    "spend": ["sora2-widgets spend --by day", "sora2-widgets spend --by model --since 2026-01-01 --json"],
    "emulator": ["sora2-widgets emulator --port 8765"],
    "lab": ["sora2-widgets lab", "sora2-widgets lab --dir work --no-browser --port 8888"],
}


def _examples(*commands: str) -> str:
    return "examples:\n" + "\n".join(f"  {line}" for name in commands for line in EXAMPLES_HELP[name])


RAW = argparse.RawDescriptionHelpFormatter
CODES = "exit codes: 0 success, 2 bad usage"


def configure_generate(gen: argparse.ArgumentParser) -> None:
    from .._catalog import MODELS
    from ._generate import cmd_generate

    gen.description = (
        "Generate one video, show its price and progress, save it to the data folder (and --out), then "
        "print where it is (with --json: one JSON line with history_id, status, cost_usd, local_path, error)."
    )
    gen.epilog = f"{INPUTS_HELP}\n\n{EXIT_CODES_HELP}\n\n{_examples('generate')}"
    gen.add_argument("model", help=f"model id: {', '.join(m.id for m in MODELS)}")
    gen.add_argument("prompt", nargs="?", help="what the video shows (left out when --multi-prompt gives shots)")
    gen.add_argument(
        "--duration", type=_seconds, help="seconds: 4/8/12/16/20 for Sora, 3–15 for Kling 3.0, 8 or 8s for Veo, auto"
    )
    gen.add_argument("--aspect-ratio", dest="aspect_ratio", help="16:9, 9:16 (auto for image models, 1:1 for Kling)")
    gen.add_argument("--resolution", help="720p or 1080p (Pro models), auto (image models)")
    gen.add_argument(
        "--image", type=_not_empty, help="image-to-video start frame: an http(s) URL, data: URI or local file"
    )
    gen.add_argument(
        "--source", type=_history_id, help="remix: the id (from sora2-widgets history) of a video kept for remix"
    )
    gen.add_argument("--video-id", dest="video_id", help="remix: the video_id of an earlier Sora video")
    gen.add_argument(
        "--keep",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="Sora: keep the video on the service so it can be remixed (the default, as in the panel); "
        "--no-keep lets fal delete it after delivery",
    )
    gen.add_argument("--negative-prompt", dest="negative_prompt", help="Kling: what to avoid")
    gen.add_argument(
        "--cfg-scale", dest="cfg_scale", type=_cfg_scale, help="Kling: 0..1, how closely to follow the prompt"
    )
    gen.add_argument(
        "--multi-prompt",
        dest="multi_prompt",
        action="append",
        type=_shot,
        metavar="SECONDS|PROMPT",
        help="Kling 3.0: one shot, instead of the prompt (repeat for 1–6 shots, at most 15 s in all)",
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
    gen.add_argument("--json", action="store_true", help="print the result as one JSON line (for scripts)")
    gen.add_argument("--quiet", action="store_true", help="no progress line")
    gen.set_defaults(func=cmd_generate, subparser=gen)


def configure_history(hist: argparse.ArgumentParser) -> None:
    from .._catalog import MODELS
    from ..history._columns import STATUSES
    from ._ledger import cmd_history

    hist.description = "The generations, newest first, with the id that generate --source takes."
    hist.epilog = f"{CODES}, 8 the CSV could not be written\n\n{_examples('history')}"
    hist.add_argument("--model", choices=[m.id for m in MODELS], metavar="MODEL_ID", help="only this model id")
    hist.add_argument("--status", choices=STATUSES, metavar="STATUS", help=f"only this status: {', '.join(STATUSES)}")
    hist.add_argument("--limit", type=_positive_int, default=20, help="rows to show, newest first (default 20)")
    hist.add_argument("--csv", help="write the whole (filtered) history, id first, to this CSV file instead")
    hist.add_argument("--json", action="store_true", help="print the rows as one JSON array (for scripts)")
    hist.set_defaults(func=cmd_history)


def configure_spend(spend: argparse.ArgumentParser) -> None:
    from ._ledger import cmd_spend

    spend.epilog = f"{CODES}\n\n{_examples('spend')}"
    spend.add_argument(
        "--by", choices=("model", "day", "mode", "provider", "user", "machine", "sweep"), default="model"
    )
    spend.add_argument("--since", type=_iso_date, help="only from this date (YYYY-MM-DD)")
    spend.add_argument("--json", action="store_true", help="print the report as one JSON object (for scripts)")
    spend.set_defaults(func=cmd_spend)


def configure_emulator(emulator: argparse.ArgumentParser) -> None:
    """Listed for --help only: main() hands ``emulator ...`` to the emulator's own parser."""


def configure_lab(lab: argparse.ArgumentParser) -> None:
    from ._lab import cmd_lab

    lab.usage = "sora2-widgets lab [-h] [--dir DIR] [JUPYTERLAB OPTIONS ...]"
    lab.description = (
        "Start JupyterLab on the quickstart notebook. The three notebooks are copied once into a work folder,\n"
        "notebooks/ in the data directory ($SORA2_WIDGETS_HOME, default ~/.sora2_widgets), or --dir; an edited\n"
        "copy is never replaced, and nothing is written to the current folder. The URL JupyterLab prints\n"
        "opens the quickstart itself (handy with --no-browser).\n"
        "Every other option goes to JupyterLab; everything after -- goes there even when it is ours\n"
        "(sora2-widgets lab -- --help shows JupyterLab's help). As root, --allow-root is added."
    )
    lab.epilog = f"exit codes: JupyterLab's own; 2 bad usage or JupyterLab not installed\n\n{_examples('lab')}"
    # A JupyterLab option that starts like one of ours (--d...) must reach JupyterLab.
    lab.allow_abbrev = False
    lab.add_argument(
        "--dir",
        default=None,
        help="folder to copy the notebooks into and open (default: notebooks/ in the data directory)",
    )
    lab.set_defaults(func=cmd_lab, lab_args=[])


#: Every subcommand: its name, its line in --help, and the function ("module:name", relative to this
#: package) that adds its options when it is used. One line per command.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("generate", "generate one video and save it", "._parser:configure_generate"),
    ("history", "the generations, newest first, with their ids", "._parser:configure_history"),
    ("spend", "spend by model, day, mode, provider, user, machine or sweep", "._parser:configure_spend"),
    ("models", "the models: id, endpoint, mode, price, status, date checked", "._models:configure"),
    ("budget", "show, set or clear the ledger's budget (shared by everyone using it)", "._budget:configure"),
    ("reconcile", "fetch what fal billed for each job (FAL_ADMIN_KEY) and report differences", "._reconcile:configure"),
    (
        "emulator",
        "serve the fal emulator on loopback (see: sora2-widgets emulator --help)",
        "._parser:configure_emulator",
    ),
    ("lab", "start JupyterLab on the quickstart notebook", "._parser:configure_lab"),
    ("sweep", "run prompts × models × settings as one sweep, resumable by name", "._sweep:configure"),
)


def _configurer(where: str) -> Callable[[argparse.ArgumentParser], None]:
    module, _, name = where.partition(":")
    found: Callable[[argparse.ArgumentParser], None] = getattr(importlib.import_module(module, __package__), name)
    return found


class _LazySubcommands(argparse._SubParsersAction):  # type: ignore[type-arg]
    """Subcommands whose options are added when the command is chosen, not when --help is built."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pending: dict[str, str] = {}

    def configure(self, name: str) -> None:
        where = self.pending.pop(name, None)
        if where is not None:
            _configurer(where)(self.choices[name])

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: str | Sequence[Any] | None,
        option_string: str | None = None,
    ) -> None:
        if isinstance(values, Sequence) and values and isinstance(values[0], str):
            self.configure(values[0])
        super().__call__(parser, namespace, values, option_string)


def build_parser(*, complete: bool = False) -> argparse.ArgumentParser:
    """The parser; ``complete`` sets up every subcommand now (otherwise only the one that is used)."""
    parser = OneLineArgumentParser(
        prog="sora2-widgets",
        description=(
            "Make videos with Veo 3.1, Kling 3.0, Seedance 2.0 and Sora 2 through fal.ai"
            " (or the built-in offline emulator when FAL_KEY is unset)."
        ),
        epilog=f"{EXIT_CODES_HELP}\n\n{_examples(*EXAMPLES_HELP)}",
        formatter_class=RAW,
    )
    parser.add_argument(
        "--database",
        action=UseDatabase,
        metavar="URL",
        help="a team ledger on PostgreSQL, postgresql://USER@HOST:PORT/DB (password from PGPASSWORD or "
        "~/.pgpass, never an option); default: SORA2_WIDGETS_DATABASE_URL, else the SQLite file",
    )
    sub = parser.add_subparsers(dest="command", required=True, action=_LazySubcommands)
    assert isinstance(sub, _LazySubcommands)
    for name, line, where in COMMANDS:
        sub.add_parser(name, help=line, formatter_class=RAW)
        sub.pending[name] = where
        if complete:
            sub.configure(name)
    return parser


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The arguments of every subcommand but ``emulator``; ``lab_args`` are JupyterLab's."""
    parser = build_parser()
    # Known-args parsing so that `lab` can hand JupyterLab the options we do not know; every
    # other subcommand still refuses them, exactly as parse_args() would.
    args, extra = parser.parse_known_args(argv)
    if args.command == "lab":
        from ._lab import _jupyter_args

        args.lab_args = _jupyter_args(extra)
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "generate":
        from ._generate import _Conflict, _generate_params

        try:
            args.params = _generate_params(args)
        except _Conflict as exc:
            args.subparser.error(str(exc))
    return args
