"""What a request is billed on: the :class:`~sora2_widgets._pricing.Billed` values it may turn out to be.

Before the job (an estimate) every value the service may pick is listed: each duration for
``"auto"``, each resolution for ``"auto"``, each frame size of a resolution where the aspect is
``"auto"`` or its size unpublished. After the job (the actual cost) the result's real size and
length settle what was open.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .._pricing import Billed, PriceRule, seconds_of
from ._entry import CatalogEntry

__all__ = ["AUDIO_FIELD", "audio_of", "options", "requested_seconds"]

#: The input that switches sound on (Veo, Kling 3.0, Seedance).
AUDIO_FIELD = "generate_audio"


def audio_of(entry: CatalogEntry, values: Mapping[str, Any]) -> bool:
    """Whether the video has sound: Sora always does; others when ``generate_audio`` is on."""
    props = entry.input_schema["properties"]
    if AUDIO_FIELD in props:  # omitted: fal's default; only a real True is a yes
        return values.get(AUDIO_FIELD, props[AUDIO_FIELD].get("default", False)) is True
    return entry.family == "sora"


def requested_seconds(entry: CatalogEntry, values: Mapping[str, Any]) -> list[int]:
    """The lengths the request may give: one, or every numeric choice where it says ``"auto"``."""
    shots = values.get("multi_prompt")
    if shots:  # the video's length is the shots' total (validated shots, or their stored JSON)
        return [sum(seconds_of(shot["duration"] if isinstance(shot, Mapping) else shot.duration) for shot in shots)]
    duration = values.get("duration")
    if duration == "auto":
        enum = entry.input_schema["properties"]["duration"]["enum"]
        return [seconds_of(d) for d in enum if d != "auto"]
    if duration is None:
        return [seconds_of(entry.output.auto.get("duration", 5))]
    return [seconds_of(duration)]


def _resolutions(entry: CatalogEntry, values: Mapping[str, Any]) -> list[str | None]:
    resolution = values.get("resolution")
    if resolution == "auto":
        return [r for r in entry.input_schema["properties"]["resolution"]["enum"] if r != "auto"]
    if resolution is None:
        return [entry.output.resolution]
    return [str(resolution)]


def _sizes(entry: CatalogEntry, resolution: str | None, aspect: Any) -> list[tuple[int | None, int | None]]:
    by_aspect = entry.output.sizes.get(resolution or "", {})
    if not by_aspect:
        return [(None, None)]
    if isinstance(aspect, str) and aspect in by_aspect and f"{resolution} {aspect}" in entry.output.published:
        return [by_aspect[aspect]]
    # "auto", or a size fal does not publish: any size this resolution comes in.
    return list(by_aspect.values())


def options(
    entry: CatalogEntry, rule: PriceRule, values: Mapping[str, Any], seconds: list[int]
) -> tuple[list[Billed], list[str]]:
    """Every :class:`Billed` the request may turn out to be, and what is open (for the estimate's note)."""
    open_parts: list[str] = []
    if values.get("duration") == "auto":
        open_parts.append("the service picks the duration (auto)")
    resolutions = _resolutions(entry, values) if "resolution" in rule.reads or "size" in rule.reads else [None]
    if len(resolutions) > 1:
        open_parts.append("the service picks the resolution (auto)")
    audio = audio_of(entry, values)
    out: list[Billed] = []
    aspect = values.get("aspect_ratio")
    for secs, resolution in itertools.product(seconds, resolutions):
        sizes = _sizes(entry, resolution, aspect) if "size" in rule.reads else [(None, None)]
        if len(sizes) > 1 and not any("frame size" in p for p in open_parts):
            open_parts.append(
                "the service picks the frame size (auto)"
                if aspect in (None, "auto")
                else f"fal does not publish the {aspect} frame size"
            )
        out.extend(Billed(Decimal(secs), resolution, audio, w, h) for w, h in sizes)
    return out, open_parts
