"""Reading the command line: a parser whose errors are one line with no secret, and strict argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import os
import re
import stat
import sys
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:
    from decimal import Decimal

from ._exits import one_line

#: Where ``--param api_key=`` can come from instead of the command line (which ``ps`` and shell
#: history see): this variable, or a ``--param-file``.
OPENAI_KEY_ENV = "SORA2_WIDGETS_OPENAI_API_KEY"


@functools.cache
def _secret_inputs() -> frozenset[str]:
    """Inputs whose values are secrets in any model: never JSON-typed, never echoed in a message.

    Asked when a ``--param`` is read, not at import: the catalog is not needed for ``--help``.
    """
    from .._catalog import MODELS

    return frozenset().union(*(m.secret_fields for m in MODELS))


# A secret typed where argparse echoes the raw argument is shown as <hidden>: the value of any
# "ambiguous option: --re=…" (an abbreviated option's value is never needed to explain the error),
# and of any token naming a key ("unrecognized arguments: api_key=sk-…"), in any case, with - or _.
# Patterns as text, compiled by re on first use (and cached there): --help compiles none of them.
_AMBIGUOUS_VALUE = r"(ambiguous option: [^=\s]+)=\S+"
_KEYED_ARG = r"(?i)((?:api[-_]?key|require[-_]k)[^=\s'\"]*)=[^\s'\"]+"


def _without_secrets(message: str) -> str:
    return re.sub(_KEYED_ARG, r"\1=<hidden>", re.sub(_AMBIGUOUS_VALUE, r"\1=<hidden>", message))


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
_NUMBER = r"(?a)[+-]?(\d+(\.\d*)?|\.\d+)"
_PLAIN_KEY = r"(?a)[A-Za-z_][A-Za-z0-9_]*"
#: A parameter file holds a few inputs (a key, a negative prompt): anything larger is the wrong file.
_MAX_PARAM_FILE = 256 * 1024


def _shown(text: str) -> str:
    shown = repr(text)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def _number(text: str, what: str) -> int | float:
    if not re.fullmatch(_NUMBER, text.strip()):
        raise argparse.ArgumentTypeError(f"takes {what}, got {_shown(text)}")
    literal = text.strip()
    return float(literal) if "." in literal else int(literal)


def _seconds(text: str) -> int | float | str:
    # A number ("8", "8.0"), a number with its unit ("8s", as Veo writes it) or "auto": never
    # "null" or "", which must not fall back to the model's default. Which of these a model takes,
    # and in which form, is its schema's to say (see _generate.model_duration).
    literal = text.strip()
    if literal == "auto" or re.fullmatch(r"[0-9]+s", literal, re.ASCII):
        return literal
    return _number(text, "a number of seconds (4, 8, 12, 16 or 20 for Sora; 4s/6s/8s for Veo; auto where allowed)")


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
    if key in _secret_inputs():
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


def _shot(text: str) -> dict[str, Any]:
    """One ``--multi-prompt`` shot: ``SECONDS|PROMPT`` (``5|a fox runs``), or ``PROMPT`` alone.

    Repeated, one option per shot, in order. The seconds stay text (``"5"``), as Kling 3.0's schema
    types them; the number of shots, their total and prompt-or-shots are the catalog's to check.
    """
    seconds, sep, prompt = text.partition("|")
    if not sep:
        if not text.strip():
            raise argparse.ArgumentTypeError("takes SECONDS|PROMPT such as '5|a fox runs', got an empty shot")
        return {"prompt": text.strip()}
    seconds = seconds.strip().removesuffix("s").strip()
    if not seconds.isdigit() or not prompt.strip():
        raise argparse.ArgumentTypeError(f"takes SECONDS|PROMPT such as '5|a fox runs', got {_shown(text)}")
    return {"prompt": prompt.strip(), "duration": seconds}


def _key_value(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        # Not echoed unless it is a plain name: a key pasted without "api_key=" is still a key.
        got = _shown(text) if re.fullmatch(_PLAIN_KEY, text) else "text without a KEY= in front"
        raise argparse.ArgumentTypeError(f"takes KEY=VALUE such as duration=8, got {got}")
    if not re.fullmatch(_PLAIN_KEY, key):
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
            from pathlib import Path  # not loaded for --help

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
    from .._config import parse_usd  # pydantic: only when --budget is given
    from .._errors import ConfigError

    try:
        return parse_usd(text, field="--budget")
    except ConfigError as exc:
        reason = exc.reason
    raise argparse.ArgumentTypeError(reason)


class UseDatabase(argparse.Action):
    """``--database URL``: the team ledger for this command (as ``SORA2_WIDGETS_DATABASE_URL``).

    A URL holding a password is refused: options show in ``ps`` and the shell history."""

    def __call__(self, parser: argparse.ArgumentParser, ns: argparse.Namespace, value: Any, opt: Any = None) -> None:
        from urllib.parse import urlsplit

        text = str(value).strip()
        if not text.lower().startswith(("postgresql://", "postgres://")):
            parser.error("--database must be a URL starting postgresql://")
        try:
            has_password = urlsplit(text).password is not None
        except ValueError:
            parser.error("--database must be a URL such as postgresql://USER@HOST:PORT/DATABASE")
        if has_password or "password=" in text.lower():
            parser.error(
                "--database must not hold a password (options show in ps and the shell history); "
                "set PGPASSWORD or ~/.pgpass, or put the URL in SORA2_WIDGETS_DATABASE_URL"
            )
        os.environ["SORA2_WIDGETS_DATABASE_URL"] = text
        setattr(ns, self.dest, text)


def _iso_date(text: str) -> str:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"a date as YYYY-MM-DD, got {_shown(text)}") from None
    return text


#: Named options of ``generate``: the input each fills, its argparse dest and how it is written.
