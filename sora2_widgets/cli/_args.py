"""Reading the command line: a parser whose errors are one line with no secret, and strict argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import stat
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

from .._catalog import MODELS
from .._config import parse_usd
from .._errors import (
    ConfigError,
)
from ._exits import one_line

#: Where ``--param api_key=`` can come from instead of the command line (which ``ps`` and shell
#: history see): this variable, or a ``--param-file``.
OPENAI_KEY_ENV = "SORA2_WIDGETS_OPENAI_API_KEY"
#: Inputs whose values are secrets in any model: never JSON-typed, never echoed in a message.
_SECRET_INPUTS = frozenset().union(*(m.secret_fields for m in MODELS))


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
