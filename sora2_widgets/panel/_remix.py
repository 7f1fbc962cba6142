"""The Remix tab's sources: earlier Sora videos that can still be remixed, read from the ledger.

``History.remix_candidates(as_records=True)`` gives typed :class:`HistoryRecord` rows (Sora,
completed, kept on the service, not deleted, with a ``video_id``); each becomes a
:class:`RemixCandidate`, what the picker shows and what a remix is priced from.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from .._pricing import resolution_of
from ..history import HistoryRecord
from ._protocols import HistoryLike

__all__ = ["RemixCandidate", "RemixSources", "when_text"]

log = logging.getLogger("sora2_widgets.panel")


def when_text(value: datetime | None) -> str:
    """A ledger timestamp as local ``YYYY-MM-DD HH:MM`` for people (the ledger stores UTC)."""
    if value is None:
        return ""
    if value.tzinfo is not None:
        value = value.astimezone()  # people read their own clock
    return value.strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class RemixCandidate:
    """One earlier Sora video that can still be remixed, as the picker shows it."""

    key: str  # stable identity in the picker: the history id
    video_id: str
    prompt: str
    created: str
    model_id: str
    duration: float | None
    resolution: str | None
    thumbnail: str | None  # local path

    @classmethod
    def from_record(cls, record: HistoryRecord) -> RemixCandidate:
        """The picker's view of a remixable ledger row (one with a ``video_id``)."""
        if not record.video_id:
            raise ValueError(f"generation #{record.id} has no video_id: it cannot be remixed")
        duration = record.duration
        if duration is None:
            # Not probed from the file: the duration the job asked for.
            asked = record.params.get("duration")
            duration = float(asked) if isinstance(asked, (int, float)) else None
        return cls(
            key=str(record.id),
            video_id=record.video_id,
            prompt=record.prompt,
            created=when_text(record.created_at),
            model_id=record.model_id,
            duration=duration,
            resolution=resolution_of(record.width, record.height),
            thumbnail=str(record.thumbnail_path) if record.thumbnail_path is not None else None,
        )


class RemixSources:
    """The remix candidates of one ledger and provider, read once per change of the ledger.

    The cost label is redrawn per keystroke and prices a remix from its source, so the SQLite read
    is cached until :meth:`forget` (a job ended, a row was deleted, the provider changed).
    """

    def __init__(self) -> None:
        self._candidates: list[RemixCandidate] | None = None

    def forget(self) -> None:
        self._candidates = None

    def candidates(self, history: HistoryLike | None, provider: str) -> list[RemixCandidate]:
        """Newest first; only videos of ``provider`` (a fal video_id means nothing to the emulator)."""
        if self._candidates is None:
            self._candidates = self._read(history, provider)
        return list(self._candidates)

    @staticmethod
    def _read(history: HistoryLike | None, provider: str) -> list[RemixCandidate]:
        if history is None:
            return []
        try:
            records = history.remix_candidates(provider=provider, as_records=True)
        except Exception:
            log.exception("could not read remix candidates")
            return []
        return [RemixCandidate.from_record(r) for r in records if r.video_id]
