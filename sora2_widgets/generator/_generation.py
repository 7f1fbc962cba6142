"""What a caller gets back: :class:`Progress` while a job runs, :class:`Generation` when it ends.

A Generation shows itself in a notebook as an inline video player; every text in that HTML (model id,
status, the service's error message, the local path) is escaped.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from .._errors import Sora2Error
from .._pricing import CostEstimate, format_usd
from .._results import VideoResult


@dataclasses.dataclass(frozen=True)
class Progress:
    """A sign of life from one job, for ``on_update`` callbacks.

    ``stage`` is ``uploading`` (local images going to fal's storage; ``logs`` names each file),
    ``submitted``, ``in_queue``, ``in_progress``, ``downloading`` or a final ledger
    status (``completed``, ``failed``, ``cancelled``, ``unavailable``, ``unknown``); the final call
    carries the :class:`Generation`. ``index`` is the job's position in a ``generate_many`` batch
    (0 otherwise).
    """

    index: int
    model_id: str
    stage: str
    history_id: int | None = None
    request_id: str | None = None
    queue_position: int | None = None
    elapsed: float = 0.0
    logs: tuple[Any, ...] = ()
    error: str | None = None
    generation: Generation | None = None

    @property
    def done(self) -> bool:
        return self.generation is not None


OnUpdate = Callable[[Progress], None]


@dataclasses.dataclass(frozen=True)
class Generation:
    """The outcome of one job. In a notebook it displays as an inline video player.

    ``status`` is the ledger status (``completed``, ``failed``, ``cancelled``, ``unavailable``,
    ``unknown`` when the submit's answer was lost so a job may exist and may be charged, or
    ``in_queue``/``in_progress`` when the wait was interrupted and the job can be resumed).
    ``cost`` is the actual cost in USD (``None`` when unknown).
    """

    #: Videos up to this size are embedded (base64) when no relative link works. Larger ones link
    #: to the service URL instead: a saved notebook must not grow by tens of megabytes per cell.
    embed_limit: ClassVar[int] = 2_000_000

    model_id: str
    status: str
    history_id: int | None = None
    url: str | None = None
    video_id: str | None = None
    local_path: Path | None = None
    thumbnail_path: Path | None = None
    sha256: str | None = None
    cost: Decimal | None = None
    estimate: CostEstimate | None = None
    request_id: str | None = None
    error: str | None = None
    error_type: str | None = None
    result: VideoResult | None = dataclasses.field(default=None, repr=False)
    exception: BaseException | None = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.status == "completed"

    def raise_for_status(self) -> Generation:
        """Raise the job's error if it did not complete; returns ``self`` otherwise."""
        if self.ok:
            return self
        if self.exception is not None:
            raise self.exception
        raise Sora2Error(self.error or f"generation {self.history_id} ended {self.status}")

    def __repr__(self) -> str:
        parts = [f"#{self.history_id}" if self.history_id is not None else "not recorded", self.model_id, self.status]
        if self.cost is not None:
            parts.append(format_usd(self.cost))
        text = " ".join(parts)
        if self.video_id:
            text += f", video_id={self.video_id!r}"
        if self.local_path is not None:
            text += f", local_path={str(self.local_path)!r}"
        elif self.url:
            text += f", url={self.url!r}"
        if self.error:
            text += f", error={self.error!r}"
        return f"Generation({text})"

    # -- notebook display -------------------------------------------------------------------
    def _video_src(self) -> tuple[str, str] | None:
        """(src, how): a link relative to the notebook if Jupyter can serve it, else a small file
        embedded, else the service URL (which may expire; the local path is shown beside it)."""
        p = self.local_path
        if p is not None and p.is_file():
            try:
                rel = Path(os.path.relpath(p, Path.cwd()))
            except ValueError:  # another drive (Windows)
                rel = None
            # Jupyter refuses to serve hidden paths (the default ~/.sora2_widgets is one).
            if rel is not None and not any(part.startswith(".") and part != ".." for part in rel.parts):
                return quote(rel.as_posix()), "local file"
            if p.stat().st_size <= self.embed_limit:
                data = base64.b64encode(p.read_bytes()).decode("ascii")
                return f"data:video/mp4;base64,{data}", "embedded"
        if self.url and urlsplit(self.url).scheme in ("http", "https"):
            return self.url, "service URL"
        return None

    def _repr_html_(self) -> str:
        e = html.escape
        bits = [e(self.model_id), e(self.status)]
        if self.history_id is not None:
            bits.insert(0, f"#{self.history_id}")
        if self.cost is not None:
            bits.append(e(format_usd(self.cost)))
        caption = " · ".join(bits)
        body = ""
        if self.ok:
            src = self._video_src()
            if src is not None:
                body = (
                    f'<video controls playsinline preload="metadata" style="max-width:100%;max-height:480px" '
                    f'src="{e(src[0], quote=True)}"></video>'
                )
            else:
                body = "<em>video not available locally</em>"
            if self.local_path is not None:
                caption += f" · <code>{e(str(self.local_path))}</code>"
        elif self.error:
            body = f'<div style="color:#b00020">{e(self.error)}</div>'
        return f'<div class="sora2-generation">{body}<div style="font-size:smaller">{caption}</div></div>'
