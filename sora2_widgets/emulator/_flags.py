"""Values of the emulator's command-line switches: each bad one refused in one line naming the flag.

These are argparse ``type=`` functions: argparse prefixes their message with the flag
(``argument --gone: takes a model id or endpoint …``) and exits 2 before anything starts, so a
person starting a misbehaving emulator by hand learns at once which value was wrong.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .._catalog import get_model

__all__ = [
    "NUMBER",
    "billed_cost",
    "enum_change",
    "fraction",
    "key_text",
    "model_ref",
    "priced",
    "seconds",
    "shown",
    "whole_in",
]

#: A plain decimal number: ``float()`` would also take "nan", "inf" and "1_0".
NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shown(text: str) -> str:
    """``text`` quoted for a message, cut to 40 characters."""
    quoted = repr(text)
    return quoted if len(quoted) <= 40 else quoted[:37] + "..."


_WHOLE = re.compile(r"[+-]?\d+", re.ASCII)


def whole_in(low: int, high: int | None, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = int(text) if _WHOLE.fullmatch(text.strip()) else None
        if value is None or value < low or (high is not None and value > high):
            raise argparse.ArgumentTypeError(f"takes {what}, got {shown(text)}")
        return value

    return parse


def seconds(text: str) -> float:
    # Strict decimal: float() would also take "nan", "inf" and "1_0".
    if not NUMBER.fullmatch(text.strip()) or float(text) < 0:
        raise argparse.ArgumentTypeError(f"takes a number of seconds of 0 or more, got {shown(text)}")
    return float(text)


def fraction(text: str) -> float:
    if not NUMBER.fullmatch(text.strip()) or not 0 <= float(text) <= 1:
        raise argparse.ArgumentTypeError(f"takes a fraction from 0 to 1, got {shown(text)}")
    return float(text)


def key_text(text: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty (leave the option out to accept any key)")
    return text


def model_ref(text: str) -> str:
    """A catalog model id or fal endpoint, as the endpoint the emulator serves it under."""
    try:
        return get_model(text.strip()).endpoint
    except KeyError:
        raise argparse.ArgumentTypeError(
            "takes a model id or endpoint such as sora2_text_to_video or fal-ai/sora-2/text-to-video, "
            f"got {shown(text)}"
        ) from None


def _amount(text: str) -> Decimal | None:
    return Decimal(text.strip()) if NUMBER.fullmatch(text.strip()) and Decimal(text.strip()) >= 0 else None


def priced(text: str) -> tuple[str, Decimal]:
    """``ENDPOINT=USD``: a model and an amount of 0 or more."""
    endpoint, sep, amount = text.partition("=")
    usd = _amount(amount) if sep else None
    if usd is None:
        raise argparse.ArgumentTypeError(
            f"takes ENDPOINT=USD such as fal-ai/sora-2/text-to-video=0.12, got {shown(text)}"
        )
    return model_ref(endpoint), usd


def billed_cost(text: str) -> tuple[str, Decimal]:
    """``REQUEST_ID=USD``: the exact cost billed for one request (an id from an earlier run)."""
    request_id, sep, amount = text.partition("=")
    usd = _amount(amount) if sep else None
    request_id = request_id.strip().lower()
    if usd is None or not _UUID.fullmatch(request_id):
        raise argparse.ArgumentTypeError(f"takes REQUEST_ID=USD (a request id and 0 or more USD), got {shown(text)}")
    return request_id, usd


def _choice(text: str) -> Any:
    # "4" is the number 4 (Sora's duration), "4s" stays text (Veo's), "true" is a bool.
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (str, int, float, bool)) else text


def enum_change(text: str) -> tuple[str, str, tuple[Any, ...]]:
    """``ENDPOINT:FIELD=V1,V2``: the choices fal's schema now lists for one input field."""
    head, sep, values = text.partition("=")
    endpoint, colon, name = head.rpartition(":")
    choices = tuple(_choice(v.strip()) for v in values.split(",") if v.strip()) if sep else ()
    if not colon or not name.strip() or not choices:
        raise argparse.ArgumentTypeError(
            f"takes ENDPOINT:FIELD=V1,V2 such as sora2_text_to_video:duration=4,8, got {shown(text)}"
        )
    spec = get_model(model_ref(endpoint))
    fields = spec.input_model.model_json_schema(mode="validation").get("properties", {})
    if name.strip() not in fields:
        raise argparse.ArgumentTypeError(
            f"{spec.id} has no input field {shown(name.strip())}; its fields: {', '.join(sorted(fields))}"
        )
    return spec.endpoint, name.strip(), choices
