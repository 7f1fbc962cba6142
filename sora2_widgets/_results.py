"""What the service answers, normalised into one :class:`VideoResult`.

Sora answers ``{"video": <url> | <file object>, "video_id": ..., "thumbnail"?, "spritesheet"?}``;
Kling answers ``{"video": <file object>}``. Both forms are parsed; unknown extra
keys are kept in ``raw`` rather than refused, because a service that adds a field
must not break a paid result.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from ._pricing import resolution_of

__all__ = ["FalFile", "VideoResult"]


class FalFile(BaseModel):
    """fal's file object. Only ``url`` is guaranteed."""

    model_config = ConfigDict(extra="allow", frozen=True)

    url: str
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration: float | None = None
    num_frames: int | None = None


def _as_file(value: Any) -> FalFile | None:
    if value is None:
        return None
    if isinstance(value, str):
        return FalFile(url=value)
    return FalFile.model_validate(value)


class VideoResult(BaseModel):
    """One finished video, whatever model made it."""

    model_config = ConfigDict(frozen=True)

    model_id: str
    request_id: str | None = None
    url: str
    video_id: str | None = None
    content_type: str | None = None
    file_name: str | None = None
    file_size: int | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    duration: float | None = None
    num_frames: int | None = None
    thumbnail_url: str | None = None
    spritesheet_url: str | None = None
    #: ``x-fal-billable-units`` on the result fetch: what fal will bill this request, in the
    #: endpoint's unit (``None`` when the answer did not carry it). Not part of the body.
    billable_units: Decimal | None = None
    raw: dict[str, Any]

    @classmethod
    def parse(cls, model_id: str, payload: dict[str, Any], request_id: str | None = None) -> VideoResult:
        """Build from the response JSON; raises ``ValueError`` if it holds no video URL."""
        video = _as_file(payload.get("video"))
        if video is None:
            raise ValueError(f"{model_id}: the result has no video (keys: {', '.join(sorted(payload)) or 'none'})")
        thumb = _as_file(payload.get("thumbnail"))
        sprite = _as_file(payload.get("spritesheet"))
        return cls(
            model_id=model_id,
            request_id=request_id,
            url=video.url,
            video_id=payload.get("video_id"),
            content_type=video.content_type,
            file_name=video.file_name,
            file_size=video.file_size,
            width=video.width,
            height=video.height,
            fps=video.fps,
            duration=video.duration,
            num_frames=video.num_frames,
            thumbnail_url=thumb.url if thumb else None,
            spritesheet_url=sprite.url if sprite else None,
            raw=payload,
        )

    @property
    def resolution(self) -> str | None:
        """``"720p"``/``"1080p"`` from the real frame size, ``None`` when the service did not say."""
        return resolution_of(self.width, self.height)

    def __repr__(self) -> str:
        size = f"{self.width}x{self.height}" if self.width and self.height else "size unknown"
        secs = f"{self.duration:g} s" if self.duration else "duration unknown"
        return f"VideoResult({self.model_id}, {size}, {secs}, video_id={self.video_id!r}, url={self.url!r})"
